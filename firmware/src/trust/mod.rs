//! The verification policy: is the person's card genuine, unaltered, not a
//! clone, the card the access key belongs to, and valid today — and what
//! may such a card do (issue 13, "Verified means verified").
//!
//! Two pure functions, no device, no clock (`today` and `now_unix` are
//! parameters):
//!
//! - [`assess`] turns what was read (the [`Document`], the passive
//!   authentication report or why there is none, the active and chip
//!   authentication checks, the identified records, the access key used)
//!   into a typed [`Trust`] with its reasons, never a bool;
//! - [`permits`] answers, for a [`Purpose`] (identify at all, a ticket, a
//!   priority ticket, an online request), whether a [`Policy`] lets this
//!   `Trust` have it, and if not the [`Refusal`] that says why.
//!
//! Fail closed (ICAO 9303-11 §5–6, 9303-12 §7; reference icao-cccd.md A.4):
//! every data group the signed SOD lists among those the kiosk uses (DG1,
//! DG2, DG13, DG14, DG15) must have been read and must match its hash — a
//! listed file the chip refused is a refusal of its own; DG3 and the other
//! EAC-protected groups are exempt because they are not in that set. A
//! listed DG14 that offers chip authentication requires it to pass; a
//! listed DG15 requires active authentication to pass ("not run" fails).
//! An unanchored chain is a genuineness level of its own, refused unless
//! the policy allows it. The guardian path (no face check) applies only
//! when the chip's own date of birth says the holder is under 6 today and
//! the SOD lists no DG2; an older holder's card without DG2 is refused.
//!
//! Nothing here carries personal data into what it serializes: the codes
//! of [`Refusal`] and the states of [`Trust`] go to the audit log and to
//! `kioskctl card read --json`.

