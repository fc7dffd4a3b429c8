//! The device side of the privacy contract, through the engine: what a report contains, that
//! it is drawn once per epoch and sent as previewed, the budget, `off`, forget and restore.

use kindred_core::history::EventKind::{Click, Purchase, View};
use kindred_core::privacy::PrivacyConfig;
use kindred_core::report::{Caps, Mode, ReportLimits};
use kindred_core::synthetic::{self, SplitMix64};
use kindred_core::{epoch_of, Engine, EngineConfig, EventInput, PrivacyError, Report, Strategy};

const DAY: i64 = 86_400_000;
/// Noon UTC of some day.
const NOON: i64 = 20_600 * DAY + DAY / 2;
const D: u32 = 20_600;

fn engine_with(privacy: PrivacyConfig) -> Engine {
    let mut e = Engine::with_config(EngineConfig {
        privacy,
        ..EngineConfig::default()
    })
    .expect("valid config");
    e.load_catalog_json(&synthetic::catalog_json(200, 5, 0))
        .expect("valid catalog");
    e
}

fn engine() -> Engine {
    engine_with(PrivacyConfig::default())
}

fn track(e: &mut Engine, kind: kindred_core::EventKind, item: &str, ts: i64) {
    e.track(&EventInput::new(kind, item).at(ts), ts)
        .expect("valid event");
}

fn shop_a_day(e: &mut Engine, day_start: i64) {
    for (i, item) in ["sku-1", "sku-2", "sku-3"].iter().enumerate() {
        track(e, View, item, day_start + i as i64 * 60_000);
    }
    track(e, Purchase, "sku-2", day_start + 5 * 60_000);
    // A second session three hours later.
    track(e, View, "sku-9", day_start + 3 * 3_600_000);
    track(e, View, "sku-10", day_start + 3 * 3_600_000 + 1);
}

#[test]
fn a_day_is_reported_once_the_next_day_exactly_as_previewed() {
    let mut e = engine();
    shop_a_day(&mut e, NOON);
    e.track(&EventInput::search("secret birthday present"), NOON)
        .expect("search");
    let mut rng = SplitMix64::new(1);
    assert_eq!(
        e.prepare_report(NOON + DAY / 4, &mut rng).expect("ok"),
        None,
        "today is not complete yet"
    );
    let next_day = NOON + DAY;
    let first = e
        .prepare_report(next_day, &mut rng)
        .expect("ok")
        .expect("a report");
    assert_eq!(first.epoch, D);
    let json = first.json();
    let again = e
        .prepare_report(next_day + 1000, &mut SplitMix64::new(999))
        .expect("ok")
        .expect("same report");
    assert_eq!(again.json(), json, "previews are stable");
    let report = Report::from_json(&json, &ReportLimits::default()).expect("valid on the server");
    assert_eq!(report.mode, Mode::Threshold);
    assert_eq!(
        report.items,
        ["sku-1", "sku-10", "sku-2", "sku-3", "sku-9"].map(String::from)
    );
    // Pairs only within a session: sku-1..3 together, sku-9 with sku-10.
    assert_eq!(report.pairs.len(), 3 + 1);
    assert!(report
        .pairs
        .contains(&["sku-10".to_owned(), "sku-9".to_owned()]));
    assert!(!report
        .pairs
        .iter()
        .any(|[a, b]| a == "sku-1" && b == "sku-9"));
    assert!(!report.interests.is_empty() && report.interests.len() <= 8);
    for secret in ["secret", "birthday", "search", "\"ts\"", "user"] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }

    let sent = e.commit_report(D).expect("budget available");
    assert_eq!(sent, json, "what is sent is what was shown");
    assert_eq!(e.ledger().spent_on(D), 1.0);
    assert_eq!(e.prepare_report(next_day, &mut rng).expect("ok"), None);
    assert!(matches!(
        e.commit_report(D),
        Err(PrivacyError::NoPendingReport(D))
    ));
}

#[test]
fn the_pending_report_and_ledger_survive_a_snapshot_and_old_snapshots_give_no_budget_back() {
    let mut e = engine();
    shop_a_day(&mut e, NOON);
    let before_report = e.snapshot();
    let mut rng = SplitMix64::new(2);
    let preview = e
        .prepare_report(NOON + DAY, &mut rng)
        .expect("ok")
        .expect("report");
    let mut restored = engine();
    restored.restore(&e.snapshot()).expect("restores");
    let again = restored
        .prepare_report(NOON + DAY, &mut SplitMix64::new(3))
        .expect("ok")
        .expect("pending kept");
    assert_eq!(again.json(), preview.json());

    e.commit_report(D).expect("commit");
    // Restoring the snapshot taken before the report: the day stays reported and spent.
    e.restore(&before_report).expect("restores");
    assert_eq!(e.ledger().spent_on(D), 1.0);
    assert_eq!(e.prepare_report(NOON + DAY, &mut rng).expect("ok"), None);
}

