//! The verification policy through the whole runtime on the sim board:
//! each attack card is refused with its own reason in the audit log and
//! its screen, and nothing is issued as verified.

use super::*;
use crate::simulator::{SimBoard, SimControls};
use kiosk_firmware::session::MenuChoice;
use kiosk_firmware::staff::StaffInput;
use kiosk_firmware::testkit::{CardProfile, pki};
use std::path::Path;

/// 2026-11-25 09:00 in Vietnam.
const NINE_AM: UnixMillis = UnixMillis(1_795_572_000_000);

pub(crate) const QR: &str = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";

const CARD: &str = r#"
[chip]
protocols = ["pace", "bac"]
extended_length = true
photo = "placeholder"
seed = 3

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

pub(crate) fn card(
    edit: impl FnOnce(&mut CardProfile),
) -> kiosk_firmware::testkit::chip::VirtualChip {
    let mut p: CardProfile = toml::from_str(CARD).unwrap();
    edit(&mut p);
    p.chip(Path::new(".")).unwrap()
}

pub(crate) fn kiosk() -> (Runtime, SimControls, tempfile::TempDir) {
    kiosk_with(kiosk_firmware::icao::pa::TrustList::new(vec![
        pki::simulator_pki().unwrap().csca,
    ]))
}

fn kiosk_with(
    trust: kiosk_firmware::icao::pa::TrustList,
) -> (Runtime, SimControls, tempfile::TempDir) {
    let config = crate::simulator::test_config(true);
    let (devices, controls) = SimBoard::build(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(&dir.path().join("kiosk.db"), NINE_AM).unwrap();
    let queue: kiosk_firmware::queue::QueueConfig = toml::from_str(
        r#"
status_url = "https://dichvucong.example.gov.vn/hang-doi"
hours = { days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], open = ["00:00-23:59"] }
[[services]]
code = "A"
name_vi = "Hộ tịch"
name_en = "Civil status"
counters = [1]
daily_limit = 50
[[services]]
code = "K"
name_vi = "Cấp đổi thẻ căn cước"
name_en = "ID card renewal"
counters = [2]
daily_limit = 50
"#,
    )
    .unwrap();
    let ticketing = Ticketing {
        queue: kiosk_firmware::queue::Queue::new(
            kiosk_firmware::queue::Catalog::from_config(&queue).unwrap(),
        ),
        center_name: "Trung tâm (mô phỏng)".into(),
        kiosk_id: "KIOSK-SIM-001".into(),
        paper: kiosk_firmware::ticket::raster::PaperWidth::Mm80,
    };
    let rt = Runtime::new(devices, SessionConfig::default(), Timestamp::ZERO)
        .with_trust_list(trust)
        .with_store(store, NINE_AM)
        .with_ticketing(ticketing)
        .with_staff(&sim_staff());
    (rt, controls, dir)
}

/// Puts `chip` on the reader and gives `key`.
pub(crate) fn present(
    rt: &mut Runtime,
    controls: &SimControls,
    chip: kiosk_firmware::testkit::chip::VirtualChip,
    key: &str,
) {
    controls.insert_card(Box::new(chip));
    rt.tick(Timestamp::ZERO);
    assert_eq!(rt.step(), StepKind::ExpectAccessKey);
    rt.input(
        Input::AccessKey(AccessKey::CardQr(key.into())),
        Timestamp::from_secs(1),
    );
}

fn audit(rt: &Runtime) -> Vec<(String, String)> {
    rt.store()
        .unwrap()
        .recent_audit(50)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.detail))
        .collect()
}

fn detail_of(rt: &Runtime, kind: &str) -> String {
    audit(rt)
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no {kind} entry in {:?}", audit(rt)))
}

