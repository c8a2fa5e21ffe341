//! The kiosk's side of a centre's queue (`kiosk-centre`,
//! `docs/centre-api.yaml`): the wire types both ends use, what a kiosk
//! does with the centre's answer, its offline numbers, and reconciliation.
//!
//! A kiosk of a centre asks the centre for each number (one HTTPS request
//! with an idempotency key, within a deadline). Three outcomes
//! ([`decide`]):
//!
//! - the centre issued a number: the kiosk keeps a copy (origin `centre`)
//!   and prints it;
//! - the centre refused (closed, sold out, unknown service, this kiosk not
//!   admitted): the citizen sees the refusal, no number;
//! - the centre could not be reached, answered 5xx, or its answer could not
//!   be read: the kiosk numbers from the **block** the centre assigned it
//!   ([`OfflineBlock`], e.g. sequences 800–849 of every service and lane,
//!   so `A800`, `AU800`), prints "offline" on the ticket, and keeps the row
//!   until the centre acknowledges it.
//!
//! Blocks, not prefixes: an offline number looks like every other number
//! (the hall display and the counters need no new format), and the centre's
//! own numbering stops below every block (`online_max`), so an offline
//! number can never equal an online one, nor another kiosk's.
//!
//! Reconciliation ([`ReconcileRequest`]) sends the unacknowledged offline
//! tickets and the keys of requests whose answer never came (a timeout, a
//! crash). The centre records each offline ticket under its own key (a
//! replay is acknowledged again, never recorded twice) and voids a number
//! it issued under an attempted key if it is still waiting: nobody holds
//! it. So there is no duplicate number and no lost ticket.
//!
//! Nothing here does I/O or reads a clock: the board's client carries the
//! requests, and `now` is passed in.

use super::{DrawRequest, Lane, Queue, QueueError, Ticket, display_number, priority_code};
use crate::cccd::date::Date;
use crate::store::{CentreNumber, Draw, OfflineDraw, Store, UnixMillis};
use crate::ticket::LocalTime;
use serde::{Deserialize, Serialize};

/// The header carrying a request's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The most sequences a day, service and lane can have (three digits).
pub const MAX_SEQ: u32 = 999;

/// A kiosk's offline numbers: sequences `first..=last` of every service and
/// lane, each day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineBlock {
    /// First sequence.
    pub first: u32,
    /// Last sequence.
    pub last: u32,
}

impl OfflineBlock {
    /// Parses `800-849`.
    pub fn parse(s: &str) -> Result<OfflineBlock, String> {
        let bad = || format!("{s:?} is not a block FIRST-LAST of sequences 1–{MAX_SEQ}");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let first: u32 = a.trim().parse().map_err(|_| bad())?;
        let last: u32 = b.trim().parse().map_err(|_| bad())?;
        if first == 0 || first > last || last > MAX_SEQ {
            return Err(bad());
        }
        Ok(OfflineBlock { first, last })
    }

    /// Whether `seq` is in the block.
    pub fn contains(&self, seq: u32) -> bool {
        (self.first..=self.last).contains(&seq)
    }

    /// Whether two blocks share a sequence.
    pub fn overlaps(&self, other: &OfflineBlock) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl std::fmt::Display for OfflineBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// Where a ticket's number came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The kiosk's own numbering (no centre).
    Local,
    /// The centre's numbering.
    Centre,
    /// The kiosk's offline block, while the centre was unreachable.
    Offline,
}

impl Origin {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Centre => "centre",
            Origin::Offline => "offline",
        }
    }

    /// From its stored name.
    pub fn parse(s: &str) -> Option<Origin> {
        match s {
            "local" => Some(Origin::Local),
            "centre" => Some(Origin::Centre),
            "offline" => Some(Origin::Offline),
            _ => None,
        }
    }
}

/// Where a ticket is in its life at the centre (Novo SGA's statuses and
/// TheQ's periods, reduced to what a one-stop centre's counter does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// In the waiting list (after issue, or after a transfer).
    Waiting,
    /// Called to a counter (and perhaps recalled).
    Called,
    /// The counter served it: done.
    Served,
    /// Called and nobody came: done.
    NoShow,
    /// A number nobody holds (its kiosk never received it): never called.
    Void,
}

