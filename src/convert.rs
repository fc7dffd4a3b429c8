//! Conversions between JS values and core types, and the small JS host functions the module
//! needs (clock, timers, `fetch`) bound once so they work in windows, workers and Node alike.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `globalThis.setTimeout`, which every JS host has (web-sys only binds it on `Window`).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout_raw(callback: &Function, ms: i32) -> JsValue;

    /// `globalThis.fetch` (windows, workers and Node 18+).
    #[wasm_bindgen(js_name = fetch, catch)]
    pub(crate) fn fetch_with_init(url: &str, init: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = globalThis, js_name = addEventListener, catch)]
    pub(crate) fn add_global_listener(event: &str, callback: &Function) -> Result<(), JsValue>;

    #[wasm_bindgen(js_namespace = globalThis, js_name = removeEventListener, catch)]
    pub(crate) fn remove_global_listener(event: &str, callback: &Function) -> Result<(), JsValue>;

    #[wasm_bindgen(js_namespace = console, js_name = error)]
    pub(crate) fn console_error(message: &str, detail: &JsValue);
}

/// `setTimeout` that never keeps a Node process alive on kindred's account (Node timers have
/// `unref()`; browsers return a number).
pub(crate) fn set_timeout(callback: &Function, ms: i32) {
    let timer = set_timeout_raw(callback, ms);
    if let Ok(unref) = js_sys::Reflect::get(&timer, &"unref".into()) {
        if let Some(unref) = unref.dyn_ref::<Function>() {
            let _ = unref.call0(&timer);
        }
    }
}

/// Milliseconds since 1970, as `Date.now()`.
pub(crate) fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Turns a thrown JS value (an `Error`, a `DOMException`, anything) into readable text.
pub(crate) fn describe(error: &JsValue) -> String {
    if let Some(e) = error.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    let name = js_sys::Reflect::get(error, &"name".into()).ok();
    let message = js_sys::Reflect::get(error, &"message".into()).ok();
    match (
        name.and_then(|n| n.as_string()),
        message.and_then(|m| m.as_string()),
    ) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        (None, Some(m)) => m,
        _ => error.as_string().unwrap_or_else(|| "unknown error".into()),
    }
}

/// The `name` of a `DOMException` (`"QuotaExceededError"`), if it is one.
pub(crate) fn error_name(error: &JsValue) -> Option<String> {
    js_sys::Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
}

/// Standard base64 (RFC 4648, padded): how `exportData()` shows quarantined bytes in JSON.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}
