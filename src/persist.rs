//! Persistence and the tab merge.
//!
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

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{BroadcastChannel, IdbDatabase, MessageEvent};

use crate::convert::{
    add_global_listener, describe, error_name, now_ms, remove_global_listener, set_timeout,
};
use crate::error::{ErrorCode, KindredError, WarningCode};
use crate::events::{emit_update, warn};
use crate::instance::{Inner, ModelSource, Shared};
use crate::options::StorageChoice;
use crate::rebase::{self, next_gen, Merged, Stored};
use crate::storage::{
    self, record, snapshot_record, StoredState, Transaction, MODEL_KEY, OUTBOX_KEY, QUARANTINE_KEY,
    STATE_KEY,
};
use crate::transport::{fetch_json, outbox_from_js, outbox_to_js, schedule_report};
use crate::values::{array_of, model_status, quarantine_view_js, read_model, QuarantineView};

/// At most this many unreadable states are kept for `exportData()` (oldest dropped first).
const MAX_QUARANTINED: usize = 4;

/// Stored state that could not be read, kept for the shopper.
#[derive(Debug, Clone)]
pub(crate) struct Quarantined {
    pub(crate) reason: String,
    pub(crate) at: i64,
    pub(crate) bytes: Option<Vec<u8>>,
    pub(crate) raw: JsValue,
}

impl Inner {
    /// Brings another tab's stored state into this tab (`rebase.rs`). Returns the `update`
    /// reason, if the engine changed, and the unreadable record to quarantine, if any.
    pub(crate) fn merge(
        &mut self,
        stored: &StoredState,
    ) -> (Option<&'static str>, Option<Quarantined>) {
        match rebase::merge(&mut self.engine, &mut self.pending, contents(stored)) {
            Merged::Unchanged => (None, None),
            Merged::Forgotten => (Some("forget"), None),
            Merged::Rebased => (Some("merge"), None),
            Merged::Unreadable(why) => (None, Some(quarantine_of(stored, why))),
        }
    }

    /// Replaces the shopper's state with a stored snapshot; what cannot be read comes back as
    /// the record to quarantine (the engine is then unchanged).
    pub(crate) fn restore_stored(&mut self, stored: &StoredState) -> Result<(), Quarantined> {
        rebase::restore(&mut self.engine, contents(stored))
            .map_err(|why| quarantine_of(stored, why))
    }

    /// Keeps unreadable stored data for `exportData()` (the newest [`MAX_QUARANTINED`]) and
    /// returns the list as it is stored.
    pub(crate) fn set_aside(&mut self, bad: Quarantined) -> JsValue {
        self.quarantined.push(bad);
        let excess = self.quarantined.len().saturating_sub(MAX_QUARANTINED);
        self.quarantined.drain(..excess);
        quarantine_records(&self.quarantined)
    }
}

/// The stored record as the merge sees it.
fn contents(stored: &StoredState) -> Stored<'_> {
    match stored {
        StoredState::Empty => Stored::Empty,
        StoredState::Forgotten { bytes, .. } => Stored::Forgotten(bytes.as_deref()),
        StoredState::Snapshot { bytes, .. } => Stored::Snapshot(bytes),
        StoredState::Unreadable { .. } => Stored::Unreadable,
    }
}

