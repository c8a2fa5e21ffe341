//! The trust store of passive authentication: the offline anchors a
//! Document Signer is checked against (ICAO 9303-12 §5 the PKI, §7 the
//! certificate and CRL profiles, §8 CSCA master lists; RFC 5280 §5 CRLs;
//! RFC 5652 CMS).
//!
//! Where the anchors come from ([`Source`]):
//!
//! - **files**: self-signed CSCA certificates (DER or PEM) staff put in the
//!   configured folder;
//! - **master lists**: a CMS SignedData whose content is a
//!   `CscaMasterList` (eContentType `id-icao-cscaMasterList`
//!   2.23.136.1.1.2). Its Master List Signer certificate must be issued
//!   by a configured master-list trust anchor, be valid today, carry
//!   keyUsage digitalSignature and the extended key usage
//!   `id-icao-cscaMasterListSigningKey` (2.23.136.1.1.3); its messageDigest
//!   and signature must verify. Any failure rejects the whole list with a
//!   typed [`MasterListError`]: no certificate of an unverified list is
//!   ever trusted;
//! - **link certificates** (CSCA key roll-over, 9303-12 §5.2): a CSCA
//!   certificate that is not self-signed becomes an anchor only when a
//!   CSCA already trusted (a CA with keyCertSign) signed it. Links chain:
//!   old → new → newer.
//!
//! CRLs ([`Crl`]) are accepted only when a trusted CSCA of the CRL's
//! issuer name with keyUsage cRLSign signed them, and only with a
//! nextUpdate. The revocation check ([`Revocation`]) of a Document Signer
//! uses every CRL its CSCA issued: a listed serial is revoked; otherwise
//! the newest CRL must not be past its nextUpdate (an expired CRL fails
//! closed: a Document Signer revoked after it was issued would go
//! unnoticed); a CSCA with no CRL is refused when the store requires one.
//!
//! The certificate profile (9303-12 §7.1.1, [`ProfileFault`]): the CSCA
//! is a CA (basicConstraints cA) with keyUsage keyCertSign; the Document
//! Signer is not a CA and has keyUsage digitalSignature.

use crate::icao::pa::{Check, verify_signature};
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, DecodePem, Encode, Sequence};
use serde::Serialize;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::name::Name;

/// `id-signedData` 1.2.840.113549.1.7.2.
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// `id-icao-cscaMasterList` 2.23.136.1.1.2.
pub const CSCA_MASTER_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.2");
/// `id-icao-cscaMasterListSigningKey` 2.23.136.1.1.3 (extended key usage).
pub const MASTER_LIST_SIGNING_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.23.136.1.1.3");
/// `id-messageDigest` 1.2.840.113549.1.9.4.
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

/// `CscaMasterList ::= SEQUENCE { version CscaMasterListVersion,
/// certList SET OF Certificate }` (9303-12 §8.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CscaMasterList {
    /// v0 (0).
    pub version: u8,
    /// The CSCA certificates (self-signed and link certificates).
    pub cert_list: SetOfVec<Certificate>,
}

/// Where an anchor comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A certificate file of the CSCA folder.
    File,
    /// A verified CSCA master list.
    MasterList {
        /// The Master List Signer's subject.
        signer: String,
    },
    /// A link certificate (key roll-over), signed by a trusted CSCA.
    Link {
        /// The subject of the CSCA that signed it.
        issuer: String,
    },
}

/// A trusted CSCA certificate and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The certificate.
    pub certificate: Certificate,
    /// Where it comes from.
    pub source: Source,
}

/// A certificate-profile failure (9303-12 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileFault {
    /// The Document Signer certificate's keyUsage lacks digitalSignature
    /// (or it has no keyUsage).
    DocumentSignerKeyUsage,
    /// The Document Signer certificate is a CA (basicConstraints cA).
    DocumentSignerIsCa,
    /// The anchoring CSCA's keyUsage lacks keyCertSign (or it has none).
    CscaKeyUsage,
    /// The anchoring CSCA is not a CA (no basicConstraints with cA).
    CscaNotCa,
}

