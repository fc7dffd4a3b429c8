//! The engine: one shopper's view of the shop. It owns the catalog and its content index,
//! the shopper's history and profile, and the shared model, and answers recommendations.
//!
//! The engine has no clock: callers pass `now` in milliseconds since the Unix epoch, so the
//! browser, the server and the simulator drive time the same way (and tests control it).

pub mod export;
pub mod snapshot;

use crate::lean::{dot, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::catalog::index::{ContentIndex, FieldWeights};
use crate::catalog::items::{Catalog, CatalogError, Item, JsonLike, LoadReport};
use crate::model::shared::{ModelError, SharedModel};
use crate::privacy::device::{PrivacyConfig, PrivacyConfigError, PrivacyState};
use crate::recommend::rules::{RecommendRequest, Recommendation, RequestError};
use crate::shopper::history::{
    clamp_time, Event, EventError, EventInput, EventKind, History, Session,
};
use crate::shopper::profile::{Interest, Profile};
use crate::text::tokenizer;
use snapshot::{SnapshotError, UserState};

const DAY_MS: f64 = 86_400_000.0;

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
    /// Raw events, and the per-item view, click and cart totals, older than this are deleted
    /// (default 90 days, the data-minimizing default the product brief asks for;
    /// `retentionDays` in the browser).
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

/// Everything that can go wrong in an engine call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    PrivacyConfig(#[from] PrivacyConfigError),
    #[error("the catalog is empty: load the catalog before asking for recommendations")]
    NoCatalog,
    #[error("invalid option \"{field}\": {problem}")]
    Config {
        field: &'static str,
        problem: String,
    },
    #[error("\"strategy\" is only for click events, not \"{0}\"")]
    StrategyOnNonClick(&'static str),
    #[error("this engine shares its catalog with its clones: load a catalog of its own (set_catalog) before changing single items")]
    SharedCatalog,
}

/// The shared model with item ids resolved to catalog indices.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResolvedModel {
    /// Shared, like the resolved model, so re-resolving never copies it.
    pub model: Arc<SharedModel>,
    pub popularity: Vec<f32>,
    pub trending: Vec<f32>,
    pub neighbours: Vec<Vec<(u32, f32)>>,
    /// Rows are segment centroids over `model.segment_axis`.
    pub centroids: crate::lean::Matrix,
}

impl ResolvedModel {
    fn resolve(model: Arc<SharedModel>, catalog: &Catalog) -> Self {
        let slots = catalog.slots();
        let dense = |map: &crate::lean::SortedMap<String, f32>| {
            let mut v = vec![0.0f32; slots];
            for (id, &s) in map {
                if let Some(i) = catalog.index_of(id) {
                    v[i as usize] = s;
                }
            }
            v
        };
        let mut neighbours = vec![Vec::new(); slots];
        for (id, list) in &model.neighbours {
            if let Some(i) = catalog.index_of(id) {
                neighbours[i as usize] = list
                    .iter()
                    .filter_map(|n| catalog.index_of(&n.item).map(|j| (j, n.score)))
                    .collect();
            }
        }
        let dim = model.segment_axis.len();
        let mut centroids = crate::lean::Matrix::zeros(model.segments.len(), dim);
        for (r, s) in model.segments.iter().enumerate() {
            if s.centroid.len() == dim {
                centroids.row_mut(r).copy_from_slice(&s.centroid);
            }
        }
        ResolvedModel {
            popularity: dense(&model.popularity),
            trending: dense(&model.trending),
            neighbours,
            centroids,
            model,
        }
    }
}

