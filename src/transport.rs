//! Report scheduling and delivery, and every request kindred makes: consent and browser
//! opt-out signals, the outbox of committed reports (persisted under the `outbox` key so a
//! report survives reloads and offline days), when the next attempt runs, the POST itself and
//! the retry schedule, and the fetches of the catalog and the shared model. What a report
//! contains, and when one is due, is decided in `crates/core` (`privacy.rs`); this file only
//! moves bytes.

use std::rc::Rc;

use js_sys::{Promise, Reflect};
use kindred_core::{OsRandom, RandomSource};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::convert::{describe, fetch_with_init, now_ms, set_timeout};
use crate::error::WarningCode;
use crate::events::warn;
use crate::instance::{Inner, Shared};
use crate::outbox::{
    claim_due, next_attempt, report_blocker, settle, Claim, Delivery, OutboxEntry,
};
use crate::persist::{enqueue, fall_back_to_memory, write_state};
use crate::storage::{record, Transaction, OUTBOX_KEY};
use crate::values::{array_of, writer};

/// `"global-privacy-control"` or `"do-not-track"` when the browser asks not to be tracked.
pub(crate) fn browser_opt_out() -> Option<&'static str> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    if navigator.is_undefined() {
        return None;
    }
    let field = |name: &str| Reflect::get(&navigator, &name.into()).unwrap_or_default();
    if field("globalPrivacyControl").as_bool() == Some(true) {
        return Some("global-privacy-control");
    }
    let dnt = field("doNotTrack").as_string();
    let window_dnt = Reflect::get(&js_sys::global(), &"doNotTrack".into())
        .ok()
        .and_then(|v| v.as_string());
    if dnt.as_deref() == Some("1") || window_dnt.as_deref() == Some("1") {
        return Some("do-not-track");
    }
    None
}

writer! {
    /// `OutboxEntry` in `kindred.d.ts`; also how entries are stored (`outbox_from_js` reads
    /// them back).
    pub(crate) OUTBOX_ENTRY, outbox_entry_js(e: OutboxEntry) {
        "day" => e.day.into(),
        "json" => e.json.as_str().into(),
        "committedAt" => (e.committed_at as f64).into(),
        "attempts" => e.attempts.into(),
        "nextAt" => (e.next_at as f64).into(),
        "claimedUntil" => (e.claimed_until as f64).into(),
    }
}

pub(crate) fn outbox_to_js(outbox: &[OutboxEntry]) -> JsValue {
    array_of(outbox, outbox_entry_js)
}

/// Reads the stored outbox; entries that are not well-formed are dropped (they could not be
/// sent anyway, and the ledger already counts them).
pub(crate) fn outbox_from_js(raw: &JsValue) -> Vec<OutboxEntry> {
    let Some(array) = raw.dyn_ref::<js_sys::Array>() else {
        return Vec::new();
    };
    array
        .iter()
        .filter_map(|e| {
            let num = |n: &str| Reflect::get(&e, &n.into()).ok()?.as_f64();
            Some(OutboxEntry {
                // `epoch`: kindred 0.1's name. Its v1 report is refused by a v2 server (400),
                // so it ends as a `report-rejected` warning instead of vanishing unseen.
                day: num("day").or_else(|| num("epoch"))? as u32,
                json: Reflect::get(&e, &"json".into()).ok()?.as_string()?,
                committed_at: num("committedAt")? as i64,
                attempts: num("attempts").unwrap_or(0.0) as u32,
                next_at: num("nextAt").unwrap_or(0.0) as i64,
                claimed_until: num("claimedUntil").unwrap_or(0.0) as i64,
            })
        })
        .collect()
}

/// The `fetch` options of every request kindred makes, with `fields` added: no cookies or
/// other credentials, because nothing kindred fetches or sends belongs to a signed-in shopper
/// (the catalog and the shared model are public, reports are anonymous), and no referrer,
/// because which product page is open is not the server's business.
fn request_init(fields: &[(&str, JsValue)]) -> JsValue {
    let init = record(fields);
    let _ = Reflect::set(&init, &"credentials".into(), &"omit".into());
    let _ = Reflect::set(&init, &"referrerPolicy".into(), &"no-referrer".into());
    init
}

