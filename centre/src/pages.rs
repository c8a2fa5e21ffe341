//! The counter page and the hall display page (`docs/centre-api.yaml`
//! "Pages", `docs/architecture.md` "The counter and display pages"):
//! plain HTML, CSS and JavaScript embedded in the binary, served over
//! HTTPS with the centre's certificate on `[pages] listen`, without client
//! certificates (browsers).
//!
//! - Staff sign in with their id, PIN (Argon2id, `[[staff]]`) and a counter
//!   they may serve. Five wrong PINs in a row lock the id for five minutes
//!   (kept in PostgreSQL). A session is 32 random bytes in the cookie
//!   `__Host-centre_session` (HttpOnly, Secure, SameSite=Strict), kept only
//!   as its SHA-256, for 12 hours; signing out deletes it.
//! - Every POST needs the session (but sign-in) and comes from the page
//!   itself: the `X-Centre-Page` header its `fetch` sets (a cross-origin
//!   page cannot send it without a CORS preflight this server never
//!   grants), and an `Origin` and `Sec-Fetch-Site`, when present, of this
//!   very origin. Otherwise `403 cross_origin`.
//! - The counter acts through the queue's own functions (`db`): the kiosk's
//!   calling order and fairness bound apply.
//! - A called ticket's identity packet is shown only to the session whose
//!   counter called it; every attempt is audited.
//! - A display signs in with `?token=` (its SHA-256 is in `[[displays]]`),
//!   gets the HttpOnly cookie `__Host-centre_display` and is redirected to
//!   a URL without the token.
//! - Every page response carries a strict Content-Security-Policy
//!   (`default-src 'self'`, no inline script or style).

use crate::audio::Lang;
use crate::db::CentreError;
use crate::db::pages::{PinFailure, SessionKind};
use crate::server::{ApiFailure, Shared, event_stream, failure};
use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use kiosk_firmware::queue::centre::{CentreTicket, QueueEventKind};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The staff session's cookie.
pub const SESSION_COOKIE: &str = "__Host-centre_session";
/// The display's cookie.
pub const DISPLAY_COOKIE: &str = "__Host-centre_display";
/// The header the pages' `fetch` sets on every POST.
pub const PAGE_HEADER: &str = "x-centre-page";
/// A staff session's lifetime.
pub const SESSION_MS: u64 = 12 * 3_600_000;
/// A display session's lifetime (a display runs unattended for days).
pub const DISPLAY_SESSION_MS: u64 = 7 * 24 * 3_600_000;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

const COUNTER_HTML: &str = include_str!("../pages/counter.html");
const DISPLAY_HTML: &str = include_str!("../pages/display.html");
const REFUSED_HTML: &str = include_str!("../pages/refused.html");
const PAGES_CSS: &str = include_str!("../pages/pages.css");
const COUNTER_JS: &str = include_str!("../pages/counter.js");
const DISPLAY_JS: &str = include_str!("../pages/display.js");

type PageResult = Result<Response, ApiFailure>;

