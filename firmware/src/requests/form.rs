//! A procedure's form, pre-filled from the verified chip (Project 06: the
//! citizen never declares again what the state already knows; Directive
//! 05/CT-TTg: count the fields reused against those typed).
//!
//! Chip fields are read-only ([`FormError::ReadOnly`]); the citizen types
//! only the fields the procedure lets them. [`Form::validate`] checks every
//! field and returns every problem at once, each with its field and a
//! message in Vietnamese and English for the screen.
//!
//! Personal data: values zeroize on drop and `Debug` prints no value.

use super::catalog::{Field, FieldType, Procedure};
use crate::cccd::date::Date;
use crate::cccd::dg13::Citizen;
use serde::Serialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The verified chip (DG13): read-only.
    Chip,
    /// Typed by the citizen.
    Citizen,
}

/// One field's value.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
struct Value {
    name: String,
    text: Option<String>,
    #[zeroize(skip)]
    source: Source,
    /// Whether the citizen may change it.
    #[zeroize(skip)]
    editable: bool,
}

/// A form being filled in.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Form {
    procedure: String,
    values: Vec<Value>,
}

impl core::fmt::Debug for Form {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Form")
            .field("procedure", &self.procedure)
            .field("fields", &self.values.len())
            .finish_non_exhaustive()
    }
}

/// Why a value cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// The procedure's form has no such field. Remedy: use a field name
    /// of the catalogue.
    #[error("the form has no field {0:?}")]
    UnknownField(String),
    /// The field comes from the chip and cannot be changed. Remedy: none
    /// at the kiosk; a wrong chip record is corrected at the police.
    #[error("{0:?} comes from the chip and cannot be changed")]
    ReadOnly(String),
}

/// What is wrong with one field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The field is required and empty.
    Required,
    /// Longer than allowed.
    TooLong {
        /// The limit in characters.
        max: usize,
    },
    /// Not a `dd/mm/yyyy` date.
    NotADate,
    /// A date before the field it must follow.
    BeforeOther {
        /// The other field.
        other: String,
    },
    /// Not a phone number.
    NotAPhone,
    /// Not a 12-digit personal ID number.
    NotAnIdNumber,
    /// Not a 9-digit CMND number.
    NotAnOldIdNumber,
    /// Not one of the options.
    NotAnOption {
        /// The options.
        options: Vec<String>,
    },
    /// Not a whole number in range.
    OutOfRange {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// Contains control characters.
    BadCharacters,
}

/// One problem, with the field and what to tell the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field's name.
    pub field: String,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: Problem,
    /// The message in Vietnamese (with the field's label).
    pub message_vi: String,
    /// The message in English.
    pub message_en: String,
}

/// One row of the form as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldView {
    /// The field's name.
    pub name: String,
    /// The label in Vietnamese.
    pub label_vi: String,
    /// The label in English.
    pub label_en: String,
    /// The value, if any.
    pub value: Option<String>,
    /// Where it came from.
    pub source: Source,
    /// Whether the citizen may change it.
    pub editable: bool,
    /// Whether it is required.
    pub required: bool,
    /// What the citizen types (the screen picks its keyboard by it).
    pub kind: FieldType,
    /// Text: the longest value in characters (`None`: the default).
    pub max_len: Option<usize>,
    /// Choice: the allowed values.
    pub options: Vec<String>,
    /// Number: the lower bound.
    pub min: Option<i64>,
    /// Number: the upper bound.
    pub max: Option<i64>,
}

/// How many fields the chip filled and how many the citizen typed
/// (Directive 05/CT-TTg: at least 20 % fewer declared fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldCounts {
    /// Filled from the chip.
    pub prefilled: u32,
    /// Typed by the citizen (non-empty).
    pub typed: u32,
}

