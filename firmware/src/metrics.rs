//! Usage metrics without personal data: what the kiosk counts, the labels
//! it may carry, and the Prometheus text exposition of the counts.
//!
//! The service centres are measured on how many citizens they serve and how
//! satisfied they are (their goal: at least 90 % satisfied). The kiosk counts journeys started and ended (by
//! reason), identifications (by outcome), face-check attempts (by outcome),
//! tickets printed and unprinted (by service), requests queued, sent and
//! refused (by procedure), ratings (by score) and staff calls (by reason).
//!
//! Nothing else is counted, and a count carries at most one label, which is
//! a [`Label`]: either a name from this module (an outcome, a reason, a
//! score) or a configuration code (a service or procedure code) that passed
//! [`Label::code`]. A name, an ID number or a date can never be a label,
//! because no such value is ever handed to these constructors; the code
//! check is a second fence (no spaces, no diacritics, at most 32 bytes).
//!
//! The counts live per local day in the store (`usage_counts`, migration
//! 0004; see `store::usage`). [`prometheus`] renders them in the Prometheus
//! text format 0.0.4 (<https://prometheus.io/docs/instrumenting/exposition_formats/>):
//! every counter is the total since the database was created, with
//! `_total` names, plus gauges for the outbox backlog and the printer.

use crate::session::{EndReason, FaceOutcome, Fault, ReadFailure, StaffReason};
use serde::Serialize;
use std::fmt::Write as _;

/// What the kiosk counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// A journey began (a card was placed, or a walk-in touched the screen).
    JourneysStarted,
    /// A journey ended; label: [`end_reason`].
    JourneysEnded,
    /// A chip read ended; label: [`identification`] (`identified` or why not).
    Identifications,
    /// A face-check attempt ended; label: [`face_outcome`].
    FaceChecks,
    /// A ticket came out of the printer; label: the service code.
    TicketsPrinted,
    /// A ticket was drawn but did not print (shown on screen, re-printable);
    /// label: the service code.
    TicketsUnprinted,
    /// A request was sealed into the outbox; label: the procedure code.
    RequestsQueued,
    /// The portal confirmed a request (its row left the outbox).
    RequestsSent,
    /// The portal refused a request for good; label: the procedure code.
    RequestsRefused,
    /// A satisfaction rating; label: the score `1`–`5`, or `skipped`.
    Ratings,
    /// Staff were called; label: [`staff_reason`].
    StaffCalls,
}

impl Metric {
    /// Every metric, in the order they are shown.
    pub const ALL: [Metric; 11] = [
        Metric::JourneysStarted,
        Metric::JourneysEnded,
        Metric::Identifications,
        Metric::FaceChecks,
        Metric::TicketsPrinted,
        Metric::TicketsUnprinted,
        Metric::RequestsQueued,
        Metric::RequestsSent,
        Metric::RequestsRefused,
        Metric::Ratings,
        Metric::StaffCalls,
    ];

    /// The name in the store and in JSON (`journeys_started`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::JourneysStarted => "journeys_started",
            Metric::JourneysEnded => "journeys_ended",
            Metric::Identifications => "identifications",
            Metric::FaceChecks => "face_checks",
            Metric::TicketsPrinted => "tickets_printed",
            Metric::TicketsUnprinted => "tickets_unprinted",
            Metric::RequestsQueued => "requests_queued",
            Metric::RequestsSent => "requests_sent",
            Metric::RequestsRefused => "requests_refused",
            Metric::Ratings => "ratings",
            Metric::StaffCalls => "staff_calls",
        }
    }

    /// The metric with this [`Metric::name`].
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The name of its label in Prometheus, if it has one.
    pub fn label_name(self) -> Option<&'static str> {
        match self {
            Metric::JourneysStarted | Metric::RequestsSent => None,
            Metric::JourneysEnded | Metric::StaffCalls => Some("reason"),
            Metric::Identifications | Metric::FaceChecks => Some("outcome"),
            Metric::TicketsPrinted | Metric::TicketsUnprinted => Some("service"),
            Metric::RequestsQueued | Metric::RequestsRefused => Some("procedure"),
            Metric::Ratings => Some("score"),
        }
    }

    /// One line of help for Prometheus.
    pub fn help(self) -> &'static str {
        match self {
            Metric::JourneysStarted => "Citizen journeys started (card placed or walk-in).",
            Metric::JourneysEnded => "Citizen journeys ended, by reason.",
            Metric::Identifications => "Chip reads ended, by outcome.",
            Metric::FaceChecks => "Face-check attempts ended, by outcome.",
            Metric::TicketsPrinted => "Queue tickets that came out of the printer, by service.",
            Metric::TicketsUnprinted => "Queue tickets drawn that did not print, by service.",
            Metric::RequestsQueued => "Online requests sealed into the outbox, by procedure.",
            Metric::RequestsSent => "Online requests the portal confirmed.",
            Metric::RequestsRefused => "Online requests the portal refused, by procedure.",
            Metric::Ratings => "Satisfaction ratings, by score (1-5 or skipped).",
            Metric::StaffCalls => "Staff calls, by reason.",
        }
    }
}

