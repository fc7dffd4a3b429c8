//! Embeds the dashboard's chart library, Chart.js, into the binary, so `kindred serve` is one
//! self-contained file whatever its static directory holds.
//!
//! Chart.js comes from npm (pinned in the root package.json and package-lock.json; `npm ci`,
//! run by scripts/setup, installs it into node_modules/). Nothing of it is committed. Set
//! `KINDRED_CHART_JS` to another copy of `chart.umd.min.js` to build without node_modules.
//! Without either, the build still succeeds with a warning and the dashboard shows its
//! numbers as tables and says the chart library is missing.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=KINDRED_CHART_JS");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let source = std::env::var_os("KINDRED_CHART_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../node_modules/chart.js/dist/chart.umd.min.js"));
    println!("cargo:rerun-if-changed={}", source.display());
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("chart.umd.min.js");
    let bytes = std::fs::read(&source).unwrap_or_else(|e| {
        println!(
            "cargo:warning=the dashboard is built without Chart.js ({}: {e}); run `npm ci` and build again",
            source.display()
        );
        Vec::new()
    });
    std::fs::write(&out, bytes).expect("OUT_DIR is writable");
}
