//! Delivering the outbox to the portal: the portal port, the retry
//! policy, and one delivery pass.
//!
//! - [`PortalClient`] is the port: the board's HTTPS client (rustls, mutual
//!   TLS) or a test double. It says what the portal answered, or why no
//!   answer came; it never retries on its own.
//! - [`classify`] turns an answer into a [`Verdict`]: `2xx` with a receipt
//!   is delivered; a `4xx` (but 408 and 429) is refused for good and
//!   becomes a terminal `failed` row for staff — retrying cannot fix a
//!   request the portal judged unusable; anything else (no connection, a
//!   timeout, a TLS failure, `5xx`, 408, 429, an unreadable `2xx`) is
//!   retried.
//! - [`Backoff`] spaces retries exponentially with jitter ("equal jitter":
//!   half the capped delay plus a random part of the other half), so a
//!   fleet of kiosks does not hammer a portal that comes back. The random
//!   number is passed in.
//! - [`Courier::deliver_pass`] claims the due rows, sends each, and records the
//!   outcome, calling `observe` at every step: the board's crash-injection
//!   points hang off it. `now` and randomness are parameters: nothing here
//!   reads a clock or a random source.

use super::api::{self, DossierCode, Receipt};
use crate::store::outbox::{Claimed, OutboxKey, OutboxRow};
use crate::store::{Store, StoreError, UnixMillis};
use core::time::Duration;
use serde::Serialize;
use zeroize::Zeroizing;

/// What the portal answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection (portal down, network down, refused).
    #[error("cannot connect to the portal: {0}")]
    Connect(String),
    /// The TLS handshake failed (the portal's certificate is not from the
    /// pinned CA, or it refused the kiosk's certificate).
    #[error("TLS with the portal failed: {0}")]
    Tls(String),
    /// No answer in time.
    #[error("the portal did not answer in time")]
    Timeout,
    /// The connection broke or the answer was not HTTP.
    #[error("the exchange with the portal broke: {0}")]
    Io(String),
}

/// The portal port (`docs/portal-api.yaml`).
pub trait PortalClient {
    /// `POST /v1/dossiers` with the idempotency key and the JSON body.
    fn submit(&mut self, idempotency_key: &str, body: &[u8]) -> Result<Answer, TransportError>;
    /// `GET /v1/dossiers/{code}`.
    fn status(&mut self, dossier_code: &str) -> Result<Answer, TransportError>;
    /// `POST /v1/dossiers/{code}/cancel`.
    fn cancel(&mut self, dossier_code: &str) -> Result<Answer, TransportError>;
}

/// What to do with a row after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The portal has it: delete the row, keep the receipt.
    Delivered(Receipt),
    /// Try again later.
    Retry(String),
    /// Refused for good: a terminal state for staff.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The portal's error code, or a description.
        reason: String,
    },
}

/// Classifies an attempt's result.
pub fn classify(result: &Result<Answer, TransportError>) -> Verdict {
    let answer = match result {
        Ok(a) => a,
        Err(e) => return Verdict::Retry(e.to_string()),
    };
    match answer.status {
        200..=299 => match serde_json::from_slice::<Receipt>(&answer.body) {
            Ok(r) if DossierCode::parse(&r.dossier_code).is_ok() => Verdict::Delivered(r),
            Ok(r) => Verdict::Retry(format!(
                "the portal answered {} with a malformed dossier code {:?}",
                answer.status, r.dossier_code
            )),
            Err(e) => Verdict::Retry(format!(
                "the portal answered {} with an unreadable receipt: {e}",
                answer.status
            )),
        },
        408 | 429 => Verdict::Retry(format!("the portal answered {} (try later)", answer.status)),
        400..=499 => Verdict::Refused {
            status: answer.status,
            reason: serde_json::from_slice::<api::ApiError>(&answer.body)
                .map(|e| e.code)
                .unwrap_or_else(|_| format!("http_{}", answer.status)),
        },
        s => Verdict::Retry(format!("the portal answered {s}")),
    }
}

/// The retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// The delay after the first failure, in milliseconds.
    pub base_ms: u64,
    /// The longest delay, in milliseconds.
    pub max_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 2_000,
            max_ms: 15 * 60_000,
        }
    }
}

