//! The three MRZ fields BAC needs, taken from a TD1 or TD3 MRZ by position
//! (9303-5 and 9303-4), with their check digits verified. This parser is
//! the tool's own: emrtd takes the fields as strings, and dmrtd parses the
//! MRZ itself.

use anyhow::{bail, ensure};

/// Document number, date of birth and date of expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BacKey {
    /// The document number without filler (`<`).
    pub(crate) document_number: String,
    /// YYMMDD.
    pub(crate) date_of_birth: String,
    /// YYMMDD.
    pub(crate) date_of_expiry: String,
}

/// 9303-3 §4.9: weights 7, 3, 1; `<` is 0, A–Z are 10–35.
pub(crate) fn check_digit(field: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in field.chars().enumerate() {
        let value = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            '<' => 0,
            _ => return None,
        };
        sum += value * [7, 3, 1][i % 3];
    }
    u8::try_from(sum % 10).ok()
}

fn checked<'a>(what: &str, field: &'a str, check: char) -> anyhow::Result<&'a str> {
    let want = check_digit(field).map(|d| char::from(b'0' + d));
    ensure!(
        want == Some(check),
        "the MRZ's {what} fails its check digit"
    );
    Ok(field)
}

impl BacKey {
    /// Parses a TD1 (3 × 30) or TD3 (2 × 44) MRZ, lines joined or not.
    pub(crate) fn parse(mrz: &str) -> anyhow::Result<BacKey> {
        let joined: String = mrz.chars().filter(|c| !c.is_whitespace()).collect();
        ensure!(
            joined
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'),
            "the MRZ holds a character outside A-Z, 0-9 and <"
        );
        let at = |from: usize, to: usize| &joined[from..to];
        let char_at = |i: usize| joined.as_bytes()[i] as char;
        let (number, number_check, dob, dob_check, doe, doe_check) = match joined.len() {
            // TD1: line 1 positions 6-14 the number, 15 its check; line 2
            // 1-6 birth, 7 check, 9-14 expiry, 15 check.
            90 => (
                at(5, 14),
                char_at(14),
                at(30, 36),
                char_at(36),
                at(38, 44),
                char_at(44),
            ),
            // TD3: line 2 positions 1-9 the number, 10 check, 14-19 birth,
            // 20 check, 22-27 expiry, 28 check.
            88 => (
                at(44, 53),
                char_at(53),
                at(57, 63),
                char_at(63),
                at(65, 71),
                char_at(71),
            ),
            n => bail!("an MRZ of {n} characters is neither TD1 (90) nor TD3 (88)"),
        };
        Ok(BacKey {
            document_number: checked("document number", number, number_check)?
                .trim_end_matches('<')
                .to_owned(),
            date_of_birth: checked("date of birth", dob, dob_check)?.to_owned(),
            date_of_expiry: checked("date of expiry", doe, doe_check)?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 9303-4's specimen passport (the MRZ information of 9303-11 D.2).
    const TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C<3UTO6908061F9406236ZE184226B<<<<<14";
    /// 9303-5's specimen card.
    const TD1: &str = "I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<";

    #[test]
    fn the_specimen_passport_gives_the_appendix_d2_fields() {
        let key = BacKey::parse(TD3).unwrap();
        assert_eq!(key.document_number, "L898902C");
        assert_eq!(key.date_of_birth, "690806");
        assert_eq!(key.date_of_expiry, "940623");
    }

    #[test]
    fn the_specimen_card_parses_as_td1() {
        let key = BacKey::parse(TD1).unwrap();
        assert_eq!(key.document_number, "D23145890");
        assert_eq!(key.date_of_birth, "740812");
        assert_eq!(key.date_of_expiry, "120415");
    }

    #[test]
    fn a_wrong_check_digit_or_length_is_an_error_not_a_panic() {
        let bad = TD3.replace("6908061", "6908062");
        let e = BacKey::parse(&bad).unwrap_err().to_string();
        assert!(e.contains("date of birth"), "{e}");
        let e = BacKey::parse("P<UTO").unwrap_err().to_string();
        assert!(e.contains("neither TD1"), "{e}");
        let e = BacKey::parse(&TD3.replace('E', "é"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside"), "{e}");
    }
}
