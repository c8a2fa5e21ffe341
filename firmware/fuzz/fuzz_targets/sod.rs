#![no_main]
//! Fuzz target: sod. Run with `cargo +nightly fuzz run sod` in firmware/fuzz.
use kiosk_firmware::icao::lds::File;
use kiosk_firmware::icao::pa;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    if let Ok(sod) = pa::parse_sod(data) {
        let mut files = BTreeMap::new();
        files.insert(File::Dg(1), data.to_vec());
        let _ = pa::verify(&sod, &files, &pa::TrustList::empty(), 1_800_000_000);
    }
    let _ = kiosk_firmware::icao::aa::hash_from_dg14(data);
});
