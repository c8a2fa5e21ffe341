//! The reference portal: the API of `docs/portal-api.yaml` on 127.0.0.1
//! with mutual TLS, for the simulator (in process), the tests and testers
//! (`kiosk-portal`). It stands in for the provincial one-stop adapter.
//!
//! - Submissions are counted by idempotency key: the first creates a
//!   dossier with a code `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX` (Circular
//!   01/2018/TT-VPCP Art. 19) and answers `201`; a repeat of the same key
//!   with the same body answers `200` with the same receipt; the same key
//!   with another body answers `409`. [`PortalHandle::snapshot`] (and
//!   `GET /v1/_stats`, reference portal only) tell how many attempts and
//!   dossiers each key produced: the tests' exactly-once check.
//! - A body that is not a submission answers `400`; an unknown procedure,
//!   or a consent that is not explicit, `422`.
//! - [`Behaviour`] makes it slow or failing, for the network tests.
//!
//! It reads the wall clock for the receipt date, like any server.

use super::{TlsError, http, load_certs, load_key, provider, roots};
use kiosk_firmware::requests::api::{ApiError, IDEMPOTENCY_HEADER, Receipt, Status, Submission};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::BufReader;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How the portal is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Its certificate (PEM).
    pub cert_file: PathBuf,
    /// Its key (PEM).
    pub key_file: PathBuf,
    /// The CA kiosk certificates must chain to (PEM).
    pub client_ca_file: PathBuf,
    /// The receiving unit's code, `V1V2V3.Z1Z2.Y1Y2.MX1X2` (Circular
    /// 10/2016/TT-BTTTT).
    pub unit_code: String,
    /// Procedure codes it accepts; empty: any.
    pub procedures: Vec<String>,
    /// The port on 127.0.0.1 (0: any free one).
    pub port: u16,
}

/// How the portal misbehaves (the network tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Behaviour {
    /// Wait this long before answering (after processing).
    pub delay: Duration,
    /// Answer every submission with this status without processing it.
    pub fail_with: Option<u16>,
}

/// What the portal has seen, by idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Snapshot {
    /// Submissions received (every attempt, any outcome).
    pub submissions: u64,
    /// Attempts per idempotency key.
    pub attempts: BTreeMap<String, u32>,
    /// The dossier code each key created (one per key: exactly once).
    pub dossiers: BTreeMap<String, String>,
    /// Dossiers created in all.
    pub dossiers_created: u64,
}

#[derive(Debug, Default)]
struct State {
    behaviour: Behaviour,
    snapshot: Snapshot,
    by_key: HashMap<String, (String, Receipt)>,
    statuses: HashMap<String, Status>,
    seq_by_day: HashMap<String, u32>,
}

/// A running portal.
#[derive(Debug)]
pub struct PortalHandle {
    listener: TlsListener,
    state: Arc<Mutex<State>>,
}

/// What a handler of a [`TlsListener`] answers: a status, a JSON body,
/// and how long to wait before sending it (a reference server's "slow"
/// behaviour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
}

/// The certificates of a mutual-TLS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Its certificate (PEM).
    pub cert_file: PathBuf,
    /// Its key (PEM).
    pub key_file: PathBuf,
    /// The CA client certificates must chain to (PEM).
    pub client_ca_file: PathBuf,
}

/// The request handler of a [`TlsListener`].
pub type Handler = Arc<dyn Fn(&http::Request) -> Reply + Send + Sync>;

