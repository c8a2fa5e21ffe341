//! PACE v2 with ECDH generic mapping (ICAO 9303-11 §4.4), both sides' maths.
//!
//! 1. EF.CardAccess names the protocol and domain parameters ([`PaceInfo`]).
//! 2. MSE:Set AT selects them and the password (MRZ or CAN).
//! 3. The chip sends z = E(K_π, s); K_π = KDF(π, 3) where π is SHA-1 of the
//!    MRZ information, or the CAN digits ([`Password::k_pi`]).
//! 4. Generic mapping: both sides exchange mapping keys; H = SK·PK;
//!    G̃ = s·G + H ([`Curve::map`]).
//! 5. Ephemeral ECDH on G̃; K = x of the shared point; KS_enc = KDF(K, 1),
//!    KS_mac = KDF(K, 2).
//! 6. Tokens T = CMAC(KS_mac, `7F49 { 06 OID, 86 PK }`)[..8] prove both sides
//!    derived the same keys ([`auth_token`]).
//!
//! Points travel as SEC1 uncompressed bytes and scalars as big-endian
//! bytes, so the same code serves the reader and the virtual chip;
//! randomness (the private keys, the nonce) is always passed in.
//! Supported: `id-PACE-ECDH-GM-AES-CBC-CMAC-128/192/256` and
//! `id-PACE-ECDH-GM-3DES-CBC-CBC` ([`PaceCipher`]) on every
//! elliptic curve of the standardized domain parameters (9303-11 §9.5.1):
//! 8 (P-192), 9 (brainpoolP192r1), 10 (P-224), 11 (brainpoolP224r1), 12
//! (P-256), 13 (brainpoolP256r1, the CCCD), 14 (brainpoolP320r1), 15
//! (P-384), 16 (brainpoolP384r1), 17 (brainpoolP512r1) and 18 (P-521)
//! ([`Curve`]). The DH groups 0–2 are not run.

use super::crypto::{
    AesCipher, KeyLength, aes_cmac, kdf_3des, kdf_aes, pad, retail_mac, tdes_cbc_decrypt,
    tdes_cbc_encrypt,
};
use super::sm::SecureMessaging;
use crate::apdu::Command;
use crate::apdu::tlv;
use sha1::{Digest, Sha1};
use zeroize::{Zeroize, Zeroizing};

/// `id-PACE` = 0.4.0.127.0.7.2.2.4.
pub const ID_PACE: [u8; 8] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04];

/// Why PACE cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaceError {
    /// EF.CardAccess offers no PACE variant this reader supports. Remedy:
    /// fall back to BAC.
    #[error("EF.CardAccess offers no supported PACE protocol")]
    Unsupported,
    /// EF.CardAccess is not valid DER.
    #[error("EF.CardAccess is malformed")]
    CardAccess,
    /// A point is not on the curve (or is the identity): a broken or hostile
    /// chip.
    #[error("an invalid curve point")]
    InvalidPoint,
    /// A private key is zero or not below the group order.
    #[error("an invalid scalar")]
    InvalidScalar,
    /// A key length the cipher does not take.
    #[error(transparent)]
    KeyLength(#[from] KeyLength),
    /// The other side's authentication token is wrong: a wrong password
    /// (MRZ/CAN), or tampering. Remedy: ask for the key again.
    #[error("the PACE authentication token does not match")]
    Token,
    /// The two mapping or ephemeral public keys are equal (9303-11
    /// §4.4.3.3.2 requires the chip to check; so does the terminal).
    #[error("the chip echoed the terminal's public key")]
    EchoedKey,
    /// The encrypted nonce z is not exactly one cipher block (16 bytes for
    /// AES, 9303-11 §4.4.3.3.1): empty, short or long, a hostile chip.
    /// Remedy: none; refuse the card (zero-padding it would make s = 0).
    #[error("the encrypted PACE nonce is {0} bytes, not one cipher block")]
    NonceLength(usize),
    /// The decrypted nonce s is zero: the mapped generator would not
    /// depend on the password. Remedy: none; refuse the card.
    #[error("the PACE nonce is zero")]
    NonceZero,
}

