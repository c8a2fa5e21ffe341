//! A test PKI for virtual chips: a Country Signing CA and a Document
//! Signer (ECDSA P-256 with SHA-256), generated deterministically from a
//! seed, and the EF.SOD (CMS SignedData over the LDS Security Object) they
//! sign. The simulator's trust list holds this CSCA; a real kiosk's holds
//! the real ones.

use crate::icao::lds::File;
use crate::icao::pa::{DataGroupHash, HashAlgorithm, LDS_SECURITY_OBJECT, LdsSecurityObject};
use crate::icao::random::Drbg;
use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use p256::ecdsa::{DerSignature, SigningKey};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

/// Why the test PKI could not be made (a bug in the test kit).
#[derive(Debug, thiserror::Error)]
#[error("test PKI: {0}")]
pub struct PkiError(String);

fn err(e: impl core::fmt::Display) -> PkiError {
    PkiError(e.to_string())
}

/// The CSCA and Document Signer of a test country.
#[derive(Clone)]
pub struct TestPki {
    /// The CSCA certificate (the trust anchor).
    pub csca: Certificate,
    /// The Document Signer certificate (carried in the SOD).
    pub document_signer: Certificate,
    ds_key: SigningKey,
}

impl core::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestPki")
            .field("csca", &self.csca.tbs_certificate().subject().to_string())
            .finish_non_exhaustive()
    }
}

struct Profile {
    subject: Name,
    issuer: Name,
    ca: bool,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        use x509_cert::ext::ToExtension;
        let mut extensions = Vec::new();
        if self.ca {
            extensions.push(
                BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                }
                .to_extension(tbs.subject(), &extensions)?,
            );
            extensions.push(
                KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
                    .to_extension(tbs.subject(), &extensions)?,
            );
        } else {
            extensions.push(
                KeyUsage(KeyUsages::DigitalSignature.into())
                    .to_extension(tbs.subject(), &extensions)?,
            );
        }
        Ok(extensions)
    }
}

fn validity(from_unix: u64, to_unix: u64) -> Result<Validity, PkiError> {
    Ok(Validity::new(
        Time::try_from(std::time::UNIX_EPOCH + Duration::from_secs(from_unix)).map_err(err)?,
        Time::try_from(std::time::UNIX_EPOCH + Duration::from_secs(to_unix)).map_err(err)?,
    ))
}

fn signing_key(rng: &mut Drbg) -> SigningKey {
    loop {
        if let Ok(k) = SigningKey::from_slice(&rng.bytes::<32>()) {
            return k;
        }
    }
}

/// 2020-01-01 and 2044-12-31, as Unix seconds.
const FROM: u64 = 1_577_836_800;
const TO: u64 = 2_366_755_200;
/// 2020-12-31, as Unix seconds: the end of an expired DS's validity.
const EXPIRED_TO: u64 = 1_609_372_800;

/// How the Document Signer certificate is made (PKI faults for attack
/// tests). The default is a DS issued by the CSCA, valid 2020–2044.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PkiOptions {
    /// The DS certificate signs itself (issuer = its own subject): a
    /// forger's PKI with no CSCA at all.
    pub self_signed_ds: bool,
    /// The DS certificate's validity ended on 2020-12-31.
    pub expired_ds: bool,
}

impl TestPki {
    /// A test PKI for country `country` (e.g. "ZZ"), from a seed. The same
    /// seed gives the same certificates (ECDSA signatures are deterministic,
    /// RFC 6979).
    pub fn new(country: &str, seed: [u8; 32]) -> Result<TestPki, PkiError> {
        TestPki::with_options(country, seed, PkiOptions::default())
    }