fn refused(status: StatusCode, code: &str, message: &str) -> ApiFailure {
    failure(status, code, message)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The value of cookie `name` in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The hash of the session token in cookie `name`.
fn token_hash(headers: &HeaderMap, name: &str) -> Option<[u8; 32]> {
    let value = cookie(headers, name)?;
    let mut raw = [0u8; 32];
    hex::decode_to_slice(value, &mut raw).ok()?;
    Some(sha256(&raw))
}

fn set_cookie(name: &str, token: &str, max_age_ms: u64) -> String {
    format!(
        "{name}={token}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Strict",
        max_age_ms / 1000
    )
}

fn clear_cookie(name: &str) -> String {
    format!("{name}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// A POST must come from the page itself.
fn same_origin(headers: &HeaderMap) -> Result<(), ApiFailure> {
    let cross = |why: &str| {
        refused(
            StatusCode::FORBIDDEN,
            "cross_origin",
            &format!("refused: {why}"),
        )
    };
    if headers.get(PAGE_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(cross("the request does not come from the centre's page"));
    }
    if let Some(site) = headers.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return Err(cross("the request comes from another site"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| cross("no Host"))?;
        if origin.as_bytes() != format!("https://{host}").as_bytes() {
            return Err(cross("the request comes from another origin"));
        }
    }
    Ok(())
}

fn html(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// Security headers on every response of the pages' listener.
async fn headers_layer(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=31536000"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// The signed-in staff member and counter.
struct StaffSession {
    staff: String,
    counter: u16,
}

async fn staff_session(s: &Shared, headers: &HeaderMap) -> Result<StaffSession, ApiFailure> {
    let not_signed_in = || {
        refused(
            StatusCode::UNAUTHORIZED,
            "not_signed_in",
            "sign in at the counter page first",
        )
    };
    let hash = token_hash(headers, SESSION_COOKIE).ok_or_else(not_signed_in)?;
    match s.db.session(&hash, s.clock.now()).await? {
        // Still on the staff list, still assigned this counter.
        Some(SessionKind::Staff { staff, counter })
            if s.config
                .staff_member(&staff)
                .is_some_and(|m| m.counters.contains(&counter)) =>
        {
            Ok(StaffSession { staff, counter })
        }
        _ => Err(not_signed_in()),
    }
}

async fn display_session(s: &Shared, headers: &HeaderMap) -> Result<String, ApiFailure> {
    let refuse = || {
        refused(
            StatusCode::UNAUTHORIZED,
            "display_not_admitted",
            "open the display with its token",
        )
    };
    let hash = token_hash(headers, DISPLAY_COOKIE).ok_or_else(refuse)?;
    match s.db.session(&hash, s.clock.now()).await? {
        Some(SessionKind::Display { display }) => Ok(display),
        _ => Err(refuse()),
    }
}

fn new_token() -> Result<(String, [u8; 32]), ApiFailure> {
    let raw = crate::identity::random_bytes::<32>().ok_or_else(|| {
        refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_randomness",
            "no random bytes",
        )
    })?;
    Ok((hex::encode(raw), sha256(&raw)))
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiFailure> {
    b.map(|Json(v)| v).map_err(|e| {
        refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            &e.body_text(),
        )
    })
}

/// One lock per configured staff id: their sign-ins run one after the
/// other, so the fifth wrong PIN locks before a sixth is checked.
#[derive(Debug, Default)]
pub struct SignInLocks(
    std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
);

impl SignInLocks {
    fn of(&self, staff: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.0.lock() {
            Ok(mut map) => map.entry(staff.to_owned()).or_default().clone(),
            // A poisoned map: a fresh lock (the database still counts).
            Err(_) => Arc::default(),
        }
    }
}

/// An Argon2id hash no PIN is checked against but an unknown id's.
fn dummy_hash() -> Option<&'static kiosk_firmware::staff::PinHash> {
    static DUMMY: std::sync::OnceLock<Option<kiosk_firmware::staff::PinHash>> =
        std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = crate::identity::random_bytes::<16>()?;
            let pin: String = crate::identity::random_bytes::<12>()?
                .iter()
                .map(|b| char::from(b'0' + b % 10))
                .collect();
            kiosk_firmware::staff::hash_pin(&pin, &salt).ok()
        })
        .as_ref()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    staff: String,
    pin: String,
    counter: u16,
}

async fn login(
    State(s): State<Shared>,
    headers: HeaderMap,
    req: Result<Json<Login>, JsonRejection>,
) -> PageResult {
    same_origin(&headers)?;
    let req = body(req)?;
    let bad = |remaining: Option<u32>| {
        let mut f = refused(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong staff id or PIN",
        );
        f.1.limit = remaining;
        f
    };
    let Some(member) = s.config.staff_member(&req.staff).cloned() else {
        // As slow as a wrong PIN: the answer's time does not tell which
        // ids exist.
        let pin = zeroize::Zeroizing::new(req.pin);
        let _ =
            tokio::task::spawn_blocking(move || dummy_hash().is_some_and(|h| h.verify(&pin))).await;
        return Err(bad(None));
    };
    let lock = s.sign_ins.of(&member.id);
    let _one_at_a_time = lock.lock().await;
    let now = s.clock.now();
    s.db.check_lockout(&member.id, now).await?;
    let hash = member.pin_hash.clone();
    let pin = zeroize::Zeroizing::new(req.pin);
    let ok = tokio::task::spawn_blocking(move || hash.verify(&pin))
        .await
        .unwrap_or(false);
    if !ok {
        return match s.db.pin_failed(&member.id, now).await? {
            PinFailure::Remaining(n) => Err(bad(Some(n))),
            PinFailure::Locked(until) => Err(CentreError::Refused(crate::db::Refusal::LockedOut {
                until_unix_ms: until,
            })
            .into()),
        };
    }
    s.db.pin_succeeded(&member.id).await?;
    if !member.counters.contains(&req.counter) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "counter_not_allowed",
            &format!("{} may not serve counter {}", member.id, req.counter),
        ));
    }
    let (token, hash) = new_token()?;
    s.db.create_session(
        &hash,
        &SessionKind::Staff {
            staff: member.id.clone(),
            counter: req.counter,
        },
        now,
        SESSION_MS,
    )
    .await?;
    tracing::info!(staff = %member.id, counter = req.counter, "counter page: signed in");
    Ok((
        [(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, &token, SESSION_MS),
        )],
        Json(serde_json::json!({ "staff": member.id, "counter": req.counter })),
    )
        .into_response())
}

