#![no_main]
//! Fuzz target: card_qr. Run with `cargo +nightly fuzz run card_qr` in firmware/fuzz.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(qr) = kiosk_firmware::cccd::qr::CardQr::parse(text) {
            let _ = kiosk_firmware::cccd::keys_from_qr(&qr);
        }
    }
});
