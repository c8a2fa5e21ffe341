//! The citizen journey as a sans-IO state machine (DESIGN.md §2).
//!
//! ```text
//! Attract ─card─► ExpectAccessKey ─key─► Reading ─ok─► ExpectConfirmation ─yes─►
//!   ExpectFaceConsent ─yes─► FaceCheck ─match─► Menu ─┬─► IssuingTicket ─► ShowingTicket ─┐
//!        (no photo: guardian path straight to Menu)   └─► ExpectForm ─► ExpectRequestConsent
//!                                                          ─► SubmittingRequest ─► ShowingReceipt ─┤
//!   ExpectRating ◄─────────────────────────────────────────────────────────────────────────────────┘
//!     ─► Goodbye ─► Attract          (any fault ─► Notice ─► Attract; face fails ×N ─► StaffAssist)
//! StaffAssist ─staff PIN─► (review) ─approve─► Menu      (no photo: StaffAssist(GuardianPresent))
//! any step ─cabinet opened─► OutOfService ─staff PIN with the cabinet closed─► Attract
//! Attract ─walk-in─► Menu (take a number only)
//! IssuingTicket ─closed / sold out / priority refused─► Menu (with `menu_notice`)
//! Menu ─take a number (centre mode, identified holder)─► ExpectIdentityConsent
//!   ─share / don't share─► IssuingTicket (both draw a number)
//! ```
//!
//! The identity-sharing consent (issue 18, PDP Law 91/2025): in centre mode
//! ([`Session::set_centre_mode`]) an identified holder who takes a number
//! is asked whether what the chip verified (name, date of birth, masked
//! ID, how identity was checked, the service and its pre-filled form) may
//! go to the counter that calls the number. Yes or no, the number is
//! drawn; [`Action::IssueTicket`] carries the answer (`share_identity`).
//! An anonymous walk-in is never asked.
//!
//! A ticket the printer could not print still reaches `ShowingTicket`
//! with `printed: false`: the number is on screen, staff are alerted and
//! the ticket stays re-printable (reference note: count a ticket only once
//! it has printed).
//!
//! The machine is driven like quinn-proto's connection: the runtime feeds
//! [`Input`]s with [`Session::handle_input`], calls
//! [`Session::handle_timeout`] when [`Session::poll_timeout`] is due, and
//! drains [`Output`]s with [`Session::poll_output`]: [`Action`]s for the
//! runtime to carry out (read the card, start the camera, print, wipe) and
//! [`Event`]s for the UI and metrics. It never reads a clock or touches a
//! device: `now` is always a parameter, so tests run in virtual time.
//!
//! States are named for what they wait for. Inactivity on an interactive
//! screen first raises [`Event::TimeoutWarning`], and the citizen can
//! [`Input::Extend`]; when time runs out the session ends with a privacy
//! wipe. Every path back to [`StepKind::Attract`] emits
//! [`Action::WipePersonalData`] and drops (zeroizes) what the session held.
//!
//! Staff authority (issue 13, "verified means verified"): a staff decision
//! ([`Input::StaffDecision`]) counts only after [`Input::StaffAuthenticated`]
//! on the same staff-assist step: the runtime sends it when the staff PIN
//! (checked by `staff::Gate`, with its lockout) was entered on the kiosk's
//! own keypad at that moment. The authority ends with the step. A decision
//! without it is refused ([`Event::StaffRefused`] with
//! [`StaffRefusal::NotAuthenticated`]). An opened cabinet
//! ([`Input::Tampered`]) puts the kiosk out of service: no timeout, cancel
//! or card ends [`StepKind::OutOfService`], only staff authenticating while
//! the switch reads closed ([`Input::CabinetClosed`]).

mod config;
mod journey;

pub use config::{ConfigError, SessionConfig, Timeouts};
pub use journey::{
    AccessKey, EndReason, FaceGuide, FaceOutcome, Fault, Holder, MenuChoice, PrintProblem,
    Priority, QrCamera, RatingSubject, ReadFailure, RequestReceipt, StaffReason, StaffRefusal,
    TicketInfo, Verification,
};

pub use crate::staff::StaffCredential;
use crate::time::Timestamp;
use core::time::Duration;
use serde::Serialize;
use std::collections::VecDeque;

