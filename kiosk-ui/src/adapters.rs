//! The Rust side of the `export global` contract (DESIGN.md §7): one
//! `connect` per global, and the functions that copy a [`ScreenModel`] into
//! it. Nothing here decides anything; the [`crate::presenter`] does.

use crate::presenter::{Choice, ScreenModel};
use crate::texts::{Label, label};
use crate::{
    Journey, KioskWindow, Lang, Language, Screen, ScreenKind, SlintAction, SlintField, SlintKey,
    Theme,
};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::rc::Rc;

/// The panel the kiosk draws on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Display {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Dots per inch (a 21.5" 1080 x 1920 portrait panel has about 102).
    pub dpi: f32,
}

impl Default for Display {
    fn default() -> Display {
        Display {
            width: 1080,
            height: 1920,
            dpi: 102.0,
        }
    }
}

impl Display {
    /// The smallest touch target, 15 mm, in pixels at this DPI.
    pub fn touch_min_px(&self) -> f32 {
        15.0 / 25.4 * self.dpi
    }
}

/// `Theme`: the touch-target size for the panel's DPI.
pub mod theme {
    use super::*;

    /// Sets the theme for `display`.
    pub fn connect(ui: &KioskWindow, display: &Display) {
        ui.global::<Theme<'_>>()
            .set_touch_min(display.touch_min_px());
    }
}

/// `Lang`: the labels of the chosen language.
pub mod lang {
    use super::*;

    /// Sets every label of the `Lang` global for `language`.
    pub fn connect(ui: &KioskWindow, language: Language) {
        let g = ui.global::<Lang<'_>>();
        let t = |l| SharedString::from(label(l, language));
        g.set_code(match language {
            Language::Vietnamese => "VI".into(),
            Language::English => "EN".into(),
        });
        g.set_kiosk_name(t(Label::KioskName));
        g.set_percent_label(t(Label::Percent));
        g.set_attempt_label(t(Label::Attempt));
        g.set_waiting_label(t(Label::Waiting));
        g.set_service_label(t(Label::Service));
        g.set_warning_title(t(Label::WarningTitle));
        g.set_warning_prompt(t(Label::WarningPrompt));
        g.set_seconds_label(t(Label::Seconds));
        g.set_id_entry_label(t(Label::IdEntry));
        g.set_dob_entry_label(t(Label::DobEntry));
        g.set_qr_hint(t(Label::QrHint));
        g.set_card_hint(t(Label::CardHint));
    }
}

/// `Staff`: the staff screens' rows, banner, dots and the attract
/// screen's staff button.
pub mod staff {
    use super::*;
    use crate::{SlintStaffRow, Staff};

    /// Shows the staff parts of `model`.
    pub fn show(ui: &KioskWindow, model: &ScreenModel) {
        let g = ui.global::<Staff<'_>>();
        g.set_corner_shown(model.corner.is_some());
        if let Some(c) = &model.corner {
            g.set_corner(SlintAction {
                id: c.id.as_str().into(),
                label: c.label.as_str().into(),
                primary: c.primary,
            });
        }
        g.set_rows(ModelRc::from(Rc::new(VecModel::from(
            model
                .staff_rows
                .iter()
                .map(|r| SlintStaffRow {
                    label: r.label.as_str().into(),
                    value: r.value.as_str().into(),
                    tone: r.tone.code(),
                })
                .collect::<Vec<_>>(),
        ))));
        g.set_result(model.staff_result.as_str().into());
        g.set_result_ok(model.staff_result_ok);
        g.set_dots(model.pin_dots.as_str().into());
        g.set_notice(model.staff_notice.as_str().into());
        g.set_notice_alert(model.staff_notice_alert);
        g.set_pin_label(model.pin_label.as_str().into());
    }
}

/// `Journey`: the screen's content, and the touches.
pub mod journey {
    use super::*;

    /// Hands every touch (a button id) to `on_touch`.
    pub fn connect(ui: &KioskWindow, on_touch: impl Fn(&str) + 'static) {
        ui.global::<Journey<'_>>()
            .on_touched(move |id: SharedString| on_touch(id.as_str()));
    }

