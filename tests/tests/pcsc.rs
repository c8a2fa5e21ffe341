//! The `pcsc` backend against real pcscd, with a simulated card in a vpcd
//! reader.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::drivers::pcsc::PcscReader;
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

/// pcscd polls vpcd for card presence; give it a moment to notice.
fn wait_for(reader: &mut PcscReader, want: Presence) {
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
fn a_simulated_card_behind_pcscd_answers_through_the_pcsc_backend() {
    let daemon = pcscd();
    let mut reader =
        PcscReader::open(READER_NAME, true).unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
    assert_eq!(reader.presence().unwrap(), Presence::Absent);
    let card = VpcdCard::insert(
        daemon.vpcd_addr(),
        Box::new(ForeignCard),
        Duration::from_secs(5),
    )
    .unwrap();
    wait_for(&mut reader, Presence::Present);
    let info = reader.connect().unwrap();
    assert_eq!(info.atr, ForeignCard.atr());
    // The UID's GET DATA (FF CA 00 00 00) is answered by a real reader;
    // vpcd hands it to the card, which refuses it: no UID.
    assert_eq!(info.uid, None);
    let mut response = [0u8; 258];
    let n = reader.transmit(&SELECT_EMRTD, &mut response).unwrap();
    assert_eq!(&response[..n], &[0x6A, 0x82]);
    reader.disconnect().unwrap();
    assert_eq!(
        card.remove().unwrap(),
        2,
        "the GET DATA and the SELECT reached the card"
    );
}

#[test]
fn a_card_removed_while_connected_is_reported_as_removed() {
    let daemon = pcscd();
    let mut reader = PcscReader::open(READER_NAME, true).unwrap();
    let card = VpcdCard::insert(
        daemon.vpcd_addr(),
        Box::new(ForeignCard),
        Duration::from_secs(5),
    )
    .unwrap();
    wait_for(&mut reader, Presence::Present);
    reader.connect().unwrap();
    card.remove().unwrap();
    wait_for(&mut reader, Presence::Absent);
    let mut response = [0u8; 258];
    let err = reader.transmit(&SELECT_EMRTD, &mut response).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Removed | ErrorKind::NotPresent),
        "{err} ({:?})",
        err.kind()
    );
    let err = reader.connect().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotPresent, "{err}");
}

#[test]
fn an_unknown_reader_name_is_not_present() {
    let _daemon = pcscd();
    let err = PcscReader::open("No such reader 42", false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotPresent);
}

mod full_read {
    use super::*;
    use kiosk_board::drivers::Erased;
    use kiosk_board::services::reading::read_document;
    use kiosk_firmware::cccd::{self, qr::CardQr};
    use kiosk_firmware::icao::lds::File;
    use kiosk_firmware::icao::reader::{AccessControl, ReadOptions};

    fn read(
        profile: &str,
        extended: bool,
    ) -> (
        kiosk_firmware::icao::reader::Document,
        kiosk_board::services::reading::ReadStats,
    ) {
        let daemon = pcscd();
        let card = VpcdCard::insert(
            daemon.vpcd_addr(),
            Box::new(kiosk_tests::card(profile)),
            Duration::from_secs(5),
        )
        .unwrap();
        let mut reader = PcscReader::open(READER_NAME, extended).unwrap();
        wait_for(&mut reader, Presence::Present);
        let mut device = Erased::new("card_reader", reader);
        let keys = cccd::keys_from_qr(&CardQr::parse(kiosk_tests::card_qr(profile)).unwrap());
        let options = ReadOptions {
            extended_length: extended,
            ..ReadOptions::default()
        };
        let (result, stats) = read_document(
            &mut device,
            keys,
            [9; 32],
            options,
            |_, _| {},
            || std::time::Duration::ZERO,
            kiosk_board::services::reading::DEFAULT_READ_DEADLINE,
        );
        let doc = result.unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
        card.remove().unwrap();
        (doc, stats)
    }

    #[test]
    fn a_virtual_cccd_behind_pcscd_is_read_with_pace_and_extended_length() {
        let (doc, stats) = read("cccd-2021", true);
        assert_eq!(doc.access, AccessControl::PaceCan);
        assert!(stats.extended_length);
        let citizen = kiosk_firmware::cccd::dg13::parse(&doc.files[&File::Dg(13)]).unwrap();
        assert_eq!(citizen.full_name, "Nguyễn Văn Mẫu");
        assert_eq!(
            citizen.place_of_residence,
            "Số 1 Đường Mẫu, Phường Mẫu, Quận Mẫu, Thành phố Hà Nội"
        );
    }

    #[test]
    fn a_bac_only_card_behind_pcscd_is_read_with_short_apdus() {
        let (doc, stats) = read("bac-only-elderly", false);
        assert_eq!(doc.access, AccessControl::Bac);
        assert!(!stats.extended_length);
        let id = kiosk_firmware::cccd::identify(&doc).unwrap();
        assert!(id.mrz.has_no_expiry());
    }
}

