//! The jobs the run loop hands to workers (issue 16): print jobs
//! ([`crate::services::printing`]: tickets, staff re-prints and the test
//! page, requests' receipts) and deliveries to the portal
//! ([`crate::services::delivering`]: a request's first attempt, the idle
//! outbox pass). Here is what the runtime does before a job (the store's
//! part: draw the number, seal the request) and when it ends (record,
//! audit, count, alert, tell the session); the loop only dispatches
//! (`Runtime::perform`, `Runtime::tick`).

use super::{DeliveryFor, PrinterAlert, Runtime, Transport};
use crate::services::printing::Purpose;
use crate::services::ticketing::{Issued, PrintReport, TicketingError};
use kiosk_firmware::session::{Fault, Input, Priority, StepKind, Verification};
use kiosk_firmware::time::Timestamp;

impl Runtime {
    /// Starts a delivery pass over the outbox's due rows (staff, or the
    /// idle loop); `false` when none started (nothing due, no outbox, or a
    /// delivery holds the portal client). The pass's outcome is logged and
    /// audited when it ends (`outbox_pass`).
    pub fn flush_outbox(&mut self, now: Timestamp) -> bool {
        let wall = self.wall(now);
        if self.deliveries.is_busy() {
            return false;
        }
        let (Some(service), Some(store)) = (self.requests.as_mut(), self.store.as_mut()) else {
            return false;
        };
        if !service.client_home() {
            return false;
        }
        let (outgoing, failed) = match service.begin_flush(store, wall) {
            Ok(begun) => begun,
            Err(e) => {
                tracing::error!(error = %e, "outbox delivery pass failed");
                return false;
            }
        };
        if outgoing.is_empty() {
            if !failed.is_empty() {
                self.outbox_pass_done(failed, now);
            }
            return false;
        }
        let Some(client) = service.lend_client() else {
            return false;
        };
        self.deliveries
            .start(client, outgoing, DeliveryFor::Pass { failed }, now);
        true
    }

    /// Logs and audits a delivery pass that ended.
    pub(super) fn outbox_pass_done(
        &mut self,
        out: Vec<kiosk_firmware::requests::delivery::RowOutcome>,
        now: Timestamp,
    ) {
        for o in &out {
            tracing::info!(reference = %o.reference, outcome = o.outcome, "outbox delivery");
        }
        // A sealed row that does not open is a tampered database or a
        // replaced key: raise the possible-breach event (the operator has
        // 72 h to notify, PDP Law 91/2025/QH15).
        let unopened: Vec<&str> = out
            .iter()
            .filter(|o| {
                o.outcome == "failed"
                    && o.detail
                        .as_deref()
                        .is_some_and(|d| d.contains("does not open"))
            })
            .map(|o| o.reference.as_str())
            .collect();
        if !unopened.is_empty() {
            let detail = serde_json::json!({ "outbox_rows_unreadable": unopened });
            tracing::error!(%detail, "possible personal-data breach: outbox rows do not open");
            self.audit(now, "possible_breach", detail);
        }
        let failed = out.iter().filter(|o| o.outcome == "failed").count();
        let delivered = out.iter().filter(|o| o.outcome == "delivered").count();
        if !out.is_empty() {
            self.audit(
                now,
                "outbox_pass",
                serde_json::json!({ "delivered": delivered, "failed": failed, "retry": out.len() - delivered - failed }),
            );
        }
    }

