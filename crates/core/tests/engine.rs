//! Engine behaviour end to end: catalog, tracking, every strategy, rules, profile, snapshot.

use kindred_core::EventKind::{self, *};
use kindred_core::{
    Boost, Engine, EngineError, EventInput, Item, ModelBuilder, Pin, RecommendRequest, Segment,
    Strategy,
};

const NOW: i64 = 1_780_000_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = kindred_core::DAY_MS;

const CATALOG: &str = r#"[
  {"id":"mug-blue","title":"Blue Ceramic Mug","categories":["Home > Kitchen > Mugs"],"brand":"Acme","price":12,"tags":["gift"]},
  {"id":"mug-red","title":"Red Ceramic Mug","categories":["Home > Kitchen > Mugs"],"brand":"Acme","price":11},
  {"id":"mug-travel","title":"Steel Travel Mug","categories":["Home > Kitchen > Mugs"],"brand":"Fjord","price":25},
  {"id":"teapot","title":"Ceramic Teapot","categories":["Home > Kitchen"],"brand":"Acme","price":30},
  {"id":"tea","title":"Green Tea Leaves","categories":["Food > Tea"],"brand":"Leafy","price":8},
  {"id":"kettle","title":"Steel Kettle","categories":["Home > Kitchen"],"brand":"Fjord","price":45,"available":false},
  {"id":"scarf","title":"Wool Scarf","categories":["Fashion > Accessories"],"brand":"Nord","price":40},
  {"id":"hat","title":"Wool Hat","categories":["Fashion > Accessories"],"brand":"Nord","price":20},
  {"id":"cup","title":"北京 陶瓷 茶杯","categories":["Home > Kitchen > Mugs"],"brand":"Acme","price":9},
  {"id":"puzzle","title":"Wooden Puzzle","categories":["Toys"],"price":15}
]"#;

fn engine() -> Engine {
    let mut e = Engine::default();
    let report = e.load_catalog_json(CATALOG).expect("catalog loads");
    assert_eq!(report.loaded, 10);
    e
}

fn track(e: &mut Engine, kind: EventKind, item: &str, ts: i64) {
    e.track(&EventInput::new(kind, item).at(ts), NOW)
        .expect("tracks");
}

fn ids(recs: &[kindred_core::Recommendation]) -> Vec<&str> {
    recs.iter().map(|r| r.item.as_str()).collect()
}

/// The top `k` of `bought-together` for the teapot.
fn with_the_teapot(e: &Engine, k: usize) -> Vec<kindred_core::Recommendation> {
    e.recommend(
        &RecommendRequest::for_item(Strategy::BoughtTogether, "teapot").with_k(k),
        NOW,
    )
    .expect("ok")
}

fn model() -> kindred_core::SharedModel {
    let mut b = ModelBuilder::new(Default::default());
    b.item("tea", 50.0)
        .item("teapot", 30.0)
        .item("scarf", 5.0)
        .item("puzzle", 40.0);
    b.baseline_item("tea", 50.0).baseline_item("teapot", 30.0);
    b.pair("teapot", "tea", 20.0)
        .pair("mug-blue", "tea", 10.0)
        .pair("scarf", "hat", 6.0);
    b.interest("category:Home", 10.0);
    b.segments(
        vec!["category:Home".into(), "category:Fashion".into()],
        vec![
            Segment {
                label: "home cooks".into(),
                share: 0.6,
                centroid: vec![1.0, 0.0],
            },
            Segment {
                label: "fashion fans".into(),
                share: 0.4,
                centroid: vec![0.0, 1.0],
            },
        ],
    );
    b.build(1, 20_000)
}

#[test]
fn for_you_follows_the_profile_and_explains_itself() {
    let mut e = engine();
    track(&mut e, View, "mug-blue", NOW - HOUR);
    let recs = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(3), NOW)
        .expect("ok");
    assert!(
        !ids(&recs).contains(&"mug-blue"),
        "viewed items are excluded by default"
    );
    assert_eq!(recs[0].item, "mug-red");
    assert_eq!(
        recs[0].reasons[0],
        "similar to Blue Ceramic Mug, which you viewed"
    );
}

