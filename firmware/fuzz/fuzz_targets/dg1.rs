#![no_main]
//! Fuzz target: dg1. Run with `cargo +nightly fuzz run dg1` in firmware/fuzz.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = kiosk_firmware::icao::lds::parse_dg1(data);
    let _ = kiosk_firmware::icao::lds::Com::parse(data);
});