async fn logout(State(s): State<Shared>, headers: HeaderMap) -> PageResult {
    same_origin(&headers)?;
    if let Some(hash) = token_hash(&headers, SESSION_COOKIE) {
        s.db.delete_session(&hash).await?;
    }
    Ok((
        [(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))],
        Json(serde_json::json!({ "signed_out": true })),
    )
        .into_response())
}

fn ticket_json(t: &CentreTicket, has_identity: bool) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "number": t.number,
        "service": t.service,
        "state": t.state.as_str(),
        "priority": t.priority,
        "verification": t.verification,
        "recalls": t.recalls,
        "has_identity": has_identity,
    })
}

async fn state_of(s: &Shared, session: &StaffSession) -> Result<serde_json::Value, ApiFailure> {
    let now = s.clock.now();
    let counts = s.db.waiting_counts(now).await?;
    let services: Vec<serde_json::Value> =
        s.db.catalog()
            .services
            .iter()
            .map(|svc| {
                serde_json::json!({
                    "code": svc.code,
                    "name_vi": svc.name_vi,
                    "name_en": svc.name_en,
                    "counters": svc.counters,
                    "here": svc.counters.contains(&session.counter),
                    "waiting": counts.iter().find(|(c, _)| *c == svc.code).map_or(0, |(_, n)| *n),
                })
            })
            .collect();
    let ticket = match s.db.at_counter(session.counter, now).await? {
        Some(t) => Some(ticket_json(&t, s.db.has_identity(t.id).await?)),
        None => None,
    };
    Ok(serde_json::json!({
        "staff": session.staff,
        "counter": session.counter,
        "services": services,
        "ticket": ticket,
    }))
}

