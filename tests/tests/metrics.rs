//! Usage metrics through the real runtime: a day of journeys on the sim
//! board is counted by outcome in the store, with nothing personal in any
//! count, and the Prometheus endpoint serves the same figures.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_firmware::metrics::Metric;
use kiosk_firmware::session::{Input, MenuChoice, SessionConfig, StepKind};
use kiosk_firmware::store::Store;
use kiosk_tests::SimKiosk;
use std::io::{Read as _, Write as _};
use std::time::Duration;

fn present(k: &mut SimKiosk, profile: &str) {
    k.present_card(Box::new(kiosk_tests::card(profile)));
}

fn remove_card(k: &mut SimKiosk) {
    k.sim.remove_card();
    k.run_for(Duration::from_secs(1));
}

/// Three citizens: one identified after a wrong key, declines the face
/// check, is confirmed by staff, takes a number and rates 5; a walk-in who
/// skips the rating; one who cancels at the access key.
fn a_morning(k: &mut SimKiosk) {
    present(k, "cccd-2021");
    k.scan_qr_of("bac-only-elderly");
    k.scan_qr_of("cccd-2021");
    k.runtime.input(Input::Confirm(true), k.now);
    k.runtime.input(Input::Consent(false), k.now);
    k.staff_approve();
    k.runtime.input(
        Input::Choose(MenuChoice::TakeNumber {
            service: "A".into(),
            priority: None,
        }),
        k.now,
    );
    assert_eq!(k.step(), StepKind::ShowingTicket, "{:?}", k.runtime.view());
    k.runtime.input(Input::Continue, k.now);
    k.runtime.input(Input::Rated(Some(5)), k.now);
    k.run_for(SessionConfig::default().timeouts.goodbye);
    assert_eq!(k.step(), StepKind::Attract);
    remove_card(k);

    k.runtime.input(Input::WalkIn, k.now);
    k.runtime.input(Input::Choose(MenuChoice::Finish), k.now);
    k.runtime.input(Input::Rated(None), k.now);
    k.run_for(SessionConfig::default().timeouts.goodbye);
    assert_eq!(k.step(), StepKind::Attract);

    present(k, "cccd-2021");
    k.runtime.input(Input::Cancel, k.now);
    assert_eq!(k.step(), StepKind::Attract);
}

#[test]
fn a_morning_of_journeys_is_counted_by_outcome_and_nothing_personal_is_a_label() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = SimKiosk::with_queue(dir.path(), None);
    a_morning(&mut k);

    let today = k.runtime.usage_today(k.now);
    assert_eq!(today.total(Metric::JourneysStarted), 3);
    assert_eq!(today.get(Metric::JourneysEnded, "completed"), 2);
    assert_eq!(today.get(Metric::JourneysEnded, "cancelled"), 1);
    assert_eq!(today.get(Metric::Identifications, "wrong_access_key"), 1);
    assert_eq!(today.get(Metric::Identifications, "identified"), 1);
    assert_eq!(today.get(Metric::StaffCalls, "face_check_declined"), 1);
    assert_eq!(today.get(Metric::TicketsPrinted, "A"), 1);
    assert_eq!(today.get(Metric::Ratings, "5"), 1);
    assert_eq!(today.get(Metric::Ratings, "skipped"), 1);
    let satisfaction = today.satisfaction().unwrap();
    assert_eq!((satisfaction.rated, satisfaction.satisfied), (1, 1));
    assert_eq!(today.identification_rate(), Some(0.5));

    // Nothing of the holder in any count: not the name, the ID number
    // (whole or its CAN), the birth date, the ticket number.
    let store = Store::open_reader(&dir.path().join("kiosk.db")).unwrap();
    let all = store.usage_totals().unwrap();
    assert_eq!(all, today, "one day so far");
    for c in &all.counts {
        assert!(Metric::from_name(&c.metric).is_some(), "{c:?}");
        for personal in ["Nguy", "Mẫu", "003090000001", "000001", "1990", "A001"] {
            assert!(!c.label.contains(personal), "{c:?} carries {personal}");
        }
    }
}

fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_endpoint_beside_a_running_kiosk_serves_its_counts_as_they_grow() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = SimKiosk::with_queue(dir.path(), None);
    let endpoint = kiosk_board::services::metrics::Endpoint::start(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("kiosk.db"),
    )
    .unwrap();
    let before = http_get(endpoint.local_addr(), "/metrics");
    assert!(
        before.contains("kiosk_journeys_started_total 0\n"),
        "{before}"
    );
    assert!(
        before.contains("kiosk_printer_state{state=\"unknown\"} 1\n"),
        "nothing printed in this run yet"
    );
    a_morning(&mut k);
    let after = http_get(endpoint.local_addr(), "/metrics");
    assert!(
        after.contains("kiosk_journeys_started_total 3\n"),
        "{after}"
    );
    assert!(after.contains("kiosk_journeys_ended_total{reason=\"completed\"} 2\n"));
    assert!(after.contains("kiosk_tickets_printed_total{service=\"A\"} 1\n"));
    assert!(after.contains("kiosk_ratings_total{score=\"skipped\"} 1\n"));
    assert!(
        after.contains("kiosk_printer_state{state=\"ok\"} 1\n"),
        "{after}"
    );
    assert!(after.contains("kiosk_outbox_pending 0\n"));
}
