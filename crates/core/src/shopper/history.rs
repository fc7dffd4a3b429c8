//! The shopper's local behaviour: events, sessions, baskets and per-item aggregates.
//!
//! Memory is bounded: at most `max_events` raw events are kept. Everything ranking needs from
//! older events (counts, last-seen and last-purchase times, decayed affinities in the profile)
//! is folded into per-item aggregates the moment an event arrives, so dropping the oldest raw
//! events loses nothing the recommenders use. Raw events exist for sessions, baskets, the
//! privacy centre and export.

use std::collections::VecDeque;

use crate::lean::HashMap;

use serde::{Deserialize, Serialize};

use crate::strategy::Strategy;

/// What the shopper did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    View,
    Click,
    Cart,
    RemoveCart,
    Purchase,
    Search,
    Dwell,
    Rate,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 8] = [
        EventKind::View,
        EventKind::Click,
        EventKind::Cart,
        EventKind::RemoveCart,
        EventKind::Purchase,
        EventKind::Search,
        EventKind::Dwell,
        EventKind::Rate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Click => "click",
            EventKind::Cart => "cart",
            EventKind::RemoveCart => "remove_cart",
            EventKind::Purchase => "purchase",
            EventKind::Search => "search",
            EventKind::Dwell => "dwell",
            EventKind::Rate => "rate",
        }
    }
}

/// Latest timestamp accepted, in ms since 1970 (about the year 33658): far beyond any real
/// clock, small enough that time arithmetic can never overflow.
pub const MAX_TIMESTAMP_MS: i64 = 1_000_000_000_000_000;

/// Clamps a caller's clock into `0..=MAX_TIMESTAMP_MS`.
pub fn clamp_time(ms: i64) -> i64 {
    ms.clamp(0, MAX_TIMESTAMP_MS)
}

/// Longest search query kept, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// An event as a caller describes it (`{type: "view", item: "sku-1"}` in JS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The item, for every kind except `search`.
    #[serde(default)]
    pub item: Option<String>,
    /// The query text, for `search` (it never leaves the device).
    #[serde(default)]
    pub query: Option<String>,
    /// Time on the product page in milliseconds, for `dwell`.
    #[serde(default)]
    pub ms: Option<f64>,
    /// Star rating from 1 to 5, for `rate`.
    #[serde(default)]
    pub value: Option<f64>,
    /// Milliseconds since the Unix epoch; defaults to now.
    #[serde(default)]
    pub ts: Option<f64>,
    /// For `click` on a recommendation: the strategy that recommended the item (click
    /// attribution, counted per day for the strategy comparison in reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
}

impl EventInput {
    pub fn new(kind: EventKind, item: impl Into<String>) -> Self {
        EventInput {
            kind,
            item: Some(item.into()),
            query: None,
            ms: None,
            value: None,
            ts: None,
            strategy: None,
        }
    }

    pub fn search(query: impl Into<String>) -> Self {
        EventInput {
            kind: EventKind::Search,
            item: None,
            query: Some(query.into()),
            ms: None,
            value: None,
            ts: None,
            strategy: None,
        }
    }

