//! Issuing a queue ticket on a board: draw the number (`firmware::queue`),
//! lay it out (`firmware::ticket`), print it with a real-time status check
//! before and after (`DLE EOT`, reference note kiosk-products-and-rules.md
//! §5.1 item 9), and record the outcome. The runtime and `kioskctl ticket`
//! share this, so both print the same paper and keep the same books.
//!
//! Commit after print: the number is committed when drawn (so it never
//! repeats), but the ticket counts as issued only when the printer took the
//! whole job and its status afterwards still says it can print. Otherwise
//! the outcome names the [`PrintProblem`], the ticket stays re-printable
//! ([`Ticketing::reprint`]) and the caller alerts staff.
//!
//! Nothing here reads a clock: `now` is passed in, and callers that time
//! the phases (the benchmark) do it in the `observe` callback.

use crate::config::Config;
use crate::drivers::PrinterDevice;
use kiosk_firmware::queue::{DrawRequest, Queue, QueueError, Ticket};
use kiosk_firmware::session::{PrintProblem, TicketInfo};
use kiosk_firmware::store::{Store, UnixMillis};
use kiosk_firmware::ticket::escpos::encode_ticket;
use kiosk_firmware::ticket::raster::{PaperWidth, RasterError};
use kiosk_hal::printer::{PaperLevel, PrinterStatus};
use kiosk_hal::{Error as _, ErrorKind};

/// Why a ticket could not be issued or re-printed at all (printer problems
/// are not errors: they are in [`PrintReport::outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum TicketingError {
    /// The queue refused (closed, sold out, not eligible) or the store
    /// failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The ticket could not be laid out (a configuration with absurd texts).
    #[error("the ticket cannot be laid out: {0}")]
    Layout(#[from] RasterError),
}

/// The moments of issuing a ticket, reported to the `observe` callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The number is drawn and committed.
    Drawn,
    /// The raster and its ESC/POS bytes are ready.
    Encoded,
    /// The printer answered the status query before printing.
    StatusBefore,
    /// The last byte was handed to the transport.
    Sent,
    /// The printer answered the status query after printing.
    StatusAfter,
    /// The outcome is recorded in the store.
    Recorded,
}

/// The bytes of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// ESC/POS bytes.
    pub bytes: Vec<u8>,
    /// Raster width in dots.
    pub width: u32,
    /// Raster height in dots.
    pub height: u32,
    /// Raster size in bytes (`GS v 0` payload).
    pub raster_bytes: usize,
    /// Black dots (the heat the head spends).
    pub black_dots: u64,
}

/// What the printer did with a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintReport {
    /// `Ok`: on paper; `Err`: why not.
    pub outcome: Result<(), PrintProblem>,
    /// Status before printing, if it answered.
    pub before: Option<PrinterStatus>,
    /// Status after printing, if it got that far and answered.
    pub after: Option<PrinterStatus>,
    /// Bytes handed to the transport.
    pub bytes_sent: usize,
    /// The device's description of the failure, for the log and staff.
    pub detail: Option<String>,
}

impl PrintReport {
    /// Whether the paper roll is nearly used up (staff should change it
    /// before it runs out).
    pub fn paper_near_end(&self) -> bool {
        self.after.or(self.before).map(|s| s.paper) == Some(PaperLevel::NearEnd)
    }
}

/// A ticket issued (or re-printed) and what the printer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The ticket as stored after the attempt.
    pub ticket: Ticket,
    /// People waiting before it.
    pub waiting: u32,
    /// The job sent.
    pub job: Job,
    /// The printer's part.
    pub print: PrintReport,
}

impl Issued {
    /// What the session shows.
    pub fn info(&self) -> TicketInfo {
        TicketInfo {
            number: self.ticket.number.clone(),
            service: self.ticket.service.clone(),
            priority: self.ticket.priority,
            waiting: self.waiting,
            printed: self.print.outcome.is_ok(),
            print_problem: self.print.outcome.err(),
            offline: self.ticket.origin == kiosk_firmware::queue::centre::Origin::Offline,
        }
    }
}

/// The stored name of a print problem.
pub fn problem_code(problem: PrintProblem) -> &'static str {
    match problem {
        PrintProblem::PaperOut => "paper_out",
        PrintProblem::CoverOpen => "cover_open",
        PrintProblem::Offline => "offline",
        PrintProblem::PrinterError => "printer_error",
        PrintProblem::Disconnected => "disconnected",
    }
}