impl Backoff {
    /// The delay before attempt `failures + 1`, after `failures` (≥ 1)
    /// failed attempts: the cap `min(max, base · 2^(failures−1))`, of which
    /// half is fixed and half random (`random` picks it).
    pub fn delay(&self, failures: u32, random: u64) -> Duration {
        let shift = failures.saturating_sub(1).min(40);
        let cap = self.base_ms.saturating_mul(1u64 << shift).min(self.max_ms);
        let half = cap / 2;
        let jitter = random % (cap - half + 1);
        Duration::from_millis(half + jitter)
    }
}

/// A step of delivering one row, for observers (crash points, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The row is claimed (`sending`, committed).
    Claimed,
    /// The request went out and the portal's answer is in hand (nothing
    /// recorded yet).
    Answered,
    /// The outcome is committed (row deleted, rescheduled or failed).
    Recorded,
}

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowOutcome {
    /// Row id.
    pub id: i64,
    /// The kiosk's reference.
    pub reference: String,
    /// `delivered`, `retry` or `failed`.
    pub outcome: &'static str,
    /// The dossier code, when delivered.
    pub dossier_code: Option<String>,
    /// The appointment date for the result, when the portal gave one.
    pub appointment_date: Option<String>,
    /// Why not, otherwise.
    pub detail: Option<String>,
    /// When it is due again (Unix ms), when retried.
    pub next_attempt_at_unix_ms: Option<u64>,
    /// Whether the portal could not be reached at all (no connection, a
    /// timeout, TLS): the rest of the pass is put back untried.
    pub unreachable: bool,
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The database failed. Remedy: as the store error says; rows stay
    /// where they were and are sent later.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What delivers: the kiosk's key, the portal client and the retry policy.
pub struct Courier<'a> {
    /// Opens the sealed payloads.
    pub key: &'a OutboxKey,
    /// Talks to the portal.
    pub client: &'a mut dyn PortalClient,
    /// Spaces the retries.
    pub backoff: Backoff,
}

impl core::fmt::Debug for Courier<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Courier")
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Courier<'_> {
    /// Sends one claimed row and records the outcome. `random` picks the
    /// jitter if it is retried.
    pub fn deliver_claimed(
        &mut self,
        store: &mut Store,
        claimed: &Claimed,
        now: UnixMillis,
        random: u64,
        observe: &mut dyn FnMut(Step),
    ) -> Result<RowOutcome, DeliveryError> {
        let outgoing = match open_claimed(store, self.key, claimed, now, observe)? {
            Ok(o) => o,
            Err(failed) => return Ok(failed),
        };
        let result = self
            .client
            .submit(&outgoing.row.idempotency_key, &outgoing.payload);
        let row = outgoing.into_row();
        observe(Step::Answered);
        record_answer(store, self.backoff, &row, &result, now, random, observe)
    }

    /// One pass: claims up to `limit` due rows and delivers each, oldest
    /// first. When the portal cannot be reached at all, the rows not yet
    /// tried go back to `pending` untouched (no attempt counted): one
    /// timeout per pass, not one per row, so an idle kiosk is never tied up
    /// for long. `random` gives one number per row (the jitter if it is
    /// retried).
    pub fn deliver_pass(
        &mut self,
        store: &mut Store,
        now: UnixMillis,
        limit: u32,
        random: &mut dyn FnMut() -> u64,
        observe: &mut dyn FnMut(Step),
    ) -> Result<Vec<RowOutcome>, DeliveryError> {
        let claimed = store.outbox_claim_due(now, limit)?;
        if !claimed.is_empty() {
            observe(Step::Claimed);
        }
        let mut out = Vec::with_capacity(claimed.len());
        for (i, c) in claimed.iter().enumerate() {
            let outcome = self.deliver_claimed(store, c, now, random(), observe)?;
            let unreachable = outcome.unreachable;
            out.push(outcome);
            if unreachable {
                let rest: Vec<i64> = claimed[i + 1..].iter().map(|c| c.row.id).collect();
                store.outbox_release(&rest)?;
                break;
            }
        }
        Ok(out)
    }
}

