//! The kiosk's window with its presenter: what a frontend drives.

use crate::adapters::{self, Display};
use crate::presenter::{Offer, Presenter, ScreenModel, Touch};
use crate::{KioskWindow, Language};
use kiosk_firmware::session::{Event, SessionView};
use kiosk_firmware::time::Timestamp;
use slint::ComponentHandle;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// The window could not be made (no platform, no window system).
#[derive(Debug, thiserror::Error)]
#[error("cannot open the kiosk window: {0}")]
pub struct UiError(String);

impl From<slint::PlatformError> for UiError {
    fn from(e: slint::PlatformError) -> UiError {
        UiError(e.to_string())
    }
}

/// The window, the presenter, and the touches not yet taken.
pub struct Kiosk {
    ui: KioskWindow,
    presenter: Rc<RefCell<Presenter>>,
    touches: Rc<RefCell<VecDeque<Touch>>>,
    language: Rc<RefCell<Language>>,
}

impl std::fmt::Debug for Kiosk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kiosk").finish_non_exhaustive()
    }
}

impl Kiosk {
    /// Opens the window on the current Slint platform, showing `view`.
    pub fn new(
        view: SessionView,
        services: Vec<Offer>,
        procedures: Vec<Offer>,
        display: &Display,
    ) -> Result<Kiosk, UiError> {
        let ui = KioskWindow::new()?;
        ui.window()
            .set_size(slint::PhysicalSize::new(display.width, display.height));
        let presenter = Rc::new(RefCell::new(Presenter::new(view, services, procedures)));
        let touches = Rc::new(RefCell::new(VecDeque::new()));
        let language = Rc::new(RefCell::new(Language::default()));
        adapters::theme::connect(&ui, display);
        adapters::lang::connect(&ui, Language::default());
        {
            let weak = ui.as_weak();
            let presenter = presenter.clone();
            let touches = touches.clone();
            let language = language.clone();
            adapters::journey::connect(&ui, move |id| {
                let touch = presenter.borrow_mut().touch(id);
                if touch != Touch::Ignored {
                    touches.borrow_mut().push_back(touch);
                }
                if let Some(ui) = weak.upgrade() {
                    refresh(&ui, &presenter.borrow(), &language);
                }
            });
        }
        let kiosk = Kiosk {
            ui,
            presenter,
            touches,
            language,
        };
        kiosk.refresh();
        Ok(kiosk)
    }

    /// The Slint window component.
    pub fn window(&self) -> &KioskWindow {
        &self.ui
    }

    /// Shows a new view; returns whether the screen (or its guidance)
    /// changed, so the caller speaks it.
    pub fn update(&self, view: &SessionView, events: &[Event]) -> bool {
        let changed = self.presenter.borrow_mut().update(view, events);
        self.refresh();
        changed
    }

    /// The request form and consent notice (see
    /// [`Presenter::set_request`]).
    pub fn set_request(
        &self,
        form: Option<crate::presenter::RequestForm>,
        consent: Option<(String, String)>,
    ) {
        self.presenter.borrow_mut().set_request(form, consent);
        self.refresh();
    }

    /// Shows staff mode over the attract screen (`None` closes it).
    pub fn set_staff(&self, staff: Option<kiosk_firmware::staff::StaffView>) {
        self.presenter.borrow_mut().set_staff(staff);
        self.refresh();
    }

    /// Whether the attract screen offers the staff button.
    pub fn set_staff_button(&self, shown: bool) {
        self.presenter.borrow_mut().set_staff_button(shown);
        self.refresh();
    }

    /// New services and procedures for the menu.
    pub fn set_offers(&self, services: Vec<Offer>, procedures: Vec<Offer>) {
        self.presenter.borrow_mut().set_offers(services, procedures);
        self.refresh();
    }

    /// The runtime's clock, for the countdown.
    pub fn set_now(&self, now: Timestamp) {
        self.presenter.borrow_mut().set_now(now);
        self.refresh();
    }

    /// A touch on the button `id`, as if the citizen touched it; the
    /// result is also queued for [`Kiosk::take_touches`].
    pub fn touch(&self, id: &str) -> Touch {
        let touch = self.presenter.borrow_mut().touch(id);
        if touch != Touch::Ignored {
            self.touches.borrow_mut().push_back(touch.clone());
        }
        self.refresh();
        touch
    }

    /// The touches since the last call (from the window or [`Kiosk::touch`]).
    pub fn take_touches(&self) -> Vec<Touch> {
        self.touches.borrow_mut().drain(..).collect()
    }

    /// What the screen shows now.
    pub fn model(&self) -> ScreenModel {
        self.presenter.borrow().model()
    }

    /// What the audio guidance says on this screen.
    pub fn spoken(&self) -> String {
        self.presenter.borrow().spoken()
    }

    /// The language in use.
    pub fn language(&self) -> Language {
        self.presenter.borrow().language()
    }

    /// Whether the UI holds personal data (typed digits, holder data).
    pub fn holds_personal_data(&self) -> bool {
        self.presenter.borrow().holds_personal_data()
    }

    fn refresh(&self) {
        refresh(&self.ui, &self.presenter.borrow(), &self.language);
    }
}

fn refresh(ui: &KioskWindow, presenter: &Presenter, language: &RefCell<Language>) {
    let lang = presenter.language();
    if *language.borrow() != lang {
        *language.borrow_mut() = lang;
        adapters::lang::connect(ui, lang);
    }
    adapters::journey::show(ui, &presenter.model());
}
