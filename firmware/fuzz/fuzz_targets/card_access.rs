#![no_main]
//! Fuzz target: card_access. Run with `cargo +nightly fuzz run card_access` in firmware/fuzz.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = kiosk_firmware::icao::pace::PaceInfo::from_card_access(data);
    let _ = kiosk_firmware::icao::atr::extended_length(data);
});
