//! The online chip verification (issue 14) on the board: the HTTPS client
//! of the C06 port (`docs/c06-api.yaml`) with mutual TLS, run on a worker
//! thread so the run loop never waits on the network ([`OnlineCheck`]),
//! and the reference C06 server ([`server`]) for the simulator, the tests
//! and testers (`kiosk-c06`).
//!
//! The request and the verdict's checks are sans-IO, in
//! `kiosk_firmware::trust::online`; this module only moves the bytes and
//! reads the clock the runtime hands it. TLS, the pinned CA and the
//! client certificate are the portal's code (`crate::online::portal::client::
//! HttpsClient`, `crate::online::portal::server::TlsListener`), not a copy.
//!
//! The override point for a real provider (an eKYC provider's gateway to
//! C06, or C06 itself): `[verification]` in the board configuration (URL,
//! CA, client certificate, the pinned verdict key) and, where its API
//! differs from `docs/c06-api.yaml`, one mapping function — the
//! provider's answer to a [`kiosk_firmware::trust::online::SignedVerdict`]
//! — beside [`C06Client::verify`]. The policy does not change.

pub mod server;

use crate::online::portal::client::{HttpsClient, PortalSettings};
use kiosk_firmware::requests::delivery::TransportError;
use kiosk_firmware::time::Timestamp;
use kiosk_firmware::trust::online::{
    self, Freshness, NoAnswer, Outcome, Pending, VerdictKey, VerificationRequest,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

/// `[verification]`: the online check (C06).
#[derive(Debug, Clone)]
pub struct VerificationSection {
    /// The endpoint, the pinned CA, the kiosk's certificate, the timeout
    /// (the deadline of one check).
    pub endpoint: PortalSettings,
    /// The authority's verdict key (a PEM SubjectPublicKeyInfo, P-256).
    pub verdict_key_file: PathBuf,
    /// The key itself.
    pub verdict_key: VerdictKey,
    /// The oldest verdict accepted.
    pub max_age: Duration,
    /// How far in the future a verdict may be dated.
    pub skew: Duration,
    /// Whether the endpoint requires the photo (DG2) itself; default
    /// false: only its hash is sent.
    pub send_photo: bool,
    /// The simulator runs the reference C06 server in the kiosk process.
    pub sim_c06: Option<SimC06Config>,
}

/// `[verification.sim_c06]`: the in-process reference C06 server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimC06Config {
    /// Its TLS certificate (PEM).
    pub cert_file: PathBuf,
    /// Its TLS key (PEM).
    pub key_file: PathBuf,
    /// Its verdict signing key (PKCS#8 PEM, P-256).
    pub signing_key_file: PathBuf,
    /// The CSCA certificates it trusts (its registry of genuine cards).
    pub csca_dir: PathBuf,
}

/// The C06 client.
#[derive(Debug, Clone)]
pub struct C06Client {
    https: HttpsClient,
    key: VerdictKey,
    freshness: Freshness,
    /// The deadline of one check.
    pub timeout: Duration,
    /// The kiosk's id, sent in each request.
    pub kiosk_id: String,
    /// Whether to send the photo.
    pub send_photo: bool,
}

/// Why no request could be made for a document.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// No randomness for the request id.
    #[error("no OS entropy for the request id: {0}")]
    Entropy(std::io::Error),
    /// The document lacks what the request carries.
    #[error(transparent)]
    Request(#[from] online::RequestError),
}

/// What the worker brings back: an HTTP answer, or why there is none.
type Exchange = Result<(u16, Vec<u8>), NoAnswer>;

impl C06Client {
    /// The client of `section`, for the kiosk `kiosk_id`.
    pub fn new(
        section: &VerificationSection,
        kiosk_id: &str,
    ) -> Result<C06Client, crate::online::portal::TlsError> {
        Ok(C06Client {
            https: HttpsClient::new(&section.endpoint)?,
            key: section.verdict_key.clone(),
            freshness: Freshness {
                max_age_ms: u64::try_from(section.max_age.as_millis()).unwrap_or(u64::MAX),
                skew_ms: u64::try_from(section.skew.as_millis()).unwrap_or(u64::MAX),
            },
            timeout: section.endpoint.timeout,
            kiosk_id: kiosk_id.to_owned(),
            send_photo: section.send_photo,
        })
    }

