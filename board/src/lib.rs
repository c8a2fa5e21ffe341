//! Boards of the kiosk.
