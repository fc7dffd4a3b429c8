//! The browser module in headless Chromium (`wasm-pack test --headless --chrome`, run by
//! `npm test` through scripts/ci/test-browser): every export, IndexedDB persistence across
//! re-creation, two instances of one site merging, error shapes, the memory fallback and
//! recovery from corrupt stored data.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Promise, Reflect};
use kindred::{Kindred, KindredError};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export async function idb_put(dbName, key, value) {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(value, key);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}
export async function idb_get(dbName, key) {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const value = await new Promise((resolve, reject) => {
    const req = db.transaction("kv").objectStore("kv").get(key);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  db.close();
  return value;
}
export function hide_indexeddb() {
  const own = Object.getOwnPropertyDescriptor(globalThis, "indexedDB");
  Object.defineProperty(globalThis, "indexedDB", { value: undefined, configurable: true });
  return () => {
    delete globalThis.indexedDB;
    if (own) Object.defineProperty(globalThis, "indexedDB", own);
  };
}
export function fail_puts_with_quota() {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function () {
    throw new DOMException("simulated: quota exceeded", "QuotaExceededError");
  };
  return () => { IDBObjectStore.prototype.put = put; };
}
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
const realNow = Date.now.bind(Date);
// The module reads the time through Date.now(): from here on it starts at `ms` and flows.
export function set_clock(ms) {
  const start = realNow();
  Date.now = () => ms + (realNow() - start);
}
export function reset_clock() { Date.now = realNow; }
// Report POSTs are answered 202 here and their bodies collected in the returned array.
export function capture_reports() {
  const original = globalThis.fetch;
  const sent = [];
  globalThis.fetch = (url, init) => {
    if (String(url).endsWith("/v1/reports")) {
      sent.push(init.body);
      return Promise.resolve(new Response("{}", { status: 202 }));
    }
    return original(url, init);
  };
  sent.restore = () => { globalThis.fetch = original; };
  return sent;
}
export function restore_fetch(sent) { sent.restore(); }
// GETs of `/v1/model` are answered with `body` (ETag "v2"); their If-None-Match headers are
// collected in the returned array (null when there was none).
export function serve_model(body) {
  const original = globalThis.fetch;
  const seen = [];
  globalThis.fetch = (url, init) => {
    if (String(url).endsWith("/v1/model")) {
      seen.push(init.headers["If-None-Match"] ?? null);
      return Promise.resolve(new Response(body, { status: 200, headers: { ETag: '"v2"' } }));
    }
    return original(url, init);
  };
  seen.restore = () => { globalThis.fetch = original; };
  return seen;
}
"#)]
extern "C" {
    async fn idb_put(db: &str, key: &str, value: JsValue);
    async fn idb_get(db: &str, key: &str) -> JsValue;
    fn hide_indexeddb() -> Function;
    fn fail_puts_with_quota() -> Function;
    async fn sleep(ms: u32);
    fn set_clock(ms: f64);
    fn reset_clock();
    fn capture_reports() -> Array;
    fn restore_fetch(sent: &Array);
    fn serve_model(body: &str) -> Array;
}

fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("test JSON")
}

#[track_caller]
fn get(value: &JsValue, key: &str) -> JsValue {
    assert!(value.is_object(), "reading {key:?} of {value:?}");
    Reflect::get(value, &key.into()).expect("property")
}

fn len(value: &JsValue) -> u32 {
    value.unchecked_ref::<Array>().length()
}

async fn wait(promise: Promise) -> JsValue {
    JsFuture::from(promise).await.expect("promise resolves")
}

/// Collects what a listener of `event` receives (the closure is leaked: tests are short).
fn listen(k: &Kindred, event: &str) -> Array {
    let heard = Array::new();
    let sink = heard.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |d: JsValue| {
        sink.push(&d);
    });
    k.on(event, listener.as_ref().unchecked_ref::<Function>().clone())
        .unwrap();
    listener.forget();
    heard
}

/// The message of a thrown `Error` (and proof that it is one).
fn message_of(error: JsValue) -> String {
    let error: js_sys::Error = error.dyn_into().expect("an Error object, not a bare value");
    error.message().into()
}

const CATALOG: &str = r#"[
  {"id": "mug", "title": "Blue Ceramic Mug", "categories": ["Home > Kitchen"], "brand": "Acme", "price": 12},
  {"id": "cup", "title": "Blue Espresso Cup", "categories": ["Home > Kitchen"], "brand": "Acme", "price": 9},
  {"id": "kettle", "title": "Steel Kettle", "categories": ["Home > Kitchen"], "price": 40},
  {"id": "lego", "title": "Brick Castle", "categories": ["Toys > Building"], "price": 60},
  {"id": "puzzle", "title": "Castle Puzzle", "categories": ["Toys > Puzzles"], "price": 15}
]"#;

