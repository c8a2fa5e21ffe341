//! The reader's run-time fallbacks (issue 15) against virtual chips that
//! refuse what the reader tries first (`[faults]` of the card profile):
//! each test asserts the read succeeded *and* names the fallback it took,
//! so it fails if the fallback is removed.

use super::chip::{ExtendedRefusal, PaceRefusal, VirtualChip};
use super::tests::qr_keys;
use super::*;
use crate::cccd::KeyCandidate;
use crate::icao::reader::{
    AccessControl, Document, DocumentReader, Fallback, Output, ReadError, ReadOptions,
};

const PROFILE: &str = r#"
[chip]
protocols = ["pace", "bac"]
extended_length = true
photo = "placeholder"
seed = 7

[citizen]
id_number = "003090000001"
full_name = "Nguyễn Văn Mẫu"
date_of_birth = "15/01/1990"
sex = "Nam"
place_of_residence = "Số 1 Đường Mẫu, Phường Mẫu, Quận Mẫu, Hà Nội"
date_of_issue = "01/06/2021"
date_of_expiry = "15/01/2030"
"#;

fn chip(edit: impl FnOnce(&mut CardProfile)) -> VirtualChip {
    let mut p: CardProfile = toml::from_str(PROFILE).unwrap();
    edit(&mut p);
    p.chip(Path::new(".")).unwrap()
}

fn mrz_key() -> Vec<KeyCandidate> {
    vec![KeyCandidate::Mrz {
        document_number: "090000001".into(),
        date_of_birth: "900115".into(),
        date_of_expiry: "300115".into(),
    }]
}

fn extended() -> ReadOptions {
    ReadOptions {
        extended_length: true,
        ..ReadOptions::default()
    }
}

/// Runs the reader against the chip (`super::tests::run`): the read must
/// succeed.
fn run(chip: &mut VirtualChip, keys: Vec<KeyCandidate>, options: ReadOptions) -> Document {
    super::tests::run(chip, keys, options).0.unwrap()
}

/// Every file of the genuine chip was read, and nothing is missing.
fn assert_complete(doc: &Document) {
    for file in [
        File::Com,
        File::Dg(1),
        File::Dg(2),
        File::Dg(13),
        File::Dg(14),
        File::Dg(15),
        File::Sod,
    ] {
        assert!(doc.files.contains_key(&file), "{file:?} in {doc:?}");
    }
    assert!(doc.unavailable.is_empty(), "{:?}", doc.unavailable);
    let dg13 = crate::cccd::dg13::parse(&doc.files[&File::Dg(13)]).unwrap();
    assert_eq!(dg13.full_name, "Nguyễn Văn Mẫu");
}

#[test]
fn a_genuine_read_takes_no_fallback() {
    let doc = run(&mut chip(|_| {}), qr_keys(), extended());
    assert_complete(&doc);
    assert!(doc.fallbacks.is_empty(), "{:?}", doc.fallbacks.codes());
    assert_eq!(doc.apdus, 18);
}

#[test]
fn read_binary_by_sfi_refused_selects_files_by_identifier() {
    for sw in [0x6A82, 0x6A86, 0x6D00, 0x6E00, 0x6986] {
        let mut c = chip(|p| p.faults.sfi_refused = Some(sw));
        let doc = run(&mut c, qr_keys(), extended());
        assert_complete(&doc);
        assert_eq!(
            doc.fallbacks.codes(),
            ["select_by_file_id"],
            "{sw:04X}: {doc:?}"
        );
        // One refused READ by SFI, then a SELECT before each of the seven
        // files; chip authentication's confirmation reads the current file.
        assert_eq!(doc.apdus, 18 + 1 + 7, "{sw:04X}");
        assert_eq!(
            crate::icao::ca::check_document(&doc),
            crate::icao::pa::Check::Passed
        );
    }
}

#[test]
fn a_file_absent_by_sfi_and_by_identifier_stays_unavailable() {
    // 6A82 to the SFI and to the SELECT: the file is absent, not the SFI
    // unsupported; the next file is still read by SFI.
    let mut c = chip(|p| p.faults.refuse_6a82 = vec![15]);
    let mut reader = DocumentReader::new(qr_keys(), [42; 32], extended());
    let result = loop {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => reader.handle_response(&c.process(&apdu)),
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(result)) => break result,
            None => panic!("stalled"),
        }
    };
    let doc = result.unwrap();
    assert_eq!(
        doc.unavailable,
        [(File::Dg(15), crate::apdu::StatusWord::FILE_NOT_FOUND)]
    );
    assert!(!doc.fallbacks.contains(Fallback::SelectByFileId));
}

