//! Active Authentication (ICAO 9303-11 §6.1): the chip proves it holds the
//! private key whose public half DG15 carries (and passive authentication
//! vouches for), so a copy of the data on another chip is detected.
//!
//! INTERNAL AUTHENTICATE `00 88 00 00 08 <8 random bytes> 00`. With an EC
//! key the answer is a plain ECDSA signature r ‖ s over the challenge, the
//! hash named by DG14's ActiveAuthenticationInfo (`ecdsa-plain-SHA*`, BSI
//! TR-03111), SHA-256 when DG14 says nothing, on any curve of
//! [`super::ec_signature`]. With an RSA key the answer
//! is an ISO/IEC 9796-2 signature scheme 1 with message recovery (9303-11
//! §6.1.2): J = s^e mod n (or n − s^e, which 9796-2 allows the signer to
//! send), J = header ‖ [padding] ‖ M1 ‖ H(M1 ‖ challenge) ‖ trailer, the
//! header nibble `6` (partial recovery) or `4` (total), the trailer `BC`
//! (SHA-1 implied) or `xx CC` with the hash named by ISO/IEC 10118-3's id
//! (`33` SHA-1, `34` SHA-256, `35` SHA-512, `36` SHA-384, `38` SHA-224).
//! The RSA arithmetic is the `rsa` crate's (hazmat); only the 9796-2
//! layout is ours ([`verify_rsa`], [`RsaAaError`]).

use super::pa::{Check, HashAlgorithm};
use crate::apdu::Command;
use crate::apdu::tlv;
use der::Decode;
use spki::SubjectPublicKeyInfoOwned;

/// `id-AA` 2.23.136.1.1.5: ActiveAuthenticationInfo in DG14.
pub const ID_AA: [u8; 6] = [0x67, 0x81, 0x08, 0x01, 0x01, 0x05];

/// Why an RSA Active Authentication answer is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RsaAaError {
    /// DG15's RSA key does not parse. Remedy: none (passive authentication
    /// tells whether DG15 is genuine).
    #[error("DG15's RSA key does not parse")]
    Key,
    /// The answer is not a number below the modulus of the key's length:
    /// not a signature with DG15's key.
    #[error("the answer is not an RSA signature for DG15's key")]
    SignatureRange,
    /// Neither s^e nor n − s^e ends in a 9796-2 trailer (`BC`, `xxCC`):
    /// signed with another key (a clone) or garbage.
    #[error("the recovered message has no ISO/IEC 9796-2 trailer")]
    Trailer,
    /// The trailer `xxCC` names a hash this reader does not know.
    #[error("the trailer names an unknown hash ({0:#04X})")]
    UnknownHash(u8),
    /// The recovered message does not start with the 9796-2 header
    /// (nibble `6` or `4`).
    #[error("the recovered message has no ISO/IEC 9796-2 header")]
    Header,
    /// The padding field (`B…BA`) is malformed.
    #[error("the recovered message's padding is malformed")]
    Padding,
    /// No room for a recoverable message and the hash.
    #[error("the recovered message is too short")]
    TooShort,
    /// Total recovery, but the recovered message does not end with the
    /// challenge: the answer does not sign this challenge (a replay).
    #[error("the recovered message does not hold the challenge")]
    ChallengeNotSigned,
    /// H(M1 ‖ challenge) does not match: signed for another challenge (a
    /// replay) or with another key (a clone).
    #[error("the chip's signature does not match DG15 and the challenge: a cloned chip")]
    HashMismatch,
}

/// The hash an RSA answer's trailer names, and the trailer's length.
fn trailer(j: &[u8]) -> Result<(HashAlgorithm, usize), RsaAaError> {
    match j {
        [.., 0xBC] => Ok((HashAlgorithm::Sha1, 1)),
        [.., id, 0xCC] => Ok((
            match id {
                0x33 => HashAlgorithm::Sha1,
                0x34 => HashAlgorithm::Sha256,
                0x35 => HashAlgorithm::Sha512,
                0x36 => HashAlgorithm::Sha384,
                0x38 => HashAlgorithm::Sha224,
                other => return Err(RsaAaError::UnknownHash(*other)),
            },
            2,
        )),
        _ => Err(RsaAaError::Trailer),
    }
}

