//! The HTTP API of the real `kindred serve` on 127.0.0.1: bad inputs, the model and its
//! caching, the threshold, CORS, the admin token, rate limiting, metrics and static files.

mod support;

use std::io::Read;

use base64::Engine;
use kindred_core::SharedModel;
use support::{
    db_counters, db_released, metric, open_window, report, report_in, today, yesterday, Server,
    ADMIN_TOKEN, WINDOW_DAYS,
};

/// The top-level fields of the core's model JSON. The browser's `loadModel` refuses any other
/// field, and tests/server.test.mjs proves that it installs what this server serves; here the
/// served body must carry exactly the core's fields, nothing added.
/// Every field of the core's model JSON, the optional ones included (a model built from these
/// releases has a learned item model).
fn core_model_fields() -> Vec<String> {
    let full = SharedModel {
        item_model: Some(kindred_core::ItemModelInfo {
            kind: "ease".into(),
            items: 1,
            lambda: 1.0,
        }),
        ..SharedModel::default()
    };
    let empty: serde_json::Value = serde_json::from_str(&full.to_json()).expect("core model JSON");
    let mut fields: Vec<String> = empty.as_object().expect("object").keys().cloned().collect();
    fields.sort_unstable();
    fields
}

/// A bad request: what it is, its content type, body, expected status and error code.
type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);

fn stored_rows(server: &Server) -> usize {
    db_counters(&server.db()).len()
}

