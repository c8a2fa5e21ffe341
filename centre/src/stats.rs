//! The centre's statistics for a day: waiting and service times per
//! service and per counter, no-shows, ratings and the satisfaction share —
//! the figures Decision 766/QĐ-TTg scores a one-stop centre on.
//!
//! - Waiting time: from the number's drawing to its first call (a recall
//!   or a transfer does not make the citizen wait less). Tickets still
//!   waiting are counted, not timed.
//! - Service time: from the last call (the citizen came after it) to
//!   "served", charged to the counter that served.
//! - Satisfaction share: ratings of [`SATISFIED_FROM`] or more over all
//!   ratings.
//!
//! Percentiles are nearest-rank over the day's values; times are whole
//! milliseconds in JSON and seconds in the Prometheus text. Nothing here
//! names a ticket, a kiosk's citizen or a number: counts and durations by
//! service code and counter number only.

use kiosk_firmware::queue::centre::{
    Origin, RatingKind, RatingRequest, SATISFIED_FROM, TicketState,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One ticket's times, as the statistics read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketTimes {
    /// Its service now (after any transfer).
    pub service: String,
    /// Its state.
    pub state: TicketState,
    /// Centre-issued or recorded from a kiosk's offline block.
    pub origin: Origin,
    /// The counter that called it last.
    pub counter: Option<u16>,
    /// When the number was drawn.
    pub drawn_at_ms: u64,
    /// Its first call.
    pub first_called_at_ms: Option<u64>,
    /// Its last call.
    pub called_at_ms: Option<u64>,
    /// Served, no-show or voided at.
    pub finished_at_ms: Option<u64>,
}

/// Durations of one kind (milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durations {
    /// How many were timed.
    pub count: u64,
    /// Their sum.
    pub sum_ms: u64,
    /// Their mean (whole milliseconds, rounded down).
    pub mean_ms: Option<u64>,
    /// Median (nearest rank).
    pub p50_ms: Option<u64>,
    /// 90th percentile (nearest rank).
    pub p90_ms: Option<u64>,
    /// The longest.
    pub max_ms: Option<u64>,
}

impl Durations {
    fn of(mut values: Vec<u64>) -> Durations {
        values.sort_unstable();
        let count = values.len() as u64;
        let sum_ms = values.iter().fold(0u64, |a, v| a.saturating_add(*v));
        Durations {
            count,
            sum_ms,
            mean_ms: sum_ms.checked_div(count),
            p50_ms: percentile(&values, 50),
            p90_ms: percentile(&values, 90),
            max_ms: values.last().copied(),
        }
    }
}

/// The nearest-rank `p`th percentile of sorted `values`.
fn percentile(values: &[u64], p: u64) -> Option<u64> {
    let n = values.len() as u64;
    if n == 0 {
        return None;
    }
    // rank = ceil(p/100 · n), 1-based.
    let rank = (p * n).div_ceil(100).max(1);
    values.get(usize::try_from(rank - 1).ok()?).copied()
}

/// Ratings of one scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ratings {
    /// How many.
    pub count: u64,
    /// How many of each score, 1 to 5.
    pub by_score: [u64; 5],
    /// The mean score, to two decimals.
    pub mean: Option<f64>,
    /// How many were [`SATISFIED_FROM`] or more.
    pub satisfied: u64,
    /// `satisfied / count`, to four decimals.
    pub satisfied_share: Option<f64>,
}

impl Ratings {
    fn of<'a>(scores: impl Iterator<Item = &'a RatingRequest>) -> Ratings {
        let mut r = Ratings::default();
        let mut sum = 0u64;
        for row in scores {
            let Some(slot) = usize::from(row.score)
                .checked_sub(1)
                .and_then(|i| r.by_score.get_mut(i))
            else {
                continue;
            };
            *slot += 1;
            r.count += 1;
            sum += u64::from(row.score);
            if row.score >= SATISFIED_FROM {
                r.satisfied += 1;
            }
        }
        if r.count > 0 {
            r.mean = Some(round(sum as f64 / r.count as f64, 100.0));
            r.satisfied_share = Some(round(r.satisfied as f64 / r.count as f64, 10_000.0));
        }
        r
    }
}

fn round(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

/// One service's day (or the whole centre's, with service `*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceStats {
    /// The service code.
    pub service: String,
    /// Numbers issued (centre and offline), voided ones not included.
    pub issued: u64,
    /// Of them, recorded from kiosks' offline blocks.
    pub offline: u64,
    /// Still waiting.
    pub waiting: u64,
    /// At a counter now.
    pub called: u64,
    /// Served.
    pub served: u64,
    /// Called and never came.
    pub no_show: u64,
    /// Voided (issued and never received by a citizen).
    pub void: u64,
    /// `no_show / (served + no_show)`, to four decimals.
    pub no_show_share: Option<f64>,
    /// Drawing to first call.
    pub wait: Durations,
    /// Last call to served.
    pub service_time: Durations,
    /// Ratings of tickets of this service (the whole centre: every rating).
    pub ratings: Ratings,
}

