//! Staff mode in the run loop: entering (the attract screen's staff button
//! and PIN, or a staff card), the panel's data, its actions, leaving.
//!
//! The decisions are `kiosk_firmware::staff`'s (the gate, the lockout, the
//! session's timeout); this module does the I/O around them: it keeps the
//! lockout state in the store's `kv` table, runs the device checks of
//! [`crate::doctor`] (the camera's and the printer's on workers,
//! [`crate::services::panelcheck`]: the loop never waits for them), prints
//! the test page, re-reads the configuration file, writes the log export,
//! and audits every step without personal data.
//!
//! Staff mode opens only at the attract screen, with no journey and no
//! personal data held; while it is open the session stays at the attract
//! screen and a card placed on the reader starts nothing.
//!
//! Staff authority at the kiosk (issue 13): on the staff-assist and the
//! out-of-service screens the same keypad opens for one decision
//! (`StaffPurpose::Authorize`). The PIN goes through the same `Gate` (five
//! wrong PINs lock entry, persisted); a right one closes the keypad, is
//! audited (`staff_authenticated` with the method and the credential's
//! hash, never the PIN) and becomes `Input::StaffAuthenticated` for the
//! session, which alone decides what it allows. Out of service is kept in
//! the `kv` table under [`OUT_OF_SERVICE_KEY`] so a restart stays locked.

use super::Runtime;
use crate::config::{Config, StaffSection};
use kiosk_firmware::session::{Event, Input, StepKind};
use kiosk_firmware::staff::{
    ActionResult, ErrorRow, ExportFailure, Gate, HealthRow, Level, LockState, LoginMethod,
    OutboxSummary, PanelView, PaperState, PinNotice, PinOutcome, StaffAction, StaffCredential,
    StaffInput, StaffMode, StaffPurpose, StaffScreen, StaffView,
};
use kiosk_firmware::store::{Store, StoreError, UnixMillis};
use kiosk_firmware::time::Timestamp;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Audit kinds the panel lists as "last errors" (time and kind only).
pub const ERROR_KINDS: &[&str] = &[
    "staff_alert",
    "ticket_not_printed",
    "possible_breach",
    "staff_login_failed",
    "staff_locked",
    "config_reload_refused",
    "logs_export_failed",
    "unverified_offline",
    "authority_verdict_invalid",
];

/// The store key of the out-of-service state (JSON: `out_of_service`,
/// `since_unix_ms`).
pub const OUT_OF_SERVICE_KEY: &str = "kiosk.out_of_service";

/// The kiosk is out of service since its cabinet was opened (kept in the
/// store, so a restart stays locked until staff resume it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfService {
    /// When the cabinet was opened (wall clock).
    pub since: UnixMillis,
}

impl OutOfService {
    /// Reads the state from `store`: `None` when the kiosk is in service.
    /// An entry that does not parse counts as out of service (fail
    /// closed: staff resume it).
    pub fn load(store: &Store) -> Result<Option<OutOfService>, StoreError> {
        let Some(text) = store.kv_get(OUT_OF_SERVICE_KEY)? else {
            return Ok(None);
        };
        let value = serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the out-of-service state does not parse: kept locked");
            serde_json::json!({ "out_of_service": true })
        });
        if value
            .get("out_of_service")
            .and_then(serde_json::Value::as_bool)
            == Some(false)
        {
            return Ok(None);
        }
        let since = value
            .get("since_unix_ms")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        Ok(Some(OutOfService {
            since: UnixMillis(since),
        }))
    }

    /// Writes the state (`None`: back in service).
    pub fn save(state: Option<OutOfService>, store: &mut Store) -> Result<(), StoreError> {
        let text = match state {
            Some(s) => serde_json::json!({ "out_of_service": true, "since_unix_ms": s.since.0 }),
            None => serde_json::json!({ "out_of_service": false }),
        };
        store.kv_set(OUT_OF_SERVICE_KEY, &text.to_string())
    }
}

/// Configuration sections that a reload applies at once.
const LIVE_SECTIONS: &[&str] = &["session", "queue", "staff"];

/// Staff mode's state in the runtime.
#[derive(Debug, Default)]
pub(super) struct Staff {
    /// The gate; `None` until [`Runtime::with_staff`].
    gate: Option<Gate>,
    /// The open staff session.
    mode: Option<StaffMode>,
    /// How staff got in (for the logout's audit).
    method: Option<LoginMethod>,
    /// The panel's data, refreshed on entry and after each action.
    panel: Option<PanelView>,
    /// The panel's device checks by device (the camera's and the
    /// printer's filled in when their checks on workers end).
    checks: std::collections::BTreeMap<String, crate::doctor::Check>,
    /// The paper as the printer's last check said.
    paper: Option<PaperState>,
    /// The camera and printer checks on workers.
    pub(super) check: crate::services::panelcheck::PanelCheck,
    /// Where "export logs" writes.
    export_dir: Option<PathBuf>,
    /// The configuration file and its sections as last loaded.
    config_path: Option<PathBuf>,
    config_table: Option<toml::Table>,
    /// The kiosk's id (in the export file's name).
    kiosk_id: String,
    /// A reloaded configuration the frontend has not seen yet.
    reconfigured: Option<Config>,
}

