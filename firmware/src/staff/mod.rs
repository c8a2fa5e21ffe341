//! Staff mode: who may open the kiosk's staff panel, and what it shows.
//!
//! Conventions (reference notes §4.3): staff mode sits behind a PIN, a
//! configured staff card, or both. Everything here is sans-IO: the wall
//! clock (`UnixMillis`) and the monotonic clock (`Timestamp`) are passed in,
//! and so is the salt of a new PIN hash.
//!
//! - [`PinHash`]: an Argon2id hash in the PHC string format (RFC 9106,
//!   `$argon2id$v=19$m=…,t=…,p=…$salt$hash`), checked when the
//!   configuration loads. The PIN itself is never stored.
//! - [`CardHash`]: the SHA-256 of a staff card's UID written as upper-case
//!   hex. The configuration lists hashes, not UIDs. A UID is no secret: it
//!   is sent in clear at every activation (ISO/IEC 14443-3 anticollision)
//!   and cheap cards let anyone write one, so a deployment that fears
//!   cloned cards sets `card_needs_pin`. eMRTD chips (the CCCD) answer
//!   with a fresh random UID at each activation (ICAO 9303-11 §4.1,
//!   ISO/IEC 14443-3 `08` prefix), so a citizen's card never matches.
//! - [`Gate`]: five wrong PINs in a row lock PIN entry for
//!   [`StaffPolicy::lockout`]; the count and the lock survive a restart
//!   ([`LockState`], kept in the store's `kv` table).
//! - [`StaffMode`]: the open staff session (PIN keypad or panel) with its
//!   own inactivity timeout; the typed digits are zeroized.
//! - [`StaffView`]: what the screens show. No citizen data: device checks,
//!   paper, outbox counts, counters, times and kinds of recent errors.

mod view;

pub use view::*;

#[cfg(feature = "store")]
use crate::store::{Store, StoreError};
use crate::time::{Timestamp, UnixMillis};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2};
use sha2::{Digest, Sha256};
use std::time::Duration;
use zeroize::Zeroizing;

/// The fewest digits a staff PIN has.
pub const PIN_MIN_DIGITS: usize = 6;
/// The most digits a staff PIN has (the keypad stops there).
pub const PIN_MAX_DIGITS: usize = 12;
/// The store key of the lockout state.
pub const LOCK_STATE_KEY: &str = "staff.lockout";

/// Why a staff credential or its state is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StaffError {
    /// The PIN is not 6–12 digits. Remedy: choose a PIN of 6 to 12 digits
    /// (0–9 only).
    #[error("a staff PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits (0-9), nothing else")]
    PinFormat,
    /// The configured hash is not an Argon2id PHC string. Remedy: paste
    /// the output of `kioskctl staff hash-pin`.
    #[error("not an Argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash): {0}")]
    MalformedHash(String),
    /// A card hash is not 64 hex digits. Remedy: paste the output of
    /// `kioskctl staff hash-card`.
    #[error("a staff card hash is the SHA-256 of the UID as 64 hex digits, not {0:?}")]
    MalformedCardHash(String),
    /// Hashing failed (bad salt or parameters). Remedy: none at the kiosk;
    /// a bug.
    #[error("cannot hash the PIN: {0}")]
    Hash(String),
}

/// An Argon2id hash of a staff PIN, in PHC string format.
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash(String);

impl std::fmt::Debug for PinHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinHash(..)")
    }
}

impl PinHash {
    /// Checks that `phc` is an Argon2id PHC string with a salt and a hash.
    pub fn parse(phc: &str) -> Result<PinHash, StaffError> {
        let parsed =
            PasswordHash::new(phc.trim()).map_err(|e| StaffError::MalformedHash(e.to_string()))?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return Err(StaffError::MalformedHash(format!(
                "algorithm {} (Argon2id expected)",
                parsed.algorithm
            )));
        }
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(StaffError::MalformedHash("no salt or no hash".into()));
        }
        argon2::Params::try_from(&parsed).map_err(|e| StaffError::MalformedHash(e.to_string()))?;
        Ok(PinHash(phc.trim().to_owned()))
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short fingerprint of this hash for the audit log: 16 hex digits
    /// of the SHA-256 of the PHC string. It names which configured PIN was
    /// used (it changes when the PIN is changed) and tells nothing of the
    /// PIN itself.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        hex(digest.get(..8).unwrap_or(&[]), false)
    }

    /// Whether `pin` is the PIN this hash was made from (constant time in
    /// the hash comparison, as the argon2 crate does it).
    pub fn verify(&self, pin: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(&self.0) else {
            return false;
        };
        Argon2::default()
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok()
    }
}

