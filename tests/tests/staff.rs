//! Staff mode on the simulator board, end to end: entering by PIN and by
//! staff card, never mid-journey, the lockout across a restart, each panel
//! action, and no citizen data on the staff screens or in the export.

#![allow(clippy::expect_used, reason = "test code")]

use kiosk_board::config::{Config, StaffSection};
use kiosk_firmware::session::{Input, MenuChoice, PrintProblem, StepKind};
use kiosk_firmware::staff::{
    ActionResult, ExportFailure, PinNotice, StaffAction, StaffInput, StaffScreen,
};
use kiosk_hal::printer::PaperLevel;
use kiosk_tests::SimKiosk;
use std::path::Path;
use std::time::Duration;

const PIN: &str = "246810";

fn shipped() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/config/sim.toml");
    Config::load(&path).expect("the shipped sim config loads")
}

/// The shipped staff settings, exporting to `export`.
fn staff(export: &Path) -> StaffSection {
    let mut s = shipped().staff;
    s.export_dir = Some(export.to_owned());
    s
}

fn kiosk(dir: &Path) -> SimKiosk {
    let section = staff(&dir.join("usb"));
    SimKiosk::with_queue(dir, None).map_runtime(|rt| rt.with_staff(&section))
}

fn type_pin(k: &mut SimKiosk, pin: &str) {
    for d in pin.bytes() {
        k.runtime.staff_input(StaffInput::Digit(d - b'0'), k.now);
    }
    k.runtime.staff_input(StaffInput::Submit, k.now);
}

/// The newest `n` audit entries, newest first.
fn recent(k: &SimKiosk, n: u32) -> Vec<kiosk_firmware::store::AuditEntry> {
    k.runtime
        .store()
        .expect("a store")
        .recent_audit(n)
        .expect("the audit log reads")
}

fn audit_kinds(k: &SimKiosk) -> Vec<String> {
    recent(k, 100).into_iter().map(|e| e.kind).collect()
}

fn staff_card() -> Box<dyn kiosk_board::simulator::SimCard> {
    kiosk_board::simulator::load_sim_card(&kiosk_tests::card_profile("staff")).expect("staff card")
}

#[test]
fn the_staff_pin_opens_the_panel_from_the_attract_screen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kiosk(dir.path());
    k.runtime.staff_input(StaffInput::Open, k.now);
    let view = k.runtime.staff_view(k.now).expect("staff mode open");
    assert_eq!(view.screen, StaffScreen::Pin);
    type_pin(&mut k, PIN);
    let view = k.runtime.staff_view(k.now).expect("staff mode open");
    assert_eq!(view.screen, StaffScreen::Panel);
    let panel = view.panel.expect("the panel");
    assert!(panel.health.iter().any(|h| h.device == "printer"));
    assert!(panel.counts.iter().any(|(key, _)| key == "tickets_printed"));
    assert_eq!(k.step(), StepKind::Attract, "the session waits underneath");
    k.runtime.staff_input(StaffInput::Exit, k.now);
    assert!(!k.runtime.staff_active());
    let kinds = audit_kinds(&k);
    assert_eq!(kinds[0], "staff_logout");
    assert_eq!(kinds[1], "staff_login");
    let login = &recent(&k, 2)[1];
    assert_eq!(login.detail, r#"{"method":"pin"}"#);
}

#[test]
fn wrong_pins_show_attempts_left_and_five_lock_even_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut k = kiosk(dir.path());
        k.runtime.staff_input(StaffInput::Open, k.now);
        for left in (1..=4).rev() {
            type_pin(&mut k, "111111");
            let view = k.runtime.staff_view(k.now).expect("keypad");
            assert_eq!(
                view.notice,
                Some(PinNotice::Wrong {
                    attempts_left: left
                })
            );
            assert_eq!(view.digits_entered, 0, "the digits are forgotten");
        }
        type_pin(&mut k, "111111");
        let view = k.runtime.staff_view(k.now).expect("keypad");
        assert!(matches!(view.notice, Some(PinNotice::Locked { .. })));
        let kinds = audit_kinds(&k);
        assert_eq!(kinds[0], "staff_locked");
        assert_eq!(
            kinds.iter().filter(|k| *k == "staff_login_failed").count(),
            5
        );
    }
    // A restart: the lock is read back from the store.
    let mut k = kiosk(dir.path());
    k.runtime.staff_input(StaffInput::Open, k.now);
    let view = k.runtime.staff_view(k.now).expect("keypad");
    let Some(PinNotice::Locked { until }) = view.notice else {
        panic!("still locked after a restart: {view:?}");
    };
    type_pin(&mut k, PIN);
    assert_eq!(
        k.runtime.staff_view(k.now).expect("keypad").screen,
        StaffScreen::Pin,
        "the right PIN is not even checked while locked"
    );
    // Fifteen minutes later (virtual time) the right PIN opens.
    let left = until.0 - kiosk_tests::NINE_AM_IN_HANOI;
    k.runtime.staff_input(StaffInput::Exit, k.now);
    k.run_for(Duration::from_millis(left));
    k.runtime.staff_input(StaffInput::Open, k.now);
    type_pin(&mut k, PIN);
    assert_eq!(
        k.runtime.staff_view(k.now).expect("panel").screen,
        StaffScreen::Panel
    );
}