/// Why the log export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No `staff.export_dir`. Remedy: configure one (a USB stick's mount).
    #[error("no staff.export_dir is configured")]
    NotConfigured,
    /// The folder does not exist. Remedy: plug in and mount the stick.
    #[error("the export folder {0} does not exist (is the USB stick mounted?)")]
    Missing(PathBuf),
    /// The folder cannot be written. Remedy: a writable folder.
    #[error("the export folder {path} cannot be written: {source}")]
    NotWritable {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The medium is full. Remedy: free space or another stick.
    #[error("the export folder {0} is full")]
    Full(PathBuf),
    /// The audit log cannot be read. Remedy: see `kioskctl doctor`.
    #[error("cannot read the audit log: {0}")]
    Store(#[from] kiosk_firmware::store::StoreError),
}

impl ExportError {
    /// What the screen says.
    pub fn failure(&self) -> ExportFailure {
        match self {
            ExportError::NotConfigured => ExportFailure::NotConfigured,
            ExportError::Missing(_) => ExportFailure::Missing,
            ExportError::NotWritable { .. } => ExportFailure::NotWritable,
            ExportError::Full(_) => ExportFailure::Full,
            ExportError::Store(_) => ExportFailure::Store,
        }
    }

    fn of_io(path: &Path, e: std::io::Error) -> ExportError {
        match e.kind() {
            std::io::ErrorKind::NotFound => ExportError::Missing(path.to_owned()),
            std::io::ErrorKind::StorageFull => ExportError::Full(path.to_owned()),
            _ => ExportError::NotWritable {
                path: path.to_owned(),
                source: e,
            },
        }
    }
}

/// The sections of a configuration file, to tell what a reload changed.
fn sections(path: &Path) -> Option<toml::Table> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
}

