//! JS values in and out, converted field by field.
//!
//! Written out by hand instead of serde-wasm-bindgen: measured on this module, each type
//! converted through serde cost 4-6 KB of gzipped wasm (a serializer or deserializer
//! instantiation per type, plus the float and string formatting serde's error messages need),
//! and the whole boundary was about half the module. These functions cost a few hundred bytes
//! each. Messages name the bad field as JS spells it: `invalid event: "item" must be a string`.

use js_sys::{Array, Object, Reflect};
use kindred_core::catalog::{JsonKind, JsonLike, LoadReport, MAX_EXACT_INTEGER};
use kindred_core::compact::{SortedMap, SortedSet};
use kindred_core::explain::Explanation;
use kindred_core::export::{DayCounts, ShopperData};
use kindred_core::history::ItemStats;
use kindred_core::ledger::LedgerSummary;
use kindred_core::model::{ItemModelInfo, Neighbour, Segment};
use kindred_core::report::{Caps, StrategyCounts};
use kindred_core::rules::{Boost, Filter, Pin};
use kindred_core::window::Contribution;
use kindred_core::{
    EventInput, EventKind, Interest, PreparedReport, PrivacyOverview, RecommendRequest,
    Recommendation, SharedModel, Strategy, WindowState,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::storage::record;

/// Reads the properties of one JS object, refusing unknown ones (so a typo is an error, not
/// silently ignored).
pub(crate) struct Obj<'a> {
    value: JsValue,
    what: &'a str,
}

pub(crate) fn invalid(what: &str, problem: &str) -> JsError {
    JsError::new(&format!("invalid {what}: {problem}"))
}

