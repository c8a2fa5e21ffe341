//! Machine-readable zones: TD1 (3 × 30, the CCCD) and TD3 (2 × 44,
//! passports), ICAO 9303-5 §4.2 and 9303-4 §4.2, with every check digit
//! verified (9303-3 §4.9: weights 7, 3, 1; `<` = 0, `A`–`Z` = 10–35).
//!
//! Dates stay as the MRZ writes them (`YYMMDD`): the CCCD writes `991231`
//! for "no expiry", which generic libraries misread as 1999 (reference
//! icao-cccd.md §B.2); [`Mrz::has_no_expiry`] says so explicitly.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why a text is not a valid MRZ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// Not 3 × 30 or 2 × 44 characters.
    #[error("an MRZ is 3 lines of 30 (TD1) or 2 lines of 44 (TD3) characters")]
    Shape,
    /// A character outside `A`–`Z`, `0`–`9` and `<`.
    #[error("the MRZ has a character outside A-Z, 0-9 and <")]
    Character,
    /// A check digit does not match. Remedy: re-scan or re-type; the field
    /// named is wrong.
    #[error("the check digit of the {0} does not match")]
    CheckDigit(&'static str),
    /// A field that must be a date is not `YYMMDD` digits.
    #[error("the {0} is not a YYMMDD date")]
    Date(&'static str),
}

/// The layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MrzFormat {
    /// ID cards: 3 lines of 30.
    Td1,
    /// Passports: 2 lines of 44.
    Td3,
}

/// A parsed MRZ. Personal data: zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Mrz {
    /// TD1 or TD3.
    #[zeroize(skip)]
    pub format: MrzFormat,
    /// Document code, e.g. `ID`, `P`.
    pub document_code: String,
    /// Issuing state, e.g. `VNM`.
    pub issuer: String,
    /// Document number without fillers (long TD1 numbers joined).
    pub document_number: String,
    /// The document number's check digit.
    pub document_number_check: u8,
    /// Date of birth, `YYMMDD`.
    pub date_of_birth: String,
    /// `M`, `F` or `<`.
    pub sex: char,
    /// Date of expiry, `YYMMDD` (`991231`: none, on the CCCD).
    pub date_of_expiry: String,
    /// Nationality.
    pub nationality: String,
    /// Optional data (TD1 line 1 after the number; TD3 the personal number).
    pub optional_data: String,
    /// TD1 line 2 optional data.
    pub optional_data_2: String,
    /// Surname(s), fillers as spaces.
    pub primary_identifier: String,
    /// Given name(s), fillers as spaces.
    pub secondary_identifier: String,
}

impl core::fmt::Debug for Mrz {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mrz")
            .field("format", &self.format)
            .field("document_code", &self.document_code)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The check digit of `field` (9303-3 §4.9), or `None` for a character
/// outside the MRZ alphabet.
pub fn check_digit(field: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in field.bytes().enumerate() {
        sum += value(c)? * [7, 3, 1][i % 3];
    }
    u8::try_from(sum % 10).ok()
}

fn check(field: &str, digit: u8, name: &'static str) -> Result<(), MrzError> {
    let want = check_digit(field).ok_or(MrzError::Character)?;
    // A check digit position filled with `<` counts as 0 (9303-3 §4.9).
    let got = if digit == b'<' {
        0
    } else {
        digit.wrapping_sub(b'0')
    };
    if got == want {
        Ok(())
    } else {
        Err(MrzError::CheckDigit(name))
    }
}

fn date(field: &str, name: &'static str) -> Result<String, MrzError> {
    if field.len() == 6 && field.bytes().all(|b| b.is_ascii_digit()) {
        Ok(field.to_owned())
    } else {
        Err(MrzError::Date(name))
    }
}

fn unfill(s: &str) -> String {
    s.trim_end_matches('<').to_owned()
}

fn names(s: &str) -> (String, String) {
    let s = s.trim_end_matches('<');
    let (primary, secondary) = s.split_once("<<").unwrap_or((s, ""));
    (
        primary.replace('<', " "),
        secondary.trim_end_matches('<').replace('<', " "),
    )
}

fn at(s: &str, range: core::ops::Range<usize>) -> &str {
    s.get(range).unwrap_or("")
}

fn byte(s: &str, i: usize) -> u8 {
    s.as_bytes().get(i).copied().unwrap_or(b'?')
}

impl Mrz {
    /// Parses an MRZ given as lines (any line breaks and surrounding
    /// spaces are ignored) or as one string, as DG1 holds it.
    pub fn parse(text: &str) -> Result<Mrz, MrzError> {
        let joined: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if !joined.bytes().all(|b| value(b).is_some()) {
            return Err(MrzError::Character);
        }
        match joined.len() {
            90 => Self::td1(&joined),
            88 => Self::td3(&joined),
            _ => Err(MrzError::Shape),
        }
    }

