//! ECDSA verification on the curves of ICAO 9303 (9303-12 §5: ecdsa-with-
//! SHA1/224/256/384/512 on named curves; 9303-11 §6.1: the plain r ‖ s
//! answers of Active Authentication, BSI TR-03111 §5.2.1), shared by
//! passive and active authentication.
//!
//! The curve comes from the key's SubjectPublicKeyInfo (a named curve OID,
//! RFC 5480 / RFC 5639); the arithmetic is RustCrypto's (`p256`, `p384`,
//! `p521`, `bp256`, `bp384`; brainpoolP512r1 on their generic arithmetic,
//! [`super::brainpool::bp512`]). The hash is given already computed: the
//! `ecdsa` crate turns it into the integer e as ANSI X9.62 / FIPS 186-5
//! §6.4.2 prescribe, its leftmost bits when it is longer than the group
//! order (SHA-512 on P-256) and the whole value when it is shorter (SHA-1
//! on P-521); the fixture tests pin both cases against openssl.

use super::pace::Curve;
use der::asn1::ObjectIdentifier;
use spki::SubjectPublicKeyInfoOwned;

/// How the signature is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (CMS, X.509).
    Der,
    /// r ‖ s, each as long as the group order (TR-03111; Active
    /// Authentication answers).
    Plain,
}

/// Why an ECDSA signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcdsaError {
    /// The key names a curve this reader has no implementation of (e.g.
    /// brainpoolP320r1). Remedy: none here; the check is not run, never
    /// passed.
    #[error("curve {0} is not supported")]
    UnsupportedCurve(String),
    /// The key carries explicit domain parameters instead of a named
    /// curve. Remedy: none here; not run, never passed.
    #[error("EC keys with explicit domain parameters are not supported")]
    ExplicitParameters,
    /// The public point does not decode or is not on its curve.
    #[error("the EC public key is not on its curve")]
    KeyNotOnCurve,
    /// The signature is not encoded as expected (or r, s are out of range).
    #[error("the ECDSA signature is malformed")]
    Encoding,
    /// The signature does not verify with this key over this hash.
    #[error("the ECDSA signature does not verify")]
    Mismatch,
}

impl EcdsaError {
    /// Whether the check could not be run at all (as opposed to failing).
    pub fn not_run(&self) -> bool {
        matches!(
            self,
            EcdsaError::UnsupportedCurve(_) | EcdsaError::ExplicitParameters
        )
    }
}

/// The named curve of an EC SubjectPublicKeyInfo.
pub fn curve_of(spki: &SubjectPublicKeyInfoOwned) -> Result<Curve, EcdsaError> {
    let oid = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or(EcdsaError::ExplicitParameters)?;
    Curve::from_oid(oid.as_bytes()).ok_or_else(|| EcdsaError::UnsupportedCurve(oid.to_string()))
}

/// Verifies `signature` over the hash `prehash` with the EC key `spki`;
/// the curve it ran on.
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    prehash: &[u8],
    signature: &[u8],
    encoding: Encoding,
) -> Result<Curve, EcdsaError> {
    let curve = curve_of(spki)?;
    let point = spki.subject_public_key.raw_bytes();
    macro_rules! verify {
        ($curve:ty) => {{
            use ::ecdsa::signature::hazmat::PrehashVerifier;
            let key = ::ecdsa::VerifyingKey::<$curve>::from_sec1_bytes(point)
                .map_err(|_| EcdsaError::KeyNotOnCurve)?;
            let sig = match encoding {
                Encoding::Der => ::ecdsa::Signature::<$curve>::from_der(signature),
                Encoding::Plain => ::ecdsa::Signature::<$curve>::from_slice(signature),
            }
            .map_err(|_| EcdsaError::Encoding)?;
            key.verify_prehash(prehash, &sig)
                .map_err(|_| EcdsaError::Mismatch)
        }};
    }
    match curve {
        Curve::P192 => verify!(p192::NistP192),
        Curve::P224 => verify!(p224::NistP224),
        Curve::BrainpoolP192r1 => verify!(super::brainpool::bp192::BrainpoolP192r1),
        Curve::BrainpoolP224r1 => verify!(super::brainpool::bp224::BrainpoolP224r1),
        Curve::BrainpoolP320r1 => verify!(super::brainpool::bp320::BrainpoolP320r1),
        Curve::P256 => verify!(p256::NistP256),
        Curve::P384 => verify!(p384::NistP384),
        Curve::P521 => verify!(p521::NistP521),
        Curve::BrainpoolP256r1 => verify!(bp256::BrainpoolP256r1),
        Curve::BrainpoolP384r1 => verify!(bp384::BrainpoolP384r1),
        Curve::BrainpoolP512r1 => verify!(super::brainpool::bp512::BrainpoolP512r1),
    }?;
    Ok(curve)
}

