//! The service centre's queue: one numbering for every kiosk and counter of
//! a one-stop centre (Bộ phận Một cửa), held in PostgreSQL and served over
//! HTTPS with mutual TLS (`docs/centre-api.yaml`, `docs/architecture.md`
//! "The centre").
//!
//! - [`config`]: the centre's TOML file; the services are the kiosk's own
//!   `[queue]` catalogue (inline, or read from a kiosk's file).
//! - [`db`]: the schema, its migrations and every change of the queue as
//!   one SQL transaction: issue (unique numbers per centre, day and service
//!   across every kiosk; an idempotency key per request), reconciliation of
//!   kiosks' offline tickets, call next (the kiosk's calling order and
//!   fairness bound, `firmware::queue::order`), recall, transfer, served,
//!   no-show.
//! - [`server`]: rustls with client certificates required, hyper, axum;
//!   the statistics' Prometheus text on a loopback listener of its own.
//! - [`stats`]: waiting and service times, no-shows and satisfaction per
//!   day, service and counter (JSON and Prometheus text).
//! - [`pages`]: the counter page (staff sign in with a PIN, call and
//!   finish numbers, see a called ticket's identity packet) and the hall
//!   display page, on an HTTPS listener of their own without client
//!   certificates; [`identity`]: the identity packet sealed at rest;
//!   [`audio`]: the display's chime and spoken call (WAV).
//! - [`clock`]: the only place the centre reads a clock.
//! - [`pki`]: a test PKI; [`postgres`]: a private PostgreSQL server for
//!   tests, demos and the benchmark.
//!
//! The kiosk's side (its offline block, reconciliation, the wire types) is
//! `kiosk_firmware::queue::centre`; its HTTPS client is
//! `kiosk_board::online::centre`.

pub mod audio;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod identity;
pub mod pages;
pub mod pki;
pub mod postgres;
pub mod server;
pub mod stats;
