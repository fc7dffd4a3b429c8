//! The aggregator, shared by the server and the simulator: count keys across reports per
//! contribution window, release each window once (threshold + noise, or LDP estimates), merge
//! windows with time decay and build the shared model.
//!
//! The server stores counters, never reports: [`Report::increments`] gives the rows to add,
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

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::lean;
use crate::model::shared::{BuilderConfig, ModelBuilder, SharedModel};
use crate::privacy::budget::Budget;
use crate::privacy::ldp::{support, Olh};
use crate::privacy::noise::{RandomError, RandomSource};
use crate::privacy::report::{
    parse_ldp_counter_key, strategy_key, Caps, Family, LdpParams, Report, ReportLimits,
};
use crate::strategy::Strategy;

pub use crate::privacy::budget::sigma;
pub use crate::privacy::noise::DiscreteGaussian;
pub use crate::privacy::report::{pair_key, split_pair_key, Counter, Increment};

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

/// Counters of one window: `(counter, key) -> count`. Mergeable and serializable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCounts {
    /// First day of the window.
    pub window: u32,
    /// Its length in days.
    pub days: u32,
    counts: BTreeMap<Counter, BTreeMap<String, u64>>,
}

impl WindowCounts {
    pub fn new(window: u32, days: u32) -> Self {
        WindowCounts {
            window,
            days,
            counts: BTreeMap::new(),
        }
    }

    /// Adds a validated report (each key at most once, which validation guarantees).
    pub fn add(&mut self, report: &Report) -> Result<(), AggregateError> {
        if report.window != self.window || report.days != self.days {
            return Err(AggregateError::WindowMismatch {
                expected: self.window,
                expected_days: self.days,
                found: report.window,
                found_days: report.days,
            });
        }
        report.increments().iter().for_each(|i| self.apply(i));
        Ok(())
    }

    pub fn apply(&mut self, inc: &Increment) {
        let c = self
            .counts
            .entry(inc.counter)
            .or_default()
            .entry(inc.key.clone())
            .or_default();
        *c = c.saturating_add(inc.delta);
    }

    /// Counts from stored rows.
    pub fn from_increments(
        window: u32,
        days: u32,
        rows: impl IntoIterator<Item = Increment>,
    ) -> Self {
        let mut counts = WindowCounts::new(window, days);
        rows.into_iter().for_each(|i| counts.apply(&i));
        counts
    }

    /// The counts as rows (one per counter and key), for storage.
    pub fn increments(&self) -> Vec<Increment> {
        self.counts
            .iter()
            .flat_map(|(&counter, keys)| {
                keys.iter().map(move |(key, &delta)| Increment {
                    counter,
                    key: key.clone(),
                    delta,
                })
            })
            .collect()
    }

    /// Adds another copy of the window's counts (e.g. from another server shard).
    pub fn merge(&mut self, other: &WindowCounts) {
        other.increments().iter().for_each(|i| self.apply(i));
    }

    pub fn get(&self, counter: Counter, key: &str) -> u64 {
        self.counts
            .get(&counter)
            .and_then(|m| m.get(key))
            .copied()
            .unwrap_or(0)
    }

    /// Keys of one counter with their counts.
    pub fn keys(&self, counter: Counter) -> impl Iterator<Item = (&String, u64)> {
        self.counts
            .get(&counter)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, &v)| (k, v)))
    }

    /// Threshold-mode reports counted (a shopper sends up to one a day).
    pub fn reports(&self) -> u64 {
        self.get(Counter::Reports, "")
    }

    /// LDP reports counted.
    pub fn ldp_reports(&self) -> u64 {
        self.get(Counter::LdpReports, "")
    }
}