/// Signs `prehash` with the private scalar `key` on `curve`, as r ‖ s (the
/// test kit chip's Active Authentication; RFC 6979 nonces).
#[cfg(feature = "testkit")]
pub fn sign_plain(curve: Curve, key: &[u8], prehash: &[u8]) -> Result<Vec<u8>, EcdsaError> {
    macro_rules! sign {
        ($curve:ty) => {{
            use ::ecdsa::signature::hazmat::PrehashSigner;
            let signing = ::ecdsa::SigningKey::<$curve>::from_slice(key)
                .map_err(|_| EcdsaError::KeyNotOnCurve)?;
            let sig: ::ecdsa::Signature<$curve> = signing
                .sign_prehash(prehash)
                .map_err(|_| EcdsaError::Encoding)?;
            Ok(sig.to_bytes().to_vec())
        }};
    }
    match curve {
        // `p192` names no digest for RFC 6979: SHA-256's nonces.
        Curve::P192 => {
            let d = ::elliptic_curve::NonZeroScalar::<p192::NistP192>::try_from(key)
                .map_err(|_| EcdsaError::KeyNotOnCurve)?;
            let (sig, _) = ::ecdsa::hazmat::sign_prehashed_rfc6979::<p192::NistP192, sha2::Sha256>(
                &d,
                prehash,
                &[],
            );
            Ok(sig.to_bytes().to_vec())
        }
        Curve::P224 => sign!(p224::NistP224),
        Curve::BrainpoolP192r1 => sign!(super::brainpool::bp192::BrainpoolP192r1),
        Curve::BrainpoolP224r1 => sign!(super::brainpool::bp224::BrainpoolP224r1),
        Curve::BrainpoolP320r1 => sign!(super::brainpool::bp320::BrainpoolP320r1),
        Curve::P256 => sign!(p256::NistP256),
        Curve::P384 => sign!(p384::NistP384),
        Curve::P521 => sign!(p521::NistP521),
        Curve::BrainpoolP256r1 => sign!(bp256::BrainpoolP256r1),
        Curve::BrainpoolP384r1 => sign!(bp384::BrainpoolP384r1),
        Curve::BrainpoolP512r1 => sign!(super::brainpool::bp512::BrainpoolP512r1),
    }
}

/// The SubjectPublicKeyInfo DER of the EC public key of `key` on `curve`
/// (the test kit chip's DG15).
#[cfg(feature = "testkit")]
pub fn public_key_info(curve: Curve, key: &[u8]) -> Result<Vec<u8>, EcdsaError> {
    use crate::apdu::tlv;
    let point = curve
        .public_key(key)
        .map_err(|_| EcdsaError::KeyNotOnCurve)?;
    // 30 { 30 { 06 id-ecPublicKey, 06 namedCurve }, 03 00 point }
    let mut alg = tlv::to_vec(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]);
    tlv::encode(0x06, curve.oid(), &mut alg);
    let mut bits = vec![0];
    bits.extend_from_slice(&point);
    let mut spki = tlv::to_vec(0x30, &alg);
    tlv::encode(0x03, &bits, &mut spki);
    Ok(tlv::to_vec(0x30, &spki))
}
