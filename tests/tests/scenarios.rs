//! The shipped scenarios (`board/sim/scenarios/*.toml`) played on the sim
//! board against the real screens rendered headless, as `kioskctl sim run`
//! plays them: each must pass, with a screenshot per step and a report.

#![allow(clippy::expect_used, reason = "test code")]

use kiosk_board::simulator::scenario::{Scenario, run, run_keeping};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn config() -> kiosk_board::config::Config {
    kiosk_board::config::Config::load(&root().join("board/config/sim.toml"))
        .expect("the shipped sim config loads")
}

fn play(name: &str) -> kiosk_board::simulator::scenario::Report {
    let out = tempfile::tempdir().expect("temp dir");
    play_in(name, out.path())
}

/// Plays a shipped scenario with its output (screenshots, report, store)
/// in `out` and checks its report; then the privacy scan: no holder's
/// personal data (any card profile, NFC and NFD) in anything the kiosk
/// logged, in its database files (the audit table, the usage metrics, the
/// outbox — sealed — as the pages lie on disk), or in the staff log export
/// written at the end.
fn play_in(name: &str, out: &Path) -> kiosk_board::simulator::scenario::Report {
    let logs = kiosk_tests::privacy::process_logs();
    let file = root().join(format!("board/sim/scenarios/{name}.toml"));
    let scenario = Scenario::load(&file).expect("the scenario parses");
    let export = out.join("export");
    std::fs::create_dir_all(&export).expect("export dir");
    let mut config = config();
    config.staff.export_dir = Some(export.clone());
    let (report, mut player) =
        run_keeping(&config, &scenario, &file, out, None).expect("the scenario runs");
    assert!(
        report.ok,
        "{name}: {}",
        serde_json::to_string_pretty(&report).expect("report")
    );
    for step in &report.steps {
        assert!(
            out.join(&step.screenshot).is_file(),
            "{name}: no screenshot for step {}",
            step.index
        );
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report written"),
    )
    .expect("the report is JSON");
    assert_eq!(json["ok"], true);
    assert_eq!(
        json["steps"].as_array().map(Vec::len),
        Some(scenario.steps.len())
    );

    let (export_name, lines) = player.export_logs().expect("the staff log export");
    assert!(lines >= 2, "{name}: the export has its header and counters");
    drop(player);
    let personal = kiosk_tests::privacy::holders_personal_data();
    let logged = logs.text();
    assert!(
        !logged.is_empty(),
        "{name}: the capture saw the kiosk's logs"
    );
    let mut places: Vec<(String, Vec<u8>)> = vec![("the logs".into(), logged.into_bytes())];
    for entry in std::fs::read_dir(out).expect("out dir").flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with("kiosk.db") {
            places.push((file_name, std::fs::read(entry.path()).expect("db file")));
        }
    }
    assert!(
        places.iter().any(|(n, _)| n == "kiosk.db"),
        "{name}: the scenario's database is where the scan expects it"
    );
    places.push((
        export_name.clone(),
        std::fs::read(export.join(&export_name)).expect("the export file"),
    ));
    for (place, bytes) in &places {
        let found = kiosk_tests::privacy::occurrences(bytes, &personal);
        assert!(
            found.is_empty(),
            "{name}: personal data in {place}: {found:?}"
        );
    }
    report
}

#[test]
fn happy_path_ends_with_ticket_a001_and_goodbye() {
    let report = play("happy-path");
    assert_eq!(report.ticket.as_deref(), Some("A001"));
    assert!(report.spoken >= 10, "every screen spoke: {}", report.spoken);
    println!(
        "happy path: {} ms machine time, {} ms virtual, cold start to attract {} ms",
        report.machine_ms, report.virtual_ms, report.cold_start_ms
    );
}

#[test]
fn walk_in_in_english_gets_b001() {
    assert_eq!(play("walk-in").ticket.as_deref(), Some("B001"));
}

#[test]
fn a_wrong_key_is_explained_and_the_right_one_opens_the_card() {
    play("wrong-key");
}

#[test]
fn out_of_paper_shows_the_number_unprinted() {
    assert_eq!(play("paper-out").ticket.as_deref(), Some("A001"));
}

#[test]
fn face_mismatch_goes_to_staff_who_confirm_and_the_journey_goes_on() {
    assert_eq!(play("face-mismatch-staff").ticket.as_deref(), Some("C001"));
}

#[test]
fn a_citizen_cannot_approve_themselves_and_staff_approve_only_with_the_pin() {
    let report = play("staff-approval");
    assert_eq!(report.ticket.as_deref(), Some("C001"));
    let refused = report
        .steps
        .iter()
        .find(|s| s.step == "touch staff-approve refused")
        .expect("the refused touch is a step");
    assert_eq!(refused.screen, "staff-assist");
}

#[test]
fn an_opened_cabinet_is_out_of_service_until_staff_resume_it_with_the_cabinet_closed() {
    let report = play("tamper");
    assert_eq!(report.ticket, None, "no citizen journey ran");
}