    /// Attributes a click to the strategy that recommended the item.
    pub fn from_strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = Some(strategy);
        self
    }

    pub fn at(mut self, ts_ms: i64) -> Self {
        self.ts = Some(ts_ms as f64);
        self
    }

    /// Checks the fields each kind needs. Item existence is checked by the engine.
    pub fn validate(&self) -> Result<(), EventError> {
        let kind = self.kind.name();
        match self.kind {
            EventKind::Search => {
                let query = self.query.as_deref().unwrap_or("");
                if query.trim().is_empty() {
                    return Err(EventError::MissingField {
                        kind,
                        field: "query",
                    });
                }
            }
            _ => {
                if self.item.as_deref().is_none_or(|i| i.is_empty()) {
                    return Err(EventError::MissingField {
                        kind,
                        field: "item",
                    });
                }
            }
        }
        if self.kind == EventKind::Dwell {
            match self.ms {
                Some(ms) if ms.is_finite() && ms >= 0.0 => {}
                Some(ms) => {
                    return Err(EventError::BadNumber {
                        field: "ms",
                        value: ms,
                        expected: "a finite number of milliseconds >= 0",
                    })
                }
                None => return Err(EventError::MissingField { kind, field: "ms" }),
            }
        }
        if self.kind == EventKind::Rate {
            match self.value {
                Some(v) if v.is_finite() && (1.0..=5.0).contains(&v) => {}
                Some(v) => {
                    return Err(EventError::BadNumber {
                        field: "value",
                        value: v,
                        expected: "a rating from 1 to 5",
                    })
                }
                None => {
                    return Err(EventError::MissingField {
                        kind,
                        field: "value",
                    })
                }
            }
        }
        if let Some(ts) = self.ts {
            if !ts.is_finite() || !(0.0..=MAX_TIMESTAMP_MS as f64).contains(&ts) {
                return Err(EventError::BadNumber {
                    field: "ts",
                    value: ts,
                    expected: "milliseconds since 1970 (Date.now())",
                });
            }
        }
        Ok(())
    }
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("a \"{kind}\" event needs the field \"{field}\"")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    #[error("field \"{field}\" is {}, expected {expected}", crate::lean::number(*.value))]
    BadNumber {
        field: &'static str,
        value: f64,
        expected: &'static str,
    },
}

/// A stored event. Item ids are kept as text so history survives catalog reloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub item: Option<String>,
    pub query: Option<String>,
    /// Milliseconds since the Unix epoch (after clamping timestamps from the future).
    pub ts: i64,
    /// Dwell milliseconds or the rating, depending on the kind.
    pub amount: f32,
}

/// Everything ranking needs about one item, kept for every item ever touched.
// camelCase for JS readers (`exportData()`, `explain()`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStats {
    pub views: u32,
    pub clicks: u32,
    pub carts: u32,
    pub purchases: u32,
    /// Latest view, click, cart or dwell.
    pub last_seen: Option<i64>,
    pub last_purchase: Option<i64>,
    /// Whether the item is in the cart (carted and not removed or bought since).
    pub in_cart: bool,
    pub last_rating: Option<f32>,
}

/// A run of events without a gap longer than the session gap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub start: i64,
    pub end: i64,
    /// Items touched, in order of first touch.
    pub items: Vec<String>,
    /// Items bought, or carted and not removed, during the session.
    pub basket: Vec<String>,
}

/// Raw events (bounded) plus per-item aggregates (complete).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub(crate) events: VecDeque<Event>,
    /// Per-item totals. A `HashMap`: `track` updates it on every event, and a B-tree keyed by
    /// id cost 9 KB of wasm for this one value type; readers that need an order sort.
    pub(crate) stats: HashMap<String, ItemStats>,
    pub(crate) max_events: usize,
    /// Events dropped from the raw log after being folded into the aggregates.
    pub(crate) folded: u64,
    /// Timestamps clamped because they were in the future.
    pub(crate) clamped: u64,
}

impl History {
    pub fn new(max_events: usize) -> Self {
        History {
            max_events: max_events.max(1),
            ..History::default()
        }
    }

    /// Records an event (already validated, timestamp already clamped) in time order.
    pub fn record(&mut self, event: Event) {
        if let Some(item) = &event.item {
            let stats = self.stats.entry(item.clone()).or_default();
            let seen =
                |last: &mut Option<i64>| *last = Some(last.map_or(event.ts, |l| l.max(event.ts)));
            match event.kind {
                EventKind::View => {
                    stats.views += 1;
                    seen(&mut stats.last_seen);
                }
                EventKind::Click => {
                    stats.clicks += 1;
                    seen(&mut stats.last_seen);
                }
                EventKind::Cart => {
                    stats.carts += 1;
                    stats.in_cart = true;
                    seen(&mut stats.last_seen);
                }
                EventKind::RemoveCart => stats.in_cart = false,
                EventKind::Purchase => {
                    stats.purchases += 1;
                    stats.in_cart = false;
                    seen(&mut stats.last_purchase);
                }
                EventKind::Dwell => seen(&mut stats.last_seen),
                EventKind::Rate => stats.last_rating = Some(event.amount),
                EventKind::Search => {}
            }
        }
        // Insert in time order; out-of-order arrivals are rare, so search from the back.
        let pos = self
            .events
            .iter()
            .rposition(|e| e.ts <= event.ts)
            .map_or(0, |p| p + 1);
        self.events.insert(pos, event);
        while self.events.len() > self.max_events {
            self.events.pop_front();
            self.folded += 1;
        }
    }

