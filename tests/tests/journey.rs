//! Whole journeys on the simulator board, through the real runtime loop.

use kiosk_board::sim::ForeignCard;
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
