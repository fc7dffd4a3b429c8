//! The engine: one shopper's view of the shop. It owns the catalog and its content index,
//! the shopper's history and profile, the shared model and the privacy state, and composes
//! the layers below it: each call hands plain data (borrowed parts) to the layer that owns
//! the logic, so no other module depends on the engine.
//!
//! The engine has no clock: callers pass `now` in milliseconds since the Unix epoch, so the
//! browser, the server and the simulator drive time the same way (and tests control it).

mod config;
mod export;
mod snapshot;

use std::sync::Arc;

use crate::lean::HashSet;

pub use config::{EngineConfig, EventWeights};
pub use export::{Affinities, DayCounts, ExportedEvent, ShopperData};
pub use snapshot::{SnapshotError, SNAPSHOT_VERSION};

use crate::catalog::index::{ContentIndex, FieldWeights};
use crate::catalog::items::{Catalog, CatalogError, Item, JsonLike, LoadReport};
use crate::model::resolved::ResolvedModel;
use crate::model::shared::{ModelError, SharedModel};
use crate::privacy::config::{PrivacyConfig, PrivacyConfigError};
use crate::privacy::device::{
    Behaviour, PreparedReport, PrivacyError, PrivacyOverview, PrivacyState,
};
use crate::privacy::ledger::{Ledger, LedgerSummary};
use crate::privacy::noise::RandomSource;
use crate::privacy::window::WindowActivity;
use crate::recommend::explain::Explanation;
use crate::recommend::rules::{RecommendRequest, Recommendation, RequestError};
use crate::recommend::strategies::Recommender;
use crate::shopper::history::{
    clamp_time, Event, EventError, EventInput, EventKind, History, Session,
};
use crate::shopper::profile::{Interest, Profile};
use crate::strategy::Strategy;
use crate::text::tokenizer;

