//! The reference C06 server: the API of `docs/c06-api.yaml` on 127.0.0.1
//! with mutual TLS (the portal's [`TlsListener`]), for the simulator (in
//! process, `[verification.sim_c06]`), the tests and testers
//! (`kiosk-c06`). It stands in for the Ministry of Public Security's C06
//! centre (Decree 69/2024), or a provider's gateway to it.
//!
//! - Its registry of genuine cards is a CSCA trust list (the simulator's
//!   `board/sim/csca`): it runs real passive authentication
//!   (`kiosk_firmware::icao::pa`) on the submitted EF.SOD, EF.COM, DG1,
//!   DG13, DG14, DG15, and checks the DG2 hash against the SOD. An intact
//!   chain to its CSCA is `genuine`; a DS issued by a CSCA it does not
//!   know is `unknown_card`; any failed check (a forged DS under its
//!   CSCA's name, an altered file) is `not_genuine`; an EF.SOD on its
//!   revocation list (by SHA-256, [`C06Handle::revoke`]) is `revoked`.
//! - Every verdict is signed with its P-256 key over
//!   `VerdictBody::signed_bytes` and bound to the request id and the SOD.
//! - [`Mode`] makes it misbehave for the tests: slow, `5xx`, a malformed
//!   body, a verdict signed by another key, for another SOD, a replay of
//!   its previous verdict, a stale verdict.
//!
//! Its clock is the wall clock unless fixed ([`C06Handle::set_clock`]:
//! tests in virtual time).

use crate::online::portal::server::{
    Handler, Reply, ServerError, TlsFiles, TlsListener, lock, wall_ms,
};
use crate::online::portal::{TlsError, http};
use kiosk_firmware::icao::lds::File;
use kiosk_firmware::icao::pa::{self, ChainCheck, TrustList};
use kiosk_firmware::trust::online::{
    self, SignedVerdict, VerdictBody, VerdictStatus, VerificationRequest,
};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server is set up.
#[derive(Clone)]
pub struct C06Settings {
    /// Its TLS certificate and key, and the CA of kiosk certificates.
    pub tls: TlsFiles,
    /// The verdict signing key.
    pub signing_key: SigningKey,
    /// The CSCAs whose cards it knows.
    pub registry: TrustList,
    /// The port on 127.0.0.1 (0: any free one).
    pub port: u16,
}

impl std::fmt::Debug for C06Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("C06Settings")
            .field("tls", &self.tls)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// How the server answers (the tests' failure modes; `kiosk-c06 --mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// Honest verdicts.
    #[default]
    Normal,
    /// `503` without a verdict.
    ServerError,
    /// `200` with a body that is no signed verdict.
    Malformed,
    /// An honest verdict signed by another key than the pinned one.
    OtherKey,
    /// A verdict (signed) for another SOD.
    OtherSod,
    /// Its previous verdict again, verbatim (a replayed answer).
    Replay,
    /// A verdict dated a day ago.
    Stale,
}

/// What the server has seen (no personal data: counts and shapes).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct C06Stats {
    /// Verification requests received.
    pub requests: u64,
    /// Requests that carried the photo (DG2) itself.
    pub with_photo: u64,
    /// Requests that carried only DG2's hash.
    pub with_photo_hash: u64,
    /// Verdicts signed, by status.
    pub verdicts: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
struct State {
    mode: Mode,
    delay: Duration,
    revoked: BTreeSet<String>,
    clock: Option<u64>,
    seq: u64,
    last: Option<Vec<u8>>,
    stats: C06Stats,
}

/// A running reference C06 server.
#[derive(Debug)]
pub struct C06Handle {
    listener: TlsListener,
    state: Arc<Mutex<State>>,
}

/// Loads a P-256 signing key from a PKCS#8 PEM file (`openssl genpkey
/// -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, TlsError> {
    use p256::pkcs8::DecodePrivateKey as _;
    use rustls::pki_types::PrivatePkcs8KeyDer;
    use rustls::pki_types::pem::PemObject as _;
    let bad = |reason: String| TlsError::File {
        path: path.to_path_buf(),
        reason,
    };
    let der = PrivatePkcs8KeyDer::from_pem_file(path).map_err(|e| bad(e.to_string()))?;
    SigningKey::from_pkcs8_der(der.secret_pkcs8_der())
        .map_err(|e| bad(format!("not a P-256 PKCS#8 key: {e}")))
}

