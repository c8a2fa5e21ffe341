#![no_main]
//! Fuzz target: dg2. Run with `cargo +nightly fuzz run dg2` in firmware/fuzz.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = kiosk_firmware::icao::lds::parse_dg2(data);
});