impl<'a> Obj<'a> {
    pub(crate) fn new(value: JsValue, what: &'a str, known: &[&str]) -> Result<Obj<'a>, JsError> {
        if !value.is_object() || Array::is_array(&value) {
            return Err(invalid(what, "expected an object"));
        }
        for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            if !known.contains(&key.as_str()) {
                return Err(invalid(
                    what,
                    &format!(
                        "unknown field `{key}`, expected one of {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(Obj { value, what })
    }

    /// `undefined`/`null` read as absent.
    pub(crate) fn get(&self, key: &str) -> Option<JsValue> {
        let v = Reflect::get(&self.value, &key.into()).ok()?;
        (!v.is_undefined() && !v.is_null()).then_some(v)
    }

    fn wrong(&self, key: &str, expected: &str) -> JsError {
        invalid(self.what, &format!("\"{key}\" must be {expected}"))
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, JsError> {
        self.get(key)
            .map(|v| v.as_string().ok_or_else(|| self.wrong(key, "a string")))
            .transpose()
    }

    pub(crate) fn num(&self, key: &str) -> Result<Option<f64>, JsError> {
        self.get(key)
            .map(|v| v.as_f64().ok_or_else(|| self.wrong(key, "a number")))
            .transpose()
    }

    /// A whole number from 0 to `max`.
    pub(crate) fn int(&self, key: &str, max: f64) -> Result<Option<f64>, JsError> {
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

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, JsError> {
        self.get(key)
            .map(|v| v.as_bool().ok_or_else(|| self.wrong(key, "true or false")))
            .transpose()
    }

    pub(crate) fn strings(&self, key: &str) -> Result<Vec<String>, JsError> {
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

    pub(crate) fn array(&self, key: &str) -> Result<Vec<JsValue>, JsError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(v) => Ok(v
                .dyn_ref::<Array>()
                .ok_or_else(|| self.wrong(key, "an array"))?
                .iter()
                .collect()),
        }
    }

    /// One of `names` (the JS spelling of an enum).
    pub(crate) fn choice<T: Copy>(
        &self,
        key: &str,
        options: &[(&str, T)],
    ) -> Result<Option<T>, JsError> {
        let Some(name) = self.str(key)? else {
            return Ok(None);
        };
        match options.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(Some(*v)),
            None => {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                Err(invalid(
                    self.what,
                    &format!(
                        "unknown {key} \"{name}\", expected one of {}",
                        names.join(", ")
                    ),
                ))
            }
        }
    }
}

fn strategy_names() -> Vec<(&'static str, Strategy)> {
    Strategy::ALL.iter().map(|s| (s.name(), *s)).collect()
}

pub(crate) const EVENT_FIELDS: &[&str] =
    &["type", "item", "query", "ms", "value", "ts", "strategy"];

pub(crate) fn read_event(value: JsValue) -> Result<EventInput, JsError> {
    let o = Obj::new(value, "event", EVENT_FIELDS)?;
    let kinds: Vec<(&str, EventKind)> = EventKind::ALL.iter().map(|k| (k.name(), *k)).collect();
    let kind = o
        .choice("type", &kinds)?
        .ok_or_else(|| invalid("event", "missing field `type`"))?;
    Ok(EventInput {
        kind,
        item: o.str("item")?,
        query: o.str("query")?,
        ms: o.num("ms")?,
        value: o.num("value")?,
        ts: o.num("ts")?,
        strategy: o.choice("strategy", &strategy_names())?,
    })
}

const REQUEST_FIELDS: &[&str] = &[
    "strategy",
    "item",
    "k",
    "excludeViewed",
    "excludePurchased",
    "filter",
    "boost",
    "pin",
    "diversity",
    "minScore",
];

pub(crate) fn read_request(value: JsValue) -> Result<RecommendRequest, JsError> {
    const WHAT: &str = "recommend options";
    let o = Obj::new(value, WHAT, REQUEST_FIELDS)?;
    let mut r = RecommendRequest::default();
    if let Some(s) = o.choice("strategy", &strategy_names())? {
        r.strategy = s;
    }
    r.item = o.str("item")?;
    if let Some(k) = o.int("k", 1e9)? {
        r.k = k as usize;
    }
    r.exclude_viewed = o.bool("excludeViewed")?;
    r.exclude_purchased = o.bool("excludePurchased")?;
    if let Some(f) = o.get("filter") {
        let f = Obj::new(
            f,
            "filter",
            &[
                "available",
                "categories",
                "brands",
                "tags",
                "minPrice",
                "maxPrice",
                "exclude",
            ],
        )?;
        r.filter = Filter {
            available: f.bool("available")?,
            categories: f.strings("categories")?,
            brands: f.strings("brands")?,
            tags: f.strings("tags")?,
            min_price: f.num("minPrice")?,
            max_price: f.num("maxPrice")?,
            exclude: f.strings("exclude")?,
        };
    }
    for b in o.array("boost")? {
        let b = Obj::new(b, "boost", &["item", "category", "brand", "tag", "factor"])?;
        r.boost.push(Boost {
            item: b.str("item")?,
            category: b.str("category")?,
            brand: b.str("brand")?,
            tag: b.str("tag")?,
            factor: b
                .num("factor")?
                .ok_or_else(|| invalid("boost", "missing field `factor`"))?
                as f32,
        });
    }
    for p in o.array("pin")? {
        let p = Obj::new(p, "pin", &["item", "position"])?;
        r.pin.push(Pin {
            item: p
                .str("item")?
                .ok_or_else(|| invalid("pin", "missing field `item`"))?,
            position: p
                .int("position", 1e9)?
                .ok_or_else(|| invalid("pin", "missing field `position`"))?
                as usize,
        });
    }
    if let Some(d) = o.num("diversity")? {
        r.diversity = d as f32;
    }
    if let Some(m) = o.num("minScore")? {
        r.min_score = m as f32;
    }
    Ok(r)
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

const MODEL_FIELDS: &[&str] = &[
    "format",
    "version",
    "built_epoch",
    "popularity",
    "trending",
    "neighbours",
    "interests",
    "segment_axis",
    "segments",
    "item_model",
];

/// An object of numbers, as a map (built in one go: a served model's keys come sorted).
fn number_map(o: &Obj<'_>, key: &str) -> Result<SortedMap<String, f32>, JsError> {
    let mut map = Vec::new();
    let Some(v) = o.get(key) else {
        return Ok(SortedMap::new());
    };
    if !v.is_object() {
        return Err(invalid("model", &format!("\"{key}\" must be an object")));
    }
    for entry in Object::entries(v.unchecked_ref::<Object>()).iter() {
        let pair: Array = entry.unchecked_into();
        let score = pair
            .get(1)
            .as_f64()
            .ok_or_else(|| invalid("model", &format!("\"{key}\" must map item ids to numbers")))?;
        map.push((pair.get(0).as_string().unwrap_or_default(), score as f32));
    }
    Ok(map.into_iter().collect())
}

/// The shared model as published by the server (validated by the engine when installed).
pub(crate) fn read_model(value: JsValue) -> Result<SharedModel, JsError> {
    let o = Obj::new(value, "model", MODEL_FIELDS)?;
    let mut neighbours = Vec::new();
    if let Some(n) = o.get("neighbours") {
        for entry in Object::entries(n.unchecked_ref::<Object>()).iter() {
            let pair: Array = entry.unchecked_into();
            let list = pair
                .get(1)
                .dyn_into::<Array>()
                .map_err(|_| invalid("model", "\"neighbours\" must map ids to arrays"))?;
            let mut out = Vec::new();
            for n in list.iter() {
                let n = Obj::new(n, "model neighbour", &["item", "score"])?;
                out.push(Neighbour {
                    item: n.str("item")?.unwrap_or_default(),
                    score: n.num("score")?.unwrap_or(f64::NAN) as f32,
                });
            }
            neighbours.push((pair.get(0).as_string().unwrap_or_default(), out));
        }
    }
    let mut segments = Vec::new();
    for s in o.array("segments")? {
        let s = Obj::new(s, "model segment", &["label", "share", "centroid"])?;
        let centroid = s
            .array("centroid")?
            .iter()
            .map(|v| v.as_f64().map_or(f32::NAN, |f| f as f32))
            .collect();
        segments.push(Segment {
            label: s.str("label")?.unwrap_or_default(),
            share: s.num("share")?.unwrap_or(0.0) as f32,
            centroid,
        });
    }
    let item_model = match o.get("item_model") {
        Some(m) if !m.is_null() && !m.is_undefined() => {
            let m = Obj::new(m, "model item_model", &["kind", "items", "lambda"])?;
            Some(ItemModelInfo {
                kind: m.str("kind")?.unwrap_or_default(),
                items: m.int("items", 1e9)?.unwrap_or(0.0) as u32,
                lambda: m.num("lambda")?.unwrap_or(0.0) as f32,
            })
        }
        _ => None,
    };
    Ok(SharedModel {
        format: o.int("format", 1e9)?.unwrap_or(0.0) as u32,
        version: o.int("version", 9.0e15)?.unwrap_or(0.0) as u64,
        built_epoch: o.int("built_epoch", 1e9)?.unwrap_or(0.0) as u32,
        popularity: number_map(&o, "popularity")?,
        trending: number_map(&o, "trending")?,
        neighbours: neighbours.into_iter().collect(),
        interests: number_map(&o, "interests")?,
        segment_axis: o.strings("segment_axis")?,
        segments,
        item_model,
    })
}

// ----- out -----

fn opt_num(v: Option<f64>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from)
}

fn strings_js<S: AsRef<str>>(list: &[S]) -> JsValue {
    list.iter()
        .map(|s| JsValue::from(s.as_ref()))
        .collect::<Array>()
        .into()
}

pub(crate) fn recommendations_js(recs: &[Recommendation]) -> JsValue {
    recs.iter()
        .map(|r| {
            record(&[
                ("item", r.item.as_str().into()),
                ("score", r.score.into()),
                ("reasons", strings_js(&r.reasons)),
            ])
        })
        .collect::<Array>()
        .into()
}

pub(crate) fn load_report_js(report: &LoadReport) -> JsValue {
    let rejected: Array = report
        .rejected
        .iter()
        .map(|r| {
            record(&[
                ("index", (r.index as f64).into()),
                ("id", r.id.as_deref().map_or(JsValue::NULL, JsValue::from)),
                ("reason", r.reason.as_str().into()),
            ])
        })
        .collect();
    record(&[
        ("loaded", (report.loaded as f64).into()),
        ("rejected", rejected.into()),
    ])
}

pub(crate) fn interests_js(list: &[Interest]) -> JsValue {
    list.iter()
        .map(|i| {
            record(&[
                ("key", i.key.as_str().into()),
                ("kind", i.kind.as_str().into()),
                ("label", i.label.as_str().into()),
                ("weight", i.weight.into()),
            ])
        })
        .collect::<Array>()
        .into()
}

fn item_stats_js(s: &ItemStats) -> JsValue {
    record(&[
        ("views", s.views.into()),
        ("clicks", s.clicks.into()),
        ("carts", s.carts.into()),
        ("purchases", s.purchases.into()),
        ("lastSeen", opt_num(s.last_seen.map(|t| t as f64))),
        ("lastPurchase", opt_num(s.last_purchase.map(|t| t as f64))),
        ("inCart", s.in_cart.into()),
        ("lastRating", opt_num(s.last_rating.map(f64::from))),
    ])
}

pub(crate) fn explanation_js(e: &Explanation) -> JsValue {
    let matched: Array = e
        .matched_interests
        .iter()
        .map(|m| record(&[("key", m.key.as_str().into()), ("weight", m.weight.into())]))
        .collect();
    record(&[
        ("item", e.item.as_str().into()),
        ("title", e.title.as_str().into()),
        (
            "activity",
            e.activity.as_ref().map_or(JsValue::NULL, item_stats_js),
        ),
        ("matchedInterests", matched.into()),
        ("hiddenBy", strings_js(&e.hidden_by)),
        ("popularity", opt_num(e.popularity.map(f64::from))),
        ("trending", opt_num(e.trending.map(f64::from))),
        (
            "forYou",
            record(&[
                ("rank", opt_num(e.for_you.rank.map(|r| r as f64))),
                ("score", opt_num(e.for_you.score.map(f64::from))),
                ("reasons", strings_js(&e.for_you.reasons)),
            ]),
        ),
    ])
}

/// Everything stored about the shopper (the binding adds what it keeps itself).
pub(crate) fn shopper_data_js(d: &ShopperData) -> JsValue {
    let events: Array = d
        .events
        .iter()
        .map(|e| {
            let event = record(&[
                ("type", e.kind.into()),
                ("ts", (e.ts as f64).into()),
                ("amount", e.amount.into()),
            ]);
            if let Some(item) = &e.item {
                let _ = Reflect::set(&event, &"item".into(), &item.as_str().into());
            }
            if let Some(query) = &e.query {
                let _ = Reflect::set(&event, &"query".into(), &query.as_str().into());
            }
            event
        })
        .collect();
    let items = Object::new();
    for (id, stats) in &d.items {
        let _ = Reflect::set(&items, &id.as_str().into(), &item_stats_js(stats));
    }
    let a = &d.affinities;
    let affinities = record(&[
        ("items", numbers_js(&a.items)),
        ("interests", numbers_js(&a.interests)),
        ("terms", numbers_js(&a.terms)),
    ]);
    let pending = d.pending_report.as_ref().map_or(JsValue::NULL, |r| {
        let report = report_js(r);
        let _ = Reflect::set(
            &report,
            &"contribution".into(),
            &contribution_js(&r.contribution),
        );
        report
    });
    let counters: Array = d
        .recommendation_counters
        .iter()
        .map(day_counts_js)
        .collect();
    record(&[
        ("events", events.into()),
        ("items", items.into()),
        ("foldedEvents", (d.folded_events as f64).into()),
        ("clampedEvents", (d.clamped_events as f64).into()),
        ("interests", interests_js(&d.interests)),
        ("removedInterests", strings_js(&d.removed_interests)),
        ("affinities", affinities),
        ("ledger", ledger_js(&d.ledger)),
        (
            "lastReportedDay",
            d.last_reported_day.map_or(JsValue::NULL, JsValue::from),
        ),
        ("window", window_js(d.window.as_ref())),
        ("pendingReport", pending),
        ("recommendationCounters", counters.into()),
    ])
}

/// An object of numbers from `(key, value)` pairs.
fn numbers_js(pairs: &[(String, f64)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &key.as_str().into(), &(*value).into());
    }
    object.into()
}

fn counts_js(c: &StrategyCounts) -> JsValue {
    record(&[
        ("impressions", c.impressions.into()),
        ("clicks", c.clicks.into()),
    ])
}

/// Per strategy name, its counts.
fn strategy_counts_js(list: &[(String, StrategyCounts)]) -> JsValue {
    let object = Object::new();
    for (name, counts) in list {
        let _ = Reflect::set(&object, &name.as_str().into(), &counts_js(counts));
    }
    object.into()
}

fn day_counts_js(d: &DayCounts) -> JsValue {
    record(&[
        ("day", d.day.into()),
        ("strategies", strategy_counts_js(&d.strategies)),
    ])
}

fn keys_js(set: &SortedSet<String>) -> JsValue {
    set.iter()
        .map(|k| JsValue::from(k.as_str()))
        .collect::<Array>()
        .into()
}

fn pairs_js(pairs: &SortedSet<(String, String)>) -> JsValue {
    pairs
        .iter()
        .map(|(a, b)| Array::of2(&a.as_str().into(), &b.as_str().into()))
        .collect::<Array>()
        .into()
}

/// The keys a drawn report adds to its window.
fn contribution_js(c: &Contribution) -> JsValue {
    record(&[
        ("items", keys_js(&c.items)),
        ("pairs", pairs_js(&c.pairs)),
        ("interests", keys_js(&c.interests)),
        ("strategies", strategy_counts_js(&c.strategies)),
    ])
}

/// A drawn report: the day it completes, its window, ε after it and its exact bytes.
fn report_js(r: &PreparedReport) -> JsValue {
    record(&[
        ("day", r.day.into()),
        ("window", r.window.into()),
        ("epsilonAfter", r.epsilon_after().into()),
        ("json", r.json.as_str().into()),
    ])
}

pub(crate) fn ledger_js(l: &LedgerSummary) -> JsValue {
    let windows: Array = l
        .windows
        .iter()
        .map(|(first, eps)| Array::of2(&(*first).into(), &(*eps).into()))
        .collect();
    record(&[
        ("window", l.window.into()),
        ("windowDays", l.window_days.into()),
        ("spent", l.spent.into()),
        ("cap", l.cap.into()),
        ("delta", l.delta.into()),
        ("spentYear", l.spent_year.into()),
        ("windows", windows.into()),
    ])
}

fn caps_js(c: &Caps) -> JsValue {
    record(&[
        ("items", c.items.into()),
        ("pairs", c.pairs.into()),
        ("interests", c.interests.into()),
        ("impressions", c.impressions.into()),
        ("clicks", c.clicks.into()),
    ])
}

/// What the shopper contributed to a window: the keys themselves (they are the shopper's data,
/// shown in the privacy centre and exported), `null` before the first report.
pub(crate) fn window_js(w: Option<&WindowState>) -> JsValue {
    let Some(w) = w else {
        return JsValue::NULL;
    };
    record(&[
        ("firstDay", w.window.into()),
        ("days", w.days.into()),
        ("lastDay", (w.window + w.days.max(1) - 1).into()),
        ("items", keys_js(&w.items)),
        ("pairs", pairs_js(&w.pairs)),
        ("interests", keys_js(&w.interests)),
        ("shown", keys_js(&w.shown)),
        ("clicked", keys_js(&w.clicked)),
        ("closed", w.closed.into()),
    ])
}

pub(crate) fn privacy_js(p: &PrivacyOverview) -> JsValue {
    let next = p.next_report.as_ref().map_or(JsValue::NULL, report_js);
    record(&[
        ("mode", p.mode.name().into()),
        ("ledger", ledger_js(&p.ledger)),
        (
            "lastReportedDay",
            p.last_reported_day.map_or(JsValue::NULL, JsValue::from),
        ),
        ("window", window_js(p.window.as_ref())),
        ("caps", caps_js(&p.caps)),
        ("nextReport", next),
    ])
}
