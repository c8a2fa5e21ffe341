//! The services of the kiosk: what carries out a session's actions over the
//! devices (read the chip, check the face, scan the card QR, print a
//! ticket, file a request), the trust store they verify against, and the
//! usage metrics beside them.
//!
//! - [`reading`]: the document reader over a card reader device.
//! - [`facecheck`]: camera frames through the face engine into the face check.
//! - [`qrscan`]: camera frames through the QR decoder into the access key.
//! - [`ticketing`]: issuing a queue ticket: draw, lay out, print with status checks.
//! - [`requesting`]: filing an online request: outbox, delivery, receipt.
//! - [`truststore`]: the kiosk's trust store (CSCAs, master lists, CRLs) from its folders.
//! - [`metrics`]: usage metrics for `kioskctl stats` and Prometheus.

pub mod facecheck;
pub mod metrics;
#[cfg(test)]
mod paper_tests;
pub mod qrscan;
pub mod reading;
pub mod requesting;
pub mod ticketing;
pub mod truststore;
