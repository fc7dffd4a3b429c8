//! The device side of the privacy contract, through the engine: what a report contains, that
//! it is drawn once per day and sent as previewed, that a window receives each key once and no
//! more than its caps, the budget, `off`, forget and restore.

use std::collections::BTreeSet;

use kindred_core::EventKind::{Click, Purchase, View};
use kindred_core::SplitMix64;
use kindred_core::{
    window_of, Caps, Engine, EngineConfig, EventInput, Mode, PrivacyConfig, PrivacyError, Report,
    ReportLimits, Strategy,
};

const DAY: i64 = kindred_core::DAY_MS;
/// Noon UTC of day 20,600, the 21st day of the window starting on day 20,580.
const NOON: i64 = 20_600 * DAY + DAY / 2;
const D: u32 = 20_600;
const W: u32 = 20_580;

fn engine_with(privacy: PrivacyConfig) -> Engine {
    let mut e = Engine::with_config(EngineConfig {
        privacy,
        ..EngineConfig::default()
    })
    .expect("valid config");
    e.load_catalog_json(&kindred_synthetic::catalog_json(200, 5, 0))
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

/// Prepares and commits every due report at `now`, returning them parsed.
fn report_all(e: &mut Engine, now: i64, rng: &mut SplitMix64) -> Vec<Report> {
    let mut out = Vec::new();
    while let Some(p) = e.prepare_report(now, rng).expect("ok") {
        let json = e.commit_report(p.day).expect("fits");
        out.push(Report::from_json(&json, &limits(e)).expect("the server accepts it"));
    }
    out
}

fn limits(e: &Engine) -> ReportLimits {
    let c = e.privacy_config();
    ReportLimits {
        caps: c.caps,
        window_days: c.window_days,
        ldp: c.ldp(),
    }
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
    assert_eq!((first.day, first.window), (D, W));
    let json = first.json();
    let again = e
        .prepare_report(next_day + 1000, &mut SplitMix64::new(999))
        .expect("ok")
        .expect("same report");
    assert_eq!(again.json(), json, "previews are stable");
    let report = Report::from_json(&json, &ReportLimits::default()).expect("valid on the server");
    assert_eq!(report.mode, Mode::Threshold);
    assert_eq!((report.window, report.days), (W, 30));
    assert_eq!(
        report.items,
        ["sku-1", "sku-10", "sku-2", "sku-3", "sku-9"].map(String::from)
    );
    // Pairs of any two items of the window: 5 items, 10 pairs.
    assert_eq!(report.pairs.len(), 10);
    assert!(!report.interests.is_empty());
    for secret in [
        "secret", "birthday", "search", "\"ts\"", "user", "epoch", "20600",
    ] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }

    let sent = e.commit_report(D).expect("budget available");
    assert_eq!(sent, json, "what is sent is what was shown");
    let ledger = e.ledger_summary(next_day);
    assert!(
        ledger.spent > 0.0 && ledger.spent < ledger.cap,
        "{ledger:?}"
    );
    assert_eq!(e.prepare_report(next_day, &mut rng).expect("ok"), None);
    assert!(matches!(
        e.commit_report(D),
        Err(PrivacyError::NoPendingReport(D))
    ));
    let window = e.privacy_state().window.clone().expect("window state");
    assert_eq!(window.items.len(), 5);
    assert_eq!(window.pairs.len(), 10);
}

#[test]
fn later_days_send_only_what_is_new_to_the_window_and_a_new_window_starts_fresh() {
    let mut e = engine();
    let mut rng = SplitMix64::new(2);
    shop_a_day(&mut e, NOON);
    report_all(&mut e, NOON + DAY, &mut rng);
    // The next day: one known item and one new one.
    track(&mut e, View, "sku-1", NOON + DAY);
    track(&mut e, Purchase, "sku-20", NOON + DAY + 60_000);
    let reports = report_all(&mut e, NOON + 2 * DAY, &mut rng);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.items, ["sku-20".to_owned()]);
    // Pairs of sku-20 with the five items seen earlier in the window.
    assert_eq!(r.pairs.len(), 5);
    assert!(r.pairs.iter().all(|[a, b]| a == "sku-20" || b == "sku-20"));
    // Nothing new: no report at all, nothing spent.
    track(&mut e, View, "sku-1", NOON + 2 * DAY);
    let spent = e.ledger_summary(NOON + 2 * DAY).spent;
    assert!(report_all(&mut e, NOON + 3 * DAY, &mut rng).is_empty());
    assert_eq!(e.ledger_summary(NOON + 3 * DAY).spent, spent);
    // Day 20,610 opens the next window: sku-1 counts again there.
    let next_window = 20_610 * DAY + DAY / 2;
    assert_eq!(window_of(20_610, 30), 20_610);
    track(&mut e, View, "sku-1", next_window);
    let reports = report_all(&mut e, next_window + DAY, &mut rng);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].window, 20_610);
    assert_eq!(reports[0].items, ["sku-1".to_owned()]);
    let ledger = e.ledger_summary(next_window + DAY);
    assert_eq!(ledger.window, 20_610);
    assert!(ledger.spent < spent, "a fresh window: {ledger:?}");
    assert!(ledger.spent_year > spent);
}

