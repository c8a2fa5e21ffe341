//! The document reader against the virtual chip, in memory.

use super::chip::VirtualChip;
use super::*;
use crate::cccd::{self, KeyCandidate};
use crate::icao::reader::{
    AccessControl, Document, DocumentReader, Output, ReadError, ReadOptions,
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
ethnicity = "Kinh"
religion = "Không"
place_of_origin = "Xã Mẫu, Huyện Mẫu, Tỉnh Mẫu"
place_of_residence = "Số 1 Đường Mẫu, Phường Mẫu, Quận Mẫu, Hà Nội"
date_of_issue = "01/06/2021"
date_of_expiry = "15/01/2030"
father_name = "Nguyễn Văn Cha"
mother_name = "Lê Thị Mẹ"
"#;

fn profile(edit: impl FnOnce(&mut CardProfile)) -> VirtualChip {
    let mut p: CardProfile = toml::from_str(PROFILE).unwrap();
    edit(&mut p);
    p.chip(Path::new(".")).unwrap()
}

pub(super) fn qr_keys() -> Vec<KeyCandidate> {
    let qr =
        cccd::qr::CardQr::parse("003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021").unwrap();
    cccd::keys_from_qr(&qr)
}

/// Runs the reader against the chip; returns the result and the progress
/// seen. An answer shorter than a status word is the transport failing
/// (as the board's readers report it).
pub(super) fn run(
    chip: &mut VirtualChip,
    keys: Vec<KeyCandidate>,
    options: ReadOptions,
) -> (Result<Document, ReadError>, Vec<(usize, usize)>) {
    let mut reader = DocumentReader::new(keys, [42; 32], options);
    let mut progress = Vec::new();
    loop {
        match reader.poll_output() {
            // A stalled chip: the reader's transmit times out.
            Some(Output::Transmit(_)) if chip.stalled() => {
                reader.handle_transport_error(kiosk_hal::ErrorKind::Timeout);
            }
            Some(Output::Transmit(apdu)) => {
                let response = chip.process(&apdu);
                if response.len() < 2 {
                    reader.handle_transport_error(kiosk_hal::ErrorKind::Protocol);
                } else {
                    reader.handle_response(&response);
                }
            }
            Some(Output::Progress { done, total }) => progress.push((done, total)),
            Some(Output::Done(result)) => return (result, progress),
            None => panic!("the reader stalled"),
        }
    }
}

#[test]
fn the_mrz_derived_from_the_citizen_is_the_reference_example() {
    let p: CardProfile = toml::from_str(PROFILE).unwrap();
    let mrz = cccd_mrz(&p.citizen()).unwrap();
    assert_eq!(
        mrz,
        "IDVNM0900000018003090000001<<1\n9001158M3001156VNM<<<<<<<<<<<0\nNGUYEN<<VAN<MAU<<<<<<<<<<<<<<<"
    );
    assert_eq!(unaccent("Đỗ Thị Ngọc Ánh"), "DO THI NGOC ANH");
}

#[test]
fn a_cccd_is_read_with_pace_can_from_the_card_qr() {
    let mut chip = profile(|_| {});
    let (result, progress) = run(
        &mut chip,
        qr_keys(),
        ReadOptions {
            extended_length: true,
            ..ReadOptions::default()
        },
    );
    let doc = result.unwrap();
    assert_eq!(doc.access, AccessControl::PaceCan);
    assert_eq!(doc.com.data_groups, vec![1, 2, 13, 14, 15]);
    let citizen = crate::cccd::dg13::parse(&doc.files[&File::Dg(13)]).unwrap();
    assert_eq!(citizen.full_name, "Nguyễn Văn Mẫu");
    assert_eq!(citizen.mother_name.as_deref(), Some("Lê Thị Mẹ"));
    let mrz = crate::icao::lds::parse_dg1(&doc.files[&File::Dg(1)]).unwrap();
    assert_eq!(mrz.document_number, "090000001");
    let face = crate::icao::lds::parse_dg2(&doc.files[&File::Dg(2)]).unwrap();
    assert_eq!(face.format, crate::icao::lds::ImageFormat::Jpeg);
    assert!(doc.files.contains_key(&File::Sod));
    assert!(doc.unavailable.is_empty());
    // SELECT + READ EF.CardAccess, MSE + 4 GA, SELECT AID, one READ per
    // file (COM, DG1, DG13, DG14, DG15, SOD, DG2) with extended length,
    // MSE + GA of chip authentication after DG14, and INTERNAL AUTHENTICATE.
    assert_eq!(doc.apdus, 2 + 5 + 1 + 7 + 2 + 1, "{doc:?}");
    assert_eq!(
        crate::icao::ca::check_document(&doc),
        crate::icao::pa::Check::Passed
    );
    assert_eq!(
        crate::icao::aa::check_document(&doc),
        crate::icao::pa::Check::Passed
    );
    let last = progress.last().unwrap();
    assert_eq!(last.0, last.1, "progress ends at 100 %");
}

#[test]
fn short_apdus_read_in_0xdf_byte_blocks() {
    let mut chip = profile(|p| {
        p.chip.extended_length = false;
        p.citizen.place_of_residence = "Số 1 Đường Mẫu ".repeat(40);
    });
    let (result, _) = run(&mut chip, qr_keys(), ReadOptions::default());
    let doc = result.unwrap();
    let dg13 = doc.files[&File::Dg(13)].len();
    assert!(dg13 > 3 * 0xDF);
    let reads = |f: File| doc.files[&f].len().div_ceil(0xDF);
    let file_reads: usize = [
        File::Com,
        File::Dg(1),
        File::Dg(13),
        File::Dg(14),
        File::Dg(15),
        File::Sod,
        File::Dg(2),
    ]
    .into_iter()
    .map(reads)
    .sum();
    assert!(reads(File::Dg(13)) >= 4);
    assert_eq!(doc.apdus as usize, 2 + 5 + 1 + file_reads + 2 + 1);
}

#[test]
fn without_pace_the_reader_falls_back_to_bac_with_the_legal_expiry() {
    let mut chip = profile(|p| p.chip.protocols = vec![Protocol::Bac]);
    let (result, _) = run(&mut chip, qr_keys(), ReadOptions::default());
    let doc = result.unwrap();
    assert_eq!(doc.access, AccessControl::Bac);
}

#[test]
fn bac_tries_the_neighbouring_expiry_candidates() {
    // A card whose expiry is the 60th birthday, not the 40th the law gives
    // for this issue date: the second BAC candidate opens it.
    let mut chip = profile(|p| {
        p.chip.protocols = vec![Protocol::Bac];
        p.citizen.date_of_expiry = "15/01/2050".into();
    });
    let (result, _) = run(&mut chip, qr_keys(), ReadOptions::default());
    assert_eq!(result.unwrap().access, AccessControl::Bac);
}

#[test]
fn a_wrong_key_is_reported_as_such_after_every_candidate() {
    let mut chip = profile(|p| p.citizen.id_number = "003090000002".into());
    let (result, _) = run(&mut chip, qr_keys(), ReadOptions::default());
    assert_eq!(result.unwrap_err(), ReadError::WrongAccessKey);
}

#[test]
fn a_can_alone_on_a_bac_only_chip_has_no_usable_access_control() {
    let mut chip = profile(|p| p.chip.protocols = vec![Protocol::Bac]);
    let (result, _) = run(
        &mut chip,
        vec![KeyCandidate::Can("000001".into())],
        ReadOptions::default(),
    );
    assert_eq!(result.unwrap_err(), ReadError::NoUsableAccessControl);
}

#[test]
fn a_child_card_without_photo_is_read_without_dg2() {
    let mut chip = profile(|p| p.chip.photo = None);
    let (result, _) = run(&mut chip, qr_keys(), ReadOptions::default());
    let doc = result.unwrap();
    assert!(!doc.files.contains_key(&File::Dg(2)));
    assert_eq!(doc.com.data_groups, vec![1, 13, 14, 15]);
}

#[test]
fn a_locked_data_group_is_not_a_failed_read() {
    let mut chip = profile(|_| {});
    let (result, _) = run(
        &mut chip,
        qr_keys(),
        ReadOptions {
            data_groups: vec![1, 3, 13],
            ..ReadOptions::default()
        },
    );
    let doc = result.unwrap();
    assert!(doc.files.contains_key(&File::Dg(13)));
}

#[test]
fn a_torn_read_re_authenticates_and_continues_at_the_same_offset() {
    let mut chip = profile(|p| {
        p.chip.extended_length = false;
        p.citizen.place_of_residence = "Số 1 Đường Mẫu ".repeat(40);
    });
    let mut reader = DocumentReader::new(qr_keys(), [1; 32], ReadOptions::default());
    let mut transmitted = 0;
    let result = loop {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => {
                transmitted += 1;
                let mut response = chip.process(&apdu);
                if transmitted == 12 {
                    // The field flickers: the chip lost the session and the
                    // answer is garbage under the MAC.
                    chip.reset();
                    response = vec![0x69, 0x88];
                }
                reader.handle_response(&response);
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(r)) => break r,
            None => panic!("stalled"),
        }
    };
    let doc = result.unwrap();
    assert_eq!(doc.resumed, 1);
    let citizen = crate::cccd::dg13::parse(&doc.files[&File::Dg(13)]).unwrap();
    assert!(citizen.place_of_residence.starts_with("Số 1 Đường Mẫu"));
}

