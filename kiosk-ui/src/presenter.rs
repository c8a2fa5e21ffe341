//! What the screens show, and what a touch means: plain Rust, no Slint.
//!
//! The [`Presenter`] holds the UI's own state — the language, the
//! sub-screens of a step (language choice, keypad, service list) and the
//! digits typed on the keypad — and turns the firmware's [`SessionView`]
//! into a [`ScreenModel`] that the adapters copy into the Slint globals.
//! A touch arrives as a button id ([`Presenter::touch`]); only ids the
//! current screen offers are accepted, so a scenario can "touch" exactly
//! what a citizen could.
//!
//! On the request form, touching a typed row (`field-<name>`) opens the
//! input screen for it ([`crate::keyboard`]): the keys change only the UI's
//! text; Done hands the value over as [`Touch::Field`] (the runtime sets it
//! through its `FormField` input, and the form names its problem), Cancel
//! leaves the field as it was.
//!
//! Privacy: the keypad digits and the text being typed are zeroized when
//! the input screen closes, when the step changes and when a journey ends;
//! the language goes back to Vietnamese at the end of every journey.

use crate::keyboard::{Pressed, Typing};
pub use crate::model::{Choice, FaceBox, Offer, Row, ScreenModel, Typed};
use crate::texts::{Label, label, rating_label};
use crate::{Language, Screen, guidance};
use kiosk_firmware::face::check::Hint;
use kiosk_firmware::session::{
    AccessKey, Event, Input, MenuChoice, SessionView, StaffReason, StepKind, Verification,
};
use kiosk_firmware::staff::{StaffInput, StaffScreen, StaffView};
use kiosk_firmware::time::Timestamp;
use zeroize::{Zeroize, Zeroizing};

/// What a touch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    /// An input for the session.
    Input(Input),
    /// Only the UI changed (sub-screen, keypad, language): the session
    /// should still hear it as activity.
    Local,
    /// Done on the input screen: the value typed into the form's field
    /// `name` (the runtime's `FormField` input).
    Field {
        /// The field's name.
        name: String,
        /// What was typed.
        value: Typed,
    },
    /// No such button on this screen.
    Ignored,
    /// A staff-mode touch for the runtime.
    Staff(StaffInput),
}

/// The request form as the runtime prepared it (personal data: forgotten
/// with the step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestForm {
    /// The procedure's Vietnamese name.
    pub name_vi: String,
    /// Its English name.
    pub name_en: String,
    /// The rows: chip-filled (read-only) and typed.
    pub fields: Vec<kiosk_firmware::requests::form::FieldView>,
    /// What is wrong with it, after "Continue".
    pub problems: Vec<kiosk_firmware::requests::FieldProblem>,
}

/// The UI's own sub-screens of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sub {
    Language,
    Keypad,
    Services,
    Typing,
}

/// Digits typed on the keypad (personal data: zeroized).
#[derive(Debug, Default, Zeroize)]
struct Entry {
    id: String,
    dob: String,
    field: u8,
}

const ID_DIGITS: usize = 12;
const DOB_DIGITS: usize = 8;

/// The UI's state and the mapping from the session's view to screens.
#[derive(Debug)]
pub struct Presenter {
    lang: Language,
    sub: Option<Sub>,
    entry: Entry,
    services: Vec<Offer>,
    procedures: Vec<Offer>,
    view: SessionView,
    now: Timestamp,
    form: Option<RequestForm>,
    consent: Option<(String, String)>,
    typing: Option<Typing>,
    /// Staff mode, while open.
    staff: Option<StaffView>,
    /// Whether the attract screen offers the staff button.
    staff_button: bool,
}

impl Presenter {
    /// A presenter showing `view`, offering `services` to take a number for
    /// and `procedures` to file requests for.
    pub fn new(view: SessionView, services: Vec<Offer>, procedures: Vec<Offer>) -> Presenter {
        Presenter {
            lang: Language::default(),
            sub: None,
            entry: Entry::default(),
            services,
            procedures,
            view,
            now: Timestamp::ZERO,
            form: None,
            consent: None,
            typing: None,
            staff: None,
            staff_button: false,
        }
    }

    /// Shows staff mode (`Some`) over the attract screen, or closes it.
    pub fn set_staff(&mut self, staff: Option<StaffView>) {
        if staff.is_some() && self.staff.is_none() {
            self.sub = None;
        }
        self.staff = staff;
    }

    /// Whether the attract screen offers the staff button (a PIN is
    /// configured).
    pub fn set_staff_button(&mut self, shown: bool) {
        self.staff_button = shown;
    }

    /// New services and procedures for the menu (configuration reloaded).
    pub fn set_offers(&mut self, services: Vec<Offer>, procedures: Vec<Offer>) {
        self.services = services;
        self.procedures = procedures;
    }

    /// The request form and the consent notice (Vietnamese, English) while
    /// the session is on those screens.
    pub fn set_request(&mut self, form: Option<RequestForm>, consent: Option<(String, String)>) {
        if form.is_some() {
            self.form = form;
        }
        if consent.is_some() {
            self.consent = consent;
        }
    }

