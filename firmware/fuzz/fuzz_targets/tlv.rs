#![no_main]
//! Fuzz target: tlv. Run with `cargo +nightly fuzz run tlv` in firmware/fuzz.
use kiosk_firmware::apdu::tlv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for object in tlv::Iter::new(data) {
        let Ok(object) = object else { break };
        for child in object.children() {
            let _ = child;
        }
    }
    let _ = tlv::total_len(data);
});
