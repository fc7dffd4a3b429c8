//! The product target "the model for a 10k-item catalog is <= 1 MB compressed", checked on the
//! worst case: every one of 10,000 items released with popularity in four 30-day windows,
//! half of them trending, and every item paired with a dozen random others, so the learned
//! item model covers all 10,000 with its full 16 weights each (random structure compresses
//! worst), built and compressed exactly as `kindred serve` publishes it. A size, not a time:
//! it is a test (the fit's time is `cargo bench -p kindred-server --bench item_model`). Run
//! with `--nocapture` to see the numbers.

use kindred_core::aggregate::pair_key;
use kindred_core::aggregate::ReleasedCounts;
use kindred_core::SplitMix64;
use kindred_server::build_model::{build_shared_model, quantize, Published};
use kindred_server::store::StoredModel;

const ITEMS: usize = 10_000;
const TARGET_BYTES: usize = 1_000_000;
/// The first of four 30-day windows (aligned to day 0).
const FIRST_WINDOW: u32 = 20_010;
const WINDOWS: u32 = 4;

fn worst_case_releases() -> Vec<ReleasedCounts> {
    let mut rng = SplitMix64::new(7);
    let id = |i: usize| format!("sku-{i:05}");
    (0..WINDOWS)
        .map(|w| {
            let mut r = ReleasedCounts {
                window: FIRST_WINDOW + 30 * w,
                days: 30,
                reports: 50_000,
                ..ReleasedCounts::default()
            };
            for i in 0..ITEMS {
                // Zipf-like popularity; the last window lifts every other item (trending).
                let base = 10.0 + (5_000.0 / (1.0 + i as f64)).floor() + rng.below(30) as f64;
                let lift = if w == WINDOWS - 1 && i % 2 == 0 {
                    3.0
                } else {
                    1.0
                };
                r.items.insert(id(i), base * lift);
                for _ in 0..12 {
                    let j = rng.below(ITEMS);
                    if j != i {
                        let (a, b) = (i.min(j), i.max(j));
                        r.pairs
                            .insert(pair_key(&id(a), &id(b)), 10.0 + rng.below(20) as f64);
                    }
                }
            }
            for c in 0..300 {
                r.interests.insert(
                    format!("category:Dept {} > Aisle {c}", c / 10),
                    10.0 + c as f64,
                );
            }
            r
        })
        .collect()
}

#[test]
fn a_10k_item_model_is_at_most_1_mb_compressed() {
    let releases = worst_case_releases();
    let as_of = releases.last().map(|r| r.last_day()).expect("releases");
    let mut model = build_shared_model(&releases, as_of);
    model.version = 1;
    quantize(&mut model);
    let neighbours: usize = model.neighbours.values().map(Vec::len).sum();
    assert_eq!(model.popularity.len(), ITEMS);
    assert!(
        model.trending.len() >= ITEMS / 3,
        "{} trending",
        model.trending.len()
    );
    assert!(
        neighbours >= ITEMS * 15,
        "worst case: 16 learned weights each, got {neighbours}"
    );
    let stored = StoredModel {
        version: 1,
        built_at_ms: 0,
        json: model.to_json(),
        inputs: String::new(),
    };
    let published = Published::from_stored(&stored).expect("valid model");
    println!(
        "10k-item model: {} neighbours, {} bytes JSON, {} gzip, {} brotli",
        neighbours,
        published.json.len(),
        published.gzip.len(),
        published.br.len()
    );
    assert!(
        published.gzip.len() <= TARGET_BYTES,
        "gzip {} bytes",
        published.gzip.len()
    );
    assert!(
        published.br.len() <= TARGET_BYTES,
        "br {} bytes",
        published.br.len()
    );
}
