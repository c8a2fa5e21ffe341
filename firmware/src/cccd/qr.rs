//! The QR code printed on the card (front of the 2021 CCCD, back of the 2024
//! thẻ căn cước). Reference icao-cccd.md §B.4.
//!
//! UTF-8 text, fields separated by `|`:
//!
//! | index | field | format |
//! | --- | --- | --- |
//! | 0 | personal ID number | 12 digits |
//! | 1 | old CMND number | 9 digits, may be empty |
//! | 2 | full name | with diacritics |
//! | 3 | date of birth | `ddMMyyyy` |
//! | 4 | sex | `Nam` / `Nữ` |
//! | 5 | permanent residence | text |
//! | 6 | date of issue | `ddMMyyyy` |
//! | 7+ | (2024 card) residence, cancelled ID, parents; order unknown | kept raw |
//!
//! The QR is **not signed**: it serves to build the chip's access key and to
//! pre-fill, never as proof of identity. It holds no expiry date.

use super::date::Date;
use super::id::{IdError, IdNumber, Sex};
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why a QR text is not a card QR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Fewer than 7 `|`-separated fields. Remedy: scan the QR on the card
    /// itself (not a VNeID or bank QR).
    #[error("a card QR has at least 7 fields, this has {0}")]
    TooFewFields(usize),
    /// Field 0 is not a 12-digit ID number.
    #[error("field 0 is not an ID number: {0}")]
    Id(#[from] IdError),
    /// Field 1 is neither empty nor a 9-digit CMND number.
    #[error("field 1 is not an old 9-digit ID number")]
    OldId,
    /// Field 3 is not a `ddMMyyyy` date.
    #[error("field 3 is not a date of birth (ddMMyyyy)")]
    BirthDate,
    /// Field 4 is not `Nam` or `Nữ`.
    #[error("field 4 is not a sex (Nam/Nữ)")]
    Sex,
    /// Field 6 is not a `ddMMyyyy` date.
    #[error("field 6 is not a date of issue (ddMMyyyy)")]
    IssueDate,
    /// The issue date is before the date of birth.
    #[error("the date of issue is before the date of birth")]
    IssuedBeforeBirth,
}

/// Which card generation a QR comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QrLayout {
    /// 2021 CCCD: 7 fields.
    Cccd2021,
    /// 2024 thẻ căn cước: 10 or more fields (8 or 9 are accepted as this
    /// too; the extra fields' order is unknown).
    TheCanCuoc2024,
}

/// A parsed card QR. Personal data: zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct CardQr {
    /// Field 0.
    pub id: IdNumber,
    /// Field 1, when present.
    pub old_id: Option<String>,
    /// Field 2, NFC-normalised.
    pub full_name: String,
    /// Field 3.
    #[zeroize(skip)]
    pub date_of_birth: Date,
    /// Field 4.
    #[zeroize(skip)]
    pub sex: Sex,
    /// Field 5, NFC-normalised.
    pub residence: String,
    /// Field 6.
    #[zeroize(skip)]
    pub date_of_issue: Date,
    /// Fields 7 and later, as found.
    pub extra: Vec<String>,
    /// The card generation.
    #[zeroize(skip)]
    pub layout: QrLayout,
}