/// Checks a recovered 9796-2 message J against the challenge.
fn recover(j: &[u8], challenge: &[u8]) -> Result<HashAlgorithm, RsaAaError> {
    let (hash, t) = trailer(j)?;
    let first = *j.first().ok_or(RsaAaError::TooShort)?;
    let partial = match first >> 4 {
        0x6 => true,
        0x4 => false,
        _ => return Err(RsaAaError::Header),
    };
    // The padding field starts in the header byte's low nibble: `A` (none)
    // or `B`s ending in a nibble `A`.
    let m_start = match first & 0x0F {
        0x0A => 1,
        0x0B => {
            let mut i = 1;
            loop {
                match j.get(i) {
                    Some(0xBB) => i += 1,
                    Some(0xBA) => break i + 1,
                    _ => return Err(RsaAaError::Padding),
                }
            }
        }
        _ => return Err(RsaAaError::Padding),
    };
    let hlen = hash.digest(&[]).len();
    let off = j
        .len()
        .checked_sub(t + hlen)
        .filter(|off| *off > m_start)
        .ok_or(RsaAaError::TooShort)?;
    let (m1, digest) = (&j[m_start..off], &j[off..off + hlen]);
    let message = if partial {
        [m1, challenge].concat()
    } else if m1.ends_with(challenge) {
        m1.to_vec()
    } else {
        return Err(RsaAaError::ChallengeNotSigned);
    };
    if hash.digest(&message) != digest {
        return Err(RsaAaError::HashMismatch);
    }
    Ok(hash)
}

