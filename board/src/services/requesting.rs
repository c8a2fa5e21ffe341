//! Filing an online request on a board: seal it into the outbox
//! (`firmware::store::outbox`), try to deliver it at once, print the
//! receipt with its QR code (`firmware::requests::receipt` → ESC/POS, the
//! queue ticket's printer path), and deliver what is left later
//! ([`Requesting::flush`]). The runtime and `kioskctl request`/`outbox`
//! share this.
//!
//! Crash injection (only with the `crash-hook` feature, which the
//! `production` build leaves out): with `KIOSK_CRASH_AT=<point>` in the environment the
//! process sends itself SIGKILL at that point (`kill -9`: no destructors,
//! no flushing; `abort` if `kill` cannot be run), so the tests can prove
//! that a restart delivers every request exactly once. The points, in order: `after_enqueue` (the sealed row is
//! committed), `after_claim` (the row is `sending`), `after_send` (the
//! portal answered, nothing recorded), `after_ack` (the dossier code is
//! committed and the row deleted, nothing printed).
//!
//! Nothing here reads a clock: `now` is passed in.

use crate::config::RequestsSection;
use crate::drivers::PrinterDevice;
use crate::services::ticketing::{Job, PrintReport, print_job};
use kiosk_firmware::cccd::dg13::Citizen;
use kiosk_firmware::icao::random::Drbg;
use kiosk_firmware::requests::delivery::{
    Answer, Courier, Outgoing, PortalClient, RowOutcome, Step, TransportError, open_claimed,
    record_answer,
};
use kiosk_firmware::requests::receipt::{ReceiptContent, ReceiptState};
use kiosk_firmware::requests::{self, ConsentNotice, Form, Procedure, RequestError};
use kiosk_firmware::session::Verification;
use kiosk_firmware::store::outbox::OutboxRow;
use kiosk_firmware::store::outbox::{NewRequest, OutboxError};
use kiosk_firmware::store::{Store, StoreError, UnixMillis};
use kiosk_firmware::ticket::LocalTime;
use kiosk_firmware::ticket::escpos::encode_ticket;
use kiosk_firmware::ticket::raster::{PaperWidth, RasterError};

/// The environment variable naming a crash point.
#[cfg(feature = "crash-hook")]
pub const CRASH_ENV: &str = "KIOSK_CRASH_AT";

/// The crash points, in the order a request passes them.
#[cfg(feature = "crash-hook")]
pub const CRASH_POINTS: [&str; 4] = ["after_enqueue", "after_claim", "after_send", "after_ack"];

/// Kills the process (`kill -9` on itself) if `KIOSK_CRASH_AT` names
/// `point`.
#[cfg(feature = "crash-hook")]
pub fn crash_point(point: &str) {
    if std::env::var(CRASH_ENV).is_ok_and(|v| v == point) {
        eprintln!("{CRASH_ENV}={point}: kill -9 on myself");
        let _ = std::process::Command::new("kill")
            .args(["-9", &std::process::id().to_string()])
            .status();
        // Only if `kill` could not be run.
        std::process::abort();
    }
}

/// Without the `crash-hook` feature there is no crash point: the calls
/// below compile to nothing and no environment variable is read.
#[cfg(not(feature = "crash-hook"))]
macro_rules! crash_point {
    ($point:expr) => {};
}

#[cfg(feature = "crash-hook")]
macro_rules! crash_point {
    ($point:expr) => {
        crash_point($point)
    };
}

/// After each delivery step: with the `crash-hook` feature, the crash
/// point of that step; without it, nothing.
fn after_step(step: Step) {
    #[cfg(feature = "crash-hook")]
    crash_point(match step {
        Step::Claimed => "after_claim",
        Step::Answered => "after_send",
        Step::Recorded => "after_ack",
    });
    #[cfg(not(feature = "crash-hook"))]
    let _ = step;
}

