//! The kiosk's side of the centre queue against a real SQLite file: what
//! each answer means, offline numbering from the block, and
//! reconciliation's bookkeeping.

#![allow(clippy::unwrap_used, reason = "tests")]

use super::*;
use crate::queue::catalog::{HoursConfig, QueueConfig, ServiceConfig};
use crate::queue::{AgeEvidence, Catalog, Priority, Verification};

/// Wednesday 25 November 2026, 09:00 in Hà Nội.
const NINE: u64 = 1_795_539_600_000 + 9 * 3_600_000;
/// Long enough after for an open attempt to count as abandoned.
const LATER: UnixMillis = UnixMillis(NINE + ABANDONED_AFTER_MS + 1);

fn queue() -> Queue {
    let hours = HoursConfig {
        days: vec!["wed".into()],
        open: vec!["07:30-11:30".into()],
    };
    Queue::new(
        Catalog::from_config(&QueueConfig {
            status_url: "https://dichvucong.example.gov.vn/hang-doi".into(),
            elderly_age: 60,
            priority_head_start_minutes: 20,
            hours,
            services: vec![ServiceConfig {
                code: "A".into(),
                name_vi: "Hộ tịch".into(),
                name_en: "Civil status".into(),
                counters: vec![1],
                daily_limit: 150,
                hours: None,
                procedure: None,
            }],
        })
        .unwrap(),
    )
}

fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("kiosk.db"), UnixMillis(NINE))
        .unwrap()
        .0
}

fn walk_in(service: &str) -> DrawRequest<'_> {
    DrawRequest {
        service,
        declared: None,
        age: AgeEvidence::Unknown,
        verification: Verification::Anonymous,
    }
}

const BLOCK: OfflineBlock = OfflineBlock {
    first: 800,
    last: 801,
};

fn answered(status: u16, body: &serde_json::Value) -> Attempt {
    Attempt::Answered {
        status,
        body: body.to_string().into_bytes(),
    }
}

fn centre_ticket(number: &str, seq: u32) -> CentreTicket {
    CentreTicket {
        id: 41,
        centre_id: "HCC-1".into(),
        day: "20261125".into(),
        number: number.into(),
        issued_service: "A".into(),
        service: "A".into(),
        lane: Lane::Normal,
        seq,
        priority: None,
        verification: "anonymous".into(),
        kiosk_id: "K1".into(),
        origin: Origin::Centre,
        state: TicketState::Waiting,
        drawn_at_unix_ms: NINE,
        counter: None,
        called_at_unix_ms: None,
        recalls: 0,
    }
}

#[test]
fn blocks_parse_and_overlap() {
    assert_eq!(
        OfflineBlock::parse("800-849").unwrap(),
        OfflineBlock {
            first: 800,
            last: 849
        }
    );
    assert!(OfflineBlock::parse("0-10").is_err());
    assert!(OfflineBlock::parse("50-10").is_err());
    assert!(OfflineBlock::parse("900-1000").is_err());
    assert!(OfflineBlock::parse("900").is_err());
    let a = OfflineBlock::parse("800-849").unwrap();
    assert!(a.overlaps(&OfflineBlock::parse("849-899").unwrap()));
    assert!(!a.overlaps(&OfflineBlock::parse("850-899").unwrap()));
    assert!(a.contains(800) && a.contains(849) && !a.contains(850));
}

#[test]
fn answers_mean_issued_refused_or_offline() {
    let issued = serde_json::to_value(IssueAnswer {
        ticket: centre_ticket("A001", 1),
        waiting: 3,
        replayed: false,
    })
    .unwrap();
    assert!(matches!(decide(&answered(201, &issued)), Decision::Issued(a) if a.waiting == 3));
    let closed =
        serde_json::json!({"error": "closed", "message": "closed", "next_opening_unix_ms": 5});
    match decide(&answered(409, &closed)) {
        Decision::Refused(e) => assert!(matches!(
            refusal("A", e),
            QueueError::Closed {
                next_opening: Some(UnixMillis(5)),
                ..
            }
        )),
        other => panic!("{other:?}"),
    }
    let forbidden = serde_json::json!({"error": "kiosk_not_admitted", "message": "no"});
    assert!(matches!(
        decide(&answered(403, &forbidden)),
        Decision::Refused(ApiError { error, .. }) if error == "kiosk_not_admitted"
    ));
    assert_eq!(
        decide(&answered(503, &serde_json::json!({}))),
        Decision::Offline(OfflineReason::ServerError(503))
    );
    assert_eq!(
        decide(&Attempt::Answered {
            status: 201,
            body: b"{\"ticket\":".to_vec()
        }),
        Decision::Offline(OfflineReason::UnreadableAnswer)
    );
    assert_eq!(
        decide(&Attempt::Unreachable("timed out".into())),
        Decision::Offline(OfflineReason::Unreachable("timed out".into()))
    );
}

