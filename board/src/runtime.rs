//! The run loop: the one place that reads the clock and drives devices
//! (DESIGN.md §2).
//!
//! [`Runtime::tick`] polls the card reader, moves the drivers of the
//! session's [`Action`]s along, advances the session's timers and carries
//! out what the session asks; it takes `now` like everything else, so tests
//! drive it in virtual time. [`Runtime::turn`] is the loop's body (tick,
//! show, wait for the frontend until the next wake-up, hand its input in);
//! [`Runtime::run`] is turns on the monotonic clock, and the scenario
//! player's are turns in virtual time — nothing sleeps blindly, and
//! nothing blocks the loop: every action that touches a device or the
//! network is a driver polled each turn, its blocking part on a worker
//! thread with a deadline (see `jobs`: printing and delivering).
//!
//! `Action::IssueTicket` draws a number from the store and hands its ticket
//! to the printer ([`crate::services::printing`]). A printer problem (or a
//! printer that does not answer by the deadline) never costs the citizen
//! the number: the session shows it on screen (`printed: false`), the ticket
//! stays re-printable ([`Runtime::reprint_ticket`]), and staff are alerted
//! ([`Runtime::printer_alert`], the fault light, the audit log).
//!
//! While the session waits for the access key, the camera looks for the
//! card's QR code ([`crate::services::qrscan`]): it is started when the step begins
//! and stopped when it ends, a good read is delivered as
//! `Input::AccessKey(AccessKey::CardQr(..))`, and a camera that cannot
//! start or fails is reported to the session (`Input::QrCamera`), whose
//! screen then asks for the key on the keypad.
//!
//! Staff decisions and the tamper lock (issue 13): a staff decision at the
//! kiosk needs the staff PIN typed on the kiosk at that moment
//! ([`staff`] opens its keypad from the staff-assist and out-of-service
//! screens, checks it with `staff::Gate` and its lockout, and feeds
//! `Input::StaffAuthenticated`). An opened cabinet puts the session out of
//! service; the state is kept in the store's `kv` table
//! ([`staff::OUT_OF_SERVICE_KEY`]) so a restart stays locked.

use crate::drivers::Devices;
use crate::services::delivering::Purpose as DeliveryFor;
use crate::services::printing::Purpose;
use crate::services::ticketing::Ticketing;
use crate::services::worker::Transport;
use kiosk_firmware::metrics::{self, Metric};
use kiosk_firmware::session::{
    AccessKey, Action, EndReason, Event, Fault, Holder, Input, Output, PrintProblem, QrCamera,
    ReadFailure, Session, SessionConfig, SessionView, StaffReason, StepKind, Verification,
};
use kiosk_firmware::store::{Store, UnixMillis};
use kiosk_firmware::time::Timestamp;
use kiosk_hal::ErrorKind;
use kiosk_hal::card::Presence;
use kiosk_hal::indicators::Light;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod centre;
mod jobs;
#[cfg(test)]
mod loop_tests;
mod staff;
#[cfg(test)]
pub(crate) mod trust_tests;
pub mod virtual_time;
pub use centre::pending_ratings;
#[cfg(test)]
pub(crate) use staff::test_page;
pub use staff::{ERROR_KINDS, ExportError, OUT_OF_SERVICE_KEY, OutOfService};

/// How often the card reader is polled for presence.
pub const CARD_POLL_INTERVAL: Duration = Duration::from_millis(150);

/// What a frontend gives back while the runtime waits.
#[derive(Debug)]
pub enum FrontendInput {
    /// The citizen (or a tester) did something.
    Input(Input),
    /// Staff ask to print a ticket of today again (after a printer
    /// problem), by its number.
    Reprint(String),
    /// The citizen typed a value into a form field (Done on the input
    /// screen, or the console's `field` command).
    FormField {
        /// The field's name.
        name: String,
        /// The value (zeroized when dropped, never printed).
        value: kiosk_ui::presenter::Typed,
    },
    /// Staff touched something of staff mode (the attract screen's staff
    /// button, the PIN keypad, the panel).
    Staff(kiosk_firmware::staff::StaffInput),
    /// Stop the kiosk.
    Quit,
    /// Nothing before the wait ended.
    Nothing,
}

/// Where the session is shown and touches come from: the Slint UI, the
/// console, or a scenario player.
pub trait Frontend {
    /// Shows the session after something changed, with the events that
    /// happened since the last call (for audio guidance and animations).
    fn show(&mut self, view: &SessionView, events: &[Event]);

    /// Waits at most `timeout` for the next input.
    fn wait_input(&mut self, timeout: Duration) -> FrontendInput;

    /// The runtime's clock before each [`Frontend::show`] (for countdowns).
    /// The default ignores it.
    fn clock(&mut self, _now: Timestamp) {}

    /// Shows the request form (with its problems) or the consent notice,
    /// while the session is on those screens.
    fn show_request(
        &mut self,
        _form: Option<&crate::services::requesting::FormScreen>,
        _consent: Option<&kiosk_firmware::requests::ConsentNotice>,
    ) {
    }

    /// Shows staff mode (`Some`: the keypad or the panel, over the
    /// attract screen) or closes it (`None`). The default ignores it.
    fn show_staff(&mut self, _view: Option<&kiosk_firmware::staff::StaffView>) {}

    /// Staff reloaded the configuration: the menu's services may have
    /// changed. The default ignores it.
    fn reconfigured(&mut self, _config: &crate::config::Config) {}
}

/// Shows `runtime`'s staff mode on `frontend` as it is at `now` (for
/// players that drive the runtime themselves, like the scenario runner).
pub fn show_staff(runtime: &Runtime, frontend: &mut dyn Frontend, now: Timestamp) {
    frontend.show_staff(runtime.staff_view(now).as_ref());
}

/// What a frontend was last shown, kept by the loop across
/// [`Runtime::turn`]s.
#[derive(Debug, Default)]
pub struct Shown {
    view: Option<SessionView>,
    staff: Option<kiosk_firmware::staff::StaffView>,
    every_turn: bool,
}

impl Shown {
    /// Shows the session at every turn, changed or not (a renderer that
    /// draws a frame per turn: the scenario player).
    pub fn every_turn() -> Self {
        Shown {
            every_turn: true,
            ..Shown::default()
        }
    }
}

/// How a [`Runtime::turn`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The frontend handed an input in: another turn at once.
    Handled,
    /// The wait ran out with no input.
    Idle,
    /// The frontend quits.
    Quit,
}

/// Counters since start, for `kioskctl stats` and staff mode. No personal
/// data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Journeys that reached the goodbye screen.
    pub completed: u64,
    /// Journeys cancelled by the citizen.
    pub cancelled: u64,
    /// Journeys ended by inactivity.
    pub timed_out: u64,
    /// Journeys ended because the card left.
    pub card_removed: u64,
    /// Journeys ended by a fault.
    pub faults: u64,
    /// Staff calls.
    pub staff_calls: u64,
    /// Device errors seen by the runtime.
    pub device_errors: u64,
    /// Tickets that came out of the printer (issued).
    pub tickets_printed: u64,
    /// Tickets drawn whose printing failed (shown on screen, re-printable).
    pub tickets_unprinted: u64,
    /// Staff alerts raised for the printer.
    pub printer_alerts: u64,
    /// Times the cabinet was opened (tamper switch).
    pub tamper_alerts: u64,
}

/// What staff must do about the printer, raised by a print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterAlert {
    /// The roll is nearly used up: tickets still print; change it soon.
    PaperNearEnd,
    /// Tickets do not print until staff fix this.
    CannotPrint(PrintProblem),
}

/// The kiosk's run loop around one [`Session`].
#[derive(Debug)]
pub struct Runtime {
    session: Session,
    devices: Devices,
    card_present: bool,
    next_card_poll: Timestamp,
    /// The chip read under way (its driver holds the reader).
    reading: Option<Reading>,
    /// The reader on its way back from a read's worker thread.
    reader_away: Option<std::sync::mpsc::Receiver<Box<dyn crate::drivers::ReaderDevice>>>,
    /// When the systemd watchdog is petted next.
    next_watchdog: Option<Timestamp>,
    lit: Option<StepKind>,
    events: Vec<Event>,
    counters: Counters,
    store: Option<Store>,
    /// The holder's full records while identified; wiped with the session.
    vault: Option<kiosk_firmware::cccd::Identified>,
    /// The verification policy's verdict on the card read this session
    /// (codes and states only); wiped with the vault.
    verified: Option<kiosk_firmware::trust::Trust>,
    /// What each purpose requires of a card (`[trust]`).
    policy: kiosk_firmware::trust::Policy,
    /// CSCA certificates that anchor passive authentication.
    trust: kiosk_firmware::icao::pa::TrustList,
    /// Wall-clock time at `Timestamp::ZERO`, for the audit log.
    epoch: UnixMillis,
    /// Face verification; `None` hands every face check to staff.
    face: Option<crate::services::facecheck::FaceService>,
    /// Why there is no face verification (for the staff panel), when known.
    face_unavailable: Option<String>,
    /// The switches at the last poll.
    switches: kiosk_hal::sensors::SensorState,
    /// systemd's notification socket, when run as a `Type=notify` service.
    notifier: Option<crate::drivers::notify::Notifier>,
    /// The queue and ticket layout, when the board issues numbers.
    ticketing: Option<Ticketing>,
    /// The printer's standing alert, until a print succeeds cleanly.
    printer_alert: Option<PrinterAlert>,
    /// Online requests, when the board files them.
    requests: Option<crate::services::requesting::RequestService>,
    /// Whether a journey was counted as started and not yet as ended.
    journey_open: bool,
    /// The printer state last saved for the metrics endpoint.
    printer_state_saved: Option<&'static str>,
    /// Staff mode (see [`staff`]).
    staff: staff::Staff,
    /// The camera's card-QR reader on the access-key step.
    qr: crate::services::qrscan::QrService,
    /// The audit id of this journey's chip read (`card_read`), which a
    /// staff decision names (the guardian path ties the two together).
    read_audit_id: Option<i64>,
    /// The online chip check (C06), when configured.
    c06: Option<std::sync::Arc<crate::online::c06::C06Client>>,
    /// A read waiting for the online check; wiped with the vault.
    awaiting: Option<AwaitingAuthority>,
    /// The print jobs (tickets, receipts, the test page), each on the
    /// printer lent to a worker ([`crate::services::printing`]).
    prints: crate::services::printing::PrintDesk<Purpose>,
    /// The request delivery under way, on the portal client lent to a
    /// worker ([`crate::services::delivering`]).
    deliveries: crate::services::delivering::DeliveryDesk<DeliveryFor>,
    /// The centre's queue (`[centre]`): numbers, reconciliation and
    /// ratings on its client lent to workers ([`centre`]).
    centre: Option<crate::services::queueing::CentreDesk>,
    /// The time of the last tick (where [`Runtime::run`]'s clock starts).
    last_tick: Timestamp,
}

/// The chip read under way: its driver, and the key it was started with
/// (the verification policy binds the chip to it). Personal data: wiped
/// with the session.
#[derive(Debug)]
struct Reading {
    driver: crate::services::reading::ReadDriver<'static>,
    key: AccessKey,
    today: kiosk_firmware::cccd::date::Date,
}

/// A chip read whose card is intact but unanchored, waiting for the
/// identity authority's verdict (on the check's worker thread). Its
/// verdict and records are this session's, wiped like the vault.
#[derive(Debug)]
struct AwaitingAuthority {
    check: crate::online::c06::OnlineCheck,
    verdict: kiosk_firmware::trust::Trust,
    records: Option<kiosk_firmware::cccd::Identified>,
}

