//! The verification policy against documents read from the test kit's
//! virtual chip (and inputs built by hand where the chip cannot misbehave
//! that way yet). Every attack asserts its own refusal.

use super::*;
use crate::apdu::StatusWord;
use crate::cccd::KeyCandidate;
use crate::icao::pa::TrustList;
use crate::icao::reader::{DocumentReader, Output, ReadOptions};
use crate::testkit::{CardProfile, pki};
use std::path::Path;

/// 2026-11-25, as Unix seconds.
const NOW: u64 = 1_795_564_800;

fn today() -> Date {
    Date::new(2026, 11, 25).unwrap()
}

const ADULT: &str = r#"
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
place_of_origin = "Xã Mẫu"
place_of_residence = "Số 1 Đường Mẫu, Hà Nội"
date_of_issue = "01/06/2021"
date_of_expiry = "15/01/2030"
"#;

const QR: &str = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";

fn profile(edit: impl FnOnce(&mut CardProfile)) -> CardProfile {
    let mut p: CardProfile = toml::from_str(ADULT).unwrap();
    edit(&mut p);
    p
}

fn read_with(p: &CardProfile, options: ReadOptions) -> Document {
    let mut chip = p.chip(Path::new(".")).unwrap();
    let can = p.citizen.id_number[6..].to_owned();
    let mut reader = DocumentReader::new(vec![KeyCandidate::Can(can)], [42; 32], options);
    loop {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => {
                let response = chip.process(&apdu);
                reader.handle_response(&response);
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(result)) => return result.unwrap(),
            None => panic!("the reader stalled"),
        }
    }
}

fn read(edit: impl FnOnce(&mut CardProfile)) -> Document {
    read_with(&profile(edit), ReadOptions::default())
}

fn trust_list() -> TrustList {
    TrustList::new(vec![pki::simulator_pki().unwrap().csca])
}

fn qr_key() -> AccessKey {
    AccessKey::CardQr(QR.into())
}

/// `evaluate` with the simulator's trust list, the card's own QR, today.
fn judge(doc: &Document) -> Trust {
    judge_with(doc, &qr_key())
}

fn judge_with(doc: &Document, key: &AccessKey) -> Trust {
    evaluate(doc, key, &trust_list(), NOW, today()).0
}

/// `assess` with hand-made clone checks.
fn judge_checks(doc: &Document, active: Check, chip: Check) -> Trust {
    let passive = passive(doc, &trust_list(), NOW);
    let identified = crate::cccd::identify(doc);
    assess(&Evidence {
        document: doc,
        passive: &passive,
        active: &active,
        chip: &chip,
        identified: identified.as_ref(),
        key: &qr_key(),
        today: today(),
    })
}

fn strict() -> Policy {
    Policy::default()
}

#[test]
fn a_genuine_anchored_card_is_trusted_and_may_have_everything() {
    let t = judge(&read(|_| {}));
    assert!(
        matches!(t.genuineness, Genuineness::Anchored { ref csca } if csca.contains("Test CSCA ZZ")),
        "{t:#?}"
    );
    assert_eq!(t.active_authentication, CloneCheck::Passed);
    assert_eq!(t.chip_authentication, CloneCheck::Passed);
    assert_eq!(t.binding, Binding::Bound);
    assert_eq!(t.validity, Validity::Valid);
    assert_eq!(t.age, Some(36));
    assert!(!t.guardian_path);
    assert!(t.refusals.is_empty(), "{:?}", t.refusals);
    for purpose in [
        Purpose::Identify,
        Purpose::Ticket { service: "A" },
        Purpose::PriorityTicket { service: "A" },
        Purpose::OnlineRequest {
            procedure: "1.000001",
        },
    ] {
        assert_eq!(permits(&strict(), &t, purpose), Ok(()), "{purpose:?}");
    }
}

#[test]
fn a_chip_without_an_sod_is_refused_as_sod_missing() {
    let t = judge(&read(|p| p.faults.no_sod = true));
    assert_eq!(
        t.genuineness,
        Genuineness::Failed {
            reason: Refusal::SodMissing
        }
    );
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::SodMissing)
    );
}