impl TicketState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Waiting => "waiting",
            TicketState::Called => "called",
            TicketState::Served => "served",
            TicketState::NoShow => "no_show",
            TicketState::Void => "void",
        }
    }

    /// From its stored name.
    pub fn parse(s: &str) -> Option<TicketState> {
        match s {
            "waiting" => Some(TicketState::Waiting),
            "called" => Some(TicketState::Called),
            "served" => Some(TicketState::Served),
            "no_show" => Some(TicketState::NoShow),
            "void" => Some(TicketState::Void),
            _ => None,
        }
    }
}

/// `POST /v1/tickets`: a number, please.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// Service code.
    pub service: String,
    /// The number range (the kiosk resolved the priority).
    pub lane: Lane,
    /// Priority category (`elderly`, …), with `lane = priority`.
    pub priority: Option<String>,
    /// How identity was checked (`anonymous`, `face_matched`, …).
    pub verification: String,
    /// What the chip verified, for the counter that calls this number:
    /// only with the citizen's consent on the kiosk's own screen (PDP Law
    /// 91/2025), only for an identified holder, never for an offline
    /// number. The centre keeps it encrypted until the ticket ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityPacket>,
}

/// What the chip verified about the holder of a ticket, handed to the
/// counter that calls it so the officer does not ask again ("no
/// re-declaring", Project 06). Personal data: never logged (its `Debug`
/// shows nothing personal), zeroized when dropped, sent only over the
/// centre's mutual TLS, kept by the centre encrypted at rest and deleted
/// when the ticket is served, a no-show, or at day end; each view by a
/// counter is audited.
#[derive(
    Clone, PartialEq, Eq, Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop,
)]
#[serde(deny_unknown_fields)]
pub struct IdentityPacket {
    /// Full name with diacritics, as on the chip.
    pub full_name: String,
    /// Date of birth as on the chip (`dd/mm/yyyy`).
    pub date_of_birth: String,
    /// The ID number with all but its last 4 digits hidden.
    pub masked_id: String,
    /// How the person was tied to the card: `face_matched`,
    /// `staff_confirmed` or `guardian` (never `anonymous`: an anonymous
    /// ticket has no packet).
    pub verification: String,
    /// How the chip was proven genuine: `anchored` (passive
    /// authentication to the kiosk's CSCA list, offline) or `authority`
    /// (the identity authority confirmed it online).
    pub genuineness: String,
    /// The service chosen at the kiosk.
    pub service: String,
    /// For a service that is a procedure: its form, pre-filled from the
    /// chip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<PrefilledForm>,
    /// When the citizen said yes on the consent screen (wall-clock ms).
    pub consented_at_unix_ms: u64,
}

impl core::fmt::Debug for IdentityPacket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityPacket")
            .field("verification", &self.verification)
            .field("genuineness", &self.genuineness)
            .field("service", &self.service)
            .field("form", &self.form.as_ref().map(|form| &form.procedure))
            .finish_non_exhaustive()
    }
}

/// A procedure's form as the kiosk pre-filled it from the chip.
#[derive(
    Clone, PartialEq, Eq, Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop,
)]
#[serde(deny_unknown_fields)]
pub struct PrefilledForm {
    /// Procedure code.
    pub procedure: String,
    /// Its fields, in the form's order.
    pub fields: Vec<FormField>,
}

impl core::fmt::Debug for PrefilledForm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PrefilledForm")
            .field("procedure", &self.procedure)
            .field("fields", &self.fields.len())
            .finish()
    }
}

/// One field of a pre-filled form.
#[derive(
    Clone, PartialEq, Eq, Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop,
)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// The field's key in the procedure's form.
    pub key: String,
    /// Its label, Vietnamese.
    pub label_vi: String,
    /// Its label, English.
    pub label_en: String,
    /// The value from the chip.
    pub value: String,
}

impl core::fmt::Debug for FormField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FormField")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The packet's `genuineness` for a chip's verdict: `authority` when the
/// identity authority (C06) confirmed it online, `anchored` when passive
/// authentication chains to the kiosk's CSCA list; `None` for anything
/// else (unverified, unanchored, failed): no packet vouches for it.
pub fn genuineness_code(g: &crate::trust::Genuineness) -> Option<&'static str> {
    match g {
        crate::trust::Genuineness::OnlineVerified { .. } => Some("authority"),
        crate::trust::Genuineness::Anchored { .. } => Some("anchored"),
        // Not proven genuine: the counter gets nothing it could take for
        // verified data, and asks for the card. Listed one by one so a new
        // kind of genuineness must be decided here.
        crate::trust::Genuineness::UnverifiedOffline { .. }
        | crate::trust::Genuineness::Unanchored { .. }
        | crate::trust::Genuineness::Failed { .. } => None,
    }
}

