//! The document reader: a sans-IO machine that turns access keys into APDUs
//! and the chip's answers into the document's files (DESIGN.md §2).
//!
//! ```text
//! SELECT EF.CardAccess ─► READ ─► for each key: PACE (MSE, GA ×4) | BAC (SELECT AID, GET CHALLENGE, EXT AUTH)
//!   ─► [after PACE: SELECT AID] ─► READ EF.COM ─► READ DG1, DG13, DG14, DG15, EF.SOD, DG2 ─► Done
//! ```
//!
//! Feed it with [`DocumentReader::handle_response`] (the response APDU) or
//! [`DocumentReader::handle_transport_error`], drain it with
//! [`DocumentReader::poll_output`]. It never touches a device, a clock or
//! an entropy source: the caller transmits and passes a seed.
//!
//! Fewest round trips: files are read by short file identifier (no SELECT),
//! the first READ BINARY asks for a whole block (no separate 4-byte header
//! read), and when the chip and the reader take extended length a whole
//! file comes in one APDU; otherwise blocks of 0xDF bytes, the most that
//! fits a short response under secure messaging. A secure-messaging failure
//! mid-read (a torn read) re-runs access control with the key that worked
//! and continues at the same offset.
//!
//! Chips and readers the kiosk has never met get a way around what they
//! refuse, decided at run time and reported in [`Document::fallbacks`]
//! ([`Fallback`]): READ BINARY by short file identifier refused → SELECT by
//! file identifier for the rest of the session; extended length refused →
//! short APDUs; `6Cxx` → the command again with the Le the chip names;
//! `61xx` → GET RESPONSE until the last part; no EF.CardAccess or PACE
//! refused → BAC; SELECT of the application refused with one P2 → the
//! other; a transport glitch mid-file → access control again and the read
//! goes on where it stopped (bounded).
//!
//! The chip is not trusted (9303-11 §4.4, §9.8; the kiosk's threat model
//! in docs/security.md): what it does against the protocol ends the read
//! with [`ReadError::Hostile`] and the [`Violation`], at once, with no
//! retry. A file may not declare more than its cap
//! ([`ReadOptions::max_file_len`], [`ReadOptions::max_dg2_len`]), the whole
//! read has an APDU budget ([`ReadOptions::max_apdus`]), and which data
//! groups are read does not depend on the unsigned EF.COM alone: once
//! EF.SOD is in, every wanted group it lists is read too, and a listed
//! group the chip refuses stays in [`Document::unavailable`] for the trust
//! policy to refuse (see [`Document::missing_listed_groups`]).

use super::bac::{self, BacKeys};
use super::keys::KeyCandidate;
use super::lds::{AID, Com, File};
use super::mrz::mrz_information;
use super::pace::{self, PaceInfo, Password};
use super::random::Drbg;
use super::sm::{SecureMessaging, SmError};
use crate::apdu::tlv;
use crate::apdu::{Command, Response, StatusWord};
use kiosk_hal::ErrorKind;
use std::collections::{BTreeMap, VecDeque};
use zeroize::{Zeroize, Zeroizing};

/// The largest READ BINARY block in a short APDU under secure messaging:
/// 0xDF data bytes pad to 224, which with `87 81 E1 01`, `99` and `8E`
/// fills 242 of the 256 response bytes.
pub const SHORT_BLOCK: usize = 0xDF;

/// How chip authentication went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChipAuthentication {
    /// DG14 holds no ChipAuthenticationPublicKeyInfo (or no DG14 was read):
    /// the chip offers no chip authentication.
    NotOffered,
    /// DG14 offers chip authentication with a key or protocol this reader
    /// lacks (DH, another curve, 3DES): it was not run, and must not pass.
    Unsupported,
    /// DG14 does not parse as SecurityInfos: chip authentication could not
    /// be looked for.
    Malformed,
    /// The chip answered under the new keys: it holds DG14's private key.
    Confirmed,
    /// The chip refused MSE:Set AT or GENERAL AUTHENTICATE.
    Refused,
}

/// An Active Authentication challenge and the chip's answer (or refusal).
pub type AaExchange = ([u8; 8], Result<Vec<u8>, StatusWord>);

/// A way around something a chip or a reader refused, taken at run time.
/// The codes ([`Fallback::code`]) are stable: `kioskctl card read --json`
/// and the runtime's `card_read` audit entry show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// READ BINARY by short file identifier was refused (`6A82`, `6A86`,
    /// `6D00`, `6E00`, `6986`): files are selected by file identifier and
    /// read by offset for the rest of the session.
    SelectByFileId,
    /// Extended length was refused (`6700`, a wrong-length `6Cxx`, or a
    /// transport error on the first extended APDU): short APDUs for the
    /// rest of the session.
    ShortApdus,
    /// The chip answered `6Cxx`: the command was sent again with Le = xx.
    LeFromChip,
    /// The chip answered `61xx` (a T=0 reader): GET RESPONSE fetched the
    /// rest.
    GetResponse,
    /// No EF.CardAccess, or none with a PACE this reader runs: BAC.
    BacWithoutPace,
    /// The chip refused PACE (MSE:Set AT or GENERAL AUTHENTICATE): BAC
    /// with the same MRZ.
    BacAfterPaceRefused,
    /// The chip refused SELECT of the eMRTD application with one P2 (`0C`
    /// or `00`) and took the other.
    SelectAidP2,
    /// The transport failed mid-file: access control ran again and the
    /// read went on at the same offset.
    ResumedAfterGlitch,
}

impl Fallback {
    /// Every fallback, in the order of [`Fallbacks::iter`].
    pub const ALL: [Fallback; 8] = [
        Fallback::SelectByFileId,
        Fallback::ShortApdus,
        Fallback::LeFromChip,
        Fallback::GetResponse,
        Fallback::BacWithoutPace,
        Fallback::BacAfterPaceRefused,
        Fallback::SelectAidP2,
        Fallback::ResumedAfterGlitch,
    ];