/// Aggregation settings. They must match the clients' settings (window, caps, budget, LDP
/// parameters).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AggregationConfig {
    /// ε per shopper per window (default 4, the clients' default `epsilonPerWindow`).
    pub epsilon: f64,
    /// δ of the (ε, δ) budget (default 10⁻⁶).
    pub delta: f64,
    /// Minimum distinct shoppers contributing a key in a window before it is released
    /// (default 10, the value Protected Audience started with; 50, its target, is the strict
    /// setting).
    pub k: u64,
    /// When set, the noised threshold is raised above `k` so that a key's presence is
    /// `(ε, δ)`-DP with this δ per shopper; needs many more shoppers per key (see
    /// [`AggregationConfig::threshold`]). Default none: presence is k-anonymous.
    pub presence_delta: Option<f64>,
    /// Contribution bounds per window (the clients' caps).
    pub caps: Caps,
    /// Window length in days (the clients' `windowDays`).
    pub window_days: u32,
    /// The LDP parameters reports must use.
    pub ldp: LdpParams,
    /// Add noise (default true). False only for tests and the simulator's noiseless
    /// baseline: a release without noise is not differentially private.
    pub noise: bool,
    /// LDP: items with the largest estimates whose pairs are candidates (default 50).
    pub ldp_pair_items: usize,
    /// LDP: when set, release only estimates at least this many standard deviations above
    /// zero. Default none: every candidate's estimate is released, negative ones included,
    /// because only unfiltered estimates stay unbiased when windows are summed (filtering or
    /// clipping each window favours noise over small true counts); the model ignores keys
    /// whose merged total is not positive.
    pub ldp_min_sigmas: Option<f64>,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        let limits = ReportLimits::default();
        let budget = Budget::default();
        AggregationConfig {
            epsilon: budget.epsilon,
            delta: budget.delta,
            k: 10,
            presence_delta: None,
            caps: limits.caps,
            window_days: limits.window_days,
            ldp: limits.ldp,
            noise: true,
            ldp_pair_items: 50,
            ldp_min_sigmas: None,
        }
    }
}

impl AggregationConfig {
    /// What reports must respect.
    pub fn limits(&self) -> ReportLimits {
        ReportLimits {
            caps: self.caps,
            window_days: self.window_days,
            ldp: self.ldp,
        }
    }

    /// The device settings that match this aggregator (threshold mode, its budget, window,
    /// caps and LDP parameters): what the browsers reporting to it must use.
    pub fn client_privacy(&self) -> crate::privacy::config::PrivacyConfig {
        crate::privacy::config::PrivacyConfig {
            mode: crate::privacy::report::Mode::Threshold,
            epsilon_per_window: self.epsilon,
            delta: self.delta,
            window_days: self.window_days,
            caps: self.caps,
            ldp_epsilon: self.ldp.epsilon,
            ldp_set_size: self.ldp.set_size,
            ..crate::privacy::config::PrivacyConfig::default()
        }
    }

    /// The window budget the noise is calibrated to.
    pub fn budget(&self) -> Budget {
        Budget {
            epsilon: self.epsilon,
            delta: self.delta,
        }
    }

    pub fn validate(&self) -> Result<(), AggregateError> {
        let bad = |field, problem| Err(AggregateError::Config { field, problem });
        if let Some(problem) = self.budget().problem() {
            return bad(
                if problem.starts_with("delta") {
                    "delta"
                } else {
                    "epsilon"
                },
                problem,
            );
        }
        if self.k == 0 {
            return bad("k", "must be at least 1");
        }
        if self.window_days == 0 {
            return bad("windowDays", "must be at least 1");
        }
        if self
            .presence_delta
            .is_some_and(|d| !(d.is_finite() && d > 0.0 && d < 1.0))
        {
            return bad("presenceDelta", "must be a number in (0, 1)");
        }
        if !(self.ldp.epsilon.is_finite() && self.ldp.epsilon > 0.0 && self.ldp.set_size > 0) {
            return bad("ldp", "needs a positive epsilon and set size");
        }
        if self
            .ldp_min_sigmas
            .is_some_and(|z| !(z.is_finite() && z >= 0.0))
        {
            return bad("ldpMinSigmas", "must be a number >= 0");
        }
        Ok(())
    }

    /// The standard deviation of the noise on a family's counts ([`sigma`]).
    pub fn sigma(&self, family: Family) -> f64 {
        sigma(family, &self.caps, &self.budget())
    }

    /// The noise of a family in threshold mode.
    pub fn noise_of(&self, family: Family) -> DiscreteGaussian {
        DiscreteGaussian::new(self.sigma(family))
    }

    /// The noised threshold `τ_f` of a family: `k`, or with `presence_delta = δ`,
    /// `k + m` for the smallest `m` with `cap_f · P(noise >= m) <= δ` (a key that one shopper
    /// lifts to `k` is then released with probability at most `δ / cap_f`).
    pub fn threshold(&self, family: Family) -> u64 {
        let Some(delta) = self.presence_delta else {
            return self.k;
        };
        let noise = self.noise_of(family);
        let per_key = delta / f64::from(self.caps.of(family).max(1));
        let mut m = 0i64;
        while noise.tail(m) > per_key {
            // The tail falls faster than geometrically: doubling then bisecting would be
            // quicker, but σ is at most a few hundred, so this runs a few thousand steps once
            // per release.
            m += 1;
        }
        self.k.saturating_add(m.max(0) as u64)
    }
}

