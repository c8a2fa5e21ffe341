//! The input screen of a typed form field: which keyboard a field gets,
//! its keys (ids, labels, places on a grid), and what a key does to the
//! text being typed. Plain Rust; the presenter holds one [`Typing`] while
//! the screen is up and the `.slint` files draw [`Key`]s where they say.
//!
//! Layouts by field type (`firmware::requests::FieldType`):
//! - phone, ID numbers, whole numbers: a digit keypad (telephone order,
//!   the keypad the kiosk's ID entry already uses), no more digits than
//!   the field can hold (11 for a phone, 12 for an ID number, 9 for a
//!   CMND, the digits of the largest allowed number);
//! - a date: the same keypad, the slashes of `dd/mm/yyyy` put in by
//!   themselves;
//! - text (names, addresses, purposes): the Vietnamese keyboard — a row of
//!   digits, the letters in QWERTY order (the order of every phone and
//!   computer keyboard in Vietnam, which first-time users have seen on a
//!   phone; an ABC order helps nobody who has seen one and hides no
//!   letter any better), a row of the marked letters `ă â ê ô ơ ư đ`, a
//!   row of the five tone keys applying to the word being typed
//!   ([`crate::compose`]), and space with `, . - /` for addresses; shift
//!   gives one capital, and is on by itself at the start of the text and,
//!   in a name field (its name ends in `name`), at the start of each word;
//! - a choice: its options as big buttons, one touch picks.
//!
//! The procedures ask for no e-mail address, so there is no e-mail layout.
//!
//! Key ids, for touches and scenario files: `key-a` … `key-z`, `key-0` …
//! `key-9`, `key-a-breve` (ă), `key-a-circumflex` (â), `key-e-circumflex`
//! (ê), `key-o-circumflex` (ô), `key-o-horn` (ơ), `key-u-horn` (ư),
//! `key-d-stroke` (đ), `key-tone-sac`, `key-tone-huyen`, `key-tone-hoi`,
//! `key-tone-nga`, `key-tone-nang`, `key-space`, `key-comma`,
//! `key-period`, `key-hyphen`, `key-slash`, `key-shift`, `key-backspace`,
//! `option-N` (a choice's N-th option, from 0), and the actions
//! `key-done`, `key-cancel`.
//!
//! Privacy: the text is a `Zeroizing<String>`, wiped when the screen
//! closes (Done hands it over, Cancel drops it); `Debug` prints no text.

use crate::Language;
use crate::compose::{self, Tone, ToneStyle};
use kiosk_firmware::requests::FieldType;
use kiosk_firmware::requests::catalog::DEFAULT_MAX_LEN;
use kiosk_firmware::requests::form::FieldView;
use zeroize::Zeroizing;

/// The kiosk's tone convention (see [`crate::compose`]).
pub const STYLE: ToneStyle = ToneStyle::Traditional;

/// The width of the key grid in columns; a letter key is two wide.
pub const COLUMNS: u8 = 20;

/// Which keyboard a field gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Digits only.
    Digits,
    /// Digits of `dd/mm/yyyy`.
    Date,
    /// Vietnamese text.
    Text,
    /// One of the field's options.
    Options,
}

impl Layout {
    /// The keyboard for a field type.
    pub fn for_kind(kind: FieldType) -> Layout {
        match kind {
            FieldType::Text => Layout::Text,
            FieldType::Date => Layout::Date,
            FieldType::Phone | FieldType::IdNumber | FieldType::OldIdNumber | FieldType::Number => {
                Layout::Digits
            }
            FieldType::Choice => Layout::Options,
        }
    }
}

/// One key: its id, what it shows, and its place on the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The id a touch reports.
    pub id: String,
    /// What it shows.
    pub label: String,
    /// Highlighted (shift on).
    pub primary: bool,
    /// Row, from 0 at the top.
    pub row: u8,
    /// First column, of [`COLUMNS`].
    pub col: u8,
    /// Columns it spans.
    pub span: u8,
}

/// The marked letters, with their key ids.
pub const MARKED_LETTERS: [(char, &str); 7] = [
    ('ă', "key-a-breve"),
    ('â', "key-a-circumflex"),
    ('ê', "key-e-circumflex"),
    ('ô', "key-o-circumflex"),
    ('ơ', "key-o-horn"),
    ('ư', "key-u-horn"),
    ('đ', "key-d-stroke"),
];

