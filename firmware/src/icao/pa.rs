//! Passive authentication (ICAO 9303-11 §5, 9303-10 §4.6.2; RFC 5652 CMS).
//!
//! EF.SOD wraps a CMS SignedData over the LDS Security Object, the list of
//! the data groups' hashes. Each check is reported on its own, never as a
//! bare bool:
//!
//! 1. every data group read hashes to the SOD's value;
//! 2. the signed attributes' messageDigest is the hash of the LDS Security
//!    Object;
//! 3. the Document Signer's signature over the signed attributes verifies
//!    with the DS certificate carried in the SOD (RSA PKCS#1 v1.5 and
//!    RSA-PSS with SHA-1/224/256/384/512, ECDSA with those hashes on
//!    P-256, P-384, P-521, brainpoolP256r1, brainpoolP384r1 and
//!    brainpoolP512r1; see the table in docs/security.md);
//! 4. the DS certificate is signed by a CSCA of the trust store
//!    ([`crate::icao::pki`]: files, master lists, link certificates), both
//!    have their 9303-12 profile (keyUsage, basicConstraints), and the
//!    CSCA's CRLs do not revoke the DS;
//! 5. the DS certificate is valid today and, when the SOD states its
//!    signing time, was valid then; the anchoring CSCA is valid today
//!    (9303-12 §7.1, the shell model). These dates are checked whether or
//!    not the chain is anchored: an expired DS is never "unanchored but
//!    intact".
//!
//! No Vietnamese CSCA is published: with no anchor configured (or none
//! matching) the verdict is [`Verdict::SignatureValidChainNotAnchored`], a
//! result of its own, never a pass and never a crash.

use crate::icao::lds::File;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use std::collections::BTreeMap;
use x509_cert::Certificate;

/// `id-signedData` 1.2.840.113549.1.7.2.
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// `id-icao-mrtd-security-ldsSecurityObject` 2.23.136.1.1.1.
pub const LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");
/// `id-messageDigest` 1.2.840.113549.1.9.4.
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// `id-signingTime` 1.2.840.113549.1.9.5.
const SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");

/// A certificate's validity period against the dates that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateValidity {
    /// Valid today (and at the signing time, when the SOD states one).
    Valid,
    /// Its validity starts after today.
    NotYetValid,
    /// Its validity ended before today.
    Expired,
    /// Valid today, but not at the signing time the SOD states.
    NotValidWhenSigned,
    /// There is no certificate to check.
    NoCertificate,
}

/// LDSSecurityObject (9303-10 §4.6.2.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct LdsSecurityObject {
    /// 0 (v0) or 1 (v1, with LDS version info).
    pub version: u8,
    /// The hash algorithm of the data group hashes.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// One hash per data group.
    pub data_group_hash_values: Vec<DataGroupHash>,
    /// LDS and Unicode versions (v1 only).
    #[asn1(optional = "true")]
    pub lds_version_info: Option<LdsVersionInfo>,
}

/// One data group's hash.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct DataGroupHash {
    /// 1–16.
    pub data_group_number: u8,
    /// The hash.
    pub data_group_hash_value: OctetString,
}

/// LDSVersionInfo.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct LdsVersionInfo {
    /// e.g. "0108".
    pub lds_version: der::asn1::PrintableString,
    /// e.g. "040000".
    pub unicode_version: der::asn1::PrintableString,
}

/// A hash function of the SOD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgorithm {
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// From its OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Some(match oid.to_string().as_str() {
            "1.3.14.3.2.26" => HashAlgorithm::Sha1,
            "2.16.840.1.101.3.4.2.4" => HashAlgorithm::Sha224,
            "2.16.840.1.101.3.4.2.1" => HashAlgorithm::Sha256,
            "2.16.840.1.101.3.4.2.2" => HashAlgorithm::Sha384,
            "2.16.840.1.101.3.4.2.3" => HashAlgorithm::Sha512,
            _ => return None,
        })
    }

    /// Its OID.
    pub fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(match self {
            HashAlgorithm::Sha1 => "1.3.14.3.2.26",
            HashAlgorithm::Sha224 => "2.16.840.1.101.3.4.2.4",
            HashAlgorithm::Sha256 => "2.16.840.1.101.3.4.2.1",
            HashAlgorithm::Sha384 => "2.16.840.1.101.3.4.2.2",
            HashAlgorithm::Sha512 => "2.16.840.1.101.3.4.2.3",
        })
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            HashAlgorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
            HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum Check {
    /// It holds.
    Passed,
    /// It does not hold; why.
    Failed(String),
    /// It could not be run; why (e.g. an algorithm this reader lacks).
    NotRun(String),
}

