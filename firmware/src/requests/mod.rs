//! Online service requests (dịch vụ công trực tuyến) filed at the kiosk:
//! the procedure catalogue, forms pre-filled from the verified chip,
//! consent, the portal API and the outbox's delivery. Sans-IO like the
//! rest of the firmware: time and randomness are parameters, and the
//! portal is a port ([`delivery::PortalClient`]).
//!
//! Follow one request: the citizen picks a procedure on the menu
//! (`session::Action::PrepareForm`) → [`form::Form::prefill`] fills the
//! chip fields from the verified `Citizen` (read-only) → the citizen types
//! the rest, [`form::Form::validate`] names every problem → the consent
//! screen shows [`consent::ConsentNotice`] (PDP Law 91/2025/QH15) and only
//! an explicit "I agree" goes on (`session::Action::SubmitRequest`) →
//! [`submission`] builds the [`api::Submission`] with the
//! [`consent::ConsentRecord`] → the store seals it into the outbox
//! (`store::outbox`) → [`delivery::Courier`] sends it with its
//! idempotency key and records the portal's dossier code, or reschedules
//! it with [`delivery::Backoff`], or marks it failed for staff on a 4xx →
//! [`receipt::render`] prints the receipt with a QR code for the status.
//!
//! References: Decision 06/QĐ-TTg (Project 06) and Directive 05/CT-TTg (no
//! re-declaring what the state holds), Circular 01/2018/TT-VPCP Art. 19
//! (dossier codes), PDP Law 91/2025/QH15 and Decree 356/2025/NĐ-CP
//! (consent), reference note kiosk-products-and-rules.md §3.3–§3.7, §5.1
//! items 13–14.

pub mod api;
pub mod catalog;
pub mod consent;
pub mod delivery;
pub mod form;
pub mod receipt;

pub use catalog::{Catalog, CatalogConfig, CatalogError, ChipField, FieldType, Procedure};
pub use consent::{ConsentNotice, ConsentRecord};
pub use form::{FieldProblem, Form, FormError, Problem};

use crate::session::Verification;

/// A new idempotency key from 16 random bytes: 32 lower-case hex digits.
pub fn idempotency_key(random: [u8; 16]) -> String {
    consent::hex_lower(&random)
}

/// The kiosk's reference for a request, printed on the receipt: `R` and
/// the first 10 hex digits of the idempotency key, in capitals. It finds
/// the request before the portal has given it a dossier code.
pub fn reference_for(idempotency_key: &str) -> String {
    let head: String = idempotency_key.chars().take(10).collect();
    format!("R{}", head.to_ascii_uppercase())
}

/// The stored name of a verification.
pub fn verification_name(v: Verification) -> &'static str {
    match v {
        Verification::Anonymous => "anonymous",
        Verification::FaceMatched => "face_matched",
        Verification::StaffConfirmed => "staff_confirmed",
        Verification::Guardian => "guardian",
    }
}

/// Why a request cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The procedure is not in the catalogue. Remedy: pick one the menu
    /// offers (the catalogue file lists them).
    #[error("no procedure {0:?} in the catalogue")]
    UnknownProcedure(String),
    /// The form has problems; each names its field.
    #[error("the form has {} problem(s)", .0.len())]
    Invalid(Vec<FieldProblem>),
    /// Nobody verified: a request needs an identified holder.
    #[error("a request needs an identified card holder")]
    Anonymous,
}

/// What the kiosk knows when it builds a submission.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The kiosk's identifier.
    pub kiosk_id: &'a str,
    /// The catalogue's version.
    pub catalog_version: &'a str,
    /// How identity was checked.
    pub verification: Verification,
    /// Now, Unix milliseconds.
    pub now_unix_ms: u64,
}

/// Builds the submission of a validated form with the consent given.
pub fn submission(
    procedure: &Procedure,
    form: &Form,
    consent: ConsentRecord,
    reference: &str,
    ctx: &Context<'_>,
) -> Result<api::Submission, RequestError> {
    if ctx.verification == Verification::Anonymous {
        return Err(RequestError::Anonymous);
    }
    if form.procedure() != procedure.code {
        return Err(RequestError::UnknownProcedure(form.procedure().to_owned()));
    }
    form.validate(procedure).map_err(RequestError::Invalid)?;
    let counts = form.counts();
    Ok(api::Submission {
        kiosk_id: ctx.kiosk_id.to_owned(),
        reference: reference.to_owned(),
        procedure_code: procedure.code.clone(),
        catalog_version: ctx.catalog_version.to_owned(),
        submitted_at_unix_ms: ctx.now_unix_ms,
        verification: verification_name(ctx.verification).to_owned(),
        fields: form
            .entries()
            .map(|(name, value, source)| api::SubmittedField {
                name: name.to_owned(),
                value: value.map(str::to_owned),
                source: api::source_name(source).to_owned(),
            })
            .collect(),
        prefilled_fields: counts.prefilled,
        typed_fields: counts.typed,
        consent,
    })
}

#[cfg(test)]
mod tests;