/// The signs of the space row, with their key ids.
pub const SIGNS: [(char, &str); 4] = [
    (',', "key-comma"),
    ('.', "key-period"),
    ('-', "key-hyphen"),
    ('/', "key-slash"),
];

const LETTER_ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];

/// What a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Pressed {
    /// The text or the shift changed (or a key had nothing to do: a
    /// full field, a tone without a vowel).
    Changed,
    /// Done: the value to hand to the form.
    Done(Zeroizing<String>),
    /// Cancel: the field keeps its previous value.
    Cancelled,
    /// No such key on this keyboard.
    Unknown,
}

/// The field being typed into, and the text so far (personal data).
pub struct Typing {
    field: String,
    label_vi: String,
    label_en: String,
    kind: FieldType,
    layout: Layout,
    max: usize,
    options: Vec<String>,
    /// For a date: its digits only.
    text: Zeroizing<String>,
    shift: bool,
    capitalise_words: bool,
}

impl std::fmt::Debug for Typing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typing")
            .field("field", &self.field)
            .field("layout", &self.layout)
            .field("chars", &self.text.chars().count())
            .finish_non_exhaustive()
    }
}

impl Typing {
    /// Opens the input screen for `field`, starting from its value.
    pub fn open(field: &FieldView) -> Typing {
        let layout = Layout::for_kind(field.kind);
        let max = match field.kind {
            FieldType::Phone => 11,
            FieldType::IdNumber => 12,
            FieldType::OldIdNumber => 9,
            FieldType::Date => 8,
            FieldType::Number => field
                .max
                .map_or(1, |m| m.unsigned_abs().to_string().len())
                .max(field.min.map_or(1, |m| m.unsigned_abs().to_string().len())),
            FieldType::Text | FieldType::Choice => field.max_len.unwrap_or(DEFAULT_MAX_LEN),
        };
        let old = field.value.as_deref().unwrap_or("");
        let text = Zeroizing::new(match layout {
            Layout::Digits | Layout::Date => {
                old.chars().filter(char::is_ascii_digit).take(max).collect()
            }
            Layout::Text | Layout::Options => old.chars().take(max).collect(),
        });
        let mut typing = Typing {
            field: field.name.clone(),
            label_vi: field.label_vi.clone(),
            label_en: field.label_en.clone(),
            kind: field.kind,
            layout,
            max,
            options: field.options.clone(),
            text,
            shift: false,
            capitalise_words: field.name.ends_with("name"),
        };
        typing.shift = typing.auto_shift();
        typing
    }

    /// The field's name.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The keyboard.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether the next letter is a capital.
    pub fn shift(&self) -> bool {
        self.shift
    }

    /// The field's label.
    pub fn label(&self, lang: Language) -> &str {
        match lang {
            Language::Vietnamese => &self.label_vi,
            Language::English => &self.label_en,
        }
    }

    /// What the field takes, in plain words (the screen's guidance).
    pub fn hint(&self, lang: Language) -> String {
        let vi = lang == Language::Vietnamese;
        let text = match self.kind {
            FieldType::Phone => pick(
                vi,
                "Nhập số điện thoại bắt đầu bằng 0: di động 10 chữ số, cố định 11 chữ số. Chạm Xong khi nhập xong.",
                "Type a phone number starting with 0: 10 digits for a mobile, 11 for a landline. Touch Done when you have finished.",
            ),
            FieldType::IdNumber => pick(
                vi,
                "Nhập 12 chữ số của số định danh cá nhân. Chạm Xong khi nhập xong.",
                "Type the 12 digits of the personal ID number. Touch Done when you have finished.",
            ),
            FieldType::OldIdNumber => pick(
                vi,
                "Nhập 9 chữ số của Chứng minh nhân dân cũ. Chạm Xong khi nhập xong.",
                "Type the 9 digits of the old ID card (CMND). Touch Done when you have finished.",
            ),
            FieldType::Date => pick(
                vi,
                "Nhập ngày, tháng, năm: 8 chữ số, ví dụ 05012027 cho 05/01/2027. Chạm Xong khi nhập xong.",
                "Type the day, month and year: 8 digits, e.g. 05012027 for 05/01/2027. Touch Done when you have finished.",
            ),
            FieldType::Number => pick(
                vi,
                "Nhập một số. Chạm Xong khi nhập xong.",
                "Type a number. Touch Done when you have finished.",
            ),
            FieldType::Choice => pick(vi, "Chạm vào một lựa chọn.", "Touch one of the choices."),
            FieldType::Text => {
                return match lang {
                    Language::Vietnamese => format!(
                        "Chạm các chữ cái; chữ có dấu như ê, ơ, ư có phím riêng. Sau mỗi chữ, chạm phím dấu thanh (sắc, huyền, hỏi, ngã, nặng). Tối đa {} ký tự.",
                        self.max
                    ),
                    Language::English => format!(
                        "Touch the letters; marked letters such as ê, ơ, ư have their own keys. After a word, touch a tone key (sắc, huyền, hỏi, ngã, nặng). At most {} characters.",
                        self.max
                    ),
                };
            }
        };
        text.to_owned()
    }

