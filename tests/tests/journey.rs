//! Whole journeys on the simulator board, through the real runtime loop.

use kiosk_board::simulator::ForeignCard;
use kiosk_firmware::session::{
    AccessKey, EndReason, Event, Fault, Input, MenuChoice, SessionConfig, StepKind,
};
use kiosk_hal::indicators::Light;
use kiosk_tests::SimKiosk;
use std::time::Duration;

#[test]
fn a_foreign_card_on_the_reader_ends_in_a_not_an_id_card_notice_then_attract() {
    let mut k = SimKiosk::new();
    k.run_for(Duration::from_secs(1));
    k.sim.insert_card(Box::new(ForeignCard));
    k.run_for(Duration::from_secs(1));
    assert_eq!(k.step(), StepKind::ExpectAccessKey);
    k.runtime
        .input(Input::AccessKey(AccessKey::Can("000001".into())), k.now);
    assert_eq!(k.runtime.view().fault, Some(Fault::NotAnIdCard));
    assert!(k.sim.light(Light::Fault));
    k.run_for(SessionConfig::default().timeouts.notice);
    assert_eq!(k.step(), StepKind::Attract);
    assert!(k.sim.light(Light::Ready));
    assert!(!k.runtime.holds_personal_data());
}

#[test]
fn a_card_taken_away_mid_journey_is_noticed_within_a_poll() {
    let mut k = SimKiosk::new();
    k.sim.insert_card(Box::new(ForeignCard));
    k.run_for(Duration::from_secs(1));
    k.sim.remove_card();
    k.run_for(Duration::from_millis(200));
    assert_eq!(k.runtime.view().fault, Some(Fault::CardRemoved));
}

#[test]
fn an_abandoned_journey_times_out_to_attract_with_a_warning_first() {
    let mut k = SimKiosk::new();
    k.runtime.input(Input::WalkIn, k.now);
    k.runtime.take_events();
    let t = SessionConfig::default().timeouts;
    k.run_for(t.menu - t.warning);
    let events = k.runtime.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::TimeoutWarning { .. })),
        "{events:?}"
    );
    assert_eq!(k.step(), StepKind::Menu);
    k.run_for(t.warning);
    assert_eq!(k.step(), StepKind::Attract);
    assert!(
        k.runtime
            .take_events()
            .contains(&Event::Ended(EndReason::TimedOut))
    );
    assert_eq!(k.runtime.counters().timed_out, 1);
}

#[test]
fn a_walk_in_who_rates_and_leaves_completes_the_journey() {
    let mut k = SimKiosk::new();
    k.runtime.input(Input::WalkIn, k.now);
    k.runtime.input(Input::Choose(MenuChoice::Finish), k.now);
    k.runtime.input(Input::Rated(Some(5)), k.now);
    assert_eq!(k.step(), StepKind::Goodbye);
    k.run_for(SessionConfig::default().timeouts.goodbye);
    assert_eq!(k.step(), StepKind::Attract);
    assert_eq!(k.runtime.counters().completed, 1);
}

fn present(k: &mut SimKiosk, profile: &str) {
    k.present_card(Box::new(kiosk_tests::card(profile)));
}

#[test]
fn a_cccd_and_its_qr_reach_the_confirmation_then_inactivity_wipes_everything() {
    let mut k = SimKiosk::new();
    present(&mut k, "cccd-2021");
    let qr = kiosk_tests::card_qr("cccd-2021").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(qr)), k.now);
    assert_eq!(
        k.step(),
        StepKind::ExpectConfirmation,
        "{:?}",
        k.runtime.view()
    );
    let view = k.runtime.view();
    assert_eq!(view.holder_name.as_deref(), Some("Nguyễn Văn Mẫu"));
    assert_eq!(view.holder_masked_id.as_deref(), Some("••••••••0001"));
    assert!(
        k.runtime
            .take_events()
            .iter()
            .any(|e| matches!(e, Event::ReadProgress { .. }))
    );
    assert!(k.runtime.holds_personal_data());
    k.run_for(SessionConfig::default().timeouts.confirm);
    assert_eq!(k.step(), StepKind::Attract);
    assert!(
        !k.runtime.holds_personal_data(),
        "the vault and the session are wiped"
    );
    assert_eq!(k.runtime.view().holder_name, None);
}

