//! `Kindred`: the class a shop developer uses. It wraps one core [`Engine`] and only converts
//! values; every algorithm is in `crates/core`. Its methods are thin: options are read in
//! `options.rs`, state is kept and merged across tabs in `persist.rs`, reports are scheduled
//! and delivered in `transport.rs`, listeners are called in `events.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use kindred_core::{Engine, OsRandom, RecommendRequest, Strategy};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::convert::now_ms;
use crate::error::{ErrorCode, KindredError};
use crate::events::{emit_update, listen, unlisten};
use crate::instance::{Inner, Shared};
use crate::options::CreateOptions;
use crate::outbox::Consent;
use crate::persist::{
    close_task, enqueue, flush_task, forget_task, load_model, open_storage, quarantined_js,
    schedule_flush,
};
use crate::rebase::Op;
use crate::transport::{fetch_json, outbox_to_js, schedule_report};
use crate::values::{
    explanation_js, export_js, load_report_js, privacy_js, profile_js, read_event, read_request,
    recommendations_js, status_js, ExportView, JsJson, ModelSourceView, PrivacyView, ProfileView,
    StatusView,
};

/// The kindred engine for one shopper on one site, with durable local storage.
///
/// Raw behaviour stays on this device: it lives in memory and in this site's IndexedDB.
/// Create it with `await Kindred.create(options)`. Every method that receives bad input throws
/// a `KindredError` (an `Error` with a stable `code`, such as `"unknown-item"`) whose message
/// names the problem, and leaves stored data untouched.
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
    ) -> Result<Kindred, KindredError> {
        let options = CreateOptions::from_js(options)?;
        let engine = Engine::with_config(options.engine_config())?;
        let shared: Shared = Rc::new(RefCell::new(Inner::new(engine, &options)));
        open_storage(&shared, options.storage).await;
        schedule_report(&shared, None);
        Ok(Kindred { inner: shared })
    }

    /// Replaces the catalog with an array of items or the JSON array at a URL (fetched without
    /// cookies: a catalog is public). Resolves with
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
                Some(url) => match fetch_json(&url, None).await {
                    Ok(Some((rows, _))) => rows,
                    Ok(None) => {
                        let message =
                            format!("could not load the catalog from {url}: unexpected 304");
                        return Err(KindredError::new(ErrorCode::FetchFailed, message).into());
                    }
                    Err(e) => {
                        let message = format!("could not load the catalog from {url}: {e}");
                        return Err(KindredError::new(ErrorCode::FetchFailed, message).into());
                    }
                },
                None => items,
            };
            let report = shared.borrow_mut().engine.load_catalog_value(JsJson(rows));
            let report = load_report_js(&report.map_err(KindredError::from)?);
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
        future_to_promise(async move { load_model(&shared, model).await })
    }

    /// Records what the shopper did: `{ type, item?, query?, ms?, value?, ts? }` where `type`
    /// is `view`, `click`, `cart`, `remove_cart`, `purchase`, `search` (with `query`), `dwell`
    /// (with `ms`) or `rate` (with `value` 1-5). Fast and synchronous; saving is batched.
    /// Throws for malformed events and items missing from the catalog, never for storage.
    pub fn track(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TrackEvent")] event: JsValue,
    ) -> Result<(), KindredError> {
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
    ) -> Result<JsValue, KindredError> {
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
    pub fn similar(&self, item: &str, k: Option<u32>) -> Result<JsValue, KindredError> {
        let request = RecommendRequest::for_item(Strategy::Similar, item)
            .with_k(k.map_or(10, |k| k as usize));
        let recs = self.inner.borrow().engine.recommend(&request, now_ms())?;
        Ok(recommendations_js(&recs))
    }

    /// The shopper's interest profile: `{ interests, removedInterests, segment, events, items }`
    /// with the top `limit` interests (default 20), weights summing to 1.
    #[wasm_bindgen(unchecked_return_type = "Profile")]
    pub fn profile(&self, limit: Option<u32>) -> Result<JsValue, KindredError> {
        let inner = self.inner.borrow();
        let now = now_ms();
        let engine = &inner.engine;
        let interests = engine.interests(now, limit.map_or(20, |n| n as usize));
        Ok(profile_js(&ProfileView {
            interests: &interests,
            removed_interests: engine.profile().removed_interests(),
            segment: engine.segment(now),
            events: engine.history().len(),
            items: engine.history().all_stats().count(),
        }))
    }

    /// Removes an interest (a `key` from `profile()`, e.g. `"category:Toys"`) for good: it is
    /// no longer shown, accumulated or used to pick items.
    #[wasm_bindgen(js_name = removeInterest)]
    pub fn remove_interest(&self, key: &str) -> Result<(), KindredError> {
        let key = key.trim();
        if key.is_empty() || !key.contains(':') {
            return Err(KindredError::new(
                ErrorCode::InvalidArgument,
                format!("invalid interest key \"{key}\": use a key from profile().interests, like \"category:Toys\""),
            ));
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
    pub fn explain(&self, item: &str) -> Result<JsValue, KindredError> {
        let explanation = self.inner.borrow().engine.explain(item, now_ms())?;
        Ok(explanation_js(&explanation))
    }

    /// Everything stored about the shopper, as plain JSON-ready data: raw events, per-item
    /// totals, interests and the profile's affinities (items, interests, and terms from titles
    /// and searches), removed interests, the per-day recommendation counters, the privacy
    /// ledger, the keys contributed to the last reported window (`window`), the drawn report
    /// not yet sent (`pendingReport`), undelivered reports (`outbox`), and any stored data
    /// that could not be read (`quarantined`, bytes in base64).
    #[wasm_bindgen(js_name = exportData, unchecked_return_type = "ExportedData")]
    pub fn export_data(&self) -> Result<JsValue, KindredError> {
        let inner = self.inner.borrow();
        let now = now_ms();
        Ok(export_js(&ExportView {
            site: &inner.site,
            exported_at: now,
            storage: inner.storage_name(),
            data: &inner.engine.export_data(now),
            quarantined: quarantined_js(&inner.quarantined),
            outbox: outbox_to_js(&inner.outbox),
        }))
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
    pub fn privacy(&self) -> Result<JsValue, KindredError> {
        let mut inner = self.inner.borrow_mut();
        let overview = inner
            .engine
            .privacy(now_ms(), &mut OsRandom)
            .map_err(|e| KindredError::new(ErrorCode::RandomUnavailable, e.to_string()))?;
        inner.dirty = true;
        let view = privacy_js(&PrivacyView {
            overview: &overview,
            consent: inner.consent.name(),
            blocked_by: inner.report_blocker(),
            outbox: outbox_to_js(&inner.outbox),
        });
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
    ) -> Result<(), KindredError> {
        let consent = Consent::parse(state).ok_or_else(|| {
            KindredError::new(
                ErrorCode::InvalidArgument,
                format!("invalid consent \"{state}\": use \"granted\", \"pending\" or \"denied\""),
            )
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
    ) -> Result<(), KindredError> {
        listen(&self.inner, event, callback)
    }

    /// Removes a listener added with `on`.
    pub fn off(&self, event: &str, callback: &Function) {
        unlisten(&self.inner, event, callback);
    }

    /// Where state is kept and what happened: `{ site, storage, memoryReason, pendingWrites,
    /// warnings, catalogSize, model }`.
    #[wasm_bindgen(unchecked_return_type = "Status")]
    pub fn status(&self) -> JsValue {
        let inner = self.inner.borrow();
        status_js(&StatusView {
            site: &inner.site,
            storage: inner.storage_name(),
            memory_reason: inner.memory_reason.as_deref(),
            pending_writes: inner.pending.len(),
            warnings: &inner.warnings,
            catalog_size: inner.engine.catalog().len(),
            model: inner.model_source.as_ref().map(|m| ModelSourceView {
                version: m.version,
                url: m.url.as_deref(),
                etag: m.etag.as_deref(),
            }),
        })
    }

    /// Saves pending changes, then stops using storage and other tabs' messages. The instance
    /// still answers from memory afterwards.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        enqueue(&self.inner, Box::pin(close_task(self.inner.clone())))
    }
}