async fn counter_state(State(s): State<Shared>, headers: HeaderMap) -> PageResult {
    let session = staff_session(&s, &headers).await?;
    Ok(Json(state_of(&s, &session).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallNext {
    service: Option<String>,
}

async fn call_next(
    State(s): State<Shared>,
    headers: HeaderMap,
    req: Result<Json<CallNext>, JsonRejection>,
) -> PageResult {
    same_origin(&headers)?;
    let session = staff_session(&s, &headers).await?;
    let req = body(req)?;
    let now = s.clock.now();
    let t =
        s.db.call_next(session.counter, req.service.as_deref(), now)
            .await?;
    if let Some(t) = &t {
        s.events.publish(QueueEventKind::Called, t, now.0);
    }
    Ok(Json(state_of(&s, &session).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Act {
    ticket_id: i64,
}

async fn act(
    s: Shared,
    headers: HeaderMap,
    req: Result<Json<Act>, JsonRejection>,
    kind: QueueEventKind,
) -> PageResult {
    same_origin(&headers)?;
    let session = staff_session(&s, &headers).await?;
    let req = body(req)?;
    let now = s.clock.now();
    let (id, c) = (req.ticket_id, session.counter);
    let t = match kind {
        QueueEventKind::Recalled => s.db.recall(id, c, now).await?,
        QueueEventKind::Served => s.db.served(id, c, now).await?,
        _ => s.db.no_show(id, c, now).await?,
    };
    s.events.publish(kind, &t, now.0);
    Ok(Json(state_of(&s, &session).await?).into_response())
}

async fn recall(
    State(s): State<Shared>,
    headers: HeaderMap,
    req: Result<Json<Act>, JsonRejection>,
) -> PageResult {
    act(s, headers, req, QueueEventKind::Recalled).await
}

async fn served(
    State(s): State<Shared>,
    headers: HeaderMap,
    req: Result<Json<Act>, JsonRejection>,
) -> PageResult {
    act(s, headers, req, QueueEventKind::Served).await
}

async fn no_show(
    State(s): State<Shared>,
    headers: HeaderMap,
    req: Result<Json<Act>, JsonRejection>,
) -> PageResult {
    act(s, headers, req, QueueEventKind::NoShow).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Transfer {
    ticket_id: i64,
    to_service: String,
    to_counter: Option<u16>,
}

async fn transfer(
    State(s): State<Shared>,
    headers: HeaderMap,
    req: Result<Json<Transfer>, JsonRejection>,
) -> PageResult {
    same_origin(&headers)?;
    let session = staff_session(&s, &headers).await?;
    let req = body(req)?;
    let now = s.clock.now();
    let t =
        s.db.transfer(
            req.ticket_id,
            session.counter,
            &req.to_service,
            req.to_counter,
            now,
        )
        .await?;
    s.events.publish(QueueEventKind::Transferred, &t, now.0);
    Ok(Json(state_of(&s, &session).await?).into_response())
}

async fn identity(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<i64>) -> PageResult {
    let session = staff_session(&s, &headers).await?;
    let packet =
        s.db.view_identity(id, &session.staff, session.counter, s.clock.now())
            .await?;
    Ok(Json(packet).into_response())
}

async fn counter_events(State(s): State<Shared>, headers: HeaderMap) -> PageResult {
    staff_session(&s, &headers).await?;
    event_stream(s, false).await
}

#[derive(Deserialize)]
struct DisplayQuery {
    token: Option<String>,
    lang: Option<String>,
}

async fn display(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<DisplayQuery>,
) -> Response {
    let lang = q.lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::Vi);
    let refuse = |status: StatusCode| (status, html(REFUSED_HTML)).into_response();
    if let Some(token) = q.token {
        let presented = sha256(token.as_bytes());
        let Some(d) = s
            .config
            .displays
            .iter()
            .find(|d| bool::from(d.token_sha256.ct_eq(&presented)))
        else {
            tracing::warn!("display page: a wrong token was refused");
            return refuse(StatusCode::UNAUTHORIZED);
        };
        let Ok((cookie_token, hash)) = new_token() else {
            return refuse(StatusCode::SERVICE_UNAVAILABLE);
        };
        if s.db
            .create_session(
                &hash,
                &SessionKind::Display {
                    display: d.id.clone(),
                },
                s.clock.now(),
                DISPLAY_SESSION_MS,
            )
            .await
            .is_err()
        {
            return refuse(StatusCode::SERVICE_UNAVAILABLE);
        }
        tracing::info!(display = %d.id, "display page: signed in");
        return (
            StatusCode::SEE_OTHER,
            [
                (
                    header::SET_COOKIE,
                    set_cookie(DISPLAY_COOKIE, &cookie_token, DISPLAY_SESSION_MS),
                ),
                (header::LOCATION, format!("/display?lang={}", lang.as_str())),
            ],
        )
            .into_response();
    }
    match display_session(&s, &headers).await {
        Ok(_) => html(DISPLAY_HTML),
        Err(_) => refuse(StatusCode::UNAUTHORIZED),
    }
}

async fn display_events(State(s): State<Shared>, headers: HeaderMap) -> PageResult {
    display_session(&s, &headers).await?;
    event_stream(s, true).await
}

#[derive(Deserialize)]
struct AudioQuery {
    number: String,
    counter: u16,
    lang: Option<String>,
}

async fn audio(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<AudioQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    display_session(&s, &headers).await?;
    let bad = || {
        refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            "number must be like A001 or AU001, counter 1–65535, lang vi or en",
        )
    };
    let Query(q) = q.map_err(|_| bad())?;
    let lang = match q.lang.as_deref() {
        None => Lang::Vi,
        Some(l) => Lang::parse(l).ok_or_else(bad)?,
    };
    let wav = s
        .audio
        .call(&q.number, q.counter, lang)
        .await
        .ok_or_else(bad)?;
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        wav.as_ref().clone(),
    )
        .into_response())
}

async fn not_found() -> ApiFailure {
    refused(StatusCode::NOT_FOUND, "not_found", "no such page")
}

/// The pages' routes.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/counter") }),
        )
        .route("/counter", get(|| async { html(COUNTER_HTML) }))
        .route(
            "/assets/pages.css",
            get(|| async { asset("text/css; charset=utf-8", PAGES_CSS) }),
        )
        .route(
            "/assets/counter.js",
            get(|| async { asset("text/javascript; charset=utf-8", COUNTER_JS) }),
        )
        .route(
            "/assets/display.js",
            get(|| async { asset("text/javascript; charset=utf-8", DISPLAY_JS) }),
        )
        .route("/counter/api/login", post(login))
        .route("/counter/api/logout", post(logout))
        .route("/counter/api/state", get(counter_state))
        .route("/counter/api/events", get(counter_events))
        .route("/counter/api/call-next", post(call_next))
        .route("/counter/api/recall", post(recall))
        .route("/counter/api/served", post(served))
        .route("/counter/api/no-show", post(no_show))
        .route("/counter/api/transfer", post(transfer))
        .route("/counter/api/tickets/{id}/identity", get(identity))
        .route("/display", get(display))
        .route("/display/api/events", get(display_events))
        .route("/display/api/audio", get(audio))
        .fallback(not_found)
        .layer(axum::middleware::map_response(headers_layer))
        .with_state(state)
}

/// Serves the pages on `listener` with `tls` (no client certificate).
pub async fn serve(listener: TcpListener, tls: TlsAcceptor, state: Shared) {
    let app = router(state);
    loop {
        let (tcp, addr) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "pages accept");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let stream = match tls.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "pages TLS handshake");
                    return;
                }
            };
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%addr, error = %e, "pages connection");
            }
        });
    }
}