use crate::cccd::date::Date;
use crate::cccd::{Identified, IdentifyError};
use crate::icao::lds::File;
use crate::icao::pa::{self, CertificateValidity, ChainCheck, Check, Report, Sod, Verdict};
use crate::icao::pki::{ProfileFault, Revocation};
use crate::icao::reader::Document;
use crate::session::{AccessKey, Fault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub mod online;
#[cfg(test)]
mod tests;

/// The data groups the kiosk uses; the SOD listing one of them makes it
/// required. DG3 (fingerprints) and other EAC-protected groups are not
/// here: a chip refusing them is normal.
pub const USED_GROUPS: [u8; 5] = [1, 2, 13, 14, 15];

/// Why a card, or a card for one purpose, is refused. One variant per
/// control; serialized as a snake_case `code` (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// The chip has no EF.SOD: nothing it holds is signed. Remedy: none at
    /// the kiosk; the card goes to the counter.
    #[error("the chip has no EF.SOD")]
    SodMissing,
    /// EF.SOD does not parse as a CMS SignedData over an LDS Security
    /// Object. Remedy: none; a damaged or forged card.
    #[error("EF.SOD is malformed")]
    SodMalformed,
    /// The SOD's hash algorithm is one this kiosk does not know, so no data
    /// group can be checked. Remedy: a firmware update.
    #[error("the SOD's hash algorithm is not supported")]
    HashAlgorithmUnsupported,
    /// A data group's hash differs from the one the SOD signs: the data was
    /// altered. Remedy: none; a forged card.
    #[error("DG{dg}'s hash differs from the SOD's")]
    DataGroupHashMismatch {
        /// The data group.
        dg: u8,
    },
    /// A data group was read that the SOD does not sign. Remedy: none; a
    /// forged card.
    #[error("DG{dg} is not signed by the SOD")]
    DataGroupNotInSod {
        /// The data group.
        dg: u8,
    },
    /// The SOD lists a data group the kiosk uses but it was not read (the
    /// chip refused it, `sw`, or EF.COM omitted it). Remedy: none; a chip
    /// that hides what its SOD signs is not accepted.
    #[error("DG{dg}, listed by the SOD, was not read")]
    ListedGroupNotRead {
        /// The data group.
        dg: u8,
        /// The chip's status word when it refused the file (hex).
        sw: Option<String>,
    },
    /// The SOD's messageDigest is not the hash of its LDS Security Object.
    /// Remedy: none; a forged SOD.
    #[error("the SOD's messageDigest does not match")]
    SodDigestMismatch,
    /// The Document Signer's signature over the SOD does not verify (or the
    /// SOD carries no DS certificate). Remedy: none; a forged SOD.
    #[error("the SOD's signature does not verify")]
    SignatureInvalid,
    /// The SOD's signature algorithm is one this kiosk does not verify.
    /// Remedy: a firmware update (issue 14 adds every 9303-12 algorithm).
    #[error("the SOD's signature algorithm is not supported")]
    SignatureUnsupported,
    /// The DS certificate does not chain to a CSCA of the trust list (a
    /// self-signed DS, or a CSCA not in the list). Remedy: configure the
    /// CSCA, or (lab only) a policy that allows unanchored cards.
    #[error("the Document Signer does not chain to a trusted CSCA")]
    ChainUnanchored,
    /// A CSCA of the issuer's name is trusted but did not sign the DS
    /// certificate. Remedy: none; a forged DS certificate.
    #[error("the trusted CSCA did not sign the Document Signer certificate")]
    ChainSignatureInvalid,
    /// The DS certificate's validity has ended. Remedy: none at the kiosk.
    #[error("the Document Signer certificate has expired")]
    DocumentSignerExpired,
    /// The DS certificate is not valid yet (or the kiosk's clock is
    /// wrong). Remedy: check the kiosk's clock.
    #[error("the Document Signer certificate is not valid yet")]
    DocumentSignerNotYetValid,
    /// The DS certificate was outside its validity when it signed the SOD.
    /// Remedy: none; a forged SOD.
    #[error("the Document Signer certificate was not valid when it signed")]
    DocumentSignerNotValidWhenSigned,
    /// The anchoring CSCA certificate is not valid today, or was not when
    /// the SOD was signed. Remedy: update the trust list.
    #[error("the CSCA certificate is not valid today or was not when it signed")]
    CscaNotValid,
    /// A CRL of the Document Signer's CSCA lists its serial number: its key
    /// is withdrawn (ICAO 9303-12 §7.1.4). Remedy: none; the card goes to
    /// the counter.
    #[error("the Document Signer certificate is revoked")]
    DocumentSignerRevoked,
    /// The newest CRL of the Document Signer's CSCA is past its
    /// nextUpdate: revocation cannot be ruled out, so the card is refused
    /// (fail closed). Remedy: staff import the current CRL (`kioskctl
    /// trust import`); `kioskctl doctor` reports it.
    #[error("the CSCA's revocation list has expired")]
    CrlExpired,
    /// The store requires a CRL for every CSCA and the Document Signer's
    /// CSCA has none. Remedy: staff import its CRL (`kioskctl trust
    /// import`).
    #[error("the CSCA has no revocation list")]
    CrlMissing,
    /// The Document Signer certificate's keyUsage lacks digitalSignature.
    /// Remedy: none; a non-conformant or forged DS.
    #[error("the Document Signer certificate may not sign documents")]
    DocumentSignerKeyUsage,
    /// The Document Signer certificate is a CA (basicConstraints cA).
    /// Remedy: none; a non-conformant or forged DS.
    #[error("the Document Signer certificate is a CA certificate")]
    DocumentSignerIsCa,
    /// The anchoring CSCA's keyUsage lacks keyCertSign. Remedy: fix the
    /// trust list (`kioskctl trust check`).
    #[error("the CSCA certificate may not sign certificates")]
    CscaKeyUsage,
    /// The anchoring CSCA is not a CA (basicConstraints). Remedy: fix the
    /// trust list (`kioskctl trust check`).
    #[error("the CSCA certificate is not a CA certificate")]
    CscaNotCa,
    /// Active authentication failed: the chip does not hold DG15's private
    /// key (a clone), or refused to sign. Remedy: none.
    #[error("active authentication failed")]
    AaFailed,
    /// The SOD lists DG15 but active authentication could not be run (an
    /// algorithm the kiosk lacks, no answer). Remedy: a firmware update;
    /// the card is not accepted meanwhile.
    #[error("active authentication was not run")]
    AaNotRun,
    /// Chip authentication failed: the chip does not hold DG14's private
    /// key (a clone). Remedy: none.
    #[error("chip authentication failed")]
    CaFailed,
    /// The signed DG14 offers chip authentication the kiosk cannot run.
    /// Remedy: a firmware update; the card is not accepted meanwhile.
    #[error("chip authentication is offered but not supported")]
    CaUnsupported,
    /// The chip's ID differs from the ID of the QR or typed key that opened
    /// it: "this QR belongs to another card". Remedy: use this card's own
    /// QR, or type this card's ID.
    #[error("the access key belongs to another card")]
    KeyMismatch,
    /// DG1 or DG13 is missing or does not parse. Remedy: none; the card
    /// goes to the counter.
    #[error("the chip's records do not identify anyone")]
    RecordsUnreadable,
    /// DG1 and DG13 name different ID numbers. Remedy: none; altered data.
    #[error("DG1 and DG13 disagree")]
    RecordsInconsistent,
    /// The chip's date of birth does not parse, and no photo is on the
    /// chip: the guardian path cannot be decided. Remedy: the counter.
    #[error("the chip's date of birth does not parse")]
    BirthDateUnreadable,
    /// The SOD lists no DG2 (no photo) but the holder is 6 or older: only a
    /// child's card may lack the photo. Remedy: none; the counter.
    #[error("a card of a holder aged 6 or more has no photo")]
    AdultWithoutPhoto,
    /// The card's validity has ended. Remedy: renew the card; the
    /// configuration says what an expired card may still do.
    #[error("the card has expired")]
    DocumentExpired,
    /// The card's date of issue is after today. Remedy: check the kiosk's
    /// clock; otherwise altered data.
    #[error("the card is not valid yet")]
    DocumentNotYetValid,
    /// The card's expiry date does not parse. Remedy: the counter.
    #[error("the card's validity cannot be read")]
    ValidityUnknown,
    /// The identity authority (C06) answered, signed, that the chip's
    /// files are not genuine. Remedy: none; a forged card.
    #[error("the identity authority says the card is not genuine")]
    OnlineNotGenuine,
    /// The identity authority answered that the card is revoked (lost,
    /// stolen, replaced). Remedy: the citizen applies for a new card.
    #[error("the identity authority says the card is revoked")]
    CardRevoked,
    /// The identity authority does not know the card's issuer. Remedy:
    /// none at the kiosk; the counter checks the card.
    #[error("the identity authority does not know the card")]
    CardUnknownToAuthority,
    /// The authority's answer is not a well-formed signed verdict.
    /// Remedy: staff check the C06 endpoint's configuration.
    #[error("the authority's verdict is malformed")]
    VerdictMalformed,
    /// The verdict's signature does not verify with the pinned key.
    /// Remedy: staff check the pinned key; otherwise an attack.
    #[error("the authority's verdict is not signed by the pinned key")]
    VerdictSignatureInvalid,
    /// The verdict judges another EF.SOD. Remedy: none; an attack or a
    /// faulty endpoint.
    #[error("the authority's verdict is for another card")]
    VerdictForAnotherSod,
    /// The verdict answers another request (a replayed answer). Remedy:
    /// none; an attack or a faulty endpoint.
    #[error("the authority's verdict answers another request")]
    VerdictReplayed,
    /// The verdict is older than the configured maximum age. Remedy:
    /// check the kiosk's clock; otherwise a replay.
    #[error("the authority's verdict is too old")]
    VerdictStale,
    /// The verdict is dated in the future beyond the allowed skew.
    /// Remedy: check the kiosk's clock.
    #[error("the authority's verdict is dated in the future")]
    VerdictFromTheFuture,
    /// The purpose requires an online verdict (or an anchored chain), and
    /// the card is only `unverified_offline`: the authority did not answer
    /// in time. Remedy: try again later, or the counter.
    #[error("the identity authority could not confirm the card")]
    OnlineCheckUnavailable,
}