    fn td1(s: &str) -> Result<Mrz, MrzError> {
        let (l1, l2, l3) = (at(s, 0..30), at(s, 30..60), at(s, 60..90));
        let mut number_field = at(l1, 5..14).to_owned();
        let mut number_check = byte(l1, 14);
        let mut optional = at(l1, 15..30).to_owned();
        if number_check == b'<' && !at(l1, 15..16).starts_with('<') {
            // Long document number: it continues in the optional data up to
            // its check digit, which is followed by `<` (9303-5 §4.2.2 note j).
            let rest = at(l1, 15..30);
            let end = rest.find('<').unwrap_or(rest.len());
            if end == 0 {
                return Err(MrzError::CheckDigit("document number"));
            }
            number_field.push_str(at(rest, 0..end - 1));
            number_check = byte(rest, end - 1);
            optional = at(rest, end..rest.len()).to_owned();
        }
        check(&number_field, number_check, "document number")?;
        check(at(l2, 0..6), byte(l2, 6), "date of birth")?;
        check(at(l2, 8..14), byte(l2, 14), "date of expiry")?;
        let composite = format!(
            "{}{}{}{}",
            at(l1, 5..30),
            at(l2, 0..7),
            at(l2, 8..15),
            at(l2, 18..29)
        );
        check(&composite, byte(l2, 29), "composite")?;
        let (primary_identifier, secondary_identifier) = names(l3);
        Ok(Mrz {
            format: MrzFormat::Td1,
            document_code: unfill(at(l1, 0..2)),
            issuer: unfill(at(l1, 2..5)),
            document_number: unfill(&number_field),
            document_number_check: number_check - b'0',
            date_of_birth: date(at(l2, 0..6), "date of birth")?,
            sex: char::from(byte(l2, 7)),
            date_of_expiry: date(at(l2, 8..14), "date of expiry")?,
            nationality: unfill(at(l2, 15..18)),
            optional_data: unfill(&optional),
            optional_data_2: unfill(at(l2, 18..29)),
            primary_identifier,
            secondary_identifier,
        })
    }

    fn td3(s: &str) -> Result<Mrz, MrzError> {
        let (l1, l2) = (at(s, 0..44), at(s, 44..88));
        check(at(l2, 0..9), byte(l2, 9), "document number")?;
        check(at(l2, 13..19), byte(l2, 19), "date of birth")?;
        check(at(l2, 21..27), byte(l2, 27), "date of expiry")?;
        let personal = at(l2, 28..42);
        if !(personal.bytes().all(|b| b == b'<') && byte(l2, 42) == b'<') {
            check(personal, byte(l2, 42), "personal number")?;
        }
        let composite = format!("{}{}{}", at(l2, 0..10), at(l2, 13..20), at(l2, 21..43));
        check(&composite, byte(l2, 43), "composite")?;
        let (primary_identifier, secondary_identifier) = names(at(l1, 5..44));
        Ok(Mrz {
            format: MrzFormat::Td3,
            document_code: unfill(at(l1, 0..2)),
            issuer: unfill(at(l1, 2..5)),
            document_number: unfill(at(l2, 0..9)),
            document_number_check: byte(l2, 9).wrapping_sub(b'0'),
            date_of_birth: date(at(l2, 13..19), "date of birth")?,
            sex: char::from(byte(l2, 20)),
            date_of_expiry: date(at(l2, 21..27), "date of expiry")?,
            nationality: unfill(at(l2, 10..13)),
            optional_data: unfill(personal),
            optional_data_2: String::new(),
            primary_identifier,
            secondary_identifier,
        })
    }