#[test]
fn bad_inputs_are_refused_with_their_status_and_store_nothing() {
    let dir = support::test_dir("bad-inputs");
    let server = Server::start(&dir, &["--rate-limit", "0", "--admin-token", ADMIN_TOKEN]);
    let w = open_window();
    let good = report(w, &["mug", "tea"]);
    let too_many: Vec<String> = (0..65).map(|i| format!("i{i:02}")).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let big = format!(
        r#"{{"v":2,"window":{w},"days":30,"mode":"threshold","items":["{}"]}}"#,
        "x".repeat(70 * 1024)
    );
    let mut non_utf8 = good.clone().into_bytes();
    non_utf8.insert(non_utf8.len() - 3, 0xff);
    let head = format!(r#""v":2,"window":{w},"days":30"#);
    let json = Some("application/json");
    let cases: Vec<Case<'_>> = vec![
        ("malformed JSON", json, br#"{"v":2,"window":"#.to_vec(), 400, "invalid-report"),
        ("not an object", json, b"42".to_vec(), 400, "invalid-report"),
        (
            "version 1 (per day)",
            json,
            format!(r#"{{"v":1,"epoch":{},"mode":"threshold","items":["mug"]}}"#, yesterday()).into_bytes(),
            400,
            "unsupported-version",
        ),
        ("unknown version", json, format!(r#"{{"v":3,"window":{w},"days":30,"mode":"threshold"}}"#).into_bytes(), 400, "unsupported-version"),
        ("wrong window length", json, report_in(w, 7, &["mug"]).into_bytes(), 400, "window-mismatch"),
        ("misaligned window", json, report(w + 1, &["mug"]).into_bytes(), 400, "window-misaligned"),
        ("future window", json, report(w + 2 * WINDOW_DAYS, &["mug"]).into_bytes(), 400, "window-not-accepted"),
        ("window past its release", json, report(w - 2 * WINDOW_DAYS, &["mug"]).into_bytes(), 400, "window-not-accepted"),
        ("oversized body", json, big.clone().into_bytes(), 413, "payload-too-large"),
        ("too many keys", json, report(w, &too_many).into_bytes(), 400, "invalid-report"),
        ("wrong type", json, format!(r#"{{{head},"mode":"threshold","items":"mug"}}"#).into_bytes(), 400, "invalid-report"),
        ("number as key", json, format!(r#"{{{head},"mode":"threshold","items":[7]}}"#).into_bytes(), 400, "invalid-report"),
        ("non-UTF-8", json, non_utf8, 400, "not-utf8"),
        (
            "duplicate field",
            json,
            format!(r#"{{{head},"mode":"threshold","items":["a"],"items":["b"]}}"#).into_bytes(),
            400,
            "invalid-report",
        ),
        ("duplicate key", json, report(w, &["mug", "mug"]).into_bytes(), 400, "invalid-report"),
        (
            "negative counter",
            json,
            format!(r#"{{{head},"mode":"threshold","strategies":{{"for-you":{{"impressions":-1,"clicks":0}}}}}}"#)
                .into_bytes(),
            400,
            "invalid-report",
        ),
        (
            "counter above 1 (a strategy counts once per window)",
            json,
            format!(r#"{{{head},"mode":"threshold","strategies":{{"for-you":{{"impressions":2,"clicks":0}}}}}}"#)
                .into_bytes(),
            400,
            "invalid-report",
        ),
        ("identifying field", json, format!(r#"{{{head},"mode":"threshold","user":"u1"}}"#).into_bytes(), 400, "invalid-report"),
        ("a day field", json, format!(r#"{{{head},"epoch":{w},"mode":"threshold"}}"#).into_bytes(), 400, "invalid-report"),
        ("mode off", json, format!(r#"{{{head},"mode":"off"}}"#).into_bytes(), 400, "invalid-report"),
        (
            "ldp not accepted",
            json,
            format!(r#"{{{head},"mode":"ldp","ldp":{{"eps":1.0,"l":4,"items":{{"s":1,"y":0}},"pairs":{{"s":1,"y":0}},"interests":{{"s":1,"y":0}},"strategies":{{"s":1,"y":0}}}}}}"#).into_bytes(),
            400,
            "mode-not-accepted",
        ),
        (
            "batch with one bad report",
            json,
            format!("[{good}, {}]", report(w, &["", "x"])).into_bytes(),
            400,
            "invalid-report",
        ),
        (
            "batch with one v1 report",
            json,
            format!(r#"[{good}, {{"v":1,"epoch":{},"mode":"threshold"}}]"#, yesterday()).into_bytes(),
            400,
            "unsupported-version",
        ),
        ("empty batch", json, b"[]".to_vec(), 400, "empty-batch"),
        ("wrong content type", Some("text/plain"), good.clone().into_bytes(), 415, "unsupported-media-type"),
        ("form content type", Some("application/x-www-form-urlencoded"), good.clone().into_bytes(), 415, "unsupported-media-type"),
        ("no content type", None, good.clone().into_bytes(), 415, "unsupported-media-type"),
    ];
    for (what, content_type, body, status, code) in &cases {
        let headers: Vec<(&str, &str)> =
            content_type.iter().map(|c| ("content-type", *c)).collect();
        let r = server.request("POST", "/v1/reports", &headers, body);
        assert_eq!(r.status, *status, "{what}: {}", r.text());
        assert_eq!(r.error_code(), *code, "{what}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
        assert_eq!(stored_rows(&server), 0, "{what}: something was stored");
    }
    // An oversized body without Content-Length (chunked) is cut off at the limit too.
    let chunk = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let r = server.request(
        "POST",
        "/v1/reports",
        &[
            ("content-type", "application/json"),
            ("transfer-encoding", "chunked"),
        ],
        chunk.as_bytes(),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "payload-too-large")
    );
    let v1 = server.post_json(
        "/v1/reports",
        &format!(r#"{{"v":1,"epoch":{},"mode":"threshold"}}"#, yesterday()),
    );
    let detail = v1.json()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(
        detail.contains("version 1") && detail.contains("sends version 2"),
        "{detail}"
    );
    // Other methods get JSON errors too.
    let r = server.get("/v1/reports");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (405, "method-not-allowed")
    );
    assert_eq!(stored_rows(&server), 0);

    // The checks above can fail: a good report is stored.
    let r = server.post_json("/v1/reports", &good);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["accepted"], 1);
    let rows = db_counters(&server.db());
    assert_eq!(rows.get(&(w, "items".into(), "mug".into())), Some(&1));
    assert_eq!(rows.get(&(w, "reports".into(), String::new())), Some(&1));
    assert_eq!(rows.len(), 3, "{rows:?}");

    assert_eq!(server.get("/metrics").status, 401, "metrics are not public");
    let metrics = server.admin("GET", "/metrics").text();
    assert_eq!(
        metric(
            &metrics,
            "kindred_reports_rejected_total{reason=\"invalid-report\"}"
        ),
        Some(13.0)
    );
    for (reason, count) in [
        ("unsupported-version", 4.0),
        ("window-not-accepted", 2.0),
        ("window-mismatch", 1.0),
        ("window-misaligned", 1.0),
    ] {
        assert_eq!(
            metric(
                &metrics,
                &format!("kindred_reports_rejected_total{{reason=\"{reason}\"}}")
            ),
            Some(count),
            "{reason}"
        );
    }
    assert_eq!(
        metric(
            &metrics,
            "kindred_reports_rejected_total{reason=\"payload-too-large\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(
            &metrics,
            "kindred_reports_rejected_total{reason=\"unsupported-media-type\"}"
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(&metrics, "kindred_reports_accepted_total"),
        Some(1.0)
    );
    assert_eq!(
        metric(&metrics, "kindred_ingest_duration_seconds_count"),
        Some(1.0)
    );
    assert!(
        metric(&metrics, "kindred_model_age_seconds").is_some(),
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "kindred_http_requests_total{route=\"/v1/reports\",status=\"202\"}"
        ),
        Some(1.0)
    );
}

/// Posts `n` copies of a report.
fn post_many(server: &Server, body: &str, n: usize) {
    for _ in 0..n {
        let r = server.post_json("/v1/reports", body);
        assert_eq!(r.status, 202, "{}", r.text());
    }
}

fn fetch_model(server: &Server) -> (serde_json::Value, SharedModel) {
    let r = server.get("/v1/model");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    // Parsed the way the client's engine validates it.
    let model = SharedModel::from_json(&text).expect("the core accepts the served model");
    (r.json(), model)
}

/// Settings whose noise is negligible (test only): epsilon 100 and caps of one or two keys
/// make the standard deviation of the count noise 0.2 (items) to 0.46 (strategies), so a count
/// of k comes out as k.
/// Windows of one day, so yesterday's window closes tomorrow.
const NEARLY_EXACT: &str = r#"
epsilon = 100.0
k = 5
window_days = 1
release_delay_days = 1
[caps]
items = 2
pairs = 1
interests = 1
impressions = 1
clicks = 1
"#;

/// A server on `config` with no rate limit and the test's admin token.
fn start_unlimited_with_config(dir: &std::path::Path, config: &str) -> Server {
    Server::start(
        dir,
        &[
            "--config",
            config,
            "--rate-limit",
            "0",
            "--admin-token",
            ADMIN_TOKEN,
        ],
    )
}

#[test]
fn the_model_holds_keys_of_at_least_k_shoppers_only_once_their_window_is_released() {
    let dir = support::test_dir("threshold");
    let config = dir.join("kindred.toml");
    std::fs::write(&config, NEARLY_EXACT).expect("config");
    let config_arg = config.to_str().expect("utf-8").to_owned();
    let server = start_unlimited_with_config(&dir, &config_arg);
    // Yesterday's one-day window still takes reports today (release delay 1).
    let y = yesterday();
    let popular = format!(
        r#"{{"v":2,"window":{y},"days":1,"mode":"threshold","items":["mug","spoon"],"pairs":[["mug","spoon"]],"interests":["brand:Acme"],"strategies":{{"for-you":{{"impressions":1,"clicks":1}}}}}}"#
    );
    post_many(&server, &popular, 5);
    // k - 1 = 4 shoppers: never released, whatever the noise (the count itself must reach k).
    // Shown for-you too, without clicking: 9 shoppers shown, 5 who clicked.
    let rare = format!(
        r#"{{"v":2,"window":{y},"days":1,"mode":"threshold","items":["rare"],"strategies":{{"for-you":{{"impressions":1,"clicks":0}}}}}}"#
    );
    post_many(&server, &rare, 4);
    // Nothing is published before the window is released.
    let (_, before) = fetch_model(&server);
    assert!(before.popularity.is_empty(), "{before:?}");
    let pending = |server: &Server| {
        metric(
            &server.admin("GET", "/metrics").text(),
            "kindred_pending_reports",
        )
    };
    assert_eq!(pending(&server), Some(9.0));
    let open = server.admin("GET", "/v1/stats").json();
    let row = &open["windows"][0];
    assert_eq!(
        (
            row["window"].as_u64(),
            row["days"].as_u64(),
            row["reports"].as_u64()
        ),
        (Some(u64::from(y)), Some(1), Some(9)),
        "{open}"
    );
    assert_eq!(row["released"], false);
    assert_eq!(row["releasesOn"].as_u64(), Some(u64::from(y) + 2), "{row}");
    assert_eq!(
        server.rebuild()["released"],
        serde_json::json!([]),
        "still open"
    );
    let status = server.stop();
    assert!(status.success(), "{status:?}");

    // Tomorrow the window is closed: the server's own rebuild releases it (here in process,
    // with tomorrow's date; the store is the same file).
    let settings = kindred_server::config::Settings::resolve(&kindred_server::config::CommonArgs {
        config: Some(config.clone()),
        database: Some(dir.join("kindred.db").to_str().expect("utf-8").to_owned()),
        ..Default::default()
    })
    .expect("settings");
    let tomorrow = today() + 1;
    let mut store = kindred_server::store::open_backend(&settings.database)
        .and_then(|b| b.open())
        .expect("opens");
    let released = kindred_server::build_model::rebuild(&mut *store, &settings, tomorrow, 0, None)
        .expect("rebuilds");
    assert_eq!(
        released.released,
        vec![kindred_server::store::Period::new(y, 1)]
    );
    assert_eq!(released.as_of, y);
    drop(store);
    assert_eq!(db_released(&dir.join("kindred.db")), vec![(y, 1)]);
    assert!(
        db_counters(&dir.join("kindred.db")).is_empty(),
        "raw counters are deleted once released"
    );

    let server = start_unlimited_with_config(&dir, &config_arg);
    assert_eq!(
        pending(&server),
        Some(0.0),
        "released windows are not pending"
    );
    let (raw, model) = fetch_model(&server);
    let fields: Vec<String> = raw.as_object().expect("object").keys().cloned().collect();
    assert_eq!(fields, core_model_fields(), "exactly the core's fields");
    assert_eq!(
        model.built_epoch, tomorrow,
        "the startup rebuild had nothing new to build and kept that model"
    );
    assert!(model.popularity.contains_key("mug") && model.popularity.contains_key("spoon"));
    assert!(!model.popularity.contains_key("rare"), "4 shoppers < k = 5");
    assert_eq!(model.neighbours["mug"][0].item, "spoon");
    assert_eq!(model.interests.get("brand:Acme"), Some(&1.0));

    let stats = server.admin("GET", "/v1/stats").json();
    assert_eq!(stats["suppressed"]["items"], 1);
    let row = &stats["windows"][0];
    assert_eq!(
        (row["window"].as_u64(), row["reports"].as_u64()),
        (Some(u64::from(y)), Some(9))
    );
    assert_eq!(row["released"], true);
    assert_eq!(row["releasedKeys"]["items"], 2);
    assert_eq!(stats["model"]["asOf"].as_u64(), Some(u64::from(y)));
    assert_eq!(stats["topItems"].as_array().map(Vec::len), Some(2));
    // The noise on the strategy counters is the one formula's, as the release recorded it.
    let sigma = settings
        .privacy
        .aggregation
        .sigma(kindred_core::Family::Strategies);
    // (Equal up to the last bit: serde_json's default float parser may round it differently.)
    let close = |v: &serde_json::Value, expected: f64| {
        v.as_f64()
            .is_some_and(|v| (v - expected).abs() <= 1e-12 * expected)
    };
    assert!(
        close(&stats["privacy"]["noiseSigma"]["strategies"], sigma),
        "{} against {sigma}",
        stats["privacy"]["noiseSigma"]
    );
    assert!(
        close(&stats["ctrMinShown"], 10.0 * sigma),
        "{}",
        stats["ctrMinShown"]
    );
    assert_eq!(
        stats["strategyWindow"]["window"].as_u64(),
        Some(u64::from(y))
    );
    let for_you = stats["strategies"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["strategy"] == "for-you"))
        .expect("for-you row");
    let (shown, clicked) = (
        for_you["shown"].as_f64().expect("number"),
        for_you["clicked"].as_f64().expect("number"),
    );
    assert!((shown - 9.0).abs() <= 6.0 * sigma, "{for_you}");
    assert!((clicked - 5.0).abs() <= 6.0 * sigma, "{for_you}");
    // 9 shoppers shown, 10σ ≈ 4.6: click-through per shopper is given, the share who clicked.
    assert!(shown >= 10.0 * sigma, "{for_you}");
    assert_eq!(
        for_you["ctr"].as_f64(),
        Some((clicked / shown).clamp(0.0, 1.0)),
        "{for_you}"
    );
    let trending = stats["strategies"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["strategy"] == "trending"))
        .expect("every strategy has a row");
    assert!(
        trending["ctr"].is_null(),
        "no shopper shown: too few to tell {trending}"
    );
    assert_eq!(stats["pairs"][0]["a"], "mug");

    // A late report for the released window is refused: a window is released once.
    let r = server.post_json("/v1/reports", &report_in(y, 1, &["rare"]));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "window-not-accepted")
    );
    assert!(r.text().contains("released"), "{}", r.text());
    assert!(db_counters(&dir.join("kindred.db")).is_empty());
    // A rebuild with nothing new builds nothing and keeps the version (clients get 304).
    let again = server.rebuild();
    assert_eq!(
        (
            again["modelChanged"].as_bool(),
            again["modelBuilt"].as_bool()
        ),
        (Some(false), Some(false)),
        "{again}"
    );
    assert_eq!(again["modelVersion"], model.version);
}

#[test]
fn the_model_is_cached_by_etag_and_compressed() {
    let dir = support::test_dir("model-http");
    let server = Server::start(&dir, &[]);
    let plain = server.get("/v1/model");
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(plain.header("cache-control"), Some("public, max-age=300"));
    assert!(plain
        .header("vary")
        .is_some_and(|v| v.contains("accept-encoding")));
    assert!(plain
        .header("last-modified")
        .is_some_and(|v| v.ends_with(" GMT")));
    let etag = plain.header("etag").expect("etag").to_owned();
    assert!(etag.starts_with("\"1-"), "{etag}");

    let gz = server.request("GET", "/v1/model", &[("accept-encoding", "gzip")], b"");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut out)
        .expect("gzip");
    assert_eq!(out, plain.body);
    let br = server.request(
        "GET",
        "/v1/model",
        &[("accept-encoding", "gzip, deflate, br")],
        b"",
    );
    assert_eq!(br.header("content-encoding"), Some("br"));
    let mut out = Vec::new();
    brotli::Decompressor::new(&br.body[..], 4096)
        .read_to_end(&mut out)
        .expect("br");
    assert_eq!(out, plain.body);

    let not_modified = server.request("GET", "/v1/model", &[("if-none-match", &etag)], b"");
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    let stale = server.request("GET", "/v1/model", &[("if-none-match", "\"0-0\"")], b"");
    assert_eq!(stale.status, 200);
    let head = server.request("HEAD", "/v1/model", &[], b"");
    assert_eq!(
        (head.status, head.header("etag")),
        (200, Some(etag.as_str()))
    );

    // A restart serves the same bytes under the same ETag.
    let server = server.restart();
    let again = server.get("/v1/model");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.body, plain.body);
}

#[test]
fn cors_lets_listed_origins_post_and_read_the_etag_only() {
    let dir = support::test_dir("cors");
    let server = Server::start(&dir, &["--allowed-origins", "https://shop.example"]);
    let preflight = |origin: &str, method: &str, headers: &str| {
        server.request(
            "OPTIONS",
            "/v1/reports",
            &[
                ("origin", origin),
                ("access-control-request-method", method),
                ("access-control-request-headers", headers),
            ],
            b"",
        )
    };
    let ok = preflight("https://shop.example", "POST", "content-type");
    assert!(ok.status < 300, "{ok:?}");
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert!(ok
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("POST")));
    assert!(ok
        .header("access-control-allow-headers")
        .is_some_and(|h| h.contains("content-type")));
    assert_eq!(
        ok.header("access-control-allow-credentials"),
        None,
        "no credentials"
    );
    let other = preflight("https://evil.example", "POST", "content-type");
    assert_eq!(
        other.header("access-control-allow-origin"),
        None,
        "{other:?}"
    );

    let model = server.request(
        "GET",
        "/v1/model",
        &[("origin", "https://shop.example")],
        b"",
    );
    assert_eq!(
        model.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert!(model
        .header("access-control-expose-headers")
        .is_some_and(|h| h.contains("etag")));
    let conditional = server.request(
        "OPTIONS",
        "/v1/model",
        &[
            ("origin", "https://shop.example"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "if-none-match"),
        ],
        b"",
    );
    assert!(conditional
        .header("access-control-allow-headers")
        .is_some_and(|h| h.contains("if-none-match")));
    let foreign = server.request(
        "GET",
        "/v1/model",
        &[("origin", "https://evil.example")],
        b"",
    );
    assert_eq!(foreign.header("access-control-allow-origin"), None);

    // What a page may send without a preflight (a "simple" request) is refused.
    let simple = server.request(
        "POST",
        "/v1/reports",
        &[
            ("origin", "https://evil.example"),
            ("content-type", "text/plain"),
        ],
        report(open_window(), &["mug"]).as_bytes(),
    );
    assert_eq!(simple.status, 415);
    assert_eq!(simple.header("access-control-allow-origin"), None);
    // Admin routes never answer other origins.
    let stats = server.request(
        "OPTIONS",
        "/v1/stats",
        &[
            ("origin", "https://shop.example"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    );
    assert_eq!(stats.header("access-control-allow-origin"), None);
}

#[test]
fn admin_routes_need_the_token() {
    let dir = support::test_dir("admin-off");
    let server = Server::start(&dir, &[]);
    for path in ["/v1/stats", "/dashboard"] {
        let r = server.get(path);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "admin-disabled"),
            "{path}"
        );
    }
    drop(server);

    let dir = support::test_dir("admin");
    let server = Server::start(&dir, &["--admin-token", ADMIN_TOKEN, "--site", "Test Shop"]);
    let r = server.get("/v1/stats");
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Basic")));
    let wrong = server.request(
        "GET",
        "/v1/stats",
        &[("authorization", "Bearer not-the-token-at-all")],
        b"",
    );
    assert_eq!(wrong.status, 401);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("owner:{ADMIN_TOKEN}"))
    );
    let ok = server.request("GET", "/v1/stats", &[("authorization", &basic)], b"");
    assert_eq!(ok.status, 200, "{}", ok.text());
    let stats = ok.json();
    assert_eq!(stats["site"], "Test Shop");
    assert_eq!(stats["privacy"]["k"], 10);
    assert_eq!(stats["privacy"]["thresholds"]["items"], 10);
    // The defaults in force, and the noise of each family exactly as the one formula gives it.
    let p = &stats["privacy"];
    assert_eq!(
        (
            p["epsilon"].as_f64(),
            p["delta"].as_f64(),
            p["windowDays"].as_u64()
        ),
        (Some(4.0), Some(1e-6), Some(30))
    );
    assert_eq!(p["caps"]["items"], 64);
    let defaults = kindred_core::aggregate::AggregationConfig::default();
    for family in kindred_core::Family::ALL {
        assert_eq!(
            p["noiseSigma"][family.name()].as_f64(),
            Some(defaults.sigma(family)),
            "{family}"
        );
    }
    let items_sigma = p["noiseSigma"]["items"].as_f64().expect("number");
    assert!((items_sigma - 15.87).abs() < 0.05, "{items_sigma}");
    assert_eq!(stats["model"]["version"], 1);
    let bearer = server.admin("POST", "/v1/admin/rebuild");
    assert_eq!(bearer.status, 200);
    let cross = server.request(
        "POST",
        "/v1/admin/rebuild",
        &[("authorization", &basic), ("sec-fetch-site", "cross-site")],
        b"",
    );
    assert_eq!(
        (cross.status, cross.error_code().as_str()),
        (403, "cross-site")
    );

    let page = server.request("GET", "/dashboard", &[("authorization", &basic)], b"");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.contains("script-src 'self'")));
    assert!(page.text().contains("/dashboard/chart.umd.min.js"));
    let js = server.request(
        "GET",
        "/dashboard/dashboard.js",
        &[("authorization", &basic)],
        b"",
    );
    assert!(js.text().contains("/v1/stats"));
    let anon_js = server.get("/dashboard/dashboard.js");
    assert_eq!(anon_js.status, 401);
    let missing = server.request(
        "GET",
        "/dashboard/nothing.js",
        &[("authorization", &basic)],
        b"",
    );
    assert_eq!(missing.status, 404);
}

#[test]
fn reports_are_rate_limited_per_client_address() {
    let dir = support::test_dir("rate-limit");
    let server = Server::start(
        &dir,
        &["--rate-limit", "3", "--client-ip-header", "x-forwarded-for"],
    );
    let body = report(open_window(), &["mug"]);
    let post = |addr: &str| {
        server.request(
            "POST",
            "/v1/reports",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", addr),
            ],
            body.as_bytes(),
        )
    };
    for _ in 0..3 {
        assert_eq!(post("203.0.113.7").status, 202);
    }
    let limited = post("198.51.100.1, 203.0.113.7");
    assert_eq!(
        (limited.status, limited.error_code().as_str()),
        (429, "rate-limited")
    );
    let wait: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((1..=20).contains(&wait), "{wait}");
    assert_eq!(
        post("203.0.113.8").status,
        202,
        "another client has its own bucket"
    );
    let rows = db_counters(&server.db());
    assert_eq!(
        rows.get(&(open_window(), "reports".into(), String::new())),
        Some(&4)
    );
    let log = support::log(&dir);
    assert!(
        !log.contains("203.0.113"),
        "addresses are never logged:\n{log}"
    );
}

#[test]
fn health_static_files_and_json_errors() {
    let dir = support::test_dir("static");
    std::fs::write(dir.join("www/index.html"), "<h1>shop</h1>").expect("write");
    std::fs::write(dir.join("secret.txt"), "outside").expect("write");
    let server = Server::start(&dir, &["--site", "Static Shop"]);
    let health = server.get("/v1/health");
    assert_eq!(health.status, 200);
    let h = health.json();
    assert_eq!(
        (h["status"].as_str(), h["site"].as_str()),
        (Some("ok"), Some("Static Shop"))
    );
    assert_eq!(h["model"]["version"], 1);
    assert!(
        h.get("pendingReports").is_none(),
        "no live counts in public: {h}"
    );
    let index = server.get("/");
    assert_eq!(index.status, 200);
    assert_eq!(index.text(), "<h1>shop</h1>");
    let missing = server.get("/nothing.html");
    assert_eq!(
        (missing.status, missing.error_code().as_str()),
        (404, "not-found")
    );
    let escape = server.get("/../secret.txt");
    assert!(
        escape.status >= 400 && !escape.text().contains("outside"),
        "{escape:?}"
    );
    assert_eq!(index.header("x-content-type-options"), Some("nosniff"));

    // No open redirect: `//sub` once answered `307 Location: //sub/`, which a browser reads as
    // the site `sub`. Dotfiles and dot-directories are never served.
    std::fs::create_dir_all(dir.join("www/sub")).expect("mkdir");
    std::fs::write(dir.join("www/sub/index.html"), "sub").expect("write");
    std::fs::create_dir_all(dir.join("www/.git")).expect("mkdir");
    std::fs::write(dir.join("www/.git/config"), "secret").expect("write");
    std::fs::write(dir.join("www/.token"), "secret").expect("write");
    assert_eq!(
        server.get("/sub").status,
        307,
        "a plain directory still redirects"
    );
    for path in [
        "//sub",
        "///sub",
        "/.token",
        "/.git/config",
        "/sub/../.token",
    ] {
        let res = server.get(path);
        assert_eq!(
            (
                res.status,
                res.error_code().as_str(),
                res.header("location")
            ),
            (404, "not-found", None),
            "{path}"
        );
        assert!(!res.text().contains("secret"), "{path}");
    }
}