/// An input to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A card arrived on the reader.
    CardPresented,
    /// The card left the reader.
    CardRemoved,
    /// The citizen wants a number without identifying ("take a number").
    WalkIn,
    /// The citizen gave an access key (card QR scanned, or typed).
    AccessKey(AccessKey),
    /// The state of the camera that looks for the card QR (shown on the
    /// access-key screen; not an activity).
    QrCamera(QrCamera),
    /// Reading progress from the document reader.
    ReadProgress {
        /// Bytes read so far.
        done: usize,
        /// Bytes to read in all (as far as known).
        total: usize,
    },
    /// The chip is read and intact but not anchored: the runtime asks the
    /// identity authority (C06) online; the reading screen says so until
    /// [`Input::ReadFinished`].
    AuthorityCheck,
    /// The chip read ended.
    ReadFinished(Result<Holder, ReadFailure>),
    /// The citizen confirmed (`true`) or rejected (`false`) the data shown.
    Confirm(bool),
    /// The citizen agreed (`true`) or declined (`false`) to the step's
    /// consent question (face check or sending the request).
    Consent(bool),
    /// A face-check attempt ended.
    FaceFinished(FaceOutcome),
    /// New guidance from the face check under way (shown, not an activity:
    /// the attempt's watchdog keeps running).
    FaceGuidance(FaceGuide),
    /// Staff confirmed the person's identity (`true`) or refused (`false`).
    /// Counts only after [`Input::StaffAuthenticated`] on the same
    /// staff-assist step; otherwise refused with
    /// [`StaffRefusal::NotAuthenticated`].
    StaffDecision(bool),
    /// A staff member authenticated at the kiosk just now (the staff PIN
    /// on the kiosk's keypad, checked by the runtime). Taken on the
    /// staff-assist step (staff may then decide) and out of service
    /// (service resumes if the cabinet is closed); ignored elsewhere.
    StaffAuthenticated(StaffCredential),
    /// The citizen picked a menu entry.
    Choose(MenuChoice),
    /// The ticket was drawn (and printed, or not).
    TicketFinished(Result<TicketInfo, Fault>),
    /// The citizen reviewed the form and wants to continue.
    FormConfirmed,
    /// The request was queued (or failed to be).
    RequestFinished(Result<RequestReceipt, Fault>),
    /// A satisfaction rating from 1 (bad) to 5 (very good), or `None` to skip.
    Rated(Option<u8>),
    /// The citizen touched "Continue" on an information screen.
    Continue,
    /// The citizen touched "Back" (one step back where that makes sense).
    Back,
    /// The citizen touched "Cancel" / "Start over".
    Cancel,
    /// Any touch on the screen: resets the inactivity timer.
    Activity,
    /// The cabinet's tamper switch opened: end any journey at once, wiping
    /// everything, and stay out of service until staff resume it.
    Tampered,
    /// The cabinet's tamper switch reads closed.
    CabinetClosed,
    /// The presence sensor saw someone arrive (wakes the attract screen).
    PresenceDetected,
    /// "I need more time" on the timeout warning.
    Extend,
}

/// Something the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read and verify the chip with this key.
    ReadDocument(AccessKey),
    /// Abandon a read in progress.
    AbortRead,
    /// Run one face-check attempt (camera, liveness, match against DG2).
    StartFaceCheck {
        /// 1-based attempt number.
        attempt: u8,
    },
    /// Stop the camera (attempt abandoned).
    StopFaceCheck,
    /// Call staff to the kiosk (light, alert).
    CallStaff(StaffReason),
    /// Draw a number and print the ticket.
    IssueTicket {
        /// Service code.
        service: String,
        /// Priority, if any.
        priority: Option<Priority>,
        /// How the holder was identified.
        verification: Verification,
        /// The citizen said yes on the identity-sharing consent screen
        /// (PDP Law 91/2025): what the chip verified may go to the counter
        /// with the number. `false` when they declined, or were never
        /// asked (no centre, an anonymous walk-in).
        share_identity: bool,
    },
    /// Prepare the form of a procedure, pre-filled from the chip.
    PrepareForm {
        /// Procedure code.
        procedure: String,
    },
    /// Queue the reviewed, consented request in the outbox.
    SubmitRequest {
        /// Procedure code.
        procedure: String,
        /// How the holder was identified.
        verification: Verification,
    },
    /// Store a satisfaction rating (1–5) for the subject.
    RecordRating {
        /// What was rated.
        subject: RatingSubject,
        /// 1 (bad) to 5 (very good).
        score: u8,
    },
    /// Forget everything personal: the chip data, photo, face data, form.
    WipePersonalData,
}

/// Something that happened, for the UI, audio guidance and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The session moved to another step.
    StepChanged {
        /// The step left.
        from: StepKind,
        /// The step entered.
        to: StepKind,
    },
    /// Inactivity: the session will end at `deadline` unless extended.
    TimeoutWarning {
        /// When it ends.
        deadline: Timestamp,
    },
    /// Reading progress, for the progress bar.
    ReadProgress {
        /// Bytes read.
        done: usize,
        /// Bytes in all.
        total: usize,
    },
    /// The chip is read; the identity authority is being asked online.
    AuthorityCheck,
    /// The access key was wrong; `attempts_left` more may be tried.
    AccessKeyRejected {
        /// Tries left before the kiosk gives up on this card.
        attempts_left: u8,
    },
    /// A face attempt failed; another follows.
    FaceRetry {
        /// The outcome of the failed attempt.
        outcome: FaceOutcome,
        /// Attempts left.
        attempts_left: u8,
    },
    /// The citizen answered the satisfaction question: a score of 1–5, or
    /// `None` when they skipped it (for the satisfaction metrics; only a
    /// score is recorded with its subject, see [`Action::RecordRating`]).
    Rated {
        /// 1–5, or `None` when skipped.
        score: Option<u8>,
    },
    /// A journey ended (back at the attract screen).
    Ended(EndReason),
    /// Someone arrived in front of the idle kiosk: greet them.
    Approached,
    /// Authenticated staff decided on the staff-assist step.
    StaffDecided {
        /// Approved (`true`) or refused (`false`).
        approved: bool,
        /// Why staff were called.
        reason: StaffReason,
        /// Who decided (method and credential hash).
        credential: StaffCredential,
    },
    /// A staff action was refused, and why.
    StaffRefused(StaffRefusal),
    /// Staff authenticated with the cabinet closed: the kiosk serves again.
    ServiceResumed {
        /// Who resumed it.
        credential: StaffCredential,
    },
}

/// An output of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// For the runtime to carry out.
    Action(Action),
    /// For the UI, audio and metrics.
    Event(Event),
}