/// The revocation status of a Document Signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Revocation {
    /// A current CRL of its CSCA does not list it.
    NotRevoked,
    /// A CRL of its CSCA lists its serial number.
    Revoked {
        /// When it was revoked (Unix seconds).
        since: u64,
    },
    /// Its CSCA's newest CRL is past its nextUpdate: the status is not
    /// known (fails closed).
    CrlExpired {
        /// The newest CRL's nextUpdate (Unix seconds).
        next_update: u64,
    },
    /// Its CSCA has no CRL in the store, which requires one (fails
    /// closed).
    CrlMissing,
    /// Its CSCA has no CRL and the store does not require one (a
    /// configured downgrade, `kiosk.require_crl = false`).
    NotRequired,
    /// Not checked: the chain is not anchored (no CSCA to ask).
    NotChecked,
}

impl Revocation {
    /// Whether the status lets an anchored chain pass.
    pub fn acceptable(&self) -> bool {
        matches!(self, Revocation::NotRevoked | Revocation::NotRequired)
    }
}

/// A CRL accepted into the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    /// The CRL.
    pub list: CertificateList,
    /// thisUpdate (Unix seconds).
    pub this_update: u64,
    /// nextUpdate (Unix seconds).
    pub next_update: u64,
}

impl Crl {
    /// The issuer's name.
    pub fn issuer(&self) -> &Name {
        &self.list.tbs_cert_list.issuer
    }

    /// The number of revoked certificates it lists.
    pub fn revoked_count(&self) -> usize {
        self.list
            .tbs_cert_list
            .revoked_certificates
            .as_ref()
            .map_or(0, Vec::len)
    }

    /// When `serial` was revoked, if this CRL lists it.
    fn revoked_since(&self, serial: &[u8]) -> Option<u64> {
        self.list
            .tbs_cert_list
            .revoked_certificates
            .as_ref()?
            .iter()
            .find(|r| r.serial_number.as_bytes() == serial)
            .map(|r| r.revocation_date.to_unix_duration().as_secs())
    }
}

/// Why a master list is rejected (whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterListError {
    /// Not a CMS SignedData over a CscaMasterList. Remedy: fetch the list
    /// again; it is damaged or not a master list.
    #[error("the master list is malformed: {0}")]
    Malformed(String),
    /// No master-list signer anchor is configured, so no master list can
    /// be verified. Remedy: set `kiosk.master_list_anchor_dir`.
    #[error("no master-list signer trust anchor is configured")]
    NoSignerAnchor,
    /// The SignedData does not carry the Master List Signer certificate.
    /// Remedy: none; the list cannot be verified.
    #[error("the master list does not carry its signer's certificate")]
    SignerCertificateMissing,
    /// The Master List Signer certificate is not issued by a configured
    /// anchor. Remedy: configure the anchor of the list's issuer, or do
    /// not use this list.
    #[error("the master-list signer is not issued by a configured anchor ({issuer})")]
    SignerNotTrusted {
        /// The signer certificate's issuer.
        issuer: String,
    },
    /// The Master List Signer certificate lacks keyUsage digitalSignature or
    /// the extended key usage id-icao-cscaMasterListSigningKey.
    #[error("the master-list signer certificate's key usage is wrong: {0}")]
    SignerProfile(String),
    /// The Master List Signer certificate is not valid today.
    #[error("the master-list signer certificate is not valid today")]
    SignerNotValid,
    /// The signed messageDigest is not the hash of the list.
    #[error("the master list's messageDigest does not match its content")]
    DigestMismatch,
    /// The signature does not verify (or uses an algorithm not supported).
    #[error("the master list's signature does not verify: {0}")]
    SignatureInvalid(String),
}

