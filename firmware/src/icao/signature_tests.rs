//! Every signature algorithm ICAO 9303-12 §5 allows for EF.SOD and the
//! certificates, checked on fixtures made by openssl, independently of
//! this code (`firmware/tests/vectors/pki-algs/make.sh`, which says what
//! each file is): RSA PKCS#1 v1.5 and RSA-PSS with SHA-1/224/256/384/512,
//! ECDSA with those hashes on P-256, P-384, P-521, brainpoolP256r1,
//! brainpoolP384r1 and brainpoolP512r1 (`icao::brainpool::bp512`); a curve without an
//! implementation is not run, never passed. Hashes longer than the curve order (SHA-512 on
//! P-256) are truncated, shorter ones (SHA-1 on P-521) taken whole, as
//! openssl does.
//!
//! Per algorithm: the SOD, its DS certificate and the CSCA verify through
//! [`pa::verify`] with that CSCA as the trust list ([`Verdict::Passed`]);
//! one flipped byte of the SOD's signature fails the signature check; a
//! forged CSCA of the same name fails the chain; another CSCA leaves the
//! chain unanchored; the CSCA's self-signature verifies with its own key
//! and not with the forger's.

use super::lds::File;
use super::pa::{self, ChainCheck, Check, HashAlgorithm, TrustList, Verdict};
use crate::apdu::tlv;
use der::{Decode, Encode};
use std::collections::BTreeMap;
use std::path::PathBuf;
use x509_cert::Certificate;

/// 2030-01-01T00:00:00Z: inside every fixture certificate's validity.
const NOW: u64 = 1_893_456_000;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/pki-algs")
}

