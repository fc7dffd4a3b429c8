//! Property tests: for any catalog, history and request, results obey the contract.

use std::collections::HashSet;

use kindred_core::{
    Boost, Catalog, Engine, EventInput, EventKind, Filter, ModelBuilder, Pin, RecommendRequest,
};
use proptest::prelude::*;

const NOW: i64 = 1_780_000_000_000;

fn kinds() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        Just(EventKind::View),
        Just(EventKind::Click),
        Just(EventKind::Cart),
        Just(EventKind::RemoveCart),
        Just(EventKind::Purchase),
        Just(EventKind::Dwell),
        Just(EventKind::Rate),
    ]
}

fn strategies() -> impl Strategy<Value = kindred_core::Strategy> {
    prop_oneof![
        Just(kindred_core::Strategy::ForYou),
        Just(kindred_core::Strategy::Similar),
        Just(kindred_core::Strategy::BoughtTogether),
        Just(kindred_core::Strategy::Trending),
        Just(kindred_core::Strategy::RecentlyViewed),
        Just(kindred_core::Strategy::BuyAgain),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    n: usize,
    seed: u64,
    embeddings: bool,
    events: Vec<(EventKind, usize, i64)>,
    with_model: bool,
    request: RecommendRequest,
    anchor: usize,
}

fn scenarios() -> impl Strategy<Value = Scenario> {
    (
        (5usize..60, any::<u64>(), any::<bool>(), any::<bool>()),
        prop::collection::vec(
            (kinds(), 0usize..60, 0i64..(60 * kindred_core::DAY_MS)),
            0..40,
        ),
        (
            strategies(),
            1usize..15,
            0usize..60,
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
        ),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(0.0f64..120.0),
            prop::option::of(60.0f64..250.0),
            0.0f32..1.0,
            prop_oneof![Just(0.0f32), 0.0f32..0.5],
        ),
        (
            prop::option::of((0usize..60, 1usize..6)),
            prop::option::of(0.1f32..5.0),
        ),
    )
        .prop_map(
            |(
                (n, seed, embeddings, with_model),
                events,
                (strategy, k, anchor, ev, ep),
                (avail, lo, hi, diversity, min_score),
                (pin, boost),
            )| {
                let filter = Filter {
                    available: avail,
                    min_price: lo,
                    max_price: hi.map(|h| h.max(lo.unwrap_or(0.0))),
                    ..Filter::default()
                };
                let request = RecommendRequest {
                    strategy,
                    item: None,
                    k,
                    exclude_viewed: ev,
                    exclude_purchased: ep,
                    filter,
                    boost: boost
                        .map(|factor| {
                            vec![Boost {
                                item: None,
                                category: Some("Home".into()),
                                brand: None,
                                tag: None,
                                factor,
                            }]
                        })
                        .unwrap_or_default(),
                    pin: pin
                        .map(|(i, position)| {
                            vec![Pin {
                                item: format!("sku-{}", i % n),
                                position,
                            }]
                        })
                        .unwrap_or_default(),
                    diversity,
                    min_score,
                };
                Scenario {
                    n,
                    seed,
                    embeddings,
                    events,
                    with_model,
                    request,
                    anchor: anchor % n,
                }
            },
        )
}

