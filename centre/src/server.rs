//! The centre's HTTPS API (`docs/centre-api.yaml`): rustls with client
//! certificates required (mutual TLS), one hyper HTTP/1.1 connection task
//! per client, axum routing, JSON bodies.
//!
//! - TLS 1.2/1.3 with the ring provider, as the kiosk's clients. Every
//!   client must present a certificate chaining to the configured client
//!   CA, or the handshake fails (`CertificateRequired` / `UnknownIssuer`);
//!   there is no anonymous access.
//! - Who is calling is the certificate's common name: a kiosk of
//!   `[[kiosks]]` may issue and reconcile, a name of
//!   `centre.counter_clients` may call, recall, transfer and finish
//!   tickets. Anyone else gets 403 `not_admitted`.
//! - Refusals are JSON `{error, message}` with a stable code.
//! - Live changes: `GET /v1/events`, server-sent events of every call,
//!   recall, finish, transfer and issue (kiosks and counters), for the
//!   hall display and counter pages.
//! - Statistics: `GET /v1/stats?day=YYYYMMDD` (kiosks and counters) as
//!   JSON; `GET /metrics` as Prometheus text on `centre.metrics_listen`, a
//!   loopback-only plain-HTTP listener of its own.

use crate::clock::Clock;
use crate::config::CentreConfig;
use crate::db::{CentreDb, CentreError, DbError, Refusal};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use kiosk_firmware::queue::centre::{
    ApiError, AtCounter, CallAnswer, CallNextRequest, CentreTicket, CounterAction,
    IDEMPOTENCY_HEADER, IssueRequest, KioskAssignment, QueueEvent, QueueEventKind, RatingRequest,
    ReconcileRequest, TicketState, TransferRequest,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_rustls::TlsAcceptor;
use x509_cert::der::Decode as _;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A TLS file is missing or unusable.
    #[error("{path}: {reason}")]
    TlsFile {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the material.
    #[error("TLS: {0}")]
    Tls(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The database cannot be used.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The identity key cannot be used.
    #[error(transparent)]
    IdentityKey(#[from] crate::identity::KeyError),
}

fn load_certs(path: &FsPath) -> Result<Vec<CertificateDer<'static>>, ServeError> {
    let bad = |reason: String| ServeError::TlsFile {
        path: path.display().to_string(),
        reason,
    };
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The centre's private key (both listeners present the same certificate).
fn load_key(
    config: &CentreConfig,
) -> Result<rustls::pki_types::PrivateKeyDer<'static>, ServeError> {
    rustls::pki_types::PrivateKeyDer::from_pem_file(&config.tls.key_file).map_err(|e| {
        ServeError::TlsFile {
            path: config.tls.key_file.display().to_string(),
            reason: format!("holds no usable PEM private key ({e})"),
        }
    })
}

/// The rustls server configuration: the centre's certificate, client
/// certificates required from `client_ca_file`.
pub fn tls_config(config: &CentreConfig) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = load_certs(&config.tls.cert_file)?;
    let key = load_key(config)?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in load_certs(&config.tls.client_ca_file)? {
        roots
            .add(ca)
            .map_err(|e| ServeError::Tls(format!("client CA: {e}")))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| ServeError::Tls(format!("client verifier: {e}")))?;
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    Ok(Arc::new(tls))
}

/// The pages' rustls configuration: the centre's certificate, no client
/// certificate (browsers).
pub fn pages_tls_config(config: &CentreConfig) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = load_certs(&config.tls.cert_file)?;
    let key = load_key(config)?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(tls))
}

/// The common name of a client certificate.
pub fn common_name(der: &[u8]) -> Option<String> {
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let cn = cert.tbs_certificate().subject().common_name().ok()??;
    Some(cn.value().into_owned())
}