impl PrefilledForm {
    /// `procedure`'s form pre-filled from the verified chip: the fields
    /// the chip filled, in the form's order (what the citizen would type
    /// is for the counter to ask).
    pub fn from_chip(
        procedure: &crate::requests::Procedure,
        citizen: &crate::cccd::dg13::Citizen,
    ) -> PrefilledForm {
        let form = crate::requests::Form::prefill(procedure, citizen);
        let fields = form
            .entries()
            .zip(&procedure.fields)
            .filter_map(|((key, value, source), field)| match (value, source) {
                (Some(value), crate::requests::form::Source::Chip) => Some(FormField {
                    key: key.to_owned(),
                    label_vi: field.label_vi.clone(),
                    label_en: field.label_en.clone(),
                    value: value.to_owned(),
                }),
                _ => None,
            })
            .collect();
        PrefilledForm {
            procedure: procedure.code.clone(),
            fields,
        }
    }
}

/// A ticket as the centre holds it. No personal data: a number, codes and
/// times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentreTicket {
    /// The centre's id of the ticket.
    pub id: i64,
    /// The centre.
    pub centre_id: String,
    /// Local day `YYYYMMDD`.
    pub day: String,
    /// The display number, e.g. `A012`.
    pub number: String,
    /// The service whose numbering gave it.
    pub issued_service: String,
    /// The service it waits for now (another after a transfer).
    pub service: String,
    /// Number range.
    pub lane: Lane,
    /// Sequence within the day, service and lane.
    pub seq: u32,
    /// Priority category.
    pub priority: Option<String>,
    /// How identity was checked.
    pub verification: String,
    /// The kiosk that issued it.
    pub kiosk_id: String,
    /// Online or from a kiosk's offline block.
    pub origin: Origin,
    /// Where it is.
    pub state: TicketState,
    /// When it was drawn (wall-clock ms).
    pub drawn_at_unix_ms: u64,
    /// The counter that called it, or the one it was transferred to.
    pub counter: Option<u16>,
    /// When it was last called.
    pub called_at_unix_ms: Option<u64>,
    /// How often it was called again.
    pub recalls: u32,
}

/// The answer to `POST /v1/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueAnswer {
    /// The ticket.
    pub ticket: CentreTicket,
    /// Tickets of its service called before it, now.
    pub waiting: u32,
    /// `true`: this key had been answered before; this is that ticket.
    pub replayed: bool,
}

/// Every refusal's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable code (`closed`, `sold_out`, `unknown_service`, …).
    pub error: String,
    /// For people.
    pub message: String,
    /// `closed`: when the service next opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_opening_unix_ms: Option<u64>,
    /// `sold_out`: the daily limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `GET /v1/kiosk`: what the centre assigned the calling kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskAssignment {
    /// The centre.
    pub centre_id: String,
    /// The kiosk, as its certificate names it.
    pub kiosk_id: String,
    /// Its offline numbers.
    pub offline_block: OfflineBlock,
    /// The centre's own numbers stop here (below every block).
    pub online_max: u32,
    /// The centre's local day now.
    pub day: String,
}

/// An offline ticket, as reconciliation sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineTicket {
    /// The offline ticket's own key.
    pub idempotency_key: String,
    /// The key of the centre request that failed before it, if any.
    pub attempted_key: Option<String>,
    /// Local day `YYYYMMDD`.
    pub day: String,
    /// Service code.
    pub service: String,
    /// Number range.
    pub lane: Lane,
    /// Sequence (in the kiosk's block).
    pub seq: u32,
    /// The display number printed.
    pub number: String,
    /// Priority category.
    pub priority: Option<String>,
    /// How identity was checked.
    pub verification: String,
    /// When the kiosk drew it.
    pub drawn_at_unix_ms: u64,
}

/// `POST /v1/reconcile`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileRequest {
    /// Offline tickets not yet acknowledged.
    pub tickets: Vec<OfflineTicket>,
    /// Keys of requests whose answer never came and that no offline ticket
    /// names (a crash between asking and printing).
    pub abandoned: Vec<String>,
}

impl ReconcileRequest {
    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty() && self.abandoned.is_empty()
    }
}