/// Released totals of one strategy. Threshold reports count each shopper at most once per
/// window (a strategy is reported shown, and clicked, once), so these are shoppers, not lists
/// or clicks: `clicks / impressions` is the share of shoppers shown the strategy who clicked
/// one of its recommendations, which a few heavy users cannot dominate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StrategyTotals {
    /// Threshold reports: shoppers shown the strategy in the window (noised). LDP reports
    /// (randomized per day, not per window): estimated reports saying it was shown.
    pub impressions: f64,
    /// Threshold reports: shoppers who clicked one of its recommendations (noised). LDP
    /// reports: estimated reports saying one was clicked.
    pub clicks: f64,
}

/// Keys the threshold held back, per family (for the dashboard).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppressed {
    pub items: u64,
    pub pairs: u64,
    pub interests: u64,
}

/// The standard deviation of the noise on one release's threshold-mode counts, per family
/// (zero when the release had no noise), recorded so statistics describe the release as it
/// was made even after the settings change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseScales {
    pub items: f64,
    pub pairs: f64,
    pub interests: f64,
    pub strategies: f64,
}

impl NoiseScales {
    /// The noise of `config`'s threshold-mode releases.
    pub fn of(config: &AggregationConfig) -> NoiseScales {
        if !config.noise {
            return NoiseScales::default();
        }
        NoiseScales {
            items: config.sigma(Family::Items),
            pairs: config.sigma(Family::Pairs),
            interests: config.sigma(Family::Interests),
            strategies: config.sigma(Family::Strategies),
        }
    }
}

fn one_day() -> u32 {
    1
}

/// One window's released counts: safe to publish (differentially private, k-thresholded).
/// Values from threshold reports are noised counts of distinct shoppers, each `>= k`; values
/// from LDP reports are unbiased estimates and may be negative (sum windows before judging
/// them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleasedCounts {
    /// First day of the window (`epoch`, the day, in releases made before windows).
    #[serde(alias = "epoch")]
    pub window: u32,
    /// Days the release covers (1 in releases made before windows).
    #[serde(default = "one_day")]
    pub days: u32,
    /// Threshold reports received: exact, not noised (a shopper sends up to one a day).
    pub reports: u64,
    /// LDP reports received.
    pub ldp_reports: u64,
    pub items: BTreeMap<String, f64>,
    /// Keyed by [`pair_key`].
    pub pairs: BTreeMap<String, f64>,
    pub interests: BTreeMap<String, f64>,
    pub strategies: BTreeMap<String, StrategyTotals>,
    pub suppressed: Suppressed,
    /// The noise of the threshold-mode counts.
    #[serde(default)]
    pub noise: NoiseScales,
    /// The noise of this release's LDP estimates, per family (zero without LDP reports), so
    /// models can tell signal from noise after merging windows.
    #[serde(default)]
    pub ldp_noise: LdpNoise,
}

impl ReleasedCounts {
    /// The last day the release covers.
    pub fn last_day(&self) -> u32 {
        self.window.saturating_add(self.days.max(1) - 1)
    }
}

/// The noise of one window's LDP estimates of one family, for a key no report holds: each
/// report moves the estimate by `step · (B − q)` with `B` a Bernoulli(`q = 1/g`) hash
/// match, independently of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EstimateNoise {
    /// Standard deviation of the estimate.
    pub std: f64,
    /// What one matching report adds to the estimate: `ℓ / (p − q)`.
    pub step: f64,
}

/// [`EstimateNoise`] per family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LdpNoise {
    pub items: EstimateNoise,
    pub pairs: EstimateNoise,
    pub interests: EstimateNoise,
}

/// Candidate keys for LDP estimation (the catalog's ids and interest keys); pairs are
/// formed from the items with the largest estimates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidates {
    pub items: Vec<String>,
    pub interests: Vec<String>,
}

impl Candidates {
    /// Every item id and interest key of a catalog.
    pub fn from_catalog(catalog: &crate::catalog::items::Catalog) -> Self {
        let mut interests = std::collections::BTreeSet::new();
        let mut items = Vec::new();
        for (_, item) in catalog.iter() {
            items.push(item.id.clone());
            interests.extend(crate::shopper::profile::interest_keys(item));
        }
        Candidates {
            items,
            interests: interests.into_iter().collect(),
        }
    }
}

