//! Basic Access Control (ICAO 9303-11 §4.3): keys from the MRZ
//! information, and both sides of the mutual authentication.
//!
//! Randomness is passed in (RND.IFD, K.IFD; RND.IC, K.IC on the card side):
//! nothing here draws random numbers or reads a clock.

use super::crypto::{kdf_3des, pad, retail_mac, tdes_cbc_decrypt, tdes_cbc_encrypt};
use crate::apdu::Command;
use sha1::{Digest, Sha1};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why mutual authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BacError {
    /// The answer is not 40 bytes (E ‖ M).
    #[error("the EXTERNAL AUTHENTICATE data is {0} bytes, not 40")]
    Length(usize),
    /// The MAC over the cryptogram is wrong: the other side has another key
    /// (the MRZ information is wrong) or the data was altered.
    #[error("the authentication cryptogram's MAC does not match")]
    Mac,
    /// The decrypted nonces are not the ones exchanged: a replay or a wrong
    /// key.
    #[error("the nonces in the cryptogram do not match")]
    Nonce,
}

/// The document basic access keys.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct BacKeys {
    /// K_enc (2-key 3DES, parity adjusted).
    pub k_enc: [u8; 16],
    /// K_mac.
    pub k_mac: [u8; 16],
}

impl core::fmt::Debug for BacKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BacKeys(..)")
    }
}

/// The key seed: the first 16 bytes of SHA-1 of the MRZ information.
pub fn key_seed(mrz_information: &str) -> [u8; 16] {
    let digest = Sha1::digest(mrz_information.as_bytes());
    let mut seed = [0u8; 16];
    seed.copy_from_slice(&digest[..16]);
    seed
}

impl BacKeys {
    /// K_enc = KDF(K_seed, 1), K_mac = KDF(K_seed, 2).
    pub fn from_mrz_information(mrz_information: &str) -> BacKeys {
        let mut seed = key_seed(mrz_information);
        let keys = BacKeys {
            k_enc: kdf_3des(&seed, 1),
            k_mac: kdf_3des(&seed, 2),
        };
        seed.zeroize();
        keys
    }
}

/// Session keys and the starting send sequence counter.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SessionKeys {
    /// KS_enc.
    pub ks_enc: [u8; 16],
    /// KS_mac.
    pub ks_mac: [u8; 16],
    /// SSC = last 4 bytes of RND.IC ‖ last 4 bytes of RND.IFD.
    pub ssc: [u8; 8],
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

fn session_keys(
    k_ifd: &[u8; 16],
    k_ic: &[u8; 16],
    rnd_ic: &[u8; 8],
    rnd_ifd: &[u8; 8],
) -> SessionKeys {
    let mut seed = [0u8; 16];
    for (s, (a, b)) in seed.iter_mut().zip(k_ifd.iter().zip(k_ic)) {
        *s = a ^ b;
    }
    let mut ssc = [0u8; 8];
    ssc[..4].copy_from_slice(&rnd_ic[4..]);
    ssc[4..].copy_from_slice(&rnd_ifd[4..]);
    let keys = SessionKeys {
        ks_enc: kdf_3des(&seed, 1),
        ks_mac: kdf_3des(&seed, 2),
        ssc,
    };
    seed.zeroize();
    keys
}

/// E = 3DES-CBC(K_enc, 0, S), M = MAC(K_mac, pad(E)): the 40-byte
/// authentication data.
fn cryptogram(keys: &BacKeys, s: &[u8; 32]) -> [u8; 40] {
    let e = tdes_cbc_encrypt(&keys.k_enc, &[0; 8], s);
    let m = retail_mac(&keys.k_mac, &pad(&e, 8));
    let mut out = [0u8; 40];
    out[..32].copy_from_slice(&e);
    out[32..].copy_from_slice(&m);
    out
}

