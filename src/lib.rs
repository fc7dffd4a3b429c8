//! The kindred browser module: a thin wasm-bindgen layer over `kindred-core`, one file per job.
//!
//! - [`Kindred`] (`kindred.rs`): the exported class shop developers use; its methods delegate.
//! - `options.rs`: reading `Kindred.create(options)`.
//! - `instance.rs`: the state one instance shares with its storage tasks, timers and listeners.
//! - `persist.rs`: persistence and the tab merge (IndexedDB tasks, `BroadcastChannel`,
//!   quarantine, the model cache), around `rebase.rs`: pending operations and how they are
//!   replayed onto another tab's state (plain Rust, native tests).
//! - `transport.rs`: report scheduling and delivery and every request kindred makes, around
//!   `outbox.rs`: consent, blockers and the outbox rules (plain Rust, native tests).
//! - `events.rs`: `update` and `warning` listeners.
//! - `storage.rs`: IndexedDB through web-sys, with a memory fallback decided by the caller.
//! - `values.rs`: JS values in and out, one table of field names per type; `error.rs`: what is
//!   thrown (`KindredError` with a stable `code`) and the warning codes; `convert.rs`: host
//!   functions (clock, timers, `fetch`) and error text. `names.rs` (a test) checks the names
//!   against `kindred.d.ts`.
//! - `panic_messages.rs`: the panic hook of the debug build (`scripts/build-wasm --dev`).
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
mod error;
mod events;
mod instance;
mod kindred;
#[cfg(test)]
mod names;
mod options;
mod outbox;
#[cfg(feature = "panic-messages")]
mod panic_messages;
mod persist;
mod rebase;
mod storage;
mod transport;
mod values;

pub use error::KindredError;
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
    kindred_core::tokenize(text)
}
