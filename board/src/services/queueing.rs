//! Numbering through the centre off the run loop (issue 18): the centre's
//! client ([`crate::online::centre::CentreClient`], behind [`CentreApi`])
//! is lent to a worker thread for each exchange, with a deadline, and the
//! run loop polls it every turn ([`crate::services::worker::Lent`]). The
//! store's work stays on the loop, before and after the network
//! (`Queue::prepare_centre` / `finish_centre`, `reconcile_request` /
//! `apply_reconcile`: see `runtime::centre`).
//!
//! Two jobs may run at once, each on its own handle of the client (one
//! connection per exchange, nothing shared but the TLS configuration):
//!
//! - the **number** a citizen waits for ([`IssueJob`]): one
//!   `POST /v1/tickets`; an answer that has not come by the deadline (the
//!   `[centre]` section's `timeout_ms`) is [`Attempt::Unreachable`], and
//!   the kiosk numbers offline from its block;
//! - the **background** exchange ([`Background`]): the assignment
//!   (`GET /v1/kiosk`, at start-up), then a reconciliation
//!   (`POST /v1/reconcile`) and the ratings not yet acknowledged
//!   (`POST /v1/ratings`, each under its own idempotency key), on the
//!   idle loop at the pace of a [`ReconcileSchedule`].
//!
//! A worker that outlives its deadline is forgotten: its handle is a clone
//! and its late answer is dropped. Nothing is lost by that: an issued
//! number nobody received is voided by the next reconciliation (its
//! attempt key), an offline ticket or a rating not acknowledged goes
//! again under the same key, and the centre records each key once.
//!
//! Personal data: only the identity packet of a consenting holder, inside
//! the [`IssueRequest`] moved into the issue job and dropped (zeroized)
//! when the exchange returns. It is never kept, stored or logged here.
//!
//! Nothing here reads a clock: `now` is passed in.

use crate::online::centre::{CentreCallError, CentreClient};
use crate::services::worker::{Lent, Polled, Transport};
use kiosk_firmware::queue::centre::{
    Attempt, IssueRequest, KioskAssignment, Prepared, RatingRequest, ReconcileAnswer,
    ReconcileRequest, ReconcileSchedule,
};
use kiosk_firmware::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The store key of the ratings the centre has not acknowledged (a JSON
/// list of [`PendingRating`]: scores and service codes, no personal
/// data).
pub const PENDING_RATINGS_KEY: &str = "centre.ratings.pending";

/// The most unacknowledged ratings kept (the oldest go first beyond it:
/// a satisfaction count, not a record anyone is owed).
pub const MAX_PENDING_RATINGS: usize = 2_000;

/// The most ratings one background exchange sends.
pub const RATINGS_BATCH: usize = 50;

/// The longest a background exchange may take before it counts as
/// unanswered (the schedule then backs off).
pub const BACKGROUND_DEADLINE: Duration = Duration::from_secs(30);

/// How often reconciliation runs at most while the centre stays away.
pub const MAX_RECONCILE_BACKOFF: Duration = Duration::from_secs(600);

/// What the kiosk asks of its centre: the board's client, or a test's
/// double that records what it was handed.
pub trait CentreApi: Send + Sync + std::fmt::Debug {
    /// `POST /v1/tickets` under `key`; every transport failure is an
    /// [`Attempt::Unreachable`].
    fn issue(&self, key: &str, request: &IssueRequest) -> Attempt;
    /// `GET /v1/kiosk`.
    fn assignment(&self) -> Result<KioskAssignment, CentreCallError>;
    /// `POST /v1/reconcile`.
    fn reconcile(&self, request: &ReconcileRequest) -> Result<ReconcileAnswer, CentreCallError>;
    /// `POST /v1/ratings` under `key`: `true` recorded now, `false` a
    /// replay of a key recorded before.
    fn rate(&self, key: &str, request: &RatingRequest) -> Result<bool, CentreCallError>;
}

impl CentreApi for CentreClient {
    fn issue(&self, key: &str, request: &IssueRequest) -> Attempt {
        CentreClient::issue(self, key, request)
    }
    fn assignment(&self) -> Result<KioskAssignment, CentreCallError> {
        CentreClient::assignment(self)
    }
    fn reconcile(&self, request: &ReconcileRequest) -> Result<ReconcileAnswer, CentreCallError> {
        CentreClient::reconcile(self, request)
    }
    fn rate(&self, key: &str, request: &RatingRequest) -> Result<bool, CentreCallError> {
        CentreClient::rate(self, key, request)
    }
}

/// The client as a job holds it.
pub type Api = Arc<dyn CentreApi>;

/// A rating waiting for the centre's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRating {
    /// Its idempotency key (the same on every resend).
    pub key: String,
    /// What is sent.
    pub request: RatingRequest,
}