#[test]
fn a_card_removed_mid_read_ends_with_card_removed() {
    let mut chip = profile(|_| {});
    let mut reader = DocumentReader::new(qr_keys(), [1; 32], ReadOptions::default());
    let mut sent = 0;
    let result = loop {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => {
                sent += 1;
                if sent == 9 {
                    reader.handle_transport_error(kiosk_hal::ErrorKind::Removed);
                } else {
                    let r = chip.process(&apdu);
                    reader.handle_response(&r);
                }
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(r)) => break r,
            None => panic!("stalled"),
        }
    };
    assert_eq!(result.unwrap_err(), ReadError::CardRemoved);
}

#[test]
fn select_mf_is_refused_like_the_cccd_does() {
    let mut chip = profile(|_| {});
    assert_eq!(
        chip.process(&[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00]),
        vec![0x6D, 0x00]
    );
    // Protected files need access control first.
    assert_eq!(
        chip.process(&[0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0, 0, 2, 0x47, 0x10, 1]),
        vec![0x90, 0x00]
    );
    assert_eq!(
        chip.process(&[0x00, 0xB0, 0x8D, 0x00, 0x00]),
        vec![0x69, 0x82]
    );
}

/// ISO/IEC 7816-4 §5.1: a short APDU's answer carries at most 256 data
/// bytes. A protected READ BINARY sent short with DO'97' = `00` (256
/// plain bytes, as emrtd asks) cannot have them all under 3DES secure
/// messaging: the chip cuts the data to the 231 bytes whose protected
/// answer fits, says `9000`, and the reader reads on from there. (The chip
/// used to answer 285 bytes, which a reader with a short buffer refuses.)
#[test]
fn a_short_protected_read_of_256_bytes_is_cut_to_fit_a_short_answer() {
    use crate::apdu::{Command, StatusWord};
    use crate::icao::bac::{self, BacKeys};
    use crate::icao::lds::File;
    use crate::icao::sm::SecureMessaging;
    let p: CardProfile = toml::from_str(PROFILE).unwrap();
    let mrz = crate::icao::mrz::Mrz::parse(&cccd_mrz(&p.citizen()).unwrap()).unwrap();
    let whole = run(&mut profile(|_| {}), qr_keys(), ReadOptions::default())
        .0
        .unwrap()
        .files[&File::Dg(13)]
        .clone();
    assert!(whole.len() > 256, "DG13 must need two reads");

    let mut chip = profile(|_| {});
    assert_eq!(
        chip.process(&[0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0, 0, 2, 0x47, 0x10, 1]),
        vec![0x90, 0x00]
    );
    let challenge = chip.process(&bac::get_challenge().encode().unwrap());
    let terminal = bac::Terminal::new(
        BacKeys::from_mrz_information(&mrz.mrz_information()),
        challenge[..8].try_into().unwrap(),
        [1; 8],
        [2; 16],
    );
    let answer = chip.process(&terminal.external_authenticate().encode().unwrap());
    let keys = terminal.finish(&answer[..40]).unwrap();
    let mut sm = SecureMessaging::tdes(keys.ks_enc, keys.ks_mac, keys.ssc);

    let mut read = |offset: usize| {
        let [hi, lo] = u16::try_from(offset).unwrap().to_be_bytes();
        let (p1, p2) = if offset == 0 {
            (0x80 | 13, 0)
        } else {
            (hi, lo)
        };
        let command = sm
            .protect(&Command::new(0x00, 0xB0, p1, p2).with_le(256))
            .unwrap()
            .encode()
            .unwrap();
        assert_eq!(command.last(), Some(&0x00), "a short APDU, Le 00");
        let response = chip.process(&command);
        assert!(response.len() <= 256 + 2, "{} bytes", response.len());
        sm.unprotect(&response).unwrap()
    };
    let (first, sw) = read(0);
    assert_eq!((first.len(), sw), (231, StatusWord::SUCCESS));
    let (rest, sw) = read(231);
    assert_eq!(sw, StatusWord::SUCCESS);
    assert_eq!([first, rest].concat(), whole);
}