    /// The value as the screen shows it (a date with its slashes and
    /// blanks).
    pub fn display(&self) -> Zeroizing<String> {
        match self.layout {
            Layout::Date => {
                let mut typed = self.text.chars();
                Zeroizing::new(
                    "dd/mm/yyyy"
                        .chars()
                        .map(|blank| match blank {
                            '/' => '/',
                            _ => typed.next().unwrap_or('_'),
                        })
                        .collect(),
                )
            }
            _ => self.text.clone(),
        }
    }

    /// The value Done hands over: a date's digits as `dd/mm/yyyy` (as far
    /// as typed; the form names a partial date as a problem).
    fn value(&self) -> Zeroizing<String> {
        match self.layout {
            Layout::Date => {
                let mut out = Zeroizing::new(String::with_capacity(10));
                for (i, d) in self.text.chars().enumerate() {
                    if i == 2 || i == 4 {
                        out.push('/');
                    }
                    out.push(d);
                }
                out
            }
            _ => self.text.clone(),
        }
    }

    /// The options of a choice, with whether each is the current value.
    pub fn options(&self) -> impl Iterator<Item = (String, &str, bool)> {
        self.options
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("option-{i}"), o.as_str(), *o == *self.text))
    }

    /// How many rows the key grid has.
    pub fn rows(&self) -> u8 {
        match self.layout {
            Layout::Digits | Layout::Date => 4,
            Layout::Text => 7,
            Layout::Options => 0,
        }
    }

    /// The keys, in reading order, with their places.
    pub fn keys(&self, lang: Language) -> Vec<Key> {
        let key = |id: &str, label: &str, row: u8, col: u8, span: u8| Key {
            id: id.to_owned(),
            label: label.to_owned(),
            primary: false,
            row,
            col,
            span,
        };
        let delete = pick(lang == Language::Vietnamese, "Xóa", "Delete");
        match self.layout {
            Layout::Options => Vec::new(),
            Layout::Digits | Layout::Date => {
                let mut keys: Vec<Key> = (1..=9u8)
                    .map(|d| {
                        let label = d.to_string();
                        key(
                            &format!("key-{d}"),
                            &label,
                            (d - 1) / 3,
                            1 + 6 * ((d - 1) % 3),
                            6,
                        )
                    })
                    .collect();
                keys.push(key("key-backspace", delete, 3, 1, 6));
                keys.push(key("key-0", "0", 3, 7, 6));
                keys
            }
            Layout::Text => {
                let mut keys = Vec::new();
                for (i, d) in "1234567890".chars().enumerate() {
                    let col = 2 * u8::try_from(i).unwrap_or(0);
                    keys.push(key(&format!("key-{d}"), &d.to_string(), 0, col, 2));
                }
                for (r, letters) in LETTER_ROWS.iter().enumerate() {
                    let row = 1 + u8::try_from(r).unwrap_or(0);
                    let start = [0, 1, 3][r];
                    for (i, l) in letters.chars().enumerate() {
                        let col = start + 2 * u8::try_from(i).unwrap_or(0);
                        keys.push(key(&format!("key-{l}"), &self.cased(l), row, col, 2));
                    }
                }
                let mut shift = key(
                    "key-shift",
                    pick(lang == Language::Vietnamese, "↑ Hoa", "↑ Caps"),
                    3,
                    0,
                    3,
                );
                shift.primary = self.shift;
                keys.push(shift);
                keys.push(key("key-backspace", delete, 3, 17, 3));
                for (i, (l, id)) in MARKED_LETTERS.iter().enumerate() {
                    let col = 3 + 2 * u8::try_from(i).unwrap_or(0);
                    keys.push(key(id, &self.cased(*l), 4, col, 2));
                }
                for (i, tone) in Tone::MARKED.iter().enumerate() {
                    let sample = compose::with_tone("a", *tone, STYLE)
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    let col = 4 * u8::try_from(i).unwrap_or(0);
                    keys.push(key(
                        &format!("key-tone-{}", tone.key()),
                        &format!("{sample} {}", tone.name()),
                        5,
                        col,
                        4,
                    ));
                }
                let [comma, period, hyphen, slash] = SIGNS;
                keys.push(key(comma.1, ",", 6, 0, 2));
                keys.push(key(period.1, ".", 6, 2, 2));
                keys.push(key(
                    "key-space",
                    pick(lang == Language::Vietnamese, "Dấu cách", "Space"),
                    6,
                    4,
                    12,
                ));
                keys.push(key(hyphen.1, "-", 6, 16, 2));
                keys.push(key(slash.1, "/", 6, 18, 2));
                keys
            }
        }
    }

    fn cased(&self, c: char) -> String {
        if self.shift {
            c.to_uppercase().collect()
        } else {
            c.to_string()
        }
    }

    fn auto_shift(&self) -> bool {
        self.layout == Layout::Text
            && (self.text.is_empty() || (self.capitalise_words && self.text.ends_with(' ')))
    }

    /// A touch on key `id`.
    pub fn press(&mut self, id: &str) -> Pressed {
        match (self.layout, id) {
            (_, "key-cancel") => return Pressed::Cancelled,
            (Layout::Options, _) => {
                return match id
                    .strip_prefix("option-")
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| self.options.get(n))
                {
                    Some(o) => Pressed::Done(Zeroizing::new(o.clone())),
                    None => Pressed::Unknown,
                };
            }
            (_, "key-done") => return Pressed::Done(self.value()),
            (_, "key-backspace") => {
                self.text = match self.layout {
                    Layout::Text => compose::backspace(&self.text, STYLE),
                    _ => {
                        let mut t = self.text.clone();
                        t.pop();
                        t
                    }
                };
            }
            (Layout::Text, "key-shift") => {
                self.shift = !self.shift;
                return Pressed::Changed;
            }
            (Layout::Text, tone) if tone.starts_with("key-tone-") => {
                let name = tone.trim_start_matches("key-tone-");
                let Some(tone) = Tone::MARKED.into_iter().find(|t| t.key() == name) else {
                    return Pressed::Unknown;
                };
                if let Some(t) = compose::press_tone(&self.text, tone, STYLE) {
                    self.text = t;
                }
                return Pressed::Changed;
            }
            (layout, id) => {
                let Some(c) = char_of(layout, id) else {
                    return Pressed::Unknown;
                };
                if self.text.chars().count() < self.max {
                    self.text = if layout == Layout::Text {
                        let c = if self.shift {
                            c.to_uppercase().next().unwrap_or(c)
                        } else {
                            c
                        };
                        compose::press_char(&self.text, c, STYLE)
                    } else {
                        let mut t = self.text.clone();
                        t.push(c);
                        t
                    };
                }
            }
        }
        self.shift = self.auto_shift();
        Pressed::Changed
    }
}

