//! The procedure catalogue, as data (`board/config/procedures.toml`,
//! named by `[requests].catalogue` in the board configuration).
//!
//! Each procedure (thủ tục hành chính) has its code (mã TTHC), Vietnamese
//! and English names, the agency that handles it, its legal basis, the
//! form's fields and the papers the kiosk cannot take ("bring to the
//! counter"). A field either comes from the verified chip (DG13, read-only:
//! reference note kiosk-products-and-rules.md §3.1 "never ask again for
//! what the chip holds", §5.1 item 13) or is typed by the citizen, with a
//! type the form validates.
//!
//! ```toml
//! version = "2026-12-01"
//! status_url = "https://dichvucong.example.gov.vn/tra-cuu"
//!
//! [[procedures]]
//! code = "1.004222"
//! name_vi = "Đăng ký tạm trú"
//! name_en = "Temporary residence registration"
//! agency_vi = "Công an cấp xã"
//! agency_en = "Commune-level police"
//! legal_basis = "Luật Cư trú 2020 (68/2020/QH14), Điều 27–28"
//! bring_to_counter = [{ vi = "…", en = "…" }]
//!
//! [[procedures.fields]]
//! name = "full_name"
//! label_vi = "Họ, chữ đệm và tên"
//! label_en = "Full name"
//! chip = "full_name"
//!
//! [[procedures.fields]]
//! name = "temporary_address"
//! label_vi = "Địa chỉ đăng ký tạm trú"
//! label_en = "Address of temporary residence"
//! type = "text"
//! required = true
//! max_len = 200
//! ```

use serde::{Deserialize, Serialize};

/// A field the chip's DG13 provides (reference icao-cccd.md §B.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChipField {
    /// DG13 field 1: the 12-digit personal ID number.
    IdNumber,
    /// 2: full name.
    FullName,
    /// 3: date of birth (`dd/mm/yyyy`).
    DateOfBirth,
    /// 4: sex (`Nam` / `Nữ`).
    Sex,
    /// 5: nationality.
    Nationality,
    /// 6: ethnicity.
    Ethnicity,
    /// 7: religion.
    Religion,
    /// 8: place of origin (quê quán).
    PlaceOfOrigin,
    /// 9: place of residence.
    PlaceOfResidence,
    /// 11: date of issue of the card.
    DateOfIssue,
    /// 13: father's full name (not on every card).
    FatherName,
    /// 13: mother's full name (not on every card).
    MotherName,
    /// 14: spouse's full name (not on every card).
    SpouseName,
    /// 15: the old 9-digit CMND number (not on every card).
    OldIdNumber,
}

impl ChipField {
    /// The value on `citizen`'s chip; `None` when the card does not carry
    /// it (or carries an empty string).
    pub fn value_of(self, c: &crate::cccd::dg13::Citizen) -> Option<String> {
        let v = match self {
            ChipField::IdNumber => Some(&c.id_number),
            ChipField::FullName => Some(&c.full_name),
            ChipField::DateOfBirth => Some(&c.date_of_birth),
            ChipField::Sex => Some(&c.sex),
            ChipField::Nationality => Some(&c.nationality),
            ChipField::Ethnicity => Some(&c.ethnicity),
            ChipField::Religion => Some(&c.religion),
            ChipField::PlaceOfOrigin => Some(&c.place_of_origin),
            ChipField::PlaceOfResidence => Some(&c.place_of_residence),
            ChipField::DateOfIssue => Some(&c.date_of_issue),
            ChipField::FatherName => c.father_name.as_ref(),
            ChipField::MotherName => c.mother_name.as_ref(),
            ChipField::SpouseName => c.spouse_name.as_ref(),
            ChipField::OldIdNumber => c.old_id_number.as_ref(),
        }?;
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }
}

