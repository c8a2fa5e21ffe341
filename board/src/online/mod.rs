//! What the kiosk reaches over the network, with mutual TLS:
//!
//! - [`portal`]: the public-service portal the outbox delivers requests to:
//!   the kiosk's client, the reference portal, the test PKI.
//! - [`c06`]: the identity authority's online chip verification: the
//!   client on a worker thread, and the reference server.
//! - [`centre`]: the service centre's queue (`kiosk-centre`): numbers from
//!   the centre, offline numbers, reconciliation.

pub mod c06;
pub mod centre;
pub mod portal;
