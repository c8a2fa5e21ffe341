//! The kiosk's client of its centre (`kiosk-centre`, `docs/centre-api.yaml`):
//! HTTPS with mutual TLS over the portal's client ([`HttpsClient`]: pinned
//! CA, the kiosk's certificate, one connection per exchange, a timeout on
//! connecting and on every read and write).
//!
//! Blocking by design: a run-loop driver calls it on a worker thread
//! (DESIGN.md §2), `kioskctl` calls it directly. The decisions are in
//! firmware ([`kiosk_firmware::queue::centre`]): this module only carries
//! bytes and turns transport failures into [`Attempt::Unreachable`].
//!
//! The centre's assignment (the kiosk's offline block) is cached in the
//! kiosk's store (`kv` key [`ASSIGNMENT_KEY`]) whenever the centre answers,
//! so a kiosk that has reached its centre once can number offline after.
//! The run loop reaches it through [`crate::services::queueing`].

use super::portal::client::{HttpsClient, PortalSettings};
use super::portal::{TlsError, http};
use crate::drivers::PrinterDevice;
use crate::services::ticketing::{Issued, Phase, Ticketing, TicketingError};
use kiosk_firmware::queue::DrawRequest;
use kiosk_firmware::queue::centre::{
    ApiError, Attempt, CallAnswer, CallNextRequest, CentreTicket, CounterAction,
    IDEMPOTENCY_HEADER, IssueRequest, KioskAssignment, OfflineReason, Prepared, RatingRequest,
    ReconcileAnswer, ReconcileRequest, ReconcileSummary, TransferRequest,
};
use kiosk_firmware::requests::delivery::TransportError;
use kiosk_firmware::store::{Store, StoreError, UnixMillis};
use serde::de::DeserializeOwned;

/// The store key of the cached assignment.
pub const ASSIGNMENT_KEY: &str = "centre.assignment";

/// Why a call to the centre failed.
#[derive(Debug, thiserror::Error)]
pub enum CentreCallError {
    /// No answer (down, refused, TLS failed, timed out).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The centre answered with a refusal.
    #[error("the centre answered {status}: {} ({})", .error.error, .error.message)]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its body.
        error: ApiError,
    },
    /// An answer that is not what the API promises.
    #[error("the centre's answer cannot be read: {0}")]
    BadAnswer(String),
}

/// The client.
#[derive(Debug, Clone)]
pub struct CentreClient {
    http: HttpsClient,
}