/// What the number a citizen waits for is for.
#[derive(Debug)]
pub struct IssueFor {
    /// The request as prepared, without the identity packet (that went
    /// with the worker).
    pub prepared: Prepared,
    /// Whether the request carried the holder's identity.
    pub shared: bool,
    /// Whether the holder was asked (an identified holder in centre
    /// mode): the answer's outcome is audited.
    pub asked: bool,
    /// The session waits for it; cleared when the session moves on (the
    /// number is then kept and printed, and tells no one).
    pub session: bool,
}

/// How a number's exchange ended.
#[derive(Debug)]
pub struct IssueEnded {
    /// What it was for.
    pub purpose: IssueFor,
    /// What the transport brought back (no answer by the deadline:
    /// [`Attempt::Unreachable`]).
    pub attempt: Attempt,
}

/// What a background exchange brought back (no personal data).
#[derive(Debug, Default)]
pub struct BackgroundOutcome {
    /// The assignment, when it was asked for.
    pub assignment: Option<Result<KioskAssignment, String>>,
    /// The reconciliation's answer, when one was sent.
    pub reconcile: Option<Result<ReconcileAnswer, String>>,
    /// The ratings sent: key and `Ok(recorded now)` or why not.
    pub ratings: Vec<(String, Result<bool, String>)>,
}

impl BackgroundOutcome {
    /// Whether some exchange found the centre unreachable or failing.
    pub fn failed(&self) -> bool {
        self.assignment.as_ref().is_some_and(Result::is_err)
            || self.reconcile.as_ref().is_some_and(Result::is_err)
            || self.ratings.iter().any(|(_, r)| r.is_err())
    }
}

/// What a background exchange carries.
#[derive(Debug, Default)]
pub struct Background {
    /// Ask for the assignment first.
    pub assignment: bool,
    /// The reconciliation to send (`None`: nothing to reconcile).
    pub reconcile: Option<ReconcileRequest>,
    /// The ratings to send.
    pub ratings: Vec<PendingRating>,
}

impl Background {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        !self.assignment && self.reconcile.is_none() && self.ratings.is_empty()
    }

    fn run(self, api: &Api) -> BackgroundOutcome {
        let mut out = BackgroundOutcome::default();
        if self.assignment {
            let answer = api.assignment().map_err(|e| e.to_string());
            let down = answer.is_err();
            out.assignment = Some(answer);
            if down {
                // The centre is away: the rest waits for the next turn.
                return out;
            }
        }
        if let Some(request) = &self.reconcile {
            let answer = api.reconcile(request).map_err(|e| e.to_string());
            let down = answer.is_err();
            out.reconcile = Some(answer);
            if down {
                return out;
            }
        }
        for rating in &self.ratings {
            let result = api
                .rate(&rating.key, &rating.request)
                .map_err(|e| e.to_string());
            let down = result.is_err();
            out.ratings.push((rating.key.clone(), result));
            if down {
                break;
            }
        }
        out
    }
}

/// The kiosk's desk at its centre: the client, the jobs under way, the
/// reconciliation's pace (see the module documentation).
pub struct CentreDesk {
    api: Api,
    deadline: Duration,
    /// The reconciliation's pace (monotonic ms of the loop's clock).
    pub schedule: ReconcileSchedule,
    /// The numbers under way (one per citizen; another may start while
    /// the last citizen's runs out its deadline).
    issue: Vec<(Lent<Api, Attempt>, IssueFor)>,
    background: Option<Lent<Api, BackgroundOutcome>>,
    /// The assignment is to be asked for (at start-up, and after a
    /// failed ask).
    pub assignment_wanted: bool,
}

