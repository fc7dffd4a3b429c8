//! `GET /v1/stats`: what the dashboard shows. Built only from **released** data (the
//! k-thresholded, noised releases of closed windows and the model made from them) plus the
//! number of reports per window, which the privacy contract publishes as is (also for windows
//! still open). Raw counters of windows not released yet are never shown: an owner looking at
//! the dashboard learns no more than the model tells.

use std::collections::BTreeMap;

use kindred_core::aggregate::split_pair_key;
use kindred_core::aggregate::{merge_windows, ReleasedCounts, StrategyTotals, Suppressed};
use kindred_core::{Caps, Family};
use serde::Serialize;

use super::AppState;
use crate::build_model::model_config;
use crate::store::Period;
use crate::time::{date_of, now_ms, today};

/// Entries in each top list.
const TOP: usize = 15;

/// Click-through is shown once a strategy's noised count of shoppers shown is at least this
/// many standard deviations of its noise: below that a ratio of two noised counts is mostly
/// noise (a few shoppers shown can come out as 0 or as 500 % click-through). The noise is that
/// of one shopper per strategy and window (σ ≈ 15 at the defaults), so a shop needs about 150
/// shoppers shown a strategy in a window.
const CTR_MIN_SIGMAS: f64 = 10.0;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    site: String,
    generated_at: i64,
    today: u32,
    privacy: Privacy,
    model: Option<ModelInfo>,
    /// Every released window within retention and every window with reports not released
    /// yet, oldest first.
    windows: Vec<WindowRow>,
    /// Reports counted for windows not released yet.
    pending_reports: u64,
    top_items: Vec<Scored>,
    trending: Vec<Scored>,
    interests: Vec<Scored>,
    pairs: Vec<Pair>,
    /// The window the strategy rows come from: the newest released one with reports.
    strategy_window: Option<PeriodInfo>,
    strategies: Vec<StrategyRow>,
    /// Click-through is given for strategies with at least this many (noised) shoppers shown:
    /// ten standard deviations of the noise that window's release recorded.
    ctr_min_shown: f64,
    /// Keys held back by the threshold, summed over the released windows.
    suppressed: Suppressed,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Privacy {
    modes: Vec<&'static str>,
    /// ε per shopper per window.
    epsilon: f64,
    delta: f64,
    /// Distinct shoppers in a window a key needs.
    k: u64,
    window_days: u32,
    presence_delta: Option<f64>,
    /// Per family: the noised threshold τ (k unless presenceDelta is set).
    thresholds: BTreeMap<&'static str, u64>,
    /// Per family: the standard deviation σ of the discrete Gaussian noise on each released
    /// count, from the one formula (`AggregationConfig::sigma`).
    noise_sigma: BTreeMap<&'static str, f64>,
    /// Per window.
    caps: Caps,
    ldp_epsilon: f64,
    ldp_set_size: u32,
    release_delay_days: u32,
    retention_days: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelInfo {
    version: u64,
    built_at: i64,
    built_epoch: u32,
    /// The day the model describes the shop up to (last day of the newest closed window).
    as_of: u32,
    as_of_date: String,
    age_seconds: i64,
    etag: String,
    bytes: BTreeMap<&'static str, usize>,
    items: usize,
    trending: usize,
    neighbour_lists: usize,
    interests: usize,
    /// The learned item model behind the item lists (`None`: co-occurrence only).
    item_model: Option<kindred_core::ItemModelInfo>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PeriodInfo {
    /// First UTC day number.
    window: u32,
    days: u32,
    first_date: String,
    last_date: String,
}

impl From<Period> for PeriodInfo {
    fn from(p: Period) -> Self {
        PeriodInfo {
            window: p.window,
            days: p.days,
            first_date: date_of(p.window),
            last_date: date_of(p.last_day()),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WindowRow {
    #[serde(flatten)]
    period: PeriodInfo,
    /// Exact, as the privacy contract publishes them.
    reports: u64,
    ldp_reports: u64,
    released: bool,
    /// Windows not released yet: the first day a rebuild releases it (its last day plus the
    /// release delay, plus one), and its date.
    releases_on: Option<u32>,
    releases_on_date: Option<String>,
    /// Released windows: keys released and suppressed per family.
    released_keys: Option<BTreeMap<&'static str, usize>>,
    suppressed: Option<Suppressed>,
}

#[derive(Debug, Serialize)]
struct Scored {
    key: String,
    value: f64,
}

#[derive(Debug, Serialize)]
struct Pair {
    a: String,
    b: String,
    /// Decayed released count.
    count: f64,
}

/// One strategy in one window. Reports say once per window and strategy whether the shopper
/// was shown it and whether they clicked one of its recommendations, so both numbers count
/// shoppers (noised).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StrategyRow {
    strategy: String,
    /// Shoppers shown the strategy's recommendations.
    shown: f64,
    /// Shoppers who clicked one of them.
    clicked: f64,
    /// Click-through per shopper: clicked / shown in [0, 1], the share of shoppers shown who
    /// clicked (a heavy user counts once), when enough shoppers were shown for the noise not
    /// to dominate (see [`CTR_MIN_SIGMAS`]).
    ctr: Option<f64>,
}

fn top<'a>(map: impl Iterator<Item = (&'a String, f64)>) -> Vec<Scored> {
    let mut v: Vec<Scored> = map
        .map(|(k, value)| Scored {
            key: k.clone(),
            value,
        })
        .collect();
    v.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.key.cmp(&b.key)));
    v.truncate(TOP);
    v
}

