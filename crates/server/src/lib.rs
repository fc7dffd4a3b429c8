//! `kindred-server`: the self-hosted half of kindred, built as one binary, `kindred`.
//!
//! The server receives the anonymous daily reports browsers send, keeps **counters per
//! contribution window and key** (never the reports themselves, never addresses or user
//! agents), releases each window once after it closed through the core aggregator
//! (k-threshold and noise, or LDP estimates) and publishes the shared model every client
//! downloads. Everything privacy-relevant is computed
//! by `kindred-core`; this crate moves bytes, stores counters and schedules work.
//!
//! - [`config`]: the settings of `kindred serve` / `kindred build-model` (flags, environment,
//!   TOML file).
//! - [`ingest`]: from request bytes to validated counter rows, and the one writer that commits
//!   them in groups.
//! - [`store`]: the storage trait and its SQLite implementation.
//! - [`build_model`]: releasing closed windows, retention and building the published model.
//! - [`metrics`]: the Prometheus metrics.
//! - [`serve`]: the HTTP server (axum): routes, rate limiting, metrics, admin and dashboard.
//! - [`time`]: the clock (UTC days) the rest of the server shares.
//! - [`simulate`]: `kindred simulate`, simulated browsers replaying an event log through the
//!   same core engine and aggregator; [`evaluate`]: `kindred evaluate`, the validation
//!   protocol's metrics; [`csv_input`]: the CSV files both read.
//! - [`demo`]: the demo shop's data (`kindred demo-catalog`, `kindred demo-seed`).

pub mod build_model;
pub mod config;
pub mod csv_input;
pub mod demo;
pub mod evaluate;
pub mod ingest;
pub mod metrics;
pub mod serve;
pub mod simulate;
pub mod store;
pub mod time;