impl Check {
    fn passed(&self) -> bool {
        *self == Check::Passed
    }
}

/// The chain check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum ChainCheck {
    /// The DS certificate is signed by this trust anchor (its subject).
    Anchored(String),
    /// No configured CSCA issued the DS certificate (or none is
    /// configured): the issuer named by the DS certificate.
    NotAnchored(String),
    /// A CSCA with the issuer's name is configured but its signature does
    /// not verify.
    Failed(String),
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed and the chain is anchored in the trust list.
    Passed,
    /// The data and the DS signature are intact but the DS certificate does
    /// not chain to a configured CSCA.
    SignatureValidChainNotAnchored,
    /// A check failed: the data is not genuine.
    Failed,
}

/// The passive-authentication report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The hash algorithm of the data groups.
    pub hash_algorithm: Option<HashAlgorithm>,
    /// Each data group read: its hash check.
    pub data_groups: BTreeMap<u8, Check>,
    /// Check 2.
    pub message_digest: Check,
    /// Check 3.
    pub signature: Check,
    /// Check 4.
    pub chain: ChainCheck,
    /// Validity of the DS (and anchoring CSCA) certificate at `now`.
    pub validity: Check,
    /// The DS certificate's validity (today and at the signing time).
    pub document_signer_validity: CertificateValidity,
    /// The anchoring CSCA's validity today (`None` when unanchored).
    pub csca_validity: Option<CertificateValidity>,
    /// The DS certificate's subject.
    pub document_signer: Option<String>,
    /// Where the anchoring CSCA comes from (file, master list, link
    /// certificate); `None` when unanchored.
    pub anchor_source: Option<Source>,
    /// Certificate-profile failures of the DS and the anchoring CSCA
    /// (9303-12 §7.1.1: keyUsage, basicConstraints).
    pub certificate_profile: Vec<ProfileFault>,
    /// The DS certificate's revocation status (the CSCA's CRLs).
    pub revocation: Revocation,
    /// The verdict.
    pub verdict: Verdict,
}

/// Why the SOD cannot be checked at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SodError {
    /// EF.SOD is not a `77`-wrapped CMS SignedData over an LDS Security
    /// Object.
    #[error("EF.SOD is malformed: {0}")]
    Malformed(String),
}

fn malformed(what: impl core::fmt::Display) -> SodError {
    SodError::Malformed(what.to_string())
}

/// A parsed EF.SOD.
#[derive(Debug, Clone)]
pub struct Sod {
    /// The SignedData.
    pub signed_data: SignedData,
    /// The LDS Security Object (decoded).
    pub lds: LdsSecurityObject,
    /// The LDS Security Object's DER (what messageDigest covers).
    pub lds_der: Vec<u8>,
}

/// Parses EF.SOD.
pub fn parse_sod(bytes: &[u8]) -> Result<Sod, SodError> {
    let wrapper = crate::apdu::tlv::expect(bytes, 0x77).map_err(malformed)?;
    let content = ContentInfo::from_der(wrapper.value).map_err(malformed)?;
    if content.content_type != SIGNED_DATA {
        return Err(malformed("not a SignedData"));
    }
    let signed_data: SignedData = content.content.decode_as().map_err(malformed)?;
    if signed_data.encap_content_info.econtent_type != LDS_SECURITY_OBJECT {
        return Err(malformed("the content is not an LDS Security Object"));
    }
    let econtent = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| malformed("no encapsulated content"))?;
    let lds_der = econtent
        .decode_as::<OctetString>()
        .map_err(malformed)?
        .as_bytes()
        .to_vec();
    let lds = LdsSecurityObject::from_der(&lds_der).map_err(malformed)?;
    Ok(Sod {
        signed_data,
        lds,
        lds_der,
    })
}

pub use crate::icao::pki::TrustList;
use crate::icao::pki::{ProfileFault, Revocation, Source};

