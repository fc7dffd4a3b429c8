//! The aggregator, shared by the server and the simulator: count keys across reports per
//! contribution window, release each window once (threshold + noise, or LDP estimates), merge
//! windows with time decay and build the shared model.
//!
//! The server stores counters, never reports: [`Report::increments`](crate::Report::increments) gives the rows to add,
//! [`WindowCounts::from_increments`] reads them back.
//!
//! **Release each window exactly once** and keep the [`ReleasedCounts`]: releasing the same
//! window again with fresh noise would compose (every release spends the budget again, and
//! averaging releases removes the noise). Models are built from stored releases.
//!
//! Threshold mode. Over a window a shopper contributes each key at most once and at most the
//! window's caps ([`WindowState`](crate::WindowState)), so a key's count is the number of **distinct shoppers**
//! who contributed it. Each count `c` of family `f` gets discrete Gaussian noise `Z` of
//! standard deviation `σ_f` ([`sigma`], calibrated to the window's caps and the
//! `(ε, δ)` budget per shopper per window) and the key is released when `c >= k` **and**
//! `c + Z >= τ_f`; the released value is `c + Z`. The first condition is the product's promise
//! (no key held by fewer than `k` shoppers in the window ever appears); the second makes the
//! boundary noisy and, with [`AggregationConfig::presence_delta`], raises `τ_f` far enough
//! above `k` that presence is `(ε, δ)`-DP too. Strategy counters (a fixed, public set of keys:
//! shoppers shown, and shoppers who clicked, each strategy) are all released with noise of
//! `σ_strategies`, no threshold.
//!
//! Releases made before windows existed (wire format v1: one day, per-day Laplace noise) are
//! read as one-day periods (`days` = 1) and still count in models.
//!
//! A public module of its own: this is the server's API (and the simulator's), which the
//! browser module never uses. Besides the aggregator it re-exports what only the server needs
//! of the layers below: the counter rows it stores ([`Counter`], [`Increment`]), the pair key
//! encoding, the noise formula ([`sigma`]) and the noise itself ([`DiscreteGaussian`]).

mod config;
mod counts;
mod merge;
mod release;
#[cfg(test)]
mod tests;

pub use config::{AggregationConfig, NoiseScales};
pub use counts::WindowCounts;
pub use merge::{
    build_model, merge_windows, model_inputs, DecayedTotals, ModelConfig, ModelInputs, Variances,
};
pub use release::{
    estimate, release, Candidates, EstimateNoise, LdpNoise, ReleasedCounts, StrategyTotals,
    Suppressed,
};

pub use crate::privacy::budget::sigma;
pub use crate::privacy::noise::DiscreteGaussian;
pub use crate::privacy::report::{pair_key, split_pair_key, Counter, Increment};

use crate::privacy::noise::RandomError;

/// Why counts could not be aggregated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AggregateError {
    #[error("report for the {found_days}-day window of day {found} cannot be added to the counts of the {expected_days}-day window of day {expected}")]
    WindowMismatch {
        expected: u32,
        expected_days: u32,
        found: u32,
        found_days: u32,
    },
    #[error("invalid aggregation option \"{field}\": {problem}")]
    Config {
        field: &'static str,
        problem: &'static str,
    },
    #[error(transparent)]
    Random(#[from] RandomError),
}