#[test]
fn a_staff_card_on_the_attract_screen_opens_the_panel_and_a_citizen_card_does_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kiosk(dir.path());
    k.sim.insert_card(staff_card());
    k.run_for(Duration::from_secs(1));
    let view = k.runtime.staff_view(k.now).expect("staff mode open");
    assert_eq!(view.screen, StaffScreen::Panel);
    assert_eq!(k.step(), StepKind::Attract, "no journey started");
    let login = &recent(&k, 1)[0];
    assert_eq!(
        (login.kind.as_str(), login.detail.as_str()),
        ("staff_login", r#"{"method":"card"}"#)
    );
    k.runtime.staff_input(StaffInput::Exit, k.now);
    k.sim.remove_card();
    k.run_for(Duration::from_secs(1));
    // A citizen's CCCD (random UID) starts a journey, not staff mode.
    k.sim.insert_card(Box::new(kiosk_tests::card("cccd-2021")));
    k.run_for(Duration::from_secs(1));
    assert!(!k.runtime.staff_active());
    assert_eq!(k.step(), StepKind::ExpectAccessKey);
}

#[test]
fn with_card_needs_pin_the_card_opens_only_the_keypad() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut section = staff(dir.path());
    section.policy.card_needs_pin = true;
    let mut k = SimKiosk::with_queue(dir.path(), None).map_runtime(|rt| rt.with_staff(&section));
    k.sim.insert_card(staff_card());
    k.run_for(Duration::from_secs(1));
    let view = k.runtime.staff_view(k.now).expect("keypad");
    assert_eq!(view.screen, StaffScreen::Pin);
    assert_eq!(view.notice, Some(PinNotice::CardAccepted));
    type_pin(&mut k, PIN);
    assert_eq!(
        k.runtime.staff_view(k.now).expect("panel").screen,
        StaffScreen::Panel
    );
    let login = &recent(&k, 1)[0];
    assert_eq!(login.detail, r#"{"method":"card_and_pin"}"#);
}

#[test]
fn staff_mode_cannot_be_entered_mid_journey() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kiosk(dir.path());
    k.runtime.input(Input::WalkIn, k.now);
    assert_eq!(k.step(), StepKind::Menu);
    k.runtime.staff_input(StaffInput::Open, k.now);
    assert!(
        !k.runtime.staff_active(),
        "the button does nothing mid-journey"
    );
    k.runtime.input(Input::Cancel, k.now);
    k.run_for(Duration::from_secs(300));
    assert_eq!(k.step(), StepKind::Attract);
    // A citizen identified on the reader: a staff card put on top does
    // not open staff mode either (the card slot is busy with the journey).
    k.present_card(Box::new(kiosk_tests::card("cccd-2021")));
    k.scan_qr_of("cccd-2021");
    assert!(k.runtime.holds_personal_data());
    k.runtime.staff_input(StaffInput::Open, k.now);
    assert!(!k.runtime.staff_active());
}

#[test]
fn staff_mode_closes_after_its_inactivity_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kiosk(dir.path());
    k.runtime.staff_input(StaffInput::Open, k.now);
    type_pin(&mut k, PIN);
    k.run_for(Duration::from_secs(119));
    assert!(k.runtime.staff_active());
    k.run_for(Duration::from_secs(2));
    assert!(!k.runtime.staff_active());
    let last = &recent(&k, 1)[0];
    assert_eq!(last.kind, "staff_logout");
    assert!(
        last.detail.contains(r#""reason":"timeout""#),
        "{}",
        last.detail
    );
}

fn panel_action(k: &mut SimKiosk, action: StaffAction) -> ActionResult {
    k.runtime.staff_input(StaffInput::Action(action), k.now);
    k.runtime
        .staff_view(k.now)
        .and_then(|v| v.panel)
        .and_then(|p| p.result)
        .expect("a result on the panel")
}

