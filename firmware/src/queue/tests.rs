//! Numbering, priority, opening hours and the waiting order, against a real
//! SQLite file in a temporary directory, in wall-clock time passed in.

use super::catalog::{HoursConfig, ServiceConfig};
use super::*;
use std::path::PathBuf;

/// Wednesday 25 November 2026, 00:00 in Hà Nội (17:00 UTC the day before).
const MIDNIGHT: u64 = 1_795_539_600_000;
const HOUR: u64 = 3_600_000;
const MINUTE: u64 = 60_000;

fn at(hours: u64, minutes: u64) -> UnixMillis {
    UnixMillis(MIDNIGHT + hours * HOUR + minutes * MINUTE)
}

fn hours(days: &[&str], open: &[&str]) -> HoursConfig {
    HoursConfig {
        days: days.iter().map(|d| (*d).to_owned()).collect(),
        open: open.iter().map(|w| (*w).to_owned()).collect(),
    }
}

fn config() -> QueueConfig {
    QueueConfig {
        status_url: "https://dichvucong.example.gov.vn/hang-doi/".into(),
        elderly_age: 60,
        priority_head_start_minutes: 20,
        hours: hours(
            &["mon", "tue", "wed", "thu", "fri"],
            &["07:30-11:30", "13:30-17:00"],
        ),
        services: vec![
            ServiceConfig {
                code: "A".into(),
                name_vi: "Hộ tịch".into(),
                name_en: "Civil status".into(),
                counters: vec![1, 2],
                daily_limit: 150,
                hours: None,
                procedure: None,
            },
            ServiceConfig {
                code: "B".into(),
                name_vi: "Đất đai".into(),
                name_en: "Land".into(),
                counters: vec![5],
                daily_limit: 3,
                hours: Some(hours(&["wed", "sat"], &["08:00-11:00"])),
                procedure: None,
            },
        ],
    }
}

fn queue() -> Queue {
    Queue::new(Catalog::from_config(&config()).unwrap())
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("kiosk.db")
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&db(dir), at(7, 0)).unwrap().0
}

fn walk_in(service: &str) -> DrawRequest<'_> {
    DrawRequest {
        service,
        declared: None,
        age: AgeEvidence::Unknown,
        verification: Verification::Anonymous,
    }
}

fn declared(service: &str, priority: Priority) -> DrawRequest<'_> {
    DrawRequest {
        declared: Some(priority),
        ..walk_in(service)
    }
}

/// Draws and prints (so the ticket is issued and waits).
fn issue(q: &Queue, store: &mut Store, request: &DrawRequest<'_>, now: UnixMillis) -> Drawn {
    let drawn = q.draw(store, request, now).unwrap();
    q.mark_printed(store, drawn.ticket.id, now).unwrap();
    drawn
}

#[test]
fn numbers_count_up_per_service_from_001() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    let numbers: Vec<String> = [("A", 8), ("A", 8), ("B", 9), ("A", 9)]
        .iter()
        .map(|(s, h)| {
            q.draw(&mut store, &walk_in(s), at(*h, 0))
                .unwrap()
                .ticket
                .number
        })
        .collect();
    assert_eq!(numbers, ["A001", "A002", "B001", "A003"]);
}

#[test]
fn numbering_restarts_at_vietnamese_midnight_not_utc_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let mut raw = config();
    raw.hours = hours(
        &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        &["00:00-24:00"],
    );
    let q = Queue::new(Catalog::from_config(&raw).unwrap());
    let before = q
        .draw(&mut store, &walk_in("A"), UnixMillis(MIDNIGHT - MINUTE))
        .unwrap();
    let again = q
        .draw(&mut store, &walk_in("A"), UnixMillis(MIDNIGHT - 1))
        .unwrap();
    let after = q
        .draw(&mut store, &walk_in("A"), UnixMillis(MIDNIGHT))
        .unwrap();
    assert_eq!(before.ticket.number, "A001");
    assert_eq!(before.ticket.day, "20261124");
    assert_eq!(again.ticket.number, "A002");
    assert_eq!(after.ticket.number, "A001", "a new day in Hà Nội");
    assert_eq!(after.ticket.day, "20261125");
    // 00:00 UTC on the 25th is 07:00 in Hà Nội: still the same local day.
    let utc_midnight = UnixMillis(MIDNIGHT + 7 * HOUR);
    let later = q.draw(&mut store, &walk_in("A"), utc_midnight).unwrap();
    assert_eq!(later.ticket.number, "A002");
}

