//! The centre's wall clock: the system's, or (tests and demos) one that
//! starts at a configured local time and runs on in real time, so a test
//! never depends on the hour it runs at. The only place the centre reads a
//! clock.

use kiosk_firmware::store::UnixMillis;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Option<(u64, Instant)>,
}

impl Clock {
    /// The system clock, or one started at `start` (wall-clock ms).
    #[expect(
        clippy::disallowed_methods,
        reason = "the centre is a runtime: its clock is read here and passed on"
    )]
    pub fn new(start: Option<u64>) -> Clock {
        Clock {
            start: start.map(|s| (s, Instant::now())),
        }
    }

    /// Now.
    #[expect(
        clippy::disallowed_methods,
        reason = "the centre is a runtime: its clock is read here and passed on"
    )]
    pub fn now(&self) -> UnixMillis {
        match self.start {
            Some((start, at)) => {
                UnixMillis(start + u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX))
            }
            None => UnixMillis(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                    .unwrap_or(0),
            ),
        }
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM`, local time in Vietnam, as wall-clock ms.
pub fn parse_local(s: &str) -> Option<u64> {
    let (date, time) = s.split_once(['T', ' '])?;
    let d: Vec<i64> = date
        .split('-')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let t: Vec<i64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let ([y, mo, da], [h, mi]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    kiosk_firmware::cccd::date::Date::new(
        u16::try_from(*y).ok()?,
        u8::try_from(*mo).ok()?,
        u8::try_from(*da).ok()?,
    )?;
    if !(0..24).contains(h) || !(0..60).contains(mi) {
        return None;
    }
    let local_ms = (days_from_civil(*y, *mo, *da) * 86_400 + h * 3600 + mi * 60) * 1000;
    u64::try_from(local_ms - kiosk_firmware::ticket::VIETNAM_OFFSET_MS).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn local_times_are_vietnam_time() {
        // 2026-11-25 00:00 in Hà Nội is 2026-11-24 17:00 UTC.
        assert_eq!(parse_local("2026-11-25T00:00"), Some(1_795_539_600_000));
        assert_eq!(parse_local("2026-02-30T00:00"), None);
        assert_eq!(parse_local("2026-11-25T24:00"), None);
        let c = Clock::new(Some(1_795_539_600_000));
        assert!(c.now().0 >= 1_795_539_600_000);
    }
}