impl Refusal {
    /// The snake_case code (as serialized).
    pub fn code(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str().map(str::to_owned)))
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// The screen the citizen sees for this refusal.
    pub fn fault(&self) -> Fault {
        match self {
            Refusal::KeyMismatch => Fault::KeyMismatch,
            Refusal::DocumentExpired => Fault::DocumentExpired,
            Refusal::RecordsUnreadable => Fault::UnreadableCard,
            // The kiosk's own trust store is out of date, not the card:
            // "something went wrong, ask staff" (staff see the code).
            Refusal::CrlExpired | Refusal::CrlMissing => Fault::Internal,
            Refusal::CardRevoked => Fault::CardRevoked,
            Refusal::CardUnknownToAuthority => Fault::CardUnknownToAuthority,
            Refusal::VerdictMalformed
            | Refusal::VerdictSignatureInvalid
            | Refusal::VerdictForAnotherSod
            | Refusal::VerdictReplayed
            | Refusal::VerdictStale
            | Refusal::VerdictFromTheFuture => Fault::AuthorityAnswerInvalid,
            Refusal::OnlineCheckUnavailable => Fault::UnverifiedOffline,
            _ => Fault::DocumentNotGenuine,
        }
    }
}

/// Where the chip's genuineness comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum Genuineness {
    /// Passive authentication passed and the DS chains to this CSCA of the
    /// trust list (its subject).
    Anchored {
        /// The CSCA's subject.
        csca: String,
    },
    /// Passive authentication is intact but unanchored, and a signed
    /// online (C06) verdict for this SOD and request said genuine
    /// ([`apply_online`]).
    OnlineVerified {
        /// The verdict's id.
        verdict: String,
    },
    /// Passive authentication is intact but unanchored, the online check
    /// is configured, and it gave no answer within its deadline (or failed
    /// at transport level): never silent, shown and audited.
    UnverifiedOffline {
        /// The DS certificate's issuer.
        issuer: String,
        /// Why there was no answer ([`online::NoAnswer::code`]).
        cause: String,
    },
    /// The data and the DS signature are intact but the DS does not chain
    /// to a trusted CSCA (the issuer named by the DS certificate).
    Unanchored {
        /// The DS certificate's issuer.
        issuer: String,
    },
    /// Passive authentication failed (or could not be run).
    Failed {
        /// The first reason.
        reason: Refusal,
    },
}

/// The lowest genuineness a purpose accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MinimumGenuineness {
    /// Only an anchored chain (the default).
    #[default]
    Anchored,
    /// Anchored, or an online verdict (issue 14).
    OnlineVerified,
    /// Anchored, an online verdict, or intact but unverified because the
    /// configured online check did not answer (issue 14).
    UnverifiedOffline,
    /// Anything intact, even unanchored (lab use).
    Unanchored,
}

