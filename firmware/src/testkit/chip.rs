//! The card side of ICAO 9303: a virtual eMRTD chip that answers APDUs as
//! a CCCD does, for the simulator and for tests through real pcscd.
//!
//! It holds the files (EF.CardAccess in the master file; EF.COM, the data
//! groups and EF.SOD in the eMRTD application), runs BAC and PACE (CAN or
//! MRZ, generic mapping) and secure messaging, and serves READ BINARY by
//! file identifier, short file identifier and odd INS with offsets. Like
//! the CCCD it refuses SELECT MF (`6D00`) and protects every file but
//! EF.CardAccess behind access control (`6982`). A wrong access key fails
//! with `6300`. All randomness comes from the seed given at construction.
//!
//! A chip can be made hostile by a list of [`Hostile`] rules (the attack
//! suite of docs/security.md): each rule changes one kind of answer at the
//! one place the chip produces it (file access, READ BINARY data, the
//! protected response, the PACE nonce, Active Authentication), so a rule
//! list scripts an attack without touching the genuine code paths.

use crate::apdu::tlv;
use crate::apdu::{Command, StatusWord, encode_response};
use crate::icao::bac::{self, BacKeys};
use crate::icao::lds::{AID, File};
use crate::icao::pa::HashAlgorithm;
use crate::icao::pace::{self, Curve, PaceCipher, PaceInfo, Password};
use crate::icao::random::Drbg;
use crate::icao::sm::SecureMessaging;
use rsa::traits::PublicKeyParts;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// The chip's Active Authentication key (DG15 carries its public half).
#[derive(Clone)]
pub enum AaKey {
    /// ECDSA on `curve` over `hash` (which DG14's ActiveAuthenticationInfo
    /// names), a plain r ‖ s answer.
    Ecdsa {
        /// The curve.
        curve: Curve,
        /// The hash of the challenge.
        hash: HashAlgorithm,
        /// The private scalar.
        key: Zeroizing<Vec<u8>>,
    },
    /// RSA, answered with ISO/IEC 9796-2 scheme 1, SHA-256 (trailer
    /// `34CC`), partial recovery.
    Rsa(Box<rsa::PrivateKey>),
}

impl core::fmt::Debug for AaKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AaKey::Ecdsa { .. } => "AaKey::Ecdsa(..)",
            AaKey::Rsa(_) => "AaKey::Rsa(..)",
        })
    }
}

/// The chip's Chip Authentication key (DG14 carries its public half and
/// the protocol).
#[derive(Clone)]
pub struct CaKey {
    /// The curve of the static key.
    pub curve: Curve,
    /// The cipher `id-CA-ECDH-AES-CBC-CMAC-*` sets up.
    pub cipher: PaceCipher,
    /// The static private scalar.
    pub private: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for CaKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CaKey")
            .field("curve", &self.curve)
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

/// What a hostile chip does to its PACE nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonceFault {
    /// Sends an empty encrypted nonce (zero-padded, s would be 0).
    Empty,
    /// Sends half a cipher block.
    Short,
    /// Encrypts s = 0.
    Zero,
}

/// How a chip (or the reader in front of it) refuses an extended-length
/// APDU, in plain and ending secure messaging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtendedRefusal {
    /// `6700`.
    WrongLength,
    /// `6C00` (a wrong-length `6Cxx`: 256 at most).
    WrongLe,
    /// A garbled one-byte answer: the reader reports a transport error.
    Transport,
}

/// Where a chip refuses PACE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaceRefusal {
    /// MSE:Set AT answers `6A80`.
    Mse,
    /// The first GENERAL AUTHENTICATE answers `6985`.
    GeneralAuthenticate,
}