impl Form {
    /// The form of `procedure`, with every chip field filled from
    /// `citizen`.
    pub fn prefill(procedure: &Procedure, citizen: &Citizen) -> Form {
        let values = procedure
            .fields
            .iter()
            .map(|f| match f.chip {
                Some(chip) => {
                    let text = chip.value_of(citizen);
                    let editable = text.is_none() && f.typed_if_missing;
                    Value {
                        name: f.name.clone(),
                        source: if text.is_some() {
                            Source::Chip
                        } else {
                            Source::Citizen
                        },
                        text,
                        editable,
                    }
                }
                None => Value {
                    name: f.name.clone(),
                    text: None,
                    source: Source::Citizen,
                    editable: true,
                },
            })
            .collect();
        Form {
            procedure: procedure.code.clone(),
            values,
        }
    }

    /// The procedure code.
    pub fn procedure(&self) -> &str {
        &self.procedure
    }

    /// Sets a field the citizen may edit; an empty value clears it.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), FormError> {
        let v = self
            .values
            .iter_mut()
            .find(|v| v.name == name)
            .ok_or_else(|| FormError::UnknownField(name.to_owned()))?;
        if !v.editable {
            return Err(FormError::ReadOnly(name.to_owned()));
        }
        let trimmed = value.trim();
        if let Some(old) = v.text.as_mut() {
            old.zeroize();
        }
        v.text = (!trimmed.is_empty()).then(|| trimmed.to_owned());
        Ok(())
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.text.as_deref())
    }

    /// The rows for the screen, in the procedure's order.
    pub fn view(&self, procedure: &Procedure) -> Vec<FieldView> {
        procedure
            .fields
            .iter()
            .zip(&self.values)
            .map(|(f, v)| FieldView {
                name: f.name.clone(),
                label_vi: f.label_vi.clone(),
                label_en: f.label_en.clone(),
                value: v.text.clone(),
                source: v.source,
                editable: v.editable,
                required: f.required,
                kind: f.kind,
                max_len: f.max_len,
                options: f.options.clone(),
                min: f.min,
                max: f.max,
            })
            .collect()
    }

    /// Prefilled versus typed fields.
    pub fn counts(&self) -> FieldCounts {
        let mut c = FieldCounts {
            prefilled: 0,
            typed: 0,
        };
        for v in &self.values {
            match (v.source, &v.text) {
                (Source::Chip, Some(_)) => c.prefilled += 1,
                (Source::Citizen, Some(_)) => c.typed += 1,
                _ => {}
            }
        }
        c
    }

    /// Every value as `(name, value, source)`, for the payload.
    pub fn entries(&self) -> impl Iterator<Item = (&str, Option<&str>, Source)> {
        self.values
            .iter()
            .map(|v| (v.name.as_str(), v.text.as_deref(), v.source))
    }

    /// Checks every field against `procedure`; all problems at once.
    pub fn validate(&self, procedure: &Procedure) -> Result<(), Vec<FieldProblem>> {
        let mut problems = Vec::new();
        for (f, v) in procedure.fields.iter().zip(&self.values) {
            let problem = match &v.text {
                None if f.required => Some(Problem::Required),
                None => None,
                // Chip values are what the state holds: never re-judged.
                Some(_) if v.source == Source::Chip => None,
                Some(text) => check_value(f, text, self),
            };
            if let Some(problem) = problem {
                problems.push(describe(f, problem));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn check_value(f: &Field, text: &str, form: &Form) -> Option<Problem> {
    if text.chars().any(|c| c.is_control()) {
        return Some(Problem::BadCharacters);
    }
    let max = f.max_len.unwrap_or(super::catalog::DEFAULT_MAX_LEN);
    if text.chars().count() > max {
        return Some(Problem::TooLong { max });
    }
    match f.kind {
        FieldType::Text => None,
        FieldType::Date => match Date::parse_dmy_slashed(text) {
            None => Some(Problem::NotADate),
            Some(date) => f
                .not_before
                .as_ref()
                .and_then(|other| {
                    let earlier = form.get(other).and_then(Date::parse_dmy_slashed)?;
                    Some((other, earlier))
                })
                .and_then(|(other, earlier)| {
                    (date < earlier).then(|| Problem::BeforeOther {
                        other: other.clone(),
                    })
                }),
        },
        FieldType::Phone => (!is_phone(text)).then_some(Problem::NotAPhone),
        FieldType::IdNumber => crate::cccd::id::IdNumber::parse(text)
            .is_err()
            .then_some(Problem::NotAnIdNumber),
        FieldType::OldIdNumber => (!(text.len() == 9 && text.bytes().all(|b| b.is_ascii_digit())))
            .then_some(Problem::NotAnOldIdNumber),
        FieldType::Choice => (!f.options.iter().any(|o| o == text)).then(|| Problem::NotAnOption {
            options: f.options.clone(),
        }),
        FieldType::Number => {
            let (min, max) = (f.min.unwrap_or(0), f.max.unwrap_or(0));
            match text.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => None,
                _ => Some(Problem::OutOfRange { min, max }),
            }
        }
    }
}

/// A Vietnamese phone number: a mobile number (`0` and 9 digits) or a
/// landline (`0`, a `2x` area code and 8 digits), or either with `+84` for
/// the `0`; spaces, dots and dashes may separate the digits.
pub fn is_phone(text: &str) -> bool {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    let rest = if let Some(r) = digits.strip_prefix("+84") {
        r
    } else if let Some(r) = digits.strip_prefix('0') {
        r
    } else {
        return false;
    };
    rest.bytes().all(|b| b.is_ascii_digit())
        && !rest.starts_with('0')
        && (rest.len() == 9 || (rest.len() == 10 && rest.starts_with('2')))
}

fn describe(f: &Field, problem: Problem) -> FieldProblem {
    let (vi, en) = (&f.label_vi, &f.label_en);
    let (message_vi, message_en) = match &problem {
        Problem::Required => (
            format!("Vui lòng nhập «{vi}»."),
            format!("Please fill in “{en}”."),
        ),
        Problem::TooLong { max } => (
            format!("«{vi}» dài quá {max} ký tự."),
            format!("“{en}” is longer than {max} characters."),
        ),
        Problem::NotADate => (
            format!("«{vi}» phải là ngày dạng ngày/tháng/năm, ví dụ 05/01/2027."),
            format!("“{en}” must be a date as day/month/year, e.g. 05/01/2027."),
        ),
        Problem::BeforeOther { other } => (
            format!("«{vi}» không được trước ngày ở trường «{other}»."),
            format!("“{en}” cannot be before the date in “{other}”."),
        ),
        Problem::NotAPhone => (
            format!(
                "«{vi}» phải là số điện thoại bắt đầu bằng 0 (di động 10 chữ số, cố định 11 chữ số)."
            ),
            format!(
                "“{en}” must be a phone number starting with 0 (10 digits for a mobile, 11 for a landline)."
            ),
        ),
        Problem::NotAnIdNumber => (
            format!("«{vi}» phải là số định danh cá nhân 12 chữ số."),
            format!("“{en}” must be a 12-digit personal ID number."),
        ),
        Problem::NotAnOldIdNumber => (
            format!("«{vi}» phải là số CMND 9 chữ số."),
            format!("“{en}” must be a 9-digit ID card (CMND) number."),
        ),
        Problem::NotAnOption { options } => (
            format!("«{vi}» phải là một trong: {}.", options.join(", ")),
            format!("“{en}” must be one of: {}.", options.join(", ")),
        ),
        Problem::OutOfRange { min, max } => (
            format!("«{vi}» phải là số từ {min} đến {max}."),
            format!("“{en}” must be a whole number from {min} to {max}."),
        ),
        Problem::BadCharacters => (
            format!("«{vi}» có ký tự không hợp lệ."),
            format!("“{en}” contains characters that are not allowed."),
        ),
    };
    FieldProblem {
        field: f.name.clone(),
        problem,
        message_vi,
        message_en,
    }
}
