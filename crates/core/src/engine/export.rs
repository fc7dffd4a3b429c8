//! Everything stored about the shopper, in a readable shape: `k.exportData()` in the browser
//! (the GDPR-style "download my data"). Nothing here is sent anywhere.

use serde::Serialize;

use crate::lean::HashMap;
use crate::privacy::device::{PreparedReport, PrivacyState};
use crate::privacy::ledger::LedgerSummary;
use crate::privacy::report::StrategyCounts;
use crate::privacy::window::WindowState;
use crate::shopper::history::{History, ItemStats};
use crate::shopper::profile::{Interest, Profile};
use crate::strategy::Strategy;

/// One raw event as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedEvent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Search text never leaves the device; it is shown here because it is stored here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Milliseconds since 1970.
    pub ts: i64,
    /// Dwell milliseconds or the rating; 0 for other kinds.
    pub amount: f32,
}

/// The shopper's stored state, complete: every part of the snapshot
/// ([`Engine::snapshot`](crate::Engine::snapshot)) except settings that say nothing about the
/// shopper (the raw-event cap, the half-life) and the decay origin, which the affinities below
/// are already decayed by.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopperData {
    /// Raw events, oldest first (at most `maxEvents`, none older than `retentionDays`).
    pub events: Vec<ExportedEvent>,
    /// Per-item totals, kept for every item touched within the retention period, by item id
    /// (ascending; serialized as an object).
    #[serde(serialize_with = "as_map")]
    pub items: Vec<(String, ItemStats)>,
    /// Events folded into the per-item totals after the raw log was full.
    pub folded_events: u64,
    /// Events whose timestamp lay in the future and was clamped to the time they arrived.
    pub clamped_events: u64,
    /// Every interest with a positive weight (weights sum to 1).
    pub interests: Vec<Interest>,
    pub removed_interests: Vec<String>,
    /// The profile itself, as of the export: what `interests` is computed from.
    pub affinities: Affinities,
    /// The privacy ledger: ε spent per contribution window.
    pub ledger: LedgerSummary,
    pub last_reported_day: Option<u32>,
    /// What was contributed to the window of the last report.
    pub window: Option<WindowState>,
    /// The report drawn for the next completed day and not yet sent (the privacy centre's
    /// `nextReport`), with the keys it adds to its window (in ldp mode its bytes hold them
    /// only randomized).
    pub pending_report: Option<PreparedReport>,
    /// Recommendation lists shown and clicked, per day, for days that can still be reported.
    pub recommendation_counters: Vec<DayCounts>,
}

/// The profile's decayed values as of the export, each by key (ascending; serialized as
/// objects). Values may be negative (a `remove_cart` takes affinity away).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Affinities {
    /// Per item id.
    #[serde(serialize_with = "as_map")]
    pub items: Vec<(String, f64)>,
    /// Per interest key (`category:…`, `brand:…`, `tag:…`, `price:…`).
    #[serde(serialize_with = "as_map")]
    pub interests: Vec<(String, f64)>,
    /// The text vector: per term, from the titles of items touched and from search queries
    /// (the queries themselves are in `events`).
    #[serde(serialize_with = "as_map")]
    pub terms: Vec<(String, f64)>,
    /// When the oldest event the values were learned from happened (ms since 1970; `None`:
    /// nothing learned): retention rebuilds the profile from what is kept once it is older
    /// than `retentionDays`.
    #[serde(rename = "oldestEvent")]
    pub oldest_event: Option<i64>,
}

/// One day's recommendation counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    /// UTC day number.
    pub day: u32,
    /// Per strategy name, in [`Strategy::ALL`] order; strategies neither shown nor clicked
    /// that day are left out (serialized as an object).
    #[serde(serialize_with = "as_map")]
    pub strategies: Vec<(String, StrategyCounts)>,
}

