//! `kindred demo-catalog` and `kindred demo-seed`, run as the built binary.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use kindred_core::SharedModel;

fn kindred(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kindred"));
    for (key, _) in std::env::vars() {
        if key.starts_with("KINDRED_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args).output().expect("the kindred binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory for one test under cargo's target tmp dir.
fn test_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test dir");
    dir
}

#[test]
fn demo_catalog_writes_2000_loadable_products() {
    let dir = test_dir("catalog");
    let path = dir.join("www").join("catalog.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("www");
    std::fs::write(&path, "stale").expect("an old file to replace");
    let out = kindred(&["demo-catalog", "--out", path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("wrote 2000 products ("), "{stderr}");
    assert!(stderr.contains("with Chinese titles) to "), "{stderr}");
    assert!(out.stdout.is_empty(), "the file, not stdout: {out:?}");

    let json = std::fs::read_to_string(&path).expect("written");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).expect("a JSON array");
    assert_eq!(rows.len(), 2000);
    assert_eq!(rows[0]["id"], "p-0001");
    assert!(rows
        .iter()
        .all(|r| r["color"].as_str().is_some_and(|c| c.len() == 7)));
    let (_, report) = kindred_core::Catalog::from_json(&json).expect("loads");
    assert_eq!((report.loaded, report.rejected.len()), (2000, 0));
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
        .expect("lists")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["catalog.json"], "no temporary file left");

    // Deterministic: stdout gets the same bytes.
    let again = kindred(&["demo-catalog"]);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(text(&again.stdout), json);
    let other = kindred(&["demo-catalog", "--items", "50", "--seed", "8"]);
    assert!(other.status.success(), "{other:?}");
    assert_eq!(text(&other.stdout).lines().count(), 52);
}

#[test]
fn demo_catalog_refuses_a_bad_item_count() {
    for bad in ["0", "100001", "lots"] {
        let out = kindred(&["demo-catalog", "--items", bad]);
        assert!(!out.status.success(), "--items {bad} must fail");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("from 1 to 100000"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let dir = test_dir("catalog-bad-out");
    let missing = dir.join("no-such-dir").join("catalog.json");
    let out = kindred(&["demo-catalog", "--out", missing.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("cannot write"), "{out:?}");
}

#[test]
fn demo_seed_fills_a_new_database_once() {
    let dir = test_dir("seed");
    let catalog = dir.join("catalog.json");
    let catalog = catalog.to_str().expect("utf-8");
    let db = dir.join("kindred.db");
    let db = db.to_str().expect("utf-8");
    let out = kindred(&["demo-catalog", "--items", "300", "--out", catalog]);
    assert!(out.status.success(), "{out:?}");
    let seed = |extra: &[&str]| {
        let mut args = vec![
            "demo-seed",
            "--catalog",
            catalog,
            "--database",
            db,
            "--shoppers",
            "120",
            "--days",
            "40",
        ];
        args.extend_from_slice(extra);
        kindred(&args)
    };

    let out = seed(&[]);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("from 120 simulated shoppers over 40 day(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("released 2 window(s); model version 1: "),
        "{stdout}"
    );

    // The 40 days end with the last day of the newest window releasable today (release delay
    // 1): that window and the one before (of which the last 10 days) are released, their raw
    // counters gone, as after `kindred build-model`.
    let today = support::today();
    let newest = support::window_of(today - 1) - support::WINDOW_DAYS;
    let released = support::db_released(std::path::Path::new(db));
    assert_eq!(released, vec![(newest - 30, 30), (newest, 30)]);
    assert!(support::db_counters(std::path::Path::new(db)).is_empty());

    // The published model, as `GET /v1/model` serves it.
    let mut store = kindred_server::store::open_backend(db)
        .and_then(|b| b.open())
        .expect("opens the database");
    let stored = store
        .latest_model()
        .expect("reads")
        .expect("a model is published");
    let model = SharedModel::from_json(&stored.json).expect("a valid model");
    assert!(!model.popularity.is_empty(), "{}", stored.json);
    assert!(!model.trending.is_empty(), "{}", stored.json);
    assert!(!model.neighbours.is_empty(), "{}", stored.json);
    // The demo's bundles are released pairs, so the learned item model covers some items.
    let learned = model.item_model.as_ref().expect("an item model was fitted");
    assert_eq!(learned.kind, "ease");
    assert!(learned.items > 0 && learned.lambda > 0.0, "{learned:?}");
    let json = std::fs::read_to_string(catalog).expect("catalog");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).expect("JSON");
    let ids: BTreeSet<&str> = rows.iter().filter_map(|r| r["id"].as_str()).collect();
    for (item, neighbours) in model.neighbours.iter() {
        assert!(ids.contains(item.as_str()), "{item}");
        assert!(neighbours.iter().all(|n| ids.contains(n.item.as_str())));
    }
    assert!(model.popularity.keys().all(|k| ids.contains(k.as_str())));
    drop(store);

    // Never twice into the same database without --force.
    let again = seed(&[]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    let stderr = text(&again.stderr);
    assert!(stderr.contains("already holds shopping data"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        support::db_released(std::path::Path::new(db)),
        released,
        "nothing changed"
    );
    // With --force, released windows stay closed: their reports are left out.
    let forced = seed(&["--force"]);
    assert!(forced.status.success(), "{forced:?}");
    let stdout = text(&forced.stdout);
    assert!(stdout.starts_with("submitted 0 reports"), "{stdout}");
    assert!(
        stdout.contains("for already released windows; released 0 window(s)"),
        "{stdout}"
    );
}

#[test]
fn demo_seed_needs_a_catalog_and_sane_counts() {
    let dir = test_dir("seed-bad");
    let db = dir.join("kindred.db");
    let db = db.to_str().expect("utf-8");
    let out = kindred(&["demo-seed", "--database", db]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("--catalog is required"),
        "{out:?}"
    );
    let missing = dir.join("missing.json");
    let out = kindred(&[
        "demo-seed",
        "--database",
        db,
        "--catalog",
        missing.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("cannot read the catalog"),
        "{out:?}"
    );
    for (flag, bad, range) in [
        ("--shoppers", "0", "from 1 to 100000"),
        ("--days", "367", "from 1 to 366"),
    ] {
        let out = kindred(&["demo-seed", "--database", db, flag, bad]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(range), "{out:?}");
    }
    let out = kindred(&[
        "demo-seed",
        "--database",
        db,
        "--catalog",
        missing.to_str().expect("utf-8"),
        "--retention-days",
        "40",
        "--days",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // The newest releasable window ends the day before the window of yesterday begins.
    let today = support::today();
    let max = support::window_of(today - 1) + 40 - today;
    assert!(
        text(&out.stderr).contains(&format!("use at most {max} days")),
        "{out:?}"
    );
}