/// Verifies `signature` over `message` with the key in `spki`, using the
/// signature algorithm `alg` (and `digest` when the algorithm names none).
pub(crate) fn verify_signature(
    spki: &spki::SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    digest: Option<HashAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Check {
    let oid = alg.oid.to_string();
    let hash = match oid.as_str() {
        "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" => Some(HashAlgorithm::Sha1),
        "1.2.840.113549.1.1.14" | "1.2.840.10045.4.3.1" => Some(HashAlgorithm::Sha224),
        "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" => Some(HashAlgorithm::Sha256),
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => Some(HashAlgorithm::Sha384),
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => Some(HashAlgorithm::Sha512),
        "1.2.840.113549.1.1.1" | "1.2.840.10045.2.1" => digest,
        "1.2.840.113549.1.1.10" => match pss_params(alg) {
            Some((hash, _)) => Some(hash),
            None => {
                return Check::NotRun(
                    "RSASSA-PSS parameters other than one hash for the message and MGF1".into(),
                );
            }
        },
        _ => None,
    };
    let Some(hash) = hash else {
        return Check::NotRun(format!("signature algorithm {oid} is not supported"));
    };
    let hashed = hash.digest(message);
    let key_oid = spki.algorithm.oid.to_string();
    // The signature algorithm must be one of the key's: an RSA signature
    // labelled ECDSA (or PKCS#1 v1.5 under an RSASSA-PSS-only key) is
    // refused, not verified under the other name (RFC 4055 §1.2).
    let ecdsa = oid.starts_with("1.2.840.10045.");
    let matches = match key_oid.as_str() {
        "1.2.840.113549.1.1.1" => !ecdsa,
        "1.2.840.113549.1.1.10" => oid == "1.2.840.113549.1.1.10",
        "1.2.840.10045.2.1" => ecdsa,
        _ => true,
    };
    if !matches {
        return Check::Failed(format!(
            "the signature algorithm {oid} is not one of the key's ({key_oid})"
        ));
    }
    match key_oid.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let salt = pss_params(alg).map(|(_, salt)| salt);
            verify_rsa(spki, &oid, hash, salt, &hashed, signature)
        }
        "1.2.840.10045.2.1" => verify_ecdsa(spki, &hashed, signature),
        other => Check::NotRun(format!("public key algorithm {other} is not supported")),
    }
}

/// The RSASSA-PSS-params of a PSS signature (RFC 4055 §3.1): its hash
/// and salt length, when MGF1 uses the same hash and the trailer is `BC`
/// (what 9303-12 allows); `None` otherwise.
fn pss_params(alg: &AlgorithmIdentifierOwned) -> Option<(HashAlgorithm, usize)> {
    // Absent parameters: every field takes its default (SHA-1, MGF1 with
    // SHA-1, 20 bytes of salt).
    let params = match alg.parameters.as_ref() {
        None => pkcs1::RsaPssParamsOwned::default(),
        Some(p) => p.decode_as::<pkcs1::RsaPssParamsOwned>().ok()?,
    };
    let hash = HashAlgorithm::from_oid(&params.hash.oid)?;
    let mgf1 = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
    let mgf_hash = params.mask_gen.parameters.as_ref()?;
    (params.mask_gen.oid == mgf1 && HashAlgorithm::from_oid(&mgf_hash.oid) == Some(hash))
        .then_some((hash, usize::from(params.salt_len)))
}

/// `salt`: the PSS salt length its parameters state.
fn verify_rsa(
    spki: &spki::SubjectPublicKeyInfoOwned,
    sig_oid: &str,
    hash: HashAlgorithm,
    salt: Option<usize>,
    hashed: &[u8],
    signature: &[u8],
) -> Check {
    use rsa::pkcs8::DecodePublicKey;
    let Ok(der) = spki.to_der() else {
        return Check::Failed("the RSA key does not encode".into());
    };
    let key = match rsa::PublicKey::from_public_key_der(&der) {
        Ok(k) => k,
        Err(e) => return Check::Failed(format!("the RSA key is invalid: {e}")),
    };
    let result = if sig_oid == "1.2.840.113549.1.1.10" {
        let Some(salt) = salt else {
            return Check::NotRun("the RSASSA-PSS parameters do not parse".into());
        };
        match hash {
            HashAlgorithm::Sha1 => key.verify(
                rsa::pss::Pss::<sha1::Sha1>::new_with_salt(salt),
                hashed,
                signature,
            ),
            HashAlgorithm::Sha224 => key.verify(
                rsa::pss::Pss::<sha2::Sha224>::new_with_salt(salt),
                hashed,
                signature,
            ),
            HashAlgorithm::Sha256 => key.verify(
                rsa::pss::Pss::<sha2::Sha256>::new_with_salt(salt),
                hashed,
                signature,
            ),
            HashAlgorithm::Sha384 => key.verify(
                rsa::pss::Pss::<sha2::Sha384>::new_with_salt(salt),
                hashed,
                signature,
            ),
            HashAlgorithm::Sha512 => key.verify(
                rsa::pss::Pss::<sha2::Sha512>::new_with_salt(salt),
                hashed,
                signature,
            ),
        }
    } else {
        let scheme = match hash {
            HashAlgorithm::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            HashAlgorithm::Sha224 => rsa::Pkcs1v15Sign::new::<sha2::Sha224>(),
            HashAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            HashAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            HashAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        };
        key.verify(scheme, hashed, signature)
    };
    match result {
        Ok(()) => Check::Passed,
        Err(_) => Check::Failed("the RSA signature does not verify".into()),
    }
}