/// Verifies an RSA Active Authentication answer (ISO/IEC 9796-2 scheme 1)
/// with the key `spki_der` (DG15's SubjectPublicKeyInfo): the hash the
/// answer used, or why it is refused.
pub fn verify_rsa(
    spki_der: &[u8],
    challenge: &[u8],
    signature: &[u8],
) -> Result<HashAlgorithm, RsaAaError> {
    use rsa::BoxedUint;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::PublicKey::from_public_key_der(spki_der).map_err(|_| RsaAaError::Key)?;
    let k = key.size();
    if signature.len() != k {
        return Err(RsaAaError::SignatureRange);
    }
    let s = BoxedUint::from_be_slice(signature, key.n_bits_precision())
        .map_err(|_| RsaAaError::SignatureRange)?;
    let n: &BoxedUint = key.n().as_ref();
    if s.ge(n) {
        return Err(RsaAaError::SignatureRange);
    }
    let f = rsa::hazmat::rsa_encrypt(&key, &s).map_err(|_| RsaAaError::SignatureRange)?;
    let complement = n.wrapping_sub(&f);
    // As k bytes, big-endian (the storage may be wider).
    let bytes = |x: &BoxedUint| -> Option<Vec<u8>> {
        let b = x.to_be_bytes();
        let extra = b.len().checked_sub(k)?;
        b[..extra]
            .iter()
            .all(|x| *x == 0)
            .then(|| b[extra..].to_vec())
    };
    // 9796-2: J is the one of s^e and n − s^e that ends in the nibble C.
    let j = [f, complement]
        .iter()
        .filter_map(bytes)
        .find(|j| j.last().is_some_and(|b| b & 0x0F == 0x0C))
        .ok_or(RsaAaError::Trailer)?;
    recover(&j, challenge)
}

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
            return match verify_rsa(outer.value, challenge, response) {
                Ok(_) => Check::Passed,
                Err(e) => Check::Failed(e.to_string()),
            };
        }
        other => return Check::NotRun(format!("key algorithm {other} is not supported")),
    }
    let hash = dg14
        .and_then(hash_from_dg14)
        .unwrap_or(HashAlgorithm::Sha256);
    let digest = hash.digest(challenge);
    use super::ec_signature::{EcdsaError, Encoding, verify};
    match verify(&spki, &digest, response, Encoding::Plain) {
        Ok(_) => Check::Passed,
        Err(e) if e.not_run() => Check::NotRun(e.to_string()),
        Err(EcdsaError::KeyNotOnCurve) => Check::Failed("DG15's key is not on its curve".into()),
        Err(EcdsaError::Encoding) => {
            Check::Failed("the answer is not a plain ECDSA signature".into())
        }
        Err(_) => Check::Failed("the chip's signature does not match DG15: a cloned chip".into()),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/vectors/aa-rsa/vectors.txt`: made by openssl and Python, not
    /// by this code (see the README there).
    const VECTORS: &str = include_str!("../../tests/vectors/aa-rsa/vectors.txt");

    fn vector(name: &str) -> Vec<u8> {
        let line = VECTORS
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = ")))
            .unwrap_or_else(|| panic!("no {name}"));
        hex::decode(line.trim()).unwrap()
    }

    fn case(name: &str) -> (Vec<u8>, [u8; 8], Vec<u8>) {
        let challenge: [u8; 8] = vector(&format!("{name}.challenge")).try_into().unwrap();
        (
            vector("spki"),
            challenge,
            vector(&format!("{name}.signature")),
        )
    }

    fn dg15(spki: &[u8]) -> Vec<u8> {
        tlv::to_vec(0x6F, spki)
    }

    #[test]
    fn rsa_sha1_with_the_implicit_bc_trailer_passes() {
        let (spki, challenge, signature) = case("sha1_bc");
        assert_eq!(
            verify_rsa(&spki, &challenge, &signature),
            Ok(HashAlgorithm::Sha1)
        );
        assert_eq!(
            verify(&dg15(&spki), None, &challenge, &signature),
            Check::Passed
        );
    }

    #[test]
    fn rsa_sha256_with_the_34cc_trailer_passes() {
        let (spki, challenge, signature) = case("sha256_34cc");
        assert_eq!(
            verify_rsa(&spki, &challenge, &signature),
            Ok(HashAlgorithm::Sha256)
        );
    }

    #[test]
    fn rsa_sha512_with_the_35cc_trailer_passes() {
        let (spki, challenge, signature) = case("sha512_35cc");
        assert_eq!(
            verify_rsa(&spki, &challenge, &signature),
            Ok(HashAlgorithm::Sha512)
        );
    }

    #[test]
    fn rsa_answer_given_as_n_minus_sigma_passes() {
        let (spki, challenge, signature) = case("sha256_34cc_complement");
        assert_eq!(
            verify_rsa(&spki, &challenge, &signature),
            Ok(HashAlgorithm::Sha256)
        );
    }

    #[test]
    fn rsa_answer_for_another_challenge_fails_with_a_hash_mismatch() {
        let (spki, mut challenge, signature) = case("sha256_34cc");
        challenge[7] ^= 1;
        assert_eq!(
            verify_rsa(&spki, &challenge, &signature),
            Err(RsaAaError::HashMismatch)
        );
        assert!(matches!(
            verify(&dg15(&spki), None, &challenge, &signature),
            Check::Failed(_)
        ));
    }

    #[test]
    fn rsa_wrong_signature_fails_not_skipped() {
        let (spki, challenge, mut signature) = case("sha1_bc");
        signature[40] ^= 0x10;
        // A random J: most likely no trailer, whatever it is it fails.
        assert!(verify_rsa(&spki, &challenge, &signature).is_err());
        match verify(&dg15(&spki), None, &challenge, &signature) {
            Check::Failed(_) => {}
            other => panic!("a bad RSA answer must fail, not {other:?}"),
        }
        // Not a number below n, or the wrong length.
        assert_eq!(
            verify_rsa(&spki, &challenge, &[0xFF; 128]),
            Err(RsaAaError::SignatureRange)
        );
        assert_eq!(
            verify_rsa(&spki, &challenge, &signature[1..]),
            Err(RsaAaError::SignatureRange)
        );
    }

    /// A well-formed recovered message with one part changed.
    fn recovered(edit: impl FnOnce(&mut Vec<u8>)) -> (Vec<u8>, [u8; 8]) {
        let challenge = [7u8; 8];
        let m1 = vec![0x5A; 100];
        let mut j = vec![0x6A];
        j.extend_from_slice(&m1);
        j.extend(HashAlgorithm::Sha256.digest(&[&m1[..], &challenge].concat()));
        j.extend_from_slice(&[0x34, 0xCC]);
        edit(&mut j);
        (j, challenge)
    }

    #[test]
    fn rsa_layout_is_checked_part_by_part() {
        let (j, challenge) = recovered(|_| {});
        assert_eq!(recover(&j, &challenge), Ok(HashAlgorithm::Sha256));
        let (j, challenge) = recovered(|j| j[0] = 0x2A);
        assert_eq!(recover(&j, &challenge), Err(RsaAaError::Header));
        let (j, challenge) = recovered(|j| j[0] = 0x6C);
        assert_eq!(recover(&j, &challenge), Err(RsaAaError::Padding));
        let (j, challenge) = recovered(|j| {
            let n = j.len();
            j[n - 1] = 0xCD;
        });
        assert_eq!(recover(&j, &challenge), Err(RsaAaError::Trailer));
        let (j, challenge) = recovered(|j| {
            let n = j.len();
            j[n - 2] = 0x37;
        });
        assert_eq!(recover(&j, &challenge), Err(RsaAaError::UnknownHash(0x37)));
        // Total recovery must carry the challenge itself.
        let (j, challenge) = recovered(|j| j[0] = 0x4A);
        assert_eq!(recover(&j, &challenge), Err(RsaAaError::ChallengeNotSigned));
    }
}
