#![no_main]
//! Fuzz target: reader, a hostile chip. The reader state machine
//! (ICAO 9303-11 BAC/PACE, 9303-10 file reading) is fed arbitrary
//! responses. Run with `cargo xtask fuzz reader` (or
//! `cargo +nightly fuzz run reader` in firmware/fuzz).
//!
//! Input: the chip's responses in order, each a 2-byte big-endian length
//! then that many bytes. The seeds are whole reads of the simulator's
//! `cccd-2021` card recorded with these keys and this randomness
//! (`firmware/examples/fuzz_seeds.rs`; `firmware/tests/fuzz_seeds.rs`
//! checks they still replay), so mutations start anywhere in a read
//! rather than at the first APDU.
use kiosk_firmware::cccd::KeyCandidate;
use kiosk_firmware::icao::reader::{DocumentReader, Output, ReadOptions};
use libfuzzer_sys::fuzz_target;

/// The keys the seed transcripts were recorded with.
fn keys() -> Vec<KeyCandidate> {
    vec![
        KeyCandidate::Can("000001".into()),
        KeyCandidate::Mrz {
            document_number: "090000001".into(),
            date_of_birth: "900115".into(),
            date_of_expiry: "300115".into(),
        },
    ]
}

fuzz_target!(|data: &[u8]| {
    let mut reader = DocumentReader::new(keys(), [1; 32], ReadOptions::default());
    let mut rest = data;
    for _ in 0..400 {
        match reader.poll_output() {
            Some(Output::Transmit(_)) => {
                let Some((len, tail)) = rest.split_first_chunk::<2>() else {
                    break;
                };
                let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
                reader.handle_response(&tail[..len]);
                rest = &tail[len..];
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(_)) | None => break,
        }
    }
});