/// [`crate::DAY_MS`] as a float: retention, purchase memory and half-lives are days with fractions.
const DAY_MS: f64 = crate::DAY_MS as f64;

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
    config: EngineConfig,
    catalog: Arc<Catalog>,
    index: Arc<ContentIndex>,
    history: History,
    profile: Profile,
    model: Option<Arc<ResolvedModel>>,
    privacy: PrivacyState,
    /// Retention deleted events the profile learned from while no catalog was loaded to
    /// rebuild it with: `set_catalog` rebuilds it (see [`Engine::expire`]).
    relearn_pending: bool,
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
            profile: Profile::new(config.half_life_ms()),
            model: None,
            privacy: PrivacyState::default(),
            relearn_pending: false,
        }
    }

    /// Checks configuration ranges.
    pub fn with_config(config: EngineConfig) -> Result<Self, EngineError> {
        config.validate()?;
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
        if self.relearn_pending {
            self.relearn();
        }
    }

    /// Inserts or replaces one item without rebuilding the index.
    pub fn upsert_item(&mut self, item: Item) -> Result<(), EngineError> {
        let known_to_model = self.model.as_ref().is_some_and(|m| m.knows(&item.id));
        let (catalog, index) = self.own_catalog()?;
        let (slot, _) = catalog.upsert(item)?;
        if let Some(item) = catalog.get(slot) {
            index.upsert(slot, item);
        }
        let slots = self.catalog.slots();
        match self.model.as_mut().and_then(Arc::get_mut) {
            Some(m) if !known_to_model => m.grow_to(slots),
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
        let event = if input.kind == EventKind::Search {
            let query: String = input
                .query
                .as_deref()
                .unwrap_or("")
                .trim()
                .chars()
                .take(crate::shopper::history::MAX_QUERY_CHARS)
                .collect();
            Event {
                kind: input.kind,
                item: None,
                query: Some(query),
                ts,
                amount: 0.0,
            }
        } else {
            let id = input.item.as_deref().unwrap_or("");
            self.catalog.require(id)?;
            if let Some(strategy) = input.strategy {
                self.privacy
                    .note_click(&self.config.privacy, strategy, ts, now);
            }
            let amount = match input.kind {
                EventKind::Dwell => input.ms.unwrap_or(0.0) as f32,
                EventKind::Rate => input.value.unwrap_or(3.0) as f32,
                _ => 0.0,
            };
            Event {
                kind: input.kind,
                item: Some(id.to_owned()),
                query: None,
                ts,
                amount,
            }
        };
        let weights = &self.config.event_weights;
        learn(
            &mut self.profile,
            &self.catalog,
            &self.index,
            weights,
            &event,
        );
        self.history.record(event);
        Ok(())
    }

    /// Applies retention at `now`: raw events and per-item browsing totals older than
    /// `retention_days` are deleted; per-item purchase aggregates live until
    /// `purchase_memory_days` after the last purchase, reduced to the purchase count and the
    /// day of the last purchase. Returns the number of raw events deleted.
    ///
    /// What deleted data taught the profile goes with it: when the profile learned from an
    /// event older than the cutoff, or from an item whose totals are gone, it is rebuilt from
    /// what is kept. The raw events are replayed as `track` learned from them; an item whose
    /// purchases the raw log no longer holds but its purchase aggregate remembers is learned
    /// as one purchase on the day of its last one (the older ones had decayed far below it).
    ///
    /// Rebuilt, not subtracted: a subtraction would need each deleted event's contribution
    /// exactly as it was made (the item's categories, tags and title then, the event weights
    /// then), cannot reach events the `max_events` cap folded away before they expired, and
    /// leaves rounding residues that shares (interests sum to 1) and the normalized text
    /// vector blow back up to full weight. Rebuilt, the profile is exactly what the kept data
    /// says, search terms included. The price: one pass over the kept events when something
    /// expired, and events the cap folded away (more than `max_events` within the retention
    /// period) stop counting at the next rebuild, early rather than late. The rebuild needs
    /// the catalog (interests and terms come from the items): before one is loaded (the
    /// browser applies retention as a page opens) `set_catalog` does it; the profile keeps
    /// the time of the oldest event it learned from, in the snapshot too, so a state saved in
    /// between is rebuilt when it is next opened.
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
        let gone: Vec<String> = stale
            .into_iter()
            .filter(|id| !self.history.keep_purchases_only(id, purchase_cutoff))
            .collect();
        self.history.forget_items(&gone);
        self.history.expire_before(cutoff);
        // Learned from deleted data: an event older than the cutoff, or an item whose totals
        // are gone (also a purchase memory that ended).
        if self.profile.learned_before(cutoff)
            || self
                .profile
                .learned_items()
                .any(|id| self.history.stats(id).is_none())
        {
            self.relearn_pending = true;
        }
        if self.relearn_pending && !self.catalog.is_empty() {
            self.relearn();
        }
        before - self.history.len()
    }

    /// Rebuilds the profile from the raw events kept and the purchase aggregates kept (see
    /// [`Engine::expire`] for why).
    fn relearn(&mut self) {
        let mut profile = self.profile.emptied();
        let weights = &self.config.event_weights;
        let mut bought_in_log: HashSet<&str> = HashSet::default();
        for event in self.history.events() {
            if event.kind == EventKind::Purchase {
                bought_in_log.extend(event.item.as_deref());
            }
            learn(&mut profile, &self.catalog, &self.index, weights, event);
        }
        let mut remembered: Vec<(&String, i64)> = self
            .history
            .all_stats()
            .filter(|(id, s)| s.purchases > 0 && !bought_in_log.contains(id.as_str()))
            .filter_map(|(id, s)| Some((id, s.last_purchase?)))
            .collect();
        crate::lean::sort_by(&mut remembered, |a, b| a.0 < b.0);
        profile.learn_unaged(|profile| {
            for (id, ts) in remembered {
                let purchase = Event {
                    kind: EventKind::Purchase,
                    item: Some(id.clone()),
                    query: None,
                    ts,
                    amount: 0.0,
                };
                learn(profile, &self.catalog, &self.index, weights, &purchase);
            }
        });
        self.profile = profile;
        self.relearn_pending = false;
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Sessions of the raw history (30 minutes of inactivity by default ends one).
    pub fn sessions(&self) -> Vec<Session> {
        self.history.sessions(self.config.session_gap_ms())
    }

    // ----- profile -----

    /// The shopper's top `n` interests, weights summing to 1: the profile's, with its
    /// strongest title terms as readable interests.
    pub fn interests(&self, now: i64, n: usize) -> Vec<Interest> {
        self.profile
            .interests_with_terms(self.index.vocabulary(), clamp_time(now), n)
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
        let m = self.model.as_ref()?;
        if !m.has_segments() {
            return None;
        }
        m.closest_segment(self.profile.interests(clamp_time(now), usize::MAX))
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
        Ok(self.recommender().run(&request, clamp_time(now))?)
    }

    /// Why an item is (or is not) recommended to this shopper; errors name unknown items and
    /// an empty catalog.
    pub fn explain(&self, id: &str, now: i64) -> Result<Explanation, EngineError> {
        if self.catalog.is_empty() {
            return Err(EngineError::NoCatalog);
        }
        Ok(self.recommender().explain(id, clamp_time(now))?)
    }

    /// The recommenders over this engine's parts.
    fn recommender(&self) -> Recommender<'_> {
        Recommender {
            catalog: &self.catalog,
            index: &self.index,
            history: &self.history,
            profile: &self.profile,
            model: self.model.as_deref(),
            profile_terms: self.config.profile_terms,
            half_life_days: self.config.half_life_days,
        }
    }

    // ----- persistence -----

    /// The shopper's state (history, profile, privacy ledger and report state) as versioned,
    /// checksummed bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::encode(&self.history, &self.profile, &self.privacy)
    }

    /// Restores state from [`Engine::snapshot`] bytes. On error nothing changes.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        let state = snapshot::decode(bytes)?;
        self.history = state.history;
        self.history.set_max_events(self.config.max_events);
        self.profile = state.profile;
        self.relearn_pending = false;
        self.privacy.restore(state.privacy);
        Ok(())
    }

    /// Forgets everything about the shopper (history, profile, removed interests, the pending
    /// report and recommendation counters). The privacy ledger and the last reported day are
    /// kept: they hold no behaviour, and resetting them would let forget-then-report exceed
    /// the budget.
    pub fn forget(&mut self) {
        self.history = History::new(self.config.max_events);
        self.profile = Profile::new(self.config.half_life_ms());
        self.relearn_pending = false;
        self.privacy.forget();
    }

    /// The shopper's stored state as of `now` (interest weights and affinities are decayed to
    /// `now`).
    pub fn export_data(&self, now: i64) -> ShopperData {
        let now = clamp_time(now);
        let ledger = self.ledger_summary(now);
        ShopperData::new(&self.history, &self.profile, &self.privacy, ledger, now)
    }

    // ----- privacy (the logic is in crate::privacy::device) -----

    /// Replaces the privacy settings (validated). A pending report drawn under other settings
    /// is dropped.
    pub fn set_privacy_config(&mut self, config: PrivacyConfig) -> Result<(), EngineError> {
        config.validate()?;
        if config != self.config.privacy {
            self.privacy.pending = None;
        }
        self.config.privacy = config;
        Ok(())
    }

    pub fn privacy_config(&self) -> &PrivacyConfig {
        &self.config.privacy
    }

    pub fn privacy_state(&self) -> &PrivacyState {
        &self.privacy
    }

    pub fn ledger(&self) -> &Ledger {
        &self.privacy.ledger
    }

    /// The ledger as the privacy centre shows it at `now`.
    pub fn ledger_summary(&self, now: i64) -> LedgerSummary {
        self.privacy.ledger_summary(&self.config.privacy, now)
    }

    /// Counts `lists` recommendation lists of `strategy` shown at `now` (call once per list
    /// rendered). Only whether it was shown is reported, once per window.
    pub fn note_impressions(&mut self, strategy: Strategy, lists: u32, now: i64) {
        self.privacy
            .note_impressions(&self.config.privacy, strategy, lists, now);
    }

    /// What the shopper did from `first_day` up to and including `day`: items touched (never
    /// search queries), whether each was bought or carted, the sessions they were touched in
    /// (30 minutes of inactivity, or midnight UTC at the first day, ends one), their interest
    /// keys (except interests the shopper removed) and `day`'s recommendation counters.
    pub fn window_activity(&self, first_day: u32, day: u32) -> WindowActivity {
        let shopper = behaviour(&self.config, &self.catalog, &self.history, &self.profile);
        self.privacy.window_activity(&shopper, first_day, day)
    }

    /// The next report (the lifecycle is in `privacy/device.rs`): drawn once per day and kept, so
    /// repeated calls return the same bytes. `None` in mode `off`, when every reportable day is
    /// reported or adds nothing new to its window, or when the window's budget has no room.
    /// Spends nothing.
    pub fn prepare_report(
        &mut self,
        now: i64,
        rng: &mut dyn RandomSource,
    ) -> Result<Option<PreparedReport>, PrivacyError> {
        let shopper = behaviour(&self.config, &self.catalog, &self.history, &self.profile);
        self.privacy
            .prepare_report(&self.config.privacy, &shopper, now, rng)
    }

    /// Charges the pending report of `day` to the ledger, records its keys as contributed to
    /// its window, marks the day reported and returns the bytes to send. Fails, changing
    /// nothing, when no report for `day` is pending or the budget would be exceeded.
    pub fn commit_report(&mut self, day: u32) -> Result<String, PrivacyError> {
        self.privacy.commit_report(&self.config.privacy, day)
    }

    /// The privacy centre's view: mode, ledger, the window's contributions and the exact next
    /// report (drawn if needed).
    pub fn privacy(
        &mut self,
        now: i64,
        rng: &mut dyn RandomSource,
    ) -> Result<PrivacyOverview, PrivacyError> {
        let shopper = behaviour(&self.config, &self.catalog, &self.history, &self.profile);
        self.privacy
            .overview(&self.config.privacy, &shopper, now, rng)
    }
}

