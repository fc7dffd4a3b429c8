//! JS values in and out. Every JS field name is written once, in Rust, next to how it is
//! read ([`reader!`]) or written ([`writer!`]); each table also yields the list of its names,
//! which `src/names.rs` (a native test) compares with `kindred.d.ts` and with the serde names
//! of the core types.
//!
//! Written out by hand instead of serde-wasm-bindgen (0.6.5, `Serializer::json_compatible`),
//! which the core types' serde derives would otherwise feed directly. Measured one type at a
//! time on this module (gzipped wasm, from 119,410 B; the budget is 122,880 B):
//!
//! | converted through serde-wasm-bindgen | gzip after | cost |
//! | --- | --- | --- |
//! | `exportData()` (ShopperData, LedgerSummary) | 122,908 B | +3,498 B, over budget |
//! | `privacy()` (the view, ledger, window, caps, next report) | 122,696 B | +3,286 B |
//! | `profile()` (interests, segment) | 121,652 B | +2,242 B |
//! | `options.privacy` in (PrivacyConfig, Caps, Mode) | 132,392 B | +12,982 B, over budget |
//!
//! Each would take most of the module's remaining room on its own, so none is converted; the
//! names still agree with the serde derives (`src/names.rs`). The hand-written boundary also
//! names the bad field as JS spells it: `invalid event: "item" must be a string`.
//!
//! The tables are macros rather than arrays of (name, function pointer): measured over the
//! whole boundary, a function per field cost 2.7 KB more gzipped wasm (no inlining, an error
//! path each), while a macro expands to one function per type, as the hand-written code was.

use js_sys::{Array, Object, Reflect};
use kindred_core::catalog::{JsonKind, JsonLike, LoadReport, RejectedRow, MAX_EXACT_INTEGER};
use kindred_core::compact::{SortedMap, SortedSet};
use kindred_core::engine::EventWeights;
use kindred_core::explain::{Explanation, ForYouPlacement, MatchedInterest};
use kindred_core::export::{Affinities, DayCounts, ExportedEvent, ShopperData};
use kindred_core::history::ItemStats;
use kindred_core::ledger::LedgerSummary;
use kindred_core::model::{ItemModelInfo, Neighbour, Segment};
use kindred_core::report::{Caps, StrategyCounts};
use kindred_core::rules::{Boost, Filter, Pin};
use kindred_core::window::Contribution;
use kindred_core::{
    EventInput, EventKind, Interest, Mode, PreparedReport, PrivacyConfig, PrivacyOverview,
    RecommendRequest, Recommendation, SharedModel, Strategy, WindowState,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::convert::base64;
use crate::error::{ErrorCode, KindredError};

/// A JS object type as read: what messages call it, the code of its errors, and its field
/// names as JS spells them (any other field is refused, so a typo is an error, not silently
/// ignored).
#[derive(Debug)]
pub(crate) struct Shape {
    pub(crate) what: &'static str,
    pub(crate) code: ErrorCode,
    pub(crate) names: &'static [&'static str],
}