    /// The language in use.
    pub fn language(&self) -> Language {
        self.lang
    }

    /// The session view shown.
    pub fn view(&self) -> &SessionView {
        &self.view
    }

    /// The runtime's clock, for the countdown.
    pub fn set_now(&mut self, now: Timestamp) {
        self.now = now;
    }

    /// Whether the UI holds anything personal of its own (typed digits, or
    /// a view with holder data).
    pub fn holds_personal_data(&self) -> bool {
        !self.entry.id.is_empty()
            || !self.entry.dob.is_empty()
            || self.view.holder_name.is_some()
            || self.view.holder_masked_id.is_some()
            || self.view.holder_date_of_birth.is_some()
            || self.form.is_some()
            || self.typing.is_some()
    }

    /// Takes a new view and the events since the last one. Returns whether
    /// the screen changed (for the audio guidance).
    pub fn update(&mut self, view: &SessionView, events: &[Event]) -> bool {
        let before = self.screen();
        let before_guidance = guidance(&self.view, self.lang);
        if view.step != self.view.step {
            self.sub = None;
            self.entry.zeroize();
            self.typing = None;
            if view.step != StepKind::ExpectForm && view.step != StepKind::ExpectRequestConsent {
                self.form = None;
                self.consent = None;
            }
        }
        if events.iter().any(|e| matches!(e, Event::Ended(_))) {
            self.sub = None;
            self.entry.zeroize();
            self.typing = None;
            self.lang = Language::Vietnamese;
        }
        self.view = view.clone();
        self.screen() != before || guidance(&self.view, self.lang) != before_guidance
    }

    /// The screen up now.
    pub fn screen(&self) -> Screen {
        match &self.staff {
            Some(s) if s.screen == StaffScreen::Pin => return Screen::StaffPin,
            Some(_) => return Screen::StaffPanel,
            None => {}
        }
        match self.sub {
            Some(Sub::Language) => Screen::Language,
            Some(Sub::Keypad) => Screen::Keypad,
            Some(Sub::Services) => Screen::Services,
            Some(Sub::Typing) => Screen::TextEntry,
            None => Screen::of(self.view.step),
        }
    }

    /// What the audio guidance says on this screen.
    pub fn spoken(&self) -> String {
        let m = self.model();
        format!("{}. {}", m.title, m.prompt)
    }