#[test]
fn for_you_uses_shared_co_occurrence() {
    let mut e = engine();
    e.set_model(model()).expect("valid model");
    track(&mut e, Purchase, "teapot", NOW - HOUR);
    let recs = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(3), NOW)
        .expect("ok");
    assert_eq!(recs[0].item, "tea", "{recs:?}");
    assert_eq!(
        recs[0].reasons[0],
        "often viewed or bought with Ceramic Teapot, which you bought"
    );
}

#[test]
fn for_you_brings_back_repeat_purchases_only_when_asked() {
    let mut e = engine();
    e.set_model(model()).expect("valid model");
    for days in [60, 30, 2] {
        track(&mut e, Purchase, "scarf", NOW - days * DAY);
    }
    track(&mut e, Purchase, "teapot", NOW - 200 * DAY);
    let default = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(5), NOW)
        .expect("ok");
    assert!(
        !ids(&default).contains(&"scarf") && !ids(&default).contains(&"teapot"),
        "bought items are excluded by default: {default:?}"
    );
    let again = RecommendRequest {
        exclude_purchased: Some(false),
        ..RecommendRequest::new(Strategy::ForYou).with_k(5)
    };
    let recs = e.recommend(&again, NOW).expect("ok");
    assert_eq!(recs[0].item, "scarf", "{recs:?}");
    assert_eq!(recs[0].reasons[0], "you bought this 3 times");
    let teapot = recs.iter().position(|r| r.item == "teapot");
    assert!(
        teapot.is_none_or(|at| at > 0),
        "one purchase 200 days ago ranks below three recent ones: {recs:?}"
    );
}

#[test]
fn popularity_amplifies_relevance_but_never_replaces_it() {
    let mut e = engine();
    let mut b = ModelBuilder::new(Default::default());
    // The puzzle is by far the most popular item, the red mug barely known.
    b.item("puzzle", 1000.0).item("mug-red", 2.0);
    e.set_model(b.build(1, 20_000)).expect("valid model");
    track(&mut e, View, "mug-blue", NOW - HOUR);
    let recs = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(10), NOW)
        .expect("ok");
    let at = |id: &str| recs.iter().position(|r| r.item == id);
    assert_eq!(at("mug-red"), Some(0), "{recs:?}");
    assert!(
        at("puzzle").is_some_and(|p| p > at("mug-travel").unwrap_or(0)),
        "a popular but unrelated item ranks below every related one: {recs:?}"
    );
}

#[test]
fn clones_share_the_catalog_but_not_the_shopper() {
    let template = engine();
    let mut a = template.clone();
    let b = template.clone();
    track(&mut a, Purchase, "tea", NOW);
    assert!(b.history().is_empty(), "b never sees a's events");
    assert_eq!(
        a.upsert_item(Item::new("new-tea", "Green Tea Bags")),
        Err(EngineError::SharedCatalog),
        "a shared catalog is read-only"
    );
    a.load_catalog_json(CATALOG).expect("a catalog of its own");
    a.upsert_item(Item::new("new-tea", "Green Tea Bags"))
        .expect("its own catalog can change");
    assert_eq!(a.catalog().len(), 11);
    assert_eq!(b.catalog().len(), 10, "b keeps the shared catalog");
    assert_eq!(a.history().stats("tea").map(|s| s.purchases), Some(1));
}

#[test]
fn cold_start_uses_popularity_then_the_catalog() {
    let mut e = engine();
    let recs = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(2), NOW)
        .expect("ok");
    assert_eq!(ids(&recs), vec!["mug-blue", "mug-red"]);
    assert!(recs[0].reasons[0].contains("no shopping data"));
    e.set_model(model()).expect("valid");
    let recs = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(2), NOW)
        .expect("ok");
    // Popularity blended with a little trending: the growing puzzle edges out steady tea.
    assert_eq!(ids(&recs), vec!["puzzle", "tea"]);
    assert_eq!(recs[0].reasons, vec!["popular with shoppers"]);
    e.clear_model();
    let recs = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(1), NOW)
        .expect("ok");
    assert_eq!(
        ids(&recs),
        vec!["mug-blue"],
        "back to catalog order without a model"
    );
}

