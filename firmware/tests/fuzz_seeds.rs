//! The checked-in seeds of the `reader` fuzz target (firmware/fuzz/seeds,
//! written by `cargo xtask fuzz --seeds`) still replay a complete read
//! (ICAO 9303-11 PACE and BAC, 9303-10 files): when the reader or the
//! virtual chip changes, stale seeds fail here instead of silently
//! starting the fuzzer at the first APDU.

use kiosk_firmware::cccd::KeyCandidate;
use kiosk_firmware::icao::lds::File;
use kiosk_firmware::icao::reader::{AccessControl, Document, DocumentReader, Output, ReadOptions};
use std::path::Path;

/// The replay of `fuzz_targets/reader.rs`: its keys, randomness and framing.
fn replay(data: &[u8]) -> Option<Document> {
    let keys = vec![
        KeyCandidate::Can("000001".into()),
        KeyCandidate::Mrz {
            document_number: "090000001".into(),
            date_of_birth: "900115".into(),
            date_of_expiry: "300115".into(),
        },
    ];
    let mut reader = DocumentReader::new(keys, [1; 32], ReadOptions::default());
    let mut rest = data;
    for _ in 0..400 {
        match reader.poll_output() {
            Some(Output::Transmit(_)) => {
                let (len, tail) = rest.split_first_chunk::<2>()?;
                let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
                reader.handle_response(&tail[..len]);
                rest = &tail[len..];
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(result)) => return result.ok(),
            None => return None,
        }
    }
    None
}

fn seed(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds/reader")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_reader_seeds_replay_a_whole_pace_read_and_a_whole_bac_read() {
    for (name, access) in [
        ("cccd-2021-pace", AccessControl::PaceCan),
        ("cccd-2021-bac", AccessControl::Bac),
    ] {
        let doc = replay(&seed(name))
            .unwrap_or_else(|| panic!("{name} no longer replays: run `cargo xtask fuzz --seeds`"));
        assert_eq!(doc.access, access, "{name}");
        for file in [File::Dg(1), File::Dg(13), File::Dg(15), File::Sod] {
            assert!(doc.files.contains_key(&file), "{name} reads {file:?}");
        }
    }
}