/// Why a CRL is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    /// Not a DER or PEM X.509 CRL.
    #[error("the CRL is malformed: {0}")]
    Malformed(String),
    /// No trusted CSCA has the CRL's issuer name. Remedy: import the CSCA
    /// first.
    #[error("no trusted CSCA issued this CRL ({issuer})")]
    UnknownIssuer {
        /// The CRL's issuer.
        issuer: String,
    },
    /// The CSCA of the issuer's name may not sign CRLs (keyUsage lacks
    /// cRLSign).
    #[error("the CSCA {issuer} has no cRLSign key usage")]
    NotCrlSigner {
        /// The CRL's issuer.
        issuer: String,
    },
    /// The signature does not verify with any trusted CSCA of that name.
    #[error("the CRL's signature does not verify ({issuer})")]
    SignatureInvalid {
        /// The CRL's issuer.
        issuer: String,
    },
    /// The CRL has no nextUpdate (9303-12 and RFC 5280 require one), so
    /// its freshness cannot be judged.
    #[error("the CRL has no nextUpdate")]
    NoNextUpdate,
}

/// A problem of the store, for `kioskctl trust check` and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// A trusted CSCA is not valid today.
    CscaNotValid {
        /// Its subject.
        subject: String,
    },
    /// A trusted CSCA does not have the CSCA profile.
    CscaProfile {
        /// Its subject.
        subject: String,
        /// What is wrong.
        fault: ProfileFault,
    },
    /// A CSCA certificate that is not self-signed and that no trusted CSCA
    /// signed (a link certificate without its predecessor).
    UnanchoredLink {
        /// Its subject.
        subject: String,
        /// Its issuer.
        issuer: String,
    },
    /// A CRL is past its nextUpdate.
    CrlExpired {
        /// Its issuer.
        issuer: String,
        /// Its nextUpdate (Unix seconds).
        next_update: u64,
    },
    /// A CSCA has no CRL and the store requires one.
    CrlMissing {
        /// The CSCA's subject.
        subject: String,
    },
}

/// The outcome of the chain check of one Document Signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOutcome<'a> {
    /// The anchor that signed the DS certificate, if any.
    pub anchor: Option<&'a Anchor>,
    /// Whether a trusted CSCA of the issuer's name exists (that did not
    /// sign it, when `anchor` is `None`).
    pub issuer_known: bool,
    /// Profile failures of the DS and of the anchor.
    pub profile: Vec<ProfileFault>,
    /// The DS's revocation status.
    pub revocation: Revocation,
}

/// The trust store: CSCA anchors, the master-list signer anchors, CRLs.
#[derive(Debug, Clone, Default)]
pub struct TrustList {
    anchors: Vec<Anchor>,
    unresolved: Vec<(Certificate, Source)>,
    master_list_anchors: Vec<Certificate>,
    crls: Vec<Crl>,
    require_crl: bool,
}

/// `RSAPublicKey` (RFC 8017 §A.1.1), to tell the modulus size.
#[derive(Sequence)]
struct RsaPublicKey {
    modulus: der::asn1::Uint,
    public_exponent: der::asn1::Uint,
}

/// The key algorithm of a certificate in words: "ecdsa P-256",
/// "rsa 3072", or the OID when unknown.
pub fn key_algorithm(cert: &Certificate) -> String {
    let spki = cert.tbs_certificate().subject_public_key_info();
    match spki.algorithm.oid.to_string().as_str() {
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .map(|o| o.to_string());
            let name = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "P-256".to_owned(),
                Some("1.3.132.0.34") => "P-384".to_owned(),
                Some("1.3.132.0.35") => "P-521".to_owned(),
                Some("1.3.36.3.3.2.8.1.1.7") => "brainpoolP256r1".to_owned(),
                Some("1.3.36.3.3.2.8.1.1.11") => "brainpoolP384r1".to_owned(),
                Some("1.3.36.3.3.2.8.1.1.13") => "brainpoolP512r1".to_owned(),
                Some(other) => other.to_owned(),
                None => "explicit parameters".to_owned(),
            };
            format!("ecdsa {name}")
        }
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            match RsaPublicKey::from_der(spki.subject_public_key.raw_bytes()) {
                Ok(k) => format!("rsa {}", k.modulus.as_bytes().len() * 8),
                Err(_) => "rsa (malformed key)".to_owned(),
            }
        }
        other => other.to_owned(),
    }
}