/// Declares how a JS object type is read: a [`Shape`] constant and a function that reads a JS
/// value over a `&mut T` (fields JS leaves out keep what `T` holds). Each field is its name
/// and a statement that reads it, with the object as `$o` and the name as `$k`; every
/// statement runs, for absent fields too (`Obj::get` is `None`), so required fields say so.
///
/// ```ignore
/// reader! {
///     pub(crate) PIN, read_pin_into(o, k, p: Pin) = ("pin", ErrorCode::InvalidRequest) {
///         "item" => p.item = o.str(k)?.ok_or_else(|| o.missing(k))?,
///     }
/// }
/// ```
macro_rules! reader {
    (
        $(#[$meta:meta])*
        $vis:vis $shape:ident, $read:ident($o:ident, $k:ident, $t:ident: $ty:ty) = ($what:literal, $code:expr) {
            $($name:literal => $body:expr,)+
        }
    ) => {
        $(#[$meta])*
        $vis const $shape: $crate::values::Shape = $crate::values::Shape {
            what: $what,
            code: $code,
            names: &[$($name),+],
        };

        $(#[$meta])*
        $vis fn $read(value: JsValue, $t: &mut $ty) -> Result<(), KindredError> {
            let $o = $crate::values::Obj::new(value, &$shape)?;
            $({
                let $k: &'static str = $name;
                $body;
            })+
            Ok(())
        }
    };
}
pub(crate) use reader;

/// Declares how a value is written for JS: a function that builds the object, each field its
/// name and the expression of its value (`undefined` leaves the field out), and, for the
/// agreement test, a constant with the names.
macro_rules! writer {
    (
        $(#[$meta:meta])*
        $vis:vis $names:ident, $write:ident($v:ident: $ty:ty) {
            $($name:literal => $value:expr,)+
        }
    ) => {
        $(#[$meta])*
        #[cfg(test)]
        $vis const $names: &[&str] = &[$($name),+];

        $(#[$meta])*
        $vis fn $write($v: &$ty) -> JsValue {
            $crate::values::object(&[$(($name, $value)),+])
        }
    };
}
pub(crate) use writer;

/// A new JS object with `fields`; `undefined` values are left out.
pub(crate) fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in fields {
        if !value.is_undefined() {
            let _ = Reflect::set(&object, &(*name).into(), value);
        }
    }
    object.into()
}

/// A JS array of what `write` makes of each element.
pub(crate) fn array_of<T>(list: &[T], write: fn(&T) -> JsValue) -> JsValue {
    list.iter().map(write).collect::<Array>().into()
}

/// The properties of one JS object being read.
pub(crate) struct Obj<'a> {
    value: JsValue,
    what: &'a str,
    code: ErrorCode,
}

pub(crate) fn invalid(code: ErrorCode, what: &str, problem: &str) -> KindredError {
    KindredError::new(code, format!("invalid {what}: {problem}"))
}

impl<'a> Obj<'a> {
    pub(crate) fn new(value: JsValue, shape: &'a Shape) -> Result<Obj<'a>, KindredError> {
        let (what, code) = (shape.what, shape.code);
        if !value.is_object() || Array::is_array(&value) {
            return Err(invalid(code, what, "expected an object"));
        }
        for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            if !shape.names.contains(&key.as_str()) {
                return Err(invalid(
                    code,
                    what,
                    &format!(
                        "unknown field `{key}`, expected one of {}",
                        shape.names.join(", ")
                    ),
                ));
            }
        }
        Ok(Obj { value, what, code })
    }

    /// `undefined`/`null` read as absent.
    pub(crate) fn get(&self, key: &str) -> Option<JsValue> {
        let v = Reflect::get(&self.value, &key.into()).ok()?;
        (!v.is_undefined() && !v.is_null()).then_some(v)
    }

    /// This object's error about `problem`.
    pub(crate) fn error(&self, problem: &str) -> KindredError {
        invalid(self.code, self.what, problem)
    }

    fn wrong(&self, key: &str, expected: &str) -> KindredError {
        self.error(&format!("\"{key}\" must be {expected}"))
    }

    pub(crate) fn missing(&self, key: &str) -> KindredError {
        self.error(&format!("missing field `{key}`"))
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, KindredError> {
        self.get(key)
            .map(|v| v.as_string().ok_or_else(|| self.wrong(key, "a string")))
            .transpose()
    }

    pub(crate) fn num(&self, key: &str) -> Result<Option<f64>, KindredError> {
        self.get(key)
            .map(|v| v.as_f64().ok_or_else(|| self.wrong(key, "a number")))
            .transpose()
    }

    /// A whole number from 0 to `max`.
    pub(crate) fn int(&self, key: &str, max: f64) -> Result<Option<f64>, KindredError> {
        match self.num(key)? {
            Some(n) if n.fract() != 0.0 || !(0.0..=max).contains(&n) => Err(self.wrong(
                key,
                &format!(
                    "a whole number from 0 to {}",
                    kindred_core::compact::number(max)
                ),
            )),
            n => Ok(n),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, KindredError> {
        self.get(key)
            .map(|v| v.as_bool().ok_or_else(|| self.wrong(key, "true or false")))
            .transpose()
    }

    pub(crate) fn strings(&self, key: &str) -> Result<Vec<String>, KindredError> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let array = v
            .dyn_ref::<Array>()
            .ok_or_else(|| self.wrong(key, "an array of strings"))?;
        array
            .iter()
            .map(|s| {
                s.as_string()
                    .ok_or_else(|| self.wrong(key, "an array of strings"))
            })
            .collect()
    }

    pub(crate) fn array(&self, key: &str) -> Result<Vec<JsValue>, KindredError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(v) => Ok(v
                .dyn_ref::<Array>()
                .ok_or_else(|| self.wrong(key, "an array"))?
                .iter()
                .collect()),
        }
    }

    /// One of `options` (the JS spelling of an enum).
    pub(crate) fn choice<T: Copy>(
        &self,
        key: &str,
        options: &[(&str, T)],
    ) -> Result<Option<T>, KindredError> {
        let Some(name) = self.str(key)? else {
            return Ok(None);
        };
        match options.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(Some(*v)),
            None => {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                Err(self.error(&format!(
                    "unknown {key} \"{name}\", expected one of {}",
                    names.join(", ")
                )))
            }
        }
    }

    /// Sets `slot` when the field holds a number.
    pub(crate) fn set_num(&self, key: &str, slot: &mut f64) -> Result<(), KindredError> {
        if let Some(v) = self.num(key)? {
            *slot = v;
        }
        Ok(())
    }

    /// Sets `slot` when the field holds a number (single precision: weights and scores).
    pub(crate) fn set_f32(&self, key: &str, slot: &mut f32) -> Result<(), KindredError> {
        if let Some(v) = self.num(key)? {
            *slot = v as f32;
        }
        Ok(())
    }

    /// Sets `slot` when the field holds a whole number up to `max` (a count or a duration).
    pub(crate) fn set_u32(&self, key: &str, max: f64, slot: &mut u32) -> Result<(), KindredError> {
        if let Some(v) = self.int(key, max)? {
            *slot = v as u32;
        }
        Ok(())
    }
}

pub(crate) fn strategy_names() -> Vec<(&'static str, Strategy)> {
    Strategy::ALL.iter().map(|s| (s.name(), *s)).collect()
}

pub(crate) fn event_kind_names() -> Vec<(&'static str, EventKind)> {
    EventKind::ALL.iter().map(|k| (k.name(), *k)).collect()
}

pub(crate) fn mode_names() -> [(&'static str, Mode); 3] {
    [Mode::Threshold, Mode::Ldp, Mode::Off].map(|m| (m.name(), m))
}

reader! {
    /// `TrackEvent` in `kindred.d.ts`.
    pub(crate) EVENT, read_event_into(o, k, e: EventInput) = ("event", ErrorCode::InvalidEvent) {
        "type" => e.kind = o.choice(k, &event_kind_names())?.ok_or_else(|| o.missing(k))?,
        "item" => e.item = o.str(k)?,
        "query" => e.query = o.str(k)?,
        "ms" => e.ms = o.num(k)?,
        "value" => e.value = o.num(k)?,
        "ts" => e.ts = o.num(k)?,
        "strategy" => e.strategy = o.choice(k, &strategy_names())?,
    }
}

pub(crate) fn read_event(value: JsValue) -> Result<EventInput, KindredError> {
    // `type` is required: its reader refuses an event without one.
    let mut event = EventInput {
        kind: EventKind::View,
        item: None,
        query: None,
        ms: None,
        value: None,
        ts: None,
        strategy: None,
    };
    read_event_into(value, &mut event)?;
    Ok(event)
}

reader! {
    /// `RecommendOptions` in `kindred.d.ts`.
    pub(crate) REQUEST, read_request_into(o, k, r: RecommendRequest) = ("recommend options", ErrorCode::InvalidRequest) {
        "strategy" => if let Some(s) = o.choice(k, &strategy_names())? {
            r.strategy = s;
        },
        "item" => r.item = o.str(k)?,
        "k" => if let Some(n) = o.int(k, 1e9)? {
            r.k = n as usize;
        },
        "excludeViewed" => r.exclude_viewed = o.bool(k)?,
        "excludePurchased" => r.exclude_purchased = o.bool(k)?,
        "filter" => if let Some(f) = o.get(k) {
            read_filter_into(f, &mut r.filter)?;
        },
        "boost" => for b in o.array(k)? {
            let mut boost = Boost {
                item: None,
                category: None,
                brand: None,
                tag: None,
                factor: f32::NAN,
            };
            read_boost_into(b, &mut boost)?;
            r.boost.push(boost);
        },
        "pin" => for p in o.array(k)? {
            let mut pin = Pin {
                item: String::new(),
                position: 0,
            };
            read_pin_into(p, &mut pin)?;
            r.pin.push(pin);
        },
        "diversity" => o.set_f32(k, &mut r.diversity)?,
        "minScore" => o.set_f32(k, &mut r.min_score)?,
    }
}

reader! {
    /// `Filter` in `kindred.d.ts`.
    pub(crate) FILTER, read_filter_into(o, k, f: Filter) = ("filter", ErrorCode::InvalidRequest) {
        "available" => f.available = o.bool(k)?,
        "categories" => f.categories = o.strings(k)?,
        "brands" => f.brands = o.strings(k)?,
        "tags" => f.tags = o.strings(k)?,
        "minPrice" => f.min_price = o.num(k)?,
        "maxPrice" => f.max_price = o.num(k)?,
        "exclude" => f.exclude = o.strings(k)?,
    }
}

reader! {
    /// `Boost` in `kindred.d.ts`.
    pub(crate) BOOST, read_boost_into(o, k, b: Boost) = ("boost", ErrorCode::InvalidRequest) {
        "item" => b.item = o.str(k)?,
        "category" => b.category = o.str(k)?,
        "brand" => b.brand = o.str(k)?,
        "tag" => b.tag = o.str(k)?,
        "factor" => b.factor = o.num(k)?.ok_or_else(|| o.missing(k))? as f32,
    }
}

reader! {
    /// `Pin` in `kindred.d.ts`.
    pub(crate) PIN, read_pin_into(o, k, p: Pin) = ("pin", ErrorCode::InvalidRequest) {
        "item" => p.item = o.str(k)?.ok_or_else(|| o.missing(k))?,
        "position" => p.position = o.int(k, 1e9)?.ok_or_else(|| o.missing(k))? as usize,
    }
}

pub(crate) fn read_request(value: JsValue) -> Result<RecommendRequest, KindredError> {
    let mut request = RecommendRequest::default();
    read_request_into(value, &mut request)?;
    Ok(request)
}

/// Privacy option names of kindred 0.1 and what replaced them: passing one is an error that
/// says so, rather than the generic "unknown field" (a shop upgrading should learn what the
/// new option means, not just that the old one is gone).
pub(crate) const REPLACED_PRIVACY_OPTIONS: &[(&str, &str)] = &[
    (
        "epsilonPerDay",
        "\"privacy.epsilonPerWindow\" (ε per shopper per 30-day window, default 4)",
    ),
    (
        "epsilon30Days",
        "\"privacy.epsilonPerWindow\" (the cap is now per 30-day window: ε per shopper per window, default 4)",
    ),
];

reader! {
    /// `PrivacyConfig` in `kindred.d.ts`; ranges are checked by the engine.
    pub(crate) PRIVACY, read_privacy_into(o, k, c: PrivacyConfig) = ("privacy", ErrorCode::InvalidOption) {
        "mode" => if let Some(mode) = o.choice(k, &mode_names())? {
            c.mode = mode;
        },
        "epsilonPerWindow" => o.set_num(k, &mut c.epsilon_per_window)?,
        "delta" => o.set_num(k, &mut c.delta)?,
        "windowDays" => o.set_u32(k, 1e9, &mut c.window_days)?,
        "caps" => if let Some(caps) = o.get(k) {
            read_caps_into(caps, &mut c.caps)?;
        },
        "ldpEpsilon" => o.set_num(k, &mut c.ldp_epsilon)?,
        "ldpSetSize" => o.set_u32(k, 1e9, &mut c.ldp_set_size)?,
        "maxReportLagDays" => o.set_u32(k, 1e9, &mut c.max_report_lag_days)?,
    }
}

reader! {
    /// `Caps` in `kindred.d.ts`.
    pub(crate) CAPS, read_caps_into(o, k, c: Caps) = ("privacy.caps", ErrorCode::InvalidOption) {
        "items" => o.set_u32(k, 1e9, &mut c.items)?,
        "pairs" => o.set_u32(k, 1e9, &mut c.pairs)?,
        "interests" => o.set_u32(k, 1e9, &mut c.interests)?,
        "impressions" => o.set_u32(k, 1e9, &mut c.impressions)?,
        "clicks" => o.set_u32(k, 1e9, &mut c.clicks)?,
    }
}

/// `options.privacy`, refusing the names kindred 0.1 used.
pub(crate) fn read_privacy(value: JsValue) -> Result<PrivacyConfig, KindredError> {
    for (old, new) in REPLACED_PRIVACY_OPTIONS {
        if Reflect::has(&value, &(*old).into()).unwrap_or(false) {
            return Err(KindredError::new(
                ErrorCode::InvalidOption,
                format!(
                    "invalid option \"privacy.{old}\": it was replaced by {new} in kindred 0.2"
                ),
            ));
        }
    }
    let mut config = PrivacyConfig::default();
    read_privacy_into(value, &mut config)?;
    Ok(config)
}

reader! {
    /// `EventWeights` in `kindred.d.ts`.
    pub(crate) EVENT_WEIGHTS, read_event_weights_into(o, k, w: EventWeights) = ("eventWeights", ErrorCode::InvalidOption) {
        "view" => o.set_f32(k, &mut w.view)?,
        "click" => o.set_f32(k, &mut w.click)?,
        "cart" => o.set_f32(k, &mut w.cart)?,
        "removeCart" => o.set_f32(k, &mut w.remove_cart)?,
        "purchase" => o.set_f32(k, &mut w.purchase)?,
        "search" => o.set_f32(k, &mut w.search)?,
        "dwellPerMinute" => o.set_f32(k, &mut w.dwell_per_minute)?,
        "dwellCap" => o.set_f32(k, &mut w.dwell_cap)?,
        "ratePerStar" => o.set_f32(k, &mut w.rate_per_star)?,
    }
}

/// A JS value read in place as a catalog row: core validates rows through
/// [`JsonLike`], so no JSON tree is built and serde_json is not linked.
pub(crate) struct JsJson(pub JsValue);

impl JsonLike for JsJson {
    fn kind(&self) -> JsonKind {
        let v = &self.0;
        if v.is_null() || v.is_undefined() {
            JsonKind::Null
        } else if v.is_string() {
            JsonKind::String
        } else if v.as_f64().is_some() {
            JsonKind::Number
        } else if v.as_bool().is_some() {
            JsonKind::Bool
        } else if Array::is_array(v) {
            JsonKind::Array
        } else if v.is_object() && !v.is_function() {
            JsonKind::Object
        } else {
            JsonKind::Other
        }
    }
    fn field(&self, name: &str) -> Option<JsJson> {
        if !self.0.is_object() {
            return None;
        }
        Reflect::get(&self.0, &JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_undefined())
            .map(JsJson)
    }
    fn string(&self) -> Option<String> {
        self.0.as_string()
    }
    fn number(&self) -> Option<f64> {
        self.0.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.0.as_bool()
    }
    fn elements(&self) -> Vec<JsJson> {
        self.0
            .dyn_ref::<Array>()
            .map(|a| a.iter().map(JsJson).collect())
            .unwrap_or_default()
    }
    fn integer_text(&self) -> Option<String> {
        let n = self.0.as_f64()?;
        (n.fract() == 0.0 && n.abs() <= MAX_EXACT_INTEGER).then(|| (n as i64).to_string())
    }
}

/// An object of numbers, as a map (built in one go: a served model's keys come sorted).
fn number_map(o: &Obj<'_>, key: &str) -> Result<SortedMap<String, f32>, KindredError> {
    let mut map = Vec::new();
    let Some(v) = o.get(key) else {
        return Ok(SortedMap::new());
    };
    if !v.is_object() {
        return Err(o.wrong(key, "an object"));
    }
    for entry in Object::entries(v.unchecked_ref::<Object>()).iter() {
        let pair: Array = entry.unchecked_into();
        let score = pair
            .get(1)
            .as_f64()
            .ok_or_else(|| o.error(&format!("\"{key}\" must map item ids to numbers")))?;
        map.push((pair.get(0).as_string().unwrap_or_default(), score as f32));
    }
    Ok(map.into_iter().collect())
}

reader! {
    /// `SharedModel` in `kindred.d.ts`, as published by the server (validated by the engine
    /// when installed).
    pub(crate) MODEL, read_model_into(o, k, m: SharedModel) = ("model", ErrorCode::InvalidModel) {
        "format" => o.set_u32(k, 1e9, &mut m.format)?,
        "version" => m.version = o.int(k, 9.0e15)?.unwrap_or(0.0) as u64,
        "builtEpoch" => o.set_u32(k, 1e9, &mut m.built_epoch)?,
        "popularity" => m.popularity = number_map(&o, k)?,
        "trending" => m.trending = number_map(&o, k)?,
        "neighbours" => if let Some(n) = o.get(k) {
            let mut neighbours = Vec::new();
            for entry in Object::entries(n.unchecked_ref::<Object>()).iter() {
                let pair: Array = entry.unchecked_into();
                let list = pair
                    .get(1)
                    .dyn_into::<Array>()
                    .map_err(|_| o.error(&format!("\"{k}\" must map ids to arrays")))?;
                let mut out = Vec::new();
                for n in list.iter() {
                    let mut neighbour = Neighbour {
                        item: String::new(),
                        score: f32::NAN,
                    };
                    read_neighbour_into(n, &mut neighbour)?;
                    out.push(neighbour);
                }
                neighbours.push((pair.get(0).as_string().unwrap_or_default(), out));
            }
            m.neighbours = neighbours.into_iter().collect();
        },
        "interests" => m.interests = number_map(&o, k)?,
        "segmentAxis" => m.segment_axis = o.strings(k)?,
        "segments" => for s in o.array(k)? {
            let mut segment = Segment {
                label: String::new(),
                share: 0.0,
                centroid: Vec::new(),
            };
            read_segment_into(s, &mut segment)?;
            m.segments.push(segment);
        },
        "itemModel" => if let Some(v) = o.get(k) {
            let mut info = ItemModelInfo {
                kind: String::new(),
                items: 0,
                lambda: 0.0,
            };
            read_item_model_into(v, &mut info)?;
            m.item_model = Some(info);
        },
    }
}

reader! {
    /// `ModelNeighbour` in `kindred.d.ts`.
    pub(crate) MODEL_NEIGHBOUR, read_neighbour_into(o, k, n: Neighbour) = ("model neighbour", ErrorCode::InvalidModel) {
        "item" => n.item = o.str(k)?.unwrap_or_default(),
        "score" => o.set_f32(k, &mut n.score)?,
    }
}

reader! {
    /// `ModelSegment` in `kindred.d.ts`.
    pub(crate) MODEL_SEGMENT, read_segment_into(o, k, s: Segment) = ("model segment", ErrorCode::InvalidModel) {
        "label" => s.label = o.str(k)?.unwrap_or_default(),
        "share" => o.set_f32(k, &mut s.share)?,
        "centroid" => s.centroid = o
            .array(k)?
            .iter()
            .map(|v| v.as_f64().map_or(f32::NAN, |f| f as f32))
            .collect(),
    }
}

reader! {
    /// `ItemModelInfo` in `kindred.d.ts`.
    pub(crate) MODEL_ITEM_MODEL, read_item_model_into(o, k, i: ItemModelInfo) = ("model itemModel", ErrorCode::InvalidModel) {
        "kind" => i.kind = o.str(k)?.unwrap_or_default(),
        "items" => o.set_u32(k, 1e9, &mut i.items)?,
        "lambda" => o.set_f32(k, &mut i.lambda)?,
    }
}

/// The shared model as published by the server (validated by the engine when installed).
pub(crate) fn read_model(value: JsValue) -> Result<SharedModel, KindredError> {
    // The format decides how the fields are spelled: a format-1 model (snake_case) is refused
    // for its format, not for its first unknown field.
    if let Some(format) = Reflect::get(&value, &"format".into())
        .ok()
        .and_then(|f| f.as_f64())
    {
        SharedModel::check_format(format.clamp(0.0, f64::from(u32::MAX)) as u32)
            .map_err(|e| KindredError::new(ErrorCode::InvalidModel, e.to_string()))?;
    }
    let mut model = SharedModel::default();
    read_model_into(value, &mut model)?;
    Ok(model)
}

// ----- out -----

fn opt_num(v: Option<f64>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from)
}

fn opt_str(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from)
}

fn strings_js<S: AsRef<str>>(list: impl IntoIterator<Item = S>) -> JsValue {
    list.into_iter()
        .map(|s| JsValue::from(s.as_ref()))
        .collect::<Array>()
        .into()
}

writer! {
    /// `Recommendation` in `kindred.d.ts`.
    pub(crate) RECOMMENDATION, recommendation_js(r: Recommendation) {
        "item" => r.item.as_str().into(),
        "score" => r.score.into(),
        "reasons" => strings_js(&r.reasons),
    }
}

pub(crate) fn recommendations_js(recs: &[Recommendation]) -> JsValue {
    array_of(recs, recommendation_js)
}

writer! {
    /// `LoadReport` in `kindred.d.ts`.
    pub(crate) LOAD_REPORT, load_report_js(r: LoadReport) {
        "loaded" => (r.loaded as f64).into(),
        "rejected" => array_of(&r.rejected, rejected_row_js),
    }
}

writer! {
    /// `RejectedRow` in `kindred.d.ts`.
    pub(crate) REJECTED_ROW, rejected_row_js(r: RejectedRow) {
        "index" => (r.index as f64).into(),
        "id" => opt_str(r.id.as_deref()),
        "reason" => r.reason.as_str().into(),
    }
}

writer! {
    /// `Interest` in `kindred.d.ts`.
    pub(crate) INTEREST, interest_js(i: Interest) {
        "key" => i.key.as_str().into(),
        "kind" => i.kind.as_str().into(),
        "label" => i.label.as_str().into(),
        "weight" => i.weight.into(),
    }
}

pub(crate) fn interests_js(list: &[Interest]) -> JsValue {
    array_of(list, interest_js)
}

writer! {
    /// `ItemActivity` in `kindred.d.ts`.
    pub(crate) ITEM_ACTIVITY, item_activity_js(s: ItemStats) {
        "views" => s.views.into(),
        "clicks" => s.clicks.into(),
        "carts" => s.carts.into(),
        "purchases" => s.purchases.into(),
        "lastSeen" => opt_num(s.last_seen.map(|t| t as f64)),
        "lastPurchase" => opt_num(s.last_purchase.map(|t| t as f64)),
        "inCart" => s.in_cart.into(),
        "lastRating" => opt_num(s.last_rating.map(f64::from)),
    }
}

writer! {
    /// `Explanation` in `kindred.d.ts`.
    pub(crate) EXPLANATION, explanation_js(e: Explanation) {
        "item" => e.item.as_str().into(),
        "title" => e.title.as_str().into(),
        "activity" => e.activity.as_ref().map_or(JsValue::NULL, item_activity_js),
        "matchedInterests" => array_of(&e.matched_interests, matched_interest_js),
        "hiddenBy" => strings_js(&e.hidden_by),
        "popularity" => opt_num(e.popularity.map(f64::from)),
        "trending" => opt_num(e.trending.map(f64::from)),
        "forYou" => for_you_js(&e.for_you),
    }
}

writer! {
    /// `MatchedInterest` in `kindred.d.ts`.
    pub(crate) MATCHED_INTEREST, matched_interest_js(m: MatchedInterest) {
        "key" => m.key.as_str().into(),
        "weight" => m.weight.into(),
    }
}

writer! {
    /// `ForYouPlacement` in `kindred.d.ts`.
    pub(crate) FOR_YOU, for_you_js(f: ForYouPlacement) {
        "rank" => opt_num(f.rank.map(|r| r as f64)),
        "score" => opt_num(f.score.map(f64::from)),
        "reasons" => strings_js(&f.reasons),
    }
}

writer! {
    /// `ExportedEvent` in `kindred.d.ts`.
    pub(crate) EXPORTED_EVENT, exported_event_js(e: ExportedEvent) {
        "type" => e.kind.into(),
        "item" => e.item.as_deref().map_or(JsValue::UNDEFINED, JsValue::from),
        "query" => e.query.as_deref().map_or(JsValue::UNDEFINED, JsValue::from),
        "ts" => (e.ts as f64).into(),
        "amount" => e.amount.into(),
    }
}

/// What `exportData()` returns: the engine's export and what the binding keeps itself.
pub(crate) struct ExportView<'a> {
    pub(crate) site: &'a str,
    pub(crate) exported_at: i64,
    pub(crate) storage: &'static str,
    pub(crate) data: &'a ShopperData,
    /// `QuarantinedData[]`, already written.
    pub(crate) quarantined: JsValue,
    /// `OutboxEntry[]`, already written.
    pub(crate) outbox: JsValue,
}

/// A JS object from `(key, value)` pairs, each value written by `write`.
fn object_of<V>(pairs: &[(String, V)], write: fn(&V) -> JsValue) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &key.as_str().into(), &write(value));
    }
    object.into()
}

