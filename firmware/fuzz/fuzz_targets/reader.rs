#![no_main]
//! Fuzz target: reader. Run with `cargo +nightly fuzz run reader` in firmware/fuzz.
use libfuzzer_sys::fuzz_target;
//! A hostile chip: the reader machine is fed arbitrary responses.
use kiosk_firmware::cccd::KeyCandidate;
use kiosk_firmware::icao::reader::{DocumentReader, Output, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let keys = vec![
        KeyCandidate::Can("000001".into()),
        KeyCandidate::Mrz {
            document_number: "090000001".into(),
            date_of_birth: "900115".into(),
            date_of_expiry: "300115".into(),
        },
    ];
    let mut reader = DocumentReader::new(keys, [1; 32], ReadOptions::default());
    // Responses are length-prefixed chunks of the input.
    let mut rest = data;
    for _ in 0..200 {
        match reader.poll_output() {
            Some(Output::Transmit(_)) => {
                let Some((&len, tail)) = rest.split_first() else { break };
                let len = usize::from(len).min(tail.len());
                reader.handle_response(&tail[..len]);
                rest = &tail[len..];
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(_)) | None => break,
        }
    }
});