impl Genuineness {
    /// Whether this genuineness is at least `minimum`. The levels are
    /// [`MinimumGenuineness`]'s order (anchored > online_verified >
    /// unverified_offline > unanchored); a failed check meets none.
    fn meets(&self, minimum: MinimumGenuineness) -> Result<(), Refusal> {
        let (level, below) = match self {
            Genuineness::Failed { reason } => return Err(reason.clone()),
            Genuineness::Anchored { .. } => {
                (MinimumGenuineness::Anchored, Refusal::ChainUnanchored)
            }
            Genuineness::OnlineVerified { .. } => {
                (MinimumGenuineness::OnlineVerified, Refusal::ChainUnanchored)
            }
            Genuineness::UnverifiedOffline { .. } => (
                MinimumGenuineness::UnverifiedOffline,
                Refusal::OnlineCheckUnavailable,
            ),
            Genuineness::Unanchored { .. } => {
                (MinimumGenuineness::Unanchored, Refusal::ChainUnanchored)
            }
        };
        if level <= minimum { Ok(()) } else { Err(below) }
    }
}

impl Genuineness {
    /// Where genuineness came from, for `kioskctl card read --json` and
    /// the audit log: `anchored` (the CSCA's subject), `online_verified`
    /// (the verdict's id), `unverified_offline`, or `none`.
    pub fn source(&self) -> serde_json::Value {
        match self {
            Genuineness::Anchored { csca } => {
                serde_json::json!({ "source": "anchored", "csca": csca })
            }
            Genuineness::OnlineVerified { verdict } => {
                serde_json::json!({ "source": "online_verdict", "verdict_id": verdict })
            }
            Genuineness::UnverifiedOffline { cause, .. } => {
                serde_json::json!({ "source": "unverified_offline", "cause": cause })
            }
            Genuineness::Unanchored { .. } | Genuineness::Failed { .. } => {
                serde_json::json!({ "source": "none" })
            }
        }
    }
}

/// Whether the online check should be asked about this card: passive
/// authentication is intact but unanchored, and nothing else refuses the
/// card (a card refused anyway is not sent anywhere: data minimisation).
/// An anchored chain never needs it.
pub fn needs_online(trust: &Trust) -> bool {
    matches!(trust.genuineness, Genuineness::Unanchored { .. }) && !trust.refused()
}

/// Applies the online check's outcome to an unanchored `trust` (anything
/// else is left as it is): a checked `genuine` verdict makes it
/// [`Genuineness::OnlineVerified`]; `not_genuine`, `revoked`,
/// `unknown_card` and an invalid verdict refuse the card with their own
/// [`Refusal`]; no answer makes it [`Genuineness::UnverifiedOffline`].
pub fn apply_online(trust: &mut Trust, outcome: &online::Outcome) {
    use online::{Outcome, VerdictError, VerdictStatus};
    let Genuineness::Unanchored { issuer } = &trust.genuineness else {
        return;
    };
    let refusal = match outcome {
        Outcome::Verdict(v) => match v.status {
            VerdictStatus::Genuine => {
                trust.genuineness = Genuineness::OnlineVerified {
                    verdict: v.verdict_id.clone(),
                };
                return;
            }
            VerdictStatus::NotGenuine => Refusal::OnlineNotGenuine,
            VerdictStatus::Revoked => Refusal::CardRevoked,
            VerdictStatus::UnknownCard => Refusal::CardUnknownToAuthority,
        },
        Outcome::Invalid(e) => match e {
            VerdictError::Malformed => Refusal::VerdictMalformed,
            VerdictError::SignatureInvalid => Refusal::VerdictSignatureInvalid,
            VerdictError::ForAnotherSod => Refusal::VerdictForAnotherSod,
            VerdictError::Replayed => Refusal::VerdictReplayed,
            VerdictError::Stale => Refusal::VerdictStale,
            VerdictError::FromTheFuture => Refusal::VerdictFromTheFuture,
        },
        Outcome::NoAnswer(cause) => {
            trust.genuineness = Genuineness::UnverifiedOffline {
                issuer: issuer.clone(),
                cause: cause.code().to_owned(),
            };
            return;
        }
    };
    trust.genuineness = Genuineness::Failed {
        reason: refusal.clone(),
    };
    trust.refusals.insert(0, refusal);
    trust.guardian_path = false;
}

/// A clone check (active or chip authentication).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CloneCheck {
    /// The chip proved it holds the private key.
    Passed,
    /// The signed SOD (resp. the signed DG14) requires it, and it did not
    /// pass.
    RequiredButFailed {
        /// Why.
        reason: Refusal,
    },
    /// The signed SOD does not list DG15 (resp. the signed DG14 offers no
    /// chip authentication).
    NotOffered,
}

/// Whether the chip is the card the access key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// The chip's ID is the key's ID (QR ID, typed ID, CAN, document number).
    Bound,
    /// They differ: "this QR belongs to another card".
    Mismatch,
    /// The records could not be read, so nothing was compared.
    NotChecked,
}