impl C06Handle {
    /// Starts the server on 127.0.0.1.
    pub fn start(settings: C06Settings) -> Result<C06Handle, ServerError> {
        let state = Arc::new(Mutex::new(State::default()));
        let s2 = state.clone();
        let registry = settings.registry;
        let key = settings.signing_key;
        let handler: Handler = Arc::new(move |request: &http::Request| {
            let (status, body) = handle(request, &s2, &registry, &key);
            Reply {
                status,
                body,
                delay: lock(&s2).delay,
            }
        });
        let listener = TlsListener::start(&settings.tls, settings.port, "reference-c06", handler)?;
        Ok(C06Handle { listener, state })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.listener.url()
    }

    /// Changes how it answers from the next request on.
    pub fn set_mode(&self, mode: Mode) {
        lock(&self.state).mode = mode;
    }

    /// Answers every request this much later (after deciding).
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state).delay = delay;
    }

    /// Puts an EF.SOD (its SHA-256, hex) on the revocation list.
    pub fn revoke(&self, sod_sha256: &str) {
        lock(&self.state)
            .revoked
            .insert(sod_sha256.to_ascii_lowercase());
    }

    /// Dates verdicts at this Unix time in ms (`None`: the wall clock).
    pub fn set_clock(&self, unix_ms: Option<u64>) {
        lock(&self.state).clock = unix_ms;
    }

    /// What it has seen.
    pub fn stats(&self) -> C06Stats {
        lock(&self.state).stats.clone()
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, Vec<u8>) {
    let body = serde_json::json!({ "code": code, "message": message });
    (status, body.to_string().into_bytes())
}

fn handle(
    req: &http::Request,
    state: &Mutex<State>,
    registry: &TrustList,
    key: &SigningKey,
) -> (u16, Vec<u8>) {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/v1/health") => (200, b"{\"ok\":true}".to_vec()),
        ("GET", "/v1/_stats") => (
            200,
            serde_json::to_vec(&lock(state).stats).unwrap_or_default(),
        ),
        ("POST", online::VERIFY_PATH) => verify(req, state, registry, key),
        _ => error(404, "not_found", "no such endpoint"),
    }
}

fn unhex(field: &str, value: &str) -> Result<Vec<u8>, (u16, Vec<u8>)> {
    hex::decode(value).map_err(|_| error(400, "invalid_request", &format!("{field} is not hex")))
}

/// The card's status by the server's own passive authentication.
fn judge(
    request: &VerificationRequest,
    registry: &TrustList,
    now_ms: u64,
) -> Result<VerdictStatus, (u16, Vec<u8>)> {
    let sod_bytes = unhex("ef_sod", &request.ef_sod)?;
    let mut files = BTreeMap::new();
    files.insert(File::Com, unhex("ef_com", &request.ef_com)?);
    files.insert(File::Dg(1), unhex("dg1", &request.dg1)?);
    files.insert(File::Dg(13), unhex("dg13", &request.dg13)?);
    for (n, v) in [(14, &request.dg14), (15, &request.dg15), (2, &request.dg2)] {
        if let Some(v) = v {
            files.insert(File::Dg(n), unhex("dg", v)?);
        }
    }
    let Ok(sod) = pa::parse_sod(&sod_bytes) else {
        return Ok(VerdictStatus::NotGenuine);
    };
    let report = pa::verify(&sod, &files, registry, now_ms / 1000);
    // DG2 by its hash when the photo itself was not sent.
    let listed_dg2 = sod
        .lds
        .data_group_hash_values
        .iter()
        .find(|h| h.data_group_number == 2)
        .map(|h| hex::encode(h.data_group_hash_value.as_bytes()));
    let dg2_ok = match (&listed_dg2, &request.dg2, &request.dg2_hash) {
        (None, _, _) | (Some(_), Some(_), _) => true,
        (Some(listed), None, Some(sent)) => listed.eq_ignore_ascii_case(sent),
        (Some(_), None, None) => false,
    };
    Ok(match (&report.chain, report.verdict) {
        (ChainCheck::NotAnchored(_), _) => VerdictStatus::UnknownCard,
        (_, pa::Verdict::Passed) if dg2_ok => VerdictStatus::Genuine,
        _ => VerdictStatus::NotGenuine,
    })
}