/// Who is calling, from the TLS handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The client certificate's common name.
    pub name: String,
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The configuration.
    pub config: CentreConfig,
    /// The queue.
    pub db: CentreDb,
    /// The wall clock.
    pub clock: Clock,
    /// The queue's changes, for `GET /v1/events`.
    pub events: Events,
    /// The display's calls as WAV.
    pub audio: crate::audio::CallAudio,
    /// One sign-in at a time per staff id (the lockout's count cannot be
    /// outrun by parallel guesses).
    pub sign_ins: crate::pages::SignInLocks,
}

/// The queue's changes as they commit, to every listener of
/// `GET /v1/events` (the hall display, counter pages). In memory, for the
/// listeners of this centre process: a listener that reconnects gets a
/// fresh snapshot, so nothing needs replaying.
#[derive(Debug)]
pub struct Events {
    tx: broadcast::Sender<QueueEvent>,
    seq: AtomicU64,
}

impl Default for Events {
    fn default() -> Self {
        // A listener more than 256 changes behind is sent a new snapshot.
        let (tx, _) = broadcast::channel(256);
        Events {
            tx,
            seq: AtomicU64::new(0),
        }
    }
}

impl Events {
    /// Tells every listener what happened to `t` (after its commit).
    pub fn publish(&self, kind: QueueEventKind, t: &CentreTicket, at: u64) {
        let event = QueueEvent {
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            kind,
            number: t.number.clone(),
            service: t.service.clone(),
            counter: t.counter,
            at_unix_ms: at,
        };
        // No listener is not an error.
        let _ = self.tx.send(event);
    }

    /// A new listener.
    pub fn subscribe(&self) -> broadcast::Receiver<QueueEvent> {
        self.tx.subscribe()
    }
}

pub(crate) type Shared = Arc<AppState>;

/// An error response.
#[derive(Debug)]
pub struct ApiFailure(pub(crate) StatusCode, pub(crate) ApiError);

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

pub(crate) fn failure(status: StatusCode, code: &str, message: impl Into<String>) -> ApiFailure {
    ApiFailure(
        status,
        ApiError {
            error: code.to_owned(),
            message: message.into(),
            next_opening_unix_ms: None,
            limit: None,
        },
    )
}

impl From<CentreError> for ApiFailure {
    fn from(e: CentreError) -> Self {
        let message = e.to_string();
        match e {
            CentreError::Refused(r) => {
                let (status, code) = match &r {
                    Refusal::UnknownService(_) => (StatusCode::NOT_FOUND, "unknown_service"),
                    Refusal::Closed { .. } => (StatusCode::CONFLICT, "closed"),
                    Refusal::SoldOut { .. } => (StatusCode::CONFLICT, "sold_out"),
                    Refusal::IdempotencyConflict => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict")
                    }
                    Refusal::BadRequest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_request"),
                    Refusal::NoSuchTicket(_) => (StatusCode::NOT_FOUND, "no_such_ticket"),
                    Refusal::WrongState { .. } => (StatusCode::CONFLICT, "wrong_state"),
                    Refusal::NotYourTicket(_) => (StatusCode::CONFLICT, "not_your_ticket"),
                    Refusal::CounterBusy { .. } => (StatusCode::CONFLICT, "counter_busy"),
                    Refusal::CounterNotServing(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "counter_not_serving")
                    }
                    Refusal::IdentityOnAnonymous => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "identity_on_anonymous")
                    }
                    Refusal::IdentityServiceMismatch { .. } => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "identity_service_mismatch",
                    ),
                    Refusal::IdentityTooLarge { .. } => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "identity_too_large")
                    }
                    Refusal::IdentityNotAccepted => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "identity_not_accepted")
                    }
                    Refusal::NoIdentity(_) => (StatusCode::NOT_FOUND, "no_identity"),
                    Refusal::IdentityGone(_) => (StatusCode::GONE, "identity_gone"),
                    Refusal::NotAtYourCounter(_) => (StatusCode::FORBIDDEN, "not_at_your_counter"),
                    Refusal::LockedOut { .. } => (StatusCode::TOO_MANY_REQUESTS, "locked_out"),
                };
                let mut f = failure(status, code, message);
                match r {
                    Refusal::Closed { next_opening, .. } => f.1.next_opening_unix_ms = next_opening,
                    Refusal::SoldOut { limit, .. } => f.1.limit = Some(limit),
                    _ => {}
                }
                f
            }
            CentreError::Db(e) => {
                tracing::error!(error = %e, "database");
                failure(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the centre's database cannot be reached",
                )
            }
        }
    }
}