#[test]
fn a_malformed_sod_is_refused_as_malformed() {
    let mut doc = read(|_| {});
    doc.files
        .insert(File::Sod, vec![0x77, 0x03, 0x30, 0x01, 0x00]);
    let t = judge(&doc);
    assert_eq!(t.refusals.first(), Some(&Refusal::SodMalformed));
}

#[test]
fn a_tampered_data_group_is_refused_with_its_number() {
    let t = judge(&read(|p| p.faults.tampered_dg = Some(13)));
    assert_eq!(
        t.genuineness,
        Genuineness::Failed {
            reason: Refusal::DataGroupHashMismatch { dg: 13 }
        }
    );
    assert_eq!(
        permits(&strict(), &t, Purpose::Ticket { service: "A" }),
        Err(Refusal::DataGroupHashMismatch { dg: 13 })
    );
}

#[test]
fn a_data_group_the_sod_does_not_sign_is_refused() {
    let mut doc = read(|_| {});
    doc.files.insert(File::Dg(11), vec![0x6B, 0x00]);
    let t = judge(&doc);
    assert!(
        t.refusals.contains(&Refusal::DataGroupNotInSod { dg: 11 }),
        "{:?}",
        t.refusals
    );
}

#[test]
fn a_listed_group_the_chip_refused_is_refused_with_its_status_word() {
    for dg in [2u8, 14, 15] {
        for sw in [0x6982u16, 0x6A82] {
            let mut doc = read(|_| {});
            doc.files.remove(&File::Dg(dg));
            doc.unavailable.push((File::Dg(dg), StatusWord(sw)));
            let t = judge(&doc);
            assert!(
                t.refusals.contains(&Refusal::ListedGroupNotRead {
                    dg,
                    sw: Some(format!("{sw:04X}"))
                }),
                "DG{dg} {sw:04X}: {:?}",
                t.refusals
            );
            assert!(permits(&strict(), &t, Purpose::Identify).is_err());
        }
    }
}

#[test]
fn a_listed_group_that_ef_com_hid_is_refused_as_not_read() {
    // The reader reads what EF.COM lists: a chip whose EF.COM omits DG15
    // gives a document without it.
    let p = profile(|_| {});
    let doc = read_with(
        &p,
        ReadOptions {
            data_groups: vec![1, 13, 14, 2],
            ..ReadOptions::default()
        },
    );
    let t = judge(&doc);
    assert!(
        t.refusals
            .contains(&Refusal::ListedGroupNotRead { dg: 15, sw: None }),
        "{:?}",
        t.refusals
    );
    assert_eq!(
        t.active_authentication,
        CloneCheck::RequiredButFailed {
            reason: Refusal::AaNotRun
        },
        "the SOD lists DG15: active authentication is required"
    );
}

#[test]
fn a_signer_outside_the_trust_list_is_unanchored_and_refused_by_default() {
    let t = judge(&read(|p| p.faults.unknown_signer = true));
    assert!(
        matches!(t.genuineness, Genuineness::Unanchored { ref issuer } if issuer.contains("XX")),
        "{t:#?}"
    );
    assert!(
        t.refusals.is_empty(),
        "not refused by assess: by the policy"
    );
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::ChainUnanchored)
    );
    let lab = Policy {
        ticket: Requirement {
            genuineness: MinimumGenuineness::Unanchored,
        },
        ..Policy::default()
    };
    assert!(lab.allows_unanchored());
    assert!(!strict().allows_unanchored());
    assert_eq!(permits(&lab, &t, Purpose::Ticket { service: "A" }), Ok(()));
    assert_eq!(
        permits(&lab, &t, Purpose::OnlineRequest { procedure: "x" }),
        Err(Refusal::ChainUnanchored),
        "the lab allowance covers tickets only"
    );
}

#[test]
fn a_self_signed_document_signer_is_unanchored() {
    let t = judge(&read(|p| p.faults.self_signed_signer = true));
    assert!(
        matches!(t.genuineness, Genuineness::Unanchored { .. }),
        "{t:#?}"
    );
    assert_eq!(
        permits(&strict(), &t, Purpose::Ticket { service: "A" }),
        Err(Refusal::ChainUnanchored)
    );
}

