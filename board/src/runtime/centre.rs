//! The kiosk in centre mode (issue 18): what the run loop does before and
//! after each exchange with its centre ([`crate::services::queueing`]
//! carries them on workers).
//!
//! - A number: `Queue::prepare_centre` on the loop (checks, the attempt
//!   row, a key from the OS RNG), the identity packet built when the
//!   holder said yes on the consent screen, the request on a worker with
//!   the `[centre]` deadline; when it ends, `Queue::finish_centre` with
//!   the cached offline block (the centre's number, a refusal, or an
//!   offline number), then the print job like a local ticket.
//! - The assignment (the offline block) is asked for at start-up and kept
//!   in the store, so a kiosk restarted while its centre is down still
//!   numbers offline.
//! - On the idle loop, at the pace of the `ReconcileSchedule`: the
//!   unacknowledged offline tickets and abandoned attempts, and the
//!   ratings the centre has not acknowledged. Outcomes are audited and
//!   logged without personal data; rejected offline tickets alert staff.

use super::Runtime;
use crate::services::printing::Purpose;
use crate::services::queueing::{
    Background, BackgroundOutcome, CentreDesk, IssueEnded, IssueFor, MAX_PENDING_RATINGS,
    PENDING_RATINGS_KEY, PendingRating, RATINGS_BATCH,
};
use kiosk_firmware::queue::QueueError;
use kiosk_firmware::queue::centre::{
    Attempt, IdentityPacket, PrefilledForm, RatingKind, RatingRequest,
};
use kiosk_firmware::session::{Fault, Input, Priority, RatingSubject, StepKind, Verification};
use kiosk_firmware::store::{Store, UnixMillis};
use kiosk_firmware::time::Timestamp;

/// The ratings waiting for the centre, as kept in the store.
pub fn pending_ratings(store: &Store) -> Vec<PendingRating> {
    match store.kv_get(PENDING_RATINGS_KEY) {
        Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the kept ratings do not read: they are dropped");
            Vec::new()
        }),
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the kept ratings");
            Vec::new()
        }
    }
}