    /// The request for `document` with a fresh random request id from the
    /// OS, and what to check the answer against; the runtime and
    /// `kioskctl card read --online` both ask this way.
    pub fn prepare(
        &self,
        document: &kiosk_firmware::icao::reader::Document,
    ) -> Result<(VerificationRequest, Pending), PrepareError> {
        let seed = crate::services::reading::os_seed().map_err(PrepareError::Entropy)?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&seed[..16]);
        Ok(VerificationRequest::build(
            document,
            &self.kiosk_id,
            id,
            self.send_photo,
        )?)
    }

    /// One blocking exchange (the worker's, and `kioskctl card read`'s).
    fn exchange(&self, request: &VerificationRequest) -> Exchange {
        let body = serde_json::to_vec(request).map_err(|_| NoAnswer::Io)?;
        match self.https.exchange("POST", online::VERIFY_PATH, &[], &body) {
            Ok(resp) => Ok((resp.status, resp.body)),
            Err(e) => Err(match e {
                TransportError::Timeout => NoAnswer::Timeout,
                TransportError::Connect(_) => NoAnswer::Unreachable,
                TransportError::Tls(_) => NoAnswer::Tls,
                _ => NoAnswer::Io,
            }),
        }
    }

    /// Judges an exchange at `wall_ms`.
    fn judge(&self, exchange: Exchange, pending: &Pending, wall_ms: u64) -> Outcome {
        match exchange {
            Ok((status, body)) => {
                online::judge_answer(status, &body, pending, &self.key, wall_ms, self.freshness)
            }
            Err(cause) => Outcome::NoAnswer(cause),
        }
    }

    /// Asks and waits (for `kioskctl`, never the run loop); `wall_ms`
    /// reads the wall clock when the answer is in.
    pub fn verify(
        &self,
        request: &VerificationRequest,
        pending: &Pending,
        wall_ms: impl FnOnce() -> u64,
    ) -> Outcome {
        let exchange = self.exchange(request);
        self.judge(exchange, pending, wall_ms())
    }
}

/// One online check under way on its worker thread.
#[derive(Debug)]
pub struct OnlineCheck {
    client: Arc<C06Client>,
    pending: Pending,
    deadline: Timestamp,
    answer: Receiver<Exchange>,
    settled: Option<Exchange>,
}

impl OnlineCheck {
    /// Sends `request` on a worker thread; the answer is due by `now` +
    /// the client's timeout.
    pub fn start(
        client: Arc<C06Client>,
        request: VerificationRequest,
        pending: Pending,
        now: Timestamp,
    ) -> OnlineCheck {
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = client.clone();
        let spawned = std::thread::Builder::new()
            .name("c06-check".into())
            .spawn(move || {
                // A late answer after the runtime gave up is dropped with
                // the channel.
                let _ = tx.send(worker.exchange(&request));
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the online check's worker");
        }
        OnlineCheck {
            deadline: now + client.timeout,
            client,
            pending,
            answer: rx,
            settled: None,
        }
    }

    /// When the check gives up.
    pub fn deadline(&self) -> Timestamp {
        self.deadline
    }

    /// What the request was (no personal data).
    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    /// The outcome once there is one: the answer judged at `wall_ms`, or
    /// no answer once `now` passed the deadline.
    pub fn poll(&mut self, now: Timestamp, wall_ms: u64) -> Option<Outcome> {
        if let Some(exchange) = self.settled.take() {
            return Some(self.client.judge(exchange, &self.pending, wall_ms));
        }
        match self.answer.try_recv() {
            Ok(exchange) => Some(self.client.judge(exchange, &self.pending, wall_ms)),
            Err(TryRecvError::Disconnected) => Some(Outcome::NoAnswer(NoAnswer::Io)),
            Err(TryRecvError::Empty) if now >= self.deadline => {
                Some(Outcome::NoAnswer(NoAnswer::Timeout))
            }
            Err(TryRecvError::Empty) => None,
        }
    }

    /// Blocks up to `max` of real time until the worker has answered (the
    /// next [`OnlineCheck::poll`] then returns it, judged at the runtime's
    /// wall time). For runs in virtual time (tests, scenarios), where the
    /// virtual deadline would otherwise pass before the network could
    /// answer; never the real run loop. The worker itself gives up after
    /// the client's timeout, so this returns within about that.
    pub fn settle(&mut self, max: Duration) {
        if self.settled.is_some() {
            return;
        }
        match self.answer.recv_timeout(max) {
            Ok(exchange) => self.settled = Some(exchange),
            Err(RecvTimeoutError::Disconnected) => self.settled = Some(Err(NoAnswer::Io)),
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// The outcome as audit codes (no personal data).
pub fn outcome_codes(outcome: &Outcome) -> serde_json::Value {
    match outcome {
        Outcome::Verdict(v) => serde_json::json!({
            "outcome": "verdict",
            "status": v.status.code(),
            "verdict_id": v.verdict_id,
        }),
        Outcome::Invalid(e) => serde_json::json!({ "outcome": "invalid", "reason": e }),
        Outcome::NoAnswer(c) => serde_json::json!({ "outcome": "no_answer", "cause": c.code() }),
    }
}
