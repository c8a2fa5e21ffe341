//! Queue numbers: the service catalogue, numbering, priority and the
//! waiting order (DESIGN.md §1 `queue`; reference note
//! kiosk-products-and-rules.md §4.2 "Commit semantics" and §5.1 items 6–10).
//!
//! - [`catalog`]: services from the board configuration (code, names,
//!   counters, opening hours, daily limit).
//! - Numbering: per service and Vietnamese local day (UTC+7), so numbers
//!   restart at local midnight. Normal numbers are `A001`…`A999`; priority
//!   numbers have their own range, marked `U` (ưu tiên): `AU001`…. Each
//!   number is drawn in one IMMEDIATE SQLite transaction
//!   ([`crate::store::queue`]); the day and number are UNIQUE, so a number
//!   never repeats within a day, across restarts and power cuts.
//! - Commit after print: a drawn ticket counts as issued only once
//!   [`Queue::mark_printed`] records it. Until then it stays in the
//!   re-print list ([`Queue::unprinted`]) and out of the waiting list, so a
//!   crash between drawing and printing gives neither a duplicate nor a
//!   called number nobody holds (`MADO-queue#21`).
//! - Priority: 60 or older from the *verified* date of birth (Law on the
//!   Elderly 2009, Art. 2), or declared (disability, pregnancy, small
//!   child); see [`resolve_priority`] and [`order`].
//! - Opening hours and the daily limit refuse with typed errors
//!   ([`QueueError::Closed`], [`QueueError::SoldOut`]) that the session shows
//!   as their own states.
//!
//! - A kiosk of a centre takes its numbers from the centre and numbers
//!   from its own offline block when the centre is away ([`centre`]).
//!
//! Everything takes the wall-clock `now` as a parameter; nothing here reads
//! a clock or touches a device.

pub mod catalog;
pub mod centre;
pub mod order;

pub use crate::session::{Priority, Verification};
pub use catalog::{Catalog, CatalogError, QueueConfig, Service, priority_names};

use crate::cccd::date::Date;
use crate::session::Fault;
use crate::store::{Draw, NewTicket, Store, StoreError, TicketRow, UnixMillis};
use crate::ticket::{LocalTime, TicketContent};
use order::Place;

/// Which number range a ticket takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// Normal numbers, `A001`.
    Normal,
    /// Priority numbers, `AU001`.
    Priority,
}

impl Lane {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Normal => "normal",
            Lane::Priority => "priority",
        }
    }

    /// From its stored name.
    pub fn parse(s: &str) -> Option<Lane> {
        match s {
            "normal" => Some(Lane::Normal),
            "priority" => Some(Lane::Priority),
            _ => None,
        }
    }
}

/// The display number of sequence `seq` of a service in a lane.
pub fn display_number(code: &str, lane: &str, seq: u32) -> String {
    if lane == Lane::Priority.as_str() {
        format!("{code}U{seq:03}")
    } else {
        format!("{code}{seq:03}")
    }
}

/// As stored.
pub fn priority_code(p: Priority) -> &'static str {
    match p {
        Priority::Elderly => "elderly",
        Priority::Disabled => "disabled",
        Priority::Pregnant => "pregnant",
        Priority::SmallChild => "small_child",
    }
}

/// From its stored (or command-line) name; `child` is accepted for
/// `small_child`.
pub fn parse_priority(s: &str) -> Option<Priority> {
    match s {
        "elderly" => Some(Priority::Elderly),
        "disabled" => Some(Priority::Disabled),
        "pregnant" => Some(Priority::Pregnant),
        "small_child" | "child" => Some(Priority::SmallChild),
        _ => None,
    }
}

/// As stored.
pub fn verification_code(v: Verification) -> &'static str {
    match v {
        Verification::Anonymous => "anonymous",
        Verification::FaceMatched => "face_matched",
        Verification::StaffConfirmed => "staff_confirmed",
        Verification::Guardian => "guardian",
    }
}