/// The card's validity today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// Valid until a date (not serialized: it follows the birth date).
    Valid,
    /// "Không thời hạn" (MRZ `991231`): no expiry.
    NoExpiry,
    /// The expiry date has passed.
    Expired,
    /// The date of issue is after today.
    NotYetValid,
    /// No readable expiry date.
    Unknown,
}

/// The verdict on one read card. Serializes to codes only: the holder's
/// age is kept for the session and never serialized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trust {
    /// Where genuineness comes from.
    pub genuineness: Genuineness,
    /// Active authentication (DG15).
    pub active_authentication: CloneCheck,
    /// Chip authentication (DG14).
    pub chip_authentication: CloneCheck,
    /// Chip ↔ access key.
    pub binding: Binding,
    /// Validity today.
    pub validity: Validity,
    /// The holder's age in whole years today, from the chip's date of birth.
    #[serde(skip)]
    pub age: Option<u16>,
    /// Whether the guardian path applies (under 6, no DG2 in the SOD).
    pub guardian_path: bool,
    /// Every unconditional refusal, in the order the controls ran (empty:
    /// the card itself is acceptable; [`permits`] then applies the policy).
    pub refusals: Vec<Refusal>,
}

impl Trust {
    /// Whether the card is refused whatever the purpose.
    pub fn refused(&self) -> bool {
        !self.refusals.is_empty()
    }
}

/// Passive authentication as run on the read, or why it could not be.
#[derive(Debug, Clone)]
pub enum Passive {
    /// The chip has no EF.SOD.
    NoSod,
    /// EF.SOD does not parse.
    Malformed,
    /// The SOD was checked.
    Checked {
        /// The data groups the signed SOD lists.
        listed: BTreeSet<u8>,
        /// The report.
        report: Box<Report>,
    },
}

/// Runs passive authentication on `document` against `trust_list` at
/// `now_unix` (seconds).
pub fn passive(document: &Document, trust_list: &pa::TrustList, now_unix: u64) -> Passive {
    let Some(bytes) = document.files.get(&File::Sod) else {
        return Passive::NoSod;
    };
    match pa::parse_sod(bytes) {
        Err(_) => Passive::Malformed,
        Ok(sod) => Passive::Checked {
            listed: listed_groups(&sod),
            report: Box::new(pa::verify(&sod, &document.files, trust_list, now_unix)),
        },
    }
}

/// The data groups a parsed SOD lists.
pub fn listed_groups(sod: &Sod) -> BTreeSet<u8> {
    sod.lds
        .data_group_hash_values
        .iter()
        .map(|h| h.data_group_number)
        .collect()
}

/// What [`assess`] judges.
#[derive(Debug)]
pub struct Evidence<'a> {
    /// What was read.
    pub document: &'a Document,
    /// Passive authentication (see [`passive`]).
    pub passive: &'a Passive,
    /// Active authentication (`icao::aa::check_document`).
    pub active: &'a Check,
    /// Chip authentication (`icao::ca::check_document`).
    pub chip: &'a Check,
    /// The holder's records (`cccd::identify`).
    pub identified: Result<&'a Identified, &'a IdentifyError>,
    /// The access key that opened the chip.
    pub key: &'a AccessKey,
    /// Today, in Vietnam.
    pub today: Date,
}

/// The guardian path's age bound: a card of a child under 6 has no photo
/// (Law on Identification 2023, Art. 23).
pub const GUARDIAN_AGE: u16 = 6;

