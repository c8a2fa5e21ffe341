//! The reference portal for the end-to-end tests: a fresh test PKI, the
//! portal on 127.0.0.1 accepting the shipped catalogue's procedures, and
//! HTTPS clients for it. (`kioskctl` against it: `board/tests/outbox_crash.rs`.)

use kiosk_board::online::portal::client::{HttpsPortal, PortalSettings};
use kiosk_board::online::portal::pki::{Pki, PkiFiles};
use kiosk_board::online::portal::server::{PortalHandle, ServerSettings};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shipped procedure catalogue.
pub fn catalogue_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/config/procedures.toml")
}

/// The procedure codes of the shipped catalogue.
pub fn procedure_codes() -> Vec<String> {
    let text = std::fs::read_to_string(catalogue_file()).unwrap_or_default();
    match toml::from_str::<kiosk_firmware::requests::CatalogConfig>(&text) {
        Ok(c) => c.procedures.into_iter().map(|p| p.code).collect(),
        Err(e) => panic!("the shipped catalogue must parse: {e}"),
    }
}

/// A running reference portal with its own PKI.
#[derive(Debug)]
pub struct TestPortal {
    /// The PKI's files.
    pub pki: PkiFiles,
    /// The portal.
    pub handle: PortalHandle,
    _dir: tempfile::TempDir,
}

/// Makes a PKI under `dir`.
pub fn pki_in(dir: &Path, kiosk_id: &str) -> PkiFiles {
    match Pki::generate(kiosk_id).and_then(|p| p.write(dir)) {
        Ok(f) => f,
        Err(e) => panic!("test PKI: {e}"),
    }
}

impl TestPortal {
    /// A portal on a free port.
    pub fn start() -> TestPortal {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("a temporary folder: {e}"),
        };
        let pki = pki_in(&dir.path().join("pki"), "KIOSK-TEST-001");
        let handle = match PortalHandle::start(&ServerSettings {
            cert_file: pki.server_cert.clone(),
            key_file: pki.server_key.clone(),
            client_ca_file: pki.ca.clone(),
            unit_code: "000.00.19.H26".into(),
            procedures: procedure_codes(),
            port: 0,
        }) {
            Ok(h) => h,
            Err(e) => panic!("the reference portal must start: {e}"),
        };
        TestPortal {
            pki,
            handle,
            _dir: dir,
        }
    }

    /// Settings for a client of this portal.
    pub fn settings(&self, timeout: Duration) -> PortalSettings {
        PortalSettings {
            url: self.handle.url(),
            ca_file: self.pki.ca.clone(),
            client_cert_file: self.pki.client_cert.clone(),
            client_key_file: self.pki.client_key.clone(),
            timeout,
        }
    }

    /// A client with the right certificates.
    pub fn client(&self, timeout: Duration) -> HttpsPortal {
        match HttpsPortal::new(&self.settings(timeout)) {
            Ok(c) => c,
            Err(e) => panic!("the portal client must build: {e}"),
        }
    }
}

/// The temporary residence registration's code in the shipped catalogue.
pub const TAM_TRU: &str = "1.004222";
