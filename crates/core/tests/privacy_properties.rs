//! Property tests of the privacy contract: reports never exceed their caps, carry each key
//! once, round-trip through the wire format and pass the server's validation; the ledger never
//! exceeds its caps; the threshold never releases a key held by fewer than k reports.

use std::collections::{BTreeMap, BTreeSet};

use kindred_core::aggregate::{release, AggregationConfig, Candidates, EpochCounts};
use kindred_core::history::EventKind;
use kindred_core::ledger::{BudgetCaps, Ledger};
use kindred_core::privacy::{Contribution, PrivacyConfig};
use kindred_core::report::{Caps, Counter, Mode, Report, ReportLimits, StrategyCounts};
use kindred_core::synthetic::{self, SplitMix64};
use kindred_core::{Engine, EngineConfig, EventInput};
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

fn contributions() -> impl Strategy<Value = Contribution> {
    (
        prop::collection::btree_set(key(), 0..40),
        prop::collection::btree_set((key(), key()), 0..40),
        prop::collection::btree_set(key(), 0..30),
        // A list, not a map: build_report must cope with any order and repeated names.
        prop::collection::vec((strategy_name(), (0u32..50, 0u32..20)), 0..4),
    )
        .prop_map(|(items, pairs, interests, strategies)| Contribution {
            items: items.into_iter().collect(),
            pairs: pairs.into_iter().collect(),
            interests: interests.into_iter().collect(),
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
        })
}

fn configs() -> impl Strategy<Value = PrivacyConfig> {
    (
        prop_oneof![Just(Mode::Threshold), Just(Mode::Ldp), Just(Mode::Off)],
        1u32..20,
        1u32..20,
        1u32..10,
        1u32..30,
        1u32..6,
        0.1f64..8.0,
        1u32..8,
    )
        .prop_map(
            |(mode, items, pairs, interests, impressions, clicks, eps, set)| PrivacyConfig {
                mode,
                epsilon_per_day: eps,
                epsilon_30_days: eps * 10.0,
                caps: Caps {
                    items,
                    pairs,
                    interests,
                    impressions,
                    clicks,
                },
                ldp_set_size: set,
                ..PrivacyConfig::default()
            },
        )
}

proptest! {
    #[test]
    fn built_reports_respect_caps_and_pass_validation(
        c in contributions(),
        config in configs(),
        seed in any::<u64>(),
        epoch in 0u32..40_000,
    ) {
        let report = c.build_report(epoch, &config, &mut SplitMix64::new(seed)).expect("seeded");
        let Some(report) = report else {
            prop_assert_eq!(config.mode, Mode::Off);
            return Ok(());
        };
        let limits = ReportLimits { caps: config.caps, ldp: config.ldp() };
        prop_assert!(report.validate(&limits).is_ok(), "{:?}", report.validate(&limits));
        prop_assert!(report.items.len() <= config.caps.items as usize);
        prop_assert!(report.pairs.len() <= config.caps.pairs as usize);
        prop_assert!(report.interests.len() <= config.caps.interests as usize);
        // Sorted and unique, and drawn from the contribution.
        prop_assert!(report.items.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(report.pairs.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(report.interests.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(report.items.iter().all(|k| c.items.contains(k)));
        prop_assert!(report.pairs.iter().all(|[a, b]| c.pairs.contains(&(a.clone(), b.clone()))));
        let imp: u32 = report.strategies.iter().map(|(_, s)| s.impressions).sum();
        let clk: u32 = report.strategies.iter().map(|(_, s)| s.clicks).sum();
        prop_assert!(imp <= config.caps.impressions && clk <= config.caps.clicks);
        // Wire round trip is the identity, both ways.
        let json = report.to_json();
        let back = Report::from_json(&json, &limits).expect("the server accepts it");
        prop_assert_eq!(&back, &report);
        prop_assert_eq!(back.to_json(), json);
        // When a family has room for everything, nothing valid is dropped.
        if config.mode == Mode::Threshold {
            let valid_items = c.items.iter().filter(|k| kindred_core::report::key_problem(k).is_none()).count();
            prop_assert_eq!(report.items.len(), valid_items.min(config.caps.items as usize));
        }
    }

    #[test]
    fn the_ledger_never_exceeds_its_caps(
        spends in prop::collection::vec((0.01f64..2.0, 0u32..120), 0..80),
        per_epoch in 0.5f64..3.0,
        window in 1.0f64..10.0,
    ) {
        let caps = BudgetCaps { per_epoch, per_30_epochs: window.max(per_epoch) };
        let mut ledger = Ledger::default();
        for (eps, epoch) in spends {
            let before = ledger.clone();
            match ledger.spend(eps, epoch, &caps) {
                Ok(()) => prop_assert!(ledger.spent_on(epoch) <= caps.per_epoch),
                Err(_) => prop_assert_eq!(&ledger, &before),
            }
            prop_assert!(ledger.within(&caps));
        }
    }

    #[test]
    fn the_threshold_never_releases_a_key_below_k(
        per_key in prop::collection::btree_map("[a-f]{1,2}", 1u64..40, 1..30),
        k in 1u64..30,
        noise in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut counts = EpochCounts::new(3);
        for (key, &n) in &per_key {
            counts.apply(&kindred_core::report::Increment { counter: Counter::Items, key: key.clone(), delta: n });
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

    /// Whatever the shopper does and however the clock moves, the engine sends at most one
    /// report per day and never exceeds its budget.
    #[test]
    fn the_engine_reports_each_day_at_most_once_within_budget(
        steps in prop::collection::vec((0usize..30, -3i64..5, any::<bool>()), 1..40),
        seed in any::<u64>(),
    ) {
        let privacy = PrivacyConfig { epsilon_per_day: 1.0, epsilon_30_days: 4.0, ..PrivacyConfig::default() };
        let mut e = Engine::with_config(EngineConfig { privacy, ..EngineConfig::default() }).expect("valid");
        e.load_catalog_json(&synthetic::catalog_json(30, 1, 0)).expect("catalog");
        let mut rng = SplitMix64::new(seed);
        let mut day: i64 = 20_000;
        let mut sent: BTreeMap<u32, u32> = BTreeMap::new();
        for (item, jump, report) in steps {
            day = (day + jump).max(0);
            let now = day * 86_400_000 + 43_200_000;
            e.track(&EventInput::new(EventKind::View, format!("sku-{item}")).at(now), now).expect("valid");
            if report {
                if let Some(p) = e.prepare_report(now, &mut rng).expect("ok") {
                    e.commit_report(p.epoch).expect("prepared reports fit the budget");
                    *sent.entry(p.epoch).or_default() += 1;
                }
            }
            prop_assert!(e.ledger().within(&privacy.budget()));
        }
        prop_assert!(sent.values().all(|&n| n == 1), "{:?}", sent);
    }
}
