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
use x509_cert::builder::CrlBuilder;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::crl::RevokedCert;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
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
    /// After a key roll-over ([`PkiOptions::rolled_over_csca`]): the link
    /// certificate, the new CSCA key certified by the old one.
    pub link: Option<Certificate>,
    /// After a key roll-over: the new CSCA's self-signed certificate.
    pub new_csca: Option<Certificate>,
    ds_key: SigningKey,
    /// The key that signed the DS (the new one after a roll-over).
    issuing_key: SigningKey,
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
    /// basicConstraints cA (none when `None`).
    ca: Option<bool>,
    /// keyUsage (none when `None`).
    key_usage: Option<KeyUsage>,
    /// extendedKeyUsage (none when `None`).
    extended_key_usage: Option<ExtendedKeyUsage>,
}

impl Profile {
    fn csca(subject: Name, issuer: Name) -> Self {
        Profile {
            subject,
            issuer,
            ca: Some(true),
            key_usage: Some(KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)),
            extended_key_usage: None,
        }
    }

    fn signer(subject: Name, issuer: Name) -> Self {
        Profile {
            subject,
            issuer,
            ca: None,
            key_usage: Some(KeyUsage(KeyUsages::DigitalSignature.into())),
            extended_key_usage: None,
        }
    }
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
        if let Some(ca) = self.ca {
            extensions.push(
                BasicConstraints {
                    ca,
                    path_len_constraint: ca.then_some(0),
                }
                .to_extension(tbs.subject(), &extensions)?,
            );
        }
        if let Some(usage) = &self.key_usage {
            extensions.push(usage.to_extension(tbs.subject(), &extensions)?);
        }
        if let Some(usage) = &self.extended_key_usage {
            extensions.push(usage.to_extension(tbs.subject(), &extensions)?);
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
    /// The CSCA rolled its key over: the DS is signed by a new CSCA key
    /// (same name), which [`TestPki::link`] certifies with the old one
    /// ([`TestPki::csca`]).
    pub rolled_over_csca: bool,
    /// The DS certificate is a CA (basicConstraints cA = true).
    pub ds_is_ca: bool,
    /// The DS certificate's keyUsage is keyCertSign, not digitalSignature.
    pub ds_without_digital_signature: bool,
    /// The CSCA certificate's keyUsage lacks keyCertSign (cRLSign only).
    pub csca_without_cert_sign: bool,
    /// The DS certificate has serial [`REVOKED_DS_SERIAL`], which the
    /// simulator CSCA's CRL ([`simulator_crl`]) revokes.
    pub revoked_ds: bool,
}

