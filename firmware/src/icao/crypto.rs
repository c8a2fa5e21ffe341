//! The symmetric primitives of ICAO 9303-11 (§9.7, §9.8), on RustCrypto
//! block ciphers: the key derivation function, DES parity, ISO/IEC 9797-1
//! padding method 2, 3DES-CBC with the retail MAC (MAC algorithm 3), and
//! AES-CBC, AES-ECB of one block and AES-CMAC.
//!
//! Chaining is written out here (a few lines over `encrypt_block`) so the
//! card and terminal sides share one small, test-pinned implementation.

use aes::{Aes128, Aes192, Aes256};
use cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des::{Des, TdesEde2};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// A key of the wrong size for its cipher (a bug, or corrupt key
/// material).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a key of {0} bytes is not valid here")]
pub struct KeyLength(pub usize);

/// A padding that is not ISO/IEC 9797-1 method 2 (a wrong key, or
/// tampered data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad ISO/IEC 9797-1 padding")]
pub struct BadPadding;

/// Appends ISO/IEC 9797-1 padding method 2: `80` then zeros to a multiple
/// of `block`.
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while out.len() % block != 0 {
        out.push(0);
    }
    out
}

/// Removes padding method 2.
pub fn unpad(data: &[u8]) -> Result<&[u8], BadPadding> {
    let end = data.iter().rposition(|b| *b != 0).ok_or(BadPadding)?;
    match data.get(end) {
        Some(0x80) => Ok(&data[..end]),
        _ => Err(BadPadding),
    }
}

/// Sets each byte's lowest bit so it has odd parity (DES keys).
pub fn adjust_parity(key: &mut [u8]) {
    for b in key {
        let ones = (*b & 0xFE).count_ones();
        *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
    }
}

/// The 9303-11 §9.7.1 KDF for a 2-key 3DES key: the first 16 bytes of
/// SHA-1(`secret` ‖ counter), parity adjusted.
pub fn kdf_3des(secret: &[u8], counter: u32) -> [u8; 16] {
    let mut h = Sha1::new();
    h.update(secret);
    h.update(counter.to_be_bytes());
    let digest = h.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    adjust_parity(&mut key);
    key
}

/// The 9303-11 §9.7.1 KDF for an AES key of `len` bytes (16, 24, 32):
/// SHA-1 for AES-128, SHA-256 for AES-192/256, truncated.
pub fn kdf_aes(secret: &[u8], counter: u32, len: usize) -> Result<Vec<u8>, KeyLength> {
    match len {
        16 => {
            let mut h = Sha1::new();
            h.update(secret);
            h.update(counter.to_be_bytes());
            Ok(h.finalize()[..16].to_vec())
        }
        24 | 32 => {
            let mut h = Sha256::new();
            h.update(secret);
            h.update(counter.to_be_bytes());
            Ok(h.finalize()[..len].to_vec())
        }
        other => Err(KeyLength(other)),
    }
}

fn blocks<const N: usize>(data: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    data.chunks(N).map(|c| {
        let mut b = [0u8; N];
        b[..c.len()].copy_from_slice(c);
        b
    })
}

/// 2-key 3DES in CBC mode. `data` must be a multiple of 8 bytes (callers
/// pad first).
pub fn tdes_cbc_encrypt(key: &[u8; 16], iv: &[u8; 8], data: &[u8]) -> Vec<u8> {
    let Ok(cipher) = TdesEde2::new_from_slice(key) else {
        return Vec::new();
    };
    let mut prev = *iv;
    let mut out = Vec::with_capacity(data.len());
    for mut b in blocks::<8>(data) {
        for (x, p) in b.iter_mut().zip(prev) {
            *x ^= p;
        }
        let mut block = Block::<TdesEde2>::default();
        block.copy_from_slice(&b);
        cipher.encrypt_block(&mut block);
        prev.copy_from_slice(&block);
        out.extend_from_slice(&block);
    }
    out
}

/// 2-key 3DES CBC decryption.
pub fn tdes_cbc_decrypt(key: &[u8; 16], iv: &[u8; 8], data: &[u8]) -> Vec<u8> {
    let Ok(cipher) = TdesEde2::new_from_slice(key) else {
        return Vec::new();
    };
    let mut prev = *iv;
    let mut out = Vec::with_capacity(data.len());
    for b in blocks::<8>(data) {
        let mut block = Block::<TdesEde2>::default();
        block.copy_from_slice(&b);
        cipher.decrypt_block(&mut block);
        for (x, p) in block.iter_mut().zip(prev) {
            *x ^= p;
        }
        out.extend_from_slice(&block);
        prev = b;
    }
    out
}

/// ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC") with DES and a 2-key
/// 3DES key: single-DES CBC with K1 over all blocks, then the last block
/// decrypted with K2 and encrypted with K1. `data` must already be padded.
pub fn retail_mac(key: &[u8; 16], data: &[u8]) -> [u8; 8] {
    let (Ok(k1), Ok(k2)) = (
        Des::new_from_slice(&key[..8]),
        Des::new_from_slice(&key[8..]),
    ) else {
        return [0; 8];
    };
    let mut state = Block::<Des>::default();
    for b in blocks::<8>(data) {
        for (x, y) in state.iter_mut().zip(b) {
            *x ^= y;
        }
        k1.encrypt_block(&mut state);
    }
    k2.decrypt_block(&mut state);
    k1.encrypt_block(&mut state);
    let mut mac = [0u8; 8];
    mac.copy_from_slice(&state);
    mac
}

/// An AES key of 128, 192 or 256 bits.
#[derive(Clone)]
pub enum AesCipher {
    /// AES-128.
    A128(Aes128),
    /// AES-192.
    A192(Aes192),
    /// AES-256.
    A256(Aes256),
}

