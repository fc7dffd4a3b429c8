//! The engine's settings: event weights, retention, decay, and the privacy settings.

use serde::{Deserialize, Serialize};

use super::{EngineError, DAY_MS};
use crate::privacy::config::PrivacyConfig;
use crate::shopper::history::EventKind;

/// How much each kind of event says about interest. Purchases say most; removing from the
/// cart says the shopper changed their mind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventWeights {
    pub view: f32,
    pub click: f32,
    pub cart: f32,
    pub remove_cart: f32,
    pub purchase: f32,
    pub search: f32,
    /// Weight per minute of dwell, capped at [`EventWeights::dwell_cap`].
    pub dwell_per_minute: f32,
    pub dwell_cap: f32,
    /// Weight per star away from a neutral 3 (so 5 stars = +2x, 1 star = −2x).
    pub rate_per_star: f32,
}

impl Default for EventWeights {
    fn default() -> Self {
        EventWeights {
            view: 1.0,
            click: 2.0,
            cart: 4.0,
            remove_cart: -2.0,
            purchase: 8.0,
            search: 1.0,
            dwell_per_minute: 1.0,
            dwell_cap: 3.0,
            rate_per_star: 2.0,
        }
    }
}

impl EventWeights {
    /// The weight of one stored event (`amount`: dwell milliseconds or the rating, as
    /// [`Event::amount`](crate::shopper::history::Event::amount) keeps them), for `track` and for the rebuild after retention alike.
    pub(crate) fn of(&self, kind: EventKind, amount: f32) -> f32 {
        match kind {
            EventKind::View => self.view,
            EventKind::Click => self.click,
            EventKind::Cart => self.cart,
            EventKind::RemoveCart => self.remove_cart,
            EventKind::Purchase => self.purchase,
            EventKind::Search => self.search,
            EventKind::Dwell => ((f64::from(amount) / 60_000.0) as f32 * self.dwell_per_minute)
                .min(self.dwell_cap)
                .max(0.0),
            EventKind::Rate => (amount - 3.0) * self.rate_per_star,
        }
    }
}

/// Engine settings. Every field has a documented default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EngineConfig {
    /// Half-life of interest decay in days (default 14).
    pub half_life_days: f64,
    /// Raw events kept before the oldest are folded into aggregates (default 5000).
    pub max_events: usize,
    /// Inactivity that ends a session, in minutes (default 30).
    pub session_gap_minutes: f64,
    /// Timestamps further than this in the future are clamped to now (default 5 minutes).
    pub future_tolerance_ms: i64,
    /// Raw events, and the per-item view, click and cart totals, older than this are deleted,
    /// and what the profile learned from them with them (default 90 days, the data-minimizing
    /// default the product brief asks for; `retentionDays` in the browser).
    pub retention_days: f64,
    /// Per-item purchase aggregates (how often, and the day of the last purchase) are kept
    /// this long (default 395 days, about 13 months; `purchaseMemoryDays` in the browser):
    /// long enough for buy-again and "already bought" exclusions across a year of restocking.
    /// On the Online Retail validation split, forgetting purchases after 90 days let about 2
    /// of every 10 "new items" recommendations be items bought months before
    /// (docs/QUALITY.md). They never leave the device, and `forget()` deletes them at once.
    pub purchase_memory_days: f64,
    /// Strongest profile terms used to score content (default 64).
    pub profile_terms: usize,
    pub event_weights: EventWeights,
    /// What leaves the device and the privacy budget (see [`PrivacyConfig`]).
    pub privacy: PrivacyConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            half_life_days: 14.0,
            max_events: 5000,
            session_gap_minutes: 30.0,
            future_tolerance_ms: 5 * 60_000,
            retention_days: 90.0,
            purchase_memory_days: 395.0,
            profile_terms: 64,
            event_weights: EventWeights::default(),
            privacy: PrivacyConfig::default(),
        }
    }
}

impl EngineConfig {
    /// Checks ranges; the error names the option as JS spells it.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |field, problem: &str| {
            Err(EngineError::Config {
                field,
                problem: problem.to_owned(),
            })
        };
        if !(self.half_life_days.is_finite() && self.half_life_days > 0.0) {
            return bad("halfLifeDays", "must be a positive number of days");
        }
        if self.max_events == 0 {
            return bad("maxEvents", "must be at least 1");
        }
        if !(self.retention_days.is_finite() && self.retention_days > 0.0) {
            return bad("retentionDays", "must be a positive number of days");
        }
        if !(self.purchase_memory_days.is_finite()
            && self.purchase_memory_days >= self.retention_days)
        {
            return bad(
                "purchaseMemoryDays",
                "must be a number of days at least retentionDays",
            );
        }
        if !(self.session_gap_minutes.is_finite() && self.session_gap_minutes > 0.0) {
            return bad("sessionGapMinutes", "must be a positive number of minutes");
        }
        self.privacy.validate()?;
        Ok(())
    }

    /// Inactivity that ends a session, in ms.
    pub(crate) fn session_gap_ms(&self) -> i64 {
        (self.session_gap_minutes * 60_000.0) as i64
    }

    /// Half-life of interest decay in ms.
    pub(crate) fn half_life_ms(&self) -> f64 {
        self.half_life_days * DAY_MS
    }
}