    /// Whether the card never expires (the CCCD's `991231`).
    pub fn has_no_expiry(&self) -> bool {
        self.date_of_expiry == "991231"
    }

    /// The BAC "MRZ information" (9303-11 §4.3.1): document number with
    /// its check digit, date of birth and date of expiry with theirs.
    pub fn mrz_information(&self) -> String {
        let number = if self.document_number.len() < 9 {
            format!("{:<<9}", self.document_number)
        } else {
            self.document_number.clone()
        };
        format!(
            "{number}{}{}{}{}{}",
            self.document_number_check,
            self.date_of_birth,
            check_digit(&self.date_of_birth).unwrap_or(0),
            self.date_of_expiry,
            check_digit(&self.date_of_expiry).unwrap_or(0)
        )
    }
}

/// The BAC "MRZ information" from the three fields (document number as
/// printed, `YYMMDD` dates), computing the check digits.
pub fn mrz_information(
    document_number: &str,
    date_of_birth: &str,
    date_of_expiry: &str,
) -> Result<String, MrzError> {
    let number = format!("{document_number:<<9}");
    let dob = date(date_of_birth, "date of birth")?;
    let exp = date(date_of_expiry, "date of expiry")?;
    let n = check_digit(&number).ok_or(MrzError::Character)?;
    let d = check_digit(&dob).ok_or(MrzError::Character)?;
    let e = check_digit(&exp).ok_or(MrzError::Character)?;
    Ok(format!("{number}{n}{dob}{d}{exp}{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CCCD: &str = "IDVNM0900000018003090000001<<1\n9001158M3001156VNM<<<<<<<<<<<0\nNGUYEN<<VAN<MAU<<<<<<<<<<<<<<<";
    const CCCD_NO_EXPIRY: &str = "IDVNM1550000029003155000002<<2\n5503207F9912315VNM<<<<<<<<<<<2\nTRAN<<THI<MAU<<<<<<<<<<<<<<<<<";
    // ICAO 9303-5 Appendix A example (TD1, Utopia).
    const ICAO_TD1: &str = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<";
    // ICAO 9303-4 Appendix A example (TD3).
    const ICAO_TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn the_synthetic_vietnamese_id_mrz_parses_with_every_check_digit() {
        let m = Mrz::parse(CCCD).unwrap();
        assert_eq!(m.format, MrzFormat::Td1);
        assert_eq!(m.document_code, "ID");
        assert_eq!(m.issuer, "VNM");
        assert_eq!(m.document_number, "090000001");
        assert_eq!(m.optional_data, "003090000001<<1".trim_end_matches('<'));
        assert_eq!(m.date_of_birth, "900115");
        assert_eq!(m.sex, 'M');
        assert_eq!(m.date_of_expiry, "300115");
        assert_eq!(m.primary_identifier, "NGUYEN");
        assert_eq!(m.secondary_identifier, "VAN MAU");
        assert!(!m.has_no_expiry());
        // The CCCD BAC vector (shared/reference/vectors, [cccd_bac]).
        assert_eq!(m.mrz_information(), "090000001890011583001156");
    }

    #[test]
    fn the_vietnamese_id_without_expiry_says_so_instead_of_expiring_in_1999() {
        let m = Mrz::parse(CCCD_NO_EXPIRY).unwrap();
        assert_eq!(m.date_of_expiry, "991231");
        assert!(m.has_no_expiry());
        assert_eq!(m.sex, 'F');
    }

    #[test]
    fn the_icao_specimens_parse() {
        let td1 = Mrz::parse(ICAO_TD1).unwrap();
        assert_eq!(td1.document_number, "D23145890");
        assert_eq!(td1.document_code, "I");
        let td3 = Mrz::parse(ICAO_TD3).unwrap();
        assert_eq!(td3.document_number, "L898902C3");
        assert_eq!(td3.optional_data, "ZE184226B");
        assert_eq!(td3.secondary_identifier, "ANNA MARIA");
    }

    #[test]
    fn the_bac_mrz_information_of_appendix_d_is_rebuilt_from_fields() {
        // 9303-11 D.2: L898902C<, 690806, 940623 -> L898902C<369080619406236.
        assert_eq!(
            mrz_information("L898902C", "690806", "940623").unwrap(),
            "L898902C<369080619406236"
        );
        assert_eq!(
            mrz_information("090000001", "900115", "300115").unwrap(),
            "090000001890011583001156"
        );
        assert_eq!(
            mrz_information("X", "9001", "300115"),
            Err(MrzError::Date("date of birth"))
        );
    }

    #[test]
    fn a_wrong_digit_names_the_field_it_breaks() {
        let bad_dob = CCCD.replace("9001158M", "9001168M");
        assert_eq!(
            Mrz::parse(&bad_dob),
            Err(MrzError::CheckDigit("date of birth"))
        );
        let bad_number = CCCD.replace("0900000018", "0900000019");
        assert_eq!(
            Mrz::parse(&bad_number),
            Err(MrzError::CheckDigit("document number"))
        );
        let bad_composite = CCCD.replace("VNM<<<<<<<<<<<0", "VNM<<<<<<<<<<<1");
        assert_eq!(
            Mrz::parse(&bad_composite),
            Err(MrzError::CheckDigit("composite"))
        );
        assert_eq!(Mrz::parse("IDVNM"), Err(MrzError::Shape));
        assert_eq!(
            Mrz::parse(&CCCD.replace('N', "n")),
            Err(MrzError::Character)
        );
    }

    #[test]
    fn a_long_td1_document_number_continues_in_the_optional_data() {
        // 9303-5 §4.2.2: a 12-character number; the first 9 in the number
        // field, `<` in its check position, the rest and the check digit in
        // the optional data.
        let digit = check_digit("D23145890734").unwrap();
        let l1 = format!("I<UTOD23145890<734{digit}<<<<<<<<<<<");
        let l2_body = "3407127M9507122UTO<<<<<<<<<<<";
        let composite = format!(
            "{}{}{}{}",
            &l1[5..30],
            &l2_body[0..7],
            &l2_body[8..15],
            &l2_body[18..29]
        );
        let l2 = format!("{l2_body}{}", check_digit(&composite).unwrap());
        let m = Mrz::parse(&format!("{l1}{l2}STEVENSON<<PETER<JOHN<<<<<<<<<")).unwrap();
        assert_eq!(m.document_number, "D23145890734");
        assert_eq!(m.document_number_check, digit);
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in "[A-Z0-9<\n]{0,100}") {
            let _ = Mrz::parse(&s);
        }

        #[test]
        fn generated_td1_zones_round_trip(
            number in "[A-Z0-9]{9}",
            dob in "[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])",
            exp in "[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])",
            sex in "[MF<]",
            surname in "[A-Z]{1,12}",
        ) {
            let l1 = format!("IDVNM{number}{}{:<<15}", check_digit(&number).unwrap(), "");
            let l2_body = format!("{dob}{}{sex}{exp}{}VNM{:<<11}", check_digit(&dob).unwrap(), check_digit(&exp).unwrap(), "");
            let composite = format!("{}{}{}{}", &l1[5..30], &l2_body[0..7], &l2_body[8..15], &l2_body[18..29]);
            let l2 = format!("{l2_body}{}", check_digit(&composite).unwrap());
            let l3 = format!("{surname:<<30}");
            let m = Mrz::parse(&format!("{l1}\n{l2}\n{l3}")).unwrap();
            prop_assert_eq!(&m.document_number, &number);
            prop_assert_eq!(&m.date_of_birth, &dob);
            prop_assert_eq!(&m.date_of_expiry, &exp);
            prop_assert_eq!(m.mrz_information(), mrz_information(&number, &dob, &exp).unwrap());
        }
    }
}