fn open_panel(dir: &Path) -> SimKiosk {
    let mut k = kiosk(dir);
    k.runtime.staff_input(StaffInput::Open, k.now);
    type_pin(&mut k, PIN);
    k
}

#[test]
fn the_test_print_prints_a_page_and_says_when_the_paper_is_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = open_panel(dir.path());
    assert_eq!(
        panel_action(&mut k, StaffAction::TestPrint),
        ActionResult::TestPrinted
    );
    assert_eq!(k.sim.print_jobs(), 1);
    let decoded = kiosk_firmware::ticket::escpos::decode(&k.sim.printed()).expect("ESC/POS");
    assert_eq!(decoded.pages.len(), 1);
    k.sim.set_paper(PaperLevel::Out);
    assert_eq!(
        panel_action(&mut k, StaffAction::TestPrint),
        ActionResult::TestPrintFailed(PrintProblem::PaperOut)
    );
    assert_eq!(k.sim.print_jobs(), 1);
    let panel = k
        .runtime
        .staff_view(k.now)
        .and_then(|v| v.panel)
        .expect("panel");
    assert_eq!(panel.paper, kiosk_firmware::staff::PaperState::Out);
    assert!(
        audit_kinds(&k)
            .iter()
            .filter(|k| *k == "test_print")
            .count()
            == 2
    );
}

#[test]
fn the_last_unprinted_ticket_is_reprinted_from_the_panel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kiosk(dir.path());
    k.sim.set_paper(PaperLevel::Out);
    k.runtime.input(Input::WalkIn, k.now);
    k.runtime.input(
        Input::Choose(MenuChoice::TakeNumber {
            service: "A".into(),
            priority: None,
        }),
        k.now,
    );
    let number = k.runtime.view().ticket.expect("a ticket").number;
    k.run_for(Duration::from_secs(300));
    assert_eq!(k.step(), StepKind::Attract);
    k.sim.set_paper(PaperLevel::Ok);
    k.runtime.staff_input(StaffInput::Open, k.now);
    type_pin(&mut k, PIN);
    let panel = k
        .runtime
        .staff_view(k.now)
        .and_then(|v| v.panel)
        .expect("panel");
    assert_eq!(panel.unprinted, vec![number.clone()]);
    assert_eq!(
        panel_action(&mut k, StaffAction::ReprintLast),
        ActionResult::Reprinted { number }
    );
    assert_eq!(
        panel_action(&mut k, StaffAction::ReprintLast),
        ActionResult::NothingToReprint
    );
}

#[test]
fn reloading_applies_a_good_configuration_and_refuses_a_malformed_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/config/sim.toml");
    let text = std::fs::read_to_string(&shipped).expect("sim.toml");
    // A copy beside the original, so its relative paths still resolve.
    let copy = shipped.with_file_name(format!("staff-reload-test-{}.toml", std::process::id()));
    struct Remove<'a>(&'a Path);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    std::fs::write(&copy, &text).expect("copy");
    let _remove = Remove(&copy);
    let config = Config::load(&copy).expect("the copy loads");
    // In centre mode (a centre that is never reached: not this test's).
    let desk = kiosk_board::services::queueing::CentreDesk::new(
        std::sync::Arc::new(NoCentre),
        Duration::from_millis(500),
        Duration::from_secs(30),
    );
    let mut k = SimKiosk::with_queue(dir.path(), None)
        .map_runtime(|rt| rt.with_config(&config).with_centre(desk));
    assert!(k.runtime.offers_identity_consent());
    k.runtime.staff_input(StaffInput::Open, k.now);
    type_pin(&mut k, PIN);

    // Live: the staff timeout; needs a restart: the kiosk's centre name.
    let changed = text
        .replace("session_timeout_s = 120", "session_timeout_s = 300")
        .replace(
            "center_name = \"Trung tâm Phục vụ hành chính công (mô phỏng)\"",
            "center_name = \"Trung tâm mới\"",
        );
    std::fs::write(&copy, &changed).expect("write");
    assert_eq!(
        panel_action(&mut k, StaffAction::ReloadConfig),
        ActionResult::ConfigReloaded {
            restart_needed: vec!["kiosk".into()]
        }
    );
    assert!(k.runtime.take_reconfigured().is_some(), "the menu follows");
    assert!(
        k.runtime.offers_identity_consent(),
        "the fresh session still numbers through the centre, consent step included"
    );
    k.run_for(Duration::from_secs(200));
    assert!(k.runtime.staff_active(), "the new 300 s timeout applies");

    std::fs::write(
        &copy,
        changed.replace("max_failures = 5", "max_failures = 0"),
    )
    .expect("w");
    let ActionResult::ConfigRefused { error } = panel_action(&mut k, StaffAction::ReloadConfig)
    else {
        panic!("a malformed file is refused");
    };
    assert!(error.contains("staff.max_failures"), "{error}");
    assert!(audit_kinds(&k).contains(&"config_reload_refused".to_owned()));
    k.run_for(Duration::from_secs(200));
    assert!(k.runtime.staff_active(), "the old settings stay");
}