/// A Unix time (seconds) as an RFC 3339 UTC date-time, for reports.
pub fn utc(secs: u64) -> String {
    der::DateTime::from_unix_duration(core::time::Duration::from_secs(secs))
        .map(|d| d.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

fn unix(t: &x509_cert::time::Time) -> u64 {
    t.to_unix_duration().as_secs()
}

/// Whether `issuer`'s key signed `cert`.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let Ok(tbs) = cert.tbs_certificate().to_der() else {
        return false;
    };
    verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        None,
        &tbs,
        cert.signature().raw_bytes(),
    ) == Check::Passed
}

fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
    cert.tbs_certificate()
        .get_extension::<KeyUsage>()
        .ok()
        .flatten()
        .map(|(_, k)| k)
}

fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate()
        .get_extension::<BasicConstraints>()
        .ok()
        .flatten()
        .is_some_and(|(_, b)| b.ca)
}

/// The CSCA profile failures of `cert`.
pub fn csca_profile(cert: &Certificate) -> Vec<ProfileFault> {
    let mut out = Vec::new();
    if !is_ca(cert) {
        out.push(ProfileFault::CscaNotCa);
    }
    if !key_usage(cert).is_some_and(|k| k.key_cert_sign()) {
        out.push(ProfileFault::CscaKeyUsage);
    }
    out
}

/// The Document Signer profile failures of `cert`.
pub fn document_signer_profile(cert: &Certificate) -> Vec<ProfileFault> {
    let mut out = Vec::new();
    if !key_usage(cert).is_some_and(|k| k.digital_signature()) {
        out.push(ProfileFault::DocumentSignerKeyUsage);
    }
    if is_ca(cert) {
        out.push(ProfileFault::DocumentSignerIsCa);
    }
    out
}

/// Whether `cert` is valid at `now` (Unix seconds).
pub fn valid_at(cert: &Certificate, now: u64) -> bool {
    let v = cert.tbs_certificate().validity();
    (unix(&v.not_before)..=unix(&v.not_after)).contains(&now)
}

/// DER or PEM certificates.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, der::Error> {
    if bytes.starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(bytes)
    } else {
        Ok(vec![Certificate::from_der(bytes)?])
    }
}

/// A DER or PEM CRL.
pub fn parse_crl(bytes: &[u8]) -> Result<CertificateList, CrlError> {
    let parsed = if bytes.starts_with(b"-----BEGIN") {
        CertificateList::from_pem(bytes)
    } else {
        CertificateList::from_der(bytes)
    };
    parsed.map_err(|e| CrlError::Malformed(e.to_string()))
}

impl TrustList {
    /// An empty store (every chain is "not anchored"), no CRL required.
    pub fn empty() -> Self {
        TrustList::default()
    }

    /// A store of CSCA certificates from files, no CRL required (tests and
    /// the lab; the kiosk builds its store from the configuration).
    pub fn new(anchors: Vec<Certificate>) -> Self {
        let mut list = TrustList::default();
        for cert in anchors {
            list.add_certificate(cert, Source::File);
        }
        list
    }

    /// Whether a CSCA without a CRL refuses its cards.
    pub fn set_require_crl(&mut self, require: bool) {
        self.require_crl = require;
    }

    /// Whether a CRL is required.
    pub fn requires_crl(&self) -> bool {
        self.require_crl
    }

    /// Adds DER or PEM CSCA certificates from a file.
    pub fn add(&mut self, bytes: &[u8]) -> Result<usize, der::Error> {
        let certs = parse_certificates(bytes)?;
        let n = certs.len();
        for cert in certs {
            self.add_certificate(cert, Source::File);
        }
        Ok(n)
    }

    /// Adds one CSCA certificate: a self-signed one is an anchor; any other
    /// waits for a trusted CSCA that signed it (a link certificate).
    pub fn add_certificate(&mut self, cert: Certificate, source: Source) {
        let known = self.anchors.iter().any(|a| a.certificate == cert)
            || self.unresolved.iter().any(|(c, _)| *c == cert);
        if known {
            return;
        }
        if signed_by(&cert, &cert) {
            self.anchors.push(Anchor {
                certificate: cert,
                source,
            });
        } else {
            self.unresolved.push((cert, source));
        }
        self.resolve_links();
    }