/// The type of a field the citizen types (or picks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text, up to `max_len` characters.
    #[default]
    Text,
    /// A date `dd/mm/yyyy`.
    Date,
    /// A Vietnamese mobile or landline number: 10 digits starting with 0
    /// (or +84 and 9 digits).
    Phone,
    /// A 12-digit personal ID number.
    IdNumber,
    /// A 9-digit old ID (CMND) number.
    OldIdNumber,
    /// One of `options`.
    Choice,
    /// A whole number between `min` and `max`.
    Number,
}

/// A paper the kiosk cannot take: the citizen brings it to the counter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// In Vietnamese.
    pub vi: String,
    /// In English.
    pub en: String,
}

/// `[[procedures.fields]]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// The field's key in the payload (`snake_case`).
    pub name: String,
    /// The label in Vietnamese.
    pub label_vi: String,
    /// The label in English.
    pub label_en: String,
    /// Set: the field comes from the chip and is read-only.
    pub chip: Option<ChipField>,
    /// With `chip`: when the card lacks the value, the citizen may type it
    /// (e.g. the old CMND number, not on every chip).
    #[serde(default)]
    pub typed_if_missing: bool,
    /// The type the citizen types (`text` by default).
    #[serde(rename = "type", default)]
    pub kind: FieldType,
    /// Whether the form needs it.
    #[serde(default)]
    pub required: bool,
    /// Text: the longest value in characters (default 200).
    pub max_len: Option<usize>,
    /// Choice: the allowed values.
    #[serde(default)]
    pub options: Vec<String>,
    /// Number: bounds.
    pub min: Option<i64>,
    /// Number: bounds.
    pub max: Option<i64>,
    /// Date: the value must not be before the field named here (e.g. an
    /// end date after its start date).
    pub not_before: Option<String>,
}

/// `[[procedures]]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureConfig {
    /// The procedure code (mã TTHC).
    pub code: String,
    /// Name in Vietnamese.
    pub name_vi: String,
    /// Name in English.
    pub name_en: String,
    /// The agency that handles it, in Vietnamese.
    pub agency_vi: String,
    /// The agency in English.
    pub agency_en: String,
    /// The laws it follows.
    pub legal_basis: String,
    /// Papers to bring to the counter.
    #[serde(default)]
    pub bring_to_counter: Vec<Attachment>,
    /// The form.
    pub fields: Vec<FieldConfig>,
}

/// The catalogue file as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// The catalogue's version (sent with each request, so the portal knows
    /// which form the citizen saw).
    pub version: String,
    /// The base of the status link in each receipt's QR code; the kiosk
    /// appends `/<receipt code>`.
    pub status_url: String,
    /// The procedures, in menu order.
    pub procedures: Vec<ProcedureConfig>,
}

/// A checked field.
pub type Field = FieldConfig;
/// A checked procedure.
pub type Procedure = ProcedureConfig;

/// A validated catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// Its version.
    pub version: String,
    /// The status link base.
    pub status_url: String,
    /// The procedures.
    pub procedures: Vec<Procedure>,
}

