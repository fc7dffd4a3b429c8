//! Report scheduling and delivery, and every request kindred makes: consent and browser
//! opt-out signals, the outbox of committed reports (persisted under the `outbox` key so a
//! report survives reloads and offline days), when the next attempt runs, the POST itself and
//! the retry schedule, and the fetches of the catalog and the shared model. What a report
//! contains, and when one is due, is decided in `crates/core` (`privacy.rs`); this file only
//! moves bytes.

use std::rc::Rc;

use js_sys::{Promise, Reflect};
use kindred_core::{Mode, OsRandom, RandomSource};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::convert::{describe, fetch_with_init, now_ms, set_timeout};
use crate::events::warn;
use crate::instance::{Inner, Shared};
use crate::persist::{enqueue, fall_back_to_memory, write_state};
use crate::storage::{record, Transaction, OUTBOX_KEY};

/// Whether the shop may send reports for this shopper (`consent` option and `k.consent()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Consent {
    /// Reports are anonymous, bounded and noised (docs/PRIVACY.md), so the default lets them
    /// go; shops whose policy requires opt-in pass `"pending"` and call `consent("granted")`.
    #[default]
    Granted,
    Pending,
    Denied,
}

impl Consent {
    pub(crate) fn parse(value: &str) -> Option<Consent> {
        match value {
            "granted" => Some(Consent::Granted),
            "pending" => Some(Consent::Pending),
            "denied" => Some(Consent::Denied),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Consent::Granted => "granted",
            Consent::Pending => "pending",
            Consent::Denied => "denied",
        }
    }
}

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

/// A committed report waiting for delivery. Committing charged the ledger and marked the day
/// reported, so the same bytes are retried and never re-drawn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutboxEntry {
    /// The day (UTC day number) whose report it is. Kept on the device only: reports carry
    /// their window, never a day.
    pub(crate) day: u32,
    pub(crate) json: String,
    pub(crate) committed_at: i64,
    pub(crate) attempts: u32,
    /// Not before this time (ms).
    pub(crate) next_at: i64,
    /// A tab is sending it until then (ms): other tabs leave it alone.
    pub(crate) claimed_until: i64,
}

pub(crate) fn outbox_to_js(outbox: &[OutboxEntry]) -> JsValue {
    outbox
        .iter()
        .map(|e| {
            record(&[
                ("day", e.day.into()),
                ("json", e.json.as_str().into()),
                ("committedAt", (e.committed_at as f64).into()),
                ("attempts", e.attempts.into()),
                ("nextAt", (e.next_at as f64).into()),
                ("claimedUntil", (e.claimed_until as f64).into()),
            ])
        })
        .collect::<js_sys::Array>()
        .into()
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

/// How a delivery attempt ended.
pub(crate) enum Delivery {
    Accepted,
    /// The server refused the report itself (4xx other than 408/429): resending cannot help.
    Rejected(String),
    /// Network error, timeout, 408, 429 or 5xx: try again later.
    Failed(String),
}

/// POSTs one report: JSON body, no cookies or other credentials, no identifying headers,
/// `keepalive` so a report under way survives the page closing.
pub(crate) async fn post_report(url: &str, json: &str) -> Delivery {
    let headers = record(&[("content-type", "application/json".into())]);
    let init = record(&[
        ("method", "POST".into()),
        ("body", json.into()),
        ("headers", headers),
        ("credentials", "omit".into()),
        ("cache", "no-store".into()),
        ("referrerPolicy", "no-referrer".into()),
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
            match status {
                200..=299 => Delivery::Accepted,
                408 | 429 => Delivery::Failed(format!("HTTP {status}")),
                400..=499 => Delivery::Rejected(rejection(status, &response).await),
                _ => Delivery::Failed(format!("HTTP {status}")),
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

/// Wait before attempt `attempts + 1`: `base` doubled per failure, at most six hours.
pub(crate) fn backoff_ms(attempts: u32, base: u32) -> i64 {
    let factor = 1i64 << attempts.min(20);
    (i64::from(base) * factor).min(6 * 3_600_000)
}

const DAY_MS: i64 = 86_400_000;
/// How long a tab owns an outbox entry it is sending before another tab may retry it.
const CLAIM_MS: i64 = 60_000;

impl Inner {
    /// Why no report may be sent now, if something forbids it.
    pub(crate) fn report_blocker(&self) -> Option<&'static str> {
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
    pub(crate) fn commit_due_report(&mut self, now: i64) {
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

/// Fetches `url` and parses JSON. `etag` makes the request conditional: `Ok(None)` means
/// "304 Not Modified".
pub(crate) async fn fetch_json(
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