#[test]
fn an_expired_document_signer_is_refused_even_when_anchored() {
    let t = judge(&read(|p| p.faults.expired_signer = true));
    assert_eq!(
        t.genuineness,
        Genuineness::Failed {
            reason: Refusal::DocumentSignerExpired
        }
    );
}

#[test]
fn an_expired_document_signer_is_refused_when_unanchored_too() {
    let t = judge(&read(|p| {
        p.faults.expired_signer = true;
        p.faults.unknown_signer = true;
    }));
    assert_eq!(
        t.genuineness,
        Genuineness::Failed {
            reason: Refusal::DocumentSignerExpired
        },
        "validity dates are checked whether or not the chain is anchored"
    );
}

#[test]
fn a_cloned_active_authentication_key_is_refused() {
    let t = judge(&read(|p| p.faults.cloned_aa = true));
    assert_eq!(
        t.active_authentication,
        CloneCheck::RequiredButFailed {
            reason: Refusal::AaFailed
        }
    );
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::AaFailed)
    );
}

#[test]
fn active_authentication_not_run_on_a_listed_dg15_is_a_failure() {
    let doc = read(|_| {});
    let t = judge_checks(&doc, Check::NotRun("RSA".into()), Check::Passed);
    assert_eq!(t.refusals, vec![Refusal::AaNotRun]);
}

#[test]
fn failed_or_unsupported_chip_authentication_on_a_signed_dg14_is_refused() {
    let doc = read(|_| {});
    let t = judge_checks(&doc, Check::Passed, Check::Failed("refused".into()));
    assert_eq!(t.refusals, vec![Refusal::CaFailed]);
    let t = judge_checks(&doc, Check::Passed, Check::NotRun("unsupported".into()));
    assert_eq!(
        t.chip_authentication,
        CloneCheck::RequiredButFailed {
            reason: Refusal::CaUnsupported
        },
        "DG14 offers chip authentication: not running it is no pass"
    );
}

#[test]
fn chip_authentication_is_not_offered_only_when_the_signed_dg14_offers_none() {
    assert!(!offers_chip_authentication(&[0x6E, 0x02, 0x31, 0x00]));
    let doc = read(|_| {});
    assert!(offers_chip_authentication(&doc.files[&File::Dg(14)]));
}

#[test]
fn a_qr_of_another_card_is_a_key_mismatch() {
    let doc = read(|_| {});
    // Same last six digits (the CAN), another ID.
    let other = AccessKey::CardQr("079090000001||Trần Thị Khác|01021985|Nữ|Số 2|01062021".into());
    let t = judge_with(&doc, &other);
    assert_eq!(t.binding, Binding::Mismatch);
    assert_eq!(t.refusals, vec![Refusal::KeyMismatch]);
    assert_eq!(Refusal::KeyMismatch.fault(), Fault::KeyMismatch);
}

#[test]
fn a_typed_id_can_or_mrz_binds_only_its_own_card() {
    let doc = read(|_| {});
    let own = [
        AccessKey::IdAndBirthDate {
            id_number: "003090000001".into(),
            date_of_birth: "900115".into(),
        },
        AccessKey::Can("000001".into()),
    ];
    for key in own {
        assert_eq!(judge_with(&doc, &key).binding, Binding::Bound, "{key:?}");
    }
    let others = [
        AccessKey::IdAndBirthDate {
            id_number: "001090000001".into(),
            date_of_birth: "900115".into(),
        },
        AccessKey::IdAndBirthDate {
            id_number: "003090000001".into(),
            date_of_birth: "900116".into(),
        },
        AccessKey::Can("000002".into()),
    ];
    for key in others {
        assert_eq!(
            judge_with(&doc, &key).refusals,
            vec![Refusal::KeyMismatch],
            "{key:?}"
        );
    }
}