#[test]
fn logs_export_as_json_lines_and_a_missing_or_unwritable_folder_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = open_panel(dir.path());
    assert_eq!(
        panel_action(&mut k, StaffAction::ExportLogs),
        ActionResult::ExportFailed(ExportFailure::Missing)
    );
    // A file where the folder should be: not writable.
    std::fs::write(dir.path().join("usb"), b"").expect("file");
    assert_eq!(
        panel_action(&mut k, StaffAction::ExportLogs),
        ActionResult::ExportFailed(ExportFailure::NotWritable)
    );
    std::fs::remove_file(dir.path().join("usb")).expect("rm");
    std::fs::create_dir(dir.path().join("usb")).expect("mkdir");
    let ActionResult::LogsExported { file, lines } = panel_action(&mut k, StaffAction::ExportLogs)
    else {
        panic!("exported");
    };
    assert!(file.starts_with("KIOSK-SIM-001-logs-") || file.starts_with("kiosk-logs-"));
    let text = std::fs::read_to_string(dir.path().join("usb").join(&file)).expect("export");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(records.len() as u64, lines);
    assert_eq!(records[0]["record"], "export");
    assert!(records.iter().any(|r| r["kind"] == "staff_login"));
    assert_eq!(records.last().expect("last")["record"], "counters");
}

#[test]
fn no_citizen_data_reaches_the_staff_panel_or_the_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kiosk(dir.path());
    std::fs::create_dir(dir.path().join("usb")).expect("mkdir");
    // A citizen reads the card, takes a number and leaves.
    k.present_card(Box::new(kiosk_tests::card("cccd-2021")));
    k.scan_qr_of("cccd-2021");
    k.runtime.input(Input::Confirm(true), k.now);
    k.runtime.input(Input::Consent(false), k.now);
    k.sim.remove_card();
    k.run_for(Duration::from_secs(300));
    assert_eq!(k.step(), StepKind::Attract);
    // Staff open the panel and export the logs.
    k.runtime.staff_input(StaffInput::Open, k.now);
    type_pin(&mut k, PIN);
    let result = panel_action(&mut k, StaffAction::ExportLogs);
    let ActionResult::LogsExported { file, .. } = &result else {
        panic!("exported: {result:?}");
    };
    let export = std::fs::read_to_string(dir.path().join("usb").join(file)).expect("export");
    let view = format!("{:?}", k.runtime.staff_view(k.now));
    assert!(export.contains("card_read"), "the journey is in the log");
    for personal in [
        "Nguyễn",
        "NGUYỄN",
        "Mẫu",
        "003090000001",
        "15/01/1990",
        "15011990",
        "Đường Mẫu",
    ] {
        assert!(!view.contains(personal), "{personal} on the panel: {view}");
        assert!(!export.contains(personal), "{personal} in the export");
    }
}

/// A centre that is never reached.
#[derive(Debug)]
struct NoCentre;

impl kiosk_board::services::queueing::CentreApi for NoCentre {
    fn issue(
        &self,
        _key: &str,
        _request: &kiosk_firmware::queue::centre::IssueRequest,
    ) -> kiosk_firmware::queue::centre::Attempt {
        kiosk_firmware::queue::centre::Attempt::Unreachable("no centre in this test".into())
    }
    fn assignment(
        &self,
    ) -> Result<
        kiosk_firmware::queue::centre::KioskAssignment,
        kiosk_board::online::centre::CentreCallError,
    > {
        Err(kiosk_board::online::centre::CentreCallError::BadAnswer(
            "no centre in this test".into(),
        ))
    }
    fn reconcile(
        &self,
        _request: &kiosk_firmware::queue::centre::ReconcileRequest,
    ) -> Result<
        kiosk_firmware::queue::centre::ReconcileAnswer,
        kiosk_board::online::centre::CentreCallError,
    > {
        Err(kiosk_board::online::centre::CentreCallError::BadAnswer(
            "no centre in this test".into(),
        ))
    }
    fn rate(
        &self,
        _key: &str,
        _request: &kiosk_firmware::queue::centre::RatingRequest,
    ) -> Result<bool, kiosk_board::online::centre::CentreCallError> {
        Err(kiosk_board::online::centre::CentreCallError::BadAnswer(
            "no centre in this test".into(),
        ))
    }
}
