#![no_main]
//! Fuzz target: escpos. Run with `cargo +nightly fuzz run escpos` in firmware/fuzz.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = kiosk_firmware::ticket::escpos::decode(data);
});
