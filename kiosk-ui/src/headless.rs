//! Headless rendering for tests and the scenario runner: a Slint platform
//! whose windows are [`MinimalSoftwareWindow`]s drawn by the software
//! renderer, a clock the caller sets (animations are still frames), touches
//! as pointer events, and screenshot comparison with a tolerance.

use crate::KioskWindow;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, PointerEventButton, WindowAdapter, WindowEvent};
use slint::{ComponentHandle, LogicalPosition};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

struct HeadlessPlatform {
    clock: Rc<Cell<Duration>>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer))
    }

    fn duration_since_start(&self) -> Duration {
        self.clock.get()
    }
}

thread_local! {
    static CLOCK: Rc<Cell<Duration>> = Rc::new(Cell::new(Duration::ZERO));
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
}

/// Makes this thread's Slint platform the headless one (once per thread;
/// Slint's platform is per thread). Fails if another platform is already
/// installed.
pub fn init() -> Result<(), crate::kiosk::UiError> {
    if INSTALLED.with(Cell::get) {
        return Ok(());
    }
    let clock = CLOCK.with(Rc::clone);
    slint::platform::set_platform(Box::new(HeadlessPlatform { clock }))
        .map_err(|e| crate::kiosk::UiError::from(slint::PlatformError::from(e.to_string())))?;
    INSTALLED.with(|i| i.set(true));
    Ok(())
}

/// Sets the platform clock that animations read (in tests, a fixed time
/// gives the same frame every run).
pub fn set_clock(t: Duration) {
    CLOCK.with(|c| c.set(t));
    slint::platform::update_timers_and_animations();
}

/// Renders the window as it is now (opaque RGB: the window has no
/// transparency, and the software renderer leaves alpha unset).
pub fn snapshot(ui: &KioskWindow) -> Result<image::RgbImage, crate::kiosk::UiError> {
    slint::platform::update_timers_and_animations();
    let buffer = ui.window().take_snapshot()?;
    let rgb: Vec<u8> = buffer
        .as_bytes()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    image::RgbImage::from_raw(buffer.width(), buffer.height(), rgb).ok_or_else(|| {
        crate::kiosk::UiError::from(slint::PlatformError::from("snapshot size mismatch"))
    })
}

/// A finger touch (press and release) at `(x, y)` in logical pixels.
pub fn tap(ui: &KioskWindow, x: f32, y: f32) {
    let position = LogicalPosition::new(x, y);
    let w = ui.window();
    w.dispatch_event(WindowEvent::PointerMoved { position });
    w.dispatch_event(WindowEvent::PointerPressed {
        position,
        button: PointerEventButton::Left,
    });
    w.dispatch_event(WindowEvent::PointerReleased {
        position,
        button: PointerEventButton::Left,
    });
    w.dispatch_event(WindowEvent::PointerExited);
    slint::platform::update_timers_and_animations();
}

/// How two screenshots differ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// Pixels whose channels differ by more than the per-channel tolerance.
    pub pixels: u64,
    /// Their share of all pixels.
    pub fraction: f64,
    /// Whether the sizes differ (then everything differs).
    pub size_mismatch: bool,
}

/// Compares two screenshots: a pixel differs when any channel differs by
/// more than `channel_tolerance`.
pub fn compare(a: &image::RgbImage, b: &image::RgbImage, channel_tolerance: u8) -> Difference {
    if a.dimensions() != b.dimensions() {
        return Difference {
            pixels: u64::from(a.width()) * u64::from(a.height()),
            fraction: 1.0,
            size_mismatch: true,
        };
    }
    if a.as_raw() == b.as_raw() {
        return Difference {
            pixels: 0,
            fraction: 0.0,
            size_mismatch: false,
        };
    }
    let pixels = a
        .pixels()
        .zip(b.pixels())
        .filter(|(p, q)| {
            p.0.iter()
                .zip(q.0.iter())
                .any(|(x, y)| x.abs_diff(*y) > channel_tolerance)
        })
        .count() as u64;
    let total = (u64::from(a.width()) * u64::from(a.height())).max(1);
    Difference {
        pixels,
        fraction: pixels as f64 / total as f64,
        size_mismatch: false,
    }
}