#[test]
fn similar_ranks_by_content_and_handles_cjk() {
    let e = engine();
    let recs = e
        .recommend(
            &RecommendRequest::for_item(Strategy::Similar, "mug-blue").with_k(3),
            NOW,
        )
        .expect("ok");
    assert!(!ids(&recs).contains(&"mug-blue"));
    assert_eq!(recs[0].item, "mug-red");
    assert!(
        recs[0].reasons[0].starts_with("similar to Blue Ceramic Mug (both: "),
        "{:?}",
        recs[0].reasons
    );
    let err = e
        .recommend(&RecommendRequest::for_item(Strategy::Similar, "nope"), NOW)
        .expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "unknown item id \"nope\": load the catalog first, or check the id"
    );
}

#[test]
fn bought_together_prefers_shared_pairs_and_falls_back_to_content() {
    let mut e = engine();
    let recs = with_the_teapot(&e, 2);
    assert!(
        recs[0].reasons[0].contains("no data from other shoppers on it yet"),
        "{recs:?}"
    );
    e.set_model(model()).expect("valid");
    let recs = with_the_teapot(&e, 3);
    assert_eq!(recs[0].item, "tea");
    assert_eq!(
        recs[0].reasons[0],
        "often viewed or bought with Ceramic Teapot"
    );
    assert!(
        recs[1].score < recs[0].score
            && recs[1].reasons[0].contains("no data from other shoppers on it yet")
    );
}

/// What `bought-together` ranks by is the shared model's neighbours, and a shopper who only
/// looked at two items in one session reports them as a pair: the neighbours are items
/// shoppers viewed or bought together, and no reason may claim they were bought together
/// (regression: "often bought together with Ceramic Teapot" for two items only ever viewed).
#[test]
fn items_only_viewed_together_are_not_called_bought_together() {
    use kindred_core::{next_contribution, window_of, Caps, SplitMix64, WindowState};

    let mut shopper = engine();
    track(&mut shopper, View, "teapot", NOW - HOUR);
    track(&mut shopper, View, "tea", NOW - HOUR + 60_000);
    let day = kindred_core::epoch_of(NOW);
    let contribution = next_contribution(
        &shopper.window_activity(day, day),
        &WindowState::new(window_of(day, 30), 30),
        &Caps::default(),
        &mut SplitMix64::new(1),
    )
    .expect("a contribution");
    let pair = ("tea".to_owned(), "teapot".to_owned());
    assert!(
        contribution.pairs.contains(&pair),
        "two items viewed in one session are a pair: {:?}",
        contribution.pairs
    );
    // The model a server builds when many shoppers report that pair.
    let mut b = ModelBuilder::new(Default::default());
    b.item("tea", 20.0)
        .item("teapot", 20.0)
        .pair("tea", "teapot", 20.0);
    let mut e = engine();
    e.set_model(b.build(1, day)).expect("valid");
    let together = with_the_teapot(&e, 3);
    assert_eq!(together[0].item, "tea");
    track(&mut e, View, "teapot", NOW - HOUR);
    let for_you = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(3), NOW)
        .expect("ok");
    assert_eq!(for_you[0].item, "tea", "{for_you:?}");
    for r in together.iter().chain(&for_you) {
        for reason in &r.reasons {
            assert!(
                !reason.contains("bought together") && !reason.contains("often bought with"),
                "{reason}"
            );
        }
    }
    assert_eq!(
        together[0].reasons[0],
        "often viewed or bought with Ceramic Teapot"
    );
}

