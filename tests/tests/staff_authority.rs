//! Staff authority at the kiosk and the tamper lock, end to end on the
//! simulator board (issue 13, "verified means verified"): a staff decision
//! needs the staff PIN typed at that moment (the citizen touching approve
//! is refused and audited), wrong PINs count toward the lockout, the audit
//! names the staff credential's hash and never the PIN, and an opened
//! cabinet keeps the kiosk out of service, across a restart, until staff
//! enter the PIN with the cabinet closed.

#![allow(clippy::expect_used, reason = "test code")]

use kiosk_firmware::session::{Input, StaffReason, StepKind, Verification};
use kiosk_firmware::staff::{LockState, PinHash, PinNotice, StaffInput};
use kiosk_tests::{SIM_STAFF_PIN, SimKiosk};
use std::path::Path;
use std::time::Duration;

/// The newest audit entries, newest first, as (kind, detail JSON).
fn audit(k: &SimKiosk) -> Vec<(String, serde_json::Value)> {
    k.runtime
        .store()
        .expect("a store")
        .recent_audit(200)
        .expect("the audit log reads")
        .into_iter()
        .map(|e| {
            let detail = serde_json::from_str(&e.detail).expect("audit detail is JSON");
            (e.kind, detail)
        })
        .collect()
}

fn last_of(k: &SimKiosk, kind: &str) -> serde_json::Value {
    audit(k)
        .into_iter()
        .find(|(kd, _)| kd == kind)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no {kind} in the audit log: {:?}", audit(k)))
}

/// The fingerprint of the simulator's configured PIN hash.
fn sim_pin_fingerprint() -> String {
    kiosk_tests::sim_staff()
        .policy
        .pin
        .as_ref()
        .map(PinHash::fingerprint)
        .expect("the sim config has a staff PIN")
}

/// A citizen identified, who declines the face check: staff are called.
fn at_staff_assist(dir: &Path) -> SimKiosk {
    let mut k = SimKiosk::with_queue(dir, None);
    k.present_card(Box::new(kiosk_tests::card("cccd-2021")));
    k.scan_qr_of("cccd-2021");
    k.runtime.input(Input::Confirm(true), k.now);
    k.runtime.input(Input::Consent(false), k.now);
    assert_eq!(k.step(), StepKind::StaffAssist, "{:?}", k.runtime.view());
    k
}

#[test]
fn a_citizen_touching_approve_is_refused_and_the_refusal_is_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = at_staff_assist(dir.path());
    k.runtime.input(Input::StaffDecision(true), k.now);
    assert_eq!(k.step(), StepKind::StaffAssist);
    assert_eq!(k.runtime.view().verification, None);
    assert!(!k.runtime.view().staff_authorized);
    assert_eq!(
        last_of(&k, "staff_decision_refused"),
        serde_json::json!({ "reason": "not_authenticated" })
    );
    assert!(
        !audit(&k).iter().any(|(kind, _)| kind == "staff_decision"),
        "no decision was taken"
    );
}

#[test]
fn a_wrong_pin_at_staff_assist_counts_toward_the_lockout_and_grants_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = at_staff_assist(dir.path());
    k.staff_pin("111111");
    assert!(!k.runtime.view().staff_authorized);
    let view = k.runtime.staff_view(k.now).expect("the keypad stays up");
    assert_eq!(view.notice, Some(PinNotice::Wrong { attempts_left: 4 }));
    let state = LockState::load(k.runtime.store().expect("store")).expect("lock state");
    assert_eq!(state.failures, 1, "persisted with the staff-mode lockout");
    // Four more wrong PINs lock PIN entry; then the right one is not
    // even checked.
    for _ in 0..4 {
        k.staff_pin("111111");
    }
    let view = k.runtime.staff_view(k.now).expect("keypad");
    assert!(
        matches!(view.notice, Some(PinNotice::Locked { .. })),
        "{view:?}"
    );
    k.staff_pin(SIM_STAFF_PIN);
    assert!(!k.runtime.view().staff_authorized, "locked: refused");
    k.runtime.input(Input::StaffDecision(true), k.now);
    assert_eq!(k.runtime.view().verification, None);
    assert!(audit(&k).iter().any(|(kind, _)| kind == "staff_locked"));
}

