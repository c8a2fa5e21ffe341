//! Time as a parameter (DESIGN.md §2).
//!
//! State machines never read a clock: the runtime passes a [`Timestamp`], a
//! monotonic count of milliseconds since the runtime started, and machines
//! answer with the [`Timestamp`] at which they next want to be woken. Tests
//! drive the same machines with virtual time.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

/// A point on the runtime's monotonic clock, in milliseconds since start.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The runtime's start.
    pub const ZERO: Timestamp = Timestamp(0);

    /// A timestamp `ms` milliseconds after start.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// A timestamp `s` seconds after start.
    pub const fn from_secs(s: u64) -> Self {
        Timestamp(s * 1000)
    }

    /// Milliseconds since start.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Wall-clock time in milliseconds since the Unix epoch, passed in by the
/// caller (the store, the queue and staff mode never read a clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_add_and_subtract_durations_without_overflow() {
        let t = Timestamp::from_secs(2);
        assert_eq!(t + Duration::from_millis(500), Timestamp::from_millis(2500));
        assert_eq!(t - Duration::from_secs(5), Timestamp::ZERO);
        assert_eq!(
            Timestamp::from_millis(u64::MAX) + Duration::from_secs(1),
            Timestamp::from_millis(u64::MAX)
        );
        assert_eq!(
            Timestamp::from_secs(3).saturating_since(t),
            Duration::from_secs(1)
        );
        assert_eq!(t.saturating_since(Timestamp::from_secs(3)), Duration::ZERO);
        assert_eq!(format!("{t}"), "t+2.000s");
    }
}
