//! The kindred browser module: a thin wasm-bindgen layer over `kindred-core`.
//!
//! - [`Kindred`] (`kindred.rs`): the class shop developers use; persistence and tab merging.
//! - `storage.rs`: IndexedDB through web-sys, with a memory fallback decided by the caller.
//! - `transport.rs`: consent, the outbox of reports and their delivery.
//! - `values.rs`: JS values in and out, field by field; `convert.rs`: host functions (clock,
//!   timers, `fetch`) and error text.
//!
//! Algorithms live in `crates/core`; this crate converts and persists. Option and result
//! shapes are typed in `kindred.d.ts`, appended to the generated typings.

use wasm_bindgen::prelude::wasm_bindgen;

/// Talc instead of std's dlmalloc, the default allocator on wasm32: 1.8 KB less gzipped wasm,
/// and `recommend` measured faster with it (1.09 against 1.44 ms at 10k items).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod convert;
mod kindred;
#[cfg(feature = "panic-messages")]
mod panic_messages;
mod storage;
mod transport;
mod values;

pub use kindred::Kindred;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("kindred.d.ts");

/// The version of the kindred module, for example `"0.2.0"`.
///
/// Matches the `version` of the npm package and of the Rust crate it was built from.
///
/// ```ts
/// import init, { version } from "kindred";
/// await init();
/// console.log(version()); // "0.2.0"
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