/// The character a key types on a layout.
fn char_of(layout: Layout, id: &str) -> Option<char> {
    let rest = id.strip_prefix("key-")?;
    let mut chars = rest.chars();
    let single = match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    };
    match (layout, single) {
        (_, Some(d)) if d.is_ascii_digit() => Some(d),
        (Layout::Text, Some(l)) if l.is_ascii_lowercase() => Some(l),
        (Layout::Text, _) if rest == "space" => Some(' '),
        (Layout::Text, _) => MARKED_LETTERS
            .iter()
            .chain(SIGNS.iter())
            .find(|(_, key)| *key == id)
            .map(|(c, _)| *c),
        _ => None,
    }
}

/// The keys that type `text` on `layout` from an empty field, in order
/// (a letter with a tone: its base letter, then the tone key; a capital:
/// shift first unless shift is on by itself). `None` when a character has
/// no key. The scenario runner types through these.
pub fn keys_for(text: &str, field: &FieldView) -> Option<Vec<String>> {
    let mut typing = Typing::open(&FieldView {
        value: None,
        ..field.clone()
    });
    let mut keys = Vec::new();
    fn press(typing: &mut Typing, id: String, keys: &mut Vec<String>) {
        typing.press(&id);
        keys.push(id);
    }
    match typing.layout {
        Layout::Options => {
            let (id, _, _) = typing.options().find(|(_, o, _)| *o == text)?;
            return Some(vec![id]);
        }
        Layout::Digits | Layout::Date => {
            for c in text.chars().filter(|c| *c != '/') {
                c.is_ascii_digit().then_some(())?;
                press(&mut typing, format!("key-{c}"), &mut keys);
            }
        }
        Layout::Text => {
            let nfc = compose::nfc(text);
            for c in nfc.chars() {
                let tone = compose::tone_of(&c.to_string());
                let base = compose::strip_tone(&c.to_string())
                    .chars()
                    .next()
                    .unwrap_or(c);
                let lower = base.to_lowercase().next().unwrap_or(base);
                let id = match lower {
                    ' ' => "key-space".to_owned(),
                    l if l.is_ascii_lowercase() || l.is_ascii_digit() => format!("key-{l}"),
                    l => MARKED_LETTERS
                        .iter()
                        .chain(SIGNS.iter())
                        .find(|(m, _)| *m == l)
                        .map(|(_, id)| (*id).to_owned())?,
                };
                let capital = base != lower;
                if capital != typing.shift && lower.is_alphabetic() {
                    press(&mut typing, "key-shift".into(), &mut keys);
                }
                press(&mut typing, id, &mut keys);
                if tone != Tone::Level && compose::tone_of(compose::last_word(&typing.text)) != tone
                {
                    press(&mut typing, format!("key-tone-{}", tone.key()), &mut keys);
                }
            }
        }
    }
    Some(keys)
}

