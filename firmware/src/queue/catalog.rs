//! The service catalogue, as data (`[queue]` in the board configuration).
//!
//! Each service of the one-stop centre (Bộ phận Một cửa, Decree 61/2018/NĐ-CP)
//! has a short code that prefixes its numbers, Vietnamese and English names,
//! the counters that serve it, its opening hours and a daily limit
//! (reference note kiosk-products-and-rules.md §5.1 item 6: "closed / no
//! tickets left" screens; FQM#236, ZMS "timeable" ticket printers).
//!
//! ```toml
//! [queue]
//! status_url = "https://dichvucong.example.gov.vn/hang-doi"
//! hours = { days = ["mon", "tue", "wed", "thu", "fri"], open = ["07:30-11:30", "13:30-17:00"] }
//!
//! [[queue.services]]
//! code = "A"
//! name_vi = "Hộ tịch"
//! name_en = "Civil status"
//! counters = [1, 2]
//! daily_limit = 150
//! ```

use super::Priority;
use crate::ticket::LocalTime;
use serde::Deserialize;

/// `[queue]` as written in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The base of the link in each ticket's QR code; the kiosk appends
    /// `/<kiosk id>/<YYYYMMDD>/<number>`.
    pub status_url: String,
    /// The age from which a verified date of birth gives priority (Law on
    /// the Elderly 2009, Art. 2: 60).
    #[serde(default = "default_elderly_age")]
    pub elderly_age: u16,
    /// How many minutes' head start a priority ticket gets in the waiting
    /// order. A priority ticket never overtakes a normal one that has
    /// waited longer than this (the anti-starvation bound).
    #[serde(default = "default_head_start")]
    pub priority_head_start_minutes: u32,
    /// Opening hours of every service that does not set its own.
    pub hours: HoursConfig,
    /// The services, in menu order.
    pub services: Vec<ServiceConfig>,
}

fn default_elderly_age() -> u16 {
    60
}

fn default_head_start() -> u32 {
    20
}

/// Opening hours as written: weekdays and `HH:MM-HH:MM` windows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursConfig {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// Windows in which numbers are issued, local time, e.g. `07:30-11:30`.
    pub open: Vec<String>,
}

/// `[[queue.services]]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// 1–3 capital letters that prefix the numbers (`A` → `A012`).
    pub code: String,
    /// The name in Vietnamese, printed large.
    pub name_vi: String,
    /// The name in English.
    pub name_en: String,
    /// Counters (quầy) serving it.
    pub counters: Vec<u16>,
    /// Numbers that may be drawn per day (1–999).
    pub daily_limit: u32,
    /// Its own opening hours, instead of `[queue].hours`.
    #[serde(default)]
    pub hours: Option<HoursConfig>,
    /// The procedure (mã TTHC of `[requests]`) this service's counter
    /// handles, when it is one the kiosk can pre-fill: a consenting
    /// holder's ticket then carries its form to the counter (centre mode).
    #[serde(default)]
    pub procedure: Option<String>,
}

/// A catalogue entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct CatalogError {
    /// The dotted field, e.g. `queue.services[2].code`.
    pub field: String,
    /// What is wrong and what would be right.
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> CatalogError {
    CatalogError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A day of the week, Monday first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    /// Thứ Hai.
    Mon,
    /// Thứ Ba.
    Tue,
    /// Thứ Tư.
    Wed,
    /// Thứ Năm.
    Thu,
    /// Thứ Sáu.
    Fri,
    /// Thứ Bảy.
    Sat,
    /// Chủ Nhật.
    Sun,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    fn parse(s: &str) -> Option<Weekday> {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let i = names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(s.trim()))?;
        Weekday::ALL.get(i).copied()
    }

    /// The weekday of the Vietnamese local day at `unix_ms`.
    pub fn in_vietnam(unix_ms: u64) -> Option<Weekday> {
        let local = i64::try_from(unix_ms)
            .ok()?
            .checked_add(crate::ticket::VIETNAM_OFFSET_MS)?;
        // 1 January 1970 was a Thursday.
        let i = (local.div_euclid(86_400_000) + 3).rem_euclid(7);
        Weekday::ALL.get(usize::try_from(i).ok()?).copied()
    }
}

