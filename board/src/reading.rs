//! Drives the firmware's document reader over a real (or simulated) card
//! reader: connect, decide the APDU size from the reader and the card, and
//! shuttle APDUs until the reader machine is done.

use crate::devices::ReaderDevice;
use kiosk_firmware::cccd::KeyCandidate;
use kiosk_firmware::icao::atr;
use kiosk_firmware::icao::reader::{Document, DocumentReader, Output, ReadError, ReadOptions};
use kiosk_hal::Error as _;

/// 32 bytes of OS entropy for the reader's random numbers.
pub fn os_seed() -> std::io::Result<[u8; 32]> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

/// Readers report a card pulled away mid-exchange in different ways (a
/// removed card, a communication error, a timeout). After an error that is
/// not already "removed", ask the reader whether the card is still there,
/// for up to half a second while the driver notices.
fn classify(reader: &mut dyn ReaderDevice, kind: kiosk_hal::ErrorKind) -> kiosk_hal::ErrorKind {
    use kiosk_hal::card::Presence;
    if matches!(
        kind,
        kiosk_hal::ErrorKind::Removed | kiosk_hal::ErrorKind::NotPresent
    ) {
        return kind;
    }
    for _ in 0..10 {
        if reader.presence().ok() == Some(Presence::Absent) {
            return kiosk_hal::ErrorKind::Removed;
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "device code waiting for the driver's presence poll"
        )]
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    kind
}

/// Statistics of a read, for logs and benchmarks (no personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReadStats {
    /// APDUs exchanged.
    pub apdus: u32,
    /// File bytes read.
    pub bytes: usize,
    /// Whether extended-length APDUs were used.
    pub extended_length: bool,
}

/// Reads the document in the reader with `keys`. `options` may force short
/// APDUs (`extended_length: false`) or a smaller block; extended length is
/// used only when both the reader and the card say they take it.
pub fn read_document(
    reader: &mut dyn ReaderDevice,
    keys: Vec<KeyCandidate>,
    seed: [u8; 32],
    mut options: ReadOptions,
    mut progress: impl FnMut(usize, usize),
) -> (Result<Document, ReadError>, ReadStats) {
    let info = match reader.connect() {
        Ok(info) => info,
        Err(e) => {
            let kind = e.kind();
            let err = match kind {
                kiosk_hal::ErrorKind::NotPresent | kiosk_hal::ErrorKind::Removed => {
                    ReadError::CardRemoved
                }
                other => ReadError::Transport(other),
            };
            return (
                Err(err),
                ReadStats {
                    apdus: 0,
                    bytes: 0,
                    extended_length: false,
                },
            );
        }
    };
    options.extended_length = options.extended_length
        && reader.capabilities().extended_length
        && atr::extended_length(&info.atr);
    let extended_length = options.extended_length;
    let mut machine = DocumentReader::new(keys, seed, options);
    let mut buffer = vec![0u8; if extended_length { 65_538 } else { 258 }];
    let mut apdus = 0;
    let result = loop {
        match machine.poll_output() {
            Some(Output::Transmit(apdu)) => {
                apdus += 1;
                match reader.transmit(&apdu, &mut buffer) {
                    Ok(n) => machine.handle_response(buffer.get(..n).unwrap_or(&[])),
                    Err(e) => machine.handle_transport_error(classify(reader, e.kind())),
                }
            }
            Some(Output::Progress { done, total }) => progress(done, total),
            Some(Output::Done(result)) => break result,
            None => break Err(ReadError::Malformed("the reader machine stalled")),
        }
    };
    let _ = reader.disconnect();
    let bytes = result.as_ref().map_or(0, |d| d.bytes);
    (
        result,
        ReadStats {
            apdus,
            bytes,
            extended_length,
        },
    )
}
