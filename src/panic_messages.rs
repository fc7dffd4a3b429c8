//! Feature `panic-messages`, for the debug build of `scripts/build-wasm --dev` only: a panic's
//! message and location go to `console.error` before the module traps. wasm32 has no stderr,
//! so without this hook a panic shows only as "RuntimeError: unreachable"; the shipped build
//! cannot have it anyway (its immediate-abort strategy drops the messages, see Cargo.toml).

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// Runs when the module is instantiated (`init()` or `initSync()`).
#[wasm_bindgen(start)]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("kindred (debug build) {info}"));
    }));
}