#[test]
fn records_that_disagree_are_refused_as_inconsistent() {
    let doc = read(|_| {});
    let passive = passive(&doc, &trust_list(), NOW);
    let t = assess(&Evidence {
        document: &doc,
        passive: &passive,
        active: &Check::Passed,
        chip: &Check::Passed,
        identified: Err(&IdentifyError::Inconsistent),
        key: &qr_key(),
        today: today(),
    });
    assert_eq!(t.refusals, vec![Refusal::RecordsInconsistent]);
    assert_eq!(t.binding, Binding::NotChecked);
}

fn child(edit: impl FnOnce(&mut CardProfile)) -> CardProfile {
    profile(|p| {
        p.chip.photo = None;
        p.citizen.id_number = "001222000007".into();
        p.citizen.date_of_birth = "01/03/2022".into();
        p.citizen.date_of_issue = "01/04/2022".into();
        p.citizen.date_of_expiry = "01/03/2036".into();
        edit(p);
    })
}

#[test]
fn a_child_under_six_without_a_photo_takes_the_guardian_path() {
    let doc = read_with(&child(|_| {}), ReadOptions::default());
    let t = judge_with(&doc, &AccessKey::Can("000007".into()));
    assert_eq!(t.age, Some(4));
    assert!(t.guardian_path, "{t:#?}");
    assert_eq!(permits(&strict(), &t, Purpose::Identify), Ok(()));
}

#[test]
fn an_adult_card_without_a_photo_is_refused() {
    let doc = read_with(
        &child(|p| p.citizen.date_of_birth = "01/03/2019".into()),
        ReadOptions::default(),
    );
    let t = judge_with(&doc, &AccessKey::Can("000007".into()));
    assert_eq!(t.age, Some(7));
    assert!(!t.guardian_path);
    assert_eq!(t.refusals, vec![Refusal::AdultWithoutPhoto]);
}

#[test]
fn an_expired_card_may_only_take_a_renewal_ticket_by_default() {
    let doc = read(|p| p.citizen.date_of_expiry = "15/01/2025".into());
    let t = judge(&doc);
    assert_eq!(t.validity, Validity::Expired);
    assert!(t.refusals.is_empty());
    assert_eq!(permits(&strict(), &t, Purpose::Identify), Ok(()));
    assert_eq!(
        permits(&strict(), &t, Purpose::Ticket { service: "K" }),
        Ok(())
    );
    assert_eq!(
        permits(&strict(), &t, Purpose::Ticket { service: "A" }),
        Err(Refusal::DocumentExpired)
    );
    assert_eq!(
        permits(
            &strict(),
            &t,
            Purpose::OnlineRequest {
                procedure: "1.000001"
            }
        ),
        Err(Refusal::DocumentExpired)
    );
    let nothing = Policy {
        expired: ExpiredPolicy {
            ticket_services: vec![],
            procedures: vec![],
        },
        ..Policy::default()
    };
    assert_eq!(
        permits(&nothing, &t, Purpose::Identify),
        Err(Refusal::DocumentExpired)
    );
    assert_eq!(Refusal::DocumentExpired.fault(), Fault::DocumentExpired);
}

#[test]
fn a_card_without_expiry_is_valid() {
    let doc = read(|p| p.citizen.date_of_expiry = "Không thời hạn".into());
    let t = judge(&doc);
    assert_eq!(t.validity, Validity::NoExpiry);
    assert_eq!(
        permits(&strict(), &t, Purpose::Ticket { service: "A" }),
        Ok(())
    );
}

#[test]
fn a_card_issued_after_today_is_not_yet_valid() {
    let doc = read(|p| p.citizen.date_of_issue = "01/01/2027".into());
    let t = judge(&doc);
    assert_eq!(t.validity, Validity::NotYetValid);
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::DocumentNotYetValid)
    );
}