#[test]
fn a_centre_number_is_kept_once_and_closes_its_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir);
    let q = queue();
    let now = UnixMillis(NINE);
    let prepared = q
        .prepare_centre(&mut store, &walk_in("A"), &[7; 16], now)
        .unwrap();
    assert_eq!(
        store
            .open_centre_attempts(UnixMillis(u64::MAX), 10)
            .unwrap(),
        vec![prepared.key.clone()]
    );
    let answer = serde_json::to_value(IssueAnswer {
        ticket: centre_ticket("A017", 17),
        waiting: 2,
        replayed: false,
    })
    .unwrap();
    let drawn = q
        .finish_centre(
            &mut store,
            &prepared,
            &answered(201, &answer),
            Some(BLOCK),
            now,
        )
        .unwrap();
    assert_eq!(drawn.ticket.number, "A017");
    assert_eq!(drawn.ticket.origin, Origin::Centre);
    assert_eq!(drawn.waiting, 2);
    assert!(drawn.offline.is_none());
    assert!(
        store
            .open_centre_attempts(UnixMillis(u64::MAX), 10)
            .unwrap()
            .is_empty()
    );
    // The same answer kept again (a replay) is the same row.
    let again = q
        .finish_centre(
            &mut store,
            &prepared,
            &answered(200, &answer),
            Some(BLOCK),
            now,
        )
        .unwrap();
    assert_eq!(again.ticket.id, drawn.ticket.id);
    assert!(q.reconcile_request(&store, LATER).unwrap().is_empty());
}

#[test]
fn an_unreachable_centre_gives_numbers_from_the_block_marked_offline_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir);
    let q = queue();
    let now = UnixMillis(NINE);
    let down = Attempt::Unreachable("connection refused".into());
    let mut numbers = Vec::new();
    for nonce in 1..=2u8 {
        let p = q
            .prepare_centre(&mut store, &walk_in("A"), &[nonce; 16], now)
            .unwrap();
        let d = q
            .finish_centre(&mut store, &p, &down, Some(BLOCK), now)
            .unwrap();
        assert_eq!(d.ticket.origin, Origin::Offline);
        assert!(matches!(d.offline, Some(OfflineReason::Unreachable(_))));
        let content = q.content(&d.ticket, d.waiting, "HCC", "K1", false).unwrap();
        assert!(content.offline, "the paper says offline");
        numbers.push(d.ticket.number);
    }
    assert_eq!(numbers, ["A800", "A801"]);
    // A priority number has its own range in the same block.
    let p = q
        .prepare_centre(
            &mut store,
            &DrawRequest {
                declared: Some(Priority::Disabled),
                ..walk_in("A")
            },
            &[3; 16],
            now,
        )
        .unwrap();
    let d = q
        .finish_centre(&mut store, &p, &down, Some(BLOCK), now)
        .unwrap();
    assert_eq!(d.ticket.number, "AU800");
    // The block is used up for the normal lane.
    let p = q
        .prepare_centre(&mut store, &walk_in("A"), &[4; 16], now)
        .unwrap();
    assert!(matches!(
        q.finish_centre(&mut store, &p, &down, Some(BLOCK), now),
        Err(QueueError::SoldOut { limit: 2, .. })
    ));

    let request = q.reconcile_request(&store, LATER).unwrap();
    let sent: Vec<&str> = request.tickets.iter().map(|t| t.number.as_str()).collect();
    assert_eq!(sent, ["A800", "A801", "AU800"]);
    assert_eq!(
        request.tickets[0].attempted_key.as_deref(),
        Some(hex::encode([1u8; 16]).as_str())
    );
    assert!(
        request
            .tickets
            .iter()
            .all(|t| t.idempotency_key.ends_with("-offline"))
    );
    // Every attempt is closed: each became an offline ticket, or was
    // refused as sold out... except the sold-out one, which stays open.
    assert_eq!(request.abandoned, vec![hex::encode([4u8; 16])]);

    // The centre records two and rejects one: the rejected one stays.
    let answer = ReconcileAnswer {
        results: vec![
            ReconcileResult {
                idempotency_key: request.tickets[0].idempotency_key.clone(),
                outcome: ReconcileOutcome::Recorded,
                ticket_id: Some(90),
                voided: Some("A012".into()),
                reason: None,
            },
            ReconcileResult {
                idempotency_key: request.tickets[1].idempotency_key.clone(),
                outcome: ReconcileOutcome::Already,
                ticket_id: Some(91),
                voided: None,
                reason: None,
            },
            ReconcileResult {
                idempotency_key: request.tickets[2].idempotency_key.clone(),
                outcome: ReconcileOutcome::Rejected,
                ticket_id: None,
                voided: None,
                reason: Some("number_taken".into()),
            },
        ],
        abandoned_done: request.abandoned.clone(),
        voided: vec![],
    };
    let summary = q.apply_reconcile(&mut store, &answer, now).unwrap();
    assert_eq!(summary.acknowledged, 2);
    assert_eq!(
        summary.rejected,
        vec![request.tickets[2].idempotency_key.clone()]
    );
    assert_eq!(summary.voided, vec!["A012".to_owned()]);
    assert_eq!(summary.abandoned_cleared, 1);
    let left = q.reconcile_request(&store, LATER).unwrap();
    assert_eq!(left.tickets.len(), 1);
    assert_eq!(left.tickets[0].number, "AU800");
    assert!(left.abandoned.is_empty());
}