impl ShopperData {
    /// What `history`, `profile` and `privacy` hold as of `now` (interest weights and
    /// affinities are decayed to it), with the ledger as the privacy centre shows it.
    pub(crate) fn new(
        history: &History,
        profile: &Profile,
        privacy: &PrivacyState,
        ledger: LedgerSummary,
        now: i64,
    ) -> ShopperData {
        ShopperData {
            events: history
                .events()
                .map(|e| ExportedEvent {
                    kind: e.kind.name(),
                    item: e.item.clone(),
                    query: e.query.clone(),
                    ts: e.ts,
                    amount: e.amount,
                })
                .collect(),
            items: sorted(history.all_stats().map(|(id, s)| (id.clone(), s.clone()))),
            folded_events: history.folded(),
            clamped_events: history.clamped(),
            interests: profile.interests(now, usize::MAX),
            removed_interests: profile.removed_interests().iter().cloned().collect(),
            affinities: affinities(profile, now),
            ledger,
            last_reported_day: privacy.last_reported,
            window: privacy.window.clone(),
            pending_report: privacy.pending.clone(),
            recommendation_counters: privacy
                .strategies
                .iter()
                .map(|d| DayCounts {
                    day: d.epoch,
                    strategies: Strategy::ALL
                        .iter()
                        .zip(d.counts)
                        .filter(|(_, c)| *c != StrategyCounts::default())
                        .map(|(s, c)| (s.name().to_owned(), c))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Every value of the profile decayed to `now`, by key.
fn affinities(profile: &Profile, now: i64) -> Affinities {
    let factor = profile.read_factor(now);
    let decayed =
        |map: &HashMap<String, f64>| sorted(map.iter().map(|(k, v)| (k.clone(), v * factor)));
    Affinities {
        items: decayed(&profile.items),
        interests: decayed(&profile.interests),
        terms: decayed(&profile.text),
        oldest_event: profile.oldest_event_ms,
    }
}

/// The pairs in ascending key order, so an export does not depend on hash-map order.
fn sorted<V>(pairs: impl Iterator<Item = (String, V)>) -> Vec<(String, V)> {
    let mut pairs: Vec<(String, V)> = pairs.collect();
    crate::lean::sort_by(&mut pairs, |a, b| a.0 < b.0);
    pairs
}

fn as_map<K: Serialize, V: Serialize, S: serde::Serializer>(
    pairs: &[(K, V)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::{decode, UserState};
    use crate::engine::{Engine, EngineConfig};
    use crate::privacy::noise::OsRandom;
    use crate::shopper::history::{EventInput, EventKind};

    const DAY: i64 = crate::DAY_MS;
    const TODAY: u32 = 20_400;
    const NOW: i64 = TODAY as i64 * DAY + 12 * 3_600_000;
    const CATALOG: &str = r#"[
        {"id": "mug", "title": "Blue Mug", "categories": ["Home > Kitchen"], "brand": "Acme", "price": 12},
        {"id": "cup", "title": "Blue Cup", "categories": ["Home > Kitchen"], "brand": "Acme"},
        {"id": "kettle", "title": "Steel Kettle", "categories": ["Home > Kitchen"], "price": 40},
        {"id": "lego", "title": "Brick Castle", "categories": ["Toys"], "tags": ["gift"]}
    ]"#;

    /// 10:00 UTC on `day`, plus `minute` minutes.
    fn at(day: u32, minute: i64) -> i64 {
        day as i64 * DAY + 10 * 3_600_000 + minute * 60_000
    }

    fn track(engine: &mut Engine, mut event: EventInput, ts: i64) {
        event.ts = Some(ts as f64);
        engine.track(&event, NOW).expect("tracked");
    }

    /// A shopper with every part of the stored state filled in: events folded out of a full
    /// log, a clamped timestamp, a search, a removed interest, recommendation counters, a
    /// committed report (ledger, last reported day, window) and a drawn one (pending).
    fn shopper() -> Engine {
        let config = EngineConfig {
            max_events: 8,
            ..EngineConfig::default()
        };
        let mut engine = Engine::with_config(config).expect("config");
        engine.load_catalog_json(CATALOG).expect("catalog");
        let (before, yesterday) = (TODAY - 2, TODAY - 1);
        let plain = [
            // Folded out of the raw log by the events after it.
            (EventKind::View, "kettle", at(TODAY - 5, 0)),
            (EventKind::View, "mug", at(before, 0)),
            (EventKind::Cart, "mug", at(before, 1)),
            (EventKind::RemoveCart, "mug", at(before, 2)),
            (EventKind::Purchase, "lego", at(yesterday, 2)),
        ];
        for (kind, item, ts) in plain {
            track(&mut engine, EventInput::new(kind, item), ts);
        }
        engine.note_impressions(Strategy::ForYou, 2, at(yesterday, 0));
        let click = EventInput {
            strategy: Some(Strategy::ForYou),
            ..EventInput::new(EventKind::Click, "lego")
        };
        track(&mut engine, click, at(yesterday, 1));
        track(
            &mut engine,
            EventInput::search("gift wrap"),
            at(yesterday, 3),
        );
        let rating = EventInput {
            value: Some(4.0),
            ..EventInput::new(EventKind::Rate, "cup")
        };
        track(&mut engine, rating, at(yesterday, 4));
        // From the future: clamped to now.
        track(
            &mut engine,
            EventInput::new(EventKind::View, "cup"),
            NOW + DAY,
        );
        engine.remove_interest("brand:Acme");
        let first = engine.prepare_report(NOW, &mut OsRandom).expect("drawn");
        let first = first.expect("the day before yesterday is due");
        assert_eq!(first.day, before);
        engine.commit_report(first.day).expect("committed");
        let next = engine.prepare_report(NOW, &mut OsRandom).expect("drawn");
        assert_eq!(next.map(|p| p.day), Some(yesterday), "yesterday is drawn");
        engine
    }

    fn keys<V>(pairs: &[(String, V)]) -> Vec<&str> {
        pairs.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn sorted_keys<V>(map: &HashMap<String, V>) -> Vec<&str> {
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn the_export_shows_everything_the_snapshot_stores() {
        let engine = shopper();
        let data = engine.export_data(NOW);
        let UserState {
            history,
            profile,
            privacy,
        } = decode(&engine.snapshot()).expect("snapshot");
        // Field by field, without `..`: a field added to the stored state does not compile
        // here until the export shows it, or this test says why it does not.
        let History {
            events,
            stats,
            max_events: _, // a setting (`maxEvents`), not about the shopper
            folded,
            clamped,
        } = history;
        let Profile {
            half_life_ms: _, // a setting (`halfLifeDays`)
            origin_ms: _,    // the decay origin: the affinities are exported decayed to now
            items,
            interests,
            text,
            removed,
            oldest_event_ms,
        } = profile;
        let PrivacyState {
            ledger,
            last_reported,
            pending,
            strategies,
            window,
        } = privacy;

        let exported: Vec<_> = data
            .events
            .iter()
            .map(|e| (e.kind, e.item.clone(), e.query.clone(), e.ts, e.amount))
            .collect();
        let stored: Vec<_> = events
            .iter()
            .map(|e| {
                (
                    e.kind.name(),
                    e.item.clone(),
                    e.query.clone(),
                    e.ts,
                    e.amount,
                )
            })
            .collect();
        assert_eq!(exported, stored);
        let mut stats: Vec<(String, ItemStats)> = stats.into_iter().collect();
        stats.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(data.items, stats);
        assert_eq!((data.folded_events, data.clamped_events), (folded, clamped));
        assert_eq!((folded, clamped), (1, 1));

        let a = &data.affinities;
        assert_eq!(keys(&a.items), sorted_keys(&items));
        for (id, value) in &a.items {
            assert_eq!(*value, engine.profile().item_affinity(id, NOW), "{id}");
        }
        assert_eq!(keys(&a.interests), sorted_keys(&interests));
        assert_eq!(keys(&a.terms), sorted_keys(&text));
        assert_eq!(a.oldest_event, oldest_event_ms);
        assert!(a.oldest_event.is_some());
        for term in ["gift", "wrap", "brick", "castle"] {
            assert!(keys(&a.terms).contains(&term), "{term} in {:?}", a.terms);
        }
        let removed: Vec<String> = removed.iter().cloned().collect();
        assert_eq!(data.removed_interests, removed);

        let windows: Vec<u32> = ledger.windows.iter().map(|w| w.window).collect();
        let exported_windows: Vec<u32> = data.ledger.windows.iter().map(|w| w.0).collect();
        assert_eq!(exported_windows, windows);
        assert!(data.ledger.windows.iter().any(|w| w.1 > 0.0), "a spend");
        assert_eq!(data.last_reported_day, last_reported);
        assert_eq!(data.last_reported_day, Some(TODAY - 2));
        assert_eq!(data.window, window);
        assert!(data.window.is_some());
        assert_eq!(data.pending_report, pending);
        assert!(data.pending_report.is_some());

        assert_eq!(data.recommendation_counters.len(), strategies.len());
        for (exported, stored) in data.recommendation_counters.iter().zip(&strategies) {
            assert_eq!(exported.day, stored.epoch);
            let shown: Vec<StrategyCounts> = stored
                .counts
                .iter()
                .copied()
                .filter(|c| *c != StrategyCounts::default())
                .collect();
            let listed: Vec<StrategyCounts> = exported.strategies.iter().map(|s| s.1).collect();
            assert_eq!(listed, shown);
        }
        let yesterday = &data.recommendation_counters[0];
        assert_eq!(
            yesterday.strategies,
            [(
                "for-you".to_owned(),
                StrategyCounts {
                    impressions: 2,
                    clicks: 1
                }
            )]
        );
    }

    #[test]
    fn the_export_serializes_with_the_names_js_sees() {
        let json = serde_json::to_value(shopper().export_data(NOW)).expect("serializes");
        for key in [
            "events",
            "items",
            "foldedEvents",
            "clampedEvents",
            "interests",
            "removedInterests",
            "affinities",
            "ledger",
            "lastReportedDay",
            "window",
            "pendingReport",
            "recommendationCounters",
        ] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert!(json["affinities"]["terms"]["gift"].is_f64());
        assert!(json["affinities"]["oldestEvent"].is_i64());
        let counters = &json["recommendationCounters"][0];
        assert_eq!(counters["day"], TODAY - 1);
        assert_eq!(counters["strategies"]["for-you"]["clicks"], 1);
    }
}
