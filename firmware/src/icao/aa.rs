//! Active Authentication (ICAO 9303-11 §6.1): the chip proves it holds the
//! private key whose public half DG15 carries (and passive authentication
//! vouches for), so a copy of the data on another chip is detected.
//!
//! INTERNAL AUTHENTICATE `00 88 00 00 08 <8 random bytes> 00`. With an EC
//! key the answer is a plain ECDSA signature r ‖ s over the challenge, the
//! hash named by DG14's ActiveAuthenticationInfo (`ecdsa-plain-SHA*`, BSI
//! TR-03111), SHA-256 when DG14 says nothing. RSA keys (ISO/IEC 9796-2
//! scheme 1) are reported as not supported by this reader yet.

use super::pa::{Check, HashAlgorithm};
use crate::apdu::Command;
use crate::apdu::tlv;
use der::Decode;
use der::asn1::ObjectIdentifier;
use spki::SubjectPublicKeyInfoOwned;

/// `id-AA` 2.23.136.1.1.5: ActiveAuthenticationInfo in DG14.
pub const ID_AA: [u8; 6] = [0x67, 0x81, 0x08, 0x01, 0x01, 0x05];

/// The INTERNAL AUTHENTICATE command for `challenge`.
pub fn internal_authenticate(challenge: &[u8; 8]) -> Command {
    Command::new(0x00, 0x88, 0x00, 0x00)
        .with_data(challenge.to_vec())
        .with_le(256)
}

/// The hash DG14's ActiveAuthenticationInfo names (`ecdsa-plain-SHA1/224/
/// 256/384/512`, 0.4.0.127.0.7.1.1.4.1.1–5), if DG14 has one.
pub fn hash_from_dg14(dg14: &[u8]) -> Option<HashAlgorithm> {
    let outer = tlv::expect(dg14, 0x6E).ok()?;
    let set = outer.require(0x31).ok()?;
    for info in set.children().filter_map(Result::ok) {
        let mut parts = info.children().filter_map(Result::ok);
        let oid = parts.next()?;
        if oid.tag != 0x06 || oid.value != ID_AA {
            continue;
        }
        // version INTEGER, signatureAlgorithm OBJECT IDENTIFIER
        let alg = parts.find(|p| p.tag == 0x06)?;
        let prefix = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01];
        return match alg.value.strip_prefix(&prefix[..])? {
            [1] => Some(HashAlgorithm::Sha1),
            [2] => Some(HashAlgorithm::Sha224),
            [3] => Some(HashAlgorithm::Sha256),
            [4] => Some(HashAlgorithm::Sha384),
            [5] => Some(HashAlgorithm::Sha512),
            _ => None,
        };
    }
    None
}

/// Checks the chip's answer to the challenge against DG15's public key.
pub fn verify(dg15: &[u8], dg14: Option<&[u8]>, challenge: &[u8; 8], response: &[u8]) -> Check {
    let Ok(outer) = tlv::expect(dg15, 0x6F) else {
        return Check::Failed("DG15 is malformed".into());
    };
    let Ok(spki) = SubjectPublicKeyInfoOwned::from_der(outer.value) else {
        return Check::Failed("DG15 holds no public key".into());
    };
    match spki.algorithm.oid.to_string().as_str() {
        "1.2.840.10045.2.1" => {}
        "1.2.840.113549.1.1.1" => {
            return Check::NotRun(
                "RSA Active Authentication (ISO/IEC 9796-2) is not supported yet".into(),
            );
        }
        other => return Check::NotRun(format!("key algorithm {other} is not supported")),
    }
    let hash = dg14
        .and_then(hash_from_dg14)
        .unwrap_or(HashAlgorithm::Sha256);
    let digest = hash.digest(challenge);
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    let point = spki.subject_public_key.raw_bytes();
    macro_rules! verify {
        ($curve:ty) => {{
            use ecdsa::signature::hazmat::PrehashVerifier;
            let Ok(key) = ecdsa::VerifyingKey::<$curve>::from_sec1_bytes(point) else {
                return Check::Failed("DG15's key is not on its curve".into());
            };
            let Ok(sig) = ecdsa::Signature::<$curve>::from_slice(response) else {
                return Check::Failed("the answer is not a plain ECDSA signature".into());
            };
            match key.verify_prehash(&digest, &sig) {
                Ok(()) => Check::Passed,
                Err(_) => {
                    Check::Failed("the chip's signature does not match DG15: a cloned chip".into())
                }
            }
        }};
    }
    match curve.as_deref() {
        Some("1.2.840.10045.3.1.7") => verify!(p256::NistP256),
        Some("1.3.132.0.34") => verify!(p384::NistP384),
        Some("1.3.36.3.3.2.8.1.1.7") => verify!(bp256::BrainpoolP256r1),
        Some(other) => Check::NotRun(format!("curve {other} is not supported")),
        None => Check::NotRun("EC keys with explicit domain parameters are not supported".into()),
    }
}

/// The Active Authentication check of a read document: passed, failed (a
/// clone, or a chip refusing), or not run (no DG15: the chip has no AA).
pub fn check_document(document: &super::reader::Document) -> Check {
    use super::lds::File;
    let Some(dg15) = document.files.get(&File::Dg(15)) else {
        return Check::NotRun("the chip has no DG15".into());
    };
    match &document.active_authentication {
        Some((challenge, Ok(answer))) => verify(
            dg15,
            document.files.get(&File::Dg(14)).map(Vec::as_slice),
            challenge,
            answer,
        ),
        Some((_, Err(sw))) => {
            Check::Failed(format!("the chip refused INTERNAL AUTHENTICATE ({sw})"))
        }
        None => Check::Failed("INTERNAL AUTHENTICATE was not answered".into()),
    }
}
