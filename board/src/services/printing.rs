//! Printing off the run loop (issue 16): the board's printer is lent to a
//! worker thread for one job ([`crate::services::worker`]), the loop polls
//! the job every turn, and a printer that has not answered by the deadline
//! ends the job as "the printer does not answer"
//! ([`PrintProblem::Offline`]) — the number is then shown on screen and
//! stays re-printable, as with any printer problem.
//!
//! [`PrintDesk`] keeps the jobs in order (one at a time: a ticket, a
//! request's receipt, the staff test page), each with what it is for
//! (`P`), so the runtime knows what to record when it ends. While the
//! printer is lent, [`LentPrinter`] stands in for it and says it is busy.
//! A printer whose worker is stuck past the deadline comes home when its
//! call returns; until then every job fails at once with the same
//! problem.
//!
//! The ESC/POS exchange itself is [`crate::services::ticketing::print_job`]
//! (status before and after, DLE EOT). Nothing here reads a clock.

use crate::drivers::{DeviceError, PrinterDevice};
use crate::services::ticketing::{PrintReport, print_job};
use crate::services::worker::{Away, Homecoming, Lent, Polled, Transport};
use kiosk_firmware::session::PrintProblem;
use kiosk_firmware::time::Timestamp;
use kiosk_hal::ErrorKind;
use kiosk_hal::printer::{Printer, PrinterStatus};
use std::collections::VecDeque;
use std::time::Duration;

/// How long a print job may take before it counts as unanswered: well
/// within the session's ticket step (30 s by default), so the citizen sees
/// the number with the problem rather than a time-out.
pub const DEFAULT_PRINT_DEADLINE: Duration = Duration::from_secs(10);

/// The printer as the job lent to a print.
type Printing = Lent<Box<dyn PrinterDevice>, PrintReport>;

/// Stands in for the printer while a job holds it: every call says the
/// printer is busy.
#[derive(Debug, Clone, Copy, Default)]
pub struct LentPrinter;

impl LentPrinter {
    fn busy() -> DeviceError {
        DeviceError::new("printer", ErrorKind::Busy, "the printer is lent to a job")
    }
}

impl kiosk_hal::ErrorType for LentPrinter {
    type Error = DeviceError;
}

impl Printer for LentPrinter {
    fn write(&mut self, _bytes: &[u8]) -> Result<(), DeviceError> {
        Err(Self::busy())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Err(Self::busy())
    }

    fn status(&mut self) -> Result<PrinterStatus, DeviceError> {
        Err(Self::busy())
    }
}

/// The report of a job the printer did not finish by its deadline (or
/// could not start: the printer has not come back from the last one).
pub fn no_answer(detail: impl Into<String>) -> PrintReport {
    PrintReport {
        outcome: Err(PrintProblem::Offline),
        before: None,
        after: None,
        bytes_sent: 0,
        detail: Some(detail.into()),
    }
}

/// The print jobs of a board, in order, one on the printer at a time.
pub struct PrintDesk<P> {
    waiting: VecDeque<(Vec<u8>, P)>,
    active: Option<(Printing, P)>,
    away: Away<Box<dyn PrinterDevice>, PrintReport>,
    deadline: Duration,
}

impl<P> std::fmt::Debug for PrintDesk<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintDesk")
            .field("waiting", &self.waiting.len())
            .field("active", &self.active.is_some())
            .field("away", &self.away)
            .finish()
    }
}

impl<P> Default for PrintDesk<P> {
    fn default() -> Self {
        PrintDesk {
            waiting: VecDeque::new(),
            active: None,
            away: Away::default(),
            deadline: DEFAULT_PRINT_DEADLINE,
        }
    }
}

impl<P> PrintDesk<P> {
    /// Gives every job `deadline` (the default: [`DEFAULT_PRINT_DEADLINE`]).
    pub fn set_deadline(&mut self, deadline: Duration) {
        self.deadline = deadline;
    }

    /// Queues `bytes` for the printer; [`PrintDesk::poll`] starts it.
    pub fn submit(&mut self, bytes: Vec<u8>, purpose: P) {
        self.waiting.push_back((bytes, purpose));
    }

    /// Whether a job is printing or waiting.
    pub fn is_busy(&self) -> bool {
        self.active.is_some() || !self.waiting.is_empty()
    }

    /// Whether the printer is away with a job that outlived its deadline
    /// (the board holds [`LentPrinter`] until it comes home).
    pub fn printer_away(&self) -> bool {
        self.away.is_away()
    }

    /// What the jobs under way and waiting are for (to detach them from a
    /// session that has moved on).
    pub fn purposes_mut(&mut self) -> impl Iterator<Item = &mut P> {
        self.active
            .as_mut()
            .map(|(_, p)| p)
            .into_iter()
            .chain(self.waiting.iter_mut().map(|(_, p)| p))
    }