writer! {
    /// `ExportedData` in `kindred.d.ts`.
    pub(crate) EXPORTED_DATA, export_js(x: ExportView<'_>) {
        "site" => x.site.into(),
        "exportedAt" => (x.exported_at as f64).into(),
        "storage" => x.storage.into(),
        "events" => array_of(&x.data.events, exported_event_js),
        "items" => object_of(&x.data.items, item_activity_js),
        "foldedEvents" => (x.data.folded_events as f64).into(),
        "clampedEvents" => (x.data.clamped_events as f64).into(),
        "interests" => interests_js(&x.data.interests),
        "removedInterests" => strings_js(&x.data.removed_interests),
        "affinities" => affinities_js(&x.data.affinities),
        "quarantined" => x.quarantined.clone(),
        "ledger" => ledger_js(&x.data.ledger),
        "lastReportedDay" => opt_num(x.data.last_reported_day.map(f64::from)),
        "window" => window_js(x.data.window.as_ref()),
        "pendingReport" => x.data.pending_report.as_ref().map_or(JsValue::NULL, pending_report_js),
        "recommendationCounters" => array_of(&x.data.recommendation_counters, day_counts_js),
        "outbox" => x.outbox.clone(),
    }
}

/// An object of numbers from `(key, value)` pairs.
fn numbers_js(pairs: &[(String, f64)]) -> JsValue {
    object_of(pairs, |v| (*v).into())
}