/// Why a number was not drawn, or a ticket not found.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The service code is not in the catalogue (a stale menu). Remedy:
    /// reload the configuration; the menu lists only configured services.
    #[error("no service {0:?} in the catalogue")]
    UnknownService(String),
    /// The service issues no numbers now. The citizen sees "closed" and,
    /// when known, when it opens.
    #[error("service {service} issues no numbers now")]
    Closed {
        /// The service.
        service: String,
        /// When it next opens (wall-clock ms), within a week.
        next_opening: Option<UnixMillis>,
    },
    /// The service's numbers for today are used up ("no tickets left
    /// today"). Remedy: come back tomorrow; staff may raise the limit.
    #[error("service {service} has given out its {limit} numbers for today")]
    SoldOut {
        /// The service.
        service: String,
        /// The daily limit.
        limit: u32,
    },
    /// Elderly priority was asked for without a verified date of birth of
    /// 60 or more. Remedy: read the ID card, or ask staff.
    #[error("elderly priority needs a verified date of birth")]
    PriorityNotEligible,
    /// The wall clock is outside any date the kiosk can print. Remedy: set
    /// the board's clock (NTP).
    #[error("the wall clock ({0} ms) is not a usable date")]
    Clock(u64),
    /// No such ticket.
    #[error("no ticket {0}")]
    NoSuchTicket(String),
    /// A stored ticket this firmware cannot read (a newer firmware's row).
    #[error("ticket row {0} cannot be read")]
    CorruptRow(i64),
    /// The centre could not be reached and this kiosk knows no offline
    /// block (it never reached the centre since it was set up). Remedy:
    /// check the network and `kioskctl centre status`.
    #[error("the centre cannot be reached and no offline block is known")]
    CentreUnreachable,
    /// The centre refused (this kiosk is not admitted, a bad request).
    /// Remedy: see the code; `kioskctl centre status` shows the admission.
    #[error("the centre refused: {code}: {message}")]
    CentreRefused {
        /// The centre's code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The database failed; nothing was drawn.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QueueError {
    /// What the session shows.
    pub fn fault(&self) -> Fault {
        match self {
            QueueError::Closed { .. } => Fault::ServiceClosed,
            QueueError::SoldOut { .. } => Fault::ServiceSoldOut,
            QueueError::PriorityNotEligible => Fault::PriorityNotEligible,
            QueueError::CentreUnreachable => Fault::CentreUnreachable,
            QueueError::CentreRefused { .. } => Fault::CentreRefused,
            _ => Fault::Internal,
        }
    }
}

/// What the kiosk knows of the citizen's age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeEvidence {
    /// The date of birth from a verified chip read (DG13).
    Verified(Date),
    /// Staff looked at the citizen's papers and declare the priority
    /// (`kioskctl ticket print --priority elderly`).
    StaffAttested,
    /// Nobody knows (a walk-in).
    Unknown,
}

/// The priority a ticket gets. Elderly priority comes from a verified date
/// of birth, automatically when the citizen is old enough, or from staff;
/// the other categories are declared (the kiosk cannot check them).
pub fn resolve_priority(
    declared: Option<Priority>,
    age: AgeEvidence,
    today: Date,
    elderly_age: u16,
) -> Result<Option<Priority>, QueueError> {
    let old_enough = match age {
        AgeEvidence::Verified(born) => Some(born.age_on(today) >= elderly_age),
        AgeEvidence::StaffAttested => Some(declared == Some(Priority::Elderly)),
        AgeEvidence::Unknown => None,
    };
    match (declared, old_enough) {
        (Some(Priority::Elderly), Some(true)) => Ok(Some(Priority::Elderly)),
        (Some(Priority::Elderly), _) => Err(QueueError::PriorityNotEligible),
        (Some(other), _) => Ok(Some(other)),
        (None, Some(true)) => Ok(Some(Priority::Elderly)),
        (None, _) => Ok(None),
    }
}

/// A ticket as the kiosk uses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ticket {
    /// Row id.
    pub id: i64,
    /// Local day `YYYYMMDD`.
    pub day: String,
    /// The display number.
    pub number: String,
    /// Service code.
    pub service: String,
    /// Number range.
    pub lane: Lane,
    /// Priority category.
    pub priority: Option<Priority>,
    /// How identity was checked (`anonymous`, …).
    pub verification: String,
    /// When drawn (wall-clock ms).
    pub drawn_at: u64,
    /// When printed; `None`: not issued yet, re-printable.
    pub printed_at: Option<u64>,
    /// Print attempts.
    pub print_attempts: u32,
    /// Why the last print failed.
    pub last_print_problem: Option<String>,
    /// When a counter called it.
    pub called_at: Option<u64>,
    /// Which counter.
    pub counter: Option<u16>,
    /// Where the number came from (`offline`: printed as such).
    pub origin: centre::Origin,
}

