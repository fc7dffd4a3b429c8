//! Privacy benchmarks: building a day's report on the device (threshold and ldp), and the
//! server's release of one window (10,000 reports over a 10k-item catalog).
//! Run: `cargo bench -p kindred-core --bench privacy`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use kindred_core::aggregate::{release, AggregationConfig, Candidates, WindowCounts};
use kindred_core::SplitMix64;
use kindred_core::{Engine, EngineConfig, EventInput, EventKind, Mode, PrivacyConfig, Report};

const DAY: i64 = kindred_core::DAY_MS;
const START: i64 = 20_600 * DAY + 9 * 3_600_000;

/// A shopper with 40 events over three sessions on one day, 10k-item catalog.
fn shopper(mode: Mode) -> Engine {
    let mut e = Engine::with_config(EngineConfig {
        privacy: PrivacyConfig {
            mode,
            ..PrivacyConfig::default()
        },
        ..EngineConfig::default()
    })
    .expect("valid");
    e.load_catalog_json(&kindred_synthetic::catalog_json(10_000, 42, 0))
        .expect("catalog");
    let mut rng = SplitMix64::new(1);
    for i in 0..40 {
        let ts = START + (i / 14) * 3 * 3_600_000 + i * 60_000;
        let item = format!("sku-{}", rng.below(10_000));
        e.track(&EventInput::new(EventKind::View, item).at(ts), ts)
            .expect("valid");
    }
    e
}

fn bench(c: &mut Criterion) {
    for mode in [Mode::Threshold, Mode::Ldp] {
        let e = shopper(mode);
        c.bench_function(&format!("prepare_report/{}", mode.name()), |b| {
            // `_ref`: the engine clone is made and dropped outside the measurement.
            b.iter_batched_ref(
                || e.clone(),
                |e| {
                    let mut rng = SplitMix64::new(2);
                    black_box(e.prepare_report(START + DAY, &mut rng).expect("ok"))
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }

    // One window of 10,000 threshold reports, each with 8 items of a Zipf-like distribution.
    let mut rng = SplitMix64::new(3);
    let mut counts = WindowCounts::new(20_580, 30);
    for _ in 0..10_000 {
        let mut items: Vec<String> = (0..8)
            .map(|_| {
                let head = 1 + rng.below(10_000);
                format!("sku-{}", rng.below(head))
            })
            .collect();
        items.sort();
        items.dedup();
        let json = format!(
            r#"{{"v":2,"window":20580,"days":30,"mode":"threshold","items":{}}}"#,
            serde_json::to_string(&items).expect("json")
        );
        let report = Report::from_json(&json, &Default::default()).expect("valid");
        counts.add(&report).expect("same window");
    }
    let config = AggregationConfig::default();
    c.bench_function("release/threshold_10k_reports", |b| {
        b.iter(|| {
            let mut rng = SplitMix64::new(4);
            black_box(release(&counts, &config, &Candidates::default(), &mut rng).expect("ok"))
        })
    });
}

criterion_group! {
    name = privacy;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(20);
    targets = bench
}
criterion_main!(privacy);