#[test]
fn extended_length_refused_reads_on_with_short_apdus() {
    for refusal in [
        ExtendedRefusal::WrongLength,
        ExtendedRefusal::WrongLe,
        ExtendedRefusal::Transport,
    ] {
        let mut c = chip(|p| p.faults.extended_refused = Some(refusal));
        let doc = run(&mut c, qr_keys(), extended());
        assert_complete(&doc);
        assert_eq!(doc.fallbacks.codes(), ["short_apdus"], "{refusal:?}");
        // The refusal ended the chip's session: access control ran again.
        assert_eq!(doc.resumed, 1, "{refusal:?}");
    }
}

#[test]
fn an_extended_length_refusal_under_secure_messaging_keeps_the_session() {
    // A chip that takes short APDUs only answers a too-long Le with a
    // protected 6700 (the reader was told extended length works): its
    // session goes on, no new access control.
    let mut c = chip(|p| p.chip.extended_length = false);
    let doc = run(&mut c, qr_keys(), extended());
    assert_complete(&doc);
    assert_eq!(doc.fallbacks.codes(), ["short_apdus"]);
    assert_eq!(doc.resumed, 0);
}

#[test]
fn six_c_xx_repeats_the_command_with_the_chips_le() {
    let mut c = chip(|p| {
        p.chip.extended_length = false;
        p.faults.exact_le = true;
    });
    let doc = run(&mut c, qr_keys(), ReadOptions::default());
    assert_complete(&doc);
    assert_eq!(doc.fallbacks.codes(), ["le_from_chip"]);
}

#[test]
fn six_one_xx_fetches_the_answer_with_get_response() {
    for extended_length in [false, true] {
        let mut c = chip(|p| {
            p.chip.extended_length = extended_length;
            p.faults.get_response = true;
        });
        let doc = run(
            &mut c,
            qr_keys(),
            ReadOptions {
                extended_length,
                ..ReadOptions::default()
            },
        );
        assert_complete(&doc);
        assert_eq!(doc.fallbacks.codes(), ["get_response"]);
        assert_eq!(
            crate::icao::aa::check_document(&doc),
            crate::icao::pa::Check::Passed
        );
    }
}

#[test]
fn no_ef_cardaccess_reads_with_bac() {
    let mut c = chip(|p| p.faults.no_card_access = true);
    let doc = run(&mut c, qr_keys(), extended());
    assert_complete(&doc);
    assert_eq!(doc.access, AccessControl::Bac);
    assert_eq!(doc.fallbacks.codes(), ["bac_without_pace"]);
}

#[test]
fn pace_refused_reads_with_bac() {
    for refusal in [PaceRefusal::Mse, PaceRefusal::GeneralAuthenticate] {
        let mut c = chip(|p| p.faults.pace_refused = Some(refusal));
        let doc = run(&mut c, qr_keys(), extended());
        assert_complete(&doc);
        assert_eq!(doc.access, AccessControl::Bac, "{refusal:?}");
        assert_eq!(
            doc.fallbacks.codes(),
            ["bac_after_pace_refused"],
            "{refusal:?}"
        );
    }
}

#[test]
fn pace_refused_to_an_mrz_key_falls_back_to_bac_with_the_same_key() {
    let mut c = chip(|p| p.faults.pace_refused = Some(PaceRefusal::Mse));
    let doc = run(&mut c, mrz_key(), extended());
    assert_eq!(doc.access, AccessControl::Bac);
    assert_eq!(doc.fallbacks.codes(), ["bac_after_pace_refused"]);
}

#[test]
fn select_aid_refused_with_p2_0c_is_tried_with_00() {
    let mut c = chip(|p| p.faults.select_aid_p2 = Some(0x00));
    let doc = run(&mut c, qr_keys(), extended());
    assert_complete(&doc);
    assert_eq!(doc.fallbacks.codes(), ["select_aid_p2"]);
    // The same with BAC, where SELECT goes in plain.
    let mut c = chip(|p| {
        p.chip.protocols = vec![Protocol::Bac];
        p.faults.select_aid_p2 = Some(0x00);
    });
    let doc = run(&mut c, qr_keys(), extended());
    assert_complete(&doc);
    assert_eq!(doc.fallbacks.codes(), ["bac_without_pace", "select_aid_p2"]);
}

