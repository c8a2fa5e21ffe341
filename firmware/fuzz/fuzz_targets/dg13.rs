#![no_main]
//! Fuzz target: dg13. Run with `cargo +nightly fuzz run dg13` in firmware/fuzz.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = kiosk_firmware::cccd::dg13::parse(data);
});
