//! The journey's shared types: what the session, the runtime, the UI and
//! the services pass between them (the access key, the holder summary,
//! faults, the verification reached, priorities, menu choices, ticket and
//! receipt summaries, staff reasons). Plain data; the session's state
//! machine is in the parent module, which re-exports them.

use serde::Serialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What the citizen gives the kiosk to open the chip (ICAO 9303-11 §4: the
/// BAC/PACE password). Personal data: zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub enum AccessKey {
    /// The text of the QR code printed on the card (unsigned; used only to
    /// derive keys and to pre-fill): the reader derives PACE-CAN and BAC
    /// candidates from it.
    CardQr(String),
    /// The 12-digit personal ID number and the date of birth (`YYMMDD`),
    /// typed by the citizen; the expiry is derived from the renewal ages.
    IdAndBirthDate {
        /// 12-digit personal ID number.
        id_number: String,
        /// Date of birth, `YYMMDD`.
        date_of_birth: String,
    },
    /// A 6-digit card access number (PACE-CAN).
    Can(String),
    /// The machine-readable zone as read by staff or an MRZ scanner.
    Mrz(String),
}

impl core::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AccessKey::CardQr(_) => "AccessKey::CardQr(..)",
            AccessKey::IdAndBirthDate { .. } => "AccessKey::IdAndBirthDate(..)",
            AccessKey::Can(_) => "AccessKey::Can(..)",
            AccessKey::Mrz(_) => "AccessKey::Mrz(..)",
        })
    }
}

/// What the session keeps of the card holder after a verified read: only
/// what the screens need. The full record (and the photo) stays with the
/// runtime's reader and is wiped on [`Action::WipePersonalData`].
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Holder {
    /// Full name with diacritics, as on the chip.
    pub full_name: String,
    /// 12-digit personal ID number.
    pub id_number: String,
    /// Date of birth as on the chip (`dd/mm/yyyy`).
    pub date_of_birth: String,
    /// Whether the face check applies: false only when the verification
    /// policy (`trust`) found the guardian path (a child under 6 whose
    /// signed SOD has no photo).
    pub has_face_photo: bool,
    /// A standing notice for the menu from the verification policy, e.g.
    /// [`Fault::DocumentExpired`]: the card is expired and only what the
    /// configuration allows an expired card works (a refused choice comes
    /// back to the menu with its reason).
    #[zeroize(skip)]
    pub menu_notice: Option<Fault>,
}

impl Holder {
    /// The ID number with all but the last 4 digits hidden, for screens and
    /// receipts.
    pub fn masked_id(&self) -> String {
        let n = self.id_number.chars().count();
        self.id_number
            .chars()
            .enumerate()
            .map(|(i, c)| if i + 4 < n { '•' } else { c })
            .collect()
    }
}

impl core::fmt::Debug for Holder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Holder")
            .field("has_face_photo", &self.has_face_photo)
            .field("menu_notice", &self.menu_notice)
            .finish_non_exhaustive()
    }
}