/// Checks M and decrypts E.
fn open(keys: &BacKeys, data: &[u8]) -> Result<[u8; 32], BacError> {
    if data.len() != 40 {
        return Err(BacError::Length(data.len()));
    }
    let (e, m) = data.split_at(32);
    let mac = retail_mac(&keys.k_mac, &pad(e, 8));
    if !constant_time_eq(&mac, m) {
        return Err(BacError::Mac);
    }
    let mut r = [0u8; 32];
    r.copy_from_slice(&tdes_cbc_decrypt(&keys.k_enc, &[0; 8], e));
    Ok(r)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The terminal's side of mutual authentication.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Terminal {
    keys: BacKeys,
    rnd_ifd: [u8; 8],
    k_ifd: [u8; 16],
    rnd_ic: [u8; 8],
}

impl core::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("bac::Terminal(..)")
    }
}

/// GET CHALLENGE: 8 bytes of RND.IC.
pub fn get_challenge() -> Command {
    Command::new(0x00, 0x84, 0x00, 0x00).with_le(8)
}

impl Terminal {
    /// Starts with the chip's challenge and the terminal's random RND.IFD
    /// and K.IFD.
    pub fn new(keys: BacKeys, rnd_ic: [u8; 8], rnd_ifd: [u8; 8], k_ifd: [u8; 16]) -> Self {
        Terminal {
            keys,
            rnd_ifd,
            k_ifd,
            rnd_ic,
        }
    }

    /// EXTERNAL AUTHENTICATE with E_IFD ‖ M_IFD, Le 40.
    pub fn external_authenticate(&self) -> Command {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&self.rnd_ifd);
        s[8..16].copy_from_slice(&self.rnd_ic);
        s[16..].copy_from_slice(&self.k_ifd);
        let data = cryptogram(&self.keys, &s);
        s.zeroize();
        Command::new(0x00, 0x82, 0x00, 0x00)
            .with_data(data.to_vec())
            .with_le(40)
    }

    /// Checks the chip's E_IC ‖ M_IC and derives the session keys.
    pub fn finish(&self, response_data: &[u8]) -> Result<SessionKeys, BacError> {
        let mut r = open(&self.keys, response_data)?;
        let ok =
            constant_time_eq(&r[..8], &self.rnd_ic) && constant_time_eq(&r[8..16], &self.rnd_ifd);
        let mut k_ic = [0u8; 16];
        k_ic.copy_from_slice(&r[16..]);
        r.zeroize();
        if !ok {
            return Err(BacError::Nonce);
        }
        let keys = session_keys(&self.k_ifd, &k_ic, &self.rnd_ic, &self.rnd_ifd);
        k_ic.zeroize();
        Ok(keys)
    }
}

/// The chip's side: checks EXTERNAL AUTHENTICATE's data against the
/// challenge it gave, answers with E_IC ‖ M_IC (for K.IC it chose) and
/// derives the same session keys.
pub fn chip_respond(
    keys: &BacKeys,
    rnd_ic: &[u8; 8],
    k_ic: &[u8; 16],
    command_data: &[u8],
) -> Result<([u8; 40], SessionKeys), BacError> {
    let mut s = open(keys, command_data)?;
    if !constant_time_eq(&s[8..16], rnd_ic) {
        s.zeroize();
        return Err(BacError::Nonce);
    }
    let mut rnd_ifd = [0u8; 8];
    rnd_ifd.copy_from_slice(&s[..8]);
    let mut k_ifd = [0u8; 16];
    k_ifd.copy_from_slice(&s[16..]);
    s.zeroize();
    let mut r = [0u8; 32];
    r[..8].copy_from_slice(rnd_ic);
    r[8..16].copy_from_slice(&rnd_ifd);
    r[16..].copy_from_slice(k_ic);
    let answer = cryptogram(keys, &r);
    r.zeroize();
    let session = session_keys(&k_ifd, k_ic, rnd_ic, &rnd_ifd);
    k_ifd.zeroize();
    Ok((answer, session))
}