/// Releases one window: threshold + noise for threshold reports, estimates over `candidates`
/// for LDP reports, summed when a window has both.
pub fn release(
    counts: &WindowCounts,
    config: &AggregationConfig,
    candidates: &Candidates,
    rng: &mut dyn RandomSource,
) -> Result<ReleasedCounts, AggregateError> {
    config.validate()?;
    let mut out = ReleasedCounts {
        window: counts.window,
        days: counts.days,
        reports: counts.reports(),
        ldp_reports: counts.ldp_reports(),
        noise: NoiseScales::of(config),
        ..ReleasedCounts::default()
    };
    for (family, counter) in [
        (Family::Items, Counter::Items),
        (Family::Pairs, Counter::Pairs),
        (Family::Interests, Counter::Interests),
    ] {
        let noise = config.noise_of(family);
        let tau = config.threshold(family) as i64;
        let mut released = BTreeMap::new();
        let mut suppressed = 0;
        for (key, c) in counts.keys(counter) {
            let z = if config.noise { noise.sample(rng)? } else { 0 };
            let noised = (c as i64).saturating_add(z);
            if c >= config.k && noised >= tau {
                released.insert(key.clone(), noised as f64);
            } else {
                suppressed += 1;
            }
        }
        match family {
            Family::Items => (out.items, out.suppressed.items) = (released, suppressed),
            Family::Pairs => (out.pairs, out.suppressed.pairs) = (released, suppressed),
            _ => (out.interests, out.suppressed.interests) = (released, suppressed),
        }
    }
    if out.reports > 0 {
        let noise = config.noise_of(Family::Strategies);
        for s in Strategy::ALL {
            let mut draw = |counter| -> Result<f64, RandomError> {
                let z = if config.noise { noise.sample(rng)? } else { 0 };
                Ok((counts.get(counter, s.name()) as i64)
                    .saturating_add(z)
                    .max(0) as f64)
            };
            let totals = StrategyTotals {
                impressions: draw(Counter::Impressions)?,
                clicks: draw(Counter::Clicks)?,
            };
            out.strategies.insert(s.name().to_owned(), totals);
        }
    }
    if out.ldp_reports > 0 {
        release_ldp(counts, config, candidates, &mut out);
        let n = out.ldp_reports as f64;
        let noise = |family| {
            let olh = config.ldp.olh(family);
            EstimateNoise {
                std: olh.std_dev(n),
                step: olh.estimate(1.0, 0.0),
            }
        };
        out.ldp_noise = LdpNoise {
            items: noise(Family::Items),
            pairs: noise(Family::Pairs),
            interests: noise(Family::Interests),
        };
    }
    Ok(out)
}

/// `(seed, bucket, count)` rows of one LDP counter.
fn ldp_rows(counts: &WindowCounts, family: Family) -> Vec<(u16, u32, u64)> {
    counts
        .keys(Counter::ldp(family))
        .filter_map(|(k, c)| parse_ldp_counter_key(k).map(|(s, y)| (s, y, c)))
        .collect()
}

/// Unbiased LDP estimates for every candidate of `family` (filtered by `ldp_min_sigmas` when
/// set), `(key, estimate)`.
pub fn estimate(
    counts: &WindowCounts,
    config: &AggregationConfig,
    family: Family,
    candidates: &[String],
) -> Vec<(String, f64)> {
    let olh: Olh = config.ldp.olh(family);
    let n = counts.ldp_reports() as f64;
    let floor = config
        .ldp_min_sigmas
        .map_or(f64::NEG_INFINITY, |z| z * olh.std_dev(n));
    let sup = support(candidates, &ldp_rows(counts, family), olh.g);
    candidates
        .iter()
        .zip(sup)
        .map(|(c, s)| (c.clone(), olh.estimate(s, n)))
        .filter(|(_, e)| *e >= floor)
        .collect()
}

fn release_ldp(
    counts: &WindowCounts,
    config: &AggregationConfig,
    candidates: &Candidates,
    out: &mut ReleasedCounts,
) {
    let add = |map: &mut BTreeMap<String, f64>, found: Vec<(String, f64)>| {
        for (k, v) in found {
            *map.entry(k).or_default() += v;
        }
    };
    let items = estimate(counts, config, Family::Items, &candidates.items);
    let mut top: Vec<&(String, f64)> = items.iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(config.ldp_pair_items);
    let mut ids: Vec<&str> = top.iter().map(|(k, _)| k.as_str()).collect();
    ids.sort_unstable();
    let mut pair_candidates = Vec::new();
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            pair_candidates.push(pair_key(a, b));
        }
    }
    let pairs = estimate(counts, config, Family::Pairs, &pair_candidates);
    add(&mut out.items, items);
    add(&mut out.pairs, pairs);
    add(
        &mut out.interests,
        estimate(counts, config, Family::Interests, &candidates.interests),
    );
    let outcome_keys: Vec<String> = Strategy::ALL
        .iter()
        .flat_map(|s| [strategy_key(s.name(), false), strategy_key(s.name(), true)])
        .collect();
    let olh = config.ldp.olh(Family::Strategies);
    let n = counts.ldp_reports() as f64;
    let sup = support(&outcome_keys, &ldp_rows(counts, Family::Strategies), olh.g);
    for (key, s) in outcome_keys.iter().zip(sup) {
        let est = olh.estimate(s, n);
        let (name, outcome) = key.rsplit_once(':').unwrap_or((key, "shown"));
        let t = out.strategies.entry(name.to_owned()).or_default();
        if outcome == "clicked" {
            t.clicks += est;
        } else {
            t.impressions += est;
        }
    }
}