/// What the centre did with one offline ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileOutcome {
    /// Recorded now.
    Recorded,
    /// Recorded by an earlier reconciliation (a replay).
    Already,
    /// Refused: not this kiosk's block, a number that does not match, an
    /// unknown service, or the number is taken. The kiosk keeps it and
    /// staff are alerted; nothing is lost.
    Rejected,
}

/// One offline ticket's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileResult {
    /// The offline ticket's key.
    pub idempotency_key: String,
    /// What happened.
    pub outcome: ReconcileOutcome,
    /// The centre's id of the ticket (recorded or already).
    pub ticket_id: Option<i64>,
    /// The number of the attempted request's ticket the centre voided.
    pub voided: Option<String>,
    /// Why, when rejected.
    pub reason: Option<String>,
}

/// The answer to `POST /v1/reconcile`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReconcileAnswer {
    /// One per offline ticket sent, in order.
    pub results: Vec<ReconcileResult>,
    /// The abandoned keys the centre has dealt with (voided, or found
    /// nothing to void); the kiosk forgets them.
    pub abandoned_done: Vec<String>,
    /// Numbers voided for abandoned keys.
    pub voided: Vec<String>,
}

/// `POST /v1/counters/{counter}/call-next`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallNextRequest {
    /// Only this service; otherwise every service the counter serves.
    #[serde(default)]
    pub service: Option<String>,
}

/// The answer to a call: the ticket called, or none waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAnswer {
    /// The ticket, or `None` when nobody waits.
    pub ticket: Option<CentreTicket>,
}

/// `POST /v1/tickets/{id}/recall|served|no-show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterAction {
    /// The counter acting (it must be the one that called the ticket).
    pub counter: u16,
}

/// `POST /v1/tickets/{id}/transfer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The counter acting.
    pub counter: u16,
    /// The service it goes to (its own service for a counter transfer).
    pub to_service: String,
    /// Only this counter may call it next.
    #[serde(default)]
    pub to_counter: Option<u16>,
}

/// What a rating is about (the subject's kind only: a satisfaction count
/// needs no ticket number or receipt code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingKind {
    /// A queue ticket's visit.
    Ticket,
    /// An online request filed at the kiosk.
    Request,
    /// The kiosk visit as such.
    Visit,
}

impl RatingKind {
    /// The wire and column text.
    pub fn as_str(self) -> &'static str {
        match self {
            RatingKind::Ticket => "ticket",
            RatingKind::Request => "request",
            RatingKind::Visit => "visit",
        }
    }

    /// From its wire and column text.
    pub fn parse(s: &str) -> Option<RatingKind> {
        match s {
            "ticket" => Some(RatingKind::Ticket),
            "request" => Some(RatingKind::Request),
            "visit" => Some(RatingKind::Visit),
            _ => None,
        }
    }
}

/// `POST /v1/ratings` (a kiosk, with an idempotency key): the citizen's
/// answer to the satisfaction question, 1 (very unhappy) to 5 (very
/// happy). No personal data: a score, its subject's kind and the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1–5.
    pub score: u8,
    /// What was rated.
    pub kind: RatingKind,
    /// The service of the ticket rated, when the subject is a ticket.
    #[serde(default)]
    pub service: Option<String>,
}

impl RatingRequest {
    /// A ticket's rating with its `service`, or a visit's without one.
    pub fn new(score: u8, service: Option<&str>) -> RatingRequest {
        RatingRequest {
            score,
            kind: if service.is_some() {
                RatingKind::Ticket
            } else {
                RatingKind::Visit
            },
            service: service.map(str::to_owned),
        }
    }
}

/// A score of this or more is "satisfied" (hài lòng or rất hài lòng) in
/// the satisfaction share the centre reports (Decision 766/QĐ-TTg scores
/// the share of citizens satisfied).
pub const SATISFIED_FROM: u8 = 4;

/// What happened to a ticket, as the hall display and the counters hear
/// it on `GET /v1/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueEventKind {
    /// A kiosk drew it.
    Issued,
    /// A counter called it: the display shows and speaks it.
    Called,
    /// Called again.
    Recalled,
    /// Served.
    Served,
    /// Nobody came.
    NoShow,
    /// Sent to another service or counter (waiting again).
    Transferred,
}

