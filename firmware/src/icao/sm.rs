//! Secure messaging (ISO/IEC 7816-4 §10, ICAO 9303-11 §9.8), both sides.
//!
//! - 3DES (after BAC): 8-byte SSC, zero IV, retail MAC.
//! - AES (after PACE or chip authentication): 16-byte SSC starting at zero,
//!   IV = AES-ECB(KS_enc, SSC), AES-CMAC truncated to 8 bytes.
//!
//! A protected command is `CLA|0C INS P1 P2 Lc [87|85] [97] 8E Le` with
//! `87 = 01 ‖ E(pad(data))` (`85` without the `01` for odd INS such as
//! `B1`), `97 = Le`, and `8E` the MAC over SSC ‖ pad(header) ‖ the data
//! objects, padded. A response carries `[87] 99 8E`. The SSC increments
//! before each command and each response. A wrong MAC, or `6987`/`6988`
//! from the chip, spends the session: its keys are never used again
//! ([`SmError`] says so and every later call fails).
//!
//! A protected response is read strictly (9303-11 §9.8.6, 7816-4 §10.2):
//! at most one `87`/`85` and one `99`, the `99` present, the `8E` last.
//! Anything after the `8E` is not covered by the MAC, so a relay could add
//! it (`99 02 6982` after a genuine answer would turn a real file into
//! "refused"): such answers are refused as a whole. These structural
//! violations ([`SmError::is_structural`]) cannot come from RF noise (the
//! ISO 14443 CRC catches that, and a torn frame fails the MAC or the TLV
//! parse), so the reader ends the read at once instead of re-opening the
//! chip; a MAC mismatch, a garbled frame or a plain `6988` may be a torn
//! read and may be resumed.

use super::crypto::{
    AesCipher, aes_cmac, pad, retail_mac, tdes_cbc_decrypt, tdes_cbc_encrypt, unpad,
};
use crate::apdu::tlv;
use crate::apdu::{Command, Response, StatusWord};
use zeroize::Zeroize;

/// A secure-messaging failure. After any of them the session is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SmError {
    /// The MAC does not match: wrong keys, a lost counter, or tampering.
    /// Remedy: run access control again.
    #[error("secure messaging MAC mismatch")]
    BadMac,
    /// The chip answered without secure messaging (`6987`, `6988` or
    /// another plain status): it has ended the session.
    #[error("the chip ended secure messaging with status {0}")]
    Ended(StatusWord),
    /// A data object is missing or malformed (a garbled frame, wrong
    /// padding). Remedy: run access control again (a torn read).
    #[error("malformed secure messaging data objects")]
    Malformed,
    /// A data object follows the MAC object `8E`: bytes the MAC does not
    /// cover, added by a relay or a hostile chip. Remedy: none; refuse the
    /// card.
    #[error("a data object follows the secure messaging MAC")]
    ObjectAfterMac,
    /// A data object (`87`/`85` cryptogram or `99` status; the tag given)
    /// appears twice in one response: an ambiguous answer. Remedy: none;
    /// refuse the card.
    #[error("secure messaging data object {0:#04X} appears twice")]
    DuplicateObject(u8),
    /// A protected response has no status object `99`. Remedy: none;
    /// refuse the card.
    #[error("a protected response without its status object 99")]
    MissingStatus,
    /// The session was spent by an earlier error.
    #[error("the secure messaging session is spent; authenticate again")]
    Spent,
}

/// The session keys.
#[derive(Clone)]
enum Keys {
    Tdes {
        enc: [u8; 16],
        mac: [u8; 16],
    },
    Aes {
        // Boxed: the expanded AES key schedule is large.
        enc: Box<AesCipher>,
        enc_key: Vec<u8>,
        mac: Vec<u8>,
    },
}

impl Drop for Keys {
    fn drop(&mut self) {
        match self {
            Keys::Tdes { enc, mac } => {
                enc.zeroize();
                mac.zeroize();
            }
            Keys::Aes { enc_key, mac, .. } => {
                enc_key.zeroize();
                mac.zeroize();
            }
        }
    }
}

/// One secure-messaging session.
#[derive(Clone)]
pub struct SecureMessaging {
    keys: Keys,
    ssc: Vec<u8>,
    spent: bool,
}

impl core::fmt::Debug for SecureMessaging {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecureMessaging")
            .field(
                "cipher",
                &match self.keys {
                    Keys::Tdes { .. } => "3DES",
                    Keys::Aes { .. } => "AES",
                },
            )
            .field("spent", &self.spent)
            .finish_non_exhaustive()
    }
}