#[test]
fn trending_recently_viewed_and_buy_again() {
    let mut e = engine();
    e.set_model(model()).expect("valid");
    let trending = e
        .recommend(&RecommendRequest::new(Strategy::Trending).with_k(3), NOW)
        .expect("ok");
    assert_eq!(
        trending[0].item, "puzzle",
        "grew from nothing: {trending:?}"
    );
    assert_eq!(trending[0].reasons, vec!["trending now"]);

    track(&mut e, View, "hat", NOW - 3 * HOUR);
    track(&mut e, View, "scarf", NOW - 2 * HOUR);
    track(&mut e, View, "hat", NOW - HOUR);
    let recent = e
        .recommend(&RecommendRequest::new(Strategy::RecentlyViewed), NOW)
        .expect("ok");
    assert_eq!(ids(&recent), vec!["hat", "scarf"]);
    assert_eq!(recent[0].reasons, vec!["you viewed this 2 times"]);

    track(&mut e, Purchase, "tea", NOW - 30 * DAY);
    track(&mut e, Purchase, "tea", NOW - 20 * DAY);
    track(&mut e, Purchase, "tea", NOW - 10 * DAY);
    track(&mut e, Purchase, "mug-red", NOW - 10 * DAY);
    let again = e
        .recommend(&RecommendRequest::new(Strategy::BuyAgain), NOW)
        .expect("ok");
    assert_eq!(ids(&again), vec!["tea", "mug-red"]);
    assert_eq!(again[0].reasons, vec!["you bought this 3 times"]);
}

#[test]
fn filters_boosts_pins_and_min_score() {
    let e = engine();
    let mut r = RecommendRequest::for_item(Strategy::Similar, "mug-blue").with_k(5);
    r.filter.max_price = Some(11.5);
    assert!(e
        .recommend(&r, NOW)
        .expect("ok")
        .iter()
        .all(|x| ["mug-red", "cup", "tea"].contains(&x.item.as_str())));

    let mut r = RecommendRequest::new(Strategy::Trending).with_k(20);
    r.filter.available = Some(true);
    r.filter.categories = vec!["Home>Kitchen".into()];
    let got = e.recommend(&r, NOW).expect("ok");
    assert!(!ids(&got).contains(&"kettle") && !got.is_empty());
    assert!(ids(&got).iter().all(|id| e
        .catalog()
        .by_id(id)
        .is_some_and(|i| i.in_category("Home > Kitchen"))));

    let mut r = RecommendRequest::for_item(Strategy::Similar, "mug-blue").with_k(3);
    r.boost = vec![Boost {
        item: None,
        category: None,
        brand: Some("Fjord".into()),
        tag: None,
        factor: 10.0,
    }];
    let boosted = e.recommend(&r, NOW).expect("ok");
    assert_eq!(boosted[0].item, "mug-travel");
    assert!(boosted[0]
        .reasons
        .contains(&"promoted by the shop".to_owned()));

    r.boost.clear();
    r.pin = vec![
        Pin {
            item: "puzzle".into(),
            position: 2,
        },
        Pin {
            item: "gone".into(),
            position: 1,
        },
    ];
    let pinned = e.recommend(&r, NOW).expect("ok");
    assert_eq!(pinned[1].item, "puzzle");
    assert_eq!(pinned[1].reasons, vec!["featured by the shop"]);
    assert!(pinned.windows(2).all(|w| w[0].score >= w[1].score));

    let mut r = RecommendRequest::for_item(Strategy::Similar, "mug-blue").with_k(10);
    r.min_score = 0.3;
    assert!(e
        .recommend(&r, NOW)
        .expect("ok")
        .iter()
        .all(|x| x.score >= 0.3));
}