    /// Shows `model`.
    pub fn show(ui: &KioskWindow, model: &ScreenModel) {
        let g = ui.global::<Journey<'_>>();
        g.set_screen(kind(model.screen));
        g.set_title(model.title.as_str().into());
        g.set_prompt(model.prompt.as_str().into());
        g.set_choices(actions(&model.choices));
        g.set_actions(actions(&model.actions));
        g.set_fields(ModelRc::from(Rc::new(VecModel::from(
            model
                .fields
                .iter()
                .map(|r| SlintField {
                    label: r.label.as_str().into(),
                    value: r.value.as_str().into(),
                    id: r.id.as_str().into(),
                    problem: r.problem,
                })
                .collect::<Vec<_>>(),
        ))));
        g.set_read_percent(i32::from(model.read_percent));
        g.set_face_seen(model.face_box.is_some());
        let b = model.face_box.unwrap_or(crate::presenter::FaceBox {
            x: 0.0,
            y: 0.0,
            w: 0.0,
            h: 0.0,
        });
        g.set_face_x(b.x);
        g.set_face_y(b.y);
        g.set_face_w(b.w);
        g.set_face_h(b.h);
        g.set_face_progress(i32::from(model.face_progress));
        g.set_face_attempt(model.face_attempt.as_str().into());
        g.set_face_good(model.face_good);
        g.set_entry_id(model.entry_id.as_str().into());
        g.set_entry_dob(model.entry_dob.as_str().into());
        g.set_entry_field(i32::from(model.entry_field));
        g.set_keys(actions(&model.keys));
        g.set_entry_text(model.entry_text.as_str().into());
        g.set_keyboard(ModelRc::from(Rc::new(VecModel::from(
            model
                .key_grid
                .iter()
                .map(|k| SlintKey {
                    id: k.id.as_str().into(),
                    label: k.label.as_str().into(),
                    primary: k.primary,
                    row: i32::from(k.row),
                    col: i32::from(k.col),
                    span: i32::from(k.span),
                })
                .collect::<Vec<_>>(),
        ))));
        g.set_keyboard_rows(i32::from(model.key_rows));
        g.set_key_height(model.key_height);
        g.set_big_number(model.big_number.as_str().into());
        g.set_service_name(model.service_name.as_str().into());
        g.set_waiting(model.waiting.as_str().into());
        g.set_printed(model.printed);
        g.set_warning(model.countdown.is_some());
        g.set_countdown(i32::try_from(model.countdown.unwrap_or(0)).unwrap_or(i32::MAX));
        g.set_warning_action(action(&model.warning_action));
        ui.global::<Lang<'_>>()
            .set_step_label(model.step_label.as_str().into());
        super::staff::show(ui, model);
    }

    fn action(c: &Choice) -> SlintAction {
        SlintAction {
            id: c.id.as_str().into(),
            label: c.label.as_str().into(),
            primary: c.primary,
        }
    }

    fn actions(choices: &[Choice]) -> ModelRc<SlintAction> {
        ModelRc::from(Rc::new(VecModel::from(
            choices.iter().map(action).collect::<Vec<_>>(),
        )))
    }

    fn kind(screen: Screen) -> ScreenKind {
        match screen {
            Screen::Attract => ScreenKind::Attract,
            Screen::Language => ScreenKind::Language,
            Screen::AccessKey => ScreenKind::AccessKey,
            Screen::Keypad => ScreenKind::Keypad,
            Screen::Reading => ScreenKind::Reading,
            Screen::Confirm => ScreenKind::Confirm,
            Screen::FaceConsent => ScreenKind::FaceConsent,
            Screen::FaceCheck => ScreenKind::FaceCheck,
            Screen::StaffAssist => ScreenKind::StaffAssist,
            Screen::Menu => ScreenKind::Menu,
            Screen::Services => ScreenKind::Services,
            Screen::TextEntry => ScreenKind::TextEntry,
            Screen::IdentityConsent => ScreenKind::IdentityConsent,
            Screen::Printing => ScreenKind::Printing,
            Screen::Ticket => ScreenKind::Ticket,
            Screen::Form => ScreenKind::Form,
            Screen::RequestConsent => ScreenKind::RequestConsent,
            Screen::Submitting => ScreenKind::Submitting,
            Screen::Receipt => ScreenKind::Receipt,
            Screen::Rating => ScreenKind::Rating,
            Screen::Goodbye => ScreenKind::Goodbye,
            Screen::Notice => ScreenKind::Notice,
            Screen::OutOfService => ScreenKind::OutOfService,
            Screen::StaffPin => ScreenKind::StaffPin,
            Screen::StaffPanel => ScreenKind::StaffPanel,
        }
    }
}