/// Why a request could not be filed.
#[derive(Debug, thiserror::Error)]
pub enum RequestingError {
    /// The request is unusable (unknown procedure, form problems).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The outbox could not take it (disk full, database locked).
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The database failed after queuing.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// There is no reviewed form with its consent notice to submit (the
    /// journey was wiped in between). Remedy: start the request again.
    #[error("no reviewed form to submit")]
    NoForm,
    /// The submission could not be encoded as JSON (a bug).
    #[error("the request cannot be encoded: {0}")]
    Encode(String),
    /// The receipt could not be laid out.
    #[error("the receipt cannot be laid out: {0}")]
    Layout(#[from] RasterError),
}

impl From<kiosk_firmware::requests::delivery::DeliveryError> for RequestingError {
    fn from(e: kiosk_firmware::requests::delivery::DeliveryError) -> Self {
        match e {
            kiosk_firmware::requests::delivery::DeliveryError::Store(s) => {
                RequestingError::Store(s)
            }
        }
    }
}

/// A request filed.
#[derive(Debug, Clone)]
pub struct Filed {
    /// The kiosk's reference.
    pub reference: String,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The outbox row.
    pub row_id: i64,
    /// Delivered at once, or queued.
    pub state: ReceiptState,
    /// The immediate attempt's outcome, if one was made.
    pub attempt: Option<RowOutcome>,
    /// Fields from the chip / typed.
    pub counts: kiosk_firmware::requests::form::FieldCounts,
}

/// A request sealed into the outbox, before the portal's answer to its
/// first attempt ([`Requesting::enqueue`]). No personal data.
#[derive(Debug, Clone)]
pub struct Filing {
    /// The procedure's code.
    pub procedure: String,
    /// The kiosk's reference (on a queued receipt).
    pub reference: String,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The outbox row.
    pub row_id: i64,
    /// Pre-filled and typed field counts (for the audit log).
    pub counts: kiosk_firmware::requests::form::FieldCounts,
    /// The row's payload did not open: failed for staff at once.
    pub failed: Option<RowOutcome>,
}

impl Filed {
    /// Whether the portal refused it for good (a 4xx on the first attempt).
    pub fn refused(&self) -> bool {
        self.attempt.as_ref().is_some_and(|a| a.outcome == "failed")
    }
}

/// The requests feature of a board.
#[derive(Debug, Clone)]
pub struct Requesting {
    /// The configuration.
    pub config: RequestsSection,
    /// The kiosk's id.
    pub kiosk_id: String,
    /// Printed at the top of receipts.
    pub center_name: String,
    /// The printer's paper.
    pub paper: PaperWidth,
}

/// Random numbers from the OS (seeded DRBG; a constant seed if the OS
/// cannot give one, which only weakens the jitter, never the keys: then
/// filing fails instead, see [`Requesting::file`]).
#[derive(Debug)]
pub struct Randomness(Drbg);

impl Randomness {
    /// From the OS.
    pub fn from_os() -> std::io::Result<Randomness> {
        Ok(Randomness(Drbg::new(crate::services::reading::os_seed()?)))
    }

    /// From a seed (tests).
    pub fn from_seed(seed: [u8; 32]) -> Randomness {
        Randomness(Drbg::new(seed))
    }

    /// A random u64.
    pub fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.0.fill(&mut b);
        b
    }
}

impl Requesting {
    /// From the board configuration; `None` without `[requests]`.
    pub fn from_config(config: &crate::config::Config) -> Option<Requesting> {
        let section = config.requests.clone()?;
        let paper = config.paper_width();
        Some(Requesting {
            config: section,
            kiosk_id: config.kiosk.id.clone(),
            center_name: config.kiosk.center_name.clone(),
            paper,
        })
    }

    /// The procedure with `code`.
    pub fn procedure(&self, code: &str) -> Result<&Procedure, RequestError> {
        self.config
            .catalog
            .procedure(code)
            .ok_or_else(|| RequestError::UnknownProcedure(code.to_owned()))
    }