writer! {
    /// `Affinities` in `kindred.d.ts`.
    pub(crate) AFFINITIES, affinities_js(a: Affinities) {
        "items" => numbers_js(&a.items),
        "interests" => numbers_js(&a.interests),
        "terms" => numbers_js(&a.terms),
    }
}

writer! {
    /// `StrategyCounts` in `kindred.d.ts`.
    pub(crate) STRATEGY_COUNTS, counts_js(c: StrategyCounts) {
        "impressions" => c.impressions.into(),
        "clicks" => c.clicks.into(),
    }
}

/// Per strategy name, its counts.
fn strategy_counts_js(list: &[(String, StrategyCounts)]) -> JsValue {
    object_of(list, counts_js)
}

writer! {
    /// `DayCounters` in `kindred.d.ts`.
    pub(crate) DAY_COUNTS, day_counts_js(d: DayCounts) {
        "day" => d.day.into(),
        "strategies" => strategy_counts_js(&d.strategies),
    }
}

writer! {
    /// `ReportContribution` in `kindred.d.ts`: the keys a drawn report adds to its window.
    pub(crate) CONTRIBUTION, contribution_js(c: Contribution) {
        "items" => set_js(&c.items),
        "pairs" => pairs_js(&c.pairs),
        "interests" => set_js(&c.interests),
        "strategies" => strategy_counts_js(&c.strategies),
    }
}