/// The card is refused at the read: the fault on screen, the reason in
/// the `trust` entry, no personal data logged, nothing held, nothing
/// issued.
fn assert_refused(
    edit: impl FnOnce(&mut CardProfile),
    key: &str,
    fault: Fault,
    code: &str,
) -> Runtime {
    let (mut rt, controls, _dir) = kiosk();
    present(&mut rt, &controls, card(edit), key);
    assert_eq!(rt.step(), StepKind::Notice, "{code}");
    assert_eq!(rt.view().fault, Some(fault), "{code}");
    assert!(
        rt.view().holder_name.is_none(),
        "{code}: nobody is identified"
    );
    assert!(rt.verified().is_none());
    assert!(rt.vault.is_none());
    let trust = detail_of(&rt, "trust");
    assert!(
        trust.contains(&format!(r#""decision":"{code}""#)),
        "{code}: {trust}"
    );
    for personal in ["003090000001", "079090000001", "Nguyễn", "1990", "Hà Nội"] {
        for (kind, detail) in audit(&rt) {
            assert!(!detail.contains(personal), "{personal} in {kind}: {detail}");
        }
    }
    assert_eq!(controls.print_jobs(), 0, "{code}: no ticket");
    rt
}

#[test]
fn a_tampered_data_group_is_refused_as_not_genuine_with_its_reason() {
    let rt = assert_refused(
        |p| p.faults.tampered_dg = Some(13),
        QR,
        Fault::DocumentNotGenuine,
        "data_group_hash_mismatch",
    );
    assert!(detail_of(&rt, "trust").contains(r#""dg":13"#));
}

#[test]
fn a_card_signed_outside_the_trust_list_is_refused_as_unanchored() {
    let rt = assert_refused(
        |p| p.faults.unknown_signer = true,
        QR,
        Fault::DocumentNotGenuine,
        "chain_unanchored",
    );
    assert!(detail_of(&rt, "trust").contains(r#""level":"unanchored""#));
}

#[test]
fn a_self_signed_document_signer_is_refused_as_unanchored() {
    assert_refused(
        |p| p.faults.self_signed_signer = true,
        QR,
        Fault::DocumentNotGenuine,
        "chain_unanchored",
    );
}

#[test]
fn an_expired_document_signer_is_refused() {
    assert_refused(
        |p| p.faults.expired_signer = true,
        QR,
        Fault::DocumentNotGenuine,
        "document_signer_expired",
    );
}

#[test]
fn a_chip_without_an_sod_is_refused() {
    assert_refused(
        |p| p.faults.no_sod = true,
        QR,
        Fault::DocumentNotGenuine,
        "sod_missing",
    );
}

#[test]
fn a_cloned_active_authentication_key_is_refused() {
    assert_refused(
        |p| p.faults.cloned_aa = true,
        QR,
        Fault::DocumentNotGenuine,
        "aa_failed",
    );
}

#[test]
fn a_cloned_chip_authentication_key_is_refused() {
    let (mut rt, controls, _dir) = kiosk();
    present(&mut rt, &controls, card(|p| p.faults.cloned_ca = true), QR);
    assert_eq!(rt.view().fault, Some(Fault::DocumentNotGenuine));
    assert!(detail_of(&rt, "card_read_failed").contains(r#""reason":"ca_failed""#));
    assert!(rt.verified().is_none());
}

#[test]
fn an_adult_card_without_a_photo_cannot_claim_the_guardian_path() {
    assert_refused(
        |p| p.chip.photo = None,
        QR,
        Fault::DocumentNotGenuine,
        "adult_without_photo",
    );
}

#[test]
fn the_qr_of_another_card_is_refused_as_belonging_to_another_card() {
    // The card on the reader shares the QR card's CAN (its last six digits).
    assert_refused(
        |p| p.citizen.id_number = "079090000001".into(),
        QR,
        Fault::KeyMismatch,
        "key_mismatch",
    );
}

/// Identified, then staff confirm (no face engine on this board).
pub(crate) fn reach_menu(rt: &mut Runtime) {
    rt.input(Input::Confirm(true), Timestamp::from_secs(2));
    rt.input(Input::Consent(true), Timestamp::from_secs(3));
    assert_eq!(rt.step(), StepKind::StaffAssist);
    // A staff decision needs the staff PIN at that moment.
    let at = Timestamp::from_secs(4);
    rt.staff_input(StaffInput::Open, at);
    for digit in SIM_STAFF_PIN.bytes() {
        rt.staff_input(StaffInput::Digit(digit - b'0'), at);
    }
    rt.staff_input(StaffInput::Submit, at);
    assert!(rt.view().staff_authorized, "{:?}", rt.view());
    rt.input(Input::StaffDecision(true), at);
    assert_eq!(rt.step(), StepKind::Menu);
}

/// The simulator's staff PIN (board/config/sim.toml).
const SIM_STAFF_PIN: &str = "246810";

/// The shipped simulator's `[staff]`, without staff cards (a card on the
/// reader is never asked for its UID here).
fn sim_staff() -> crate::config::StaffSection {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
    let mut staff = crate::config::Config::load(&shipped).unwrap().staff;
    staff.policy.cards.clear();
    staff
}

fn choose(rt: &mut Runtime, service: &str, at: u64) {
    rt.input(
        Input::Choose(MenuChoice::TakeNumber {
            service: service.into(),
            priority: None,
        }),
        Timestamp::from_secs(at),
    );
}

#[test]
fn a_genuine_card_is_accepted_audited_and_its_verdict_wiped_at_the_end() {
    let (mut rt, controls, _dir) = kiosk();
    present(&mut rt, &controls, card(|_| {}), QR);
    assert_eq!(rt.step(), StepKind::ExpectConfirmation);
    assert!(detail_of(&rt, "trust").contains(r#""decision":"accepted""#));
    let verdict = rt.verified().unwrap();
    assert!(matches!(
        verdict.genuineness,
        kiosk_firmware::trust::Genuineness::Anchored { .. }
    ));
    assert!(!rt.verified().unwrap().guardian_path);
    reach_menu(&mut rt);
    assert_eq!(rt.view().menu_notice, None);
    choose(&mut rt, "A", 5);
    assert_eq!(rt.step(), StepKind::ShowingTicket);
    assert_eq!(controls.print_jobs(), 1);
    rt.input(Input::Cancel, Timestamp::from_secs(6));
    assert_eq!(rt.step(), StepKind::Attract);
    assert!(rt.verified().is_none(), "wiped with the vault");
}

#[test]
fn an_expired_card_may_take_only_a_renewal_number() {
    let (mut rt, controls, _dir) = kiosk();
    present(
        &mut rt,
        &controls,
        card(|p| p.citizen.date_of_expiry = "15/01/2025".into()),
        QR,
    );
    assert_eq!(rt.step(), StepKind::ExpectConfirmation);
    reach_menu(&mut rt);
    assert_eq!(rt.view().menu_notice, Some(Fault::DocumentExpired));
    choose(&mut rt, "A", 5);
    assert_eq!(rt.step(), StepKind::Menu, "refused, back to the menu");
    assert_eq!(rt.view().menu_notice, Some(Fault::DocumentExpired));
    assert_eq!(controls.print_jobs(), 0);
    let refused = detail_of(&rt, "trust_refused");
    assert!(
        refused.contains(r#""reason":"document_expired""#),
        "{refused}"
    );
    assert!(refused.contains(r#""purpose":"ticket""#), "{refused}");
    // A request is refused the same way.
    rt.input(
        Input::Choose(MenuChoice::SubmitRequest {
            procedure: "1.000001".into(),
        }),
        Timestamp::from_secs(6),
    );
    assert_eq!(rt.step(), StepKind::Menu);
    assert!(detail_of(&rt, "trust_refused").contains(r#""purpose":"online_request""#));
    choose(&mut rt, "K", 7);
    assert_eq!(rt.step(), StepKind::ShowingTicket);
    assert_eq!(rt.view().ticket.unwrap().service, "K");
    assert_eq!(controls.print_jobs(), 1);
}

/// The simulator's CSCA and a CRL of it (2020 to `next_update`) revoking
/// `revoked`; CRLs required, as the shipped configurations do.
fn store_with_crl(revoked: &[u32], next_update: u64) -> kiosk_firmware::icao::pa::TrustList {
    let sim = pki::simulator_pki().unwrap();
    let mut trust = kiosk_firmware::icao::pa::TrustList::new(vec![sim.csca.clone()]);
    trust.set_require_crl(true);
    trust
        .add_crl(&sim.crl(revoked, 1_577_836_800, next_update).unwrap())
        .unwrap();
    trust
}

/// 2044-12-31 and 2026-01-01, as Unix seconds.
const CRL_CURRENT: u64 = 2_366_755_200;
const CRL_EXPIRED: u64 = 1_767_225_600;

fn assert_refused_by(trust: kiosk_firmware::icao::pa::TrustList, fault: Fault, code: &str) {
    let (mut rt, controls, _dir) = kiosk_with(trust);
    present(&mut rt, &controls, card(|_| {}), QR);
    assert_eq!(rt.step(), StepKind::Notice, "{code}");
    assert_eq!(rt.view().fault, Some(fault), "{code}");
    assert!(rt.verified().is_none());
    assert!(rt.vault.is_none());
    let trust = detail_of(&rt, "trust");
    assert!(
        trust.contains(&format!(r#""decision":"{code}""#)),
        "{code}: {trust}"
    );
    for (kind, detail) in audit(&rt) {
        for personal in ["003090000001", "Nguyễn", "1990"] {
            assert!(!detail.contains(personal), "{personal} in {kind}: {detail}");
        }
    }
    assert_eq!(controls.print_jobs(), 0, "{code}: no ticket");
}

#[test]
fn a_card_whose_document_signer_is_revoked_by_its_cscas_crl_is_refused() {
    assert_refused_by(
        store_with_crl(&[2], CRL_CURRENT),
        Fault::DocumentNotGenuine,
        "document_signer_revoked",
    );
}

#[test]
fn a_card_checked_against_an_expired_crl_is_refused_as_the_kiosks_fault() {
    assert_refused_by(
        store_with_crl(&[], CRL_EXPIRED),
        Fault::Internal,
        "crl_expired",
    );
}

#[test]
fn a_card_whose_signer_a_current_crl_does_not_list_is_accepted() {
    let (mut rt, controls, _dir) = kiosk_with(store_with_crl(&[99], CRL_CURRENT));
    present(&mut rt, &controls, card(|_| {}), QR);
    assert_ne!(rt.step(), StepKind::Notice, "{:?}", rt.view().fault);
    assert!(rt.view().fault.is_none(), "{:?}", rt.view().fault);
    let trust = detail_of(&rt, "trust");
    assert!(trust.contains(r#""decision":"accepted""#), "{trust}");
}
