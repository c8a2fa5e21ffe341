//! The services of the kiosk: what carries out a session's actions over the
//! devices (read the chip, check the face, scan the card QR, print a
//! ticket, file a request), the trust store they verify against, and the
//! usage metrics beside them.
//!
//! - [`reading`]: the document reader over a card reader device.
//! - [`facecheck`]: camera frames through the face engine into the face check.
//! - [`qrscan`]: camera frames through the QR decoder into the access key.
//! - [`ticketing`]: issuing a queue ticket: draw, lay out, print with status checks.
//! - [`printing`]: the print jobs, each on the printer lent to a worker, polled by the loop.
//! - [`panelcheck`]: the staff panel's camera and printer checks, each on the device lent to a worker.
//! - [`worker`]: a device or client lent to a worker thread for one blocking job.
//! - [`requesting`]: filing an online request: outbox, delivery, receipt.
//! - [`delivering`]: a request's delivery on the portal client lent to a worker, polled by the loop.
//! - [`queueing`]: numbers, reconciliation and ratings on the centre's client lent to a worker.
//! - [`truststore`]: the kiosk's trust store (CSCAs, master lists, CRLs) from its folders.
//! - [`metrics`]: usage metrics for `kioskctl stats` and Prometheus.

pub mod delivering;
pub mod facecheck;
pub mod metrics;
pub mod panelcheck;
#[cfg(test)]
mod paper_tests;
pub mod printing;
pub mod qrscan;
pub mod queueing;
pub mod reading;
pub mod requesting;
pub mod ticketing;
pub mod truststore;
pub mod worker;