impl Drop for SecureMessaging {
    fn drop(&mut self) {
        self.ssc.zeroize();
    }
}

impl SmError {
    /// Whether the error is a structural violation of secure messaging
    /// (an object after the MAC, a duplicate object, a missing status):
    /// proof of a hostile chip or relay, never of a torn read. The reader
    /// ends the read at once on these and resumes only on the others.
    pub fn is_structural(self) -> bool {
        matches!(
            self,
            SmError::ObjectAfterMac | SmError::DuplicateObject(_) | SmError::MissingStatus
        )
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SecureMessaging {
    /// A 3DES session (after BAC) with its starting SSC.
    pub fn tdes(ks_enc: [u8; 16], ks_mac: [u8; 16], ssc: [u8; 8]) -> Self {
        SecureMessaging {
            keys: Keys::Tdes {
                enc: ks_enc,
                mac: ks_mac,
            },
            ssc: ssc.to_vec(),
            spent: false,
        }
    }

    /// An AES session (after PACE or CA): 16, 24 or 32 byte keys, SSC zero.
    pub fn aes(ks_enc: &[u8], ks_mac: &[u8]) -> Result<Self, super::crypto::KeyLength> {
        Ok(SecureMessaging {
            keys: Keys::Aes {
                enc: Box::new(AesCipher::new(ks_enc)?),
                enc_key: ks_enc.to_vec(),
                mac: {
                    // Check the MAC key size now rather than at first use.
                    aes_cmac(ks_mac, &[])?;
                    ks_mac.to_vec()
                },
            },
            ssc: vec![0; 16],
            spent: false,
        })
    }

    /// Whether an error has spent the session.
    pub fn is_spent(&self) -> bool {
        self.spent
    }

    /// The current send sequence counter (for tests and diagnostics).
    pub fn ssc(&self) -> &[u8] {
        &self.ssc
    }

    fn block(&self) -> usize {
        match self.keys {
            Keys::Tdes { .. } => 8,
            Keys::Aes { .. } => 16,
        }
    }

    fn increment(&mut self) {
        for b in self.ssc.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }

    fn aes_iv(enc: &AesCipher, ssc: &[u8]) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&ssc[..16.min(ssc.len())]);
        enc.encrypt(&mut iv);
        iv
    }

    fn encrypt(&self, padded: &[u8]) -> Vec<u8> {
        match &self.keys {
            Keys::Tdes { enc, .. } => tdes_cbc_encrypt(enc, &[0; 8], padded),
            Keys::Aes { enc, .. } => enc.cbc_encrypt(&Self::aes_iv(enc, &self.ssc), padded),
        }
    }

    fn decrypt(&self, cryptogram: &[u8]) -> Vec<u8> {
        match &self.keys {
            Keys::Tdes { enc, .. } => tdes_cbc_decrypt(enc, &[0; 8], cryptogram),
            Keys::Aes { enc, .. } => enc.cbc_decrypt(&Self::aes_iv(enc, &self.ssc), cryptogram),
        }
    }

