//! kindred-core: the personalization engine shared by the browser module, the server and the
//! simulator. Pure Rust: no wasm-bindgen, js-sys or web-sys, not even behind a feature.
//!
//! - [`text`]: tokenizer, scikit-learn-compatible TF-IDF and sparse vectors.
//! - [`catalog`]: validated items with dense indices and their content index.
//! - [`shopper`]: local behaviour and the decayed interest profile.
//! - [`model`]: the shared model clients download.
//! - [`recommend`]: requests, rules, the recommenders and explanations.
//! - [`privacy`]: the wire format of what leaves the device, contribution windows, building
//!   reports on the device, zCDP accounting, the ledger, local DP and noise.
//! - [`aggregate`]: counting, thresholds, noise and estimators on the server side.
//! - [`engine`]: one shopper's engine, its persisted state and its export.
//! - [`synthetic`]: deterministic synthetic catalogs for tests, benchmarks and demos.
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod catalog;
pub mod engine;
pub mod lean;
pub mod model;
pub mod privacy;
pub mod recommend;
pub mod shopper;
pub mod strategy;
pub mod synthetic;
pub mod text;

pub use catalog::items::{Catalog, CatalogError, Item, LoadReport, RejectedRow};
pub use engine::{Engine, EngineConfig, EngineError, EventWeights};
pub use model::shared::{ModelBuilder, SharedModel};
pub use privacy::budget::Budget;
pub use privacy::config::{PrivacyConfig, PrivacyConfigError};
pub use privacy::device::{PreparedReport, PrivacyError, PrivacyOverview};
pub use privacy::ledger::{Ledger, LedgerSummary};
pub use privacy::noise::{OsRandom, RandomSource};
pub use privacy::report::{Mode, Report, ReportError, ReportLimits};
pub use privacy::window::{epoch_of, window_of, WindowState};
pub use recommend::rules::{RecommendRequest, Recommendation};
pub use shopper::history::{EventInput, EventKind};
pub use shopper::profile::Interest;
pub use strategy::Strategy;

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;