#[test]
fn an_online_verdict_meets_an_online_minimum_but_not_an_anchored_one() {
    let mut t = judge(&read(|_| {}));
    t.genuineness = Genuineness::OnlineVerified {
        verdict: "v1".into(),
    };
    let online = Policy {
        ticket: Requirement {
            genuineness: MinimumGenuineness::Anchored,
        },
        online_request: Requirement {
            genuineness: MinimumGenuineness::OnlineVerified,
        },
        ..Policy::default()
    };
    assert_eq!(
        permits(&online, &t, Purpose::OnlineRequest { procedure: "p" }),
        Ok(())
    );
    assert_eq!(
        permits(&online, &t, Purpose::Ticket { service: "A" }),
        Err(Refusal::ChainUnanchored)
    );
}

#[test]
fn the_trust_serializes_as_codes_without_personal_data() {
    let doc = read(|p| p.faults.tampered_dg = Some(2));
    let t = judge_with(
        &doc,
        &AccessKey::CardQr("079090000001||Trần Thị Khác|01021985|Nữ|Số 2|01062021".into()),
    );
    let json = serde_json::to_string(&t).unwrap();
    assert!(
        json.contains(r#""code":"data_group_hash_mismatch","dg":2"#),
        "{json}"
    );
    assert!(json.contains(r#""code":"key_mismatch""#), "{json}");
    for personal in [
        "003090000001",
        "Nguyễn",
        "1990",
        "15/01",
        "Hà Nội",
        "\"age\"",
    ] {
        assert!(!json.contains(personal), "{personal} in {json}");
    }
    assert_eq!(Refusal::KeyMismatch.code(), "key_mismatch");
    assert_eq!(
        Refusal::ListedGroupNotRead { dg: 2, sw: None }.code(),
        "listed_group_not_read"
    );
}

#[test]
fn the_default_policy_is_strict_and_reads_from_an_empty_table() {
    let p: Policy = toml::from_str("").unwrap();
    assert_eq!(p, Policy::default());
    // Unverified-offline needs the online check configured and tried: a
    // bare unanchored chain stays refused (see the online tests).
    assert_eq!(p.ticket.genuineness, MinimumGenuineness::UnverifiedOffline);
    assert_eq!(
        p.online_request.genuineness,
        MinimumGenuineness::OnlineVerified
    );
    assert_eq!(p.expired.ticket_services, vec!["K".to_owned()]);
    assert!(p.expired.procedures.is_empty());
    assert!(toml::from_str::<Policy>("allow_everything = true").is_err());
}

#[test]
fn assess_never_panics_on_hostile_files() {
    // A small deterministic fuzz: garbage in every file the policy reads.
    let base = read(|_| {});
    let mut state = 0x1234_5678_u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for round in 0..200 {
        let mut doc = read(|_| {});
        let file = [
            File::Sod,
            File::Dg(1),
            File::Dg(2),
            File::Dg(13),
            File::Dg(14),
            File::Dg(15),
        ][round % 6];
        let len = (next() % 64) as usize;
        let mut bytes: Vec<u8> = base.files[&file].clone();
        match round % 3 {
            0 => bytes = (0..len).map(|_| next() as u8).collect(),
            1 => bytes.truncate(len),
            _ => {
                if !bytes.is_empty() {
                    let i = next() as usize % bytes.len();
                    bytes[i] ^= 0x5A;
                }
            }
        }
        if bytes == base.files[&file] {
            continue;
        }
        doc.files.insert(file, bytes);
        let t = judge(&doc);
        assert!(
            permits(&strict(), &t, Purpose::Identify).is_err(),
            "round {round}: an altered {file:?} was accepted"
        );
    }
}

#[test]
fn passive_authentication_is_failed_by_an_expired_signer_even_unanchored() {
    let doc = read(|p| {
        p.faults.expired_signer = true;
        p.faults.unknown_signer = true;
    });
    let Passive::Checked { report, .. } = passive(&doc, &TrustList::empty(), NOW) else {
        panic!("the SOD parses");
    };
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(
        report.document_signer_validity,
        CertificateValidity::Expired
    );
}

// The trust store (issue 14): master lists, CRLs, link certificates and the
// 9303-12 certificate profiles, through `evaluate` and `permits`.

/// 30 days.
const MONTH: u64 = 30 * 86_400;

fn judge_store(doc: &Document, store: &TrustList) -> Trust {
    evaluate(doc, &qr_key(), store, NOW, today()).0
}

/// The simulator's CSCA with one CRL of it revoking `revoked`, valid
/// until `next_update`; CRLs required.
fn store_with_crl(revoked: &[u32], next_update: u64) -> TrustList {
    let pki = pki::simulator_pki().unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    store.set_require_crl(true);
    store
        .add_crl(&pki.crl(revoked, NOW - 2 * MONTH, next_update).unwrap())
        .unwrap();
    store
}

#[test]
fn a_card_whose_document_signer_is_revoked_is_refused() {
    let doc = read(|_| {});
    let t = judge_store(&doc, &store_with_crl(&[2], NOW + MONTH));
    assert_eq!(
        t.genuineness,
        Genuineness::Failed {
            reason: Refusal::DocumentSignerRevoked
        }
    );
    assert_eq!(t.refusals, vec![Refusal::DocumentSignerRevoked]);
    let refusal = permits(&strict(), &t, Purpose::Identify).unwrap_err();
    assert_eq!(refusal, Refusal::DocumentSignerRevoked);
    assert_eq!(refusal.code(), "document_signer_revoked");
    assert_eq!(refusal.fault(), Fault::DocumentNotGenuine);
    // The same card with a CRL that lists another serial is accepted.
    let t = judge_store(&doc, &store_with_crl(&[99], NOW + MONTH));
    assert_eq!(permits(&strict(), &t, Purpose::Identify), Ok(()));
}

#[test]
fn a_card_checked_against_an_expired_crl_is_refused_fail_closed() {
    let t = judge_store(&read(|_| {}), &store_with_crl(&[99], NOW - MONTH));
    let refusal = permits(&strict(), &t, Purpose::Identify).unwrap_err();
    assert_eq!(refusal, Refusal::CrlExpired);
    assert_eq!(refusal.code(), "crl_expired");
    assert_eq!(refusal.fault(), Fault::Internal, "the kiosk's fault");
}

#[test]
fn a_card_whose_csca_has_no_crl_is_refused_when_crls_are_required() {
    let pki = pki::simulator_pki().unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    store.set_require_crl(true);
    let t = judge_store(&read(|_| {}), &store);
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::CrlMissing)
    );
}

#[test]
fn a_card_signed_under_a_rolled_over_csca_key_is_accepted_through_the_link() {
    let doc = read(|p| p.faults.rolled_over_csca = true);
    let rolled = pki::TestPki::with_options(
        "ZZ",
        [0; 32],
        pki::PkiOptions {
            rolled_over_csca: true,
            ..pki::PkiOptions::default()
        },
    )
    .unwrap();
    // Without the link: the trusted CSCA of that name did not sign it.
    let t = judge_store(&doc, &trust_list());
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::ChainSignatureInvalid)
    );
    // With the link certificate beside the old CSCA: anchored.
    let mut store = trust_list();
    store.add_certificate(rolled.link.clone().unwrap(), crate::icao::pki::Source::File);
    let t = judge_store(&doc, &store);
    assert!(
        matches!(t.genuineness, Genuineness::Anchored { ref csca } if csca.contains("Test CSCA ZZ")),
        "{t:#?}"
    );
    assert_eq!(permits(&strict(), &t, Purpose::Identify), Ok(()));
    let Passive::Checked { report, .. } = passive(&doc, &store, NOW) else {
        panic!("checked");
    };
    assert_eq!(
        report.anchor_source,
        Some(crate::icao::pki::Source::Link {
            issuer: rolled.csca.tbs_certificate().subject().to_string()
        })
    );
}

