#![no_main]
//! Fuzz target: j2k_siz (the JPEG 2000 SIZ check on chip photos). Run with
//! `cargo +nightly fuzz run j2k_siz` in firmware/fuzz.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = kiosk_firmware::face::image::j2k_subsampled(data);
});
