//! The kindred browser module: a thin wasm-bindgen layer over `kindred-core`.
//!
//! Everything here only converts between JavaScript and the engine; the algorithms live in
//! `crates/core`. The shipped surface is a placeholder (`version`, `tokenize`); the
//! `engine-preview` feature adds `Engine`, which runs the whole core engine in wasm and is
//! tested in Node. The full `Kindred` API (IndexedDB persistence, the shared model, typings)
//! arrives with the browser-module issue.

use wasm_bindgen::prelude::wasm_bindgen;

#[cfg(feature = "engine-preview")]
mod preview;
#[cfg(feature = "engine-preview")]
pub use preview::Engine;

/// The version of the kindred module, for example `"0.1.0"`.
///
/// Matches the `version` of the npm package and of the Rust crate it was built from.
///
/// ```ts
/// import init, { version } from "kindred";
/// await init();
/// console.log(version()); // "0.1.0"
/// ```
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Splits `text` into the lowercased search tokens the engine indexes.
///
/// Uses the same tokenizer as catalog indexing, so it shows how a product title or a search
/// query is seen by the recommender. Returns an empty array for text without word characters.
///
/// ```ts
/// import init, { tokenize } from "kindred";
/// await init();
/// tokenize("Blue Mug"); // ["blue", "mug"]
/// ```
#[wasm_bindgen(js_name = tokenize)]
pub fn tokenize(text: &str) -> Vec<String> {
    kindred_core::text::tokenize(text)
}