#[test]
fn a_card_anchored_in_a_master_list_is_accepted_and_says_so() {
    let sim = pki::simulator_pki().unwrap();
    let issuer = pki::TestMasterListIssuer::new("YY", [0x11; 32], false).unwrap();
    let mut store = TrustList::empty();
    store
        .add_master_list_anchor(&der::Encode::to_der(&issuer.anchor).unwrap())
        .unwrap();
    store
        .add_master_list(&issuer.master_list(&[sim.csca]).unwrap(), NOW)
        .unwrap();
    let doc = read(|_| {});
    let t = judge_store(&doc, &store);
    assert_eq!(permits(&strict(), &t, Purpose::Identify), Ok(()));
    let Passive::Checked { report, .. } = passive(&doc, &store, NOW) else {
        panic!("checked");
    };
    assert!(
        matches!(report.anchor_source, Some(crate::icao::pki::Source::MasterList { ref signer }) if signer.contains("Master List Signer YY")),
        "{:?}",
        report.anchor_source
    );
}

#[test]
fn a_document_signer_that_is_a_ca_is_refused() {
    let t = judge(&read(|p| p.faults.signer_is_ca = true));
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::DocumentSignerIsCa)
    );
}

#[test]
fn a_document_signer_without_digital_signature_usage_is_refused() {
    let t = judge(&read(|p| p.faults.signer_without_digital_signature = true));
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::DocumentSignerKeyUsage)
    );
}

