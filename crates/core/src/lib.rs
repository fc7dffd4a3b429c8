//! kindred-core: the personalization engine shared by the browser module, the server and the
//! simulator. Pure Rust: no wasm-bindgen, js-sys or web-sys, not even behind a feature.
//!
//! - [`catalog`]: validated items with dense indices; [`index`]: TF-IDF + embeddings.
//! - [`text`], [`tfidf`], [`sparse`]: tokenizer and scikit-learn-compatible weighting.
//! - [`history`], [`profile`]: local behaviour and the decayed interest profile.
//! - [`model`]: the shared model clients download; [`rules`], [`strategies`]: recommenders.
//! - [`engine`]: one shopper's engine; [`snapshot`]: its persisted state.
//! - [`explain`]: why an item is recommended; [`export`]: everything stored about the shopper.
//! - [`report`]: the wire format of what leaves the device; [`window`]: what one shopper may
//!   contribute per window; [`privacy`]: building reports on the device; [`budget`]: zCDP
//!   accounting and the one noise formula; [`ledger`]: the budget spent per window; [`ldp`]:
//!   local DP; [`noise`]: randomness and noise; [`aggregate`]: counting, thresholds, noise
//!   and estimators on the server side.
//! - [`synthetic`]: deterministic synthetic catalogs for tests, benchmarks and demos.
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod budget;
pub mod catalog;
pub mod compact;
pub mod engine;
pub mod explain;
pub mod export;
pub mod history;
pub mod index;
pub mod ldp;
pub mod ledger;
pub mod model;
pub mod noise;
pub mod privacy;
pub mod profile;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod sparse;
pub mod strategies;
pub mod synthetic;
pub mod text;
pub mod tfidf;
pub mod window;

pub use budget::Budget;
pub use catalog::{Catalog, CatalogError, Item, LoadReport, RejectedRow};
pub use engine::{Engine, EngineConfig, EngineError, EventWeights};
pub use history::{EventInput, EventKind};
pub use ledger::{Ledger, LedgerSummary};
pub use model::{ModelBuilder, SharedModel};
pub use noise::{OsRandom, RandomSource};
pub use privacy::{
    epoch_of, PreparedReport, PrivacyConfig, PrivacyConfigError, PrivacyError, PrivacyOverview,
};
pub use profile::Interest;
pub use report::{Mode, Report, ReportError, ReportLimits};
pub use rules::{RecommendRequest, Recommendation, Strategy};
pub use window::{window_of, WindowState};

/// The Rust examples of docs/RANKING.md, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/RANKING.md")]
pub struct RankingDocExamples;