/// A loopback HTTPS server with mutual TLS, one request per connection,
/// one thread per connection: what the reference portal and the reference
/// C06 server (`crate::online::c06::server`) share.
pub struct TlsListener {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    /// Listens on 127.0.0.1:`port` (0: any free port), requiring a client
    /// certificate from `files.client_ca_file`; `handler` answers each
    /// request on the connection's thread (named `name`).
    pub fn start(
        files: &TlsFiles,
        port: u16,
        name: &str,
        handler: Handler,
    ) -> Result<TlsListener, ServerError> {
        let certs = load_certs(&files.cert_file)?;
        let key = load_key(&files.key_file)?;
        let ca = load_certs(&files.client_ca_file)?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots(&ca)?),
            provider(),
        )
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let tls = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::from)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(TlsError::from)?;
        let tls = Arc::new(tls);
        let bind = |source| ServerError::Bind { port, source };
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let conn_name = format!("{name}-conn");
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(tcp) = conn else { continue };
                    let (tls, handler) = (tls.clone(), handler.clone());
                    let _ = std::thread::Builder::new()
                        .name(conn_name.clone())
                        .spawn(move || serve(tcp, tls, &*handler));
                }
            })
            .map_err(bind)?;
        Ok(TlsListener {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops listening (connections in progress finish).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why the portal cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The certificates or key are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The port cannot be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port.
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The state behind a mutex, even if a connection thread panicked while
/// holding it (the reference servers keep answering).
pub(crate) fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl PortalHandle {
    /// Starts the portal on 127.0.0.1.
    pub fn start(settings: &ServerSettings) -> Result<PortalHandle, ServerError> {
        let state = Arc::new(Mutex::new(State::default()));
        let s2 = state.clone();
        let unit = settings.unit_code.clone();
        let procedures = settings.procedures.clone();
        let handler: Handler = Arc::new(move |request: &http::Request| {
            let (status, body) = handle(request, &s2, &unit, &procedures);
            Reply {
                status,
                body,
                delay: lock(&s2).behaviour.delay,
            }
        });
        let listener = TlsListener::start(
            &TlsFiles {
                cert_file: settings.cert_file.clone(),
                key_file: settings.key_file.clone(),
                client_ca_file: settings.client_ca_file.clone(),
            },
            settings.port,
            "reference-portal",
            handler,
        )?;
        Ok(PortalHandle { listener, state })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.listener.url()
    }

    /// Changes how it behaves from the next request on.
    pub fn set_behaviour(&self, b: Behaviour) {
        lock(&self.state).behaviour = b;
    }

    /// What it has seen.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.state).snapshot.clone()
    }

    /// Stops listening (connections in progress finish).
    pub fn stop(&mut self) {
        self.listener.stop();
    }
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn error(status: u16, code: &str, message: &str) -> (u16, Vec<u8>) {
    (
        status,
        json(&ApiError {
            code: code.to_owned(),
            message: message.to_owned(),
        }),
    )
}

fn serve(
    tcp: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    handler: &dyn Fn(&http::Request) -> Reply,
) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(conn) = rustls::ServerConnection::new(tls) else {
        return;
    };
    let stream = rustls::StreamOwned::new(conn, tcp);
    let mut reader = BufReader::new(stream);
    let request = match http::read_request(&mut reader) {
        Ok(Some(r)) => r,
        // A refused certificate or a closed connection: nothing to answer.
        Ok(None) | Err(_) => return,
    };
    let reply = handler(&request);
    if !reply.delay.is_zero() {
        #[expect(
            clippy::disallowed_methods,
            reason = "the reference servers' 'slow' behaviour for the network tests"
        )]
        std::thread::sleep(reply.delay);
    }
    let _ = http::write_response(reader.get_mut(), reply.status, &reply.body);
    let stream = reader.get_mut();
    stream.conn.send_close_notify();
    let _ = stream.conn.complete_io(&mut stream.sock);
}

/// The wall clock in Unix milliseconds (the reference servers date their
/// answers like any server).
pub(crate) fn wall_ms() -> u64 {
    #[expect(
        clippy::disallowed_methods,
        reason = "the reference portal dates its receipts like any server"
    )]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