#[test]
fn diversity_spreads_the_list() {
    let mut e = engine();
    track(&mut e, View, "mug-blue", NOW - HOUR);
    track(&mut e, View, "scarf", NOW - HOUR);
    let mut r = RecommendRequest::new(Strategy::ForYou).with_k(3);
    let plain = e.recommend(&r, NOW).expect("ok");
    r.diversity = 0.9;
    let diverse = e.recommend(&r, NOW).expect("ok");
    let categories = |recs: &[kindred_core::Recommendation]| {
        let mut c: Vec<String> = recs
            .iter()
            .filter_map(|x| e.catalog().by_id(&x.item))
            .map(|i| i.categories[0].clone())
            .collect();
        c.sort();
        c.dedup();
        c.len()
    };
    assert!(categories(&diverse) >= categories(&plain));
    assert!(diverse.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn removed_interests_stay_removed_and_shape_for_you() {
    let mut e = engine();
    track(&mut e, Purchase, "scarf", NOW - HOUR);
    track(&mut e, View, "mug-blue", NOW - HOUR);
    let interests = e.interests(NOW, 10);
    assert!(interests
        .iter()
        .any(|i| i.key == "category:Fashion > Accessories"));
    assert!((interests.iter().map(|i| i.weight).sum::<f64>() - 1.0).abs() < 1e-9);
    e.remove_interest("category:Fashion");
    track(&mut e, View, "hat", NOW);
    assert!(e
        .interests(NOW, 10)
        .iter()
        .all(|i| i.key != "category:Fashion"));
    let recs = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(10), NOW)
        .expect("ok");
    assert!(ids(&recs).iter().all(|id| !e
        .catalog()
        .by_id(id)
        .is_some_and(|i| i.in_category("Fashion"))));
}

#[test]
fn bad_events_are_refused_and_change_nothing() {
    let mut e = engine();
    let before = e.snapshot();
    let err = e
        .track(&EventInput::new(View, "sku-404"), NOW)
        .expect_err("unknown");
    assert!(matches!(err, EngineError::Catalog(_)));
    assert!(err.to_string().contains("\"sku-404\""));
    let err = e
        .track(
            &EventInput {
                ms: None,
                ..EventInput::new(Dwell, "hat")
            },
            NOW,
        )
        .expect_err("no ms");
    assert_eq!(err.to_string(), "a \"dwell\" event needs the field \"ms\"");
    assert_eq!(e.snapshot(), before);
}

#[test]
fn future_timestamps_are_clamped() {
    let mut e = engine();
    track(&mut e, View, "hat", NOW + 365 * DAY);
    assert_eq!(e.history().latest(), Some(NOW));
    assert_eq!(e.history().clamped(), 1);
}

#[test]
fn searches_shape_the_profile_and_stay_local() {
    let mut e = engine();
    e.track(&EventInput::search("wool"), NOW).expect("ok");
    let recs = e
        .recommend(&RecommendRequest::new(Strategy::ForYou).with_k(2), NOW)
        .expect("ok");
    let mut got = ids(&recs);
    got.sort();
    assert_eq!(got, vec!["hat", "scarf"]);
    assert_eq!(
        e.history()
            .events()
            .next()
            .and_then(|ev| ev.query.clone())
            .as_deref(),
        Some("wool")
    );
}

#[test]
fn snapshot_round_trips_and_corruption_changes_nothing() {
    let mut e = engine();
    track(&mut e, View, "mug-blue", NOW - DAY);
    track(&mut e, Purchase, "tea", NOW - HOUR);
    e.remove_interest("brand:Leafy");
    let bytes = e.snapshot();

    let mut restored = engine();
    restored.restore(&bytes).expect("restores");
    assert_eq!(restored.snapshot(), bytes);
    let req = RecommendRequest::new(Strategy::ForYou).with_k(5);
    assert_eq!(
        restored.recommend(&req, NOW).expect("ok"),
        e.recommend(&req, NOW).expect("ok")
    );

    let mut corrupt = bytes.clone();
    corrupt[20] ^= 0x55;
    let before = restored.snapshot();
    assert!(restored.restore(&corrupt).is_err());
    assert_eq!(
        restored.snapshot(),
        before,
        "a failed restore changes nothing"
    );
}

#[test]
fn catalog_changes_keep_history_and_work_incrementally() {
    let mut e = engine();
    track(&mut e, View, "mug-blue", NOW - HOUR);
    e.upsert_item(Item::new("mug-green", "Green Ceramic Mug"))
        .expect("upsert");
    let recs = e
        .recommend(
            &RecommendRequest::for_item(Strategy::Similar, "mug-blue").with_k(10),
            NOW,
        )
        .expect("ok");
    assert!(ids(&recs).contains(&"mug-green"));
    e.remove_item("mug-red").expect("remove");
    let recs = e
        .recommend(
            &RecommendRequest::for_item(Strategy::Similar, "mug-blue").with_k(10),
            NOW,
        )
        .expect("ok");
    assert!(!ids(&recs).contains(&"mug-red"));
    assert!(
        e.load_catalog_json("[]").is_err(),
        "an empty catalog is refused"
    );
    assert_eq!(e.catalog().len(), 10, "and the old catalog stays");
    assert_eq!(e.history().stats("mug-blue").map(|s| s.views), Some(1));
}

#[test]
fn retention_deletes_old_behaviour() {
    let mut e = engine();
    track(&mut e, View, "hat", NOW - 400 * DAY);
    track(&mut e, View, "scarf", NOW - DAY);
    assert_eq!(e.expire(NOW), 1);
    assert!(e.history().stats("hat").is_none());
    assert!(e.history().stats("scarf").is_some());
}

/// The events of [`retention_forgets_what_deleted_events_taught`]: some only before the
/// retention period (90 days by default), some in it.
fn events_across_retention(e: &mut Engine, with_old: bool) {
    let old = NOW - 100 * DAY;
    let recent = NOW - DAY;
    let search = |e: &mut Engine, query: &str, ts: i64| {
        e.track(&EventInput::search(query).at(ts), NOW)
            .expect("tracks");
    };
    if with_old {
        // Only long ago: the puzzle (Toys), a search for teapots, and one look at the hat.
        track(e, View, "puzzle", old);
        search(e, "ceramic teapot", old);
        track(e, View, "hat", old);
    }
    // Recently: the hat again (bought), the scarf, a search for wool.
    track(e, Purchase, "hat", recent);
    track(e, View, "scarf", recent + HOUR);
    search(e, "wool", recent + 2 * HOUR);
}

/// Retention reaches what the deleted events taught the profile: after `expire`, interests,
/// title and search terms and item affinities are exactly what the events still kept say, as if
/// the old events had never been tracked (regression: they stayed in the profile, and because
/// interests are shown as shares, an interest only deleted events had built was shown at full
/// weight once nothing newer was left). Export and snapshot show the same.
#[test]
fn retention_forgets_what_deleted_events_taught() {
    let mut e = engine();
    events_across_retention(&mut e, true);
    assert_eq!(e.expire(NOW), 3);
    let mut only_recent = engine();
    events_across_retention(&mut only_recent, false);

    let keys = |e: &Engine| -> Vec<(String, f64)> {
        e.interests(NOW, 100)
            .into_iter()
            .map(|i| (i.key, i.weight))
            .collect()
    };
    let (got, want) = (keys(&e), keys(&only_recent));
    assert!(!got.iter().any(|(k, _)| k == "category:Toys"), "{got:?}");
    assert!(
        !got.iter()
            .any(|(k, _)| k == "term:teapot" || k == "term:ceramic"),
        "a search only a deleted event made is gone: {got:?}"
    );
    assert_eq!(got.len(), want.len(), "{got:?}\n{want:?}");
    for ((k, w), (k2, w2)) in got.iter().zip(&want) {
        assert_eq!(k, k2);
        assert!((w - w2).abs() < 1e-9, "{k}: {w} against {w2}");
    }
    let affinity = e.profile().item_affinity("hat", NOW);
    let expected = only_recent.profile().item_affinity("hat", NOW);
    assert!((affinity - expected).abs() < 1e-9, "{affinity} {expected}");
    // Recommendations from the text profile agree too.
    let req = RecommendRequest::new(Strategy::ForYou).with_k(5);
    assert_eq!(
        ids(&e.recommend(&req, NOW).expect("ok")),
        ids(&only_recent.recommend(&req, NOW).expect("ok"))
    );

    // What the privacy centre exports and what the snapshot keeps say the same.
    let exported = e.export_data(NOW);
    assert!(!exported.interests.iter().any(|i| i.key == "category:Toys"));
    let mut restored = engine();
    restored.restore(&e.snapshot()).expect("restores");
    assert_eq!(restored.export_data(NOW), exported);
    assert_eq!(restored.snapshot(), e.snapshot());
}

/// Purchase aggregates outlive raw events by design (purchase memory, 395 days by default):
/// what a purchase taught stays after its raw event is deleted, as one purchase on the day of
/// the last one, and goes when the memory of it ends.
#[test]
fn remembered_purchases_teach_until_the_purchase_memory_ends() {
    let last_purchase = NOW - 100 * DAY;
    let mut e = engine();
    track(&mut e, Purchase, "puzzle", NOW - 120 * DAY);
    track(&mut e, Purchase, "puzzle", last_purchase);
    track(&mut e, View, "scarf", NOW - DAY);
    assert_eq!(e.expire(NOW), 2);
    let mut one_purchase = engine();
    let day_of_last = last_purchase - last_purchase.rem_euclid(DAY);
    track(&mut one_purchase, Purchase, "puzzle", day_of_last);
    track(&mut one_purchase, View, "scarf", NOW - DAY);
    let (got, want) = (e.interests(NOW, 100), one_purchase.interests(NOW, 100));
    assert!(got.iter().any(|i| i.key == "category:Toys"), "{got:?}");
    assert_eq!(got.len(), want.len(), "{got:?}\n{want:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.key, w.key);
        // Equal up to the rounding of other origins of decay (and the f32 text vector).
        assert!((g.weight - w.weight).abs() < 1e-6 * w.weight, "{g:?} {w:?}");
    }
    // The memory of the purchase ends 395 days after it: nothing of it is left.
    e.expire(last_purchase + 396 * DAY);
    assert!(e.interests(NOW, 100).is_empty());
    assert!(e.profile().is_empty());
}

/// The browser applies retention when a page opens, before the catalog is loaded. What the
/// deleted events taught still leaves the profile: when the catalog arrives, also after the
/// state was saved and opened again in between.
#[test]
fn retention_before_the_catalog_is_loaded_still_forgets() {
    let mut e = engine();
    events_across_retention(&mut e, true);
    let saved = e.snapshot();
    let mut only_recent = engine();
    events_across_retention(&mut only_recent, false);
    let want = only_recent.interests(NOW, 100);

    let mut page = Engine::default();
    page.restore(&saved).expect("restores");
    assert_eq!(page.expire(NOW), 3);
    page.load_catalog_json(CATALOG).expect("catalog loads");
    assert_eq!(page.interests(NOW, 100), want);

    // Saved after retention and before the catalog arrived, then opened by another page.
    let mut first = Engine::default();
    first.restore(&saved).expect("restores");
    assert_eq!(first.expire(NOW), 3);
    let mut second = Engine::default();
    second.restore(&first.snapshot()).expect("restores");
    assert_eq!(second.expire(NOW), 0, "no raw event is left to delete");
    second.load_catalog_json(CATALOG).expect("catalog loads");
    assert_eq!(second.interests(NOW, 100), want);
}

#[test]
fn segments_and_forget() {
    let mut e = engine();
    e.set_model(model()).expect("valid");
    track(&mut e, Purchase, "scarf", NOW);
    assert_eq!(e.segment(NOW).map(|s| s.0), Some("fashion fans".to_owned()));
    e.forget();
    assert!(e.history().is_empty());
    assert!(e.interests(NOW, 10).is_empty());
}

#[test]
fn requests_on_an_empty_engine_say_what_to_do() {
    let e = Engine::default();
    let err = e
        .recommend(&RecommendRequest::default(), NOW)
        .expect_err("no catalog");
    assert!(err.to_string().contains("load the catalog"));
}

#[test]
fn invalid_configuration_is_refused_with_the_field_named() {
    use kindred_core::EngineConfig;
    let bad = EngineConfig {
        half_life_days: 0.0,
        ..EngineConfig::default()
    };
    let err = Engine::with_config(bad).expect_err("zero half-life");
    assert_eq!(
        err.to_string(),
        "invalid option \"halfLifeDays\": must be a positive number of days"
    );
    let bad = EngineConfig {
        max_events: 0,
        ..EngineConfig::default()
    };
    assert!(Engine::with_config(bad).is_err());
    assert!(Engine::with_config(EngineConfig::default()).is_ok());
}
