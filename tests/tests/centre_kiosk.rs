//! The kiosk runtime numbering through its centre (issue 18): the sim board
//! in virtual time against the real `kiosk-centre` binary on a real
//! PostgreSQL (`kiosk_tests::centre`). A citizen's journey takes the
//! centre's number; with the centre killed it prints an offline number
//! that says so (also after a kiosk restart, from the kept block); after
//! the centre's restart the idle loop's reconciliation makes the centre
//! hold it, once; a rating reaches the centre's statistics exactly once
//! although its first send failed; the run loop keeps turning and petting
//! the watchdog while the centre does not answer; the identity packet goes
//! with the request only after "yes". Every refusal names its reason.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kiosk_board::online::centre::{CentreCallError, CentreClient};
use kiosk_board::services::queueing::{CentreApi, CentreDesk};
use kiosk_firmware::queue::centre::{
    Attempt, IssueRequest, KioskAssignment, RatingRequest, ReconcileAnswer, ReconcileRequest,
};
use kiosk_firmware::session::{Fault, Input, MenuChoice, StepKind, TicketInfo};
use kiosk_tests::SimKiosk;
use kiosk_tests::centre::{CentreProcess, MONDAY_NINE_MS, centre_section, client};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the recording client saw of one identity packet (a test's copy).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SeenPacket {
    full_name: String,
    date_of_birth: String,
    masked_id: String,
    verification: String,
    genuineness: String,
    service: String,
    consented_at_unix_ms: u64,
    /// The form's procedure and field keys.
    form: Option<(String, Vec<String>)>,
}

/// The real client, recording the identity of every request it is handed.
#[derive(Debug)]
struct Recording {
    inner: CentreClient,
    issued: Mutex<Vec<Option<SeenPacket>>>,
}

impl Recording {
    fn seen(&self) -> Vec<Option<SeenPacket>> {
        self.issued.lock().unwrap().clone()
    }
}

impl CentreApi for Recording {
    fn issue(&self, key: &str, request: &IssueRequest) -> Attempt {
        self.issued
            .lock()
            .unwrap()
            .push(request.identity.as_ref().map(|p| SeenPacket {
                full_name: p.full_name.clone(),
                date_of_birth: p.date_of_birth.clone(),
                masked_id: p.masked_id.clone(),
                verification: p.verification.clone(),
                genuineness: p.genuineness.clone(),
                service: p.service.clone(),
                consented_at_unix_ms: p.consented_at_unix_ms,
                form: p.form.as_ref().map(|f| {
                    (
                        f.procedure.clone(),
                        f.fields.iter().map(|x| x.key.clone()).collect(),
                    )
                }),
            }));
        self.inner.issue(key, request)
    }
    fn assignment(&self) -> Result<KioskAssignment, CentreCallError> {
        self.inner.assignment()
    }
    fn reconcile(&self, request: &ReconcileRequest) -> Result<ReconcileAnswer, CentreCallError> {
        self.inner.reconcile(request)
    }
    fn rate(&self, key: &str, request: &RatingRequest) -> Result<bool, CentreCallError> {
        self.inner.rate(key, request)
    }
}

/// A portal that is never reached (the requests are not this test's).
#[derive(Debug)]
struct NoPortal;

impl kiosk_firmware::requests::delivery::PortalClient for NoPortal {
    fn submit(
        &mut self,
        _key: &str,
        _body: &[u8],
    ) -> Result<
        kiosk_firmware::requests::delivery::Answer,
        kiosk_firmware::requests::delivery::TransportError,
    > {
        Err(kiosk_firmware::requests::delivery::TransportError::Timeout)
    }
    fn status(
        &mut self,
        _code: &str,
    ) -> Result<
        kiosk_firmware::requests::delivery::Answer,
        kiosk_firmware::requests::delivery::TransportError,
    > {
        Err(kiosk_firmware::requests::delivery::TransportError::Timeout)
    }
    fn cancel(
        &mut self,
        _code: &str,
    ) -> Result<
        kiosk_firmware::requests::delivery::Answer,
        kiosk_firmware::requests::delivery::TransportError,
    > {
        Err(kiosk_firmware::requests::delivery::TransportError::Timeout)
    }
}