/// The symmetric cipher a PACE protocol sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaceCipher {
    /// 2-key 3DES, SHA-1 KDF, retail MAC (`id-PACE-ECDH-GM-3DES-CBC-CBC`;
    /// PACE only: chip authentication runs with AES here).
    Tdes,
    /// AES-128, SHA-1 KDF.
    Aes128,
    /// AES-192, SHA-256 KDF.
    Aes192,
    /// AES-256, SHA-256 KDF.
    Aes256,
}

impl PaceCipher {
    /// The key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            PaceCipher::Tdes | PaceCipher::Aes128 => 16,
            PaceCipher::Aes192 => 24,
            PaceCipher::Aes256 => 32,
        }
    }

    /// The block length in bytes (the PACE nonce's length).
    pub fn block_len(self) -> usize {
        match self {
            PaceCipher::Tdes => 8,
            _ => 16,
        }
    }

    /// The last arc of its protocol OIDs (`id-PACE-ECDH-GM-3DES-CBC-CBC`,
    /// `id-PACE-ECDH-GM-AES-CBC-CMAC-*`, `id-CA-ECDH-AES-CBC-CMAC-*`): 1,
    /// 2, 3, 4.
    pub fn oid_arc(self) -> u8 {
        match self {
            PaceCipher::Tdes => 1,
            PaceCipher::Aes128 => 2,
            PaceCipher::Aes192 => 3,
            PaceCipher::Aes256 => 4,
        }
    }
}

/// The elliptic curves this reader runs: every elliptic curve of the
/// standardized domain parameters of 9303-11 §9.5.1 (TR-03110-3 A.2.1.1),
/// from RustCrypto's crates or, for the brainpool curves it lacks, on its
/// generic arithmetic ([`super::brainpool`], [`super::brainpool::bp512`]). Used by
/// PACE, chip authentication and (by OID) the ECDSA checks of passive and
/// active authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Curve {
    /// NIST P-192 (secp192r1), parameter ID 8.
    P192,
    /// NIST P-224 (secp224r1), parameter ID 10.
    P224,
    /// NIST P-256 (secp256r1), parameter ID 12.
    P256,
    /// NIST P-384 (secp384r1), parameter ID 15.
    P384,
    /// NIST P-521 (secp521r1), parameter ID 18.
    P521,
    /// brainpoolP192r1, parameter ID 9.
    #[serde(rename = "brainpool_p192r1")]
    BrainpoolP192r1,
    /// brainpoolP224r1, parameter ID 11.
    #[serde(rename = "brainpool_p224r1")]
    BrainpoolP224r1,
    /// brainpoolP256r1, parameter ID 13 (the CCCD's).
    #[serde(rename = "brainpool_p256r1")]
    BrainpoolP256r1,
    /// brainpoolP320r1, parameter ID 14.
    #[serde(rename = "brainpool_p320r1")]
    BrainpoolP320r1,
    /// brainpoolP384r1, parameter ID 16.
    #[serde(rename = "brainpool_p384r1")]
    BrainpoolP384r1,
    /// brainpoolP512r1, parameter ID 17 ([`super::brainpool::bp512`]).
    #[serde(rename = "brainpool_p512r1")]
    BrainpoolP512r1,
}

impl Curve {
    /// Every curve this reader runs.
    pub const ALL: [Curve; 11] = [
        Curve::P192,
        Curve::P224,
        Curve::P256,
        Curve::P384,
        Curve::P521,
        Curve::BrainpoolP192r1,
        Curve::BrainpoolP224r1,
        Curve::BrainpoolP256r1,
        Curve::BrainpoolP320r1,
        Curve::BrainpoolP384r1,
        Curve::BrainpoolP512r1,
    ];

    /// From a standardized domain parameter ID (9303-11 §9.5.1); the DH
    /// groups 0–2 are not run.
    pub fn from_parameter_id(id: u32) -> Option<Curve> {
        match id {
            8 => Some(Curve::P192),
            9 => Some(Curve::BrainpoolP192r1),
            10 => Some(Curve::P224),
            11 => Some(Curve::BrainpoolP224r1),
            12 => Some(Curve::P256),
            14 => Some(Curve::BrainpoolP320r1),
            13 => Some(Curve::BrainpoolP256r1),
            15 => Some(Curve::P384),
            16 => Some(Curve::BrainpoolP384r1),
            17 => Some(Curve::BrainpoolP512r1),
            18 => Some(Curve::P521),
            _ => None,
        }
    }