/// The steps of the journey, named for what they wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Attract screen: waits for a card or a walk-in.
    Attract,
    /// Waits for the access key (card QR or typed).
    ExpectAccessKey,
    /// Waits for the chip read to finish.
    Reading,
    /// Waits for the citizen to confirm the data read.
    ExpectConfirmation,
    /// Waits for consent to the face check.
    ExpectFaceConsent,
    /// Waits for a face-check attempt to finish.
    FaceCheck,
    /// Waits for staff.
    StaffAssist,
    /// Waits for a menu choice.
    Menu,
    /// Waits for the holder's answer: may what the chip verified go to
    /// the counter with the number? (centre mode, identified holder.)
    ExpectIdentityConsent,
    /// Waits for the ticket to be drawn and printed.
    IssuingTicket,
    /// Shows the ticket number; waits for "Continue".
    ShowingTicket,
    /// Waits for the citizen to review the form.
    ExpectForm,
    /// Waits for consent to send the request.
    ExpectRequestConsent,
    /// Waits for the request to be queued.
    SubmittingRequest,
    /// Shows the request receipt; waits for "Continue".
    ShowingReceipt,
    /// Waits for a satisfaction rating.
    ExpectRating,
    /// Says goodbye; returns to the attract screen.
    Goodbye,
    /// Shows a fault and what to do; returns to the attract screen.
    Notice,
    /// The cabinet was opened: out of service until staff authenticate
    /// with the cabinet closed. No timeout, cancel or card ends it.
    OutOfService,
}

impl StepKind {
    /// Whether the step waits for the citizen (inactivity timeout with a
    /// warning), rather than for an operation or a display time.
    pub fn is_interactive(self) -> bool {
        matches!(
            self,
            StepKind::ExpectAccessKey
                | StepKind::ExpectConfirmation
                | StepKind::ExpectFaceConsent
                | StepKind::Menu
                | StepKind::ExpectIdentityConsent
                | StepKind::ExpectForm
                | StepKind::ExpectRequestConsent
                | StepKind::ExpectRating
        )
    }
}

/// A step and the data only it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Attract,
    ExpectAccessKey,
    Reading,
    ExpectConfirmation,
    ExpectFaceConsent,
    FaceCheck {
        attempt: u8,
    },
    StaffAssist {
        reason: StaffReason,
        authority: Option<StaffCredential>,
    },
    Menu,
    ExpectIdentityConsent {
        service: String,
        priority: Option<Priority>,
    },
    IssuingTicket,
    ShowingTicket {
        ticket: TicketInfo,
    },
    ExpectForm {
        procedure: String,
    },
    ExpectRequestConsent {
        procedure: String,
    },
    SubmittingRequest {
        procedure: String,
    },
    ShowingReceipt {
        receipt: RequestReceipt,
    },
    ExpectRating {
        subject: RatingSubject,
    },
    Goodbye,
    Notice {
        fault: Fault,
    },
    OutOfService,
}

impl Step {
    fn kind(&self) -> StepKind {
        match self {
            Step::Attract => StepKind::Attract,
            Step::ExpectAccessKey => StepKind::ExpectAccessKey,
            Step::Reading => StepKind::Reading,
            Step::ExpectConfirmation => StepKind::ExpectConfirmation,
            Step::ExpectFaceConsent => StepKind::ExpectFaceConsent,
            Step::FaceCheck { .. } => StepKind::FaceCheck,
            Step::StaffAssist { .. } => StepKind::StaffAssist,
            Step::Menu => StepKind::Menu,
            Step::ExpectIdentityConsent { .. } => StepKind::ExpectIdentityConsent,
            Step::IssuingTicket => StepKind::IssuingTicket,
            Step::ShowingTicket { .. } => StepKind::ShowingTicket,
            Step::ExpectForm { .. } => StepKind::ExpectForm,
            Step::ExpectRequestConsent { .. } => StepKind::ExpectRequestConsent,
            Step::SubmittingRequest { .. } => StepKind::SubmittingRequest,
            Step::ShowingReceipt { .. } => StepKind::ShowingReceipt,
            Step::ExpectRating { .. } => StepKind::ExpectRating,
            Step::Goodbye => StepKind::Goodbye,
            Step::Notice { .. } => StepKind::Notice,
            Step::OutOfService => StepKind::OutOfService,
        }
    }
}