/// Whether `pin` is 6–12 ASCII digits.
pub fn check_pin_format(pin: &str) -> Result<(), StaffError> {
    if (PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&pin.len())
        && pin.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(StaffError::PinFormat)
    }
}

/// Hashes `pin` with Argon2id (the crate's defaults: m = 19 MiB, t = 2,
/// p = 1, OWASP's recommendation) and the 16 random bytes `salt`, which
/// the caller draws from the OS (sans-IO).
pub fn hash_pin(pin: &str, salt: &[u8; 16]) -> Result<PinHash, StaffError> {
    check_pin_format(pin)?;
    let salt = SaltString::encode_b64(salt).map_err(|e| StaffError::Hash(e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map_err(|e| StaffError::Hash(e.to_string()))?;
    Ok(PinHash(hash.to_string()))
}

/// The SHA-256 of a staff card's UID (as upper-case hex).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CardHash([u8; 32]);

impl std::fmt::Debug for CardHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardHash({})", &self.to_hex()[..8])
    }
}

impl CardHash {
    /// The hash of `uid`: SHA-256 over its upper-case hex digits.
    pub fn of_uid(uid: &[u8]) -> CardHash {
        CardHash(Sha256::digest(hex(uid, true).as_bytes()).into())
    }

    /// Parses 64 hex digits.
    pub fn parse(text: &str) -> Result<CardHash, StaffError> {
        let t = text.trim();
        let bad = || StaffError::MalformedCardHash(text.to_owned());
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(t.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
        }
        Ok(CardHash(out))
    }

    /// The hash as 64 lower-case hex digits (what the configuration holds).
    pub fn to_hex(&self) -> String {
        hex(&self.0, false)
    }
}

/// `bytes` as hex digits.
fn hex(bytes: &[u8], upper: bool) -> String {
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    const LOWER: &[u8; 16] = b"0123456789abcdef";
    let digits = if upper { UPPER } else { LOWER };
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(digits[usize::from(b >> 4)]));
        out.push(char::from(digits[usize::from(b & 0x0F)]));
    }
    out
}

/// Who may open staff mode, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPolicy {
    /// The PIN's hash; `None`: no PIN entry (cards only, or staff mode off).
    pub pin: Option<PinHash>,
    /// Staff cards, by the hash of their UID.
    pub cards: Vec<CardHash>,
    /// A staff card only opens the PIN keypad; the PIN is still needed.
    pub card_needs_pin: bool,
    /// Wrong PINs in a row that lock PIN entry.
    pub max_failures: u32,
    /// How long PIN entry stays locked.
    pub lockout: Duration,
    /// Inactivity after which staff mode closes.
    pub session_timeout: Duration,
}

impl Default for StaffPolicy {
    fn default() -> Self {
        StaffPolicy {
            pin: None,
            cards: Vec::new(),
            card_needs_pin: false,
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
            session_timeout: Duration::from_secs(120),
        }
    }
}

impl StaffPolicy {
    /// Whether staff mode can be entered at all.
    pub fn enabled(&self) -> bool {
        self.pin.is_some() || !self.cards.is_empty()
    }
}

/// The failure count and the lock, as persisted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockState {
    /// Wrong PINs since the last right one (or the end of the last lock).
    pub failures: u32,
    /// PIN entry is refused until then (wall clock).
    pub locked_until: Option<UnixMillis>,
}

/// [`LockState`] as the `kv` table holds it (JSON).
#[cfg(feature = "store")]
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredLock {
    failures: u32,
    locked_until_unix_ms: Option<u64>,
}

#[cfg(feature = "store")]
impl LockState {
    /// Reads the state from the store; a missing entry is a fresh state,
    /// an unreadable one too (logged: a lock is then lost, never invented).
    pub fn load(store: &Store) -> Result<LockState, StoreError> {
        let Some(text) = store.kv_get(LOCK_STATE_KEY)? else {
            return Ok(LockState::default());
        };
        Ok(match serde_json::from_str::<StoredLock>(&text) {
            Ok(s) => LockState {
                failures: s.failures,
                locked_until: s.locked_until_unix_ms.map(UnixMillis),
            },
            Err(e) => {
                tracing::warn!(error = %e, "the staff lockout state does not parse: starting afresh");
                LockState::default()
            }
        })
    }