    /// Changes the raw-event cap (e.g. after restoring a snapshot made with another cap).
    pub fn set_max_events(&mut self, max_events: usize) {
        self.max_events = max_events.max(1);
        while self.events.len() > self.max_events {
            self.events.pop_front();
            self.folded += 1;
        }
    }

    pub fn note_clamped(&mut self) {
        self.clamped += 1;
    }

    pub fn events(&self) -> impl DoubleEndedIterator<Item = &Event> + ExactSizeIterator {
        self.events.iter()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.stats.is_empty()
    }

    pub fn folded(&self) -> u64 {
        self.folded
    }

    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    pub fn stats(&self, item: &str) -> Option<&ItemStats> {
        self.stats.get(item)
    }

    pub fn all_stats(&self) -> impl Iterator<Item = (&String, &ItemStats)> {
        self.stats.iter()
    }

    /// Latest timestamp seen, if any.
    pub fn latest(&self) -> Option<i64> {
        self.events.back().map(|e| e.ts)
    }

    /// Drops raw events older than `cutoff_ms` (retention); aggregates are kept.
    pub fn expire_before(&mut self, cutoff_ms: i64) -> usize {
        let before = self.events.len();
        while self.events.front().is_some_and(|e| e.ts < cutoff_ms) {
            self.events.pop_front();
        }
        before - self.events.len()
    }

    /// Splits the raw events into sessions separated by more than `gap_ms` of inactivity.
    pub fn sessions(&self, gap_ms: i64) -> Vec<Session> {
        let mut sessions: Vec<Session> = Vec::new();
        let mut cart: Vec<String> = Vec::new();
        for e in &self.events {
            let new_session = sessions.last().is_none_or(|s| e.ts - s.end > gap_ms);
            if new_session {
                if let Some(s) = sessions.last_mut() {
                    close_basket(s, &mut cart);
                }
                sessions.push(Session {
                    start: e.ts,
                    end: e.ts,
                    items: Vec::new(),
                    basket: Vec::new(),
                });
            }
            let Some(s) = sessions.last_mut() else {
                continue;
            };
            s.end = e.ts;
            let Some(item) = &e.item else { continue };
            if !s.items.contains(item) {
                s.items.push(item.clone());
            }
            match e.kind {
                EventKind::Cart if !cart.contains(item) => cart.push(item.clone()),
                EventKind::RemoveCart => cart.retain(|c| c != item),
                EventKind::Purchase => {
                    cart.retain(|c| c != item);
                    if !s.basket.contains(item) {
                        s.basket.push(item.clone());
                    }
                }
                _ => {}
            }
        }
        if let Some(s) = sessions.last_mut() {
            close_basket(s, &mut cart);
        }
        sessions
    }

    /// Reduces an item's totals to its purchase aggregates (count and the day of the last
    /// purchase, rounded down to UTC midnight) when it was last bought at or after
    /// `purchase_cutoff`; true when something is kept. Raw events are not touched.
    pub fn keep_purchases_only(&mut self, item: &str, purchase_cutoff: i64) -> bool {
        let Some(s) = self.stats.get_mut(item) else {
            return false;
        };
        match s.last_purchase {
            Some(t) if s.purchases > 0 && t >= purchase_cutoff => {
                *s = ItemStats {
                    purchases: s.purchases,
                    last_purchase: Some(t - t.rem_euclid(crate::DAY_MS)),
                    ..ItemStats::default()
                };
                true
            }
            _ => false,
        }
    }