#[test]
fn numbers_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue();
    {
        let mut store = open(&dir);
        issue(&q, &mut store, &walk_in("A"), at(8, 0));
        issue(&q, &mut store, &walk_in("A"), at(8, 1));
    }
    let mut store = open(&dir);
    let next = q.draw(&mut store, &walk_in("A"), at(8, 2)).unwrap();
    assert_eq!(next.ticket.number, "A003");
}

#[test]
fn a_crash_between_drawing_and_printing_gives_no_duplicate_and_keeps_the_ticket_reprintable() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue();
    let lost = {
        let mut store = open(&dir);
        issue(&q, &mut store, &walk_in("A"), at(8, 0));
        // Drawn, then the power goes: never marked printed.
        q.draw(&mut store, &walk_in("A"), at(8, 1)).unwrap().ticket
    };
    let mut store = open(&dir);
    assert_eq!(lost.number, "A002");
    let next = q.draw(&mut store, &walk_in("A"), at(8, 5)).unwrap();
    assert_eq!(next.ticket.number, "A003", "A002 is never handed out twice");
    let unprinted = q.unprinted(&store, 10).unwrap();
    let numbers: Vec<&str> = unprinted.iter().map(|t| t.number.as_str()).collect();
    assert_eq!(numbers, ["A003", "A002"], "both wait for a (re-)print");
    // Not issued, so not waiting: no counter calls a number nobody holds.
    let waiting = q.waiting_list(&store, "20261125", "A").unwrap();
    assert_eq!(waiting.len(), 1);
    // Staff re-print it: now it is issued, once.
    q.mark_printed(&mut store, lost.id, at(8, 10)).unwrap();
    q.mark_printed(&mut store, lost.id, at(8, 11)).unwrap();
    let reprinted = q.find(&store, "20261125", "A002").unwrap();
    assert_eq!(
        reprinted.printed_at,
        Some(at(8, 10).0),
        "the first print counts"
    );
    assert_eq!(reprinted.print_attempts, 2);
    assert_eq!(q.unprinted(&store, 10).unwrap().len(), 1);
}

#[test]
fn every_number_of_a_day_is_unique_even_when_two_stores_draw_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue();
    let mut a = open(&dir);
    let mut b = open(&dir);
    let mut numbers = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { &mut a } else { &mut b };
        numbers.push(
            q.draw(store, &walk_in("A"), at(9, i))
                .unwrap()
                .ticket
                .number,
        );
    }
    let mut unique = numbers.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 20, "{numbers:?}");
}

#[test]
fn priority_numbers_have_their_own_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    let n = |store: &mut Store, r: &DrawRequest<'_>| q.draw(store, r, at(9, 0)).unwrap().ticket;
    assert_eq!(n(&mut store, &walk_in("A")).number, "A001");
    let p = n(&mut store, &declared("A", Priority::Pregnant));
    assert_eq!(p.number, "AU001");
    assert_eq!(p.lane, Lane::Priority);
    assert_eq!(p.priority, Some(Priority::Pregnant));
    assert_eq!(
        n(&mut store, &declared("A", Priority::Disabled)).number,
        "AU002"
    );
    assert_eq!(n(&mut store, &walk_in("A")).number, "A002");
}

#[test]
fn a_verified_birth_date_of_60_or_more_gives_priority_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    let born = |y, m, d| AgeEvidence::Verified(Date::new(y, m, d).unwrap());
    let elderly = DrawRequest {
        age: born(1966, 11, 25),
        verification: Verification::FaceMatched,
        ..walk_in("A")
    };
    let t = q.draw(&mut store, &elderly, at(9, 0)).unwrap().ticket;
    assert_eq!(
        (t.number.as_str(), t.priority),
        ("AU001", Some(Priority::Elderly))
    );
    assert_eq!(t.verification, "face_matched");
    // One day short of 60: a normal number, and declaring elderly is refused.
    let young = DrawRequest {
        age: born(1966, 11, 26),
        ..elderly.clone()
    };
    assert_eq!(
        q.draw(&mut store, &young, at(9, 0)).unwrap().ticket.number,
        "A001"
    );
    let claims = DrawRequest {
        declared: Some(Priority::Elderly),
        ..young
    };
    assert!(matches!(
        q.draw(&mut store, &claims, at(9, 0)),
        Err(QueueError::PriorityNotEligible)
    ));
    // A walk-in cannot be elderly without papers; staff can attest.
    assert!(matches!(
        q.draw(&mut store, &declared("A", Priority::Elderly), at(9, 0)),
        Err(QueueError::PriorityNotEligible)
    ));
    let attested = DrawRequest {
        age: AgeEvidence::StaffAttested,
        ..declared("A", Priority::Elderly)
    };
    assert_eq!(
        q.draw(&mut store, &attested, at(9, 0))
            .unwrap()
            .ticket
            .number,
        "AU002"
    );
    assert_eq!(
        QueueError::PriorityNotEligible.fault(),
        Fault::PriorityNotEligible
    );
}