impl Runtime {
    /// Enables staff mode with `section`; the lockout state is read from
    /// the store (set the store first), so a restart keeps a lock.
    pub fn with_staff(mut self, section: &StaffSection) -> Self {
        let state = match self.store.as_ref().map(LockState::load) {
            Some(Ok(state)) => state,
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot read the staff lockout state");
                LockState::default()
            }
            None => LockState::default(),
        };
        self.staff.gate = Some(Gate::new(section.policy.clone(), state));
        self.staff.export_dir = section.export_dir.clone();
        self
    }

    /// Enables staff mode from `config` and remembers its file, which
    /// "reload configuration" reads again.
    pub fn with_config(mut self, config: &Config) -> Self {
        self.staff.config_path = Some(config.path.clone());
        self.staff.config_table = sections(&config.path);
        self.staff.kiosk_id = config.kiosk.id.clone();
        self.with_staff(&config.staff)
    }

    /// Whether staff mode is open (keypad or panel).
    pub fn staff_active(&self) -> bool {
        self.staff.mode.is_some()
    }

    /// Whether staff mode proper is open (the panel, or its login keypad),
    /// not the keypad that authorises one decision of a journey.
    pub(super) fn staff_panel_active(&self) -> bool {
        self.staff
            .mode
            .as_ref()
            .is_some_and(|m| m.purpose() == StaffPurpose::Panel)
    }

    /// After a restart: a kiosk that was out of service stays so (the
    /// session assumes the cabinet open until the switch reads closed).
    pub(super) fn restore_out_of_service(&mut self) {
        let Some(store) = self.store.as_ref() else {
            return;
        };
        match OutOfService::load(store) {
            Ok(Some(state)) => {
                tracing::warn!(
                    since_unix_ms = state.since.0,
                    "the kiosk is still out of service (cabinet opened): staff must resume it"
                );
                self.session
                    .handle_input(Input::Tampered, kiosk_firmware::time::Timestamp::ZERO);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the out-of-service state"),
        }
    }

    /// The session went out of service: keep it in the store, audit it.
    pub(super) fn out_of_service_entered(&mut self, now: Timestamp) {
        let Some(store) = self.store.as_ref() else {
            return;
        };
        let (kept, since) = match OutOfService::load(store) {
            Ok(Some(state)) => (true, state.since),
            _ => (false, self.wall(now)),
        };
        if !kept
            && let Some(store) = self.store.as_mut()
            && let Err(e) = OutOfService::save(Some(OutOfService { since }), store)
        {
            tracing::error!(error = %e, "cannot keep the out-of-service state");
        }
        self.audit(
            now,
            "out_of_service",
            serde_json::json!({ "since_unix_ms": since.0, "after_restart": kept }),
        );
    }

    /// Audits what the session decided about staff (no citizen data: the
    /// staff reason, the method and the credential's hash).
    pub(super) fn observe_staff(&mut self, event: &Event, now: Timestamp) {
        match event {
            Event::StaffDecided {
                approved,
                reason,
                credential,
            } => {
                tracing::info!(approved, ?reason, method = ?credential.method, "staff decision");
                self.audit(
                    now,
                    "staff_decision",
                    serde_json::json!({
                        "approved": approved,
                        "reason": reason,
                        "method": credential.method,
                        "credential": credential.hash,
                        // The audit id of the chip read decided on.
                        "card_read": self.read_audit_id,
                    }),
                );
            }
            Event::StaffRefused(refusal) => {
                tracing::warn!(?refusal, "staff action refused");
                self.audit(
                    now,
                    "staff_decision_refused",
                    serde_json::json!({ "reason": refusal }),
                );
            }
            Event::ServiceResumed { credential } => {
                tracing::info!(method = ?credential.method, "service resumed by staff");
                if let Some(store) = self.store.as_mut()
                    && let Err(e) = OutOfService::save(None, store)
                {
                    tracing::error!(error = %e, "cannot clear the out-of-service state");
                }
                self.audit(
                    now,
                    "service_resumed",
                    serde_json::json!({
                        "method": credential.method,
                        "credential": credential.hash,
                    }),
                );
            }
            _ => {}
        }
    }

    /// A configuration reloaded by staff that the frontend has not taken
    /// yet (its menu's services may have changed).
    pub fn take_reconfigured(&mut self) -> Option<Config> {
        self.staff.reconfigured.take()
    }

    /// Today's counts for the panel and the log export, as (key, count)
    /// rows: the day's usage metrics from the store (`firmware::metrics`,
    /// so they survive a restart and start again at local midnight), then
    /// what the runtime counted since it started (device errors, printer
    /// and cabinet alerts). No personal data: keys and numbers only.
    pub fn today_counts(&self, now: Timestamp) -> Vec<(String, u64)> {
        use kiosk_firmware::metrics::Metric;
        let day = self.usage_today(now);
        let ended = |reason: &str| day.get(Metric::JourneysEnded, reason);
        let identified = day.get(Metric::Identifications, "identified");
        let matched = day.get(Metric::FaceChecks, "match");
        let mut rows = vec![
            ("journeys_started", day.total(Metric::JourneysStarted)),
            ("completed", ended("completed")),
            ("cancelled", ended("cancelled")),
            ("timed_out", ended("timed_out")),
            ("card_removed", ended("card_removed")),
            ("faults", ended("fault")),
            ("identified", identified),
            (
                "identification_failed",
                day.total(Metric::Identifications) - identified,
            ),
            ("face_matched", matched),
            ("face_not_matched", day.total(Metric::FaceChecks) - matched),
            ("staff_calls", day.total(Metric::StaffCalls)),
            ("tickets_printed", day.total(Metric::TicketsPrinted)),
            ("tickets_unprinted", day.total(Metric::TicketsUnprinted)),
            ("requests_queued", day.total(Metric::RequestsQueued)),
            ("requests_sent", day.total(Metric::RequestsSent)),
            ("requests_refused", day.total(Metric::RequestsRefused)),
        ];
        if let Some(s) = day.satisfaction() {
            rows.push(("ratings", s.rated));
            rows.push(("satisfied_percent", (s.share * 100.0).round() as u64));
        }
        let c = self.counters;
        rows.extend([
            ("device_errors", c.device_errors),
            ("printer_alerts", c.printer_alerts),
            ("tamper_alerts", c.tamper_alerts),
        ]);
        rows.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// What the staff screens show at `now`, while staff mode is open.
    pub fn staff_view(&self, now: Timestamp) -> Option<StaffView> {
        let mode = self.staff.mode.as_ref()?;
        Some(StaffView {
            screen: mode.screen(),
            digits_entered: u8::try_from(mode.digits_entered()).unwrap_or(u8::MAX),
            notice: mode.notice(),
            panel: match mode.screen() {
                StaffScreen::Panel => self.staff.panel.clone(),
                StaffScreen::Pin => None,
            },
            now: self.wall(now),
        })
    }

    /// When staff mode closes for inactivity.
    pub(super) fn staff_deadline(&self) -> Option<Timestamp> {
        self.staff.mode.as_ref().map(StaffMode::deadline)
    }

    /// Closes staff mode once its inactivity timeout has passed, and the
    /// authorising keypad once its step is over.
    pub(super) fn staff_tick(&mut self, now: Timestamp) {
        if self
            .staff
            .mode
            .as_ref()
            .is_some_and(|m| m.purpose() == StaffPurpose::Authorize)
            && !authorizable(self.session.step())
        {
            tracing::info!("the step that needed staff is over: the keypad closes");
            self.staff.mode = None;
            return;
        }
        if self.staff_deadline().is_some_and(|d| d <= now) {
            tracing::info!("staff mode closed after inactivity");
            self.close_staff(now, "timeout");
        }
    }

    /// A card arrived at the attract screen: whether it is a staff card
    /// (then staff mode opened, or its keypad). Cards are asked for their
    /// UID only when staff cards are configured.
    pub(super) fn staff_card(&mut self, now: Timestamp) -> bool {
        let Some(gate) = self.staff.gate.as_ref() else {
            return false;
        };
        if gate.policy().cards.is_empty()
            || self.session.step() != StepKind::Attract
            || self.holds_personal_data()
        {
            return false;
        }
        let uid = match self.devices.reader.connect() {
            Ok(info) => info.uid,
            Err(e) => {
                tracing::warn!(error = %e, "cannot activate the card to read its UID");
                None
            }
        };
        if let Err(e) = self.devices.reader.disconnect() {
            tracing::warn!(error = %e, "cannot release the card after reading its UID");
        }
        let Some(uid) = uid else {
            return false;
        };
        let gate = match self.staff.gate.as_ref() {
            Some(g) if g.card_allowed(&uid) => g,
            _ => return false,
        };
        let timeout = gate.policy().session_timeout;
        if gate.policy().card_needs_pin {
            tracing::info!("staff card read: the PIN is still needed");
            let mut mode = StaffMode::keypad(now, timeout, true);
            let wall = self.wall(now);
            if let Some(until) = self.staff.gate.as_mut().and_then(|g| g.locked_until(wall)) {
                mode.set_notice(Some(PinNotice::Locked { until }));
            }
            self.staff.mode = Some(mode);
        } else {
            self.staff.mode = Some(StaffMode::panel(now, timeout));
            self.logged_in(LoginMethod::Card, now);
        }
        true
    }

    /// Feeds a staff touch.
    pub fn staff_input(&mut self, input: StaffInput, now: Timestamp) {
        if let Some(mode) = self.staff.mode.as_mut() {
            mode.touched(now);
        }
        let screen = self.staff.mode.as_ref().map(StaffMode::screen);
        match (screen, input) {
            (None, StaffInput::Open) => self.open_keypad(now),
            (Some(StaffScreen::Pin), StaffInput::Digit(d)) => {
                if let Some(mode) = self.staff.mode.as_mut() {
                    mode.push_digit(d);
                }
            }
            (Some(StaffScreen::Pin), StaffInput::Delete) => {
                if let Some(mode) = self.staff.mode.as_mut() {
                    mode.delete_digit();
                }
            }
            (Some(StaffScreen::Pin), StaffInput::Submit) => self.submit_pin(now),
            (Some(StaffScreen::Pin), StaffInput::Exit) => {
                self.staff.mode = None;
            }
            (Some(StaffScreen::Panel), StaffInput::Exit) => self.close_staff(now, "exit"),
            (Some(StaffScreen::Panel), StaffInput::Action(action)) => {
                // A print's result comes when its job ends
                // (`staff_job_done`).
                if let Some(result) = self.staff_action(action, now) {
                    self.refresh_panel(now);
                    if let Some(panel) = self.staff.panel.as_mut() {
                        panel.result = Some(result);
                    }
                }
            }
            (screen, input) => {
                tracing::debug!(?screen, ?input, "staff touch ignored on this screen");
            }
        }
    }

    fn open_keypad(&mut self, now: Timestamp) {
        if authorizable(self.session.step()) {
            self.open_authorize_keypad(now);
            return;
        }
        if self.session.step() != StepKind::Attract || self.holds_personal_data() {
            tracing::warn!("staff mode opens only at the attract screen");
            return;
        }
        let wall = self.wall(now);
        let Some(gate) = self.staff.gate.as_mut() else {
            return;
        };
        if gate.policy().pin.is_none() {
            tracing::info!("no staff PIN configured: staff mode opens with a staff card");
            return;
        }
        let mut mode = StaffMode::keypad(now, gate.policy().session_timeout, false);
        if let Some(until) = gate.locked_until(wall) {
            mode.set_notice(Some(PinNotice::Locked { until }));
        }
        self.staff.mode = Some(mode);
    }

    /// The keypad for one staff decision (staff assist, out of service).
    fn open_authorize_keypad(&mut self, now: Timestamp) {
        let wall = self.wall(now);
        let Some(gate) = self.staff.gate.as_mut() else {
            tracing::warn!("no staff configuration: no staff decision can be authorised");
            return;
        };
        if gate.policy().pin.is_none() {
            tracing::warn!("no staff PIN configured: no staff decision can be authorised");
            return;
        }
        let mut mode = StaffMode::authorize(now, gate.policy().session_timeout);
        if let Some(until) = gate.locked_until(wall) {
            mode.set_notice(Some(PinNotice::Locked { until }));
        }
        self.staff.mode = Some(mode);
    }

    /// The right PIN on the authorising keypad: the keypad closes and the
    /// session hears who authenticated.
    fn authorized(&mut self, credential: StaffCredential, now: Timestamp) {
        self.staff.mode = None;
        tracing::info!(method = ?credential.method, "staff authenticated at the kiosk");
        self.audit(
            now,
            "staff_authenticated",
            serde_json::json!({
                "method": credential.method,
                "credential": credential.hash,
                "step": self.session.step(),
            }),
        );
        self.session
            .handle_input(Input::StaffAuthenticated(credential), now);
        self.drain(now);
    }

    fn submit_pin(&mut self, now: Timestamp) {
        let wall = self.wall(now);
        let (Some(mode), Some(gate)) = (self.staff.mode.as_mut(), self.staff.gate.as_mut()) else {
            return;
        };
        let pin = mode.take_pin();
        let outcome = gate.try_pin(&pin, wall);
        drop(pin);
        let via_card = mode.via_card();
        let state = gate.state();
        if let Some(store) = self.store.as_mut()
            && let Err(e) = state.save(store)
        {
            tracing::error!(error = %e, "cannot keep the staff lockout state");
        }
        match outcome {
            PinOutcome::Accepted if mode.purpose() == StaffPurpose::Authorize => {
                let credential = gate
                    .policy()
                    .pin
                    .as_ref()
                    .map(|hash| StaffCredential::pin(hash, via_card));
                match credential {
                    Some(credential) => self.authorized(credential, now),
                    None => self.staff.mode = None,
                }
            }
            PinOutcome::Accepted => {
                mode.open_panel();
                let method = if via_card {
                    LoginMethod::CardAndPin
                } else {
                    LoginMethod::Pin
                };
                self.logged_in(method, now);
            }
            PinOutcome::Wrong { attempts_left } => {
                mode.set_notice(Some(PinNotice::Wrong { attempts_left }));
                tracing::warn!(attempts_left, "wrong staff PIN");
                self.audit(
                    now,
                    "staff_login_failed",
                    serde_json::json!({ "attempts_left": attempts_left }),
                );
            }
            PinOutcome::LockedNow { until } => {
                mode.set_notice(Some(PinNotice::Locked { until }));
                tracing::warn!("staff PIN entry locked after repeated wrong PINs");
                self.audit(
                    now,
                    "staff_login_failed",
                    serde_json::json!({ "attempts_left": 0 }),
                );
                let minutes = until.0.saturating_sub(wall.0) / 60_000;
                self.audit(
                    now,
                    "staff_locked",
                    serde_json::json!({ "until_unix_ms": until.0, "minutes": minutes }),
                );
            }
            PinOutcome::Locked { until } => {
                mode.set_notice(Some(PinNotice::Locked { until }));
            }
            PinOutcome::NoPin => self.staff.mode = None,
        }
    }

    fn logged_in(&mut self, method: LoginMethod, now: Timestamp) {
        tracing::info!(?method, "staff mode opened");
        self.staff.method = Some(method);
        self.audit(now, "staff_login", serde_json::json!({ "method": method }));
        self.refresh_panel(now);
    }

    fn close_staff(&mut self, now: Timestamp, reason: &str) {
        let Some(mode) = self.staff.mode.take() else {
            return;
        };
        if mode.screen() == StaffScreen::Panel {
            self.audit(
                now,
                "staff_logout",
                serde_json::json!({ "reason": reason, "method": self.staff.method }),
            );
        }
        self.staff.panel = None;
        self.staff.method = None;
        self.staff.checks.clear();
        self.staff.paper = None;
    }

    /// Runs the quick device checks, starts the camera's and the
    /// printer's on workers (their rows say "checking…" until they end,
    /// [`Runtime::poll_panel_check`]), and reads the outbox, the counters
    /// and the recent errors into the panel.
    fn refresh_panel(&mut self, now: Timestamp) {
        use crate::services::panelcheck::checking;
        let mut checks = crate::doctor::check_quick_devices(&mut self.devices);
        checks.insert("face".into(), self.face_health());
        // The checks drive every light: put them back as the step wants.
        self.lit = None;
        self.update_lights();
        let transport = if self.devices.blocking {
            super::Transport::Worker
        } else {
            super::Transport::Inline
        };
        let camera = self
            .staff
            .check
            .start_camera(&mut self.devices.camera, transport, now);
        checks.insert("camera".into(), camera.unwrap_or_else(checking));
        let printer = if self.prints.is_busy() {
            // The print desk holds the printer: no waiting for it.
            Some(crate::doctor::Check::warn(
                "busy: printing",
                "refresh the panel once the print has ended",
            ))
        } else if self.prints.printer_away() {
            self.staff.paper = Some(PaperState::Offline);
            Some(crate::doctor::Check::fail(
                "does not answer (a print job has not returned)",
                "check the printer's cable and power; restart the kiosk if it persists",
            ))
        } else {
            self.staff
                .check
                .start_printer(&mut self.devices.printer, transport, now)
                .map(|finding| {
                    self.staff.paper = Some(finding.paper);
                    finding.check
                })
        };
        checks.insert("printer".into(), printer.unwrap_or_else(checking));
        self.staff.checks = checks;
        let health = health_rows(&self.staff.checks);
        let paper = self.panel_paper();
        let mut outbox = OutboxSummary::default();
        let mut errors = Vec::new();
        let mut unprinted = Vec::new();
        if let Some(store) = self.store.as_ref() {
            match store.outbox_list() {
                Ok(rows) => {
                    use kiosk_firmware::store::outbox::OutboxState;
                    for row in rows {
                        if row.state == OutboxState::Failed {
                            outbox.failed += 1;
                        } else {
                            outbox.pending += 1;
                            let due = UnixMillis(row.next_attempt_at_unix_ms);
                            outbox.next_due = Some(outbox.next_due.map_or(due, |d| d.min(due)));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot list the outbox"),
            }
            match store.recent_audit(500) {
                Ok(entries) => {
                    errors = entries
                        .into_iter()
                        .filter(|e| ERROR_KINDS.contains(&e.kind.as_str()))
                        .take(5)
                        .map(|e| ErrorRow {
                            at: e.at,
                            kind: e.kind,
                        })
                        .collect();
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the audit log"),
            }
            match store.unprinted_tickets(5) {
                Ok(rows) => unprinted = rows.into_iter().map(|t| t.number).collect(),
                Err(e) => tracing::warn!(error = %e, "cannot list unprinted tickets"),
            }
        }
        self.staff.panel = Some(PanelView {
            health,
            paper,
            outbox,
            counts: self.today_counts(now),
            errors,
            unprinted,
            result: None,
        });
        // A simulator's checks ran inline: their rows are in at once.
        self.poll_panel_check(now);
    }

    /// The paper as the printer's last check said; before any, as the
    /// last print said.
    fn panel_paper(&self) -> PaperState {
        use kiosk_firmware::session::PrintProblem;
        self.staff.paper.unwrap_or(match self.printer_alert {
            None => PaperState::Ok,
            Some(super::PrinterAlert::PaperNearEnd) => PaperState::NearEnd,
            Some(super::PrinterAlert::CannotPrint(PrintProblem::PaperOut)) => PaperState::Out,
            Some(super::PrinterAlert::CannotPrint(PrintProblem::CoverOpen)) => {
                PaperState::CoverOpen
            }
            Some(super::PrinterAlert::CannotPrint(_)) => PaperState::Offline,
        })
    }

    /// Takes the panel's camera and printer checks that ended (their
    /// devices home) and fills their rows and the paper; the rows of a
    /// check past its deadline say "does not answer".
    pub(super) fn poll_panel_check(&mut self, now: Timestamp) {
        let found = self
            .staff
            .check
            .poll(&mut self.devices.camera, &mut self.devices.printer, now);
        if found.is_empty() || self.staff.panel.is_none() {
            // A panel closed meanwhile: the devices are home, the rows go.
            return;
        }
        if let Some(camera) = found.camera {
            self.staff.checks.insert("camera".into(), camera);
        }
        if let Some(printer) = found.printer {
            self.staff.paper = Some(printer.paper);
            self.staff.checks.insert("printer".into(), printer.check);
        }
        let health = health_rows(&self.staff.checks);
        let paper = self.panel_paper();
        if let Some(panel) = self.staff.panel.as_mut() {
            panel.health = health;
            panel.paper = paper;
        }
    }

    /// The face check's row of the panel: the service's health (which
    /// model file is missing), or why there is none.
    fn face_health(&self) -> crate::doctor::Check {
        match (&self.face, &self.face_unavailable) {
            (Some(face), _) => face.health(),
            (None, Some(reason)) => crate::doctor::Check::fail(
                format!("every face check goes to staff: {reason}"),
                crate::app::MODEL_FIX,
            ),
            (None, None) => crate::doctor::Check::fail(
                "no face engine: every face check goes to staff",
                "run `kioskctl doctor` for the face models",
            ),
        }
    }

    /// Carries out a staff action; `None` while its print job runs (its
    /// result then comes with [`Runtime::staff_job_done`]).
    fn staff_action(&mut self, action: StaffAction, now: Timestamp) -> Option<ActionResult> {
        Some(match action {
            StaffAction::Refresh => ActionResult::Refreshed,
            StaffAction::TestPrint => return self.test_print(now),
            StaffAction::ReloadConfig => self.reload_config(now),
            StaffAction::ExportLogs => match self.export_logs(now) {
                Ok((file, lines)) => {
                    self.audit(now, "logs_exported", serde_json::json!({ "lines": lines }));
                    ActionResult::LogsExported { file, lines }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "log export failed");
                    let failure = e.failure();
                    self.audit(
                        now,
                        "logs_export_failed",
                        serde_json::json!({ "reason": format!("{failure:?}") }),
                    );
                    ActionResult::ExportFailed(failure)
                }
            },
            StaffAction::ReprintLast => {
                let number = self
                    .store
                    .as_ref()
                    .and_then(|s| s.unprinted_tickets(1).ok())
                    .and_then(|rows| rows.into_iter().next())
                    .map(|t| t.number);
                let Some(number) = number else {
                    return Some(ActionResult::NothingToReprint);
                };
                self.clear_staff_result();
                match self.reprint(&number, true, now) {
                    Ok(()) => return None,
                    Err(e) => {
                        tracing::warn!(%number, error = %e, "cannot re-print");
                        ActionResult::ReprintFailed {
                            number,
                            problem: None,
                        }
                    }
                }
            }
        })
    }

    /// The panel's last result goes while a new action runs.
    fn clear_staff_result(&mut self) {
        if let Some(panel) = self.staff.panel.as_mut() {
            panel.result = None;
        }
    }

    /// A staff action's print job ended: its result goes on the panel
    /// (refreshed: the paper row may have changed), if it is still open.
    pub(super) fn staff_job_done(&mut self, result: ActionResult, now: Timestamp) {
        if self.staff.panel.is_none() {
            return;
        }
        self.refresh_panel(now);
        if let Some(panel) = self.staff.panel.as_mut() {
            panel.result = Some(result);
        }
    }

    /// Prints the test page through the ticket path (DLE EOT status before
    /// and after, like a ticket).
    fn test_print(&mut self, now: Timestamp) -> Option<ActionResult> {
        let paper = self
            .ticketing
            .as_ref()
            .map_or(kiosk_firmware::ticket::raster::PaperWidth::Mm80, |t| {
                t.paper
            });
        let center = self
            .ticketing
            .as_ref()
            .map(|t| t.center_name.clone())
            .unwrap_or_default();
        let bytes = match test_page(paper, &center, &self.staff.kiosk_id, self.wall(now)) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot lay out the test page");
                return Some(ActionResult::TestPrintFailed(
                    kiosk_firmware::session::PrintProblem::PrinterError,
                ));
            }
        };
        self.clear_staff_result();
        self.print(bytes, crate::services::printing::Purpose::TestPage, now);
        None
    }

    /// The test page's job ended: audited, and the fault light goes out
    /// when it printed.
    pub(super) fn test_page_printed(
        &mut self,
        report: &crate::services::ticketing::PrintReport,
        now: Timestamp,
    ) {
        let problem = report.outcome.err();
        self.audit(
            now,
            "test_print",
            serde_json::json!({
                "ok": problem.is_none(),
                "problem": problem.map(crate::services::ticketing::problem_code),
            }),
        );
        match problem {
            None => {
                // The printer works again: the fault light may go out.
                if matches!(
                    self.printer_alert,
                    Some(super::PrinterAlert::CannotPrint(_))
                ) {
                    self.printer_alert = None;
                    self.lit = None;
                    self.update_lights();
                }
                self.staff_job_done(ActionResult::TestPrinted, now);
            }
            Some(p) => self.staff_job_done(ActionResult::TestPrintFailed(p), now),
        }
    }

    /// Reads the configuration file again and applies what can change live
    /// (session timeouts, queue services and hours, staff settings); a
    /// file that does not load is refused and the old settings stay.
    fn reload_config(&mut self, now: Timestamp) -> ActionResult {
        let Some(path) = self.staff.config_path.clone() else {
            return ActionResult::ConfigRefused {
                error: "the kiosk was started without a configuration file".into(),
            };
        };
        let config = match Config::load(&path) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the reloaded configuration is refused");
                self.audit(now, "config_reload_refused", serde_json::json!({}));
                return ActionResult::ConfigRefused {
                    error: e.to_string(),
                };
            }
        };
        let table = sections(&path);
        let mut restart_needed = Vec::new();
        if let (Some(old), Some(new)) = (&self.staff.config_table, &table) {
            let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            for key in keys {
                if !LIVE_SECTIONS.contains(&key.as_str()) && old.get(key) != new.get(key) {
                    restart_needed.push(key.clone());
                }
            }
        }
        // At the attract screen with no journey: a fresh session takes the
        // new timeouts. A kiosk out of service (the cabinet was opened
        // while the panel was up) stays out of service.
        let out_of_service = self.session.step() == StepKind::OutOfService;
        self.session = kiosk_firmware::session::Session::new(config.session, now);
        // `[centre]` changes need a restart (the desk keeps its client):
        // the fresh session numbers through the same centre, consent
        // step included.
        self.session.set_centre_mode(self.centre.is_some());
        if out_of_service {
            self.session.handle_input(Input::Tampered, now);
        }
        if self.ticketing.is_some() || config.queue.is_some() {
            self.ticketing = crate::services::ticketing::Ticketing::from_config(&config);
        }
        if let Some(gate) = self.staff.gate.as_mut() {
            gate.set_policy(config.staff.policy.clone());
        }
        if let Some(mode) = self.staff.mode.as_mut() {
            mode.set_timeout(config.staff.policy.session_timeout);
        }
        self.staff.export_dir = config.staff.export_dir.clone();
        self.staff.config_table = table;
        self.staff.kiosk_id = config.kiosk.id.clone();
        tracing::info!(?restart_needed, "configuration reloaded");
        self.audit(
            now,
            "config_reloaded",
            serde_json::json!({ "restart_needed": restart_needed }),
        );
        self.staff.reconfigured = Some(config);
        ActionResult::ConfigReloaded { restart_needed }
    }

    /// Writes the audit log and the counters as JSON lines into the export
    /// folder; returns the file's name and its line count. The audit log
    /// carries no personal data (see `Runtime::audit`), nor do the counters.
    pub fn export_logs(&mut self, now: Timestamp) -> Result<(String, u64), ExportError> {
        let dir = self
            .staff
            .export_dir
            .clone()
            .ok_or(ExportError::NotConfigured)?;
        match std::fs::metadata(&dir) {
            Err(e) => return Err(ExportError::of_io(&dir, e)),
            Ok(m) if !m.is_dir() => {
                return Err(ExportError::NotWritable {
                    path: dir,
                    source: std::io::Error::other("not a folder"),
                });
            }
            Ok(_) => {}
        }
        let wall = self.wall(now);
        let mut entries = match self.store.as_ref() {
            Some(store) => store.recent_audit(u32::MAX)?,
            None => Vec::new(),
        };
        entries.reverse();
        let stamp = kiosk_firmware::ticket::LocalTime::in_vietnam(wall.0).map_or_else(
            || wall.0.to_string(),
            |t| {
                format!(
                    "{}-{:02}{:02}{:02}",
                    t.day_key(),
                    t.hour,
                    t.minute,
                    (wall.0 / 1000) % 60
                )
            },
        );
        let id = if self.staff.kiosk_id.is_empty() {
            "kiosk".to_owned()
        } else {
            self.staff.kiosk_id.clone()
        };
        let name = format!("{id}-logs-{stamp}.jsonl");
        let mut lines = Vec::with_capacity(entries.len() + 2);
        lines.push(serde_json::json!({
            "record": "export",
            "kiosk_id": id,
            "at_unix_ms": wall.0,
            "audit_entries": entries.len(),
        }));
        for e in &entries {
            let detail = serde_json::from_str::<serde_json::Value>(&e.detail)
                .unwrap_or_else(|_| serde_json::Value::String(e.detail.clone()));
            lines.push(serde_json::json!({
                "record": "audit",
                "id": e.id,
                "at_unix_ms": e.at.0,
                "kind": e.kind,
                "detail": detail,
            }));
        }
        let counts: serde_json::Map<String, serde_json::Value> = self
            .today_counts(now)
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::from(v)))
            .collect();
        lines.push(serde_json::json!({
            "record": "counters",
            "at_unix_ms": wall.0,
            "counts": counts,
        }));
        let partial = dir.join(format!("{name}.partial"));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&partial)?;
            for line in &lines {
                writeln!(file, "{line}")?;
            }
            // A USB stick may be pulled right after: on the medium first.
            file.sync_all()?;
            std::fs::rename(&partial, dir.join(&name))
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&partial);
            return Err(ExportError::of_io(&dir, e));
        }
        Ok((name, u64::try_from(lines.len()).unwrap_or(u64::MAX)))
    }
}