    /// Everything the screen shows now.
    pub fn model(&self) -> ScreenModel {
        let lang = self.lang;
        let t = |l| label(l, lang).to_owned();
        let screen = self.screen();
        let (title, prompt) = match (self.sub, &self.typing) {
            (Some(Sub::Typing), Some(typing)) => (typing.label(lang).to_owned(), typing.hint(lang)),
            (Some(_), _) => {
                let (title, prompt) = crate::screen_text(screen, lang);
                (title.to_owned(), prompt.to_owned())
            }
            (None, _) => {
                let g = guidance(&self.view, lang);
                (g.title.to_owned(), g.prompt.to_owned())
            }
        };
        let v = &self.view;
        let mut m = ScreenModel {
            screen,
            title,
            prompt,
            step_label: match step_number(screen) {
                Some(n) => format!("{} {n} {} 4", t(Label::Step), t(Label::Of)),
                None => String::new(),
            },
            choices: Vec::new(),
            actions: Vec::new(),
            fields: Vec::new(),
            read_percent: v.read_percent.unwrap_or(0),
            face_box: None,
            face_progress: 0,
            face_attempt: String::new(),
            face_good: false,
            entry_id: String::new(),
            entry_dob: String::new(),
            entry_field: self.entry.field,
            keys: Vec::new(),
            entry_text: String::new(),
            key_grid: Vec::new(),
            key_rows: 0,
            key_height: 0.0,
            big_number: String::new(),
            service_name: String::new(),
            waiting: String::new(),
            printed: true,
            countdown: match (v.warning, v.deadline) {
                (true, Some(deadline)) => {
                    let ms = deadline.saturating_since(self.now).as_millis();
                    Some(u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX))
                }
                _ => None,
            },
            warning_action: Choice::new("more-time", t(Label::MoreTime), true),
            corner: None,
            staff_rows: Vec::new(),
            staff_result: String::new(),
            staff_result_ok: true,
            pin_dots: String::new(),
            pin_label: String::new(),
            staff_notice: String::new(),
            staff_notice_alert: false,
        };
        if let Some(staff) = &self.staff {
            m.countdown = None;
            crate::staff::model(staff, lang, &mut m);
            return m;
        }
        let c = |id: &str, l: Label, primary: bool| Choice::new(id, t(l), primary);
        match screen {
            Screen::Attract => {
                m.actions = vec![
                    c("language", Label::LanguageButton, false),
                    c("take-number", Label::TakeNumber, true),
                ];
                if self.staff_button {
                    m.corner = Some(Choice::new(
                        "staff",
                        match lang {
                            Language::Vietnamese => "Nhân viên",
                            Language::English => "Staff",
                        },
                        false,
                    ));
                }
            }
            // Filled by `crate::staff::model` above.
            Screen::StaffPin | Screen::StaffPanel => {}
            Screen::Language => {
                m.choices = vec![
                    Choice::new("lang-vi", "Tiếng Việt", lang == Language::Vietnamese),
                    Choice::new("lang-en", "English", lang == Language::English),
                ];
                m.actions = vec![c("back", Label::Back, false)];
            }
            Screen::AccessKey => {
                m.actions = vec![
                    c("cancel", Label::Cancel, false),
                    c("type-key", Label::TypeKey, true),
                ];
            }
            Screen::Keypad => {
                m.entry_id = self.entry.id.clone();
                m.entry_dob = dob_display(&self.entry.dob);
                m.keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
                    .iter()
                    .map(|d| Choice::new(format!("key-{d}"), *d, false))
                    .chain([
                        c("key-del", Label::Delete, false),
                        Choice::new("key-0", "0", false),
                        c("key-ok", Label::Next, true),
                    ])
                    .collect();
                m.actions = vec![c("back", Label::Back, false)];
            }
            Screen::Reading | Screen::Printing | Screen::Submitting => {}
            Screen::Confirm => {
                m.fields = self.holder_fields();
                m.actions = vec![c("not-me", Label::NotMe, false), c("yes", Label::Yes, true)];
            }
            Screen::FaceConsent | Screen::RequestConsent => {
                if screen == Screen::RequestConsent
                    && let Some((vi, en)) = &self.consent
                {
                    m.fields = vec![Row::new(
                        String::new(),
                        match lang {
                            Language::Vietnamese => vi.clone(),
                            Language::English => en.clone(),
                        },
                    )];
                }
                m.actions = vec![
                    c("decline", Label::Decline, false),
                    c("agree", Label::Agree, true),
                ];
            }
            Screen::IdentityConsent => {
                m.fields = self.holder_fields();
                let by = match v.verification {
                    Some(Verification::FaceMatched) => Some(Label::ByFace),
                    Some(Verification::StaffConfirmed) => Some(Label::ByStaff),
                    Some(Verification::Guardian) => Some(Label::ByGuardian),
                    Some(Verification::Anonymous) | None => None,
                };
                if let Some(by) = by {
                    m.fields
                        .push(Row::new(label(Label::VerifiedBy, lang), t(by)));
                }
                if let Some(code) = &v.consent_service {
                    let name = self
                        .services
                        .iter()
                        .find(|s| &s.code == code)
                        .map_or(code.as_str(), |s| s.name(lang));
                    m.fields
                        .push(Row::new(label(Label::Service, lang), name.to_owned()));
                }
                for (l, value) in [
                    (Label::FormRow, Label::FormValue),
                    (Label::Why, Label::WhyValue),
                    (Label::ToWhom, Label::ToWhomValue),
                    (Label::KeptUntil, Label::KeptUntilValue),
                ] {
                    m.fields.push(Row::new(label(l, lang), t(value)));
                }
                m.actions = vec![
                    c("dont-share", Label::DontShare, false),
                    c("share", Label::Share, true),
                ];
            }
            Screen::FaceCheck => {
                if let Some(g) = v.face_guide {
                    m.face_box = g.face_box.map(|[x, y, w, h]| FaceBox {
                        x: f32::from(x) / 1000.0,
                        y: f32::from(y) / 1000.0,
                        w: f32::from(w) / 1000.0,
                        h: f32::from(h) / 1000.0,
                    });
                    m.face_progress = g.progress_percent.min(100);
                    m.face_good = g.hint == Hint::Good;
                }
                if let Some(a) = v.face_attempt {
                    m.face_attempt = format!("{} {a}", t(Label::Attempt));
                }
                m.actions = vec![c("cancel", Label::Cancel, false)];
            }
            // The citizen's own screen never offers a bare approve: only
            // once staff entered the PIN on this step (`staff_authorized`).
            Screen::StaffAssist if v.staff_authorized => {
                m.actions = vec![
                    c("staff-refuse", Label::StaffRefuse, false),
                    c("staff-approve", Label::StaffApprove, false),
                ];
            }
            Screen::StaffAssist => {
                m.actions = vec![c("staff-pin", Label::StaffEnterPin, false)];
                if v.staff_reason == Some(StaffReason::FaceCheckDeclined) {
                    m.actions.insert(0, c("cancel", Label::Cancel, false));
                }
            }
            Screen::OutOfService => {
                m.actions = vec![c("staff-pin", Label::StaffEnterPin, false)];
            }
            Screen::Menu => {
                m.choices.push(c("take-number", Label::TakeNumber, true));
                if v.holder_name.is_some() {
                    for p in &self.procedures {
                        m.choices.push(Choice::new(
                            format!("request-{}", p.code),
                            format!("{}: {}", t(Label::SubmitRequest), p.name(lang)),
                            false,
                        ));
                    }
                }
                m.actions = vec![c("finish", Label::Finish, false)];
            }
            Screen::Services => {
                m.choices = self
                    .services
                    .iter()
                    .map(|s| {
                        Choice::new(
                            format!("service-{}", s.code),
                            format!("{}  {}", s.code, s.name(lang)),
                            false,
                        )
                    })
                    .collect();
                m.actions = vec![c("back", Label::Back, false)];
            }
            Screen::Ticket => {
                if let Some(ticket) = &v.ticket {
                    m.big_number = ticket.number.clone();
                    m.service_name = self
                        .services
                        .iter()
                        .find(|s| s.code == ticket.service)
                        .map_or_else(|| ticket.service.clone(), |s| s.name(lang).to_owned());
                    m.waiting = if ticket.printed {
                        format!("{} {}", ticket.waiting, t(Label::Waiting))
                    } else {
                        t(Label::NotPrinted)
                    };
                    m.printed = ticket.printed;
                }
                m.actions = vec![c("continue", Label::Continue, true)];
            }
            Screen::Form => {
                m.fields = match &self.form {
                    Some(form) => self.form_fields(form),
                    None => self.holder_fields(),
                };
                if let Some(form) = &self.form {
                    m.title = match lang {
                        Language::Vietnamese => form.name_vi.clone(),
                        Language::English => form.name_en.clone(),
                    };
                    for p in &form.problems {
                        m.prompt.push('\n');
                        m.prompt.push_str(match lang {
                            Language::Vietnamese => &p.message_vi,
                            Language::English => &p.message_en,
                        });
                    }
                }
                m.actions = vec![
                    c("back", Label::Back, false),
                    c("form-ok", Label::FormOk, true),
                ];
            }
            Screen::TextEntry => {
                if let Some(typing) = &self.typing {
                    m.entry_text = typing.display().to_string();
                    m.key_grid = typing.keys(lang);
                    m.key_rows = typing.rows();
                    m.key_height = if typing.rows() > 4 { 116.0 } else { 150.0 };
                    m.choices = typing
                        .options()
                        .map(|(id, label, current)| Choice::new(id, label, current))
                        .collect();
                    m.actions = vec![c("key-cancel", Label::Cancel, false)];
                    if typing.layout() != crate::keyboard::Layout::Options {
                        m.actions.push(c("key-done", Label::Done, true));
                    }
                }
            }
            Screen::Receipt => {
                if let Some(r) = &v.receipt {
                    m.big_number = r.code.clone();
                    m.waiting = t(if r.delivered {
                        Label::ReceiptDelivered
                    } else {
                        Label::ReceiptQueued
                    });
                }
                m.actions = vec![c("continue", Label::Continue, true)];
            }
            Screen::Rating => {
                m.choices = (1..=5)
                    .rev()
                    .map(|n| Choice::new(format!("rate-{n}"), rating_label(n, lang), false))
                    .collect();
                m.actions = vec![c("skip", Label::Skip, false)];
            }
            Screen::Goodbye | Screen::Notice => {
                m.actions = vec![c("continue", Label::Continue, true)];
            }
        }
        m
    }

    fn form_fields(&self, form: &RequestForm) -> Vec<Row> {
        form.fields
            .iter()
            .map(|f| {
                let label = match self.lang {
                    Language::Vietnamese => &f.label_vi,
                    Language::English => &f.label_en,
                };
                let mark = if f.required { " *" } else { "" };
                let value = match &f.value {
                    // The screen masks the ID number as everywhere else; the
                    // request itself carries it whole.
                    Some(v) if f.name == "id_number" => mask(v),
                    Some(v) => v.clone(),
                    None => "—".into(),
                };
                Row {
                    label: format!("{label}{mark}"),
                    value,
                    id: if f.editable {
                        format!("field-{}", f.name)
                    } else {
                        String::new()
                    },
                    problem: form.problems.iter().any(|p| p.field == f.name),
                }
            })
            .collect()
    }

    fn holder_fields(&self) -> Vec<Row> {
        let v = &self.view;
        let lang = self.lang;
        [
            (Label::FullName, v.holder_name.clone()),
            (Label::DateOfBirth, v.holder_date_of_birth.clone()),
            (Label::IdNumber, v.holder_masked_id.clone()),
        ]
        .into_iter()
        .filter_map(|(l, value)| value.map(|value| Row::new(label(l, lang), value)))
        .collect()
    }

    /// A touch on the button `id`.
    pub fn touch(&mut self, id: &str) -> Touch {
        let model = self.model();
        if !model.touchable().any(|t| t == id) {
            return Touch::Ignored;
        }
        let input = |i| Touch::Input(i);
        if let Some(staff) = &self.staff {
            return crate::staff::touch(staff.screen, id).map_or(Touch::Ignored, Touch::Staff);
        }
        match (model.screen, id) {
            (Screen::Attract, "staff") => Touch::Staff(StaffInput::Open),
            (_, "more-time") => input(Input::Extend),
            (_, "cancel") => input(Input::Cancel),
            (Screen::Attract, "language") => self.open(Sub::Language),
            (Screen::Attract, "take-number") => input(Input::WalkIn),
            (Screen::Language, "lang-vi") => self.set_language(Language::Vietnamese),
            (Screen::Language, "lang-en") => self.set_language(Language::English),
            (Screen::Language | Screen::Services, "back") => self.close(),
            (Screen::Keypad, "back") => {
                self.entry.zeroize();
                self.close()
            }
            (Screen::AccessKey, "type-key") => self.open(Sub::Keypad),
            (Screen::Keypad, key) => self.key(key),
            (Screen::Confirm, "yes") => input(Input::Confirm(true)),
            (Screen::Confirm, "not-me") => input(Input::Confirm(false)),
            (Screen::FaceConsent | Screen::RequestConsent, "agree") => input(Input::Consent(true)),
            (Screen::FaceConsent | Screen::RequestConsent, "decline") => {
                input(Input::Consent(false))
            }
            (Screen::IdentityConsent, "share") => input(Input::Consent(true)),
            (Screen::IdentityConsent, "dont-share") => input(Input::Consent(false)),
            (Screen::StaffAssist | Screen::OutOfService, "staff-pin") => {
                Touch::Staff(StaffInput::Open)
            }
            (Screen::StaffAssist, "staff-approve") => input(Input::StaffDecision(true)),
            (Screen::StaffAssist, "staff-refuse") => input(Input::StaffDecision(false)),
            (Screen::Menu, "take-number") => self.open(Sub::Services),
            (Screen::Menu, "finish") => input(Input::Choose(MenuChoice::Finish)),
            (Screen::Menu, id) if id.starts_with("request-") => {
                input(Input::Choose(MenuChoice::SubmitRequest {
                    procedure: id.trim_start_matches("request-").to_owned(),
                }))
            }
            (Screen::Services, id) if id.starts_with("service-") => {
                input(Input::Choose(MenuChoice::TakeNumber {
                    service: id.trim_start_matches("service-").to_owned(),
                    priority: None,
                }))
            }
            (Screen::Form, id) if id.starts_with("field-") => self.open_field(id),
            (Screen::TextEntry, key) => self.type_key(key),
            (Screen::Form, "form-ok") => input(Input::FormConfirmed),
            (Screen::Form, "back") => input(Input::Back),
            (Screen::Rating, "skip") => input(Input::Rated(None)),
            (Screen::Rating, id) if id.starts_with("rate-") => {
                match id.trim_start_matches("rate-").parse::<u8>() {
                    Ok(n) => input(Input::Rated(Some(n))),
                    Err(_) => Touch::Ignored,
                }
            }
            (_, "continue") => input(Input::Continue),
            _ => Touch::Ignored,
        }
    }

    fn open(&mut self, sub: Sub) -> Touch {
        self.sub = Some(sub);
        Touch::Local
    }

    fn close(&mut self) -> Touch {
        self.sub = None;
        self.typing = None;
        Touch::Local
    }

    fn open_field(&mut self, id: &str) -> Touch {
        let name = id.trim_start_matches("field-");
        let field = self
            .form
            .as_ref()
            .and_then(|f| f.fields.iter().find(|f| f.name == name && f.editable));
        match field {
            Some(field) => {
                self.typing = Some(Typing::open(field));
                self.open(Sub::Typing)
            }
            None => Touch::Ignored,
        }
    }

    fn type_key(&mut self, key: &str) -> Touch {
        let Some(typing) = self.typing.as_mut() else {
            return Touch::Ignored;
        };
        match typing.press(key) {
            Pressed::Changed => Touch::Local,
            Pressed::Cancelled => self.close(),
            Pressed::Unknown => Touch::Ignored,
            Pressed::Done(mut value) => {
                let name = typing.field().to_owned();
                let value = Typed(Zeroizing::new(std::mem::take(&mut *value)));
                self.close();
                Touch::Field { name, value }
            }
        }
    }

    fn set_language(&mut self, lang: Language) -> Touch {
        self.lang = lang;
        self.close()
    }

    fn key(&mut self, key: &str) -> Touch {
        let e = &mut self.entry;
        match key {
            "key-del" => {
                if e.field == 1 && e.dob.is_empty() {
                    e.field = 0;
                } else if e.field == 1 {
                    e.dob.pop();
                } else {
                    e.id.pop();
                }
                Touch::Local
            }
            "key-ok" if e.field == 0 => {
                if e.id.len() == ID_DIGITS {
                    e.field = 1;
                }
                Touch::Local
            }
            "key-ok" => match yymmdd(&e.dob) {
                Some(date_of_birth) if e.id.len() == ID_DIGITS => {
                    let key = AccessKey::IdAndBirthDate {
                        id_number: e.id.clone(),
                        date_of_birth,
                    };
                    e.zeroize();
                    self.sub = None;
                    Touch::Input(Input::AccessKey(key))
                }
                _ => Touch::Local,
            },
            digit => {
                let d = digit.trim_start_matches("key-");
                if d.len() == 1 && d.bytes().all(|b| b.is_ascii_digit()) {
                    let (field, max) = if e.field == 0 {
                        (&mut e.id, ID_DIGITS)
                    } else {
                        (&mut e.dob, DOB_DIGITS)
                    };
                    if field.len() < max {
                        field.push_str(d);
                    }
                    if e.field == 0 && e.id.len() == ID_DIGITS && e.dob.is_empty() {
                        e.field = 1;
                    }
                    Touch::Local
                } else {
                    Touch::Ignored
                }
            }
        }
    }
}

