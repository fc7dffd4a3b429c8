//! Releasing one window: k-threshold and noise for threshold reports, estimates for LDP ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{pair_key, AggregateError, AggregationConfig, Counter, NoiseScales, WindowCounts};
use crate::privacy::ldp::{support, Olh};
use crate::privacy::noise::{RandomError, RandomSource};
use crate::privacy::report::{parse_ldp_counter_key, strategy_key, Family};
use crate::strategy::Strategy;

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