type ApiResult<T> = Result<Json<T>, ApiFailure>;

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiFailure> {
    b.map(|Json(v)| v).map_err(|e| {
        failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            e.body_text(),
        )
    })
}

fn kiosk<'a>(
    state: &'a AppState,
    peer: &Peer,
) -> Result<&'a crate::config::KioskEntry, ApiFailure> {
    state.config.kiosk(&peer.name).ok_or_else(|| {
        failure(
            StatusCode::FORBIDDEN,
            "not_admitted",
            format!("{} is not a kiosk of this centre", peer.name),
        )
    })
}

/// A kiosk or a counter client: who may read the statistics and events.
fn kiosk_or_counter(state: &AppState, peer: &Peer) -> Result<(), ApiFailure> {
    if state.config.kiosk(&peer.name).is_some() {
        Ok(())
    } else {
        counter_client(state, peer)
    }
}

fn counter_client(state: &AppState, peer: &Peer) -> Result<(), ApiFailure> {
    if state.config.counter_clients.contains(&peer.name) {
        Ok(())
    } else {
        Err(failure(
            StatusCode::FORBIDDEN,
            "not_admitted",
            format!("{} may not act for counters", peer.name),
        ))
    }
}

async fn health(State(s): State<Shared>) -> ApiResult<serde_json::Value> {
    let schema =
        s.db.ping()
            .await
            .map_err(|e| ApiFailure::from(CentreError::Db(e)))?;
    let now = s.clock.now();
    Ok(Json(serde_json::json!({
        "centre_id": s.config.centre_id,
        "schema_version": schema,
        "day": kiosk_firmware::queue::Queue::day(now).unwrap_or_default(),
        "now_unix_ms": now.0,
    })))
}

async fn assignment(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
) -> ApiResult<KioskAssignment> {
    let k = kiosk(&s, &peer)?;
    Ok(Json(KioskAssignment {
        centre_id: s.config.centre_id.clone(),
        kiosk_id: k.id.clone(),
        offline_block: k.offline_block,
        online_max: s.config.online_max,
        day: kiosk_firmware::queue::Queue::day(s.clock.now()).unwrap_or_default(),
    }))
}

async fn issue(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    req: Result<Json<IssueRequest>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let k = kiosk(&s, &peer)?;
    let req = body(req)?;
    let key = idempotency_key(&headers)?;
    let now = s.clock.now();
    let answer = s.db.issue(&k.id, key, &req, now).await?;
    let status = if answer.replayed {
        StatusCode::OK
    } else {
        s.events
            .publish(QueueEventKind::Issued, &answer.ticket, now.0);
        StatusCode::CREATED
    };
    Ok((status, Json(answer)).into_response())
}