#[test]
fn forget_drops_the_pending_report_but_keeps_the_ledger() {
    let mut e = engine();
    shop_a_day(&mut e, NOON);
    shop_a_day(&mut e, NOON + DAY);
    let mut rng = SplitMix64::new(4);
    e.prepare_report(NOON + 2 * DAY, &mut rng)
        .expect("ok")
        .expect("report");
    e.commit_report(D).expect("commit");
    e.prepare_report(NOON + 2 * DAY, &mut rng)
        .expect("ok")
        .expect("the next day's report");
    e.forget();
    assert_eq!(e.privacy_state().pending, None);
    assert_eq!(e.ledger().spent_on(D), 1.0);
    assert_eq!(
        e.prepare_report(NOON + 2 * DAY, &mut rng).expect("ok"),
        None,
        "nothing left to report"
    );
}

#[test]
fn mode_off_sends_and_spends_nothing_and_recommendations_still_work() {
    let mut e = engine_with(PrivacyConfig {
        mode: Mode::Off,
        ..PrivacyConfig::default()
    });
    shop_a_day(&mut e, NOON);
    let mut rng = SplitMix64::new(5);
    let overview = e.privacy(NOON + DAY, &mut rng).expect("ok");
    assert_eq!(overview.mode, Mode::Off);
    assert_eq!(overview.next_report, None);
    assert_eq!(overview.ledger.spent_30_days, 0.0);
    let recs = e
        .recommend(
            &kindred_core::RecommendRequest::new(Strategy::ForYou),
            NOON + DAY,
        )
        .expect("works");
    assert!(!recs.is_empty());
}

#[test]
fn the_30_day_budget_skips_days_and_is_never_exceeded() {
    let mut e = engine_with(PrivacyConfig {
        epsilon_per_day: 1.0,
        epsilon_30_days: 3.0,
        ..PrivacyConfig::default()
    });
    let mut rng = SplitMix64::new(6);
    let mut sent = 0;
    for day in 0..40 {
        let start = NOON + day * DAY;
        track(&mut e, View, "sku-7", start);
        if let Some(p) = e.prepare_report(start, &mut rng).expect("ok") {
            e.commit_report(p.epoch).expect("fits");
            sent += 1;
        }
        assert!(e.ledger().spent_window(epoch_of(start)) <= 3.0);
    }
    // Days 0-2 fill the first window; the next report fits once day 0 leaves it (day 30).
    assert_eq!(sent, 6);
    assert!(e.ledger().within(&e.privacy_config().budget()));
}

#[test]
fn clicks_are_attributed_and_counters_clipped() {
    let mut e = engine_with(PrivacyConfig {
        caps: Caps {
            impressions: 4,
            clicks: 2,
            ..Caps::default()
        },
        ..PrivacyConfig::default()
    });
    e.note_impressions(Strategy::ForYou, 6, NOON);
    e.note_impressions(Strategy::Trending, 2, NOON);
    e.track(
        &EventInput::new(Click, "sku-1")
            .from_strategy(Strategy::ForYou)
            .at(NOON),
        NOON,
    )
    .expect("click");
    let err = e
        .track(
            &EventInput::new(View, "sku-1").from_strategy(Strategy::ForYou),
            NOON,
        )
        .expect_err("strategy only on clicks");
    assert_eq!(
        err.to_string(),
        "\"strategy\" is only for click events, not \"view\""
    );
    let p = e
        .prepare_report(NOON + DAY, &mut SplitMix64::new(7))
        .expect("ok")
        .expect("report");
    let report = p.report().expect("parses");
    let s = |name: &str| {
        report
            .strategies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .expect(name)
    };
    // 8 impressions clipped proportionally to 4: for-you 6*4/8 = 3, trending 2*4/8 = 1.
    assert_eq!(s("for-you").impressions, 3);
    assert_eq!(s("trending").impressions, 1);
    assert_eq!(s("for-you").clicks, 1);
    let json: serde_json::Value =
        serde_json::from_str(r#"{"type":"click","item":"sku-1","strategy":"bought-together"}"#)
            .expect("json");
    let input: EventInput = serde_json::from_value(json).expect("the JS shape accepts strategy");
    assert_eq!(input.strategy, Some(Strategy::BoughtTogether));
}

#[test]
fn ldp_reports_validate_and_hide_keys() {
    let mut e = engine_with(PrivacyConfig {
        mode: Mode::Ldp,
        ..PrivacyConfig::default()
    });
    shop_a_day(&mut e, NOON);
    let p = e
        .prepare_report(NOON + DAY, &mut SplitMix64::new(8))
        .expect("ok")
        .expect("report");
    let json = p.json();
    assert!(!json.contains("sku"), "{json}");
    Report::from_json(&json, &ReportLimits::default()).expect("valid");
}

#[test]
fn privacy_options_are_validated_with_js_names() {
    let mut e = engine();
    let err = e
        .set_privacy_config(PrivacyConfig {
            epsilon_per_day: 0.0,
            ..PrivacyConfig::default()
        })
        .expect_err("zero epsilon");
    assert!(err.to_string().contains("privacy.epsilonPerDay"), "{err}");
    let cfg: PrivacyConfig =
        serde_json::from_str(r#"{"mode":"ldp","epsilonPerDay":0.5,"epsilon30Days":5}"#)
            .expect("JS shape");
    assert_eq!(cfg.mode, Mode::Ldp);
    e.set_privacy_config(cfg).expect("valid");
    assert!(serde_json::from_str::<PrivacyConfig>(r#"{"epsilon":1}"#).is_err());
}
