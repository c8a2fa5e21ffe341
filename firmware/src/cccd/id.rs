//! The 12-digit personal identification number (số định danh cá nhân).
//!
//! Decree 137/2015 Art. 13 (and Circular 59/2021 Art. 4, expired 1 Jul 2024)
//! gave the digits a structure: 1–3 the province (or country) of birth
//! registration, 4 century and sex, 5–6 the year of birth, 7–12 random. The
//! Law on Identification 2023 Art. 12 says only "12 digits", so the
//! structure is a hint for cross-checks, never a validation rule
//! (reference icao-cccd.md §B.8).

use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A problem with an ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not exactly 12 characters. Remedy: the citizen re-types it; a card
    /// always carries 12 digits.
    #[error("an ID number has 12 digits, not {0}")]
    Length(usize),
    /// A character that is not a digit. Remedy: re-type it.
    #[error("an ID number has only digits")]
    NotDigits,
}

/// Sex as encoded in digit 4 (and the MRZ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Nam.
    Male,
    /// Nữ.
    Female,
}

/// A 12-digit personal ID number. Personal data: zeroized on drop and never
/// printed in full by `Debug`.
#[derive(Clone, PartialEq, Eq, Hash, Zeroize, ZeroizeOnDrop)]
pub struct IdNumber([u8; 12]);

impl IdNumber {
    /// Parses 12 ASCII digits (surrounding white space ignored).
    pub fn parse(s: &str) -> Result<IdNumber, IdError> {
        let s = s.trim();
        let n = s.chars().count();
        if n != 12 {
            return Err(IdError::Length(n));
        }
        let mut digits = [0u8; 12];
        for (d, c) in digits.iter_mut().zip(s.bytes()) {
            if !c.is_ascii_digit() {
                return Err(IdError::NotDigits);
            }
            *d = c;
        }
        Ok(IdNumber(digits))
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The last 9 digits: the document number in the MRZ (TD1 line 1,
    /// positions 6–14) and the BAC key.
    pub fn document_number(&self) -> &str {
        self.as_str().get(3..).unwrap_or("")
    }

    /// The last 6 digits: the card access number PACE accepts.
    pub fn can(&self) -> &str {
        self.as_str().get(6..).unwrap_or("")
    }

    /// The province (or country) code of birth registration, digits 1–3.
    pub fn province_code(&self) -> &str {
        self.as_str().get(..3).unwrap_or("")
    }

    /// Century and sex from digit 4 and the year from digits 5–6, per
    /// Decree 137/2015 (0/1: 1900s, 2/3: 2000s, 4/5: 2100s, …; even male).
    /// A hint for cross-checks only.
    pub fn birth_hint(&self) -> (u16, Sex) {
        let d = |i: usize| u16::from(self.0[i] - b'0');
        let code = d(3);
        let century = 1900 + 100 * (code / 2);
        let sex = if code % 2 == 0 {
            Sex::Male
        } else {
            Sex::Female
        };
        (century + d(4) * 10 + d(5), sex)
    }

    /// All but the last 4 digits hidden, for screens and receipts.
    pub fn masked(&self) -> String {
        format!("••••••••{}", self.as_str().get(8..).unwrap_or(""))
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_12_digit_number_gives_document_number_and_can() {
        let id = IdNumber::parse(" 003090000001 ").unwrap();
        assert_eq!(id.as_str(), "003090000001");
        assert_eq!(id.document_number(), "090000001");
        assert_eq!(id.can(), "000001");
        assert_eq!(id.province_code(), "003");
        assert_eq!(id.masked(), "••••••••0001");
    }

    #[test]
    fn digit_4_encodes_century_and_sex() {
        assert_eq!(
            IdNumber::parse("003090000001").unwrap().birth_hint(),
            (1990, Sex::Male)
        );
        assert_eq!(
            IdNumber::parse("003155000002").unwrap().birth_hint(),
            (1955, Sex::Female)
        );
        assert_eq!(
            IdNumber::parse("001305000003").unwrap().birth_hint(),
            (2005, Sex::Female)
        );
        assert_eq!(
            IdNumber::parse("001220000004").unwrap().birth_hint(),
            (2020, Sex::Male)
        );
    }

    #[test]
    fn wrong_lengths_and_letters_are_refused() {
        assert_eq!(IdNumber::parse("12345678901"), Err(IdError::Length(11)));
        assert_eq!(IdNumber::parse("0030900000012"), Err(IdError::Length(13)));
        assert_eq!(IdNumber::parse("00309000000A"), Err(IdError::NotDigits));
        assert_eq!(
            IdNumber::parse("００３０９０００００１２"),
            Err(IdError::NotDigits)
        );
    }

    #[test]
    fn debug_output_masks_the_number() {
        let id = IdNumber::parse("003090000001").unwrap();
        assert_eq!(format!("{id:?}"), "IdNumber(••••••••0001)");
    }
}