#[test]
fn a_card_whose_document_signer_is_revoked_is_refused_on_screen() {
    let out = tempfile::tempdir().expect("temp dir");
    let report = play_in("revoked-signer", out.path());
    assert_eq!(report.ticket, None, "no number for a refused card");
    // The reason in the audit log is the revocation, not another refusal
    // that shows the same screen.
    let (store, _) = kiosk_firmware::store::Store::open(
        &out.path().join("kiosk.db"),
        kiosk_firmware::store::UnixMillis(1_795_572_000_000),
    )
    .expect("the scenario's store opens");
    let trust = store
        .recent_audit(100)
        .expect("audit")
        .into_iter()
        .find(|e| e.kind == "trust")
        .expect("the read was judged");
    assert!(
        trust
            .detail
            .contains(r#""decision":"document_signer_revoked""#),
        "{}",
        trust.detail
    );
}

#[test]
fn an_offline_request_gets_a_queued_receipt() {
    let report = play("offline-request");
    let code = report.receipt.expect("a receipt was shown");
    assert!(code.starts_with('R'), "the kiosk's own reference: {code}");
}

#[test]
fn without_a_csca_and_without_an_answer_from_c06_a_card_is_unverified_offline_and_audited() {
    let file = root().join("board/sim/scenarios/unverified-offline.toml");
    let scenario = Scenario::load(&file).expect("the scenario parses");
    let out = tempfile::tempdir().expect("temp dir");
    let report = run(&config(), &scenario, &file, out.path(), None).expect("the scenario runs");
    assert!(
        report.ok,
        "{}",
        serde_json::to_string_pretty(&report).expect("report")
    );
    assert_eq!(report.ticket.as_deref(), Some("A001"));
    let store = kiosk_firmware::store::Store::open_reader(&out.path().join("kiosk.db"))
        .expect("the scenario's store opens");
    let audit = store.recent_audit(200).expect("the audit log reads");
    let detail = |kind: &str| -> serde_json::Value {
        let entry = audit
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} entry"));
        serde_json::from_str(&entry.detail).expect("JSON detail")
    };
    let trust = detail("trust");
    assert_eq!(trust["source"]["source"], "unverified_offline", "{trust}");
    assert_eq!(trust["online"]["outcome"], "no_answer", "{trust}");
    assert_eq!(trust["decision"], "accepted");
    let refused = detail("trust_refused");
    assert_eq!(refused["purpose"], "online_request");
    assert_eq!(refused["reason"], "online_check_unavailable");
    assert!(audit.iter().any(|e| e.kind == "online_check"));
    for entry in &audit {
        for personal in ["003090000001", "Nguyễn", "15/01/1990"] {
            assert!(
                !entry.detail.contains(personal),
                "{personal} in {}",
                entry.detail
            );
        }
    }
}

#[test]
fn staff_mode_opens_by_pin_and_by_staff_card_and_prints_a_test_page() {
    let report = play("staff-mode");
    assert_eq!(report.ticket, None, "no citizen journey ran");
}

#[test]
fn every_shipped_scenario_has_a_test() {
    let dir = root().join("board/sim/scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios folder")
        .map(|e| {
            e.expect("entry")
                .path()
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_owned)
                .expect("a name")
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "face-mismatch-staff",
            "happy-path",
            "offline-request",
            "paper-out",
            "revoked-signer",
            "staff-approval",
            "staff-mode",
            "tamper",
            "unverified-offline",
            "walk-in",
            "wrong-key"
        ]
    );
}

#[test]
fn an_unmet_expectation_fails_the_run_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "name = \"bad\"\nface = false\n[[steps]]\ntouch = \"yes\"\n[[steps]]\nexpect_screen = \"menu\"\n",
    )
    .expect("written");
    let scenario = Scenario::load(&file).expect("parses");
    let out = dir.path().join("out");
    let report = run(&config(), &scenario, &file, &out, None).expect("runs");
    assert!(!report.ok);
    assert_eq!(report.steps.len(), 1, "the run stops at the first failure");
    let error = report.steps[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("no button yes on attract"), "{error}");
    assert!(Path::new(&out.join("report.json")).is_file());
}

#[test]
fn a_malformed_scenario_is_refused_with_its_file_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "name = \"x\"\n[[steps]]\ntuch = \"yes\"\n").expect("written");
    let e = Scenario::load(&file).expect_err("unknown step");
    assert!(format!("{e:#}").contains("typo.toml"), "{e:#}");
}

#[test]
fn typing_a_character_the_keyboard_lacks_fails_the_step_and_says_why() {
    use kiosk_board::simulator::scenario::Step;
    let file = root().join("board/sim/scenarios/offline-request.toml");
    let mut scenario = Scenario::load(&file).expect("the scenario parses");
    let form = scenario
        .steps
        .iter()
        .position(|s| matches!(s, Step::TypeText { .. }))
        .expect("the scenario types on the keyboard");
    scenario.steps.truncate(form);
    scenario.steps.push(Step::TypeText {
        field: "temporary_address".into(),
        text: "mau@example.vn".into(),
    });
    let out = tempfile::tempdir().expect("temp dir");
    let report = run(&config(), &scenario, &file, out.path(), None).expect("runs");
    assert!(!report.ok);
    let last = report.steps.last().expect("steps ran");
    assert_eq!(last.index, form + 1, "every step before it passed");
    let error = last.error.as_deref().unwrap_or_default();
    assert!(error.contains("has no key"), "{error}");
}