/// One counter's day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterStats {
    /// The counter's number.
    pub counter: u16,
    /// Tickets it served.
    pub served: u64,
    /// Tickets it called that never came.
    pub no_show: u64,
    /// Last call to served.
    pub service_time: Durations,
    /// Tickets it finished (served and no-show).
    pub finished: u64,
}

/// A centre's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayStats {
    /// The centre.
    pub centre_id: String,
    /// The local day (YYYYMMDD).
    pub day: String,
    /// The whole centre (`service` = `*`).
    pub total: ServiceStats,
    /// Per service, by code.
    pub services: Vec<ServiceStats>,
    /// Per counter, by number.
    pub counters: Vec<CounterStats>,
}

/// The statistics of `day` from its tickets and ratings.
pub fn summarise(
    centre_id: &str,
    day: &str,
    tickets: &[TicketTimes],
    ratings: &[RatingRequest],
) -> DayStats {
    let service_of = |code: &str, list: Vec<&TicketTimes>| {
        let mut s = ServiceStats {
            service: code.to_owned(),
            ..ServiceStats::default()
        };
        let mut waits = Vec::new();
        let mut services = Vec::new();
        for t in &list {
            match t.state {
                TicketState::Void => {
                    s.void += 1;
                    continue;
                }
                TicketState::Waiting => s.waiting += 1,
                TicketState::Called => s.called += 1,
                TicketState::Served => s.served += 1,
                TicketState::NoShow => s.no_show += 1,
            }
            s.issued += 1;
            if t.origin == Origin::Offline {
                s.offline += 1;
            }
            if let Some(first) = t.first_called_at_ms {
                waits.push(first.saturating_sub(t.drawn_at_ms));
            }
            if t.state == TicketState::Served
                && let (Some(called), Some(done)) = (t.called_at_ms, t.finished_at_ms)
            {
                services.push(done.saturating_sub(called));
            }
        }
        let finished = s.served + s.no_show;
        if finished > 0 {
            s.no_show_share = Some(round(s.no_show as f64 / finished as f64, 10_000.0));
        }
        s.wait = Durations::of(waits);
        s.service_time = Durations::of(services);
        s
    };
    let mut by_service: BTreeMap<&str, Vec<&TicketTimes>> = BTreeMap::new();
    for t in tickets {
        by_service.entry(t.service.as_str()).or_default().push(t);
    }
    for r in ratings {
        if let Some(s) = &r.service {
            by_service.entry(s.as_str()).or_default();
        }
    }
    let services = by_service
        .into_iter()
        .map(|(code, list)| {
            let mut s = service_of(code, list);
            s.ratings =
                Ratings::of(ratings.iter().filter(|r| {
                    r.kind == RatingKind::Ticket && r.service.as_deref() == Some(code)
                }));
            s
        })
        .collect();
    let mut total = service_of("*", tickets.iter().collect());
    total.ratings = Ratings::of(ratings.iter());
    let mut by_counter: BTreeMap<u16, (u64, u64, Vec<u64>)> = BTreeMap::new();
    for t in tickets {
        let Some(c) = t.counter else { continue };
        let entry = by_counter.entry(c).or_default();
        match t.state {
            TicketState::Served => {
                entry.0 += 1;
                if let (Some(called), Some(done)) = (t.called_at_ms, t.finished_at_ms) {
                    entry.2.push(done.saturating_sub(called));
                }
            }
            TicketState::NoShow => entry.1 += 1,
            _ => {}
        }
    }
    let counters = by_counter
        .into_iter()
        .map(|(counter, (served, no_show, times))| CounterStats {
            counter,
            served,
            no_show,
            finished: served + no_show,
            service_time: Durations::of(times),
        })
        .collect();
    DayStats {
        centre_id: centre_id.to_owned(),
        day: day.to_owned(),
        total,
        services,
        counters,
    }
}

/// A label value in the Prometheus text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn seconds(ms: u64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

