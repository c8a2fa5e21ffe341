//! Delivering requests off the run loop (issue 16): the portal client is
//! lent to a worker thread for one HTTPS exchange (a request's first
//! attempt, or an idle delivery pass), the loop polls it every turn, and
//! the store's work stays on the loop, before and after the network
//! ([`crate::services::requesting::RequestService::begin_submit`] /
//! `finish_submit`, `begin_flush` / `finish_flush`).
//!
//! A portal that has not answered by the deadline ends the delivery as
//! "no answer in time": the row goes back to the outbox, due again after
//! its backoff — queued, never lost — and the citizen's receipt says
//! "queued, will be sent". The exchange may still reach the portal: the
//! idempotency key makes the retry get the same dossier, never a second
//! one. When the worker's call returns at last, the client comes home;
//! a late "delivered" is recorded then (the row is deleted and the
//! dossier code kept), anything else waits for the retry.
//!
//! Nothing here reads a clock: `now` is passed in.

use crate::services::worker::{Away, Homecoming, Lent, Polled, Transport};
use kiosk_firmware::requests::delivery::{Answer, Outgoing, PortalClient, TransportError};
use kiosk_firmware::store::outbox::OutboxRow;
use kiosk_firmware::time::Timestamp;
use std::time::Duration;

/// How long one delivery may take before it counts as unanswered: more
/// than the portal client's own timeouts (connect, TLS, answer), well
/// within the session's submit step (30 s by default) with the receipt's
/// print after it.
pub const DEFAULT_DELIVERY_DEADLINE: Duration = Duration::from_secs(15);

/// The portal client as a delivery holds it.
pub type Client = Box<dyn PortalClient + Send>;

/// The answers of one delivery, in the order of its rows (it stops after
/// the first row that gets no answer).
pub type Answers = Vec<Result<Answer, TransportError>>;

/// How a delivery ended.
pub struct Ended<P> {
    /// What it was for.
    pub purpose: P,
    /// The rows it carried (no payload).
    pub rows: Vec<OutboxRow>,
    /// The answers, in order (`None`: none came by the deadline).
    pub answers: Option<Answers>,
    /// The client, back from the worker (`None`: still away).
    pub client: Option<Client>,
}

impl<P: std::fmt::Debug> std::fmt::Debug for Ended<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ended")
            .field("purpose", &self.purpose)
            .field("rows", &self.rows.len())
            .field("answered", &self.answers.as_ref().map(Vec::len))
            .field("client_back", &self.client.is_some())
            .finish()
    }
}

struct Active<P> {
    job: Lent<Client, Answers>,
    rows: Vec<OutboxRow>,
    purpose: P,
}

/// The delivery under way (one at a time: the board has one client), and
/// a client on its way home from one that outlived its deadline.
pub struct DeliveryDesk<P> {
    active: Option<Active<P>>,
    away: Away<Client, Answers>,
    /// The rows of the delivery whose client is away (for a late answer).
    away_rows: Vec<OutboxRow>,
    deadline: Duration,
}

impl<P> std::fmt::Debug for DeliveryDesk<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryDesk")
            .field("active", &self.active.is_some())
            .field("away", &self.away)
            .finish()
    }
}

impl<P> Default for DeliveryDesk<P> {
    fn default() -> Self {
        DeliveryDesk {
            active: None,
            away: Away::default(),
            away_rows: Vec::new(),
            deadline: DEFAULT_DELIVERY_DEADLINE,
        }
    }
}

/// A late answer that came home with the client.
pub struct Late {
    /// The rows the delivery carried.
    pub rows: Vec<OutboxRow>,
    /// Their answers, in order.
    pub answers: Answers,
    /// The client.
    pub client: Client,
}

impl std::fmt::Debug for Late {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Late")
            .field("rows", &self.rows.len())
            .field("answers", &self.answers.len())
            .finish_non_exhaustive()
    }
}

impl<P> DeliveryDesk<P> {
    /// Gives every delivery `deadline` (the default:
    /// [`DEFAULT_DELIVERY_DEADLINE`]).
    pub fn set_deadline(&mut self, deadline: Duration) {
        self.deadline = deadline;
    }

    /// Whether a delivery is under way.
    pub fn is_busy(&self) -> bool {
        self.active.is_some()
    }

    /// What the delivery under way is for.
    pub fn purpose_mut(&mut self) -> Option<&mut P> {
        self.active.as_mut().map(|a| &mut a.purpose)
    }

    /// Sends `outgoing` with `client` on a worker thread (a network client
    /// always blocks). The payloads go with the worker and are wiped when
    /// it ends.
    pub fn start(&mut self, client: Client, outgoing: Vec<Outgoing>, purpose: P, now: Timestamp) {
        let rows = outgoing.iter().map(|o| o.row.clone()).collect();
        let job = Lent::start(
            "deliver",
            client,
            Transport::Worker,
            move |client: &mut Client| {
                kiosk_firmware::requests::delivery::send_all(client.as_mut(), &outgoing)
            },
            now,
            self.deadline,
        );
        self.active = Some(Active { job, rows, purpose });
    }

    /// The delivery that ended (answered, or its deadline passed), if any.
    pub fn poll(&mut self, now: Timestamp) -> Option<Ended<P>> {
        let polled = self.active.as_mut()?.job.poll(now)?;
        let Active { rows, purpose, .. } = self.active.take()?;
        Some(match polled {
            Polled::Answered(answers, client) => Ended {
                purpose,
                rows,
                answers: Some(answers),
                client: Some(client),
            },
            Polled::TimedOut(home) => {
                tracing::warn!(
                    deadline_ms = self.deadline.as_millis(),
                    rows = rows.len(),
                    "the portal did not answer in time: the requests stay queued"
                );
                self.away.expect(home);
                self.away_rows = rows.clone();
                Ended {
                    purpose,
                    rows,
                    answers: None,
                    client: None,
                }
            }
        })
    }

    /// The client, when it has come home from a delivery past its
    /// deadline, with the late answers.
    pub fn homecoming(&mut self) -> Option<Late> {
        match self.away.poll() {
            Homecoming::Nothing => None,
            Homecoming::Back(answers, client) => Some(Late {
                rows: std::mem::take(&mut self.away_rows),
                answers,
                client,
            }),
            Homecoming::Lost => {
                tracing::error!("the delivery worker ended without the portal client");
                self.away_rows.clear();
                None
            }
        }
    }

    /// When the loop should poll next: while a delivery runs.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.active.as_ref().and_then(|a| a.job.next_wakeup())
    }

    /// Waits up to `max` of real time for the delivery under way (runs in
    /// virtual time only).
    pub fn settle(&mut self, max: Duration) {
        if let Some(a) = self.active.as_mut() {
            a.job.settle(max);
        }
    }
}

/// What a delivery is for: what the run loop records, and whom it tells,
/// when it ends.
#[derive(Debug)]
pub enum Purpose {
    /// A request's first attempt, right after the citizen agreed.
    Submit {
        /// The request as sealed into the outbox (boxed: the larger part).
        filing: Box<crate::services::requesting::Filing>,
        /// The session waits for it (`RequestFinished`); cleared when the
        /// session moves on: the request stays in the outbox all the same.
        session: bool,
    },
    /// An idle delivery pass over the due rows.
    Pass {
        /// Rows of the pass that were failed before sending (their payload
        /// did not open).
        failed: Vec<kiosk_firmware::requests::delivery::RowOutcome>,
    },
}