/// A label value: a fixed name of this module, or a configuration code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(LabelInner);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum LabelInner {
    Fixed(&'static str),
    Code(String),
}

/// The longest configuration code accepted as a label, in bytes.
pub const MAX_CODE_LEN: usize = 32;

impl Label {
    /// No label (for metrics without one).
    pub const NONE: Label = Label(LabelInner::Fixed(""));

    /// A fixed name (outcomes, reasons, scores of this module).
    const fn fixed(name: &'static str) -> Label {
        Label(LabelInner::Fixed(name))
    }

    /// A service or procedure code from the configuration. `None` unless it
    /// is 1–32 bytes of ASCII letters, digits, `.`, `-` and `_`.
    pub fn code(code: &str) -> Option<Label> {
        let ok = !code.is_empty()
            && code.len() <= MAX_CODE_LEN
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        ok.then(|| Label(LabelInner::Code(code.to_owned())))
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            LabelInner::Fixed(s) => s,
            LabelInner::Code(s) => s,
        }
    }
}

/// A count to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// What.
    pub metric: Metric,
    /// Its label ([`Label::NONE`] for metrics without one).
    pub label: Label,
    /// How many (usually 1).
    pub by: u64,
}

impl Count {
    /// One more of `metric` with `label`.
    pub fn one(metric: Metric, label: Label) -> Count {
        Count {
            metric,
            label,
            by: 1,
        }
    }
}

/// The label of a journey's end.
pub fn end_reason(reason: &EndReason) -> Label {
    Label::fixed(match reason {
        EndReason::Completed => "completed",
        EndReason::Cancelled => "cancelled",
        EndReason::TimedOut | EndReason::Fault(Fault::TimedOut) => "timed_out",
        EndReason::CardRemoved | EndReason::Fault(Fault::CardRemoved) => "card_removed",
        EndReason::Fault(_) => "fault",
    })
}

/// The label of a fault.
pub fn fault(fault: Fault) -> Label {
    Label::fixed(match fault {
        Fault::CardRemoved => "card_removed",
        Fault::WrongAccessKey => "wrong_access_key",
        Fault::NotAnIdCard => "not_an_id_card",
        Fault::UnreadableCard => "unreadable_card",
        Fault::DocumentNotGenuine => "document_not_genuine",
        Fault::DocumentExpired => "document_expired",
        Fault::ReaderUnavailable => "reader_unavailable",
        Fault::CameraUnavailable => "camera_unavailable",
        Fault::PrinterUnavailable => "printer_unavailable",
        Fault::ServiceClosed => "service_closed",
        Fault::ServiceSoldOut => "service_sold_out",
        Fault::PriorityNotEligible => "priority_not_eligible",
        Fault::TimedOut => "timed_out",
        Fault::RequestNotQueued => "request_not_queued",
        Fault::OutOfService => "out_of_service",
        Fault::RequestRefused => "request_refused",
        Fault::Internal => "internal",
        Fault::KeyMismatch => "key_mismatch",
        Fault::CardRevoked => "card_revoked",
        Fault::CardUnknownToAuthority => "card_unknown_to_authority",
        Fault::AuthorityAnswerInvalid => "authority_answer_invalid",
        Fault::UnverifiedOffline => "unverified_offline",
        Fault::CentreUnreachable => "centre_unreachable",
        Fault::CentreRefused => "centre_refused",
    })
}

/// The label of a chip read's end: `identified`, or why not.
pub fn identification<T>(result: &Result<T, ReadFailure>) -> Label {
    match result {
        Ok(_) => Label::fixed("identified"),
        Err(ReadFailure::WrongAccessKey) => Label::fixed("wrong_access_key"),
        Err(ReadFailure::Fault(f)) => fault(*f),
    }
}

