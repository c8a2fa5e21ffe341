//! The portal over HTTPS (`docs/portal-api.yaml`): the kiosk's client, the
//! reference portal that implements the API for the simulator, the tests
//! and testers (`kiosk-portal`), and the test PKI both use.
//!
//! - TLS is rustls with the ring provider, TLS 1.2 and 1.3 only. The
//!   client trusts only the configured CA (pinned: no system roots) and
//!   presents the kiosk's own certificate; the portal requires a client
//!   certificate from its CA (mutual TLS, the "device identity" of
//!   information-security level 3, reference note §3.2).
//! - HTTP/1.1 with `Content-Length` bodies only ([`http`]): both ends are
//!   ours, so a small, strict framing is enough and keeps the dependency
//!   tree lean.
//! - Loopback only for the reference portal: it binds 127.0.0.1.

pub mod client;
pub mod http;
pub mod pki;
pub mod server;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why TLS material cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file is missing or holds no certificate/key. Remedy: point the
    /// configuration at the right file (`kiosk-portal pki` makes test ones).
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the material (a key that does not match its
    /// certificate, an unusable CA).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(String),
}

/// The crypto provider every TLS configuration here uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates in a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |reason: String| TlsError::File {
        path: path.to_path_buf(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The private key in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::File {
        path: path.to_path_buf(),
        reason: format!("holds no usable PEM private key ({e})"),
    })
}

/// A root store holding exactly the certificates in `ca`.
pub fn roots(ca: &[CertificateDer<'static>]) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots.add(c.clone())?;
    }
    Ok(roots)
}
