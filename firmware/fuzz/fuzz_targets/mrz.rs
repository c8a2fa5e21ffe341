#![no_main]
//! Fuzz target: mrz. Run with `cargo +nightly fuzz run mrz` in firmware/fuzz.
use kiosk_firmware::icao::mrz::Mrz;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(m) = Mrz::parse(text) {
            let _ = m.mrz_information();
        }
    }
});