    /// The form of `code` pre-filled from `citizen`.
    pub fn prefill(&self, code: &str, citizen: &Citizen) -> Result<Form, RequestError> {
        Ok(Form::prefill(self.procedure(code)?, citizen))
    }

    /// The consent notice for `code`.
    pub fn consent_notice(
        &self,
        code: &str,
        verification: Verification,
    ) -> Result<ConsentNotice, RequestError> {
        Ok(ConsentNotice::for_procedure(
            self.procedure(code)?,
            verification,
        ))
    }

    /// Files a validated, consented request: seals it into the outbox
    /// (committed before anything is sent), then tries to deliver it at
    /// once through `client`. A failed attempt leaves it queued.
    #[expect(
        clippy::too_many_arguments,
        reason = "the one place that joins form, consent, store, portal and randomness"
    )]
    pub fn file(
        &self,
        store: &mut Store,
        client: &mut dyn PortalClient,
        form: &Form,
        notice: &ConsentNotice,
        consent_at: UnixMillis,
        verification: Verification,
        now: UnixMillis,
        rng: &mut Randomness,
    ) -> Result<Filed, RequestingError> {
        let (filing, outgoing) =
            self.enqueue(store, form, notice, consent_at, verification, now, rng)?;
        let answer = outgoing.map(|o| {
            let result = client.submit(&o.row.idempotency_key, &o.payload);
            (o.into_row(), result)
        });
        self.filed(store, filing, answer, now, rng)
    }

    /// The first half of [`Requesting::file`], before the network: seals
    /// the request into the outbox (committed) and claims it for the first
    /// attempt, its payload opened for the portal (`None`: the row could
    /// not be claimed or opened — it is then queued, or failed for staff,
    /// as [`Filing::failed`] says).
    #[expect(
        clippy::too_many_arguments,
        reason = "the one place that joins form, consent, store and randomness"
    )]
    pub fn enqueue(
        &self,
        store: &mut Store,
        form: &Form,
        notice: &ConsentNotice,
        consent_at: UnixMillis,
        verification: Verification,
        now: UnixMillis,
        rng: &mut Randomness,
    ) -> Result<(Filing, Option<Outgoing>), RequestingError> {
        let procedure = self.procedure(form.procedure())?;
        let key = requests::idempotency_key(rng.bytes::<16>());
        let reference = requests::reference_for(&key);
        let submission = requests::submission(
            procedure,
            form,
            notice.record(procedure, consent_at.0),
            &reference,
            &requests::Context {
                kiosk_id: &self.kiosk_id,
                catalog_version: &self.config.catalog.version,
                verification,
                now_unix_ms: now.0,
            },
        )?;
        let payload = zeroize::Zeroizing::new(
            serde_json::to_vec(&submission).map_err(|e| RequestingError::Encode(e.to_string()))?,
        );
        let row_id = store.outbox_enqueue(
            &self.config.outbox_key,
            &NewRequest {
                idempotency_key: &key,
                reference: &reference,
                procedure: &procedure.code,
                payload: &payload,
                nonce: rng.bytes::<12>(),
                now,
            },
        )?;
        drop(payload);
        crash_point!("after_enqueue");
        let mut filing = Filing {
            procedure: procedure.code.clone(),
            reference,
            idempotency_key: key,
            row_id,
            counts: form.counts(),
            failed: None,
        };
        let Some(claimed) = store.outbox_claim(row_id, now)? else {
            return Ok((filing, None));
        };
        crash_point!("after_claim");
        match open_claimed(
            store,
            &self.config.outbox_key,
            &claimed,
            now,
            &mut after_step,
        )? {
            Ok(outgoing) => Ok((filing, Some(outgoing))),
            Err(failed) => {
                filing.failed = Some(failed);
                Ok((filing, None))
            }
        }
    }

    /// The second half of [`Requesting::file`], after the network: records
    /// the portal's answer to the first attempt (`None`: none was made).
    pub fn filed(
        &self,
        store: &mut Store,
        filing: Filing,
        answer: Option<(OutboxRow, Result<Answer, TransportError>)>,
        now: UnixMillis,
        rng: &mut Randomness,
    ) -> Result<Filed, RequestingError> {
        let mut attempt = filing.failed;
        let mut state = ReceiptState::Queued;
        if let Some((row, result)) = answer {
            after_step(Step::Answered);
            let outcome = record_answer(
                store,
                self.config.backoff,
                &row,
                &result,
                now,
                rng.next_u64(),
                &mut after_step,
            )?;
            if let Some(code) = &outcome.dossier_code {
                state = ReceiptState::Delivered {
                    dossier_code: code.clone(),
                    appointment_date: outcome.appointment_date.clone(),
                };
            }
            attempt = Some(outcome);
        }
        Ok(Filed {
            reference: filing.reference,
            idempotency_key: filing.idempotency_key,
            row_id: filing.row_id,
            state,
            attempt,
            counts: filing.counts,
        })
    }

    /// The first half of [`Requesting::flush`], before the network: claims
    /// up to `[requests.delivery].batch` due rows and opens them for the
    /// portal. Rows that do not open are failed for staff at once; their
    /// outcomes come back beside the rows to send.
    pub fn claim_due(
        &self,
        store: &mut Store,
        now: UnixMillis,
    ) -> Result<(Vec<Outgoing>, Vec<RowOutcome>), RequestingError> {
        let claimed = store.outbox_claim_due(now, self.config.batch)?;
        if !claimed.is_empty() {
            after_step(Step::Claimed);
        }
        let mut outgoing = Vec::with_capacity(claimed.len());
        let mut failed = Vec::new();
        for c in &claimed {
            match open_claimed(store, &self.config.outbox_key, c, now, &mut after_step)? {
                Ok(o) => outgoing.push(o),
                Err(f) => failed.push(f),
            }
        }
        Ok((outgoing, failed))
    }

    /// The second half of [`Requesting::flush`], after the network:
    /// records the answer to each row sent (`results` in the order of
    /// `rows`); the rows after the last answer (the portal became
    /// unreachable) go back to `pending` untouched.
    pub fn record_pass(
        &self,
        store: &mut Store,
        rows: &[OutboxRow],
        results: &[Result<Answer, TransportError>],
        now: UnixMillis,
        rng: &mut Randomness,
    ) -> Result<Vec<RowOutcome>, RequestingError> {
        let mut out = Vec::with_capacity(results.len());
        for (row, result) in rows.iter().zip(results) {
            after_step(Step::Answered);
            out.push(record_answer(
                store,
                self.config.backoff,
                row,
                result,
                now,
                rng.next_u64(),
                &mut after_step,
            )?);
        }
        let rest: Vec<i64> = rows.iter().skip(results.len()).map(|r| r.id).collect();
        store.outbox_release(&rest)?;
        Ok(out)
    }

    /// Delivers what is due: up to `[requests.delivery].batch` rows.
    pub fn flush(
        &self,
        store: &mut Store,
        client: &mut dyn PortalClient,
        now: UnixMillis,
        rng: &mut Randomness,
    ) -> Result<Vec<RowOutcome>, RequestingError> {
        let mut courier = Courier {
            key: &self.config.outbox_key,
            client,
            backoff: self.config.backoff,
        };
        Ok(courier.deliver_pass(
            store,
            now,
            self.config.batch,
            &mut || rng.next_u64(),
            &mut after_step,
        )?)
    }

    /// Lays out and encodes the receipt.
    pub fn render_receipt(
        &self,
        procedure: &str,
        state: ReceiptState,
        reference: &str,
        now: UnixMillis,
    ) -> Result<Job, RequestingError> {
        let procedure = self.procedure(procedure)?;
        let at = LocalTime::in_vietnam(now.0).unwrap_or(LocalTime {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
        });
        let content = ReceiptContent::new(
            &self.center_name,
            procedure,
            state,
            reference,
            at,
            &self.config.catalog.status_url,
        );
        let bitmap = kiosk_firmware::requests::receipt::render(&content, self.paper)?;
        Ok(Job {
            bytes: encode_ticket(&bitmap),
            width: bitmap.width(),
            height: bitmap.height(),
            raster_bytes: bitmap.packed().len(),
            black_dots: bitmap.black_dots(),
        })
    }

    /// Prints the receipt (status before and after, like a ticket).
    pub fn print_receipt(&self, printer: &mut dyn PrinterDevice, job: &Job) -> PrintReport {
        print_job(printer, &job.bytes, &mut |_| {})
    }
}

