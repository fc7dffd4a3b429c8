//! End to end: simulated shoppers on the synthetic catalog build reports on their devices, the
//! aggregator counts, releases and builds a shared model, and the model must find the true
//! popular items and the planted co-occurrences. Seeded, so the quality assertions are
//! reproducible; they fail if the mechanism loses the signal.

use std::collections::{BTreeMap, HashSet};

use kindred_core::aggregate::{
    build_model, release, AggregationConfig, Candidates, ModelConfig, ReleasedCounts, WindowCounts,
};
use kindred_core::EventKind::{Purchase, View};
use kindred_core::SplitMix64;
use kindred_core::{
    Engine, EngineConfig, EventInput, LdpParams, Mode, PrivacyConfig, Report, SharedModel,
};

const DAY: i64 = kindred_core::DAY_MS;
/// The first day of a 30-day window; the simulation covers that window and reports on the
/// first day of the next.
const FIRST_DAY: u32 = 20_580;
const ITEMS: usize = 300;
const CLIENTS: usize = 500;
const DAYS: u32 = 30;

/// Item `i` is chosen with weight `1 / (i + 1)` (Zipf); half the time its partner `i ^ 1`
/// is viewed in the same session (the planted co-occurrence).
fn pick(rng: &mut SplitMix64, cdf: &[f64]) -> usize {
    let u = rng.unit() * cdf[cdf.len() - 1];
    cdf.partition_point(|&c| c < u).min(cdf.len() - 1)
}

struct Outcome {
    model: SharedModel,
    truth: BTreeMap<String, f64>,
    releases: Vec<ReleasedCounts>,
}

fn simulate(mode: Mode, epsilon: f64) -> Outcome {
    let privacy = PrivacyConfig {
        mode,
        // Threshold mode: ε per window. LDP: ε per report, and a window cap that lets a
        // shopper report every day.
        epsilon_per_window: if mode == Mode::Ldp { 100.0 } else { epsilon },
        ldp_epsilon: epsilon.min(10.0),
        ..PrivacyConfig::default()
    };
    let mut template = Engine::with_config(EngineConfig {
        privacy,
        ..EngineConfig::default()
    })
    .expect("valid");
    template
        .load_catalog_json(&kindred_synthetic::catalog_json(ITEMS, 11, 0))
        .expect("catalog");
    let candidates = Candidates::from_catalog(template.catalog());
    let mut clients: Vec<Engine> = (0..CLIENTS).map(|_| template.clone()).collect();
    let cdf: Vec<f64> = (0..ITEMS)
        .scan(0.0, |acc, i| {
            *acc += 1.0 / (i as f64 + 1.0);
            Some(*acc)
        })
        .collect();
    let mut behaviour = SplitMix64::new(2024);
    let mut device_rng = SplitMix64::new(7);
    // Distinct shoppers per item over the window, what threshold counts estimate.
    let mut truth: BTreeMap<String, f64> = BTreeMap::new();
    let mut touched: Vec<HashSet<String>> = vec![HashSet::new(); CLIENTS];
    let mut counts: BTreeMap<u32, WindowCounts> = BTreeMap::new();
    let config = AggregationConfig {
        epsilon: privacy.epsilon_per_window,
        ldp: LdpParams {
            epsilon: privacy.ldp().epsilon,
            set_size: privacy.ldp_set_size,
        },
        ..AggregationConfig::default()
    };
    for day in 0..=DAYS {
        let start = i64::from(FIRST_DAY + day) * DAY + 8 * 3_600_000;
        for (c, client) in clients.iter_mut().enumerate() {
            // Yesterday's report first (the transport runs at some time of the day).
            if let Some(p) = client.prepare_report(start, &mut device_rng).expect("ok") {
                let bytes = client.commit_report(p.day).expect("budget");
                let report = Report::from_json(&bytes, &config.limits()).expect("server accepts");
                counts
                    .entry(report.window)
                    .or_insert_with(|| WindowCounts::new(report.window, report.days))
                    .add(&report)
                    .expect("same window");
            }
            if day == DAYS || behaviour.unit() > 0.6 {
                continue;
            }
            let mut seen = HashSet::new();
            let n = 2 + behaviour.below(6);
            for j in 0..n {
                let i = pick(&mut behaviour, &cdf);
                let mut session = vec![i];
                if behaviour.unit() < 0.5 {
                    session.push((i ^ 1).min(ITEMS - 1));
                }
                for (k, item) in session.into_iter().enumerate() {
                    let id = format!("sku-{item}");
                    let ts = start + (j as i64) * 3_600_000 + k as i64 * 60_000;
                    let kind = if behaviour.unit() < 0.1 {
                        Purchase
                    } else {
                        View
                    };
                    client
                        .track(&EventInput::new(kind, id.clone()).at(ts), ts)
                        .expect("valid");
                    seen.insert(id);
                }
            }
            for id in seen {
                if touched[c].insert(id.clone()) {
                    *truth.entry(id).or_default() += 1.0;
                }
            }
        }
    }
    let mut release_rng = SplitMix64::new(99);
    let releases: Vec<ReleasedCounts> = counts
        .values()
        .map(|c| release(c, &config, &candidates, &mut release_rng).expect("valid config"))
        .collect();
    assert_eq!(releases.len(), 1, "one window");
    let model = build_model(
        &releases,
        FIRST_DAY + DAYS - 1,
        &ModelConfig {
            half_life_days: 60.0,
            ..ModelConfig::default()
        },
        1,
    );
    Outcome {
        model,
        truth,
        releases,
    }
}