#[test]
fn priority_goes_ahead_of_recent_tickets_but_never_of_those_waiting_longer_than_the_head_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    // Normal tickets at 08:00, 08:30, 08:50; a pregnant woman at 09:00
    // (head start 20 minutes); another normal ticket at 09:05.
    let a1 = issue(&q, &mut store, &walk_in("A"), at(8, 0));
    let a2 = issue(&q, &mut store, &walk_in("A"), at(8, 30));
    let a3 = issue(&q, &mut store, &walk_in("A"), at(8, 50));
    let p = issue(&q, &mut store, &declared("A", Priority::Pregnant), at(9, 0));
    let a4 = issue(&q, &mut store, &walk_in("A"), at(9, 5));
    assert_eq!((a1.waiting, a2.waiting, a3.waiting), (0, 1, 2));
    assert_eq!(p.waiting, 2, "ahead of 08:50, behind 08:00 and 08:30");
    assert_eq!(a4.waiting, 4);
    let order: Vec<String> = q
        .waiting_list(&store, "20261125", "A")
        .unwrap()
        .into_iter()
        .map(|t| t.number)
        .collect();
    assert_eq!(order, ["A001", "A002", "AU001", "A003", "A004"]);
    // Counters call in that order.
    let called: Vec<String> = (0..5)
        .map(|_| {
            q.call_next(&mut store, "A", 1, at(9, 30))
                .unwrap()
                .unwrap()
                .number
        })
        .collect();
    assert_eq!(called, order);
    assert_eq!(q.call_next(&mut store, "A", 1, at(9, 30)).unwrap(), None);
}

#[test]
fn the_waiting_order_never_lets_priority_starve_a_normal_ticket() {
    use super::order::{Place, ahead_of, sort};
    let policy = queue().catalog().policy;
    let head_start = policy.head_start_ms;
    // A normal ticket, then a stream of priority tickets every minute.
    let normal = Place {
        id: 1,
        lane: Lane::Normal,
        drawn_at: UnixMillis(MIDNIGHT),
    };
    let mut places = vec![normal];
    for i in 1..=60u64 {
        places.push(Place {
            id: i64::try_from(i + 1).unwrap(),
            lane: Lane::Priority,
            drawn_at: UnixMillis(MIDNIGHT + i * MINUTE),
        });
    }
    let ahead = ahead_of(&normal, &places, &policy);
    let bound = head_start / MINUTE;
    assert_eq!(
        u64::from(ahead),
        bound,
        "only priority tickets drawn within the head start (inclusive) go ahead"
    );
    sort(&mut places, &policy);
    let position = places.iter().position(|p| p.id == 1).unwrap();
    assert_eq!(u64::try_from(position).unwrap(), bound);
}

#[test]
fn a_closed_service_says_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    // Wednesday 12:00: lunch break until 13:30.
    match q.draw(&mut store, &walk_in("A"), at(12, 0)) {
        Err(QueueError::Closed {
            service,
            next_opening,
        }) => {
            assert_eq!(service, "A");
            assert_eq!(next_opening, Some(at(13, 30)));
        }
        other => panic!("{other:?}"),
    }
    // Service B opens Wednesday and Saturday 08:00–11:00: after 11:00 on
    // Wednesday the next opening is Saturday 08:00.
    match q.draw(&mut store, &walk_in("B"), at(11, 0)) {
        Err(e @ QueueError::Closed { .. }) => {
            assert_eq!(e.fault(), Fault::ServiceClosed);
            let QueueError::Closed { next_opening, .. } = e else {
                unreachable!()
            };
            assert_eq!(next_opening, Some(at(3 * 24 + 8, 0)));
        }
        other => panic!("{other:?}"),
    }
    assert!(q.draw(&mut store, &walk_in("A"), at(7, 30)).is_ok());
    assert!(q.draw(&mut store, &walk_in("A"), at(16, 59)).is_ok());
    assert!(q.draw(&mut store, &walk_in("A"), at(17, 0)).is_err());
    // Thursday 09:00 is open for A; Sunday is not.
    assert!(q.draw(&mut store, &walk_in("A"), at(24 + 9, 0)).is_ok());
    assert!(
        q.draw(&mut store, &walk_in("A"), at(4 * 24 + 9, 0))
            .is_err()
    );
    assert!(
        q.unprinted(&store, 10).unwrap().len() == 3,
        "refusals draw nothing"
    );
}