async fn create(site: &str) -> Kindred {
    let options = js(&format!(r#"{{"site": "{site}", "flushDelayMs": 20}}"#));
    let k = Kindred::create(options).await.expect("create");
    wait(k.load_catalog(js(CATALOG))).await;
    k
}

fn db_name(site: &str) -> String {
    format!("kindred:{site}")
}

#[wasm_bindgen_test]
async fn every_export_answers() {
    let k = create("exports").await;
    assert_eq!(get(&k.status(), "storage"), "indexeddb");
    k.track(js(r#"{"type": "view", "item": "mug"}"#)).unwrap();
    k.track(js(r#"{"type": "cart", "item": "mug"}"#)).unwrap();
    k.track(js(r#"{"type": "search", "query": "castle"}"#))
        .unwrap();
    let recs = k
        .recommend(js(r#"{"strategy": "for-you", "k": 3}"#))
        .unwrap();
    assert!(len(&recs) > 0 && len(&recs) <= 3);
    let first = Array::from(&recs).get(0);
    assert!(get(&first, "item").is_string());
    assert!(len(&get(&first, "reasons")) > 0);
    let similar = k.similar("mug", Some(2)).unwrap();
    assert_eq!(get(&Array::from(&similar).get(0), "item"), "cup");
    let profile = k.profile(None).unwrap();
    assert!(len(&get(&profile, "interests")) > 0);
    let explanation = k.explain("cup").unwrap();
    assert_eq!(get(&explanation, "item"), "cup");
    assert!(get(&get(&explanation, "forYou"), "rank").as_f64().is_some());
    k.remove_interest("category:Toys").unwrap();
    assert_eq!(len(&get(&k.profile(None).unwrap(), "removedInterests")), 1);
    let data = k.export_data().unwrap();
    assert_eq!(len(&get(&data, "events")), 3);
    assert_eq!(get(&data, "site"), "exports");
    // Export is plain data: it survives a JSON round trip unchanged.
    let text = js_sys::JSON::stringify(&data).unwrap();
    assert!(String::from(text).contains("\"castle\""));
    let updates = listen(&k, "update");
    let model = js(
        r#"{"format": 2, "version": 7, "builtEpoch": 20000, "popularity": {"lego": 1.0},
            "trending": {"kettle": 1.0}, "neighbours": {"mug": [{"item": "kettle", "score": 0.9}]},
            "interests": {}, "segmentAxis": [], "segments": []}"#,
    );
    let status = wait(k.load_model(model)).await;
    assert_eq!(get(&status, "status"), "installed");
    assert_eq!(get(&status, "version").as_f64(), Some(7.0));
    let trending = k
        .recommend(js(r#"{"strategy": "trending", "k": 1}"#))
        .unwrap();
    assert_eq!(get(&Array::from(&trending).get(0), "item"), "kettle");
    assert_eq!(get(&updates.get(0), "reason"), "model");
    wait(k.flush()).await;
    wait(k.forget()).await;
    assert_eq!(len(&get(&k.export_data().unwrap(), "events")), 0);
    assert_eq!(get(&updates.get(updates.length() - 1), "reason"), "forget");
    wait(k.close()).await;
}

#[wasm_bindgen_test]
async fn state_survives_re_creation() {
    let k = create("persist").await;
    k.track(js(r#"{"type": "purchase", "item": "lego"}"#))
        .unwrap();
    k.track(js(r#"{"type": "view", "item": "puzzle"}"#))
        .unwrap();
    k.remove_interest("brand:Acme").unwrap();
    wait(k.close()).await;

    let again = create("persist").await;
    let data = again.export_data().unwrap();
    assert_eq!(len(&get(&data, "events")), 2);
    assert_eq!(len(&get(&data, "removedInterests")), 1);
    let buy_again = again
        .recommend(js(r#"{"strategy": "buy-again", "k": 5}"#))
        .unwrap();
    assert_eq!(get(&Array::from(&buy_again).get(0), "item"), "lego");
    wait(again.forget()).await;
    wait(again.close()).await;

    let after_forget = create("persist").await;
    assert_eq!(len(&get(&after_forget.export_data().unwrap(), "events")), 0);
    wait(after_forget.close()).await;
}

/// `exportData()` after a reload shows what IndexedDB holds beyond events: the profile's terms
/// (search-derived ones included), the day's recommendation counters and the drawn report.
#[wasm_bindgen_test]
async fn the_export_after_a_reload_holds_everything_stored() {
    let k = create("export-stored").await;
    let yesterday = js_sys::Date::now() - DAY_MS;
    for event in [
        format!(r#"{{"type": "view", "item": "mug", "ts": {yesterday}}}"#),
        format!(r#"{{"type": "purchase", "item": "lego", "ts": {yesterday}}}"#),
        r#"{"type": "search", "query": "teapot"}"#.to_owned(),
    ] {
        k.track(js(&event)).unwrap();
    }
    k.recommend(js(r#"{"strategy": "for-you", "k": 2}"#))
        .unwrap();
    let drawn = get(&k.privacy().unwrap(), "nextReport");
    assert!(drawn.is_object(), "yesterday's report is drawn");
    wait(k.close()).await;

    let again = create("export-stored").await;
    let data = again.export_data().unwrap();
    let terms = get(&get(&data, "affinities"), "terms");
    for term in ["teapot", "mug", "castle"] {
        assert!(
            get(&terms, term).as_f64().is_some_and(|w| w > 0.0),
            "{term}"
        );
    }
    let counters = Array::from(&get(&data, "recommendationCounters"));
    assert_eq!(counters.length(), 1);
    let for_you = get(&get(&counters.get(0), "strategies"), "for-you");
    assert_eq!(get(&for_you, "impressions").as_f64(), Some(1.0));
    let pending = get(&data, "pendingReport");
    assert_eq!(get(&pending, "json"), get(&drawn, "json"));
    let items = get(&get(&pending, "contribution"), "items");
    assert_eq!(
        Array::from(&items).to_vec(),
        [JsValue::from("lego"), "mug".into()]
    );
    wait(again.forget()).await;
    wait(again.close()).await;
}

#[wasm_bindgen_test]
async fn two_instances_of_one_site_lose_no_event() {
    let a = create("tabs").await;
    let b = create("tabs").await;
    for i in 0..20 {
        let item = ["mug", "cup", "kettle", "lego", "puzzle"][i % 5];
        a.track(js(&format!(r#"{{"type": "view", "item": "{item}"}}"#)))
            .unwrap();
        b.track(js(&format!(r#"{{"type": "click", "item": "{item}"}}"#)))
            .unwrap();
        if i % 7 == 0 {
            // Interleave saves so each side writes over state the other has changed.
            wait(a.flush()).await;
        }
    }
    wait(b.flush()).await;
    wait(a.flush()).await;
    wait(a.close()).await;
    wait(b.close()).await;
    let c = create("tabs").await;
    let events = get(&c.export_data().unwrap(), "events");
    assert_eq!(len(&events), 40, "both instances' events are stored");
    wait(c.forget()).await;
    wait(c.close()).await;
}

#[wasm_bindgen_test]
async fn another_instance_sees_changes_live() {
    let a = create("live").await;
    let b = create("live").await;
    a.track(js(r#"{"type": "purchase", "item": "kettle"}"#))
        .unwrap();
    wait(a.flush()).await;
    // The BroadcastChannel message and b's read are asynchronous.
    for _ in 0..50 {
        if len(&get(&b.export_data().unwrap(), "events")) == 1 {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(len(&get(&b.export_data().unwrap(), "events")), 1);
    wait(a.forget()).await;
    for _ in 0..50 {
        if len(&get(&b.export_data().unwrap(), "events")) == 0 {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(
        len(&get(&b.export_data().unwrap(), "events")),
        0,
        "forget reaches the other instance"
    );
    wait(a.close()).await;
    wait(b.close()).await;
}

#[wasm_bindgen_test]
async fn bad_input_throws_errors_that_name_the_problem() {
    let k = create("errors").await;
    k.track(js(r#"{"type": "view", "item": "mug"}"#)).unwrap();
    let cases: Vec<(Result<(), KindredError>, &str, &str)> = vec![
        (
            k.track(js(r#"{"type": "view", "item": "nope"}"#)),
            "unknown item id \"nope\"",
            "unknown-item",
        ),
        (
            k.track(js(r#"{"type": "vieww", "item": "mug"}"#)),
            "unknown type \"vieww\"",
            "invalid-event",
        ),
        (
            k.track(js(r#"{"type": "view", "itme": "mug"}"#)),
            "unknown field `itme`",
            "invalid-event",
        ),
        (
            k.recommend(js(r#"{"strategy": "similar"}"#)).map(drop),
            "item",
            "invalid-request",
        ),
        (
            k.recommend(js(r#"{"k": 0}"#)).map(drop),
            "\"k\"",
            "invalid-request",
        ),
        (
            k.explain("nope").map(drop),
            "unknown item id \"nope\"",
            "unknown-item",
        ),
        (
            k.remove_interest("   "),
            "invalid interest key",
            "invalid-argument",
        ),
    ];
    for (result, expected, code) in cases {
        let error: JsValue = result.expect_err(expected).into();
        assert_eq!(get(&error, "name"), "KindredError");
        assert_eq!(get(&error, "code"), code, "{expected}");
        let message = message_of(error);
        assert!(
            message.contains(expected),
            "{message:?} should mention {expected:?}"
        );
    }
    let rejected = JsFuture::from(k.load_catalog(js(r#"[{"id": "x"}]"#)))
        .await
        .expect_err("no valid row");
    assert_eq!(get(&rejected, "code"), "invalid-catalog");
    assert!(message_of(rejected).contains("no valid"));
    let bad_options: JsValue = Kindred::create(js(r#"{"stie": "x"}"#))
        .await
        .expect_err("typo in options")
        .into();
    assert_eq!(get(&bad_options, "code"), "invalid-option");
    assert!(message_of(bad_options).contains("unknown field `stie`"));
    // Nothing was lost: the one good event is still there, and the catalog still answers.
    assert_eq!(len(&get(&k.export_data().unwrap(), "events")), 1);
    assert_eq!(get(&k.status(), "catalogSize").as_f64(), Some(5.0));
    wait(k.forget()).await;
    wait(k.close()).await;
}

/// Catalog rows are read from JS values in place, including values JSON cannot hold.
#[wasm_bindgen_test]
async fn catalog_rows_are_validated_from_js_values() {
    let k = Kindred::create(js(r#"{"site": "js-rows", "storage": "memory"}"#))
        .await
        .expect("created");
    let rows = js(r#"[
      {"id": 7, "title": "Numeric id"},
      {"id": "ok", "title": "Fine", "brand": null, "tags": "single"},
      {"id": "nan", "title": "NaN price"},
      {"id": "fn", "title": "A function id"},
      {"id": 1.5, "title": "Fractional id"},
      ["not", "an", "object"]
    ]"#);
    let row = |i: u32| Array::from(&rows).get(i);
    Reflect::set(&row(2), &"price".into(), &f64::NAN.into()).unwrap();
    Reflect::set(&row(3), &"id".into(), &Function::new_no_args("")).unwrap();
    let report = wait(k.load_catalog(rows)).await;
    assert_eq!(get(&report, "loaded").as_f64(), Some(2.0));
    let reasons: Vec<String> = Array::from(&get(&report, "rejected"))
        .iter()
        .map(|r| get(&r, "reason").as_string().unwrap())
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0].contains("price must be a finite number, got NaN"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("a value JSON cannot hold"),
        "{reasons:?}"
    );
    assert!(reasons[2].contains("integer up to 2^53"), "{reasons:?}");
    assert!(
        reasons[3].contains("must be an object, got an array"),
        "{reasons:?}"
    );
    assert!(k.explain("7").is_ok(), "numeric ids are kept as text");
    wait(k.close()).await;
}

#[wasm_bindgen_test]
async fn without_indexeddb_it_works_in_memory_and_says_so() {
    let restore = hide_indexeddb();
    let created = Kindred::create(js(r#"{"site": "hidden"}"#)).await;
    restore.call0(&JsValue::NULL).unwrap();
    let k = created.expect("create never fails for storage");
    let status = k.status();
    assert_eq!(get(&status, "storage"), "memory");
    let warnings = get(&status, "warnings");
    assert_eq!(
        get(&Array::from(&warnings).get(0), "code"),
        "storage-unavailable"
    );
    wait(k.load_catalog(js(CATALOG))).await;
    k.track(js(r#"{"type": "view", "item": "mug"}"#)).unwrap();
    assert!(len(&k.recommend(js(r#"{"k": 2}"#)).unwrap()) > 0);
    // A listener added later still hears the warning.
    let heard = listen(&k, "warning");
    assert_eq!(heard.length(), 1);
}

#[wasm_bindgen_test]
async fn quota_errors_fall_back_to_memory_without_throwing() {
    let k = create("quota").await;
    let restore = fail_puts_with_quota();
    k.track(js(r#"{"type": "view", "item": "mug"}"#)).unwrap();
    wait(k.flush()).await;
    restore.call0(&JsValue::NULL).unwrap();
    let status = k.status();
    assert_eq!(get(&status, "storage"), "memory");
    let warnings = Array::from(&get(&status, "warnings"));
    assert_eq!(get(&warnings.get(0), "code"), "quota-exceeded");
    // Tracking goes on, in memory, without throwing.
    k.track(js(r#"{"type": "view", "item": "cup"}"#)).unwrap();
    assert_eq!(len(&get(&k.export_data().unwrap(), "events")), 2);
}

/// A model cached by a kindred that read model format 1 (snake_case fields) is refused when the
/// page starts, and the next `loadModel(url)` fetches the current one instead of revalidating
/// the old one's ETag.
#[wasm_bindgen_test]
async fn a_cached_model_of_an_older_format_is_refused_and_fetched_again() {
    let site = "old-model";
    let cached = js(r#"{"url": "/v1/model", "etag": "\"v1\"", "fetchedAt": 0,
        "model": {"format": 1, "version": 1, "built_epoch": 20000, "popularity": {"lego": 1.0},
            "trending": {}, "neighbours": {}, "interests": {}, "segment_axis": [], "segments": []}}"#);
    idb_put(&db_name(site), "model", cached).await;
    let k = Kindred::create(js(r#"{"site": "old-model"}"#))
        .await
        .expect("an old cache never breaks create");
    let status = k.status();
    assert!(
        get(&status, "model").is_null(),
        "the old model is not installed"
    );
    let warnings = Array::from(&get(&status, "warnings"));
    assert_eq!(get(&warnings.get(0), "code"), "model-cache-invalid");
    let message = get(&warnings.get(0), "message").as_string().unwrap();
    assert!(message.contains("model format 1 is older"), "{message}");
    wait(k.load_catalog(js(CATALOG))).await;
    let seen = serve_model(
        r#"{"format": 2, "version": 2, "builtEpoch": 20001, "popularity": {"kettle": 1.0},
            "trending": {"kettle": 1.0}, "neighbours": {}, "interests": {}, "segmentAxis": [],
            "segments": []}"#,
    );
    let loaded = JsFuture::from(k.load_model(JsValue::from("/v1/model"))).await;
    restore_fetch(&seen);
    let loaded = loaded.expect("the current model loads");
    assert_eq!(get(&loaded, "status"), "fetched");
    assert_eq!(get(&loaded, "version").as_f64(), Some(2.0));
    assert_eq!(seen.length(), 1);
    assert!(
        seen.get(0).is_null(),
        "fetched anew, not revalidated with the old ETag"
    );
    let trending = k
        .recommend(js(r#"{"strategy": "trending", "k": 1}"#))
        .unwrap();
    assert_eq!(get(&Array::from(&trending).get(0), "item"), "kettle");
    wait(k.close()).await;
    let stored = idb_get(&db_name(site), "model").await;
    assert_eq!(get(&get(&stored, "model"), "format").as_f64(), Some(2.0));
}

/// Stores `bytes` as the site's state (generation `gen`), then creates an instance over it.
async fn create_over_stored_bytes(site: &str, gen: u32, bytes: &[u8]) -> Kindred {
    let record = js(&format!(r#"{{"gen": {gen}}}"#));
    let bytes = js_sys::Uint8Array::from(bytes);
    Reflect::set(&record, &"bytes".into(), &bytes).unwrap();
    idb_put(&db_name(site), "state", record).await;
    Kindred::create(js(&format!(r#"{{"site": "{site}"}}"#)))
        .await
        .expect("recovers")
}

#[wasm_bindgen_test]
async fn corrupt_state_is_quarantined_and_replaced() {
    let site = "corrupt";
    let k = create_over_stored_bytes(site, 3, b"KNDS\x01\x00garbage-bytes").await;
    let warnings = listen(&k, "warning");
    assert_eq!(get(&warnings.get(0), "code"), "state-unreadable");
    let quarantined = Array::from(&get(&k.export_data().unwrap(), "quarantined"));
    assert_eq!(quarantined.length(), 1);
    // The old bytes are handed back untouched (base64 of the garbage above).
    assert_eq!(
        get(&quarantined.get(0), "bytesBase64"),
        "S05EUwEAZ2FyYmFnZS1ieXRlcw=="
    );
    // The engine works and its state is saved over the bad record.
    wait(k.load_catalog(js(CATALOG))).await;
    k.track(js(r#"{"type": "view", "item": "mug"}"#)).unwrap();
    wait(k.close()).await;
    let stored = idb_get(&db_name(site), "state").await;
    assert!(get(&stored, "gen").as_f64().unwrap() > 3.0);
    let again = create(site).await;
    assert_eq!(len(&get(&again.export_data().unwrap(), "events")), 1);
    assert_eq!(len(&get(&again.export_data().unwrap(), "quarantined")), 1);
    wait(again.forget()).await;
    assert_eq!(len(&get(&again.export_data().unwrap(), "quarantined")), 0);
    wait(again.close()).await;
}

#[wasm_bindgen_test]
async fn a_state_from_a_newer_version_is_kept_not_read() {
    let site = "future";
    // A valid header with format version 999.
    let k = create_over_stored_bytes(site, 1, b"KNDS\xe7\x03\0\0\0\0payload").await;
    let warning = Array::from(&get(&k.status(), "warnings")).get(0);
    assert_eq!(get(&warning, "code"), "state-unreadable");
    assert!(get(&warning, "message")
        .as_string()
        .unwrap()
        .contains("newer"));
    wait(k.forget()).await;
    wait(k.close()).await;
}

#[wasm_bindgen_test]
async fn retention_deletes_old_events() {
    let k = create("retention").await;
    let now = js_sys::Date::now();
    let old = now - 400.0 * DAY_MS;
    k.track(js(&format!(
        r#"{{"type": "view", "item": "mug", "ts": {old}}}"#
    )))
    .unwrap();
    k.track(js(r#"{"type": "view", "item": "cup"}"#)).unwrap();
    wait(k.close()).await;
    let again = create("retention").await;
    let events = Array::from(&get(&again.export_data().unwrap(), "events"));
    assert_eq!(
        events.length(),
        1,
        "the 400-day-old view is gone (retention: 90 days)"
    );
    assert_eq!(get(&events.get(0), "item"), "cup");
    wait(again.forget()).await;
    wait(again.close()).await;
}

/// Stores `outbox` for `site`, creates an instance reporting to "/" (`extra` options too) and
/// waits until its outbox is empty.
async fn create_over_outbox(site: &str, outbox: JsValue, extra: &str) -> Kindred {
    idb_put(&db_name(site), "outbox", outbox).await;
    let k = Kindred::create(js(&format!(
        r#"{{"site": "{site}", "endpoint": "/", "reportDelayMs": 1{extra}}}"#
    )))
    .await
    .expect("create");
    for _ in 0..100 {
        if len(&get(&k.privacy().unwrap(), "outbox")) == 0 {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(len(&get(&k.privacy().unwrap(), "outbox")), 0);
    k
}

#[wasm_bindgen_test]
async fn undelivered_reports_are_dropped_after_outbox_days() {
    let site = "outbox";
    let old = js_sys::Date::now() - 10.0 * DAY_MS;
    let entry = js(&format!(
        r#"[{{"day": 1, "json": "{{}}", "committedAt": {old}, "attempts": 3, "nextAt": 0, "claimedUntil": 0}}]"#
    ));
    let k = create_over_outbox(site, entry, r#", "outboxDays": 7"#).await;
    let codes: Vec<JsValue> = Array::from(&get(&k.status(), "warnings"))
        .iter()
        .map(|w| get(&w, "code"))
        .collect();
    assert!(codes.contains(&"report-dropped".into()), "{codes:?}");
    wait(k.forget()).await;
    wait(k.close()).await;
}

/// A page that closed while sending left its claim behind without an outcome; the report may
/// have arrived, so it is dropped rather than sent twice (at most one report per day).
#[wasm_bindgen_test]
async fn a_report_whose_sending_page_closed_is_not_sent_again() {
    let site = "outbox-unsettled";
    let now = js_sys::Date::now();
    let entry = js(&format!(
        r#"[{{"day": 1, "json": "{{}}", "committedAt": {now}, "attempts": 0, "nextAt": 0, "claimedUntil": {}}}]"#,
        now - 1000.0
    ));
    let k = create_over_outbox(site, entry, "").await;
    let warnings: Vec<(JsValue, String)> = Array::from(&get(&k.status(), "warnings"))
        .iter()
        .map(|w| {
            (
                get(&w, "code"),
                get(&w, "message").as_string().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "dropped without an attempt: {warnings:?}"
    );
    assert_eq!(warnings[0].0, "report-dropped");
    assert!(warnings[0].1.contains("page closed"), "{warnings:?}");
    wait(k.forget()).await;
    wait(k.close()).await;
}

#[wasm_bindgen_test]
async fn privacy_shows_the_mode_the_ledger_and_why_nothing_is_sent() {
    let k = Kindred::create(js(
        r#"{"site": "privacy-view", "privacy": {"mode": "ldp", "epsilonPerWindow": 2, "caps": {"items": 10}}}"#,
    ))
    .await
    .expect("create");
    let view = k.privacy().unwrap();
    assert_eq!(get(&view, "mode"), "ldp");
    assert_eq!(get(&view, "blockedBy"), "no-endpoint");
    let ledger = get(&view, "ledger");
    assert_eq!(get(&ledger, "cap").as_f64(), Some(2.0));
    assert_eq!(get(&ledger, "spent").as_f64(), Some(0.0));
    assert_eq!(get(&ledger, "windowDays").as_f64(), Some(30.0));
    assert_eq!(get(&ledger, "delta").as_f64(), Some(1e-6));
    let today = (js_sys::Date::now() / DAY_MS).floor();
    assert_eq!(
        get(&ledger, "window").as_f64(),
        Some(today - today % 30.0),
        "windows are aligned to day 0"
    );
    assert_eq!(len(&get(&ledger, "windows")), 0);
    assert!(get(&view, "window").is_null(), "nothing contributed yet");
    assert!(get(&view, "lastReportedDay").is_null());
    let caps = get(&view, "caps");
    assert_eq!(get(&caps, "items").as_f64(), Some(10.0));
    assert_eq!(
        get(&caps, "pairs").as_f64(),
        Some(128.0),
        "other caps keep their defaults"
    );
    assert!(get(&view, "nextReport").is_null(), "no events, no report");
    let error = k.consent("maybe").expect_err("bad consent");
    assert!(message_of(error.into()).contains("invalid consent"));
    wait(k.close()).await;
}

#[wasm_bindgen_test]
async fn bad_privacy_options_say_what_to_use_instead() {
    for (options, expected) in [
        (
            r#"{"privacy": {"epsilonPerDay": 1}}"#,
            "invalid option \"privacy.epsilonPerDay\": it was replaced by \"privacy.epsilonPerWindow\" (ε per shopper per 30-day window",
        ),
        (
            r#"{"privacy": {"mode": "threshold", "epsilon30Days": 20}}"#,
            "invalid option \"privacy.epsilon30Days\": it was replaced by \"privacy.epsilonPerWindow\"",
        ),
        (
            r#"{"privacy": {"epsilonPerWindow": 500}}"#,
            "invalid option \"privacy.epsilonPerWindow\": epsilon must be a number in (0, 100]",
        ),
        (
            r#"{"privacy": {"delta": 0.5}}"#,
            "invalid option \"privacy.delta\"",
        ),
        (
            r#"{"privacy": {"windowDays": 0}}"#,
            "invalid option \"privacy.windowDays\": must be from 1 to 366 days",
        ),
        (
            r#"{"privacy": {"caps": {"items": 0}}}"#,
            "invalid option \"privacy.caps.items\"",
        ),
        (
            r#"{"privacy": {"caps": {"item": 3}}}"#,
            "unknown field `item`",
        ),
        (
            r#"{"retentionDays": 90, "purchaseMemoryDays": 30}"#,
            "invalid option \"purchaseMemoryDays\": 30 is less than retentionDays (90)",
        ),
    ] {
        let error = Kindred::create(js(options)).await.expect_err(options);
        let message = message_of(error.into());
        assert!(message.contains(expected), "{message:?} should contain {expected:?}");
    }
    // Unset, the purchase memory follows a longer retention instead of refusing it.
    let k = Kindred::create(js(r#"{"storage": "memory", "retentionDays": 500}"#))
        .await
        .expect("purchaseMemoryDays defaults to at least retentionDays");
    wait(k.close()).await;
}

/// First day of a contribution window (20580 % 30 == 0), at 09:00 UTC on its `day`-th day.
fn window_day(day: u32) -> f64 {
    f64::from(WINDOW + day) * DAY_MS + 9.0 * 3_600_000.0
}
const WINDOW: u32 = 20_580;
const DAY_MS: f64 = kindred_core::DAY_MS as f64;

/// Creates an instance of `site` reporting to "/" at once (reports are captured by
/// `capture_reports`).
async fn reporting(site: &str, extra: &str) -> Kindred {
    let options = format!(
        r#"{{"site": "{site}", "endpoint": "/", "reportDelayMs": 1, "flushDelayMs": 10{extra}}}"#
    );
    let k = Kindred::create(js(&options)).await.expect("create");
    wait(k.load_catalog(js(CATALOG))).await;
    k
}

/// Waits until `k` has nothing left to report or deliver.
async fn settle(k: &Kindred) {
    for _ in 0..200 {
        let view = k.privacy().unwrap();
        if get(&view, "nextReport").is_null() && len(&get(&view, "outbox")) == 0 {
            return;
        }
        sleep(10).await;
    }
    panic!("reports did not settle: {:?}", k.privacy().unwrap());
}

fn parse_reports(sent: &Array) -> Vec<JsValue> {
    sent.iter()
        .map(|body| js(&body.as_string().expect("a JSON body")))
        .collect()
}

fn strings_of(report: &JsValue, key: &str) -> Vec<String> {
    let list = get(report, key);
    if list.is_undefined() {
        return Vec::new();
    }
    Array::from(&list)
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect()
}

/// Two instances of one site (two tabs) hold the same keys on the same days and report at
/// the same time: every commit happens inside the IndexedDB read-modify-write after merging
/// the other's state, so each day is reported once and each key is contributed once.
#[wasm_bindgen_test]
async fn two_instances_contribute_each_key_once_per_window() {
    set_clock(window_day(10));
    let sent = capture_reports();
    let site = "window-tabs";
    let pending = r#", "consent": "pending""#;
    let (a, b) = (
        reporting(site, pending).await,
        reporting(site, pending).await,
    );
    for (k, item, day) in [
        (&a, "mug", 8),
        (&a, "cup", 9),
        (&b, "mug", 9),
        (&b, "kettle", 9),
        (&b, "cup", 8),
    ] {
        let ts = window_day(day);
        k.track(js(&format!(
            r#"{{"type": "view", "item": "{item}", "ts": {ts}}}"#
        )))
        .unwrap();
    }
    // A click on a for-you recommendation in each instance, on both days: the window is told
    // once that the shopper clicked for-you.
    for (k, day) in [(&a, 8), (&b, 9), (&a, 9)] {
        let ts = window_day(day);
        k.track(js(&format!(
            r#"{{"type": "click", "item": "mug", "strategy": "for-you", "ts": {ts}}}"#
        )))
        .unwrap();
    }
    wait(a.flush()).await;
    wait(b.flush()).await;
    a.consent("granted").unwrap();
    b.consent("granted").unwrap();
    settle(&a).await;
    settle(&b).await;
    sleep(100).await;
    let reports = parse_reports(&sent);
    assert!(
        !reports.is_empty() && reports.len() <= 2,
        "one report per day at most: {reports:?}"
    );
    let mut items: Vec<String> = Vec::new();
    let mut pairs: Vec<String> = Vec::new();
    let mut strategies: Vec<String> = Vec::new();
    for r in &reports {
        if !get(r, "strategies").is_undefined() {
            strategies.push(String::from(
                js_sys::JSON::stringify(&get(r, "strategies")).unwrap(),
            ));
        }
        assert_eq!(get(r, "v").as_f64(), Some(2.0));
        assert_eq!(get(r, "window").as_f64(), Some(f64::from(WINDOW)));
        assert_eq!(get(r, "days").as_f64(), Some(30.0));
        assert!(get(r, "day").is_undefined() && get(r, "epoch").is_undefined());
        items.extend(strings_of(r, "items"));
        if let Some(list) = get(r, "pairs").dyn_ref::<Array>() {
            pairs.extend(
                list.iter()
                    .map(|p| String::from(js_sys::JSON::stringify(&p).unwrap())),
            );
        }
    }
    items.sort();
    assert_eq!(
        items,
        ["cup", "kettle", "mug"],
        "every key exactly once: {reports:?}"
    );
    let unique: std::collections::BTreeSet<&String> = pairs.iter().collect();
    assert_eq!(unique.len(), pairs.len(), "no pair twice: {pairs:?}");
    assert_eq!(
        pairs.len(),
        3,
        "the three items' pairs, once each: {pairs:?}"
    );
    assert_eq!(
        strategies,
        [r#"{"for-you":{"impressions":0,"clicks":1}}"#],
        "clicked for-you, once in the window: {reports:?}"
    );
    // Both instances, and a third one reading storage, agree on what the window holds.
    let c = reporting(site, "").await;
    for k in [&a, &b, &c] {
        let window = get(&k.privacy().unwrap(), "window");
        assert_eq!(get(&window, "firstDay").as_f64(), Some(f64::from(WINDOW)));
        assert_eq!(
            get(&window, "lastDay").as_f64(),
            Some(f64::from(WINDOW + 29))
        );
        let mut held = strings_of(&window, "items");
        held.sort();
        assert_eq!(held, ["cup", "kettle", "mug"]);
        assert_eq!(len(&get(&window, "pairs")), 3);
        assert_eq!(strings_of(&window, "clicked"), ["for-you"]);
        assert_eq!(
            len(&get(&window, "shown")),
            0,
            "no list shown on days 8 and 9"
        );
    }
    restore_fetch(&sent);
    reset_clock();
    wait(c.forget()).await;
    for k in [a, b, c] {
        wait(k.close()).await;
    }
}

/// After `forget()` the window is closed, also across a reload: nothing more is contributed to
/// it, not even keys tracked after forgetting; the next window contributes again. The ledger
/// and the last reported day survive.
#[wasm_bindgen_test]
async fn forget_closes_the_window_until_the_next_one() {
    set_clock(window_day(10));
    let sent = capture_reports();
    let site = "window-forget";
    let k = reporting(site, "").await;
    let ts = window_day(9);
    k.track(js(&format!(
        r#"{{"type": "cart", "item": "mug", "ts": {ts}}}"#
    )))
    .unwrap();
    k.track(js(&format!(
        r#"{{"type": "click", "item": "mug", "strategy": "trending", "ts": {ts}}}"#
    )))
    .unwrap();
    wait(k.flush()).await;
    settle(&k).await;
    let reports = parse_reports(&sent);
    assert_eq!(reports.len(), 1);
    assert_eq!(strings_of(&reports[0], "items"), ["mug"]);
    let window = get(&k.privacy().unwrap(), "window");
    assert_eq!(strings_of(&window, "clicked"), ["trending"]);
    let spent = get(&get(&k.privacy().unwrap(), "ledger"), "spent")
        .as_f64()
        .unwrap();
    assert!(spent > 0.0);
    wait(k.forget()).await;
    let data = k.export_data().unwrap();
    let window = get(&data, "window");
    assert_eq!(get(&window, "closed"), true);
    assert_eq!(
        len(&get(&window, "items")),
        0,
        "the window's keys are deleted"
    );
    assert_eq!(
        len(&get(&window, "clicked")),
        0,
        "and which recommendations were clicked"
    );
    wait(k.close()).await;

    // A reload two days later: the window is still closed, the ledger and day are kept.
    set_clock(window_day(12));
    let k = reporting(site, "").await;
    let view = k.privacy().unwrap();
    assert_eq!(get(&get(&view, "window"), "closed"), true);
    assert_eq!(
        get(&view, "lastReportedDay").as_f64(),
        Some(f64::from(WINDOW + 9))
    );
    assert_eq!(get(&get(&view, "ledger"), "spent").as_f64(), Some(spent));
    let ts = window_day(11);
    k.track(js(&format!(
        r#"{{"type": "purchase", "item": "mug", "ts": {ts}}}"#
    )))
    .unwrap();
    k.track(js(&format!(
        r#"{{"type": "view", "item": "lego", "ts": {ts}}}"#
    )))
    .unwrap();
    wait(k.flush()).await;
    assert!(
        get(&k.privacy().unwrap(), "nextReport").is_null(),
        "nothing more for the closed window"
    );
    sleep(100).await;
    assert_eq!(sent.length(), 1, "no report for the rest of the window");
    wait(k.close()).await;

    // The next window: its first day's activity is reported, mug included.
    set_clock(window_day(31));
    let k = reporting(site, "").await;
    let ts = window_day(30);
    k.track(js(&format!(
        r#"{{"type": "view", "item": "mug", "ts": {ts}}}"#
    )))
    .unwrap();
    wait(k.flush()).await;
    settle(&k).await;
    let reports = parse_reports(&sent);
    assert_eq!(reports.len(), 2);
    assert_eq!(
        get(&reports[1], "window").as_f64(),
        Some(f64::from(WINDOW + 30))
    );
    assert_eq!(strings_of(&reports[1], "items"), ["mug"]);
    let view = k.privacy().unwrap();
    let window = get(&view, "window");
    assert_eq!(
        get(&window, "firstDay").as_f64(),
        Some(f64::from(WINDOW + 30))
    );
    assert_eq!(get(&window, "closed"), false);
    let ledger = get(&view, "ledger");
    assert_eq!(
        get(&ledger, "window").as_f64(),
        Some(f64::from(WINDOW + 30))
    );
    assert_eq!(len(&get(&ledger, "windows")), 2, "one entry per window");
    restore_fetch(&sent);
    reset_clock();
    wait(k.forget()).await;
    wait(k.close()).await;
}