/// The small, stable set of problems the UI shows a screen for. The UI
/// translates them; no library's `Display` text ever reaches a citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// The card left the reader during the journey. "Place your card again."
    CardRemoved,
    /// The access key did not open the chip (too many times). "Ask staff."
    WrongAccessKey,
    /// The card is not a Vietnamese citizen ID card (no eMRTD application).
    NotAnIdCard,
    /// The chip does not answer properly (damaged card). "Ask staff."
    UnreadableCard,
    /// A security check of the chip failed (data altered, cloned chip).
    DocumentNotGenuine,
    /// The card has expired, or is an old CMND no longer valid.
    DocumentExpired,
    /// The card reader does not work. The kiosk needs staff.
    ReaderUnavailable,
    /// The camera does not work. The kiosk needs staff.
    CameraUnavailable,
    /// The printer cannot print (paper, cover, offline).
    PrinterUnavailable,
    /// The chosen service issues no numbers now (outside its opening
    /// hours). Shown on the menu: the citizen may choose another service.
    ServiceClosed,
    /// The chosen service has no numbers left today (its daily limit).
    /// Shown on the menu.
    ServiceSoldOut,
    /// Elderly priority needs a verified date of birth showing 60 or more.
    /// Shown on the menu: take a normal number, or ask staff.
    PriorityNotEligible,
    /// Something took too long.
    TimedOut,
    /// The request could not be queued (storage failure).
    RequestNotQueued,
    /// The kiosk is out of service (its cabinet was opened); staff have
    /// been called.
    OutOfService,
    /// The portal refused the request for good (a 4xx: unusable for it);
    /// staff see it as a failed outbox row.
    RequestRefused,
    /// An unexpected internal error; the details are in the log.
    Internal,
    /// The chip is not the card the access key belongs to (the QR or the
    /// typed ID of another card): "this QR belongs to another card". The
    /// citizen uses this card's own QR, or types this card's ID.
    KeyMismatch,
    /// The identity authority (C06) says the card is revoked (lost,
    /// stolen or replaced). The citizen applies for a new card.
    CardRevoked,
    /// The identity authority does not know the card. Staff check it at
    /// the counter.
    CardUnknownToAuthority,
    /// The identity authority's answer did not pass the kiosk's checks
    /// (signature, card, request, age). Staff are needed.
    AuthorityAnswerInvalid,
    /// The chip is intact but the identity authority could not confirm it
    /// in time (`unverified_offline`): a queue number is possible, an
    /// online request is not. Shown on the menu and as the refusal of an
    /// online request.
    UnverifiedOffline,
    /// The centre's queue cannot be reached and the kiosk knows no offline
    /// block to number from (it never reached its centre). Staff check the
    /// network; `kioskctl centre status`.
    CentreUnreachable,
    /// The centre refused the number (this kiosk not admitted, a service
    /// the centre does not know). Staff see the code in the log.
    CentreRefused,
}

/// Why a chip read ended without a verified holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadFailure {
    /// The chip refused the access key (`6300` / `6982` during BAC/PACE).
    /// The citizen may try another key.
    WrongAccessKey,
    /// Any other problem, ending the read.
    Fault(Fault),
}

/// The kiosk camera that looks for the card's QR on the access-key
/// screen, as the runtime reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QrCamera {
    /// The camera is on and looking for the card's QR code.
    Watching,
    /// The camera cannot be used (absent, failed): the citizen types the
    /// key on the keypad.
    Unavailable,
}

/// How a face-check attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaceOutcome {
    /// The live face matches the chip photo and passed liveness.
    Match,
    /// A face was seen but does not match the chip photo.
    NoMatch,
    /// The face did not pass the liveness checks.
    LivenessFailed,
    /// No usable face was seen before the attempt ended.
    NoFace,
    /// The camera failed.
    CameraFault,
    /// The chip photo cannot be used (undecodable, or no face in it): no
    /// retry can help, staff compare by eye.
    PhotoUnusable,
    /// This kiosk cannot check faces now (no face models, engine failure).
    Unavailable,
}

/// Live guidance on the face-capture screen, from the face check
/// (`face::check::Guidance` in whole numbers, so views compare exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FaceGuide {
    /// What to tell the citizen.
    pub hint: crate::face::check::Hint,
    /// The face box as per-mille of the frame: x, y, width, height.
    pub face_box: Option<[u16; 4]>,
    /// How far the attempt has come, 0–100.
    pub progress_percent: u8,
}

impl From<crate::face::check::Guidance> for FaceGuide {
    fn from(g: crate::face::check::Guidance) -> FaceGuide {
        let permille = |v: f32| (v.clamp(0.0, 1.0) * 1000.0).round() as u16;
        FaceGuide {
            hint: g.hint,
            face_box: g.face_box.map(|b| {
                [
                    permille(b.x),
                    permille(b.y),
                    permille(b.width),
                    permille(b.height),
                ]
            }),
            progress_percent: (g.progress.clamp(0.0, 1.0) * 100.0).round() as u8,
        }
    }
}