impl Ticket {
    pub(crate) fn from_row(row: TicketRow) -> Result<Ticket, QueueError> {
        let lane = Lane::parse(&row.lane).ok_or(QueueError::CorruptRow(row.id))?;
        let priority = match &row.priority {
            Some(p) => Some(parse_priority(p).ok_or(QueueError::CorruptRow(row.id))?),
            None => None,
        };
        let origin = centre::Origin::parse(&row.origin).ok_or(QueueError::CorruptRow(row.id))?;
        Ok(Ticket {
            origin,
            id: row.id,
            day: row.day,
            number: row.number,
            service: row.service,
            lane,
            priority,
            verification: row.verification,
            drawn_at: row.drawn_at.0,
            printed_at: row.printed_at.map(|t| t.0),
            print_attempts: row.print_attempts,
            last_print_problem: row.last_print_problem,
            called_at: row.called_at.map(|t| t.0),
            counter: row.counter,
        })
    }

    fn place(&self) -> Place {
        Place {
            id: self.id,
            lane: self.lane,
            drawn_at: UnixMillis(self.drawn_at),
        }
    }

    /// The unique reference printed on the ticket.
    pub fn reference(&self, kiosk_id: &str) -> String {
        format!("{kiosk_id} · {} · {}", self.day, self.number)
    }
}

/// A request for a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawRequest<'a> {
    /// Service code.
    pub service: &'a str,
    /// What the citizen declared.
    pub declared: Option<Priority>,
    /// What is known of their age.
    pub age: AgeEvidence,
    /// How identity was checked.
    pub verification: Verification,
}

/// A number just drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    /// The ticket (not yet printed).
    pub ticket: Ticket,
    /// Tickets of the service called before it, as far as known now.
    pub waiting: u32,
}

/// The queue of one kiosk.
#[derive(Debug, Clone)]
pub struct Queue {
    catalog: Catalog,
}