/// What to keep of a stored record that cannot be read (`why`): its bytes, or the record
/// itself when it holds none.
fn quarantine_of(stored: &StoredState, why: String) -> Quarantined {
    match stored {
        StoredState::Unreadable { raw, .. } => quarantine(why, None, raw.clone()),
        _ => quarantine(why, stored.bytes().map(<[u8]>::to_vec), JsValue::UNDEFINED),
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

/// The quarantined records as `exportData()` shows them: bytes in base64, other data as its
/// JSON text.
pub(crate) fn quarantined_js(list: &[Quarantined]) -> JsValue {
    let views: Vec<QuarantineView<'_>> = list
        .iter()
        .map(|q| QuarantineView {
            reason: &q.reason,
            at: q.at,
            bytes: q.bytes.as_deref(),
            raw_json: if q.raw.is_undefined() {
                JsValue::NULL
            } else {
                // Structured-clone data may not be JSON; its JSON text is the readable part.
                js_sys::JSON::stringify(&q.raw).map_or(JsValue::NULL, JsValue::from)
            },
        })
        .collect();
    array_of(&views, quarantine_view_js)
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

/// Stops using IndexedDB after a failure; the state stays complete in memory.
pub(crate) fn fall_back_to_memory(shared: &Shared, error: &JsValue) {
    let (code, what) = if error_name(error).as_deref() == Some("QuotaExceededError") {
        (WarningCode::QuotaExceeded, "the storage quota is exhausted")
    } else {
        (WarningCode::StorageFailed, "writing to IndexedDB failed")
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
pub(crate) type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Queues a storage task after the previous one. Tasks report their own errors, so the chain
/// never rejects.
pub(crate) fn enqueue(shared: &Shared, task: Task) -> Promise {
    let previous = shared.borrow().chain.clone();
    let promise = future_to_promise(async move {
        let _ = JsFuture::from(previous).await;
        task.await;
        Ok(JsValue::UNDEFINED)
    });
    shared.borrow_mut().chain = promise.clone();
    promise
}

pub(crate) fn schedule_flush(shared: &Shared) {
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

pub(crate) async fn flush_task(shared: Shared) {
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
pub(crate) async fn write_state(
    shared: &Shared,
    db: &IdbDatabase,
    report: bool,
) -> Result<(), JsValue> {
    let tx = Transaction::new(db, true)?;
    let stored = StoredState::parse(tx.get(STATE_KEY).await?);
    let stored_outbox = if report {
        Some(outbox_from_js(&tx.get(OUTBOX_KEY).await?))
    } else {
        None
    };
    let now = now_ms();
    let (gen, saved, reason) = {
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
        let gen = next_gen(stored.gen(), inner.synced_gen);
        tx.put(
            STATE_KEY,
            &snapshot_record(gen, &inner.engine.snapshot(), now, false),
        )?;
        (gen, inner.pending.mark(), reason)
    };
    tx.commit().await?;
    let channel = {
        let mut inner = shared.borrow_mut();
        inner.synced_gen = gen;
        inner.dirty = false;
        inner.pending.saved_before(saved);
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

pub(crate) async fn forget_task(shared: Shared) {
    let db = shared.borrow().db.clone();
    if let Some(db) = db {
        let wipe = async {
            let tx = Transaction::new(&db, true)?;
            let stored = StoredState::parse(tx.get(STATE_KEY).await?);
            let (gen, bytes) = {
                let mut guard = shared.borrow_mut();
                let inner = &mut *guard;
                if stored.gen() != inner.synced_gen {
                    // Another tab saved since this one last looked, perhaps a report.
                    rebase::forget_onto(&mut inner.engine, &inner.pending, stored.bytes());
                }
                let gen = next_gen(stored.gen(), inner.synced_gen);
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

/// Opens the site's IndexedDB and restores what a previous page stored. Never fails: with
/// `storage: "memory"`, or when IndexedDB cannot be used, the instance keeps state in memory
/// and `status().memoryReason` (and a `warning`, for a failure) says why.
pub(crate) async fn open_storage(shared: &Shared, choice: StorageChoice) {
    if choice == StorageChoice::Memory {
        shared.borrow_mut().memory_reason = Some("storage: \"memory\" was requested".into());
        return;
    }
    let name = format!("kindred:{}", shared.borrow().site);
    match storage::open(&name).await {
        Ok(db) => {
            shared.borrow_mut().db = Some(db.clone());
            match restore_from(shared, &db).await {
                Ok(()) => install_hooks(shared, &name),
                Err(e) => fall_back_to_memory(shared, &e),
            }
        }
        Err(e) => {
            let message = format!(
                "IndexedDB cannot be used ({}): the shopper's data is kept in memory for \
                 this page only",
                describe(&e)
            );
            shared.borrow_mut().memory_reason = Some(message.clone());
            warn(shared, WarningCode::StorageUnavailable, message);
        }
    }
    let retention_now = now_ms();
    shared.borrow_mut().engine.expire(retention_now);
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
                    WarningCode::ModelCacheInvalid,
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
        warnings.push((WarningCode::StateUnreadable, message));
    }
    for (code, message) in warnings {
        warn(shared, code, message);
    }
    Ok(())
}

/// `close()`: saves pending changes, then stops using storage and other tabs' messages.
pub(crate) async fn close_task(shared: Shared) {
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

/// `loadModel(model)`: installs a model object, or fetches one from a URL (revalidated with
/// the cached model's `ETag`), falling back to the cached model when the server cannot be
/// reached. Resolves with the `ModelStatus`.
pub(crate) async fn load_model(shared: &Shared, model: JsValue) -> Result<JsValue, JsValue> {
    let Some(url) = model.as_string() else {
        let version = install_model(shared, model, None, None)?;
        return Ok(model_status("installed", version));
    };
    let cached = shared.borrow().model_source.clone();
    let etag = cached
        .as_ref()
        .filter(|c| c.url.as_deref() == Some(url.as_str()))
        .and_then(|c| c.etag.clone());
    match fetch_json(&url, etag.as_deref()).await {
        Ok(Some((value, etag))) => {
            let version = install_model(shared, value, Some(url), etag)?;
            Ok(model_status("fetched", version))
        }
        Ok(None) => Ok(model_status(
            "not-modified",
            cached.map_or(0, |c| c.version),
        )),
        Err(e) => {
            match cached {
                Some(c) => {
                    warn(
                    shared,
                    WarningCode::ModelOffline,
                    format!("could not refresh the shared model from {url} ({e}); using the cached one"),
                );
                    Ok(model_status("offline", c.version))
                }
                None => {
                    let message = format!("could not load the shared model from {url}: {e}");
                    Err(KindredError::new(ErrorCode::FetchFailed, message).into())
                }
            }
        }
    }
}

/// Installs a model given as a JS value, remembers where it came from, caches it and tells
/// the listeners. Returns its version.
fn install_model(
    shared: &Shared,
    model: JsValue,
    url: Option<String>,
    etag: Option<String>,
) -> Result<u64, KindredError> {
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