#[test]
fn the_room_of_a_protected_answer_is_what_its_objects_leave() {
    // 3DES: 231 bytes pad to 232; `87 81 E9 01` + 232 + `99 02 SW` +
    // `8E 08 MAC` = 250. AES: 223 pad to 224 (242 bytes).
    assert_eq!(super::chip::plain_room(256, 8), 231);
    assert_eq!(super::chip::plain_room(256, 16), 223);
    assert_eq!(super::chip::protected_len(231, 8), 250);
    assert_eq!(super::chip::protected_len(0, 8), 14);
    assert!(super::chip::plain_room(65_536, 16) > 65_000);
}

mod passive_authentication {
    use super::*;
    use crate::icao::pa::{self, ChainCheck, Check, TrustList, Verdict};

    const NOW: u64 = 1_795_564_800; // 2026-11-25

    fn read(edit: impl FnOnce(&mut CardProfile)) -> Document {
        let mut chip = profile(edit);
        run(&mut chip, qr_keys(), ReadOptions::default()).0.unwrap()
    }

    fn trust() -> TrustList {
        TrustList::new(vec![pki::simulator_pki().unwrap().csca])
    }

    fn report(doc: &Document, trust: &TrustList) -> pa::Report {
        let sod = pa::parse_sod(&doc.files[&File::Sod]).unwrap();
        pa::verify(&sod, &doc.files, trust, NOW)
    }

