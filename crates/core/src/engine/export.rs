//! Everything stored about the shopper, in a readable shape: `k.exportData()` in the browser
//! (the GDPR-style "download my data"). Nothing here is sent anywhere.

use serde::Serialize;

use crate::shopper::history::{History, ItemStats};
use crate::shopper::profile::{Interest, Profile};

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

/// The shopper's stored state, complete.
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
    /// Every interest with a positive weight (weights sum to 1).
    pub interests: Vec<Interest>,
    pub removed_interests: Vec<String>,
}

impl ShopperData {
    /// What `history` and `profile` hold as of `now` (interest weights are decayed to it).
    pub(crate) fn new(history: &History, profile: &Profile, now: i64) -> ShopperData {
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
            items: {
                let mut items: Vec<(String, ItemStats)> = history
                    .all_stats()
                    .map(|(id, s)| (id.clone(), s.clone()))
                    .collect();
                crate::lean::sort_by(&mut items, |a, b| a.0 < b.0);
                items
            },
            folded_events: history.folded(),
            interests: profile.interests(now, usize::MAX),
            removed_interests: profile.removed_interests().iter().cloned().collect(),
        }
    }
}

fn as_map<S: serde::Serializer>(
    items: &[(String, ItemStats)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(items.iter().map(|(id, s)| (id, s)))
}