    /// Moves the delivery under way along: records the portal's answers
    /// (or the deadline passing) and tells whom it concerns; takes the
    /// portal client back from a worker that outlived its deadline.
    pub(super) fn poll_deliveries(&mut self, now: Timestamp) {
        use kiosk_firmware::requests::delivery::{TransportError, Verdict, classify};
        let wall = self.wall(now);
        if let Some(late) = self.deliveries.homecoming() {
            let (Some(service), Some(store)) = (self.requests.as_mut(), self.store.as_mut()) else {
                return;
            };
            service.return_client(late.client);
            // A "delivered" that came after the deadline still counts: the
            // row goes (the retry would get the same dossier anyway).
            for (row, answer) in late.rows.iter().zip(&late.answers) {
                if let Verdict::Delivered(receipt) = classify(answer) {
                    tracing::info!(reference = %row.reference, "a late answer delivered the request");
                    if let Err(e) = store.outbox_delivered(
                        row.id,
                        &row.idempotency_key,
                        &receipt.dossier_code,
                        wall,
                    ) {
                        tracing::error!(error = %e, "cannot record a late delivery");
                    }
                }
            }
        }
        let Some(ended) = self.deliveries.poll(now) else {
            return;
        };
        if let (Some(client), Some(service)) = (ended.client, self.requests.as_mut()) {
            service.return_client(client);
        }
        let no_answer = || Err(TransportError::Timeout);
        match ended.purpose {
            DeliveryFor::Submit { filing, session } => {
                let answer = ended.rows.into_iter().next().map(|row| {
                    let result = ended
                        .answers
                        .and_then(|a| a.into_iter().next())
                        .unwrap_or_else(no_answer);
                    (row, result)
                });
                self.request_filed(*filing, answer, session, now);
            }
            DeliveryFor::Pass { mut failed } => {
                let answers = ended.answers.unwrap_or_else(|| vec![no_answer()]);
                if let (Some(service), Some(store)) = (self.requests.as_mut(), self.store.as_mut())
                {
                    match service.finish_flush(store, &ended.rows, &answers, wall) {
                        Ok(out) => failed.extend(out),
                        Err(e) => tracing::error!(error = %e, "outbox delivery pass failed"),
                    }
                }
                self.outbox_pass_done(failed, now);
            }
        }
    }

    /// Seals the consented request into the outbox and starts its first
    /// delivery (the portal client lent to a worker); when the client is
    /// away (a delivery holds it), the request waits in the outbox.
    pub(super) fn submit_request(
        &mut self,
        procedure: &str,
        verification: Verification,
        now: Timestamp,
    ) -> Result<(), Fault> {
        let wall = self.wall(now);
        let (Some(service), Some(store)) = (self.requests.as_mut(), self.store.as_mut()) else {
            tracing::error!(%procedure, "this kiosk has no outbox: cannot queue the request");
            return Err(Fault::RequestNotQueued);
        };
        let (filing, outgoing) = match service.begin_submit(store, verification, wall) {
            Ok(begun) => begun,
            Err(e) => {
                tracing::error!(%procedure, error = %e, "cannot queue the request");
                return Err(Fault::RequestNotQueued);
            }
        };
        if let Some(outgoing) = outgoing {
            if !self.deliveries.is_busy()
                && let Some(client) = service.lend_client()
            {
                self.deliveries.start(
                    client,
                    vec![outgoing],
                    DeliveryFor::Submit {
                        filing: Box::new(filing),
                        session: true,
                    },
                    now,
                );
                return Ok(());
            }
            // Queued: the next pass sends it.
            if let Err(e) = store.outbox_release(&[outgoing.row.id]) {
                tracing::error!(error = %e, "cannot put the request back to pending");
            }
        }
        self.request_filed(filing, None, true, now);
        Ok(())
    }