#[test]
fn a_window_never_takes_more_than_its_caps() {
    let caps = Caps {
        items: 5,
        pairs: 7,
        interests: 3,
        impressions: 1,
        clicks: 1,
    };
    let mut e = engine_with(PrivacyConfig {
        caps,
        ..PrivacyConfig::default()
    });
    let mut rng = SplitMix64::new(3);
    let mut reports = Vec::new();
    // Days 20,580 to 20,609: the whole window, a few new items every day.
    for d in 0..30 {
        let start = (i64::from(W) + d) * DAY + DAY / 2;
        for i in 0..3 {
            track(
                &mut e,
                View,
                &format!("sku-{}", d * 3 + i),
                start + i * 60_000,
            );
        }
        e.note_impressions(Strategy::ForYou, 2, start);
        e.track(
            &EventInput::new(Click, "sku-1")
                .from_strategy(Strategy::ForYou)
                .at(start),
            start,
        )
        .expect("click");
        reports.extend(report_all(&mut e, start + DAY, &mut rng));
    }
    let items: Vec<&String> = reports.iter().flat_map(|r| &r.items).collect();
    let unique: BTreeSet<&String> = items.iter().copied().collect();
    assert_eq!(items.len(), unique.len(), "an item twice in the window");
    assert_eq!(items.len(), 5);
    assert_eq!(reports.iter().map(|r| r.pairs.len()).sum::<usize>(), 7);
    assert_eq!(reports.iter().map(|r| r.interests.len()).sum::<usize>(), 3);
    let impressions: u32 = reports
        .iter()
        .flat_map(|r| &r.strategies)
        .map(|(_, c)| c.impressions)
        .sum();
    let clicks: u32 = reports
        .iter()
        .flat_map(|r| &r.strategies)
        .map(|(_, c)| c.clicks)
        .sum();
    // Shown for-you and clicked it every day: counted once in the window.
    assert_eq!((impressions, clicks), (1, 1));
    // With every cap used, the window's whole budget is spent, and never more.
    let ledger = e.ledger_summary((i64::from(W) + 29) * DAY);
    assert!((ledger.spent - ledger.cap).abs() < 1e-3, "{ledger:?}");
    assert!(e.ledger().within(&e.privacy_config().budget()));
}

#[test]
fn the_pending_report_and_window_survive_a_snapshot_and_old_snapshots_give_nothing_back() {
    let mut e = engine();
    shop_a_day(&mut e, NOON);
    let before_report = e.snapshot();
    let mut rng = SplitMix64::new(4);
    let preview = e
        .prepare_report(NOON + DAY, &mut rng)
        .expect("ok")
        .expect("report");
    let mut restored = engine();
    restored.restore(&e.snapshot()).expect("restores");
    let again = restored
        .prepare_report(NOON + DAY, &mut SplitMix64::new(5))
        .expect("ok")
        .expect("pending kept");
    assert_eq!(again.json(), preview.json());

    e.commit_report(D).expect("commit");
    let spent = e.ledger_summary(NOON + DAY).spent;
    // Restoring the snapshot taken before the report: the day stays reported and spent, and
    // the window keeps its keys.
    e.restore(&before_report).expect("restores");
    assert_eq!(e.ledger_summary(NOON + DAY).spent, spent);
    assert_eq!(e.prepare_report(NOON + DAY, &mut rng).expect("ok"), None);
    assert_eq!(
        e.privacy_state().window.as_ref().map(|w| w.items.len()),
        Some(5)
    );
    track(&mut e, View, "sku-1", NOON + DAY);
    assert!(report_all(&mut e, NOON + 2 * DAY, &mut rng).is_empty());
}

