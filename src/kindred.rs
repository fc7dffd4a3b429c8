//! `Kindred`: the class a shop developer uses. It wraps one core [`Engine`] and only converts
//! values and persists state; every algorithm is in `crates/core`.
//!
//! ## Persistence and tabs
//! `track()` changes the engine in memory at once and appends the event to `pending`; a timer
//! (`flushDelayMs`, also `pagehide`/`visibilitychange` and `flush()`) writes the snapshot to
//! IndexedDB in one read-modify-write transaction. Each write bumps the stored `gen`. When a
//! tab finds a `gen` it has not seen, another tab wrote in between: it restores that state and
//! replays its own pending operations on top (a rebase), then writes. So two tabs tracking at
//! the same time never overwrite each other's events. Tabs also tell each other about writes
//! over a `BroadcastChannel`, so a tab's recommendations follow what the shopper does in
//! another tab (`on("update")` fires with reason `"merge"`).
//!
//! ## Failure
//! Storage never makes `track()` throw. IndexedDB missing, blocked or out of quota switches the
//! instance to memory and reports a `warning` event; unreadable stored state (corrupt, or from
//! a newer version) is quarantined, reported and replaced by a fresh state, and its bytes stay
//! in `exportData().quarantined`. Storage tasks run one at a time in a promise chain.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise, Reflect, Uint8Array};
use kindred_core::{
    Engine, EngineConfig, EventInput, EventWeights, Mode, OsRandom, PrivacyConfig, RandomSource,
    RecommendRequest, Strategy,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{BroadcastChannel, IdbDatabase, MessageEvent};

use crate::convert::{
    add_global_listener, base64, console_error, describe, error_name, fetch_with_init, now_ms,
    remove_global_listener, set_timeout,
};
use crate::storage::{
    self, record, snapshot_record, StoredState, Transaction, MODEL_KEY, OUTBOX_KEY, QUARANTINE_KEY,
    STATE_KEY,
};
use crate::transport::{
    backoff_ms, browser_opt_out, outbox_from_js, outbox_to_js, post_report, Consent, Delivery,
    OutboxEntry,
};
use crate::values::{
    explanation_js, interests_js, ledger_js, load_report_js, privacy_js, read_event, read_model,
    read_request, recommendations_js, shopper_data_js, window_js, JsJson, Obj,
};

const DAY_MS: i64 = 86_400_000;
/// How long a tab owns an outbox entry it is sending before another tab may retry it.
const CLAIM_MS: i64 = 60_000;

/// At most this many unreadable states are kept for `exportData()` (oldest dropped first).
const MAX_QUARANTINED: usize = 4;

/// Where state is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum StorageChoice {
    #[default]
    Indexeddb,
    Memory,
}

/// `Kindred.create(options)`; see `KindredOptions` in `kindred.d.ts` for the documented shape.
#[derive(Debug, Clone)]
struct CreateOptions {
    site: String,
    storage: StorageChoice,
    flush_delay_ms: u32,
    retention_days: f64,
    purchase_memory_days: f64,
    max_events: usize,
    half_life_days: f64,
    session_gap_minutes: f64,
    event_weights: EventWeights,
    endpoint: Option<String>,
    privacy: PrivacyConfig,
    consent: Consent,
    report_delay_ms: u32,
    retry_delay_ms: u32,
    outbox_days: u32,
}

impl Default for CreateOptions {
    fn default() -> Self {
        let engine = EngineConfig::default();
        CreateOptions {
            site: "default".into(),
            storage: StorageChoice::default(),
            flush_delay_ms: 500,
            retention_days: engine.retention_days,
            purchase_memory_days: engine.purchase_memory_days,
            max_events: engine.max_events,
            half_life_days: engine.half_life_days,
            session_gap_minutes: engine.session_gap_minutes,
            event_weights: engine.event_weights,
            endpoint: None,
            privacy: PrivacyConfig::default(),
            consent: Consent::default(),
            report_delay_ms: 60_000,
            retry_delay_ms: 60_000,
            outbox_days: 7,
        }
    }
}

impl CreateOptions {
    fn from_js(value: JsValue) -> Result<CreateOptions, JsError> {
        let mut c = CreateOptions::default();
        if value.is_undefined() || value.is_null() {
            return Ok(c);
        }
        let o = Obj::new(value, "options", CREATE_OPTION_NAMES)?;
        if let Some(site) = o.str("site")? {
            c.site = site;
        }
        let storage = [
            ("indexeddb", StorageChoice::Indexeddb),
            ("memory", StorageChoice::Memory),
        ];
        c.storage = o.choice("storage", &storage)?.unwrap_or(c.storage);
        let ms = f64::from(i32::MAX);
        c.flush_delay_ms = o
            .int("flushDelayMs", ms)?
            .map_or(c.flush_delay_ms, |v| v as u32);
        c.retention_days = o.num("retentionDays")?.unwrap_or(c.retention_days);
        // Unset, it follows a longer retention (purchases are never kept shorter than events).
        c.purchase_memory_days = match o.num("purchaseMemoryDays")? {
            Some(days) if days < c.retention_days => {
                return Err(JsError::new(&format!(
                    "invalid option \"purchaseMemoryDays\": {} is less than retentionDays ({}): \
                     purchases are kept at least as long as the events they come from",
                    kindred_core::lean::number(days),
                    kindred_core::lean::number(c.retention_days)
                )))
            }
            Some(days) => days,
            None => c.purchase_memory_days.max(c.retention_days),
        };
        c.max_events = o
            .int("maxEvents", 1e7)?
            .map_or(c.max_events, |v| v as usize);
        c.half_life_days = o.num("halfLifeDays")?.unwrap_or(c.half_life_days);
        c.session_gap_minutes = o.num("sessionGapMinutes")?.unwrap_or(c.session_gap_minutes);
        if let Some(w) = o.get("eventWeights") {
            let names = [
                "view",
                "click",
                "cart",
                "removeCart",
                "purchase",
                "search",
                "dwellPerMinute",
                "dwellCap",
                "ratePerStar",
            ];
            let w = Obj::new(w, "eventWeights", &names)?;
            let e = &mut c.event_weights;
            for (name, slot) in names.iter().zip([
                &mut e.view,
                &mut e.click,
                &mut e.cart,
                &mut e.remove_cart,
                &mut e.purchase,
                &mut e.search,
                &mut e.dwell_per_minute,
                &mut e.dwell_cap,
                &mut e.rate_per_star,
            ]) {
                if let Some(v) = w.num(name)? {
                    *slot = v as f32;
                }
            }
        }
        c.endpoint = o.str("endpoint")?;
        if let Some(p) = o.get("privacy") {
            c.privacy = read_privacy(p)?;
        }
        let consents = [
            ("granted", Consent::Granted),
            ("pending", Consent::Pending),
            ("denied", Consent::Denied),
        ];
        c.consent = o.choice("consent", &consents)?.unwrap_or(c.consent);
        c.report_delay_ms = o
            .int("reportDelayMs", ms)?
            .map_or(c.report_delay_ms, |v| v as u32);
        c.retry_delay_ms = o
            .int("retryDelayMs", ms)?
            .map_or(c.retry_delay_ms, |v| v as u32);
        c.outbox_days = o
            .int("outboxDays", 3650.0)?
            .map_or(c.outbox_days, |v| v as u32);
        Ok(c)
    }

    fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            retention_days: self.retention_days,
            purchase_memory_days: self.purchase_memory_days,
            max_events: self.max_events,
            half_life_days: self.half_life_days,
            session_gap_minutes: self.session_gap_minutes,
            event_weights: self.event_weights,
            privacy: self.privacy,
            ..EngineConfig::default()
        }
    }
}

const CREATE_OPTION_NAMES: &[&str] = &[
    "site",
    "storage",
    "flushDelayMs",
    "retentionDays",
    "purchaseMemoryDays",
    "maxEvents",
    "halfLifeDays",
    "sessionGapMinutes",
    "eventWeights",
    "endpoint",
    "privacy",
    "consent",
    "reportDelayMs",
    "retryDelayMs",
    "outboxDays",
];

/// Privacy option names of kindred 0.1 and what replaced them: passing one is an error that
/// says so, rather than the generic "unknown field" (a shop upgrading should learn what the
/// new option means, not just that the old one is gone).
const REPLACED_PRIVACY_OPTIONS: &[(&str, &str)] = &[
    (
        "epsilonPerDay",
        "\"privacy.epsilonPerWindow\" (ε per shopper per 30-day window, default 4)",
    ),
    (
        "epsilon30Days",
        "\"privacy.epsilonPerWindow\" (the cap is now per 30-day window: ε per shopper per window, default 4)",
    ),
];

/// `options.privacy`: `PrivacyConfig` in `kindred.d.ts`; ranges are checked by the engine.
fn read_privacy(value: JsValue) -> Result<PrivacyConfig, JsError> {
    for (old, new) in REPLACED_PRIVACY_OPTIONS {
        if Reflect::has(&value, &(*old).into()).unwrap_or(false) {
            return Err(JsError::new(&format!(
                "invalid option \"privacy.{old}\": it was replaced by {new} in kindred 0.2"
            )));
        }
    }
    let p = Obj::new(
        value,
        "privacy",
        &[
            "mode",
            "epsilonPerWindow",
            "delta",
            "windowDays",
            "caps",
            "ldpEpsilon",
            "ldpSetSize",
            "maxReportLagDays",
        ],
    )?;
    let modes = [
        ("threshold", Mode::Threshold),
        ("ldp", Mode::Ldp),
        ("off", Mode::Off),
    ];
    let mut c = PrivacyConfig::default();
    c.mode = p.choice("mode", &modes)?.unwrap_or(c.mode);
    c.epsilon_per_window = p.num("epsilonPerWindow")?.unwrap_or(c.epsilon_per_window);
    c.delta = p.num("delta")?.unwrap_or(c.delta);
    c.ldp_epsilon = p.num("ldpEpsilon")?.unwrap_or(c.ldp_epsilon);
    let int = |o: &Obj<'_>, key: &str, old: u32| -> Result<u32, JsError> {
        Ok(o.int(key, 1e9)?.map_or(old, |v| v as u32))
    };
    c.window_days = int(&p, "windowDays", c.window_days)?;
    c.ldp_set_size = int(&p, "ldpSetSize", c.ldp_set_size)?;
    c.max_report_lag_days = int(&p, "maxReportLagDays", c.max_report_lag_days)?;
    if let Some(caps) = p.get("caps") {
        let caps = Obj::new(
            caps,
            "privacy.caps",
            &["items", "pairs", "interests", "impressions", "clicks"],
        )?;
        let k = &mut c.caps;
        k.items = int(&caps, "items", k.items)?;
        k.pairs = int(&caps, "pairs", k.pairs)?;
        k.interests = int(&caps, "interests", k.interests)?;
        k.impressions = int(&caps, "impressions", k.impressions)?;
        k.clicks = int(&caps, "clicks", k.clicks)?;
    }
    Ok(c)
}

/// A change not yet known to be in storage, replayed on top of another tab's state.
#[derive(Debug, Clone)]
enum Op {
    /// The event (with its resolved `ts`) and the clock when it was tracked.
    Track(EventInput, i64),
    RemoveInterest(String),
}

/// Stored state that could not be read, kept for the shopper.
#[derive(Debug, Clone)]
struct Quarantined {
    reason: String,
    at: i64,
    bytes: Option<Vec<u8>>,
    raw: JsValue,
}

/// Where the installed shared model came from.
#[derive(Debug, Clone)]
struct ModelSource {
    url: Option<String>,
    etag: Option<String>,
    version: u64,
}

type Shared = Rc<RefCell<Inner>>;
/// A `pagehide`/`visibilitychange` listener, kept alive while registered.
type PageHook = Closure<dyn FnMut(JsValue)>;

struct Inner {
    engine: Engine,
    site: String,
    db: Option<IdbDatabase>,
    /// Why state is in memory only (`None` while IndexedDB works).
    memory_reason: Option<String>,
    /// The stored `gen` this tab's state includes.
    synced_gen: f64,
    pending: Vec<Op>,
    flush_delay_ms: u32,
    flush_scheduled: bool,
    /// The last queued storage task; the next one awaits it.
    chain: Promise,
    forgetting: bool,
    listeners: Vec<(String, Function)>,
    warnings: Vec<JsValue>,
    quarantined: Vec<Quarantined>,
    model_source: Option<ModelSource>,
    channel: Option<BroadcastChannel>,
    channel_handler: Option<Closure<dyn FnMut(MessageEvent)>>,
    /// Set when storage holds something to replace even without pending operations.
    dirty: bool,
    /// Where reports go (`<endpoint>/v1/reports`); `None`: nothing is ever sent.
    reports_url: Option<String>,
    consent: Consent,
    report_delay_ms: u32,
    retry_delay_ms: u32,
    outbox_days: u32,
    /// Committed reports not yet delivered (the stored copy is authoritative with IndexedDB).
    outbox: Vec<OutboxEntry>,
    report_scheduled: bool,
    /// Global listeners to remove on `close()`; the closures stay alive while registered.
    hooks: Vec<(&'static str, PageHook)>,
}

impl Inner {
    /// Replays pending operations onto the engine (after restoring another tab's state).
    fn replay_pending(&mut self) {
        for op in &self.pending {
            match op {
                // An item may have left this tab's catalog since; the event stays in the
                // other copy of history, so skipping it here loses nothing stored.
                Op::Track(event, now) => drop(self.engine.track(event, *now)),
                Op::RemoveInterest(key) => self.engine.remove_interest(key),
            }
        }
    }

    /// Brings another tab's stored state into this tab. Returns the `update` reason, if the
    /// engine changed, and the unreadable record to quarantine, if any.
    fn merge(&mut self, stored: &StoredState) -> (Option<&'static str>, Option<Quarantined>) {
        match stored {
            StoredState::Empty => (None, None),
            StoredState::Forgotten { bytes, .. } => {
                // Another tab ran forget(): events this tab had not saved were tracked before
                // it learnt of that, so they go too (erring on the side of forgetting).
                self.engine.forget();
                self.pending.clear();
                // What outlives forget() (ledger, last reported day, closed window) is merged,
                // so this tab's next write cannot reopen the window or give budget back.
                // Unreadable bytes change nothing: the engine is forgotten either way.
                if let Some(bytes) = bytes {
                    let _ = self.engine.restore(bytes);
                }
                (Some("forget"), None)
            }
            StoredState::Snapshot { .. } | StoredState::Unreadable { .. } => {
                match self.restore_stored(stored) {
                    Ok(()) => {
                        self.replay_pending();
                        (Some("merge"), None)
                    }
                    Err(bad) => (None, Some(bad)),
                }
            }
        }
    }