    /// The parameter ID.
    pub fn parameter_id(self) -> u8 {
        match self {
            Curve::P192 => 8,
            Curve::BrainpoolP192r1 => 9,
            Curve::P224 => 10,
            Curve::BrainpoolP224r1 => 11,
            Curve::BrainpoolP320r1 => 14,
            Curve::P256 => 12,
            Curve::BrainpoolP256r1 => 13,
            Curve::P384 => 15,
            Curve::BrainpoolP384r1 => 16,
            Curve::BrainpoolP512r1 => 17,
            Curve::P521 => 18,
        }
    }

    /// The named curve's OID content bytes (RFC 5480, RFC 5639).
    pub fn oid(self) -> &'static [u8] {
        match self {
            // 1.2.840.10045.3.1.1
            Curve::P192 => &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x01],
            // 1.3.132.0.33
            Curve::P224 => &[0x2B, 0x81, 0x04, 0x00, 0x21],
            // 1.3.36.3.3.2.8.1.1.3
            Curve::BrainpoolP192r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x03],
            // 1.3.36.3.3.2.8.1.1.5
            Curve::BrainpoolP224r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x05],
            // 1.3.36.3.3.2.8.1.1.9
            Curve::BrainpoolP320r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x09],
            // 1.2.840.10045.3.1.7
            Curve::P256 => &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
            // 1.3.132.0.34
            Curve::P384 => &[0x2B, 0x81, 0x04, 0x00, 0x22],
            // 1.3.132.0.35
            Curve::P521 => &[0x2B, 0x81, 0x04, 0x00, 0x23],
            // 1.3.36.3.3.2.8.1.1.7
            Curve::BrainpoolP256r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
            // 1.3.36.3.3.2.8.1.1.11
            Curve::BrainpoolP384r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B],
            // 1.3.36.3.3.2.8.1.1.13
            Curve::BrainpoolP512r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D],
        }
    }

    /// From a named curve's OID content bytes.
    pub fn from_oid(oid: &[u8]) -> Option<Curve> {
        Curve::ALL.into_iter().find(|c| c.oid() == oid)
    }

    /// The length of a scalar (and of a coordinate) in bytes.
    pub fn scalar_len(self) -> usize {
        match self {
            Curve::P192 | Curve::BrainpoolP192r1 => 24,
            Curve::P224 | Curve::BrainpoolP224r1 => 28,
            Curve::BrainpoolP320r1 => 40,
            Curve::P256 | Curve::BrainpoolP256r1 => 32,
            Curve::P384 | Curve::BrainpoolP384r1 => 48,
            Curve::BrainpoolP512r1 => 64,
            Curve::P521 => 66,
        }
    }

    /// The bit length of the group order.
    pub fn order_bits(self) -> usize {
        match self {
            Curve::P521 => 521,
            other => other.scalar_len() * 8,
        }
    }
}

/// One PACEInfo from EF.CardAccess that this reader can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceInfo {
    /// The protocol OID's content bytes (e.g. `04007F00070202040202`).
    pub oid: Vec<u8>,
    /// The cipher it sets up.
    pub cipher: PaceCipher,
    /// The curve.
    pub curve: Curve,
}