    #[test]
    fn a_genuine_chip_passes_every_check_against_the_trust_list() {
        let doc = read(|_| {});
        let r = report(&doc, &trust());
        assert_eq!(r.verdict, Verdict::Passed, "{r:#?}");
        assert_eq!(r.data_groups.len(), 5, "DG1, DG2, DG13, DG14, DG15");
        assert!(r.data_groups.values().all(|c| *c == Check::Passed));
        assert_eq!(r.message_digest, Check::Passed);
        assert_eq!(r.signature, Check::Passed);
        assert!(matches!(r.chain, ChainCheck::Anchored(ref s) if s.contains("Test CSCA ZZ")));
        assert_eq!(r.validity, Check::Passed);
    }

    #[test]
    fn without_a_configured_csca_the_signature_is_valid_but_not_anchored() {
        let doc = read(|_| {});
        let r = report(&doc, &TrustList::empty());
        assert_eq!(r.verdict, Verdict::SignatureValidChainNotAnchored);
        assert_eq!(r.signature, Check::Passed);
    }

    #[test]
    fn a_tampered_data_group_fails_its_hash_check() {
        let doc = read(|p| p.faults.tampered_dg = Some(13));
        let r = report(&doc, &trust());
        assert_eq!(r.verdict, Verdict::Failed);
        assert!(matches!(r.data_groups[&13], Check::Failed(_)));
        assert_eq!(r.data_groups[&1], Check::Passed);
        assert_eq!(
            r.signature,
            Check::Passed,
            "the SOD itself is signed correctly"
        );
    }