    /// The 8-byte MAC over SSC ‖ `parts`, padded.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 8] {
        let mut input = self.ssc.clone();
        for p in parts {
            input.extend_from_slice(p);
        }
        let padded = pad(&input, self.block());
        match &self.keys {
            Keys::Tdes { mac, .. } => retail_mac(mac, &padded),
            Keys::Aes { mac, .. } => {
                let full = aes_cmac(mac, &padded).unwrap_or([0; 16]);
                let mut out = [0u8; 8];
                out.copy_from_slice(&full[..8]);
                out
            }
        }
    }

    fn check(&mut self) -> Result<(), SmError> {
        if self.spent {
            Err(SmError::Spent)
        } else {
            Ok(())
        }
    }

    fn fail<T>(&mut self, e: SmError) -> Result<T, SmError> {
        self.spent = true;
        Err(e)
    }

    /// Wraps a plain command for the chip.
    pub fn protect(&mut self, command: &Command) -> Result<Command, SmError> {
        self.check()?;
        self.increment();
        let cla = command.cla | 0x0C;
        let header = [cla, command.ins, command.p1, command.p2];
        let mut objects = Vec::new();
        if !command.data.is_empty() {
            let cryptogram = self.encrypt(&pad(&command.data, self.block()));
            if command.ins % 2 == 1 {
                tlv::encode(0x85, &cryptogram, &mut objects);
            } else {
                let mut v = Vec::with_capacity(cryptogram.len() + 1);
                v.push(0x01);
                v.extend_from_slice(&cryptogram);
                tlv::encode(0x87, &v, &mut objects);
            }
        }
        if let Some(le) = command.le {
            let le_bytes: Vec<u8> = if le <= 256 {
                vec![u8::try_from(le % 256).unwrap_or(0)]
            } else {
                u16::try_from(le % 65_536)
                    .unwrap_or(0)
                    .to_be_bytes()
                    .to_vec()
            };
            tlv::encode(0x97, &le_bytes, &mut objects);
        }
        let mac = self.mac(&[&pad(&header, self.block()), &objects]);
        tlv::encode(0x8E, &mac, &mut objects);
        let extended = objects.len() > 255 || command.le.is_some_and(|le| le > 256);
        Ok(Command {
            cla,
            ins: command.ins,
            p1: command.p1,
            p2: command.p2,
            data: objects,
            le: Some(if extended { 65_536 } else { 256 }),
        })
    }

    /// Verifies and unwraps the chip's response: the plain data and the
    /// status word the chip protected.
    pub fn unprotect(&mut self, response: &[u8]) -> Result<(Vec<u8>, StatusWord), SmError> {
        self.check()?;
        self.increment();
        let Ok(r) = Response::parse(response) else {
            return self.fail(SmError::Malformed);
        };
        if r.data.is_empty() {
            return self.fail(SmError::Ended(r.sw));
        }
        let mut cryptogram: Option<&[u8]> = None;
        let mut status: Option<&[u8]> = None;
        let mut mac: Option<&[u8]> = None;
        let mut mac_start = r.data.len();
        let mut offset = 0;
        for object in tlv::Iter::new(r.data) {
            let Ok(object) = object else {
                return self.fail(SmError::Malformed);
            };
            if mac.is_some() {
                // Nothing may follow the MAC: it would not be covered.
                return self.fail(SmError::ObjectAfterMac);
            }
            match object.tag {
                0x87 | 0x85 if cryptogram.is_some() => {
                    return self.fail(SmError::DuplicateObject(
                        u8::try_from(object.tag).unwrap_or(0x87),
                    ));
                }
                0x87 => {
                    cryptogram = Some(
                        object
                            .value
                            .get(1..)
                            .filter(|_| object.value.first() == Some(&0x01))
                            .unwrap_or_default(),
                    );
                }
                0x85 => cryptogram = Some(object.value),
                0x99 if status.is_some() => return self.fail(SmError::DuplicateObject(0x99)),
                0x99 => status = Some(object.value),
                0x8E => {
                    mac = Some(object.value);
                    mac_start = offset;
                }
                _ => {}
            }
            offset += object.raw.len();
        }
        let Some(mac) = mac else {
            return self.fail(SmError::Malformed);
        };
        let Some(status) = status else {
            return self.fail(SmError::MissingStatus);
        };
        let expected = self.mac(&[&r.data[..mac_start]]);
        if !ct_eq(&expected, mac) {
            return self.fail(SmError::BadMac);
        }
        let [sw1, sw2] = status else {
            return self.fail(SmError::Malformed);
        };
        let sw = StatusWord::new(*sw1, *sw2);
        let data = match cryptogram {
            Some(c) if !c.is_empty() && c.len() % self.block() == 0 => {
                let plain = self.decrypt(c);
                match unpad(&plain) {
                    Ok(p) => p.to_vec(),
                    Err(_) => return self.fail(SmError::Malformed),
                }
            }
            Some(_) => return self.fail(SmError::Malformed),
            None => Vec::new(),
        };
        Ok((data, sw))
    }

    /// The chip's side: verifies and unwraps a protected command.
    pub fn unprotect_command(&mut self, command: &Command) -> Result<Command, SmError> {
        self.check()?;
        self.increment();
        if command.cla & 0x0C != 0x0C {
            return self.fail(SmError::Malformed);
        }
        let header = [command.cla, command.ins, command.p1, command.p2];
        let mut cryptogram: Option<&[u8]> = None;
        let mut le = None;
        let mut mac: Option<&[u8]> = None;
        let mut mac_start = command.data.len();
        let mut offset = 0;
        for object in tlv::Iter::new(&command.data) {
            let Ok(object) = object else {
                return self.fail(SmError::Malformed);
            };
            match object.tag {
                0x87 => {
                    cryptogram = object
                        .value
                        .get(1..)
                        .filter(|_| object.value.first() == Some(&0x01))
                }
                0x85 => cryptogram = Some(object.value),
                0x97 => {
                    le = Some(match object.value {
                        [0] => 256,
                        [n] => usize::from(*n),
                        [0, 0] => 65_536,
                        [a, b] => usize::from(u16::from_be_bytes([*a, *b])),
                        _ => return self.fail(SmError::Malformed),
                    });
                }
                0x8E => {
                    mac = Some(object.value);
                    mac_start = offset;
                }
                _ => return self.fail(SmError::Malformed),
            }
            offset += object.raw.len();
        }
        let Some(mac) = mac else {
            return self.fail(SmError::Malformed);
        };
        let expected = self.mac(&[&pad(&header, self.block()), &command.data[..mac_start]]);
        if !ct_eq(&expected, mac) {
            return self.fail(SmError::BadMac);
        }
        let data = match cryptogram {
            Some(c) if !c.is_empty() && c.len() % self.block() == 0 => {
                match unpad(&self.decrypt(c)) {
                    Ok(p) => p.to_vec(),
                    Err(_) => return self.fail(SmError::Malformed),
                }
            }
            Some(_) => return self.fail(SmError::Malformed),
            None => Vec::new(),
        };
        Ok(Command {
            cla: command.cla & !0x0C,
            ins: command.ins,
            p1: command.p1,
            p2: command.p2,
            data,
            le,
        })
    }

    /// The chip's side: protects a response (data and status word).
    pub fn protect_response(&mut self, data: &[u8], sw: StatusWord) -> Result<Vec<u8>, SmError> {
        self.protect_response_with(data, sw, |_| {})
    }

    /// The chip's side: protects a response after `edit` has changed the
    /// data objects the MAC covers (`[87] 99`). For the test kit's hostile
    /// chips, which hold the keys: a duplicate `87`, no `99`.
    pub fn protect_response_with(
        &mut self,
        data: &[u8],
        sw: StatusWord,
        edit: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Vec<u8>, SmError> {
        self.check()?;
        self.increment();
        let mut objects = Vec::new();
        if !data.is_empty() {
            let mut v = vec![0x01];
            v.extend_from_slice(&self.encrypt(&pad(data, self.block())));
            tlv::encode(0x87, &v, &mut objects);
        }
        tlv::encode(0x99, &sw.0.to_be_bytes(), &mut objects);
        edit(&mut objects);
        let mac = self.mac(&[&objects]);
        tlv::encode(0x8E, &mac, &mut objects);
        objects.extend_from_slice(&StatusWord::SUCCESS.0.to_be_bytes());
        Ok(objects)
    }

    /// Whether this session uses AES.
    pub fn is_aes(&self) -> bool {
        matches!(self.keys, Keys::Aes { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aes_session_round_trips_commands_and_responses_both_ways() {
        let mut terminal = SecureMessaging::aes(&[1; 16], &[2; 16]).unwrap();
        let mut chip = SecureMessaging::aes(&[1; 16], &[2; 16]).unwrap();
        for (cmd, answer) in [
            (
                Command::new(0, 0xA4, 2, 0x0C).with_data(vec![0x01, 0x1E]),
                vec![],
            ),
            (Command::new(0, 0xB0, 0, 0).with_le(0xDF), vec![0x5A; 0xDF]),
            (
                Command::new(0, 0xB1, 0, 0)
                    .with_data(vec![0x54, 0x02, 0x80, 0x00])
                    .with_le(1000),
                vec![7; 1000],
            ),
        ] {
            let protected = terminal.protect(&cmd).unwrap();
            let plain = chip.unprotect_command(&protected).unwrap();
            assert_eq!(plain, cmd);
            let response = chip.protect_response(&answer, StatusWord::SUCCESS).unwrap();
            assert_eq!(
                terminal.unprotect(&response).unwrap(),
                (answer, StatusWord::SUCCESS)
            );
        }
        assert_eq!(terminal.ssc(), chip.ssc());
        assert_eq!(terminal.ssc()[15], 6);
    }

    #[test]
    fn a_tampered_response_spends_the_session() {
        let mut terminal = SecureMessaging::aes(&[1; 16], &[2; 16]).unwrap();
        let mut chip = SecureMessaging::aes(&[1; 16], &[2; 16]).unwrap();
        let protected = terminal
            .protect(&Command::new(0, 0xB0, 0, 0).with_le(4))
            .unwrap();
        chip.unprotect_command(&protected).unwrap();
        let mut response = chip
            .protect_response(&[1, 2, 3, 4], StatusWord::SUCCESS)
            .unwrap();
        response[3] ^= 1;
        assert_eq!(terminal.unprotect(&response), Err(SmError::BadMac));
        assert!(terminal.is_spent());
        assert_eq!(
            terminal.protect(&Command::new(0, 0xB0, 0, 0)),
            Err(SmError::Spent)
        );
    }

    /// A terminal and a chip with one READ BINARY exchanged up to the
    /// chip's answer.
    fn pair() -> (SecureMessaging, SecureMessaging) {
        let mut terminal = SecureMessaging::aes(&[1; 16], &[2; 16]).unwrap();
        let mut chip = SecureMessaging::aes(&[1; 16], &[2; 16]).unwrap();
        let protected = terminal
            .protect(&Command::new(0, 0xB0, 0, 0).with_le(4))
            .unwrap();
        chip.unprotect_command(&protected).unwrap();
        (terminal, chip)
    }

    #[test]
    fn a_status_appended_after_the_mac_is_refused_not_believed() {
        let (mut terminal, mut chip) = pair();
        let mut response = chip
            .protect_response(&[1, 2, 3, 4], StatusWord::SUCCESS)
            .unwrap();
        // A relay inserts `99 02 6982` between the MAC and the trailer.
        let at = response.len() - 2;
        response.splice(at..at, [0x99, 0x02, 0x69, 0x82]);
        let error = terminal.unprotect(&response).unwrap_err();
        assert_eq!(error, SmError::ObjectAfterMac);
        assert!(error.is_structural());
        assert!(terminal.is_spent());
    }

    #[test]
    fn a_duplicate_cryptogram_under_a_valid_mac_is_refused() {
        let (mut terminal, mut chip) = pair();
        let response = chip
            .protect_response_with(&[1, 2, 3, 4], StatusWord::SUCCESS, |objects| {
                let (first, _) = tlv::parse(objects).unwrap();
                let copy = first.raw.to_vec();
                objects.splice(0..0, copy);
            })
            .unwrap();
        assert_eq!(
            terminal.unprotect(&response),
            Err(SmError::DuplicateObject(0x87))
        );
    }

    #[test]
    fn a_duplicate_status_under_a_valid_mac_is_refused() {
        let (mut terminal, mut chip) = pair();
        let response = chip
            .protect_response_with(&[1, 2, 3, 4], StatusWord::SUCCESS, |objects| {
                objects.extend_from_slice(&[0x99, 0x02, 0x69, 0x82]);
            })
            .unwrap();
        assert_eq!(
            terminal.unprotect(&response),
            Err(SmError::DuplicateObject(0x99))
        );
    }

    #[test]
    fn a_protected_response_without_status_is_refused() {
        let (mut terminal, mut chip) = pair();
        let response = chip
            .protect_response_with(&[1, 2, 3, 4], StatusWord::SUCCESS, |objects| {
                let (first, _) = tlv::parse(objects).unwrap();
                let keep = first.raw.len();
                objects.truncate(keep);
            })
            .unwrap();
        let error = terminal.unprotect(&response).unwrap_err();
        assert_eq!(error, SmError::MissingStatus);
        assert!(error.is_structural());
    }

    #[test]
    fn a_mac_mismatch_is_not_structural_and_may_be_resumed() {
        assert!(!SmError::BadMac.is_structural());
        assert!(!SmError::Ended(StatusWord::SM_OBJECTS_INCORRECT).is_structural());
        assert!(!SmError::Malformed.is_structural());
    }

    #[test]
    fn a_plain_6988_from_the_chip_ends_the_session() {
        let mut terminal = SecureMessaging::tdes([1; 16], [2; 16], [0; 8]);
        terminal
            .protect(&Command::new(0, 0xB0, 0, 0).with_le(4))
            .unwrap();
        assert_eq!(
            terminal.unprotect(&[0x69, 0x88]),
            Err(SmError::Ended(StatusWord::SM_OBJECTS_INCORRECT))
        );
        assert!(terminal.is_spent());
    }

    #[test]
    fn a_command_with_a_wrong_mac_is_refused_by_the_chip() {
        let mut terminal = SecureMessaging::tdes([1; 16], [2; 16], [0; 8]);
        // 0x02 and 0x03 differ only in the DES parity bit: use 0x04.
        let mut chip = SecureMessaging::tdes([1; 16], [4; 16], [0; 8]);
        let protected = terminal
            .protect(&Command::new(0, 0xB0, 0, 0).with_le(4))
            .unwrap();
        assert_eq!(chip.unprotect_command(&protected), Err(SmError::BadMac));
    }
}