fn fixture(case: &str, file: &str) -> Vec<u8> {
    let path = dir().join(case).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// EF.SOD: the CMS wrapped in tag 77, with `edit` applied to the CMS.
fn sod_with(case: &str, edit: impl FnOnce(&mut Vec<u8>)) -> pa::Sod {
    let mut cms = fixture(case, "sod.der");
    edit(&mut cms);
    pa::parse_sod(&tlv::to_vec(0x77, &cms)).unwrap_or_else(|e| panic!("{case}: {e}"))
}

fn files() -> BTreeMap<File, Vec<u8>> {
    [1u8, 2]
        .into_iter()
        .map(|n| {
            let path = dir().join(format!("dg{n}.bin"));
            (File::Dg(n), std::fs::read(path).unwrap_or_default())
        })
        .collect()
}

fn trust(case: &str, file: &str) -> TrustList {
    let mut list = TrustList::empty();
    list.add(&fixture(case, file)).unwrap();
    list
}

fn certificate(case: &str, file: &str) -> Certificate {
    Certificate::from_der(&fixture(case, file)).unwrap()
}

/// What the signature check says when the signature is wrong.
fn mismatch(case: &str) -> Check {
    Check::Failed(
        if case.starts_with("rsa") || case.starts_with("pss") {
            "the RSA signature does not verify"
        } else {
            "the ECDSA signature does not verify"
        }
        .into(),
    )
}

fn genuine_passes(case: &str, hash: HashAlgorithm) {
    let report = pa::verify(
        &sod_with(case, |_| {}),
        &files(),
        &trust(case, "csca.der"),
        NOW,
    );
    assert_eq!(report.hash_algorithm, Some(hash), "{case}");
    assert_eq!(report.data_groups.len(), 2, "{case}");
    assert_eq!(report.message_digest, Check::Passed, "{case}");
    assert_eq!(report.signature, Check::Passed, "{case}");
    let csca = certificate(case, "csca.der");
    assert_eq!(
        report.chain,
        ChainCheck::Anchored(csca.tbs_certificate().subject().to_string()),
        "{case}"
    );
    assert_eq!(report.validity, Check::Passed, "{case}");
    assert_eq!(report.verdict, Verdict::Passed, "{case}: {report:?}");
}

fn flipped_signature_fails(case: &str) {
    // The SignerInfo's signature is the last field of the last structure
    // of the SignedData (openssl writes no unsigned attributes): the last
    // byte of the file is the signature's last byte (of s, for ECDSA).
    let sod = sod_with(case, |cms| {
        if let Some(last) = cms.last_mut() {
            *last ^= 0x01;
        }
    });
    let report = pa::verify(&sod, &files(), &trust(case, "csca.der"), NOW);
    assert_eq!(report.signature, mismatch(case), "{case}");
    assert_eq!(report.message_digest, Check::Passed, "{case}");
    assert_eq!(report.verdict, Verdict::Failed, "{case}");
}

fn forged_csca_fails_the_chain(case: &str) {
    let report = pa::verify(
        &sod_with(case, |_| {}),
        &files(),
        &trust(case, "impostor.der"),
        NOW,
    );
    assert_eq!(report.signature, Check::Passed, "{case}");
    let issuer = certificate(case, "impostor.der")
        .tbs_certificate()
        .subject()
        .to_string();
    assert_eq!(
        report.chain,
        ChainCheck::Failed(format!(
            "the CSCA {issuer} did not sign this Document Signer certificate"
        )),
        "{case}"
    );
    assert_eq!(report.verdict, Verdict::Failed, "{case}");
}

fn unanchored_with_another_csca(case: &str) {
    let other = if case == "rsa-sha256" {
        "p256-sha256"
    } else {
        "rsa-sha256"
    };
    let report = pa::verify(
        &sod_with(case, |_| {}),
        &files(),
        &trust(other, "csca.der"),
        NOW,
    );
    let issuer = certificate(case, "csca.der")
        .tbs_certificate()
        .subject()
        .to_string();
    assert_eq!(report.chain, ChainCheck::NotAnchored(issuer), "{case}");
    assert_eq!(
        report.verdict,
        Verdict::SignatureValidChainNotAnchored,
        "{case}"
    );
}

/// The CSCA certificate's own signature (what a trust store checks when
/// it imports a self-signed CSCA): valid with its key, not with another.
fn csca_self_signature(case: &str) {
    let csca = certificate(case, "csca.der");
    let impostor = certificate(case, "impostor.der");
    let tbs = csca.tbs_certificate().to_der().unwrap();
    let check = |key: &Certificate| {
        pa::verify_signature(
            key.tbs_certificate().subject_public_key_info(),
            csca.signature_algorithm(),
            None,
            &tbs,
            csca.signature().raw_bytes(),
        )
    };
    assert_eq!(check(&csca), Check::Passed, "{case}");
    assert_eq!(check(&impostor), mismatch(case), "{case}");
}

macro_rules! algorithms {
    ($($module:ident => $case:literal, $hash:ident;)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn sod_ds_and_csca_verify_to_passed() {
                genuine_passes($case, HashAlgorithm::$hash);
            }

            #[test]
            fn a_flipped_sod_signature_byte_fails_the_signature_check() {
                flipped_signature_fails($case);
            }

            #[test]
            fn a_forged_csca_of_the_same_name_fails_the_chain() {
                forged_csca_fails_the_chain($case);
            }

            #[test]
            fn another_csca_leaves_the_chain_unanchored() {
                unanchored_with_another_csca($case);
            }

            #[test]
            fn the_csca_self_signature_verifies_with_its_own_key_only() {
                csca_self_signature($case);
            }
        }
    )*};
}