writer! {
    /// `PendingReport` in `kindred.d.ts`: a drawn report with the keys it adds.
    pub(crate) PENDING_REPORT, pending_report_js(r: PreparedReport) {
        "day" => r.day.into(),
        "window" => r.window.into(),
        "epsilonAfter" => r.epsilon_after().into(),
        "json" => r.json.as_str().into(),
        "contribution" => contribution_js(&r.contribution),
    }
}

/// A stored state that could not be read, as `exportData()` shows it.
pub(crate) struct QuarantineView<'a> {
    pub(crate) reason: &'a str,
    pub(crate) at: i64,
    pub(crate) bytes: Option<&'a [u8]>,
    /// The unreadable value as JSON text (`null`: it was bytes, or nothing JSON can show).
    pub(crate) raw_json: JsValue,
}

writer! {
    /// `QuarantinedData` in `kindred.d.ts`.
    pub(crate) QUARANTINED_DATA, quarantine_view_js(q: QuarantineView<'_>) {
        "reason" => q.reason.into(),
        "at" => (q.at as f64).into(),
        "bytesBase64" => q.bytes.map_or(JsValue::NULL, |b| base64(b).into()),
        "rawJson" => q.raw_json.clone(),
    }
}

writer! {
    /// `LedgerSummary` in `kindred.d.ts`.
    pub(crate) LEDGER, ledger_js(l: LedgerSummary) {
        "window" => l.window.into(),
        "windowDays" => l.window_days.into(),
        "spent" => l.spent.into(),
        "cap" => l.cap.into(),
        "delta" => l.delta.into(),
        "spentYear" => l.spent_year.into(),
        "windows" => l
            .windows
            .iter()
            .map(|(first, eps)| Array::of2(&(*first).into(), &(*eps).into()))
            .collect::<Array>()
            .into(),
    }
}