    /// Replaces the shopper's state with a stored snapshot; what cannot be read comes back as
    /// the record to quarantine (the engine is then unchanged).
    fn restore_stored(&mut self, stored: &StoredState) -> Result<(), Quarantined> {
        match stored {
            StoredState::Snapshot { bytes, .. }
            | StoredState::Forgotten {
                bytes: Some(bytes), ..
            } => self
                .engine
                .restore(bytes)
                .map_err(|e| quarantine(e.to_string(), Some(bytes.clone()), JsValue::UNDEFINED)),
            StoredState::Unreadable { raw, .. } => Err(quarantine(
                "the stored state is not a kindred snapshot".into(),
                None,
                raw.clone(),
            )),
            StoredState::Empty | StoredState::Forgotten { bytes: None, .. } => Ok(()),
        }
    }

    /// Keeps unreadable stored data for `exportData()` (the newest [`MAX_QUARANTINED`]) and
    /// returns the list as it is stored.
    fn set_aside(&mut self, bad: Quarantined) -> JsValue {
        self.quarantined.push(bad);
        let excess = self.quarantined.len().saturating_sub(MAX_QUARANTINED);
        self.quarantined.drain(..excess);
        quarantine_records(&self.quarantined)
    }

    /// Why no report may be sent now, if something forbids it.
    fn report_blocker(&self) -> Option<&'static str> {
        if self.reports_url.is_none() {
            return Some("no-endpoint");
        }
        if self.engine.privacy_config().mode == Mode::Off {
            return Some("mode-off");
        }
        match self.consent {
            Consent::Pending => return Some("consent-pending"),
            Consent::Denied => return Some("consent-denied"),
            Consent::Granted => {}
        }
        browser_opt_out()
    }

    /// Draws and commits the due report, if any, into the outbox (charging the ledger).
    fn commit_due_report(&mut self, now: i64) {
        let Ok(Some(prepared)) = self.engine.prepare_report(now, &mut OsRandom) else {
            return;
        };
        if let Ok(json) = self.engine.commit_report(prepared.day) {
            self.outbox.push(OutboxEntry {
                day: prepared.day,
                json,
                committed_at: now,
                attempts: 0,
                next_at: now,
                claimed_until: 0,
            });
        }
    }

    fn storage_name(&self) -> &'static str {
        if self.db.is_some() {
            "indexeddb"
        } else {
            "memory"
        }
    }
}

fn quarantine(reason: String, bytes: Option<Vec<u8>>, raw: JsValue) -> Quarantined {
    Quarantined {
        reason,
        at: now_ms(),
        bytes,
        raw,
    }
}

fn quarantine_records(list: &[Quarantined]) -> JsValue {
    list.iter()
        .map(|q| {
            record(&[
                ("reason", q.reason.as_str().into()),
                ("at", (q.at as f64).into()),
                (
                    "bytes",
                    q.bytes
                        .as_deref()
                        .map_or(JsValue::UNDEFINED, |b| Uint8Array::from(b).into()),
                ),
                ("raw", q.raw.clone()),
            ])
        })
        .collect::<js_sys::Array>()
        .into()
}

fn parse_quarantine(raw: &JsValue) -> Vec<Quarantined> {
    let Some(array) = raw.dyn_ref::<js_sys::Array>() else {
        return Vec::new();
    };
    array
        .iter()
        .map(|r| {
            let field = |n: &str| Reflect::get(&r, &n.into()).unwrap_or_default();
            Quarantined {
                reason: field("reason").as_string().unwrap_or_default(),
                at: field("at").as_f64().unwrap_or(0.0) as i64,
                bytes: field("bytes")
                    .dyn_into::<Uint8Array>()
                    .ok()
                    .map(|b| b.to_vec()),
                raw: field("raw"),
            }
        })
        .collect()
}

/// Calls the listeners of `event` with `detail`. Never called with `Inner` borrowed: listeners
/// may call back into the instance.
fn emit(shared: &Shared, event: &str, detail: &JsValue) {
    let callbacks: Vec<Function> = shared
        .borrow()
        .listeners
        .iter()
        .filter(|(name, _)| name == event)
        .map(|(_, f)| f.clone())
        .collect();
    for callback in callbacks {
        if let Err(e) = callback.call1(&JsValue::UNDEFINED, detail) {
            console_error("kindred: an event listener threw", &e);
        }
    }
}

fn emit_update(shared: &Shared, reason: &str) {
    emit(shared, "update", &record(&[("reason", reason.into())]));
}

/// Records a warning (kept for listeners added later) and tells the listeners.
fn warn(shared: &Shared, code: &str, message: String) {
    let detail = record(&[("code", code.into()), ("message", message.into())]);
    shared.borrow_mut().warnings.push(detail.clone());
    emit(shared, "warning", &detail);
}

/// Stops using IndexedDB after a failure; the state stays complete in memory.
fn fall_back_to_memory(shared: &Shared, error: &JsValue) {
    let (code, what) = if error_name(error).as_deref() == Some("QuotaExceededError") {
        ("quota-exceeded", "the storage quota is exhausted")
    } else {
        ("storage-failed", "writing to IndexedDB failed")
    };
    let message = format!(
        "{what} ({}): keeping the shopper's data in memory for this page",
        describe(error)
    );
    {
        let mut inner = shared.borrow_mut();
        if let Some(db) = inner.db.take() {
            db.close();
        }
        inner.memory_reason = Some(message.clone());
    }
    warn(shared, code, message);
}

/// A storage task: boxed so every task shares one promise adapter (each distinct future type
/// would otherwise add its own copy to the wasm).
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Queues a storage task after the previous one. Tasks report their own errors, so the chain
/// never rejects.
fn enqueue(shared: &Shared, task: Task) -> Promise {
    let previous = shared.borrow().chain.clone();
    let promise = future_to_promise(async move {
        let _ = JsFuture::from(previous).await;
        task.await;
        Ok(JsValue::UNDEFINED)
    });
    shared.borrow_mut().chain = promise.clone();
    promise
}

fn schedule_flush(shared: &Shared) {
    let delay = {
        let mut inner = shared.borrow_mut();
        if inner.flush_scheduled || inner.db.is_none() {
            return;
        }
        inner.flush_scheduled = true;
        inner.flush_delay_ms
    };
    let weak = Rc::downgrade(shared);
    let fire = Closure::once_into_js(move || {
        if let Some(shared) = weak.upgrade() {
            shared.borrow_mut().flush_scheduled = false;
            let _ = enqueue(&shared, Box::pin(flush_task(shared.clone())));
        }
    });
    set_timeout(fire.unchecked_ref(), delay.min(i32::MAX as u32) as i32);
}

async fn flush_task(shared: Shared) {
    let db = {
        let inner = shared.borrow();
        if inner.forgetting || inner.pending.is_empty() && !inner.dirty {
            return;
        }
        match &inner.db {
            Some(db) => db.clone(),
            None => return,
        }
    };
    match write_state(&shared, &db, false).await {
        // A day may have ended since the last look: a report may be due now.
        Ok(()) => schedule_report(&shared, None),
        Err(e) => fall_back_to_memory(&shared, &e),
    }
}