fn verify(
    req: &http::Request,
    state: &Mutex<State>,
    registry: &TrustList,
    key: &SigningKey,
) -> (u16, Vec<u8>) {
    let (mode, clock) = {
        let mut st = lock(state);
        st.stats.requests += 1;
        (st.mode, st.clock)
    };
    if mode == Mode::ServerError {
        return error(
            503,
            "unavailable",
            "the reference C06 server was told to fail",
        );
    }
    if mode == Mode::Malformed {
        return (200, b"{\"verdict\":\"genuine\"}".to_vec());
    }
    let request: VerificationRequest = match serde_json::from_slice(&req.body) {
        Ok(r) => r,
        Err(e) => return error(400, "invalid_request", &e.to_string()),
    };
    if request.request_id.len() != 32 || hex::decode(&request.request_id).is_err() {
        return error(400, "invalid_request", "request_id must be 32 hex digits");
    }
    let now = clock.unwrap_or_else(wall_ms);
    let mut status = match judge(&request, registry, now) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let sod_sha256 = match unhex("ef_sod", &request.ef_sod) {
        Ok(sod) => online::sod_sha256(&sod),
        Err(e) => return e,
    };
    let mut st = lock(state);
    if status == VerdictStatus::Genuine && st.revoked.contains(&sod_sha256) {
        status = VerdictStatus::Revoked;
    }
    if request.dg2.is_some() {
        st.stats.with_photo += 1;
    } else if request.dg2_hash.is_some() {
        st.stats.with_photo_hash += 1;
    }
    if mode == Mode::Replay
        && let Some(previous) = &st.last
    {
        return (200, previous.clone());
    }
    st.seq += 1;
    let body = VerdictBody {
        verdict_id: format!("C06-REF-{:06}", st.seq),
        request_id: request.request_id.to_ascii_lowercase(),
        sod_sha256: match mode {
            Mode::OtherSod => online::sod_sha256(b"another card's EF.SOD"),
            _ => sod_sha256,
        },
        status,
        issued_at_unix_ms: match mode {
            Mode::Stale => now.saturating_sub(24 * 3600 * 1000),
            _ => now,
        },
    };
    let signer = match mode {
        Mode::OtherKey => other_key(),
        _ => Some(key.clone()),
    };
    let Some(signer) = signer else {
        return error(500, "internal", "no signing key");
    };
    let signature: p256::ecdsa::Signature = signer.sign(&body.signed_bytes());
    *st.stats
        .verdicts
        .entry(status.code().to_owned())
        .or_insert(0) += 1;
    let answer = serde_json::to_vec(&SignedVerdict {
        verdict: body,
        signature: hex::encode(signature.to_bytes()),
    })
    .unwrap_or_default();
    st.last = Some(answer.clone());
    (200, answer)
}

/// A key that is not the server's (the "signed by another key" mode).
fn other_key() -> Option<SigningKey> {
    SigningKey::from_slice(&[0x6B; 32]).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_describes_the_verification_api() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/c06-api.yaml"),
        )
        .unwrap_or_default();
        for needle in [
            "/v1/verifications:",
            "/v1/health:",
            "mutualTLS",
            "request_id",
            "sod_sha256",
            "issued_at_unix_ms",
            "signature",
            "genuine",
            "not_genuine",
            "revoked",
            "unknown_card",
            "cccd-kiosk-c06-verdict-v1",
            "dg2_hash",
            "invalid_request",
        ] {
            assert!(doc.contains(needle), "docs/c06-api.yaml lacks {needle}");
        }
    }
}