/// Judges one read. Pure; never panics, whatever the input.
pub fn assess(e: &Evidence<'_>) -> Trust {
    let mut refusals: Vec<Refusal> = Vec::new();
    let empty = BTreeSet::new();
    // Genuineness and data-group integrity.
    let (genuineness, listed) = match e.passive {
        Passive::NoSod => (
            Genuineness::Failed {
                reason: Refusal::SodMissing,
            },
            &empty,
        ),
        Passive::Malformed => (
            Genuineness::Failed {
                reason: Refusal::SodMalformed,
            },
            &empty,
        ),
        Passive::Checked { listed, report } => {
            let failures = report_failures(e.document, listed, report);
            let genuineness = match (failures.first(), &report.chain) {
                (Some(first), _) => Genuineness::Failed {
                    reason: first.clone(),
                },
                (None, ChainCheck::Anchored(csca)) if report.verdict == Verdict::Passed => {
                    Genuineness::Anchored { csca: csca.clone() }
                }
                (None, ChainCheck::NotAnchored(issuer)) => Genuineness::Unanchored {
                    issuer: issuer.clone(),
                },
                // The verdict disagrees with the checks: fail closed.
                (None, _) => Genuineness::Failed {
                    reason: Refusal::SignatureInvalid,
                },
            };
            (genuineness, listed)
        }
    };
    if let Genuineness::Failed { reason } = &genuineness {
        refusals.push(reason.clone());
    }
    if let Passive::Checked { report, .. } = e.passive {
        for r in report_failures(e.document, listed, report)
            .into_iter()
            .skip(1)
        {
            refusals.push(r);
        }
    }
    // Every listed group the kiosk uses must have been read.
    for dg in USED_GROUPS {
        if listed.contains(&dg) && !e.document.files.contains_key(&File::Dg(dg)) {
            let sw = e
                .document
                .unavailable
                .iter()
                .find(|(f, _)| *f == File::Dg(dg))
                .map(|(_, sw)| sw.to_string());
            refusals.push(Refusal::ListedGroupNotRead { dg, sw });
        }
    }
    // Clone checks.
    let active_authentication = if listed.contains(&15) {
        match e.active {
            Check::Passed => CloneCheck::Passed,
            Check::Failed(_) => CloneCheck::RequiredButFailed {
                reason: Refusal::AaFailed,
            },
            Check::NotRun(_) => CloneCheck::RequiredButFailed {
                reason: Refusal::AaNotRun,
            },
        }
    } else {
        CloneCheck::NotOffered
    };
    let dg14_offers_ca = listed.contains(&14)
        && e.document
            .files
            .get(&File::Dg(14))
            .is_some_and(|dg14| offers_chip_authentication(dg14));
    let chip_authentication = match (e.chip, dg14_offers_ca) {
        (Check::Passed, _) => CloneCheck::Passed,
        (Check::Failed(_), _) => CloneCheck::RequiredButFailed {
            reason: Refusal::CaFailed,
        },
        (Check::NotRun(_), true) => CloneCheck::RequiredButFailed {
            reason: Refusal::CaUnsupported,
        },
        (Check::NotRun(_), false) => CloneCheck::NotOffered,
    };
    for check in [&active_authentication, &chip_authentication] {
        if let CloneCheck::RequiredButFailed { reason } = check {
            refusals.push(reason.clone());
        }
    }
    // The records: binding, validity, age.
    let (binding, validity, age) = match e.identified {
        Ok(identified) => {
            let binding = if bound(e.key, identified) {
                Binding::Bound
            } else {
                refusals.push(Refusal::KeyMismatch);
                Binding::Mismatch
            };
            let age = identified
                .citizen
                .birth_date()
                .map(|birth| birth.age_on(e.today));
            (binding, validity(identified, e.today), age)
        }
        Err(IdentifyError::Inconsistent) => {
            refusals.push(Refusal::RecordsInconsistent);
            (Binding::NotChecked, Validity::Unknown, None)
        }
        Err(_) => {
            refusals.push(Refusal::RecordsUnreadable);
            (Binding::NotChecked, Validity::Unknown, None)
        }
    };
    // The guardian path: only a child under 6 whose signed SOD has no DG2.
    let mut guardian_path = false;
    if matches!(e.passive, Passive::Checked { .. }) && !listed.contains(&2) {
        match age {
            Some(a) if a < GUARDIAN_AGE => guardian_path = true,
            Some(_) => refusals.push(Refusal::AdultWithoutPhoto),
            None if e.identified.is_ok() => refusals.push(Refusal::BirthDateUnreadable),
            None => {}
        }
    }
    dedup(&mut refusals);
    Trust {
        genuineness,
        active_authentication,
        chip_authentication,
        binding,
        validity,
        age,
        guardian_path: guardian_path && refusals.is_empty(),
        refusals,
    }
}

fn dedup(refusals: &mut Vec<Refusal>) {
    let mut seen: Vec<Refusal> = Vec::new();
    refusals.retain(|r| {
        if seen.contains(r) {
            false
        } else {
            seen.push(r.clone());
            true
        }
    });
}

/// The passive-authentication failures, data groups first.
fn report_failures(document: &Document, listed: &BTreeSet<u8>, report: &Report) -> Vec<Refusal> {
    let mut out = Vec::new();
    if report.hash_algorithm.is_none() {
        out.push(Refusal::HashAlgorithmUnsupported);
    }
    for file in document.files.keys() {
        let File::Dg(dg) = file else { continue };
        let dg = *dg;
        if !listed.contains(&dg) {
            out.push(Refusal::DataGroupNotInSod { dg });
            continue;
        }
        match report.data_groups.get(&dg) {
            Some(Check::Passed) => {}
            Some(Check::NotRun(_)) => out.push(Refusal::HashAlgorithmUnsupported),
            Some(Check::Failed(_)) | None => out.push(Refusal::DataGroupHashMismatch { dg }),
        }
    }
    match &report.message_digest {
        Check::Passed => {}
        Check::Failed(_) => out.push(Refusal::SodDigestMismatch),
        Check::NotRun(_) => out.push(Refusal::HashAlgorithmUnsupported),
    }
    match &report.signature {
        Check::Passed => {}
        Check::Failed(_) => out.push(Refusal::SignatureInvalid),
        Check::NotRun(_) => out.push(Refusal::SignatureUnsupported),
    }
    if let ChainCheck::Failed(_) = report.chain {
        out.push(Refusal::ChainSignatureInvalid);
    }
    for fault in &report.certificate_profile {
        out.push(match fault {
            ProfileFault::DocumentSignerKeyUsage => Refusal::DocumentSignerKeyUsage,
            ProfileFault::DocumentSignerIsCa => Refusal::DocumentSignerIsCa,
            ProfileFault::CscaKeyUsage => Refusal::CscaKeyUsage,
            ProfileFault::CscaNotCa => Refusal::CscaNotCa,
        });
    }
    match report.revocation {
        Revocation::Revoked { .. } => out.push(Refusal::DocumentSignerRevoked),
        Revocation::CrlExpired { .. } => out.push(Refusal::CrlExpired),
        Revocation::CrlMissing => out.push(Refusal::CrlMissing),
        Revocation::NotRevoked | Revocation::NotRequired | Revocation::NotChecked => {}
    }
    match report.document_signer_validity {
        CertificateValidity::Valid => {}
        CertificateValidity::Expired => out.push(Refusal::DocumentSignerExpired),
        CertificateValidity::NotYetValid => out.push(Refusal::DocumentSignerNotYetValid),
        CertificateValidity::NotValidWhenSigned => {
            out.push(Refusal::DocumentSignerNotValidWhenSigned)
        }
        CertificateValidity::NoCertificate => out.push(Refusal::SignatureInvalid),
    }
    if report
        .csca_validity
        .is_some_and(|v| v != CertificateValidity::Valid)
    {
        out.push(Refusal::CscaNotValid);
    }
    dedup(&mut out);
    out
}