/// How the holder's identity was confirmed, carried with the ticket or
/// request so staff do not check papers again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Nobody identified: a walk-in taking a number.
    Anonymous,
    /// The chip was read and verified, the face matched it.
    FaceMatched,
    /// The chip was read; staff confirmed the person (face check failed,
    /// declined, or impossible).
    StaffConfirmed,
    /// The chip has no photo (child under 6); a guardian accompanies.
    Guardian,
}

/// Priority a citizen declares (or the firmware derives from the verified
/// date of birth) when taking a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// 60 years or older (from the verified date of birth).
    Elderly,
    /// A person with a disability (declared).
    Disabled,
    /// A pregnant woman (declared).
    Pregnant,
    /// A person with a small child (declared).
    SmallChild,
}

/// What the citizen picks on the service menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuChoice {
    /// Take a queue number for a service.
    TakeNumber {
        /// The service code from the catalogue.
        service: String,
        /// A declared priority, if any.
        priority: Option<Priority>,
    },
    /// File an online request for a procedure (needs an identified holder).
    SubmitRequest {
        /// The procedure code (mã TTHC) from the catalogue.
        procedure: String,
    },
    /// Look up a request's status by its receipt.
    CheckStatus,
    /// Done: go to the rating and goodbye.
    Finish,
}

/// A ticket the kiosk issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketInfo {
    /// The number shown and printed, e.g. `A012`.
    pub number: String,
    /// The service code.
    pub service: String,
    /// The priority applied, if any (shown with the number).
    pub priority: Option<Priority>,
    /// People waiting before this ticket.
    pub waiting: u32,
    /// Whether it came out of the printer. When not, the number is shown on
    /// screen and stays re-printable; staff have been alerted.
    pub printed: bool,
    /// Why it did not print, when it did not.
    pub print_problem: Option<PrintProblem>,
    /// The centre could not be reached: the number is from the kiosk's
    /// offline block (the screen and the paper say so; no identity went
    /// to the counter, which will ask for the card).
    pub offline: bool,
}

/// Why a ticket did not come out of the printer (what staff must fix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintProblem {
    /// No paper (DLE EOT 4: paper end).
    PaperOut,
    /// The cover or head lever is open.
    CoverOpen,
    /// The printer is off line (DLE EOT 1), or does not answer status.
    Offline,
    /// A cutter, mechanical or unrecoverable error is latched.
    PrinterError,
    /// The port or connection is gone (unplugged, network down).
    Disconnected,
}

/// A request the kiosk queued for the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestReceipt {
    /// The receipt code the citizen can look up.
    pub code: String,
    /// Whether the portal has already confirmed it (otherwise it waits in
    /// the outbox and the receipt says "queued, will be sent").
    pub delivered: bool,
}

/// What the citizen is rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingSubject {
    /// A ticket number.
    Ticket(String),
    /// A request receipt code.
    Request(String),
    /// The kiosk visit as such.
    Visit,
}

/// Why staff are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffReason {
    /// Face check failed the allowed number of times.
    FaceNotMatched,
    /// The citizen declined the face check.
    FaceCheckDeclined,
    /// The camera does not work.
    CameraFault,
    /// The chip photo cannot be compared with a face.
    ChipPhotoUnusable,
    /// The kiosk cannot check faces now.
    FaceCheckUnavailable,
    /// The chip holds no photo (a child under 6): staff check that a
    /// guardian is present before the child is served.
    GuardianPresent,
}

/// Why the session refused a staff action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRefusal {
    /// A staff decision came without staff authenticating on this step
    /// (e.g. the citizen touched it). Remedy: staff enter the staff PIN.
    NotAuthenticated,
    /// Staff authenticated to resume service while the cabinet is still
    /// open. Remedy: close and lock the cabinet, then enter the PIN again.
    CabinetOpen,
}

/// How a journey ended, for metrics (no personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The citizen finished (goodbye screen).
    Completed,
    /// The citizen cancelled.
    Cancelled,
    /// Nobody touched the screen in time.
    TimedOut,
    /// The card left the reader.
    CardRemoved,
    /// A fault ended it.
    Fault(Fault),
}