impl QueueEventKind {
    /// The SSE event name.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueEventKind::Issued => "issued",
            QueueEventKind::Called => "called",
            QueueEventKind::Recalled => "recalled",
            QueueEventKind::Served => "served",
            QueueEventKind::NoShow => "no_show",
            QueueEventKind::Transferred => "transferred",
        }
    }
}

/// One change of the centre's queue (`GET /v1/events`, server-sent
/// events). No personal data: a number, a service code and a counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEvent {
    /// Increasing within one run of the centre (the SSE `id`).
    pub seq: u64,
    /// What happened.
    pub kind: QueueEventKind,
    /// The number shown (`A001`).
    pub number: String,
    /// Its service now.
    pub service: String,
    /// The counter, for calls, recalls and finishes.
    pub counter: Option<u16>,
    /// When (the centre's clock).
    pub at_unix_ms: u64,
}

/// A ticket at a counter now, in the snapshot a new listener of
/// `GET /v1/events` gets first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtCounter {
    /// The number shown.
    pub number: String,
    /// Its service.
    pub service: String,
    /// The counter.
    pub counter: u16,
    /// When it was (last) called.
    pub called_at_unix_ms: u64,
}

/// What a kiosk's request to the centre came to, as its transport saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// An HTTP answer.
    Answered {
        /// Status code.
        status: u16,
        /// Body.
        body: Vec<u8>,
    },
    /// No answer within the deadline: not connected, TLS refused, reset,
    /// timed out. What the transport said, without personal data.
    Unreachable(String),
}

/// Why a kiosk numbers offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum OfflineReason {
    /// No answer within the deadline.
    Unreachable(String),
    /// The centre answered with a server error.
    ServerError(u16),
    /// The centre said it issued a number but the answer cannot be read.
    UnreadableAnswer,
}

/// What to do with an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Print the centre's ticket.
    Issued(Box<IssueAnswer>),
    /// Show the refusal; no number.
    Refused(ApiError),
    /// Number from the offline block.
    Offline(OfflineReason),
}

/// Decides what an attempt means (fails closed on refusals: a centre that
/// answered "no" is never overridden by an offline number).
pub fn decide(attempt: &Attempt) -> Decision {
    match attempt {
        Attempt::Unreachable(why) => Decision::Offline(OfflineReason::Unreachable(why.clone())),
        Attempt::Answered { status, body } if (200..300).contains(status) => {
            match serde_json::from_slice::<IssueAnswer>(body) {
                Ok(answer) => Decision::Issued(Box::new(answer)),
                Err(_) => Decision::Offline(OfflineReason::UnreadableAnswer),
            }
        }
        Attempt::Answered { status, .. } if *status >= 500 => {
            Decision::Offline(OfflineReason::ServerError(*status))
        }
        Attempt::Answered { status, body } => Decision::Refused(
            serde_json::from_slice::<ApiError>(body).unwrap_or_else(|_| ApiError {
                error: "refused".into(),
                message: format!("the centre answered {status}"),
                next_opening_unix_ms: None,
                limit: None,
            }),
        ),
    }
}

/// A request about to be sent: its key and body. The attempt is recorded
/// in the store first, so a crash leaves a trace reconciliation clears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The idempotency key (send it again on a retry).
    pub key: String,
    /// The body.
    pub request: IssueRequest,
    /// The day the kiosk numbers in, if it must go offline.
    pub day: String,
}

/// A ticket taken in centre mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreDrawn {
    /// The kiosk's copy (print it).
    pub ticket: Ticket,
    /// People waiting before it (0 when offline: unknown).
    pub waiting: u32,
    /// Why it is an offline number, when it is.
    pub offline: Option<OfflineReason>,
}

/// A reconciliation's result on the kiosk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileSummary {
    /// Offline tickets the centre holds now (recorded or already).
    pub acknowledged: u32,
    /// Offline tickets the centre refused (kept; staff alerted).
    pub rejected: Vec<String>,
    /// Numbers the centre voided (issued but never received).
    pub voided: Vec<String>,
    /// Abandoned attempts cleared.
    pub abandoned_cleared: u32,
}

/// How many offline tickets one reconciliation sends at most.
pub const RECONCILE_BATCH: u32 = 200;

/// An attempt older than this with no outcome is abandoned (its request
/// cannot still be in flight: the client's deadline is far shorter).
pub const ABANDONED_AFTER_MS: u64 = 60_000;

