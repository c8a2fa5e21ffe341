//! The access keys a reader tries on a chip (ICAO 9303-11 §4: the MRZ for
//! BAC and PACE, the card access number for PACE). Where they come from —
//! a scanned card QR, a typed ID number and birth date — is the issuing
//! country's business: the card-specific module builds them.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// One access key to try on the chip. Personal data: zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub enum KeyCandidate {
    /// PACE with the card access number (6 digits; on the CCCD the last 6
    /// digits of the ID number, no CAN being printed on the card).
    Can(String),
    /// PACE with the MRZ password when EF.CardAccess offers PACE, BAC
    /// otherwise (or when the chip refuses PACE), from the MRZ fields.
    Mrz {
        /// The document number (on the CCCD the ID's digits 4–12).
        document_number: String,
        /// Date of birth, `YYMMDD`.
        date_of_birth: String,
        /// Date of expiry, `YYMMDD` (`991231`: none).
        date_of_expiry: String,
    },
}

impl core::fmt::Debug for KeyCandidate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KeyCandidate::Can(_) => f.write_str("KeyCandidate::Can(..)"),
            KeyCandidate::Mrz { .. } => f.write_str("KeyCandidate::Mrz(..)"),
        }
    }
}

impl KeyCandidate {
    /// The MRZ key of a parsed MRZ.
    pub fn from_mrz(mrz: &super::mrz::Mrz) -> KeyCandidate {
        KeyCandidate::Mrz {
            document_number: mrz.document_number.clone(),
            date_of_birth: mrz.date_of_birth.clone(),
            date_of_expiry: mrz.date_of_expiry.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_candidates_do_not_print_their_secrets() {
        let k = KeyCandidate::Can("000001".into());
        assert_eq!(format!("{k:?}"), "KeyCandidate::Can(..)");
        let k = KeyCandidate::Mrz {
            document_number: "090000001".into(),
            date_of_birth: "900115".into(),
            date_of_expiry: "300115".into(),
        };
        assert_eq!(format!("{k:?}"), "KeyCandidate::Mrz(..)");
    }
}