#[test]
fn the_daily_limit_sells_out_then_the_next_day_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    for _ in 0..3 {
        q.draw(&mut store, &walk_in("B"), at(9, 0)).unwrap();
    }
    match q.draw(&mut store, &declared("B", Priority::Disabled), at(9, 1)) {
        Err(e @ QueueError::SoldOut { .. }) => assert_eq!(e.fault(), Fault::ServiceSoldOut),
        other => panic!("{other:?}"),
    }
    // Saturday (the next day B opens).
    let saturday = q
        .draw(&mut store, &walk_in("B"), at(3 * 24 + 9, 0))
        .unwrap();
    assert_eq!(saturday.ticket.number, "B001");
}

#[test]
fn an_unknown_service_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    match queue().draw(&mut store, &walk_in("Z"), at(9, 0)) {
        Err(e @ QueueError::UnknownService(_)) => assert_eq!(e.fault(), Fault::Internal),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_ticket_content_carries_the_service_priority_waiting_and_status_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    issue(&q, &mut store, &walk_in("A"), at(8, 0));
    let drawn = q
        .draw(&mut store, &declared("A", Priority::SmallChild), at(8, 5))
        .unwrap();
    let content = q
        .content(
            &drawn.ticket,
            drawn.waiting,
            "Trung tâm Mẫu",
            "KIOSK-1",
            false,
        )
        .unwrap();
    assert_eq!(content.number, "AU001");
    assert_eq!(content.service_vi, "Hộ tịch");
    assert_eq!(content.counters, "1, 2");
    assert_eq!(
        content.waiting, 0,
        "ahead of the 08:00 ticket by its head start"
    );
    assert_eq!(
        content.priority,
        Some(("Người đi cùng trẻ nhỏ".into(), "With a small child".into()))
    );
    assert_eq!(
        content.qr,
        "https://dichvucong.example.gov.vn/hang-doi/KIOSK-1/20261125/AU001"
    );
    assert_eq!(content.reference, "KIOSK-1 · 20261125 · AU001");
    assert_eq!(content.issued_at.to_string(), "08:05 25/11/2026");
}

#[test]
fn a_failed_print_is_recorded_and_the_ticket_stays_out_of_the_waiting_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    let drawn = q.draw(&mut store, &walk_in("A"), at(8, 0)).unwrap();
    q.record_print_failure(&mut store, drawn.ticket.id, "paper_out", at(8, 1))
        .unwrap();
    let t = q.unprinted(&store, 10).unwrap().remove(0);
    assert_eq!(t.last_print_problem.as_deref(), Some("paper_out"));
    assert_eq!(t.print_attempts, 1);
    assert!(q.waiting_list(&store, "20261125", "A").unwrap().is_empty());
    assert_eq!(q.call_next(&mut store, "A", 1, at(8, 30)).unwrap(), None);
}

#[test]
fn a_ticket_counts_once_as_unprinted_and_once_as_printed_whatever_the_reprints() {
    use crate::metrics::Metric;
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let q = queue();
    let drawn = q.draw(&mut store, &walk_in("A"), at(8, 0)).unwrap();
    let id = drawn.ticket.id;
    q.record_print_failure(&mut store, id, "paper_out", at(8, 1))
        .unwrap();
    q.record_print_failure(&mut store, id, "paper_out", at(8, 2))
        .unwrap();
    let day = store.usage_of_day("20261125").unwrap();
    assert_eq!(day.get(Metric::TicketsUnprinted, "A"), 1);
    assert_eq!(day.total(Metric::TicketsPrinted), 0, "not printed yet");
    q.mark_printed(&mut store, id, at(8, 10)).unwrap();
    q.mark_printed(&mut store, id, at(8, 20)).unwrap();
    let day = store.usage_of_day("20261125").unwrap();
    assert_eq!(day.get(Metric::TicketsPrinted, "A"), 1);
    assert_eq!(day.get(Metric::TicketsUnprinted, "A"), 1);
}