/// Why the catalogue is unusable: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct CatalogError {
    /// The dotted field, e.g. `procedures[2].fields[0].type`.
    pub field: String,
    /// What is wrong and what would be right.
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> CatalogError {
    CatalogError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The longest text by default.
pub const DEFAULT_MAX_LEN: usize = 200;

impl Catalog {
    /// Checks a catalogue as written.
    pub fn from_config(c: &CatalogConfig) -> Result<Catalog, CatalogError> {
        if c.version.trim().is_empty() {
            return Err(invalid("version", "must not be empty"));
        }
        if !c.status_url.starts_with("https://") {
            return Err(invalid(
                "status_url",
                format!("must be an https:// link, not {:?}", c.status_url),
            ));
        }
        if c.procedures.is_empty() {
            return Err(invalid("procedures", "must list at least one procedure"));
        }
        for (i, p) in c.procedures.iter().enumerate() {
            let at = format!("procedures[{i}]");
            let code_ok = !p.code.is_empty()
                && p.code.len() <= 32
                && p.code
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' || ch == '_');
            if !code_ok {
                return Err(invalid(
                    format!("{at}.code"),
                    format!(
                        "must be 1–32 ASCII letters, digits, '.', '-' or '_', not {:?}",
                        p.code
                    ),
                ));
            }
            if c.procedures[..i].iter().any(|q| q.code == p.code) {
                return Err(invalid(
                    format!("{at}.code"),
                    format!("{:?} is listed twice", p.code),
                ));
            }
            for (name, v) in [
                ("name_vi", &p.name_vi),
                ("name_en", &p.name_en),
                ("agency_vi", &p.agency_vi),
                ("agency_en", &p.agency_en),
                ("legal_basis", &p.legal_basis),
            ] {
                if v.trim().is_empty() {
                    return Err(invalid(format!("{at}.{name}"), "must not be empty"));
                }
            }
            if p.fields.is_empty() {
                return Err(invalid(
                    format!("{at}.fields"),
                    "must list the form's fields",
                ));
            }
            for (j, f) in p.fields.iter().enumerate() {
                check_field(&format!("{at}.fields[{j}]"), f, &p.fields[..j], &p.fields)?;
            }
            for (j, a) in p.bring_to_counter.iter().enumerate() {
                if a.vi.trim().is_empty() || a.en.trim().is_empty() {
                    return Err(invalid(
                        format!("{at}.bring_to_counter[{j}]"),
                        "needs both `vi` and `en`",
                    ));
                }
            }
        }
        Ok(Catalog {
            version: c.version.clone(),
            status_url: c.status_url.trim_end_matches('/').to_owned(),
            procedures: c.procedures.clone(),
        })
    }

    /// The procedure with `code`.
    pub fn procedure(&self, code: &str) -> Option<&Procedure> {
        self.procedures.iter().find(|p| p.code == code)
    }
}

fn check_field(
    at: &str,
    f: &FieldConfig,
    before: &[FieldConfig],
    all: &[FieldConfig],
) -> Result<(), CatalogError> {
    let name_ok = !f.name.is_empty()
        && f.name.len() <= 48
        && f.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        return Err(invalid(
            format!("{at}.name"),
            format!(
                "must be 1–48 lower-case ASCII letters, digits or '_', not {:?}",
                f.name
            ),
        ));
    }
    if before.iter().any(|g| g.name == f.name) {
        return Err(invalid(
            format!("{at}.name"),
            format!("{:?} is listed twice", f.name),
        ));
    }
    if f.label_vi.trim().is_empty() || f.label_en.trim().is_empty() {
        return Err(invalid(
            format!("{at}.label_vi/label_en"),
            "must not be empty",
        ));
    }
    if f.typed_if_missing && f.chip.is_none() {
        return Err(invalid(
            format!("{at}.typed_if_missing"),
            "only applies to a field with `chip`",
        ));
    }
    match f.kind {
        FieldType::Choice if f.options.len() < 2 => {
            return Err(invalid(
                format!("{at}.options"),
                "a choice needs at least two options",
            ));
        }
        FieldType::Number => match (f.min, f.max) {
            (Some(lo), Some(hi)) if lo <= hi => {}
            _ => {
                return Err(invalid(
                    format!("{at}.min/max"),
                    "a number needs `min` and `max` with min ≤ max",
                ));
            }
        },
        _ => {}
    }
    if f.kind != FieldType::Choice && !f.options.is_empty() {
        return Err(invalid(
            format!("{at}.options"),
            "only a `choice` field has options",
        ));
    }
    if let Some(max) = f.max_len
        && !(1..=2000).contains(&max)
    {
        return Err(invalid(
            format!("{at}.max_len"),
            format!("must be 1–2000, not {max}"),
        ));
    }
    if let Some(other) = &f.not_before {
        let ok = f.kind == FieldType::Date
            && all
                .iter()
                .any(|g| &g.name == other && g.kind == FieldType::Date && g.chip.is_none());
        if !ok {
            return Err(invalid(
                format!("{at}.not_before"),
                format!("must name another date field of the form, not {other:?}"),
            ));
        }
    }
    Ok(())
}