fn verify_ecdsa(spki: &spki::SubjectPublicKeyInfoOwned, hashed: &[u8], signature: &[u8]) -> Check {
    use super::ec_signature::{EcdsaError, Encoding, verify};
    match verify(spki, hashed, signature, Encoding::Der) {
        Ok(_) => Check::Passed,
        Err(e) if e.not_run() => Check::NotRun(e.to_string()),
        Err(EcdsaError::Encoding) => Check::Failed("the ECDSA signature is not DER".into()),
        Err(e) => Check::Failed(e.to_string()),
    }
}

pub(crate) fn signer_certificate<'a>(
    signed_data: &'a SignedData,
    signer: &SignerInfo,
) -> Option<&'a Certificate> {
    let certs = signed_data.certificates.as_ref()?;
    certs.0.iter().find_map(|c| match c {
        CertificateChoices::Certificate(cert) => {
            let tbs = cert.tbs_certificate();
            let matches = match &signer.sid {
                SignerIdentifier::IssuerAndSerialNumber(isn) => {
                    &isn.issuer == tbs.issuer()
                        && isn.serial_number.as_bytes() == tbs.serial_number().as_bytes()
                }
                SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
                    .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
                    .ok()
                    .flatten()
                    .is_some_and(|(_, k)| k.0.as_bytes() == ski.0.as_bytes()),
            };
            matches.then_some(cert)
        }
        _ => None,
    })
}

fn validity_at(cert: &Certificate, now_unix: u64, signed_unix: Option<u64>) -> CertificateValidity {
    let v = cert.tbs_certificate().validity();
    let not_before = v.not_before.to_unix_duration().as_secs();
    let not_after = v.not_after.to_unix_duration().as_secs();
    if now_unix < not_before {
        CertificateValidity::NotYetValid
    } else if now_unix > not_after {
        CertificateValidity::Expired
    } else if signed_unix.is_some_and(|t| !(not_before..=not_after).contains(&t)) {
        CertificateValidity::NotValidWhenSigned
    } else {
        CertificateValidity::Valid
    }
}

/// The signingTime signed attribute, when the signer states one.
fn signing_time(signer: &SignerInfo) -> Option<u64> {
    let attrs = signer.signed_attrs.as_ref()?;
    let value = attrs
        .iter()
        .find(|a| a.oid == SIGNING_TIME)?
        .values
        .iter()
        .next()?;
    let time = value.decode_as::<x509_cert::time::Time>().ok()?;
    Some(time.to_unix_duration().as_secs())
}