    /// Promotes the link certificates a trusted CSCA signed, until none is
    /// left to promote.
    fn resolve_links(&mut self) {
        loop {
            let found = self.unresolved.iter().position(|(cert, _)| {
                self.anchors.iter().any(|a| {
                    a.certificate.tbs_certificate().subject() == cert.tbs_certificate().issuer()
                        && csca_profile(&a.certificate).is_empty()
                        && signed_by(cert, &a.certificate)
                })
            });
            let Some(i) = found else { return };
            let (cert, origin) = self.unresolved.remove(i);
            let issuer = cert.tbs_certificate().issuer().to_string();
            let source = match origin {
                // A link carried in a verified master list keeps that
                // provenance; its issuer is in the same list.
                Source::MasterList { signer } => Source::MasterList { signer },
                _ => Source::Link { issuer },
            };
            self.anchors.push(Anchor {
                certificate: cert,
                source,
            });
        }
    }

    /// Adds master-list signer trust anchors (DER or PEM certificates).
    pub fn add_master_list_anchor(&mut self, bytes: &[u8]) -> Result<usize, der::Error> {
        let certs = parse_certificates(bytes)?;
        let n = certs.len();
        self.master_list_anchors.extend(certs);
        Ok(n)
    }

    /// The master-list signer anchors.
    pub fn master_list_anchors(&self) -> &[Certificate] {
        &self.master_list_anchors
    }

    /// Verifies a master list (DER) against the master-list signer anchors
    /// at `now_unix` and adds its CSCAs. Returns the signer's subject and
    /// the number of certificates. A list that does not verify adds
    /// nothing.
    pub fn add_master_list(
        &mut self,
        bytes: &[u8],
        now_unix: u64,
    ) -> Result<(String, usize), MasterListError> {
        let (signer, list) = verify_master_list(bytes, &self.master_list_anchors, now_unix)?;
        let n = list.cert_list.len();
        for cert in list.cert_list.into_vec() {
            self.add_certificate(
                cert,
                Source::MasterList {
                    signer: signer.clone(),
                },
            );
        }
        Ok((signer, n))
    }

    /// Adds a CRL (DER or PEM) after checking that a trusted CSCA of its
    /// issuer's name, allowed to sign CRLs, signed it.
    pub fn add_crl(&mut self, bytes: &[u8]) -> Result<Crl, CrlError> {
        let list = parse_crl(bytes)?;
        let crl = self.check_crl(list)?;
        if !self.crls.contains(&crl) {
            self.crls.push(crl.clone());
        }
        Ok(crl)
    }

    /// Checks a CRL against the anchors without adding it.
    pub fn check_crl(&self, list: CertificateList) -> Result<Crl, CrlError> {
        let issuer = list.tbs_cert_list.issuer.clone();
        let named: Vec<&Anchor> = self
            .anchors
            .iter()
            .filter(|a| *a.certificate.tbs_certificate().subject() == issuer)
            .collect();
        if named.is_empty() {
            return Err(CrlError::UnknownIssuer {
                issuer: issuer.to_string(),
            });
        }
        let signers: Vec<&&Anchor> = named
            .iter()
            .filter(|a| key_usage(&a.certificate).is_some_and(|k| k.crl_sign()))
            .collect();
        if signers.is_empty() {
            return Err(CrlError::NotCrlSigner {
                issuer: issuer.to_string(),
            });
        }
        let tbs = list
            .tbs_cert_list
            .to_der()
            .map_err(|e| CrlError::Malformed(e.to_string()))?;
        let verified = signers.iter().any(|a| {
            verify_signature(
                a.certificate.tbs_certificate().subject_public_key_info(),
                &list.signature_algorithm,
                None,
                &tbs,
                list.signature.raw_bytes(),
            ) == Check::Passed
        });
        if !verified {
            return Err(CrlError::SignatureInvalid {
                issuer: issuer.to_string(),
            });
        }
        let next_update = list
            .tbs_cert_list
            .next_update
            .as_ref()
            .map(unix)
            .ok_or(CrlError::NoNextUpdate)?;
        Ok(Crl {
            this_update: unix(&list.tbs_cert_list.this_update),
            next_update,
            list,
        })
    }