/// The read-modify-write that saves this tab's state without losing another tab's.
///
/// With `report`, the due report is committed in the same transaction: the ledger charge, the
/// day marked reported and the outbox entry become durable together, and because every tab
/// merges before it commits, no two tabs commit the same day.
async fn write_state(shared: &Shared, db: &IdbDatabase, report: bool) -> Result<(), JsValue> {
    let tx = Transaction::new(db, true)?;
    let stored = StoredState::parse(tx.get(STATE_KEY).await?);
    let stored_outbox = if report {
        Some(outbox_from_js(&tx.get(OUTBOX_KEY).await?))
    } else {
        None
    };
    let now = now_ms();
    let (gen, saved_ops, reason) = {
        let mut inner = shared.borrow_mut();
        let mut reason = None;
        if stored.gen() != inner.synced_gen {
            let (changed, bad) = inner.merge(&stored);
            reason = changed;
            if let Some(bad) = bad {
                tx.put(QUARANTINE_KEY, &inner.set_aside(bad))?;
            }
        }
        inner.engine.expire(now);
        if let Some(outbox) = stored_outbox {
            inner.outbox = outbox;
            inner.commit_due_report(now);
            tx.put(OUTBOX_KEY, &outbox_to_js(&inner.outbox))?;
        }
        let gen = stored.gen().max(inner.synced_gen) + 1.0;
        tx.put(
            STATE_KEY,
            &snapshot_record(gen, &inner.engine.snapshot(), now, false),
        )?;
        (gen, inner.pending.len(), reason)
    };
    tx.commit().await?;
    let channel = {
        let mut inner = shared.borrow_mut();
        inner.synced_gen = gen;
        inner.dirty = false;
        let saved = saved_ops.min(inner.pending.len());
        inner.pending.drain(..saved);
        inner.channel.clone()
    };
    if let Some(channel) = channel {
        let _ = channel.post_message(&record(&[("type", "saved".into()), ("gen", gen.into())]));
    }
    if let Some(reason) = reason {
        emit_update(shared, reason);
    }
    Ok(())
}

/// Plans the next report attempt: after a random delay (so the arrival time says nothing about
/// when the shopper is active), or at `at` for a retry. Does nothing while blocked.
fn schedule_report(shared: &Shared, at: Option<i64>) {
    let delay = {
        let mut inner = shared.borrow_mut();
        if inner.report_scheduled || inner.report_blocker().is_some() {
            return;
        }
        inner.report_scheduled = true;
        match at {
            Some(at) => (at - now_ms()).max(0),
            None => {
                let max = u64::from(inner.report_delay_ms.max(1));
                OsRandom.below(max).unwrap_or(max / 2) as i64
            }
        }
    };
    let weak = Rc::downgrade(shared);
    let fire = Closure::once_into_js(move || {
        if let Some(shared) = weak.upgrade() {
            shared.borrow_mut().report_scheduled = false;
            let _ = enqueue(&shared, Box::pin(report_task(shared.clone())));
        }
    });
    set_timeout(fire.unchecked_ref(), delay.min(i64::from(i32::MAX)) as i32);
}

/// Reads, changes and writes the outbox (the stored copy with IndexedDB, else memory).
async fn update_outbox(
    shared: &Shared,
    change: &mut dyn FnMut(&mut Vec<OutboxEntry>),
) -> Result<(), JsValue> {
    let db = shared.borrow().db.clone();
    let Some(db) = db else {
        change(&mut shared.borrow_mut().outbox);
        return Ok(());
    };
    let tx = Transaction::new(&db, true)?;
    let mut outbox = outbox_from_js(&tx.get(OUTBOX_KEY).await?);
    change(&mut outbox);
    tx.put(OUTBOX_KEY, &outbox_to_js(&outbox))?;
    tx.commit().await?;
    shared.borrow_mut().outbox = outbox;
    Ok(())
}

/// Commits the due report (once per day, across tabs) and delivers what the outbox holds.
async fn report_task(shared: Shared) {
    {
        let mut inner = shared.borrow_mut();
        if inner.report_blocker().is_some() {
            return;
        }
        // Nothing due and nothing waiting: no need to touch storage. (Drawing the report here
        // keeps it in memory; the commit below uses the same draw.)
        let due = matches!(
            inner.engine.prepare_report(now_ms(), &mut OsRandom),
            Ok(Some(_))
        );
        if !due && inner.outbox.is_empty() {
            return;
        }
    }
    let db = shared.borrow().db.clone();
    match &db {
        Some(db) => {
            if let Err(e) = write_state(&shared, db, true).await {
                return fall_back_to_memory(&shared, &e);
            }
        }
        None => shared.borrow_mut().commit_due_report(now_ms()),
    }
    let (url, retry_base, keep_ms) = {
        let inner = shared.borrow();
        let Some(url) = inner.reports_url.clone() else {
            return;
        };
        (
            url,
            inner.retry_delay_ms,
            i64::from(inner.outbox_days) * DAY_MS,
        )
    };
    let now = now_ms();
    // Expire what is too old to send, then claim what is due.
    let mut dropped = 0;
    let mut unsettled = 0;
    let mut claimed: Vec<(u32, String)> = Vec::new();
    let mut claim_due = |outbox: &mut Vec<OutboxEntry>| {
        let before = outbox.len();
        outbox.retain(|e| e.committed_at + keep_ms > now);
        dropped = before - outbox.len();
        // A claim that ran out without an outcome: the page closed while sending (a `keepalive`
        // request often arrives anyway). Sending again could count the day twice, so it is not
        // retried: at most one report per day.
        let before = outbox.len();
        outbox.retain(|e| e.claimed_until == 0 || e.claimed_until > now);
        unsettled = before - outbox.len();
        for e in outbox.iter_mut() {
            if e.next_at <= now && e.claimed_until <= now {
                e.claimed_until = now + CLAIM_MS;
                claimed.push((e.day, e.json.clone()));
            }
        }
    };
    if let Err(e) = update_outbox(&shared, &mut claim_due).await {
        return fall_back_to_memory(&shared, &e);
    }
    if unsettled > 0 {
        warn(
            &shared,
            "report-dropped",
            format!("{unsettled} report(s) were being sent when a page closed; they are not sent again (at most one per day)"),
        );
    }
    if dropped > 0 {
        warn(
            &shared,
            "report-dropped",
            format!(
                "{dropped} report(s) could not be delivered within outboxDays and were dropped"
            ),
        );
    }
    for (day, json) in claimed {
        let delivery = post_report(&url, &json).await;
        let now = now_ms();
        let mut problem = None;
        let mut settle = |outbox: &mut Vec<OutboxEntry>| {
            let Some(at) = outbox.iter().position(|e| e.day == day) else {
                return;
            };
            match &delivery {
                Delivery::Accepted => drop(outbox.remove(at)),
                Delivery::Rejected(why) => {
                    outbox.remove(at);
                    problem = Some(("report-rejected", why.clone()));
                }
                Delivery::Failed(why) => {
                    let e = &mut outbox[at];
                    e.attempts += 1;
                    e.next_at = now + backoff_ms(e.attempts - 1, retry_base);
                    e.claimed_until = 0;
                    problem = Some(("report-delayed", why.clone()));
                }
            }
        };
        if let Err(e) = update_outbox(&shared, &mut settle).await {
            return fall_back_to_memory(&shared, &e);
        }
        if let Some((code, why)) = problem {
            let message = format!("the report for day {day} was not delivered to {url} ({why})");
            warn(&shared, code, message);
        }
    }
    let next = shared.borrow().outbox.iter().map(|e| e.next_at).min();
    if let Some(next) = next {
        schedule_report(&shared, Some(next));
    }
}

