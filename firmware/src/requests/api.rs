//! The portal API's messages (`docs/portal-api.yaml`, OpenAPI 3.1): JSON
//! over HTTPS with mutual TLS, served by the provincial one-stop adapter
//! (reference note §3.6: the kiosk never talks to the national portal
//! directly) and, for the simulator and tests, by the reference portal in
//! `kiosk-board`.
//!
//! - `POST /v1/dossiers` with `Idempotency-Key`: submit; `201` with a
//!   [`Receipt`] the first time, `200` with the same receipt for a repeat
//!   of the same key (a retry after a lost answer), `409` when the key was
//!   used for a different body, `400`/`422` when the request is unusable.
//! - `GET /v1/dossiers/{dossier_code}`: a [`Status`].
//! - `POST /v1/dossiers/{dossier_code}/cancel`: a [`Status`] (`cancelled`).
//!
//! Dossier codes follow Circular 01/2018/TT-VPCP Art. 19:
//! `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX` ([`DossierCode`]). The portal
//! assigns them; the kiosk never invents one.

use super::consent::ConsentRecord;
use super::form::Source;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The idempotency-key header.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// One form field in a submission.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct SubmittedField {
    /// The field's name in the catalogue.
    pub name: String,
    /// Its value (absent when left empty).
    pub value: Option<String>,
    /// `chip` or `citizen`.
    pub source: String,
}

impl core::fmt::Debug for SubmittedField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SubmittedField({}, ..)", self.name)
    }
}

/// The body of `POST /v1/dossiers`: what the outbox encrypts and sends.
/// Personal data: zeroized on drop, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Submission {
    /// The kiosk's identifier.
    pub kiosk_id: String,
    /// The kiosk's own reference for this request (on the queued receipt).
    pub reference: String,
    /// The procedure code (mã TTHC).
    pub procedure_code: String,
    /// The catalogue version the form came from.
    pub catalog_version: String,
    /// Unix milliseconds when the citizen submitted.
    pub submitted_at_unix_ms: u64,
    /// How identity was checked (`face_matched`, `staff_confirmed`,
    /// `guardian`): never the face image or the score.
    pub verification: String,
    /// The form.
    pub fields: Vec<SubmittedField>,
    /// Fields filled from the chip.
    pub prefilled_fields: u32,
    /// Fields the citizen typed.
    pub typed_fields: u32,
    /// The consent given.
    #[zeroize(skip)]
    pub consent: ConsentRecord,
}

impl core::fmt::Debug for Submission {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Submission")
            .field("reference", &self.reference)
            .field("procedure_code", &self.procedure_code)
            .finish_non_exhaustive()
    }
}

impl Submission {
    /// The value of a field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.value.as_deref())
    }
}

/// The source's name in a submission.
pub fn source_name(s: Source) -> &'static str {
    match s {
        Source::Chip => "chip",
        Source::Citizen => "citizen",
    }
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The dossier code the portal assigned (Circular 01/2018 Art. 19).
    pub dossier_code: String,
    /// The status, e.g. `received`.
    pub status: String,
    /// Unix milliseconds when the portal received it.
    pub received_at_unix_ms: u64,
    /// The appointment date for the result (`dd/mm/yyyy`), when known.
    pub appointment_date: Option<String>,
}

/// The answer to a status lookup or a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The dossier code.
    pub dossier_code: String,
    /// The procedure.
    pub procedure_code: String,
    /// The back end's status string (`received`, `processing`, `done`,
    /// `cancelled`, …): shown as given, never interpreted (reference note
    /// §3.6: "don't hard-code meanings").
    pub status: String,
    /// Unix milliseconds of the last change.
    pub updated_at_unix_ms: u64,
}

/// An error body (`4xx`/`5xx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable machine code (`invalid_payload`, `unknown_procedure`,
    /// `idempotency_conflict`, `not_found`, `not_cancellable`, …).
    pub code: String,
    /// A message for staff.
    pub message: String,
}

/// A dossier code `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX` (Circular
/// 01/2018/TT-VPCP Art. 19): the receiving unit's code (Circular
/// 10/2016/TT-BTTTT), the receipt date and the day's 4-digit sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DossierCode(String);

/// Why a dossier code is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a dossier code V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX")]
pub struct DossierCodeError(pub String);

impl DossierCode {
    /// Checks the shape.
    pub fn parse(s: &str) -> Result<DossierCode, DossierCodeError> {
        let bad = || DossierCodeError(s.to_owned());
        let mut parts = s.split('-');
        let (Some(unit), Some(date), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let unit: Vec<&str> = unit.split('.').collect();
        let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
        let ok_unit = unit.len() == 4
            && digits(unit[0], 3)
            && digits(unit[1], 2)
            && digits(unit[2], 2)
            && unit[3].len() == 3
            && unit[3].bytes().all(|b| b.is_ascii_alphanumeric());
        let ok_date = digits(date, 6)
            && date
                .get(2..4)
                .and_then(|m| m.parse::<u8>().ok())
                .is_some_and(|m| (1..=12).contains(&m))
            && date
                .get(4..6)
                .and_then(|d| d.parse::<u8>().ok())
                .is_some_and(|d| (1..=31).contains(&d));
        if ok_unit && ok_date && digits(seq, 4) {
            Ok(DossierCode(s.to_owned()))
        } else {
            Err(bad())
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for DossierCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}