/// What the form screen shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FormScreen {
    /// The procedure code.
    pub procedure: String,
    /// Its Vietnamese name.
    pub name_vi: String,
    /// Its English name.
    pub name_en: String,
    /// The rows.
    pub fields: Vec<kiosk_firmware::requests::form::FieldView>,
    /// The problems found when the citizen pressed "Continue".
    pub problems: Vec<kiosk_firmware::requests::FieldProblem>,
    /// Papers to bring to the counter.
    pub bring_to_counter: Vec<kiosk_firmware::requests::catalog::Attachment>,
}

/// The requests feature as the runtime holds it: the board's
/// [`Requesting`], the portal client, randomness, and the journey's form
/// and consent notice (personal data: wiped with the session).
pub struct RequestService {
    /// The feature.
    pub requesting: Requesting,
    /// The portal client; lent to a delivery's worker while one runs.
    client: Option<Box<dyn PortalClient + Send>>,
    rng: Randomness,
    form: Option<Form>,
    problems: Vec<kiosk_firmware::requests::FieldProblem>,
    notice: Option<ConsentNotice>,
    consent_at: Option<UnixMillis>,
    /// When the next background delivery pass is due (wall clock).
    next_flush: UnixMillis,
}

impl core::fmt::Debug for RequestService {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestService")
            .field("holds_form", &self.form.is_some())
            .finish_non_exhaustive()
    }
}