/// Released counts merged over windows with exponential time decay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecayedTotals {
    pub items: BTreeMap<String, f64>,
    pub pairs: BTreeMap<String, f64>,
    pub interests: BTreeMap<String, f64>,
    pub strategies: BTreeMap<String, StrategyTotals>,
    /// Variance of the LDP noise in each merged value (`Σ w² σ²` over the windows that
    /// estimated the key); keys counted only from threshold reports have none here.
    #[serde(default)]
    pub variance: Variances,
}

/// The LDP noise in merged values, per family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Variances {
    /// Per key, `Σ w² σ²` over the windows that estimated it.
    pub items: BTreeMap<String, f64>,
    pub pairs: BTreeMap<String, f64>,
    pub interests: BTreeMap<String, f64>,
    /// Per family (items, pairs, interests), the most one report moves a merged value
    /// (`max w · step`).
    pub steps: [f64; 3],
}

/// Whether a merged value stands out from its LDP noise, by Bernstein's inequality: a sum of
/// independent terms each at most `step` above its mean, with variance `var`, exceeds `t` with
/// probability at most `exp(−t² / (2 (var + step·t/3)))`. Setting that to `1 / odds` gives
/// `t = L·step/3 + sqrt((L·step/3)² + 2·L·var)` with `L = ln(odds)`. A Gaussian bar
/// (`sqrt(2 L var)`) ignores that with few reports a day and many buckets hash matches are
/// rare and their sum is skewed; on the Online Retail validation split at ε = 10 it let five
/// items into the model, four of them among the least bought, which made recommendations
/// worse than no model. Bernstein's bar lets none through there.
/// Values without LDP noise only need to be positive.
fn significant(var: Option<f64>, step: f64, value: f64, odds: f64) -> bool {
    let Some(var) = var else {
        return value > 0.0;
    };
    let l = odds.max(1.0).ln();
    let a = l * step / 3.0;
    value > 0.0 && value >= a + (a * a + 2.0 * l * var).sqrt()
}

/// Sums releases weighted by `0.5^(age / half_life_days)`, the age of a release being the
/// days from the middle of its period to `as_of_day` (a window's counts are spread over its
/// days; releases from the future weigh 1).
pub fn merge_windows(
    released: &[ReleasedCounts],
    as_of_day: u32,
    half_life_days: f64,
) -> DecayedTotals {
    let mut t = DecayedTotals::default();
    let hl = half_life_days.max(1e-9);
    for r in released {
        let middle = f64::from(r.window) + f64::from(r.days.max(1) - 1) / 2.0;
        let age = (f64::from(as_of_day) - middle).max(0.0);
        let w = lean::exp2(-age / hl);
        let noise = &r.ldp_noise;
        let families = [
            (&r.items, &mut t.items, &mut t.variance.items, noise.items),
            (&r.pairs, &mut t.pairs, &mut t.variance.pairs, noise.pairs),
            (
                &r.interests,
                &mut t.interests,
                &mut t.variance.interests,
                noise.interests,
            ),
        ];
        for (f, (src, dst, var, noise)) in families.into_iter().enumerate() {
            for (k, v) in src {
                *dst.entry(k.clone()).or_default() += v * w;
                if noise.std > 0.0 {
                    *var.entry(k.clone()).or_default() += (w * noise.std) * (w * noise.std);
                }
            }
            t.variance.steps[f] = t.variance.steps[f].max(w * noise.step);
        }
        for (k, s) in &r.strategies {
            let d = t.strategies.entry(k.clone()).or_default();
            d.impressions += s.impressions * w;
            d.clicks += s.clicks * w;
        }
    }
    t
}