/// The label of a face-check attempt's end.
pub fn face_outcome(outcome: FaceOutcome) -> Label {
    Label::fixed(match outcome {
        FaceOutcome::Match => "match",
        FaceOutcome::NoMatch => "no_match",
        FaceOutcome::LivenessFailed => "liveness_failed",
        FaceOutcome::NoFace => "no_face",
        FaceOutcome::CameraFault => "camera_fault",
        FaceOutcome::PhotoUnusable => "photo_unusable",
        FaceOutcome::Unavailable => "unavailable",
    })
}

/// The label of why staff were called.
pub fn staff_reason(reason: StaffReason) -> Label {
    Label::fixed(match reason {
        StaffReason::FaceNotMatched => "face_not_matched",
        StaffReason::FaceCheckDeclined => "face_check_declined",
        StaffReason::CameraFault => "camera_fault",
        StaffReason::ChipPhotoUnusable => "chip_photo_unusable",
        StaffReason::FaceCheckUnavailable => "face_check_unavailable",
        StaffReason::GuardianPresent => "guardian_present",
    })
}

/// The label of a rating: the score 1–5, or `skipped`. Scores outside 1–5
/// (never produced by the UI) count as `skipped`.
pub fn rating(score: Option<u8>) -> Label {
    Label::fixed(match score {
        Some(1) => "1",
        Some(2) => "2",
        Some(3) => "3",
        Some(4) => "4",
        Some(5) => "5",
        _ => "skipped",
    })
}

/// One stored count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageCount {
    /// The metric's [`Metric::name`].
    pub metric: String,
    /// The label (empty for none).
    pub label: String,
    /// The count.
    pub count: u64,
}

/// Counts (of a day, or totals), with what staff and the dashboards ask.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Every non-zero count, sorted by metric then label.
    pub counts: Vec<UsageCount>,
}

/// Share of satisfied ratings (4 or 5) among the given ones (not skipped).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Satisfaction {
    /// Ratings given (1–5).
    pub rated: u64,
    /// Ratings of 4 or 5.
    pub satisfied: u64,
    /// `satisfied / rated`, 0–1.
    pub share: f64,
}

impl Usage {
    /// The sum of `metric` over its labels.
    pub fn total(&self, metric: Metric) -> u64 {
        self.counts
            .iter()
            .filter(|c| c.metric == metric.name())
            .map(|c| c.count)
            .sum()
    }

    /// The count of `metric` with `label`.
    pub fn get(&self, metric: Metric, label: &str) -> u64 {
        self.counts
            .iter()
            .filter(|c| c.metric == metric.name() && c.label == label)
            .map(|c| c.count)
            .sum()
    }

    /// The satisfaction share, when somebody rated.
    pub fn satisfaction(&self) -> Option<Satisfaction> {
        let score = |s: &str| self.get(Metric::Ratings, s);
        let rated: u64 = ["1", "2", "3", "4", "5"].into_iter().map(score).sum();
        let satisfied = score("4") + score("5");
        (rated > 0).then(|| Satisfaction {
            rated,
            satisfied,
            share: satisfied as f64 / rated as f64,
        })
    }

    /// Share of chip reads that identified the holder, when there were any.
    pub fn identification_rate(&self) -> Option<f64> {
        let all = self.total(Metric::Identifications);
        (all > 0).then(|| self.get(Metric::Identifications, "identified") as f64 / all as f64)
    }
}

/// What the ticket printer reports, as a Prometheus state set: `ok`,
/// `paper_near_end` (prints, change the roll soon), a problem that stops
/// printing, or `unknown` (nothing printed since the kiosk started).
pub const PRINTER_STATES: [&str; 8] = [
    "ok",
    "paper_near_end",
    "paper_out",
    "cover_open",
    "offline",
    "printer_error",
    "disconnected",
    "unknown",
];

/// The settings key (store `kv`) under which the runtime keeps the printer
/// state for readers beside it.
pub const PRINTER_STATE_KEY: &str = "metrics.printer_state";

/// The gauges beside the counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gauges {
    /// Requests waiting in the outbox (pending, or being sent).
    pub outbox_pending: u64,
    /// Requests the portal refused, waiting for staff.
    pub outbox_failed: u64,
    /// The printer's state, one of [`PRINTER_STATES`].
    pub printer: &'static str,
}