fn save_pending_ratings(store: &mut Store, list: &[PendingRating]) {
    match serde_json::to_string(list) {
        Ok(text) => {
            if let Err(e) = store.kv_set(PENDING_RATINGS_KEY, &text) {
                tracing::error!(error = %e, "cannot keep the ratings for the centre");
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot encode the ratings for the centre"),
    }
}

impl Runtime {
    /// Numbers through the centre behind `desk` (`[centre]`): the consent
    /// step is offered to identified holders, the assignment is asked for
    /// at the first turn, reconciliation runs on the idle loop.
    pub fn with_centre(mut self, desk: CentreDesk) -> Self {
        self.session.set_centre_mode(true);
        self.centre = Some(desk);
        self
    }

    /// Whether the kiosk numbers through a centre.
    pub fn centre_mode(&self) -> bool {
        self.centre.is_some()
    }

    /// Whether the session offers identified holders the identity-sharing
    /// consent step (centre mode; kept across a configuration reload).
    pub fn offers_identity_consent(&self) -> bool {
        self.session.centre_mode()
    }

    /// Whether an exchange with the centre is under way.
    pub fn centre_busy(&self) -> bool {
        self.centre
            .as_ref()
            .is_some_and(|d| d.issuing() || d.busy_in_background())
    }

    /// Asks the centre for a number (see the module documentation); the
    /// exchange's end prints the ticket and tells the session.
    pub(super) fn issue_centre(
        &mut self,
        service: &str,
        priority: Option<Priority>,
        verification: Verification,
        share_identity: bool,
        now: Timestamp,
    ) -> Result<(), Fault> {
        let wall = self.wall(now);
        let request = self.draw_request(service, priority, verification);
        let nonce = crate::online::centre::nonce().map_err(|e| {
            tracing::error!(error = %e, "no OS entropy for the centre request's key");
            Fault::Internal
        })?;
        let (Some(ticketing), Some(store)) = (self.ticketing.as_ref(), self.store.as_mut()) else {
            tracing::error!(%service, "no queue service in this build: cannot draw a ticket");
            return Err(Fault::Internal);
        };
        let prepared = match ticketing
            .queue
            .prepare_centre(store, &request, &nonce, wall)
        {
            Ok(p) => p,
            Err(e) => return Err(self.ticket_refused(service, &e, now)),
        };
        let mut body = prepared.request.clone();
        if share_identity {
            body.identity = self.identity_packet(service, verification, wall);
            if body.identity.is_none() {
                tracing::warn!(%service, "the holder consented but no identity packet could be built");
            }
        }
        let purpose = IssueFor {
            shared: body.identity.is_some(),
            asked: verification != Verification::Anonymous,
            prepared,
            session: true,
        };
        let Some(desk) = self.centre.as_mut() else {
            return Err(Fault::Internal);
        };
        desk.start_issue(body, purpose, now);
        Ok(())
    }

    /// What the chip verified of this session's holder, for the counter
    /// (only on a "yes"; `None` fails closed when anything is missing).
    fn identity_packet(
        &self,
        service: &str,
        verification: Verification,
        wall: UnixMillis,
    ) -> Option<IdentityPacket> {
        if verification == Verification::Anonymous {
            return None;
        }
        // Not proven genuine: nothing to vouch for at the counter.
        let genuineness =
            kiosk_firmware::queue::centre::genuineness_code(&self.verified.as_ref()?.genuineness)?;
        let view = self.session.view();
        let form = self.service_form(service);
        Some(IdentityPacket {
            full_name: view.holder_name?,
            date_of_birth: view.holder_date_of_birth?,
            masked_id: view.holder_masked_id?,
            verification: kiosk_firmware::queue::verification_code(verification).to_owned(),
            genuineness: genuineness.to_owned(),
            service: service.to_owned(),
            form,
            consented_at_unix_ms: wall.0,
        })
    }

    /// The form of the procedure `service`'s counter handles, pre-filled
    /// from the chip, when the kiosk files that procedure.
    fn service_form(&self, service: &str) -> Option<PrefilledForm> {
        let code = self
            .ticketing
            .as_ref()?
            .queue
            .catalog()
            .service(service)?
            .procedure
            .clone()?;
        let procedure = self
            .requests
            .as_ref()?
            .requesting
            .config
            .catalog
            .procedure(&code)?;
        let citizen = &self.vault.as_ref()?.citizen;
        Some(PrefilledForm::from_chip(procedure, citizen))
    }

    /// The fault a centre-mode refusal shows, logged and audited like a
    /// local one ([`Runtime::record_ticket_refused`]).
    pub(super) fn ticket_refused(
        &mut self,
        service: &str,
        e: &QueueError,
        now: Timestamp,
    ) -> Fault {
        let fault = match e {
            // The centre does not know a service of the kiosk's menu.
            QueueError::UnknownService(_) if self.centre.is_some() => Fault::CentreRefused,
            other => other.fault(),
        };
        self.record_ticket_refused(service, fault, e, now)
    }

    /// Moves the exchanges with the centre along: a number's end, the
    /// background's end, and the next background exchange when it is due.
    pub(super) fn poll_centre(&mut self, now: Timestamp) {
        let Some(desk) = self.centre.as_mut() else {
            return;
        };
        let ended = desk.poll_issue(now);
        let background = desk.poll_background(now);
        if let Some(ended) = ended {
            self.number_answered(ended, now);
        }
        if let Some(outcome) = background {
            self.background_done(outcome, now);
        }
        self.centre_sync(now);
    }

    /// A number's exchange ended: keep, refuse or number offline, then
    /// print.
    fn number_answered(&mut self, ended: IssueEnded, now: Timestamp) {
        let wall = self.wall(now);
        let IssueEnded { purpose, attempt } = ended;
        let service = purpose.prepared.request.service.clone();
        let (Some(ticketing), Some(store)) = (self.ticketing.as_ref(), self.store.as_mut()) else {
            return;
        };
        let cached = crate::online::centre::cached_assignment(store)
            .inspect_err(|e| tracing::error!(error = %e, "cannot read the centre's assignment"))
            .ok()
            .flatten();
        let block = cached.as_ref().map(|a| a.offline_block);
        let finished =
            ticketing
                .queue
                .finish_centre(store, &purpose.prepared, &attempt, block, wall);
        if cached.is_none()
            && matches!(attempt, Attempt::Answered { .. })
            && let Some(desk) = self.centre.as_mut()
        {
            // The centre answers: learn the block for the next outage.
            desk.assignment_wanted = true;
        }
        let drawn = match finished {
            Ok(drawn) => drawn,
            Err(e) => {
                let fault = self.ticket_refused(&service, &e, now);
                if fault == Fault::CentreUnreachable {
                    // No number at all until the centre answers: staff
                    // hand out numbers and look at the network.
                    tracing::error!(
                        "staff alert: the centre is unreachable and no offline block is known"
                    );
                    self.counters.staff_calls += 1;
                    self.audit(
                        now,
                        "staff_alert",
                        serde_json::json!({ "centre": "unreachable_without_block" }),
                    );
                }
                if purpose.asked {
                    self.audit(
                        now,
                        "identity_not_shared",
                        serde_json::json!({ "service": service }),
                    );
                }
                if purpose.session && self.session.step() == StepKind::IssuingTicket {
                    self.session
                        .handle_input(Input::TicketFinished(Err(fault)), now);
                }
                return;
            }
        };
        if let Some(reason) = &drawn.offline {
            tracing::warn!(?reason, number = %drawn.ticket.number, %service, "the centre is unreachable: an offline number");
            self.audit(
                now,
                "ticket_offline",
                serde_json::json!({ "service": service, "number": drawn.ticket.number, "reason": reason }),
            );
        }
        if purpose.asked {
            // An offline number carries no packet: the counter asks for
            // the card.
            let shared = purpose.shared && drawn.offline.is_none();
            self.audit(
                now,
                if shared {
                    "identity_shared"
                } else {
                    "identity_not_shared"
                },
                serde_json::json!({ "service": service }),
            );
        }
        let job = match self
            .ticketing
            .as_ref()
            .map(|t| t.render(&drawn.ticket, drawn.waiting, false))
        {
            Some(Ok(job)) => job,
            other => {
                if let Some(Err(e)) = other {
                    tracing::error!(error = %e, "cannot lay out the ticket");
                }
                if purpose.session && self.session.step() == StepKind::IssuingTicket {
                    self.session
                        .handle_input(Input::TicketFinished(Err(Fault::Internal)), now);
                }
                return;
            }
        };
        self.print(
            job.bytes.clone(),
            Purpose::Ticket {
                ticket: drawn.ticket,
                waiting: drawn.waiting,
                job,
                session: purpose.session,
                staff: false,
            },
            now,
        );
    }

    /// Starts the assignment's ask at start-up, and reconciliation with
    /// the kept ratings on the idle loop when the schedule says so.
    fn centre_sync(&mut self, now: Timestamp) {
        let at = now.as_millis();
        let idle = self.session.step() == StepKind::Attract && !self.staff_active();
        let wall = self.wall(now);
        let Some(desk) = self.centre.as_ref() else {
            return;
        };
        if desk.busy_in_background() {
            return;
        }
        let due = idle && desk.schedule.due(at);
        if !desk.assignment_wanted && !due {
            return;
        }
        let mut work = Background {
            assignment: desk.assignment_wanted,
            ..Background::default()
        };
        if due
            && let (Some(ticketing), Some(store)) = (self.ticketing.as_ref(), self.store.as_ref())
        {
            if !work.assignment {
                work.assignment = crate::online::centre::cached_assignment(store)
                    .ok()
                    .flatten()
                    .is_none();
            }
            match ticketing.queue.reconcile_request(store, wall) {
                Ok(r) if !r.is_empty() => work.reconcile = Some(r),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "cannot gather the offline tickets"),
            }
            work.ratings = pending_ratings(store)
                .into_iter()
                .take(RATINGS_BATCH)
                .collect();
        }
        let Some(desk) = self.centre.as_mut() else {
            return;
        };
        desk.assignment_wanted = false;
        if work.is_empty() {
            if due {
                desk.schedule.succeeded(at);
            }
            return;
        }
        desk.start_background(work, now);
    }

    /// Records what a background exchange brought back.
    fn background_done(&mut self, out: BackgroundOutcome, now: Timestamp) {
        let wall = self.wall(now);
        let at = now.as_millis();
        if let Some(desk) = self.centre.as_mut() {
            if out.failed() {
                desk.schedule.failed(at);
            } else {
                desk.schedule.succeeded(at);
            }
        }
        match &out.assignment {
            Some(Ok(a)) => {
                tracing::info!(centre = %a.centre_id, block = %a.offline_block, "the centre's assignment");
                if let (Some(store), Ok(text)) = (self.store.as_mut(), serde_json::to_string(a))
                    && let Err(e) = store.kv_set(crate::online::centre::ASSIGNMENT_KEY, &text)
                {
                    tracing::error!(error = %e, "cannot keep the centre's assignment");
                }
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "the centre's assignment cannot be fetched now")
            }
            None => {}
        }
        match out.reconcile {
            Some(Ok(answer)) => {
                let applied = match (self.ticketing.as_ref(), self.store.as_mut()) {
                    (Some(t), Some(store)) => t.queue.apply_reconcile(store, &answer, wall),
                    _ => Ok(Default::default()),
                };
                match applied {
                    Ok(summary) => {
                        tracing::info!(
                            acknowledged = summary.acknowledged,
                            rejected = summary.rejected.len(),
                            voided = summary.voided.len(),
                            abandoned_cleared = summary.abandoned_cleared,
                            "reconciled with the centre"
                        );
                        self.audit(
                            now,
                            "centre_reconcile",
                            serde_json::json!({
                                "outcome": "answered",
                                "acknowledged": summary.acknowledged,
                                "rejected": summary.rejected.len(),
                                "voided": summary.voided,
                                "abandoned_cleared": summary.abandoned_cleared,
                            }),
                        );
                        if !summary.rejected.is_empty() {
                            tracing::error!(
                                rejected = summary.rejected.len(),
                                "staff alert: the centre rejected offline tickets (kept on the kiosk)"
                            );
                            self.counters.staff_calls += 1;
                            self.audit(
                                now,
                                "staff_alert",
                                serde_json::json!({ "centre_rejected_offline_tickets": summary.rejected }),
                            );
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot apply the centre's reconciliation")
                    }
                }
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "reconciliation with the centre failed: tried again later");
                self.audit(
                    now,
                    "centre_reconcile",
                    serde_json::json!({ "outcome": "unreachable" }),
                );
            }
            None => {}
        }
        let acknowledged: Vec<&str> = out
            .ratings
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(k, _)| k.as_str())
            .collect();
        if !out.ratings.is_empty() {
            tracing::info!(
                sent = acknowledged.len(),
                kept = out.ratings.len() - acknowledged.len(),
                "ratings sent to the centre"
            );
        }
        if !acknowledged.is_empty()
            && let Some(store) = self.store.as_mut()
        {
            let mut list = pending_ratings(store);
            list.retain(|p| !acknowledged.contains(&p.key.as_str()));
            save_pending_ratings(store, &list);
        }
    }

    /// Keeps a rating for the centre (in the store first: never lost) and
    /// sends it off the loop when nothing else is being sent.
    pub(super) fn rating_for_centre(&mut self, subject: &RatingSubject, score: u8, now: Timestamp) {
        if self.centre.is_none() {
            return;
        }
        let wall = self.wall(now);
        let request = match subject {
            RatingSubject::Ticket(number) => {
                let service = match (self.ticketing.as_ref(), self.store.as_ref()) {
                    (Some(t), Some(store)) => kiosk_firmware::queue::Queue::day(wall)
                        .and_then(|day| t.queue.find(store, &day, number))
                        .map(|ticket| ticket.service)
                        .ok(),
                    _ => None,
                };
                RatingRequest::new(score, service.as_deref())
            }
            RatingSubject::Request(_) => RatingRequest {
                score,
                kind: RatingKind::Request,
                service: None,
            },
            RatingSubject::Visit => RatingRequest::new(score, None),
        };
        let key = match crate::online::centre::nonce() {
            Ok(n) => format!("rating-{}", hex::encode(n)),
            Err(e) => {
                tracing::error!(error = %e, "no OS entropy: the rating is not sent to the centre");
                return;
            }
        };
        let Some(store) = self.store.as_mut() else {
            return;
        };
        let mut list = pending_ratings(store);
        list.push(PendingRating {
            key: key.clone(),
            request,
        });
        if list.len() > MAX_PENDING_RATINGS {
            let drop = list.len() - MAX_PENDING_RATINGS;
            tracing::warn!(
                dropped = drop,
                "too many ratings kept for the centre: the oldest go"
            );
            list.drain(..drop);
        }
        save_pending_ratings(store, &list);
        let Some(desk) = self.centre.as_mut() else {
            return;
        };
        if let Some(rating) = list.into_iter().find(|p| p.key == key) {
            desk.start_background(
                Background {
                    ratings: vec![rating],
                    ..Background::default()
                },
                now,
            );
        }
    }
}