/// Reads another tab's newer state without writing (after a `BroadcastChannel` message).
async fn sync_task(shared: Shared) {
    let Some(db) = shared.borrow().db.clone() else {
        return;
    };
    let read = async {
        let tx = Transaction::new(&db, false)?;
        let raw = tx.get(STATE_KEY).await?;
        Ok::<_, JsValue>(StoredState::parse(raw))
    };
    let stored = match read.await {
        Ok(stored) => stored,
        Err(e) => return fall_back_to_memory(&shared, &e),
    };
    let reason = {
        let mut inner = shared.borrow_mut();
        if inner.forgetting || stored.gen() <= inner.synced_gen {
            return;
        }
        let (reason, bad) = inner.merge(&stored);
        if bad.is_none() {
            inner.synced_gen = stored.gen();
        } else {
            inner.dirty = true;
        }
        reason
    };
    if let Some(reason) = reason {
        emit_update(&shared, reason);
    }
    // Unreadable data is quarantined by the next write.
    schedule_flush(&shared);
}

async fn forget_task(shared: Shared) {
    let db = shared.borrow().db.clone();
    if let Some(db) = db {
        let wipe = async {
            let tx = Transaction::new(&db, true)?;
            let stored = StoredState::parse(tx.get(STATE_KEY).await?);
            let (gen, bytes) = {
                let mut inner = shared.borrow_mut();
                if stored.gen() != inner.synced_gen {
                    // Another tab saved since this one last looked, perhaps a report: its
                    // ledger spend and window keys must be merged before the window is closed,
                    // or this write would give budget back and reopen keys. Restoring brings
                    // back history too, so forget again, then replay what was tracked since.
                    if let Some(bytes) = stored.bytes() {
                        if inner.engine.restore(bytes).is_ok() {
                            inner.engine.forget();
                            inner.replay_pending();
                        }
                    }
                }
                let gen = stored.gen().max(inner.synced_gen) + 1.0;
                (gen, inner.engine.snapshot())
            };
            tx.clear()?;
            // A marker: tabs that saw an older `gen` learn to forget too. Its snapshot holds no
            // behaviour, only what forget() keeps (ledger, last reported day, closed window).
            tx.put(STATE_KEY, &snapshot_record(gen, &bytes, now_ms(), true))?;
            tx.commit().await?;
            Ok::<_, JsValue>(gen)
        };
        match wipe.await {
            Ok(gen) => {
                let channel = {
                    let mut inner = shared.borrow_mut();
                    inner.synced_gen = gen;
                    inner.channel.clone()
                };
                if let Some(channel) = channel {
                    let message = record(&[("type", "forgotten".into()), ("gen", gen.into())]);
                    let _ = channel.post_message(&message);
                }
            }
            Err(e) => fall_back_to_memory(&shared, &e),
        }
    }
    let has_pending = {
        let mut inner = shared.borrow_mut();
        inner.forgetting = false;
        !inner.pending.is_empty()
    };
    if has_pending {
        schedule_flush(&shared);
    }
}

async fn save_model_task(shared: Shared, model: JsValue) {
    let Some(db) = shared.borrow().db.clone() else {
        return;
    };
    let source = shared.borrow().model_source.clone();
    let Some(source) = source else { return };
    let save = async {
        let tx = Transaction::new(&db, true)?;
        let value = record(&[
            (
                "url",
                source.url.as_deref().map_or(JsValue::NULL, JsValue::from),
            ),
            (
                "etag",
                source.etag.as_deref().map_or(JsValue::NULL, JsValue::from),
            ),
            ("model", model),
            ("fetchedAt", (now_ms() as f64).into()),
        ]);
        tx.put(MODEL_KEY, &value)?;
        tx.commit().await
    };
    if let Err(e) = save.await {
        fall_back_to_memory(&shared, &e);
    }
}

/// Loads what a previous page stored. Unreadable state is quarantined and replaced.
async fn restore_from(shared: &Shared, db: &IdbDatabase) -> Result<(), JsValue> {
    let tx = Transaction::new(db, false)?;
    let state = StoredState::parse(tx.get(STATE_KEY).await?);
    let quarantined = tx.get(QUARANTINE_KEY).await?;
    let model = tx.get(MODEL_KEY).await?;
    let outbox = outbox_from_js(&tx.get(OUTBOX_KEY).await?);
    let mut warnings = Vec::new();
    let bad = {
        let mut inner = shared.borrow_mut();
        inner.quarantined = parse_quarantine(&quarantined);
        inner.outbox = outbox;
        let bad = match inner.restore_stored(&state) {
            Ok(()) => {
                inner.synced_gen = state.gen();
                None
            }
            Err(bad) => Some(bad),
        };
        if !model.is_undefined() {
            let field = |n: &str| Reflect::get(&model, &n.into()).unwrap_or_default();
            match read_model(field("model"))
                .map_err(JsValue::from)
                .and_then(|m| {
                    let version = m.version;
                    inner
                        .engine
                        .set_model(m)
                        .map_err(|e| JsValue::from(e.to_string()))?;
                    Ok(version)
                }) {
                Ok(version) => {
                    inner.model_source = Some(ModelSource {
                        url: field("url").as_string(),
                        etag: field("etag").as_string(),
                        version,
                    })
                }
                Err(e) => warnings.push((
                    "model-cache-invalid",
                    format!("the cached shared model was ignored: {}", describe(&e)),
                )),
            }
        }
        bad
    };
    if let Some(bad) = bad {
        let message = format!(
            "the stored state could not be read ({}); starting fresh, the old data is kept in \
             exportData().quarantined",
            bad.reason
        );
        let list = shared.borrow_mut().set_aside(bad);
        let tx = Transaction::new(db, true)?;
        tx.put(QUARANTINE_KEY, &list)?;
        let gen = state.gen() + 1.0;
        let snapshot = shared.borrow().engine.snapshot();
        tx.put(STATE_KEY, &snapshot_record(gen, &snapshot, now_ms(), false))?;
        tx.commit().await?;
        shared.borrow_mut().synced_gen = gen;
        warnings.push(("state-unreadable", message));
    }
    for (code, message) in warnings {
        warn(shared, code, message);
    }
    Ok(())
}

/// Listens to other tabs and to the page going away.
fn install_hooks(shared: &Shared, name: &str) {
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(shared);
    if let Ok(channel) = BroadcastChannel::new(name) {
        let listener = weak.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(shared) = listener.upgrade() else {
                return;
            };
            let gen = Reflect::get(&event.data(), &"gen".into())
                .ok()
                .and_then(|g| g.as_f64())
                .unwrap_or(0.0);
            if gen > shared.borrow().synced_gen {
                let _ = enqueue(&shared, Box::pin(sync_task(shared.clone())));
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let mut inner = shared.borrow_mut();
        inner.channel = Some(channel);
        inner.channel_handler = Some(on_message);
    }
    for event in ["pagehide", "visibilitychange", "online"] {
        let listener = weak.clone();
        let hook = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            if let Some(shared) = listener.upgrade() {
                if event == "online" {
                    // Back online: deliver what waited, without waiting for the backoff.
                    schedule_report(&shared, Some(0));
                } else {
                    let _ = enqueue(&shared, Box::pin(flush_task(shared.clone())));
                }
            }
        });
        if add_global_listener(event, hook.as_ref().unchecked_ref()).is_ok() {
            shared.borrow_mut().hooks.push((event, hook));
        }
    }
}