writer! {
    /// `Caps` in `kindred.d.ts`.
    pub(crate) CAPS_OUT, caps_js(c: Caps) {
        "items" => c.items.into(),
        "pairs" => c.pairs.into(),
        "interests" => c.interests.into(),
        "impressions" => c.impressions.into(),
        "clicks" => c.clicks.into(),
    }
}

fn set_js(set: &SortedSet<String>) -> JsValue {
    strings_js(set.iter())
}

fn pairs_js(pairs: &SortedSet<(String, String)>) -> JsValue {
    pairs
        .iter()
        .map(|(a, b)| Array::of2(&a.as_str().into(), &b.as_str().into()))
        .collect::<Array>()
        .into()
}

writer! {
    /// `WindowContribution` in `kindred.d.ts`: the keys themselves (they are the shopper's
    /// data, shown in the privacy centre and exported).
    pub(crate) WINDOW, window_state_js(w: WindowState) {
        "firstDay" => w.window.into(),
        "days" => w.days.into(),
        "lastDay" => (w.window + w.days.max(1) - 1).into(),
        "items" => set_js(&w.items),
        "pairs" => pairs_js(&w.pairs),
        "interests" => set_js(&w.interests),
        "shown" => set_js(&w.shown),
        "clicked" => set_js(&w.clicked),
        "closed" => w.closed.into(),
    }
}