#[test]
fn without_a_block_the_kiosk_refuses_and_the_attempt_stays_for_reconciliation() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir);
    let q = queue();
    let now = UnixMillis(NINE);
    let p = q
        .prepare_centre(&mut store, &walk_in("A"), &[9; 16], now)
        .unwrap();
    assert!(matches!(
        q.finish_centre(&mut store, &p, &Attempt::Unreachable("x".into()), None, now),
        Err(QueueError::CentreUnreachable)
    ));
    assert_eq!(
        q.reconcile_request(&store, LATER).unwrap().abandoned,
        vec![p.key]
    );
}

#[test]
fn a_refusal_closes_the_attempt_and_draws_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir);
    let q = queue();
    let now = UnixMillis(NINE);
    let p = q
        .prepare_centre(&mut store, &walk_in("A"), &[5; 16], now)
        .unwrap();
    let sold = serde_json::json!({"error": "sold_out", "message": "no", "limit": 150});
    assert!(matches!(
        q.finish_centre(&mut store, &p, &answered(409, &sold), Some(BLOCK), now),
        Err(QueueError::SoldOut { limit: 150, .. })
    ));
    assert!(q.reconcile_request(&store, LATER).unwrap().is_empty());
    assert!(q.tickets_of_day(&store, "20261125").unwrap().is_empty());
    // Closed hours are refused before anything is sent.
    assert!(matches!(
        q.prepare_centre(
            &mut store,
            &walk_in("A"),
            &[6; 16],
            UnixMillis(NINE + 5 * 3_600_000)
        ),
        Err(QueueError::Closed { .. })
    ));
}

#[test]
fn reconciliation_backs_off_while_the_centre_is_away() {
    let mut s = ReconcileSchedule::new(1_000, 8_000);
    assert!(s.due(0));
    s.failed(0);
    assert_eq!(s.next_at(), 2_000);
    s.failed(2_000);
    assert_eq!(s.next_at(), 6_000);
    s.failed(6_000);
    s.failed(14_000);
    assert_eq!(s.next_at(), 22_000, "capped at max");
    s.succeeded(22_000);
    assert_eq!(s.next_at(), 23_000);
    assert!(!s.due(22_500));
}

#[test]
fn only_an_anchored_or_authority_confirmed_chip_vouches_in_a_packet() {
    use crate::trust::Genuineness;
    assert_eq!(
        genuineness_code(&Genuineness::Anchored {
            csca: "CN=CSCA".into()
        }),
        Some("anchored")
    );
    assert_eq!(
        genuineness_code(&Genuineness::OnlineVerified {
            verdict: "v-1".into()
        }),
        Some("authority")
    );
    assert_eq!(
        genuineness_code(&Genuineness::Unanchored {
            issuer: "CN=Other".into()
        }),
        None
    );
    assert_eq!(
        genuineness_code(&Genuineness::UnverifiedOffline {
            issuer: "CN=Other".into(),
            cause: "timeout".into()
        }),
        None
    );
}