/// One scripted misbehaviour of a hostile chip. A chip with no rules is a
/// genuine CCCD. Some rules script a chip that is not hostile but
/// different (another vendor's, behind another reader): the reader's
/// fallbacks are tested against them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hostile {
    /// Refuses the file (SELECT, READ BINARY) with `sw` (`6982`, `6A82`)
    /// though EF.COM and EF.SOD list it.
    Refuse {
        /// The file.
        file: File,
        /// The refusal.
        sw: StatusWord,
    },
    /// Appends `bytes` after the MAC of each protected READ BINARY answer
    /// for `file`, as an RF relay can (`99 02 6982`).
    AppendAfterMac {
        /// The file.
        file: File,
        /// What is appended (before the trailer SW1 SW2).
        bytes: Vec<u8>,
    },
    /// Sends the cryptogram `87` twice, under a valid MAC, in each READ
    /// BINARY answer for `file`.
    DuplicateCryptogram {
        /// The file.
        file: File,
    },
    /// Leaves the status object `99` out, under a valid MAC, of each READ
    /// BINARY answer for `file`.
    OmitStatus {
        /// The file.
        file: File,
    },
    /// Sends a bad PACE nonce.
    PaceNonce(NonceFault),
    /// Serves `file` with a header declaring `length` bytes (as a 4-byte
    /// BER length, so at most 4 GiB − 1).
    DeclaredLength {
        /// The file.
        file: File,
        /// The declared length of the value.
        length: u32,
    },
    /// Answers READ BINARY under secure messaging with at most `max` bytes
    /// (and `9000`).
    Drip {
        /// Bytes per answer.
        max: usize,
    },
    /// Stops answering once `bytes` file bytes have been served: the
    /// reader's transport times out ([`VirtualChip::stalled`]).
    StallAfter {
        /// File bytes served before the stall.
        bytes: usize,
    },
    /// Answers Active Authentication with a valid signature over another
    /// challenge.
    AaWrongSignature,
    /// Refuses READ BINARY by short file identifier with `sw` (a chip
    /// that reads only the selected file).
    RefuseSfi {
        /// The refusal (`6A82`, `6A86`, `6D00`, `6E00`, `6986`).
        sw: StatusWord,
    },
    /// Refuses every extended-length APDU, though its ATR says it takes
    /// them (or the reader in front of it does not).
    RefuseExtended(ExtendedRefusal),
    /// Answers a READ BINARY whose Le exceeds the bytes left with `6Cxx`
    /// (xx: the bytes left) instead of the bytes and `6282`.
    ExactLe,
    /// Answers as over T=0: every answer with data is announced by `61xx`
    /// and fetched by GET RESPONSE.
    GetResponse,
    /// Takes SELECT of the eMRTD application only with this P2 (`0C` or
    /// `00`, which returns the FCI); the other answers `6A86`.
    SelectAidP2(u8),
    /// Refuses PACE.
    RefusePace(PaceRefusal),
    /// Once, after serving `bytes` file bytes, a READ BINARY gets a garbled
    /// one-byte answer (a transport glitch: the reader reports a transport
    /// error) and the chip's secure-messaging session is lost.
    GlitchAfter {
        /// File bytes served before the glitch.
        bytes: usize,
    },
}

/// Changes a chip's answers under secure messaging before they are
/// protected (see [`VirtualChip::process_with`]). Both methods do nothing by
/// default.
pub trait Tamper {
    /// The plain answer to the command with instruction `ins`.
    fn plain(&mut self, ins: u8, data: &mut Vec<u8>, sw: &mut StatusWord) {
        let _ = (ins, data, sw);
    }

    /// The protected data objects (`85`/`87`, `99`) before the MAC is
    /// computed over them and `8E` appended.
    fn objects(&mut self, objects: &mut Vec<u8>) {
        let _ = objects;
    }
}

/// A [`Tamper`] that changes nothing: a genuine chip.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTamper;

impl Tamper for NoTamper {}

/// What a chip is made of.
#[derive(Clone)]
pub struct ChipConfig {
    /// File contents by file (EF.CardAccess included when PACE is offered).
    pub files: BTreeMap<File, Vec<u8>>,
    /// The MRZ information (BAC key, PACE-MRZ password).
    pub mrz_information: String,
    /// The card access number, when PACE with CAN is accepted.
    pub can: Option<String>,
    /// Whether BAC is accepted.
    pub bac: bool,
    /// The PACE protocol offered (must match EF.CardAccess), if any.
    pub pace: Option<PaceInfo>,
    /// Whether the chip takes extended-length APDUs.
    pub extended_length: bool,
    /// The Active Authentication private key, when DG15 is present.
    pub aa_key: Option<AaKey>,
    /// The Chip Authentication static key, when DG14 offers chip
    /// authentication.
    pub ca_key: Option<CaKey>,
    /// Scripted misbehaviour (empty for a genuine chip).
    pub hostile: Vec<Hostile>,
}

impl core::fmt::Debug for ChipConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChipConfig")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("bac", &self.bac)
            .field("pace", &self.pace)
            .field("extended_length", &self.extended_length)
            .field("hostile", &self.hostile)
            .finish_non_exhaustive()
    }
}

/// Where PACE stands on the chip.
enum PaceState {
    Idle,
    Selected {
        info: PaceInfo,
        k_pi: Zeroizing<Vec<u8>>,
    },
    NonceSent {
        info: PaceInfo,
        nonce: Zeroizing<Vec<u8>>,
    },
    Mapped {
        info: PaceInfo,
        generator: Vec<u8>,
    },
    Agreed {
        info: PaceInfo,
        ks_enc: Zeroizing<Vec<u8>>,
        ks_mac: Zeroizing<Vec<u8>>,
        pk_ic: Vec<u8>,
        pk_ifd: Vec<u8>,
    },
}