/// What the shopper contributed to a window, `null` before the first report.
pub(crate) fn window_js(w: Option<&WindowState>) -> JsValue {
    w.map_or(JsValue::NULL, window_state_js)
}

writer! {
    /// `NextReport` in `kindred.d.ts`.
    pub(crate) NEXT_REPORT, next_report_js(r: PreparedReport) {
        "day" => r.day.into(),
        "window" => r.window.into(),
        "epsilonAfter" => r.epsilon_after().into(),
        "json" => r.json.as_str().into(),
    }
}

/// What `privacy()` returns: the engine's overview and what the binding decides itself.
pub(crate) struct PrivacyView<'a> {
    pub(crate) overview: &'a PrivacyOverview,
    pub(crate) consent: &'static str,
    pub(crate) blocked_by: Option<&'static str>,
    /// `OutboxEntry[]`, already written.
    pub(crate) outbox: JsValue,
}

writer! {
    /// `PrivacyView` in `kindred.d.ts`.
    pub(crate) PRIVACY_VIEW, privacy_js(p: PrivacyView<'_>) {
        "mode" => p.overview.mode.name().into(),
        "consent" => p.consent.into(),
        "blockedBy" => opt_str(p.blocked_by),
        "ledger" => ledger_js(&p.overview.ledger),
        "lastReportedDay" => opt_num(p.overview.last_reported_day.map(f64::from)),
        "window" => window_js(p.overview.window.as_ref()),
        "caps" => caps_js(&p.overview.caps),
        "nextReport" => p.overview.next_report.as_ref().map_or(JsValue::NULL, next_report_js),
        "outbox" => p.outbox.clone(),
    }
}