impl RequestService {
    /// The service over `client`.
    pub fn new(
        requesting: Requesting,
        client: Box<dyn PortalClient + Send>,
        rng: Randomness,
    ) -> RequestService {
        RequestService {
            requesting,
            client: Some(client),
            rng,
            form: None,
            problems: Vec::new(),
            notice: None,
            consent_at: None,
            next_flush: UnixMillis(0),
        }
    }

    /// Whether it holds the citizen's form.
    pub fn holds_personal_data(&self) -> bool {
        self.form.is_some()
    }

    /// Prepares the pre-filled form.
    pub fn prepare(&mut self, procedure: &str, citizen: &Citizen) -> Result<(), RequestError> {
        self.wipe();
        self.form = Some(self.requesting.prefill(procedure, citizen)?);
        Ok(())
    }

    /// Sets a field the citizen typed.
    pub fn set_field(
        &mut self,
        name: &str,
        value: &str,
    ) -> Result<(), kiosk_firmware::requests::FormError> {
        // A field the citizen changed is judged at once (its problem shows
        // on the form when the input screen closes), and with all the
        // others again at the next "Continue".
        self.problems.retain(|p| p.field != name);
        let Some(form) = self.form.as_mut() else {
            return Err(kiosk_firmware::requests::FormError::UnknownField(
                name.to_owned(),
            ));
        };
        form.set(name, value)?;
        if let Ok(procedure) = self.requesting.procedure(form.procedure())
            && let Err(problems) = form.validate(procedure)
        {
            self.problems
                .extend(problems.into_iter().filter(|p| p.field == name));
        }
        Ok(())
    }

    /// Checks the form when the citizen presses "Continue"; on success the
    /// consent notice is ready.
    pub fn confirm(&mut self, verification: Verification) -> bool {
        let Some(form) = &self.form else {
            return false;
        };
        let Ok(procedure) = self.requesting.procedure(form.procedure()) else {
            return false;
        };
        match form.validate(procedure) {
            Ok(()) => {
                self.problems.clear();
                self.notice = Some(ConsentNotice::for_procedure(procedure, verification));
                true
            }
            Err(problems) => {
                self.problems = problems;
                false
            }
        }
    }