/// All but the last 4 characters hidden.
fn mask(v: &str) -> String {
    let n = v.chars().count();
    v.chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '•' } else { c })
        .collect()
}

/// Which of the four stages a screen belongs to.
fn step_number(screen: Screen) -> Option<u8> {
    match screen {
        Screen::AccessKey | Screen::Keypad | Screen::Reading | Screen::Confirm => Some(1),
        Screen::FaceConsent | Screen::FaceCheck | Screen::StaffAssist => Some(2),
        Screen::Menu
        | Screen::Services
        | Screen::Printing
        | Screen::Form
        | Screen::TextEntry
        | Screen::RequestConsent
        | Screen::IdentityConsent
        | Screen::Submitting => Some(3),
        Screen::Ticket | Screen::Receipt | Screen::Rating | Screen::Goodbye => Some(4),
        Screen::Attract
        | Screen::Language
        | Screen::Notice
        | Screen::OutOfService
        | Screen::StaffPin
        | Screen::StaffPanel => None,
    }
}

/// `ddmmyyyy` typed so far, shown as `dd/mm/yyyy` with blanks.
fn dob_display(digits: &str) -> String {
    let mut out = String::new();
    let mut typed = digits.chars();
    for blank in "dd/mm/yyyy".chars() {
        if blank == '/' {
            out.push('/');
        } else {
            out.push(typed.next().unwrap_or('_'));
        }
    }
    out
}