    /// Records the answer to a request's first attempt (`None`: none was
    /// made), then prints its receipt or says why not; `session`: the
    /// session waits for it.
    pub(super) fn request_filed(
        &mut self,
        filing: crate::services::requesting::Filing,
        answer: Option<(
            kiosk_firmware::store::outbox::OutboxRow,
            Result<
                kiosk_firmware::requests::delivery::Answer,
                kiosk_firmware::requests::delivery::TransportError,
            >,
        )>,
        session: bool,
        now: Timestamp,
    ) {
        let wall = self.wall(now);
        let procedure = filing.procedure.clone();
        let recorded = match (self.requests.as_mut(), self.store.as_mut()) {
            (Some(service), Some(store)) => service
                .finish_submit(store, filing, answer, wall)
                .map_err(|e| e.to_string()),
            _ => Err("no outbox".to_owned()),
        };
        let filed = match recorded {
            Ok(filed) => filed,
            Err(e) => {
                // The row is in the outbox (put back to pending at the
                // next start): the portal gets it, the citizen is told
                // the kiosk could not confirm.
                tracing::error!(%procedure, error = %e, "cannot record the request's first attempt");
                if session {
                    self.tell_request(Err(Fault::RequestNotQueued), now);
                }
                return;
            }
        };
        if filed.refused() {
            tracing::error!(%procedure, reference = %filed.reference, "the portal refused the request");
            self.audit(
                now,
                "staff_alert",
                serde_json::json!({
                    "request_refused": filed.reference,
                    "procedure": procedure,
                    "detail": filed.attempt.as_ref().and_then(|a| a.detail.clone()),
                }),
            );
            self.counters.staff_calls += 1;
            if session {
                self.tell_request(Err(Fault::RequestRefused), now);
            }
            return;
        }
        // The receipt is for the citizen at the kiosk: none once they left.
        let job = self.requests.as_ref().filter(|_| session).map(|r| {
            r.requesting
                .render_receipt(&procedure, filed.state.clone(), &filed.reference, wall)
        });
        match job {
            Some(Ok(job)) => self.print(
                job.bytes,
                Purpose::Receipt {
                    filed,
                    procedure,
                    session,
                },
                now,
            ),
            other => {
                if let Some(Err(e)) = other {
                    tracing::error!(error = %e, "cannot lay out the receipt");
                }
                self.receipt_printed(&filed, &procedure, None, session, now);
            }
        }
    }

    /// Audits a filed request with its receipt's print (`None`: none was
    /// printed), alerts staff about the printer, and tells the session.
    pub(super) fn receipt_printed(
        &mut self,
        filed: &crate::services::requesting::Filed,
        procedure: &str,
        report: Option<&PrintReport>,
        session: bool,
        now: Timestamp,
    ) {
        let (code, delivered) = match &filed.state {
            kiosk_firmware::requests::receipt::ReceiptState::Delivered { dossier_code, .. } => {
                (dossier_code.clone(), true)
            }
            kiosk_firmware::requests::receipt::ReceiptState::Queued => {
                (filed.reference.clone(), false)
            }
        };
        let printed = report.is_some_and(|p| p.outcome.is_ok());
        self.audit(
            now,
            "request_filed",
            serde_json::json!({
                "procedure": procedure,
                "reference": filed.reference,
                "delivered": delivered,
                "receipt_printed": printed,
                "prefilled_fields": filed.counts.prefilled,
                "typed_fields": filed.counts.typed,
            }),
        );
        if let Some(Err(problem)) = report.map(|r| r.outcome) {
            self.counters.printer_alerts += 1;
            self.set_printer_alert(Some(PrinterAlert::CannotPrint(problem)));
            self.audit(
                now,
                "staff_alert",
                serde_json::json!({ "printer": crate::services::ticketing::problem_code(problem), "receipt": filed.reference }),
            );
            self.lit = None;
        }
        if session {
            self.tell_request(
                Ok(kiosk_firmware::session::RequestReceipt { code, delivered }),
                now,
            );
        }
    }

    /// Tells the session how its request ended, if it still waits for it.
    pub(super) fn tell_request(
        &mut self,
        result: Result<kiosk_firmware::session::RequestReceipt, Fault>,
        now: Timestamp,
    ) {
        if self.session.step() == StepKind::SubmittingRequest {
            self.session
                .handle_input(Input::RequestFinished(result), now);
        }
    }

