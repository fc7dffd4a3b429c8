//! The learned item model (`kindred_server::item_model::fit_ease`): a dense EASE fit on
//! synthetic released counts of 1,000, 3,000 and 10,000 items. The budget is 30 s for 10,000
//! items on a 2-core machine. Run with `cargo bench -p kindred-server --bench item_model`
//! (several minutes, most of it the 10,000-item group). Each group first prints the shape of
//! its counts and the factorization path taken.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use kindred_core::SplitMix64;
use kindred_server::item_model::{fit_ease, EaseConfig, ItemWeights};

type Counts = (BTreeMap<String, f64>, BTreeMap<(String, String), f64>);

/// Counts shaped like a shop's release: 8 shopper-windows per item, 2 to 6 items each drawn
/// from a long-tailed popularity, each window decayed by a random age (so counts are not
/// integers). G = XᵀX of those windows, hence positive semidefinite: the Cholesky path.
fn released_counts(n: usize) -> Counts {
    let mut rng = SplitMix64::new(n as u64);
    let cumulative: Vec<f64> = (0..n)
        .scan(0.0, |total, i| {
            *total += 1.0 / (i as f64 + 20.0).powf(0.8);
            Some(*total)
        })
        .collect();
    let total = cumulative[n - 1];
    let mut items = vec![0.0; n];
    let mut pairs: HashMap<(usize, usize), f64> = HashMap::new();
    let mut window = Vec::new();
    for _ in 0..8 * n {
        let size = 2 + (rng.next_u64() % 5) as usize;
        window.clear();
        for _ in 0..size {
            let item = cumulative.partition_point(|&c| c < rng.unit() * total);
            if !window.contains(&item) {
                window.push(item);
            }
        }
        let decay = 0.5 + 0.5 * rng.unit();
        for (k, &a) in window.iter().enumerate() {
            items[a] += decay;
            for &b in &window[k + 1..] {
                *pairs.entry((a.min(b), a.max(b))).or_default() += decay;
            }
        }
    }
    let id = |i: usize| format!("sku-{i:05}");
    (
        items.iter().enumerate().map(|(i, &c)| (id(i), c)).collect(),
        pairs
            .into_iter()
            .map(|((a, b), c)| ((id(a), id(b)), c))
            .collect(),
    )
}

/// What was fitted, so a run shows the path taken (Cholesky, not a raised λ) and the shape.
fn describe(n: usize, pairs: &BTreeMap<(String, String), f64>, fitted: &ItemWeights) {
    let kept: usize = fitted.rows.values().map(Vec::len).sum();
    eprintln!(
        "{n} items: {} pairs ({:.1} per item), {} fitted, {:?}, lambda {:.1}, {:.1} weights per row",
        pairs.len(),
        2.0 * pairs.len() as f64 / n as f64,
        fitted.fitted_items,
        fitted.factorization,
        fitted.lambda,
        kept as f64 / fitted.fitted_items.max(1) as f64
    );
}

/// The worst case of `tests/model_size.rs`: every item released and paired with a dozen
/// random others, so the whole catalog enters the fit (a shop whose 10,000 items all have
/// released pairs).
fn every_item_paired(n: usize) -> Counts {
    let mut rng = SplitMix64::new(7);
    let id = |i: usize| format!("sku-{i:05}");
    let mut items = BTreeMap::new();
    let mut pairs = BTreeMap::new();
    for i in 0..n {
        items.insert(id(i), 40.0 + (20_000.0 / (1.0 + i as f64)).floor());
        for _ in 0..12 {
            let j = (rng.next_u64() % n as u64) as usize;
            if j != i {
                let (a, b) = (i.min(j), i.max(j));
                pairs.insert((id(a), id(b)), 10.0 + (rng.next_u64() % 20) as f64);
            }
        }
    }
    (items, pairs)
}

/// A benchmark case: label, items, measurement seconds, the counts' generator.
type Case = (&'static str, usize, u64, fn(usize) -> Counts);

fn bench(c: &mut Criterion) {
    let cases: [Case; 4] = [
        ("items", 1_000, 10, released_counts),
        ("items", 3_000, 30, released_counts),
        ("items", 10_000, 200, released_counts),
        ("items, every one paired", 10_000, 300, every_item_paired),
    ];
    for (label, n, measurement, counts) in cases {
        let (items, pairs) = counts(n);
        let config = EaseConfig {
            min_item_count: 0.0,
            ..EaseConfig::default()
        };
        let mut group = c.benchmark_group("ease-fit");
        group.sample_size(10);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(measurement));
        let mut described = false;
        group.bench_function(format!("{n} {label}"), |b| {
            if !described {
                describe(n, &pairs, &fit_ease(&items, &pairs, &config).expect("fits"));
                described = true;
            }
            b.iter(|| fit_ease(&items, &pairs, &config).expect("fits"))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
