//! The reference portal for the end-to-end tests: a fresh test PKI, the
//! portal on 127.0.0.1 accepting the shipped catalogue's procedures, HTTPS
//! clients for it, and board configuration files that point `kioskctl`
//! at it.

use kiosk_board::portal::client::{HttpsPortal, PortalSettings};
use kiosk_board::portal::pki::{Pki, PkiFiles};
use kiosk_board::portal::server::{PortalHandle, ServerSettings};
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

/// Writes a sim board configuration under `dir` whose `[requests]` point at
/// `portal_url` with `pki`'s CA and client certificate, a fresh outbox key
/// and the data directory `dir/var`; retries start at 100 ms.
pub fn write_config(dir: &Path, portal_url: &str, pki: &PkiFiles) -> PathBuf {
    let key = dir.join("outbox.key");
    if let Err(e) = std::fs::write(&key, [0x5Au8; 32]) {
        panic!("{}: {e}", key.display());
    }
    let text = format!(
        r#"board = "sim"
[kiosk]
id = "KIOSK-TEST-001"
center_name = "Trung tâm thử nghiệm"
data_dir = {data:?}
[requests]
catalogue = {catalogue:?}
outbox_key_file = {key:?}
[requests.portal]
url = "{portal_url}"
ca_file = {ca:?}
client_cert_file = {cert:?}
client_key_file = {ckey:?}
timeout_ms = 1000
[requests.delivery]
base_backoff_ms = 100
max_backoff_ms = 1000
[sim.card_reader]
name = "Sim Reader 0"
[sim.camera]
frames = "pattern"
[sim.printer]
paper_width_mm = 80
"#,
        data = dir.join("var"),
        catalogue = catalogue_file(),
        ca = pki.ca,
        cert = pki.client_cert,
        ckey = pki.client_key,
    );
    let path = dir.join("kiosk.toml");
    if let Err(e) = std::fs::write(&path, text) {
        panic!("{}: {e}", path.display());
    }
    path
}

/// The test citizen's name and ID number (to look for in files).
pub const NAME: &str = "Nguyễn Văn Mẫu";
/// The test citizen's ID number.
pub const ID_NUMBER: &str = "003090000001";

/// Writes a citizen file for `kioskctl request submit` (the temporary
/// residence form's typed values included).
pub fn write_citizen(dir: &Path) -> PathBuf {
    let path = dir.join("citizen.json");
    let json = serde_json::json!({
        "id_number": ID_NUMBER,
        "full_name": NAME,
        "date_of_birth": "15/01/1990",
        "sex": "Nam",
        "nationality": "Việt Nam",
        "ethnicity": "Kinh",
        "place_of_origin": "Xã Mẫu, Nam Định",
        "place_of_residence": "Số 1 Đường Mẫu, Phường Mẫu, Hà Nội",
        "entered": {
            "temporary_address": "Số 5 Ngõ Mẫu, Phường Cầu Giấy, Hà Nội",
            "from_date": "01/12/2026",
            "to_date": "30/11/2027",
            "reason": "Làm việc",
            "phone": "0912345678"
        }
    });
    if let Err(e) = std::fs::write(&path, json.to_string()) {
        panic!("{}: {e}", path.display());
    }
    path
}

/// The temporary residence registration's code in the shipped catalogue.
pub const TAM_TRU: &str = "1.004222";