    #[test]
    fn data_altered_after_signing_fails_and_a_forged_signer_is_not_anchored() {
        let mut doc = read(|_| {});
        if let Some(dg1) = doc.files.get_mut(&File::Dg(1)) {
            let last = dg1.len() - 1;
            dg1[last] ^= 1;
        }
        assert_eq!(report(&doc, &trust()).verdict, Verdict::Failed);
        let forged = read(|p| p.faults.unknown_signer = true);
        let r = report(&forged, &trust());
        assert_eq!(r.verdict, Verdict::SignatureValidChainNotAnchored);
        assert!(matches!(r.chain, ChainCheck::NotAnchored(ref s) if s.contains("XX")));
    }

    #[test]
    fn an_expired_document_signer_fails_validity() {
        let doc = read(|_| {});
        let sod = pa::parse_sod(&doc.files[&File::Sod]).unwrap();
        let r = pa::verify(&sod, &doc.files, &trust(), 2_400_000_000);
        assert_eq!(
            r.validity,
            Check::Failed("a certificate is outside its validity period".into())
        );
        assert_eq!(r.verdict, Verdict::Failed);
    }

    #[test]
    fn a_malformed_sod_is_a_typed_error() {
        assert!(pa::parse_sod(&[0x77, 0x03, 0x30, 0x01, 0x00]).is_err());
        assert!(pa::parse_sod(&[0x60, 0x00]).is_err());
    }
}

/// The simulator's trust list (`board/sim/csca/test-csca-zz.der`) is the
/// test kit's CSCA. Regenerate with `KIOSK_BLESS=1 cargo test -p
/// kiosk-firmware --features testkit simulator_trust_list`.
#[test]
fn the_simulator_trust_list_holds_the_test_csca() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/sim/csca/test-csca-zz.der");
    let der = pki::simulator_pki().unwrap().csca_der().unwrap();
    if std::env::var_os("KIOSK_BLESS").is_some() {
        std::fs::write(&path, &der).unwrap();
        panic!("{} regenerated: re-run without KIOSK_BLESS", path.display());
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        der,
        "regenerate with KIOSK_BLESS=1"
    );
}

/// The simulator's CRL (`board/sim/crl/test-csca-zz.crl`) is the test
/// kit's. Regenerate with `KIOSK_BLESS=1 cargo test -p kiosk-firmware
/// --features testkit simulator_crl`.
#[test]
fn the_simulator_crl_is_the_test_cscas() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/sim/crl/test-csca-zz.crl");
    let der = pki::simulator_crl().unwrap();
    if std::env::var_os("KIOSK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &der).unwrap();
        panic!("{} regenerated: re-run without KIOSK_BLESS", path.display());
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        der,
        "regenerate with KIOSK_BLESS=1"
    );
    let mut store = crate::icao::pa::TrustList::new(vec![pki::simulator_pki().unwrap().csca]);
    let crl = store.add_crl(&der).unwrap();
    assert_eq!(crl.revoked_count(), 1);
}

mod active_authentication {
    use super::*;
    use crate::icao::aa;
    use crate::icao::pa::Check;

    #[test]
    fn a_genuine_chip_proves_it_holds_dg15s_key() {
        let mut chip = profile(|_| {});
        let doc = run(&mut chip, qr_keys(), ReadOptions::default()).0.unwrap();
        assert_eq!(aa::check_document(&doc), Check::Passed);
        assert_eq!(
            aa::hash_from_dg14(&doc.files[&File::Dg(14)]),
            Some(crate::icao::pa::HashAlgorithm::Sha256)
        );
    }