/// The day's statistics in the Prometheus text exposition format (0.0.4):
/// gauges of the day so far, labelled by centre, service and counter.
pub fn prometheus(stats: &DayStats) -> String {
    let mut out = String::new();
    let c = label(&stats.centre_id);
    let head = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    head(
        &mut out,
        "kiosk_centre_tickets",
        "gauge",
        "Tickets of the local day by service and state (issued counts every non-void ticket).",
    );
    for s in &stats.services {
        let sv = label(&s.service);
        for (state, n) in [
            ("issued", s.issued),
            ("offline", s.offline),
            ("waiting", s.waiting),
            ("called", s.called),
            ("served", s.served),
            ("no_show", s.no_show),
            ("void", s.void),
        ] {
            let _ = writeln!(
                out,
                "kiosk_centre_tickets{{centre=\"{c}\",service=\"{sv}\",state=\"{state}\"}} {n}"
            );
        }
    }
    for (name, help, pick) in [
        (
            "kiosk_centre_wait_seconds",
            "Waiting time of the local day, from drawing to first call, by service.",
            (|s: &ServiceStats| &s.wait) as fn(&ServiceStats) -> &Durations,
        ),
        (
            "kiosk_centre_service_seconds",
            "Service time of the local day, from last call to served, by service.",
            |s: &ServiceStats| &s.service_time,
        ),
    ] {
        head(&mut out, name, "summary", help);
        for s in &stats.services {
            let sv = label(&s.service);
            summary(
                &mut out,
                name,
                &format!("centre=\"{c}\",service=\"{sv}\""),
                pick(s),
            );
        }
    }
    head(
        &mut out,
        "kiosk_centre_counter_service_seconds",
        "summary",
        "Service time of the local day by counter.",
    );
    for k in &stats.counters {
        summary(
            &mut out,
            "kiosk_centre_counter_service_seconds",
            &format!("centre=\"{c}\",counter=\"{}\"", k.counter),
            &k.service_time,
        );
    }
    head(
        &mut out,
        "kiosk_centre_counter_tickets",
        "gauge",
        "Tickets finished by each counter in the local day, by outcome.",
    );
    for k in &stats.counters {
        for (outcome, n) in [("served", k.served), ("no_show", k.no_show)] {
            let _ = writeln!(
                out,
                "kiosk_centre_counter_tickets{{centre=\"{c}\",counter=\"{}\",outcome=\"{outcome}\"}} {n}",
                k.counter
            );
        }
    }
    head(
        &mut out,
        "kiosk_centre_ratings",
        "gauge",
        "Satisfaction ratings of the local day by score (1 very unhappy to 5 very happy).",
    );
    for (i, n) in stats.total.ratings.by_score.iter().enumerate() {
        let _ = writeln!(
            out,
            "kiosk_centre_ratings{{centre=\"{c}\",score=\"{}\"}} {n}",
            i + 1
        );
    }
    head(
        &mut out,
        "kiosk_centre_satisfaction_ratio",
        "gauge",
        "Share of the local day's ratings that are 4 or 5 (absent before the first rating).",
    );
    if let Some(share) = stats.total.ratings.satisfied_share {
        let _ = writeln!(
            out,
            "kiosk_centre_satisfaction_ratio{{centre=\"{c}\"}} {share}"
        );
    }
    out
}

