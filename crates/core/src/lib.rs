//! kindred-core: the personalization engine shared by the browser module, the server and the
//! simulator. Pure Rust: no wasm-bindgen, js-sys or web-sys, not even behind a feature.
//!
//! - [`catalog`]: validated items with dense indices; [`index`]: TF-IDF + embeddings.
//! - [`text`], [`tfidf`], [`sparse`]: tokenizer and scikit-learn-compatible weighting.
//! - [`history`], [`profile`]: local behaviour and the decayed interest profile.
//! - [`model`]: the shared model clients download; [`rules`], [`strategies`]: recommenders.
//! - [`engine`]: one shopper's engine; [`snapshot`]: its persisted state.
//! - [`explain`]: why an item is recommended; [`export`]: everything stored about the shopper.
//! - [`synthetic`]: deterministic synthetic catalogs for tests, benchmarks and demos.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod engine;
pub mod explain;
pub mod export;
pub mod history;
pub mod index;
pub mod model;
pub mod profile;
pub mod rules;
pub mod snapshot;
pub mod sparse;
pub mod strategies;
pub mod synthetic;
pub mod text;
pub mod tfidf;

pub use catalog::{Catalog, CatalogError, Item, LoadReport, RejectedRow};
pub use engine::{Engine, EngineConfig, EngineError, EventWeights};
pub use history::{EventInput, EventKind};
pub use model::{ModelBuilder, SharedModel};
pub use profile::Interest;
pub use rules::{RecommendRequest, Recommendation, Strategy};

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;