/// How the shared model is built from releases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelConfig {
    /// Half-life of popularity, co-occurrence and interests in days (default 60: two windows,
    /// so a small shop's model rests on several months of releases, the latest weighing most).
    pub half_life_days: f64,
    /// Trending compares the releases of the last `recent_days` (default 30: the newest
    /// window) ...
    pub recent_days: u32,
    /// ... with the `baseline_days` before them (default 60: the two windows before), per day.
    pub baseline_days: u32,
    /// LDP: how many keys of pure noise each family may let into the model, in expectation
    /// (default 1). At a single shop's scale most LDP estimates are noise, and a popularity
    /// list ranked by noise is worse than none, so a merged estimate is kept only when the
    /// chance that noise alone reaches it is below `this / n` for `n` keys estimated (a union
    /// bound, like Bonferroni's; the chance comes from Bernstein's inequality, see
    /// `significant`).
    pub ldp_noise_keys: f64,
    pub builder: BuilderConfig,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            half_life_days: 60.0,
            recent_days: 30,
            baseline_days: 60,
            ldp_noise_keys: 1.0,
            builder: BuilderConfig::default(),
        }
    }
}

/// The merged, noise-filtered counts a model is built from: what the shared model and a
/// learned item model ([`SharedModel`]'s item weights, fitted by the server) both read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelInputs {
    /// Decayed item counts (distinct shoppers per window, summed with decay).
    pub items: BTreeMap<String, f64>,
    /// Decayed pair counts, keyed by [`pair_key`].
    pub pairs: BTreeMap<String, f64>,
    pub interests: BTreeMap<String, f64>,
}

/// Merges releases as of `as_of_day` and keeps only values that stand out from their LDP
/// noise (threshold-mode values always do: they passed the k-threshold).
pub fn model_inputs(
    released: &[ReleasedCounts],
    as_of_day: u32,
    config: &ModelConfig,
) -> ModelInputs {
    let totals = merge_windows(released, as_of_day, config.half_life_days);
    let noise = &totals.variance;
    let kept = |map: &BTreeMap<String, f64>, var: &BTreeMap<String, f64>, step: f64| {
        let odds = var.len() as f64 / config.ldp_noise_keys.max(1e-9);
        map.iter()
            .filter(|(k, v)| significant(var.get(*k).copied(), step, **v, odds))
            .map(|(k, v)| (k.clone(), *v))
            .collect::<BTreeMap<String, f64>>()
    };
    ModelInputs {
        items: kept(&totals.items, &noise.items, noise.steps[0]),
        pairs: kept(&totals.pairs, &noise.pairs, noise.steps[1]),
        interests: kept(&totals.interests, &noise.interests, noise.steps[2]),
    }
}

