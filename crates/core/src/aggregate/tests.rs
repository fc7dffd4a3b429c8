//! The aggregator's unit tests.

use super::*;
use crate::privacy::noise::SplitMix64;
use crate::privacy::report::{Family, Mode, Report, REPORT_VERSION};

fn threshold_report(window: u32, items: &[&str]) -> Report {
    Report {
        v: REPORT_VERSION,
        window,
        days: 30,
        mode: Mode::Threshold,
        items: items.iter().map(|s| s.to_string()).collect(),
        pairs: Vec::new(),
        interests: Vec::new(),
        strategies: Vec::new(),
        ldp: None,
    }
}

fn counts(window: u32, reports: &[(&[&str], usize)]) -> WindowCounts {
    let mut c = WindowCounts::new(window, 30);
    for (items, times) in reports {
        for _ in 0..*times {
            c.add(&threshold_report(window, items))
                .expect("same window");
        }
    }
    c
}

#[test]
fn counts_round_trip_through_rows_and_merge() {
    let c = counts(5, &[(&["a", "b"], 3), (&["a"], 2)]);
    assert_eq!(c.get(Counter::Items, "a"), 5);
    assert_eq!(c.reports(), 5);
    let back = WindowCounts::from_increments(5, 30, c.increments());
    assert_eq!(back, c);
    let mut m = c.clone();
    m.merge(&c);
    assert_eq!(m.get(Counter::Items, "b"), 6);
    let json = serde_json::to_string(&c).expect("serializes");
    assert_eq!(
        serde_json::from_str::<WindowCounts>(&json).expect("parses"),
        c
    );
    assert!(matches!(
        m.add(&threshold_report(6, &["a"])),
        Err(AggregateError::WindowMismatch { .. })
    ));
}

#[test]
fn without_noise_the_threshold_is_exact() {
    let c = counts(1, &[(&["a", "b"], 9), (&["a"], 1), (&["c"], 1)]);
    let cfg = AggregationConfig {
        noise: false,
        ..AggregationConfig::default()
    };
    let r =
        release(&c, &cfg, &Candidates::default(), &mut SplitMix64::new(1)).expect("valid config");
    assert_eq!(r.items.get("a"), Some(&10.0));
    assert_eq!(r.items.len(), 1, "b (9) and c (1) are below k = 10");
    assert_eq!(r.suppressed.items, 2);
    assert_eq!(r.reports, 11);
}

#[test]
fn noise_never_releases_below_k_and_stays_near_the_truth() {
    let c = counts(1, &[(&["a"], 500), (&["b"], 9)]);
    let cfg = AggregationConfig::default();
    let noise = cfg.noise_of(Family::Items);
    let mut rng = SplitMix64::new(3);
    let mut sum = 0.0;
    for _ in 0..200 {
        let r = release(&c, &cfg, &Candidates::default(), &mut rng).expect("valid");
        assert!(!r.items.contains_key("b"));
        if let Some(v) = r.items.get("a") {
            assert!((v - 500.0).abs() < 10.0 * noise.variance().sqrt());
            sum += v;
        }
    }
    let mean = sum / 200.0;
    assert!(
        (mean - 500.0).abs() < 4.0 * (noise.variance() / 200.0).sqrt(),
        "{mean}"
    );
}

#[test]
fn presence_delta_raises_the_threshold() {
    let cfg = AggregationConfig {
        presence_delta: Some(1e-6),
        ..AggregationConfig::default()
    };
    let tau = cfg.threshold(Family::Items);
    let noise = cfg.noise_of(Family::Items);
    let m = (tau - cfg.k) as i64;
    let cap = f64::from(cfg.caps.items);
    assert!(cap * noise.tail(m) <= 1e-6);
    assert!(cap * noise.tail(m - 1) > 1e-6);
    // Gaussian tails fall fast: about 5.5σ above k.
    assert!((m as f64 / noise.sigma() - 5.5).abs() < 0.3, "{m}");
    assert_eq!(AggregationConfig::default().threshold(Family::Items), 10);
}

#[test]
fn decay_halves_weight_every_half_life() {
    let mut a = ReleasedCounts {
        window: 10,
        days: 1,
        ..ReleasedCounts::default()
    };
    a.items.insert("x".into(), 8.0);
    let mut b = a.clone();
    b.window = 3;
    let t = merge_windows(&[a.clone(), b], 10, 7.0);
    assert!((t.items["x"] - 12.0).abs() < 1e-9);
    // A window counts from its middle day.
    let w = ReleasedCounts {
        window: 0,
        days: 31,
        ..a
    };
    let t = merge_windows(&[w], 45, 30.0);
    assert!((t.items["x"] - 4.0).abs() < 1e-9);
}