#[test]
fn forget_closes_the_window_keeps_the_ledger_and_the_next_window_reports_again() {
    let mut e = engine();
    let mut rng = SplitMix64::new(6);
    shop_a_day(&mut e, NOON);
    report_all(&mut e, NOON + DAY, &mut rng);
    track(&mut e, View, "sku-30", NOON + DAY);
    e.prepare_report(NOON + 2 * DAY, &mut rng)
        .expect("ok")
        .expect("a pending report");
    let spent = e.ledger_summary(NOON + 2 * DAY).spent;
    e.forget();
    assert_eq!(e.privacy_state().pending, None);
    let window = e.privacy_state().window.clone().expect("kept, closed");
    assert!(window.closed && window.items.is_empty() && window.pairs.is_empty());
    assert_eq!(e.ledger_summary(NOON + 2 * DAY).spent, spent);
    // New activity in the same window is not shared...
    track(&mut e, View, "sku-50", NOON + 2 * DAY);
    assert!(report_all(&mut e, NOON + 3 * DAY, &mut rng).is_empty());
    // ... but in the next window it is.
    let next_window = 20_610 * DAY + DAY / 2;
    track(&mut e, View, "sku-50", next_window);
    let reports = report_all(&mut e, next_window + DAY, &mut rng);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].items, ["sku-50".to_owned()]);
}

#[test]
fn mode_off_sends_and_spends_nothing_and_recommendations_still_work() {
    let mut e = engine_with(PrivacyConfig {
        mode: Mode::Off,
        ..PrivacyConfig::default()
    });
    shop_a_day(&mut e, NOON);
    let mut rng = SplitMix64::new(7);
    let overview = e.privacy(NOON + DAY, &mut rng).expect("ok");
    assert_eq!(overview.mode, Mode::Off);
    assert_eq!(overview.next_report, None);
    assert_eq!(overview.ledger.spent, 0.0);
    let recs = e
        .recommend(
            &kindred_core::RecommendRequest::new(Strategy::ForYou),
            NOON + DAY,
        )
        .expect("works");
    assert!(!recs.is_empty());
}

#[test]
fn the_window_budget_skips_ldp_reports_and_is_never_exceeded() {
    // LDP reports of ε = 1 each against a cap of 3 per window: three a window.
    let mut e = engine_with(PrivacyConfig {
        mode: Mode::Ldp,
        epsilon_per_window: 3.0,
        ldp_epsilon: 1.0,
        ..PrivacyConfig::default()
    });
    let mut rng = SplitMix64::new(8);
    let mut sent = Vec::new();
    for day in 0..40 {
        let start = (i64::from(W) + day) * DAY + DAY / 2;
        track(&mut e, View, &format!("sku-{day}"), start);
        for r in report_all(&mut e, start, &mut rng) {
            sent.push(r.window);
        }
        let l = e.ledger_summary(start);
        assert!(l.spent <= l.cap + 1e-9, "{l:?}");
    }
    assert_eq!(sent, vec![W, W, W, 20_610, 20_610, 20_610]);
    assert!(e.ledger().within(&e.privacy_config().budget()));
}