impl PaceInfo {
    /// The supported PACEInfos of EF.CardAccess (`SET OF SecurityInfo`),
    /// strongest first. Unknown SecurityInfos (TA, CA, …) are skipped.
    pub fn from_card_access(card_access: &[u8]) -> Result<Vec<PaceInfo>, PaceError> {
        let set = tlv::expect(card_access, 0x31).map_err(|_| PaceError::CardAccess)?;
        let mut found = Vec::new();
        for info in set.children() {
            let info = info.map_err(|_| PaceError::CardAccess)?;
            if info.tag != 0x30 {
                continue;
            }
            let mut parts = info.children();
            let Some(Ok(oid)) = parts.next() else {
                return Err(PaceError::CardAccess);
            };
            let Some(rest) = oid.value.strip_prefix(&ID_PACE[..]) else {
                continue;
            };
            let integers: Vec<u32> = parts
                .filter_map(Result::ok)
                .filter(|t| t.tag == 0x02)
                .map(|t| t.value.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
                .collect();
            let (version, parameter) = (integers.first().copied(), integers.get(1).copied());
            let cipher = match rest {
                [0x02, 0x01] => PaceCipher::Tdes,
                [0x02, 0x02] => PaceCipher::Aes128,
                [0x02, 0x03] => PaceCipher::Aes192,
                [0x02, 0x04] => PaceCipher::Aes256,
                _ => continue,
            };
            let Some(curve) = parameter.and_then(Curve::from_parameter_id) else {
                continue;
            };
            if version != Some(2) {
                continue;
            }
            found.push(PaceInfo {
                oid: oid.value.to_vec(),
                cipher,
                curve,
            });
        }
        found.sort_by_key(|p| core::cmp::Reverse(p.cipher.key_len()));
        Ok(found)
    }
}

/// The PACE password.
#[derive(Clone, PartialEq, Eq, zeroize::ZeroizeOnDrop, Zeroize)]
pub enum Password {
    /// The MRZ information (as for BAC).
    Mrz(String),
    /// The card access number (on the CCCD: the ID number's last 6 digits).
    Can(String),
}

impl core::fmt::Debug for Password {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Password::Mrz(_) => "Password::Mrz(..)",
            Password::Can(_) => "Password::Can(..)",
        })
    }
}

impl Password {
    /// The password reference in MSE:Set AT (`83`): 1 MRZ, 2 CAN.
    pub fn reference(&self) -> u8 {
        match self {
            Password::Mrz(_) => 1,
            Password::Can(_) => 2,
        }
    }

    /// K_π = KDF(f(π), 3) for `cipher`.
    pub fn k_pi(&self, cipher: PaceCipher) -> Result<Zeroizing<Vec<u8>>, PaceError> {
        let secret: Zeroizing<Vec<u8>> = Zeroizing::new(match self {
            Password::Mrz(info) => Sha1::digest(info.as_bytes()).to_vec(),
            Password::Can(can) => can.as_bytes().to_vec(),
        });
        Ok(Zeroizing::new(match cipher {
            PaceCipher::Tdes => kdf_3des(&secret, 3).to_vec(),
            _ => kdf_aes(&secret, 3, cipher.key_len())?,
        }))
    }
}

/// MSE:Set AT for PACE: protocol, password, parameter ID.
pub fn mse_set_at(info: &PaceInfo, password: &Password) -> Command {
    let mut data = tlv::to_vec(0x80, &info.oid);
    tlv::encode(0x83, &[password.reference()], &mut data);
    tlv::encode(0x84, &[info.curve.parameter_id()], &mut data);
    Command::new(0x00, 0x22, 0xC1, 0xA4).with_data(data)
}

/// GENERAL AUTHENTICATE carrying `7C { objects }`; chained (`CLA 10`)
/// unless it is the last of the protocol.
pub fn general_authenticate(objects: &[u8], last: bool) -> Command {
    Command::new(if last { 0x00 } else { 0x10 }, 0x86, 0x00, 0x00)
        .with_data(tlv::to_vec(0x7C, objects))
        .with_le(256)
}

/// The AES block: the length of the encrypted nonce z.
pub const NONCE_LEN: usize = 16;

/// Decrypts the chip's nonce: s = AES-CBC-decrypt(K_π, 0, z). z must be
/// exactly one block ([`PaceError::NonceLength`]) and s not zero
/// ([`PaceError::NonceZero`]).
pub fn decrypt_nonce(k_pi: &[u8], z: &[u8]) -> Result<Zeroizing<Vec<u8>>, PaceError> {
    let aes = AesCipher::new(k_pi)?;
    if z.len() != NONCE_LEN {
        return Err(PaceError::NonceLength(z.len()));
    }
    let s = Zeroizing::new(aes.cbc_decrypt(&[0; 16], z));
    if s.iter().all(|b| *b == 0) {
        return Err(PaceError::NonceZero);
    }
    Ok(s)
}

/// Encrypts a nonce (the chip's side): z = AES-CBC(K_π, 0, s).
pub fn encrypt_nonce(k_pi: &[u8], s: &[u8]) -> Result<Vec<u8>, PaceError> {
    let aes = AesCipher::new(k_pi)?;
    Ok(aes.cbc_encrypt(&[0; 16], s))
}

