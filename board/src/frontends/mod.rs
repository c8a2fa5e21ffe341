//! The frontends a [`crate::runtime::Frontend`] can be: what shows the
//! journey and hands the citizen's touches to the run loop.
//!
//! - [`ui`]: the Slint screens (a window, or the headless platform in tests).
//! - [`console`]: the journey as text lines on a terminal, commands as touches.

pub mod console;
pub mod ui;
