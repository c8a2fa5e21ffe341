#![no_main]
//! Fuzz target: ca_dg14, DG14's SecurityInfos (ICAO 9303-11 §6.2 Chip
//! Authentication, §6.1 ActiveAuthenticationInfo). Run with
//! `cargo xtask fuzz ca_dg14`.
//!
//! Input: a DG14. What `ca::from_dg14` accepts then goes through the ECDH
//! of chip authentication with a fixed terminal key, so a fuzzed static
//! public key (off the curve, the point at infinity, the wrong length) is
//! refused by `ca::session_keys` with an error, never a panic.
use kiosk_firmware::icao::{aa, ca};
use libfuzzer_sys::fuzz_target;

/// A terminal private key valid on both curves the reader takes.
const TERMINAL_KEY: [u8; 32] = [0x11; 32];

fuzz_target!(|data: &[u8]| {
    let _ = aa::hash_from_dg14(data);
    if let Some(info) = ca::from_dg14(data) {
        let _ = ca::mse_set_at(&info);
        let _ = ca::session_keys(info.curve, info.cipher, &TERMINAL_KEY, &info.public_key);
    }
});