    /// The anchors.
    pub fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }

    /// CSCA certificates that are not self-signed and that no trusted CSCA
    /// signed.
    pub fn unresolved(&self) -> impl Iterator<Item = &Certificate> {
        self.unresolved.iter().map(|(c, _)| c)
    }

    /// The CRLs.
    pub fn crls(&self) -> &[Crl] {
        &self.crls
    }

    /// The chain check of a Document Signer certificate at `now_unix`: the
    /// anchor that signed it, the profiles, the revocation status.
    pub fn chain(&self, ds: &Certificate, now_unix: u64) -> ChainOutcome<'_> {
        let issuer = ds.tbs_certificate().issuer();
        let named: Vec<&Anchor> = self
            .anchors
            .iter()
            .filter(|a| a.certificate.tbs_certificate().subject() == issuer)
            .collect();
        let anchor = named
            .iter()
            .copied()
            .find(|a| signed_by(ds, &a.certificate));
        let mut profile = document_signer_profile(ds);
        if let Some(a) = anchor {
            profile.extend(csca_profile(&a.certificate));
        }
        let revocation = match anchor {
            Some(_) => self.revocation(ds, now_unix),
            None => Revocation::NotChecked,
        };
        ChainOutcome {
            anchor,
            issuer_known: !named.is_empty(),
            profile,
            revocation,
        }
    }

    /// The revocation status of `ds` (whose chain is anchored) at
    /// `now_unix`.
    pub fn revocation(&self, ds: &Certificate, now_unix: u64) -> Revocation {
        let issuer = ds.tbs_certificate().issuer();
        let serial = ds.tbs_certificate().serial_number().as_bytes();
        let crls: Vec<&Crl> = self.crls.iter().filter(|c| c.issuer() == issuer).collect();
        if let Some(since) = crls.iter().find_map(|c| c.revoked_since(serial)) {
            return Revocation::Revoked { since };
        }
        match crls.iter().max_by_key(|c| c.this_update) {
            None if self.require_crl => Revocation::CrlMissing,
            None => Revocation::NotRequired,
            Some(newest) if now_unix > newest.next_update => Revocation::CrlExpired {
                next_update: newest.next_update,
            },
            Some(_) => Revocation::NotRevoked,
        }
    }

    /// What staff should fix at `now_unix`: expired CSCAs (of the folder;
    /// a master list's retired CSCAs are not reported), CSCAs without
    /// the CSCA profile, unanchored link certificates, expired or missing
    /// CRLs.
    pub fn problems(&self, now_unix: u64) -> Vec<Problem> {
        let mut out = Vec::new();
        for a in &self.anchors {
            let subject = a.certificate.tbs_certificate().subject().to_string();
            // A master list carries its issuers' retired CSCAs too (they
            // anchor nothing once expired); only what staff put in the
            // folder is theirs to renew.
            let listed = matches!(a.source, Source::MasterList { .. });
            if !listed && !valid_at(&a.certificate, now_unix) {
                out.push(Problem::CscaNotValid {
                    subject: subject.clone(),
                });
            }
            for fault in csca_profile(&a.certificate) {
                out.push(Problem::CscaProfile {
                    subject: subject.clone(),
                    fault,
                });
            }
        }
        for (cert, _) in &self.unresolved {
            out.push(Problem::UnanchoredLink {
                subject: cert.tbs_certificate().subject().to_string(),
                issuer: cert.tbs_certificate().issuer().to_string(),
            });
        }
        let mut issuers: Vec<&Name> = Vec::new();
        for a in &self.anchors {
            let name = a.certificate.tbs_certificate().subject();
            if !issuers.contains(&name) {
                issuers.push(name);
            }
        }
        for name in issuers {
            let newest = self
                .crls
                .iter()
                .filter(|c| c.issuer() == name)
                .max_by_key(|c| c.this_update);
            match newest {
                Some(c) if now_unix > c.next_update => out.push(Problem::CrlExpired {
                    issuer: name.to_string(),
                    next_update: c.next_update,
                }),
                None if self.require_crl => out.push(Problem::CrlMissing {
                    subject: name.to_string(),
                }),
                _ => {}
            }
        }
        out
    }
}