/// When a service issues numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    days: Vec<Weekday>,
    /// `[start, end)` in minutes after local midnight, sorted.
    windows: Vec<(u16, u16)>,
}

fn parse_clock(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

impl OpeningHours {
    /// Parses and checks `raw`; `field` names it in errors.
    pub fn parse(raw: &HoursConfig, field: &str) -> Result<OpeningHours, CatalogError> {
        let mut days = Vec::new();
        for d in &raw.days {
            let day = Weekday::parse(d).ok_or_else(|| {
                invalid(
                    format!("{field}.days"),
                    format!("has {d:?}; days are mon, tue, wed, thu, fri, sat, sun"),
                )
            })?;
            if !days.contains(&day) {
                days.push(day);
            }
        }
        if days.is_empty() {
            return Err(invalid(
                format!("{field}.days"),
                "must name at least one day",
            ));
        }
        let mut windows = Vec::new();
        for w in &raw.open {
            let window = w
                .split_once('-')
                .and_then(|(a, b)| Some((parse_clock(a)?, parse_clock(b)?)))
                .filter(|(a, b)| a < b)
                .ok_or_else(|| {
                    invalid(
                        format!("{field}.open"),
                        format!("has {w:?}; a window is HH:MM-HH:MM with the start first"),
                    )
                })?;
            windows.push(window);
        }
        if windows.is_empty() {
            return Err(invalid(
                format!("{field}.open"),
                "must have at least one window",
            ));
        }
        windows.sort_unstable();
        if windows.windows(2).any(|p| p[0].1 > p[1].0) {
            return Err(invalid(format!("{field}.open"), "has overlapping windows"));
        }
        Ok(OpeningHours { days, windows })
    }

    /// Whether numbers are issued at `unix_ms`.
    pub fn is_open(&self, unix_ms: u64) -> bool {
        let (Some(day), Some(t)) = (Weekday::in_vietnam(unix_ms), LocalTime::in_vietnam(unix_ms))
        else {
            return false;
        };
        let m = t.minute_of_day();
        self.days.contains(&day) && self.windows.iter().any(|&(a, b)| a <= m && m < b)
    }

    /// When numbers are next issued after `unix_ms` (within a week), as
    /// wall-clock milliseconds.
    pub fn next_opening(&self, unix_ms: u64) -> Option<u64> {
        let t = LocalTime::in_vietnam(unix_ms)?;
        let since_midnight = u64::from(t.minute_of_day()) * 60_000 + unix_ms % 60_000;
        let midnight = unix_ms.checked_sub(since_midnight)?;
        (0..=7u64).find_map(|offset| {
            let day_start = midnight + offset * 86_400_000;
            let day = Weekday::in_vietnam(day_start)?;
            if !self.days.contains(&day) {
                return None;
            }
            self.windows
                .iter()
                .map(|&(a, _)| day_start + u64::from(a) * 60_000)
                .find(|&start| start > unix_ms)
        })
    }
}

/// A service of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The number prefix, e.g. `A`.
    pub code: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// Counters serving it.
    pub counters: Vec<u16>,
    /// Numbers per day.
    pub daily_limit: u32,
    /// When it issues numbers.
    pub hours: OpeningHours,
    /// The procedure its counter handles, if the kiosk files it.
    pub procedure: Option<String>,
}