#[test]
fn a_chip_taking_only_p2_0c_needs_no_fallback() {
    let mut c = chip(|p| p.faults.select_aid_p2 = Some(0x0C));
    let doc = run(&mut c, qr_keys(), extended());
    assert_complete(&doc);
    assert!(doc.fallbacks.is_empty());
}

#[test]
fn a_transport_glitch_mid_file_resumes_where_it_stopped() {
    let mut c = chip(|p| {
        p.chip.extended_length = false;
        p.faults.glitch_after = Some(300);
    });
    let doc = run(&mut c, qr_keys(), ReadOptions::default());
    assert_complete(&doc);
    assert_eq!(doc.fallbacks.codes(), ["resumed_after_glitch"]);
    assert_eq!(doc.resumed, 1);
}

#[test]
fn transport_glitches_resume_a_bounded_number_of_times() {
    // A transport that fails on every READ BINARY: two resumes, then the
    // read ends with the transport's error.
    let mut c = chip(|_| {});
    let mut reader = DocumentReader::new(qr_keys(), [42; 32], ReadOptions::default());
    let mut reads = 0;
    let result = loop {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => {
                // Protected READ BINARY: CLA 0C, INS B0.
                if apdu.get(1) == Some(&0xB0) && apdu.first() == Some(&0x0C) {
                    reads += 1;
                    reader.handle_transport_error(kiosk_hal::ErrorKind::Protocol);
                } else {
                    reader.handle_response(&c.process(&apdu));
                }
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(result)) => break result,
            None => panic!("stalled"),
        }
    };
    assert_eq!(
        result.unwrap_err(),
        ReadError::Transport(kiosk_hal::ErrorKind::Protocol)
    );
    assert_eq!(reads, 3, "the first try and two resumes");
    assert!(reader.fallbacks().contains(Fallback::ResumedAfterGlitch));
}

#[test]
fn an_mrz_key_opens_a_pace_chip_with_pace_mrz() {
    let mut c = chip(|_| {});
    let doc = run(&mut c, mrz_key(), extended());
    assert_complete(&doc);
    assert_eq!(doc.access, AccessControl::PaceMrz);
    assert!(doc.fallbacks.is_empty());
}

#[test]
fn an_mrz_key_opens_a_bac_only_chip_with_bac() {
    let mut c = chip(|p| p.chip.protocols = vec![Protocol::Bac]);
    let doc = run(&mut c, mrz_key(), extended());
    assert_complete(&doc);
    assert_eq!(doc.access, AccessControl::Bac);
    assert_eq!(doc.fallbacks.codes(), ["bac_without_pace"]);
}

#[test]
fn a_wrong_mrz_with_pace_is_not_retried_with_bac() {
    // 6300 to PACE-MRZ is a wrong password, not a refusal of PACE.
    let mut c = chip(|_| {});
    let mut reader = DocumentReader::new(
        vec![KeyCandidate::Mrz {
            document_number: "090000001".into(),
            date_of_birth: "900115".into(),
            date_of_expiry: "310115".into(),
        }],
        [42; 32],
        extended(),
    );
    let mut commands = Vec::new();
    let result = loop {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => {
                commands.push(apdu[1]);
                reader.handle_response(&c.process(&apdu));
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(result)) => break result,
            None => panic!("stalled"),
        }
    };
    assert_eq!(result.unwrap_err(), ReadError::WrongAccessKey);
    assert!(
        !commands.contains(&0x84),
        "no GET CHALLENGE: {commands:02X?}"
    );
}

#[test]
fn fallback_codes_are_stable_and_serialize_as_a_list() {
    let mut all = crate::icao::reader::Fallbacks::default();
    for f in Fallback::ALL {
        all.insert(f);
    }
    assert_eq!(
        serde_json::to_value(all).unwrap(),
        serde_json::json!([
            "select_by_file_id",
            "short_apdus",
            "le_from_chip",
            "get_response",
            "bac_without_pace",
            "bac_after_pace_refused",
            "select_aid_p2",
            "resumed_after_glitch"
        ])
    );
}

#[test]
fn a_fault_profile_with_a_non_error_status_is_refused() {
    let mut p: CardProfile = toml::from_str(PROFILE).unwrap();
    p.faults.sfi_refused = Some(0x9000);
    assert!(matches!(
        p.chip(Path::new(".")),
        Err(ProfileError::Invalid {
            field: "faults.sfi_refused",
            ..
        })
    ));
}
