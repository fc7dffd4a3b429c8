//! Property tests of the privacy contract: a shopper never contributes a key twice in a window
//! nor beyond a window's caps (across days, tabs, reloads and clock jumps); reports round-trip
//! through the wire format and pass the server's validation; the ledger never exceeds its cap;
//! the threshold never releases a key held by fewer than k shoppers.

use std::collections::{BTreeMap, BTreeSet};

use kindred_core::aggregate::{release, AggregationConfig, Candidates, WindowCounts};
use kindred_core::aggregate::{Counter, Increment};
use kindred_core::SplitMix64;
use kindred_core::{
    next_contribution, Budget, Caps, Engine, EngineConfig, EventInput, EventKind, Ledger, Mode,
    PrivacyConfig, Report, ReportLimits, Spend, StrategyCounts, WindowActivity, WindowState,
};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-d]{1,3}",
        1 => Just(String::new()),
        1 => "[a-z\\n]{1,4}",
        1 => Just("x".repeat(300)),
    ]
}

fn strategy_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("for-you".to_owned()),
        Just("trending".to_owned()),
        Just("similar".to_owned()),
        Just("nonsense".to_owned()),
    ]
}

fn activities() -> impl Strategy<Value = WindowActivity> {
    (
        prop::collection::vec((key(), any::<bool>()), 0..40),
        prop::collection::vec(key(), 0..30),
        // A list, not a map: any order and repeated names.
        prop::collection::vec((strategy_name(), (0u32..50, 0u32..20)), 0..4),
        1usize..6,
    )
        .prop_map(|(items, interests, strategies, session_len)| {
            let mut seen = BTreeSet::new();
            // The engine gathers each item once.
            let items: Vec<(String, bool)> = items
                .into_iter()
                .filter(|(k, _)| seen.insert(k.clone()))
                .collect();
            let indices: Vec<(usize, bool)> = items
                .iter()
                .enumerate()
                .map(|(i, (_, b))| (i, *b))
                .collect();
            WindowActivity {
                sessions: indices.chunks(session_len).map(<[_]>::to_vec).collect(),
                items,
                interests,
                strategies: strategies
                    .into_iter()
                    .map(|(k, (impressions, clicks))| {
                        (
                            k,
                            StrategyCounts {
                                impressions,
                                clicks,
                            },
                        )
                    })
                    .collect(),
            }
        })
}

fn caps() -> impl Strategy<Value = Caps> {
    (1u32..20, 1u32..20, 1u32..10, 1u32..7, 1u32..7).prop_map(
        |(items, pairs, interests, impressions, clicks)| Caps {
            items,
            pairs,
            interests,
            impressions,
            clicks,
        },
    )
}

fn configs() -> impl Strategy<Value = PrivacyConfig> {
    (
        prop_oneof![Just(Mode::Threshold), Just(Mode::Ldp), Just(Mode::Off)],
        caps(),
        0.1f64..8.0,
        1u32..8,
    )
        .prop_map(|(mode, caps, eps, set)| PrivacyConfig {
            mode,
            caps,
            ldp_epsilon: eps,
            ldp_set_size: set,
            ..PrivacyConfig::default()
        })
}

fn limits(config: &PrivacyConfig) -> ReportLimits {
    ReportLimits {
        caps: config.caps,
        window_days: config.window_days,
        ldp: config.ldp(),
    }
}