#[test]
fn bad_catalogues_are_refused_with_the_field_named() {
    let refuse = |edit: &dyn Fn(&mut QueueConfig)| {
        let mut raw = config();
        edit(&mut raw);
        Catalog::from_config(&raw).unwrap_err().field
    };
    assert_eq!(
        refuse(&|c| c.services[0].code = "a".into()),
        "queue.services[0].code"
    );
    assert_eq!(
        refuse(&|c| c.services[1].code = "A".into()),
        "queue.services[1].code"
    );
    assert_eq!(
        refuse(&|c| c.services[0].code = "AU".into()),
        "queue.services[0].code"
    );
    assert_eq!(
        refuse(&|c| c.services[0].daily_limit = 1000),
        "queue.services[0].daily_limit"
    );
    assert_eq!(
        refuse(&|c| c.services[0].counters.clear()),
        "queue.services[0].counters"
    );
    assert_eq!(
        refuse(&|c| c.hours.days = vec!["funday".into()]),
        "queue.hours.days"
    );
    assert_eq!(
        refuse(&|c| c.hours.open = vec!["17:00-07:30".into()]),
        "queue.hours.open"
    );
    assert_eq!(
        refuse(&|c| c.hours.open = vec!["07:30-12:00".into(), "11:00-13:00".into()]),
        "queue.hours.open"
    );
    assert_eq!(
        refuse(&|c| c.services[1].hours = Some(hours(&["mon"], &["8:00-9:00"]))),
        "queue.services[1].hours.open"
    );
    assert_eq!(
        refuse(&|c| c.status_url = "ftp://x".into()),
        "queue.status_url"
    );
    assert_eq!(refuse(&|c| c.services.clear()), "queue.services");
    assert_eq!(refuse(&|c| c.elderly_age = 5), "queue.elderly_age");
}

#[test]
fn a_catalogue_parses_from_toml_and_unknown_fields_are_refused() {
    let text = r#"
status_url = "https://example.gov.vn/q"
hours = { days = ["mon"], open = ["08:00-09:00"] }
[[services]]
code = "C"
name_vi = "Chứng thực"
name_en = "Certification"
counters = [3]
daily_limit = 10
"#;
    let raw: QueueConfig = toml::from_str(text).unwrap();
    let catalog = Catalog::from_config(&raw).unwrap();
    assert_eq!(catalog.policy.elderly_age, 60);
    assert_eq!(catalog.policy.head_start_ms, 20 * MINUTE);
    assert_eq!(catalog.service("C").unwrap().name_vi, "Chứng thực");
    let bad = text.replace("daily_limit = 10", "daily_limit = 10\ncolour = \"red\"");
    assert!(toml::from_str::<QueueConfig>(&bad).is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        /// Draw for service 0/1, priority or not, `minutes` later.
        Draw {
            service: bool,
            priority: bool,
            minutes: u64,
            print: bool,
        },
        /// The power goes: the store is dropped and opened again.
        Crash,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (any::<bool>(), any::<bool>(), 0u64..400, any::<bool>()).prop_map(
                |(service, priority, minutes, print)| Step::Draw {
                    service,
                    priority,
                    minutes,
                    print
                }
            ),
            1 => Just(Step::Crash),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the order of draws, prints and power cuts, over two
        /// days, no number is handed out twice in a day and every number
        /// of a lane is the next one.
        #[test]
        fn numbers_never_repeat_within_a_day(steps in proptest::collection::vec(step(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let mut raw = config();
            raw.hours = hours(&["mon", "tue", "wed", "thu", "fri", "sat", "sun"], &["00:00-24:00"]);
            raw.services[1].hours = None;
            raw.services[1].daily_limit = 999;
            let q = Queue::new(Catalog::from_config(&raw).unwrap());
            let mut store = open(&dir);
            // 20:00 on the 25th: the clock crosses midnight on the way.
            let mut now = at(20, 0).0;
            let mut seen = std::collections::HashSet::new();
            let mut last = std::collections::HashMap::new();
            for s in steps {
                match s {
                    Step::Crash => {
                        drop(store);
                        store = open(&dir);
                    }
                    Step::Draw { service, priority, minutes, print } => {
                        now += minutes * MINUTE;
                        let code = if service { "A" } else { "B" };
                        let request = if priority {
                            declared(code, Priority::Disabled)
                        } else {
                            walk_in(code)
                        };
                        let drawn = q.draw(&mut store, &request, UnixMillis(now)).unwrap();
                        let t = drawn.ticket;
                        prop_assert!(seen.insert((t.day.clone(), t.number.clone())), "{} repeated on {}", t.number, t.day);
                        let key = (t.day.clone(), t.service.clone(), t.lane);
                        let previous = last.insert(key, t.number.clone());
                        let seq: u32 = t.number.trim_start_matches(|c: char| c.is_ascii_alphabetic()).parse().unwrap();
                        let expected = previous.map_or(1, |p: String| {
                            p.trim_start_matches(|c: char| c.is_ascii_alphabetic()).parse::<u32>().unwrap() + 1
                        });
                        prop_assert_eq!(seq, expected);
                        if print {
                            q.mark_printed(&mut store, t.id, UnixMillis(now)).unwrap();
                        }
                    }
                }
            }
        }
    }
}
