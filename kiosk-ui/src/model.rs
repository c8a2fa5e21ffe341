//! The models the screens are drawn from: what one screen shows
//! ([`ScreenModel`]) and its parts. The presenter fills them from the
//! session's view, the staff screens from the staff view; the adapters copy
//! them into the Slint globals. Plain data, no behaviour beyond what the
//! data itself answers (which ids are touchable).

use crate::keyboard::Key;
use crate::{Language, Screen};
use zeroize::Zeroizing;

/// A touchable choice on a screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The id a touch reports (and scenario files name).
    pub id: String,
    /// What it says.
    pub label: String,
    /// Whether it is the screen's main action.
    pub primary: bool,
}

impl Choice {
    pub(crate) fn new(id: impl Into<String>, label: impl Into<String>, primary: bool) -> Choice {
        Choice {
            id: id.into(),
            label: label.into(),
            primary,
        }
    }
}

/// A labelled value on a data screen; a typed form row has the id a
/// touch on it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What it is ("Họ và tên").
    pub label: String,
    /// Its value.
    pub value: String,
    /// `field-<name>` when touching it opens the input screen, else empty.
    pub id: String,
    /// Whether the form names a problem with it.
    pub problem: bool,
}

impl Row {
    pub(crate) fn new(label: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            label: label.into(),
            value: value.into(),
            id: String::new(),
            problem: false,
        }
    }
}

/// Text the citizen typed, on its way to the form (personal data:
/// zeroized when dropped; `Debug` prints only its length).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Typed(pub(crate) Zeroizing<String>);

impl Typed {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Typed {
        Typed(Zeroizing::new(value.into()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Typed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Typed({} chars)", self.0.chars().count())
    }
}

/// A service (or procedure) the menu offers, with its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Its code in the catalogue.
    pub code: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
}

impl Offer {
    pub(crate) fn name(&self, lang: Language) -> &str {
        match lang {
            Language::Vietnamese => &self.name_vi,
            Language::English => &self.name_en,
        }
    }
}

/// The face guide as the screen draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    /// Left, as a fraction of the frame width.
    pub x: f32,
    /// Top, as a fraction of the frame height.
    pub y: f32,
    /// Width, as a fraction of the frame width.
    pub w: f32,
    /// Height, as a fraction of the frame height.
    pub h: f32,
}

/// Everything one screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenModel {
    /// The screen.
    pub screen: Screen,
    /// The large title.
    pub title: String,
    /// The guidance under it (also spoken).
    pub prompt: String,
    /// "Step 2 of 4", or empty.
    pub step_label: String,
    /// Big choices in a column.
    pub choices: Vec<Choice>,
    /// The action row.
    pub actions: Vec<Choice>,
    /// Labelled data (confirmation, form).
    pub fields: Vec<Row>,
    /// Reading progress, 0–100.
    pub read_percent: u8,
    /// Where the face is, if seen.
    pub face_box: Option<FaceBox>,
    /// The face check's progress, 0–100.
    pub face_progress: u8,
    /// "Attempt 1 of 3", or empty.
    pub face_attempt: String,
    /// Whether the face check says "good".
    pub face_good: bool,
    /// The ID number typed so far.
    pub entry_id: String,
    /// The date of birth typed so far, as `dd/mm/yyyy` with blanks.
    pub entry_dob: String,
    /// Which keypad field is active: 0 the ID, 1 the date of birth.
    pub entry_field: u8,
    /// The keypad's keys, in reading order, three per row.
    pub keys: Vec<Choice>,
    /// The input screen: the value as typed (personal data).
    pub entry_text: String,
    /// The input screen's keys, with their places on the grid.
    pub key_grid: Vec<Key>,
    /// The input screen's rows of keys.
    pub key_rows: u8,
    /// The height of one key, in logical pixels.
    pub key_height: f32,
    /// The ticket number or receipt code.
    pub big_number: String,
    /// The service of the ticket (or the receipt's line).
    pub service_name: String,
    /// "3 people waiting before you", or the receipt's state.
    pub waiting: String,
    /// Whether the ticket printed (false draws the warning bar).
    pub printed: bool,
    /// Seconds left while the inactivity warning shows.
    pub countdown: Option<u32>,
    /// The warning's button.
    pub warning_action: Choice,
    /// The small button in the top bar (the attract screen's staff button).
    pub corner: Option<Choice>,
    /// Staff panel rows.
    pub staff_rows: Vec<StaffRow>,
    /// The staff panel's banner after an action.
    pub staff_result: String,
    /// Whether the action went well.
    pub staff_result_ok: bool,
    /// One dot per PIN digit typed.
    pub pin_dots: String,
    /// The label over the dots.
    pub pin_label: String,
    /// The PIN keypad's notice (wrong PIN, locked, card accepted).
    pub staff_notice: String,
    /// Whether the notice is an alert.
    pub staff_notice_alert: bool,
}

impl ScreenModel {
    /// Every id a touch may name on this screen now.
    pub fn touchable(&self) -> impl Iterator<Item = &str> {
        let all: Box<dyn Iterator<Item = &Choice>> = if self.countdown.is_some() {
            Box::new(std::iter::once(&self.warning_action))
        } else {
            Box::new(
                self.choices
                    .iter()
                    .chain(&self.actions)
                    .chain(&self.keys)
                    .chain(&self.corner),
            )
        };
        let rows = self.fields.iter().map(|r| r.id.as_str());
        let grid = self.key_grid.iter().map(|k| k.id.as_str());
        let live = self.countdown.is_none();
        all.map(|c| c.id.as_str())
            .chain(rows.chain(grid).filter(move |id| live && !id.is_empty()))
    }
}

/// A row of the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    /// What it is (a device, a counter, an error's time).
    pub label: String,
    /// Its state or value.
    pub value: String,
    /// How it is drawn.
    pub tone: Tone,
}

/// How a panel row is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// A section heading.
    Heading,
    /// Plain data.
    Plain,
    /// Works (green).
    Ok,
    /// Needs attention (yellow).
    Warn,
    /// Does not work (red).
    Fail,
}

impl Tone {
    /// The number the `.slint` side draws by: 0 plain, 1 ok, 2 warn, 3 fail,
    /// 4 heading.
    pub fn code(self) -> i32 {
        match self {
            Tone::Plain => 0,
            Tone::Ok => 1,
            Tone::Warn => 2,
            Tone::Fail => 3,
            Tone::Heading => 4,
        }
    }
}