impl core::fmt::Debug for AesCipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AesCipher::A128(_) => "AES-128",
            AesCipher::A192(_) => "AES-192",
            AesCipher::A256(_) => "AES-256",
        })
    }
}

impl AesCipher {
    /// From a 16, 24 or 32 byte key.
    pub fn new(key: &[u8]) -> Result<AesCipher, KeyLength> {
        let err = |_| KeyLength(key.len());
        Ok(match key.len() {
            16 => AesCipher::A128(Aes128::new_from_slice(key).map_err(err)?),
            24 => AesCipher::A192(Aes192::new_from_slice(key).map_err(err)?),
            32 => AesCipher::A256(Aes256::new_from_slice(key).map_err(err)?),
            n => return Err(KeyLength(n)),
        })
    }

    /// Encrypts one block in place.
    pub fn encrypt(&self, block: &mut [u8; 16]) {
        let mut b = Block::<Aes128>::default();
        b.copy_from_slice(block);
        match self {
            AesCipher::A128(c) => c.encrypt_block(&mut b),
            AesCipher::A192(c) => c.encrypt_block(&mut b),
            AesCipher::A256(c) => c.encrypt_block(&mut b),
        }
        block.copy_from_slice(&b);
    }

    /// Decrypts one block in place.
    pub fn decrypt(&self, block: &mut [u8; 16]) {
        let mut b = Block::<Aes128>::default();
        b.copy_from_slice(block);
        match self {
            AesCipher::A128(c) => c.decrypt_block(&mut b),
            AesCipher::A192(c) => c.decrypt_block(&mut b),
            AesCipher::A256(c) => c.decrypt_block(&mut b),
        }
        block.copy_from_slice(&b);
    }

    /// CBC encryption; `data` a multiple of 16 bytes.
    pub fn cbc_encrypt(&self, iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
        let mut prev = *iv;
        let mut out = Vec::with_capacity(data.len());
        for mut b in blocks::<16>(data) {
            for (x, p) in b.iter_mut().zip(prev) {
                *x ^= p;
            }
            self.encrypt(&mut b);
            prev = b;
            out.extend_from_slice(&b);
        }
        out
    }

    /// CBC decryption.
    pub fn cbc_decrypt(&self, iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
        let mut prev = *iv;
        let mut out = Vec::with_capacity(data.len());
        for b in blocks::<16>(data) {
            let mut x = b;
            self.decrypt(&mut x);
            for (y, p) in x.iter_mut().zip(prev) {
                *y ^= p;
            }
            out.extend_from_slice(&x);
            prev = b;
        }
        out
    }
}

/// AES-CMAC (NIST SP 800-38B) of `data` with a 16, 24 or 32 byte key.
pub fn aes_cmac(key: &[u8], data: &[u8]) -> Result<[u8; 16], KeyLength> {
    use cmac::{Cmac, Mac};
    macro_rules! cmac_with {
        ($aes:ty) => {{
            let mut mac =
                <Cmac<$aes> as KeyInit>::new_from_slice(key).map_err(|_| KeyLength(key.len()))?;
            Mac::update(&mut mac, data);
            let tag = mac.finalize().into_bytes();
            let mut out = [0u8; 16];
            out.copy_from_slice(&tag[..16]);
            Ok(out)
        }};
    }
    match key.len() {
        16 => cmac_with!(Aes128),
        24 => cmac_with!(Aes192),
        32 => cmac_with!(Aes256),
        n => Err(KeyLength(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn padding_method_2_round_trips() {
        assert_eq!(pad(&[1, 2, 3], 8), hex("0102038000000000"));
        assert_eq!(pad(&[0; 8], 8).len(), 16);
        assert_eq!(unpad(&hex("0102038000000000")), Ok(&[1u8, 2, 3][..]));
        assert_eq!(unpad(&hex("0102030000000000")), Err(BadPadding));
        assert_eq!(unpad(&[0; 8]), Err(BadPadding));
    }

    #[test]
    fn parity_makes_every_byte_odd() {
        let mut k = [0u8, 1, 0xFE, 0xFF];
        adjust_parity(&mut k);
        assert_eq!(k, [0x01, 0x01, 0xFE, 0xFE]);
        assert!(k.iter().all(|b| b.count_ones() % 2 == 1));
    }

    #[test]
    fn aes_cmac_matches_rfc_4493() {
        // RFC 4493 §4, example 2 (16-byte message).
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let msg = hex("6bc1bee22e409f96e93d7e117393172a");
        assert_eq!(
            aes_cmac(&key, &msg).unwrap().to_vec(),
            hex("070a16b46b4d4144f79bdd9dd04a287c")
        );
        assert_eq!(
            aes_cmac(&key, &[]).unwrap().to_vec(),
            hex("bb1d6929e95937287fa37d129b756746")
        );
        assert_eq!(aes_cmac(&[0; 5], &msg), Err(KeyLength(5)));
    }

    #[test]
    fn cbc_modes_round_trip() {
        let data = pad(b"Nguyen Van Mau 15/01/1990", 16);
        let aes = AesCipher::new(&[7; 32]).unwrap();
        let iv = [9u8; 16];
        assert_eq!(aes.cbc_decrypt(&iv, &aes.cbc_encrypt(&iv, &data)), data);
        let key = [0x13; 16];
        let data = pad(b"3DES data", 8);
        assert_eq!(
            tdes_cbc_decrypt(&key, &[0; 8], &tdes_cbc_encrypt(&key, &[0; 8], &data)),
            data
        );
    }
}