    /// Forgets items entirely (aggregates and raw events) in one pass over the events.
    pub fn forget_items(&mut self, items: &[String]) {
        if items.is_empty() {
            return;
        }
        for item in items {
            self.stats.remove(item);
        }
        let forgotten: crate::lean::HashSet<&str> = items.iter().map(String::as_str).collect();
        self.events
            .retain(|e| e.item.as_deref().is_none_or(|i| !forgotten.contains(i)));
    }
}

fn close_basket(session: &mut Session, cart: &mut Vec<String>) {
    for item in cart.drain(..) {
        if !session.basket.contains(&item) {
            session.basket.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn ev(kind: EventKind, item: &str, ts: i64) -> Event {
        Event {
            kind,
            item: Some(item.to_owned()),
            query: None,
            ts,
            amount: 0.0,
        }
    }

    #[test]
    fn keeps_time_order_for_late_events() {
        let mut h = History::new(10);
        h.record(ev(EventKind::View, "a", 100));
        h.record(ev(EventKind::View, "b", 300));
        h.record(ev(EventKind::View, "c", 200));
        let order: Vec<_> = h
            .events()
            .map(|e| e.item.clone().unwrap_or_default())
            .collect();
        assert_eq!(order, vec!["a", "c", "b"]);
    }

    #[test]
    fn cap_folds_old_events_but_keeps_aggregates() {
        let mut h = History::new(3);
        for i in 0..5 {
            h.record(ev(EventKind::Purchase, "a", i));
        }
        assert_eq!(h.len(), 3);
        assert_eq!(h.folded(), 2);
        assert_eq!(h.stats("a").map(|s| s.purchases), Some(5));
        assert_eq!(h.stats("a").and_then(|s| s.last_purchase), Some(4));
    }

    #[test]
    fn sessions_split_on_inactivity_and_collect_baskets() {
        let mut h = History::new(100);
        h.record(ev(EventKind::View, "a", 0));
        h.record(ev(EventKind::Cart, "a", 5 * MIN));
        h.record(ev(EventKind::Cart, "b", 6 * MIN));
        h.record(ev(EventKind::RemoveCart, "b", 7 * MIN));
        h.record(ev(EventKind::Purchase, "c", 8 * MIN));
        h.record(ev(EventKind::View, "d", 60 * MIN));
        let s = h.sessions(30 * MIN);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].items, vec!["a", "b", "c"]);
        assert_eq!(s[0].basket, vec!["c", "a"]);
        assert_eq!(s[1].items, vec!["d"]);
        assert!(s[1].basket.is_empty());
    }

    #[test]
    fn validation_names_the_problem() {
        let err = EventInput {
            item: None,
            ..EventInput::new(EventKind::View, "x")
        }
        .validate();
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("a \"view\" event needs the field \"item\"".to_owned())
        );
        let dwell = EventInput {
            ms: Some(f64::NAN),
            ..EventInput::new(EventKind::Dwell, "x")
        };
        assert!(dwell.validate().is_err());
        let rate = EventInput {
            value: Some(6.0),
            ..EventInput::new(EventKind::Rate, "x")
        };
        assert!(rate
            .validate()
            .expect_err("out of range")
            .to_string()
            .contains("1 to 5"));
        assert!(EventInput::search("  ").validate().is_err());
        assert!(EventInput::search("mug").validate().is_ok());
        assert!(EventInput::new(EventKind::View, "x")
            .at(-5)
            .validate()
            .is_err());
    }

    #[test]
    fn retention_drops_raw_events_only() {
        let mut h = History::new(100);
        h.record(ev(EventKind::View, "a", 10));
        h.record(ev(EventKind::View, "b", 20));
        assert_eq!(h.expire_before(15), 1);
        assert_eq!(h.len(), 1);
        assert!(h.stats("a").is_some());
    }
}
