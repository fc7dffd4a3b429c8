//! Getting reports to the server: consent and browser opt-out signals, the outbox of committed
//! reports (persisted under the `outbox` key so a report survives reloads and offline days),
//! the POST itself and the retry schedule. What a report contains, and when one is due, is
//! decided in `crates/core` (`privacy/device.rs`); this file only moves bytes.

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::convert::{describe, fetch_with_init};
use crate::storage::record;

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
