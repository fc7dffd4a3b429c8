//! `GET /v1/stats`: what the dashboard shows. Built only from **released** data (the
//! k-thresholded, noised releases and the model made from them) plus the number of reports
//! per day, which the privacy contract publishes as is. Raw counters of days not released
//! yet are never shown: an owner looking at the dashboard learns no more than the model tells.

use std::collections::BTreeMap;

use kindred_core::aggregate::{merge_epochs, ModelConfig, StrategyTotals, Suppressed};
use kindred_core::report::{split_pair_key, Caps, Family};
use serde::Serialize;

use super::AppState;
use crate::time::{date_of, now_ms, today};

/// Entries in each top list.
const TOP: usize = 15;

/// Days the strategy totals cover.
const STRATEGY_DAYS: u32 = 28;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    site: String,
    generated_at: i64,
    today: u32,
    privacy: Privacy,
    model: Option<ModelInfo>,
    /// Every day with reports within retention, oldest first.
    days: Vec<Day>,
    /// Reports counted for days not released yet.
    pending_reports: u64,
    top_items: Vec<Scored>,
    trending: Vec<Scored>,
    interests: Vec<Scored>,
    pairs: Vec<Pair>,
    strategies: Vec<StrategyRow>,
    /// Click-through is given for strategies with at least this many (noised) impressions.
    ctr_min_impressions: f64,
    /// Keys held back by the threshold, summed over the released days.
    suppressed: Suppressed,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Privacy {
    modes: Vec<&'static str>,
    k: u64,
    epsilon: f64,
    presence_delta: Option<f64>,
    /// Per family: the noised threshold τ (k unless presenceDelta is set).
    thresholds: BTreeMap<&'static str, u64>,
    /// Per family: the scale of the discrete Laplace noise (cap / ε share).
    noise_scale: BTreeMap<&'static str, f64>,
    caps: Caps,
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
    age_seconds: i64,
    etag: String,
    bytes: BTreeMap<&'static str, usize>,
    items: usize,
    trending: usize,
    neighbour_lists: usize,
    interests: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Day {
    epoch: u32,
    date: String,
    reports: u64,
    ldp_reports: u64,
    released: bool,
    /// Released days: keys released and suppressed per family.
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StrategyRow {
    strategy: String,
    impressions: f64,
    clicks: f64,
    /// clicks / impressions in [0, 1], when there are enough impressions for the noise not to
    /// dominate (see [`ctr_floor`]).
    ctr: Option<f64>,
}

/// Impressions a strategy needs before its click-through is shown: ten standard deviations of
/// the strategy counters' noise (discrete Laplace of scale b has a standard deviation of
/// about b·√2). Below that a ratio of two noised counts is mostly noise (a few shown lists
/// can come out as 0 or as 500 % click-through).
fn ctr_floor(noise_scale: f64) -> f64 {
    10.0 * noise_scale * std::f64::consts::SQRT_2
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

pub fn collect(state: &AppState) -> Stats {
    let settings = &state.settings;
    let p = &settings.common.privacy;
    let agg = &p.aggregation;
    let families = [Family::Items, Family::Pairs, Family::Interests];
    let privacy = Privacy {
        modes: p.modes.iter().map(|m| m.name()).collect(),
        k: agg.k,
        epsilon: agg.epsilon,
        presence_delta: agg.presence_delta,
        thresholds: families
            .iter()
            .map(|f| (f.name(), agg.threshold(*f)))
            .collect(),
        noise_scale: Family::ALL
            .iter()
            .map(|f| {
                let scale = f64::from(agg.caps.of(*f).max(1)) / (agg.epsilon * f.epsilon_share());
                (f.name(), scale)
            })
            .collect(),
        caps: agg.caps,
        ldp_set_size: agg.ldp.set_size,
        release_delay_days: p.release_delay_days,
        retention_days: settings.common.retention_days,
    };
    let ctr_min_impressions = ctr_floor(privacy.noise_scale["strategies"]);
    let now = now_ms();
    let today = today();
    let current = state.current();
    let mut days: BTreeMap<u32, Day> = BTreeMap::new();
    let mut suppressed = Suppressed::default();
    let mut strategies: BTreeMap<String, StrategyTotals> = BTreeMap::new();
    let mut pairs = Vec::new();
    if let Some(c) = &current {
        for r in c.releases.iter() {
            suppressed.items += r.suppressed.items;
            suppressed.pairs += r.suppressed.pairs;
            suppressed.interests += r.suppressed.interests;
            if r.epoch + STRATEGY_DAYS >= today {
                for (name, t) in &r.strategies {
                    let s = strategies.entry(name.clone()).or_default();
                    s.impressions += t.impressions;
                    s.clicks += t.clicks;
                }
            }
            days.insert(
                r.epoch,
                Day {
                    epoch: r.epoch,
                    date: date_of(r.epoch),
                    reports: r.reports,
                    ldp_reports: r.ldp_reports,
                    released: true,
                    released_keys: Some(BTreeMap::from([
                        ("items", r.items.len()),
                        ("pairs", r.pairs.len()),
                        ("interests", r.interests.len()),
                    ])),
                    suppressed: Some(r.suppressed),
                },
            );
        }
        let as_of = c.releases.last().map_or(today, |r| r.epoch);
        let totals = merge_epochs(&c.releases, as_of, ModelConfig::default().half_life_days);
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
    for (epoch, d) in state.ingestor.pending() {
        pending_reports += d.reports + d.ldp_reports;
        days.entry(epoch).or_insert(Day {
            epoch,
            date: date_of(epoch),
            reports: d.reports,
            ldp_reports: d.ldp_reports,
            released: false,
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
        days: days.into_values().collect(),
        pending_reports,
        top_items,
        trending,
        interests,
        pairs,
        strategies: strategies
            .into_iter()
            .map(|(strategy, t)| StrategyRow {
                strategy,
                impressions: t.impressions,
                clicks: t.clicks,
                ctr: (t.impressions >= ctr_min_impressions && t.impressions > 0.0)
                    .then(|| (t.clicks / t.impressions).clamp(0.0, 1.0)),
            })
            .collect(),
        ctr_min_impressions,
        suppressed,
    }
}