/// What the device's privacy logic reads of the shopper, from the engine's fields (a function
/// of the fields rather than a method, so the privacy state can be borrowed mutably beside it).
fn behaviour<'a>(
    config: &EngineConfig,
    catalog: &'a Catalog,
    history: &'a History,
    profile: &'a Profile,
) -> Behaviour<'a> {
    Behaviour {
        history,
        catalog,
        removed_interests: profile.removed_interests(),
        session_gap_ms: config.session_gap_ms(),
    }
}

/// Adds what one event says about the shopper to `profile`: the one way from events to the
/// profile, for [`Engine::track`] and for the rebuild after retention ([`Engine::expire`]). An
/// item event adds its weight to the item and, through the catalog, to the item's interests
/// and title terms (nothing for an item the catalog does not hold); a search adds its query's
/// terms.
fn learn(
    profile: &mut Profile,
    catalog: &Catalog,
    index: &ContentIndex,
    weights: &EventWeights,
    event: &Event,
) {
    let weight = weights.of(event.kind, event.amount);
    if let Some(query) = &event.query {
        profile.add_query(&tokenizer::tokenize(query), weight, event.ts);
        return;
    }
    let Some(slot) = event.item.as_deref().and_then(|id| catalog.index_of(id)) else {
        return;
    };
    if let Some(item) = catalog.get(slot) {
        let vocab = index.vocabulary();
        let terms = index.vector(slot).iter().map(|(t, v)| (vocab.term(t), v));
        profile.add_item(item, terms, weight, event.ts);
    }
}