impl Service {
    /// The counters as printed: `1, 2, 5`.
    pub fn counters_text(&self) -> String {
        self.counters
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How priority tickets are ordered against normal ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityPolicy {
    /// Age from which a verified birth date gives priority.
    pub elderly_age: u16,
    /// Head start of a priority ticket in the waiting order, milliseconds.
    pub head_start_ms: u64,
}

/// The validated catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// Services in menu order.
    pub services: Vec<Service>,
    /// Priority ordering.
    pub policy: PriorityPolicy,
    /// Base of the status link.
    pub status_url: String,
}

/// The most numbers per service and day: three digits.
pub const MAX_DAILY_LIMIT: u32 = 999;

impl Catalog {
    /// Checks `raw` and builds the catalogue.
    pub fn from_config(raw: &QueueConfig) -> Result<Catalog, CatalogError> {
        let url = raw.status_url.trim().trim_end_matches('/');
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 120 {
            return Err(invalid(
                "queue.status_url",
                "must be an http(s) link of at most 120 characters (it goes into a QR code)",
            ));
        }
        if !(40..=100).contains(&raw.elderly_age) {
            return Err(invalid(
                "queue.elderly_age",
                format!("must be 40–100, not {}", raw.elderly_age),
            ));
        }
        if raw.priority_head_start_minutes > 240 {
            return Err(invalid(
                "queue.priority_head_start_minutes",
                "must be at most 240 (4 hours)",
            ));
        }
        let default_hours = OpeningHours::parse(&raw.hours, "queue.hours")?;
        if raw.services.is_empty() {
            return Err(invalid("queue.services", "must list at least one service"));
        }
        let mut services: Vec<Service> = Vec::new();
        for (i, s) in raw.services.iter().enumerate() {
            let field = |name: &str| format!("queue.services[{i}].{name}");
            let code = s.code.trim();
            if code.is_empty()
                || code.len() > 3
                || !code.chars().all(|c| c.is_ascii_uppercase())
                || code.ends_with('U')
            {
                return Err(invalid(
                    field("code"),
                    format!(
                        "must be 1–3 capital letters A–Z not ending in U (U marks priority numbers), not {:?}",
                        s.code
                    ),
                ));
            }
            if services.iter().any(|other| other.code == code) {
                return Err(invalid(field("code"), format!("{code:?} is used twice")));
            }
            if s.name_vi.trim().is_empty() || s.name_en.trim().is_empty() {
                return Err(invalid(field("name_vi/name_en"), "must not be empty"));
            }
            if s.counters.is_empty() {
                return Err(invalid(field("counters"), "must list at least one counter"));
            }
            if !(1..=MAX_DAILY_LIMIT).contains(&s.daily_limit) {
                return Err(invalid(
                    field("daily_limit"),
                    format!("must be 1–{MAX_DAILY_LIMIT}, not {}", s.daily_limit),
                ));
            }
            let hours = match &s.hours {
                Some(h) => OpeningHours::parse(h, &field("hours"))?,
                None => default_hours.clone(),
            };
            services.push(Service {
                code: code.to_owned(),
                name_vi: s.name_vi.trim().to_owned(),
                name_en: s.name_en.trim().to_owned(),
                counters: s.counters.clone(),
                daily_limit: s.daily_limit,
                hours,
                procedure: s
                    .procedure
                    .as_deref()
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            });
        }
        Ok(Catalog {
            services,
            policy: PriorityPolicy {
                elderly_age: raw.elderly_age,
                head_start_ms: u64::from(raw.priority_head_start_minutes) * 60_000,
            },
            status_url: url.to_owned(),
        })
    }

    /// The service with `code`.
    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }
}

/// The Vietnamese and English names of a priority, as printed.
pub fn priority_names(priority: Priority) -> (&'static str, &'static str) {
    match priority {
        Priority::Elderly => ("Người cao tuổi", "Elderly"),
        Priority::Disabled => ("Người khuyết tật", "Person with a disability"),
        Priority::Pregnant => ("Phụ nữ mang thai", "Pregnant woman"),
        Priority::SmallChild => ("Người đi cùng trẻ nhỏ", "With a small child"),
    }
}