/// A claimed row opened for the portal: what a worker thread sends. The
/// payload (personal data) is zeroized when dropped.
pub struct Outgoing {
    /// The row as claimed.
    pub row: OutboxRow,
    /// The opened payload.
    pub payload: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.row.id)
            .field("reference", &self.row.reference)
            .finish_non_exhaustive()
    }
}

impl Outgoing {
    /// The row, the payload wiped.
    pub fn into_row(self) -> OutboxRow {
        self.row
    }
}

/// Opens a claimed row for sending (the first half of
/// [`Courier::deliver_claimed`]). A payload that does not open is recorded
/// as `failed` (`cannot_decrypt`) at once, and its outcome is returned
/// instead.
pub fn open_claimed(
    store: &mut Store,
    key: &OutboxKey,
    claimed: &Claimed,
    now: UnixMillis,
    observe: &mut dyn FnMut(Step),
) -> Result<Result<Outgoing, RowOutcome>, DeliveryError> {
    match claimed.open(key) {
        Ok(payload) => Ok(Ok(Outgoing {
            row: claimed.row.clone(),
            payload,
        })),
        Err(e) => {
            store.outbox_failed(claimed.row.id, None, "cannot_decrypt", now)?;
            observe(Step::Recorded);
            let mut outcome = RowOutcome::pending(&claimed.row);
            outcome.outcome = "failed";
            outcome.detail = Some(e.to_string());
            Ok(Err(outcome))
        }
    }
}

/// Sends `outgoing` in order with `client`, stopping after the first that
/// gets no answer (the portal is unreachable: the rest wait). The network
/// half of a delivery, for a worker thread: one result per row sent.
pub fn send_all(
    client: &mut dyn PortalClient,
    outgoing: &[Outgoing],
) -> Vec<Result<Answer, TransportError>> {
    let mut results = Vec::with_capacity(outgoing.len());
    for o in outgoing {
        let result = client.submit(&o.row.idempotency_key, &o.payload);
        let unreachable = result.is_err();
        results.push(result);
        if unreachable {
            break;
        }
    }
    results
}

/// Records the portal's answer to `row` (or why none came): delivered,
/// retried later with backoff (`random` picks the jitter), or failed for
/// good (the second half of [`Courier::deliver_claimed`]).
pub fn record_answer(
    store: &mut Store,
    backoff: Backoff,
    row: &OutboxRow,
    result: &Result<Answer, TransportError>,
    now: UnixMillis,
    random: u64,
    observe: &mut dyn FnMut(Step),
) -> Result<RowOutcome, DeliveryError> {
    let mut outcome = RowOutcome::pending(row);
    outcome.unreachable = result.is_err();
    match classify(result) {
        Verdict::Delivered(receipt) => {
            store.outbox_delivered(row.id, &row.idempotency_key, &receipt.dossier_code, now)?;
            outcome.outcome = "delivered";
            outcome.dossier_code = Some(receipt.dossier_code);
            outcome.appointment_date = receipt.appointment_date;
        }
        Verdict::Retry(why) => {
            let delay = backoff.delay(row.attempts.saturating_add(1), random);
            let next = UnixMillis(
                now.0
                    .saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
            );
            store.outbox_retry_later(row.id, next, &why)?;
            outcome.detail = Some(why);
            outcome.next_attempt_at_unix_ms = Some(next.0);
        }
        Verdict::Refused { status, reason } => {
            store.outbox_failed(row.id, Some(status), &reason, now)?;
            outcome.outcome = "failed";
            outcome.detail = Some(format!("{status} {reason}"));
        }
    }
    observe(Step::Recorded);
    Ok(outcome)
}

impl RowOutcome {
    /// The outcome of `row` before anything is known: `retry`.
    fn pending(row: &OutboxRow) -> RowOutcome {
        RowOutcome {
            id: row.id,
            reference: row.reference.clone(),
            outcome: "retry",
            dossier_code: None,
            appointment_date: None,
            detail: None,
            next_attempt_at_unix_ms: None,
            unreachable: false,
        }
    }
}