    /// The stable code (snake case, as serialized).
    pub fn code(self) -> &'static str {
        match self {
            Fallback::SelectByFileId => "select_by_file_id",
            Fallback::ShortApdus => "short_apdus",
            Fallback::LeFromChip => "le_from_chip",
            Fallback::GetResponse => "get_response",
            Fallback::BacWithoutPace => "bac_without_pace",
            Fallback::BacAfterPaceRefused => "bac_after_pace_refused",
            Fallback::SelectAidP2 => "select_aid_p2",
            Fallback::ResumedAfterGlitch => "resumed_after_glitch",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The fallbacks a read took (a set; serialized as a list of codes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Fallbacks(u16);

impl Fallbacks {
    /// Adds one.
    pub fn insert(&mut self, fallback: Fallback) {
        self.0 |= fallback.bit();
    }

    /// Whether the read took `fallback`.
    pub fn contains(self, fallback: Fallback) -> bool {
        self.0 & fallback.bit() != 0
    }

    /// Whether the read took none.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fallbacks taken, in [`Fallback::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Fallback> {
        Fallback::ALL.into_iter().filter(move |f| self.contains(*f))
    }

    /// Their codes.
    pub fn codes(self) -> Vec<&'static str> {
        self.iter().map(Fallback::code).collect()
    }
}

impl serde::Serialize for Fallbacks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// The status words that refuse READ BINARY by short file identifier on a
/// chip that has the file (9303-10 makes SFIs optional for the chip).
pub const SFI_REFUSALS: [StatusWord; 5] = [
    StatusWord::FILE_NOT_FOUND,
    StatusWord::INCORRECT_P1P2,
    StatusWord::INS_NOT_SUPPORTED,
    StatusWord::CLA_NOT_SUPPORTED,
    StatusWord::COMMAND_NOT_ALLOWED,
];

/// The default cap on DG2's declared length (a CCCD's photo is ~20 KiB).
pub const DEFAULT_MAX_DG2_LEN: usize = 128 * 1024;
/// The default cap on every other file's declared length.
pub const DEFAULT_MAX_FILE_LEN: usize = 16 * 1024;
/// Data groups that need extended access control (fingerprints, iris):
/// the kiosk does not read them, so a SOD that lists them and a chip that
/// refuses them are expected. The only groups exempt, by name, from "every
/// listed group must be read".
pub const EAC_PROTECTED_GROUPS: [u8; 2] = [3, 4];

/// What a chip did against the protocol: each is proof of a hostile (or
/// broken) chip or an RF relay, and ends the read at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// PACE's encrypted nonce is not exactly one cipher block (e.g. empty,
    /// which zero-padded would give s = 0).
    #[error("the PACE nonce is {len} bytes, not one cipher block")]
    PaceNonceLength {
        /// Its length in bytes.
        len: usize,
    },
    /// PACE's decrypted nonce is zero.
    #[error("the PACE nonce is zero")]
    PaceNonceZero,
    /// A file declares a length above its cap ([`ReadOptions`]).
    #[error("{file:?} declares {declared} bytes, more than allowed")]
    FileTooLarge {
        /// The file.
        file: File,
        /// The length its header declares.
        declared: u64,
    },
    /// The read needed more APDUs than its budget (a chip that answers a
    /// byte at a time).
    #[error("the chip needed more than {limit} commands")]
    TooManyCommands {
        /// The budget.
        limit: u32,
    },
    /// A structural secure-messaging violation ([`SmError::is_structural`]):
    /// an object after the MAC, a duplicate object, no status object.
    #[error("secure messaging violated: {0}")]
    SecureMessaging(SmError),
}

/// How to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Whether both the chip and the reader take extended length.
    pub extended_length: bool,
    /// The block size for short READ BINARY (at most [`SHORT_BLOCK`]).
    pub short_block: usize,
    /// The data groups wanted (read when EF.COM lists them).
    pub data_groups: Vec<u8>,
    /// Whether to read EF.SOD.
    pub sod: bool,
    /// Read as JMRTD does by default, for comparison: SELECT each file by
    /// its identifier, read an 8-byte header to learn the length, then
    /// blocks of `short_block`, short APDUs only.
    pub jmrtd_style: bool,
    /// The most DG2 may declare (bytes); more ends the read with
    /// [`Violation::FileTooLarge`].
    pub max_dg2_len: usize,
    /// The most any other file may declare (bytes).
    pub max_file_len: usize,
    /// The most APDUs the whole read may take; `None`: derived from the
    /// caps ([`ReadOptions::apdu_budget`]). More ends the read with
    /// [`Violation::TooManyCommands`].
    pub max_apdus: Option<u32>,
}

impl ReadOptions {
    /// The APDU budget for a read with `keys` key candidates: the explicit
    /// [`ReadOptions::max_apdus`], or enough for every file at its cap in
    /// short blocks of 0xDF bytes (whatever the chip's block turns out to
    /// be), EF.COM and EF.SOD included, plus 8 APDUs of access control per
    /// key for the first run and each resume, and 32 to spare. About 1 100
    /// with the defaults; a genuine CCCD takes 20 to 120.
    pub fn apdu_budget(&self, keys: usize) -> u32 {
        if let Some(limit) = self.max_apdus {
            return limit;
        }
        let reads = |cap: usize| cap.div_ceil(SHORT_BLOCK) + 2;
        let files: usize = self
            .data_groups
            .iter()
            .map(|n| {
                reads(if *n == 2 {
                    self.max_dg2_len
                } else {
                    self.max_file_len
                })
            })
            .sum::<usize>()
            + 2 * reads(self.max_file_len);
        let access = 8 * keys.max(1) * (1 + (MAX_RESUMES + MAX_GLITCHES) as usize);
        u32::try_from(32 + files + access).unwrap_or(u32::MAX)
    }

    fn cap(&self, file: File) -> usize {
        if file == File::Dg(2) {
            self.max_dg2_len
        } else {
            self.max_file_len
        }
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            extended_length: false,
            short_block: SHORT_BLOCK,
            // Small files first, the photo last: the progress bar moves early.
            data_groups: vec![1, 13, 14, 15, 2],
            sod: true,
            jmrtd_style: false,
            max_dg2_len: DEFAULT_MAX_DG2_LEN,
            max_file_len: DEFAULT_MAX_FILE_LEN,
            max_apdus: None,
        }
    }
}

/// Which access control opened the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessControl {
    /// PACE with the card access number.
    PaceCan,
    /// PACE with the MRZ.
    PaceMrz,
    /// Basic Access Control.
    Bac,
}

/// What was read. Personal data: the file contents are wiped when dropped.
pub struct Document {
    /// EF.COM.
    pub com: Com,
    /// The raw files read (EF.COM, the data groups, EF.SOD).
    pub files: BTreeMap<File, Vec<u8>>,
    /// Files listed but refused (`6982`: locked, e.g. DG3) or absent.
    pub unavailable: Vec<(File, StatusWord)>,
    /// The access control used.
    pub access: AccessControl,
    /// EF.CardAccess, when the chip has one.
    pub card_access: Option<Vec<u8>>,
    /// APDUs exchanged.
    pub apdus: u32,
    /// File bytes read.
    pub bytes: usize,
    /// Access-control runs after a torn read or a transport glitch.
    pub resumed: u32,
    /// The fallbacks the read took.
    pub fallbacks: Fallbacks,
    /// The Active Authentication challenge and the chip's answer, when
    /// DG15 was read.
    pub active_authentication: Option<AaExchange>,
    /// How chip authentication went.
    pub chip_authentication: ChipAuthentication,
}

impl core::fmt::Debug for Document {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Document")
            .field(
                "files",
                &self
                    .files
                    .iter()
                    .map(|(k, v)| (*k, v.len()))
                    .collect::<Vec<_>>(),
            )
            .field("access", &self.access)
            .field("apdus", &self.apdus)
            .field("bytes", &self.bytes)
            .field("fallbacks", &self.fallbacks)
            .finish_non_exhaustive()
    }
}

impl Document {
    /// The data groups EF.SOD lists (its hashes), ascending. An error when
    /// no EF.SOD was read or it does not parse: callers must then refuse.
    pub fn sod_listed_groups(&self) -> Result<Vec<u8>, super::pa::SodError> {
        let sod = self
            .files
            .get(&File::Sod)
            .ok_or_else(|| super::pa::SodError::Malformed("no EF.SOD was read".into()))?;
        let sod = super::pa::parse_sod(sod)?;
        let mut groups: Vec<u8> = sod
            .lds
            .data_group_hash_values
            .iter()
            .map(|h| h.data_group_number)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        Ok(groups)
    }