impl CentreClient {
    /// Loads the certificates and builds the TLS configuration.
    pub fn new(settings: &PortalSettings) -> Result<CentreClient, TlsError> {
        Ok(CentreClient {
            http: HttpsClient::new(settings)?,
        })
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Result<T, CentreCallError> {
        let resp = self.http.exchange(method, path, extra, body)?;
        decode(resp)
    }

    /// `GET /v1/health`.
    pub fn health(&self) -> Result<serde_json::Value, CentreCallError> {
        self.call("GET", "/v1/health", &[], b"")
    }

    /// `GET /v1/kiosk`: this kiosk's assignment.
    pub fn assignment(&self) -> Result<KioskAssignment, CentreCallError> {
        self.call("GET", "/v1/kiosk", &[], b"")
    }

    /// `POST /v1/tickets` with the prepared key: never fails, every
    /// transport failure is an [`Attempt::Unreachable`].
    pub fn issue(&self, key: &str, request: &IssueRequest) -> Attempt {
        // The body may hold the identity packet: wiped once sent.
        let body = match serde_json::to_vec(request) {
            Ok(b) => zeroize::Zeroizing::new(b),
            Err(e) => return Attempt::Unreachable(format!("cannot encode: {e}")),
        };
        match self
            .http
            .exchange("POST", "/v1/tickets", &[(IDEMPOTENCY_HEADER, key)], &body)
        {
            Ok(resp) => Attempt::Answered {
                status: resp.status,
                body: resp.body,
            },
            Err(e) => Attempt::Unreachable(e.to_string()),
        }
    }

    /// `POST /v1/reconcile`.
    pub fn reconcile(
        &self,
        request: &ReconcileRequest,
    ) -> Result<ReconcileAnswer, CentreCallError> {
        let body =
            serde_json::to_vec(request).map_err(|e| CentreCallError::BadAnswer(e.to_string()))?;
        self.call("POST", "/v1/reconcile", &[], &body)
    }

    /// `POST /v1/counters/{counter}/call-next` (a desk's certificate).
    pub fn call_next(
        &self,
        counter: u16,
        service: Option<&str>,
    ) -> Result<CallAnswer, CentreCallError> {
        let body = serde_json::to_vec(&CallNextRequest {
            service: service.map(str::to_owned),
        })
        .map_err(|e| CentreCallError::BadAnswer(e.to_string()))?;
        self.call(
            "POST",
            &format!("/v1/counters/{counter}/call-next"),
            &[],
            &body,
        )
    }

    /// `POST /v1/tickets/{id}/{action}` with `action` one of `recall`,
    /// `served`, `no-show`.
    pub fn act(
        &self,
        id: i64,
        action: &str,
        counter: u16,
    ) -> Result<CentreTicket, CentreCallError> {
        let body = serde_json::to_vec(&CounterAction { counter })
            .map_err(|e| CentreCallError::BadAnswer(e.to_string()))?;
        self.call("POST", &format!("/v1/tickets/{id}/{action}"), &[], &body)
    }

    /// `POST /v1/tickets/{id}/transfer`.
    pub fn transfer(
        &self,
        id: i64,
        request: &TransferRequest,
    ) -> Result<CentreTicket, CentreCallError> {
        let body =
            serde_json::to_vec(request).map_err(|e| CentreCallError::BadAnswer(e.to_string()))?;
        self.call("POST", &format!("/v1/tickets/{id}/transfer"), &[], &body)
    }

    /// `POST /v1/ratings` with an idempotency key: `true` when recorded
    /// now, `false` when the key had recorded it already.
    pub fn rate(&self, key: &str, request: &RatingRequest) -> Result<bool, CentreCallError> {
        let body =
            serde_json::to_vec(request).map_err(|e| CentreCallError::BadAnswer(e.to_string()))?;
        let answer: serde_json::Value =
            self.call("POST", "/v1/ratings", &[(IDEMPOTENCY_HEADER, key)], &body)?;
        Ok(answer["replayed"] == serde_json::Value::Bool(false))
    }

    /// `GET /v1/stats[?day=YYYYMMDD]`: a day's statistics (no personal
    /// data), today's without `day`.
    pub fn stats(&self, day: Option<&str>) -> Result<serde_json::Value, CentreCallError> {
        match day {
            Some(d) => {
                let digits: String = d.chars().filter(char::is_ascii_digit).collect();
                self.call("GET", &format!("/v1/stats?day={digits}"), &[], b"")
            }
            None => self.call("GET", "/v1/stats", &[], b""),
        }
    }

    /// `GET /v1/queue?service=`: the waiting list in calling order.
    pub fn waiting(&self, service: &str) -> Result<serde_json::Value, CentreCallError> {
        let code: String = service
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        self.call("GET", &format!("/v1/queue?service={code}"), &[], b"")
    }
}

fn decode<T: DeserializeOwned>(resp: http::Response) -> Result<T, CentreCallError> {
    if (200..300).contains(&resp.status) {
        serde_json::from_slice(&resp.body).map_err(|e| CentreCallError::BadAnswer(e.to_string()))
    } else {
        let error = serde_json::from_slice::<ApiError>(&resp.body).unwrap_or_else(|_| ApiError {
            error: "http".into(),
            message: format!("status {}", resp.status),
            next_opening_unix_ms: None,
            limit: None,
        });
        Err(CentreCallError::Refused {
            status: resp.status,
            error,
        })
    }
}

/// The assignment cached in the store, if any.
pub fn cached_assignment(store: &Store) -> Result<Option<KioskAssignment>, StoreError> {
    Ok(store
        .kv_get(ASSIGNMENT_KEY)?
        .and_then(|s| serde_json::from_str(&s).ok()))
}

/// Asks the centre for this kiosk's assignment and caches it; on failure
/// returns the cached one (or the error when none is cached).
pub fn refresh_assignment(
    client: &CentreClient,
    store: &mut Store,
) -> Result<KioskAssignment, CentreCallError> {
    match client.assignment() {
        Ok(a) => {
            if let Ok(text) = serde_json::to_string(&a) {
                // A store failure here only loses the cache.
                let _ = store.kv_set(ASSIGNMENT_KEY, &text);
            }
            Ok(a)
        }
        Err(e) => match cached_assignment(store) {
            Ok(Some(a)) => Ok(a),
            _ => Err(e),
        },
    }
}

/// A 16-byte nonce for an idempotency key, from the OS.
pub fn nonce() -> std::io::Result<[u8; 16]> {
    let seed = crate::services::reading::os_seed()?;
    let mut n = [0u8; 16];
    n.copy_from_slice(&seed[..16]);
    Ok(n)
}

/// A ticket taken from the centre (or offline) and printed.
#[derive(Debug, Clone)]
pub struct CentreIssued {
    /// The ticket and the printer's part.
    pub issued: Issued,
    /// Why it is an offline number, when it is.
    pub offline: Option<OfflineReason>,
}

/// Takes a number in centre mode and prints it: prepare (checks and the
/// attempt row), ask the centre, finish (keep, refuse or number offline
/// from the cached block), print. What a runtime driver does in three
/// steps (prepare and finish on the loop, the request on a worker).
#[expect(
    clippy::too_many_arguments,
    reason = "the blocking composition kioskctl uses; a driver splits it"
)]
pub fn take_ticket(
    ticketing: &Ticketing,
    client: &CentreClient,
    store: &mut Store,
    printer: &mut dyn PrinterDevice,
    request: &DrawRequest<'_>,
    nonce: &[u8; 16],
    now: UnixMillis,
    observe: &mut dyn FnMut(Phase),
) -> Result<CentreIssued, TicketingError> {
    let queue = &ticketing.queue;
    let prepared: Prepared = queue.prepare_centre(store, request, nonce, now)?;
    let attempt = client.issue(&prepared.key, &prepared.request);
    // A centre that answered refreshes the cache in passing; otherwise the
    // cached block is what the kiosk numbers from.
    let block = match &attempt {
        Attempt::Answered { .. } => refresh_assignment(client, store).ok(),
        Attempt::Unreachable(_) => cached_assignment(store).ok().flatten(),
    }
    .map(|a| a.offline_block);
    let drawn = queue.finish_centre(store, &prepared, &attempt, block, now)?;
    observe(Phase::Drawn);
    let issued =
        ticketing.print_drawn(store, printer, drawn.ticket, drawn.waiting, now, observe)?;
    Ok(CentreIssued {
        issued,
        offline: drawn.offline,
    })
}

/// One reconciliation: sends what is unacknowledged (nothing when there is
/// nothing) and applies the answer.
pub fn reconcile_once(
    ticketing: &Ticketing,
    client: &CentreClient,
    store: &mut Store,
    now: UnixMillis,
) -> Result<ReconcileSummary, ReconcileError> {
    let request = ticketing.queue.reconcile_request(store, now)?;
    if request.is_empty() {
        return Ok(ReconcileSummary::default());
    }
    let answer = client.reconcile(&request)?;
    Ok(ticketing.queue.apply_reconcile(store, &answer, now)?)
}

/// Why a reconciliation did not complete (nothing was lost: the tickets
/// stay unacknowledged and go again next time).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The kiosk's store.
    #[error(transparent)]
    Queue(#[from] kiosk_firmware::queue::QueueError),
    /// The centre.
    #[error(transparent)]
    Centre(#[from] CentreCallError),
}