/// The `n` best keys of a map (the truth's `BTreeMap` or a model's `SortedMap`).
fn top<'a, V: Copy + Into<f64> + 'a>(
    map: impl IntoIterator<Item = (&'a String, &'a V)>,
    n: usize,
) -> Vec<String> {
    let mut v: Vec<(&String, f64)> = map.into_iter().map(|(k, &s)| (k, s.into())).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.into_iter().take(n).map(|(k, _)| k.clone()).collect()
}

fn overlap(a: &[String], b: &[String]) -> usize {
    a.iter().filter(|x| b.contains(x)).count()
}

#[test]
fn threshold_mode_finds_the_popular_items_and_the_planted_pairs() {
    // The default budget: ε = 4 per shopper per window.
    let out = simulate(Mode::Threshold, kindred_core::DEFAULT_EPSILON);
    let true_top = top(&out.truth, 10);
    let model_top = top(&out.model.popularity, 10);
    let hits = overlap(&true_top, &model_top);
    eprintln!("threshold: true {true_top:?}\n model {model_top:?}\n overlap {hits}/10");
    assert!(hits >= 7, "top-10 overlap {hits}/10");
    // Planted partners: the strongest neighbour of an item is its partner. The head of the
    // distribution is left out: over a window nearly every shopper touches the ten most
    // popular items, so pairs among them are as common as the planted ones.
    let mut partner_hits = 0;
    for i in 10..16 {
        let id = format!("sku-{i}");
        let partner = format!("sku-{}", i ^ 1);
        if out
            .model
            .neighbours
            .get(&id)
            .and_then(|n| n.first())
            .map(|n| &n.item)
            == Some(&partner)
        {
            partner_hits += 1;
        }
    }
    eprintln!("threshold: partner hits {partner_hits}/6");
    assert!(partner_hits >= 4, "partner hits {partner_hits}/6");
    assert!(!out.model.interests.is_empty());
    let suppressed: u64 = out.releases.iter().map(|r| r.suppressed.items).sum();
    assert!(suppressed > 0, "the long tail is held back by k");
    assert!(out.model.validate().is_ok());
}

#[test]
fn ldp_mode_finds_the_most_popular_items() {
    // Local DP needs many more shoppers than a small shop has: with 500 simulated shoppers
    // only a larger epsilon separates the head of the distribution from the noise.
    let out = simulate(Mode::Ldp, 4.0);
    let true_top = top(&out.truth, 5);
    let model_top = top(&out.model.popularity, 5);
    let hits = overlap(&true_top, &model_top);
    eprintln!("ldp: true {true_top:?}\n model {model_top:?}\n overlap {hits}/5");
    assert!(hits >= 3, "top-5 overlap {hits}/5");
    assert!(out
        .releases
        .iter()
        .all(|r| r.ldp_reports > 0 && r.reports == 0));
    assert!(out.model.validate().is_ok());
}
