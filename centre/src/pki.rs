//! Test PKI for the centre (rcgen): a CA, the centre's server certificate
//! for 127.0.0.1 and `localhost`, and one client certificate per kiosk or
//! counter desk whose common name is its id. Never for production: a
//! deployment gets its certificates from the operator's CA.
//!
//! `kiosk-centre pki --out DIR --client KIOSK-01 --client DESK-01` writes
//! `ca.pem`, `centre.pem`/`centre.key` and `<id>.pem`/`<id>.key`.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

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
    /// A client id that cannot be a file name.
    #[error("client id {0:?}: use letters, digits, '-' and '_'")]
    BadId(String),
    /// A certificate whose public key cannot be read.
    #[error("SPKI: {0}")]
    Spki(String),
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "VN");
    dn.push(DnType::OrganizationName, "CCCD kiosk centre test PKI");
    dn.push(DnType::CommonName, cn);
    dn
}

fn write(path: &Path, text: &str) -> Result<(), PkiError> {
    std::fs::write(path, text).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a fresh CA, the centre's certificate and one client certificate
/// per id into `dir`; returns the CA file.
pub fn generate(dir: &Path, clients: &[String]) -> Result<PathBuf, PkiError> {
    for id in clients {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(PkiError::BadId(id.clone()));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name = dn("CCCD kiosk test centre CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key)?;

    let server_key = KeyPair::generate()?;
    let mut sp = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    sp.distinguished_name = dn("kiosk centre");
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let server = sp.signed_by(&server_key, &ca, &ca_key)?;
    let ca_file = dir.join("ca.pem");
    write(&ca_file, &ca.pem())?;
    write(&dir.join("centre.pem"), &server.pem())?;
    write(&dir.join("centre.key"), &server_key.serialize_pem())?;

    for id in clients {
        let key = KeyPair::generate()?;
        let mut cp = CertificateParams::new(Vec::<String>::new())?;
        cp.distinguished_name = dn(id);
        cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        cp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = cp.signed_by(&key, &ca, &ca_key)?;
        write(&dir.join(format!("{id}.pem")), &cert.pem())?;
        write(&dir.join(format!("{id}.key")), &key.serialize_pem())?;
    }
    Ok(ca_file)
}

/// The base64 SHA-256 of the subject public key info of the first
/// certificate in the PEM file `cert` (Chromium's
/// `--ignore-certificate-errors-spki-list` pins a test centre's
/// certificate with it).
pub fn spki_sha256_base64(cert: &Path) -> Result<String, PkiError> {
    use base64::Engine as _;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    use sha2::Digest as _;
    use x509_cert::der::{Decode as _, Encode as _};
    let bad = |e: String| PkiError::Spki(format!("{}: {e}", cert.display()));
    let der = CertificateDer::from_pem_file(cert).map_err(|e| bad(e.to_string()))?;
    let parsed = x509_cert::Certificate::from_der(der.as_ref()).map_err(|e| bad(e.to_string()))?;
    let spki = parsed
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| bad(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&spki)))
}