/// The virtual chip.
pub struct VirtualChip {
    config: ChipConfig,
    rng: Drbg,
    in_application: bool,
    selected: Option<File>,
    challenge: Option<[u8; 8]>,
    pace: PaceState,
    sm: Option<SecureMessaging>,
    /// Chip authentication selected by MSE:Set AT (its protocol OID).
    ca_selected: Option<Vec<u8>>,
    /// Secure messaging to switch to after the current response (CA).
    next_sm: Option<SecureMessaging>,
    /// APDUs answered since the last reset (for tests and benchmarks).
    apdus: u64,
    /// File bytes served by READ BINARY (not reset: a stalling chip stays
    /// stalled).
    served: usize,
    /// Under secure messaging, the most plain bytes whose protected answer
    /// fits the command's Ne (set for each protected command).
    room: Option<usize>,
    /// The answer waiting for GET RESPONSE ([`Hostile::GetResponse`]): its
    /// data left and its status.
    pending: Option<(Vec<u8>, [u8; 2])>,
    /// Whether [`Hostile::GlitchAfter`] has struck.
    glitched: bool,
}

impl core::fmt::Debug for VirtualChip {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VirtualChip")
            .field("in_application", &self.in_application)
            .field("selected", &self.selected)
            .field("secure_messaging", &self.sm.is_some())
            .finish_non_exhaustive()
    }
}

fn sw(sw: StatusWord) -> (Vec<u8>, StatusWord) {
    (Vec::new(), sw)
}

/// The length of a protected answer carrying `plain` data bytes (9303-11
/// §9.8.6.2): `87 L 01 cryptogram` (data only), `99 02 SW`, `8E 08 MAC`.
pub(crate) fn protected_len(plain: usize, block: usize) -> usize {
    let trailer = 4 + 10;
    if plain == 0 {
        return trailer;
    }
    let value = 1 + (plain / block + 1) * block;
    let length_octets = match value {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        _ => 4,
    };
    1 + length_octets + value + trailer
}

/// The most plain bytes whose protected answer fits `ne` bytes.
pub(crate) fn plain_room(ne: usize, block: usize) -> usize {
    let mut plain = ne;
    while plain > 0 && protected_len(plain, block) > ne {
        plain -= 1;
    }
    plain
}

impl VirtualChip {
    /// A chip from its configuration and a seed for its randomness.
    pub fn new(config: ChipConfig, seed: [u8; 32]) -> Self {
        VirtualChip {
            config,
            rng: Drbg::new(seed),
            in_application: false,
            selected: None,
            challenge: None,
            pace: PaceState::Idle,
            sm: None,
            ca_selected: None,
            next_sm: None,
            apdus: 0,
            served: 0,
            room: None,
            pending: None,
            glitched: false,
        }
    }

    /// A file as the chip holds it (e.g. EF.SOD, to know its hash).
    pub fn file(&self, file: File) -> Option<&[u8]> {
        self.config.files.get(&file).map(Vec::as_slice)
    }

    /// Whether the chip has stopped answering ([`Hostile::StallAfter`]):
    /// a reader's transmit then times out.
    pub fn stalled(&self) -> bool {
        self.config
            .hostile
            .iter()
            .any(|h| matches!(h, Hostile::StallAfter { bytes } if self.served >= *bytes))
    }

    fn rule(&self, matches: impl Fn(&Hostile) -> bool) -> Option<&Hostile> {
        self.config.hostile.iter().find(|h| matches(h))
    }

    /// The ATR a contactless PC/SC reader reports: `3B 8n 80 01` with the
    /// historical bytes `80 73 C0 21 C0` (card capabilities: full DF name
    /// selection, and extended Lc/Le when the chip takes them).
    pub fn atr(&self) -> Vec<u8> {
        let caps3 = if self.config.extended_length {
            0xC0
        } else {
            0x80
        };
        let historical = [0x80, 0x73, 0xC0, 0x21, caps3];
        let mut atr = vec![0x3B, 0x80 | 5, 0x80, 0x01];
        atr.extend_from_slice(&historical);
        let tck = atr[1..].iter().fold(0u8, |a, b| a ^ b);
        atr.push(tck);
        atr
    }

    /// A new activation: volatile state is lost.
    pub fn reset(&mut self) {
        self.in_application = false;
        self.selected = None;
        self.challenge = None;
        self.pace = PaceState::Idle;
        self.sm = None;
        self.ca_selected = None;
        self.next_sm = None;
        self.apdus = 0;
        self.pending = None;
    }

    /// APDUs answered since the last reset.
    pub fn apdus(&self) -> u64 {
        self.apdus
    }