/// Parses and verifies a master list against `anchors` at `now_unix`:
/// the signer's subject and the list.
pub fn verify_master_list(
    bytes: &[u8],
    anchors: &[Certificate],
    now_unix: u64,
) -> Result<(String, CscaMasterList), MasterListError> {
    let malformed = |e: &dyn core::fmt::Display| MasterListError::Malformed(e.to_string());
    let content = ContentInfo::from_der(bytes).map_err(|e| malformed(&e))?;
    if content.content_type != SIGNED_DATA {
        return Err(malformed(&"not a CMS SignedData"));
    }
    let signed: SignedData = content.content.decode_as().map_err(|e| malformed(&e))?;
    if signed.encap_content_info.econtent_type != CSCA_MASTER_LIST {
        return Err(malformed(&format!(
            "the content type is {}, not id-icao-cscaMasterList",
            signed.encap_content_info.econtent_type
        )));
    }
    let econtent = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| malformed(&"no encapsulated content"))?;
    let list_der = econtent
        .decode_as::<OctetString>()
        .map_err(|e| malformed(&e))?
        .as_bytes()
        .to_vec();
    let list = CscaMasterList::from_der(&list_der).map_err(|e| malformed(&e))?;
    if anchors.is_empty() {
        return Err(MasterListError::NoSignerAnchor);
    }
    let mut signers = signed.signer_infos.0.iter();
    let signer = signers
        .next()
        .ok_or_else(|| malformed(&"the list has no signer"))?;
    if signers.next().is_some() {
        return Err(malformed(&"the list has more than one signer"));
    }
    let cert = crate::icao::pa::signer_certificate(&signed, signer)
        .ok_or(MasterListError::SignerCertificateMissing)?;
    // The signer chains to a configured anchor.
    let issuer = cert.tbs_certificate().issuer();
    let trusted = anchors
        .iter()
        .any(|a| a.tbs_certificate().subject() == issuer && signed_by(cert, a));
    if !trusted {
        return Err(MasterListError::SignerNotTrusted {
            issuer: issuer.to_string(),
        });
    }
    if !key_usage(cert).is_some_and(|k| k.digital_signature()) {
        return Err(MasterListError::SignerProfile(
            "keyUsage lacks digitalSignature".into(),
        ));
    }
    let eku = cert
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
        .ok()
        .flatten();
    if !eku.is_some_and(|(_, e)| e.0.contains(&MASTER_LIST_SIGNING_KEY)) {
        return Err(MasterListError::SignerProfile(
            "no extended key usage id-icao-cscaMasterListSigningKey".into(),
        ));
    }
    if !valid_at(cert, now_unix) {
        return Err(MasterListError::SignerNotValid);
    }
    // The signed attributes cover the list; the signature covers them.
    let digest =
        crate::icao::pa::HashAlgorithm::from_oid(&signer.digest_alg.oid).ok_or_else(|| {
            MasterListError::SignatureInvalid("digest algorithm not supported".into())
        })?;
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| malformed(&"no signed attributes"))?;
    let message_digest = attrs
        .iter()
        .find(|a| a.oid == MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or_else(|| malformed(&"no messageDigest attribute"))?;
    if message_digest.as_bytes() != digest.digest(&list_der) {
        return Err(MasterListError::DigestMismatch);
    }
    let attrs_der = attrs.to_der().map_err(|e| malformed(&e))?;
    match verify_signature(
        cert.tbs_certificate().subject_public_key_info(),
        &signer.signature_algorithm,
        Some(digest),
        &attrs_der,
        signer.signature.as_bytes(),
    ) {
        Check::Passed => {}
        Check::Failed(why) | Check::NotRun(why) => {
            return Err(MasterListError::SignatureInvalid(why));
        }
    }
    Ok((cert.tbs_certificate().subject().to_string(), list))
}

#[cfg(test)]
mod tests;