impl std::fmt::Debug for CentreDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CentreDesk")
            .field("deadline", &self.deadline)
            .field("issuing", &self.issue.len())
            .field("background", &self.background.is_some())
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

impl CentreDesk {
    /// A desk over `api`: each number's deadline is `deadline` (the
    /// `[centre]` timeout), reconciliation every `interval` while there is
    /// work, backing off while the centre is away.
    pub fn new(api: Api, deadline: Duration, interval: Duration) -> CentreDesk {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        CentreDesk {
            api,
            deadline,
            schedule: ReconcileSchedule::new(
                ms(interval),
                ms(MAX_RECONCILE_BACKOFF).max(ms(interval)),
            ),
            issue: Vec::new(),
            background: None,
            assignment_wanted: true,
        }
    }

    /// The deadline of a number's exchange.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Whether a number's exchange is under way.
    pub fn issuing(&self) -> bool {
        !self.issue.is_empty()
    }

    /// Whether a background exchange is under way.
    pub fn busy_in_background(&self) -> bool {
        self.background.is_some()
    }

    /// What the numbers under way are for.
    pub fn issue_purposes_mut(&mut self) -> impl Iterator<Item = &mut IssueFor> {
        self.issue.iter_mut().map(|(_, p)| p)
    }

    /// Sends `request` (the prepared body, with the identity packet when
    /// the holder consented) under `purpose.prepared.key` on a worker. The
    /// request moves into the worker and is dropped (its packet zeroized)
    /// when the exchange returns.
    pub fn start_issue(&mut self, request: IssueRequest, purpose: IssueFor, now: Timestamp) {
        let key = purpose.prepared.key.clone();
        let job = Lent::start(
            "centre-issue",
            Arc::clone(&self.api),
            Transport::Worker,
            move |api: &mut Api| {
                let attempt = api.issue(&key, &request);
                drop(request);
                attempt
            },
            now,
            self.deadline,
        );
        self.issue.push((job, purpose));
    }

    /// The number's exchange that ended (answered, or its deadline
    /// passed), if any.
    pub fn poll_issue(&mut self, now: Timestamp) -> Option<IssueEnded> {
        let (i, polled) = self
            .issue
            .iter_mut()
            .enumerate()
            .find_map(|(i, (job, _))| job.poll(now).map(|p| (i, p)))?;
        let (_, purpose) = self.issue.remove(i);
        let attempt = match polled {
            Polled::Answered(attempt, _) => attempt,
            Polled::TimedOut(_late) => {
                Attempt::Unreachable(format!("no answer within {} ms", self.deadline.as_millis()))
            }
        };
        Some(IssueEnded { purpose, attempt })
    }

    /// Starts `work` on a worker (nothing when it is empty or a
    /// background exchange is under way); whether it started.
    pub fn start_background(&mut self, work: Background, now: Timestamp) -> bool {
        if work.is_empty() || self.background.is_some() {
            return false;
        }
        let job = Lent::start(
            "centre-sync",
            Arc::clone(&self.api),
            Transport::Worker,
            move |api: &mut Api| work.run(api),
            now,
            BACKGROUND_DEADLINE,
        );
        self.background = Some(job);
        true
    }

    /// The background exchange that ended, if any (its deadline passing:
    /// everything in it failed and goes again).
    pub fn poll_background(&mut self, now: Timestamp) -> Option<BackgroundOutcome> {
        let polled = self.background.as_mut()?.poll(now)?;
        self.background = None;
        Some(match polled {
            Polled::Answered(outcome, _) => outcome,
            Polled::TimedOut(_late) => BackgroundOutcome {
                reconcile: Some(Err("no answer in time".into())),
                ..BackgroundOutcome::default()
            },
        })
    }

    /// When the loop should poll next: while a job runs.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        [
            self.issue.iter().filter_map(|(j, _)| j.next_wakeup()).min(),
            self.background.as_ref().and_then(Lent::next_wakeup),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Waits up to `max` of real time (each) for the jobs under way (runs
    /// in virtual time only).
    pub fn settle(&mut self, max: Duration) {
        for (job, _) in &mut self.issue {
            job.settle(max);
        }
        if let Some(job) = self.background.as_mut() {
            job.settle(max);
        }
    }
}