#[test]
fn ldp_noise_stays_out_of_the_model() {
    // 200 epochs of LDP estimates with standard deviation 100: 500 candidate items are
    // pure noise, one is held by 60 reports a day.
    let mut rng = SplitMix64::new(5);
    let gauss = |rng: &mut SplitMix64| {
        // Sum of 12 uniforms: mean 6, variance 1.
        (0..12).map(|_| rng.unit()).sum::<f64>() - 6.0
    };
    // Many small steps: close to Gaussian, as with many reports per bucket.
    let gaussian_like = EstimateNoise {
        std: 100.0,
        step: 1.0,
    };
    let releases: Vec<ReleasedCounts> = (0..200u32)
        .map(|window| {
            let mut r = ReleasedCounts {
                window,
                days: 1,
                ldp_reports: 400,
                ldp_noise: LdpNoise {
                    items: gaussian_like,
                    pairs: gaussian_like,
                    interests: gaussian_like,
                },
                ..ReleasedCounts::default()
            };
            for i in 0..500 {
                r.items
                    .insert(format!("noise-{i}"), 100.0 * gauss(&mut rng));
            }
            r.items
                .insert("real".into(), 60.0 + 100.0 * gauss(&mut rng));
            r
        })
        .collect();
    let config = ModelConfig {
        half_life_days: 1000.0,
        ..ModelConfig::default()
    };
    let m = build_model(&releases, 199, &config, 1);
    assert!(m.popularity.contains_key("real"), "{:?}", m.popularity);
    assert!(m.popularity.len() <= 3, "noise let in: {:?}", m.popularity);
    // Without the noise level recorded, every positive total would count.
    let unmarked: Vec<ReleasedCounts> = releases
        .into_iter()
        .map(|r| ReleasedCounts {
            ldp_noise: LdpNoise::default(),
            ..r
        })
        .collect();
    let m = build_model(&unmarked, 199, &config, 1);
    assert!(m.popularity.len() > 100, "{}", m.popularity.len());
}

#[test]
fn ldp_releases_record_their_noise() {
    let cfg = AggregationConfig::default();
    let mut c = WindowCounts::new(3, 30);
    c.apply(&Increment {
        counter: Counter::LdpReports,
        key: String::new(),
        delta: 100,
    });
    let r = release(&c, &cfg, &Candidates::default(), &mut SplitMix64::new(1)).expect("ok");
    let expected = cfg.ldp.olh(Family::Items).std_dev(100.0);
    assert!((r.ldp_noise.items.std - expected).abs() < 1e-9);
    let olh = cfg.ldp.olh(Family::Items);
    let step = f64::from(olh.set_size) / (olh.p - 1.0 / f64::from(olh.g));
    assert!((r.ldp_noise.items.step - step).abs() < 1e-9);
    assert!(
        r.ldp_noise.pairs.std > r.ldp_noise.items.std,
        "pairs get less epsilon"
    );
    let threshold_only = release(
        &counts(3, &[(&["a"], 12)]),
        &cfg,
        &Candidates::default(),
        &mut SplitMix64::new(1),
    )
    .expect("ok");
    assert_eq!(threshold_only.ldp_noise, LdpNoise::default());
}

#[test]
fn model_has_trending_from_the_recent_window() {
    let mut releases = Vec::new();
    for window in (0..6u32).map(|w| w * 30) {
        let mut r = ReleasedCounts {
            window,
            days: 30,
            ..ReleasedCounts::default()
        };
        r.items.insert("steady".into(), 50.0);
        if window == 150 {
            r.items.insert("rising".into(), 40.0);
        }
        r.pairs.insert(pair_key("rising", "steady"), 20.0);
        r.interests.insert("brand:Acme".into(), 5.0);
        releases.push(r);
    }
    let m = build_model(&releases, 179, &ModelConfig::default(), 3);
    assert_eq!(m.popularity["steady"], 1.0);
    assert!(m.trending.contains_key("rising"));
    assert!(!m.trending.contains_key("steady"));
    assert_eq!(m.neighbours["rising"][0].item, "steady");
    assert_eq!(m.interests["brand:Acme"], 1.0);
    assert!(m.validate().is_ok());
}