#[test]
fn a_child_card_goes_to_the_menu_on_the_guardian_path_through_staff() {
    let mut k = SimKiosk::new();
    present(&mut k, "child-under-6");
    let qr = kiosk_tests::card_qr("child-under-6").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(qr)), k.now);
    k.runtime.input(Input::Confirm(true), k.now);
    assert_eq!(
        k.runtime.view().staff_reason,
        Some(kiosk_firmware::session::StaffReason::GuardianPresent)
    );
    k.staff_approve();
    assert_eq!(k.step(), StepKind::Menu);
    assert_eq!(
        k.runtime.view().verification,
        Some(kiosk_firmware::session::Verification::Guardian)
    );
}

#[test]
fn an_elderly_citizens_bac_only_card_opens_with_the_no_expiry_candidate() {
    let mut k = SimKiosk::new();
    present(&mut k, "bac-only-elderly");
    let qr = kiosk_tests::card_qr("bac-only-elderly").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(qr)), k.now);
    assert_eq!(
        k.step(),
        StepKind::ExpectConfirmation,
        "{:?}",
        k.runtime.view()
    );
    assert_eq!(
        k.runtime.view().holder_name.as_deref(),
        Some("Trần Thị Mẫu")
    );
}

#[test]
fn another_cards_qr_is_a_wrong_key_and_the_citizen_may_try_again() {
    let mut k = SimKiosk::new();
    present(&mut k, "cccd-2021");
    let other = kiosk_tests::card_qr("bac-only-elderly").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(other)), k.now);
    assert_eq!(k.step(), StepKind::ExpectAccessKey);
    assert!(k.runtime.view().access_key_rejected);
    assert!(!k.runtime.holds_personal_data());
    let qr = kiosk_tests::card_qr("cccd-2021").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(qr)), k.now);
    assert_eq!(k.step(), StepKind::ExpectConfirmation);
}

#[test]
fn a_typed_id_and_birth_date_open_the_card_without_the_qr() {
    let mut k = SimKiosk::new();
    present(&mut k, "cccd-2021");
    k.runtime.input(
        Input::AccessKey(AccessKey::IdAndBirthDate {
            id_number: "003090000001".into(),
            date_of_birth: "900115".into(),
        }),
        k.now,
    );
    assert_eq!(k.step(), StepKind::ExpectConfirmation);
}

#[test]
fn a_forged_chip_is_refused_as_not_genuine() {
    let mut k = SimKiosk::new();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(kiosk_tests::card_profile("cccd-2021")).unwrap()
        + "\n[faults]\ntampered_dg = 13\n";
    let path = dir.path().join("forged.toml");
    std::fs::write(&path, text).unwrap();
    k.sim
        .insert_card(Box::new(kiosk_board::simulator::load_card(&path).unwrap()));
    k.run_for(Duration::from_secs(1));
    let qr = kiosk_tests::card_qr("cccd-2021").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(qr)), k.now);
    assert_eq!(k.runtime.view().fault, Some(Fault::DocumentNotGenuine));
    assert!(!k.runtime.holds_personal_data());
}

#[test]
fn a_cloned_chip_is_refused_as_not_genuine() {
    let mut k = SimKiosk::new();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(kiosk_tests::card_profile("cccd-2021")).unwrap()
        + "\n[faults]\ncloned_aa = true\n";
    let path = dir.path().join("clone.toml");
    std::fs::write(&path, text).unwrap();
    k.sim
        .insert_card(Box::new(kiosk_board::simulator::load_card(&path).unwrap()));
    k.run_for(Duration::from_secs(1));
    let qr = kiosk_tests::card_qr("cccd-2021").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(qr)), k.now);
    assert_eq!(k.runtime.view().fault, Some(Fault::DocumentNotGenuine));
    assert!(!k.runtime.holds_personal_data());
}

#[test]
fn a_chip_that_fails_chip_authentication_is_refused_as_not_genuine() {
    let mut k = SimKiosk::new();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(kiosk_tests::card_profile("cccd-2021")).unwrap()
        + "\n[faults]\ncloned_ca = true\n";
    let path = dir.path().join("clone.toml");
    std::fs::write(&path, text).unwrap();
    k.sim
        .insert_card(Box::new(kiosk_board::simulator::load_card(&path).unwrap()));
    k.run_for(Duration::from_secs(1));
    let qr = kiosk_tests::card_qr("cccd-2021").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(qr)), k.now);
    assert_eq!(k.runtime.view().fault, Some(Fault::DocumentNotGenuine));
}