impl Queue {
    /// Checks a request as [`Queue::draw`] does (service, hours, priority)
    /// and records the attempt under a fresh key made from `nonce` (random
    /// bytes from the caller: the firmware has no random source).
    pub fn prepare_centre(
        &self,
        store: &mut Store,
        request: &DrawRequest<'_>,
        nonce: &[u8; 16],
        now: UnixMillis,
    ) -> Result<Prepared, QueueError> {
        let service = self
            .catalog
            .service(request.service)
            .ok_or_else(|| QueueError::UnknownService(request.service.to_owned()))?;
        let local = LocalTime::in_vietnam(now.0).ok_or(QueueError::Clock(now.0))?;
        if !service.hours.is_open(now.0) {
            return Err(QueueError::Closed {
                service: service.code.clone(),
                next_opening: service.hours.next_opening(now.0).map(UnixMillis),
            });
        }
        let today =
            Date::new(local.year, local.month, local.day).ok_or(QueueError::Clock(now.0))?;
        let priority = super::resolve_priority(
            request.declared,
            request.age,
            today,
            self.catalog.policy.elderly_age,
        )?;
        let key = hex::encode(nonce);
        store.begin_centre_attempt(&key, &service.code, now)?;
        Ok(Prepared {
            key,
            request: IssueRequest {
                service: service.code.clone(),
                lane: if priority.is_some() {
                    Lane::Priority
                } else {
                    Lane::Normal
                },
                priority: priority.map(|p| priority_code(p).to_owned()),
                verification: super::verification_code(request.verification).to_owned(),
                identity: None,
            },
            day: local.day_key(),
        })
    }

    /// Finishes a prepared request with what the transport brought back:
    /// keeps the centre's number, refuses, or numbers from `block` (the
    /// kiosk's offline numbers; without one known the kiosk cannot number
    /// offline and refuses with [`QueueError::CentreUnreachable`]).
    pub fn finish_centre(
        &self,
        store: &mut Store,
        prepared: &Prepared,
        attempt: &Attempt,
        block: Option<OfflineBlock>,
        now: UnixMillis,
    ) -> Result<CentreDrawn, QueueError> {
        match decide(attempt) {
            Decision::Issued(answer) => {
                let t = &answer.ticket;
                let row = store.keep_centre_number(&CentreNumber {
                    day: &t.day,
                    service: &t.issued_service,
                    lane: t.lane.as_str(),
                    seq: t.seq,
                    number: &t.number,
                    priority: t.priority.as_deref(),
                    verification: &t.verification,
                    drawn_at: UnixMillis(t.drawn_at_unix_ms),
                    idempotency_key: &prepared.key,
                    centre_ticket_id: t.id,
                    received_at: now,
                })?;
                Ok(CentreDrawn {
                    ticket: Ticket::from_row(row)?,
                    waiting: answer.waiting,
                    offline: None,
                })
            }
            Decision::Refused(e) => {
                store.end_centre_attempt(&prepared.key)?;
                Err(refusal(&prepared.request.service, e))
            }
            Decision::Offline(reason) => {
                let Some(block) = block else {
                    // The attempt stays open: reconciliation voids any
                    // number the centre issued under it.
                    return Err(QueueError::CentreUnreachable);
                };
                let offline_key = format!("{}-offline", prepared.key);
                let r = &prepared.request;
                let draw = store.draw_offline_ticket(&OfflineDraw {
                    day: &prepared.day,
                    service: &r.service,
                    lane: r.lane.as_str(),
                    first: block.first,
                    last: block.last,
                    format: display_number,
                    priority: r.priority.as_deref(),
                    verification: &r.verification,
                    drawn_at: now,
                    idempotency_key: &offline_key,
                    attempted_key: Some(&prepared.key),
                })?;
                match draw {
                    Draw::Drawn(row) => Ok(CentreDrawn {
                        ticket: Ticket::from_row(*row)?,
                        waiting: 0,
                        offline: Some(reason),
                    }),
                    Draw::SoldOut { drawn } => Err(QueueError::SoldOut {
                        service: r.service.clone(),
                        limit: drawn,
                    }),
                }
            }
        }
    }