#[test]
fn clicks_are_attributed_and_strategy_caps_hold() {
    let mut e = engine_with(PrivacyConfig {
        caps: Caps {
            impressions: 1,
            clicks: 1,
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
        .prepare_report(NOON + DAY, &mut SplitMix64::new(9))
        .expect("ok")
        .expect("report");
    let report = p.report().expect("parses");
    // Two strategies shown, room for one: either is reported shown, as 1 (not 6 or 2).
    let shown: Vec<(&str, u32)> = report
        .strategies
        .iter()
        .filter(|(_, c)| c.impressions > 0)
        .map(|(n, c)| (n.as_str(), c.impressions))
        .collect();
    assert!(
        shown == [("for-you", 1)] || shown == [("trending", 1)],
        "{shown:?}"
    );
    let clicked: Vec<&str> = report
        .strategies
        .iter()
        .filter(|(_, c)| c.clicks > 0)
        .map(|(n, c)| {
            assert_eq!(c.clicks, 1);
            n.as_str()
        })
        .collect();
    assert_eq!(clicked, ["for-you"]);
    let json: serde_json::Value =
        serde_json::from_str(r#"{"type":"click","item":"sku-1","strategy":"bought-together"}"#)
            .expect("json");
    let input: EventInput = serde_json::from_value(json).expect("the JS shape accepts strategy");
    assert_eq!(input.strategy, Some(Strategy::BoughtTogether));
}

/// A shopper shown for-you on five days of a window, clicking on three of them, is one
/// shopper shown and one shopper who clicked: `impressions 1` and `clicks 1` go out once,
/// and the next window counts them again.
#[test]
fn a_strategy_counts_a_shopper_once_per_window() {
    let mut e = engine();
    let mut rng = SplitMix64::new(12);
    let mut reports = Vec::new();
    for (d, click) in [(0, false), (1, true), (2, false), (3, true), (4, true)] {
        let start = (i64::from(W) + d) * DAY + DAY / 2;
        track(&mut e, View, &format!("sku-{d}"), start);
        e.note_impressions(Strategy::ForYou, 3, start);
        if click {
            e.track(
                &EventInput::new(Click, "sku-1")
                    .from_strategy(Strategy::ForYou)
                    .at(start + 60_000),
                start + 60_000,
            )
            .expect("click");
        }
        reports.extend(report_all(&mut e, start + DAY, &mut rng));
    }
    assert_eq!(reports.len(), 5, "one report a day, for its new item");
    let strategies: Vec<String> = reports
        .iter()
        .map(|r| serde_json::to_string(&r.to_json()).expect("json"))
        .collect();
    let counted = |f: fn(&kindred_core::StrategyCounts) -> u32| -> Vec<u32> {
        reports
            .iter()
            .map(|r| r.strategies.iter().map(|(_, c)| f(c)).sum())
            .collect()
    };
    assert_eq!(
        counted(|c| c.impressions),
        [1, 0, 0, 0, 0],
        "{strategies:?}"
    );
    assert_eq!(counted(|c| c.clicks), [0, 1, 0, 0, 0], "{strategies:?}");
    let w = e.privacy_state().window.as_ref().expect("a window");
    assert_eq!(
        (w.shown.as_slice(), w.clicked.as_slice()),
        (&["for-you".to_owned()][..], &["for-you".to_owned()][..])
    );
    // The next window: shown and clicked again, reported again.
    let start = 20_610 * DAY + DAY / 2;
    e.note_impressions(Strategy::ForYou, 1, start);
    e.track(
        &EventInput::new(Click, "sku-2")
            .from_strategy(Strategy::ForYou)
            .at(start),
        start,
    )
    .expect("click");
    let next = report_all(&mut e, start + DAY, &mut rng);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].window, 20_610);
    assert!(
        next[0]
            .to_json()
            .contains(r#""strategies":{"for-you":{"impressions":1,"clicks":1}}"#),
        "{}",
        next[0].to_json()
    );
}

#[test]
fn ldp_reports_validate_and_hide_keys() {
    let mut e = engine_with(PrivacyConfig {
        mode: Mode::Ldp,
        ..PrivacyConfig::default()
    });
    shop_a_day(&mut e, NOON);
    let p = e
        .prepare_report(NOON + DAY, &mut SplitMix64::new(10))
        .expect("ok")
        .expect("report");
    let json = p.json();
    assert!(!json.contains("sku"), "{json}");
    Report::from_json(&json, &ReportLimits::default()).expect("valid");
}

#[test]
fn privacy_options_are_validated_with_js_names() {
    let mut e = engine();
    for (config, name) in [
        (
            PrivacyConfig {
                epsilon_per_window: 0.0,
                ..PrivacyConfig::default()
            },
            "privacy.epsilonPerWindow",
        ),
        (
            PrivacyConfig {
                delta: 0.5,
                ..PrivacyConfig::default()
            },
            "privacy.delta",
        ),
        (
            PrivacyConfig {
                window_days: 0,
                ..PrivacyConfig::default()
            },
            "privacy.windowDays",
        ),
        (
            PrivacyConfig {
                ldp_epsilon: 11.0,
                ..PrivacyConfig::default()
            },
            "privacy.ldpEpsilon",
        ),
    ] {
        let err = e.set_privacy_config(config).expect_err(name);
        assert!(err.to_string().contains(name), "{err}");
    }
    // The strategy caps count strategies (each reported once per window): the old list and
    // click counts (64, 16) are out of range, and the error says why.
    for (caps, name, value) in [
        (
            Caps {
                impressions: 64,
                ..Caps::default()
            },
            "impressions",
            64,
        ),
        (
            Caps {
                clicks: 0,
                ..Caps::default()
            },
            "clicks",
            0,
        ),
    ] {
        let err = e
            .set_privacy_config(PrivacyConfig {
                caps,
                ..PrivacyConfig::default()
            })
            .expect_err(name);
        assert_eq!(
            err.to_string(),
            format!("invalid option \"privacy.caps.{name}\": is {value}, it must be from 1 to 6 (the number of strategies: each is reported shown, and clicked, at most once per window)")
        );
    }
    let cfg: PrivacyConfig = serde_json::from_str(
        r#"{"mode":"ldp","epsilonPerWindow":2,"delta":1e-7,"windowDays":7,"ldpEpsilon":0.5}"#,
    )
    .expect("JS shape");
    assert_eq!((cfg.mode, cfg.window_days), (Mode::Ldp, 7));
    e.set_privacy_config(cfg).expect("valid");
    assert!(serde_json::from_str::<PrivacyConfig>(r#"{"epsilonPerDay":1}"#).is_err());
}