/// As [`kiosk`], and the kiosk files the shipped catalogue's procedures:
/// service A's counter handles birth registration (`procedure` in
/// `board/config/sim.toml`), whose form goes with a consenting holder's
/// packet.
fn kiosk_with_requests(dir: &Path, file: &Path) -> (SimKiosk, Arc<Recording>) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/config/sim.toml");
    let config = kiosk_board::config::Config::load(&shipped).unwrap();
    let requesting = kiosk_board::services::requesting::Requesting::from_config(&config).unwrap();
    let service = kiosk_board::services::requesting::RequestService::new(
        requesting,
        Box::new(NoPortal),
        kiosk_board::services::requesting::Randomness::from_seed([7; 32]),
    );
    let (k, api) = kiosk(dir, file);
    (k.map_runtime(|rt| rt.with_requests(service)), api)
}

/// A kiosk in centre mode on the store in `dir`, its clock at Monday 09:00
/// (the centre's), numbering through the centre of client file `file`.
fn kiosk(dir: &Path, file: &Path) -> (SimKiosk, Arc<Recording>) {
    std::fs::create_dir_all(dir).unwrap();
    let section = centre_section(file);
    let api = Arc::new(Recording {
        inner: client(file),
        issued: Mutex::new(Vec::new()),
    });
    let desk = CentreDesk::new(
        api.clone(),
        section.endpoint.timeout,
        section.reconcile_interval,
    );
    let k =
        SimKiosk::with_queue_at(dir, None, MONDAY_NINE_MS).map_runtime(|rt| rt.with_centre(desk));
    (k, api)
}

fn assignment_kept(k: &SimKiosk) -> bool {
    k.runtime
        .store()
        .and_then(|s| {
            kiosk_board::online::centre::cached_assignment(s)
                .ok()
                .flatten()
        })
        .is_some()
}

/// A walk-in takes a number of `service`; the loop runs until the ticket
/// (or a notice) is up.
fn walk_in(k: &mut SimKiosk, service: &str) -> Result<TicketInfo, Option<Fault>> {
    k.runtime.input(Input::WalkIn, k.now);
    k.runtime.input(
        Input::Choose(MenuChoice::TakeNumber {
            service: service.into(),
            priority: None,
        }),
        k.now,
    );
    finish(k)
}

fn finish(k: &mut SimKiosk) -> Result<TicketInfo, Option<Fault>> {
    k.run_until(Duration::from_secs(30), |rt| {
        !matches!(rt.step(), StepKind::IssuingTicket)
    });
    let view = k.runtime.view();
    match view.step {
        StepKind::ShowingTicket => Ok(view.ticket.unwrap()),
        StepKind::Notice => Err(view.fault),
        StepKind::Menu => Err(view.menu_notice),
        other => panic!("the ticket did not end: {other:?}"),
    }
}

/// Back to the attract screen: the ticket's rating skipped.
fn done(k: &mut SimKiosk) {
    k.runtime.input(Input::Continue, k.now);
    k.runtime.input(Input::Rated(None), k.now);
    k.runtime.input(Input::Continue, k.now);
    assert_eq!(k.step(), StepKind::Attract, "{:?}", k.runtime.view());
}

fn audit(k: &SimKiosk) -> Vec<(String, serde_json::Value)> {
    k.runtime
        .store()
        .unwrap()
        .recent_audit(10_000)
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| (e.kind, serde_json::from_str(&e.detail).unwrap()))
        .collect()
}

fn unacked(k: &SimKiosk) -> usize {
    k.runtime
        .store()
        .unwrap()
        .unacked_offline_tickets(100)
        .unwrap()
        .len()
}