/// POSTs one report: JSON body, no identifying headers, `keepalive` so a report under way
/// survives the page closing.
pub(crate) async fn post_report(url: &str, json: &str) -> Delivery {
    let headers = record(&[("content-type", "application/json".into())]);
    let init = request_init(&[
        ("method", "POST".into()),
        ("body", json.into()),
        ("headers", headers),
        ("cache", "no-store".into()),
        ("keepalive", true.into()),
    ]);
    let promise: Promise = match fetch_with_init(url, &init) {
        Ok(p) => p,
        Err(e) => return Delivery::Failed(describe(&e)),
    };
    match JsFuture::from(promise).await {
        Ok(response) => {
            let response: web_sys::Response = response.unchecked_into();
            let status = response.status();
            match Delivery::of_status(status) {
                Some(delivery) => delivery,
                None => Delivery::Rejected(rejection(status, &response).await),
            }
        }
        Err(e) => Delivery::Failed(describe(&e)),
    }
}

/// Why the server refused a report: the status and the kindred server's `{ error, detail }`
/// (e.g. `window-mismatch` when the shop's `privacy.windowDays` differs from the server's), so
/// the `report-rejected` warning tells the developer what to fix.
async fn rejection(status: u16, response: &web_sys::Response) -> String {
    let body = match response.text() {
        Ok(text) => JsFuture::from(text).await.ok(),
        Err(_) => None,
    };
    let parsed = body
        .and_then(|t| t.as_string())
        .and_then(|t| js_sys::JSON::parse(&t).ok());
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|p| Reflect::get(p, &name.into()).ok())
            .and_then(|v| v.as_string())
    };
    match (field("error"), field("detail")) {
        (Some(code), Some(detail)) => format!("HTTP {status} {code}: {detail}"),
        (Some(code), None) => format!("HTTP {status} {code}"),
        _ => format!("HTTP {status}"),
    }
}

const DAY_MS: i64 = 86_400_000;

impl Inner {
    /// Why no report may be sent now, if something forbids it.
    pub(crate) fn report_blocker(&self) -> Option<&'static str> {
        report_blocker(
            self.reports_url.is_some(),
            self.engine.privacy_config().mode,
            self.consent,
            browser_opt_out,
        )
    }

    /// Draws and commits the due report, if any, into the outbox (charging the ledger).
    pub(crate) fn commit_due_report(&mut self, now: i64) {
        let Ok(Some(prepared)) = self.engine.prepare_report(now, &mut OsRandom) else {
            return;
        };
        if let Ok(json) = self.engine.commit_report(prepared.day) {
            self.outbox
                .push(OutboxEntry::committed(prepared.day, json, now));
        }
    }
}

/// Plans the next report attempt: after a random delay (so the arrival time says nothing about
/// when the shopper is active), or at `at` for a retry. Does nothing while blocked.
pub(crate) fn schedule_report(shared: &Shared, at: Option<i64>) {
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
    let mut claim = Claim::default();
    let mut claim_now = |outbox: &mut Vec<OutboxEntry>| claim = claim_due(outbox, now, keep_ms);
    if let Err(e) = update_outbox(&shared, &mut claim_now).await {
        return fall_back_to_memory(&shared, &e);
    }
    if claim.unsettled > 0 {
        warn(
            &shared,
            WarningCode::ReportDropped,
            format!("{} report(s) were being sent when a page closed; they are not sent again (at most one per day)", claim.unsettled),
        );
    }
    if claim.expired > 0 {
        warn(
            &shared,
            WarningCode::ReportDropped,
            format!(
                "{} report(s) could not be delivered within outboxDays and were dropped",
                claim.expired
            ),
        );
    }
    for (day, json) in claim.claimed {
        let delivery = post_report(&url, &json).await;
        let now = now_ms();
        let mut problem = None;
        let mut apply = |outbox: &mut Vec<OutboxEntry>| {
            problem = settle(outbox, day, &delivery, now, retry_base);
        };
        if let Err(e) = update_outbox(&shared, &mut apply).await {
            return fall_back_to_memory(&shared, &e);
        }
        if let Some((code, why)) = problem {
            let message = format!("the report for day {day} was not delivered to {url} ({why})");
            warn(&shared, code, message);
        }
    }
    let next = next_attempt(&shared.borrow().outbox);
    if let Some(next) = next {
        schedule_report(&shared, Some(next));
    }
}

/// Fetches `url` (the catalog or the shared model) and parses JSON, without credentials.
/// `etag` makes the request conditional: `Ok(None)` means "304 Not Modified".
pub(crate) async fn fetch_json(
    url: &str,
    etag: Option<&str>,
) -> Result<Option<(JsValue, Option<String>)>, String> {
    let headers = js_sys::Object::new();
    if let Some(etag) = etag {
        let _ = Reflect::set(&headers, &"If-None-Match".into(), &etag.into());
    }
    let init = request_init(&[("cache", "no-cache".into()), ("headers", headers.into())]);
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
