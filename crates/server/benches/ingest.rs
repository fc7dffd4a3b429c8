//! Ingest parsing: from request bytes to counter rows (`kindred_server::ingest::parse`, which
//! runs the core's strict `Report::from_json`). Run with `cargo bench -p kindred-server`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kindred_core::{Caps, Strategy};
use kindred_server::config::{CommonArgs, Settings};
use kindred_server::ingest::{parse, IngestPolicy};

/// Day 20600 is in the 30-day window 20580 to 20609.
const TODAY: u32 = 20_600;
const WINDOW: u32 = 20_580;

/// A report at the default window caps, all used at once: 64 items, 128 pairs, 32 interests,
/// six strategies shown and clicked.
fn full_report() -> String {
    let caps = Caps::default();
    let items: Vec<String> = (0..caps.items).map(|i| format!("\"sku-{i:05}\"")).collect();
    let pairs: Vec<String> = (0..caps.pairs)
        .map(|i| format!("[\"sku-{i:05}\",\"sku-{:05}\"]", i + 1000))
        .collect();
    let interests: Vec<String> = (0..caps.interests)
        .map(|i| format!("\"category:Dept {i:02}\""))
        .collect();
    let strategies: Vec<String> = Strategy::ALL
        .iter()
        .map(|s| format!(r#""{}":{{"impressions":1,"clicks":1}}"#, s.name()))
        .collect();
    format!(
        r#"{{"v":2,"window":{WINDOW},"days":30,"mode":"threshold","items":[{}],"pairs":[{}],"interests":[{}],"strategies":{{{}}}}}"#,
        items.join(","),
        pairs.join(","),
        interests.join(","),
        strategies.join(",")
    )
}

/// A typical daily report: a few new keys of the window.
fn small_report() -> String {
    format!(
        r#"{{"v":2,"window":{WINDOW},"days":30,"mode":"threshold","items":["sku-00001","sku-00042","sku-00077"],"pairs":[["sku-00001","sku-00042"]],"interests":["brand:Acme","category:Home"],"strategies":{{"for-you":{{"impressions":1,"clicks":1}}}}}}"#
    )
}

fn bench(c: &mut Criterion) {
    let settings = Settings::resolve(&CommonArgs::default()).expect("default settings");
    let policy = IngestPolicy {
        privacy: settings.privacy,
    };
    let released = |_| false;
    let mut group = c.benchmark_group("ingest-parse");
    for (name, body) in [
        ("small report (3 items)", small_report()),
        ("full report (caps)", full_report()),
        (
            "batch of 20 small reports",
            format!("[{}]", vec![small_report(); 20].join(",")),
        ),
    ] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| parse(body.as_bytes(), &policy, TODAY, &released).expect("valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