#[test]
fn a_journey_takes_the_centres_number_an_offline_one_while_it_is_down_and_reconciliation_makes_the_centre_hold_it()
 {
    let dir = tempfile::tempdir().unwrap();
    let (mut centre, layout) = CentreProcess::start_new(dir.path(), 1);
    let file = &layout.kiosk_files[0];
    let (mut k, _) = kiosk(dir.path(), file);
    // The assignment is fetched at start-up and kept.
    k.run_for(Duration::from_secs(2));
    assert!(
        assignment_kept(&k),
        "the offline block is kept in the store"
    );

    #[expect(clippy::disallowed_methods, reason = "measures the real exchange")]
    let started = std::time::Instant::now();
    let online = walk_in(&mut k, "A").unwrap();
    eprintln!(
        "a centre-issued number through the runtime (mTLS, PostgreSQL, print): {:?}",
        started.elapsed()
    );
    assert_eq!((online.number.as_str(), online.offline), ("A001", false));
    assert!(online.printed);
    done(&mut k);

    centre.kill();
    #[expect(clippy::disallowed_methods, reason = "measures the real exchange")]
    let started = std::time::Instant::now();
    let offline = walk_in(&mut k, "A").unwrap();
    eprintln!(
        "an offline number with the centre killed (connection refused): {:?}",
        started.elapsed()
    );
    assert_eq!(offline.number, "A800", "the kiosk's block starts at 800");
    assert!(offline.offline, "the ticket says it is an offline number");
    assert!(offline.printed);
    let g = kiosk_ui::guidance(&k.runtime.view(), kiosk_ui::Language::Vietnamese);
    assert!(g.title.contains("mất kết nối"), "{}", g.title);
    assert!(g.prompt.contains("hỏi thẻ căn cước"), "{}", g.prompt);
    done(&mut k);
    assert!(
        audit(&k)
            .iter()
            .any(|(kind, d)| kind == "ticket_offline" && d["number"] == "A800"),
        "{:?}",
        audit(&k)
    );

    // The kiosk restarts while the centre is still down: it numbers
    // offline from the block it kept.
    drop(k);
    let (mut k, _) = kiosk(dir.path(), file);
    k.run_for(Duration::from_secs(2));
    let again = walk_in(&mut k, "A").unwrap();
    assert_eq!((again.number.as_str(), again.offline), ("A801", true));
    done(&mut k);
    assert_eq!(unacked(&k), 2);

    // The centre is back: the idle loop reconciles (after its backoff).
    centre.start();
    let reconciled = k.run_until(Duration::from_secs(15 * 60), |rt| {
        rt.store()
            .is_some_and(|s| s.unacked_offline_tickets(10).is_ok_and(|t| t.is_empty()))
    });
    assert!(reconciled, "{:?}", audit(&k));
    assert!(audit(&k).iter().any(|(kind, d)| kind == "centre_reconcile"
        && d["outcome"] == "answered"
        && d["acknowledged"] == 2));
    // Another pass sends nothing again.
    k.run_for(Duration::from_secs(120));
    let desk = client(&layout.desk_file);
    let waiting = desk.waiting("A").unwrap();
    let numbers: Vec<&str> = waiting["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["number"].as_str())
        .collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["A001", "A800", "A801"],
        "every printed ticket is at the centre, once"
    );
    let next = walk_in(&mut k, "A").unwrap();
    assert_eq!((next.number.as_str(), next.offline), ("A002", false));
}