async fn reconcile(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    req: Result<Json<ReconcileRequest>, JsonRejection>,
) -> ApiResult<kiosk_firmware::queue::centre::ReconcileAnswer> {
    let k = kiosk(&s, &peer)?;
    let req = body(req)?;
    if req.tickets.len() > 1000 || req.abandoned.len() > 1000 {
        return Err(failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            "at most 1000 tickets and 1000 abandoned keys per request",
        ));
    }
    Ok(Json(
        s.db.reconcile(&k.id, k.offline_block, &req, s.clock.now())
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
struct QueueQuery {
    service: String,
}

async fn waiting(
    State(s): State<Shared>,
    Query(q): Query<QueueQuery>,
) -> ApiResult<serde_json::Value> {
    let list = s.db.waiting(&q.service, s.clock.now()).await?;
    Ok(Json(
        serde_json::json!({ "service": q.service, "waiting": list }),
    ))
}

async fn get_ticket(State(s): State<Shared>, Path(id): Path<i64>) -> Result<Response, ApiFailure> {
    Ok(Json(s.db.get(id).await?).into_response())
}

async fn call_next(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    Path(counter): Path<u16>,
    req: Result<Json<CallNextRequest>, JsonRejection>,
) -> ApiResult<CallAnswer> {
    counter_client(&s, &peer)?;
    let req = body(req)?;
    let now = s.clock.now();
    let ticket = s.db.call_next(counter, req.service.as_deref(), now).await?;
    if let Some(t) = &ticket {
        s.events.publish(QueueEventKind::Called, t, now.0);
    }
    Ok(Json(CallAnswer { ticket }))
}

async fn act(
    s: Shared,
    peer: Peer,
    id: i64,
    req: Result<Json<CounterAction>, JsonRejection>,
    which: &str,
) -> Result<Response, ApiFailure> {
    counter_client(&s, &peer)?;
    let req = body(req)?;
    let now = s.clock.now();
    let (t, kind) = match which {
        "recall" => (
            s.db.recall(id, req.counter, now).await?,
            QueueEventKind::Recalled,
        ),
        "served" => (
            s.db.served(id, req.counter, now).await?,
            QueueEventKind::Served,
        ),
        _ => (
            s.db.no_show(id, req.counter, now).await?,
            QueueEventKind::NoShow,
        ),
    };
    s.events.publish(kind, &t, now.0);
    Ok(Json(t).into_response())
}

async fn recall(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<i64>,
    req: Result<Json<CounterAction>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    act(s, peer, id, req, "recall").await
}

async fn served(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<i64>,
    req: Result<Json<CounterAction>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    act(s, peer, id, req, "served").await
}

async fn no_show(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<i64>,
    req: Result<Json<CounterAction>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    act(s, peer, id, req, "no_show").await
}

async fn transfer(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<i64>,
    req: Result<Json<TransferRequest>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    counter_client(&s, &peer)?;
    let req = body(req)?;
    let now = s.clock.now();
    let t =
        s.db.transfer(id, req.counter, &req.to_service, req.to_counter, now)
            .await?;
    s.events.publish(QueueEventKind::Transferred, &t, now.0);
    Ok(Json(t).into_response())
}

fn idempotency_key(headers: &HeaderMap) -> Result<&str, ApiFailure> {
    headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_request",
                format!("the {IDEMPOTENCY_HEADER} header is required"),
            )
        })
}