/// The printer state as the metrics name it (`metrics::PRINTER_STATES`).
pub fn printer_state(alert: Option<PrinterAlert>) -> &'static str {
    match alert {
        None => "ok",
        Some(PrinterAlert::PaperNearEnd) => "paper_near_end",
        Some(PrinterAlert::CannotPrint(problem)) => {
            crate::services::ticketing::problem_code(problem)
        }
    }
}

impl Runtime {
    /// A runtime at the attract screen.
    pub fn new(devices: Devices, config: SessionConfig, now: Timestamp) -> Self {
        let mut runtime = Runtime {
            session: Session::new(config, now),
            devices,
            card_present: false,
            next_card_poll: now,
            reading: None,
            reader_away: None,
            next_watchdog: None,
            lit: None,
            events: Vec::new(),
            counters: Counters::default(),
            journey_open: false,
            printer_state_saved: None,
            store: None,
            vault: None,
            verified: None,
            policy: kiosk_firmware::trust::Policy::default(),
            trust: kiosk_firmware::icao::pa::TrustList::empty(),
            epoch: UnixMillis(0),
            face: None,
            face_unavailable: None,
            switches: kiosk_hal::sensors::SensorState::default(),
            notifier: None,
            ticketing: None,
            printer_alert: None,
            requests: None,
            staff: staff::Staff::default(),
            qr: crate::services::qrscan::QrService::default(),
            read_audit_id: None,
            c06: None,
            awaiting: None,
            prints: crate::services::printing::PrintDesk::default(),
            deliveries: crate::services::delivering::DeliveryDesk::default(),
            centre: None,
            last_tick: now,
        };
        runtime.update_lights();
        runtime
    }

    /// Applies the verification policy (`[trust]`; strict by default).
    pub fn with_trust_policy(mut self, policy: kiosk_firmware::trust::Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Asks the identity authority (C06) about cards whose passive
    /// authentication is intact but unanchored (`[verification]`).
    pub fn with_online_check(
        mut self,
        client: std::sync::Arc<crate::online::c06::C06Client>,
    ) -> Self {
        self.c06 = Some(client);
        self
    }

    /// Whether a read waits for the identity authority's answer.
    pub fn awaiting_authority(&self) -> bool {
        self.awaiting.is_some()
    }

    /// Waits up to `max` of real time for the online check's worker to
    /// answer, so the next [`Runtime::tick`] judges it. Only for runs in
    /// virtual time (tests, scenarios); the real loop never blocks.
    pub fn settle_online_check(&mut self, max: Duration) {
        if let Some(a) = self.awaiting.as_mut() {
            a.check.settle(max);
        }
    }

    /// Waits up to `max` of real time (each) for the workers under way —
    /// the online check, a print job on a blocking printer — so the next
    /// [`Runtime::tick`] takes their answers. Only for runs in virtual
    /// time (tests, scenarios), which then stay deterministic; the real
    /// loop never blocks.
    pub fn settle_workers(&mut self, max: Duration) {
        self.settle_online_check(max);
        self.deliveries.settle(max);
        if let Some(c) = self.centre.as_mut() {
            c.settle(max);
        }
        self.prints.settle(max);
        self.staff.check.settle(max);
    }

    /// Gives every delivery to the portal `deadline` before the request
    /// counts as unanswered and stays queued (default
    /// [`crate::services::delivering::DEFAULT_DELIVERY_DEADLINE`]).
    pub fn with_delivery_deadline(mut self, deadline: Duration) -> Self {
        self.deliveries.set_deadline(deadline);
        self
    }

    /// Whether a delivery to the portal is under way.
    pub fn delivering(&self) -> bool {
        self.deliveries.is_busy()
    }

    /// Gives every print job `deadline` before it counts as "the printer
    /// does not answer" (default
    /// [`crate::services::printing::DEFAULT_PRINT_DEADLINE`]).
    pub fn with_print_deadline(mut self, deadline: Duration) -> Self {
        self.prints.set_deadline(deadline);
        self
    }

    /// Gives the staff panel's camera and printer checks `deadline` each
    /// before their rows say "does not answer" (default
    /// [`crate::services::panelcheck::DEFAULT_PANEL_CHECK_DEADLINE`]).
    pub fn with_panel_check_deadline(mut self, deadline: Duration) -> Self {
        self.staff.check.set_deadline(deadline);
        self
    }

    /// Whether a print job is under way or waiting.
    pub fn printing(&self) -> bool {
        self.prints.is_busy()
    }

    /// The verification policy's verdict on this session's card, while
    /// one is identified.
    pub fn verified(&self) -> Option<&kiosk_firmware::trust::Trust> {
        self.verified.as_ref()
    }

    /// Keeps an audit log in `store`; `epoch` is the wall-clock time at
    /// `Timestamp::ZERO`.
    pub fn with_store(mut self, store: Store, epoch: UnixMillis) -> Self {
        self.store = Some(store);
        self.epoch = epoch;
        // Whatever the last run saw, nothing has printed in this one.
        self.save_printer_state("unknown");
        self.restore_out_of_service();
        self
    }

    /// Sets the wall-clock time at `Timestamp::ZERO` (without a store).
    pub fn with_epoch(mut self, epoch: UnixMillis) -> Self {
        self.epoch = epoch;
        self
    }

    /// Issues queue numbers with `ticketing` (needs a store).
    pub fn with_ticketing(mut self, ticketing: Ticketing) -> Self {
        self.ticketing = Some(ticketing);
        self
    }

    /// Files online requests with `service` (needs a store). Rows a crash
    /// left `sending` go back to `pending` now (start-up).
    pub fn with_requests(mut self, service: crate::services::requesting::RequestService) -> Self {
        if let Some(store) = self.store.as_mut() {
            match store.outbox_requeue_claimed() {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(rows = n, "outbox rows cut off mid-send put back to pending")
                }
                Err(e) => tracing::error!(error = %e, "cannot requeue the outbox"),
            }
        }
        self.requests = Some(service);
        self
    }

    /// The form being filled in, for the screen.
    pub fn form_screen(&self) -> Option<crate::services::requesting::FormScreen> {
        self.requests.as_ref().and_then(|r| r.screen())
    }

    /// The consent notice on the request-consent screen.
    pub fn consent_notice(&self) -> Option<&kiosk_firmware::requests::ConsentNotice> {
        match self.session.step() {
            StepKind::ExpectRequestConsent => self.requests.as_ref().and_then(|r| r.notice()),
            _ => None,
        }
    }

    /// The citizen typed `value` into the form's field `name`.
    pub fn set_form_field(
        &mut self,
        name: &str,
        value: &str,
        now: Timestamp,
    ) -> Result<(), kiosk_firmware::requests::FormError> {
        let result = match (self.session.step(), self.requests.as_mut()) {
            (StepKind::ExpectForm, Some(r)) => r.set_field(name, value),
            _ => Err(kiosk_firmware::requests::FormError::UnknownField(
                name.to_owned(),
            )),
        };
        self.input(Input::Activity, now);
        result
    }

    /// The printer's standing alert for staff, if any.
    pub fn printer_alert(&self) -> Option<PrinterAlert> {
        self.printer_alert
    }

    /// Anchors passive authentication in `trust`.
    pub fn with_trust_list(mut self, trust: kiosk_firmware::icao::pa::TrustList) -> Self {
        self.trust = trust;
        self
    }

    /// Tells systemd through `notifier` when the kiosk is ready, pets its
    /// watchdog from the run loop, and says when it stops.
    pub fn with_notifier(mut self, notifier: crate::drivers::notify::Notifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Reads the card QR with the camera at `qr`'s pace and policy (the
    /// default: a frame every 200 ms, the same text in two frames).
    pub fn with_qr_scanner(mut self, qr: crate::services::qrscan::QrService) -> Self {
        self.qr = qr;
        self
    }

    /// Whether the camera is looking for the card QR now.
    pub fn qr_scanning(&self) -> bool {
        self.qr.is_running()
    }

    /// What the camera's QR reader saw in this journey (counts only).
    pub fn qr_stats(&self) -> kiosk_firmware::cccd::scan::ScanStats {
        self.qr.stats()
    }

    /// Checks faces with `face`.
    pub fn with_face(mut self, face: crate::services::facecheck::FaceService) -> Self {
        self.face = Some(face);
        self.face_unavailable = None;
        self
    }

    /// Runs without face verification for `reason` (e.g. a model file is
    /// missing: name it); the staff panel shows it, face checks go to staff.
    pub fn without_face(mut self, reason: impl Into<String>) -> Self {
        self.face = None;
        self.face_unavailable = Some(reason.into());
        self
    }

    /// The store, if any.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Records an event in the audit log. `detail` carries no personal data.
    fn audit(&mut self, now: Timestamp, kind: &str, detail: serde_json::Value) {
        let at = UnixMillis(self.epoch.0.saturating_add(now.as_millis()));
        if let Some(store) = self.store.as_mut() {
            match store.audit(at, kind, &detail) {
                Ok(id) if kind == "card_read" => self.read_audit_id = Some(id),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, kind, "cannot write the audit log"),
            }
        }
    }

    /// Sets the printer's standing alert, and its state for the metrics
    /// endpoint when it changes.
    fn set_printer_alert(&mut self, alert: Option<PrinterAlert>) {
        self.printer_alert = alert;
        let state = printer_state(alert);
        if self.printer_state_saved != Some(state) {
            self.save_printer_state(state);
        }
    }

    fn save_printer_state(&mut self, state: &'static str) {
        if let Some(store) = self.store.as_mut() {
            match store.kv_set(metrics::PRINTER_STATE_KEY, state) {
                Ok(()) => self.printer_state_saved = Some(state),
                // Tried again at the next print.
                Err(e) => tracing::error!(error = %e, "cannot save the printer state"),
            }
        }
    }

    /// Adds one to a usage metric (no personal data: the label is a fixed
    /// name or a configuration code, see `firmware::metrics`).
    fn count(&mut self, now: Timestamp, metric: Metric, label: metrics::Label) {
        let at = self.wall(now);
        if let Some(store) = self.store.as_mut()
            && let Err(e) = store.count_usage(at, &[metrics::Count::one(metric, label)])
        {
            tracing::error!(error = %e, metric = metric.name(), "cannot count usage");
        }
    }