/// The problem a status that cannot print shows, most specific first.
pub fn problem_of_status(status: &PrinterStatus) -> Option<PrintProblem> {
    if status.can_print() {
        None
    } else if status.paper == PaperLevel::Out {
        Some(PrintProblem::PaperOut)
    } else if status.cover_open {
        Some(PrintProblem::CoverOpen)
    } else if status.error {
        Some(PrintProblem::PrinterError)
    } else {
        Some(PrintProblem::Offline)
    }
}

/// The problem a device error means: a port that is gone is disconnected;
/// a printer that does not answer or take data is off line.
pub fn problem_of_error(kind: ErrorKind) -> PrintProblem {
    match kind {
        ErrorKind::Timeout | ErrorKind::Busy => PrintProblem::Offline,
        ErrorKind::Protocol => PrintProblem::PrinterError,
        _ => PrintProblem::Disconnected,
    }
}

/// Prints `job`: status, the bytes, status again. Never fails: every
/// problem is in the report.
pub fn print_job(
    printer: &mut dyn PrinterDevice,
    job: &[u8],
    observe: &mut dyn FnMut(Phase),
) -> PrintReport {
    let mut report = PrintReport {
        outcome: Ok(()),
        before: None,
        after: None,
        bytes_sent: 0,
        detail: None,
    };
    match printer.status() {
        Ok(status) => {
            report.before = Some(status);
            observe(Phase::StatusBefore);
            if let Some(problem) = problem_of_status(&status) {
                report.outcome = Err(problem);
                return report;
            }
        }
        Err(e) => {
            observe(Phase::StatusBefore);
            report.outcome = Err(problem_of_error(e.kind()));
            report.detail = Some(e.to_string());
            return report;
        }
    }
    if let Err(e) = printer.write(job).and_then(|()| printer.flush()) {
        observe(Phase::Sent);
        // Ask why: a printer that stopped taking data usually says.
        let refined = printer
            .status()
            .ok()
            .and_then(|s| {
                report.after = Some(s);
                problem_of_status(&s)
            })
            .unwrap_or_else(|| problem_of_error(e.kind()));
        report.outcome = Err(refined);
        report.detail = Some(e.to_string());
        return report;
    }
    report.bytes_sent = job.len();
    observe(Phase::Sent);
    match printer.status() {
        Ok(status) => {
            report.after = Some(status);
            observe(Phase::StatusAfter);
            if let Some(problem) = problem_of_status(&status) {
                // It stopped during the job (paper ran out, cover opened):
                // the ticket may be cut short, so it is not issued.
                report.outcome = Err(problem);
            }
        }
        Err(e) => {
            observe(Phase::StatusAfter);
            report.outcome = Err(problem_of_error(e.kind()));
            report.detail = Some(e.to_string());
        }
    }
    report
}

/// The queue and what a board prints with it.
#[derive(Debug, Clone)]
pub struct Ticketing {
    /// The queue.
    pub queue: Queue,
    /// Printed at the top.
    pub center_name: String,
    /// In the status link and the reference.
    pub kiosk_id: String,
    /// The printer's paper.
    pub paper: PaperWidth,
}

impl Ticketing {
    /// From the board configuration; `None` without a `[queue]` section.
    pub fn from_config(config: &Config) -> Option<Ticketing> {
        let catalog = config.queue.clone()?;
        Some(Ticketing {
            queue: Queue::new(catalog),
            center_name: config.kiosk.center_name.clone(),
            kiosk_id: config.kiosk.id.clone(),
            paper: config.paper_width(),
        })
    }

    /// Lays out and encodes `ticket`.
    pub fn render(
        &self,
        ticket: &Ticket,
        waiting: u32,
        reprint: bool,
    ) -> Result<Job, TicketingError> {
        let content =
            self.queue
                .content(ticket, waiting, &self.center_name, &self.kiosk_id, reprint)?;
        let bitmap = kiosk_firmware::ticket::render(&content, self.paper)?;
        Ok(Job {
            bytes: encode_ticket(&bitmap),
            width: bitmap.width(),
            height: bitmap.height(),
            raster_bytes: bitmap.packed().len(),
            black_dots: bitmap.black_dots(),
        })
    }