/// One shopper's engine.
///
/// The catalog, its content index and the resolved shared model are the same for every
/// shopper of a shop, so they sit behind `Arc`s: cloning an engine copies only the shopper's
/// own state (history, profile, privacy) and shares the rest, which is how the simulator runs
/// thousands of shoppers over one catalog index. Shared parts are read-only: `set_catalog`
/// and `set_model` give an engine its own, and `upsert_item`/`remove_item` on a catalog that
/// is still shared are refused ([`EngineError::SharedCatalog`]) rather than copying it, code
/// the browser module (which never clones an engine) would pay for in size.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) index: Arc<ContentIndex>,
    pub(crate) history: History,
    pub(crate) profile: Profile,
    pub(crate) model: Option<Arc<ResolvedModel>>,
    pub(crate) privacy: PrivacyState,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(EngineConfig::default())
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            config,
            catalog: Arc::default(),
            index: Arc::default(),
            history: History::new(config.max_events),
            profile: Profile::new(config.half_life_days * DAY_MS),
            model: None,
            privacy: PrivacyState::default(),
        }
    }

    /// Checks configuration ranges.
    pub fn with_config(config: EngineConfig) -> Result<Self, EngineError> {
        let bad = |field, problem: &str| {
            Err(EngineError::Config {
                field,
                problem: problem.to_owned(),
            })
        };
        if !(config.half_life_days.is_finite() && config.half_life_days > 0.0) {
            return bad("halfLifeDays", "must be a positive number of days");
        }
        if config.max_events == 0 {
            return bad("maxEvents", "must be at least 1");
        }
        if !(config.retention_days.is_finite() && config.retention_days > 0.0) {
            return bad("retentionDays", "must be a positive number of days");
        }
        if !(config.purchase_memory_days.is_finite()
            && config.purchase_memory_days >= config.retention_days)
        {
            return bad(
                "purchaseMemoryDays",
                "must be a number of days at least retentionDays",
            );
        }
        if !(config.session_gap_minutes.is_finite() && config.session_gap_minutes > 0.0) {
            return bad("sessionGapMinutes", "must be a positive number of minutes");
        }
        config.privacy.validate()?;
        Ok(Engine::new(config))
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    // ----- catalog -----

    /// Replaces the catalog with a JSON array of items. Invalid rows are reported and skipped;
    /// on error (nothing valid) the current catalog stays.
    pub fn load_catalog_json(&mut self, json: &str) -> Result<LoadReport, EngineError> {
        let (catalog, report) = Catalog::from_json(json)?;
        self.set_catalog(catalog);
        Ok(report)
    }

    /// Like [`Engine::load_catalog_json`] for an already parsed value.
    pub fn load_catalog_value<V: JsonLike>(&mut self, value: V) -> Result<LoadReport, EngineError> {
        let (catalog, report) = Catalog::from_value(value)?;
        self.set_catalog(catalog);
        Ok(report)
    }

    /// Replaces the catalog with a validated one.
    pub fn set_catalog(&mut self, catalog: Catalog) {
        self.index = Arc::new(ContentIndex::build(&catalog, FieldWeights::default()));
        self.catalog = Arc::new(catalog);
        self.resolve_model();
    }

    /// Inserts or replaces one item without rebuilding the index.
    pub fn upsert_item(&mut self, item: Item) -> Result<(), EngineError> {
        let known_to_model = self.model.as_ref().is_some_and(|m| {
            m.model.popularity.contains_key(&item.id) || m.model.neighbours.contains_key(&item.id)
        });
        let (catalog, index) = self.own_catalog()?;
        let (slot, _) = catalog.upsert(item)?;
        if let Some(item) = catalog.get(slot) {
            index.upsert(slot, item);
        }
        let slots = self.catalog.slots();
        match self.model.as_mut().and_then(Arc::get_mut) {
            Some(m) if !known_to_model => {
                m.popularity.resize(slots, 0.0);
                m.trending.resize(slots, 0.0);
                m.neighbours.resize(slots, Vec::new());
            }
            _ => self.resolve_model(),
        }
        Ok(())
    }

    /// Removes one item. History about it is kept (it may come back).
    pub fn remove_item(&mut self, id: &str) -> Result<(), EngineError> {
        let (catalog, index) = self.own_catalog()?;
        let slot = catalog.remove(id)?;
        index.remove(slot);
        Ok(())
    }

    /// The catalog and index for changing in place, when no clone shares them.
    fn own_catalog(&mut self) -> Result<(&mut Catalog, &mut ContentIndex), EngineError> {
        match (
            Arc::get_mut(&mut self.catalog),
            Arc::get_mut(&mut self.index),
        ) {
            (Some(catalog), Some(index)) => Ok((catalog, index)),
            _ => Err(EngineError::SharedCatalog),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn index(&self) -> &ContentIndex {
        &self.index
    }

    // ----- shared model -----

    /// Installs a shared model (validated). Replaces any previous one.
    pub fn set_model(&mut self, model: SharedModel) -> Result<(), EngineError> {
        model.validate()?;
        let model = Arc::new(model);
        self.model = Some(Arc::new(ResolvedModel::resolve(model, &self.catalog)));
        Ok(())
    }

    pub fn model(&self) -> Option<&SharedModel> {
        self.model.as_ref().map(|m| &*m.model)
    }

    pub fn clear_model(&mut self) {
        self.model = None;
    }

    fn resolve_model(&mut self) {
        if let Some(m) = self.model.take() {
            let model = Arc::clone(&m.model);
            self.model = Some(Arc::new(ResolvedModel::resolve(model, &self.catalog)));
        }
    }

    // ----- behaviour -----

    /// Records one event at `now` (ms since epoch). Unknown items are refused with an error
    /// that names them; timestamps from the future are clamped to `now`.
    pub fn track(&mut self, input: &EventInput, now: i64) -> Result<(), EngineError> {
        input.validate()?;
        if input.strategy.is_some() && input.kind != EventKind::Click {
            return Err(EngineError::StrategyOnNonClick(input.kind.name()));
        }
        let now = clamp_time(now);
        let mut ts = input.ts.map_or(now, |t| t as i64);
        if ts > now + self.config.future_tolerance_ms {
            ts = now;
            self.history.note_clamped();
        }
        let w = self.config.event_weights;
        if input.kind == EventKind::Search {
            let query: String = input
                .query
                .as_deref()
                .unwrap_or("")
                .trim()
                .chars()
                .take(crate::shopper::history::MAX_QUERY_CHARS)
                .collect();
            let tokens = tokenizer::tokenize(&query);
            self.profile.add_query(&tokens, w.search, ts);
            self.history.record(Event {
                kind: input.kind,
                item: None,
                query: Some(query),
                ts,
                amount: 0.0,
            });
            return Ok(());
        }
        let id = input.item.as_deref().unwrap_or("");
        let slot = self.catalog.require(id)?;
        if let Some(strategy) = input.strategy {
            self.note_click(strategy, ts, now);
        }
        let (weight, amount) = match input.kind {
            EventKind::View => (w.view, 0.0),
            EventKind::Click => (w.click, 0.0),
            EventKind::Cart => (w.cart, 0.0),
            EventKind::RemoveCart => (w.remove_cart, 0.0),
            EventKind::Purchase => (w.purchase, 0.0),
            EventKind::Dwell => {
                let ms = input.ms.unwrap_or(0.0);
                (
                    ((ms / 60_000.0) as f32 * w.dwell_per_minute)
                        .min(w.dwell_cap)
                        .max(0.0),
                    ms as f32,
                )
            }
            EventKind::Rate => {
                let v = input.value.unwrap_or(3.0) as f32;
                ((v - 3.0) * w.rate_per_star, v)
            }
            EventKind::Search => (0.0, 0.0),
        };
        if let Some(item) = self.catalog.get(slot) {
            let vocab = self.index.vocabulary();
            let terms = self
                .index
                .vector(slot)
                .iter()
                .map(|(t, v)| (vocab.term(t), v));
            self.profile.add_item(item, terms, weight, ts);
        }
        self.history.record(Event {
            kind: input.kind,
            item: Some(id.to_owned()),
            query: None,
            ts,
            amount,
        });
        Ok(())
    }

    /// Applies retention at `now`: raw events and per-item browsing totals older than
    /// `retention_days` are deleted (and the items leave the profile); per-item purchase
    /// aggregates live until `purchase_memory_days` after the last purchase, reduced to the
    /// purchase count and the day of the last purchase. Returns the number of raw events
    /// deleted.
    pub fn expire(&mut self, now: i64) -> usize {
        let now = clamp_time(now);
        let cutoff = now - (self.config.retention_days * DAY_MS) as i64;
        let memory = self
            .config
            .purchase_memory_days
            .max(self.config.retention_days);
        let purchase_cutoff = now - (memory * DAY_MS) as i64;
        let before = self.history.len();
        let stale: Vec<String> = self
            .history
            .all_stats()
            .filter(|(_, s)| s.last_seen.max(s.last_purchase).is_none_or(|t| t < cutoff))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &stale {
            self.profile.forget_item(id);
        }
        let gone: Vec<String> = stale
            .into_iter()
            .filter(|id| !self.history.keep_purchases_only(id, purchase_cutoff))
            .collect();
        self.history.forget_items(&gone);
        self.history.expire_before(cutoff);
        before - self.history.len()
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Sessions of the raw history (30 minutes of inactivity by default ends one).
    pub fn sessions(&self) -> Vec<Session> {
        self.history
            .sessions((self.config.session_gap_minutes * 60_000.0) as i64)
    }

    // ----- profile -----

    /// The shopper's top `n` interests, weights summing to 1.
    pub fn interests(&self, now: i64, n: usize) -> Vec<Interest> {
        let now = clamp_time(now);
        let mut interests = self.profile.interests(now, n.saturating_add(8));
        // Title terms as readable interests: the strongest profile terms.
        let vec = self.profile.text_vector(self.index.vocabulary(), 8);
        let term_scale = interests.first().map_or(1.0, |i| i.weight) * 0.5;
        let removed = self.profile.removed_interests();
        for (t, v) in vec.iter() {
            let term = self.index.vocabulary().term(t);
            let key = format!("term:{term}");
            if !removed.contains(&key) {
                interests.push(Interest {
                    key,
                    kind: "term".into(),
                    label: term.to_owned(),
                    weight: f64::from(v) * term_scale,
                });
            }
        }
        crate::lean::sort_by(&mut interests, |a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.key.cmp(&b.key))
                .is_lt()
        });
        interests.truncate(n);
        let total: f64 = interests.iter().map(|i| i.weight).sum();
        if total > 0.0 {
            interests.iter_mut().for_each(|i| i.weight /= total);
        }
        interests
    }

    /// Removes an interest (e.g. `"category:Toys"`, `"term:mug"`); it stays removed.
    pub fn remove_interest(&mut self, key: &str) {
        self.profile.remove_interest(key);
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The shared-model segment closest to the shopper's interests (cosine), if any.
    pub fn segment(&self, now: i64) -> Option<(String, f32)> {
        let now = clamp_time(now);
        let m = self.model.as_ref()?;
        if m.centroids.rows() == 0 {
            return None;
        }
        let interests: crate::lean::HashMap<String, f64> = self
            .profile
            .interests(now, usize::MAX)
            .into_iter()
            .map(|i| (i.key, i.weight))
            .collect();
        let axis = &m.model.segment_axis;
        let user: Vec<f32> = axis
            .iter()
            .map(|k| interests.get(k).map_or(0.0, |&w| w as f32))
            .collect();
        let un = dot(&user, &user).sqrt();
        if un == 0.0 {
            return None;
        }
        let sims = m.centroids.mul_vec(&user);
        let (best, sim) = sims.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        let row = m.centroids.row(best);
        let cn = dot(row, row).sqrt().max(f32::MIN_POSITIVE);
        Some((m.model.segments[best].label.clone(), sim / (un * cn)))
    }

    // ----- recommendations -----

    /// Runs a recommendation request. See [`RecommendRequest`] for the rules applied.
    pub fn recommend(
        &self,
        request: &RecommendRequest,
        now: i64,
    ) -> Result<Vec<Recommendation>, EngineError> {
        request.validate()?;
        if self.catalog.is_empty() {
            return Err(EngineError::NoCatalog);
        }
        let request = request.clone().normalized();
        let now = clamp_time(now);
        self.run_strategy(&request, now)
    }

    // ----- persistence -----

    /// The shopper's state (history, profile, privacy ledger and report state) as versioned,
    /// checksummed bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::encode(&UserState {
            history: self.history.clone(),
            profile: self.profile.clone(),
            privacy: self.privacy.clone(),
        })
    }

    /// Restores state from [`Engine::snapshot`] bytes. On error nothing changes.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        let state = snapshot::decode(bytes)?;
        self.history = state.history;
        self.history.set_max_events(self.config.max_events);
        self.profile = state.profile;
        self.restore_report_state(state.privacy);
        Ok(())
    }

    /// Forgets everything about the shopper (history, profile, removed interests, the pending
    /// report and recommendation counters). The privacy ledger and the last reported day are
    /// kept: they hold no behaviour, and resetting them would let forget-then-report exceed
    /// the budget.
    pub fn forget(&mut self) {
        self.history = History::new(self.config.max_events);
        self.profile = Profile::new(self.config.half_life_days * DAY_MS);
        self.forget_report_state();
    }

    /// Item ids the shopper viewed (or clicked, carted) and bought, resolved to indices.
    pub(crate) fn seen_and_bought(&self) -> (HashSet<u32>, HashSet<u32>) {
        let mut seen = HashSet::default();
        let mut bought = HashSet::default();
        for (id, s) in self.history.all_stats() {
            if let Some(i) = self.catalog.index_of(id) {
                if s.last_seen.is_some() {
                    seen.insert(i);
                }
                if s.purchases > 0 {
                    bought.insert(i);
                }
            }
        }
        (seen, bought)
    }
}