/// Quotes a label value for the text format (backslash, quote, newline).
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The Prometheus text exposition (format 0.0.4) of `totals` and `gauges`.
/// Metric names are `kiosk_<name>_total`; metrics without a label always
/// appear (0 when none); labelled ones list the labels seen.
pub fn prometheus(totals: &Usage, gauges: &Gauges) -> String {
    let mut out = String::new();
    for metric in Metric::ALL {
        let name = format!("kiosk_{}_total", metric.name());
        let _ = writeln!(out, "# HELP {name} {}", metric.help());
        let _ = writeln!(out, "# TYPE {name} counter");
        match metric.label_name() {
            None => {
                let _ = writeln!(out, "{name} {}", totals.total(metric));
            }
            Some(label) => {
                for c in totals.counts.iter().filter(|c| c.metric == metric.name()) {
                    out.push_str(&name);
                    out.push('{');
                    out.push_str(label);
                    out.push_str("=\"");
                    escape(&c.label, &mut out);
                    let _ = writeln!(out, "\"}} {}", c.count);
                }
            }
        }
    }
    let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name} {value}");
    };
    gauge(
        &mut out,
        "kiosk_outbox_pending",
        "Requests waiting in the outbox for the portal.",
        gauges.outbox_pending,
    );
    gauge(
        &mut out,
        "kiosk_outbox_failed",
        "Requests the portal refused, waiting for staff.",
        gauges.outbox_failed,
    );
    let _ = writeln!(
        out,
        "# HELP kiosk_printer_state The ticket printer's state (1 for the current one)."
    );
    let _ = writeln!(out, "# TYPE kiosk_printer_state gauge");
    for state in PRINTER_STATES {
        let _ = writeln!(
            out,
            "kiosk_printer_state{{state=\"{state}\"}} {}",
            u8::from(state == gauges.printer)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(rows: &[(&str, &str, u64)]) -> Usage {
        Usage {
            counts: rows
                .iter()
                .map(|(m, l, c)| UsageCount {
                    metric: (*m).into(),
                    label: (*l).into(),
                    count: *c,
                })
                .collect(),
        }
    }

    #[test]
    fn codes_with_spaces_diacritics_or_excess_length_are_not_labels() {
        assert!(Label::code("A").is_some());
        assert!(Label::code("1.004222").is_some());
        assert!(Label::code("Nguyễn Văn Mẫu").is_none());
        assert!(Label::code("Nguyen Van").is_none());
        assert!(Label::code("").is_none());
        assert!(Label::code(&"x".repeat(MAX_CODE_LEN + 1)).is_none());
        assert!(Label::code("a\"b").is_none());
    }

    #[test]
    fn every_metric_name_round_trips() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("names"), None);
    }

    #[test]
    fn satisfaction_counts_four_and_five_among_given_ratings() {
        let u = usage(&[
            ("ratings", "5", 7),
            ("ratings", "4", 2),
            ("ratings", "2", 1),
            ("ratings", "skipped", 5),
        ]);
        let s = u.satisfaction().unwrap();
        assert_eq!((s.rated, s.satisfied), (10, 9));
        assert!((s.share - 0.9).abs() < 1e-9);
        assert_eq!(Usage::default().satisfaction(), None);
    }

    #[test]
    fn timeouts_and_card_removals_by_fault_share_the_plain_reasons() {
        assert_eq!(
            end_reason(&EndReason::Fault(Fault::CardRemoved)),
            end_reason(&EndReason::CardRemoved)
        );
        assert_eq!(
            end_reason(&EndReason::Fault(Fault::TimedOut)).as_str(),
            "timed_out"
        );
        assert_eq!(
            end_reason(&EndReason::Fault(Fault::PrinterUnavailable)).as_str(),
            "fault"
        );
    }

    #[test]
    fn the_exposition_has_help_type_and_a_sample_for_every_counter() {
        let u = usage(&[
            ("journeys_started", "", 3),
            ("tickets_printed", "A", 2),
            ("tickets_printed", "B", 1),
        ]);
        let text = prometheus(
            &u,
            &Gauges {
                outbox_pending: 4,
                outbox_failed: 1,
                printer: "paper_out",
            },
        );
        for m in Metric::ALL {
            let name = format!("kiosk_{}_total", m.name());
            assert!(text.contains(&format!("# TYPE {name} counter\n")), "{name}");
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        }
        assert!(text.contains("kiosk_journeys_started_total 3\n"));
        assert!(text.contains("kiosk_requests_sent_total 0\n"));
        assert!(text.contains("kiosk_tickets_printed_total{service=\"A\"} 2\n"));
        assert!(text.contains("kiosk_tickets_printed_total{service=\"B\"} 1\n"));
        assert!(text.contains("kiosk_outbox_pending 4\n"));
        assert!(text.contains("kiosk_printer_state{state=\"paper_out\"} 1\n"));
        assert!(text.contains("kiosk_printer_state{state=\"ok\"} 0\n"));
        assert!(text.ends_with('\n'));
    }
}