impl Queue {
    /// A queue over `catalog`.
    pub fn new(catalog: Catalog) -> Queue {
        Queue { catalog }
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The local day key at `now`.
    pub fn day(now: UnixMillis) -> Result<String, QueueError> {
        Ok(LocalTime::in_vietnam(now.0)
            .ok_or(QueueError::Clock(now.0))?
            .day_key())
    }

    /// Draws a number: checks the service, its hours and the priority,
    /// then takes the next number in one transaction.
    pub fn draw(
        &self,
        store: &mut Store,
        request: &DrawRequest<'_>,
        now: UnixMillis,
    ) -> Result<Drawn, QueueError> {
        let service = self
            .catalog
            .service(request.service)
            .ok_or_else(|| QueueError::UnknownService(request.service.to_owned()))?;
        let local = LocalTime::in_vietnam(now.0).ok_or(QueueError::Clock(now.0))?;
        if !service.hours.is_open(now.0) {
            return Err(QueueError::Closed {
                service: service.code.clone(),
                next_opening: service.hours.next_opening(now.0).map(UnixMillis),
            });
        }
        let today =
            Date::new(local.year, local.month, local.day).ok_or(QueueError::Clock(now.0))?;
        let priority = resolve_priority(
            request.declared,
            request.age,
            today,
            self.catalog.policy.elderly_age,
        )?;
        let lane = if priority.is_some() {
            Lane::Priority
        } else {
            Lane::Normal
        };
        let day = local.day_key();
        let draw = store.draw_ticket(&NewTicket {
            day: &day,
            service: &service.code,
            lane: lane.as_str(),
            format: display_number,
            priority: priority.map(priority_code),
            verification: verification_code(request.verification),
            drawn_at: now,
            daily_limit: service.daily_limit,
        })?;
        let row = match draw {
            Draw::Drawn(row) => row,
            Draw::SoldOut { .. } => {
                return Err(QueueError::SoldOut {
                    service: service.code.clone(),
                    limit: service.daily_limit,
                });
            }
        };
        let ticket = Ticket::from_row(*row)?;
        let waiting = self.waiting_before(store, &ticket)?;
        Ok(Drawn { ticket, waiting })
    }

    /// How many waiting tickets of its service are called before `ticket`.
    pub fn waiting_before(&self, store: &Store, ticket: &Ticket) -> Result<u32, QueueError> {
        let waiting: Vec<Place> = self
            .waiting_list(store, &ticket.day, &ticket.service)?
            .iter()
            .map(Ticket::place)
            .collect();
        Ok(order::ahead_of(
            &ticket.place(),
            &waiting,
            &self.catalog.policy,
        ))
    }

    /// The printed, uncalled tickets of `service` on `day`, in calling order.
    pub fn waiting_list(
        &self,
        store: &Store,
        day: &str,
        service: &str,
    ) -> Result<Vec<Ticket>, QueueError> {
        let mut tickets = store
            .waiting_tickets(day, service)?
            .into_iter()
            .map(Ticket::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        tickets.sort_by_key(|t| order::order_key(&t.place(), &self.catalog.policy));
        Ok(tickets)
    }

    /// Calls the next waiting ticket of `service` to `counter`.
    pub fn call_next(
        &self,
        store: &mut Store,
        service: &str,
        counter: u16,
        now: UnixMillis,
    ) -> Result<Option<Ticket>, QueueError> {
        let day = Self::day(now)?;
        for ticket in self.waiting_list(store, &day, service)? {
            // Another process may have called it meanwhile: take the next.
            if store.mark_ticket_called(ticket.id, counter, now)? {
                return Ok(Some(Ticket {
                    called_at: Some(now.0),
                    counter: Some(counter),
                    ..ticket
                }));
            }
        }
        Ok(None)
    }

    /// What the paper says for `ticket`.
    pub fn content(
        &self,
        ticket: &Ticket,
        waiting: u32,
        center_name: &str,
        kiosk_id: &str,
        reprint: bool,
    ) -> Result<TicketContent, QueueError> {
        let service = self
            .catalog
            .service(&ticket.service)
            .ok_or_else(|| QueueError::UnknownService(ticket.service.clone()))?;
        let issued_at =
            LocalTime::in_vietnam(ticket.drawn_at).ok_or(QueueError::Clock(ticket.drawn_at))?;
        Ok(TicketContent {
            center_name: center_name.to_owned(),
            service_vi: service.name_vi.clone(),
            service_en: service.name_en.clone(),
            number: ticket.number.clone(),
            priority: ticket.priority.map(|p| {
                let (vi, en) = priority_names(p);
                (vi.to_owned(), en.to_owned())
            }),
            waiting,
            counters: service.counters_text(),
            issued_at,
            qr: format!(
                "{}/{kiosk_id}/{}/{}",
                self.catalog.status_url, ticket.day, ticket.number
            ),
            reference: ticket.reference(kiosk_id),
            reprint,
            offline: ticket.origin == centre::Origin::Offline,
        })
    }

    /// Records that the ticket came out of the printer: it is issued now.
    pub fn mark_printed(
        &self,
        store: &mut Store,
        id: i64,
        now: UnixMillis,
    ) -> Result<(), QueueError> {
        if store.mark_ticket_printed(id, now)? {
            Ok(())
        } else {
            Err(QueueError::NoSuchTicket(id.to_string()))
        }
    }

    /// Records a failed print; the ticket stays re-printable.
    pub fn record_print_failure(
        &self,
        store: &mut Store,
        id: i64,
        problem: &str,
        now: UnixMillis,
    ) -> Result<(), QueueError> {
        store.record_print_failure(id, problem, now)?;
        Ok(())
    }

    /// Tickets drawn but never printed, newest first.
    pub fn unprinted(&self, store: &Store, limit: u32) -> Result<Vec<Ticket>, QueueError> {
        store
            .unprinted_tickets(limit)?
            .into_iter()
            .map(Ticket::from_row)
            .collect()
    }

    /// Every ticket of `day`, in drawing order.
    pub fn tickets_of_day(&self, store: &Store, day: &str) -> Result<Vec<Ticket>, QueueError> {
        store
            .tickets_of_day(day)?
            .into_iter()
            .map(Ticket::from_row)
            .collect()
    }

    /// The ticket shown as `number` on `day`.
    pub fn find(&self, store: &Store, day: &str, number: &str) -> Result<Ticket, QueueError> {
        let row = store
            .ticket_by_number(day, number)?
            .ok_or_else(|| QueueError::NoSuchTicket(format!("{number} of {day}")))?;
        Ticket::from_row(row)
    }
}

#[cfg(test)]
mod tests;