    /// The consent notice shown, if any.
    pub fn notice(&self) -> Option<&ConsentNotice> {
        self.notice.as_ref()
    }

    /// The citizen touched "I agree" at `at`.
    pub fn consented(&mut self, at: UnixMillis) {
        self.consent_at = Some(at);
    }

    /// The form screen.
    pub fn screen(&self) -> Option<FormScreen> {
        let form = self.form.as_ref()?;
        let p = self.requesting.procedure(form.procedure()).ok()?;
        Some(FormScreen {
            procedure: p.code.clone(),
            name_vi: p.name_vi.clone(),
            name_en: p.name_en.clone(),
            fields: form.view(p),
            problems: self.problems.clone(),
            bring_to_counter: p.bring_to_counter.clone(),
        })
    }

    /// Seals the consented request into the outbox and claims it for its
    /// first attempt (the first half of filing, before the network: see
    /// [`Requesting::enqueue`]). The form is wiped: from now on the
    /// request lives in the outbox.
    pub fn begin_submit(
        &mut self,
        store: &mut Store,
        verification: Verification,
        now: UnixMillis,
    ) -> Result<(Filing, Option<Outgoing>), RequestingError> {
        let (Some(form), Some(notice)) = (self.form.as_ref(), self.notice.as_ref()) else {
            return Err(RequestingError::NoForm);
        };
        let consent_at = self.consent_at.unwrap_or(now);
        let begun = self.requesting.enqueue(
            store,
            form,
            notice,
            consent_at,
            verification,
            now,
            &mut self.rng,
        );
        self.wipe();
        begun
    }

    /// Records the portal's answer to the first attempt (`None`: none was
    /// made, or none came in time: the row stays queued).
    pub fn finish_submit(
        &mut self,
        store: &mut Store,
        filing: Filing,
        answer: Option<(OutboxRow, Result<Answer, TransportError>)>,
        now: UnixMillis,
    ) -> Result<Filed, RequestingError> {
        self.requesting
            .filed(store, filing, answer, now, &mut self.rng)
    }

    /// Whether a delivery pass is due.
    pub fn flush_due(&self, now: UnixMillis) -> bool {
        now >= self.next_flush
    }

    /// Claims the due rows for a delivery pass and opens them (the first
    /// half of a pass, before the network); the next pass is due a flush
    /// interval later.
    pub fn begin_flush(
        &mut self,
        store: &mut Store,
        now: UnixMillis,
    ) -> Result<(Vec<Outgoing>, Vec<RowOutcome>), RequestingError> {
        let interval = self.requesting.config.flush_interval_s.saturating_mul(1000);
        self.next_flush = UnixMillis(now.0.saturating_add(interval));
        self.requesting.claim_due(store, now)
    }

    /// Records the portal's answers to a pass's rows (the second half).
    pub fn finish_flush(
        &mut self,
        store: &mut Store,
        rows: &[OutboxRow],
        results: &[Result<Answer, TransportError>],
        now: UnixMillis,
    ) -> Result<Vec<RowOutcome>, RequestingError> {
        self.requesting
            .record_pass(store, rows, results, now, &mut self.rng)
    }

    /// Lends the portal client to a delivery's worker; `None` while one
    /// holds it.
    pub fn lend_client(&mut self) -> Option<Box<dyn PortalClient + Send>> {
        self.client.take()
    }

    /// Takes the portal client back from a delivery.
    pub fn return_client(&mut self, client: Box<dyn PortalClient + Send>) {
        self.client = Some(client);
    }

    /// Whether the portal client is here (no delivery holds it).
    pub fn client_home(&self) -> bool {
        self.client.is_some()
    }

    /// Forgets the form and the consent.
    pub fn wipe(&mut self) {
        self.form = None;
        self.problems.clear();
        self.notice = None;
        self.consent_at = None;
    }
}
