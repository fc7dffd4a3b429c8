//! Statistics of the release, with many simulated shoppers: their browsers' engines report a
//! whole window through the wire format, the aggregator counts, and the release is repeated
//! with fresh noise many times. Keys held by fewer than k shoppers are never released; the
//! counts are exactly the numbers of distinct shoppers; released values are unbiased within
//! their noise bounds, and the noise has the scale of the one formula that computes it
//! (`aggregate::sigma`).

use std::collections::BTreeMap;

use kindred_core::aggregate::{self, pair_key, Counter, DiscreteGaussian};
use kindred_core::aggregate::{release, AggregationConfig, Candidates, WindowCounts};
use kindred_core::EventKind::{Purchase, View};
use kindred_core::SplitMix64;
use kindred_core::{Budget, Engine, EngineConfig, EventInput, Family, PrivacyConfig, Report};

const DAY: i64 = kindred_core::DAY_MS;
const WINDOW: u32 = 20_580;
const SHOPPERS: usize = 300;
const ITEMS: usize = 120;

struct Window {
    counts: WindowCounts,
    /// Distinct shoppers per item and pair key, from what each device recorded as contributed.
    items: BTreeMap<String, u64>,
    pairs: BTreeMap<String, u64>,
}

fn shop_a_window() -> Window {
    let mut template = Engine::with_config(EngineConfig {
        privacy: PrivacyConfig::default(),
        ..EngineConfig::default()
    })
    .expect("valid");
    template
        .load_catalog_json(&kindred_synthetic::catalog_json(ITEMS, 3, 0))
        .expect("catalog");
    let config = AggregationConfig::default();
    let mut counts = WindowCounts::new(WINDOW, 30);
    let mut behaviour = SplitMix64::new(17);
    let mut device = SplitMix64::new(18);
    let (mut items, mut pairs) = (BTreeMap::new(), BTreeMap::new());
    for _ in 0..SHOPPERS {
        let mut e = template.clone();
        for day in 0..31u32 {
            let start = i64::from(WINDOW + day) * DAY + 9 * 3_600_000;
            while let Some(p) = e.prepare_report(start, &mut device).expect("ok") {
                let json = e.commit_report(p.day).expect("fits");
                let report = Report::from_json(&json, &config.limits()).expect("valid");
                counts.add(&report).expect("one window");
            }
            if day == 30 || behaviour.unit() > 0.25 {
                continue;
            }
            for j in 0..(1 + behaviour.below(4)) as i64 {
                // Squared uniform: a skewed popularity, a few items held by most shoppers.
                let u = behaviour.unit();
                let item = format!("sku-{}", (u * u * ITEMS as f64) as usize);
                let kind = if behaviour.unit() < 0.3 {
                    Purchase
                } else {
                    View
                };
                let ts = start + j * 60_000;
                e.track(&EventInput::new(kind, item).at(ts), ts)
                    .expect("valid");
            }
        }
        let w = e.privacy_state().window.clone().expect("reported");
        for id in &w.items {
            *items.entry(id.clone()).or_default() += 1;
        }
        for (a, b) in &w.pairs {
            *pairs.entry(pair_key(a, b)).or_default() += 1;
        }
    }
    Window {
        counts,
        items,
        pairs,
    }
}

#[test]
fn releases_are_k_thresholded_unbiased_and_noised_by_the_one_formula() {
    let w = shop_a_window();
    // Every key's count is its number of distinct shoppers: none contributed a key twice.
    for (family, counter, truth) in [
        ("items", Counter::Items, &w.items),
        ("pairs", Counter::Pairs, &w.pairs),
    ] {
        assert_eq!(w.counts.keys(counter).count(), truth.len(), "{family}");
        for (key, &n) in truth {
            assert_eq!(w.counts.get(counter, key), n, "{family} {key}");
        }
    }
    let config = AggregationConfig::default();
    let sigma = aggregate::sigma(Family::Items, &config.caps, &Budget::default());
    assert_eq!(config.sigma(Family::Items), sigma);
    let runs = 400;
    let mut rng = SplitMix64::new(5);
    // Per item: how often released, and the sum and sum of squares of the noise.
    let mut seen: BTreeMap<String, (u32, f64, f64)> = BTreeMap::new();
    let mut pair_releases = 0u64;
    for _ in 0..runs {
        let r = release(&w.counts, &config, &Candidates::default(), &mut rng).expect("valid");
        assert_eq!(r.noise.items, sigma, "the release records the formula's σ");
        for (key, v) in &r.items {
            let truth = w.items[key];
            assert!(truth >= config.k, "{key} released with {truth} shoppers");
            let e = seen.entry(key.clone()).or_default();
            e.0 += 1;
            e.1 += v - truth as f64;
            e.2 += (v - truth as f64).powi(2);
        }
        for key in r.pairs.keys() {
            assert!(w.pairs[key] >= config.k, "pair {key} below k");
            pair_releases += 1;
        }
    }
    assert!(pair_releases > 0, "some pairs pass k = 10");
    let noise = DiscreteGaussian::new(sigma);
    let (mut checked, mut near) = (0, 0);
    for (key, &truth) in &w.items {
        let (n, sum, squares) = seen.get(key).copied().unwrap_or_default();
        if truth < config.k {
            assert_eq!(n, 0);
            continue;
        }
        // Released when c + Z >= k: the probability is a tail of the discrete Gaussian.
        let p = noise.tail(config.k as i64 - truth as i64);
        let expected = p * f64::from(runs);
        let spread = (f64::from(runs) * p * (1.0 - p)).sqrt();
        assert!(
            (f64::from(n) - expected).abs() <= 5.0 * spread + 1.0,
            "{key}: {n} releases, expected {expected:.1} ± {spread:.1}"
        );
        if p < 0.999_999 {
            near += 1;
            continue;
        }
        // Always released: the noise is unbiased with variance σ².
        let mean = sum / f64::from(n);
        let var = squares / f64::from(n) - mean * mean;
        assert!(
            mean.abs() < 5.0 * sigma / f64::from(n).sqrt(),
            "{key}: mean noise {mean}"
        );
        assert!(
            (var / (sigma * sigma) - 1.0).abs() < 0.3,
            "{key}: variance {var} against σ² {}",
            sigma * sigma
        );
        checked += 1;
    }
    assert!(checked >= 5, "{checked} items well above k");
    assert!(near >= 1, "{near} items near k");
}