fn summary(out: &mut String, name: &str, labels: &str, d: &Durations) {
    for (q, v) in [("0.5", d.p50_ms), ("0.9", d.p90_ms), ("1", d.max_ms)] {
        if let Some(v) = v {
            let _ = writeln!(out, "{name}{{{labels},quantile=\"{q}\"}} {}", seconds(v));
        }
    }
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", seconds(d.sum_ms));
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", d.count);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    const MIN: u64 = 60_000;

    fn t(
        service: &str,
        state: TicketState,
        counter: Option<u16>,
        drawn: u64,
        first: Option<u64>,
        last: Option<u64>,
        done: Option<u64>,
    ) -> TicketTimes {
        TicketTimes {
            service: service.into(),
            state,
            origin: Origin::Centre,
            counter,
            drawn_at_ms: drawn,
            first_called_at_ms: first,
            called_at_ms: last,
            finished_at_ms: done,
        }
    }

    fn rating(score: u8, service: Option<&str>) -> RatingRequest {
        RatingRequest::new(score, service)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        let d = Durations::of(vec![30, 10, 20]);
        assert_eq!(
            d,
            Durations {
                count: 3,
                sum_ms: 60,
                mean_ms: Some(20),
                p50_ms: Some(20),
                p90_ms: Some(30),
                max_ms: Some(30),
            }
        );
    }

    #[test]
    fn a_day_counts_waits_services_no_shows_and_satisfaction() {
        let tickets = vec![
            // Waited 5 min, recalled after 2 min, served in 4 min after the recall.
            t(
                "A",
                TicketState::Served,
                Some(1),
                0,
                Some(5 * MIN),
                Some(7 * MIN),
                Some(11 * MIN),
            ),
            // Waited 15 min, served in 6.
            t(
                "A",
                TicketState::Served,
                Some(2),
                MIN,
                Some(16 * MIN),
                Some(16 * MIN),
                Some(22 * MIN),
            ),
            // Waited 10 min, never came.
            t(
                "A",
                TicketState::NoShow,
                Some(1),
                2 * MIN,
                Some(12 * MIN),
                Some(12 * MIN),
                Some(14 * MIN),
            ),
            // Still waiting: counted, not timed.
            t("A", TicketState::Waiting, None, 3 * MIN, None, None, None),
            // Voided: not issued to anyone.
            t(
                "A",
                TicketState::Void,
                None,
                4 * MIN,
                None,
                None,
                Some(5 * MIN),
            ),
            // Another service, at counter 2 now.
            t(
                "B",
                TicketState::Called,
                Some(2),
                0,
                Some(MIN),
                Some(MIN),
                None,
            ),
        ];
        let ratings = vec![
            rating(5, Some("A")),
            rating(4, Some("A")),
            rating(2, Some("A")),
            rating(3, None),
        ];
        let s = summarise("hn-01", "20261207", &tickets, &ratings);
        let a = &s.services[0];
        assert_eq!(a.service, "A");
        assert_eq!(
            (a.issued, a.waiting, a.called, a.served, a.no_show, a.void),
            (4, 1, 0, 2, 1, 1)
        );
        assert_eq!(a.no_show_share, Some(0.3333));
        assert_eq!(a.wait.count, 3);
        assert_eq!(a.wait.p50_ms, Some(10 * MIN));
        assert_eq!(a.wait.max_ms, Some(15 * MIN));
        assert_eq!(a.wait.mean_ms, Some(10 * MIN));
        assert_eq!(a.service_time.count, 2);
        assert_eq!(a.service_time.p50_ms, Some(4 * MIN));
        assert_eq!(a.service_time.max_ms, Some(6 * MIN));
        assert_eq!(a.ratings.count, 3);
        assert_eq!(a.ratings.satisfied_share, Some(0.6667));
        let b = &s.services[1];
        assert_eq!((b.issued, b.called), (1, 1));
        assert_eq!(b.ratings.count, 0);
        assert_eq!(b.ratings.satisfied_share, None);
        assert_eq!(s.total.issued, 5);
        assert_eq!(s.total.ratings.count, 4);
        assert_eq!(s.total.ratings.by_score, [0, 1, 1, 1, 1]);
        assert_eq!(s.total.ratings.mean, Some(3.5));
        assert_eq!(s.total.ratings.satisfied_share, Some(0.5));
        assert_eq!(
            s.counters
                .iter()
                .map(|c| (c.counter, c.served, c.no_show))
                .collect::<Vec<_>>(),
            [(1, 1, 1), (2, 1, 0)]
        );
        assert_eq!(s.counters[1].service_time.p50_ms, Some(6 * MIN));
    }

    #[test]
    fn the_prometheus_text_is_well_formed_and_carries_the_figures() {
        let tickets = vec![t(
            "A\"x",
            TicketState::Served,
            Some(3),
            0,
            Some(90_000),
            Some(90_000),
            Some(150_000),
        )];
        let text = prometheus(&summarise(
            "hn-01",
            "20261207",
            &tickets,
            &[rating(5, None)],
        ));
        assert!(text.contains(
            "kiosk_centre_tickets{centre=\"hn-01\",service=\"A\\\"x\",state=\"served\"} 1"
        ));
        assert!(text.contains(
            "kiosk_centre_wait_seconds{centre=\"hn-01\",service=\"A\\\"x\",quantile=\"0.5\"} 90"
        ));
        assert!(
            text.contains(
                "kiosk_centre_service_seconds_sum{centre=\"hn-01\",service=\"A\\\"x\"} 60"
            )
        );
        assert!(text.contains(
            "kiosk_centre_counter_tickets{centre=\"hn-01\",counter=\"3\",outcome=\"served\"} 1"
        ));
        assert!(text.contains("kiosk_centre_satisfaction_ratio{centre=\"hn-01\"} 1"));
        // Every line is a comment or `name{labels} value`, and every
        // metric has its TYPE before its samples.
        let mut typed = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().unwrap().to_owned());
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (name, value) = line.split_once('{').unwrap();
            let base = name
                .strip_suffix("_sum")
                .or_else(|| name.strip_suffix("_count"))
                .unwrap_or(name);
            assert!(typed.contains(base), "{line}: no TYPE before it");
            let value = value.rsplit_once("} ").unwrap().1;
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
