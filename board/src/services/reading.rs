//! Drives the firmware's document reader over a real (or simulated) card
//! reader: connect, decide the APDU size from the reader and the card, and
//! shuttle APDUs until the reader machine is done, within an overall
//! deadline (a chip that stalls or drips its files must not hold the
//! kiosk: [`ReadError::DeadlineExceeded`]).

use crate::drivers::ReaderDevice;
use kiosk_firmware::cccd::KeyCandidate;
use kiosk_firmware::icao::atr;
use kiosk_firmware::icao::reader::{Document, DocumentReader, Output, ReadError, ReadOptions};
use kiosk_hal::Error as _;
use std::time::Duration;

/// The default deadline of a whole read: a CCCD reads in 2 to 6 s, slow
/// readers with short APDUs in about 10.
pub const DEFAULT_READ_DEADLINE: Duration = Duration::from_secs(30);

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
///
/// `clock` is a monotonic clock (any origin; the runtime passes an
/// `Instant`-based one, tests a scripted one): once more than `deadline`
/// has passed since the start, no further APDU is sent and the read ends
/// with [`ReadError::DeadlineExceeded`].
pub fn read_document(
    reader: &mut dyn ReaderDevice,
    keys: Vec<KeyCandidate>,
    seed: [u8; 32],
    mut options: ReadOptions,
    mut progress: impl FnMut(usize, usize),
    mut clock: impl FnMut() -> Duration,
    deadline: Duration,
) -> (Result<Document, ReadError>, ReadStats) {
    let start = clock();
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
                if clock().saturating_sub(start) > deadline {
                    break Err(ReadError::DeadlineExceeded);
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{SimBoard, SimControls};
    use kiosk_firmware::testkit::CardProfile;
    use std::path::Path;

    const PROFILE: &str = r#"
[chip]
protocols = ["pace"]
photo = "placeholder"
seed = 3

[citizen]
id_number = "003090000001"
full_name = "Nguyễn Văn Mẫu"
date_of_birth = "15/01/1990"
sex = "Nam"
date_of_issue = "01/06/2021"
date_of_expiry = "15/01/2030"
"#;

    fn board(faults: &str) -> (crate::drivers::Devices, SimControls) {
        let profile: CardProfile =
            toml::from_str(&format!("{PROFILE}\n[faults]\n{faults}")).unwrap();
        let chip = profile.chip(Path::new(".")).unwrap();
        let config = crate::simulator::test_config(false);
        let (devices, controls) = SimBoard::build(&config).unwrap();
        controls.insert_card(Box::new(chip));
        (devices, controls)
    }

    fn keys() -> Vec<KeyCandidate> {
        vec![KeyCandidate::Can("000001".into())]
    }

    #[test]
    fn a_chip_that_stalls_mid_read_ends_with_the_readers_timeout() {
        let (mut devices, _controls) = board("stall_after = 300");
        let (result, stats) = read_document(
            devices.reader.as_mut(),
            keys(),
            [1; 32],
            ReadOptions::default(),
            |_, _| {},
            || Duration::ZERO,
            DEFAULT_READ_DEADLINE,
        );
        assert_eq!(
            result.unwrap_err(),
            ReadError::Transport(kiosk_hal::ErrorKind::Timeout)
        );
        assert!(stats.apdus > 8, "it stalled mid-read, not at once");
    }

    #[test]
    fn a_dripping_chip_is_stopped_by_the_deadline() {
        let (mut devices, _controls) = board("drip = 1");
        // A scripted clock: each look at it is one second later.
        let mut now = Duration::ZERO;
        let (result, stats) = read_document(
            devices.reader.as_mut(),
            keys(),
            [1; 32],
            ReadOptions {
                max_apdus: Some(u32::MAX),
                ..ReadOptions::default()
            },
            |_, _| {},
            move || {
                now += Duration::from_secs(1);
                now
            },
            Duration::from_secs(40),
        );
        assert_eq!(result.unwrap_err(), ReadError::DeadlineExceeded);
        assert_eq!(stats.apdus, 40);
    }
}