#[test]
fn without_a_known_block_an_unreachable_centre_refuses_and_a_centres_refusal_shows_no_number() {
    let dir = tempfile::tempdir().unwrap();
    let (mut centre, layout) = CentreProcess::start_new(dir.path(), 1);
    let file = &layout.kiosk_files[0];
    // A service the centre does not know: its refusal, no number.
    let (mut k, _) = kiosk(&dir.path().join("k1"), file);
    k.run_for(Duration::from_secs(2));
    assert_eq!(walk_in(&mut k, "C"), Err(Some(Fault::CentreRefused)));
    assert!(
        audit(&k)
            .iter()
            .any(|(kind, d)| kind == "ticket_refused" && d["reason"] == "centre_refused")
    );
    drop(k);

    // A kiosk that never reached its centre knows no block.
    centre.kill();
    let (mut k, _) = kiosk(&dir.path().join("k2"), file);
    k.run_for(Duration::from_secs(2));
    assert!(!assignment_kept(&k));
    assert_eq!(walk_in(&mut k, "A"), Err(Some(Fault::CentreUnreachable)));
    assert!(
        audit(&k)
            .iter()
            .any(|(kind, d)| kind == "ticket_refused" && d["reason"] == "centre_unreachable")
    );
    assert!(
        audit(&k)
            .iter()
            .any(|(kind, d)| kind == "staff_alert" && d["centre"] == "unreachable_without_block"),
        "staff are alerted: no number can be issued"
    );
}

#[test]
fn a_rating_whose_first_send_failed_reaches_the_centres_statistics_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut centre, layout) = CentreProcess::start_new(dir.path(), 1);
    let file = &layout.kiosk_files[0];
    let (mut k, _) = kiosk(dir.path(), file);
    k.run_for(Duration::from_secs(2));
    let t = walk_in(&mut k, "A").unwrap();
    assert!(!t.offline);
    centre.kill();
    k.runtime.input(Input::Continue, k.now);
    k.runtime.input(Input::Rated(Some(5)), k.now);
    k.run_for(Duration::from_secs(5));
    let kept = kiosk_board::runtime::pending_ratings(k.runtime.store().unwrap());
    assert_eq!(kept.len(), 1, "the unacknowledged rating is kept");
    assert_eq!(kept[0].request.service.as_deref(), Some("A"));

    centre.start();
    let sent = k.run_until(Duration::from_secs(15 * 60), |rt| {
        rt.store()
            .is_some_and(|s| kiosk_board::runtime::pending_ratings(s).is_empty())
    });
    assert!(sent, "the rating went with a later reconciliation");
    k.run_for(Duration::from_secs(120));
    let stats = client(&layout.desk_file).stats(Some("20261207")).unwrap();
    assert_eq!(stats["total"]["ratings"]["count"], 1, "{stats}");
}

#[test]
fn the_run_loop_keeps_turning_and_petting_the_watchdog_while_the_centre_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut centre, layout) = CentreProcess::start_new(dir.path(), 1);
    let file = &layout.kiosk_files[0];
    // Learn the block while the centre answers.
    let (mut k, _) = kiosk(&dir.path().join("k"), file);
    k.run_for(Duration::from_secs(2));
    assert!(assignment_kept(&k));
    drop(k);
    centre.kill();
    // A "centre" that takes connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // It holds every connection until the test process ends.
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in silent.incoming() {
            conns.push(c);
        }
    });
    let text = std::fs::read_to_string(file).unwrap().replace(
        &format!("https://127.0.0.1:{}", centre.port),
        &format!("https://127.0.0.1:{port}"),
    );
    let silent_file = file.with_file_name("silent.toml");
    std::fs::write(&silent_file, text).unwrap();
    let (k, recording) = kiosk(&dir.path().join("k"), &silent_file);
    let socket = dir.path().join("notify");
    let server = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    server.set_nonblocking(true).unwrap();
    let notifier = kiosk_board::drivers::notify::Notifier::new(
        socket.to_str().unwrap(),
        Some(Duration::from_millis(200)),
    )
    .unwrap();
    let mut k = k.map_runtime(|rt| rt.with_notifier(notifier));
    // Real time: no settling of workers, the loop as `Runtime::run` turns.
    #[expect(clippy::disallowed_methods, reason = "the test measures real turns")]
    let start = std::time::Instant::now();
    let origin = k.now;
    let now = |start: std::time::Instant| {
        origin + Duration::from_millis(u64::try_from(start.elapsed().as_millis()).unwrap())
    };
    k.runtime.input(Input::WalkIn, now(start));
    k.runtime.input(
        Input::Choose(MenuChoice::TakeNumber {
            service: "A".into(),
            priority: None,
        }),
        now(start),
    );
    let mut longest = Duration::ZERO;
    let mut turns = 0u32;
    while k.runtime.step() == StepKind::IssuingTicket && start.elapsed() < Duration::from_secs(15) {
        #[expect(clippy::disallowed_methods, reason = "the test measures real turns")]
        let t0 = std::time::Instant::now();
        k.runtime.tick(now(start));
        longest = longest.max(t0.elapsed());
        turns += 1;
        #[expect(
            clippy::disallowed_methods,
            reason = "the loop's wait, as Runtime::run's"
        )]
        std::thread::sleep(Duration::from_millis(5));
    }
    let waited = start.elapsed();
    let view = k.runtime.view();
    assert_eq!(view.step, StepKind::ShowingTicket, "{view:?}");
    let ticket = view.ticket.unwrap();
    assert!(
        ticket.offline,
        "no answer within the deadline: an offline number"
    );
    assert_eq!(ticket.number, "A800");
    assert!(
        longest < Duration::from_millis(250),
        "a turn took {longest:?} while the centre was silent"
    );
    let mut pets = 0;
    let mut buf = [0u8; 64];
    while let Ok(n) = server.recv(&mut buf) {
        if &buf[..n] == b"WATCHDOG=1" {
            pets += 1;
        }
    }
    assert!(
        pets >= 3,
        "the watchdog was petted {pets} times in {waited:?} ({turns} turns)"
    );
    assert_eq!(
        recording.seen(),
        vec![None],
        "an anonymous ticket carries no packet"
    );
    eprintln!(
        "silent centre: offline number after {waited:?}, {turns} turns, longest turn {longest:?}, {pets} watchdog pets"
    );
    drop(held);
}

