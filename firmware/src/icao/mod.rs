//! ICAO Doc 9303: the machine-readable travel document chip as the kiosk
//! reads it (Part 10 LDS, Part 11 security mechanisms).
//!
//! - [`lds`]: file identifiers, EF.COM, DG1, DG2.
//! - [`aa`]: active authentication (clone detection).
//! - [`atr`]: card capabilities from the ATR.
//! - [`mrz`]: TD1/TD3 machine-readable zones and the BAC key material.
//! - [`ca`]: chip authentication (clone detection with new session keys).
//! - [`crypto`]: KDF, 3DES and AES primitives of Part 11 §9.
//! - [`keys`]: the access keys to try (MRZ, CAN).
//! - [`ec_signature`]: ECDSA on every curve the reader runs (PA and AA).
//! - [`bac`]: Basic Access Control, both sides.
//! - [`brainpool`]: brainpoolP192r1, P224r1, P320r1 and P512r1 on RustCrypto's generic arithmetic.
//! - [`pa`]: passive authentication (EF.SOD, CMS, the CSCA trust list).
//! - [`pace`]: PACE v2, ECDH generic mapping, both sides' maths.
//! - [`pki`]: the trust store (CSCAs, master lists, link certificates, CRLs).
//! - [`random`]: seeded random bytes for the machines.
//! - [`reader`]: the document reader machine.
//! - [`sm`]: secure messaging, 3DES and AES, both sides.

pub mod aa;
pub mod atr;
pub mod bac;
pub mod brainpool;
pub mod ca;
pub mod crypto;
pub mod ec_signature;
pub mod keys;
pub mod lds;
pub mod mrz;
pub mod pa;
pub mod pace;
pub mod pki;
pub mod random;
pub mod reader;
pub mod sm;

#[cfg(test)]
mod signature_tests;
#[cfg(test)]
mod vectors;