/// The DS serial number the simulator CSCA's CRL revokes (the other DS
/// certificates have serial 2).
pub const REVOKED_DS_SERIAL: u32 = 0x66;

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
        let mut csca_profile = Profile::csca(csca_name.clone(), csca_name.clone());
        if options.csca_without_cert_sign {
            csca_profile.key_usage = Some(KeyUsage(KeyUsages::CRLSign.into()));
        }
        let csca = CertificateBuilder::new(
            csca_profile,
            SerialNumber::from(1u32),
            validity(FROM, TO)?,
            csca_spki,
        )
        .map_err(err)?
        .build::<_, DerSignature>(&csca_key)
        .map_err(err)?;
        // The roll-over: a new CSCA key (drawn after the others, so the
        // default PKI stays the same), self-signed and linked.
        let (issuing_key, link, new_csca) = if options.rolled_over_csca {
            let new_key = signing_key(&mut rng);
            let new_spki =
                SubjectPublicKeyInfoOwned::from_key(new_key.verifying_key()).map_err(err)?;
            let new_csca = CertificateBuilder::new(
                Profile::csca(csca_name.clone(), csca_name.clone()),
                SerialNumber::from(3u32),
                validity(FROM, TO)?,
                new_spki.clone(),
            )
            .map_err(err)?
            .build::<_, DerSignature>(&new_key)
            .map_err(err)?;
            let link = CertificateBuilder::new(
                Profile::csca(csca_name.clone(), csca_name.clone()),
                SerialNumber::from(4u32),
                validity(FROM, TO)?,
                new_spki,
            )
            .map_err(err)?
            .build::<_, DerSignature>(&csca_key)
            .map_err(err)?;
            (new_key, Some(link), Some(new_csca))
        } else {
            (csca_key.clone(), None, None)
        };
        let ds_to = if options.expired_ds { EXPIRED_TO } else { TO };
        let mut ds_profile = Profile::signer(
            ds_name.clone(),
            if options.self_signed_ds {
                ds_name
            } else {
                csca_name
            },
        );
        if options.ds_is_ca {
            ds_profile.ca = Some(true);
        }
        if options.ds_without_digital_signature {
            ds_profile.key_usage = Some(KeyUsage(KeyUsages::KeyCertSign.into()));
        }
        let ds_builder = CertificateBuilder::new(
            ds_profile,
            SerialNumber::from(if options.revoked_ds {
                REVOKED_DS_SERIAL
            } else {
                2
            }),
            validity(FROM, ds_to)?,
            ds_spki,
        )
        .map_err(err)?;
        let document_signer = if options.self_signed_ds {
            ds_builder.build::<_, DerSignature>(&ds_key)
        } else {
            ds_builder.build::<_, DerSignature>(&issuing_key)
        }
        .map_err(err)?;
        Ok(TestPki {
            csca,
            document_signer,
            link,
            new_csca,
            ds_key,
            issuing_key,
        })
    }

    /// A CRL of the CSCA that issued the DS (the new key after a
    /// roll-over), DER, listing `revoked` serial numbers (revoked at
    /// `this_update`), valid from `this_update` to `next_update` (Unix
    /// seconds).
    pub fn crl(
        &self,
        revoked: &[u32],
        this_update: u64,
        next_update: u64,
    ) -> Result<Vec<u8>, PkiError> {
        let at = |t: u64| Time::try_from(std::time::UNIX_EPOCH + Duration::from_secs(t));
        let issuer = self.new_csca.as_ref().unwrap_or(&self.csca);
        let entries = revoked
            .iter()
            .map(|serial| {
                Ok(RevokedCert {
                    serial_number: SerialNumber::from(*serial),
                    revocation_date: at(this_update).map_err(err)?,
                    crl_entry_extensions: None,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        let builder = CrlBuilder::new_with_this_update(
            issuer,
            CrlNumber(der::asn1::Uint::new(&[1]).map_err(err)?),
            at(this_update).map_err(err)?,
        )
        .map_err(err)?
        .with_next_update(Some(at(next_update).map_err(err)?))
        .with_certificates(entries.into_iter());
        builder
            .build::<_, DerSignature>(&self.issuing_key)
            .map_err(err)?
            .to_der()
            .map_err(err)
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

/// A country that compiles a CSCA master list: its CSCA (the master-list
/// trust anchor a kiosk configures) and its Master List Signer (9303-12
/// §8: keyUsage digitalSignature, extended key usage
/// id-icao-cscaMasterListSigningKey).
#[derive(Clone)]
pub struct TestMasterListIssuer {
    /// The issuing country's CSCA: the anchor of the Master List Signer.
    pub anchor: Certificate,
    /// The Master List Signer certificate.
    pub signer: Certificate,
    signer_key: SigningKey,
}

impl core::fmt::Debug for TestMasterListIssuer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestMasterListIssuer")
            .field(
                "anchor",
                &self.anchor.tbs_certificate().subject().to_string(),
            )
            .finish_non_exhaustive()
    }
}

impl TestMasterListIssuer {
    /// The master-list issuer of country `country`, from a seed. With
    /// `without_eku` its signer lacks the master-list extended key usage.
    pub fn new(
        country: &str,
        seed: [u8; 32],
        without_eku: bool,
    ) -> Result<TestMasterListIssuer, PkiError> {
        let mut rng = Drbg::new(seed);
        let anchor_key = signing_key(&mut rng);
        let signer_key = signing_key(&mut rng);
        let anchor_name = Name::from_str(&format!(
            "CN=Test CSCA {country},O=Kiosk test kit,C={country}"
        ))
        .map_err(err)?;
        let signer_name = Name::from_str(&format!(
            "CN=Test Master List Signer {country},O=Kiosk test kit,C={country}"
        ))
        .map_err(err)?;
        let anchor = CertificateBuilder::new(
            Profile::csca(anchor_name.clone(), anchor_name.clone()),
            SerialNumber::from(1u32),
            validity(FROM, TO)?,
            SubjectPublicKeyInfoOwned::from_key(anchor_key.verifying_key()).map_err(err)?,
        )
        .map_err(err)?
        .build::<_, DerSignature>(&anchor_key)
        .map_err(err)?;
        let mut profile = Profile::signer(signer_name, anchor_name);
        if !without_eku {
            profile.extended_key_usage = Some(ExtendedKeyUsage(vec![
                crate::icao::pki::MASTER_LIST_SIGNING_KEY,
            ]));
        }
        let signer = CertificateBuilder::new(
            profile,
            SerialNumber::from(5u32),
            validity(FROM, TO)?,
            SubjectPublicKeyInfoOwned::from_key(signer_key.verifying_key()).map_err(err)?,
        )
        .map_err(err)?
        .build::<_, DerSignature>(&anchor_key)
        .map_err(err)?;
        Ok(TestMasterListIssuer {
            anchor,
            signer,
            signer_key,
        })
    }

    /// A master list (CMS SignedData over a CscaMasterList, DER) of
    /// `certificates`, signed by the Master List Signer.
    pub fn master_list(&self, certificates: &[Certificate]) -> Result<Vec<u8>, PkiError> {
        use der::asn1::SetOfVec;
        let list = crate::icao::pki::CscaMasterList {
            version: 0,
            cert_list: SetOfVec::try_from(certificates.to_vec()).map_err(err)?,
        };
        let encap = EncapsulatedContentInfo {
            econtent_type: crate::icao::pki::CSCA_MASTER_LIST,
            econtent: Some(
                Any::from_der(
                    &OctetString::new(list.to_der().map_err(err)?)
                        .map_err(err)?
                        .to_der()
                        .map_err(err)?,
                )
                .map_err(err)?,
            ),
        };
        let digest = AlgorithmIdentifierOwned {
            oid: HashAlgorithm::Sha256.oid(),
            parameters: None,
        };
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: self.signer.tbs_certificate().issuer().clone(),
            serial_number: self.signer.tbs_certificate().serial_number().clone(),
        });
        let signer = SignerInfoBuilder::new(sid, digest.clone(), &encap, None).map_err(err)?;
        let content = SignedDataBuilder::new(&encap)
            .add_digest_algorithm(digest)
            .map_err(err)?
            .add_certificate(CertificateChoices::Certificate(self.signer.clone()))
            .map_err(err)?
            .add_signer_info::<_, DerSignature>(signer, &self.signer_key)
            .map_err(err)?
            .build()
            .map_err(err)?;
        content.to_der().map_err(err)
    }
}

/// The simulator's test CSCA (country "ZZ", seed 0): what
/// `board/sim/csca/` holds.
pub fn simulator_pki() -> Result<TestPki, PkiError> {
    TestPki::new("ZZ", [0; 32])
}

/// The simulator CSCA's CRL (2020-01-01 to 2044-12-31), revoking the
/// Document Signer of serial [`REVOKED_DS_SERIAL`] (the `revoked_signer`
/// card fault): what `board/sim/crl/` holds.
pub fn simulator_crl() -> Result<Vec<u8>, PkiError> {
    simulator_pki()?.crl(&[REVOKED_DS_SERIAL], FROM, TO)
}

/// A certificate's DER (for tests that write certificate files).
pub fn certificate_der(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    cert.to_der().map_err(err)
}