#[test]
fn a_csca_without_cert_sign_usage_anchors_nothing() {
    let weak = pki::TestPki::with_options(
        "ZZ",
        [0; 32],
        pki::PkiOptions {
            csca_without_cert_sign: true,
            ..pki::PkiOptions::default()
        },
    )
    .unwrap();
    let t = judge_store(&read(|_| {}), &TrustList::new(vec![weak.csca]));
    assert_eq!(
        permits(&strict(), &t, Purpose::Identify),
        Err(Refusal::CscaKeyUsage)
    );
}

fn verdict(status: online::VerdictStatus) -> online::Outcome {
    online::Outcome::Verdict(online::VerdictBody {
        verdict_id: "C06-TEST-1".into(),
        request_id: "00".repeat(16),
        sod_sha256: "11".repeat(32),
        status,
        issued_at_unix_ms: NOW * 1000,
    })
}

#[test]
fn the_levels_are_ordered_anchored_online_verified_unverified_offline_unanchored() {
    use MinimumGenuineness as M;
    assert!(M::Anchored < M::OnlineVerified);
    assert!(M::OnlineVerified < M::UnverifiedOffline);
    assert!(M::UnverifiedOffline < M::Unanchored);
    let d = Policy::default();
    assert_eq!(d.ticket.genuineness, M::UnverifiedOffline);
    assert_eq!(d.priority_ticket.genuineness, M::UnverifiedOffline);
    assert_eq!(d.online_request.genuineness, M::OnlineVerified);
    let written: Policy = toml::from_str("").unwrap();
    assert_eq!(written, d, "an absent [trust] is the default");
}

#[test]
fn an_unanchored_intact_card_asks_the_authority_and_a_genuine_verdict_verifies_it() {
    let mut t = judge(&read(|p| p.faults.unknown_signer = true));
    assert!(needs_online(&t));
    apply_online(&mut t, &verdict(online::VerdictStatus::Genuine));
    assert_eq!(
        t.genuineness,
        Genuineness::OnlineVerified {
            verdict: "C06-TEST-1".into()
        }
    );
    assert_eq!(t.genuineness.source()["verdict_id"], "C06-TEST-1");
    for purpose in [
        Purpose::Identify,
        Purpose::Ticket { service: "A" },
        Purpose::OnlineRequest { procedure: "p" },
    ] {
        assert_eq!(permits(&strict(), &t, purpose), Ok(()), "{purpose:?}");
    }
}

#[test]
fn an_anchored_card_never_needs_the_online_check_and_a_verdict_cannot_change_it() {
    let mut t = judge(&read(|_| {}));
    assert!(!needs_online(&t));
    apply_online(&mut t, &verdict(online::VerdictStatus::Revoked));
    assert!(matches!(t.genuineness, Genuineness::Anchored { .. }));
    assert!(t.refusals.is_empty());
}

#[test]
fn a_card_refused_anyway_is_not_sent_to_the_authority() {
    let t = judge_with(
        &read(|p| p.faults.unknown_signer = true),
        &AccessKey::CardQr("079090000001||Trần Thị Khác|01021985|Nữ|Số 2|01062021".into()),
    );
    assert!(matches!(t.genuineness, Genuineness::Unanchored { .. }));
    assert!(
        !needs_online(&t),
        "refused for key_mismatch: nothing is sent"
    );
}