fn build(s: &Scenario) -> Engine {
    let mut e = Engine::default();
    let mut catalog = Catalog::default();
    for item in kindred_synthetic::catalog(s.n, s.seed, if s.embeddings { 6 } else { 0 }) {
        catalog.upsert(item).expect("synthetic items are valid");
    }
    e.set_catalog(catalog);
    for &(kind, item, offset) in &s.events {
        let mut ev = EventInput::new(kind, format!("sku-{}", item % s.n)).at(NOW - offset);
        ev.ms = Some(30_000.0);
        ev.value = Some(4.0);
        e.track(&ev, NOW).expect("valid event");
    }
    if s.with_model {
        let mut b = ModelBuilder::new(Default::default());
        for i in 0..s.n {
            b.item(&format!("sku-{i}"), (i % 7) as f64 * 3.0);
            b.pair(
                &format!("sku-{i}"),
                &format!("sku-{}", (i * 3 + 1) % s.n),
                (i % 5) as f64,
            );
        }
        e.set_model(b.build(1, 1)).expect("valid model");
    }
    e
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn results_obey_the_contract(s in scenarios()) {
        let e = build(&s);
        let mut req = s.request.clone();
        if req.strategy.needs_item() {
            req.item = Some(format!("sku-{}", s.anchor));
        }
        let recs = e.recommend(&req, NOW).expect("valid request");
        prop_assert!(recs.len() <= req.k);
        prop_assert!(recs.iter().all(|r| r.score.is_finite()));
        prop_assert!(recs.windows(2).all(|w| w[0].score >= w[1].score), "sorted: {:?}", recs);
        let unique: HashSet<&str> = recs.iter().map(|r| r.item.as_str()).collect();
        prop_assert_eq!(unique.len(), recs.len());
        prop_assert!(recs.iter().all(|r| !r.reasons.is_empty()));
        let (ex_viewed, ex_bought) = req.exclusions();
        for r in &recs {
            let item = e.catalog().by_id(&r.item).expect("recommended items exist");
            prop_assert!(req.filter.accepts(item), "filter violated by {:?}", item);
            let pinned = r.reasons == ["featured by the shop"];
            if !pinned {
                prop_assert!(r.score >= req.min_score || req.diversity > 0.0);
                let stats = e.history().stats(&r.item);
                prop_assert!(!(ex_viewed && stats.is_some_and(|st| st.last_seen.is_some())), "viewed item {}", r.item);
                prop_assert!(!(ex_bought && stats.is_some_and(|st| st.purchases > 0)), "bought item {}", r.item);
                prop_assert!(req.item.as_deref() != Some(r.item.as_str()), "anchor recommended");
            }
        }
        for pin in &req.pin {
            let item = e.catalog().by_id(&pin.item).expect("pins name catalog items");
            if req.filter.accepts(item) && pin.position <= req.k {
                let at = recs.iter().position(|r| r.item == pin.item);
                prop_assert_eq!(at, Some((pin.position - 1).min(recs.len() - 1)));
            }
        }
    }

    #[test]
    fn snapshot_round_trip_is_the_identity(s in scenarios()) {
        let e = build(&s);
        let bytes = e.snapshot();
        let mut fresh = build(&Scenario { events: Vec::new(), ..s.clone() });
        fresh.restore(&bytes).expect("restores");
        prop_assert_eq!(fresh.snapshot(), bytes);
        prop_assert_eq!(fresh.interests(NOW, 20), e.interests(NOW, 20));
    }

    #[test]
    fn damaged_snapshots_never_panic_or_change_state(s in scenarios(), flip in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let e = build(&s);
        let bytes = e.snapshot();
        let mut damaged = bytes.clone();
        let i = flip.index(damaged.len());
        damaged[i] ^= 0xA5;
        let mut target = build(&Scenario { events: Vec::new(), ..s.clone() });
        let before = target.snapshot();
        prop_assert!(target.restore(&damaged).is_err());
        prop_assert!(target.restore(&bytes[..cut.index(bytes.len())]).is_err());
        prop_assert_eq!(target.snapshot(), before);
    }

    #[test]
    fn catalog_loading_never_panics(rows in prop::collection::vec(any::<(Option<String>, Option<String>, Option<f64>, bool)>(), 0..20)) {
        let json: Vec<serde_json::Value> = rows.iter().map(|(id, title, price, avail)| {
            serde_json::json!({"id": id, "title": title, "price": price, "available": avail})
        }).collect();
        let input = serde_json::Value::Array(json.clone()).to_string();
        match Catalog::from_json(&input) {
            Ok((cat, report)) => {
                prop_assert_eq!(report.loaded + report.rejected.len(), json.len());
                prop_assert_eq!(cat.len(), report.loaded);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn any_query_tokenizes_and_tracks(q in "\\PC{0,80}") {
        let mut e = Engine::default();
        e.load_catalog_json(&kindred_synthetic::catalog_json(10, 1, 0)).expect("valid");
        let before = e.snapshot();
        match e.track(&EventInput::search(q.clone()), NOW) {
            Ok(()) => prop_assert!(!q.trim().is_empty()),
            Err(_) => { prop_assert!(q.trim().is_empty()); prop_assert_eq!(e.snapshot(), before); }
        }
        let recs = e.recommend(&RecommendRequest::new(kindred_core::Strategy::ForYou), NOW).expect("ok");
        prop_assert!(recs.iter().all(|r| r.score.is_finite()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any clock a caller passes (negative, zero, far future) and any valid event time: no
    /// panic, finite scores, and the stored time is never later than the clamped clock allows.
    #[test]
    fn any_clock_is_safe(now in any::<i64>(), ts in prop::option::of(0i64..1_000_000_000_000_000), kind in kinds()) {
        let mut e = Engine::default();
        e.load_catalog_json(&kindred_synthetic::catalog_json(20, 3, 0)).expect("valid");
        let mut ev = EventInput::new(kind, "sku-1");
        ev.ts = ts.map(|t| t as f64);
        ev.ms = Some(1_000.0);
        ev.value = Some(5.0);
        e.track(&ev, now).expect("valid event");
        for strategy in [kindred_core::Strategy::ForYou, kindred_core::Strategy::RecentlyViewed, kindred_core::Strategy::BuyAgain] {
            let recs = e.recommend(&RecommendRequest::new(strategy), now).expect("ok");
            prop_assert!(recs.iter().all(|r| r.score.is_finite() && r.score >= 0.0));
        }
        prop_assert!(e.interests(now, 5).iter().all(|i| i.weight.is_finite()));
        e.expire(now);
    }
}