/// What `profile()` returns.
pub(crate) struct ProfileView<'a> {
    pub(crate) interests: &'a [Interest],
    pub(crate) removed_interests: &'a SortedSet<String>,
    pub(crate) segment: Option<(String, f32)>,
    pub(crate) events: usize,
    pub(crate) items: usize,
}

writer! {
    /// `Profile` in `kindred.d.ts`.
    pub(crate) PROFILE, profile_js(p: ProfileView<'_>) {
        "interests" => interests_js(p.interests),
        "removedInterests" => set_js(p.removed_interests),
        "segment" => p.segment.as_ref().map_or(JsValue::NULL, profile_segment_js),
        "events" => (p.events as f64).into(),
        "items" => (p.items as f64).into(),
    }
}

writer! {
    /// `ProfileSegment` in `kindred.d.ts`: the closest segment's label and similarity.
    pub(crate) PROFILE_SEGMENT, profile_segment_js(s: (String, f32)) {
        "label" => s.0.as_str().into(),
        "similarity" => f64::from(s.1).into(),
    }
}

/// Where the installed shared model came from (`Status.model`).
pub(crate) struct ModelSourceView<'a> {
    pub(crate) version: u64,
    pub(crate) url: Option<&'a str>,
    pub(crate) etag: Option<&'a str>,
}

writer! {
    /// `ModelSource` in `kindred.d.ts`.
    pub(crate) MODEL_SOURCE, model_source_js(m: ModelSourceView<'_>) {
        "version" => (m.version as f64).into(),
        "url" => opt_str(m.url),
        "etag" => opt_str(m.etag),
    }
}

/// What `status()` returns.
pub(crate) struct StatusView<'a> {
    pub(crate) site: &'a str,
    pub(crate) storage: &'static str,
    pub(crate) memory_reason: Option<&'a str>,
    pub(crate) pending_writes: usize,
    /// `Warning[]`, as they were emitted.
    pub(crate) warnings: &'a [JsValue],
    pub(crate) catalog_size: usize,
    pub(crate) model: Option<ModelSourceView<'a>>,
}

writer! {
    /// `Status` in `kindred.d.ts`.
    pub(crate) STATUS, status_js(s: StatusView<'_>) {
        "site" => s.site.into(),
        "storage" => s.storage.into(),
        "memoryReason" => opt_str(s.memory_reason),
        "pendingWrites" => (s.pending_writes as f64).into(),
        "warnings" => s.warnings.iter().collect::<Array>().into(),
        "catalogSize" => (s.catalog_size as f64).into(),
        "model" => s.model.as_ref().map_or(JsValue::NULL, model_source_js),
    }
}

writer! {
    /// `ModelStatus` in `kindred.d.ts`: how `loadModel` ended and the version now installed.
    pub(crate) MODEL_STATUS, model_status_js(s: (&str, u64)) {
        "status" => s.0.into(),
        "version" => (s.1 as f64).into(),
    }
}

pub(crate) fn model_status(status: &str, version: u64) -> JsValue {
    model_status_js(&(status, version))
}

writer! {
    /// `Warning` in `kindred.d.ts`: a code and a message for people.
    pub(crate) WARNING, warning_js(w: (&str, String)) {
        "code" => w.0.into(),
        "message" => w.1.as_str().into(),
    }
}

writer! {
    /// `Update` in `kindred.d.ts`.
    pub(crate) UPDATE, update_js(reason: &str) {
        "reason" => (*reason).into(),
    }
}
