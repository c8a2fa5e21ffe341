//! DG13 of the CCCD: the Vietnamese personal data (reference icao-cccd.md
//! §B.6).
//!
//! ```text
//! 6D { 30 { 02 01 01 (version), 06 06 28D316010008 (OID), 31 { 30 { 02 01 n, value }… } } }
//! ```
//!
//! Fields are found by their INTEGER, never by offset; values may be
//! UTF8String or PrintableString anywhere; lengths may be long-form (the
//! residence often exceeds 127 bytes); fields 13–16 are optional and their
//! nesting varies between card batches (parents in one or two SEQUENCEs,
//! an empty spouse SEQUENCE).

use super::date::Date;
use super::id::{IdNumber, Sex};
use crate::apdu::tlv::{self, Tlv, TlvError};
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The OID 1.0.10646.1.0.8 (UTF-8) that opens DG13.
pub const DG13_OID: [u8; 6] = [0x28, 0xD3, 0x16, 0x01, 0x00, 0x08];

/// Why DG13 is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Dg13Error {
    /// The TLV structure is broken.
    #[error("DG13: {0}")]
    Tlv(#[from] TlvError),
    /// Field 1, the ID number, is missing or not 12 digits.
    #[error("DG13 has no valid 12-digit ID number")]
    IdNumber,
    /// Field 2, the full name, is missing.
    #[error("DG13 has no full name")]
    Name,
}

/// The citizen as the chip states it. Personal data: zeroized on drop and
/// never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Default, Zeroize, ZeroizeOnDrop)]
pub struct Citizen {
    /// 1: personal ID number.
    pub id_number: String,
    /// 2: full name, NFC, with diacritics.
    pub full_name: String,
    /// 3: date of birth as written (`dd/mm/yyyy`).
    pub date_of_birth: String,
    /// 4: sex as written (`Nam` / `Nữ`).
    pub sex: String,
    /// 5: nationality.
    pub nationality: String,
    /// 6: ethnicity.
    pub ethnicity: String,
    /// 7: religion.
    pub religion: String,
    /// 8: place of origin (quê quán).
    pub place_of_origin: String,
    /// 9: place of residence.
    pub place_of_residence: String,
    /// 10: identifying marks.
    pub identifying_marks: String,
    /// 11: date of issue (`dd/mm/yyyy`).
    pub date_of_issue: String,
    /// 12: date of expiry as written (may be "Không thời hạn").
    pub date_of_expiry: String,
    /// 13: father's full name.
    pub father_name: Option<String>,
    /// 13: mother's full name.
    pub mother_name: Option<String>,
    /// 14: spouse's full name.
    pub spouse_name: Option<String>,
    /// 15: the old 9-digit CMND number.
    pub old_id_number: Option<String>,
    /// 16: a 16-character value of unconfirmed meaning, kept as found.
    pub field_16: Option<String>,
}

impl core::fmt::Debug for Citizen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Citizen(..)")
    }
}

impl Citizen {
    /// The ID number, checked.
    pub fn id(&self) -> Option<IdNumber> {
        IdNumber::parse(&self.id_number).ok()
    }

    /// The date of birth, when it is a valid `dd/mm/yyyy` date.
    pub fn birth_date(&self) -> Option<Date> {
        Date::parse_dmy_slashed(&self.date_of_birth)
    }

    /// The date of issue, when valid.
    pub fn issue_date(&self) -> Option<Date> {
        Date::parse_dmy_slashed(&self.date_of_issue)
    }

    /// Sex, when written as `Nam` or `Nữ`.
    pub fn sex(&self) -> Option<Sex> {
        match self.sex.to_lowercase().as_str() {
            "nam" => Some(Sex::Male),
            "nữ" => Some(Sex::Female),
            _ => None,
        }
    }
}

fn text(t: &Tlv<'_>) -> Option<String> {
    // UTF8String, PrintableString, IA5String, T61String, BMP is not used.
    matches!(t.tag, 0x0C | 0x13 | 0x16 | 0x14).then(|| {
        String::from_utf8_lossy(t.value)
            .nfc()
            .collect::<String>()
            .trim()
            .to_owned()
    })
}

/// Every string inside `value`, depth first, skipping INTEGERs.
fn strings(value: &[u8], out: &mut Vec<String>, depth: u8) -> Result<(), TlvError> {
    if depth > 4 {
        return Ok(());
    }
    for t in tlv::Iter::new(value) {
        let t = t?;
        if let Some(s) = text(&t) {
            out.push(s);
        } else if t.tag == 0x30 || t.tag == 0x31 {
            strings(t.value, out, depth + 1)?;
        }
    }
    Ok(())
}