    /// Writes the state to the store.
    pub fn save(&self, store: &mut Store) -> Result<(), StoreError> {
        let stored = StoredLock {
            failures: self.failures,
            locked_until_unix_ms: self.locked_until.map(|u| u.0),
        };
        let text = serde_json::json!({
            "failures": stored.failures,
            "locked_until_unix_ms": stored.locked_until_unix_ms,
        });
        store.kv_set(LOCK_STATE_KEY, &text.to_string())
    }
}

/// What a PIN attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    /// The right PIN: staff mode opens.
    Accepted,
    /// A wrong PIN; this many tries are left before the lock.
    Wrong {
        /// Tries left.
        attempts_left: u32,
    },
    /// This wrong PIN locked PIN entry until then.
    LockedNow {
        /// The end of the lock.
        until: UnixMillis,
    },
    /// PIN entry was locked already (the PIN was not even checked).
    Locked {
        /// The end of the lock.
        until: UnixMillis,
    },
    /// No PIN is configured.
    NoPin,
}

/// The PIN and card check with its lockout.
#[derive(Debug, Clone)]
pub struct Gate {
    policy: StaffPolicy,
    state: LockState,
}

impl Gate {
    /// A gate with `policy`, resuming `state` (from [`LockState::load`]).
    pub fn new(policy: StaffPolicy, state: LockState) -> Gate {
        Gate { policy, state }
    }

    /// The policy.
    pub fn policy(&self) -> &StaffPolicy {
        &self.policy
    }

    /// Replaces the policy (configuration reloaded); the count and the
    /// lock stay.
    pub fn set_policy(&mut self, policy: StaffPolicy) {
        self.policy = policy;
    }

    /// The state to persist after every attempt.
    pub fn state(&self) -> LockState {
        self.state
    }

    /// Until when PIN entry is locked, if it is at `now`. A lock that has
    /// run out is cleared (with its failure count).
    pub fn locked_until(&mut self, now: UnixMillis) -> Option<UnixMillis> {
        match self.state.locked_until {
            Some(until) if now < until => Some(until),
            Some(_) => {
                self.state = LockState::default();
                None
            }
            None => None,
        }
    }

    /// Wrong PINs left before the lock.
    pub fn attempts_left(&self) -> u32 {
        self.policy.max_failures.saturating_sub(self.state.failures)
    }

    /// Checks `pin` at `now`.
    pub fn try_pin(&mut self, pin: &str, now: UnixMillis) -> PinOutcome {
        if let Some(until) = self.locked_until(now) {
            return PinOutcome::Locked { until };
        }
        let Some(hash) = &self.policy.pin else {
            return PinOutcome::NoPin;
        };
        if check_pin_format(pin).is_ok() && hash.verify(pin) {
            self.state = LockState::default();
            return PinOutcome::Accepted;
        }
        self.state.failures = self.state.failures.saturating_add(1);
        if self.state.failures >= self.policy.max_failures {
            let ms = u64::try_from(self.policy.lockout.as_millis()).unwrap_or(u64::MAX);
            let until = UnixMillis(now.0.saturating_add(ms));
            self.state.locked_until = Some(until);
            PinOutcome::LockedNow { until }
        } else {
            PinOutcome::Wrong {
                attempts_left: self.attempts_left(),
            }
        }
    }

    /// Whether the card with `uid` is a staff card.
    pub fn card_allowed(&self, uid: &[u8]) -> bool {
        !uid.is_empty() && self.policy.cards.contains(&CardHash::of_uid(uid))
    }
}

/// How staff got in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// The PIN on the keypad.
    Pin,
    /// A staff card alone.
    Card,
    /// A staff card, then the PIN (`card_needs_pin`).
    CardAndPin,
}

/// A staff member's authentication at the kiosk, at the moment of a staff
/// decision (approving an identity, resuming service after the cabinet was
/// opened): how they authenticated and which credential, as a hash. It
/// never carries the PIN, and never citizen data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StaffCredential {
    /// PIN, card, or card and PIN.
    pub method: LoginMethod,
    /// [`PinHash::fingerprint`] for a PIN, [`CardHash::to_hex`] for a card.
    pub hash: String,
}

impl StaffCredential {
    /// The staff PIN checked against `hash` (after a staff card when
    /// `via_card`).
    pub fn pin(hash: &PinHash, via_card: bool) -> StaffCredential {
        StaffCredential {
            method: if via_card {
                LoginMethod::CardAndPin
            } else {
                LoginMethod::Pin
            },
            hash: hash.fingerprint(),
        }
    }