/// Whether DG14 names any chip-authentication protocol or key
/// (`id-PK` 0.4.0.127.0.7.2.2.1, `id-CA` 0.4.0.127.0.7.2.2.3), whether or
/// not this reader runs it: offered means required.
pub fn offers_chip_authentication(dg14: &[u8]) -> bool {
    const PK: [u8; 8] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01];
    const CA: [u8; 8] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03];
    dg14.windows(8).any(|w| w == PK || w == CA)
}

/// Whether the chip's records belong to the key that opened it.
fn bound(key: &AccessKey, identified: &Identified) -> bool {
    let chip_id = identified.citizen.id_number.as_str();
    match key {
        AccessKey::CardQr(text) => {
            crate::cccd::qr::CardQr::parse(text).is_ok_and(|qr| qr.id.as_str() == chip_id)
        }
        AccessKey::IdAndBirthDate {
            id_number,
            date_of_birth,
        } => id_number == chip_id && *date_of_birth == identified.mrz.date_of_birth,
        // The CCCD's CAN is the last 6 digits of the ID number.
        AccessKey::Can(can) => chip_id.len() == 12 && chip_id.get(6..) == Some(can.as_str()),
        AccessKey::Mrz(text) => crate::icao::mrz::Mrz::parse(text)
            .is_ok_and(|m| m.document_number == identified.mrz.document_number),
    }
}

/// The card's validity on `today`: DG13's dates, else DG1's expiry.
fn validity(identified: &Identified, today: Date) -> Validity {
    let citizen = &identified.citizen;
    if citizen.issue_date().is_some_and(|issued| issued > today) {
        return Validity::NotYetValid;
    }
    let stated = citizen.date_of_expiry.trim();
    let expiry = if stated.to_lowercase().contains("không thời hạn") {
        return Validity::NoExpiry;
    } else if let Some(d) = Date::parse_dmy_slashed(stated) {
        d
    } else if identified.mrz.has_no_expiry() {
        return Validity::NoExpiry;
    } else {
        match mrz_expiry(&identified.mrz.date_of_expiry) {
            Some(d) => d,
            None => return Validity::Unknown,
        }
    };
    if today > expiry {
        Validity::Expired
    } else {
        Validity::Valid
    }
}

/// An MRZ expiry `YYMMDD` (CCCDs are issued since 2016: 20YY).
fn mrz_expiry(yymmdd: &str) -> Option<Date> {
    let yy: u16 = yymmdd.get(0..2)?.parse().ok()?;
    let mm: u8 = yymmdd.get(2..4)?.parse().ok()?;
    let dd: u8 = yymmdd.get(4..6)?.parse().ok()?;
    Date::new(2000 + yy, mm, dd)
}

/// What the card is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose<'a> {
    /// To be accepted at all (the confirmation screen and the menu).
    Identify,
    /// A queue number for `service`.
    Ticket {
        /// The service code.
        service: &'a str,
    },
    /// A priority queue number for `service`.
    PriorityTicket {
        /// The service code.
        service: &'a str,
    },
    /// An online request for `procedure`.
    OnlineRequest {
        /// The procedure code.
        procedure: &'a str,
    },
}

/// What one purpose requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// The lowest genuineness accepted (default: anchored).
    #[serde(default)]
    pub genuineness: MinimumGenuineness,
}

/// What an expired card may still do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiredPolicy {
    /// Service codes an expired card may take a number (plain or priority)
    /// for; default `["K"]`, the card-renewal service.
    #[serde(default = "renewal_services")]
    pub ticket_services: Vec<String>,
    /// Procedures an expired card may file online; default none.
    #[serde(default)]
    pub procedures: Vec<String>,
}

