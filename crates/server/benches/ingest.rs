//! Ingest parsing: from request bytes to counter rows (`kindred_server::ingest::parse`, which
//! runs the core's strict `Report::from_json`). Run with `cargo bench -p kindred-server`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kindred_core::report::ReportLimits;
use kindred_core::Mode;
use kindred_server::ingest::{parse, IngestPolicy};

const TODAY: u32 = 20_600;

/// A report at the default caps: 16 items, 16 pairs, 8 interests, two strategies.
fn full_report() -> String {
    let items: Vec<String> = (0..16).map(|i| format!("\"sku-{i:05}\"")).collect();
    let pairs: Vec<String> = (0..16)
        .map(|i| format!("[\"sku-{i:05}\",\"sku-{:05}\"]", i + 100))
        .collect();
    let interests: Vec<String> = (0..8).map(|i| format!("\"category:Dept {i}\"")).collect();
    format!(
        r#"{{"v":1,"epoch":{},"mode":"threshold","items":[{}],"pairs":[{}],"interests":[{}],"strategies":{{"for-you":{{"impressions":8,"clicks":2}},"trending":{{"impressions":4,"clicks":1}}}}}}"#,
        TODAY - 1,
        items.join(","),
        pairs.join(","),
        interests.join(",")
    )
}

fn small_report() -> String {
    format!(
        r#"{{"v":1,"epoch":{},"mode":"threshold","items":["sku-00001","sku-00042","sku-00077"],"pairs":[["sku-00001","sku-00042"]],"interests":["brand:Acme","category:Home"],"strategies":{{"for-you":{{"impressions":2,"clicks":1}}}}}}"#,
        TODAY - 1
    )
}

fn bench(c: &mut Criterion) {
    let policy = IngestPolicy {
        limits: ReportLimits::default(),
        modes: vec![Mode::Threshold],
        retention_days: 90,
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