    /// The usage counts of the local day at `now` (for the staff panel).
    pub fn usage_today(&self, now: Timestamp) -> metrics::Usage {
        let day = kiosk_firmware::store::usage::day_of(self.wall(now));
        match (self.store.as_ref(), day) {
            (Some(store), Some(day)) => store.usage_of_day(&day).unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read today's usage");
                metrics::Usage::default()
            }),
            _ => metrics::Usage::default(),
        }
    }

    /// What the UI shows now.
    pub fn view(&self) -> SessionView {
        self.session.view()
    }

    /// The session's step.
    pub fn step(&self) -> StepKind {
        self.session.step()
    }

    /// Whether a chip read is under way (its driver holds the reader).
    pub fn reading_card(&self) -> bool {
        self.reading.is_some()
    }

    /// Whether the session or the runtime holds personal data.
    pub fn holds_personal_data(&self) -> bool {
        self.session.holds_personal_data()
            || self.vault.is_some()
            || self.verified.is_some()
            || self.awaiting.is_some()
            || self.reading.is_some()
            || self
                .requests
                .as_ref()
                .is_some_and(|r| r.holds_personal_data())
            || self.face.as_ref().is_some_and(|f| f.holds_personal_data())
            || self.qr.holds_personal_data()
    }

    /// Counters since start.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The devices (for staff diagnostics between journeys).
    pub fn devices_mut(&mut self) -> &mut Devices {
        &mut self.devices
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Feeds an input from the frontend.
    pub fn input(&mut self, input: Input, now: Timestamp) {
        // Only the runtime itself says that staff authenticated (after the
        // PIN on its keypad) or that the cabinet is closed (the switch): a
        // frontend's word for either is refused.
        if matches!(input, Input::StaffAuthenticated(_) | Input::CabinetClosed) {
            tracing::warn!(
                ?input,
                "a frontend cannot authenticate staff or close the cabinet"
            );
            return;
        }
        if self.staff_active() {
            // The session waits at the attract screen under staff mode.
            tracing::debug!(?input, "session input ignored while staff mode is open");
            return;
        }
        match (&input, self.session.step()) {
            // The form goes on only when every field is right; otherwise
            // the screen lists the problems (`form_screen`).
            (Input::FormConfirmed, StepKind::ExpectForm) => {
                let verification = self
                    .session
                    .view()
                    .verification
                    .unwrap_or(Verification::Anonymous);
                if !self
                    .requests
                    .as_mut()
                    .is_some_and(|r| r.confirm(verification))
                {
                    self.session.handle_input(Input::Activity, now);
                    self.drain(now);
                    return;
                }
            }
            (Input::Consent(true), StepKind::ExpectRequestConsent) => {
                let wall = self.wall(now);
                let record = self.requests.as_mut().and_then(|r| {
                    r.consented(wall);
                    r.notice().map(|n| {
                        serde_json::json!({
                            "notice_version": n.version,
                            "text_sha256": n.text_sha256(),
                            "given_by": n.given_by,
                        })
                    })
                });
                // The consent's printable record: the notice's version and
                // the hash of the exact text (PDP Law 91/2025/QH15).
                if let Some(record) = record {
                    self.audit(now, "request_consent", record);
                }
            }
            _ => {}
        }
        self.session.handle_input(input, now);
        self.drain(now);
    }

    /// Polls devices, fires due timeouts and carries out what follows.
    pub fn tick(&mut self, now: Timestamp) {
        self.last_tick = self.last_tick.max(now);
        self.pet_watchdog(now);
        self.poll_reader_home();
        self.poll_read(now);
        if now >= self.next_card_poll {
            self.next_card_poll = now + CARD_POLL_INTERVAL;
            self.poll_sensors(now);
            self.poll_card(now);
        }
        self.poll_face(now);
        self.poll_online(now);
        self.poll_deliveries(now);
        // Before the print jobs: a number the centre answered prints now.
        self.poll_centre(now);
        // Before the print jobs: a printer home from the panel's check
        // takes the waiting job at once.
        self.poll_panel_check(now);
        self.poll_printing(now);
        self.staff_tick(now);
        self.poll_qr(now);
        // Deliver the outbox while nobody uses the kiosk (on a worker: a
        // slow portal holds nobody up).
        if self.session.step() == StepKind::Attract
            && self
                .requests
                .as_ref()
                .is_some_and(|r| r.flush_due(self.wall(now)))
        {
            self.flush_outbox(now);
        }
        if self.session.poll_timeout().is_some_and(|at| at <= now) {
            self.session.handle_timeout(now);
        }
        self.drain(now);
    }

    /// When the loop should run [`Runtime::tick`] next.
    pub fn next_wakeup(&self) -> Timestamp {
        [
            self.session.poll_timeout(),
            self.face.as_ref().and_then(|f| f.next_wakeup()),
            self.staff_deadline(),
            self.qr.next_wakeup(),
            self.awaiting.as_ref().map(|a| a.check.deadline()),
            self.reading.as_ref().and_then(|r| r.driver.next_wakeup()),
            // Print jobs wait while the panel's check holds the printer.
            self.prints
                .next_wakeup()
                .filter(|_| !self.staff.check.holds_printer()),
            self.staff.check.next_wakeup(),
            self.deliveries.next_wakeup(),
            self.centre.as_ref().and_then(|c| c.next_wakeup()),
            self.next_watchdog,
        ]
        .into_iter()
        .flatten()
        .fold(self.next_card_poll, Timestamp::min)
    }

    /// Runs until `stop` is set or the frontend quits, reading the real
    /// monotonic clock (from where the runtime's last tick left it): a
    /// [`Runtime::turn`] after another.
    pub fn run(&mut self, frontend: &mut dyn Frontend, stop: &AtomicBool) {
        #[expect(
            clippy::disallowed_methods,
            reason = "the runtime is the one place that reads the clock"
        )]
        let start = Instant::now();
        let origin = self.last_tick;
        let now = || {
            origin
                + Duration::from_millis(
                    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                )
        };
        let mut shown = Shown::default();
        frontend.clock(now());
        frontend.show(&self.view(), &[]);
        shown.view = Some(self.view());
        if let Some(n) = &self.notifier
            && let Err(e) = n.ready(&format!("kiosk on {}", self.devices.board))
        {
            tracing::warn!(error = %e, "cannot tell systemd the kiosk is ready");
        }
        while !stop.load(Ordering::Relaxed) {
            if self.turn(frontend, now(), &mut shown, &now) == Turn::Quit {
                break;
            }
        }
        self.shutdown();
    }

    /// One turn of the run loop, the one body every loop drives (the real
    /// one, [`Runtime::run`]; the scenario player in virtual time): at
    /// `now`, every driver is moved along ([`Runtime::tick`]), what changed
    /// is shown, and the frontend waits for input at most until the next
    /// wake-up ([`Runtime::next_wakeup`]); its input is handed in at
    /// `clock()` (the time after the wait).
    pub fn turn(
        &mut self,
        frontend: &mut dyn Frontend,
        now: Timestamp,
        shown: &mut Shown,
        clock: &dyn Fn() -> Timestamp,
    ) -> Turn {
        self.tick(now);
        self.present(frontend, now, shown);
        let wait = self.next_wakeup().saturating_since(clock());
        let input = frontend.wait_input(wait);
        self.hand_in(frontend, input, clock())
    }

    /// Shows the session, the request form and staff mode on `frontend`
    /// where they changed since `shown` (every time, if `shown` says so).
    fn present(&mut self, frontend: &mut dyn Frontend, now: Timestamp, shown: &mut Shown) {
        let events = self.take_events();
        let view = self.view();
        if shown.every_turn || !events.is_empty() || shown.view.as_ref() != Some(&view) {
            frontend.clock(now);
            frontend.show(&view, &events);
            if matches!(
                view.step,
                StepKind::ExpectForm | StepKind::ExpectRequestConsent
            ) {
                frontend.show_request(self.form_screen().as_ref(), self.consent_notice());
            }
            shown.view = Some(view);
        }
        staff::show(self, frontend, now, &mut shown.staff);
    }

    /// Hands one input of the frontend in at `now`.
    fn hand_in(
        &mut self,
        frontend: &mut dyn Frontend,
        input: FrontendInput,
        now: Timestamp,
    ) -> Turn {
        match input {
            FrontendInput::Input(input) => self.input(input, now),
            FrontendInput::Reprint(number) => {
                // The job's end is audited like any print.
                if let Err(e) = self.reprint_ticket(&number, now) {
                    tracing::warn!(%number, error = %e, "cannot re-print");
                }
                self.update_lights();
            }
            FrontendInput::FormField { name, value } => {
                let result = self.set_form_field(&name, value.as_str(), now);
                if let Err(e) = &result {
                    tracing::warn!(field = %name, error = %e, "form field not set");
                }
                frontend.show_request(self.form_screen().as_ref(), None);
            }
            FrontendInput::Staff(input) => {
                self.staff_input(input, now);
                if let Some(config) = self.take_reconfigured() {
                    frontend.reconfigured(&config);
                }
            }
            FrontendInput::Quit => return Turn::Quit,
            FrontendInput::Nothing => return Turn::Idle,
        }
        Turn::Handled
    }

    /// Ends any journey and switches everything off.
    pub fn shutdown(&mut self) {
        if let Some(n) = &self.notifier
            && let Err(e) = n.stopping()
        {
            tracing::warn!(error = %e, "cannot tell systemd the kiosk stops");
        }
        self.wipe();
        if let Err(e) = self.devices.indicators.all_off() {
            tracing::warn!(error = %e, "cannot switch the lights off");
        }
    }

    /// Reads the tamper switch and the presence sensor and acts on their
    /// edges: an opened cabinet ends any journey at once (wiping it) and
    /// alerts staff; someone arriving wakes the attract screen.
    fn poll_sensors(&mut self, now: Timestamp) {
        let state = match self.devices.sensors.read() {
            Ok(s) => s,
            Err(e) => {
                self.counters.device_errors += 1;
                tracing::warn!(error = %e, "cannot read the kiosk's switches");
                return;
            }
        };
        let before = std::mem::replace(&mut self.switches, state);
        if state.tampered && !before.tampered {
            tracing::error!("staff alert: the kiosk's cabinet was opened");
            self.audit(
                now,
                "staff_alert",
                serde_json::json!({ "device": "cabinet", "alert": "tamper" }),
            );
            self.counters.tamper_alerts += 1;
            self.session.handle_input(Input::Tampered, now);
        } else if !state.tampered && before.tampered {
            tracing::info!("the kiosk's cabinet is closed again");
            self.audit(now, "cabinet_closed", serde_json::json!({}));
        }
        // The session learns the switch's level too (after a restart out
        // of service it assumes the cabinet open until the switch says
        // otherwise).
        if !state.tampered && self.session.cabinet_open() {
            self.session.handle_input(Input::CabinetClosed, now);
        }
        if state.presence && !before.presence {
            self.session.handle_input(Input::PresenceDetected, now);
        }
    }

    fn poll_card(&mut self, now: Timestamp) {
        // While a read holds the reader, its exchanges tell a card that
        // left (the read ends with `card_removed`).
        if self.reading.is_some() || self.reader_away.is_some() {
            return;
        }
        match self.devices.reader.presence() {
            Ok(presence) => {
                let present = presence == Presence::Present;
                if present != self.card_present {
                    self.card_present = present;
                    tracing::info!(present, "card presence changed");
                    // Under staff mode a card starts nothing; at the
                    // attract screen a staff card opens staff mode. (The
                    // keypad that authorises a decision is no staff mode:
                    // the citizen's card leaving still ends the journey.)
                    if self.staff_panel_active() || (present && self.staff_card(now)) {
                        return;
                    }
                    let input = if present {
                        Input::CardPresented
                    } else {
                        Input::CardRemoved
                    };
                    self.session.handle_input(input, now);
                }
            }
            Err(e) => {
                self.counters.device_errors += 1;
                tracing::warn!(error = %e, "card reader presence poll failed");
            }
        }
    }

    fn drain(&mut self, now: Timestamp) {
        // Actions may feed inputs back (a finished operation), which may
        // produce further outputs: loop until quiet.
        loop {
            while let Some(output) = self.session.poll_output() {
                match output {
                    Output::Action(action) => self.perform(action, now),
                    Output::Event(event) => self.observe(event, now),
                }
            }
            if !self.follow_qr_camera(now) {
                break;
            }
        }
        self.update_lights();
    }

    /// Starts the QR camera when the session waits for the access key and
    /// stops it when it does not; tells the session whether it watches.
    /// Returns whether the session was told something.
    fn follow_qr_camera(&mut self, now: Timestamp) -> bool {
        if self.session.step() != StepKind::ExpectAccessKey {
            if self.qr.is_running() {
                self.qr.stop();
                self.stop_camera();
            }
            return false;
        }
        if self.session.qr_camera().is_some() {
            return false;
        }
        let state = if self.qr.is_running() {
            QrCamera::Watching
        } else {
            match self.devices.camera.start() {
                Ok(format) => {
                    tracing::info!(
                        width = format.width,
                        height = format.height,
                        "camera started for the card QR"
                    );
                    self.qr.start(now);
                    QrCamera::Watching
                }
                Err(e) => {
                    self.counters.device_errors += 1;
                    tracing::warn!(error = %e, "no camera for the card QR: the keypad only");
                    QrCamera::Unavailable
                }
            }
        };
        self.session.handle_input(Input::QrCamera(state), now);
        true
    }

    /// Moves the QR camera along: a good read becomes the access key.
    fn poll_qr(&mut self, now: Timestamp) {
        use crate::services::qrscan::QrStep;
        match self.qr.poll(self.devices.camera.as_mut(), now) {
            QrStep::Nothing => {}
            QrStep::Read(text) => {
                self.qr.stop();
                self.stop_camera();
                let stats = self.qr.stats();
                // Counts only: the text is the citizen's name and ID.
                tracing::info!(
                    frames = stats.frames,
                    ignored = stats.ignored,
                    "card QR read by the camera"
                );
                self.session.handle_input(
                    Input::AccessKey(AccessKey::CardQr(text.as_str().to_owned())),
                    now,
                );
            }
            QrStep::CameraFailed => {
                self.counters.device_errors += 1;
                self.stop_camera();
                self.session
                    .handle_input(Input::QrCamera(QrCamera::Unavailable), now);
            }
        }
    }

    fn observe(&mut self, event: Event, now: Timestamp) {
        if let Event::StepChanged {
            from: StepKind::Attract,
            to,
        } = &event
            && !matches!(
                to,
                StepKind::Attract | StepKind::Notice | StepKind::OutOfService
            )
            && !self.journey_open
        {
            self.journey_open = true;
            self.count(now, Metric::JourneysStarted, metrics::Label::NONE);
        }
        if let Event::Rated { score } = &event {
            self.count(now, Metric::Ratings, metrics::rating(*score));
        }
        if let Event::Ended(reason) = &event
            && std::mem::take(&mut self.journey_open)
        {
            self.count(now, Metric::JourneysEnded, metrics::end_reason(reason));
        }
        if let Event::Ended(reason) = &event {
            self.audit(
                now,
                "journey_ended",
                serde_json::json!({ "reason": reason }),
            );
            let c = &mut self.counters;
            match reason {
                EndReason::Completed => c.completed += 1,
                EndReason::Cancelled => c.cancelled += 1,
                EndReason::TimedOut => c.timed_out += 1,
                EndReason::CardRemoved | EndReason::Fault(Fault::CardRemoved) => {
                    c.card_removed += 1
                }
                EndReason::Fault(_) => c.faults += 1,
            }
            tracing::info!(?reason, "journey ended");
        }
        if let Event::StepChanged {
            from: StepKind::IssuingTicket,
            ..
        } = &event
        {
            // The session moved on (Cancel, a time-out): a ticket still
            // printing is printed and recorded, but tells no one.
            for purpose in self.prints.purposes_mut() {
                if let Purpose::Ticket { session, .. } = purpose {
                    *session = false;
                }
            }
            if let Some(desk) = self.centre.as_mut() {
                for purpose in desk.issue_purposes_mut() {
                    purpose.session = false;
                }
            }
        }
        if let Event::StepChanged {
            from: StepKind::SubmittingRequest,
            ..
        } = &event
        {
            // The session moved on: the request stays in the outbox, its
            // delivery and receipt tell no one.
            if let Some(DeliveryFor::Submit { session, .. }) = self.deliveries.purpose_mut() {
                *session = false;
            }
            for purpose in self.prints.purposes_mut() {
                if let Purpose::Receipt { session, .. } = purpose {
                    *session = false;
                }
            }
        }
        if let Event::StepChanged { from, to } = &event {
            tracing::debug!(?from, ?to, "step");
            if *to == StepKind::OutOfService {
                self.out_of_service_entered(now);
            }
        }
        self.observe_staff(&event, now);
        self.events.push(event);
    }

    fn perform(&mut self, action: Action, now: Timestamp) {
        match action {
            Action::ReadDocument(key) => {
                // The key screen is over: the QR camera stops and forgets
                // its last frame before the chip is read (it starts again
                // if the key is refused).
                if self.qr.is_running() {
                    self.qr.stop();
                    self.stop_camera();
                }
                // The read goes on in `poll_read`, one exchange per tick.
                if let Err(failure) = self.start_read(key, now) {
                    self.finish_read(Err(failure), now);
                }
            }
            Action::AbortRead => {
                // A check under way is abandoned: its late answer is dropped.
                self.awaiting = None;
                self.abandon_read(now);
            }
            Action::StartFaceCheck { attempt } => {
                if let Err(outcome) = self.start_face_check(attempt, now) {
                    self.stop_camera();
                    self.count(now, Metric::FaceChecks, metrics::face_outcome(outcome));
                    self.session.handle_input(Input::FaceFinished(outcome), now);
                }
            }
            Action::StopFaceCheck => {
                if let Some(face) = self.face.as_mut() {
                    face.stop();
                }
                self.stop_camera();
            }
            Action::CallStaff(reason) => {
                self.audit(now, "staff_called", serde_json::json!({ "reason": reason }));
                self.count(now, Metric::StaffCalls, metrics::staff_reason(reason));
                self.call_staff(reason);
            }
            Action::IssueTicket {
                service,
                priority,
                verification,
                share_identity,
            } => {
                let purpose = match priority {
                    Some(_) => kiosk_firmware::trust::Purpose::PriorityTicket { service: &service },
                    None => kiosk_firmware::trust::Purpose::Ticket { service: &service },
                };
                // The number is drawn now; the print job tells the session
                // when it ends (`print_ended`).
                // In centre mode the centre is asked on a worker; its
                // answer prints (`poll_centre`).
                let result = self.permit(verification, purpose, now).and_then(|()| {
                    if self.centre.is_some() {
                        self.issue_centre(&service, priority, verification, share_identity, now)
                    } else {
                        self.issue_ticket(&service, priority, verification, now)
                    }
                });
                if let Err(fault) = result {
                    self.session
                        .handle_input(Input::TicketFinished(Err(fault)), now);
                }
            }
            Action::PrepareForm { procedure } => {
                let verification = self
                    .session
                    .view()
                    .verification
                    .unwrap_or(Verification::Anonymous);
                let purpose = kiosk_firmware::trust::Purpose::OnlineRequest {
                    procedure: &procedure,
                };
                if let Err(fault) = self.permit(verification, purpose, now) {
                    self.session
                        .handle_input(Input::RequestFinished(Err(fault)), now);
                    return;
                }
                let prepared = match (self.requests.as_mut(), self.vault.as_ref()) {
                    (Some(r), Some(vault)) => r.prepare(&procedure, &vault.citizen).is_ok(),
                    _ => false,
                };
                if !prepared {
                    tracing::error!(%procedure, "no such procedure, or this kiosk files no requests");
                    self.session
                        .handle_input(Input::RequestFinished(Err(Fault::RequestNotQueued)), now);
                }
            }
            Action::SubmitRequest {
                procedure,
                verification,
            } => {
                let purpose = kiosk_firmware::trust::Purpose::OnlineRequest {
                    procedure: &procedure,
                };
                // The request goes into the outbox now; its delivery and
                // its receipt's print tell the session when they end.
                let result = self
                    .permit(verification, purpose, now)
                    .and_then(|()| self.submit_request(&procedure, verification, now));
                if let Err(fault) = result {
                    self.session
                        .handle_input(Input::RequestFinished(Err(fault)), now);
                }
            }
            Action::RecordRating { subject, score } => {
                // The subject's kind only: a ticket number or receipt code
                // is not needed to count satisfaction.
                let kind = match subject {
                    kiosk_firmware::session::RatingSubject::Ticket(_) => "ticket",
                    kiosk_firmware::session::RatingSubject::Request(_) => "request",
                    kiosk_firmware::session::RatingSubject::Visit => "visit",
                };
                tracing::info!(score, kind, "satisfaction rating");
                self.audit(
                    now,
                    "rating",
                    serde_json::json!({ "score": score, "subject": kind }),
                );
                // To the centre's statistics, off the loop.
                self.rating_for_centre(&subject, score, now);
            }
            Action::WipePersonalData => self.wipe(),
        }
    }

    fn finish_read(&mut self, result: Result<Holder, ReadFailure>, now: Timestamp) {
        self.count(
            now,
            Metric::Identifications,
            metrics::identification(&result),
        );
        self.session.handle_input(Input::ReadFinished(result), now);
    }

    /// Moves the online check along: its answer (or its deadline passing)
    /// completes the waiting read through the verification policy.
    fn poll_online(&mut self, now: Timestamp) {
        let wall = self.wall(now).0;
        let Some(outcome) = self.awaiting.as_mut().and_then(|a| a.check.poll(now, wall)) else {
            return;
        };
        let Some(awaiting) = self.awaiting.take() else {
            return;
        };
        if self.session.step() != StepKind::Reading {
            return;
        }
        let mut verdict = awaiting.verdict;
        kiosk_firmware::trust::apply_online(&mut verdict, &outcome);
        let records = if verdict.refused() {
            None
        } else {
            awaiting.records
        };
        let result = self.conclude_read(verdict, records, Some(&outcome), now);
        self.finish_read(result, now);
    }

    /// Starts the online check of `document`, if it can be asked.
    fn start_online_check(
        &mut self,
        document: &kiosk_firmware::icao::reader::Document,
        now: Timestamp,
    ) -> Option<crate::online::c06::OnlineCheck> {
        let client = self.c06.clone()?;
        let (request, pending) = match client.prepare(document) {
            Ok(prepared) => prepared,
            Err(e) => {
                // No check: the card stays unanchored and is refused.
                tracing::warn!(error = %e, "no online check for this read");
                return None;
            }
        };
        tracing::info!(request_id = %pending.request_id, "asking the identity authority (C06)");
        self.audit(
            now,
            "online_check",
            serde_json::json!({
                "request_id": pending.request_id,
                "photo_sent": request.dg2.is_some(),
            }),
        );
        Some(crate::online::c06::OnlineCheck::start(
            client, request, pending, now,
        ))
    }

    /// Starts reading the chip with the key the citizen gave: the reader
    /// goes to a [`crate::services::reading::ReadDriver`] (on a worker
    /// thread when the board's calls block), polled by
    /// [`Runtime::poll_read`].
    fn start_read(&mut self, key: AccessKey, now: Timestamp) -> Result<(), ReadFailure> {
        use crate::services::reading::{DEFAULT_READ_DEADLINE, ReadDriver, Transport};
        use kiosk_firmware::cccd::{self, date::Date};
        use kiosk_firmware::icao::reader::ReadOptions;
        self.abandon_read(now);
        let wall = self.epoch.0.saturating_add(now.as_millis());
        let today = Date::in_vietnam(wall)
            .or_else(|| Date::new(2026, 1, 1))
            .ok_or(ReadFailure::Fault(Fault::Internal))?;
        let Ok(keys) = cccd::keys_for(&key, today) else {
            // Not a card QR, or mistyped: ask again.
            return Err(ReadFailure::WrongAccessKey);
        };
        let seed = crate::services::reading::os_seed().map_err(|e| {
            tracing::error!(error = %e, "no OS entropy for the reader");
            ReadFailure::Fault(Fault::Internal)
        })?;
        self.poll_reader_home();
        if self.reader_away.is_some() {
            // The last read's worker is still stuck in an exchange.
            self.counters.device_errors += 1;
            tracing::warn!("the card reader has not come back from the last read");
            return Err(ReadFailure::Fault(Fault::ReaderUnavailable));
        }
        // A reader on which extended length was refused before starts
        // short (`ReaderMemory`).
        let options = ReadOptions {
            extended_length: !self
                .devices
                .reader_memory
                .starts_short(&self.devices.reader_name),
            ..ReadOptions::default()
        };
        let transport = if self.devices.blocking {
            Transport::Worker
        } else {
            Transport::Inline
        };
        let reader = std::mem::replace(
            &mut self.devices.reader,
            Box::new(crate::drivers::LentReader),
        );
        let driver = ReadDriver::start(
            reader,
            transport,
            keys,
            seed,
            options,
            now,
            DEFAULT_READ_DEADLINE,
        );
        self.reading = Some(Reading { driver, key, today });
        Ok(())
    }

    /// Moves the chip read along: one exchange, its progress to the
    /// session as it happens, and at the end the verification.
    fn poll_read(&mut self, now: Timestamp) {
        let Some(reading) = self.reading.as_mut() else {
            return;
        };
        let session = &mut self.session;
        let outcome = reading.driver.poll(now, &mut |done, total| {
            session.handle_input(Input::ReadProgress { done, total }, now);
        });
        let Some(outcome) = outcome else {
            return;
        };
        let Some(reading) = self.reading.take() else {
            return;
        };
        let Reading { driver, key, today } = reading;
        self.reclaim(driver.into_reader());
        let name = self.devices.reader_name.clone();
        self.devices.reader_memory.learn(&name, &outcome.1);
        let result = match self.read_finished(outcome, &key, today, now) {
            // The identity authority is asked; `poll_online` finishes the
            // read.
            Ok(None) => {
                self.session.handle_input(Input::AuthorityCheck, now);
                return;
            }
            Ok(Some(holder)) => Ok(holder),
            Err(e) => Err(e),
        };
        self.finish_read(result, now);
    }

    /// Abandons the read under way (Cancel, the card removed, the read
    /// deadline, the cabinet opened): the reader disconnects, what was read
    /// is dropped, the audit log gets the reason's code.
    fn abandon_read(&mut self, now: Timestamp) {
        let Some(reading) = self.reading.take() else {
            return;
        };
        let (stats, back) = reading.driver.abandon();
        self.reclaim(back);
        let view = self.session.view();
        let reason = match (view.step, view.fault) {
            (StepKind::OutOfService, _) => serde_json::json!("out_of_service"),
            (_, Some(fault)) => serde_json::json!(fault),
            _ => serde_json::json!("cancelled"),
        };
        tracing::info!(%reason, apdus = stats.apdus, "chip read abandoned");
        self.audit(
            now,
            "card_read_abandoned",
            serde_json::json!({ "reason": reason, "apdus": stats.apdus }),
        );
    }

    /// Puts the reader back once a read let it go.
    fn reclaim(&mut self, back: crate::services::reading::ReaderBack) {
        use crate::services::reading::ReaderBack;
        match back {
            ReaderBack::Now(reader) => self.devices.reader = reader,
            ReaderBack::Later(home) => {
                self.reader_away = Some(home);
                self.poll_reader_home();
            }
            ReaderBack::Borrowed => {}
        }
    }

    /// Takes the reader back from a read's worker when it has come.
    fn poll_reader_home(&mut self) {
        use std::sync::mpsc::TryRecvError;
        let Some(home) = self.reader_away.as_ref() else {
            return;
        };
        match home.try_recv() {
            Ok(reader) => {
                self.devices.reader = reader;
                self.reader_away = None;
            }
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => {
                self.reader_away = None;
                self.counters.device_errors += 1;
                tracing::error!("the card read's worker ended without the reader");
            }
        }
    }

    /// Pets systemd's watchdog when it is due: from the loop itself, so a
    /// hung loop stops petting it and systemd restarts the kiosk.
    fn pet_watchdog(&mut self, now: Timestamp) {
        let Some(n) = &self.notifier else {
            return;
        };
        let Some(interval) = n.watchdog_interval() else {
            return;
        };
        if self.next_watchdog.is_some_and(|at| now < at) {
            return;
        }
        self.next_watchdog = Some(now + interval);
        if let Err(e) = n.watchdog() {
            tracing::warn!(error = %e, "cannot pet the systemd watchdog");
        }
    }

    /// Identifies the document a read brought (or audits why it did not).
    /// `Ok(None)`: the card is intact but unanchored and the identity
    /// authority is being asked ([`Runtime::poll_online`] finishes).
    fn read_finished(
        &mut self,
        (result, stats): crate::services::reading::ReadOutcome,
        key: &AccessKey,
        today: kiosk_firmware::cccd::date::Date,
        now: Timestamp,
    ) -> Result<Option<Holder>, ReadFailure> {
        use kiosk_firmware::icao::reader::ReadError;
        use kiosk_firmware::trust;
        let wall = self.epoch.0.saturating_add(now.as_millis());
        let document = match result {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, apdus = stats.apdus, "chip read failed");
                // Every failed read leaves its cause in the audit log (a
                // code: no personal data), so a refused chip is traceable.
                self.audit(
                    now,
                    "card_read_failed",
                    serde_json::json!({ "reason": e.code(), "apdus": stats.apdus }),
                );
                return Err(match e {
                    ReadError::WrongAccessKey | ReadError::NoUsableAccessControl => {
                        ReadFailure::WrongAccessKey
                    }
                    ReadError::NotAnEmrtd => ReadFailure::Fault(Fault::NotAnIdCard),
                    // The reader stops at a failed chip authentication; its
                    // `card_read_failed` entry above says `ca_failed`.
                    ReadError::ChipAuthenticationFailed => {
                        ReadFailure::Fault(Fault::DocumentNotGenuine)
                    }
                    ReadError::CardRemoved => ReadFailure::Fault(Fault::CardRemoved),
                    ReadError::Transport(ErrorKind::Io | ErrorKind::Other | ErrorKind::Busy) => {
                        self.counters.device_errors += 1;
                        ReadFailure::Fault(Fault::ReaderUnavailable)
                    }
                    // A chip (or an RF relay) that breaks the protocol is
                    // not a damaged card: it is refused as not genuine.
                    ReadError::Hostile(_) => ReadFailure::Fault(Fault::DocumentNotGenuine),
                    _ => ReadFailure::Fault(Fault::UnreadableCard),
                });
            }
        };
        self.audit(
            now,
            "card_read",
            serde_json::json!({
                "access": document.access,
                "apdus": stats.apdus,
                "bytes": stats.bytes,
                "extended_length": stats.extended_length,
                "resumed": document.resumed,
                "fallbacks": stats.fallbacks,
            }),
        );
        // The verification policy judges the read (passive, active and
        // chip authentication, the records, the key, the dates); the
        // runtime only carries out its answer.
        let (verdict, records) = trust::evaluate(&document, key, &self.trust, wall / 1000, today);
        // Intact but unanchored: ask the identity authority when configured
        // (an anchored chain never needs it; a card refused anyway is not
        // sent anywhere).
        if trust::needs_online(&verdict)
            && let Some(check) = self.start_online_check(&document, now)
        {
            self.awaiting = Some(AwaitingAuthority {
                check,
                verdict,
                records,
            });
            return Ok(None);
        }
        self.conclude_read(verdict, records, None, now).map(Some)
    }

    /// The verification policy's decision on a read, audited as codes; the
    /// records go to the vault when the card is accepted.
    fn conclude_read(
        &mut self,
        verdict: kiosk_firmware::trust::Trust,
        records: Option<kiosk_firmware::cccd::Identified>,
        online: Option<&kiosk_firmware::trust::online::Outcome>,
        now: Timestamp,
    ) -> Result<Holder, ReadFailure> {
        use kiosk_firmware::trust;
        let decision = trust::permits(&self.policy, &verdict, trust::Purpose::Identify);
        self.audit(
            now,
            "trust",
            serde_json::json!({
                "trust": verdict,
                "source": verdict.genuineness.source(),
                "online": online.map(crate::online::c06::outcome_codes),
                "decision": match &decision {
                    Ok(()) => "accepted".to_owned(),
                    Err(refusal) => refusal.code(),
                },
            }),
        );
        let offline = matches!(
            verdict.genuineness,
            trust::Genuineness::UnverifiedOffline { .. }
        );
        if offline && decision.is_ok() {
            // Never silent: the citizen sees it on the menu, staff on the
            // panel's last errors, the log and the audit (codes only).
            tracing::warn!(
                "identity unverified offline: the identity authority did not answer; \
                 only what [trust] allows at that level"
            );
            if let Some(kiosk_firmware::trust::online::Outcome::NoAnswer(cause)) = online {
                self.audit(
                    now,
                    "unverified_offline",
                    serde_json::json!({ "cause": cause.code() }),
                );
            }
        }
        if let Some(kiosk_firmware::trust::online::Outcome::Invalid(reason)) = online {
            // Someone forges or replays the authority's answers, or the
            // pinned key or the endpoint is wrong: staff must look.
            tracing::error!(?reason, "the identity authority's verdict is invalid");
            self.audit(
                now,
                "authority_verdict_invalid",
                serde_json::json!({ "reason": reason }),
            );
        }
        if let Err(refusal) = decision {
            tracing::warn!(reason = %refusal.code(), "the card is refused");
            return Err(ReadFailure::Fault(refusal.fault()));
        }
        let Some(identified) = records else {
            // `evaluate` gives records whenever it refuses nothing.
            return Err(ReadFailure::Fault(Fault::UnreadableCard));
        };
        let holder = Holder {
            full_name: identified.citizen.full_name.clone(),
            id_number: identified.citizen.id_number.clone(),
            date_of_birth: identified.citizen.date_of_birth.clone(),
            has_face_photo: !verdict.guardian_path,
            menu_notice: if verdict.validity == trust::Validity::Expired {
                Some(Fault::DocumentExpired)
            } else {
                offline.then_some(Fault::UnverifiedOffline)
            },
        };
        self.vault = Some(identified);
        self.verified = Some(verdict);
        Ok(holder)
    }

    /// Asks the verification policy whether this session's card may have
    /// `purpose`; a refusal is audited with its code. Walk-ins (no card)
    /// only take plain numbers, which need no card.
    fn permit(
        &mut self,
        verification: Verification,
        purpose: kiosk_firmware::trust::Purpose<'_>,
        now: Timestamp,
    ) -> Result<(), Fault> {
        use kiosk_firmware::trust::{Purpose, Refusal};
        let (kind, subject) = match purpose {
            Purpose::Identify => ("identify", ""),
            Purpose::Ticket { service } => ("ticket", service),
            Purpose::PriorityTicket { service } => ("priority_ticket", service),
            Purpose::OnlineRequest { procedure } => ("online_request", procedure),
        };
        let decision = match (&self.verified, verification) {
            (Some(verdict), _) => kiosk_firmware::trust::permits(&self.policy, verdict, purpose),
            (None, Verification::Anonymous) if kind != "online_request" => return Ok(()),
            // Identified without a verdict, or a request without a card:
            // never served as verified.
            (None, _) => Err(Refusal::RecordsUnreadable),
        };
        decision.map_err(|refusal| {
            tracing::info!(purpose = kind, reason = %refusal.code(), "refused by the verification policy");
            self.audit(
                now,
                "trust_refused",
                serde_json::json!({
                    "purpose": kind,
                    "subject": subject,
                    "reason": refusal.code(),
                }),
            );
            refusal.fault()
        })
    }

    fn wall(&self, now: Timestamp) -> UnixMillis {
        UnixMillis(self.epoch.0.saturating_add(now.as_millis()))
    }

    /// What the verified chip says of the holder's age.
    fn age_evidence(&self, verification: Verification) -> kiosk_firmware::queue::AgeEvidence {
        use kiosk_firmware::queue::AgeEvidence;
        if verification == Verification::Anonymous {
            return AgeEvidence::Unknown;
        }
        self.vault
            .as_ref()
            .and_then(|v| {
                kiosk_firmware::cccd::date::Date::parse_dmy_slashed(&v.citizen.date_of_birth)
            })
            .map_or(AgeEvidence::Unknown, AgeEvidence::Verified)
    }

    /// Starts a face-check attempt: the camera, then the engine's check.
    fn start_face_check(
        &mut self,
        attempt: u8,
        now: Timestamp,
    ) -> Result<(), kiosk_firmware::session::FaceOutcome> {
        use kiosk_firmware::face::liveness::TurnDirection;
        use kiosk_firmware::session::FaceOutcome;
        let Some(face) = self.face.as_mut() else {
            tracing::error!("no face engine configured: handing over to staff");
            return Err(FaceOutcome::Unavailable);
        };
        // The liveness policy first: a required model that is missing
        // refuses the check before the camera starts.
        if let Err(refusal) = face.admit() {
            tracing::error!(reason = %refusal, "face check refused: handing over to staff");
            return Err(FaceOutcome::Unavailable);
        }
        let Some(photo) = self.vault.as_ref().and_then(|v| v.face.as_ref()) else {
            tracing::warn!("the chip has no photo to compare with");
            return Err(FaceOutcome::PhotoUnusable);
        };
        let format = self.devices.camera.start().map_err(|e| {
            self.counters.device_errors += 1;
            tracing::warn!(error = %e, "camera failed to start");
            FaceOutcome::CameraFault
        })?;
        tracing::info!(
            attempt,
            width = format.width,
            height = format.height,
            "camera started"
        );
        // The side of the head turn is drawn afresh for every attempt, so
        // a prepared video cannot know it.
        let turn =
            TurnDirection::from_random(crate::services::reading::os_seed().map_or(0, |s| s[0]));
        face.start(photo, turn, now)
    }

    /// Moves the face check along and hands its results to the session.
    fn poll_face(&mut self, now: Timestamp) {
        use crate::services::facecheck::FaceStep;
        let Some(face) = self.face.as_mut().filter(|f| f.is_running()) else {
            return;
        };
        for step in face.poll(self.devices.camera.as_mut(), now) {
            match step {
                FaceStep::Guidance(g) => {
                    self.session
                        .handle_input(Input::FaceGuidance(g.into()), now);
                }
                FaceStep::Finished { outcome, decision } => {
                    if let Some(d) = &decision {
                        let models = self
                            .face
                            .as_ref()
                            .map(|f| f.models().clone())
                            .unwrap_or_default();
                        // Score, threshold, quality, liveness and model
                        // hashes: never an image or an embedding.
                        tracing::info!(
                            outcome = ?d.outcome,
                            score = ?d.score,
                            threshold = d.threshold,
                            frames = d.frames_seen,
                            scored = d.frames_scored,
                            challenge = ?d.challenge,
                            passive = ?d.passive,
                            "face decision"
                        );
                        self.audit(
                            now,
                            "face_decision",
                            serde_json::json!({ "decision": d, "models": models }),
                        );
                    } else {
                        self.counters.device_errors += 1;
                    }
                    self.stop_camera();
                    self.count(now, Metric::FaceChecks, metrics::face_outcome(outcome));
                    self.session.handle_input(Input::FaceFinished(outcome), now);
                }
            }
        }
    }

    fn call_staff(&mut self, reason: StaffReason) {
        self.counters.staff_calls += 1;
        tracing::warn!(?reason, "staff called to the kiosk");
    }

    fn stop_camera(&mut self) {
        if let Err(e) = self.devices.camera.stop() {
            tracing::warn!(error = %e, "cannot stop the camera");
        }
    }

    /// Forgets everything personal the runtime holds and releases the
    /// devices that saw it.
    fn wipe(&mut self) {
        // Citizen, MRZ and photo zeroize on drop; so does the form.
        self.vault = None;
        self.read_audit_id = None;
        self.verified = None;
        // A verdict (and the read waiting for one) never outlives the
        // session.
        self.awaiting = None;
        if let Some(requests) = self.requests.as_mut() {
            requests.wipe();
        }
        if let Some(face) = self.face.as_mut() {
            face.wipe();
        }
        self.qr.wipe();
        self.stop_camera();
        // A read still under way goes too (its bytes are personal data).
        if let Some(reading) = self.reading.take() {
            let (_, back) = reading.driver.abandon();
            self.reclaim(back);
        }
    }

    fn update_lights(&mut self) {
        let step = self.session.step();
        if self.lit == Some(step) {
            return;
        }
        self.lit = Some(step);
        let (ready, busy, fault, slot) = match step {
            StepKind::Attract => (true, false, false, true),
            StepKind::ExpectAccessKey | StepKind::Reading => (false, true, false, true),
            StepKind::FaceCheck | StepKind::IssuingTicket | StepKind::SubmittingRequest => {
                (false, true, false, false)
            }
            StepKind::StaffAssist | StepKind::Notice | StepKind::OutOfService => {
                (false, false, true, false)
            }
            _ => (true, false, false, false),
        };
        // A printer that cannot print keeps the fault light on for staff.
        let fault = fault || matches!(self.printer_alert, Some(PrinterAlert::CannotPrint(_)));
        for (light, on) in [
            (Light::Ready, ready),
            (Light::Busy, busy),
            (Light::Fault, fault),
            (Light::CardSlot, slot),
        ] {
            if let Err(e) = self.devices.indicators.set(light, on) {
                self.counters.device_errors += 1;
                tracing::warn!(error = %e, "cannot set a light");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{ForeignCard, SimBoard, SimControls};
    use kiosk_firmware::session::MenuChoice;
    use kiosk_firmware::session::Priority;

    fn runtime() -> (Runtime, SimControls) {
        let config = crate::simulator::test_config(false);
        let (devices, controls) = SimBoard::build(&config).unwrap();
        (
            Runtime::new(devices, SessionConfig::default(), Timestamp::ZERO),
            controls,
        )
    }

    #[test]
    fn the_attract_screen_lights_ready_and_the_card_slot() {
        let (_rt, controls) = runtime();
        assert!(controls.light(Light::Ready));
        assert!(controls.light(Light::CardSlot));
        assert!(!controls.light(Light::Fault));
    }

    #[test]
    fn a_card_on_the_reader_starts_a_journey_at_the_next_poll() {
        let (mut rt, controls) = runtime();
        rt.tick(Timestamp::ZERO);
        controls.insert_card(Box::new(ForeignCard));
        rt.tick(Timestamp::from_millis(100));
        assert_eq!(rt.step(), StepKind::Attract, "not polled yet");
        rt.tick(Timestamp::ZERO + CARD_POLL_INTERVAL);
        assert_eq!(rt.step(), StepKind::ExpectAccessKey);
        assert!(controls.light(Light::Busy));
    }

    #[test]
    fn a_foreign_card_is_reported_as_not_an_id_card() {
        let (mut rt, controls) = runtime();
        controls.insert_card(Box::new(ForeignCard));
        rt.tick(Timestamp::ZERO);
        rt.input(
            Input::AccessKey(AccessKey::Can("000001".into())),
            Timestamp::from_secs(1),
        );
        assert!(settle(&mut rt, Timestamp::from_secs(1)));
        assert_eq!(rt.step(), StepKind::Notice);
        assert_eq!(rt.view().fault, Some(Fault::NotAnIdCard));
        assert!(controls.light(Light::Fault));
    }

    #[test]
    fn taking_the_card_away_ends_the_journey_with_a_notice() {
        let (mut rt, controls) = runtime();
        controls.insert_card(Box::new(ForeignCard));
        rt.tick(Timestamp::ZERO);
        controls.remove_card();
        rt.tick(Timestamp::ZERO + CARD_POLL_INTERVAL);
        assert_eq!(rt.view().fault, Some(Fault::CardRemoved));
        let deadline = rt.next_wakeup();
        rt.tick(Timestamp::from_secs(3600).max(deadline));
        assert_eq!(rt.step(), StepKind::Attract);
        assert_eq!(rt.counters().card_removed, 1);
        let events = rt.take_events();
        assert!(events.contains(&Event::Ended(EndReason::Fault(Fault::CardRemoved))));
    }

    const CARD_QR: &str =
        "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021";

    fn card_qr_frames(text: &str) -> Vec<kiosk_hal::camera::Frame> {
        crate::simulator::scene::card_qr_frames(&crate::simulator::scene::CardQrScene::new(text), 2)
            .unwrap()
    }

    /// Ticks every 50 ms for `ms` of virtual time after `from`.
    /// The kinds of the newest ten audit entries, newest first.
    fn audit_kinds(rt: &Runtime) -> Vec<String> {
        let log = rt.store().unwrap().recent_audit(10).unwrap();
        log.into_iter().map(|e| e.kind).collect()
    }

    /// Runs the loop from `now` until the chip read ends.
    fn settle(rt: &mut Runtime, now: Timestamp) -> bool {
        virtual_time::VirtualClock::at(now).settle_read(rt)
    }

    fn run(rt: &mut Runtime, from: Timestamp, ms: u64) -> Timestamp {
        let mut now = from;
        for _ in 0..ms / 50 {
            now = now + Duration::from_millis(50);
            rt.tick(now);
        }
        now
    }

    #[test]
    fn the_camera_looks_for_the_card_qr_only_while_the_key_is_asked_for() {
        let (mut rt, controls) = runtime();
        rt.tick(Timestamp::ZERO);
        assert!(!controls.camera_on(), "off at the attract screen");
        controls.insert_card(Box::new(ForeignCard));
        rt.tick(Timestamp::ZERO + CARD_POLL_INTERVAL);
        assert_eq!(rt.step(), StepKind::ExpectAccessKey);
        assert!(rt.qr_scanning());
        assert!(controls.camera_on());
        assert_eq!(rt.view().qr_camera, Some(QrCamera::Watching));
        let now = run(&mut rt, Timestamp::ZERO + CARD_POLL_INTERVAL, 1_000);
        assert!(rt.qr_stats().frames >= 4, "{:?}", rt.qr_stats());
        assert!(
            rt.next_wakeup() <= now + crate::services::qrscan::DEFAULT_INTERVAL,
            "the next frame is a wake-up"
        );
        rt.input(Input::Cancel, now);
        assert_ne!(rt.step(), StepKind::ExpectAccessKey);
        assert!(!rt.qr_scanning());
        assert!(!controls.camera_on(), "off once the step ended");
        assert!(!rt.holds_personal_data(), "the last frame is gone");
    }

    #[test]
    fn a_card_qr_held_up_to_the_camera_becomes_the_access_key() {
        let (mut rt, controls) = runtime();
        controls.set_frames(card_qr_frames(CARD_QR));
        // A contactless card that is not an ID card: the key read by the
        // camera reaches the reader, which finds no eMRTD application.
        controls.insert_card(Box::new(ForeignCard));
        rt.tick(Timestamp::ZERO);
        assert_eq!(rt.step(), StepKind::ExpectAccessKey);
        run(&mut rt, Timestamp::ZERO, 2_000);
        assert_eq!(rt.view().fault, Some(Fault::NotAnIdCard));
        assert!(!controls.camera_on());
        assert!(!rt.holds_personal_data(), "the text went with the journey");
    }

    #[test]
    fn a_qr_that_is_not_the_card_qr_is_ignored() {
        let (mut rt, controls) = runtime();
        controls.set_frames(card_qr_frames("https://vneid.gov.vn/xac-thuc?ma=123456"));
        controls.insert_card(Box::new(ForeignCard));
        rt.tick(Timestamp::ZERO);
        run(&mut rt, Timestamp::ZERO, 2_000);
        assert_eq!(rt.step(), StepKind::ExpectAccessKey);
        let stats = rt.qr_stats();
        assert!(stats.ignored >= 5, "{stats:?}");
        assert_eq!(stats.accepted, 0);
    }

    #[test]
    fn a_camera_that_cannot_start_leaves_the_keypad_and_the_screen_says_so() {
        let (mut rt, controls) = runtime();
        controls.fail_camera_once(ErrorKind::NotPresent);
        controls.insert_card(Box::new(ForeignCard));
        rt.tick(Timestamp::ZERO);
        assert_eq!(rt.step(), StepKind::ExpectAccessKey);
        assert_eq!(rt.view().qr_camera, Some(QrCamera::Unavailable));
        assert!(!rt.qr_scanning());
        assert_eq!(rt.counters().device_errors, 1);
        rt.input(
            Input::AccessKey(AccessKey::Can("000001".into())),
            Timestamp::from_secs(1),
        );
        assert!(settle(&mut rt, Timestamp::from_secs(1)));
        assert_eq!(
            rt.view().fault,
            Some(Fault::NotAnIdCard),
            "typing still works"
        );
    }

    #[test]
    fn a_camera_that_fails_while_scanning_falls_back_to_typing() {
        let (mut rt, controls) = runtime();
        controls.insert_card(Box::new(ForeignCard));
        rt.tick(Timestamp::ZERO);
        assert_eq!(rt.view().qr_camera, Some(QrCamera::Watching));
        controls.fail_camera_once(ErrorKind::Io);
        run(&mut rt, Timestamp::ZERO, 500);
        assert_eq!(rt.step(), StepKind::ExpectAccessKey);
        assert_eq!(rt.view().qr_camera, Some(QrCamera::Unavailable));
        assert!(!rt.qr_scanning());
        assert!(!controls.camera_on());
    }

    #[test]
    fn a_reader_that_fails_mid_poll_is_counted_not_fatal() {
        let (mut rt, controls) = runtime();
        controls.fail_reader_once(ErrorKind::Io);
        rt.tick(Timestamp::ZERO);
        assert_eq!(rt.counters().device_errors, 1);
        assert_eq!(rt.step(), StepKind::Attract);
    }

    #[test]
    fn without_a_queue_service_a_ticket_ends_in_a_notice() {
        let (mut rt, _controls) = runtime();
        rt.input(Input::WalkIn, Timestamp::ZERO);
        rt.input(
            Input::Choose(MenuChoice::TakeNumber {
                service: "CT".into(),
                priority: None,
            }),
            Timestamp::ZERO,
        );
        assert_eq!(rt.view().fault, Some(Fault::Internal));
    }

    /// 2026-11-25 09:00 in Hà Nội (02:00 UTC), a Wednesday.
    const NINE_AM: UnixMillis = UnixMillis(1_795_572_000_000);

    fn queue_config(open: &str) -> kiosk_firmware::queue::QueueConfig {
        let text = format!(
            r#"
status_url = "https://dichvucong.example.gov.vn/hang-doi"
hours = {{ days = ["mon", "tue", "wed", "thu", "fri"], open = ["{open}"] }}
[[services]]
code = "A"
name_vi = "Hộ tịch"
name_en = "Civil status"
counters = [1, 2]
daily_limit = 2
"#
        );
        toml::from_str(&text).unwrap()
    }

    fn with_queue(open: &str) -> (Runtime, SimControls, tempfile::TempDir) {
        let (rt, controls) = runtime();
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&dir.path().join("kiosk.db"), NINE_AM).unwrap();
        let catalog = kiosk_firmware::queue::Catalog::from_config(&queue_config(open)).unwrap();
        let ticketing = Ticketing {
            queue: kiosk_firmware::queue::Queue::new(catalog),
            center_name: "Trung tâm Phục vụ hành chính công (mô phỏng)".into(),
            kiosk_id: "KIOSK-SIM-001".into(),
            paper: kiosk_firmware::ticket::raster::PaperWidth::Mm80,
        };
        let rt = rt.with_store(store, NINE_AM).with_ticketing(ticketing);
        (rt, controls, dir)
    }

    fn take_number(rt: &mut Runtime, priority: Option<Priority>, at: Timestamp) {
        rt.input(Input::WalkIn, at);
        rt.input(
            Input::Choose(MenuChoice::TakeNumber {
                service: "A".into(),
                priority,
            }),
            at,
        );
    }

    /// A centre double: answers each number with `issue`'s attempt (after
    /// `hold` is released, when given); records the identity it was handed.
    #[derive(Debug)]
    struct FakeCentre {
        issue: kiosk_firmware::queue::centre::Attempt,
        hold: Option<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>,
        seen: std::sync::Mutex<Vec<bool>>,
        /// Reconciliation rejects every offline ticket.
        reject: bool,
    }

    impl crate::services::queueing::CentreApi for FakeCentre {
        fn issue(
            &self,
            _key: &str,
            request: &kiosk_firmware::queue::centre::IssueRequest,
        ) -> kiosk_firmware::queue::centre::Attempt {
            self.seen.lock().unwrap().push(request.identity.is_some());
            if let Some(hold) = &self.hold {
                let _ = hold.lock().unwrap().recv();
            }
            self.issue.clone()
        }
        fn assignment(
            &self,
        ) -> Result<
            kiosk_firmware::queue::centre::KioskAssignment,
            crate::online::centre::CentreCallError,
        > {
            Ok(kiosk_firmware::queue::centre::KioskAssignment {
                centre_id: "C".into(),
                kiosk_id: "K".into(),
                offline_block: kiosk_firmware::queue::centre::OfflineBlock {
                    first: 800,
                    last: 819,
                },
                online_max: 799,
                day: "20261125".into(),
            })
        }
        fn reconcile(
            &self,
            request: &kiosk_firmware::queue::centre::ReconcileRequest,
        ) -> Result<
            kiosk_firmware::queue::centre::ReconcileAnswer,
            crate::online::centre::CentreCallError,
        > {
            use kiosk_firmware::queue::centre::{ReconcileOutcome, ReconcileResult};
            Ok(kiosk_firmware::queue::centre::ReconcileAnswer {
                results: request
                    .tickets
                    .iter()
                    .map(|t| ReconcileResult {
                        idempotency_key: t.idempotency_key.clone(),
                        outcome: if self.reject {
                            ReconcileOutcome::Rejected
                        } else {
                            ReconcileOutcome::Recorded
                        },
                        ticket_id: (!self.reject).then_some(1),
                        voided: None,
                        reason: self.reject.then(|| "number_taken".to_owned()),
                    })
                    .collect(),
                ..Default::default()
            })
        }
        fn rate(
            &self,
            _key: &str,
            _request: &kiosk_firmware::queue::centre::RatingRequest,
        ) -> Result<bool, crate::online::centre::CentreCallError> {
            Ok(true)
        }
    }

    fn with_fake_centre(
        issue: kiosk_firmware::queue::centre::Attempt,
        hold: Option<std::sync::mpsc::Receiver<()>>,
    ) -> (Runtime, std::sync::Arc<FakeCentre>, tempfile::TempDir) {
        with_fake_centre_rejecting(issue, hold, false)
    }

    fn with_fake_centre_rejecting(
        issue: kiosk_firmware::queue::centre::Attempt,
        hold: Option<std::sync::mpsc::Receiver<()>>,
        reject: bool,
    ) -> (Runtime, std::sync::Arc<FakeCentre>, tempfile::TempDir) {
        let (rt, _controls, dir) = with_queue("07:30-11:30");
        let fake = std::sync::Arc::new(FakeCentre {
            issue,
            hold: hold.map(std::sync::Mutex::new),
            seen: std::sync::Mutex::new(Vec::new()),
            reject,
        });
        let desk = crate::services::queueing::CentreDesk::new(
            fake.clone(),
            Duration::from_millis(300),
            Duration::from_secs(30),
        );
        let mut rt = rt.with_centre(desk);
        // The start-up assignment.
        rt.settle_workers(Duration::from_secs(5));
        rt.tick(Timestamp::ZERO);
        rt.settle_workers(Duration::from_secs(5));
        rt.tick(Timestamp::from_millis(1));
        assert!(
            crate::online::centre::cached_assignment(rt.store().unwrap())
                .unwrap()
                .is_some()
        );
        (rt, fake, dir)
    }

    #[test]
    fn in_centre_mode_a_number_the_centre_does_not_answer_in_time_is_an_offline_one() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (mut rt, fake, _dir) = with_fake_centre(
            kiosk_firmware::queue::centre::Attempt::Unreachable("late".into()),
            Some(rx),
        );
        let at = Timestamp::from_millis(10);
        take_number(&mut rt, None, at);
        assert_eq!(rt.step(), StepKind::IssuingTicket, "the loop did not wait");
        assert!(rt.centre_busy());
        // The loop turns on while the worker is stuck.
        rt.tick(at + Duration::from_millis(100));
        assert_eq!(rt.step(), StepKind::IssuingTicket);
        assert!(rt.next_wakeup() <= at + Duration::from_millis(300));
        rt.tick(at + Duration::from_millis(300));
        let view = rt.view();
        assert_eq!(view.step, StepKind::ShowingTicket, "{view:?}");
        let ticket = view.ticket.unwrap();
        assert_eq!((ticket.number.as_str(), ticket.offline), ("A800", true));
        tx.send(()).unwrap();
        for _ in 0..200 {
            if !fake.seen.lock().unwrap().is_empty() {
                break;
            }
            #[expect(clippy::disallowed_methods, reason = "waits for the test's worker")]
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            *fake.seen.lock().unwrap(),
            vec![false],
            "a walk-in sends no packet"
        );
    }

    #[test]
    fn offline_tickets_the_centre_rejects_stay_on_the_kiosk_and_alert_staff() {
        for reject in [true, false] {
            let (mut rt, _fake, _dir) = with_fake_centre_rejecting(
                kiosk_firmware::queue::centre::Attempt::Unreachable("refused".into()),
                None,
                reject,
            );
            take_number(&mut rt, None, Timestamp::from_millis(10));
            rt.settle_workers(Duration::from_secs(5));
            rt.tick(Timestamp::from_millis(11));
            assert_eq!(rt.view().ticket.map(|t| t.offline), Some(true));
            rt.input(Input::Cancel, Timestamp::from_millis(12));
            assert_eq!(rt.step(), StepKind::Attract);
            // The idle loop's reconciliation is due after the interval.
            let mut now = Timestamp::from_millis(13);
            while now < Timestamp::from_millis(40_000) {
                rt.settle_workers(Duration::from_secs(5));
                rt.tick(now);
                now = rt.next_wakeup().max(now + Duration::from_millis(1));
            }
            let store = rt.store().unwrap();
            let unacked = store.unacked_offline_tickets(10).unwrap().len();
            let log = store.recent_audit(50).unwrap();
            let reconciled = log
                .iter()
                .find(|e| e.kind == "centre_reconcile")
                .expect("reconciled");
            let alert = log.iter().any(|e| {
                e.kind == "staff_alert" && e.detail.contains("centre_rejected_offline_tickets")
            });
            if reject {
                assert_eq!(unacked, 1, "a rejected ticket is kept");
                assert!(
                    reconciled.detail.contains(r#""rejected":1"#),
                    "{}",
                    reconciled.detail
                );
                assert!(alert, "staff are alerted: {log:?}");
            } else {
                assert_eq!(unacked, 0);
                assert!(
                    reconciled.detail.contains(r#""acknowledged":1"#),
                    "{}",
                    reconciled.detail
                );
                assert!(!alert);
            }
        }
    }

    #[test]
    fn in_centre_mode_a_refusal_shows_its_reason_and_no_number() {
        let body = |error: &str| {
            serde_json::to_vec(&kiosk_firmware::queue::centre::ApiError {
                error: error.into(),
                message: "no".into(),
                next_opening_unix_ms: None,
                limit: Some(2),
            })
            .unwrap()
        };
        for (status, error, step, fault) in [
            (409, "sold_out", StepKind::Menu, Fault::ServiceSoldOut),
            (403, "not_admitted", StepKind::Notice, Fault::CentreRefused),
            (
                404,
                "unknown_service",
                StepKind::Notice,
                Fault::CentreRefused,
            ),
        ] {
            let (mut rt, _fake, _dir) = with_fake_centre(
                kiosk_firmware::queue::centre::Attempt::Answered {
                    status,
                    body: body(error),
                },
                None,
            );
            take_number(&mut rt, None, Timestamp::from_millis(10));
            rt.settle_workers(Duration::from_secs(5));
            rt.tick(Timestamp::from_millis(11));
            let view = rt.view();
            assert_eq!(view.step, step, "{error}: {view:?}");
            assert_eq!(
                view.fault.or(view.menu_notice),
                Some(fault),
                "{error}: {view:?}"
            );
            assert!(view.ticket.is_none());
            let log = rt.store().unwrap().recent_audit(5).unwrap();
            assert!(
                log.iter().any(|e| e.kind == "ticket_refused"),
                "{error}: {log:?}"
            );
        }
    }

    #[test]
    fn a_walk_in_gets_a_printed_number_and_the_paper_shows_it() {
        let (mut rt, controls, _dir) = with_queue("07:30-11:30");
        take_number(&mut rt, None, Timestamp::ZERO);
        let view = rt.view();
        assert_eq!(view.step, StepKind::ShowingTicket);
        let ticket = view.ticket.unwrap();
        assert_eq!(ticket.number, "A001");
        assert!(ticket.printed);
        assert_eq!(ticket.print_problem, None);
        assert_eq!(controls.print_jobs(), 1);
        let decoded = kiosk_firmware::ticket::escpos::decode(&controls.printed()).unwrap();
        assert_eq!(decoded.pages.len(), 1);
        assert_eq!(decoded.pages[0].width(), 576);
        assert_eq!(rt.counters().tickets_printed, 1);
        assert_eq!(rt.printer_alert(), None);
        let log = rt.store().unwrap().recent_audit(5).unwrap();
        assert_eq!(log[0].kind, "ticket_printed");
        assert!(
            log[0].detail.contains(r#""number":"A001""#),
            "{}",
            log[0].detail
        );
    }

    #[test]
    fn paper_out_shows_the_number_alerts_staff_and_a_reprint_issues_it() {
        let (mut rt, controls, _dir) = with_queue("07:30-11:30");
        controls.set_paper(kiosk_hal::printer::PaperLevel::Out);
        take_number(&mut rt, None, Timestamp::ZERO);
        let ticket = rt.view().ticket.unwrap();
        assert_eq!(ticket.number, "A001");
        assert!(!ticket.printed);
        assert_eq!(ticket.print_problem, Some(PrintProblem::PaperOut));
        assert_eq!(
            rt.printer_alert(),
            Some(PrinterAlert::CannotPrint(PrintProblem::PaperOut))
        );
        assert!(controls.light(Light::Fault), "staff see the fault light");
        assert_eq!(controls.print_jobs(), 0);
        assert_eq!(rt.counters().tickets_unprinted, 1);
        // Staff refill the paper and re-print: now it is issued.
        controls.set_paper(kiosk_hal::printer::PaperLevel::Ok);
        rt.reprint_ticket("A001", Timestamp::from_secs(60)).unwrap();
        assert_eq!(controls.print_jobs(), 1);
        assert_eq!(rt.printer_alert(), None);
        let kinds = audit_kinds(&rt);
        assert!(kinds.contains(&"staff_alert".to_owned()), "{kinds:?}");
        assert_eq!(kinds[0], "ticket_printed");
    }

    #[test]
    fn paper_near_end_prints_but_alerts_staff() {
        let (mut rt, controls, _dir) = with_queue("07:30-11:30");
        controls.set_paper(kiosk_hal::printer::PaperLevel::NearEnd);
        take_number(&mut rt, None, Timestamp::ZERO);
        assert!(rt.view().ticket.unwrap().printed);
        assert_eq!(rt.printer_alert(), Some(PrinterAlert::PaperNearEnd));
        assert_eq!(rt.counters().printer_alerts, 1);
    }

    #[test]
    fn outside_opening_hours_the_menu_says_closed_and_nothing_is_drawn() {
        let (mut rt, controls, _dir) = with_queue("13:30-16:30");
        take_number(&mut rt, None, Timestamp::ZERO);
        let view = rt.view();
        assert_eq!(view.step, StepKind::Menu);
        assert_eq!(view.menu_notice, Some(Fault::ServiceClosed));
        assert_eq!(controls.print_jobs(), 0);
        assert!(rt.store().unwrap().unprinted_tickets(5).unwrap().is_empty());
    }

    #[test]
    fn the_daily_limit_is_shown_as_sold_out() {
        let (mut rt, _controls, _dir) = with_queue("07:30-11:30");
        for (i, n) in ["A001", "A002"].iter().enumerate() {
            let t = Timestamp::from_secs(10 * i as u64);
            take_number(&mut rt, None, t);
            assert_eq!(rt.view().ticket.unwrap().number, *n);
            rt.input(Input::Cancel, t);
        }
        take_number(&mut rt, None, Timestamp::from_secs(30));
        assert_eq!(rt.view().menu_notice, Some(Fault::ServiceSoldOut));
    }

    #[test]
    fn a_walk_in_declaring_elderly_is_refused_and_may_take_a_normal_number() {
        let (mut rt, _controls, _dir) = with_queue("07:30-11:30");
        take_number(&mut rt, Some(Priority::Elderly), Timestamp::ZERO);
        assert_eq!(rt.view().menu_notice, Some(Fault::PriorityNotEligible));
        rt.input(
            Input::Choose(MenuChoice::TakeNumber {
                service: "A".into(),
                priority: Some(Priority::Pregnant),
            }),
            Timestamp::ZERO,
        );
        assert_eq!(rt.view().ticket.unwrap().number, "AU001");
    }

    #[test]
    fn journey_ends_ratings_and_staff_calls_reach_the_audit_log_without_personal_data() {
        let (rt, _controls) = runtime();
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&dir.path().join("kiosk.db"), UnixMillis(1_000_000)).unwrap();
        let mut rt = rt.with_store(store, UnixMillis(1_000_000));
        rt.input(Input::WalkIn, Timestamp::from_secs(1));
        rt.input(Input::Choose(MenuChoice::Finish), Timestamp::from_secs(2));
        rt.input(Input::Rated(Some(4)), Timestamp::from_secs(3));
        rt.input(Input::Continue, Timestamp::from_secs(4));
        let log = rt.store().unwrap().recent_audit(10).unwrap();
        let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["journey_ended", "rating"]);
        assert_eq!(log[0].detail, r#"{"reason":"completed"}"#);
        assert_eq!(log[1].detail, r#"{"score":4,"subject":"visit"}"#);
        assert_eq!(log[1].at, UnixMillis(1_003_000));
    }

    #[test]
    fn opening_the_cabinet_ends_the_journey_wipes_it_and_alerts_staff() {
        let (rt, controls) = runtime();
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&dir.path().join("kiosk.db"), UnixMillis(1_000_000)).unwrap();
        let mut rt = rt.with_store(store, UnixMillis(1_000_000));
        rt.input(Input::WalkIn, Timestamp::ZERO);
        assert_eq!(rt.step(), StepKind::Menu);
        controls.set_tamper(true);
        rt.tick(Timestamp::from_secs(1));
        // Out of service, not a notice that times out (issue 13).
        assert_eq!(rt.step(), StepKind::OutOfService);
        assert!(!rt.holds_personal_data());
        assert_eq!(rt.counters().tamper_alerts, 1);
        // Still open at the next poll: no second alert.
        rt.tick(Timestamp::from_secs(2));
        assert_eq!(rt.counters().tamper_alerts, 1);
        controls.set_tamper(false);
        rt.tick(Timestamp::from_secs(3));
        // Closing the cabinet alone does not resume service: staff must.
        rt.tick(Timestamp::from_secs(600));
        assert_eq!(rt.step(), StepKind::OutOfService);
        let kinds = audit_kinds(&rt);
        assert!(kinds.contains(&"staff_alert".to_owned()), "{kinds:?}");
        assert!(kinds.contains(&"cabinet_closed".to_owned()), "{kinds:?}");
    }

    #[test]
    fn someone_arriving_wakes_the_attract_screen_once() {
        let (mut rt, controls) = runtime();
        rt.tick(Timestamp::ZERO);
        rt.take_events();
        controls.set_presence(true);
        rt.tick(Timestamp::from_secs(1));
        rt.tick(Timestamp::from_secs(2));
        let approached = rt
            .take_events()
            .into_iter()
            .filter(|e| *e == Event::Approached)
            .count();
        assert_eq!(approached, 1);
        assert_eq!(rt.step(), StepKind::Attract);
    }

    #[test]
    fn next_wakeup_is_the_earlier_of_the_poll_and_the_session_deadline() {
        let (mut rt, _controls) = runtime();
        rt.tick(Timestamp::ZERO);
        assert_eq!(rt.next_wakeup(), Timestamp::ZERO + CARD_POLL_INTERVAL);
    }

    /// A frontend that plays a fixed list of inputs, one per wait, then quits.
    struct Script {
        inputs: std::collections::VecDeque<Input>,
        shown: Vec<StepKind>,
    }

    impl Frontend for Script {
        fn show(&mut self, view: &SessionView, _events: &[Event]) {
            self.shown.push(view.step);
        }
        fn wait_input(&mut self, _timeout: Duration) -> FrontendInput {
            match self.inputs.pop_front() {
                Some(i) => FrontendInput::Input(i),
                None => FrontendInput::Quit,
            }
        }
    }

    #[test]
    fn run_tells_systemd_ready_pets_the_watchdog_and_says_stopping() {
        let (rt, _controls) = runtime();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let notifier = crate::drivers::notify::Notifier::new(
            path.to_str().unwrap(),
            Some(Duration::from_secs(20)),
        )
        .unwrap();
        let mut rt = rt.with_notifier(notifier);
        let mut script = Script {
            inputs: [Input::WalkIn].into(),
            shown: Vec::new(),
        };
        rt.run(&mut script, &AtomicBool::new(false));
        let mut got = Vec::new();
        server.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 128];
        while let Ok(n) = server.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert!(
            got[0].starts_with("READY=1\nSTATUS=kiosk on sim"),
            "{got:?}"
        );
        assert_eq!(got[1], "WATCHDOG=1", "{got:?}");
        assert_eq!(got.last().map(String::as_str), Some("STOPPING=1"));
    }

    #[test]
    fn run_shows_every_step_change_and_switches_off_at_the_end() {
        let (mut rt, controls) = runtime();
        let mut script = Script {
            inputs: [
                Input::WalkIn,
                Input::Choose(MenuChoice::Finish),
                Input::Rated(Some(5)),
            ]
            .into(),
            shown: Vec::new(),
        };
        rt.run(&mut script, &AtomicBool::new(false));
        assert_eq!(
            script.shown,
            vec![
                StepKind::Attract,
                StepKind::Menu,
                StepKind::ExpectRating,
                StepKind::Goodbye
            ]
        );
        assert_eq!(rt.step(), StepKind::Goodbye);
        assert!(
            controls.lights().values().all(|on| !on),
            "lights off after shutdown"
        );
    }
}