fn integer(t: &Tlv<'_>) -> Option<u32> {
    (t.tag == 0x02 && !t.value.is_empty() && t.value.len() <= 4)
        .then(|| t.value.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
}

/// Parses DG13.
pub fn parse(bytes: &[u8]) -> Result<Citizen, Dg13Error> {
    let dg13 = tlv::expect(bytes, 0x6D)?;
    let outer = dg13.require(0x30)?;
    let set = outer.require(0x31)?;
    let mut c = Citizen::default();
    for field in set.children() {
        let field = field?;
        if field.tag != 0x30 {
            continue;
        }
        let mut parts = field.children();
        let Some(Ok(number)) = parts.next() else {
            continue;
        };
        let Some(n) = integer(&number) else { continue };
        let rest = &field.value[number.raw.len()..];
        let mut values = Vec::new();
        strings(rest, &mut values, 0)?;
        let first = values.first().cloned().unwrap_or_default();
        match n {
            1 => c.id_number = first,
            2 => c.full_name = first,
            3 => c.date_of_birth = first,
            4 => c.sex = first,
            5 => c.nationality = first,
            6 => c.ethnicity = first,
            7 => c.religion = first,
            8 => c.place_of_origin = first,
            9 => c.place_of_residence = first,
            10 => c.identifying_marks = first,
            11 => c.date_of_issue = first,
            12 => c.date_of_expiry = first,
            13 => {
                let mut names = values.into_iter().filter(|s| !s.is_empty());
                c.father_name = names.next();
                c.mother_name = names.next();
            }
            14 => c.spouse_name = values.into_iter().find(|s| !s.is_empty()),
            15 => c.old_id_number = Some(first).filter(|s| !s.is_empty()),
            16 => c.field_16 = Some(first).filter(|s| !s.is_empty()),
            _ => {}
        }
    }
    if IdNumber::parse(&c.id_number).is_err() {
        return Err(Dg13Error::IdNumber);
    }
    if c.full_name.is_empty() {
        return Err(Dg13Error::Name);
    }
    Ok(c)
}

/// Encodes DG13 in the layout of the reference (for the virtual chip and
/// tests): PrintableString for digits and dates, UTF8String for text; the
/// parents nested in two SEQUENCEs; an empty spouse kept as `30 03 02 01 0E`.
pub fn encode(c: &Citizen) -> Vec<u8> {
    let field = |n: u8, tag: u32, value: &str| {
        let mut inner = tlv::to_vec(0x02, &[n]);
        tlv::encode(tag, value.as_bytes(), &mut inner);
        tlv::to_vec(0x30, &inner)
    };
    let printable = 0x13;
    let utf8 = 0x0C;
    let mut set = Vec::new();
    for (n, tag, value) in [
        (1, printable, &c.id_number),
        (2, utf8, &c.full_name),
        (3, printable, &c.date_of_birth),
        (4, utf8, &c.sex),
        (5, utf8, &c.nationality),
        (6, utf8, &c.ethnicity),
        (7, utf8, &c.religion),
        (8, utf8, &c.place_of_origin),
        (9, utf8, &c.place_of_residence),
        (10, utf8, &c.identifying_marks),
        (11, printable, &c.date_of_issue),
        (12, utf8, &c.date_of_expiry),
    ] {
        set.extend(field(n, tag, value));
    }
    let mut parents = tlv::to_vec(0x02, &[13]);
    for name in [&c.father_name, &c.mother_name] {
        let name = name.as_deref().unwrap_or("");
        parents.extend(tlv::to_vec(0x30, &tlv::to_vec(utf8, name.as_bytes())));
    }
    set.extend(tlv::to_vec(0x30, &parents));
    match &c.spouse_name {
        Some(s) => set.extend(field(14, utf8, s)),
        None => set.extend(tlv::to_vec(0x30, &tlv::to_vec(0x02, &[14]))),
    }
    if let Some(old) = &c.old_id_number {
        set.extend(field(15, printable, old));
    }
    if let Some(v) = &c.field_16 {
        set.extend(field(16, printable, v));
    }
    let mut outer = tlv::to_vec(0x02, &[1]);
    tlv::encode(0x06, &DG13_OID, &mut outer);
    tlv::encode(0x31, &set, &mut outer);
    tlv::to_vec(0x6D, &tlv::to_vec(0x30, &outer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Citizen {
        Citizen {
            id_number: "003090000001".into(),
            full_name: "Nguyễn Văn Mẫu".into(),
            date_of_birth: "15/01/1990".into(),
            sex: "Nam".into(),
            nationality: "Việt Nam".into(),
            ethnicity: "Kinh".into(),
            religion: "Không".into(),
            place_of_origin: "Xã Mẫu, Huyện Mẫu, Tỉnh Mẫu".into(),
            place_of_residence: "Số 1 Đường Mẫu, Phường Mẫu, Quận Mẫu, Thành phố Hà Nội, thôn Mẫu xóm Mẫu, tổ dân phố số 12 khu phố Mẫu (địa chỉ dài hơn 127 byte)".into(),
            identifying_marks: "Nốt ruồi C:1cm trên trước đầu mày trái".into(),
            date_of_issue: "01/06/2021".into(),
            date_of_expiry: "15/01/2030".into(),
            father_name: Some("Nguyễn Văn Cha".into()),
            mother_name: Some("Lê Thị Mẹ".into()),
            spouse_name: None,
            old_id_number: Some("012345678".into()),
            field_16: None,
        }
    }

    #[test]
    fn fields_1_and_2_encode_and_parse_as_in_the_reference() {
        // icao-cccd.md §B.6: `3011 020101 130C <ID>` and
        // `3018 020102 0C13 <Nguyễn Văn Mẫu>`.
        let dg13 = encode(&sample());
        let first_fields = hex::decode(
            "3011020101130C303033303930303030303031\
             30180201020C134E677579E1BB856E2056C4836E204DE1BAAB75",
        )
        .unwrap();
        assert!(dg13.windows(first_fields.len()).any(|w| w == first_fields));
        let c = parse(&dg13).unwrap();
        assert_eq!(c.id_number, "003090000001");
        assert_eq!(c.full_name, "Nguyễn Văn Mẫu");
    }

    #[test]
    fn every_field_round_trips_with_vietnamese_text_exact() {
        let c = sample();
        let parsed = parse(&encode(&c)).unwrap();
        assert_eq!(parsed, c);
        assert_eq!(parsed.birth_date(), Date::new(1990, 1, 15));
        assert_eq!(parsed.sex(), Some(Sex::Male));
        assert!(parsed.place_of_residence.len() > 127);
    }

    #[test]
    fn parents_in_one_sequence_and_a_spouse_are_read() {
        // Another batch's layout: both parents' names in one SEQUENCE, and a
        // spouse present.
        let mut set = Vec::new();
        for (n, v) in [(1u8, "003090000001"), (2, "Trần Thị Mẫu")] {
            let mut f = tlv::to_vec(0x02, &[n]);
            tlv::encode(0x0C, v.as_bytes(), &mut f);
            set.extend(tlv::to_vec(0x30, &f));
        }
        let mut parents = tlv::to_vec(0x02, &[13]);
        let mut both = tlv::to_vec(0x0C, "Trần Văn Cha".as_bytes());
        tlv::encode(0x0C, "Lê Thị Mẹ".as_bytes(), &mut both);
        parents.extend(tlv::to_vec(0x30, &both));
        set.extend(tlv::to_vec(0x30, &parents));
        let mut spouse = tlv::to_vec(0x02, &[14]);
        tlv::encode(0x0C, "Phạm Văn Chồng".as_bytes(), &mut spouse);
        set.extend(tlv::to_vec(0x30, &spouse));
        let mut outer = tlv::to_vec(0x02, &[1]);
        tlv::encode(0x06, &DG13_OID, &mut outer);
        tlv::encode(0x31, &set, &mut outer);
        let c = parse(&tlv::to_vec(0x6D, &tlv::to_vec(0x30, &outer))).unwrap();
        assert_eq!(c.father_name.as_deref(), Some("Trần Văn Cha"));
        assert_eq!(c.mother_name.as_deref(), Some("Lê Thị Mẹ"));
        assert_eq!(c.spouse_name.as_deref(), Some("Phạm Văn Chồng"));
        assert_eq!(c.old_id_number, None);
    }

    #[test]
    fn a_dg13_without_id_or_name_is_refused() {
        let mut c = sample();
        c.id_number = "12345".into();
        assert_eq!(parse(&encode(&c)), Err(Dg13Error::IdNumber));
        let mut c = sample();
        c.full_name = String::new();
        assert_eq!(parse(&encode(&c)), Err(Dg13Error::Name));
    }

    #[test]
    fn debug_output_holds_no_personal_data() {
        assert_eq!(format!("{:?}", sample()), "Citizen(..)");
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn a_damaged_dg13_never_panics(flip in 0usize..500, byte in any::<u8>()) {
            let mut dg13 = encode(&sample());
            let at = flip % dg13.len();
            dg13[at] = byte;
            let _ = parse(&dg13);
        }
    }
}