#[test]
fn the_identity_packet_goes_to_the_centre_only_after_yes() {
    let dir = tempfile::tempdir().unwrap();
    let (centre, layout) = CentreProcess::start_new(dir.path(), 1);
    let file = &layout.kiosk_files[0];
    let (mut k, recording) = kiosk_with_requests(dir.path(), file);
    k.run_for(Duration::from_secs(2));

    let identified = |k: &mut SimKiosk| {
        k.present_card(Box::new(kiosk_tests::card("cccd-2021")));
        k.scan_qr_of("cccd-2021");
        k.runtime.input(Input::Confirm(true), k.now);
        // No face engine here: the citizen declines the face check and
        // staff confirm them.
        k.runtime.input(Input::Consent(false), k.now);
        k.staff_approve();
        assert_eq!(k.step(), StepKind::Menu, "{:?}", k.runtime.view());
        k.runtime.input(
            Input::Choose(MenuChoice::TakeNumber {
                service: "A".into(),
                priority: None,
            }),
            k.now,
        );
        assert_eq!(k.step(), StepKind::ExpectIdentityConsent);
    };
    let end = |k: &mut SimKiosk| {
        k.sim.remove_card();
        k.run_for(Duration::from_secs(1));
        done(k);
    };

    identified(&mut k);
    k.runtime.input(Input::Consent(false), k.now);
    let declined = finish(&mut k).unwrap();
    assert!(
        !declined.offline,
        "declining still gives the centre's number"
    );
    end(&mut k);

    identified(&mut k);
    let consented_at = MONDAY_NINE_MS + k.now.as_millis();
    k.runtime.input(Input::Consent(true), k.now);
    let shared = finish(&mut k).unwrap();
    assert!(!shared.offline);
    end(&mut k);

    assert_eq!(walk_in(&mut k, "A").map(|t| t.offline), Ok(false));
    done(&mut k);

    let seen = recording.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0], None, "no packet after no");
    assert_eq!(seen[2], None, "no packet for an anonymous walk-in");
    let packet = seen[1].clone().expect("a packet after yes");
    let (procedure, keys) = packet.form.clone().expect("service A's form goes with it");
    assert_eq!(procedure, "1.001193", "birth registration");
    assert!(!keys.is_empty(), "the fields the chip filled");
    assert_eq!(
        packet,
        SeenPacket {
            full_name: "Nguyễn Văn Mẫu".into(),
            date_of_birth: "15/01/1990".into(),
            masked_id: "••••••••0001".into(),
            verification: "staff_confirmed".into(),
            genuineness: "anchored".into(),
            service: "A".into(),
            consented_at_unix_ms: consented_at,
            form: packet.form.clone(),
        }
    );
    let kinds: Vec<(String, serde_json::Value)> = audit(&k)
        .into_iter()
        .filter(|(kind, _)| kind.starts_with("identity_"))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                "identity_not_shared".to_owned(),
                serde_json::json!({ "service": "A" })
            ),
            (
                "identity_shared".to_owned(),
                serde_json::json!({ "service": "A" })
            ),
        ]
    );
    // The centre keeps exactly one packet, sealed, for the ticket whose
    // holder said yes: none for the one who said no, none for the walk-in.
    let kept: Vec<(String, Vec<u8>)> = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = kiosk_centre::db::pool(&centre.db_url, 1).unwrap();
            let c = pool.get().await.unwrap();
            c.query(
                "SELECT t.number, p.sealed FROM identity_packet p JOIN ticket t ON t.id = p.ticket_id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
        });
    assert_eq!(
        kept.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec![shared.number.as_str()],
        "declined: {}",
        declined.number
    );
    let sealed = String::from_utf8_lossy(&kept[0].1);
    assert!(!sealed.contains("Nguyễn") && !sealed.contains("15/01/1990"));
    // Nothing personal in the audit log or the store's tickets.
    let everything = format!("{:?}", audit(&k));
    assert!(!everything.contains("Mẫu") && !everything.contains("003090000001"));
    assert!(!k.runtime.holds_personal_data());
    // Never on the kiosk's disk: not in its database files.
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("kiosk.db") {
            let bytes = std::fs::read(entry.path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("Nguyễn Văn Mẫu") && !text.contains("003090000001"),
                "{name} holds the holder's data"
            );
        }
    }
}

