//! The `nfc1` (libnfc) backend against real pcscd, through libnfc's `pcsc`
//! driver, with a simulated card in a vpcd reader.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::drivers::nfc::{NfcReader, atr_from_ats};
use kiosk_board::simulator::vpcd::VpcdCard;
use kiosk_board::simulator::{ForeignCard, SimCard};
use kiosk_hal::card::{ApduTransport, CardReader, Presence};
use kiosk_hal::{Error as _, ErrorKind};
use kiosk_tests::pcscd::{Pcscd, READER_NAME};
use std::time::Duration;

const SELECT_EMRTD: [u8; 12] = [
    0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
];

fn pcscd() -> Pcscd {
    Pcscd::start().unwrap_or_else(|e| panic!("this test needs pcscd with vpcd: {e}"))
}

fn open(daemon: &Pcscd) -> NfcReader {
    let devices = NfcReader::list().unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
    let connstring = devices
        .iter()
        .find(|c| c.starts_with("pcsc:") && c.contains(READER_NAME))
        .unwrap_or_else(|| panic!("libnfc does not see the vpcd reader; it sees {devices:?}"));
    NfcReader::open(connstring, false).unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()))
}

#[test]
fn libnfc_lists_the_vpcd_reader_and_reports_no_card_until_one_arrives() {
    let daemon = pcscd();
    let mut reader = open(&daemon);
    assert_eq!(reader.presence().unwrap(), Presence::Absent);
    assert_eq!(reader.connect().unwrap_err().kind(), ErrorKind::NotPresent);
    let card = VpcdCard::insert(
        daemon.vpcd_addr(),
        Box::new(ForeignCard),
        Duration::from_secs(5),
    )
    .unwrap();
    wait_for(&mut reader, Presence::Present);
    card.remove().unwrap();
    wait_for(&mut reader, Presence::Absent);
}

fn wait_for(reader: &mut NfcReader, want: Presence) {
    for _ in 0..100 {
        if reader.presence().ok() == Some(want) {
            return;
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "waiting for pcscd's polling thread"
        )]
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the reader never reported {want:?}");
}

#[test]
fn a_simulated_card_answers_through_libnfc() {
    let daemon = pcscd();
    let card = VpcdCard::insert(
        daemon.vpcd_addr(),
        Box::new(ForeignCard),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut reader = open(&daemon);
    wait_for(&mut reader, Presence::Present);
    let info = reader
        .connect()
        .unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
    assert_eq!(info.atr, atr_from_ats(&[]));
    assert_eq!(info.atr, ForeignCard.atr());
    let mut response = [0u8; 258];
    let n = reader.transmit(&SELECT_EMRTD, &mut response).unwrap();
    assert_eq!(&response[..n], &[0x6A, 0x82]);
    reader.disconnect().unwrap();
    assert!(card.remove().unwrap() >= 1);
}

#[test]
fn a_card_removed_under_libnfc_is_reported() {
    let daemon = pcscd();
    let card = VpcdCard::insert(
        daemon.vpcd_addr(),
        Box::new(ForeignCard),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut reader = open(&daemon);
    wait_for(&mut reader, Presence::Present);
    reader.connect().unwrap();
    card.remove().unwrap();
    let mut response = [0u8; 258];
    let err = reader.transmit(&SELECT_EMRTD, &mut response).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Removed | ErrorKind::NotPresent | ErrorKind::Io
        ),
        "{err} ({:?})",
        err.kind()
    );
    let _ = reader.disconnect();
    wait_for(&mut reader, Presence::Absent);
}