proptest! {
    /// Over a sequence of days, a window's contributions hold every key at most once, come
    /// from the activity, stay within the caps, and every report built from them is valid.
    #[test]
    fn contributions_respect_the_window_and_reports_validate(
        days in prop::collection::vec(activities(), 1..6),
        config in configs(),
        seed in any::<u64>(),
        window in (0u32..1_000).prop_map(|w| w * 30),
    ) {
        let mut rng = SplitMix64::new(seed);
        let mut state = WindowState::new(window, 30);
        let mut all: Vec<String> = Vec::new();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let (mut shown, mut clicked): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for activity in &days {
            let c = next_contribution(activity, &state, &config.caps, &mut rng).expect("seeded");
            for (name, n) in &c.strategies {
                prop_assert!(n.impressions <= 1 && n.clicks <= 1, "{:?}", c.strategies);
                let seen = activity.strategies.iter().filter(|(k, _)| k == name);
                if n.impressions == 1 {
                    prop_assert!(seen.clone().any(|(_, a)| a.impressions > 0));
                    shown.push(name.clone());
                }
                if n.clicks == 1 {
                    prop_assert!(seen.clone().any(|(_, a)| a.clicks > 0));
                    clicked.push(name.clone());
                }
            }
            for id in &c.items {
                prop_assert!(activity.items.iter().any(|(k, _)| k == id));
            }
            for (a, b) in &c.pairs {
                prop_assert!(a < b);
                prop_assert!(activity.items.iter().any(|(k, _)| k == a));
                prop_assert!(activity.items.iter().any(|(k, _)| k == b));
            }
            all.extend(c.items.iter().cloned());
            pairs.extend(c.pairs.iter().cloned());
            let report = c.build_report(window, &config, &mut rng).expect("seeded");
            match report {
                None => prop_assert_eq!(config.mode, Mode::Off),
                Some(report) => {
                    prop_assert!(report.validate(&limits(&config)).is_ok(), "{:?}", report.validate(&limits(&config)));
                    prop_assert!(report.items.windows(2).all(|w| w[0] < w[1]));
                    prop_assert!(report.pairs.windows(2).all(|w| w[0] < w[1]));
                    prop_assert!(report.interests.windows(2).all(|w| w[0] < w[1]));
                    let json = report.to_json();
                    let back = Report::from_json(&json, &limits(&config)).expect("the server accepts it");
                    prop_assert_eq!(&back, &report);
                    prop_assert_eq!(back.to_json(), json);
                }
            }
            state.add(&c);
        }
        let unique: BTreeSet<&String> = all.iter().collect();
        prop_assert_eq!(unique.len(), all.len(), "an item twice in one window");
        let unique: BTreeSet<&(String, String)> = pairs.iter().collect();
        prop_assert_eq!(unique.len(), pairs.len(), "a pair twice in one window");
        for names in [&shown, &clicked] {
            let unique: BTreeSet<&String> = names.iter().collect();
            prop_assert_eq!(unique.len(), names.len(), "a strategy counted twice in one window");
        }
        let used = state.used();
        let caps = config.caps;
        prop_assert!(used.items <= caps.items && used.pairs <= caps.pairs);
        prop_assert!(used.interests <= caps.interests);
        prop_assert!(used.impressions <= caps.impressions && used.clicks <= caps.clicks);
        // When the window has room for everything, nothing valid is dropped.
        let valid: BTreeSet<&String> = days
            .iter()
            .flat_map(|a| a.items.iter().map(|(k, _)| k))
            .filter(|k| kindred_core::key_problem(k).is_none())
            .collect();
        prop_assert_eq!(all.len(), valid.len().min(caps.items as usize));
    }

    #[test]
    fn the_ledger_never_exceeds_its_cap(
        spends in prop::collection::vec((0u64..200_000, prop::option::of(0u64..3_000_000), 0u32..6), 0..60),
        epsilon in 0.5f64..8.0,
    ) {
        let budget = Budget { epsilon, ..Budget::default() };
        let mut ledger = Ledger::default();
        for (rho, pure, w) in spends {
            let before = ledger.clone();
            match ledger.spend(&Spend { rho, pure }, w * 30, &budget) {
                Ok(()) => prop_assert!(ledger.of(w * 30).epsilon(budget.delta) <= epsilon + 1e-6),
                Err(_) => prop_assert_eq!(&ledger, &before),
            }
            prop_assert!(ledger.within(&budget));
        }
    }

    #[test]
    fn the_threshold_never_releases_a_key_below_k(
        per_key in prop::collection::btree_map("[a-f]{1,2}", 1u64..40, 1..30),
        k in 1u64..30,
        noise in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut counts = WindowCounts::new(30, 30);
        for (key, &n) in &per_key {
            counts.apply(&Increment { counter: Counter::Items, key: key.clone(), delta: n });
        }
        let config = AggregationConfig { k, noise, ..AggregationConfig::default() };
        let r = release(&counts, &config, &Candidates::default(), &mut SplitMix64::new(seed)).expect("valid");
        for key in r.items.keys() {
            prop_assert!(per_key[key] >= k);
        }
        prop_assert_eq!(r.items.len() as u64 + r.suppressed.items, per_key.len() as u64);
        if !noise {
            let expected: BTreeSet<&String> = per_key.iter().filter(|(_, &n)| n >= k).map(|(key, _)| key).collect();
            prop_assert_eq!(r.items.keys().collect::<BTreeSet<_>>(), expected);
        }
    }

    /// Whatever the shopper does in two tabs, however often the page reloads and however the
    /// clock moves, every day is reported at most once, no window receives a key twice or more
    /// than its caps, and the ledger stays within its cap. Tabs share one stored snapshot and
    /// commit a report only after merging it, as the browser module does inside its IndexedDB
    /// transaction.
    #[test]
    fn two_tabs_reloads_and_clock_jumps_never_contribute_a_key_twice(
        steps in prop::collection::vec((0usize..2, 0u8..4, 0usize..40, -3i64..6), 1..60),
        seed in any::<u64>(),
    ) {
        let caps = Caps { items: 12, pairs: 20, interests: 6, impressions: 3, clicks: 2 };
        let privacy = PrivacyConfig { caps, ..PrivacyConfig::default() };
        let config = EngineConfig { privacy, ..EngineConfig::default() };
        let catalog = kindred_synthetic::catalog_json(40, 1, 0);
        let fresh = || {
            let mut e = Engine::with_config(config).expect("valid");
            e.load_catalog_json(&catalog).expect("catalog");
            e
        };
        let mut tabs = [fresh(), fresh()];
        let mut unsaved: [Vec<(EventInput, i64)>; 2] = [Vec::new(), Vec::new()];
        let mut stored: Option<Vec<u8>> = None;
        let mut rng = SplitMix64::new(seed);
        let mut day: i64 = 20_575;
        let mut sent: Vec<(u32, Report)> = Vec::new();
        // Saving merges what is stored, replays this tab's unsaved events, writes back.
        let sync = |tab: &mut Engine, unsaved: &mut Vec<(EventInput, i64)>, stored: &mut Option<Vec<u8>>| {
            if let Some(bytes) = stored.as_ref() {
                tab.restore(bytes).expect("own snapshot");
                for (event, now) in unsaved.iter() {
                    tab.track(event, *now).expect("valid");
                }
            }
            unsaved.clear();
            *stored = Some(tab.snapshot());
        };
        for (t, action, item, jump) in steps {
            day = (day + jump).max(0);
            let now = day * kindred_core::DAY_MS + kindred_core::DAY_MS / 2;
            match action {
                0 | 1 => {
                    let kind = if action == 0 { EventKind::View } else { EventKind::Purchase };
                    let event = EventInput::new(kind, format!("sku-{item}")).at(now);
                    tabs[t].track(&event, now).expect("valid");
                    unsaved[t].push((event, now));
                }
                2 => {
                    // Commit inside the "transaction": merge, report, save.
                    sync(&mut tabs[t], &mut unsaved[t], &mut stored);
                    while let Some(p) = tabs[t].prepare_report(now, &mut rng).expect("ok") {
                        let json = tabs[t].commit_report(p.day).expect("prepared reports fit");
                        sent.push((p.day, Report::from_json(&json, &limits(&privacy)).expect("valid")));
                    }
                    sync(&mut tabs[t], &mut unsaved[t], &mut stored);
                }
                _ => {
                    // Reload: the tab's page starts again from what is stored.
                    sync(&mut tabs[t], &mut unsaved[t], &mut stored);
                    tabs[t] = fresh();
                    if let Some(bytes) = &stored {
                        tabs[t].restore(bytes).expect("restores");
                    }
                }
            }
            for tab in &tabs {
                prop_assert!(tab.ledger().within(&privacy.budget()));
            }
        }
        let mut days = BTreeSet::new();
        let mut by_window: BTreeMap<u32, Vec<&Report>> = BTreeMap::new();
        for (d, r) in &sent {
            prop_assert!(days.insert(*d), "day {} reported twice", d);
            by_window.entry(r.window).or_default().push(r);
        }
        for (w, reports) in by_window {
            let items: Vec<&String> = reports.iter().flat_map(|r| &r.items).collect();
            let pairs: Vec<&[String; 2]> = reports.iter().flat_map(|r| &r.pairs).collect();
            let interests: Vec<&String> = reports.iter().flat_map(|r| &r.interests).collect();
            prop_assert_eq!(items.iter().collect::<BTreeSet<_>>().len(), items.len(), "window {}: item twice", w);
            prop_assert_eq!(pairs.iter().collect::<BTreeSet<_>>().len(), pairs.len(), "window {}: pair twice", w);
            prop_assert_eq!(interests.iter().collect::<BTreeSet<_>>().len(), interests.len(), "window {}: interest twice", w);
            prop_assert!(items.len() <= caps.items as usize && pairs.len() <= caps.pairs as usize);
            prop_assert!(interests.len() <= caps.interests as usize);
            let imp: u32 = reports.iter().flat_map(|r| &r.strategies).map(|(_, c)| c.impressions).sum();
            let clk: u32 = reports.iter().flat_map(|r| &r.strategies).map(|(_, c)| c.clicks).sum();
            prop_assert!(imp <= caps.impressions && clk <= caps.clicks);
        }
    }
}