mod failures {
    use super::*;
    use kiosk_board::drivers::Erased;
    use kiosk_board::services::reading::read_document;
    use kiosk_firmware::cccd::{self, qr::CardQr};
    use kiosk_firmware::icao::reader::{ReadError, ReadOptions};
    use kiosk_firmware::testkit::chip::VirtualChip;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A profile of the shipped CCCD with extra TOML appended (faults).
    fn chip_with(extra: &str) -> VirtualChip {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(kiosk_tests::card_profile("cccd-2021")).unwrap() + extra;
        let path = dir.path().join("card.toml");
        std::fs::write(&path, text).unwrap();
        kiosk_board::simulator::load_card(&path).unwrap()
    }

    /// Counts the APDUs it answers.
    struct Counting {
        chip: VirtualChip,
        count: Arc<AtomicU64>,
    }

    impl SimCard for Counting {
        fn atr(&self) -> Vec<u8> {
            self.chip.atr()
        }
        fn reset(&mut self) {
            self.chip.reset();
        }
        fn process(&mut self, command: &[u8]) -> Vec<u8> {
            self.count.fetch_add(1, Ordering::SeqCst);
            self.chip.process(command)
        }
        fn describe(&self) -> String {
            "counting virtual chip".into()
        }
    }

    fn read_through_pcscd(
        card: Box<dyn SimCard>,
        qr: &str,
    ) -> Result<kiosk_firmware::icao::reader::Document, ReadError> {
        let daemon = pcscd();
        let inserted = VpcdCard::insert(daemon.vpcd_addr(), card, Duration::from_secs(5)).unwrap();
        let mut reader = PcscReader::open(READER_NAME, true).unwrap();
        wait_for(&mut reader, Presence::Present);
        let mut device = Erased::new("card_reader", reader);
        let keys = cccd::keys_from_qr(&CardQr::parse(qr).unwrap());
        let (result, _) = read_document(
            &mut device,
            keys,
            [3; 32],
            ReadOptions::default(),
            |_, _| {},
            || std::time::Duration::ZERO,
            kiosk_board::services::reading::DEFAULT_READ_DEADLINE,
        );
        drop(inserted);
        result
    }

    #[test]
    fn a_wrong_key_through_pcscd_is_reported_as_a_wrong_key() {
        let other = kiosk_tests::card_qr("bac-only-elderly");
        let result = read_through_pcscd(Box::new(kiosk_tests::card("cccd-2021")), other);
        assert_eq!(result.unwrap_err(), ReadError::WrongAccessKey);
    }

    #[test]
    fn a_cloned_chip_through_pcscd_fails_chip_authentication() {
        let qr = kiosk_tests::card_qr("cccd-2021");
        let result = read_through_pcscd(Box::new(chip_with("\n[faults]\ncloned_ca = true\n")), qr);
        assert_eq!(result.unwrap_err(), ReadError::ChipAuthenticationFailed);
    }

    #[test]
    fn a_tampered_data_group_through_pcscd_fails_passive_authentication() {
        let qr = kiosk_tests::card_qr("cccd-2021");
        let doc =
            read_through_pcscd(Box::new(chip_with("\n[faults]\ntampered_dg = 13\n")), qr).unwrap();
        let sod =
            kiosk_firmware::icao::pa::parse_sod(&doc.files[&kiosk_firmware::icao::lds::File::Sod])
                .unwrap();
        let trust = kiosk_board::app::load_trust_list(Some(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/sim/csca"),
        ))
        .unwrap();
        let report = kiosk_firmware::icao::pa::verify(&sod, &doc.files, &trust, 1_795_564_800);
        assert_eq!(report.verdict, kiosk_firmware::icao::pa::Verdict::Failed);
        assert!(matches!(
            report.data_groups[&13],
            kiosk_firmware::icao::pa::Check::Failed(_)
        ));
    }

    #[test]
    fn a_card_removed_mid_read_through_pcscd_is_reported_as_removed() {
        let daemon = pcscd();
        let count = Arc::new(AtomicU64::new(0));
        let card = Counting {
            chip: kiosk_tests::card("cccd-2021"),
            count: Arc::clone(&count),
        };
        let inserted =
            VpcdCard::insert(daemon.vpcd_addr(), Box::new(card), Duration::from_secs(5)).unwrap();
        let mut reader = PcscReader::open(READER_NAME, true).unwrap();
        wait_for(&mut reader, Presence::Present);
        // Take the card away once access control is done (about 10 APDUs).
        let remover = std::thread::spawn(move || {
            for _ in 0..500 {
                if count.load(Ordering::SeqCst) >= 10 {
                    break;
                }
                #[expect(clippy::disallowed_methods, reason = "watching the chip from the test")]
                std::thread::sleep(Duration::from_millis(2));
            }
            inserted.remove().unwrap()
        });
        let mut device = Erased::new("card_reader", reader);
        let keys = cccd::keys_from_qr(&CardQr::parse(kiosk_tests::card_qr("cccd-2021")).unwrap());
        let options = ReadOptions {
            extended_length: false,
            ..ReadOptions::default()
        };
        let (result, stats) = read_document(
            &mut device,
            keys,
            [3; 32],
            options,
            |_, _| {},
            || std::time::Duration::ZERO,
            kiosk_board::services::reading::DEFAULT_READ_DEADLINE,
        );
        let answered = remover.join().unwrap();
        assert_eq!(
            result.unwrap_err(),
            ReadError::CardRemoved,
            "after {} APDUs",
            stats.apdus
        );
        assert!(answered >= 10);
    }
}