    #[test]
    fn a_cloned_chip_is_detected_by_active_authentication() {
        let mut chip = profile(|p| p.faults.cloned_aa = true);
        let doc = run(&mut chip, qr_keys(), ReadOptions::default()).0.unwrap();
        match aa::check_document(&doc) {
            Check::Failed(why) => assert!(why.contains("cloned"), "{why}"),
            other => panic!("{other:?}"),
        }
        // The data itself is intact: passive authentication alone would
        // not tell the clone.
        let sod = crate::icao::pa::parse_sod(&doc.files[&File::Sod]).unwrap();
        let trust = crate::icao::pa::TrustList::new(vec![pki::simulator_pki().unwrap().csca]);
        let report = crate::icao::pa::verify(&sod, &doc.files, &trust, 1_795_564_800);
        assert_eq!(report.verdict, crate::icao::pa::Verdict::Passed);
    }

    #[test]
    fn a_challenge_answered_for_another_challenge_fails() {
        let mut chip = profile(|_| {});
        let mut doc = run(&mut chip, qr_keys(), ReadOptions::default()).0.unwrap();
        if let Some((challenge, _)) = doc.active_authentication.as_mut() {
            challenge[0] ^= 1;
        }
        assert!(matches!(aa::check_document(&doc), Check::Failed(_)));
    }
}

#[test]
fn the_jmrtd_style_strategy_reads_the_same_files_with_more_apdus() {
    let mut fast = profile(|_| {});
    let mut slow = profile(|_| {});
    let (a, _) = run(
        &mut fast,
        qr_keys(),
        ReadOptions {
            extended_length: true,
            ..ReadOptions::default()
        },
    );
    let (b, _) = run(
        &mut slow,
        qr_keys(),
        ReadOptions {
            jmrtd_style: true,
            ..ReadOptions::default()
        },
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.files, b.files);
    assert!(b.apdus > a.apdus + 7, "{} vs {}", a.apdus, b.apdus);
}

mod chip_authentication {
    use super::*;

    #[test]
    fn a_chip_without_dg14s_private_key_is_a_clone() {
        let mut chip = profile(|p| p.faults.cloned_ca = true);
        let (result, _) = run(&mut chip, qr_keys(), ReadOptions::default());
        assert_eq!(result.unwrap_err(), ReadError::ChipAuthenticationFailed);
    }

    #[test]
    fn chip_authentication_also_works_after_bac() {
        let mut chip = profile(|p| p.chip.protocols = vec![Protocol::Bac]);
        let (result, _) = run(&mut chip, qr_keys(), ReadOptions::default());
        let doc = result.unwrap();
        assert_eq!(doc.access, AccessControl::Bac);
        assert_eq!(
            doc.chip_authentication,
            crate::icao::reader::ChipAuthentication::Confirmed
        );
    }

    #[test]
    fn dg14_names_the_protocol_and_the_static_key() {
        let mut chip = profile(|_| {});
        let doc = run(&mut chip, qr_keys(), ReadOptions::default()).0.unwrap();
        let info = crate::icao::ca::from_dg14(&doc.files[&File::Dg(14)]).unwrap();
        assert_eq!(info.curve, crate::icao::pace::Curve::BrainpoolP256r1);
        assert_eq!(info.public_key.len(), 65);
    }
}

/// The hostile-chip faults of `[faults]`, each against the reader: the
/// read ends with the specific violation (or, for refused files, the
/// refusal is recorded for the trust policy), never with a genuine-looking
/// document.
mod hostile {
    use super::*;
    use crate::apdu::StatusWord;
    use crate::icao::pa::Check;
    use crate::icao::reader::{ChipAuthentication, Violation};
    use crate::icao::sm::SmError;

    const USED: [u8; 5] = [1, 2, 13, 14, 15];

    fn faults(toml_text: &str) -> VirtualChip {
        let mut p: CardProfile =
            toml::from_str(&format!("{PROFILE}\n[faults]\n{toml_text}")).unwrap();
        p.chip.extended_length = false;
        p.chip(Path::new(".")).unwrap()
    }

    fn read(chip: &mut VirtualChip) -> Result<Document, ReadError> {
        run(chip, qr_keys(), ReadOptions::default()).0
    }

