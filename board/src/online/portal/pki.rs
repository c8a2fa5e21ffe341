//! Test PKI for the reference portal and the simulator (rcgen): a CA, the
//! portal's server certificate for 127.0.0.1 and `localhost`, and one
//! client certificate per kiosk (its common name is the kiosk's id). Never
//! for production: a deployment gets its certificates from the operator's
//! CA.
//!
//! `kiosk-portal pki --out DIR --kiosk-id ID` writes the files; the
//! simulator's set is in `board/sim/pki/`.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// The files of a test PKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiFiles {
    /// The CA certificate (what both ends pin).
    pub ca: PathBuf,
    /// The portal's certificate.
    pub server_cert: PathBuf,
    /// The portal's key.
    pub server_key: PathBuf,
    /// The kiosk's client certificate.
    pub client_cert: PathBuf,
    /// The kiosk's key.
    pub client_key: PathBuf,
}

impl PkiFiles {
    /// The file names under `dir`.
    pub fn in_dir(dir: &Path) -> PkiFiles {
        PkiFiles {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("portal.pem"),
            server_key: dir.join("portal.key"),
            client_cert: dir.join("kiosk.pem"),
            client_key: dir.join("kiosk.key"),
        }
    }
}

/// Why the PKI could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen failed.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A test PKI in memory (PEM).
#[derive(Debug, Clone)]
pub struct Pki {
    /// CA certificate.
    pub ca_pem: String,
    /// Server certificate.
    pub server_cert_pem: String,
    /// Server key.
    pub server_key_pem: String,
    /// Client certificate.
    pub client_cert_pem: String,
    /// Client key.
    pub client_key_pem: String,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "VN");
    dn.push(DnType::OrganizationName, "CCCD kiosk test PKI");
    dn.push(DnType::CommonName, cn);
    dn
}

impl Pki {
    /// A fresh CA with a server certificate for 127.0.0.1/localhost and a
    /// client certificate for `kiosk_id`.
    pub fn generate(kiosk_id: &str) -> Result<Pki, PkiError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name = dn("CCCD kiosk test portal CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key)?;

        let server_key = KeyPair::generate()?;
        let mut sp = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        sp.distinguished_name = dn("reference portal");
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        sp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let server = sp.signed_by(&server_key, &ca, &ca_key)?;

        let client_key = KeyPair::generate()?;
        let mut cp = CertificateParams::new(Vec::<String>::new())?;
        cp.distinguished_name = dn(kiosk_id);
        cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        cp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let client = cp.signed_by(&client_key, &ca, &ca_key)?;

        Ok(Pki {
            ca_pem: ca.pem(),
            server_cert_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
        })
    }

    /// Writes the files into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<PkiFiles, PkiError> {
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let files = PkiFiles::in_dir(dir);
        for (path, text) in [
            (&files.ca, &self.ca_pem),
            (&files.server_cert, &self.server_cert_pem),
            (&files.server_key, &self.server_key_pem),
            (&files.client_cert, &self.client_cert_pem),
            (&files.client_key, &self.client_key_pem),
        ] {
            std::fs::write(path, text).map_err(|source| PkiError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Ok(files)
    }
}