/// The panel's rows from the device checks.
fn health_rows(
    checks: &std::collections::BTreeMap<String, crate::doctor::Check>,
) -> Vec<HealthRow> {
    checks
        .iter()
        .map(|(device, c)| HealthRow {
            device: device.clone(),
            level: match (c.ok, &c.fix) {
                (false, _) => Level::Fail,
                (true, Some(_)) => Level::Warn,
                (true, None) => Level::Ok,
            },
            reason: c.detail.clone(),
        })
        .collect()
}

/// Whether staff authenticate for a decision on `step`.
fn authorizable(step: StepKind) -> bool {
    matches!(step, StepKind::StaffAssist | StepKind::OutOfService)
}

/// The test page: a heading, the centre, the kiosk and the time, in
/// ESC/POS.
pub(crate) fn test_page(
    paper: kiosk_firmware::ticket::raster::PaperWidth,
    center: &str,
    kiosk_id: &str,
    wall: UnixMillis,
) -> Result<Vec<u8>, kiosk_firmware::ticket::raster::RasterError> {
    use kiosk_firmware::ticket::raster::{Canvas, Style};
    let mut canvas = Canvas::new(paper, 16)?;
    canvas.text("TRANG IN THỬ · TEST PAGE", Style::heading(40.0).inverse())?;
    canvas.space(16);
    if !center.is_empty() {
        canvas.text(center, Style::regular(26.0).centered())?;
    }
    canvas.text(kiosk_id, Style::regular(26.0).centered())?;
    if let Some(t) = kiosk_firmware::ticket::LocalTime::in_vietnam(wall.0) {
        canvas.text(
            &format!(
                "{:02}/{:02}/{} {:02}:{:02}",
                t.day, t.month, t.year, t.hour, t.minute
            ),
            Style::regular(26.0).centered(),
        )?;
    }
    canvas.space(12);
    canvas.rule(3);
    canvas.space(12);
    canvas.text(
        "Máy in hoạt động · The printer works",
        Style::regular(26.0).centered(),
    )?;
    canvas.space(24);
    Ok(kiosk_firmware::ticket::escpos::encode_ticket(
        &canvas.finish(),
    ))
}

/// Shows staff mode on `frontend` (used by the run loop).
pub(super) fn show(
    runtime: &Runtime,
    frontend: &mut dyn super::Frontend,
    now: Timestamp,
    shown: &mut Option<StaffView>,
) {
    // The view's clock alone is no change (the keypad shows the lock's
    // end as a time, not a countdown).
    let view = runtime.staff_view(now);
    let same = |a: &Option<StaffView>, b: &Option<StaffView>| match (a, b) {
        (Some(a), Some(b)) => {
            StaffView {
                now: b.now,
                ..a.clone()
            } == *b
        }
        (None, None) => true,
        _ => false,
    };
    if !same(&view, shown) {
        frontend.show_staff(view.as_ref());
        *shown = view;
    }
}
