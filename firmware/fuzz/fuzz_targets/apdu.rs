#![no_main]
//! Fuzz target: apdu. Run with `cargo +nightly fuzz run apdu` in firmware/fuzz.
use kiosk_firmware::apdu::{Command, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Command::decode(data) {
        // What decodes must encode back to an equivalent command.
        let bytes = c.encode().expect("a decoded command encodes");
        assert_eq!(Command::decode(&bytes).expect("re-decodes"), c);
    }
    let _ = Response::parse(data);
});
