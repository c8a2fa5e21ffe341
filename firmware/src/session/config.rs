//! Timeouts and limits of the citizen journey, as data.
//!
//! Timing follows the kiosk conventions in `shared/reference/kiosk-products-and-rules.md`
//! §4.7–4.8: an inactivity limit per screen, a warning with a simple way to
//! extend ("I need more time") at least [`Timeouts::warning`] before it,
//! extendable [`SessionConfig::max_extensions`] times (WCAG 2.2 SC 2.2.1 asks
//! for ≥ 20 s and ≥ 10 extensions), and a privacy wipe when it runs out.

use core::time::Duration;
use serde::{Deserialize, Serialize};

/// Every timeout of the journey. Interactive screens have an inactivity
/// limit (reset by any touch); operations have a watchdog; information
/// screens have a display time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// Inactivity on the access-key screen (scan the card QR or type).
    #[serde(with = "secs")]
    pub access_key: Duration,
    /// Watchdog of the whole chip read; the reader's own per-APDU timeouts are
    /// shorter and reported as read faults.
    #[serde(with = "secs")]
    pub reading: Duration,
    /// Inactivity on the "is this you?" data confirmation screen.
    #[serde(with = "secs")]
    pub confirm: Duration,
    /// Inactivity on the face-check consent screen.
    #[serde(with = "secs")]
    pub face_consent: Duration,
    /// Watchdog of one face-check attempt (capture, liveness, match).
    #[serde(with = "secs")]
    pub face_check: Duration,
    /// How long the kiosk waits for staff when it has called them.
    #[serde(with = "secs")]
    pub staff_assist: Duration,
    /// Inactivity on the service menu.
    #[serde(with = "secs")]
    pub menu: Duration,
    /// Inactivity on the identity-sharing consent screen (centre mode).
    #[serde(with = "secs")]
    pub identity_consent: Duration,
    /// Watchdog of drawing and printing a ticket.
    #[serde(with = "secs")]
    pub ticket: Duration,
    /// How long the ticket number stays on screen.
    #[serde(with = "secs")]
    pub show_ticket: Duration,
    /// Inactivity on the form review screen.
    #[serde(with = "secs")]
    pub form: Duration,
    /// Inactivity on the request consent screen.
    #[serde(with = "secs")]
    pub request_consent: Duration,
    /// Watchdog of queueing a request in the outbox.
    #[serde(with = "secs")]
    pub submit: Duration,
    /// How long the request receipt stays on screen.
    #[serde(with = "secs")]
    pub show_receipt: Duration,
    /// Inactivity on the satisfaction rating screen.
    #[serde(with = "secs")]
    pub rating: Duration,
    /// How long the goodbye screen stays before the attract screen.
    #[serde(with = "secs")]
    pub goodbye: Duration,
    /// How long an error notice stays before the attract screen.
    #[serde(with = "secs")]
    pub notice: Duration,
    /// The warning comes this long before an inactivity limit.
    #[serde(with = "secs")]
    pub warning: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            access_key: Duration::from_secs(90),
            reading: Duration::from_secs(60),
            confirm: Duration::from_secs(90),
            face_consent: Duration::from_secs(90),
            face_check: Duration::from_secs(45),
            staff_assist: Duration::from_secs(300),
            menu: Duration::from_secs(120),
            identity_consent: Duration::from_secs(90),
            ticket: Duration::from_secs(30),
            show_ticket: Duration::from_secs(30),
            form: Duration::from_secs(240),
            request_consent: Duration::from_secs(120),
            submit: Duration::from_secs(30),
            show_receipt: Duration::from_secs(45),
            rating: Duration::from_secs(45),
            goodbye: Duration::from_secs(8),
            notice: Duration::from_secs(30),
            warning: Duration::from_secs(30),
        }
    }
}

/// Limits and timeouts of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// The timeouts.
    pub timeouts: Timeouts,
    /// Face-check attempts before staff are called (the issue asks for 3).
    pub face_attempts: u8,
    /// Wrong access keys accepted before the kiosk stops trying the card
    /// (chips slow down or lock after repeated failures: 9303-11 §4.3).
    pub access_key_attempts: u8,
    /// How often "I need more time" may extend one screen.
    pub max_extensions: u8,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            timeouts: Timeouts::default(),
            face_attempts: 3,
            access_key_attempts: 3,
            max_extensions: 10,
        }
    }
}

/// A problem with a [`SessionConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A timeout is zero: the screen would end before it is shown. Remedy:
    /// give it a positive number of seconds.
    #[error("session timeout `{0}` must be more than 0 seconds")]
    ZeroTimeout(&'static str),
    /// The warning is not shorter than an inactivity limit, so the citizen
    /// would be warned the moment a screen appears. Remedy: shorten
    /// `warning` or lengthen the named timeout.
    #[error("the warning ({warning}s) must be shorter than `{name}` ({limit}s)")]
    WarningTooLong {
        /// The inactivity limit that is too short.
        name: &'static str,
        /// That limit, in seconds.
        limit: u64,
        /// The warning, in seconds.
        warning: u64,
    },
    /// A limit of attempts is zero. Remedy: allow at least one.
    #[error("`{0}` must allow at least 1 attempt")]
    ZeroAttempts(&'static str),
}

impl SessionConfig {
    /// Checks the configuration for values that would make the journey
    /// unusable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.timeouts;
        let all = [
            ("access_key", t.access_key),
            ("reading", t.reading),
            ("confirm", t.confirm),
            ("face_consent", t.face_consent),
            ("face_check", t.face_check),
            ("staff_assist", t.staff_assist),
            ("menu", t.menu),
            ("identity_consent", t.identity_consent),
            ("ticket", t.ticket),
            ("show_ticket", t.show_ticket),
            ("form", t.form),
            ("request_consent", t.request_consent),
            ("submit", t.submit),
            ("show_receipt", t.show_receipt),
            ("rating", t.rating),
            ("goodbye", t.goodbye),
            ("notice", t.notice),
            ("warning", t.warning),
        ];
        if let Some((name, _)) = all.iter().find(|(_, d)| d.is_zero()) {
            return Err(ConfigError::ZeroTimeout(name));
        }
        let inactivity = [
            ("access_key", t.access_key),
            ("confirm", t.confirm),
            ("face_consent", t.face_consent),
            ("menu", t.menu),
            ("identity_consent", t.identity_consent),
            ("form", t.form),
            ("request_consent", t.request_consent),
            ("rating", t.rating),
        ];
        if let Some((name, limit)) = inactivity.iter().find(|(_, d)| *d <= t.warning) {
            return Err(ConfigError::WarningTooLong {
                name,
                limit: limit.as_secs(),
                warning: t.warning.as_secs(),
            });
        }
        if self.face_attempts == 0 {
            return Err(ConfigError::ZeroAttempts("face_attempts"));
        }
        if self.access_key_attempts == 0 {
            return Err(ConfigError::ZeroAttempts("access_key_attempts"));
        }
        Ok(())
    }
}

/// Durations as whole seconds in configuration files.
mod secs {
    use core::time::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}