/// The strategy rows of one release, with click-through where its noise allows.
fn strategy_rows(r: &ReleasedCounts) -> (Vec<StrategyRow>, f64) {
    let floor = CTR_MIN_SIGMAS * r.noise.strategies;
    let rows = r
        .strategies
        .iter()
        .map(|(name, t): (&String, &StrategyTotals)| StrategyRow {
            strategy: name.clone(),
            shown: t.impressions,
            clicked: t.clicks,
            ctr: (t.impressions >= floor && t.impressions > 0.0)
                .then(|| (t.clicks / t.impressions).clamp(0.0, 1.0)),
        })
        .collect();
    (rows, floor)
}

pub fn collect(state: &AppState) -> Stats {
    let settings = &state.settings;
    let p = &settings.common.privacy;
    let agg = &p.aggregation;
    let families = [Family::Items, Family::Pairs, Family::Interests];
    let privacy = Privacy {
        modes: p.modes.iter().map(|m| m.name()).collect(),
        epsilon: agg.epsilon,
        delta: agg.delta,
        k: agg.k,
        window_days: agg.window_days,
        presence_delta: agg.presence_delta,
        thresholds: families
            .iter()
            .map(|f| (f.name(), agg.threshold(*f)))
            .collect(),
        noise_sigma: Family::ALL
            .iter()
            .map(|f| (f.name(), agg.sigma(*f)))
            .collect(),
        caps: agg.caps,
        ldp_epsilon: agg.ldp.epsilon,
        ldp_set_size: agg.ldp.set_size,
        release_delay_days: p.release_delay_days,
        retention_days: settings.common.retention_days,
    };
    let now = now_ms();
    let today = today();
    let current = state.current();
    let mut windows: BTreeMap<Period, WindowRow> = BTreeMap::new();
    let mut suppressed = Suppressed::default();
    let mut pairs = Vec::new();
    let (mut strategies, mut strategy_window, mut ctr_min_shown) = (Vec::new(), None, 0.0);
    if let Some(c) = &current {
        for r in c.releases.iter() {
            suppressed.items += r.suppressed.items;
            suppressed.pairs += r.suppressed.pairs;
            suppressed.interests += r.suppressed.interests;
            let period = Period::of_release(r);
            windows.insert(
                period,
                WindowRow {
                    period: period.into(),
                    reports: r.reports,
                    ldp_reports: r.ldp_reports,
                    released: true,
                    releases_on: None,
                    releases_on_date: None,
                    released_keys: Some(BTreeMap::from([
                        ("items", r.items.len()),
                        ("pairs", r.pairs.len()),
                        ("interests", r.interests.len()),
                    ])),
                    suppressed: Some(r.suppressed),
                },
            );
        }
        if let Some(newest) = c.releases.iter().rev().find(|r| !r.strategies.is_empty()) {
            (strategies, ctr_min_shown) = strategy_rows(newest);
            strategy_window = Some(Period::of_release(newest).into());
        }
        let totals = merge_windows(&c.releases, c.as_of, model_config().half_life_days);
        let mut all: Vec<(&String, f64)> = totals.pairs.iter().map(|(k, v)| (k, *v)).collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        pairs = all
            .into_iter()
            .filter(|(_, v)| *v > 0.0)
            .filter_map(|(k, count)| {
                split_pair_key(k).map(|(a, b)| Pair {
                    a: a.to_owned(),
                    b: b.to_owned(),
                    count,
                })
            })
            .take(TOP)
            .collect();
    }
    let mut pending_reports = 0;
    for (period, counts) in state.ingestor.pending() {
        pending_reports += counts.reports + counts.ldp_reports;
        let releases_on = period
            .last_day()
            .saturating_add(p.release_delay_days)
            .saturating_add(1);
        windows.entry(period).or_insert(WindowRow {
            period: period.into(),
            reports: counts.reports,
            ldp_reports: counts.ldp_reports,
            released: false,
            releases_on: Some(releases_on),
            releases_on_date: Some(date_of(releases_on)),
            released_keys: None,
            suppressed: None,
        });
    }
    let model = current.as_ref().map(|c| {
        let pb = &c.published;
        let m = &pb.model;
        ModelInfo {
            version: pb.version,
            built_at: pb.built_at_ms,
            built_epoch: m.built_epoch,
            as_of: c.as_of,
            as_of_date: date_of(c.as_of),
            age_seconds: (now - pb.built_at_ms).max(0) / 1000,
            etag: pb.etag.clone(),
            bytes: BTreeMap::from([
                ("json", pb.json.len()),
                ("gzip", pb.gzip.len()),
                ("br", pb.br.len()),
            ]),
            items: m.popularity.len(),
            trending: m.trending.len(),
            neighbour_lists: m.neighbours.len(),
            interests: m.interests.len(),
            item_model: m.item_model.clone(),
        }
    });
    let (top_items, trending, interests) = current.as_ref().map_or_else(
        || (Vec::new(), Vec::new(), Vec::new()),
        |c| {
            let m = &c.published.model;
            (
                top(m.popularity.iter().map(|(k, v)| (k, f64::from(*v)))),
                top(m.trending.iter().map(|(k, v)| (k, f64::from(*v)))),
                top(m.interests.iter().map(|(k, v)| (k, f64::from(*v)))),
            )
        },
    );
    Stats {
        site: settings.common.site.clone(),
        generated_at: now,
        today,
        privacy,
        model,
        windows: windows.into_values().collect(),
        pending_reports,
        top_items,
        trending,
        interests,
        pairs,
        strategy_window,
        strategies,
        ctr_min_shown,
        suppressed,
    }
}