#[test]
fn a_scenario_answers_the_consent_screen_against_a_real_centre() {
    let dir = tempfile::tempdir().unwrap();
    let (_centre, layout) = CentreProcess::start_new(dir.path(), 1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = kiosk_board::config::Config::load(&root.join("board/config/sim.toml")).unwrap();
    let file = dir.path().join("consent.toml");
    std::fs::write(
        &file,
        format!(
            r#"
name = "the identity-sharing consent in centre mode"
face = false
clock_ms = {MONDAY_NINE_MS}
centre = "{centre}"

[[steps]]
insert_card = "cccd-2021"
[[steps]]
wait_screen = "access-key"
[[steps]]
scan_qr = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021"
[[steps]]
wait_screen = "confirm"
[[steps]]
touch = "yes"
[[steps]]
touch = "decline"
[[steps]]
wait_screen = "staff-assist"
[[steps]]
staff_pin = "246810"
[[steps]]
touch = "staff-approve"
[[steps]]
expect_screen = "menu"
[[steps]]
touch = "take-number"
[[steps]]
touch = "service-A"
[[steps]]
wait_screen = "identity-consent"
[[steps]]
expect_text = "Gửi thông tin cho quầy?"
[[steps]]
touch = "share"
[[steps]]
wait_screen = "ticket"
"#,
            centre = layout.kiosk_files[0].display()
        ),
    )
    .unwrap();
    let scenario = kiosk_board::simulator::scenario::Scenario::load(&file).unwrap();
    let out = dir.path().join("out");
    let report =
        kiosk_board::simulator::scenario::run(&config, &scenario, &file, &out, None).unwrap();
    assert!(
        report.ok,
        "{}",
        serde_json::to_string_pretty(&report).unwrap()
    );
    // The centre issued the number (not an offline one).
    let waiting = client(&layout.desk_file).waiting("A").unwrap();
    assert_eq!(waiting["waiting"][0]["number"], "A001", "{waiting}");
}
