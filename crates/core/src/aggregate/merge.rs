//! Releases merged over windows with time decay, and the shared model built from them.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{split_pair_key, ReleasedCounts, StrategyTotals};
use crate::lean;
use crate::model::shared::{BuilderConfig, ModelBuilder, SharedModel};

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
    /// Decayed pair counts, keyed by [`pair_key`](super::pair_key).
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