    /// As [`TestPki::new`], with the Document Signer made as `options`
    /// say (the CSCA is the same as with [`TestPki::new`]).
    pub fn with_options(
        country: &str,
        seed: [u8; 32],
        options: PkiOptions,
    ) -> Result<TestPki, PkiError> {
        let mut rng = Drbg::new(seed);
        let csca_key = signing_key(&mut rng);
        let ds_key = signing_key(&mut rng);
        let csca_name = Name::from_str(&format!(
            "CN=Test CSCA {country},O=Kiosk test kit,C={country}"
        ))
        .map_err(err)?;
        let ds_name = Name::from_str(&format!(
            "CN=Test Document Signer {country},O=Kiosk test kit,C={country}"
        ))
        .map_err(err)?;
        let csca_spki =
            SubjectPublicKeyInfoOwned::from_key(csca_key.verifying_key()).map_err(err)?;
        let ds_spki = SubjectPublicKeyInfoOwned::from_key(ds_key.verifying_key()).map_err(err)?;
        let csca = CertificateBuilder::new(
            Profile {
                subject: csca_name.clone(),
                issuer: csca_name.clone(),
                ca: true,
            },
            SerialNumber::from(1u32),
            validity(FROM, TO)?,
            csca_spki,
        )
        .map_err(err)?
        .build::<_, DerSignature>(&csca_key)
        .map_err(err)?;
        let ds_to = if options.expired_ds { EXPIRED_TO } else { TO };
        let ds_builder = CertificateBuilder::new(
            Profile {
                subject: ds_name.clone(),
                issuer: if options.self_signed_ds {
                    ds_name
                } else {
                    csca_name
                },
                ca: false,
            },
            SerialNumber::from(2u32),
            validity(FROM, ds_to)?,
            ds_spki,
        )
        .map_err(err)?;
        let document_signer = if options.self_signed_ds {
            ds_builder.build::<_, DerSignature>(&ds_key)
        } else {
            ds_builder.build::<_, DerSignature>(&csca_key)
        }
        .map_err(err)?;
        Ok(TestPki {
            csca,
            document_signer,
            ds_key,
        })
    }

    /// The CSCA certificate, DER.
    pub fn csca_der(&self) -> Result<Vec<u8>, PkiError> {
        self.csca.to_der().map_err(err)
    }

    /// EF.SOD over `files` (their data groups), SHA-256 throughout.
    /// `tamper` alters the hash of one data group (a forged chip).
    pub fn sod(
        &self,
        files: &BTreeMap<File, Vec<u8>>,
        tamper: Option<u8>,
    ) -> Result<Vec<u8>, PkiError> {
        let alg = HashAlgorithm::Sha256;
        let hashes = files
            .iter()
            .filter_map(|(f, content)| match f {
                File::Dg(n) => {
                    let mut h = alg.digest(content);
                    if tamper == Some(*n)
                        && let Some(b) = h.first_mut()
                    {
                        *b ^= 0xFF;
                    }
                    Some(DataGroupHash {
                        data_group_number: *n,
                        data_group_hash_value: OctetString::new(h).ok()?,
                    })
                }
                _ => None,
            })
            .collect();
        let lds = LdsSecurityObject {
            version: 0,
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: alg.oid(),
                parameters: None,
            },
            data_group_hash_values: hashes,
            lds_version_info: None,
        };
        let lds_der = lds.to_der().map_err(err)?;
        let econtent = Any::from_der(
            &OctetString::new(lds_der)
                .map_err(err)?
                .to_der()
                .map_err(err)?,
        )
        .map_err(err)?;
        let encap = EncapsulatedContentInfo {
            econtent_type: LDS_SECURITY_OBJECT,
            econtent: Some(econtent),
        };
        let digest = AlgorithmIdentifierOwned {
            oid: alg.oid(),
            parameters: None,
        };
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: self.document_signer.tbs_certificate().issuer().clone(),
            serial_number: self
                .document_signer
                .tbs_certificate()
                .serial_number()
                .clone(),
        });
        let signer = SignerInfoBuilder::new(sid, digest.clone(), &encap, None).map_err(err)?;
        let content = SignedDataBuilder::new(&encap)
            .add_digest_algorithm(digest)
            .map_err(err)?
            .add_certificate(CertificateChoices::Certificate(
                self.document_signer.clone(),
            ))
            .map_err(err)?
            .add_signer_info::<_, DerSignature>(signer, &self.ds_key)
            .map_err(err)?
            .build()
            .map_err(err)?;
        let der = content.to_der().map_err(err)?;
        Ok(crate::apdu::tlv::to_vec(0x77, &der))
    }
}

/// The simulator's test CSCA (country "ZZ", seed 0): what
/// `board/sim/csca/` holds.
pub fn simulator_pki() -> Result<TestPki, PkiError> {
    TestPki::new("ZZ", [0; 32])
}
