//! Calendar dates as the card prints them, without time zones.

use core::fmt;

/// A date in the proleptic Gregorian calendar.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Whether `year` is a leap year.
pub fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// A valid date, or `None`.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        (year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Date { year, month, day })
    }

    /// Year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// Month 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// Day 1–31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Parses `ddMMyyyy` (the card QR's format).
    pub fn parse_dmy_compact(s: &str) -> Option<Date> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Date::new(
            s.get(4..8)?.parse().ok()?,
            s.get(2..4)?.parse().ok()?,
            s.get(0..2)?.parse().ok()?,
        )
    }

    /// Parses `dd/mm/yyyy` (DG13's format).
    pub fn parse_dmy_slashed(s: &str) -> Option<Date> {
        let mut parts = s.trim().split('/');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || d.len() != 2 || m.len() != 2 || y.len() != 4 {
            return None;
        }
        Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// The MRZ's `YYMMDD`.
    pub fn yymmdd(self) -> String {
        format!("{:02}{:02}{:02}", self.year % 100, self.month, self.day)
    }

    /// `dd/mm/yyyy`, as Vietnamese documents print dates.
    pub fn dmy(self) -> String {
        format!("{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }

    /// The same month and day `years` later. A 29 February that does not
    /// exist in the target year becomes 28 February (see the callers for
    /// the neighbouring candidates).
    pub fn add_years(self, years: u16) -> Date {
        let year = self.year.saturating_add(years);
        let day = self.day.min(days_in_month(year, self.month));
        Date {
            year,
            month: self.month,
            day,
        }
    }

    /// The day after.
    pub fn next_day(self) -> Date {
        if self.day < days_in_month(self.year, self.month) {
            Date {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            Date {
                month: self.month + 1,
                day: 1,
                ..self
            }
        } else {
            Date {
                year: self.year.saturating_add(1),
                month: 1,
                day: 1,
            }
        }
    }

    /// The civil date `days` days after 1 January 1970 (Howard Hinnant's
    /// days-to-civil algorithm).
    pub fn from_unix_days(days: i64) -> Option<Date> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(
            u16::try_from(year).ok()?,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
        )
    }

    /// Today in Vietnam (UTC+7, no daylight saving) at `unix_ms`.
    pub fn in_vietnam(unix_ms: u64) -> Option<Date> {
        let local = i64::try_from(unix_ms).ok()? + 7 * 3_600_000;
        Date::from_unix_days(local.div_euclid(86_400_000))
    }

    /// Whole years from `self` (a birth date) to `on`.
    pub fn age_on(self, on: Date) -> u16 {
        let mut age = on.year.saturating_sub(self.year);
        if (on.month, on.day) < (self.month, self.day) {
            age = age.saturating_sub(1);
        }
        age
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_in_both_card_formats() {
        assert_eq!(Date::parse_dmy_compact("15011990"), Date::new(1990, 1, 15));
        assert_eq!(
            Date::parse_dmy_slashed("15/01/1990"),
            Date::new(1990, 1, 15)
        );
        assert_eq!(Date::parse_dmy_compact("31021990"), None);
        assert_eq!(Date::parse_dmy_compact("1501199"), None);
        assert_eq!(Date::parse_dmy_slashed("15-01-1990"), None);
        assert_eq!(Date::parse_dmy_slashed("29/02/2023"), None);
        assert_eq!(
            Date::parse_dmy_slashed("29/02/2024"),
            Date::new(2024, 2, 29)
        );
    }

    #[test]
    fn years_are_added_with_29_february_falling_back_to_the_28th() {
        let leap = Date::new(2004, 2, 29).unwrap();
        assert_eq!(leap.add_years(25), Date::new(2029, 2, 28).unwrap());
        assert_eq!(leap.add_years(40), Date::new(2044, 2, 29).unwrap());
        assert_eq!(
            Date::new(2029, 2, 28).unwrap().next_day(),
            Date::new(2029, 3, 1).unwrap()
        );
        assert_eq!(
            Date::new(2029, 12, 31).unwrap().next_day(),
            Date::new(2030, 1, 1).unwrap()
        );
    }

    #[test]
    fn unix_time_converts_to_the_vietnamese_calendar_day() {
        assert_eq!(Date::from_unix_days(0), Date::new(1970, 1, 1));
        assert_eq!(Date::from_unix_days(20_417), Date::new(2025, 11, 25));
        assert_eq!(Date::from_unix_days(11_016), Date::new(2000, 2, 29));
        // 2026-11-24 18:00 UTC is already the 25th in Hà Nội; 16:00 is not.
        let midnight_utc: u64 = 20_782 * 86_400_000;
        assert_eq!(Date::from_unix_days(20_782), Date::new(2026, 11, 25));
        assert_eq!(
            Date::in_vietnam(midnight_utc - 6 * 3_600_000),
            Date::new(2026, 11, 25)
        );
        assert_eq!(
            Date::in_vietnam(midnight_utc - 8 * 3_600_000),
            Date::new(2026, 11, 24)
        );
    }

    #[test]
    fn age_counts_whole_years() {
        let born = Date::new(1966, 11, 26).unwrap();
        assert_eq!(born.age_on(Date::new(2026, 11, 25).unwrap()), 59);
        assert_eq!(born.age_on(Date::new(2026, 11, 26).unwrap()), 60);
        assert_eq!(born.yymmdd(), "661126");
        assert_eq!(born.dmy(), "26/11/1966");
    }
}