/// Runs passive authentication over the files read. `now_unix` (seconds)
/// is the time certificate validity is checked at.
pub fn verify(
    sod: &Sod,
    files: &BTreeMap<File, Vec<u8>>,
    trust: &TrustList,
    now_unix: u64,
) -> Report {
    let hash_algorithm = HashAlgorithm::from_oid(&sod.lds.hash_algorithm.oid);
    let mut data_groups = BTreeMap::new();
    for (file, content) in files {
        let File::Dg(n) = file else { continue };
        let expected = sod
            .lds
            .data_group_hash_values
            .iter()
            .find(|h| h.data_group_number == *n);
        let check = match (hash_algorithm, expected) {
            (None, _) => Check::NotRun("the SOD's hash algorithm is not supported".into()),
            (_, None) => Check::Failed("the SOD has no hash for this data group".into()),
            (Some(alg), Some(h)) if alg.digest(content) == h.data_group_hash_value.as_bytes() => {
                Check::Passed
            }
            (Some(_), Some(_)) => {
                Check::Failed("the data group's hash differs from the SOD's".into())
            }
        };
        data_groups.insert(*n, check);
    }

    let signer = sod.signed_data.signer_infos.0.iter().next();
    let signed_unix = signer.and_then(signing_time);
    let (message_digest, signature, ds) = match signer {
        None => (
            Check::Failed("the SOD has no signer".into()),
            Check::Failed("the SOD has no signer".into()),
            None,
        ),
        Some(signer) => {
            let digest_alg = HashAlgorithm::from_oid(&signer.digest_alg.oid);
            let message_digest = match (&signer.signed_attrs, digest_alg) {
                (None, _) => Check::Failed("no signed attributes".into()),
                (_, None) => Check::NotRun("the signer's digest algorithm is not supported".into()),
                (Some(attrs), Some(alg)) => {
                    let value = attrs
                        .iter()
                        .find(|a| a.oid == MESSAGE_DIGEST)
                        .and_then(|a| a.values.iter().next())
                        .and_then(|v| v.decode_as::<OctetString>().ok());
                    match value {
                        Some(v) if v.as_bytes() == alg.digest(&sod.lds_der) => Check::Passed,
                        Some(_) => Check::Failed(
                            "messageDigest differs from the LDS Security Object's hash".into(),
                        ),
                        None => Check::Failed("no messageDigest attribute".into()),
                    }
                }
            };
            let ds = signer_certificate(&sod.signed_data, signer);
            let signature = match (ds, &signer.signed_attrs) {
                (None, _) => {
                    Check::Failed("the SOD does not carry the Document Signer certificate".into())
                }
                (_, None) => Check::Failed("no signed attributes".into()),
                (Some(cert), Some(attrs)) => match attrs.to_der() {
                    Ok(der) => verify_signature(
                        cert.tbs_certificate().subject_public_key_info(),
                        &signer.signature_algorithm,
                        digest_alg,
                        &der,
                        signer.signature.as_bytes(),
                    ),
                    Err(e) => Check::Failed(format!("the signed attributes do not encode: {e}")),
                },
            };
            (message_digest, signature, ds)
        }
    };

    let (chain, ds_validity, csca_validity, profile, revocation, source) = match ds {
        None => (
            ChainCheck::NotAnchored("no Document Signer certificate".into()),
            CertificateValidity::NoCertificate,
            None,
            Vec::new(),
            Revocation::NotChecked,
            None,
        ),
        Some(ds) => {
            let issuer = ds.tbs_certificate().issuer();
            let outcome = trust.chain(ds, now_unix);
            let chain = match (outcome.anchor, outcome.issuer_known) {
                (Some(a), _) => {
                    ChainCheck::Anchored(a.certificate.tbs_certificate().subject().to_string())
                }
                (None, false) => ChainCheck::NotAnchored(issuer.to_string()),
                (None, true) => ChainCheck::Failed(format!(
                    "the CSCA {issuer} did not sign this Document Signer certificate"
                )),
            };
            // Checked whether or not the chain is anchored; the CSCA (or
            // link certificate) at the signing time and today.
            let ds_validity = validity_at(ds, now_unix, signed_unix);
            let csca_validity = outcome
                .anchor
                .map(|a| validity_at(&a.certificate, now_unix, signed_unix));
            (
                chain,
                ds_validity,
                csca_validity,
                outcome.profile,
                outcome.revocation,
                outcome.anchor.map(|a| a.source.clone()),
            )
        }
    };
    let valid = ds_validity == CertificateValidity::Valid
        && csca_validity.is_none_or(|v| v == CertificateValidity::Valid);
    let validity = if valid {
        Check::Passed
    } else {
        Check::Failed("a certificate is outside its validity period".into())
    };

    let data_ok = !data_groups.is_empty() && data_groups.values().all(Check::passed);
    let intact = data_ok && message_digest.passed() && signature.passed();
    let certified = profile.is_empty() && validity.passed();
    let verdict = match (&chain, intact, certified) {
        (ChainCheck::Anchored(_), true, true) if revocation.acceptable() => Verdict::Passed,
        (ChainCheck::NotAnchored(_), true, true) => Verdict::SignatureValidChainNotAnchored,
        _ => Verdict::Failed,
    };
    Report {
        hash_algorithm,
        data_groups,
        message_digest,
        signature,
        chain,
        validity,
        document_signer_validity: ds_validity,
        csca_validity,
        document_signer: ds.map(|c| c.tbs_certificate().subject().to_string()),
        anchor_source: source,
        certificate_profile: profile,
        revocation,
        verdict,
    }
}