fn pick<'a>(vi: bool, v: &'a str, e: &'a str) -> &'a str {
    if vi { v } else { e }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_firmware::requests::form::Source;

    fn field(name: &str, kind: FieldType) -> FieldView {
        FieldView {
            name: name.into(),
            label_vi: "Nhãn".into(),
            label_en: "Label".into(),
            value: None,
            source: Source::Citizen,
            editable: true,
            required: true,
            kind,
            max_len: None,
            options: Vec::new(),
            min: None,
            max: None,
        }
    }

    fn type_all(t: &mut Typing, keys: &[String]) {
        for k in keys {
            assert_eq!(t.press(k), Pressed::Changed, "{k}");
        }
    }

    fn done(t: &mut Typing) -> String {
        match t.press("key-done") {
            Pressed::Done(v) => v.to_string(),
            other => panic!("not done: {other:?}"),
        }
    }

    #[test]
    fn each_field_type_gets_its_keyboard() {
        assert_eq!(Layout::for_kind(FieldType::Phone), Layout::Digits);
        assert_eq!(Layout::for_kind(FieldType::IdNumber), Layout::Digits);
        assert_eq!(Layout::for_kind(FieldType::Number), Layout::Digits);
        assert_eq!(Layout::for_kind(FieldType::Date), Layout::Date);
        assert_eq!(Layout::for_kind(FieldType::Text), Layout::Text);
        assert_eq!(Layout::for_kind(FieldType::Choice), Layout::Options);
        let t = Typing::open(&field("phone", FieldType::Phone));
        assert!(t.keys(Language::Vietnamese).iter().all(|k| k.id != "key-a"));
    }

    #[test]
    fn a_phone_number_stops_at_eleven_digits_and_letters_are_not_keys() {
        let mut t = Typing::open(&field("phone", FieldType::Phone));
        for _ in 0..15 {
            t.press("key-9");
        }
        assert_eq!(t.press("key-a"), Pressed::Unknown);
        assert_eq!(done(&mut t), "99999999999");
    }

    #[test]
    fn a_date_gets_its_slashes_and_shows_its_blanks() {
        let mut t = Typing::open(&field("from_date", FieldType::Date));
        type_all(&mut t, &["key-0".into(), "key-1".into(), "key-1".into()]);
        assert_eq!(t.display().as_str(), "01/1_/____");
        assert_eq!(done(&mut t), "01/1");
        let mut f = field("from_date", FieldType::Date);
        f.value = Some("01/12/2026".into());
        let mut t = Typing::open(&f);
        assert_eq!(done(&mut t), "01/12/2026", "it starts from the value");
    }

    #[test]
    fn vietnamese_words_come_from_letters_marks_and_tones() {
        let mut t = Typing::open(&field("temporary_address", FieldType::Text));
        assert!(t.shift(), "the text starts with a capital");
        let keys = keys_for(
            "Số 5 Ngõ Mẫu, Phường Cầu Giấy, Hà Nội",
            &field("x", FieldType::Text),
        )
        .expect("every letter has keys");
        assert!(keys.contains(&"key-tone-nga".to_owned()));
        assert!(keys.contains(&"key-o-horn".to_owned()));
        type_all(&mut t, &keys);
        assert_eq!(done(&mut t), "Số 5 Ngõ Mẫu, Phường Cầu Giấy, Hà Nội");
    }

    #[test]
    fn a_name_field_capitalises_every_word_and_shift_gives_one_capital() {
        let mut t = Typing::open(&field("child_name", FieldType::Text));
        let word = |w: &str| w.chars().map(|c| format!("key-{c}")).collect::<Vec<_>>();
        type_all(&mut t, &word("tran"));
        t.press("key-space");
        assert!(t.shift());
        type_all(&mut t, &word("an"));
        assert_eq!(done(&mut t), "Tran An");
        let mut t = Typing::open(&field("purpose", FieldType::Text));
        type_all(&mut t, &word("xin"));
        t.press("key-space");
        assert!(!t.shift(), "a free text capitalises only its start");
        t.press("key-shift");
        type_all(&mut t, &word("vn"));
        assert_eq!(done(&mut t), "Xin Vn");
    }

    #[test]
    fn text_stops_at_the_fields_maximum() {
        let mut f = field("child_name", FieldType::Text);
        f.max_len = Some(3);
        let mut t = Typing::open(&f);
        for k in ["key-a", "key-b", "key-c", "key-d"] {
            t.press(k);
        }
        t.press("key-tone-sac");
        assert_eq!(done(&mut t), "Ábc");
    }

    #[test]
    fn a_choice_is_picked_with_one_touch() {
        let mut f = field("reason", FieldType::Choice);
        f.options = vec!["Học tập".into(), "Làm việc".into()];
        let mut t = Typing::open(&f);
        assert_eq!(keys_for("Làm việc", &f), Some(vec!["option-1".to_owned()]));
        assert_eq!(t.press("option-7"), Pressed::Unknown);
        assert_eq!(
            t.press("option-1"),
            Pressed::Done(Zeroizing::new("Làm việc".into()))
        );
    }

    #[test]
    fn cancel_hands_nothing_over_and_debug_prints_no_text() {
        let mut f = field("phone", FieldType::Phone);
        f.value = Some("0912345678".into());
        let mut t = Typing::open(&f);
        assert!(!format!("{t:?}").contains("0912"));
        t.press("key-backspace");
        assert_eq!(t.press("key-cancel"), Pressed::Cancelled);
    }

    #[test]
    fn letter_keys_sit_inside_the_grid_without_overlapping() {
        let t = Typing::open(&field("x", FieldType::Text));
        let keys = t.keys(Language::Vietnamese);
        let mut taken = std::collections::HashSet::new();
        for k in &keys {
            assert!(k.col + k.span <= COLUMNS && k.row < t.rows(), "{k:?}");
            for c in k.col..k.col + k.span {
                assert!(taken.insert((k.row, c)), "{} overlaps", k.id);
            }
        }
        let ids: std::collections::HashSet<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids.len(), keys.len(), "ids are unique");
    }
}
