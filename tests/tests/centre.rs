//! The centre's queue with a real PostgreSQL (Debian's `postgresql`, a
//! private server for this test binary, a fresh database per test): numbers
//! never shared under concurrent kiosks (a property test over interleavings
//! and a stress run through the HTTPS API), offline numbering and
//! reconciliation across a killed and restarted centre (the real
//! `kiosk-centre` and `kioskctl` binaries), idempotent retries, the calling
//! order and the counter's transitions, the refusal of a certificate
//! from another CA, and the day's statistics (waiting and service times,
//! no-shows, ratings) as JSON through the API and `kioskctl`, and as
//! Prometheus text on the loopback listener.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kiosk_board::online::centre::{CentreCallError, CentreClient};
use kiosk_board::online::portal::client::PortalSettings;
use kiosk_centre::db::{CentreDb, CentreError, Refusal};
use kiosk_firmware::queue::centre::{
    Attempt, Decision, IssueRequest, OfflineBlock, OfflineTicket, ReconcileOutcome,
    ReconcileRequest, TicketState, decide,
};
use kiosk_firmware::queue::{Catalog, Lane, QueueConfig};
use kiosk_firmware::requests::delivery::TransportError;
use kiosk_firmware::store::UnixMillis;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kiosk_tests::centre::{
    CentreProcess, MINUTE, MONDAY_NINE, MONDAY_NINE_MS, client, fresh_db, target_dir_binary,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn catalog() -> Catalog {
    let table: toml::Table = toml::from_str(kiosk_centre::demo::DEMO_QUEUE).unwrap();
    let queue: QueueConfig = table["queue"].clone().try_into().unwrap();
    Catalog::from_config(&queue).unwrap()
}

/// A migrated database and the queue of centre `centre` on it.
async fn centre_db(url: &str, centre: &str) -> CentreDb {
    let pool = kiosk_centre::db::pool(url, 6).unwrap();
    assert_eq!(
        kiosk_centre::db::migrate(&pool).await.unwrap(),
        kiosk_centre::db::SCHEMA_VERSION
    );
    CentreDb::new(pool, centre, catalog(), 799)
}

fn walk_in(service: &str) -> IssueRequest {
    IssueRequest {
        service: service.into(),
        lane: Lane::Normal,
        priority: None,
        verification: "anonymous".into(),
        identity: None,
    }
}

fn priority(service: &str) -> IssueRequest {
    IssueRequest {
        lane: Lane::Priority,
        priority: Some("disabled".into()),
        ..walk_in(service)
    }
}

fn key(tag: &str) -> String {
    format!("test-key-{tag}")
}

#[derive(Debug, Clone)]
struct Op {
    kiosk: usize,
    service_b: bool,
    priority: bool,
    /// 0: once; 1: retried after the answer; 2: sent twice at once.
    retry: u8,
    yields: u8,
}

fn op() -> impl Strategy<Value = Op> {
    (0..3usize, any::<bool>(), any::<bool>(), 0..3u8, 0..4u8).prop_map(
        |(kiosk, service_b, priority, retry, yields)| Op {
            kiosk,
            service_b,
            priority,
            retry,
            yields,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Three kiosks issue concurrently, each its own sequence of requests
    /// with retries and duplicates, interleaved by the scheduler and the
    /// yields: every request gets a number, a retried key the same one,
    /// and each day, service and lane's numbers are exactly 1..n.
    #[test]
    fn concurrent_kiosks_never_share_a_number_under_any_interleaving(
        ops in proptest::collection::vec(op(), 1..28)
    ) {
        static RT: std::sync::OnceLock<(tokio::runtime::Runtime, String)> = std::sync::OnceLock::new();
        static CASE: AtomicU32 = AtomicU32::new(0);
        let (rt, url) = RT.get_or_init(|| (runtime(), fresh_db()));
        let centre = format!("PROP-{}", CASE.fetch_add(1, Ordering::SeqCst));
        rt.block_on(async {
            let db = std::sync::Arc::new(centre_db(url, &centre).await);
            let mut tasks = Vec::new();
            for k in 0..3 {
                let mine: Vec<(usize, Op)> =
                    ops.iter().cloned().enumerate().filter(|(_, o)| o.kiosk == k).collect();
                let db = db.clone();
                tasks.push(tokio::spawn(async move {
                    let kiosk = format!("KIOSK-{k}");
                    let mut got = Vec::new();
                    for (i, o) in mine {
                        for _ in 0..o.yields {
                            tokio::task::yield_now().await;
                        }
                        let req = match (o.service_b, o.priority) {
                            (false, false) => walk_in("A"),
                            (false, true) => priority("A"),
                            (true, false) => walk_in("B"),
                            (true, true) => priority("B"),
                        };
                        let k = key(&format!("{kiosk}-{i}"));
                        let now = UnixMillis(MONDAY_NINE_MS + i as u64 * 1_000);
                        let first = match o.retry {
                            2 => {
                                let (a, b) = tokio::join!(
                                    db.issue(&kiosk, &k, &req, now),
                                    db.issue(&kiosk, &k, &req, now)
                                );
                                let (a, b) = (a.unwrap(), b.unwrap());
                                assert_eq!(a.ticket.id, b.ticket.id, "one key, one ticket");
                                assert!(a.replayed != b.replayed, "exactly one replays");
                                a
                            }
                            _ => db.issue(&kiosk, &k, &req, now).await.unwrap(),
                        };
                        if o.retry == 1 {
                            let again = db.issue(&kiosk, &k, &req, now).await.unwrap();
                            assert_eq!(again.ticket.id, first.ticket.id);
                            assert!(again.replayed);
                        }
                        got.push(first.ticket);
                    }
                    got
                }));
            }
            let mut issued = Vec::new();
            for t in tasks {
                issued.extend(t.await.unwrap());
            }
            let all = db.tickets_of_day("20261207").await.unwrap();
            assert_eq!(all.len(), ops.len(), "one ticket per key, none lost, none extra");
            let numbers: BTreeSet<&str> = all.iter().map(|t| t.number.as_str()).collect();
            assert_eq!(numbers.len(), all.len(), "no number twice");
            let mut seqs: BTreeMap<(String, &str), Vec<u32>> = BTreeMap::new();
            for t in &all {
                seqs.entry((t.issued_service.clone(), t.lane.as_str())).or_default().push(t.seq);
            }
            for ((service, lane), mut s) in seqs {
                s.sort_unstable();
                let expected: Vec<u32> = (1..=u32::try_from(s.len()).unwrap()).collect();
                assert_eq!(s, expected, "{service} {lane}: numbers 1..n, no gap");
            }
            let mut by_id: Vec<i64> = issued.iter().map(|t| t.id).collect();
            by_id.sort_unstable();
            assert_eq!(by_id, all.iter().map(|t| t.id).collect::<Vec<_>>());
        });
    }
}

#[test]
fn a_thousand_tickets_from_four_kiosks_through_https_never_share_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let (_centre, layout) = CentreProcess::start_new(dir.path(), 4);
    let per_kiosk = 260;
    let numbers: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = layout
            .kiosk_files
            .iter()
            .enumerate()
            .map(|(k, file)| {
                s.spawn(move || {
                    let c = client(file);
                    (0..per_kiosk)
                        .map(|i| {
                            let service = if i % 2 == 0 { "A" } else { "B" };
                            let req = if i % 4 == 1 {
                                priority(service)
                            } else {
                                walk_in(service)
                            };
                            let attempt = c.issue(&key(&format!("{k}-{i}")), &req);
                            match decide(&attempt) {
                                Decision::Issued(a) => {
                                    assert!(!a.replayed);
                                    a.ticket.number
                                }
                                other => panic!("kiosk {k} ticket {i}: {other:?}"),
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<&String> = numbers.iter().flatten().collect();
    assert_eq!(all.len(), 4 * per_kiosk);
    let unique: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a number was given twice");
    // The database holds exactly those tickets.
    let config = kiosk_centre::config::CentreConfig::load(&layout.config).unwrap();
    runtime().block_on(async {
        let db = centre_db(&config.database_url, "DEMO-CENTRE").await;
        let stored = db.tickets_of_day("20261207").await.unwrap();
        assert_eq!(stored.len(), all.len());
        let stored: BTreeSet<String> = stored.into_iter().map(|t| t.number).collect();
        assert_eq!(stored, unique.into_iter().cloned().collect());
    });
}

fn kioskctl(args: &[&str]) -> (Output, serde_json::Value) {
    let sim = Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/config/sim.toml");
    let out = Command::new(target_dir_binary("kioskctl"))
        .arg("--config")
        .arg(sim)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "kioskctl {args:?}: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

/// `kioskctl ticket take` for kiosk `file` with its store `db`.
fn take(file: &Path, db: &Path, paper: &Path) -> serde_json::Value {
    let (out, json) = kioskctl(&[
        "ticket",
        "take",
        "--service",
        "A",
        "--centre",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--at",
        MONDAY_NINE,
        "--printer",
        &format!("escpos:{}", paper.display()),
    ]);
    assert!(out.status.success(), "{json}");
    json
}

#[test]
fn a_centre_killed_mid_day_loses_nothing_offline_numbers_reconcile_and_numbering_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut centre, layout) = CentreProcess::start_new(dir.path(), 2);
    let (k1, k2) = (&layout.kiosk_files[0], &layout.kiosk_files[1]);
    let (db1, db2) = (dir.path().join("k1.db"), dir.path().join("k2.db"));
    let paper = dir.path().join("paper.bin");
    let number = |j: &serde_json::Value| j["number"].as_str().unwrap().to_owned();

    let t1 = take(k1, &db1, &paper);
    assert_eq!(
        (number(&t1).as_str(), t1["origin"].as_str()),
        ("A001", Some("centre"))
    );
    assert_eq!(number(&take(k1, &db1, &paper)), "A002");
    assert_eq!(number(&take(k2, &db2, &paper)), "A003");
    let desk = client(&layout.desk_file);
    let called = desk.call_next(1, None).unwrap().ticket.unwrap();
    assert_eq!(called.number, "A001");

    centre.kill();
    let off = take(k1, &db1, &paper);
    assert_eq!(number(&off), "A800", "kiosk 1's block starts at 800");
    assert_eq!(off["origin"], "offline");
    assert_eq!(off["offline"]["reason"], "unreachable");
    assert_eq!(number(&take(k1, &db1, &paper)), "A801");
    assert_eq!(
        number(&take(k2, &db2, &paper)),
        "A820",
        "kiosk 2's block starts at 820"
    );
    let (status, json) = kioskctl(&[
        "centre",
        "status",
        "--centre",
        k1.to_str().unwrap(),
        "--db",
        db1.to_str().unwrap(),
        "--at",
        MONDAY_NINE,
    ]);
    assert_eq!(status.status.code(), Some(1), "unreachable");
    assert_eq!(
        json["unacknowledged_offline"],
        serde_json::json!(["A800", "A801"])
    );

    centre.start();
    assert_eq!(
        number(&take(k1, &db1, &paper)),
        "A004",
        "numbering goes on after a restart"
    );
    let reconcile = |file: &Path, db: &Path| {
        kioskctl(&[
            "centre",
            "reconcile",
            "--centre",
            file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--at",
            MONDAY_NINE,
        ])
    };
    let (out, json) = reconcile(k1, &db1);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["summary"]["acknowledged"], 2);
    assert_eq!(json["left"], serde_json::json!([]));
    let (out, json) = reconcile(k2, &db2);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["summary"]["acknowledged"], 1);
    // Nothing is sent twice once acknowledged.
    let (out, json) = reconcile(k1, &db1);
    assert!(out.status.success());
    assert_eq!(json["summary"]["acknowledged"], 0);

    let config = kiosk_centre::config::CentreConfig::load(&layout.config).unwrap();
    runtime().block_on(async {
        let db = centre_db(&config.database_url, "DEMO-CENTRE").await;
        let all = db.tickets_of_day("20261207").await.unwrap();
        let numbers: BTreeSet<&str> = all.iter().map(|t| t.number.as_str()).collect();
        assert_eq!(
            numbers,
            ["A001", "A002", "A003", "A004", "A800", "A801", "A820"]
                .into_iter()
                .collect(),
            "every ticket printed is at the centre, once"
        );
        assert_eq!(all.len(), 7);
        let waiting: BTreeSet<String> = db
            .waiting("A", UnixMillis(MONDAY_NINE_MS + MINUTE))
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.number)
            .collect();
        assert_eq!(
            waiting,
            ["A002", "A003", "A004", "A800", "A801", "A820"]
                .into_iter()
                .map(String::from)
                .collect()
        );
    });
}

fn offline(kiosk_key: &str, attempted: Option<&str>, seq: u32) -> OfflineTicket {
    OfflineTicket {
        idempotency_key: key(kiosk_key),
        attempted_key: attempted.map(key),
        day: "20261207".into(),
        service: "A".into(),
        lane: Lane::Normal,
        seq,
        number: format!("A{seq:03}"),
        priority: None,
        verification: "anonymous".into(),
        drawn_at_unix_ms: MONDAY_NINE_MS,
    }
}

#[test]
fn retries_replay_and_reconciliation_voids_numbers_nobody_holds_without_duplicating() {
    let url = fresh_db();
    runtime().block_on(async {
        let db = centre_db(&url, "HCC-1").await;
        let now = UnixMillis(MONDAY_NINE_MS);
        let first = db.issue("K1", &key("a"), &walk_in("A"), now).await.unwrap();
        assert_eq!(
            (first.ticket.number.as_str(), first.replayed),
            ("A001", false)
        );
        let again = db.issue("K1", &key("a"), &walk_in("A"), now).await.unwrap();
        assert_eq!((again.ticket.id, again.replayed), (first.ticket.id, true));
        // Another kiosk's key space is its own.
        let other = db.issue("K2", &key("a"), &walk_in("A"), now).await.unwrap();
        assert_eq!(other.ticket.number, "A002");
        assert!(matches!(
            db.issue("K1", &key("a"), &walk_in("B"), now).await,
            Err(CentreError::Refused(Refusal::IdempotencyConflict))
        ));

        // K1 asked with key "lost", the centre issued A003, the answer never
        // arrived: K1 printed A800 offline instead and reconciles it.
        let lost = db
            .issue("K1", &key("lost"), &walk_in("A"), now)
            .await
            .unwrap();
        assert_eq!(lost.ticket.number, "A003");
        // And K1 crashed after asking with key "crash" (A004).
        let crashed = db
            .issue("K1", &key("crash"), &walk_in("A"), now)
            .await
            .unwrap();
        let block = OfflineBlock {
            first: 800,
            last: 819,
        };
        let request = ReconcileRequest {
            tickets: vec![
                offline("lost-offline", Some("lost"), 800),
                offline("outside", None, 850),
            ],
            abandoned: vec![key("crash")],
        };
        let answer = db.reconcile("K1", block, &request, now).await.unwrap();
        assert_eq!(answer.results[0].outcome, ReconcileOutcome::Recorded);
        assert_eq!(answer.results[0].voided.as_deref(), Some("A003"));
        assert_eq!(answer.results[1].outcome, ReconcileOutcome::Rejected);
        assert!(
            answer.results[1]
                .reason
                .as_deref()
                .unwrap()
                .starts_with("not_in_block")
        );
        assert_eq!(answer.voided, vec!["A004".to_owned()]);
        assert_eq!(answer.abandoned_done, vec![key("crash")]);
        assert_eq!(
            db.get(lost.ticket.id).await.unwrap().state,
            TicketState::Void
        );
        assert_eq!(
            db.get(crashed.ticket.id).await.unwrap().state,
            TicketState::Void
        );

        // The acknowledgement was lost: the same batch again changes nothing.
        let replay = db.reconcile("K1", block, &request, now).await.unwrap();
        assert_eq!(replay.results[0].outcome, ReconcileOutcome::Already);
        assert_eq!(replay.results[0].ticket_id, answer.results[0].ticket_id);
        // A kiosk given an overlapping block by mistake cannot duplicate a
        // number: the constraint refuses it and the kiosk keeps its ticket.
        let clash = db
            .reconcile(
                "K2",
                block,
                &ReconcileRequest {
                    tickets: vec![offline("k2-clash", None, 800)],
                    abandoned: vec![],
                },
                now,
            )
            .await
            .unwrap();
        assert_eq!(clash.results[0].outcome, ReconcileOutcome::Rejected);
        assert_eq!(clash.results[0].reason.as_deref(), Some("number_taken"));

        let all = db.tickets_of_day("20261207").await.unwrap();
        assert_eq!(all.len(), 5, "A001, A002, A003 (void), A004 (void), A800");
        let waiting: Vec<String> = db
            .waiting("A", now)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.number)
            .collect();
        assert_eq!(
            waiting,
            ["A001", "A002", "A800"],
            "voided numbers are never called"
        );
    });
}

#[test]
fn counters_call_in_the_kiosks_order_and_tickets_move_only_as_the_workflow_allows() {
    let url = fresh_db();
    runtime().block_on(async {
        let db = centre_db(&url, "HCC-1").await;
        let t = |m: u64| UnixMillis(MONDAY_NINE_MS + m * MINUTE);
        let n1 = db
            .issue("K1", &key("n1"), &walk_in("A"), t(0))
            .await
            .unwrap()
            .ticket;
        let n2 = db
            .issue("K1", &key("n2"), &walk_in("A"), t(25))
            .await
            .unwrap()
            .ticket;
        let p1 = db
            .issue("K2", &key("p1"), &priority("A"), t(30))
            .await
            .unwrap();
        // Head start 20 min: P1 sorts at 09:10, after N1 (waited 30 min,
        // longer than the head start) and before N2 (09:25).
        assert_eq!(p1.waiting, 1);
        let p1 = p1.ticket;
        let called = db.call_next(1, None, t(31)).await.unwrap().unwrap();
        assert_eq!(called.id, n1.id);
        assert!(matches!(
            db.call_next(1, None, t(31)).await,
            Err(CentreError::Refused(Refusal::CounterBusy {
                counter: 1,
                ..
            }))
        ));
        assert_eq!(db.recall(n1.id, 1, t(32)).await.unwrap().recalls, 1);
        assert!(matches!(
            db.served(n1.id, 2, t(33)).await,
            Err(CentreError::Refused(Refusal::NotYourTicket(_)))
        ));
        assert_eq!(
            db.served(n1.id, 1, t(33)).await.unwrap().state,
            TicketState::Served
        );
        assert!(matches!(
            db.no_show(n1.id, 1, t(33)).await,
            Err(CentreError::Refused(Refusal::WrongState { .. }))
        ));
        assert_eq!(
            db.call_next(1, None, t(34)).await.unwrap().unwrap().id,
            p1.id
        );
        let moved = db.transfer(p1.id, 1, "B", Some(3), t(35)).await.unwrap();
        assert_eq!(
            (moved.state, moved.service.as_str(), moved.counter),
            (TicketState::Waiting, "B", Some(3))
        );
        assert_eq!(moved.number, p1.number, "a transfer keeps the number");
        assert_eq!(
            db.call_next(2, None, t(36)).await.unwrap().unwrap().id,
            n2.id
        );
        let at_three = db.call_next(3, None, t(37)).await.unwrap().unwrap();
        assert_eq!(at_three.id, p1.id);
        assert_eq!(
            db.no_show(p1.id, 3, t(40)).await.unwrap().state,
            TicketState::NoShow
        );
        assert!(db.call_next(1, None, t(41)).await.unwrap().is_none());
        assert!(matches!(
            db.call_next(9, None, t(41)).await,
            Err(CentreError::Refused(Refusal::CounterNotServing(9)))
        ));
    });
}

#[test]
fn a_kiosk_whose_certificate_is_not_from_the_centres_ca_is_refused_in_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (centre, layout) = CentreProcess::start_new(dir.path(), 1);
    // A forged CA with the same name as the centre's (what an impostor
    // would make) signing a certificate with the same kiosk name: the
    // signature check fails in the handshake and the centre answers with
    // the `decrypt_error` alert (RFC 8446 §6.2); nothing is served.
    let foreign = dir.path().join("foreign");
    kiosk_centre::pki::generate(&foreign, &["KIOSK-01".to_owned()]).unwrap();
    let section = kiosk_board::config::load_centre_section(&layout.kiosk_files[0]).unwrap();
    let impostor = CentreClient::new(&PortalSettings {
        client_cert_file: foreign.join("KIOSK-01.pem"),
        client_key_file: foreign.join("KIOSK-01.key"),
        ..section.endpoint.clone()
    })
    .unwrap();
    // In TLS 1.3 the client has sent its request when the alert comes:
    // it sees the alert, or the connection reset after it, depending on
    // timing. Either way no answer; the centre's side names the reason.
    match impostor.assignment() {
        Err(CentreCallError::Transport(
            TransportError::Tls(_) | TransportError::Io(_) | TransportError::Connect(_),
        )) => {}
        other => panic!("expected no answer, got {other:?}"),
    }
    match impostor.issue(&key("x"), &walk_in("A")) {
        Attempt::Unreachable(_) => {}
        other => panic!("{other:?}"),
    }
    // The client can see the reset before the centre has written its log
    // line: read the log until both refusals are there (up to 10 s).
    // (The start-up probe's bare TCP connection is logged as an EOF.)
    let refusals = || {
        let log = std::fs::read_to_string(centre.log_file()).unwrap();
        let n = log
            .lines()
            .filter(|l| {
                l.contains("TLS handshake refused")
                    && l.contains("invalid peer certificate: BadSignature")
            })
            .count();
        (n, log)
    };
    let mut seen = refusals();
    for _ in 0..200 {
        if seen.0 >= 2 {
            break;
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "waiting for another process's log"
        )]
        std::thread::sleep(Duration::from_millis(50));
        seen = refusals();
    }
    assert_eq!(seen.0, 2, "{}", seen.1);
    // A certificate from the right CA that is not a kiosk may not issue.
    let desk = client(&layout.desk_file);
    match decide(&desk.issue(&key("y"), &walk_in("A"))) {
        Decision::Refused(e) => assert_eq!(e.error, "not_admitted"),
        other => panic!("{other:?}"),
    }
    // The genuine kiosk is served.
    assert_eq!(
        client(&layout.kiosk_files[0])
            .assignment()
            .unwrap()
            .offline_block
            .first,
        800
    );
}

/// The day's statistics from the database, with every time set by the
/// test: waits from drawing to first call, service from the last call (a
/// recall restarts it) to served, no-shows per counter, and ratings counted
/// once per idempotency key.
#[test]
fn statistics_count_waits_service_times_no_shows_and_satisfaction() {
    let url = fresh_db();
    runtime().block_on(async {
        let db = centre_db(&url, "STATS").await;
        let at = |min: u64| UnixMillis(MONDAY_NINE_MS + min * MINUTE);
        let mut ids = Vec::new();
        for (i, min) in [0u64, 1, 2].into_iter().enumerate() {
            let a = db
                .issue("KIOSK-1", &key(&format!("s{i}")), &walk_in("A"), at(min))
                .await
                .unwrap();
            ids.push(a.ticket.id);
        }
        // A ticket of service B nobody calls: counted as waiting, not timed.
        db.issue("KIOSK-1", &key("b0"), &walk_in("B"), at(3))
            .await
            .unwrap();
        let first = db.call_next(1, None, at(5)).await.unwrap().unwrap();
        assert_eq!(first.id, ids[0]);
        db.served(first.id, 1, at(9)).await.unwrap();
        let second = db.call_next(1, None, at(10)).await.unwrap().unwrap();
        assert_eq!(second.id, ids[1]);
        db.no_show(second.id, 1, at(12)).await.unwrap();
        let third = db.call_next(2, None, at(13)).await.unwrap().unwrap();
        assert_eq!(third.id, ids[2]);
        db.recall(third.id, 2, at(15)).await.unwrap();
        db.served(third.id, 2, at(20)).await.unwrap();

        use kiosk_firmware::queue::centre::RatingRequest;
        let rating = RatingRequest::new;
        assert!(
            db.record_rating("KIOSK-1", &key("r1"), &rating(5, Some("A")), at(21))
                .await
                .unwrap()
        );
        // The kiosk's retry is counted once; the same key for another
        // rating is refused.
        assert!(
            !db.record_rating("KIOSK-1", &key("r1"), &rating(5, Some("A")), at(21))
                .await
                .unwrap()
        );
        assert!(matches!(
            db.record_rating("KIOSK-1", &key("r1"), &rating(1, Some("A")), at(21))
                .await,
            Err(CentreError::Refused(Refusal::IdempotencyConflict))
        ));
        assert!(matches!(
            db.record_rating("KIOSK-1", &key("r2"), &rating(6, None), at(21)).await,
            Err(CentreError::Refused(Refusal::BadRequest(m))) if m.contains("1–5")
        ));
        assert!(matches!(
            db.record_rating("KIOSK-1", &key("r3"), &rating(4, Some("Z")), at(21)).await,
            Err(CentreError::Refused(Refusal::UnknownService(s))) if s == "Z"
        ));
        assert!(
            db.record_rating("KIOSK-2", &key("r1"), &rating(2, None), at(22))
                .await
                .unwrap()
        );

        let day = CentreDb::today(at(30)).unwrap();
        assert_eq!(day, "20261207");
        let stats = db.day_stats(&day).await.unwrap();
        let a = stats.services.iter().find(|s| s.service == "A").unwrap();
        assert_eq!(
            (a.issued, a.waiting, a.called, a.served, a.no_show),
            (3, 0, 0, 2, 1)
        );
        // Waits 5, 9 and 11 minutes.
        assert_eq!(a.wait.count, 3);
        assert_eq!(a.wait.p50_ms, Some(9 * MINUTE));
        assert_eq!(a.wait.max_ms, Some(11 * MINUTE));
        assert_eq!(a.wait.mean_ms, Some(25 * MINUTE / 3));
        // Served in 4 minutes, and in 5 after the recall at 15.
        assert_eq!(a.service_time.count, 2);
        assert_eq!(a.service_time.p50_ms, Some(4 * MINUTE));
        assert_eq!(a.service_time.max_ms, Some(5 * MINUTE));
        assert_eq!(a.no_show_share, Some(0.3333));
        assert_eq!(a.ratings.count, 1);
        assert_eq!(a.ratings.satisfied_share, Some(1.0));
        let b = stats.services.iter().find(|s| s.service == "B").unwrap();
        assert_eq!((b.issued, b.waiting, b.wait.count), (1, 1, 0));
        assert_eq!(stats.total.issued, 4);
        assert_eq!(stats.total.ratings.by_score, [0, 1, 0, 0, 1]);
        assert_eq!(stats.total.ratings.satisfied_share, Some(0.5));
        let counters: Vec<_> = stats
            .counters
            .iter()
            .map(|c| (c.counter, c.served, c.no_show, c.service_time.max_ms))
            .collect();
        assert_eq!(
            counters,
            [(1, 1, 1, Some(4 * MINUTE)), (2, 1, 0, Some(5 * MINUTE))]
        );
        // Another day has nothing; a malformed day is refused.
        let other = db.day_stats("20261206").await.unwrap();
        assert_eq!(other.total.issued, 0);
        assert_eq!(other.total.ratings.count, 0);
        assert!(matches!(
            db.day_stats("2026-12-07").await,
            Err(CentreError::Refused(Refusal::BadRequest(_)))
        ));
    });
}

/// One plain HTTP/1.1 GET on loopback; the status line and the body.
fn http_get(port: u16, path: &str) -> (String, String) {
    use std::io::{Read as _, Write as _};
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// The statistics as a tester and a scraper get them: ratings sent with
/// `kioskctl centre rate` (a retry counted once), the day's JSON with
/// `kioskctl centre stats` by the desk, and the Prometheus text on the
/// centre's loopback metrics listener, all from the real binaries.
#[test]
fn ratings_and_statistics_through_kioskctl_and_the_prometheus_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (mut centre, layout) = CentreProcess::start_new(dir.path(), 1);
    // Restart with the metrics listener configured.
    centre.kill();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(&layout.config).unwrap().replace(
        "[centre]\n",
        &format!("[centre]\nmetrics_listen = \"127.0.0.1:{metrics_port}\"\n"),
    );
    std::fs::write(&layout.config, text).unwrap();
    centre.start();

    let kiosk = layout.kiosk_files[0].to_str().unwrap();
    let desk = layout.desk_file.to_str().unwrap();
    let db = dir.path().join("kiosk.db");
    let paper = dir.path().join("paper.bin");
    let issued = take(&layout.kiosk_files[0], &db, &paper);
    assert_eq!(issued["origin"], "centre", "{issued}");
    let (out, called) = kioskctl(&["centre", "call", "--centre", desk, "--counter", "1"]);
    assert!(out.status.success(), "{called}");
    let id = called["ticket"]["id"].as_i64().unwrap();
    let id = id.to_string();
    let (out, served) = kioskctl(&[
        "centre",
        "act",
        "--centre",
        desk,
        "--counter",
        "1",
        "--id",
        &id,
        "served",
    ]);
    assert!(out.status.success(), "{served}");

    let rate = [
        "centre",
        "rate",
        "--centre",
        kiosk,
        "--score",
        "4",
        "--service",
        "A",
        "--key",
        "rating-key-1",
    ];
    let (out, first) = kioskctl(&rate);
    assert!(out.status.success(), "{first}");
    assert_eq!(first["recorded"], true);
    let (out, again) = kioskctl(&rate);
    assert!(out.status.success(), "{again}");
    assert_eq!(again["replayed"], true);
    let (out, refused) = kioskctl(&["centre", "rate", "--centre", kiosk, "--score", "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(refused["refused"], "bad_request", "{refused}");

    let (out, stats) = kioskctl(&["centre", "stats", "--centre", desk]);
    assert!(out.status.success(), "{stats}");
    assert_eq!(stats["day"], "20261207");
    assert_eq!(stats["total"]["issued"], 1, "{stats}");
    assert_eq!(stats["total"]["served"], 1, "{stats}");
    assert_eq!(stats["total"]["wait"]["count"], 1, "{stats}");
    assert_eq!(stats["total"]["ratings"]["count"], 1, "{stats}");
    assert_eq!(stats["total"]["ratings"]["satisfied_share"], 1.0, "{stats}");
    assert_eq!(stats["counters"][0]["counter"], 1, "{stats}");
    // No number, id or kiosk in the figures: counts and times only.
    let flat = stats.to_string();
    assert!(!flat.contains(issued["number"].as_str().unwrap()), "{flat}");
    assert!(!flat.contains("KIOSK-01"), "{flat}");

    let (status, body) = http_get(metrics_port, "/metrics");
    assert!(status.ends_with("200 OK"), "{status}");
    assert!(
        body.contains(
            "kiosk_centre_tickets{centre=\"DEMO-CENTRE\",service=\"A\",state=\"served\"} 1"
        ),
        "{body}"
    );
    assert!(
        body.contains("kiosk_centre_satisfaction_ratio{centre=\"DEMO-CENTRE\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE kiosk_centre_wait_seconds summary"),
        "{body}"
    );
    let (status, _) = http_get(metrics_port, "/v1/stats");
    assert!(
        status.contains("404"),
        "only /metrics without TLS: {status}"
    );
}

/// A `GET /v1/events` listener: curl (any SSE client would do, as the hall
/// display's browser will) with the desk's certificate, its lines on a
/// channel; killed by PID when dropped.
struct Listener {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Listener {
    fn start(dir: &Path, port: u16) -> Listener {
        let pki = dir.join("pki");
        let mut child = Command::new("curl")
            .args(["--silent", "--show-error", "--no-buffer", "--cacert"])
            .arg(pki.join("ca.pem"))
            .arg("--cert")
            .arg(pki.join("DESK-01.pem"))
            .arg("--key")
            .arg(pki.join("DESK-01.key"))
            .arg(format!("https://127.0.0.1:{port}/v1/events"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Listener { child, lines }
    }

    /// The data of the next event named `name` (other events skipped).
    fn next(&self, name: &str) -> serde_json::Value {
        let mut current = String::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("no `{name}` event within 10 s ({e})"));
            if let Some(event) = line.strip_prefix("event: ") {
                current = event.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ")
                && current == name
            {
                return serde_json::from_str(data).unwrap();
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hall display's feed: a listener of `GET /v1/events` first hears who
/// is at which counter, then each call and finish as it commits — the
/// number, the service and the counter, nothing personal.
#[test]
fn listeners_hear_the_counters_then_every_call_and_finish_as_server_sent_events() {
    if Command::new("curl").arg("--version").output().is_err() {
        println!("SKIPPED: curl is missing (Debian package curl; `cargo xtask setup` installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (centre, layout) = CentreProcess::start_new(dir.path(), 1);
    let desk = layout.desk_file.to_str().unwrap();
    let db = dir.path().join("kiosk.db");
    let paper = dir.path().join("paper.bin");

    let hall = Listener::start(dir.path(), centre.port);
    assert_eq!(hall.next("snapshot"), serde_json::json!([]));
    let issued = take(&layout.kiosk_files[0], &db, &paper);
    let number = issued["number"].as_str().unwrap().to_owned();
    let heard = hall.next("issued");
    assert_eq!(
        (heard["number"].as_str(), heard["service"].as_str()),
        (Some(number.as_str()), Some("A"))
    );

    #[expect(
        clippy::disallowed_methods,
        reason = "reports how soon the listener hears a call"
    )]
    let asked = std::time::Instant::now();
    let (out, called) = kioskctl(&["centre", "call", "--centre", desk, "--counter", "2"]);
    assert!(out.status.success(), "{called}");
    let heard = hall.next("called");
    println!(
        "call to event (kioskctl's process included): {:?}",
        asked.elapsed()
    );
    assert_eq!(heard["number"], number.as_str());
    assert_eq!(heard["counter"], 2);
    assert_eq!(heard["kind"], "called");
    // Only a number, a service, a counter, a time and a sequence.
    let keys: Vec<&str> = heard
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["at_unix_ms", "counter", "kind", "number", "seq", "service"]
    );

    // A display that joins now sees the ticket at its counter.
    let late = Listener::start(dir.path(), centre.port);
    let at = late.next("snapshot");
    assert_eq!(at[0]["number"], number.as_str(), "{at}");
    assert_eq!(at[0]["counter"], 2, "{at}");

    let id = called["ticket"]["id"].as_i64().unwrap().to_string();
    let act = |action: &str| {
        let (out, json) = kioskctl(&[
            "centre",
            "act",
            "--centre",
            desk,
            "--counter",
            "2",
            "--id",
            &id,
            action,
        ]);
        assert!(out.status.success(), "{action}: {json}");
    };
    act("recall");
    assert_eq!(hall.next("recalled")["number"], number.as_str());
    act("served");
    for l in [&hall, &late] {
        let served = l.next("served");
        assert_eq!(
            (served["number"].as_str(), served["counter"].as_u64()),
            (Some(number.as_str()), Some(2))
        );
    }
    // And a display joining after it sees nobody at a counter.
    assert_eq!(
        Listener::start(dir.path(), centre.port).next("snapshot"),
        serde_json::json!([])
    );
}