    /// Draws a number and prints its ticket.
    pub fn issue(
        &self,
        store: &mut Store,
        printer: &mut dyn PrinterDevice,
        request: &DrawRequest<'_>,
        now: UnixMillis,
        observe: &mut dyn FnMut(Phase),
    ) -> Result<Issued, TicketingError> {
        let drawn = self.queue.draw(store, request, now)?;
        observe(Phase::Drawn);
        self.print(
            store,
            printer,
            drawn.ticket,
            drawn.waiting,
            false,
            now,
            observe,
        )
    }

    /// Prints a ticket drawn elsewhere (the centre's number, or an offline
    /// one: `online::centre::take_ticket`) and records the outcome.
    pub fn print_drawn(
        &self,
        store: &mut Store,
        printer: &mut dyn PrinterDevice,
        ticket: Ticket,
        waiting: u32,
        now: UnixMillis,
        observe: &mut dyn FnMut(Phase),
    ) -> Result<Issued, TicketingError> {
        self.print(store, printer, ticket, waiting, false, now, observe)
    }

    /// Prints the ticket shown as `number` on `day` again (staff, after a
    /// printer problem). A re-print says so on the paper.
    pub fn reprint(
        &self,
        store: &mut Store,
        printer: &mut dyn PrinterDevice,
        day: &str,
        number: &str,
        now: UnixMillis,
        observe: &mut dyn FnMut(Phase),
    ) -> Result<Issued, TicketingError> {
        let ticket = self.queue.find(store, day, number)?;
        let waiting = self.queue.waiting_before(store, &ticket)?;
        self.print(store, printer, ticket, waiting, true, now, observe)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one private step shared by issue and reprint"
    )]
    fn print(
        &self,
        store: &mut Store,
        printer: &mut dyn PrinterDevice,
        ticket: Ticket,
        waiting: u32,
        reprint: bool,
        now: UnixMillis,
        observe: &mut dyn FnMut(Phase),
    ) -> Result<Issued, TicketingError> {
        let job = self.render(&ticket, waiting, reprint)?;
        observe(Phase::Encoded);
        let print = print_job(printer, &job.bytes, observe);
        let issued = self.record(store, ticket, waiting, job, print, now)?;
        observe(Phase::Recorded);
        Ok(issued)
    }

    /// Draws a number (committed at once, so it never repeats) and lays
    /// its ticket out: the first half of [`Ticketing::issue`], for callers
    /// that print on their own (the run loop's print driver).
    pub fn draw(
        &self,
        store: &mut Store,
        request: &DrawRequest<'_>,
        now: UnixMillis,
    ) -> Result<(Ticket, u32, Job), TicketingError> {
        let drawn = self.queue.draw(store, request, now)?;
        let job = self.render(&drawn.ticket, drawn.waiting, false)?;
        Ok((drawn.ticket, drawn.waiting, job))
    }

    /// Finds the ticket shown as `number` on `day` and lays out its
    /// re-print: the first half of [`Ticketing::reprint`].
    pub fn prepare_reprint(
        &self,
        store: &mut Store,
        day: &str,
        number: &str,
    ) -> Result<(Ticket, u32, Job), TicketingError> {
        let ticket = self.queue.find(store, day, number)?;
        let waiting = self.queue.waiting_before(store, &ticket)?;
        let job = self.render(&ticket, waiting, true)?;
        Ok((ticket, waiting, job))
    }

    /// Records what the printer did with `ticket`'s `job` (commit after
    /// print: issued only when it printed) and returns the ticket as
    /// stored: the second half of [`Ticketing::issue`].
    pub fn record(
        &self,
        store: &mut Store,
        ticket: Ticket,
        waiting: u32,
        job: Job,
        print: PrintReport,
        now: UnixMillis,
    ) -> Result<Issued, TicketingError> {
        match print.outcome {
            Ok(()) => self.queue.mark_printed(store, ticket.id, now)?,
            Err(problem) => {
                self.queue
                    .record_print_failure(store, ticket.id, problem_code(problem), now)?;
            }
        }
        let day = ticket.day.clone();
        let ticket = self.queue.find(store, &day, &ticket.number)?;
        Ok(Issued {
            ticket,
            waiting,
            job,
            print,
        })
    }
}
