//! `kindred demo-catalog` and `kindred demo-seed`, run as the built binary.

use std::path::PathBuf;
use std::process::{Command, Output};

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
    let (_, report) = kindred_core::catalog::Catalog::from_json(&json).expect("loads");
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