    /// When the loop should poll next: while a job runs or the printer is
    /// on its way home.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        // A printer on its way home is taken at the next poll the loop
        // makes anyway (the card poll); a waiting job starts at once.
        match &self.active {
            Some((job, _)) => job.next_wakeup(),
            None if !self.waiting.is_empty() => Some(Timestamp::ZERO),
            None => None,
        }
    }

    /// Waits up to `max` of real time for the job on a worker to end (runs
    /// in virtual time only).
    pub fn settle(&mut self, max: Duration) {
        if let Some((job, _)) = self.active.as_mut() {
            job.settle(max);
        }
    }

    /// Moves the jobs along on `printer` (the board's, lent to each job in
    /// turn and put back when it ends): brings a printer home from a
    /// worker that outlived its deadline, starts the next job, and returns
    /// the jobs that ended with their reports, in order.
    pub fn poll(
        &mut self,
        printer: &mut Box<dyn PrinterDevice>,
        transport: Transport,
        now: Timestamp,
    ) -> Vec<(P, PrintReport)> {
        let mut ended = Vec::new();
        match self.away.poll() {
            Homecoming::Nothing => {}
            Homecoming::Back(late, back) => {
                tracing::info!(outcome = ?late.outcome, "the printer came back from a job past its deadline");
                *printer = back;
            }
            Homecoming::Lost => tracing::error!("the print worker ended without the printer"),
        }
        loop {
            if let Some((job, _)) = self.active.as_mut() {
                let Some(polled) = job.poll(now) else {
                    break;
                };
                let Some((_, purpose)) = self.active.take() else {
                    break;
                };
                let report = match polled {
                    Polled::Answered(report, back) => {
                        *printer = back;
                        report
                    }
                    Polled::TimedOut(home) => {
                        tracing::warn!(
                            deadline_ms = self.deadline.as_millis(),
                            "the printer did not answer in time"
                        );
                        self.away.expect(home);
                        no_answer(format!(
                            "the printer did not answer within {} ms",
                            self.deadline.as_millis()
                        ))
                    }
                };
                ended.push((purpose, report));
                continue;
            }
            let Some((bytes, purpose)) = self.waiting.pop_front() else {
                break;
            };
            if self.away.is_away() {
                ended.push((
                    purpose,
                    no_answer("the printer has not come back from the last job"),
                ));
                continue;
            }
            let lent = std::mem::replace(printer, Box::new(LentPrinter));
            let job = Lent::start(
                "print",
                lent,
                transport,
                move |p: &mut Box<dyn PrinterDevice>| print_job(p.as_mut(), &bytes, &mut |_| {}),
                now,
                self.deadline,
            );
            self.active = Some((job, purpose));
        }
        ended
    }
}

/// What a print job is for: what the run loop records, and whom it tells,
/// when the job ends.
#[derive(Debug)]
pub enum Purpose {
    /// A queue ticket, drawn (or found for a re-print) and laid out.
    Ticket {
        /// The ticket as drawn.
        ticket: kiosk_firmware::queue::Ticket,
        /// People waiting before it.
        waiting: u32,
        /// Its bytes and raster figures (for the audit log).
        job: crate::services::ticketing::Job,
        /// The session waits for it (`TicketFinished`); cleared when the
        /// session moves on (Cancel, a time-out): the number is still
        /// printed and recorded.
        session: bool,
        /// Staff asked for it from the panel (its result goes there).
        staff: bool,
    },
    /// A request's receipt, once the request is in the outbox (delivered
    /// or queued).
    Receipt {
        /// The request as filed (no personal data).
        filed: crate::services::requesting::Filed,
        /// The procedure's code.
        procedure: String,
        /// The session waits for it (`RequestFinished`).
        session: bool,
    },
    /// The staff panel's test page.
    TestPage,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::SimBoard;

    fn board() -> (crate::drivers::Devices, crate::simulator::SimControls) {
        SimBoard::build(&crate::simulator::test_config(true)).unwrap()
    }

    #[test]
    fn jobs_print_in_order_and_the_printer_is_back_after_each() {
        let (mut devices, controls) = board();
        let mut desk = PrintDesk::default();
        desk.submit(vec![0x1B, 0x40, 0x0A], "first");
        desk.submit(vec![0x1B, 0x40, 0x0A, 0x0A], "second");
        let ended = desk.poll(&mut devices.printer, Transport::Inline, Timestamp::ZERO);
        let order: Vec<&str> = ended.iter().map(|(p, _)| *p).collect();
        assert_eq!(order, ["first", "second"]);
        assert!(ended.iter().all(|(_, r)| r.outcome.is_ok()));
        assert_eq!(controls.print_jobs(), 2);
        assert!(!desk.is_busy());
        assert_eq!(desk.next_wakeup(), None);
        assert!(devices.printer.status().is_ok(), "the printer is home");
    }

    #[test]
    fn a_job_past_its_deadline_is_no_answer_and_the_next_fails_until_the_printer_is_home() {
        let (mut devices, controls) = board();
        controls.set_printer_hung(true);
        let mut desk = PrintDesk::default();
        desk.set_deadline(Duration::from_millis(100));
        desk.submit(vec![0x0A], 1);
        assert!(
            desk.poll(&mut devices.printer, Transport::Worker, Timestamp::ZERO)
                .is_empty()
        );
        assert_eq!(desk.next_wakeup(), Some(Timestamp::from_millis(10)));
        assert!(devices.printer.status().is_err(), "lent: busy");
        let ended = desk.poll(
            &mut devices.printer,
            Transport::Worker,
            Timestamp::from_millis(100),
        );
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].1.outcome, Err(PrintProblem::Offline));
        desk.submit(vec![0x0A], 2);
        let ended = desk.poll(
            &mut devices.printer,
            Transport::Worker,
            Timestamp::from_millis(200),
        );
        assert_eq!(ended[0].0, 2);
        assert_eq!(ended[0].1.outcome, Err(PrintProblem::Offline));
        controls.set_printer_hung(false);
        // The worker's call returns; the printer comes home at a poll.
        let mut home = false;
        for _ in 0..2000 {
            desk.poll(
                &mut devices.printer,
                Transport::Worker,
                Timestamp::from_secs(1),
            );
            if devices.printer.status().is_ok() {
                home = true;
                break;
            }
            #[expect(clippy::disallowed_methods, reason = "the worker returns in real time")]
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(home, "the printer came home");
    }
}