fn handle(
    req: &http::Request,
    state: &Mutex<State>,
    unit: &str,
    procedures: &[String],
) -> (u16, Vec<u8>) {
    let path = req.path.as_str();
    match (req.method.as_str(), path) {
        ("POST", "/v1/dossiers") => submit(req, state, unit, procedures),
        ("GET", "/v1/health") => (200, b"{\"ok\":true}".to_vec()),
        ("GET", "/v1/_stats") => (200, json(&lock(state).snapshot)),
        ("GET", p) if p.starts_with("/v1/dossiers/") => {
            let code = &p["/v1/dossiers/".len()..];
            match lock(state).statuses.get(code) {
                Some(s) => (200, json(s)),
                None => error(404, "not_found", "no dossier with this code"),
            }
        }
        ("POST", p) if p.starts_with("/v1/dossiers/") && p.ends_with("/cancel") => {
            let code = &p["/v1/dossiers/".len()..p.len() - "/cancel".len()];
            let mut st = lock(state);
            match st.statuses.get_mut(code) {
                Some(s) if s.status == "cancelled" || s.status == "done" => {
                    error(409, "not_cancellable", "the dossier is already closed")
                }
                Some(s) => {
                    s.status = "cancelled".into();
                    s.updated_at_unix_ms = wall_ms();
                    (200, json(s))
                }
                None => error(404, "not_found", "no dossier with this code"),
            }
        }
        _ => error(404, "not_found", "no such endpoint"),
    }
}

fn submit(
    req: &http::Request,
    state: &Mutex<State>,
    unit: &str,
    procedures: &[String],
) -> (u16, Vec<u8>) {
    let Some(key) = req.header(IDEMPOTENCY_HEADER).map(str::to_owned) else {
        return error(
            400,
            "idempotency_key_missing",
            "send an Idempotency-Key header",
        );
    };
    let mut st = lock(state);
    st.snapshot.submissions += 1;
    *st.snapshot.attempts.entry(key.clone()).or_insert(0) += 1;
    if let Some(status) = st.behaviour.fail_with {
        return error(status, "injected", "the reference portal was told to fail");
    }
    let hash = hex::encode(Sha256::digest(&req.body));
    if let Some((h, receipt)) = st.by_key.get(&key) {
        return if *h == hash {
            (200, json(receipt))
        } else {
            error(
                409,
                "idempotency_conflict",
                "this idempotency key was used for another request",
            )
        };
    }
    let submission: Submission = match serde_json::from_slice(&req.body) {
        Ok(s) => s,
        Err(e) => return error(400, "invalid_payload", &e.to_string()),
    };
    if !procedures.is_empty() && !procedures.contains(&submission.procedure_code) {
        return error(
            422,
            "unknown_procedure",
            "this portal does not handle the procedure",
        );
    }
    if !submission.consent.explicit {
        return error(
            422,
            "consent_missing",
            "the citizen's explicit consent is required",
        );
    }
    let now = wall_ms();
    let local = kiosk_firmware::ticket::LocalTime::in_vietnam(now);
    let day = local.map_or_else(
        || "000000".to_owned(),
        |t| format!("{:02}{:02}{:02}", t.year % 100, t.month, t.day),
    );
    let seq = {
        let n = st.seq_by_day.entry(day.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let code = format!("{unit}-{day}-{:04}", seq % 10_000);
    let appointment = kiosk_firmware::cccd::date::Date::in_vietnam(now)
        .map(|d| d.next_day().next_day().next_day().dmy());
    let receipt = Receipt {
        dossier_code: code.clone(),
        status: "received".into(),
        received_at_unix_ms: now,
        appointment_date: appointment,
    };
    st.statuses.insert(
        code.clone(),
        Status {
            dossier_code: code.clone(),
            procedure_code: submission.procedure_code.clone(),
            status: "received".into(),
            updated_at_unix_ms: now,
        },
    );
    st.by_key.insert(key.clone(), (hash, receipt.clone()));
    st.snapshot.dossiers.insert(key, code);
    st.snapshot.dossiers_created += 1;
    (201, json(&receipt))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_describes_every_endpoint_the_portal_serves() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/portal-api.yaml"),
        )
        .unwrap_or_default();
        for path in [
            "/v1/dossiers:",
            "/v1/dossiers/{dossier_code}:",
            "/v1/dossiers/{dossier_code}/cancel:",
            "/v1/health:",
            "/v1/_stats:",
            "Idempotency-Key",
            "mutualTLS",
        ] {
            assert!(doc.contains(path), "docs/portal-api.yaml lacks {path}");
        }
        for code in [
            "invalid_payload",
            "unknown_procedure",
            "consent_missing",
            "idempotency_conflict",
            "not_found",
            "not_cancellable",
        ] {
            assert!(
                doc.contains(code),
                "docs/portal-api.yaml lacks the error {code}"
            );
        }
    }
}