algorithms! {
    rsa_sha1 => "rsa-sha1", Sha1;
    rsa_sha224 => "rsa-sha224", Sha224;
    rsa_sha256 => "rsa-sha256", Sha256;
    rsa_sha384 => "rsa-sha384", Sha384;
    rsa_sha512 => "rsa-sha512", Sha512;
    pss_sha1 => "pss-sha1", Sha1;
    pss_sha224 => "pss-sha224", Sha224;
    pss_sha256 => "pss-sha256", Sha256;
    pss_sha384 => "pss-sha384", Sha384;
    pss_sha512 => "pss-sha512", Sha512;
    pss_key_sha256 => "pss-key-sha256", Sha256;
    p256_sha1 => "p256-sha1", Sha1;
    p256_sha224 => "p256-sha224", Sha224;
    p256_sha256 => "p256-sha256", Sha256;
    p256_sha384 => "p256-sha384", Sha384;
    p256_sha512 => "p256-sha512", Sha512;
    p384_sha1 => "p384-sha1", Sha1;
    p384_sha224 => "p384-sha224", Sha224;
    p384_sha256 => "p384-sha256", Sha256;
    p384_sha384 => "p384-sha384", Sha384;
    p384_sha512 => "p384-sha512", Sha512;
    p521_sha1 => "p521-sha1", Sha1;
    p521_sha224 => "p521-sha224", Sha224;
    p521_sha256 => "p521-sha256", Sha256;
    p521_sha384 => "p521-sha384", Sha384;
    p521_sha512 => "p521-sha512", Sha512;
    bp256_sha1 => "bp256-sha1", Sha1;
    bp256_sha224 => "bp256-sha224", Sha224;
    bp256_sha256 => "bp256-sha256", Sha256;
    bp256_sha384 => "bp256-sha384", Sha384;
    bp256_sha512 => "bp256-sha512", Sha512;
    bp384_sha1 => "bp384-sha1", Sha1;
    bp384_sha224 => "bp384-sha224", Sha224;
    bp384_sha256 => "bp384-sha256", Sha256;
    bp384_sha384 => "bp384-sha384", Sha384;
    bp384_sha512 => "bp384-sha512", Sha512;
    bp512_sha1 => "bp512-sha1", Sha1;
    bp512_sha224 => "bp512-sha224", Sha224;
    bp512_sha256 => "bp512-sha256", Sha256;
    bp512_sha384 => "bp512-sha384", Sha384;
    bp512_sha512 => "bp512-sha512", Sha512;
    p192_sha1 => "p192-sha1", Sha1;
    p192_sha224 => "p192-sha224", Sha224;
    p192_sha256 => "p192-sha256", Sha256;
    p192_sha384 => "p192-sha384", Sha384;
    p192_sha512 => "p192-sha512", Sha512;
    p224_sha1 => "p224-sha1", Sha1;
    p224_sha224 => "p224-sha224", Sha224;
    p224_sha256 => "p224-sha256", Sha256;
    p224_sha384 => "p224-sha384", Sha384;
    p224_sha512 => "p224-sha512", Sha512;
    bp192_sha1 => "bp192-sha1", Sha1;
    bp192_sha224 => "bp192-sha224", Sha224;
    bp192_sha256 => "bp192-sha256", Sha256;
    bp192_sha384 => "bp192-sha384", Sha384;
    bp192_sha512 => "bp192-sha512", Sha512;
    bp224_sha1 => "bp224-sha1", Sha1;
    bp224_sha224 => "bp224-sha224", Sha224;
    bp224_sha256 => "bp224-sha256", Sha256;
    bp224_sha384 => "bp224-sha384", Sha384;
    bp224_sha512 => "bp224-sha512", Sha512;
    bp320_sha1 => "bp320-sha1", Sha1;
    bp320_sha224 => "bp320-sha224", Sha224;
    bp320_sha256 => "bp320-sha256", Sha256;
    bp320_sha384 => "bp320-sha384", Sha384;
    bp320_sha512 => "bp320-sha512", Sha512;
}