    /// What the queue is asked for: the service, the declared priority and
    /// the age the verified chip gives (for the elderly lane), locally or
    /// through the centre alike.
    pub(super) fn draw_request<'a>(
        &self,
        service: &'a str,
        priority: Option<Priority>,
        verification: Verification,
    ) -> kiosk_firmware::queue::DrawRequest<'a> {
        kiosk_firmware::queue::DrawRequest {
            service,
            declared: priority,
            age: self.age_evidence(verification),
            verification,
        }
    }

    /// Draws a number and hands its ticket to the printer (see the module
    /// documentation); the job's end tells the session.
    pub(super) fn issue_ticket(
        &mut self,
        service: &str,
        priority: Option<Priority>,
        verification: Verification,
        now: Timestamp,
    ) -> Result<(), Fault> {
        let wall = self.wall(now);
        let request = self.draw_request(service, priority, verification);
        let (Some(ticketing), Some(store)) = (self.ticketing.as_ref(), self.store.as_mut()) else {
            tracing::error!(%service, "no queue service in this build: cannot draw a ticket");
            return Err(Fault::Internal);
        };
        match ticketing.draw(store, &request, wall) {
            Ok((ticket, waiting, job)) => {
                self.print(
                    job.bytes.clone(),
                    Purpose::Ticket {
                        ticket,
                        waiting,
                        job,
                        session: true,
                        staff: false,
                    },
                    now,
                );
                Ok(())
            }
            Err(e) => {
                let fault = match &e {
                    TicketingError::Queue(q) => q.fault(),
                    TicketingError::Layout(_) => Fault::Internal,
                };
                Err(self.record_ticket_refused(service, fault, &e, now))
            }
        }
    }

    /// Logs (an internal fault as an error, a refusal as information) and
    /// audits a number not drawn, locally or through the centre; returns
    /// the fault the session shows.
    pub(super) fn record_ticket_refused(
        &mut self,
        service: &str,
        fault: Fault,
        reason: &dyn std::fmt::Display,
        now: Timestamp,
    ) -> Fault {
        if fault == Fault::Internal {
            tracing::error!(error = %reason, %service, "cannot draw a ticket");
        } else {
            tracing::info!(reason = %reason, %service, "ticket refused");
        }
        self.audit(
            now,
            "ticket_refused",
            serde_json::json!({ "service": service, "reason": fault }),
        );
        fault
    }

    /// Prints the ticket shown as `number` today again (staff, after a
    /// printer problem). The job's end is recorded, audited and alerted
    /// like any ticket's (`ticket_printed` / `ticket_not_printed`).
    pub fn reprint_ticket(&mut self, number: &str, now: Timestamp) -> Result<(), TicketingError> {
        self.reprint(number, false, now)
    }

    pub(super) fn reprint(
        &mut self,
        number: &str,
        staff: bool,
        now: Timestamp,
    ) -> Result<(), TicketingError> {
        let wall = self.wall(now);
        let day = kiosk_firmware::queue::Queue::day(wall)?;
        let (Some(ticketing), Some(store)) = (self.ticketing.as_ref(), self.store.as_mut()) else {
            return Err(kiosk_firmware::queue::QueueError::NoSuchTicket(number.to_owned()).into());
        };
        let (ticket, waiting, job) = ticketing.prepare_reprint(store, &day, number)?;
        self.print(
            job.bytes.clone(),
            Purpose::Ticket {
                ticket,
                waiting,
                job,
                session: false,
                staff,
            },
            now,
        );
        Ok(())
    }

    /// Queues `bytes` on the printer and moves the jobs along (a printer
    /// that answers at once — the simulator's — prints right here).
    pub(super) fn print(&mut self, bytes: Vec<u8>, purpose: Purpose, now: Timestamp) {
        self.prints.submit(bytes, purpose);
        self.poll_printing(now);
    }

    /// Moves the print jobs along and records those that ended.
    pub(super) fn poll_printing(&mut self, now: Timestamp) {
        if self.staff.check.holds_printer() {
            // The panel's printer check has it: the jobs start when it
            // ends (`Runtime::poll_panel_check`).
            return;
        }
        let transport = if self.devices.blocking {
            Transport::Worker
        } else {
            Transport::Inline
        };
        for (purpose, report) in self.prints.poll(&mut self.devices.printer, transport, now) {
            self.print_ended(purpose, report, now);
        }
    }

    /// Records a print job that ended, audits it, and tells whom it
    /// concerns (the session, the staff panel).
    pub(super) fn print_ended(&mut self, purpose: Purpose, report: PrintReport, now: Timestamp) {
        match purpose {
            Purpose::Ticket {
                ticket,
                waiting,
                job,
                session,
                staff,
            } => {
                let wall = self.wall(now);
                let unrecorded = Issued {
                    ticket: ticket.clone(),
                    waiting,
                    job: job.clone(),
                    print: report.clone(),
                };
                let recorded = match (self.ticketing.as_ref(), self.store.as_mut()) {
                    (Some(t), Some(store)) => t.record(store, ticket, waiting, job, report, wall),
                    _ => Err(kiosk_firmware::queue::QueueError::NoSuchTicket(
                        ticket.number.clone(),
                    )
                    .into()),
                };
                // The number is the citizen's whatever the store says: a
                // failed write is logged, the ticket still shown.
                let issued = recorded.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "cannot record the print's outcome");
                    unrecorded
                });
                self.after_print(&issued, now);
                tracing::info!(
                    number = %issued.ticket.number,
                    reprint = issued.ticket.print_attempts > 1,
                    problem = ?issued.print.outcome.err(),
                    "print job ended"
                );
                if session && self.session.step() == StepKind::IssuingTicket {
                    self.session
                        .handle_input(Input::TicketFinished(Ok(issued.info())), now);
                }
                if staff {
                    let number = issued.ticket.number.clone();
                    let result = match issued.print.outcome {
                        Ok(()) => kiosk_firmware::staff::ActionResult::Reprinted { number },
                        Err(problem) => kiosk_firmware::staff::ActionResult::ReprintFailed {
                            number,
                            problem: Some(problem),
                        },
                    };
                    self.staff_job_done(result, now);
                }
                self.update_lights();
            }
            Purpose::Receipt {
                filed,
                procedure,
                session,
            } => {
                self.receipt_printed(&filed, &procedure, Some(&report), session, now);
                self.update_lights();
            }
            Purpose::TestPage => self.test_page_printed(&report, now),
        }
    }

    /// Counts, audits and alerts after a print attempt.
    pub(super) fn after_print(&mut self, issued: &Issued, now: Timestamp) {
        let problem = issued.print.outcome.err();
        let alert = match problem {
            Some(p) => Some(PrinterAlert::CannotPrint(p)),
            None if issued.print.paper_near_end() => Some(PrinterAlert::PaperNearEnd),
            None => None,
        };
        if problem.is_some() {
            self.counters.tickets_unprinted += 1;
        } else {
            self.counters.tickets_printed += 1;
        }
        self.audit(
            now,
            if problem.is_some() {
                "ticket_not_printed"
            } else {
                "ticket_printed"
            },
            serde_json::json!({
                "service": issued.ticket.service,
                "number": issued.ticket.number,
                "lane": issued.ticket.lane,
                "priority": issued.ticket.priority,
                "attempts": issued.ticket.print_attempts,
                "problem": problem,
                "bytes": issued.job.bytes.len(),
            }),
        );
        if let Some(alert) = alert
            && self.printer_alert != Some(alert)
        {
            self.counters.printer_alerts += 1;
            tracing::warn!(?alert, detail = ?issued.print.detail, "staff alert: the printer needs attention");
            self.audit(
                now,
                "staff_alert",
                serde_json::json!({ "device": "printer", "alert": alert }),
            );
        }
        self.set_printer_alert(alert);
        // The fault light follows the alert at once, whatever the step.
        self.lit = None;
    }
}