#[test]
fn the_right_pin_lets_staff_approve_and_the_audit_names_the_credential_not_the_pin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = at_staff_assist(dir.path());
    k.staff_approve();
    assert_eq!(k.step(), StepKind::Menu);
    assert_eq!(
        k.runtime.view().verification,
        Some(Verification::StaffConfirmed)
    );
    assert!(k.runtime.staff_view(k.now).is_none(), "the keypad closed");
    let fingerprint = sim_pin_fingerprint();
    let authenticated = last_of(&k, "staff_authenticated");
    assert_eq!(authenticated["method"], "pin");
    assert_eq!(authenticated["credential"], fingerprint.as_str());
    let decision = last_of(&k, "staff_decision");
    assert_eq!(decision["approved"], true);
    assert_eq!(decision["reason"], "face_check_declined");
    assert_eq!(decision["method"], "pin");
    assert_eq!(decision["credential"], fingerprint.as_str());
    assert!(
        decision["card_read"].is_i64(),
        "tied to the chip read: {decision}"
    );
    for (kind, detail) in audit(&k) {
        let text = detail.to_string();
        assert!(!text.contains(SIM_STAFF_PIN), "{kind}: {text}");
        assert!(!text.contains("003090000001"), "{kind}: {text}");
    }
}

#[test]
fn staff_authority_lasts_only_for_its_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = at_staff_assist(dir.path());
    k.staff_pin(SIM_STAFF_PIN);
    assert!(k.runtime.view().staff_authorized);
    // Nobody decides: the staff-assist step runs out.
    k.run_for(Duration::from_secs(600));
    assert_eq!(k.step(), StepKind::Attract);
    k.sim.remove_card();
    k.run_for(Duration::from_secs(1));
    k.present_card(Box::new(kiosk_tests::card("cccd-2021")));
    k.scan_qr_of("cccd-2021");
    k.runtime.input(Input::Confirm(true), k.now);
    k.runtime.input(Input::Consent(false), k.now);
    assert!(!k.runtime.view().staff_authorized);
    k.runtime.input(Input::StaffDecision(true), k.now);
    assert_eq!(k.runtime.view().verification, None);
    assert_eq!(
        last_of(&k, "staff_decision_refused"),
        serde_json::json!({ "reason": "not_authenticated" })
    );
}

#[test]
fn a_child_without_photo_is_served_only_after_staff_confirm_the_guardian() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = SimKiosk::with_queue(dir.path(), None);
    k.present_card(Box::new(kiosk_tests::card("child-under-6")));
    k.scan_qr_of("child-under-6");
    k.runtime.input(Input::Confirm(true), k.now);
    assert_eq!(k.step(), StepKind::StaffAssist);
    assert_eq!(
        k.runtime.view().staff_reason,
        Some(StaffReason::GuardianPresent)
    );
    k.runtime.input(Input::StaffDecision(true), k.now);
    assert_eq!(k.runtime.view().verification, None, "no self-approval");
    k.staff_approve();
    assert_eq!(k.runtime.view().verification, Some(Verification::Guardian));
    let decision = last_of(&k, "staff_decision");
    assert_eq!(decision["reason"], "guardian_present");
    let read_id = audit(&k)
        .iter()
        .position(|(kind, _)| kind == "card_read")
        .expect("the child's read is audited");
    let entries = k
        .runtime
        .store()
        .expect("store")
        .recent_audit(200)
        .expect("audit");
    assert_eq!(
        decision["card_read"],
        serde_json::json!(entries[read_id].id),
        "the guardian decision names the child's read"
    );
}