#[test]
fn a_virtual_cccd_is_read_through_libnfc() {
    use kiosk_board::drivers::Erased;
    use kiosk_board::services::reading::read_document;
    use kiosk_firmware::cccd::{self, qr::CardQr};
    use kiosk_firmware::icao::reader::{AccessControl, ReadOptions};
    let daemon = pcscd();
    let card = VpcdCard::insert(
        daemon.vpcd_addr(),
        Box::new(kiosk_tests::card("cccd-2021")),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut reader = open(&daemon);
    wait_for(&mut reader, Presence::Present);
    let mut device = Erased::new("card_reader", reader);
    let keys = cccd::keys_from_qr(&CardQr::parse(kiosk_tests::card_qr("cccd-2021")).unwrap());
    let (result, stats) = read_document(
        &mut device,
        keys,
        [5; 32],
        ReadOptions::default(),
        |_, _| {},
        || std::time::Duration::ZERO,
        kiosk_board::services::reading::DEFAULT_READ_DEADLINE,
    );
    let doc = result.unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
    assert_eq!(doc.access, AccessControl::PaceCan);
    assert!(
        !stats.extended_length,
        "a PN532-class path uses short APDUs"
    );
    assert_eq!(
        cccd::identify(&doc).unwrap().citizen.full_name,
        "Nguyễn Văn Mẫu"
    );
    card.remove().unwrap();
}

/// A Linux board configuration whose reader is libnfc on `connstring`; its
/// other devices are absent on the test machine.
fn linux_config(dir: &std::path::Path, connstring: &str) -> kiosk_board::config::Config {
    let text = format!(
        r#"
board = "linux"
[kiosk]
id = "KIOSK-NFC-TEST"
center_name = "Trung tâm thử"
data_dir = "data"
[linux]
name = "pn532-test"
[linux.card_reader]
kind = "nfc"
connstring = "{connstring}"
[linux.camera]
device = "/dev/video-none"
[linux.printer]
port = "tcp:127.0.0.1:9"
"#
    );
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, text).unwrap();
    kiosk_board::config::Config::load(&path).unwrap()
}

#[test]
fn the_nfc_backend_chosen_by_a_linux_board_config_reads_a_virtual_cccd() {
    use kiosk_board::services::reading::read_document;
    use kiosk_firmware::cccd::{self, qr::CardQr};
    use kiosk_firmware::icao::reader::ReadOptions;
    let daemon = pcscd();
    let devices = NfcReader::list().unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
    let connstring = devices
        .iter()
        .find(|c| c.starts_with("pcsc:") && c.contains(READER_NAME))
        .unwrap_or_else(|| panic!("libnfc does not see the vpcd reader; it sees {devices:?}"))
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let config = linux_config(dir.path(), &connstring);
    let mut board = kiosk_board::app::build_board(&config).unwrap();
    assert_eq!(board.devices.board, "linux:pn532-test");
    let card = VpcdCard::insert(
        daemon.vpcd_addr(),
        Box::new(kiosk_tests::card("cccd-2021")),
        Duration::from_secs(5),
    )
    .unwrap();
    let reader = board.devices.reader.as_mut();
    let mut present = false;
    for _ in 0..100 {
        if reader.presence().ok() == Some(Presence::Present) {
            present = true;
            break;
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "waiting for pcscd's polling thread"
        )]
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(present, "the card never showed up\n{}", daemon.log());
    let keys = cccd::keys_from_qr(&CardQr::parse(kiosk_tests::card_qr("cccd-2021")).unwrap());
    let (result, _) = read_document(
        reader,
        keys,
        [6; 32],
        ReadOptions::default(),
        |_, _| {},
        || std::time::Duration::ZERO,
        kiosk_board::services::reading::DEFAULT_READ_DEADLINE,
    );
    let doc = result.unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
    assert_eq!(
        cccd::identify(&doc).unwrap().citizen.id_number,
        "003090000001"
    );
    // The absent camera and printer are reported, not fatal.
    let checks = kiosk_board::doctor::check_devices(&mut board.devices);
    assert_eq!(checks["camera"].error_kind.as_deref(), Some("NotPresent"));
    assert!(!checks["printer"].ok);
    card.remove().unwrap();
}