/// What the UI may show of the session right now. Carries no personal
/// data but the holder's name and masked ID while identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionView {
    /// The current step.
    pub step: StepKind,
    /// When the step ends unless something happens (inactivity, watchdog or
    /// display time).
    pub deadline: Option<Timestamp>,
    /// Whether the timeout warning is showing.
    pub warning: bool,
    /// The fault on a notice screen.
    pub fault: Option<Fault>,
    /// Whether the last access key was rejected (shown on the key screen).
    pub access_key_rejected: bool,
    /// Read progress in percent, while reading.
    pub read_percent: Option<u8>,
    /// Whether the card is being checked with the identity authority
    /// (online, after the read), while reading.
    pub authority_check: bool,
    /// The face attempt under way (1-based), while checking.
    pub face_attempt: Option<u8>,
    /// The latest face-capture guidance, while checking.
    pub face_guide: Option<FaceGuide>,
    /// The camera looking for the card QR, on the access-key screen.
    pub qr_camera: Option<QrCamera>,
    /// Holder's full name, while identified.
    pub holder_name: Option<String>,
    /// Holder's masked ID number, while identified.
    pub holder_masked_id: Option<String>,
    /// Holder's date of birth as on the chip (`dd/mm/yyyy`), while
    /// identified, for the confirmation screen.
    pub holder_date_of_birth: Option<String>,
    /// How the holder was verified, once decided.
    pub verification: Option<Verification>,
    /// The ticket, while shown.
    pub ticket: Option<TicketInfo>,
    /// The request receipt, while shown.
    pub receipt: Option<RequestReceipt>,
    /// The staff call reason, while waiting for staff.
    pub staff_reason: Option<StaffReason>,
    /// Whether staff have authenticated on this staff-assist step (the
    /// screen then offers approve and refuse).
    pub staff_authorized: bool,
    /// The last staff action refused on this step, and why.
    pub staff_refusal: Option<StaffRefusal>,
    /// Whether the cabinet is open, while out of service.
    pub cabinet_open: bool,
    /// Why the last "take a number" on the menu was refused (closed, no
    /// numbers left, priority not eligible), shown on the menu.
    pub menu_notice: Option<Fault>,
    /// The service chosen, on the identity-sharing consent screen (the
    /// screen names it among what goes to the counter).
    pub consent_service: Option<String>,
}

/// The citizen journey. See the module documentation.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    step: Step,
    /// When the current step was entered.
    entered_at: Timestamp,
    /// Last touch (or step entry), for inactivity limits.
    last_activity: Timestamp,
    extensions: u8,
    warned: bool,
    wrong_keys: u8,
    key_rejected: bool,
    progress: Option<(usize, usize)>,
    authority_check: bool,
    face_guide: Option<FaceGuide>,
    qr_camera: Option<QrCamera>,
    holder: Option<Holder>,
    verification: Option<Verification>,
    card_present: bool,
    menu_notice: Option<Fault>,
    staff_refusal: Option<StaffRefusal>,
    cabinet_open: bool,
    /// Whether numbers come from a centre whose counters can receive the
    /// identity packet: the consent step is offered only then.
    centre_mode: bool,
    outputs: VecDeque<Output>,
}

impl Session {
    /// A session at the attract screen. `config` should have passed
    /// [`SessionConfig::validate`].
    pub fn new(config: SessionConfig, now: Timestamp) -> Self {
        Session {
            config,
            step: Step::Attract,
            entered_at: now,
            last_activity: now,
            extensions: 0,
            warned: false,
            wrong_keys: 0,
            key_rejected: false,
            progress: None,
            authority_check: false,
            face_guide: None,
            qr_camera: None,
            holder: None,
            verification: None,
            card_present: false,
            menu_notice: None,
            staff_refusal: None,
            cabinet_open: false,
            centre_mode: false,
            outputs: VecDeque::new(),
        }
    }

    /// Numbers come from a centre (`true`): an identified holder who takes
    /// a number is asked whether what the chip verified may go to the
    /// counter ([`StepKind::ExpectIdentityConsent`]). Off by default.
    pub fn set_centre_mode(&mut self, on: bool) {
        self.centre_mode = on;
    }

    /// Whether the identity-sharing consent step is offered.
    pub fn centre_mode(&self) -> bool {
        self.centre_mode
    }

    /// The current step.
    pub fn step(&self) -> StepKind {
        self.step.kind()
    }

    /// Whether the session believes the cabinet is open (from
    /// [`Input::Tampered`] and [`Input::CabinetClosed`]).
    pub fn cabinet_open(&self) -> bool {
        self.cabinet_open
    }

    /// Whether the session holds personal data (a holder, or a key in use).
    pub fn holds_personal_data(&self) -> bool {
        self.holder.is_some()
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Session::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let deadline = self.deadline()?;
        if self.step.kind().is_interactive() && !self.warned {
            Some(deadline - self.config.timeouts.warning)
        } else {
            Some(deadline)
        }
    }

    /// The camera looking for the card QR, as last reported on this
    /// access-key screen (`None` on other steps, or not yet reported).
    pub fn qr_camera(&self) -> Option<QrCamera> {
        match self.step {
            Step::ExpectAccessKey => self.qr_camera,
            _ => None,
        }
    }

    /// What the UI shows now.
    pub fn view(&self) -> SessionView {
        let read_percent = match (&self.step, self.progress) {
            (Step::Reading, Some((done, total))) if total > 0 => {
                Some(u8::try_from((done.min(total) * 100) / total).unwrap_or(100))
            }
            (Step::Reading, _) => Some(0),
            _ => None,
        };
        SessionView {
            step: self.step.kind(),
            deadline: self.deadline(),
            warning: self.warned,
            fault: match &self.step {
                Step::Notice { fault } => Some(*fault),
                _ => None,
            },
            access_key_rejected: self.key_rejected,
            read_percent,
            authority_check: self.step == Step::Reading && self.authority_check,
            face_attempt: match &self.step {
                Step::FaceCheck { attempt } => Some(*attempt),
                _ => None,
            },
            face_guide: match &self.step {
                Step::FaceCheck { .. } => self.face_guide,
                _ => None,
            },
            qr_camera: match &self.step {
                Step::ExpectAccessKey => self.qr_camera,
                _ => None,
            },
            holder_name: self.holder.as_ref().map(|h| h.full_name.clone()),
            holder_masked_id: self.holder.as_ref().map(Holder::masked_id),
            holder_date_of_birth: self.holder.as_ref().map(|h| h.date_of_birth.clone()),
            verification: self.verification,
            ticket: match &self.step {
                Step::ShowingTicket { ticket } => Some(ticket.clone()),
                _ => None,
            },
            receipt: match &self.step {
                Step::ShowingReceipt { receipt } => Some(receipt.clone()),
                _ => None,
            },
            staff_reason: match &self.step {
                Step::StaffAssist { reason, .. } => Some(*reason),
                _ => None,
            },
            staff_authorized: matches!(
                &self.step,
                Step::StaffAssist {
                    authority: Some(_),
                    ..
                }
            ),
            staff_refusal: self.staff_refusal,
            cabinet_open: self.step == Step::OutOfService && self.cabinet_open,
            menu_notice: match &self.step {
                Step::Menu => self.menu_notice,
                _ => None,
            },
            consent_service: match &self.step {
                Step::ExpectIdentityConsent { service, .. } => Some(service.clone()),
                _ => None,
            },
        }
    }

