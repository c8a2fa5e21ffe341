//! Screens of the kiosk.