    /// A staff card alone.
    pub fn card(card: &CardHash) -> StaffCredential {
        StaffCredential {
            method: LoginMethod::Card,
            hash: card.to_hex(),
        }
    }
}

/// What a staff PIN keypad is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffPurpose {
    /// Logging in to the staff panel (from the attract screen).
    Panel,
    /// Authorising one decision of the journey under way (staff assist) or
    /// resuming service (out of service); the keypad closes after the PIN.
    Authorize,
}

/// What staff touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffInput {
    /// The staff button on the attract screen.
    Open,
    /// A digit on the PIN keypad.
    Digit(u8),
    /// Deletes the last digit.
    Delete,
    /// Checks the PIN.
    Submit,
    /// Leaves the keypad, or staff mode.
    Exit,
    /// An action on the panel.
    Action(StaffAction),
}

/// The panel's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffAction {
    /// Prints a test page.
    TestPrint,
    /// Reads the configuration file again.
    ReloadConfig,
    /// Writes the audit log and counters to the export folder.
    ExportLogs,
    /// Prints the last ticket that did not print.
    ReprintLast,
    /// Runs the device checks again.
    Refresh,
}

/// The open staff session.
#[derive(Debug)]
pub struct StaffMode {
    screen: StaffScreen,
    purpose: StaffPurpose,
    digits: Zeroizing<String>,
    notice: Option<PinNotice>,
    via_card: bool,
    last_activity: Timestamp,
    timeout: Duration,
}

impl StaffMode {
    /// The PIN keypad, opened at `now`; `via_card` when a staff card
    /// opened it (`card_needs_pin`).
    pub fn keypad(now: Timestamp, timeout: Duration, via_card: bool) -> StaffMode {
        StaffMode {
            screen: StaffScreen::Pin,
            purpose: StaffPurpose::Panel,
            digits: Zeroizing::new(String::new()),
            notice: via_card.then_some(PinNotice::CardAccepted),
            via_card,
            last_activity: now,
            timeout,
        }
    }

    /// The PIN keypad that authorises one staff decision (see
    /// [`StaffPurpose::Authorize`]), opened at `now`.
    pub fn authorize(now: Timestamp, timeout: Duration) -> StaffMode {
        StaffMode {
            purpose: StaffPurpose::Authorize,
            ..StaffMode::keypad(now, timeout, false)
        }
    }

    /// What the keypad is for.
    pub fn purpose(&self) -> StaffPurpose {
        self.purpose
    }

    /// The panel, opened at `now`.
    pub fn panel(now: Timestamp, timeout: Duration) -> StaffMode {
        StaffMode {
            screen: StaffScreen::Panel,
            ..StaffMode::keypad(now, timeout, false)
        }
    }

    /// Which screen is up.
    pub fn screen(&self) -> StaffScreen {
        self.screen
    }

    /// Whether a staff card opened the keypad.
    pub fn via_card(&self) -> bool {
        self.via_card
    }

    /// Digits typed so far.
    pub fn digits_entered(&self) -> usize {
        self.digits.len()
    }

    /// The keypad's notice.
    pub fn notice(&self) -> Option<PinNotice> {
        self.notice
    }

    /// Sets the keypad's notice.
    pub fn set_notice(&mut self, notice: Option<PinNotice>) {
        self.notice = notice;
    }

    /// Something was touched at `now`.
    pub fn touched(&mut self, now: Timestamp) {
        self.last_activity = now;
    }

    /// Adds a digit (up to [`PIN_MAX_DIGITS`]).
    pub fn push_digit(&mut self, digit: u8) {
        if digit <= 9 && self.digits.len() < PIN_MAX_DIGITS {
            self.digits.push(char::from(b'0' + digit));
        }
    }

    /// Removes the last digit.
    pub fn delete_digit(&mut self) {
        self.digits.pop();
    }

    /// Hands out the typed PIN and forgets it here.
    pub fn take_pin(&mut self) -> Zeroizing<String> {
        std::mem::replace(&mut self.digits, Zeroizing::new(String::new()))
    }

    /// Moves to the panel (the PIN was right).
    pub fn open_panel(&mut self) {
        self.screen = StaffScreen::Panel;
        self.notice = None;
        self.digits = Zeroizing::new(String::new());
    }

    /// When staff mode closes for inactivity.
    pub fn deadline(&self) -> Timestamp {
        self.last_activity + self.timeout
    }

    /// Changes the inactivity timeout (configuration reloaded).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }
}

#[cfg(test)]
mod tests;