/// A 2-key 3DES key.
fn tdes_key(key: &[u8]) -> Result<&[u8; 16], PaceError> {
    <&[u8; 16]>::try_from(key).map_err(|_| PaceError::KeyLength(KeyLength(key.len())))
}

/// [`decrypt_nonce`] for `cipher`: z is one block of that cipher (8 bytes
/// for 3DES).
pub fn decrypt_nonce_with(
    cipher: PaceCipher,
    k_pi: &[u8],
    z: &[u8],
) -> Result<Zeroizing<Vec<u8>>, PaceError> {
    if cipher != PaceCipher::Tdes {
        return decrypt_nonce(k_pi, z);
    }
    let key = tdes_key(k_pi)?;
    if z.len() != cipher.block_len() {
        return Err(PaceError::NonceLength(z.len()));
    }
    let s = Zeroizing::new(tdes_cbc_decrypt(key, &[0; 8], z));
    if s.iter().all(|b| *b == 0) {
        return Err(PaceError::NonceZero);
    }
    Ok(s)
}

/// [`encrypt_nonce`] for `cipher`.
pub fn encrypt_nonce_with(cipher: PaceCipher, k_pi: &[u8], s: &[u8]) -> Result<Vec<u8>, PaceError> {
    match cipher {
        PaceCipher::Tdes => Ok(tdes_cbc_encrypt(tdes_key(k_pi)?, &[0; 8], s)),
        _ => encrypt_nonce(k_pi, s),
    }
}

/// [`auth_token`] for `cipher`: with 3DES the retail MAC over the padded
/// data.
pub fn auth_token_with(
    cipher: PaceCipher,
    ks_mac: &[u8],
    oid: &[u8],
    other_public: &[u8],
) -> Result<[u8; 8], PaceError> {
    if cipher != PaceCipher::Tdes {
        return auth_token(ks_mac, oid, other_public);
    }
    let mut inner = tlv::to_vec(0x06, oid);
    tlv::encode(0x86, other_public, &mut inner);
    let data = tlv::to_vec(0x7F49, &inner);
    Ok(retail_mac(tdes_key(ks_mac)?, &pad(&data, 8)))
}

/// The secure messaging PACE sets up: AES with the keys' length, or 3DES
/// with SSC = 0 (9303-11 §9.8).
pub fn secure_messaging(
    cipher: PaceCipher,
    ks_enc: &[u8],
    ks_mac: &[u8],
) -> Result<SecureMessaging, PaceError> {
    match cipher {
        PaceCipher::Tdes => Ok(SecureMessaging::tdes(
            *tdes_key(ks_enc)?,
            *tdes_key(ks_mac)?,
            [0; 8],
        )),
        _ => Ok(SecureMessaging::aes(ks_enc, ks_mac)?),
    }
}

/// A secret key that is wiped when dropped.
pub type SecretBytes = Zeroizing<Vec<u8>>;

/// KS_enc and KS_mac from the shared secret.
pub fn session_keys(
    shared_x: &[u8],
    cipher: PaceCipher,
) -> Result<(SecretBytes, SecretBytes), PaceError> {
    if cipher == PaceCipher::Tdes {
        return Ok((
            Zeroizing::new(kdf_3des(shared_x, 1).to_vec()),
            Zeroizing::new(kdf_3des(shared_x, 2).to_vec()),
        ));
    }
    Ok((
        Zeroizing::new(kdf_aes(shared_x, 1, cipher.key_len())?),
        Zeroizing::new(kdf_aes(shared_x, 2, cipher.key_len())?),
    ))
}

/// The authentication token over the *other* side's ephemeral public key:
/// CMAC(KS_mac, `7F49 { 06 OID, 86 point }`), first 8 bytes.
pub fn auth_token(ks_mac: &[u8], oid: &[u8], other_public: &[u8]) -> Result<[u8; 8], PaceError> {
    let mut inner = tlv::to_vec(0x06, oid);
    tlv::encode(0x86, other_public, &mut inner);
    let data = tlv::to_vec(0x7F49, &inner);
    let full = aes_cmac(ks_mac, &data)?;
    let mut t = [0u8; 8];
    t.copy_from_slice(&full[..8]);
    Ok(t)
}