#[test]
fn an_ecdsa_key_on_a_curve_without_an_implementation_is_not_run_never_passed() {
    use der::asn1::{Any, BitString, ObjectIdentifier};
    // secp256k1: no ICAO domain parameters, not run.
    let curve = ObjectIdentifier::new_unwrap("1.3.132.0.10");
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
            parameters: Some(Any::encode_from(&curve).unwrap()),
        },
        subject_public_key: BitString::from_bytes(&[4; 65]).unwrap(),
    };
    let ecdsa_sha256 = spki::AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
        parameters: None,
    };
    assert_eq!(
        pa::verify_signature(&spki, &ecdsa_sha256, None, b"message", &[0x30, 0]),
        Check::NotRun("curve 1.3.132.0.10 is not supported".into())
    );
}

#[test]
fn pss_parameters_with_another_mgf1_hash_are_not_run() {
    use der::asn1::Any;
    use spki::AlgorithmIdentifierOwned;
    // RSASSA-PSS-params { SHA-256, MGF1(SHA-1), salt 32 }: 9303-12 uses
    // one hash for both; this reader does not guess.
    let sha256 = AlgorithmIdentifierOwned {
        oid: HashAlgorithm::Sha256.oid(),
        parameters: None,
    };
    let sha1 = AlgorithmIdentifierOwned {
        oid: HashAlgorithm::Sha1.oid(),
        parameters: None,
    };
    let params = pkcs1::RsaPssParams::<Any> {
        hash: sha256,
        mask_gen: spki::AlgorithmIdentifier {
            oid: der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8"),
            parameters: Some(sha1),
        },
        salt_len: 32,
        trailer_field: pkcs1::TrailerField::BC,
    };
    let alg = AlgorithmIdentifierOwned {
        oid: der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10"),
        parameters: Some(Any::encode_from(&params).unwrap()),
    };
    let csca = certificate("pss-sha256", "csca.der");
    let check = pa::verify_signature(
        csca.tbs_certificate().subject_public_key_info(),
        &alg,
        None,
        b"message",
        &[0; 256],
    );
    assert_eq!(
        check,
        Check::NotRun("RSASSA-PSS parameters other than one hash for the message and MGF1".into())
    );
}

#[test]
fn a_signature_algorithm_that_is_not_the_keys_is_refused_not_verified_under_another_name() {
    use spki::AlgorithmIdentifierOwned;
    let alg = |oid: &str| AlgorithmIdentifierOwned {
        oid: der::asn1::ObjectIdentifier::new_unwrap(oid),
        parameters: None,
    };
    // The CSCA's own, valid signature over its TBS, relabelled.
    let check = |case: &str, oid: &str| {
        let csca = certificate(case, "csca.der");
        let tbs = csca.tbs_certificate().to_der().unwrap();
        pa::verify_signature(
            csca.tbs_certificate().subject_public_key_info(),
            &alg(oid),
            None,
            &tbs,
            csca.signature().raw_bytes(),
        )
    };
    // sha256WithRSAEncryption called ecdsa-with-SHA256.
    assert_eq!(
        check("rsa-sha256", "1.2.840.10045.4.3.2"),
        Check::Failed(
            "the signature algorithm 1.2.840.10045.4.3.2 is not one of the key's \
             (1.2.840.113549.1.1.1)"
                .into()
        )
    );
    // ecdsa-with-SHA256 called sha256WithRSAEncryption.
    assert_eq!(
        check("p256-sha256", "1.2.840.113549.1.1.11"),
        Check::Failed(
            "the signature algorithm 1.2.840.113549.1.1.11 is not one of the key's \
             (1.2.840.10045.2.1)"
                .into()
        )
    );
    // PKCS#1 v1.5 under an RSASSA-PSS key.
    assert_eq!(
        check("pss-key-sha256", "1.2.840.113549.1.1.11"),
        Check::Failed(
            "the signature algorithm 1.2.840.113549.1.1.11 is not one of the key's \
             (1.2.840.113549.1.1.10)"
                .into()
        )
    );
    // The controls: under their own names they verify.
    assert_eq!(check("rsa-sha256", "1.2.840.113549.1.1.11"), Check::Passed);
    assert_eq!(check("p256-sha256", "1.2.840.10045.4.3.2"), Check::Passed);
}