    /// Advances time: raises the inactivity warning, or ends the step whose
    /// deadline has passed. Harmless to call early or often.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let Some(deadline) = self.deadline() else {
            return;
        };
        let kind = self.step.kind();
        if kind.is_interactive() {
            if now >= deadline {
                self.end(EndReason::TimedOut, now);
            } else if !self.warned && now >= deadline - self.config.timeouts.warning {
                self.warned = true;
                self.emit(Event::TimeoutWarning { deadline });
            }
            return;
        }
        if now < deadline {
            return;
        }
        match kind {
            StepKind::Reading => {
                self.action(Action::AbortRead);
                self.notice(Fault::TimedOut, now);
            }
            StepKind::FaceCheck => {
                self.action(Action::StopFaceCheck);
                self.face_failed(FaceOutcome::NoFace, now);
            }
            StepKind::IssuingTicket | StepKind::SubmittingRequest => {
                self.notice(Fault::TimedOut, now);
            }
            StepKind::StaffAssist => self.end(EndReason::TimedOut, now),
            StepKind::ShowingTicket | StepKind::ShowingReceipt => self.rating_step(now),
            StepKind::Goodbye => self.end(EndReason::Completed, now),
            StepKind::Notice => {
                let fault = match &self.step {
                    Step::Notice { fault } => *fault,
                    _ => Fault::Internal,
                };
                self.end(EndReason::Fault(fault), now);
            }
            _ => {}
        }
    }

    /// Feeds one input.
    pub fn handle_input(&mut self, input: Input, now: Timestamp) {
        if self.step.kind().is_interactive() && is_touch(&input) {
            self.touch(now);
        }
        if let Input::Extend = input {
            self.extend(now);
            return;
        }
        match input {
            Input::CardPresented => self.card_presented(now),
            Input::CardRemoved => self.card_removed(now),
            Input::Activity | Input::Extend => {}
            Input::Tampered => {
                self.cabinet_open = true;
                if self.step != Step::OutOfService {
                    self.stop_operations();
                    if self.step == Step::Attract {
                        self.wipe();
                    } else {
                        // The journey ends here, wiped, counted as a fault.
                        self.end(EndReason::Fault(Fault::OutOfService), now);
                    }
                    self.go(Step::OutOfService, now);
                }
            }
            Input::CabinetClosed => {
                self.cabinet_open = false;
                if self.staff_refusal == Some(StaffRefusal::CabinetOpen) {
                    self.staff_refusal = None;
                }
            }
            Input::PresenceDetected => {
                if self.step == Step::Attract {
                    self.emit(Event::Approached);
                }
            }
            Input::Cancel => {
                // Out of service, only staff (and a closed cabinet) end it.
                if self.step != Step::Attract && self.step != Step::OutOfService {
                    if self.step == Step::Reading {
                        self.action(Action::AbortRead);
                    }
                    if matches!(self.step, Step::FaceCheck { .. }) {
                        self.action(Action::StopFaceCheck);
                    }
                    self.end(EndReason::Cancelled, now);
                }
            }
            other => self.step_input(other, now),
        }
    }

    fn step_input(&mut self, input: Input, now: Timestamp) {
        match (self.step.clone(), input) {
            (Step::Attract, Input::WalkIn) => {
                self.verification = Some(Verification::Anonymous);
                self.go(Step::Menu, now);
            }
            (Step::ExpectAccessKey, Input::QrCamera(state)) => self.qr_camera = Some(state),
            (Step::ExpectAccessKey, Input::AccessKey(key)) => {
                self.progress = None;
                self.authority_check = false;
                self.go(Step::Reading, now);
                self.action(Action::ReadDocument(key));
            }
            (Step::Reading, Input::ReadProgress { done, total }) => {
                self.progress = Some((done, total));
                self.emit(Event::ReadProgress { done, total });
            }
            (Step::Reading, Input::AuthorityCheck) => {
                self.authority_check = true;
                self.emit(Event::AuthorityCheck);
            }
            (Step::Reading, Input::ReadFinished(Ok(holder))) => {
                self.holder = Some(holder);
                self.key_rejected = false;
                self.go(Step::ExpectConfirmation, now);
            }
            (Step::Reading, Input::ReadFinished(Err(ReadFailure::WrongAccessKey))) => {
                self.wrong_keys = self.wrong_keys.saturating_add(1);
                let allowed = self.config.access_key_attempts;
                if self.wrong_keys >= allowed {
                    self.notice(Fault::WrongAccessKey, now);
                } else {
                    self.key_rejected = true;
                    self.emit(Event::AccessKeyRejected {
                        attempts_left: allowed - self.wrong_keys,
                    });
                    self.go(Step::ExpectAccessKey, now);
                }
            }
            (Step::Reading, Input::ReadFinished(Err(ReadFailure::Fault(fault)))) => {
                self.notice(fault, now);
            }
            (Step::ExpectConfirmation, Input::Confirm(true)) => {
                let has_photo = self.holder.as_ref().is_some_and(|h| h.has_face_photo);
                if has_photo {
                    self.go(Step::ExpectFaceConsent, now);
                } else {
                    // No face to check: authenticated staff must see the
                    // guardian before the child is served.
                    self.call_staff(StaffReason::GuardianPresent, now);
                }
            }
            (Step::ExpectConfirmation, Input::Confirm(false)) => {
                // Not their card, or wrong data: nothing more to do with it.
                self.end(EndReason::Cancelled, now);
            }
            (Step::ExpectFaceConsent, Input::Consent(true)) => {
                self.go(Step::FaceCheck { attempt: 1 }, now);
                self.action(Action::StartFaceCheck { attempt: 1 });
            }
            (Step::ExpectFaceConsent, Input::Consent(false)) => {
                self.call_staff(StaffReason::FaceCheckDeclined, now);
            }
            (Step::FaceCheck { .. }, Input::FaceFinished(FaceOutcome::Match)) => {
                self.verification = Some(Verification::FaceMatched);
                self.go(Step::Menu, now);
            }
            (Step::FaceCheck { .. }, Input::FaceFinished(outcome)) => {
                self.face_failed(outcome, now);
            }
            (Step::FaceCheck { .. }, Input::FaceGuidance(guide)) => {
                self.face_guide = Some(guide);
            }
            (Step::StaffAssist { reason, .. }, Input::StaffAuthenticated(credential)) => {
                // Staff get the whole staff-assist time from here on.
                self.step = Step::StaffAssist {
                    reason,
                    authority: Some(credential),
                };
                self.entered_at = now;
                self.staff_refusal = None;
            }
            (
                Step::StaffAssist {
                    reason,
                    authority: Some(credential),
                },
                Input::StaffDecision(approved),
            ) => {
                self.emit(Event::StaffDecided {
                    approved,
                    reason,
                    credential,
                });
                if approved {
                    self.verification = Some(if reason == StaffReason::GuardianPresent {
                        Verification::Guardian
                    } else {
                        Verification::StaffConfirmed
                    });
                    self.go(Step::Menu, now);
                } else {
                    self.end(EndReason::Cancelled, now);
                }
            }
            (
                Step::StaffAssist {
                    authority: None, ..
                },
                Input::StaffDecision(_),
            ) => {
                self.refuse(StaffRefusal::NotAuthenticated);
            }
            (Step::OutOfService, Input::StaffAuthenticated(credential)) => {
                if self.cabinet_open {
                    self.refuse(StaffRefusal::CabinetOpen);
                } else {
                    self.emit(Event::ServiceResumed { credential });
                    self.go(Step::Attract, now);
                }
            }
            (Step::Menu, Input::Choose(choice)) => self.choose(choice, now),
            (Step::ExpectIdentityConsent { service, priority }, Input::Consent(share)) => {
                // Declining costs nothing: the number is drawn all the same
                // (consent must be freely given, PDP Law 91/2025).
                self.issue(service, priority, share, now);
            }
            (Step::ExpectIdentityConsent { .. }, Input::Back) => self.go(Step::Menu, now),
            (Step::IssuingTicket, Input::TicketFinished(Ok(ticket))) => {
                self.go(Step::ShowingTicket { ticket }, now);
            }
            (
                Step::IssuingTicket,
                Input::TicketFinished(Err(
                    fault @ (Fault::ServiceClosed
                    | Fault::ServiceSoldOut
                    | Fault::PriorityNotEligible
                    | Fault::DocumentExpired),
                )),
            ) => {
                // Nothing is wrong with the citizen or the kiosk: back to
                // the menu, which says why, to choose again.
                self.go(Step::Menu, now);
                self.menu_notice = Some(fault);
            }
            (Step::IssuingTicket, Input::TicketFinished(Err(fault))) => self.notice(fault, now),
            (Step::ShowingTicket { .. }, Input::Continue)
            | (Step::ShowingReceipt { .. }, Input::Continue) => self.rating_step(now),
            (Step::ExpectForm { procedure }, Input::FormConfirmed) => {
                self.go(Step::ExpectRequestConsent { procedure }, now);
            }
            (Step::ExpectForm { .. }, Input::Back) => self.go(Step::Menu, now),
            // The policy does not let this card file the request (an
            // expired card, a card the identity authority could not
            // confirm): back to the menu, which says why; a number is
            // still possible.
            (
                Step::ExpectForm { .. },
                Input::RequestFinished(Err(
                    fault @ (Fault::DocumentExpired | Fault::UnverifiedOffline),
                )),
            ) => {
                self.go(Step::Menu, now);
                self.menu_notice = Some(fault);
            }
            // The form could not be prepared (an unknown procedure, a kiosk
            // without requests): say so instead of an empty form.
            (Step::ExpectForm { .. }, Input::RequestFinished(Err(fault))) => {
                self.notice(fault, now);
            }
            (Step::ExpectRequestConsent { procedure }, Input::Consent(true)) => {
                let verification = self.verification.unwrap_or(Verification::Anonymous);
                self.action(Action::SubmitRequest {
                    procedure: procedure.clone(),
                    verification,
                });
                self.go(Step::SubmittingRequest { procedure }, now);
            }
            (Step::ExpectRequestConsent { procedure }, Input::Back) => {
                self.go(Step::ExpectForm { procedure }, now);
            }
            (Step::ExpectRequestConsent { .. }, Input::Consent(false)) => {
                // Nothing leaves the kiosk without consent; back to the menu.
                self.go(Step::Menu, now);
            }
            (Step::SubmittingRequest { .. }, Input::RequestFinished(Ok(receipt))) => {
                self.go(Step::ShowingReceipt { receipt }, now);
            }
            (Step::SubmittingRequest { .. }, Input::RequestFinished(Err(fault))) => {
                self.notice(fault, now);
            }
            (Step::ExpectRating { subject }, Input::Rated(score)) => {
                let score = score.filter(|s| (1..=5).contains(s));
                self.emit(Event::Rated { score });
                if let Some(score) = score {
                    self.action(Action::RecordRating { subject, score });
                }
                self.go(Step::Goodbye, now);
            }
            (Step::Goodbye, Input::Continue) => self.end(EndReason::Completed, now),
            (Step::Notice { fault }, Input::Continue) => self.end(EndReason::Fault(fault), now),
            // Anything else is out of place for the step (a late progress
            // report, a double tap): ignored.
            _ => {}
        }
    }

    fn choose(&mut self, choice: MenuChoice, now: Timestamp) {
        let identified = self.holder.is_some();
        match choice {
            MenuChoice::TakeNumber { service, priority } => {
                let verification = self.verification.unwrap_or(Verification::Anonymous);
                if self.centre_mode && identified && verification != Verification::Anonymous {
                    self.go(Step::ExpectIdentityConsent { service, priority }, now);
                } else {
                    self.issue(service, priority, false, now);
                }
            }
            MenuChoice::SubmitRequest { procedure } if identified => {
                self.action(Action::PrepareForm {
                    procedure: procedure.clone(),
                });
                self.go(Step::ExpectForm { procedure }, now);
            }
            // A request needs an identified holder; the menu does not offer
            // it to walk-ins, so this is a stale touch.
            MenuChoice::SubmitRequest { .. } => {}
            // Status lookup is its own screen flow (issue: requests); until
            // then the menu stays.
            MenuChoice::CheckStatus => {}
            MenuChoice::Finish => self.rating_step(now),
        }
    }

    fn issue(
        &mut self,
        service: String,
        priority: Option<Priority>,
        share_identity: bool,
        now: Timestamp,
    ) {
        let verification = self.verification.unwrap_or(Verification::Anonymous);
        // Only an identified holder's chip can be shared (fails closed).
        let share_identity =
            share_identity && self.holder.is_some() && verification != Verification::Anonymous;
        self.go(Step::IssuingTicket, now);
        self.action(Action::IssueTicket {
            service,
            priority,
            verification,
            share_identity,
        });
    }

    fn card_presented(&mut self, now: Timestamp) {
        self.card_present = true;
        if self.step == Step::Attract {
            self.wrong_keys = 0;
            self.key_rejected = false;
            self.go(Step::ExpectAccessKey, now);
        }
    }

    fn card_removed(&mut self, now: Timestamp) {
        self.card_present = false;
        match self.step.kind() {
            // Before and while the chip is read, and until the citizen has
            // been identified and chosen, the card leaving ends the journey.
            StepKind::ExpectAccessKey
            | StepKind::Reading
            | StepKind::ExpectConfirmation
            | StepKind::ExpectFaceConsent
            | StepKind::FaceCheck
            | StepKind::StaffAssist
            | StepKind::Menu
            | StepKind::ExpectIdentityConsent
            | StepKind::ExpectForm
            | StepKind::ExpectRequestConsent
                if self.verification != Some(Verification::Anonymous) =>
            {
                if self.step == Step::Reading {
                    self.action(Action::AbortRead);
                }
                if matches!(self.step, Step::FaceCheck { .. }) {
                    self.action(Action::StopFaceCheck);
                }
                self.notice(Fault::CardRemoved, now);
            }
            // While a ticket prints or a request is queued, or on the
            // closing screens, taking the card is expected: forget the
            // holder at once but let the citizen see the number/receipt.
            StepKind::IssuingTicket
            | StepKind::ShowingTicket
            | StepKind::SubmittingRequest
            | StepKind::ShowingReceipt
            | StepKind::ExpectRating
            | StepKind::Goodbye
                if self.holder.is_some() =>
            {
                self.wipe();
            }
            _ => {}
        }
    }

    fn extend(&mut self, now: Timestamp) {
        if self.step.kind().is_interactive() && self.extensions < self.config.max_extensions {
            self.extensions += 1;
            self.warned = false;
            self.last_activity = now;
        }
    }

    fn touch(&mut self, now: Timestamp) {
        // Once the warning shows, a touch is the "simple action" that asks
        // for more time (WCAG 2.2.1) and counts as an extension.
        if self.warned {
            self.extend(now);
        } else {
            self.last_activity = now;
        }
    }

    fn face_failed(&mut self, outcome: FaceOutcome, now: Timestamp) {
        let attempt = match self.step {
            Step::FaceCheck { attempt } => attempt,
            _ => return,
        };
        let immediate = match outcome {
            FaceOutcome::CameraFault => Some(StaffReason::CameraFault),
            FaceOutcome::PhotoUnusable => Some(StaffReason::ChipPhotoUnusable),
            FaceOutcome::Unavailable => Some(StaffReason::FaceCheckUnavailable),
            _ => None,
        };
        if let Some(reason) = immediate {
            self.call_staff(reason, now);
            return;
        }
        if attempt >= self.config.face_attempts {
            self.call_staff(StaffReason::FaceNotMatched, now);
            return;
        }
        let next = attempt + 1;
        self.emit(Event::FaceRetry {
            outcome,
            attempts_left: self.config.face_attempts - attempt,
        });
        self.go(Step::FaceCheck { attempt: next }, now);
        self.action(Action::StartFaceCheck { attempt: next });
    }

    fn call_staff(&mut self, reason: StaffReason, now: Timestamp) {
        self.action(Action::CallStaff(reason));
        self.go(
            Step::StaffAssist {
                reason,
                authority: None,
            },
            now,
        );
    }

    fn refuse(&mut self, refusal: StaffRefusal) {
        self.staff_refusal = Some(refusal);
        self.emit(Event::StaffRefused(refusal));
    }

    fn rating_step(&mut self, now: Timestamp) {
        let subject = match &self.step {
            Step::ShowingTicket { ticket } => RatingSubject::Ticket(ticket.number.clone()),
            Step::ShowingReceipt { receipt } => RatingSubject::Request(receipt.code.clone()),
            _ => RatingSubject::Visit,
        };
        self.go(Step::ExpectRating { subject }, now);
    }

    /// Stops what the runtime is doing for the current step.
    fn stop_operations(&mut self) {
        if self.step == Step::Reading {
            self.action(Action::AbortRead);
        }
        if matches!(self.step, Step::FaceCheck { .. }) {
            self.action(Action::StopFaceCheck);
        }
    }

    fn notice(&mut self, fault: Fault, now: Timestamp) {
        // A fault screen shows no personal data: forget it now.
        self.wipe();
        self.go(Step::Notice { fault }, now);
    }

    /// Ends the journey: wipe, back to the attract screen.
    fn end(&mut self, reason: EndReason, now: Timestamp) {
        self.wipe();
        self.verification = None;
        self.wrong_keys = 0;
        self.key_rejected = false;
        self.progress = None;
        self.go(Step::Attract, now);
        self.emit(Event::Ended(reason));
        // A card still on the reader starts a fresh journey only when it is
        // presented again (taken off and put back): a citizen who cancelled
        // should not be pulled back in.
    }

    fn wipe(&mut self) {
        // `Holder` zeroizes on drop.
        self.holder = None;
        self.action(Action::WipePersonalData);
    }

    fn go(&mut self, next: Step, now: Timestamp) {
        self.staff_refusal = None;
        // The menu of a restricted card (expired) always says so.
        self.menu_notice = match next {
            Step::Menu => self.holder.as_ref().and_then(|h| h.menu_notice),
            _ => None,
        };
        let from = self.step.kind();
        let to = next.kind();
        self.step = next;
        self.face_guide = None;
        self.qr_camera = None;
        self.entered_at = now;
        self.last_activity = now;
        self.extensions = 0;
        self.warned = false;
        if from != to {
            self.emit(Event::StepChanged { from, to });
        }
    }

    fn deadline(&self) -> Option<Timestamp> {
        let t = &self.config.timeouts;
        let (base, limit) = match self.step {
            Step::Attract => return None,
            Step::ExpectAccessKey => (self.last_activity, t.access_key),
            Step::Reading => (self.entered_at, t.reading),
            Step::ExpectConfirmation => (self.last_activity, t.confirm),
            Step::ExpectFaceConsent => (self.last_activity, t.face_consent),
            Step::FaceCheck { .. } => (self.entered_at, t.face_check),
            Step::StaffAssist { .. } => (self.entered_at, t.staff_assist),
            Step::Menu => (self.last_activity, t.menu),
            Step::ExpectIdentityConsent { .. } => (self.last_activity, t.identity_consent),
            Step::IssuingTicket => (self.entered_at, t.ticket),
            Step::ShowingTicket { .. } => (self.entered_at, t.show_ticket),
            Step::ExpectForm { .. } => (self.last_activity, t.form),
            Step::ExpectRequestConsent { .. } => (self.last_activity, t.request_consent),
            Step::SubmittingRequest { .. } => (self.entered_at, t.submit),
            Step::ShowingReceipt { .. } => (self.entered_at, t.show_receipt),
            Step::ExpectRating { .. } => (self.last_activity, t.rating),
            Step::Goodbye => (self.entered_at, t.goodbye),
            Step::Notice { .. } => (self.entered_at, t.notice),
            Step::OutOfService => return None,
        };
        Some(base + limit)
    }

    fn action(&mut self, action: Action) {
        self.outputs.push_back(Output::Action(action));
    }

    fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }
}

/// Inputs that are the citizen touching the screen.
fn is_touch(input: &Input) -> bool {
    matches!(
        input,
        Input::Activity
            | Input::AccessKey(_)
            | Input::Confirm(_)
            | Input::Consent(_)
            | Input::Choose(_)
            | Input::FormConfirmed
            | Input::Rated(_)
            | Input::Continue
            | Input::Back
    )
}

/// How long until `deadline`, zero if passed; for countdowns.
pub fn remaining(deadline: Timestamp, now: Timestamp) -> Duration {
    deadline.saturating_since(now)
}

#[cfg(test)]
mod tests;
