//! The Slint frontend: the kiosk's screens, touches and spoken guidance
//! behind [`Frontend`].
//!
//! [`SlintFrontend`] owns the window ([`kiosk_ui::kiosk::Kiosk`]) on the
//! thread that drives the runtime: headless (tests, the scenario runner,
//! `cargo xtask sim --headless`), touches arriving through
//! [`SlintFrontend::touch`] or pointer events on the window. On a desktop the
//! window lives on the UI thread instead, and [`ChannelFrontend`] carries
//! views there and touches back (see the `kiosk` binary).
//!
//! Every screen's guidance is spoken on entry through the board's
//! [`SpeakerDevice`]; a speaker failure is logged and the journey goes on.

use crate::drivers::speech::SpeakerDevice;
use crate::runtime::{Frontend, FrontendInput};
use kiosk_firmware::session::{Event, Input, SessionView};
use kiosk_firmware::time::Timestamp;
use kiosk_hal::speaker::Voice;
use kiosk_ui::Language;
use kiosk_ui::adapters::Display;
use kiosk_ui::kiosk::{Kiosk, UiError};
use kiosk_ui::presenter::{Offer, Touch};
use std::collections::VecDeque;
use std::time::Duration;

/// The services of the configured queue, for the menu.
pub fn offers(config: &crate::config::Config) -> Vec<Offer> {
    config
        .queue
        .as_ref()
        .map(|q| {
            q.services
                .iter()
                .map(|s| Offer {
                    code: s.code.clone(),
                    name_vi: s.name_vi.clone(),
                    name_en: s.name_en.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The procedures of the configured request catalogue, for the menu.
pub fn procedures(config: &crate::config::Config) -> Vec<Offer> {
    config
        .requests
        .as_ref()
        .map(|r| {
            r.catalog
                .procedures
                .iter()
                .map(|p| Offer {
                    code: p.code.clone(),
                    name_vi: p.name_vi.clone(),
                    name_en: p.name_en.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The form and consent notice as the presenter takes them.
pub fn request_model(
    form: Option<&crate::services::requesting::FormScreen>,
    consent: Option<&kiosk_firmware::requests::ConsentNotice>,
) -> (
    Option<kiosk_ui::presenter::RequestForm>,
    Option<(String, String)>,
) {
    (
        form.map(|f| kiosk_ui::presenter::RequestForm {
            name_vi: f.name_vi.clone(),
            name_en: f.name_en.clone(),
            fields: f.fields.clone(),
            problems: f.problems.clone(),
        }),
        consent.map(|c| (c.text_vi.clone(), c.text_en.clone())),
    )
}

/// The voice of a language.
pub fn voice(lang: Language) -> Voice {
    match lang {
        Language::Vietnamese => Voice::Vietnamese,
        Language::English => Voice::English,
    }
}

/// The touches of a window as the runtime's inputs: a touch that only
/// changed the UI (keypad digit, key of the input screen, sub-screen) still
/// counts as activity; Done on the input screen sets the form's field;
/// staff-mode touches go to staff mode.
pub fn inputs(touches: Vec<Touch>) -> impl Iterator<Item = FrontendInput> {
    touches.into_iter().filter_map(|t| match t {
        Touch::Input(i) => Some(FrontendInput::Input(i)),
        Touch::Local => Some(FrontendInput::Input(Input::Activity)),
        Touch::Field { name, value } => Some(FrontendInput::FormField { name, value }),
        Touch::Staff(s) => Some(FrontendInput::Staff(s)),
        Touch::Ignored => None,
    })
}

/// Whether the attract screen offers the staff button: a PIN is set.
pub fn staff_button(config: &crate::config::Config) -> bool {
    config.staff.policy.pin.is_some()
}

/// The Slint screens on this thread.
pub struct SlintFrontend {
    kiosk: Kiosk,
    speaker: Option<Box<dyn SpeakerDevice>>,
    pending: VecDeque<FrontendInput>,
    spoken: Vec<String>,
}

impl std::fmt::Debug for SlintFrontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlintFrontend").finish_non_exhaustive()
    }
}

impl SlintFrontend {
    /// Opens the screens on this thread's Slint platform (call
    /// [`kiosk_ui::headless::init`] first for headless use).
    pub fn new(
        view: SessionView,
        services: Vec<Offer>,
        procedures: Vec<Offer>,
        display: &Display,
        speaker: Option<Box<dyn SpeakerDevice>>,
    ) -> Result<SlintFrontend, UiError> {
        let mut frontend = SlintFrontend {
            kiosk: Kiosk::new(view, services, procedures, display)?,
            speaker,
            pending: VecDeque::new(),
            spoken: Vec::new(),
        };
        frontend.speak();
        Ok(frontend)
    }

    /// The window and presenter.
    pub fn kiosk(&self) -> &Kiosk {
        &self.kiosk
    }

    /// Touches the button `id` as a citizen would; `false` when the screen
    /// has no such button.
    pub fn touch(&mut self, id: &str) -> bool {
        let touched = self.kiosk.touch(id) != Touch::Ignored;
        self.speak_if_new();
        touched
    }

    /// The runtime's clock (for the countdown of the inactivity warning).
    pub fn set_now(&mut self, now: Timestamp) {
        self.kiosk.set_now(now);
    }

    /// Shows the attract screen's staff button or not.
    pub fn set_staff_button(&mut self, shown: bool) {
        self.kiosk.set_staff_button(shown);
    }

    /// Inputs from touches, not yet handed to the runtime.
    pub fn take_inputs(&mut self) -> Vec<FrontendInput> {
        self.collect();
        self.pending.drain(..).collect()
    }

    /// Everything spoken so far (the guidance texts, in order).
    pub fn spoken(&self) -> &[String] {
        &self.spoken
    }

    fn collect(&mut self) {
        let touches = self.kiosk.take_touches();
        self.pending.extend(inputs(touches));
        self.speak_if_new();
    }

    /// Speaks the screen's guidance when it is not what was said last (a
    /// new screen, a sub-screen, a new face hint, another language).
    fn speak_if_new(&mut self) {
        if self.spoken.last() != Some(&self.kiosk.spoken()) {
            self.speak();
        }
    }

    fn speak(&mut self) {
        let text = self.kiosk.spoken();
        let voice = voice(self.kiosk.language());
        if let Some(speaker) = self.speaker.as_mut()
            && let Err(e) = speaker.say(voice, &text)
        {
            tracing::warn!(error = %e, "cannot speak the guidance");
        }
        self.spoken.push(text);
    }
}

impl Frontend for SlintFrontend {
    fn show(&mut self, view: &SessionView, events: &[Event]) {
        self.kiosk.update(view, events);
        self.speak_if_new();
    }

    fn clock(&mut self, now: Timestamp) {
        self.set_now(now);
    }

    fn show_request(
        &mut self,
        form: Option<&crate::services::requesting::FormScreen>,
        consent: Option<&kiosk_firmware::requests::ConsentNotice>,
    ) {
        let (form, consent) = request_model(form, consent);
        self.kiosk.set_request(form, consent);
        self.speak_if_new();
    }

    fn wait_input(&mut self, _timeout: Duration) -> FrontendInput {
        self.collect();
        self.pending.pop_front().unwrap_or(FrontendInput::Nothing)
    }

    fn show_staff(&mut self, view: Option<&kiosk_firmware::staff::StaffView>) {
        self.kiosk.set_staff(view.cloned());
        self.speak_if_new();
    }

    fn reconfigured(&mut self, config: &crate::config::Config) {
        self.kiosk.set_offers(offers(config), procedures(config));
        self.kiosk.set_staff_button(staff_button(config));
    }
}

/// What the runtime thread sends the UI thread.
#[derive(Debug)]
pub enum ToUi {
    /// Show this view, with these events, at this runtime time.
    Show(Box<SessionView>, Vec<Event>, Timestamp),
    /// Show the request form and consent notice.
    Request(
        Option<kiosk_ui::presenter::RequestForm>,
        Option<(String, String)>,
    ),
    /// Show staff mode (or close it).
    Staff(Option<Box<kiosk_firmware::staff::StaffView>>),
    /// The menu's services and procedures, and whether the attract screen
    /// offers the staff button (configuration reloaded).
    Offers(Vec<Offer>, Vec<Offer>, bool),
    /// The runtime stopped.
    Stopped,
}

/// A frontend on the runtime's thread for a window on the UI thread: views
/// go out through `send` (e.g. `slint::invoke_from_event_loop`), touches
/// come back as inputs on a channel.
pub struct ChannelFrontend {
    send: Box<dyn FnMut(ToUi) + Send>,
    inputs: std::sync::mpsc::Receiver<FrontendInput>,
    now: Timestamp,
}

impl std::fmt::Debug for ChannelFrontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelFrontend").finish_non_exhaustive()
    }
}

impl ChannelFrontend {
    /// A frontend sending views with `send` and reading `inputs`.
    pub fn new(
        send: Box<dyn FnMut(ToUi) + Send>,
        inputs: std::sync::mpsc::Receiver<FrontendInput>,
    ) -> ChannelFrontend {
        ChannelFrontend {
            send,
            inputs,
            now: Timestamp::ZERO,
        }
    }
}

impl Frontend for ChannelFrontend {
    fn show(&mut self, view: &SessionView, events: &[Event]) {
        (self.send)(ToUi::Show(
            Box::new(view.clone()),
            events.to_vec(),
            self.now,
        ));
    }

    fn wait_input(&mut self, timeout: Duration) -> FrontendInput {
        match self.inputs.recv_timeout(timeout) {
            Ok(input) => input,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => FrontendInput::Nothing,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => FrontendInput::Quit,
        }
    }

    fn clock(&mut self, now: Timestamp) {
        self.now = now;
    }

    fn show_request(
        &mut self,
        form: Option<&crate::services::requesting::FormScreen>,
        consent: Option<&kiosk_firmware::requests::ConsentNotice>,
    ) {
        let (form, consent) = request_model(form, consent);
        (self.send)(ToUi::Request(form, consent));
    }

    fn show_staff(&mut self, view: Option<&kiosk_firmware::staff::StaffView>) {
        (self.send)(ToUi::Staff(view.cloned().map(Box::new)));
    }

    fn reconfigured(&mut self, config: &crate::config::Config) {
        (self.send)(ToUi::Offers(
            offers(config),
            procedures(config),
            staff_button(config),
        ));
    }
}

impl Drop for ChannelFrontend {
    fn drop(&mut self) {
        (self.send)(ToUi::Stopped);
    }
}

/// Two frontends at once (the window and the console's simulator
/// commands): both show every view; inputs come from whichever has one,
/// polled in short slices.
#[derive(Debug)]
pub struct Both<A, B> {
    /// The first (polled first).
    pub first: A,
    /// The second.
    pub second: B,
}

/// How long each frontend is polled in turn while waiting.
const SLICE: Duration = Duration::from_millis(40);

impl<A: Frontend, B: Frontend> Frontend for Both<A, B> {
    fn show(&mut self, view: &SessionView, events: &[Event]) {
        self.first.show(view, events);
        self.second.show(view, events);
    }

    fn wait_input(&mut self, timeout: Duration) -> FrontendInput {
        let mut left = timeout;
        loop {
            match self.first.wait_input(Duration::ZERO) {
                FrontendInput::Nothing => {}
                other => return other,
            }
            let slice = left.min(SLICE);
            match self.second.wait_input(slice) {
                FrontendInput::Nothing => {}
                other => return other,
            }
            left = left.saturating_sub(slice);
            if left.is_zero() {
                return FrontendInput::Nothing;
            }
        }
    }

    fn clock(&mut self, now: Timestamp) {
        self.first.clock(now);
        self.second.clock(now);
    }

    fn show_request(
        &mut self,
        form: Option<&crate::services::requesting::FormScreen>,
        consent: Option<&kiosk_firmware::requests::ConsentNotice>,
    ) {
        self.first.show_request(form, consent);
        self.second.show_request(form, consent);
    }

    fn show_staff(&mut self, view: Option<&kiosk_firmware::staff::StaffView>) {
        self.first.show_staff(view);
        self.second.show_staff(view);
    }

    fn reconfigured(&mut self, config: &crate::config::Config) {
        self.first.reconfigured(config);
        self.second.reconfigured(config);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]
    use super::*;
    use kiosk_firmware::session::{Session, SessionConfig};
    use std::sync::{Arc, Mutex, mpsc};

    fn view() -> SessionView {
        Session::new(SessionConfig::default(), Timestamp::ZERO).view()
    }

    #[test]
    fn the_channel_frontend_sends_views_with_the_clock_and_hands_back_touches() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        let (tx, rx) = mpsc::channel();
        let mut f = ChannelFrontend::new(
            Box::new(move |m| log.lock().expect("lock").push(format!("{m:?}"))),
            rx,
        );
        f.clock(Timestamp::from_millis(1234));
        f.show(&view(), &[]);
        tx.send(FrontendInput::Input(Input::WalkIn)).expect("send");
        assert!(matches!(
            f.wait_input(Duration::from_millis(10)),
            FrontendInput::Input(Input::WalkIn)
        ));
        assert!(matches!(
            f.wait_input(Duration::from_millis(1)),
            FrontendInput::Nothing
        ));
        drop(tx);
        assert!(matches!(
            f.wait_input(Duration::from_millis(1)),
            FrontendInput::Quit
        ));
        drop(f);
        let sent = sent.lock().expect("lock");
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(
            sent[0].starts_with("Show(") && sent[0].contains("t+1.234s"),
            "{}",
            sent[0]
        );
        assert_eq!(sent[1], "Stopped", "dropping it stops the UI");
    }

    #[test]
    fn both_frontends_see_every_view_and_either_can_answer() {
        let (tx1, rx1) = mpsc::channel();
        let (tx2, rx2) = mpsc::channel();
        let mut both = Both {
            first: ChannelFrontend::new(Box::new(|_| {}), rx1),
            second: ChannelFrontend::new(Box::new(|_| {}), rx2),
        };
        tx2.send(FrontendInput::Input(Input::Cancel)).expect("send");
        assert!(matches!(
            both.wait_input(Duration::from_millis(200)),
            FrontendInput::Input(Input::Cancel)
        ));
        tx1.send(FrontendInput::Input(Input::WalkIn)).expect("send");
        assert!(matches!(
            both.wait_input(Duration::from_millis(200)),
            FrontendInput::Input(Input::WalkIn)
        ));
        assert!(matches!(
            both.wait_input(Duration::from_millis(50)),
            FrontendInput::Nothing
        ));
    }

    #[test]
    fn local_touches_count_as_activity_done_sets_the_field_staff_touches_go_to_staff_and_ignored_ones_vanish()
     {
        let got: Vec<String> = inputs(vec![
            Touch::Local,
            Touch::Ignored,
            Touch::Input(Input::Continue),
            Touch::Field {
                name: "phone".into(),
                value: kiosk_ui::presenter::Typed::new("0912345678"),
            },
            Touch::Staff(kiosk_firmware::staff::StaffInput::Open),
        ])
        .map(|i| match i {
            FrontendInput::Input(i) => format!("{i:?}"),
            FrontendInput::FormField { name, value } => format!("{name}={}", value.as_str()),
            FrontendInput::Staff(s) => format!("staff {s:?}"),
            other => format!("unexpected {other:?}"),
        })
        .collect();
        assert_eq!(
            got,
            ["Activity", "Continue", "phone=0912345678", "staff Open"]
        );
    }
}
