//! Native benchmarks on synthetic catalogs of 10k and 100k items.
//!
//! Targets (issue "Foundation"): `recommend(k=10)` for-you <= 1 ms at 10k items and <= 10 ms
//! at 100k; `track` <= 5 µs; index build for 10k items <= 50 ms.
//! Run: `cargo bench -p kindred-core --bench engine`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kindred_core::{
    Catalog, ContentIndex, Engine, EventInput, EventKind, FieldWeights, ModelBuilder,
    RecommendRequest, SplitMix64, Strategy,
};

const NOW: i64 = 1_780_000_000_000;
const SIZES: [usize; 2] = [10_000, 100_000];

fn catalog(n: usize) -> Catalog {
    let mut catalog = Catalog::default();
    for item in kindred_synthetic::catalog(n, 42, 0) {
        catalog.upsert(item).expect("synthetic items are valid");
    }
    catalog
}

/// An engine with a shared model (popularity for every item, 20 neighbours for 2k items)
/// and a shopper with 60 events over the last month.
fn shopper_engine(n: usize) -> Engine {
    let mut engine = Engine::default();
    engine.set_catalog(catalog(n));
    let mut builder = ModelBuilder::new(Default::default());
    let mut rng = SplitMix64::new(7);
    for i in 0..n {
        builder.item(&format!("sku-{i}"), (rng.below(100) + 1) as f64);
    }
    for i in 0..2_000 {
        for _ in 0..20 {
            let j = rng.below(n);
            builder.pair(
                &format!("sku-{i}"),
                &format!("sku-{j}"),
                (rng.below(10) + 2) as f64,
            );
        }
    }
    engine
        .set_model(builder.build(1, 20_000))
        .expect("valid model");
    for e in 0..60 {
        let kind = if e % 10 == 0 {
            EventKind::Purchase
        } else {
            EventKind::View
        };
        let item = format!("sku-{}", rng.below(2_000));
        let event = EventInput::new(kind, item).at(NOW - (60 - e) * 43_200_000);
        engine.track(&event, NOW).expect("valid");
    }
    engine
}

fn index_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("index_build");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for n in SIZES {
        let cat = catalog(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &cat, |b, cat| {
            b.iter(|| ContentIndex::build(black_box(cat), FieldWeights::default()));
        });
    }
    let json = kindred_synthetic::catalog_json(10_000, 42, 0);
    group.bench_function("load_catalog_json/10000", |b| {
        b.iter(|| {
            let mut engine = Engine::default();
            engine.load_catalog_json(black_box(&json)).expect("valid")
        });
    });
    group.finish();
}

fn track(c: &mut Criterion) {
    let mut group = c.benchmark_group("track");
    let mut engine = shopper_engine(10_000);
    let events: Vec<EventInput> = (0..1_000)
        .map(|i| {
            EventInput::new(
                if i % 5 == 0 {
                    EventKind::Cart
                } else {
                    EventKind::View
                },
                format!("sku-{}", i * 7 % 10_000),
            )
        })
        .collect();
    let mut i = 0usize;
    group.bench_function("view_or_cart/10000", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            engine.track(black_box(&events[i]), NOW).expect("valid")
        });
    });
    group.finish();
}

fn recommend(c: &mut Criterion) {
    let mut group = c.benchmark_group("recommend");
    group.sample_size(30);
    for n in SIZES {
        let engine = shopper_engine(n);
        let for_you = RecommendRequest::new(Strategy::ForYou).with_k(10);
        group.bench_with_input(BenchmarkId::new("for-you", n), &engine, |b, e| {
            b.iter(|| e.recommend(black_box(&for_you), NOW).expect("ok"));
        });
        let mut diverse = for_you.clone();
        diverse.diversity = 0.3;
        diverse.filter.available = Some(true);
        group.bench_with_input(BenchmarkId::new("for-you+rules", n), &engine, |b, e| {
            b.iter(|| e.recommend(black_box(&diverse), NOW).expect("ok"));
        });
        let similar = RecommendRequest::for_item(Strategy::Similar, "sku-17").with_k(10);
        group.bench_with_input(BenchmarkId::new("similar", n), &engine, |b, e| {
            b.iter(|| e.recommend(black_box(&similar), NOW).expect("ok"));
        });
    }
    group.finish();
}

criterion_group!(benches, index_build, track, recommend);
criterion_main!(benches);