    fn hostile(toml_text: &str) -> Violation {
        match read(&mut faults(toml_text)) {
            Err(ReadError::Hostile(v)) => v,
            other => panic!("{toml_text}: expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn unknown_fault_fields_are_refused() {
        assert!(toml::from_str::<CardProfile>(&format!("{PROFILE}\n[faults]\nbogus = 1")).is_err());
    }

    #[test]
    fn a_status_appended_after_the_mac_does_not_make_a_real_dg2_unavailable() {
        // Without the check the appended `99 02 6982` would win and DG2
        // would be "refused": the guardian path with no face check.
        assert_eq!(
            hostile("status_after_mac = 2"),
            Violation::SecureMessaging(SmError::ObjectAfterMac)
        );
        assert_eq!(
            hostile("status_after_mac = 15"),
            Violation::SecureMessaging(SmError::ObjectAfterMac)
        );
    }

    #[test]
    fn a_duplicate_cryptogram_ends_the_read() {
        assert_eq!(
            hostile("duplicate_87 = 1"),
            Violation::SecureMessaging(SmError::DuplicateObject(0x87))
        );
    }

    #[test]
    fn a_protected_answer_without_status_ends_the_read() {
        assert_eq!(
            hostile("missing_99 = 13"),
            Violation::SecureMessaging(SmError::MissingStatus)
        );
    }

    #[test]
    fn an_empty_pace_nonce_ends_the_read_instead_of_trying_other_keys() {
        assert_eq!(
            hostile(r#"pace_nonce = "empty""#),
            Violation::PaceNonceLength { len: 0 }
        );
    }

    #[test]
    fn a_short_pace_nonce_ends_the_read() {
        assert_eq!(
            hostile(r#"pace_nonce = "short""#),
            Violation::PaceNonceLength { len: 8 }
        );
    }

    #[test]
    fn a_zero_pace_nonce_ends_the_read() {
        assert_eq!(hostile(r#"pace_nonce = "zero""#), Violation::PaceNonceZero);
    }

    #[test]
    fn a_dg2_declaring_4_gib_is_refused_before_reading_on() {
        let mut chip = faults("declared_length = { dg = 2, bytes = 4294967295 }");
        let result = read(&mut chip);
        assert_eq!(
            result.unwrap_err(),
            ReadError::Hostile(Violation::FileTooLarge {
                file: File::Dg(2),
                // 75 84 FFFFFFFF: the tag, five length bytes, the value.
                declared: 0xFFFF_FFFF + 6,
            })
        );
    }

    #[test]
    fn a_file_over_its_cap_is_refused_and_the_cap_is_configurable() {
        let fault = "declared_length = { dg = 13, bytes = 20000 }";
        assert_eq!(
            hostile(fault),
            Violation::FileTooLarge {
                file: File::Dg(13),
                declared: 20000 + 6,
            }
        );
        // With a larger cap the same header passes the cap (and the read
        // then fails on the short file, not on the cap).
        let (result, _) = run(
            &mut faults(fault),
            qr_keys(),
            ReadOptions {
                max_file_len: 32 * 1024,
                ..ReadOptions::default()
            },
        );
        assert!(!matches!(
            result,
            Err(ReadError::Hostile(Violation::FileTooLarge { .. }))
        ));
    }

    #[test]
    fn a_chip_dripping_a_byte_per_read_exhausts_the_apdu_budget() {
        let limit = ReadOptions::default().apdu_budget(qr_keys().len());
        assert!((500..2000).contains(&limit), "{limit}");
        assert_eq!(hostile("drip = 1"), Violation::TooManyCommands { limit });
        // A chip answering in small but honest chunks is read.
        let doc = read(&mut faults("drip = 64")).unwrap();
        assert!(doc.files.contains_key(&File::Dg(2)));
    }

    #[test]
    fn a_chip_that_stalls_mid_read_ends_with_the_transport_timeout() {
        let mut chip = faults("stall_after = 300");
        assert_eq!(
            read(&mut chip).unwrap_err(),
            ReadError::Transport(kiosk_hal::ErrorKind::Timeout)
        );
        assert!(chip.stalled());
    }

    #[test]
    fn listed_groups_refused_with_6982_are_recorded_for_the_policy() {
        let doc = read(&mut faults("refuse_6982 = [2, 14, 15]")).unwrap();
        let sw = StatusWord::SECURITY_STATUS_NOT_SATISFIED;
        assert_eq!(
            doc.missing_listed_groups(&USED).unwrap(),
            vec![(2, Some(sw)), (14, Some(sw)), (15, Some(sw))]
        );
        assert!(doc.unavailable.contains(&(File::Dg(2), sw)));
        // Nothing to prove the chip genuine: never a pass.
        assert!(matches!(
            crate::icao::ca::check_document(&doc),
            Check::NotRun(_)
        ));
        assert!(matches!(
            crate::icao::aa::check_document(&doc),
            Check::NotRun(_)
        ));
    }

    #[test]
    fn listed_groups_refused_with_6a82_are_recorded_for_the_policy() {
        let doc = read(&mut faults("refuse_6a82 = [2]")).unwrap();
        assert_eq!(
            doc.missing_listed_groups(&USED).unwrap(),
            vec![(2, Some(StatusWord::FILE_NOT_FOUND))]
        );
    }

    #[test]
    fn groups_ef_com_omits_are_read_because_the_sod_lists_them() {
        let doc = read(&mut faults("com_omits = [2, 14, 15]")).unwrap();
        assert_eq!(doc.com.data_groups, vec![1, 13]);
        for n in [2, 14, 15] {
            assert!(doc.files.contains_key(&File::Dg(n)), "DG{n}");
        }
        assert_eq!(doc.sod_listed_groups().unwrap(), vec![1, 2, 13, 14, 15]);
        assert!(doc.missing_listed_groups(&USED).unwrap().is_empty());
        assert_eq!(doc.chip_authentication, ChipAuthentication::Confirmed);
        assert_eq!(crate::icao::aa::check_document(&doc), Check::Passed);
    }

    #[test]
    fn the_eac_groups_are_the_only_exempt_ones() {
        let doc = read(&mut faults("")).unwrap();
        assert!(
            doc.missing_listed_groups(&[1, 2, 3, 4, 13, 14, 15])
                .unwrap()
                .is_empty()
        );
        assert_eq!(crate::icao::reader::EAC_PROTECTED_GROUPS, [3, 4]);
    }

    #[test]
    fn a_genuine_rsa_chip_passes_active_authentication() {
        let doc = read(&mut faults("")).unwrap();
        assert_eq!(crate::icao::aa::check_document(&doc), Check::Passed);
        let mut p: CardProfile = toml::from_str(PROFILE).unwrap();
        p.chip.active_authentication = AaAlgorithm::Rsa;
        let doc = read(&mut p.chip(Path::new(".")).unwrap()).unwrap();
        assert_eq!(crate::icao::aa::check_document(&doc), Check::Passed);
        // DG15 does hold an RSA key.
        let dg15 = &doc.files[&File::Dg(15)];
        assert!(
            dg15.windows(9)
                .any(|w| w == [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01])
        );
    }

    #[test]
    fn an_rsa_chip_with_a_wrong_signature_fails_active_authentication() {
        for fault in ["aa_wrong_signature = true", "cloned_aa = true"] {
            let mut p: CardProfile =
                toml::from_str(&format!("{PROFILE}\n[faults]\n{fault}")).unwrap();
            p.chip.active_authentication = AaAlgorithm::Rsa;
            let doc = read(&mut p.chip(Path::new(".")).unwrap()).unwrap();
            assert_eq!(
                crate::icao::aa::check_document(&doc),
                Check::Failed(crate::icao::aa::RsaAaError::HashMismatch.to_string()),
                "{fault}"
            );
        }
    }

    #[test]
    fn an_ecdsa_chip_with_a_wrong_signature_fails_active_authentication() {
        let doc = read(&mut faults("aa_wrong_signature = true")).unwrap();
        assert!(matches!(
            crate::icao::aa::check_document(&doc),
            Check::Failed(_)
        ));
    }
}
