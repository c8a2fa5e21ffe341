//! Protocol and domain logic of the CCCD kiosk.
//!
//! Everything here is sans-IO (DESIGN.md §2): state machines take inputs and
//! `now`, and are drained for outputs. Only `kiosk-board`'s runtime touches
//! devices and clocks.
//!
//! - [`time`]: the monotonic timestamp every machine is driven with.
//! - [`apdu`]: ISO/IEC 7816-4 APDUs and BER-TLV.
//! - [`cccd`]: the Vietnamese card: ID number, card QR, expiry rules, access keys.
//! - [`icao`]: ICAO 9303: MRZ, BAC, secure messaging.
//! - [`session`]: the citizen journey.
//! - [`queue`]: queue numbers: services, numbering, priority, waiting order.
//! - [`requests`]: online service requests: procedures, forms pre-filled from
//!   the chip, consent, the portal API and the outbox's delivery.
//! - [`metrics`]: usage metrics without personal data, Prometheus text.
//! - [`staff`]: staff mode: the PIN and card gate with its lockout, the panel's view.
//! - [`store`]: the kiosk's SQLite database (migrations, audit log, outbox).
//! - `testkit` (feature): the virtual CCCD chip and card profiles.
//! - [`ticket`]: queue tickets: layout, raster, ESC/POS.
//!
//! [`store`], [`queue`] and [`requests`] need the `store` feature (on by
//! default: bundled SQLite). The fuzz targets build without it, which
//! spares their cold build SQLite's C compile (issue 19).

pub mod apdu;
pub mod cccd;
pub mod face;
pub mod icao;
pub mod metrics;
#[cfg(feature = "store")]
pub mod queue;
#[cfg(feature = "store")]
pub mod requests;
pub mod session;
pub mod staff;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod ticket;
pub mod time;
pub mod trust;