impl core::fmt::Debug for CardQr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CardQr")
            .field("id", &self.id)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl CardQr {
    /// Parses the text of a card QR.
    pub fn parse(text: &str) -> Result<CardQr, QrError> {
        let fields: Vec<&str> = text.trim().split('|').map(str::trim).collect();
        if fields.len() < 7 {
            return Err(QrError::TooFewFields(fields.len()));
        }
        let id = IdNumber::parse(fields[0])?;
        let old_id = match fields[1] {
            "" => None,
            s if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) => Some(s.to_owned()),
            _ => return Err(QrError::OldId),
        };
        let date_of_birth = Date::parse_dmy_compact(fields[3]).ok_or(QrError::BirthDate)?;
        let sex = match fields[4].nfc().collect::<String>().to_lowercase().as_str() {
            "nam" => Sex::Male,
            "nữ" => Sex::Female,
            _ => return Err(QrError::Sex),
        };
        let date_of_issue = Date::parse_dmy_compact(fields[6]).ok_or(QrError::IssueDate)?;
        if date_of_issue < date_of_birth {
            return Err(QrError::IssuedBeforeBirth);
        }
        Ok(CardQr {
            id,
            old_id,
            full_name: fields[2].nfc().collect(),
            date_of_birth,
            sex,
            residence: fields[5].nfc().collect(),
            date_of_issue,
            extra: fields[7..].iter().map(|s| (*s).to_owned()).collect(),
            layout: if fields.len() == 7 {
                QrLayout::Cccd2021
            } else {
                QrLayout::TheCanCuoc2024
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QR_2021: &str =
        "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021";

    #[test]
    fn the_2021_qr_parses_into_its_seven_fields() {
        let qr = CardQr::parse(QR_2021).unwrap();
        assert_eq!(qr.id.as_str(), "003090000001");
        assert_eq!(qr.old_id, None);
        assert_eq!(qr.full_name, "Nguyễn Văn Mẫu");
        assert_eq!(qr.date_of_birth, Date::new(1990, 1, 15).unwrap());
        assert_eq!(qr.sex, Sex::Male);
        assert_eq!(qr.residence, "Số 1 Đường Mẫu, Phường Mẫu, Hà Nội");
        assert_eq!(qr.date_of_issue, Date::new(2021, 6, 1).unwrap());
        assert_eq!(qr.layout, QrLayout::Cccd2021);
    }

    #[test]
    fn the_2024_qr_with_more_fields_parses_and_keeps_the_extras() {
        let text = "003155000002|155000002|Trần Thị Mẫu|20031955|Nữ|Thôn Mẫu, Xã Mẫu|10082024|Thôn Mẫu, Xã Mẫu||Trần Văn Cha|Lê Thị Mẹ";
        let qr = CardQr::parse(text).unwrap();
        assert_eq!(qr.old_id.as_deref(), Some("155000002"));
        assert_eq!(qr.sex, Sex::Female);
        assert_eq!(qr.layout, QrLayout::TheCanCuoc2024);
        assert_eq!(qr.extra.len(), 4);
        assert_eq!(qr.extra[2], "Trần Văn Cha");
    }

    #[test]
    fn decomposed_text_is_normalised_and_sex_matched() {
        // "Nữ" with a combining tilde (NFD), as some scanners deliver.
        let text = QR_2021
            .replace("|Nam|", "|Nu\u{31B}\u{303}|")
            .replace("Mẫu", "Ma\u{302}\u{303}u");
        let qr = CardQr::parse(&text).unwrap();
        assert_eq!(qr.sex, Sex::Female);
        assert_eq!(qr.full_name, "Nguyễn Văn Mẫu");
    }

    #[test]
    fn other_qrs_are_refused_with_the_reason() {
        assert_eq!(
            CardQr::parse("https://vneid.gov.vn/x"),
            Err(QrError::TooFewFields(1))
        );
        assert!(matches!(
            CardQr::parse(&QR_2021.replace("003090000001", "0030900001")),
            Err(QrError::Id(IdError::Length(10)))
        ));
        assert_eq!(
            CardQr::parse(&QR_2021.replace("||", "|12|")),
            Err(QrError::OldId)
        );
        assert_eq!(
            CardQr::parse(&QR_2021.replace("15011990", "32011990")),
            Err(QrError::BirthDate)
        );
        assert_eq!(
            CardQr::parse(&QR_2021.replace("|Nam|", "|M|")),
            Err(QrError::Sex)
        );
        assert_eq!(
            CardQr::parse(&QR_2021.replace("01062021", "2021-06-01")),
            Err(QrError::IssueDate)
        );
        assert_eq!(
            CardQr::parse(&QR_2021.replace("01062021", "01061980")),
            Err(QrError::IssuedBeforeBirth)
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = CardQr::parse(&s);
        }

        #[test]
        fn generated_qrs_round_trip(
            id in "[0-9]{12}",
            day in 1u8..=28, month in 1u8..=12, year in 1930u16..=2020,
            name in "[A-Za-zÀ-ỹ ]{1,40}",
            extra in proptest::collection::vec("[^|]{0,20}", 0..5),
        ) {
            let dob = format!("{day:02}{month:02}{year}");
            let mut text = format!("{id}||{name}|{dob}|Nam|Số 1|01062021");
            for e in &extra {
                text.push('|');
                text.push_str(e);
            }
            let qr = CardQr::parse(&text).unwrap();
            proptest::prop_assert_eq!(qr.id.as_str(), id.as_str());
            proptest::prop_assert_eq!(qr.extra.len(), extra.len());
        }
    }

    #[test]
    fn debug_output_has_no_name_or_address() {
        let text = format!("{:?}", CardQr::parse(QR_2021).unwrap());
        assert!(
            !text.contains("Nguyễn") && !text.contains("Đường") && !text.contains("003090000001"),
            "{text}"
        );
    }
}