    /// The groups among `used` (e.g. `[1, 2, 13, 14, 15]`) that EF.SOD
    /// lists but that were not read, with the status the chip refused them
    /// with (`None`: never asked for). The EAC-protected groups
    /// ([`EAC_PROTECTED_GROUPS`]) are exempt. Fail closed: any entry means
    /// the chip withheld signed data; an error means there is no SOD to
    /// tell.
    pub fn missing_listed_groups(
        &self,
        used: &[u8],
    ) -> Result<Vec<(u8, Option<StatusWord>)>, super::pa::SodError> {
        Ok(self
            .sod_listed_groups()?
            .into_iter()
            .filter(|n| used.contains(n) && !EAC_PROTECTED_GROUPS.contains(n))
            .filter(|n| !self.files.contains_key(&File::Dg(*n)))
            .map(|n| {
                let refused = self
                    .unavailable
                    .iter()
                    .find(|(f, _)| *f == File::Dg(n))
                    .map(|(_, sw)| *sw);
                (n, refused)
            })
            .collect())
    }
}

impl Drop for Document {
    fn drop(&mut self) {
        for v in self.files.values_mut() {
            v.zeroize();
        }
    }
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No key candidate opened the chip (`6300`). Remedy: ask for the key
    /// again (scan the QR once more, or type the ID and birth date).
    #[error("no access key opened the chip")]
    WrongAccessKey,
    /// The chip offers no access control this reader can run with the keys
    /// given (e.g. only a CAN and no PACE).
    #[error("the chip offers no access control usable with these keys")]
    NoUsableAccessControl,
    /// The card has no eMRTD application: not an ID card.
    #[error("the card has no eMRTD application")]
    NotAnEmrtd,
    /// The card left the reader.
    #[error("the card was removed")]
    CardRemoved,
    /// The reader failed.
    #[error("the reader failed: {0:?}")]
    Transport(ErrorKind),
    /// The chip answered an unexpected status.
    #[error("{what}: the chip answered {sw}")]
    Chip {
        /// What was being done.
        what: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// The chip failed chip authentication: it does not hold the private
    /// key of DG14, so the data was copied onto another chip.
    #[error("chip authentication failed: a cloned chip")]
    ChipAuthenticationFailed,
    /// Secure messaging failed beyond what resuming could mend.
    #[error(transparent)]
    SecureMessaging(#[from] SmError),
    /// An answer does not parse.
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
    /// The chip violated the protocol in a way no genuine chip does (the
    /// violation says which). Remedy: none; the card is refused, not
    /// retried.
    #[error("a hostile chip: {0}")]
    Hostile(Violation),
    /// The whole read took longer than its deadline (the board's clock; a
    /// chip that stalls or drips). Remedy: present the card again; a card
    /// that always does this is refused.
    #[error("the read exceeded its deadline")]
    DeadlineExceeded,
}

impl Violation {
    /// A stable code for the audit log and `kioskctl` (no personal data).
    pub fn code(&self) -> &'static str {
        match self {
            Violation::PaceNonceLength { .. } => "pace_nonce_length",
            Violation::PaceNonceZero => "pace_nonce_zero",
            Violation::FileTooLarge { .. } => "file_too_large",
            Violation::TooManyCommands { .. } => "too_many_commands",
            Violation::SecureMessaging(SmError::ObjectAfterMac) => "sm_object_after_mac",
            Violation::SecureMessaging(SmError::DuplicateObject(_)) => "sm_duplicate_object",
            Violation::SecureMessaging(SmError::MissingStatus) => "sm_missing_status",
            Violation::SecureMessaging(_) => "sm_violation",
        }
    }
}

impl ReadError {
    /// A stable code for the audit log and `kioskctl` (no personal data):
    /// why the read ended, one code per cause.
    pub fn code(&self) -> String {
        match self {
            ReadError::WrongAccessKey => "wrong_access_key".into(),
            ReadError::NoUsableAccessControl => "no_usable_access_control".into(),
            ReadError::NotAnEmrtd => "not_an_emrtd".into(),
            ReadError::CardRemoved => "card_removed".into(),
            ReadError::Transport(kind) => format!("transport_{kind:?}").to_ascii_lowercase(),
            ReadError::Chip { .. } => "chip_status".into(),
            ReadError::ChipAuthenticationFailed => "ca_failed".into(),
            ReadError::SecureMessaging(_) => "secure_messaging".into(),
            ReadError::Malformed(_) => "malformed_answer".into(),
            ReadError::Hostile(v) => format!("hostile_{}", v.code()),
            ReadError::DeadlineExceeded => "deadline_exceeded".into(),
        }
    }
}

/// An output of the reader.
#[derive(Debug)]
pub enum Output {
    /// Send this command APDU and feed back the response.
    Transmit(Vec<u8>),
    /// Bytes read so far of the bytes known to read.
    Progress {
        /// Read.
        done: usize,
        /// Known in all.
        total: usize,
    },
    /// The read ended.
    Done(Result<Document, ReadError>),
}

/// The step, named for the answer it waits for.
enum Step {
    ExpectCardAccessSelected,
    ExpectCardAccess,
    ExpectMseOk {
        info: PaceInfo,
        password: Password,
    },
    ExpectNonce {
        info: PaceInfo,
        k_pi: Zeroizing<Vec<u8>>,
    },
    ExpectMappingKey {
        info: PaceInfo,
        nonce: Zeroizing<Vec<u8>>,
        sk_map: Zeroizing<Vec<u8>>,
        pk_map: Vec<u8>,
    },
    ExpectEphemeralKey {
        info: PaceInfo,
        sk: Zeroizing<Vec<u8>>,
        pk: Vec<u8>,
    },
    ExpectToken {
        info: PaceInfo,
        ks_enc: Zeroizing<Vec<u8>>,
        ks_mac: Zeroizing<Vec<u8>>,
        pk_ifd: Vec<u8>,
    },
    ExpectApplicationSelected {
        then_bac: bool,
    },
    ExpectChallenge,
    ExpectMutualAuth {
        terminal: Box<bac::Terminal>,
    },
    ExpectFileChunk {
        file: File,
        offset: usize,
        content: Vec<u8>,
        total: Option<usize>,
    },
    /// No key could be tried: is this an eMRTD at all?
    ExpectProbeSelected,
    ExpectAaSignature {
        challenge: [u8; 8],
    },
    ExpectCaSelected {
        info: super::ca::CaInfo,
    },
    ExpectCaAnswer {
        info: super::ca::CaInfo,
        sk: Zeroizing<Vec<u8>>,
    },
    /// Chip authentication switched keys after the last file: one small
    /// read proves the chip has them.
    ExpectCaConfirmation,
    /// JMRTD style, or by file identifier after READ BINARY by short file
    /// identifier was refused (`fallback`): the file was selected; read it
    /// by offset next.
    ExpectFileSelected {
        file: File,
        fallback: bool,
    },
    ExpectFileReselected {
        file: File,
        offset: usize,
        content: Vec<u8>,
        total: Option<usize>,
    },
    Finished,
}

/// The document reader.
pub struct DocumentReader {
    options: ReadOptions,
    keys: Vec<KeyCandidate>,
    next_key: usize,
    /// The key that opened the chip (for resuming).
    working_key: Option<usize>,
    rng: Drbg,
    pace_infos: Vec<PaceInfo>,
    card_access: Option<Vec<u8>>,
    sm: Option<SecureMessaging>,
    step: Step,
    outputs: VecDeque<Output>,
    access: Option<AccessControl>,
    com: Option<Com>,
    queue: VecDeque<File>,
    files: BTreeMap<File, Vec<u8>>,
    unavailable: Vec<(File, StatusWord)>,
    apdus: u32,
    bytes: usize,
    known_total: usize,
    resumed: u32,
    /// Where to continue after re-authenticating.
    resume_at: Option<(File, usize, Vec<u8>, Option<usize>)>,
    active_authentication: Option<AaExchange>,
    ca: CaState,
    /// The APDU budget ([`ReadOptions::apdu_budget`]).
    budget: u32,
    /// Whether EF.SOD's list has been merged into the queue.
    sod_merged: bool,
    done: bool,
    /// The fallbacks taken so far.
    fallbacks: Fallbacks,
    /// Files are selected by file identifier, not read by SFI.
    by_fid: bool,
    /// P2 of SELECT eMRTD application (`0C`, or `00` after a refusal).
    aid_p2: u8,
    /// Whether the other P2 has been tried.
    aid_p2_switched: bool,
    /// The chip refused PACE: MRZ keys go to BAC.
    pace_refused: bool,
    /// The last command sent, before secure messaging (for `6Cxx` and
    /// extended-length refusals).
    last: Option<Command>,
    /// The last command is a `6Cxx` repeat (at most one per command).
    repeated: bool,
    /// The parts of an answer fetched so far by GET RESPONSE (`61xx`).
    chained: Vec<u8>,
    /// Whether an extended-length command has been answered.
    extended_answered: bool,
    /// Access-control runs after a transport glitch.
    glitches: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaState {
    NotOffered,
    Unsupported,
    Malformed,
    /// New keys in use, not yet proven by a response.
    Switched,
    Confirmed,
    Refused,
}

impl core::fmt::Debug for DocumentReader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DocumentReader")
            .field("apdus", &self.apdus)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

const MAX_RESUMES: u32 = 2;
/// Transport glitches mid-file the read resumes after.
const MAX_GLITCHES: u32 = 2;
/// The most bytes GET RESPONSE may gather into one answer.
const MAX_CHAINED: usize = 65_538;

impl DocumentReader {
    /// A reader that will try `keys` in order; `seed` feeds its random
    /// numbers (RND.IFD, K.IFD, PACE keys) and must be fresh OS entropy on a
    /// real kiosk.
    pub fn new(keys: Vec<KeyCandidate>, seed: [u8; 32], options: ReadOptions) -> Self {
        let budget = options.apdu_budget(keys.len());
        let mut reader = DocumentReader {
            options,
            keys,
            next_key: 0,
            working_key: None,
            rng: Drbg::new(seed),
            pace_infos: Vec::new(),
            card_access: None,
            sm: None,
            step: Step::ExpectCardAccessSelected,
            outputs: VecDeque::new(),
            access: None,
            com: None,
            queue: VecDeque::new(),
            files: BTreeMap::new(),
            unavailable: Vec::new(),
            apdus: 0,
            bytes: 0,
            known_total: 0,
            resumed: 0,
            resume_at: None,
            active_authentication: None,
            ca: CaState::NotOffered,
            budget,
            sod_merged: false,
            done: false,
            fallbacks: Fallbacks::default(),
            by_fid: false,
            aid_p2: 0x0C,
            aid_p2_switched: false,
            pace_refused: false,
            last: None,
            repeated: false,
            chained: Vec::new(),
            extended_answered: false,
            glitches: 0,
        };
        // SELECT EF.CardAccess by its file identifier (the CCCD refuses
        // SELECT MF).
        reader.send_plain(
            Command::new(0x00, 0xA4, 0x02, 0x0C)
                .with_data(File::CardAccess.fid().to_be_bytes().to_vec()),
        );
        reader
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The fallbacks taken so far (also in [`Document::fallbacks`]; here
    /// for a read that failed).
    pub fn fallbacks(&self) -> Fallbacks {
        self.fallbacks
    }

    /// The transport failed. Mid-file, when access control has worked, the
    /// read resumes (access control again, then the same offset): with
    /// short APDUs when it was the first extended-length APDU, else at
    /// most [`MAX_GLITCHES`] times.
    pub fn handle_transport_error(&mut self, kind: ErrorKind) {
        if self.done {
            return;
        }
        let removed = matches!(kind, ErrorKind::Removed | ErrorKind::NotPresent);
        let mid_file = matches!(self.step, Step::ExpectFileChunk { .. });
        if !removed && mid_file && self.working_key.is_some() {
            if self.options.extended_length && !self.extended_answered && self.last_extended() {
                self.options.extended_length = false;
                self.fallbacks.insert(Fallback::ShortApdus);
                return self.resume_file();
            }
            if self.glitches < MAX_GLITCHES {
                self.glitches += 1;
                self.fallbacks.insert(Fallback::ResumedAfterGlitch);
                return self.resume_file();
            }
        }
        let error = if removed {
            ReadError::CardRemoved
        } else {
            ReadError::Transport(kind)
        };
        self.finish(Err(error));
    }

    /// Whether the last command was an extended-length one (Le above 256
    /// or more than 255 data bytes, before secure messaging).
    fn last_extended(&self) -> bool {
        self.last
            .as_ref()
            .is_some_and(|c| c.le.is_some_and(|le| le > 256) || c.data.len() > 255)
    }

    /// Access control again with the key that worked, then the file chunk
    /// in flight again (the chip's session is gone or out of step).
    fn resume_file(&mut self) {
        self.sm = None;
        self.chained.clear();
        let Some(key) = self.working_key else {
            return self.finish(Err(ReadError::Malformed("resume without a key")));
        };
        let Step::ExpectFileChunk {
            file,
            offset,
            content,
            total,
        } = std::mem::replace(&mut self.step, Step::Finished)
        else {
            return self.finish(Err(ReadError::Malformed("resume outside a file")));
        };
        self.resumed += 1;
        self.resume_at = Some((file, offset, content, total));
        self.next_key = key;
        self.try_next_key();
    }

    /// The chip refused extended length for the file chunk in flight: short
    /// APDUs from now on, the chunk again (after access control when the
    /// refusal ended secure messaging).
    fn extended_refused(&mut self, session_lost: bool) {
        self.options.extended_length = false;
        self.fallbacks.insert(Fallback::ShortApdus);
        if session_lost {
            return self.resume_file();
        }
        let Step::ExpectFileChunk {
            file,
            offset,
            content,
            total,
        } = std::mem::replace(&mut self.step, Step::Finished)
        else {
            return;
        };
        self.request_chunk(file, offset, content, total);
    }

    fn send_plain(&mut self, command: Command) {
        self.last = Some(command.clone());
        self.transmit(command);
    }

    fn transmit(&mut self, command: Command) {
        if self.apdus >= self.budget {
            return self.finish(Err(ReadError::Hostile(Violation::TooManyCommands {
                limit: self.budget,
            })));
        }
        match command.encode() {
            Ok(bytes) => {
                self.apdus += 1;
                self.outputs.push_back(Output::Transmit(bytes));
            }
            Err(_) => self.finish(Err(ReadError::Malformed("command too long"))),
        }
    }

    fn send(&mut self, command: Command) {
        self.last = Some(command.clone());
        let protected = match self.sm.as_mut() {
            Some(sm) => sm.protect(&command),
            None => Ok(command),
        };
        match protected {
            Ok(c) => self.transmit(c),
            Err(e) => self.finish(Err(e.into())),
        }
    }

    fn finish(&mut self, result: Result<Document, ReadError>) {
        if self.done {
            return;
        }
        self.done = true;
        self.step = Step::Finished;
        self.sm = None;
        self.outputs.push_back(Output::Done(result));
    }

    /// The chip's answer to the last command.
    pub fn handle_response(&mut self, response: &[u8]) {
        if self.done {
            return;
        }
        // T=0: the answer waits on the chip; GET RESPONSE fetches it (the
        // parts form one answer, secure messaging and all).
        if let [part @ .., 0x61, xx] = response {
            self.fallbacks.insert(Fallback::GetResponse);
            if self.chained.len() + part.len() > MAX_CHAINED {
                return self.finish(Err(ReadError::Malformed("GET RESPONSE beyond 64 KiB")));
            }
            self.chained.extend_from_slice(part);
            let le = if *xx == 0 { 256 } else { usize::from(*xx) };
            return self.transmit(Command::new(0x00, 0xC0, 0x00, 0x00).with_le(le));
        }
        let joined;
        let response = if self.chained.is_empty() {
            response
        } else {
            let mut all = std::mem::take(&mut self.chained);
            all.extend_from_slice(response);
            joined = all;
            &joined[..]
        };
        let extended = self.last_extended();
        if extended {
            // A refusal in plain under secure messaging ends the chip's
            // session: short APDUs, after access control again.
            if let [sw1, sw2] = response {
                let sw = StatusWord::new(*sw1, *sw2);
                let refused = sw == StatusWord::WRONG_LENGTH || *sw1 == 0x6C;
                if refused
                    && self.options.extended_length
                    && matches!(self.step, Step::ExpectFileChunk { .. })
                {
                    let session_lost = self.sm.is_some();
                    return self.extended_refused(session_lost);
                }
            }
        }
        let (data, sw) = match self.sm.as_mut() {
            Some(sm) => match sm.unprotect(response) {
                Ok(r) => {
                    if self.ca == CaState::Switched {
                        self.ca = CaState::Confirmed;
                    }
                    r
                }
                Err(e) => return self.secure_messaging_failed(e),
            },
            None => match Response::parse(response) {
                Ok(r) => (r.data.to_vec(), r.sw),
                Err(_) => {
                    return self.finish(Err(ReadError::Malformed("response shorter than 2 bytes")));
                }
            },
        };
        if extended {
            if (sw == StatusWord::WRONG_LENGTH || sw.sw1() == 0x6C)
                && self.options.extended_length
                && matches!(self.step, Step::ExpectFileChunk { .. })
            {
                return self.extended_refused(false);
            }
            self.extended_answered = true;
        }
        if sw.sw1() == 0x6C
            && !self.repeated
            && let Some(mut command) = self.last.clone()
        {
            // The exact length the chip has: the same command again.
            self.repeated = true;
            self.fallbacks.insert(Fallback::LeFromChip);
            let xx = sw.0 & 0xFF;
            command.le = Some(if xx == 0 { 256 } else { usize::from(xx) });
            return self.send(command);
        }
        self.repeated = false;
        let step = std::mem::replace(&mut self.step, Step::Finished);
        self.advance(step, data, sw);
    }

    fn secure_messaging_failed(&mut self, e: SmError) {
        self.sm = None;
        if e.is_structural() {
            // Not noise: a relay or a hostile chip. No resume.
            return self.finish(Err(ReadError::Hostile(Violation::SecureMessaging(e))));
        }
        if self.ca == CaState::Switched {
            // The first answer under the chip-authentication keys does not
            // verify: the chip lacks DG14's private key.
            return self.finish(Err(ReadError::ChipAuthenticationFailed));
        }
        match (&self.step, self.working_key) {
            (Step::ExpectFileChunk { .. }, Some(_))
                if self.resumed.saturating_sub(self.glitches) < MAX_RESUMES =>
            {
                self.resume_file();
            }
            _ => self.finish(Err(e.into())),
        }
    }

    fn advance(&mut self, step: Step, data: Vec<u8>, sw: StatusWord) {
        match step {
            Step::ExpectCardAccessSelected => {
                if sw.is_success() {
                    self.step = Step::ExpectCardAccess;
                    self.send_plain(Command::new(0x00, 0xB0, 0x00, 0x00).with_le(256));
                } else {
                    self.try_next_key();
                }
            }
            Step::ExpectCardAccess => {
                if sw.is_success() || sw == StatusWord::END_OF_FILE {
                    self.pace_infos = PaceInfo::from_card_access(&data).unwrap_or_default();
                    self.card_access = Some(data);
                }
                self.try_next_key();
            }
            Step::ExpectMseOk { info, password } => {
                if sw == StatusWord::REFERENCE_DATA_NOT_USABLE {
                    // This password (e.g. a CAN the chip lacks): next key.
                    return self.try_next_key();
                }
                if !sw.is_success() {
                    // PACE itself is refused: BAC from here on.
                    return self.pace_refused();
                }
                match password.k_pi(info.cipher) {
                    Ok(k_pi) => {
                        self.step = Step::ExpectNonce { info, k_pi };
                        self.send_plain(pace::general_authenticate(&[], false));
                    }
                    Err(_) => self.try_next_key(),
                }
            }
            Step::ExpectNonce { info, k_pi } => {
                let z = dynamic(&data, 0x80);
                let (true, Some(z)) = (sw.is_success(), z) else {
                    return self.pace_failed(sw);
                };
                let nonce = match pace::decrypt_nonce_with(info.cipher, &k_pi, &z) {
                    Ok(nonce) => nonce,
                    Err(pace::PaceError::NonceLength(len)) => {
                        return self
                            .finish(Err(ReadError::Hostile(Violation::PaceNonceLength { len })));
                    }
                    Err(pace::PaceError::NonceZero) => {
                        return self.finish(Err(ReadError::Hostile(Violation::PaceNonceZero)));
                    }
                    Err(_) => return self.pace_failed(sw),
                };
                let sk_map = self.rng.private_key(info.curve);
                let Ok(pk_map) = info.curve.public_key(&sk_map) else {
                    return self.pace_failed(sw);
                };
                self.send_plain(pace::general_authenticate(
                    &tlv::to_vec(0x81, &pk_map),
                    false,
                ));
                self.step = Step::ExpectMappingKey {
                    info,
                    nonce,
                    sk_map,
                    pk_map,
                };
            }
            Step::ExpectMappingKey {
                info,
                nonce,
                sk_map,
                pk_map,
            } => {
                let Some(pk_map_ic) = dynamic(&data, 0x82).filter(|_| sw.is_success()) else {
                    return self.pace_failed(sw);
                };
                let mapped = (|| {
                    if pk_map_ic == pk_map {
                        return Err(pace::PaceError::EchoedKey);
                    }
                    let h = info.curve.multiply(&pk_map_ic, &sk_map)?;
                    let generator = info.curve.map(&nonce, &h)?;
                    let sk = self.rng.private_key(info.curve);
                    let pk = info.curve.public_key_on(&generator, &sk)?;
                    Ok((sk, pk))
                })();
                let Ok((sk, pk)) = mapped else {
                    return self.pace_failed(sw);
                };
                self.send_plain(pace::general_authenticate(&tlv::to_vec(0x83, &pk), false));
                self.step = Step::ExpectEphemeralKey { info, sk, pk };
            }
            Step::ExpectEphemeralKey { info, sk, pk } => {
                let Some(pk_ic) = dynamic(&data, 0x84).filter(|_| sw.is_success()) else {
                    return self.pace_failed(sw);
                };
                let agreed = (|| {
                    if pk_ic == pk {
                        return Err(pace::PaceError::EchoedKey);
                    }
                    let shared = Zeroizing::new(info.curve.x(&info.curve.multiply(&pk_ic, &sk)?)?);
                    let (ks_enc, ks_mac) = pace::session_keys(&shared, info.cipher)?;
                    let t_ifd = pace::auth_token_with(info.cipher, &ks_mac, &info.oid, &pk_ic)?;
                    Ok((ks_enc, ks_mac, t_ifd))
                })();
                let Ok((ks_enc, ks_mac, t_ifd)) = agreed else {
                    return self.pace_failed(sw);
                };
                self.send_plain(pace::general_authenticate(&tlv::to_vec(0x85, &t_ifd), true));
                self.step = Step::ExpectToken {
                    info,
                    ks_enc,
                    ks_mac,
                    pk_ifd: pk,
                };
            }
            Step::ExpectToken {
                info,
                ks_enc,
                ks_mac,
                pk_ifd,
            } => {
                let Some(t_ic) = dynamic(&data, 0x86).filter(|_| sw.is_success()) else {
                    return self.pace_failed(sw);
                };
                let verified = pace::auth_token_with(info.cipher, &ks_mac, &info.oid, &pk_ifd)
                    .and_then(|expected| pace::verify_token(&expected, &t_ic))
                    .and_then(|()| pace::secure_messaging(info.cipher, &ks_enc, &ks_mac));
                match verified {
                    Ok(sm) => {
                        self.sm = Some(sm);
                        self.opened();
                        self.step = Step::ExpectApplicationSelected { then_bac: false };
                        self.send(self.select_application());
                    }
                    Err(_) => self.try_next_key(),
                }
            }
            Step::ExpectApplicationSelected { then_bac } => {
                if !sw.is_success() && !self.aid_p2_switched {
                    // Some chips take only P2 = 00 (return the FCI), some
                    // only 0C: the other, once.
                    self.aid_p2_switched = true;
                    self.aid_p2 = if self.aid_p2 == 0x0C { 0x00 } else { 0x0C };
                    self.step = Step::ExpectApplicationSelected { then_bac };
                    return self.send(self.select_application());
                }
                if sw.is_success() && self.aid_p2_switched {
                    self.fallbacks.insert(Fallback::SelectAidP2);
                }
                if sw == StatusWord::FILE_NOT_FOUND {
                    return self.finish(Err(ReadError::NotAnEmrtd));
                }
                if !sw.is_success() {
                    return self.finish(Err(ReadError::Chip {
                        what: "SELECT eMRTD application",
                        sw,
                    }));
                }
                if then_bac {
                    self.step = Step::ExpectChallenge;
                    self.send_plain(bac::get_challenge());
                } else {
                    self.start_reading();
                }
            }
            Step::ExpectChallenge => {
                let (true, Ok(rnd_ic)) = (sw.is_success(), <[u8; 8]>::try_from(data.as_slice()))
                else {
                    // BAC not offered (6D00): try the next key (PACE-MRZ
                    // when available comes from the same candidate).
                    return self.try_next_key();
                };
                let Some(KeyCandidate::Mrz {
                    document_number,
                    date_of_birth,
                    date_of_expiry,
                }) = self.current_key()
                else {
                    return self.try_next_key();
                };
                let Ok(info) = mrz_information(document_number, date_of_birth, date_of_expiry)
                else {
                    return self.try_next_key();
                };
                let keys = BacKeys::from_mrz_information(&info);
                let terminal = bac::Terminal::new(keys, rnd_ic, self.rng.bytes(), self.rng.bytes());
                self.send_plain(terminal.external_authenticate());
                self.step = Step::ExpectMutualAuth {
                    terminal: Box::new(terminal),
                };
            }
            Step::ExpectMutualAuth { terminal } => {
                if !sw.is_success() {
                    return self.try_next_key();
                }
                match terminal.finish(&data) {
                    Ok(session) => {
                        self.sm = Some(SecureMessaging::tdes(
                            session.ks_enc,
                            session.ks_mac,
                            session.ssc,
                        ));
                        self.fallbacks.insert(if self.pace_refused {
                            Fallback::BacAfterPaceRefused
                        } else {
                            Fallback::BacWithoutPace
                        });
                        self.opened();
                        self.start_reading();
                    }
                    Err(_) => self.try_next_key(),
                }
            }
            Step::ExpectFileChunk {
                file,
                offset,
                content,
                total,
            } => self.file_chunk(file, offset, content, total, data, sw),
            Step::ExpectFileSelected { file, fallback } => {
                if sw == StatusWord::SECURITY_STATUS_NOT_SATISFIED
                    || sw == StatusWord::FILE_NOT_FOUND
                {
                    if file == File::Com {
                        return self.finish(Err(ReadError::Chip {
                            what: "SELECT EF.COM",
                            sw,
                        }));
                    }
                    self.unavailable.push((file, sw));
                    return self.next_file();
                }
                if !sw.is_success() {
                    return self.finish(Err(ReadError::Chip { what: "SELECT", sw }));
                }
                if fallback && !self.by_fid {
                    // The file is there but not by SFI: by file identifier
                    // for the rest of the session.
                    self.by_fid = true;
                    self.fallbacks.insert(Fallback::SelectByFileId);
                }
                self.step = Step::ExpectFileChunk {
                    file,
                    offset: 0,
                    content: Vec::new(),
                    total: None,
                };
                let le = if self.options.jmrtd_style {
                    8
                } else {
                    self.block()
                };
                self.send(Command::new(0x00, 0xB0, 0x00, 0x00).with_le(le));
            }
            Step::ExpectCaSelected { info } => {
                if !sw.is_success() {
                    self.ca = CaState::Refused;
                    return self.next_file();
                }
                let sk = self.rng.private_key(info.curve);
                match info.curve.public_key(&sk) {
                    Ok(pk) => {
                        self.step = Step::ExpectCaAnswer { info, sk };
                        self.send(super::ca::general_authenticate(&pk));
                    }
                    Err(_) => {
                        self.ca = CaState::Refused;
                        self.next_file();
                    }
                }
            }
            Step::ExpectCaAnswer { info, sk } => {
                if !sw.is_success() {
                    self.ca = CaState::Refused;
                    return self.next_file();
                }
                let keys = super::ca::session_keys(info.curve, info.cipher, &sk, &info.public_key)
                    .and_then(|(enc, mac)| SecureMessaging::aes(&enc, &mac).map_err(Into::into));
                match keys {
                    Ok(sm) => {
                        self.sm = Some(sm);
                        self.ca = CaState::Switched;
                    }
                    Err(_) => self.ca = CaState::Refused,
                }
                self.next_file();
            }
            Step::ExpectCaConfirmation => self.next_file(),
            Step::ExpectAaSignature { challenge } => {
                let answer = if sw.is_success() { Ok(data) } else { Err(sw) };
                self.active_authentication = Some((challenge, answer));
                self.next_file();
            }
            Step::ExpectProbeSelected => self.finish(Err(if sw == StatusWord::FILE_NOT_FOUND {
                ReadError::NotAnEmrtd
            } else {
                ReadError::NoUsableAccessControl
            })),
            Step::ExpectFileReselected {
                file,
                offset,
                content,
                total,
            } => {
                if sw.is_success() {
                    self.request_chunk(file, offset, content, total);
                } else {
                    self.finish(Err(ReadError::Chip {
                        what: "SELECT after resume",
                        sw,
                    }));
                }
            }
            Step::Finished => {}
        }
    }

    fn current_key(&self) -> Option<&KeyCandidate> {
        self.next_key.checked_sub(1).and_then(|i| self.keys.get(i))
    }

    fn opened(&mut self) {
        self.working_key = self.next_key.checked_sub(1);
    }

    /// A PACE step failed: `6300` (or an answer that does not verify) is a
    /// wrong password, the next key; any other status refuses PACE itself.
    fn pace_failed(&mut self, sw: StatusWord) {
        if sw.is_success() || sw == StatusWord::VERIFICATION_FAILED {
            return self.try_next_key();
        }
        self.pace_refused();
    }

    /// The chip refused PACE: MRZ keys (this one first) go to BAC.
    fn pace_refused(&mut self) {
        self.pace_refused = true;
        if matches!(self.current_key(), Some(KeyCandidate::Mrz { .. })) {
            self.next_key -= 1;
        }
        self.try_next_key();
    }

    fn select_application(&self) -> Command {
        Command::new(0x00, 0xA4, 0x04, self.aid_p2).with_data(AID.to_vec())
    }

    /// Runs access control with the next key candidate.
    fn try_next_key(&mut self) {
        self.sm = None;
        while let Some(key) = self.keys.get(self.next_key).cloned() {
            self.next_key += 1;
            match &key {
                KeyCandidate::Can(can) => {
                    let pace = self.pace_infos.first().filter(|_| !self.pace_refused);
                    if let Some(info) = pace.cloned() {
                        self.access = Some(AccessControl::PaceCan);
                        let password = Password::Can(can.clone());
                        self.send_plain(pace::mse_set_at(&info, &password));
                        self.step = Step::ExpectMseOk { info, password };
                        return;
                    }
                }
                KeyCandidate::Mrz {
                    document_number,
                    date_of_birth,
                    date_of_expiry,
                } => {
                    let pace = self.pace_infos.first().filter(|_| !self.pace_refused);
                    if let Some(info) = pace.cloned() {
                        // PACE with the MRZ first (9303-11 §4.2: PACE when
                        // the chip offers it).
                        let Ok(information) =
                            mrz_information(document_number, date_of_birth, date_of_expiry)
                        else {
                            continue;
                        };
                        self.access = Some(AccessControl::PaceMrz);
                        let password = Password::Mrz(information);
                        self.send_plain(pace::mse_set_at(&info, &password));
                        self.step = Step::ExpectMseOk { info, password };
                        return;
                    }
                    self.access = Some(AccessControl::Bac);
                    self.step = Step::ExpectApplicationSelected { then_bac: true };
                    let select = self.select_application();
                    self.send_plain(select);
                    return;
                }
            }
        }
        let tried_any = self
            .keys
            .iter()
            .any(|k| matches!(k, KeyCandidate::Mrz { .. }))
            || !self.pace_infos.is_empty();
        if tried_any {
            self.finish(Err(ReadError::WrongAccessKey));
        } else {
            // Nothing could be tried: tell a non-ID card from a chip that
            // needs another kind of key.
            self.step = Step::ExpectProbeSelected;
            let select = self.select_application();
            self.send_plain(select);
        }
    }

    fn block(&self) -> usize {
        if self.options.extended_length && !self.options.jmrtd_style {
            65_536
        } else {
            self.options.short_block.clamp(1, SHORT_BLOCK)
        }
    }

    fn start_reading(&mut self) {
        if let Some((file, offset, content, total)) = self.resume_at.take() {
            if offset == 0 {
                return self.request_chunk(file, offset, content, total);
            }
            // The chip forgot its current file with the session: select it
            // again, then continue at the offset.
            self.step = Step::ExpectFileReselected {
                file,
                offset,
                content,
                total,
            };
            return self.send(
                Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(file.fid().to_be_bytes().to_vec()),
            );
        }
        if self.com.is_none() {
            return self.request_chunk(File::Com, 0, Vec::new(), None);
        }
        self.next_file();
    }

    fn request_chunk(&mut self, file: File, offset: usize, content: Vec<u8>, total: Option<usize>) {
        if (self.options.jmrtd_style || self.by_fid) && offset == 0 {
            self.step = Step::ExpectFileSelected {
                file,
                fallback: false,
            };
            return self.send(
                Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(file.fid().to_be_bytes().to_vec()),
            );
        }
        let le = match total {
            Some(t) => (t - offset).min(self.block()),
            None => self.block(),
        };
        let command = if offset == 0 {
            Command::new(0x00, 0xB0, 0x80 | file.sfi(), 0x00).with_le(le)
        } else if offset <= 0x7FFF {
            let o = u16::try_from(offset).unwrap_or(0).to_be_bytes();
            Command::new(0x00, 0xB0, o[0], o[1]).with_le(le)
        } else {
            // Offsets beyond 32767: odd INS with the offset in DO'54'; the
            // answer is wrapped in DO'53' (4 bytes of it).
            let o = u32::try_from(offset).unwrap_or(0).to_be_bytes();
            let skip = o.iter().take_while(|b| **b == 0).count().min(3);
            Command::new(0x00, 0xB1, 0x00, 0x00)
                .with_data(tlv::to_vec(0x54, &o[skip..]))
                .with_le((le + 4).min(65_536))
        };
        self.step = Step::ExpectFileChunk {
            file,
            offset,
            content,
            total,
        };
        self.send(command);
    }

    fn file_chunk(
        &mut self,
        file: File,
        offset: usize,
        mut content: Vec<u8>,
        total: Option<usize>,
        data: Vec<u8>,
        sw: StatusWord,
    ) {
        let by_sfi = offset == 0 && !self.by_fid && !self.options.jmrtd_style;
        if by_sfi && SFI_REFUSALS.contains(&sw) {
            // READ BINARY by SFI refused: the file by its identifier (a
            // file that is really absent answers that SELECT with 6A82).
            self.step = Step::ExpectFileSelected {
                file,
                fallback: true,
            };
            return self.send(
                Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(file.fid().to_be_bytes().to_vec()),
            );
        }
        if sw == StatusWord::SECURITY_STATUS_NOT_SATISFIED || sw == StatusWord::FILE_NOT_FOUND {
            // Locked (DG3 without EAC) or absent: not a failed read.
            if file == File::Com {
                return self.finish(Err(ReadError::Chip {
                    what: "read EF.COM",
                    sw,
                }));
            }
            self.unavailable.push((file, sw));
            return self.next_file();
        }
        if !(sw.is_success() || sw == StatusWord::END_OF_FILE) {
            return self.finish(Err(ReadError::Chip {
                what: "READ BINARY",
                sw,
            }));
        }
        let chunk = if offset > 0x7FFF {
            match tlv::expect(&data, 0x53) {
                Ok(t) => t.value.to_vec(),
                Err(_) => {
                    return self.finish(Err(ReadError::Malformed(
                        "READ BINARY (odd INS) without DO'53'",
                    )));
                }
            }
        } else {
            data
        };
        if chunk.is_empty() {
            return self.finish(Err(ReadError::Malformed("empty READ BINARY answer")));
        }
        content.extend_from_slice(&chunk);
        self.bytes += chunk.len();
        let total = match total {
            Some(t) => t,
            None => match tlv::total_len(&content) {
                Ok(Some(t)) if t > self.options.cap(file) => {
                    return self.finish(Err(ReadError::Hostile(Violation::FileTooLarge {
                        file,
                        declared: u64::try_from(t).unwrap_or(u64::MAX),
                    })));
                }
                Ok(Some(t)) => {
                    self.known_total += t;
                    t
                }
                // The header is not complete yet (a chip answering in tiny
                // chunks): read on.
                Ok(None) if content.len() < 8 => {
                    let next = content.len();
                    return self.request_chunk(file, next, content, None);
                }
                _ => return self.finish(Err(ReadError::Malformed("file header"))),
            },
        };
        self.outputs.push_back(Output::Progress {
            done: self.bytes.min(self.known_total),
            total: self.known_total,
        });
        if content.len() < total {
            let next = content.len();
            return self.request_chunk(file, next, content, Some(total));
        }
        content.truncate(total);
        if file == File::Com {
            match Com::parse(&content) {
                Ok(com) => {
                    let mut queue: VecDeque<File> = self
                        .options
                        .data_groups
                        .iter()
                        .filter(|n| com.data_groups.contains(n))
                        .map(|n| File::Dg(*n))
                        .collect();
                    if self.options.sod {
                        // EF.SOD before the photo: the photo is the long read.
                        let at = queue
                            .iter()
                            .position(|f| *f == File::Dg(2))
                            .unwrap_or(queue.len());
                        queue.insert(at, File::Sod);
                    }
                    self.queue = queue;
                    self.com = Some(com);
                }
                Err(_) => return self.finish(Err(ReadError::Malformed("EF.COM"))),
            }
        }
        if file == File::Sod && !self.sod_merged {
            self.sod_merged = true;
            self.merge_sod_list(&content);
        }
        let mut ca_info = None;
        if file == File::Dg(14) && self.sm.is_some() && self.ca == CaState::NotOffered {
            match super::ca::offer(&content) {
                Ok(super::ca::CaOffer::Supported(info)) => ca_info = Some(info),
                Ok(super::ca::CaOffer::NotOffered) => {}
                Ok(super::ca::CaOffer::Unsupported(_)) => self.ca = CaState::Unsupported,
                Err(_) => self.ca = CaState::Malformed,
            }
        }
        self.files.insert(file, content);
        match ca_info {
            Some(info) => {
                self.send(super::ca::mse_set_at(&info));
                self.step = Step::ExpectCaSelected { info };
            }
            None => self.next_file(),
        }
    }

    /// EF.COM is not signed: after EF.SOD, queue every wanted data group
    /// the SOD lists that is neither read, queued nor refused, before DG2
    /// (the long read) when DG2 is still queued. A SOD that does not parse
    /// adds nothing here; passive authentication refuses it.
    fn merge_sod_list(&mut self, sod: &[u8]) {
        let Ok(sod) = super::pa::parse_sod(sod) else {
            return;
        };
        let listed: Vec<u8> = sod
            .lds
            .data_group_hash_values
            .iter()
            .map(|h| h.data_group_number)
            .collect();
        for n in self.options.data_groups.clone() {
            let file = File::Dg(n);
            let known = self.files.contains_key(&file)
                || self.queue.contains(&file)
                || self.unavailable.iter().any(|(f, _)| *f == file);
            if !listed.contains(&n) || known {
                continue;
            }
            let at = self
                .queue
                .iter()
                .position(|f| *f == File::Dg(2))
                .unwrap_or(self.queue.len());
            self.queue.insert(at, file);
        }
    }

    fn next_file(&mut self) {
        match self.queue.pop_front() {
            Some(file) => self.request_chunk(file, 0, Vec::new(), None),
            None if self.ca == CaState::Switched => {
                self.step = Step::ExpectCaConfirmation;
                let read = if self.by_fid || self.options.jmrtd_style {
                    // The current file's first byte.
                    Command::new(0x00, 0xB0, 0x00, 0x00)
                } else {
                    Command::new(0x00, 0xB0, 0x80 | File::Com.sfi(), 0x00)
                };
                self.send(read.with_le(1));
            }
            None if self.files.contains_key(&File::Dg(15))
                && self.active_authentication.is_none() =>
            {
                let challenge = self.rng.bytes::<8>();
                self.step = Step::ExpectAaSignature { challenge };
                self.send(super::aa::internal_authenticate(&challenge));
            }
            None => {
                let (Some(com), Some(access)) = (self.com.clone(), self.access) else {
                    return self.finish(Err(ReadError::Malformed("no EF.COM")));
                };
                let document = Document {
                    com,
                    files: std::mem::take(&mut self.files),
                    unavailable: std::mem::take(&mut self.unavailable),
                    access,
                    card_access: self.card_access.take(),
                    apdus: self.apdus,
                    bytes: self.bytes,
                    resumed: self.resumed,
                    fallbacks: self.fallbacks,
                    active_authentication: self.active_authentication.take(),
                    chip_authentication: match self.ca {
                        CaState::NotOffered => ChipAuthentication::NotOffered,
                        CaState::Unsupported => ChipAuthentication::Unsupported,
                        CaState::Malformed => ChipAuthentication::Malformed,
                        CaState::Switched | CaState::Confirmed => ChipAuthentication::Confirmed,
                        CaState::Refused => ChipAuthentication::Refused,
                    },
                };
                self.finish(Ok(document));
            }
        }
    }
}

/// The value of `tag` inside the dynamic authentication data `7C`.
fn dynamic(data: &[u8], tag: u32) -> Option<Vec<u8>> {
    let outer = tlv::expect(data, 0x7C).ok()?;
    outer.child(tag).ok().flatten().map(|t| t.value.to_vec())
}