async fn rate(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    req: Result<Json<RatingRequest>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let k = kiosk(&s, &peer)?;
    let req = body(req)?;
    let key = idempotency_key(&headers)?;
    let recorded = s.db.record_rating(&k.id, key, &req, s.clock.now()).await?;
    let status = if recorded {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(serde_json::json!({ "recorded": true, "replayed": !recorded })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct StatsQuery {
    day: Option<String>,
}

async fn stats(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
    Query(q): Query<StatsQuery>,
) -> ApiResult<crate::stats::DayStats> {
    // Kiosks (their staff panel) and counters may read the figures.
    kiosk_or_counter(&s, &peer)?;
    let day = match q.day {
        Some(d) => d,
        None => CentreDb::today(s.clock.now())?,
    };
    Ok(Json(s.db.day_stats(&day).await?))
}

/// Who is at which counter now: the first thing a listener hears.
pub(crate) async fn snapshot(s: &AppState) -> Result<String, ApiFailure> {
    let day = CentreDb::today(s.clock.now())?;
    let mut at: Vec<AtCounter> =
        s.db.tickets_of_day(&day)
            .await?
            .into_iter()
            .filter(|t| t.state == TicketState::Called)
            .filter_map(|t| {
                Some(AtCounter {
                    counter: t.counter?,
                    called_at_unix_ms: t.called_at_unix_ms?,
                    number: t.number,
                    service: t.service,
                })
            })
            .collect();
    at.sort_by_key(|a| std::cmp::Reverse(a.called_at_unix_ms));
    let data = serde_json::to_string(&at)
        .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(format!("event: snapshot\ndata: {data}\n\n"))
}

/// How often a quiet stream says it is alive (proxies and browsers drop
/// idle connections).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /v1/events`: server-sent events. First `retry` and a `snapshot`
/// (the tickets at counters now, newest call first), then one event per
/// change (`called`, `recalled`, `served`, `no_show`, `transferred`,
/// `issued`) with the [`QueueEvent`] as data; a comment every 15 s when
/// quiet; a fresh snapshot if the listener fell behind.
async fn events(
    State(s): State<Shared>,
    Extension(peer): Extension<Peer>,
) -> Result<Response, ApiFailure> {
    kiosk_or_counter(&s, &peer)?;
    event_stream(s, false).await
}

/// The server-sent events' response: `retry`, a snapshot, then every
/// change (shared by `GET /v1/events` and the pages' streams). With
/// `clock`, a `clock` event with the centre's time comes first (the hall
/// display measures a call's latency on the centre's clock).
pub(crate) async fn event_stream(s: Shared, clock: bool) -> Result<Response, ApiFailure> {
    // Subscribe before the snapshot: a change between the two is heard.
    let rx = s.events.subscribe();
    let snap = snapshot(&s).await?;
    // Read after the snapshot: the clock event is sent right away.
    let hello = if clock {
        format!(
            "event: clock\ndata: {{\"now_unix_ms\":{}}}\n\n",
            s.clock.now().0
        )
    } else {
        String::new()
    };
    let first = format!("retry: 2000\n{hello}{snap}");
    struct Listener {
        state: Shared,
        rx: broadcast::Receiver<QueueEvent>,
        first: Option<String>,
    }
    let stream = futures_util::stream::unfold(
        Listener {
            state: s,
            rx,
            first: Some(first),
        },
        |mut l| async move {
            if let Some(first) = l.first.take() {
                return Some((Ok::<_, std::convert::Infallible>(first), l));
            }
            let chunk = match tokio::time::timeout(KEEP_ALIVE, l.rx.recv()).await {
                Err(_) => ": keep-alive\n\n".to_owned(),
                Ok(Ok(e)) => match serde_json::to_string(&e) {
                    Ok(data) => format!(
                        "id: {}\nevent: {}\ndata: {data}\n\n",
                        e.seq,
                        e.kind.as_str()
                    ),
                    Err(_) => return None,
                },
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => snapshot(&l.state).await.ok()?,
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            };
            Some((Ok(chunk), l))
        },
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/event-stream"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

async fn not_found() -> ApiFailure {
    failure(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// The API's routes.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/kiosk", get(assignment))
        .route("/v1/tickets", post(issue))
        .route("/v1/tickets/{id}", get(get_ticket))
        .route("/v1/tickets/{id}/recall", post(recall))
        .route("/v1/tickets/{id}/served", post(served))
        .route("/v1/tickets/{id}/no-show", post(no_show))
        .route("/v1/tickets/{id}/transfer", post(transfer))
        .route("/v1/reconcile", post(reconcile))
        .route("/v1/queue", get(waiting))
        .route("/v1/counters/{counter}/call-next", post(call_next))
        .route("/v1/ratings", post(rate))
        .route("/v1/stats", get(stats))
        .route("/v1/events", get(events))
        .fallback(not_found)
        .with_state(state)
}

/// The loopback listener's routes: `GET /metrics`, today's statistics in
/// the Prometheus text format.
pub fn metrics_router(state: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state)
}

async fn metrics(State(s): State<Shared>) -> Result<Response, ApiFailure> {
    let day = CentreDb::today(s.clock.now())?;
    let stats = s.db.day_stats(&day).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::stats::prometheus(&stats),
    )
        .into_response())
}

/// A bound, ready centre.
pub struct Server {
    listener: TcpListener,
    metrics: Option<TcpListener>,
    pages: Option<(TcpListener, TlsAcceptor)>,
    tls: TlsAcceptor,
    state: Shared,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("centre", &self.state.config.centre_id)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Connects to the database, migrates it, loads TLS and binds.
    pub async fn bind(config: CentreConfig) -> Result<Server, ServeError> {
        let tls = tls_config(&config)?;
        let identity_key = config
            .identity_key_file
            .as_deref()
            .map(crate::identity::IdentityKey::load)
            .transpose()?;
        let pool = crate::db::pool(&config.database_url, config.pool_size)?;
        crate::db::migrate(&pool).await?;
        let mut db = CentreDb::new(
            pool,
            &config.centre_id,
            config.catalog.clone(),
            config.online_max,
        );
        if let Some(key) = identity_key {
            db = db.with_identity_key(Arc::new(key));
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServeError::Bind { addr, source })?,
            ),
            None => None,
        };
        let pages = match config.pages_listen {
            Some(addr) => Some((
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServeError::Bind { addr, source })?,
                TlsAcceptor::from(pages_tls_config(&config)?),
            )),
            None => None,
        };
        let clock = Clock::new(config.clock_start);
        Ok(Server {
            listener,
            metrics,
            pages,
            tls: TlsAcceptor::from(tls),
            state: Arc::new(AppState {
                config,
                db,
                clock,
                events: Events::default(),
                audio: crate::audio::CallAudio::default(),
                sign_ins: crate::pages::SignInLocks::default(),
            }),
        })
    }

    /// Where it listens (the real port when the configuration said 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where the pages are served, if configured.
    pub fn pages_addr(&self) -> Option<SocketAddr> {
        self.pages.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Where the metrics text is served, if configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until the task is dropped: one task per connection.
    pub async fn run(self) {
        if let Some(listener) = self.metrics {
            tokio::spawn(serve_plain(listener, metrics_router(self.state.clone())));
        }
        if let Some((listener, tls)) = self.pages {
            tokio::spawn(crate::pages::serve(listener, tls, self.state.clone()));
        }
        tokio::spawn(sweep(self.state.clone()));
        let app = router(self.state.clone());
        loop {
            let (tcp, addr) = match self.listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept");
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let tls = self.tls.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let stream = match tls.accept(tcp).await {
                    Ok(s) => s,
                    Err(e) => {
                        // A client without a certificate from the CA ends
                        // here: the handshake failed, nothing was served.
                        tracing::warn!(%addr, error = %e, "TLS handshake refused");
                        return;
                    }
                };
                let name = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| common_name(c.as_ref()));
                let Some(name) = name else {
                    tracing::info!(%addr, "client certificate without a common name");
                    return;
                };
                let service = TowerToHyperService::new(app.layer(Extension(Peer { name })));
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%addr, error = %e, "connection");
                }
            });
        }
    }
}

/// How often past days' identity packets and expired sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(300);

/// Deletes identity packets of past days and expired page sessions, at
/// start-up and every [`SWEEP_EVERY`]. Logs counts only.
async fn sweep(state: Shared) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        match state.db.sweep(state.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(packets = n, "identity packets of past days deleted"),
            Err(e) => tracing::warn!(error = %e, "sweep"),
        }
    }
}

/// Plain HTTP/1.1 on a loopback listener (the metrics text).
async fn serve_plain(listener: TcpListener, app: Router) {
    loop {
        let (tcp, addr) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "metrics accept");
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await
            {
                tracing::debug!(%addr, error = %e, "metrics connection");
            }
        });
    }
}