#[test]
fn an_opened_cabinet_keeps_the_kiosk_out_of_service_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut k = SimKiosk::with_queue(dir.path(), None);
        k.sim.set_tamper(true);
        k.run_for(Duration::from_secs(1));
        assert_eq!(k.step(), StepKind::OutOfService);
        assert!(k.runtime.view().cabinet_open);
        // Nothing a citizen does, and no time, ends it.
        k.runtime.input(Input::Cancel, k.now);
        k.runtime.input(Input::WalkIn, k.now);
        k.sim.insert_card(Box::new(kiosk_tests::card("cccd-2021")));
        k.run_for(Duration::from_secs(3600));
        assert_eq!(k.step(), StepKind::OutOfService);
        assert!(audit(&k).iter().any(|(kind, _)| kind == "out_of_service"));
        let check = kiosk_board::doctor::check_service(k.runtime.store().expect("store"));
        assert!(!check.ok, "doctor says so: {check:?}");
    }
    // A power cycle: the cabinet is closed again, the kiosk still locked.
    let mut k = SimKiosk::with_queue(dir.path(), None);
    assert_eq!(k.step(), StepKind::OutOfService);
    k.run_for(Duration::from_secs(1));
    assert_eq!(k.step(), StepKind::OutOfService);
    assert!(!k.runtime.view().cabinet_open, "the switch reads closed");
    k.runtime.input(Input::Cancel, k.now);
    assert_eq!(k.step(), StepKind::OutOfService);
    k.staff_pin(SIM_STAFF_PIN);
    assert_eq!(k.step(), StepKind::Attract);
    let resumed = last_of(&k, "service_resumed");
    assert_eq!(resumed["credential"], sim_pin_fingerprint().as_str());
    assert!(kiosk_board::doctor::check_service(k.runtime.store().expect("store")).ok);
    // And after another restart it serves.
    drop(k);
    let mut k = SimKiosk::with_queue(dir.path(), None);
    assert_eq!(k.step(), StepKind::Attract);
    k.present_card(Box::new(kiosk_tests::card("cccd-2021")));
}

#[test]
fn staff_cannot_resume_service_while_the_cabinet_is_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = SimKiosk::with_queue(dir.path(), None);
    k.sim.set_tamper(true);
    k.run_for(Duration::from_secs(1));
    k.staff_pin(SIM_STAFF_PIN);
    assert_eq!(k.step(), StepKind::OutOfService);
    assert_eq!(
        last_of(&k, "staff_decision_refused"),
        serde_json::json!({ "reason": "cabinet_open" })
    );
    // A wrong PIN with the cabinet closed resumes nothing either.
    k.sim.set_tamper(false);
    k.run_for(Duration::from_secs(1));
    k.staff_pin("111111");
    assert_eq!(k.step(), StepKind::OutOfService);
    k.runtime.staff_input(StaffInput::Exit, k.now);
    k.staff_pin(SIM_STAFF_PIN);
    assert_eq!(k.step(), StepKind::Attract);
}

#[test]
fn a_frontend_cannot_claim_staff_authenticated_or_the_cabinet_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = at_staff_assist(dir.path());
    let forged = kiosk_firmware::staff::StaffCredential {
        method: kiosk_firmware::staff::LoginMethod::Pin,
        hash: sim_pin_fingerprint(),
    };
    k.runtime
        .input(Input::StaffAuthenticated(forged.clone()), k.now);
    assert!(!k.runtime.view().staff_authorized);
    k.runtime.input(Input::StaffDecision(true), k.now);
    assert_eq!(k.runtime.view().verification, None);
    assert_eq!(
        last_of(&k, "staff_decision_refused"),
        serde_json::json!({ "reason": "not_authenticated" })
    );
    // Out of service, the cabinet open: a frontend's "closed" is not the
    // switch's.
    let other = tempfile::tempdir().expect("tempdir");
    let mut k = SimKiosk::with_queue(other.path(), None);
    k.sim.set_tamper(true);
    k.run_for(Duration::from_secs(1));
    k.runtime.input(Input::CabinetClosed, k.now);
    k.runtime.input(Input::StaffAuthenticated(forged), k.now);
    assert!(k.runtime.view().cabinet_open);
    k.staff_pin(SIM_STAFF_PIN);
    assert_eq!(k.step(), StepKind::OutOfService);
}