/// Fetches `url` and parses JSON. `etag` makes the request conditional: `Ok(None)` means
/// "304 Not Modified".
async fn fetch_json(
    url: &str,
    etag: Option<&str>,
    credentials: &str,
) -> Result<Option<(JsValue, Option<String>)>, String> {
    let headers = js_sys::Object::new();
    if let Some(etag) = etag {
        let _ = Reflect::set(&headers, &"If-None-Match".into(), &etag.into());
    }
    let init = record(&[
        ("credentials", credentials.into()),
        // The page's address (which product is open) is not the server's business.
        ("referrerPolicy", "no-referrer".into()),
        ("cache", "no-cache".into()),
        ("headers", headers.into()),
    ]);
    let promise = fetch_with_init(url, &init).map_err(|e| describe(&e))?;
    let response: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(|e| describe(&e))?
        .unchecked_into();
    if response.status() == 304 {
        return Ok(None);
    }
    if !response.ok() {
        return Err(format!(
            "HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let etag = response.headers().get("ETag").ok().flatten();
    let json = response.json().map_err(|e| describe(&e))?;
    let value = JsFuture::from(json)
        .await
        .map_err(|e| format!("the response is not JSON ({})", describe(&e)))?;
    Ok(Some((value, etag)))
}

/// The kindred engine for one shopper on one site, with durable local storage.
///
/// Raw behaviour stays on this device: it lives in memory and in this site's IndexedDB.
/// Create it with `await Kindred.create(options)`. Every method that receives bad input throws
/// an `Error` whose message names the problem and leaves stored data untouched.
///
/// ```ts
/// import init, { Kindred } from "kindred";
/// await init();
/// const k = await Kindred.create({ site: "my-shop" });
/// await k.loadCatalog("/catalog.json");
/// k.track({ type: "view", item: "sku-1" });
/// k.recommend({ strategy: "for-you", k: 8 });
/// ```
#[wasm_bindgen]
pub struct Kindred {
    inner: Shared,
}

impl std::fmt::Debug for Kindred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Kindred")
            .field("site", &inner.site)
            .field("storage", &inner.storage_name())
            .field("pending", &inner.pending.len())
            .finish_non_exhaustive()
    }
}

#[wasm_bindgen]
impl Kindred {
    /// Creates the engine and restores the shopper's saved state for `options.site`.
    ///
    /// Storage problems never reject: without IndexedDB (Node, some private modes) or when it
    /// fails, the instance keeps state in memory and reports a `warning` event (`status()`
    /// says which storage is in use). Rejects only for invalid options.
    pub async fn create(
        #[wasm_bindgen(unchecked_param_type = "KindredOptions | undefined")] options: JsValue,
    ) -> Result<Kindred, JsError> {
        let options = CreateOptions::from_js(options)?;
        let site = options.site.trim().to_owned();
        if site.is_empty() || site.len() > 64 {
            return Err(JsError::new(
                "invalid option \"site\": must be 1 to 64 characters (it names the storage)",
            ));
        }
        if let Some(endpoint) = &options.endpoint {
            let ok = endpoint.starts_with("https://")
                || endpoint.starts_with("http://")
                || endpoint.starts_with('/');
            if !ok {
                return Err(JsError::new(&format!(
                    "invalid option \"endpoint\": \"{endpoint}\" must be an http(s) URL or a path starting with /"
                )));
            }
        }
        let engine = Engine::with_config(options.engine_config())?;
        let shared: Shared = Rc::new(RefCell::new(Inner {
            engine,
            site: site.clone(),
            db: None,
            memory_reason: None,
            synced_gen: 0.0,
            pending: Vec::new(),
            flush_delay_ms: options.flush_delay_ms,
            flush_scheduled: false,
            chain: Promise::resolve(&JsValue::UNDEFINED),
            forgetting: false,
            listeners: Vec::new(),
            warnings: Vec::new(),
            quarantined: Vec::new(),
            model_source: None,
            channel: None,
            channel_handler: None,
            dirty: false,
            reports_url: options
                .endpoint
                .as_deref()
                .map(|e| format!("{}/v1/reports", e.trim_end_matches('/'))),
            consent: options.consent,
            report_delay_ms: options.report_delay_ms,
            retry_delay_ms: options.retry_delay_ms,
            outbox_days: options.outbox_days.max(1),
            outbox: Vec::new(),
            report_scheduled: false,
            hooks: Vec::new(),
        }));
        if options.storage == StorageChoice::Memory {
            shared.borrow_mut().memory_reason = Some("storage: \"memory\" was requested".into());
            schedule_report(&shared, None);
            return Ok(Kindred { inner: shared });
        }
        let name = format!("kindred:{site}");
        match storage::open(&name).await {
            Ok(db) => {
                shared.borrow_mut().db = Some(db.clone());
                match restore_from(&shared, &db).await {
                    Ok(()) => install_hooks(&shared, &name),
                    Err(e) => fall_back_to_memory(&shared, &e),
                }
            }
            Err(e) => {
                let message = format!(
                    "IndexedDB cannot be used ({}): the shopper's data is kept in memory for \
                     this page only",
                    describe(&e)
                );
                shared.borrow_mut().memory_reason = Some(message.clone());
                warn(&shared, "storage-unavailable", message);
            }
        }
        let retention_now = now_ms();
        shared.borrow_mut().engine.expire(retention_now);
        schedule_report(&shared, None);
        Ok(Kindred { inner: shared })
    }

    /// Replaces the catalog with an array of items or the JSON array at a URL. Resolves with
    /// `{ loaded, rejected: [{ index, id, reason }] }`: invalid rows are skipped and named.
    /// Rejects when nothing is valid or the URL cannot be fetched; the old catalog then stays.
    #[wasm_bindgen(js_name = loadCatalog, unchecked_return_type = "Promise<LoadReport>")]
    pub fn load_catalog(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CatalogItem[] | string")] items: JsValue,
    ) -> Promise {
        let shared = self.inner.clone();
        future_to_promise(async move {
            let rows = match items.as_string() {
                Some(url) => match fetch_json(&url, None, "same-origin").await {
                    Ok(Some((rows, _))) => rows,
                    Ok(None) => return Err(JsError::new("unexpected 304 for the catalog").into()),
                    Err(e) => {
                        let message = format!("could not load the catalog from {url}: {e}");
                        return Err(JsError::new(&message).into());
                    }
                },
                None => items,
            };
            let report = shared.borrow_mut().engine.load_catalog_value(JsJson(rows));
            let report = load_report_js(&report.map_err(JsError::from)?);
            emit_update(&shared, "catalog");
            Ok(report)
        })
    }

    /// Installs the shared model from the server: a model object, or a URL fetched without
    /// cookies and revalidated with its `ETag`. The model is cached, so when the server cannot
    /// be reached the last one keeps working (`status: "offline"` and a `warning`). Resolves
    /// with `{ status: "fetched" | "not-modified" | "offline" | "installed", version }`.
    #[wasm_bindgen(js_name = loadModel, unchecked_return_type = "Promise<ModelStatus>")]
    pub fn load_model(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SharedModel | string")] model: JsValue,
    ) -> Promise {
        let shared = self.inner.clone();
        future_to_promise(async move {
            let Some(url) = model.as_string() else {
                let version = install_model(&shared, model, None, None)?;
                return Ok(model_status("installed", version));
            };
            let cached = shared.borrow().model_source.clone();
            let etag = cached
                .as_ref()
                .filter(|c| c.url.as_deref() == Some(url.as_str()))
                .and_then(|c| c.etag.clone());
            match fetch_json(&url, etag.as_deref(), "omit").await {
                Ok(Some((value, etag))) => {
                    let version = install_model(&shared, value, Some(url), etag)?;
                    Ok(model_status("fetched", version))
                }
                Ok(None) => Ok(model_status(
                    "not-modified",
                    cached.map_or(0, |c| c.version),
                )),
                Err(e) => match cached {
                    Some(c) => {
                        warn(
                            &shared,
                            "model-offline",
                            format!("could not refresh the shared model from {url} ({e}); using the cached one"),
                        );
                        Ok(model_status("offline", c.version))
                    }
                    None => {
                        let message = format!("could not load the shared model from {url}: {e}");
                        Err(JsError::new(&message).into())
                    }
                },
            }
        })
    }

    /// Records what the shopper did: `{ type, item?, query?, ms?, value?, ts? }` where `type`
    /// is `view`, `click`, `cart`, `remove_cart`, `purchase`, `search` (with `query`), `dwell`
    /// (with `ms`) or `rate` (with `value` 1-5). Fast and synchronous; saving is batched.
    /// Throws for malformed events and items missing from the catalog, never for storage.
    pub fn track(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TrackEvent")] event: JsValue,
    ) -> Result<(), JsError> {
        let mut event = read_event(event)?;
        let now = now_ms();
        {
            let mut inner = self.inner.borrow_mut();
            inner.engine.track(&event, now)?;
            event.ts.get_or_insert(now as f64);
            inner.pending.push(Op::Track(event, now));
        }
        schedule_flush(&self.inner);
        Ok(())
    }

    /// Ranks items: `{ strategy, item?, k?, filter?, boost?, pin?, diversity?, minScore?,
    /// excludeViewed?, excludePurchased? }`. Returns `[{ item, score, reasons }]`, best first.
    #[wasm_bindgen(unchecked_return_type = "Recommendation[]")]
    pub fn recommend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RecommendOptions")] options: JsValue,
    ) -> Result<JsValue, JsError> {
        let request = read_request(options)?;
        let now = now_ms();
        let mut inner = self.inner.borrow_mut();
        let recs = inner.engine.recommend(&request, now)?;
        // One list shown: the window's reports say once that the shopper was shown this
        // strategy (clicks come from `track({ type: "click", item, strategy })`).
        inner.engine.note_impressions(request.strategy, 1, now);
        // The counter is state to save like an event (batched with the next write).
        inner.dirty = true;
        drop(inner);
        schedule_flush(&self.inner);
        Ok(recommendations_js(&recs))
    }

    /// Items like `item` (content and embeddings): `recommend({ strategy: "similar", item, k })`.
    #[wasm_bindgen(unchecked_return_type = "Recommendation[]")]
    pub fn similar(&self, item: &str, k: Option<u32>) -> Result<JsValue, JsError> {
        let request = RecommendRequest::for_item(Strategy::Similar, item)
            .with_k(k.map_or(10, |k| k as usize));
        let recs = self.inner.borrow().engine.recommend(&request, now_ms())?;
        Ok(recommendations_js(&recs))
    }

    /// The shopper's interest profile: `{ interests, removedInterests, segment, events, items }`
    /// with the top `limit` interests (default 20), weights summing to 1.
    #[wasm_bindgen(unchecked_return_type = "Profile")]
    pub fn profile(&self, limit: Option<u32>) -> Result<JsValue, JsError> {
        let inner = self.inner.borrow();
        let now = now_ms();
        let engine = &inner.engine;
        let interests = engine.interests(now, limit.map_or(20, |n| n as usize));
        let segment = engine
            .segment(now)
            .map_or(JsValue::NULL, |(label, similarity)| {
                record(&[
                    ("label", label.into()),
                    ("similarity", f64::from(similarity).into()),
                ])
            });
        let removed: Vec<&String> = engine.profile().removed_interests().iter().collect();
        Ok(record(&[
            ("interests", interests_js(&interests)),
            (
                "removedInterests",
                removed
                    .iter()
                    .map(|k| JsValue::from(k.as_str()))
                    .collect::<js_sys::Array>()
                    .into(),
            ),
            ("segment", segment),
            ("events", (engine.history().len() as f64).into()),
            (
                "items",
                (engine.history().all_stats().count() as f64).into(),
            ),
        ]))
    }

    /// Removes an interest (a `key` from `profile()`, e.g. `"category:Toys"`) for good: it is
    /// no longer shown, accumulated or used to pick items.
    #[wasm_bindgen(js_name = removeInterest)]
    pub fn remove_interest(&self, key: &str) -> Result<(), JsError> {
        let key = key.trim();
        if key.is_empty() || !key.contains(':') {
            return Err(JsError::new(&format!(
                "invalid interest key \"{key}\": use a key from profile().interests, like \"category:Toys\""
            )));
        }
        {
            let mut inner = self.inner.borrow_mut();
            inner.engine.remove_interest(key);
            inner.pending.push(Op::RemoveInterest(key.to_owned()));
        }
        schedule_flush(&self.inner);
        emit_update(&self.inner, "interest");
        Ok(())
    }

    /// Why `item` is or is not recommended: the shopper's activity on it, the interests it
    /// matches or that hide it, its popularity and trend, and its for-you rank and reasons.
    #[wasm_bindgen(unchecked_return_type = "Explanation")]
    pub fn explain(&self, item: &str) -> Result<JsValue, JsError> {
        let explanation = self.inner.borrow().engine.explain(item, now_ms())?;
        Ok(explanation_js(&explanation))
    }

    /// Everything stored about the shopper, as plain JSON-ready data: raw events, per-item
    /// totals, interests, removed interests, the privacy ledger, the keys contributed to the
    /// last reported window (`window`), undelivered reports, and any stored data that could
    /// not be read (`quarantined`, bytes in base64).
    #[wasm_bindgen(js_name = exportData, unchecked_return_type = "ExportedData")]
    pub fn export_data(&self) -> Result<JsValue, JsError> {
        let inner = self.inner.borrow();
        let now = now_ms();
        let data = shopper_data_js(&inner.engine.export_data(now));
        let ledger = inner.engine.ledger_summary(now);
        let privacy = inner.engine.privacy_state();
        let quarantined: js_sys::Array = inner
            .quarantined
            .iter()
            .map(|q| {
                let raw = if q.raw.is_undefined() {
                    JsValue::NULL
                } else {
                    // Structured-clone data may not be JSON; its JSON text is the readable part.
                    js_sys::JSON::stringify(&q.raw).map_or(JsValue::NULL, JsValue::from)
                };
                record(&[
                    ("reason", q.reason.as_str().into()),
                    ("at", (q.at as f64).into()),
                    (
                        "bytesBase64",
                        q.bytes
                            .as_deref()
                            .map_or(JsValue::NULL, |b| base64(b).into()),
                    ),
                    ("rawJson", raw),
                ])
            })
            .collect();
        for (key, value) in [
            ("site", JsValue::from(inner.site.as_str())),
            ("exportedAt", (now as f64).into()),
            ("storage", inner.storage_name().into()),
            ("quarantined", quarantined.into()),
            ("ledger", ledger_js(&ledger)),
            (
                "lastReportedDay",
                privacy.last_reported.map_or(JsValue::NULL, JsValue::from),
            ),
            ("window", window_js(privacy.window.as_ref())),
            ("outbox", outbox_to_js(&inner.outbox)),
        ] {
            let _ = Reflect::set(&data, &key.into(), &value);
        }
        Ok(data)
    }

    /// Wipes everything stored about the shopper, in this tab, in storage and (through the
    /// next sync) in other open tabs of the site. The catalog and shared model stay loaded.
    /// Kept, because they hold no behaviour and resetting them would let forget-and-report
    /// cycles exceed the budget: the privacy ledger, the last reported day, and the current
    /// contribution window, now closed (its keys deleted; nothing more is contributed to it,
    /// since a key sent before must not be sent twice in one window).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn forget(&self) -> Promise {
        {
            let mut inner = self.inner.borrow_mut();
            inner.engine.forget();
            inner.pending.clear();
            inner.quarantined.clear();
            inner.outbox.clear();
            inner.forgetting = true;
        }
        emit_update(&self.inner, "forget");
        enqueue(&self.inner, Box::pin(forget_task(self.inner.clone())))
    }

    /// Saves pending changes now (they are saved after `flushDelayMs` anyway, and when the
    /// page is hidden). Never rejects: a storage failure becomes a `warning`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn flush(&self) -> Promise {
        enqueue(&self.inner, Box::pin(flush_task(self.inner.clone())))
    }

    /// The privacy centre's view of what leaves the device: `{ mode, consent, blockedBy,
    /// ledger, lastReportedDay, window, caps, nextReport: { day, window, epsilonAfter, json } |
    /// null, outbox }`. `window` is what the shopper contributed to the window of the last
    /// report (each key at most once per window, within `caps`), `null` before the first.
    /// `nextReport.json` is the exact text that will be sent: it is drawn once and kept.
    /// `blockedBy` says why nothing is sent (`"consent-pending"`, `"global-privacy-control"`,
    /// `"do-not-track"`, `"mode-off"`, `"no-endpoint"`...) or is `null`.
    #[wasm_bindgen(unchecked_return_type = "PrivacyView")]
    pub fn privacy(&self) -> Result<JsValue, JsError> {
        let mut inner = self.inner.borrow_mut();
        let overview = inner
            .engine
            .privacy(now_ms(), &mut OsRandom)
            .map_err(|e| JsError::new(&e.to_string()))?;
        inner.dirty = true;
        let view = privacy_js(&overview);
        let blocker = inner.report_blocker();
        let _ = Reflect::set(&view, &"consent".into(), &inner.consent.name().into());
        let _ = Reflect::set(
            &view,
            &"blockedBy".into(),
            &blocker.map_or(JsValue::NULL, JsValue::from),
        );
        let _ = Reflect::set(&view, &"outbox".into(), &outbox_to_js(&inner.outbox));
        drop(inner);
        // Keep the drawn report, so what was shown is what is sent, even after a reload.
        schedule_flush(&self.inner);
        Ok(view)
    }

    /// Records the shopper's consent to sending reports: `"granted"`, `"pending"` (nothing is
    /// sent yet) or `"denied"`. Local recommendations work the same in every case.
    pub fn consent(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"granted\" | \"pending\" | \"denied\"")]
        state: &str,
    ) -> Result<(), JsError> {
        let consent = Consent::parse(state).ok_or_else(|| {
            JsError::new(&format!(
                "invalid consent \"{state}\": use \"granted\", \"pending\" or \"denied\""
            ))
        })?;
        self.inner.borrow_mut().consent = consent;
        schedule_report(&self.inner, None);
        Ok(())
    }

    /// Listens to `"update"` (`{ reason }`: `catalog`, `model`, `merge` for changes from
    /// another tab, `interest`, `forget`) or `"warning"` (`{ code, message }`; warnings raised
    /// before the listener was added are delivered to it at once).
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"update\" | \"warning\"")] event: &str,
        #[wasm_bindgen(unchecked_param_type = "(detail: any) => void")] callback: Function,
    ) -> Result<(), JsError> {
        if event != "update" && event != "warning" {
            return Err(JsError::new(&format!(
                "unknown event \"{event}\": use \"update\" or \"warning\""
            )));
        }
        let earlier = {
            let mut inner = self.inner.borrow_mut();
            inner.listeners.push((event.to_owned(), callback.clone()));
            if event == "warning" {
                inner.warnings.clone()
            } else {
                Vec::new()
            }
        };
        for detail in earlier {
            if let Err(e) = callback.call1(&JsValue::UNDEFINED, &detail) {
                console_error("kindred: an event listener threw", &e);
            }
        }
        Ok(())
    }

    /// Removes a listener added with `on`.
    pub fn off(&self, event: &str, callback: &Function) {
        self.inner
            .borrow_mut()
            .listeners
            .retain(|(name, f)| !(name == event && f == callback));
    }

    /// Where state is kept and what happened: `{ site, storage, memoryReason, pendingWrites,
    /// warnings, catalogSize, model }`.
    #[wasm_bindgen(unchecked_return_type = "Status")]
    pub fn status(&self) -> JsValue {
        let inner = self.inner.borrow();
        let model = inner.model_source.as_ref().map_or(JsValue::NULL, |m| {
            record(&[
                ("version", (m.version as f64).into()),
                ("url", m.url.as_deref().map_or(JsValue::NULL, JsValue::from)),
                (
                    "etag",
                    m.etag.as_deref().map_or(JsValue::NULL, JsValue::from),
                ),
            ])
        });
        let warnings: js_sys::Array = inner.warnings.iter().collect();
        record(&[
            ("site", inner.site.as_str().into()),
            ("storage", inner.storage_name().into()),
            (
                "memoryReason",
                inner
                    .memory_reason
                    .as_deref()
                    .map_or(JsValue::NULL, JsValue::from),
            ),
            ("pendingWrites", (inner.pending.len() as f64).into()),
            ("warnings", warnings.into()),
            ("catalogSize", (inner.engine.catalog().len() as f64).into()),
            ("model", model),
        ])
    }

    /// Saves pending changes, then stops using storage and other tabs' messages. The instance
    /// still answers from memory afterwards.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let shared = self.inner.clone();
        enqueue(
            &self.inner,
            Box::pin(async move {
                flush_task(shared.clone()).await;
                let mut inner = shared.borrow_mut();
                if let Some(channel) = inner.channel.take() {
                    channel.set_onmessage(None);
                    channel.close();
                }
                inner.channel_handler = None;
                for (event, hook) in inner.hooks.drain(..) {
                    let _ = remove_global_listener(event, hook.as_ref().unchecked_ref());
                }
                if let Some(db) = inner.db.take() {
                    db.close();
                }
                inner.memory_reason = Some("close() was called".into());
            }),
        )
    }
}

/// Installs a model given as a JS value, remembers where it came from, caches it and tells
/// the listeners. Returns its version.
fn install_model(
    shared: &Shared,
    model: JsValue,
    url: Option<String>,
    etag: Option<String>,
) -> Result<u64, JsError> {
    let parsed = read_model(model.clone())?;
    let version = parsed.version;
    {
        let mut inner = shared.borrow_mut();
        inner.engine.set_model(parsed)?;
        inner.model_source = Some(ModelSource { url, etag, version });
    }
    let _ = enqueue(shared, Box::pin(save_model_task(shared.clone(), model)));
    emit_update(shared, "model");
    Ok(version)
}

fn model_status(status: &str, version: u64) -> JsValue {
    record(&[
        ("status", status.into()),
        ("version", (version as f64).into()),
    ])
}
