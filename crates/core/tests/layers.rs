//! The layers of `src/` depend only downward (docs/ARCHITECTURE.md draws the map). The module
//! tree already keeps the engine's internals to `src/engine/` (its fields are private there);
//! this test keeps the direction: it reads every source file and fails when a layer names a
//! layer it may not use, whether by path (`crate::engine::…`) or through a re-export of the
//! crate root (`crate::Engine`). A new folder or top-level file fails until it is placed in
//! [`LAYERS`].

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Every layer and the layers it may use, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    ("lean", &[]),
    ("strategy", &[]),
    ("text", &["lean"]),
    ("catalog", &["lean", "text"]),
    ("shopper", &["lean", "strategy", "text", "catalog"]),
    ("model", &["lean", "catalog", "shopper"]),
    (
        "recommend",
        &["lean", "strategy", "text", "catalog", "shopper", "model"],
    ),
    ("privacy", &["lean", "strategy", "catalog", "shopper"]),
    (
        "aggregate",
        &["lean", "strategy", "catalog", "shopper", "model", "privacy"],
    ),
    (
        "engine",
        &[
            "lean",
            "strategy",
            "text",
            "catalog",
            "shopper",
            "model",
            "recommend",
            "privacy",
        ],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer a file belongs to: its folder under `src/`, or its name for a top-level file.
fn layer_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_owned()
}

/// Which layer each name the crate root re-exports comes from (`pub use engine::{Engine, …}`).
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for statement in code(lib).split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let layer = rest.split("::").next().unwrap_or("").trim().to_owned();
        let names = match rest.find('{') {
            Some(at) => rest[at + 1..].trim_end_matches('}').to_owned(),
            None => rest.rsplit("::").next().unwrap_or("").to_owned(),
        };
        for name in names.split(',') {
            let name = name.split(" as ").last().unwrap_or("").trim();
            if !name.is_empty() {
                out.insert(name.to_owned(), layer.clone());
            }
        }
    }
    out
}

/// The source without comments (line comments, doc comments included).
fn code(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of everything named through `crate::` in `source`: `crate::a::b`
/// gives `a`, `crate::{a::b, c}` gives `a` and `c`.
fn crate_paths(source: &str) -> Vec<String> {
    let code = code(source);
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // `kindred_crate::`, not ours
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.push(ident(item.trim()));
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|s| !s.is_empty() && s != "self");
    out
}

#[test]
fn layers_only_use_the_layers_below_them() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let lib = fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let reexports = root_reexports(&lib);
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let layer = layer_of(file);
        if layer == "lib" {
            continue;
        }
        let Some(may_use) = allowed.get(layer.as_str()) else {
            problems.push(format!(
                "{}: layer \"{layer}\" is not in LAYERS",
                file.display()
            ));
            continue;
        };
        let source = fs::read_to_string(file).expect("readable");
        for first in crate_paths(&source) {
            // A layer by path, a layer through a root re-export, or an item of lib.rs itself.
            let used = if allowed.contains_key(first.as_str()) {
                first.clone()
            } else if let Some(layer) = reexports.get(&first) {
                layer.clone()
            } else {
                continue;
            };
            if used != layer && !may_use.contains(&used.as_str()) {
                problems.push(format!(
                    "{}: layer \"{layer}\" uses \"{used}\" (crate::{first})",
                    file.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check itself: it must see both ways of naming a higher layer, and ignore comments.
#[test]
fn paths_are_found_in_code_and_not_in_comments() {
    let source = "use crate::engine::Engine;\nuse crate::{lean::sort_by, Report};\n\
                  /// See [`crate::aggregate`].\nlet x = crate::privacy::epoch_of(0); // crate::model\n";
    assert_eq!(
        crate_paths(source),
        ["engine", "lean", "Report", "privacy"].map(String::from)
    );
    let reexports =
        root_reexports("pub use engine::{Engine, EngineError};\npub use strategy::Strategy;");
    assert_eq!(
        reexports.get("EngineError").map(String::as_str),
        Some("engine")
    );
    assert_eq!(
        reexports.get("Strategy").map(String::as_str),
        Some("strategy")
    );
}