/// Builds the shared model from stored releases as of `as_of_day` (the last day of the
/// newest released window): popularity from decayed item counts, trending from the newest
/// window against the ones before, co-occurrence neighbours from decayed pair counts
/// (Ochiai-normalized and shrunk by [`ModelBuilder`], so popular items do not dominate), and
/// the interest distribution. Recency comes out of windows: a window is released once it has
/// closed, so the model describes the months up to the newest closed window, and "trending"
/// means growing in the newest window over the two before.
pub fn build_model(
    released: &[ReleasedCounts],
    as_of_day: u32,
    config: &ModelConfig,
    version: u64,
) -> SharedModel {
    let inputs = model_inputs(released, as_of_day, config);
    let mut b = ModelBuilder::new(config.builder);
    for (k, v) in &inputs.items {
        b.item(k, *v);
    }
    for (k, v) in &inputs.pairs {
        if let Some((x, y)) = split_pair_key(k) {
            b.pair(x, y, *v);
        }
    }
    for (k, v) in &inputs.interests {
        b.interest(k, *v);
    }
    let recent_days = config.recent_days.max(1);
    let recent_from = as_of_day.saturating_add(1).saturating_sub(recent_days);
    let baseline_from = recent_from.saturating_sub(config.baseline_days.max(1));
    let mut recent: HashMap<&str, f64> = HashMap::new();
    let (mut recent_covered, mut baseline_covered) = (0u32, 0u32);
    for r in released.iter().filter(|r| r.last_day() <= as_of_day) {
        let in_recent = r.last_day() >= recent_from;
        let in_baseline = !in_recent && r.last_day() >= baseline_from;
        if in_recent {
            recent_covered += r.days.max(1);
        } else if in_baseline {
            baseline_covered += r.days.max(1);
        }
        // Trending only among items that stand out from the noise over all windows.
        for (k, v) in r
            .items
            .iter()
            .filter(|(k, _)| inputs.items.contains_key(*k))
        {
            if in_recent {
                *recent.entry(k).or_default() += v;
            } else if in_baseline {
                b.baseline_item(k, *v);
            }
        }
    }
    for (k, v) in recent {
        b.recent_item(k, v);
    }
    b.windows(
        f64::from(recent_covered.max(1)),
        f64::from(baseline_covered.max(1)),
    );
    b.build(version, as_of_day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::noise::SplitMix64;
    use crate::privacy::report::{Mode, REPORT_VERSION};

    fn threshold_report(window: u32, items: &[&str]) -> Report {
        Report {
            v: REPORT_VERSION,
            window,
            days: 30,
            mode: Mode::Threshold,
            items: items.iter().map(|s| s.to_string()).collect(),
            pairs: Vec::new(),
            interests: Vec::new(),
            strategies: Vec::new(),
            ldp: None,
        }
    }

    fn counts(window: u32, reports: &[(&[&str], usize)]) -> WindowCounts {
        let mut c = WindowCounts::new(window, 30);
        for (items, times) in reports {
            for _ in 0..*times {
                c.add(&threshold_report(window, items))
                    .expect("same window");
            }
        }
        c
    }

    #[test]
    fn counts_round_trip_through_rows_and_merge() {
        let c = counts(5, &[(&["a", "b"], 3), (&["a"], 2)]);
        assert_eq!(c.get(Counter::Items, "a"), 5);
        assert_eq!(c.reports(), 5);
        let back = WindowCounts::from_increments(5, 30, c.increments());
        assert_eq!(back, c);
        let mut m = c.clone();
        m.merge(&c);
        assert_eq!(m.get(Counter::Items, "b"), 6);
        let json = serde_json::to_string(&c).expect("serializes");
        assert_eq!(
            serde_json::from_str::<WindowCounts>(&json).expect("parses"),
            c
        );
        assert!(matches!(
            m.add(&threshold_report(6, &["a"])),
            Err(AggregateError::WindowMismatch { .. })
        ));
    }

    #[test]
    fn without_noise_the_threshold_is_exact() {
        let c = counts(1, &[(&["a", "b"], 9), (&["a"], 1), (&["c"], 1)]);
        let cfg = AggregationConfig {
            noise: false,
            ..AggregationConfig::default()
        };
        let r = release(&c, &cfg, &Candidates::default(), &mut SplitMix64::new(1))
            .expect("valid config");
        assert_eq!(r.items.get("a"), Some(&10.0));
        assert_eq!(r.items.len(), 1, "b (9) and c (1) are below k = 10");
        assert_eq!(r.suppressed.items, 2);
        assert_eq!(r.reports, 11);
    }

    #[test]
    fn noise_never_releases_below_k_and_stays_near_the_truth() {
        let c = counts(1, &[(&["a"], 500), (&["b"], 9)]);
        let cfg = AggregationConfig::default();
        let noise = cfg.noise_of(Family::Items);
        let mut rng = SplitMix64::new(3);
        let mut sum = 0.0;
        for _ in 0..200 {
            let r = release(&c, &cfg, &Candidates::default(), &mut rng).expect("valid");
            assert!(!r.items.contains_key("b"));
            if let Some(v) = r.items.get("a") {
                assert!((v - 500.0).abs() < 10.0 * noise.variance().sqrt());
                sum += v;
            }
        }
        let mean = sum / 200.0;
        assert!(
            (mean - 500.0).abs() < 4.0 * (noise.variance() / 200.0).sqrt(),
            "{mean}"
        );
    }

    #[test]
    fn presence_delta_raises_the_threshold() {
        let cfg = AggregationConfig {
            presence_delta: Some(1e-6),
            ..AggregationConfig::default()
        };
        let tau = cfg.threshold(Family::Items);
        let noise = cfg.noise_of(Family::Items);
        let m = (tau - cfg.k) as i64;
        let cap = f64::from(cfg.caps.items);
        assert!(cap * noise.tail(m) <= 1e-6);
        assert!(cap * noise.tail(m - 1) > 1e-6);
        // Gaussian tails fall fast: about 5.5σ above k.
        assert!((m as f64 / noise.sigma() - 5.5).abs() < 0.3, "{m}");
        assert_eq!(AggregationConfig::default().threshold(Family::Items), 10);
    }

    #[test]
    fn decay_halves_weight_every_half_life() {
        let mut a = ReleasedCounts {
            window: 10,
            days: 1,
            ..ReleasedCounts::default()
        };
        a.items.insert("x".into(), 8.0);
        let mut b = a.clone();
        b.window = 3;
        let t = merge_windows(&[a.clone(), b], 10, 7.0);
        assert!((t.items["x"] - 12.0).abs() < 1e-9);
        // A window counts from its middle day.
        let w = ReleasedCounts {
            window: 0,
            days: 31,
            ..a
        };
        let t = merge_windows(&[w], 45, 30.0);
        assert!((t.items["x"] - 4.0).abs() < 1e-9);
    }

    #[test]
    fn ldp_noise_stays_out_of_the_model() {
        // 200 epochs of LDP estimates with standard deviation 100: 500 candidate items are
        // pure noise, one is held by 60 reports a day.
        let mut rng = SplitMix64::new(5);
        let gauss = |rng: &mut SplitMix64| {
            // Sum of 12 uniforms: mean 6, variance 1.
            (0..12).map(|_| rng.unit()).sum::<f64>() - 6.0
        };
        // Many small steps: close to Gaussian, as with many reports per bucket.
        let gaussian_like = EstimateNoise {
            std: 100.0,
            step: 1.0,
        };
        let releases: Vec<ReleasedCounts> = (0..200u32)
            .map(|window| {
                let mut r = ReleasedCounts {
                    window,
                    days: 1,
                    ldp_reports: 400,
                    ldp_noise: LdpNoise {
                        items: gaussian_like,
                        pairs: gaussian_like,
                        interests: gaussian_like,
                    },
                    ..ReleasedCounts::default()
                };
                for i in 0..500 {
                    r.items
                        .insert(format!("noise-{i}"), 100.0 * gauss(&mut rng));
                }
                r.items
                    .insert("real".into(), 60.0 + 100.0 * gauss(&mut rng));
                r
            })
            .collect();
        let config = ModelConfig {
            half_life_days: 1000.0,
            ..ModelConfig::default()
        };
        let m = build_model(&releases, 199, &config, 1);
        assert!(m.popularity.contains_key("real"), "{:?}", m.popularity);
        assert!(m.popularity.len() <= 3, "noise let in: {:?}", m.popularity);
        // Without the noise level recorded, every positive total would count.
        let unmarked: Vec<ReleasedCounts> = releases
            .into_iter()
            .map(|r| ReleasedCounts {
                ldp_noise: LdpNoise::default(),
                ..r
            })
            .collect();
        let m = build_model(&unmarked, 199, &config, 1);
        assert!(m.popularity.len() > 100, "{}", m.popularity.len());
    }

    #[test]
    fn ldp_releases_record_their_noise() {
        let cfg = AggregationConfig::default();
        let mut c = WindowCounts::new(3, 30);
        c.apply(&Increment {
            counter: Counter::LdpReports,
            key: String::new(),
            delta: 100,
        });
        let r = release(&c, &cfg, &Candidates::default(), &mut SplitMix64::new(1)).expect("ok");
        let expected = cfg.ldp.olh(Family::Items).std_dev(100.0);
        assert!((r.ldp_noise.items.std - expected).abs() < 1e-9);
        let olh = cfg.ldp.olh(Family::Items);
        let step = f64::from(olh.set_size) / (olh.p - 1.0 / f64::from(olh.g));
        assert!((r.ldp_noise.items.step - step).abs() < 1e-9);
        assert!(
            r.ldp_noise.pairs.std > r.ldp_noise.items.std,
            "pairs get less epsilon"
        );
        let threshold_only = release(
            &counts(3, &[(&["a"], 12)]),
            &cfg,
            &Candidates::default(),
            &mut SplitMix64::new(1),
        )
        .expect("ok");
        assert_eq!(threshold_only.ldp_noise, LdpNoise::default());
    }

    #[test]
    fn model_has_trending_from_the_recent_window() {
        let mut releases = Vec::new();
        for window in (0..6u32).map(|w| w * 30) {
            let mut r = ReleasedCounts {
                window,
                days: 30,
                ..ReleasedCounts::default()
            };
            r.items.insert("steady".into(), 50.0);
            if window == 150 {
                r.items.insert("rising".into(), 40.0);
            }
            r.pairs.insert(pair_key("rising", "steady"), 20.0);
            r.interests.insert("brand:Acme".into(), 5.0);
            releases.push(r);
        }
        let m = build_model(&releases, 179, &ModelConfig::default(), 3);
        assert_eq!(m.popularity["steady"], 1.0);
        assert!(m.trending.contains_key("rising"));
        assert!(!m.trending.contains_key("steady"));
        assert_eq!(m.neighbours["rising"][0].item, "steady");
        assert_eq!(m.interests["brand:Acme"], 1.0);
        assert!(m.validate().is_ok());
    }
}