    /// Answers one command APDU.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.process_with(apdu, &mut NoTamper)
    }

    /// Answers one command APDU, letting `tamper` change each answer under
    /// secure messaging before the chip protects it (and the protected
    /// objects before the MAC), so the answer still carries a valid MAC:
    /// how the fuzz target `reader_sm` reaches the file parsers, Active and
    /// Chip Authentication past `sm::unprotect`.
    pub fn process_with(&mut self, apdu: &[u8], tamper: &mut dyn Tamper) -> Vec<u8> {
        if self.stalled() {
            return Vec::new();
        }
        if self.rule(|h| *h == Hostile::GetResponse).is_none() {
            return self.answer(apdu, tamper);
        }
        // T=0: GET RESPONSE (`00 C0 00 00 Le`) hands out what waits.
        if let [0x00, 0xC0, 0x00, 0x00, le] = apdu
            && let Some((data, sw)) = self.pending.take()
        {
            self.apdus += 1;
            let le = if *le == 0 { 256 } else { usize::from(*le) };
            let n = le.min(data.len());
            let mut out = data[..n].to_vec();
            let rest = data[n..].to_vec();
            if rest.is_empty() {
                out.extend_from_slice(&sw);
            } else {
                out.extend_from_slice(&[0x61, announce(rest.len())]);
                self.pending = Some((rest, sw));
            }
            return out;
        }
        self.pending = None;
        let answer = self.answer(apdu, tamper);
        match answer.split_last_chunk::<2>() {
            Some((data, sw)) if !data.is_empty() => {
                let out = vec![0x61, announce(data.len())];
                self.pending = Some((data.to_vec(), *sw));
                out
            }
            _ => answer,
        }
    }

    fn answer(&mut self, apdu: &[u8], tamper: &mut dyn Tamper) -> Vec<u8> {
        self.apdus += 1;
        // Extended length: `00` then two length bytes after the header.
        let extended = apdu.len() >= 7 && apdu[4] == 0;
        let refusal = self
            .rule(|h| matches!(h, Hostile::RefuseExtended(_)))
            .and_then(|h| match h {
                Hostile::RefuseExtended(r) => Some(*r),
                _ => None,
            });
        if let Some(refusal) = refusal.filter(|_| extended) {
            self.sm = None;
            return match refusal {
                ExtendedRefusal::WrongLength => StatusWord::WRONG_LENGTH.0.to_be_bytes().to_vec(),
                ExtendedRefusal::WrongLe => vec![0x6C, 0x00],
                ExtendedRefusal::Transport => GARBLED.to_vec(),
            };
        }
        let glitch = self
            .rule(|h| matches!(h, Hostile::GlitchAfter { .. }))
            .and_then(|h| match h {
                Hostile::GlitchAfter { bytes } => Some(*bytes),
                _ => None,
            });
        if let Some(bytes) = glitch
            && !self.glitched
            && self.served >= bytes
            && matches!(apdu.get(1), Some(0xB0 | 0xB1))
        {
            self.glitched = true;
            self.sm = None;
            return GARBLED.to_vec();
        }
        let Ok(command) = Command::decode(apdu) else {
            return StatusWord::WRONG_LENGTH.0.to_be_bytes().to_vec();
        };
        if command.cla & 0x0C == 0x0C {
            let Some(sm) = self.sm.as_mut() else {
                return StatusWord::SM_OBJECTS_MISSING.0.to_be_bytes().to_vec();
            };
            let plain = match sm.unprotect_command(&command) {
                Ok(p) => p,
                Err(_) => {
                    self.sm = None;
                    return StatusWord::SM_OBJECTS_INCORRECT.0.to_be_bytes().to_vec();
                }
            };
            // ISO/IEC 7816-4 §5.1: the answer's data field holds at most
            // the Ne of the command as sent (256 for a short APDU, which
            // 9303 readers send with Le '00'): a READ BINARY is cut so that
            // its protected answer fits, and the reader reads on.
            let block = if sm.is_aes() { 16 } else { 8 };
            self.room = Some(plain_room(command.le.unwrap_or(256), block));
            let (mut data, mut status) = self.execute(&plain);
            self.room = None;
            tamper.plain(plain.ins, &mut data, &mut status);
            let read = matches!(plain.ins, 0xB0 | 0xB1)
                .then_some(self.selected)
                .flatten();
            let duplicate = read.is_some_and(|f| {
                self.rule(|h| *h == Hostile::DuplicateCryptogram { file: f })
                    .is_some()
            });
            let omit = read.is_some_and(|f| {
                self.rule(|h| *h == Hostile::OmitStatus { file: f })
                    .is_some()
            });
            let append = read.and_then(|f| {
                self.rule(|h| matches!(h, Hostile::AppendAfterMac { file, .. } if *file == f))
                    .and_then(|h| match h {
                        Hostile::AppendAfterMac { bytes, .. } => Some(bytes.clone()),
                        _ => None,
                    })
            });
            let edit = |objects: &mut Vec<u8>| {
                tamper.objects(objects);
                let first = tlv::parse(objects)
                    .ok()
                    .map(|(t, _)| (t.tag, t.raw.to_vec()));
                if let Some((0x87, raw)) = first.as_ref().filter(|_| duplicate) {
                    objects.splice(0..0, raw.iter().copied());
                }
                if omit {
                    // Drop the `99` (the last object before the MAC).
                    let len = objects.len();
                    objects.truncate(len.saturating_sub(4));
                }
            };
            let mut response = match self
                .sm
                .as_mut()
                .map(|sm| sm.protect_response_with(&data, status, edit))
            {
                Some(Ok(r)) => r,
                _ => StatusWord::SM_OBJECTS_INCORRECT.0.to_be_bytes().to_vec(),
            };
            if let Some(bytes) = append {
                let at = response.len().saturating_sub(2);
                response.splice(at..at, bytes);
            }
            // Chip authentication: the answer goes out under the old keys,
            // everything after under the new ones.
            if let Some(next) = self.next_sm.take() {
                self.sm = Some(next);
            }
            return response;
        }
        // A plain command ends any secure-messaging session.
        if !matches!(command.ins, 0x86 | 0x22) {
            self.sm = None;
        }
        let (data, status) = self.execute(&command);
        encode_response(&data, status)
    }

    fn authenticated(&self) -> bool {
        self.sm.is_some()
    }

    fn execute(&mut self, c: &Command) -> (Vec<u8>, StatusWord) {
        match (c.ins, c.p1, c.p2) {
            (0xA4, 0x04, p2) => self.select_application(&c.data, p2),
            (0xA4, 0x00, _) => sw(StatusWord::INS_NOT_SUPPORTED),
            (0xA4, 0x02, _) => self.select_file(&c.data),
            (0xB0, p1, p2) => self.read_binary(p1, p2, c.le.unwrap_or(256)),
            (0xB1, _, _) => self.read_binary_odd(&c.data, c.le.unwrap_or(256)),
            (0x84, 0, 0) => self.get_challenge(),
            (0x82, 0, 0) => self.external_authenticate(&c.data),
            (0x22, 0xC1, 0xA4) => self.mse_set_at(&c.data),
            (0x22, 0x41, 0xA4) => self.mse_set_at_ca(&c.data),
            (0x86, 0, 0) if self.ca_selected.is_some() => self.chip_authenticate(&c.data),
            (0x86, 0, 0) => self.general_authenticate(&c.data),
            (0x88, 0, 0) => self.internal_authenticate(&c.data),
            _ => sw(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn mse_set_at_ca(&mut self, data: &[u8]) -> (Vec<u8>, StatusWord) {
        if self.config.ca_key.is_none() || !self.authenticated() {
            return sw(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        match tlv::find(data, 0x80) {
            Ok(Some(oid)) => {
                self.ca_selected = Some(oid.value.to_vec());
                sw(StatusWord::SUCCESS)
            }
            _ => sw(StatusWord::WRONG_DATA),
        }
    }

    fn chip_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, StatusWord) {
        let (Some(key), Some(oid)) = (self.config.ca_key.clone(), self.ca_selected.take()) else {
            return sw(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        // id-CA-ECDH-AES-CBC-CMAC-* for the key's cipher, as DG14 offers.
        let mut offered = vec![0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02];
        offered.push(key.cipher.oid_arc());
        if oid != offered {
            return sw(StatusWord::WRONG_DATA);
        }
        let Some(public) = tlv::expect(data, 0x7C)
            .ok()
            .and_then(|d| d.child(0x80).ok().flatten())
            .map(|t| t.value.to_vec())
        else {
            return sw(StatusWord::WRONG_DATA);
        };
        let keys = crate::icao::ca::session_keys(key.curve, key.cipher, &key.private, &public);
        match keys.and_then(|(enc, mac)| SecureMessaging::aes(&enc, &mac).map_err(Into::into)) {
            Ok(next) => {
                self.next_sm = Some(next);
                (tlv::to_vec(0x7C, &[]), StatusWord::SUCCESS)
            }
            Err(_) => sw(StatusWord::WRONG_DATA),
        }
    }

    fn internal_authenticate(&mut self, challenge: &[u8]) -> (Vec<u8>, StatusWord) {
        let Some(key) = self.config.aa_key.clone() else {
            return sw(StatusWord::INS_NOT_SUPPORTED);
        };
        if !self.authenticated() {
            return sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let mut challenge = challenge.to_vec();
        let wrong = self.rule(|h| *h == Hostile::AaWrongSignature).is_some();
        if let Some(b) = challenge.first_mut().filter(|_| wrong) {
            // A valid signature, over another challenge.
            *b ^= 1;
        }
        let (curve, hash, key) = match key {
            AaKey::Ecdsa { curve, hash, key } => (curve, hash, key),
            AaKey::Rsa(key) => return self.sign_9796_2(&key, &challenge),
        };
        match crate::icao::ec_signature::sign_plain(curve, &key, &hash.digest(&challenge)) {
            Ok(sig) => (sig, StatusWord::SUCCESS),
            Err(_) => sw(StatusWord::UNKNOWN),
        }
    }

    /// ISO/IEC 9796-2 scheme 1 with SHA-256: s = F^d mod n for
    /// F = 6A ‖ M1 ‖ SHA-256(M1 ‖ challenge) ‖ 34 CC, M1 random.
    fn sign_9796_2(&mut self, key: &rsa::PrivateKey, challenge: &[u8]) -> (Vec<u8>, StatusWord) {
        let k = key.size();
        let Some(m1_len) = k.checked_sub(1 + 32 + 2) else {
            return sw(StatusWord::UNKNOWN);
        };
        let mut m1 = vec![0u8; m1_len];
        self.rng.fill(&mut m1);
        let mut f = vec![0x6A];
        f.extend_from_slice(&m1);
        f.extend(crate::icao::pa::HashAlgorithm::Sha256.digest(&[&m1[..], challenge].concat()));
        f.extend_from_slice(&[0x34, 0xCC]);
        let Ok(f) = rsa::BoxedUint::from_be_slice(&f, key.n_bits_precision()) else {
            return sw(StatusWord::UNKNOWN);
        };
        let mut rng = ChipRng(&mut self.rng);
        match rsa::hazmat::rsa_decrypt_and_check(key, Some(&mut rng), &f) {
            Ok(s) => {
                let bytes = s.to_be_bytes();
                let skip = bytes.len().saturating_sub(k);
                (bytes[skip..].to_vec(), StatusWord::SUCCESS)
            }
            Err(_) => sw(StatusWord::UNKNOWN),
        }
    }

    fn select_application(&mut self, aid: &[u8], p2: u8) -> (Vec<u8>, StatusWord) {
        let only = self
            .rule(|h| matches!(h, Hostile::SelectAidP2(_)))
            .and_then(|h| match h {
                Hostile::SelectAidP2(p2) => Some(*p2),
                _ => None,
            });
        if only.is_some_and(|only| only != p2) {
            return sw(StatusWord::INCORRECT_P1P2);
        }
        if aid == AID {
            self.in_application = true;
            self.selected = None;
            // P2 = 00 returns the FCI: the DF name.
            let fci = if p2 == 0x00 {
                tlv::to_vec(0x6F, &tlv::to_vec(0x84, &AID))
            } else {
                Vec::new()
            };
            (fci, StatusWord::SUCCESS)
        } else {
            sw(StatusWord::FILE_NOT_FOUND)
        }
    }

    fn accessible(&self, file: File) -> Result<(), StatusWord> {
        if !self.config.files.contains_key(&file) {
            return Err(StatusWord::FILE_NOT_FOUND);
        }
        if let Some(Hostile::Refuse { sw, .. }) =
            self.rule(|h| matches!(h, Hostile::Refuse { file: f, .. } if *f == file))
        {
            return Err(*sw);
        }
        match file {
            File::CardAccess => Ok(()),
            _ if !self.in_application => Err(StatusWord::FILE_NOT_FOUND),
            // DG3 and DG4 need extended access control, which the kiosk
            // does not run: the CCCD answers 6982.
            File::Dg(3 | 4) => Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
            _ if !self.authenticated() => Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
            _ => Ok(()),
        }
    }

    fn select_file(&mut self, fid: &[u8]) -> (Vec<u8>, StatusWord) {
        let [hi, lo] = fid else {
            return sw(StatusWord::WRONG_DATA);
        };
        let Some(file) = File::from_fid(u16::from_be_bytes([*hi, *lo])) else {
            return sw(StatusWord::FILE_NOT_FOUND);
        };
        match self.accessible(file) {
            Ok(()) => {
                self.selected = Some(file);
                sw(StatusWord::SUCCESS)
            }
            Err(status) => sw(status),
        }
    }

    fn read(
        &mut self,
        file: File,
        offset: usize,
        le: usize,
        room: Option<usize>,
    ) -> (Vec<u8>, StatusWord) {
        if let Err(status) = self.accessible(file) {
            return sw(status);
        }
        let genuine = self.config.files.get(&file).map_or(&[][..], Vec::as_slice);
        let declared = self
            .rule(|h| matches!(h, Hostile::DeclaredLength { file: f, .. } if *f == file))
            .and_then(|h| match h {
                Hostile::DeclaredLength { length, .. } => Some(declare(genuine, *length)),
                _ => None,
            });
        let content = declared.as_deref().unwrap_or(genuine);
        let max = if self.config.extended_length {
            65_536
        } else {
            256
        };
        if le > max {
            return sw(StatusWord::WRONG_LENGTH);
        }
        if offset > content.len() {
            return sw(StatusWord::WRONG_P1P2);
        }
        let drip = self
            .rule(|h| matches!(h, Hostile::Drip { .. }))
            .filter(|_| self.authenticated())
            .and_then(|h| match h {
                Hostile::Drip { max } => Some(*max),
                _ => None,
            });
        if self.rule(|h| *h == Hostile::ExactLe).is_some()
            && le < 256
            && content.len() - offset < le
        {
            // `6Cxx`: the exact number of bytes left.
            let left = u8::try_from(content.len() - offset).unwrap_or(0);
            return sw(StatusWord::new(0x6C, left));
        }
        let end = offset.saturating_add(le).min(content.len());
        let (end, status) = match room {
            // Cut to what a protected answer can carry: not the end of
            // the file, the reader asks for the rest.
            Some(room) if end - offset > room => (offset + room, StatusWord::SUCCESS),
            _ if end - offset < le && le != 256 && le != 65_536 => (end, StatusWord::END_OF_FILE),
            _ => (end, StatusWord::SUCCESS),
        };
        let end = drip.map_or(end, |max| end.min(offset.saturating_add(max.max(1))));
        let data = content[offset..end].to_vec();
        self.served += data.len();
        (data, status)
    }

    fn read_binary(&mut self, p1: u8, p2: u8, le: usize) -> (Vec<u8>, StatusWord) {
        let (file, offset) = if p1 & 0x80 != 0 {
            if let Some(Hostile::RefuseSfi { sw: refusal }) =
                self.rule(|h| matches!(h, Hostile::RefuseSfi { .. }))
            {
                return sw(*refusal);
            }
            let Some(file) = File::from_sfi(p1 & 0x1F) else {
                return sw(StatusWord::FILE_NOT_FOUND);
            };
            if let Err(status) = self.accessible(file) {
                return sw(status);
            }
            self.selected = Some(file);
            (file, usize::from(p2))
        } else {
            let Some(file) = self.selected else {
                return sw(StatusWord::COMMAND_NOT_ALLOWED);
            };
            (file, usize::from(u16::from_be_bytes([p1 & 0x7F, p2])))
        };
        let room = self.room;
        self.read(file, offset, le, room)
    }

    fn read_binary_odd(&mut self, data: &[u8], le: usize) -> (Vec<u8>, StatusWord) {
        let Some(file) = self.selected else {
            return sw(StatusWord::COMMAND_NOT_ALLOWED);
        };
        let Ok(Some(offset)) = tlv::find(data, 0x54) else {
            return sw(StatusWord::WRONG_DATA);
        };
        let offset = offset
            .value
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        // The content goes into `53 len …` (up to 4 bytes more).
        let room = self.room.map(|r| r.saturating_sub(4));
        let (content, status) = self.read(file, offset, le.saturating_sub(4), room);
        if content.is_empty() && !status.is_success() {
            return (content, status);
        }
        (tlv::to_vec(0x53, &content), status)
    }

    fn get_challenge(&mut self) -> (Vec<u8>, StatusWord) {
        if !self.config.bac {
            return sw(StatusWord::INS_NOT_SUPPORTED);
        }
        let challenge = self.rng.bytes::<8>();
        self.challenge = Some(challenge);
        (challenge.to_vec(), StatusWord::SUCCESS)
    }

    fn external_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, StatusWord) {
        let Some(rnd_ic) = self.challenge.take() else {
            return sw(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        let keys = BacKeys::from_mrz_information(&self.config.mrz_information);
        let k_ic = self.rng.bytes::<16>();
        match bac::chip_respond(&keys, &rnd_ic, &k_ic, data) {
            Ok((answer, session)) => {
                self.sm = Some(SecureMessaging::tdes(
                    session.ks_enc,
                    session.ks_mac,
                    session.ssc,
                ));
                (answer.to_vec(), StatusWord::SUCCESS)
            }
            Err(_) => sw(StatusWord::VERIFICATION_FAILED),
        }
    }

    fn mse_set_at(&mut self, data: &[u8]) -> (Vec<u8>, StatusWord) {
        self.sm = None;
        if self
            .rule(|h| *h == Hostile::RefusePace(PaceRefusal::Mse))
            .is_some()
        {
            return sw(StatusWord::WRONG_DATA);
        }
        let Some(info) = self.config.pace.clone() else {
            return sw(StatusWord::INCORRECT_P1P2);
        };
        let oid = tlv::find(data, 0x80).ok().flatten().map(|t| t.value);
        let reference = tlv::find(data, 0x83).ok().flatten().map(|t| t.value);
        if oid != Some(&info.oid[..]) {
            return sw(StatusWord::WRONG_DATA);
        }
        let password = match reference {
            Some([1]) => Password::Mrz(self.config.mrz_information.clone()),
            Some([2]) => match &self.config.can {
                Some(can) => Password::Can(can.clone()),
                None => return sw(StatusWord::REFERENCE_DATA_NOT_USABLE),
            },
            _ => return sw(StatusWord::WRONG_DATA),
        };
        match password.k_pi(info.cipher) {
            Ok(k_pi) => {
                self.pace = PaceState::Selected { info, k_pi };
                sw(StatusWord::SUCCESS)
            }
            Err(_) => sw(StatusWord::WRONG_DATA),
        }
    }

    fn general_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, StatusWord) {
        let Ok(dynamic) = tlv::expect(data, 0x7C) else {
            return sw(StatusWord::WRONG_DATA);
        };
        let state = std::mem::replace(&mut self.pace, PaceState::Idle);
        if matches!(state, PaceState::Selected { .. })
            && self
                .rule(|h| *h == Hostile::RefusePace(PaceRefusal::GeneralAuthenticate))
                .is_some()
        {
            return sw(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        let result = match state {
            PaceState::Selected { info, k_pi } => {
                let fault =
                    self.rule(|h| matches!(h, Hostile::PaceNonce(_)))
                        .and_then(|h| match h {
                            Hostile::PaceNonce(fault) => Some(*fault),
                            _ => None,
                        });
                let block = info.cipher.block_len();
                let nonce = Zeroizing::new(match fault {
                    Some(NonceFault::Zero) => vec![0; block],
                    _ => self.rng.bytes::<16>()[..block].to_vec(),
                });
                pace::encrypt_nonce_with(info.cipher, &k_pi, &nonce).map(|mut z| {
                    match fault {
                        Some(NonceFault::Empty) => z.clear(),
                        Some(NonceFault::Short) => z.truncate(block / 2),
                        _ => {}
                    }
                    self.pace = PaceState::NonceSent { info, nonce };
                    tlv::to_vec(0x80, &z)
                })
            }
            PaceState::NonceSent { info, nonce } => {
                let pk_map_ifd = dynamic
                    .child(0x81)
                    .ok()
                    .flatten()
                    .map(|t| t.value.to_vec())
                    .unwrap_or_default();
                let sk = self.rng.private_key(info.curve);
                info.curve.public_key(&sk).and_then(|pk_map_ic| {
                    if pk_map_ic == pk_map_ifd {
                        return Err(pace::PaceError::EchoedKey);
                    }
                    let h = info.curve.multiply(&pk_map_ifd, &sk)?;
                    let generator = info.curve.map(&nonce, &h)?;
                    self.pace = PaceState::Mapped { info, generator };
                    Ok(tlv::to_vec(0x82, &pk_map_ic))
                })
            }
            PaceState::Mapped { info, generator } => {
                let pk_ifd = dynamic
                    .child(0x83)
                    .ok()
                    .flatten()
                    .map(|t| t.value.to_vec())
                    .unwrap_or_default();
                let sk = self.rng.private_key(info.curve);
                (|| {
                    let pk_ic = info.curve.public_key_on(&generator, &sk)?;
                    if pk_ic == pk_ifd {
                        return Err(pace::PaceError::EchoedKey);
                    }
                    let shared = info.curve.x(&info.curve.multiply(&pk_ifd, &sk)?)?;
                    let (ks_enc, ks_mac) = pace::session_keys(&shared, info.cipher)?;
                    let out = tlv::to_vec(0x84, &pk_ic);
                    self.pace = PaceState::Agreed {
                        info,
                        ks_enc,
                        ks_mac,
                        pk_ic,
                        pk_ifd,
                    };
                    Ok(out)
                })()
            }
            PaceState::Agreed {
                info,
                ks_enc,
                ks_mac,
                pk_ic,
                pk_ifd,
            } => {
                let t_ifd = dynamic
                    .child(0x85)
                    .ok()
                    .flatten()
                    .map(|t| t.value.to_vec())
                    .unwrap_or_default();
                (|| {
                    let expected = pace::auth_token_with(info.cipher, &ks_mac, &info.oid, &pk_ic)?;
                    pace::verify_token(&expected, &t_ifd)?;
                    let t_ic = pace::auth_token_with(info.cipher, &ks_mac, &info.oid, &pk_ifd)?;
                    self.sm = Some(pace::secure_messaging(info.cipher, &ks_enc, &ks_mac)?);
                    Ok(tlv::to_vec(0x86, &t_ic))
                })()
            }
            PaceState::Idle => return sw(StatusWord::CONDITIONS_NOT_SATISFIED),
        };
        match result {
            Ok(objects) => (tlv::to_vec(0x7C, &objects), StatusWord::SUCCESS),
            // A wrong password shows as a token mismatch: 6300, as the CCCD.
            Err(_) => {
                self.pace = PaceState::Idle;
                sw(StatusWord::VERIFICATION_FAILED)
            }
        }
    }
}

/// What a transport glitch leaves of an answer: one byte, shorter than a
/// status word, which the readers report as a transport error (an empty
/// answer would leave vpcd waiting).
const GARBLED: [u8; 1] = [0x6F];

/// SW2 of `61xx` for `len` bytes waiting (`00`: 256 or more).
fn announce(len: usize) -> u8 {
    u8::try_from(len).unwrap_or(0)
}

/// `content` (one BER-TLV file) with its header declaring `length` bytes
/// of value in a 4-byte length, the value unchanged.
fn declare(content: &[u8], length: u32) -> Vec<u8> {
    let Ok((file, _)) = tlv::parse(content) else {
        return content.to_vec();
    };
    let tag_len = if file.raw.first().is_some_and(|b| b & 0x1F == 0x1F) {
        2
    } else {
        1
    };
    let mut out = file.raw[..tag_len.min(file.raw.len())].to_vec();
    out.push(0x84);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(file.value);
    out
}

/// The chip's seeded generator as a `rand_core` RNG (RSA blinding).
struct ChipRng<'a>(&'a mut Drbg);

impl rsa::rand_core::TryRng for ChipRng<'_> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from_be_bytes(self.0.bytes::<4>()))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from_be_bytes(self.0.bytes::<8>()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill(dst);
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for ChipRng<'_> {}