fn renewal_services() -> Vec<String> {
    vec!["K".to_owned()]
}

impl Default for ExpiredPolicy {
    fn default() -> Self {
        ExpiredPolicy {
            ticket_services: renewal_services(),
            procedures: Vec::new(),
        }
    }
}

/// The verification policy: `[trust]` in the board configuration. The
/// default: a ticket and a priority ticket accept `unverified_offline`
/// (an intact chip the configured online check could not confirm in
/// time), an online request requires `online_verified` (or anchored);
/// an unanchored chain with no online check is refused for everything;
/// passed clone checks and binding always; an expired card only a
/// renewal ticket. Ordering: anchored > online_verified >
/// unverified_offline > unanchored (docs/security.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// A plain ticket.
    #[serde(default = "Requirement::offline_default")]
    pub ticket: Requirement,
    /// A priority ticket.
    #[serde(default = "Requirement::offline_default")]
    pub priority_ticket: Requirement,
    /// An online request.
    #[serde(default = "Requirement::online_default")]
    pub online_request: Requirement,
    /// What an expired card may do.
    #[serde(default)]
    pub expired: ExpiredPolicy,
}

impl Requirement {
    /// The default of a ticket and a priority ticket.
    pub fn offline_default() -> Requirement {
        Requirement {
            genuineness: MinimumGenuineness::UnverifiedOffline,
        }
    }

    /// The default of an online request.
    pub fn online_default() -> Requirement {
        Requirement {
            genuineness: MinimumGenuineness::OnlineVerified,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            ticket: Requirement::offline_default(),
            priority_ticket: Requirement::offline_default(),
            online_request: Requirement::online_default(),
            expired: ExpiredPolicy::default(),
        }
    }
}

impl Policy {
    /// Whether any purpose accepts an unanchored chain.
    pub fn allows_unanchored(&self) -> bool {
        [&self.ticket, &self.priority_ticket, &self.online_request]
            .iter()
            .any(|r| r.genuineness == MinimumGenuineness::Unanchored)
    }
}

/// Whether `policy` lets `trust` have `purpose`; the refusal says why not.
/// Clone checks, binding and a readable validity are never negotiable.
pub fn permits(policy: &Policy, trust: &Trust, purpose: Purpose<'_>) -> Result<(), Refusal> {
    if let Some(first) = trust.refusals.first() {
        return Err(first.clone());
    }
    for check in [&trust.active_authentication, &trust.chip_authentication] {
        if let CloneCheck::RequiredButFailed { reason } = check {
            return Err(reason.clone());
        }
    }
    if trust.binding != Binding::Bound {
        return Err(Refusal::KeyMismatch);
    }
    let minimum = match purpose {
        // Accepted at all when something may be asked for.
        Purpose::Identify => [
            policy.ticket.genuineness,
            policy.priority_ticket.genuineness,
            policy.online_request.genuineness,
        ]
        .into_iter()
        .max()
        .unwrap_or_default(),
        Purpose::Ticket { .. } => policy.ticket.genuineness,
        Purpose::PriorityTicket { .. } => policy.priority_ticket.genuineness,
        Purpose::OnlineRequest { .. } => policy.online_request.genuineness,
    };
    trust.genuineness.meets(minimum)?;
    match trust.validity {
        Validity::Valid | Validity::NoExpiry => Ok(()),
        Validity::NotYetValid => Err(Refusal::DocumentNotYetValid),
        Validity::Unknown => Err(Refusal::ValidityUnknown),
        Validity::Expired => {
            let e = &policy.expired;
            let allowed = match purpose {
                Purpose::Identify => !e.ticket_services.is_empty() || !e.procedures.is_empty(),
                Purpose::Ticket { service } | Purpose::PriorityTicket { service } => {
                    e.ticket_services.iter().any(|s| s == service)
                }
                Purpose::OnlineRequest { procedure } => e.procedures.iter().any(|p| p == procedure),
            };
            if allowed {
                Ok(())
            } else {
                Err(Refusal::DocumentExpired)
            }
        }
    }
}

/// Everything at once, as the runtime and `kioskctl card read` do it:
/// passive authentication, the clone checks, identification, then
/// [`assess`]. Returns the records only when the card is not refused.
pub fn evaluate(
    document: &Document,
    key: &AccessKey,
    trust_list: &pa::TrustList,
    now_unix: u64,
    today: Date,
) -> (Trust, Option<Identified>) {
    let passive = passive(document, trust_list, now_unix);
    let active = crate::icao::aa::check_document(document);
    let chip = crate::icao::ca::check_document(document);
    let identified = crate::cccd::identify(document);
    let trust = assess(&Evidence {
        document,
        passive: &passive,
        active: &active,
        chip: &chip,
        identified: identified.as_ref(),
        key,
        today,
    });
    let records = if trust.refused() {
        None
    } else {
        identified.ok()
    };
    (trust, records)
}