    /// What the next reconciliation sends: the unacknowledged offline
    /// tickets (oldest first, at most [`RECONCILE_BATCH`]) and the open
    /// attempts no offline ticket names that began over
    /// [`ABANDONED_AFTER_MS`] before `now` (younger ones may be in flight).
    pub fn reconcile_request(
        &self,
        store: &Store,
        now: UnixMillis,
    ) -> Result<ReconcileRequest, QueueError> {
        let tickets = store
            .unacked_offline_tickets(RECONCILE_BATCH)?
            .into_iter()
            .map(|row| {
                let ticket = Ticket::from_row(row.clone())?;
                Ok(OfflineTicket {
                    idempotency_key: row
                        .idempotency_key
                        .clone()
                        .ok_or(QueueError::CorruptRow(row.id))?,
                    attempted_key: row.attempted_key.clone(),
                    day: row.day,
                    service: row.service,
                    lane: ticket.lane,
                    seq: row.seq,
                    number: row.number,
                    priority: row.priority,
                    verification: row.verification,
                    drawn_at_unix_ms: row.drawn_at.0,
                })
            })
            .collect::<Result<Vec<_>, QueueError>>()?;
        let before = UnixMillis(now.0.saturating_sub(ABANDONED_AFTER_MS));
        let abandoned = store.open_centre_attempts(before, RECONCILE_BATCH)?;
        Ok(ReconcileRequest { tickets, abandoned })
    }

    /// Applies the centre's answer: acknowledged tickets are marked (kept
    /// for re-printing until the day's end), abandoned attempts the centre
    /// dealt with are forgotten. Rejected tickets stay unacknowledged.
    pub fn apply_reconcile(
        &self,
        store: &mut Store,
        answer: &ReconcileAnswer,
        now: UnixMillis,
    ) -> Result<ReconcileSummary, QueueError> {
        let mut summary = ReconcileSummary::default();
        for r in &answer.results {
            match r.outcome {
                ReconcileOutcome::Recorded | ReconcileOutcome::Already => {
                    if store.ack_offline_ticket(&r.idempotency_key, r.ticket_id, now)? {
                        summary.acknowledged += 1;
                    }
                }
                ReconcileOutcome::Rejected => summary.rejected.push(r.idempotency_key.clone()),
            }
            if let Some(v) = &r.voided {
                summary.voided.push(v.clone());
            }
        }
        for key in &answer.abandoned_done {
            store.end_centre_attempt(key)?;
            summary.abandoned_cleared += 1;
        }
        summary.voided.extend(answer.voided.iter().cloned());
        Ok(summary)
    }
}

/// The queue error a centre's refusal means.
pub fn refusal(service: &str, e: ApiError) -> QueueError {
    match e.error.as_str() {
        "closed" => QueueError::Closed {
            service: service.to_owned(),
            next_opening: e.next_opening_unix_ms.map(UnixMillis),
        },
        "sold_out" => QueueError::SoldOut {
            service: service.to_owned(),
            limit: e.limit.unwrap_or(0),
        },
        "unknown_service" => QueueError::UnknownService(service.to_owned()),
        _ => QueueError::CentreRefused {
            code: e.error,
            message: e.message,
        },
    }
}

/// Backoff between reconciliations while the centre stays away: doubling
/// from `base_ms` up to `max_ms`. Sans-IO: the driver asks [`due`] with
/// `now` and reports each outcome.
///
/// [`due`]: ReconcileSchedule::due
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileSchedule {
    base_ms: u64,
    max_ms: u64,
    failures: u32,
    next_at: u64,
}

impl ReconcileSchedule {
    /// Due at once, then every `base_ms` while there is work.
    pub fn new(base_ms: u64, max_ms: u64) -> ReconcileSchedule {
        ReconcileSchedule {
            base_ms: base_ms.max(1),
            max_ms: max_ms.max(base_ms.max(1)),
            failures: 0,
            next_at: 0,
        }
    }

    /// Whether a reconciliation should run at `now` (monotonic ms).
    pub fn due(&self, now: u64) -> bool {
        now >= self.next_at
    }

    /// When the next one is due.
    pub fn next_at(&self) -> u64 {
        self.next_at
    }

    /// The centre answered: back to the base interval.
    pub fn succeeded(&mut self, now: u64) {
        self.failures = 0;
        self.next_at = now.saturating_add(self.base_ms);
    }

    /// The centre could not be reached: wait longer.
    pub fn failed(&mut self, now: u64) {
        self.failures = self.failures.saturating_add(1);
        let shift = self.failures.min(20);
        let wait = self.base_ms.saturating_mul(1u64 << shift).min(self.max_ms);
        self.next_at = now.saturating_add(wait);
    }
}

#[cfg(test)]
mod tests;