#[test]
fn each_negative_verdict_and_each_invalid_one_refuses_with_its_own_reason() {
    use online::{Outcome, VerdictError as E, VerdictStatus as S};
    let cases = [
        (verdict(S::NotGenuine), Refusal::OnlineNotGenuine),
        (verdict(S::Revoked), Refusal::CardRevoked),
        (verdict(S::UnknownCard), Refusal::CardUnknownToAuthority),
        (Outcome::Invalid(E::Malformed), Refusal::VerdictMalformed),
        (
            Outcome::Invalid(E::SignatureInvalid),
            Refusal::VerdictSignatureInvalid,
        ),
        (
            Outcome::Invalid(E::ForAnotherSod),
            Refusal::VerdictForAnotherSod,
        ),
        (Outcome::Invalid(E::Replayed), Refusal::VerdictReplayed),
        (Outcome::Invalid(E::Stale), Refusal::VerdictStale),
        (
            Outcome::Invalid(E::FromTheFuture),
            Refusal::VerdictFromTheFuture,
        ),
    ];
    for (outcome, refusal) in cases {
        let mut t = judge(&read(|p| p.faults.unknown_signer = true));
        apply_online(&mut t, &outcome);
        assert_eq!(t.refusals.first(), Some(&refusal), "{outcome:?}");
        assert_eq!(t.genuineness.source()["source"], "none");
        let lab = Policy {
            ticket: Requirement {
                genuineness: MinimumGenuineness::Unanchored,
            },
            ..Policy::default()
        };
        assert_eq!(
            permits(&lab, &t, Purpose::Ticket { service: "A" }),
            Err(refusal.clone()),
            "not even the lab allowance serves a card the authority refused"
        );
    }
    assert_eq!(Refusal::CardRevoked.fault(), Fault::CardRevoked);
    assert_eq!(
        Refusal::CardUnknownToAuthority.fault(),
        Fault::CardUnknownToAuthority
    );
    assert_eq!(
        Refusal::VerdictReplayed.fault(),
        Fault::AuthorityAnswerInvalid
    );
    assert_eq!(Refusal::OnlineNotGenuine.code(), "online_not_genuine");
}

#[test]
fn no_answer_is_unverified_offline_a_ticket_yes_an_online_request_no() {
    let mut t = judge(&read(|p| p.faults.unknown_signer = true));
    apply_online(
        &mut t,
        &online::Outcome::NoAnswer(online::NoAnswer::Timeout),
    );
    assert!(
        matches!(t.genuineness, Genuineness::UnverifiedOffline { ref cause, .. } if cause == "timeout"),
        "{t:?}"
    );
    assert_eq!(t.genuineness.source()["source"], "unverified_offline");
    assert_eq!(permits(&strict(), &t, Purpose::Identify), Ok(()));
    assert_eq!(
        permits(&strict(), &t, Purpose::Ticket { service: "A" }),
        Ok(())
    );
    assert_eq!(
        permits(&strict(), &t, Purpose::PriorityTicket { service: "A" }),
        Ok(())
    );
    assert_eq!(
        permits(&strict(), &t, Purpose::OnlineRequest { procedure: "p" }),
        Err(Refusal::OnlineCheckUnavailable)
    );
    assert_eq!(
        Refusal::OnlineCheckUnavailable.fault(),
        Fault::UnverifiedOffline
    );
    let anchored_only = Policy {
        ticket: Requirement {
            genuineness: MinimumGenuineness::Anchored,
        },
        ..Policy::default()
    };
    assert_eq!(
        permits(&anchored_only, &t, Purpose::Ticket { service: "A" }),
        Err(Refusal::OnlineCheckUnavailable)
    );
    // Without the online check an unanchored card stays refused.
    let unchecked = judge(&read(|p| p.faults.unknown_signer = true));
    assert_eq!(
        permits(&strict(), &unchecked, Purpose::Ticket { service: "A" }),
        Err(Refusal::ChainUnanchored)
    );
}