/// Checks the other side's token in constant time.
pub fn verify_token(expected: &[u8; 8], got: &[u8]) -> Result<(), PaceError> {
    let same = got.len() == 8 && expected.iter().zip(got).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
    if same { Ok(()) } else { Err(PaceError::Token) }
}

macro_rules! curve_ops {
    ($name:ident, [$($krate:tt)+], $curve:ty) => {
        mod $name {
            use super::PaceError;
            use elliptic_curve::ops::Reduce;
            use elliptic_curve::point::AffineCoordinates;
            use elliptic_curve::sec1::{FromSec1Point, Sec1Point, ToSec1Point};
            use elliptic_curve::{Field, FieldBytes, Group, PrimeField};
            use $($krate)+::{AffinePoint, ProjectivePoint, Scalar};

            pub(super) fn scalar(bytes: &[u8]) -> Result<Scalar, PaceError> {
                let mut repr = FieldBytes::<$curve>::default();
                let n = repr.len();
                if bytes.len() > n {
                    return Err(PaceError::InvalidScalar);
                }
                repr[n - bytes.len()..].copy_from_slice(bytes);
                let s = Option::<Scalar>::from(Scalar::from_repr(repr)).ok_or(PaceError::InvalidScalar)?;
                if bool::from(Field::is_zero(&s)) {
                    return Err(PaceError::InvalidScalar);
                }
                Ok(s)
            }

            /// The nonce as a scalar: the integer s reduced mod n.
            pub(super) fn nonce(bytes: &[u8]) -> Result<Scalar, PaceError> {
                let mut repr = FieldBytes::<$curve>::default();
                let n = repr.len();
                if bytes.len() > n {
                    return Err(PaceError::InvalidScalar);
                }
                repr[n - bytes.len()..].copy_from_slice(bytes);
                Ok(<Scalar as Reduce<FieldBytes<$curve>>>::reduce(&repr))
            }

            pub(super) fn point(bytes: &[u8]) -> Result<ProjectivePoint, PaceError> {
                let encoded = Sec1Point::<$curve>::from_bytes(bytes).map_err(|_| PaceError::InvalidPoint)?;
                let affine = Option::<AffinePoint>::from(AffinePoint::from_sec1_point(&encoded))
                    .ok_or(PaceError::InvalidPoint)?;
                let p = ProjectivePoint::from(affine);
                if bool::from(p.is_identity()) {
                    return Err(PaceError::InvalidPoint);
                }
                Ok(p)
            }

            pub(super) fn encode(p: &ProjectivePoint) -> Result<Vec<u8>, PaceError> {
                if bool::from(p.is_identity()) {
                    return Err(PaceError::InvalidPoint);
                }
                let affine: AffinePoint = (*p).into();
                Ok(affine.to_sec1_point(false).as_bytes().to_vec())
            }

            pub(super) fn generator_mul(sk: &[u8]) -> Result<Vec<u8>, PaceError> {
                encode(&(ProjectivePoint::generator() * scalar(sk)?))
            }

            pub(super) fn mul(point_bytes: &[u8], sk: &[u8]) -> Result<Vec<u8>, PaceError> {
                encode(&(point(point_bytes)? * scalar(sk)?))
            }

            pub(super) fn map(nonce_bytes: &[u8], h: &[u8]) -> Result<Vec<u8>, PaceError> {
                encode(&(ProjectivePoint::generator() * nonce(nonce_bytes)? + point(h)?))
            }

            pub(super) fn x(point_bytes: &[u8]) -> Result<Vec<u8>, PaceError> {
                let affine: AffinePoint = point(point_bytes)?.into();
                Ok(affine.x().to_vec())
            }
        }
    };
}

