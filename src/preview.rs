//! `Engine`: the core engine behind JS-value calls, built only with the `engine-preview`
//! feature (see Cargo.toml) so tests can run the engine inside wasm before the real API exists.

use wasm_bindgen::prelude::{wasm_bindgen, JsError, JsValue};

/// The recommendation engine for one shopper.
///
/// Times are milliseconds since 1970 (`Date.now()`). Bad input throws an `Error` whose
/// message names the problem, and leaves the engine unchanged.
///
/// ```ts
/// const engine = new Engine();
/// engine.loadCatalog([{ id: "mug", title: "Blue Mug" }, { id: "cup", title: "Blue Cup" }]);
/// engine.track({ type: "view", item: "mug" }, Date.now());
/// engine.recommend({ strategy: "for-you", k: 8 }, Date.now());
/// // [{ item: "cup", score: 0.2, reasons: ["similar to Blue Mug, which you viewed"] }]
/// ```
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct Engine {
    engine: kindred_core::Engine,
}

/// Converts a JS value into a core type, naming what was being read when it does not fit.
fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("invalid {what}: {e}")))
}

/// Converts a core value into a plain JS value (objects, not `Map`s).
fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value
        .serialize(&serializer)
        .map_err(|e| JsError::new(&e.to_string()))
}

#[wasm_bindgen]
impl Engine {
    /// An engine with default settings and no catalog.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Replaces the catalog with an array of items and returns the load report
    /// `{ loaded, rejected: [{ index, id, reason }] }`. Throws when no row is valid.
    #[wasm_bindgen(js_name = loadCatalog)]
    pub fn load_catalog(&mut self, items: JsValue) -> Result<JsValue, JsError> {
        let rows: serde_json::Value = from_js(items, "catalog")?;
        let report = self.engine.load_catalog_value(rows)?;
        to_js(&report)
    }

    /// Records one event, e.g. `{ type: "view", item: "sku-1" }`, at `now`.
    pub fn track(&mut self, event: JsValue, now: f64) -> Result<(), JsError> {
        let event: kindred_core::EventInput = from_js(event, "event")?;
        self.engine.track(&event, now as i64)?;
        Ok(())
    }

    /// Runs a recommendation request (`{ strategy: "similar", item: "sku-1", k: 8 }`) and
    /// returns `[{ item, score, reasons }]`.
    pub fn recommend(&self, request: JsValue, now: f64) -> Result<JsValue, JsError> {
        let request: kindred_core::RecommendRequest = from_js(request, "request")?;
        let recs = self.engine.recommend(&request, now as i64)?;
        to_js(&recs)
    }
}