/// `ddmmyyyy` as the `YYMMDD` of the access key, if it is a date.
fn yymmdd(digits: &str) -> Option<String> {
    if digits.len() != DOB_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: u8 = digits.get(0..2)?.parse().ok()?;
    let month: u8 = digits.get(2..4)?.parse().ok()?;
    let year: u16 = digits.get(4..8)?.parse().ok()?;
    if !(1..=31).contains(&day) || !(1..=12).contains(&month) || !(1900..=2100).contains(&year) {
        return None;
    }
    Some(format!("{:02}{month:02}{day:02}", year % 100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_firmware::session::{Session, SessionConfig};

    fn presenter(step: StepKind) -> Presenter {
        let mut v = Session::new(SessionConfig::default(), Timestamp::ZERO).view();
        v.step = step;
        Presenter::new(
            v,
            vec![Offer {
                code: "A".into(),
                name_vi: "Hộ tịch".into(),
                name_en: "Civil status".into(),
            }],
            Vec::new(),
        )
    }

    #[test]
    fn the_keypad_builds_the_access_key_and_forgets_the_digits() {
        let mut p = presenter(StepKind::ExpectAccessKey);
        assert_eq!(p.touch("type-key"), Touch::Local);
        assert_eq!(p.screen(), Screen::Keypad);
        for d in "003090000001".chars() {
            assert_eq!(p.touch(&format!("key-{d}")), Touch::Local);
        }
        assert_eq!(p.model().entry_field, 1, "a full ID moves to the date");
        for d in "1501199".chars() {
            p.touch(&format!("key-{d}"));
        }
        assert_eq!(p.model().entry_dob, "15/01/199_");
        assert_eq!(p.touch("key-ok"), Touch::Local, "an incomplete date waits");
        p.touch("key-0");
        let Touch::Input(Input::AccessKey(key)) = p.touch("key-ok") else {
            panic!("a complete entry gives the key");
        };
        assert_eq!(
            key,
            AccessKey::IdAndBirthDate {
                id_number: "003090000001".into(),
                date_of_birth: "900115".into()
            }
        );
        assert!(!p.holds_personal_data());
    }

    #[test]
    fn the_identity_consent_screen_lists_what_goes_to_the_counter_and_both_buttons_answer() {
        let mut v = Session::new(SessionConfig::default(), Timestamp::ZERO).view();
        v.step = StepKind::ExpectIdentityConsent;
        v.holder_name = Some("NGUYỄN VĂN MẪU".into());
        v.holder_date_of_birth = Some("15/01/1990".into());
        v.holder_masked_id = Some("••••••••0001".into());
        v.verification = Some(Verification::FaceMatched);
        v.consent_service = Some("A".into());
        let mut p = Presenter::new(
            v,
            vec![Offer {
                code: "A".into(),
                name_vi: "Hộ tịch".into(),
                name_en: "Civil status".into(),
            }],
            Vec::new(),
        );
        let m = p.model();
        assert_eq!(m.screen, Screen::IdentityConsent);
        let values: Vec<&str> = m.fields.iter().map(|r| r.value.as_str()).collect();
        for expected in [
            "NGUYỄN VĂN MẪU",
            "15/01/1990",
            "••••••••0001",
            "Hộ tịch",
            "Khuôn mặt khớp ảnh trong chip thẻ",
            "Chỉ quầy gọi số của bạn",
        ] {
            assert!(values.contains(&expected), "{expected} in {values:?}");
        }
        assert!(p.spoken().starts_with("Gửi thông tin cho quầy?"));
        assert_eq!(p.touch("dont-share"), Touch::Input(Input::Consent(false)));
        assert_eq!(p.touch("share"), Touch::Input(Input::Consent(true)));
        assert_eq!(p.touch("agree"), Touch::Ignored);
    }

    #[test]
    fn only_the_buttons_on_screen_can_be_touched() {
        let mut p = presenter(StepKind::Attract);
        assert_eq!(p.touch("yes"), Touch::Ignored);
        assert_eq!(p.touch("take-number"), Touch::Input(Input::WalkIn));
        let mut p = presenter(StepKind::Menu);
        assert_eq!(
            p.touch("service-A"),
            Touch::Ignored,
            "services are a sub-screen"
        );
        assert_eq!(p.touch("take-number"), Touch::Local);
        assert_eq!(
            p.touch("service-A"),
            Touch::Input(Input::Choose(MenuChoice::TakeNumber {
                service: "A".into(),
                priority: None
            }))
        );
    }

    #[test]
    fn english_is_chosen_on_the_attract_screen_and_ends_with_the_journey() {
        let mut p = presenter(StepKind::Attract);
        p.touch("language");
        p.touch("lang-en");
        assert_eq!(p.language(), Language::English);
        assert_eq!(p.model().title, "Welcome");
        let mut v = p.view().clone();
        v.step = StepKind::ExpectAccessKey;
        p.update(&v, &[]);
        assert_eq!(p.language(), Language::English);
        v.step = StepKind::Attract;
        p.update(
            &v,
            &[Event::Ended(kiosk_firmware::session::EndReason::TimedOut)],
        );
        assert_eq!(p.language(), Language::Vietnamese);
    }

    #[test]
    fn the_warning_counts_down_and_only_offers_more_time() {
        let mut p = presenter(StepKind::Menu);
        let mut v = p.view().clone();
        v.warning = true;
        v.deadline = Some(Timestamp::from_millis(20_000));
        p.update(&v, &[]);
        p.set_now(Timestamp::from_millis(4_500));
        assert_eq!(p.model().countdown, Some(16));
        assert_eq!(p.touch("finish"), Touch::Ignored);
        assert_eq!(p.touch("more-time"), Touch::Input(Input::Extend));
    }

    fn form_presenter() -> Presenter {
        use kiosk_firmware::requests::FieldType;
        use kiosk_firmware::requests::form::{FieldView, Source};
        let row = |name: &str, kind, value: Option<&str>, editable| FieldView {
            name: name.into(),
            label_vi: format!("{name} vi"),
            label_en: format!("{name} en"),
            value: value.map(str::to_owned),
            source: if editable {
                Source::Citizen
            } else {
                Source::Chip
            },
            editable,
            required: true,
            kind,
            max_len: None,
            options: Vec::new(),
            min: None,
            max: None,
        };
        let mut p = presenter(StepKind::ExpectForm);
        p.set_request(
            Some(RequestForm {
                name_vi: "Đăng ký tạm trú".into(),
                name_en: "Temporary residence".into(),
                fields: vec![
                    row("full_name", FieldType::Text, Some("NGUYỄN VĂN MẪU"), false),
                    row("temporary_address", FieldType::Text, None, true),
                    row("phone", FieldType::Phone, Some("0900000000"), true),
                ],
                problems: Vec::new(),
            }),
            None,
        );
        p
    }

    #[test]
    fn a_typed_row_opens_its_keyboard_and_done_hands_the_value_over() {
        let mut p = form_presenter();
        let ids: Vec<String> = p.model().touchable().map(str::to_owned).collect();
        assert!(ids.contains(&"field-phone".to_owned()), "{ids:?}");
        assert!(
            !ids.contains(&"field-full_name".to_owned()),
            "chip rows are read-only"
        );
        assert_eq!(p.touch("field-full_name"), Touch::Ignored);
        assert_eq!(p.touch("field-temporary_address"), Touch::Local);
        let m = p.model();
        assert_eq!(m.screen, Screen::TextEntry);
        assert_eq!(m.title, "temporary_address vi");
        assert!(m.key_grid.iter().any(|k| k.id == "key-tone-hoi"));
        for key in [
            "key-h",
            "key-a",
            "key-tone-huyen",
            "key-space",
            "key-shift",
            "key-n",
        ] {
            assert_eq!(p.touch(key), Touch::Local, "{key}");
        }
        assert_eq!(p.model().entry_text, "Hà N");
        assert!(p.spoken().contains("temporary_address vi"));
        assert!(!p.spoken().contains("Hà N"), "typed text is never spoken");
        let Touch::Field { name, value } = p.touch("key-done") else {
            panic!("Done hands the value over");
        };
        assert_eq!(
            (name.as_str(), value.as_str()),
            ("temporary_address", "Hà N")
        );
        assert!(!format!("{value:?}").contains("Hà"), "Debug prints no text");
        assert_eq!(p.screen(), Screen::Form);
        assert!(p.typing.is_none(), "the text is gone from the UI");
    }

    #[test]
    fn cancel_leaves_the_field_as_it_was() {
        let mut p = form_presenter();
        p.touch("field-phone");
        assert_eq!(
            p.model().entry_text,
            "0900000000",
            "it starts from the value"
        );
        p.touch("key-backspace");
        p.touch("key-1");
        assert_eq!(p.touch("key-cancel"), Touch::Local);
        assert_eq!(p.screen(), Screen::Form);
        assert!(p.typing.is_none());
        assert!(p.model().fields.iter().any(|r| r.value == "0900000000"));
    }

    #[test]
    fn half_typed_text_goes_with_the_step_and_the_journey() {
        let mut p = form_presenter();
        p.touch("field-temporary_address");
        p.touch("key-a");
        assert!(p.holds_personal_data());
        let mut v = p.view().clone();
        v.warning = true;
        v.deadline = Some(Timestamp::from_millis(20_000));
        p.update(&v, &[]);
        assert_eq!(
            p.model().touchable().collect::<Vec<_>>(),
            ["more-time"],
            "the warning covers the keys"
        );
        assert_eq!(p.touch("key-b"), Touch::Ignored);
        v.step = StepKind::Attract;
        v.warning = false;
        p.update(
            &v,
            &[Event::Ended(kiosk_firmware::session::EndReason::TimedOut)],
        );
        assert!(p.typing.is_none());
        assert!(!p.holds_personal_data());
        assert_eq!(p.screen(), Screen::Attract);
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(yymmdd("15011990").as_deref(), Some("900115"));
        assert_eq!(yymmdd("32011990"), None);
        assert_eq!(yymmdd("15131990"), None);
        assert_eq!(yymmdd("1501199"), None);
    }

    fn pin_view(digits: u8) -> StaffView {
        StaffView {
            screen: StaffScreen::Pin,
            digits_entered: digits,
            notice: None,
            panel: None,
            now: kiosk_firmware::store::UnixMillis(0),
        }
    }

    #[test]
    fn the_staff_button_shows_only_on_the_attract_screen_when_enabled() {
        let mut p = presenter(StepKind::Attract);
        assert_eq!(p.touch("staff"), Touch::Ignored, "off by default");
        p.set_staff_button(true);
        assert_eq!(p.touch("staff"), Touch::Staff(StaffInput::Open));
        let mut menu = presenter(StepKind::Menu);
        menu.set_staff_button(true);
        assert_eq!(menu.touch("staff"), Touch::Ignored, "never mid-journey");
    }

    #[test]
    fn the_pin_keypad_sends_digits_to_the_runtime_and_shows_only_dots() {
        let mut p = presenter(StepKind::Attract);
        p.set_staff(Some(pin_view(3)));
        assert_eq!(p.screen(), Screen::StaffPin);
        let m = p.model();
        assert_eq!(m.pin_dots, "●●●");
        assert_eq!(p.touch("key-7"), Touch::Staff(StaffInput::Digit(7)));
        assert_eq!(p.touch("key-ok"), Touch::Staff(StaffInput::Submit));
        assert_eq!(p.touch("take-number"), Touch::Ignored);
        assert!(!p.holds_personal_data());
        p.set_staff(None);
        assert_eq!(p.screen(), Screen::Attract);
    }

    #[test]
    fn the_staff_assist_screen_offers_no_approve_until_staff_entered_the_pin() {
        let mut p = presenter(StepKind::StaffAssist);
        let ids: Vec<String> = p.model().touchable().map(str::to_owned).collect();
        assert!(!ids.iter().any(|id| id == "staff-approve"), "{ids:?}");
        assert_eq!(p.touch("staff-approve"), Touch::Ignored);
        assert_eq!(p.touch("staff-pin"), Touch::Staff(StaffInput::Open));
        let mut v = p.view().clone();
        v.staff_authorized = true;
        p.update(&v, &[]);
        assert_eq!(
            p.touch("staff-approve"),
            Touch::Input(Input::StaffDecision(true))
        );
        assert_eq!(p.touch("staff-pin"), Touch::Ignored);
    }

    #[test]
    fn out_of_service_offers_only_the_staff_pin() {
        let mut p = presenter(StepKind::OutOfService);
        let ids: Vec<String> = p.model().touchable().map(str::to_owned).collect();
        assert_eq!(ids, ["staff-pin"]);
        assert_eq!(p.touch("cancel"), Touch::Ignored);
        assert_eq!(p.touch("staff-pin"), Touch::Staff(StaffInput::Open));
    }
}