curve_ops!(brainpool, [super::bp256_r1], bp256::BrainpoolP256r1);
curve_ops!(brainpool384, [super::bp384_r1], bp384::BrainpoolP384r1);
curve_ops!(
    brainpool512,
    [crate::icao::brainpool::bp512],
    crate::icao::brainpool::bp512::BrainpoolP512r1
);
curve_ops!(
    brainpool192,
    [crate::icao::brainpool::bp192],
    crate::icao::brainpool::bp192::BrainpoolP192r1
);
curve_ops!(
    brainpool224,
    [crate::icao::brainpool::bp224],
    crate::icao::brainpool::bp224::BrainpoolP224r1
);
curve_ops!(
    brainpool320,
    [crate::icao::brainpool::bp320],
    crate::icao::brainpool::bp320::BrainpoolP320r1
);
curve_ops!(nist_p192, [::p192], p192::NistP192);
curve_ops!(nist_p224, [::p224], p224::NistP224);
curve_ops!(nist_p256, [::p256], p256::NistP256);
curve_ops!(nist_p384, [::p384], p384::NistP384);
curve_ops!(nist_p521, [::p521], p521::NistP521);

/// `bp256::r1` under a name the macro can use.
mod bp256_r1 {
    pub(super) use bp256::r1::{AffinePoint, ProjectivePoint, Scalar};
}

/// `bp384::r1` under a name the macro can use.
mod bp384_r1 {
    pub(super) use bp384::r1::{AffinePoint, ProjectivePoint, Scalar};
}

/// Calls `$f` in the curve's module.
macro_rules! on_curve {
    ($curve:expr, $f:ident($($arg:expr),*)) => {
        match $curve {
            Curve::P192 => nist_p192::$f($($arg),*),
            Curve::P224 => nist_p224::$f($($arg),*),
            Curve::BrainpoolP192r1 => brainpool192::$f($($arg),*),
            Curve::BrainpoolP224r1 => brainpool224::$f($($arg),*),
            Curve::BrainpoolP320r1 => brainpool320::$f($($arg),*),
            Curve::P256 => nist_p256::$f($($arg),*),
            Curve::P384 => nist_p384::$f($($arg),*),
            Curve::P521 => nist_p521::$f($($arg),*),
            Curve::BrainpoolP256r1 => brainpool::$f($($arg),*),
            Curve::BrainpoolP384r1 => brainpool384::$f($($arg),*),
            Curve::BrainpoolP512r1 => brainpool512::$f($($arg),*),
        }
    };
}

impl Curve {
    /// SK·G, the public key of a private key (uncompressed SEC1).
    pub fn public_key(self, sk: &[u8]) -> Result<Vec<u8>, PaceError> {
        on_curve!(self, generator_mul(sk))
    }

    /// SK·P for a point P (uncompressed SEC1 in and out); the point is
    /// checked to be on the curve.
    pub fn multiply(self, point: &[u8], sk: &[u8]) -> Result<Vec<u8>, PaceError> {
        on_curve!(self, mul(point, sk))
    }

    /// Generic mapping: G̃ = s·G + H.
    pub fn map(self, nonce: &[u8], h: &[u8]) -> Result<Vec<u8>, PaceError> {
        on_curve!(self, map(nonce, h))
    }

    /// The x-coordinate of a point.
    pub fn x(self, point: &[u8]) -> Result<Vec<u8>, PaceError> {
        on_curve!(self, x(point))
    }

    /// SK·G̃ for the mapped generator (ephemeral public key).
    pub fn public_key_on(self, generator: &[u8], sk: &[u8]) -> Result<Vec<u8>, PaceError> {
        self.multiply(generator, sk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encrypted_nonce_must_be_exactly_one_block() {
        let k_pi = [7u8; 16];
        assert_eq!(decrypt_nonce(&k_pi, &[]), Err(PaceError::NonceLength(0)));
        assert_eq!(
            decrypt_nonce(&k_pi, &[1; 8]),
            Err(PaceError::NonceLength(8))
        );
        assert_eq!(
            decrypt_nonce(&k_pi, &[1; 32]),
            Err(PaceError::NonceLength(32))
        );
        let z = encrypt_nonce(&k_pi, &[9; 16]).unwrap();
        assert_eq!(decrypt_nonce(&k_pi, &z).unwrap().as_slice(), &[9; 16]);
    }

    #[test]
    fn a_zero_nonce_is_refused() {
        let k_pi = [7u8; 16];
        let z = encrypt_nonce(&k_pi, &[0; 16]).unwrap();
        assert_eq!(decrypt_nonce(&k_pi, &z), Err(PaceError::NonceZero));
    }
}
