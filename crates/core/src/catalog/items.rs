//! The product catalog: validated items with dense `u32` indices.
//!
//! Rows are validated one by one: a bad row is rejected with its index, id and reason while the
//! valid rows load, so one malformed product never takes a shop's recommendations down. Removal
//! leaves a tombstone so that indices held elsewhere (the content index) stay valid.

use crate::lean::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest accepted item id, in bytes. Ids are shown in URLs and stored on the device.
pub const MAX_ID_BYTES: usize = 256;

/// A catalog item after validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Category paths, normalized to `"Home > Kitchen > Mugs"` form.
    pub categories: Vec<String>,
    pub brand: Option<String>,
    pub price: Option<f64>,
    pub available: bool,
    pub tags: Vec<String>,
    pub embedding: Option<Vec<f32>>,
}

impl Item {
    /// A minimal item with just an id and a title.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Item {
            id: id.into(),
            title: title.into(),
            description: None,
            categories: Vec::new(),
            brand: None,
            price: None,
            available: true,
            tags: Vec::new(),
            embedding: None,
        }
    }

    /// Every category path and all of its ancestors, each once: `"A > B"` gives `"A"`, `"A > B"`.
    pub fn category_paths(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for path in &self.categories {
            let mut prefix = String::new();
            for segment in path.split(" > ") {
                if !prefix.is_empty() {
                    prefix.push_str(" > ");
                }
                prefix.push_str(segment);
                if !out.contains(&prefix) {
                    out.push(prefix.clone());
                }
            }
        }
        out
    }

    /// True when one of the item's categories is `path` or lies below it.
    pub fn in_category(&self, path: &str) -> bool {
        self.in_normalized_category(&normalize_category(path))
    }

    /// Like [`Item::in_category`] for a path already in normalized form; allocation-free, for
    /// filters that test every candidate.
    pub fn in_normalized_category(&self, path: &str) -> bool {
        self.categories.iter().any(|c| {
            c.strip_prefix(path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" > "))
        })
    }
}

/// Errors from catalog operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("catalog must be a JSON array of items, got {0}")]
    NotAnArray(&'static str),
    #[error("catalog has no valid item ({rejected} rows rejected; first: {first})")]
    NoValidItems { rejected: usize, first: String },
    #[error("invalid item \"{id}\": {reason}")]
    InvalidItem { id: String, reason: String },
    #[error("unknown item id \"{0}\": load the catalog first, or check the id")]
    UnknownItem(String),
}

/// One row that did not load, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// Position of the row in the input array.
    pub index: usize,
    /// The row's id when it had a readable one.
    pub id: Option<String>,
    pub reason: String,
}

/// What a catalog load did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    pub loaded: usize,
    pub rejected: Vec<RejectedRow>,
}

/// Validated items with dense indices. Removed items leave a tombstone (`None`).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    slots: Vec<Option<Item>>,
    ids: HashMap<String, u32>,
    embedding_dim: Option<usize>,
}

impl Catalog {
    /// Parses and validates a JSON array of items.
    pub fn from_json(json: &str) -> Result<(Catalog, LoadReport), CatalogError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| CatalogError::InvalidJson(e.to_string()))?;
        Catalog::from_value(&value)
    }

    /// Validates an already parsed JSON value, which must be an array of item objects.
    pub fn from_value<V: JsonLike>(value: V) -> Result<(Catalog, LoadReport), CatalogError> {
        match value.kind() {
            JsonKind::Array => Catalog::from_rows(value.elements()),
            other => Err(CatalogError::NotAnArray(other.described())),
        }
    }

    /// Validates rows one by one; valid rows load, invalid ones are reported.
    pub fn from_rows<V: JsonLike>(
        rows: impl IntoIterator<Item = V>,
    ) -> Result<(Catalog, LoadReport), CatalogError> {
        let mut catalog = Catalog::default();
        let mut report = LoadReport::default();
        for (index, row) in rows.into_iter().enumerate() {
            let id = row_id(&row);
            let result = parse_item(&row).and_then(|item| {
                if catalog.ids.contains_key(&item.id) {
                    Err(format!(
                        "duplicate id \"{}\" (first occurrence kept)",
                        item.id
                    ))
                } else {
                    catalog.check_embedding(&item)?;
                    Ok(item)
                }
            });
            match result {
                Ok(item) => {
                    catalog.insert_new(item);
                    report.loaded += 1;
                }
                Err(reason) => report.rejected.push(RejectedRow { index, id, reason }),
            }
        }
        if report.loaded == 0 {
            let first = report
                .rejected
                .first()
                .map(|r| format!("row {}: {}", r.index, r.reason))
                .unwrap_or_else(|| "the array is empty".to_owned());
            return Err(CatalogError::NoValidItems {
                rejected: report.rejected.len(),
                first,
            });
        }
        Ok((catalog, report))
    }

    /// Validates one JSON item row (the same rules as a catalog load).
    pub fn parse_item<V: JsonLike>(row: &V) -> Result<Item, CatalogError> {
        parse_item(row).map_err(|reason| CatalogError::InvalidItem {
            id: row_id(row).unwrap_or_else(|| "?".to_owned()),
            reason,
        })
    }

    /// Inserts or replaces one item. Returns its index and whether it replaced an existing one.
    pub fn upsert(&mut self, item: Item) -> Result<(u32, bool), CatalogError> {
        validate_item(&item).map_err(|reason| CatalogError::InvalidItem {
            id: item.id.clone(),
            reason,
        })?;
        self.check_embedding(&item)
            .map_err(|reason| CatalogError::InvalidItem {
                id: item.id.clone(),
                reason,
            })?;
        if let Some(&index) = self.ids.get(&item.id) {
            self.slots[index as usize] = Some(item);
            Ok((index, true))
        } else {
            Ok((self.insert_new(item), false))
        }
    }

    /// Removes an item, leaving a tombstone. Its index is never reused.
    pub fn remove(&mut self, id: &str) -> Result<u32, CatalogError> {
        let index = self
            .ids
            .remove(id)
            .ok_or_else(|| CatalogError::UnknownItem(id.to_owned()))?;
        self.slots[index as usize] = None;
        Ok(index)
    }

    fn insert_new(&mut self, item: Item) -> u32 {
        let index = self.slots.len() as u32;
        if let Some(e) = &item.embedding {
            self.embedding_dim.get_or_insert(e.len());
        }
        self.ids.insert(item.id.clone(), index);
        self.slots.push(Some(item));
        index
    }

    fn check_embedding(&self, item: &Item) -> Result<(), String> {
        match (&item.embedding, self.embedding_dim) {
            (Some(e), Some(dim)) if e.len() != dim => Err(format!(
                "embedding has {} values but the catalog's embeddings have {dim}",
                e.len()
            )),
            _ => Ok(()),
        }
    }

    pub fn index_of(&self, id: &str) -> Option<u32> {
        self.ids.get(id).copied()
    }

    /// Index of `id`, or an error naming the unknown id.
    pub fn require(&self, id: &str) -> Result<u32, CatalogError> {
        self.index_of(id)
            .ok_or_else(|| CatalogError::UnknownItem(id.to_owned()))
    }

    pub fn get(&self, index: u32) -> Option<&Item> {
        self.slots.get(index as usize).and_then(Option::as_ref)
    }

    pub fn by_id(&self, id: &str) -> Option<&Item> {
        self.index_of(id).and_then(|i| self.get(i))
    }

    /// Number of index slots, tombstones included (the bound for dense per-item arrays).
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Number of live items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Live items with their indices.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Item)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|item| (i as u32, item)))
    }

    pub fn embedding_dim(&self) -> Option<usize> {
        self.embedding_dim
    }
}

/// Normalizes a category path: trims segments, joins them with `" > "`, drops empty segments.
pub fn normalize_category(path: &str) -> String {
    path.split('>')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" > ")
}

/// The kinds of JSON value a catalog row can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
    /// A value JSON cannot hold (a JS function, symbol or bigint).
    Other,
}

impl JsonKind {
    /// How an error message names the kind ("got a number").
    pub fn described(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Object => "an object",
            JsonKind::Other => "a value JSON cannot hold",
        }
    }
}

/// Read access to a JSON-like value: what catalog validation needs from a row.
///
/// Implemented for `&serde_json::Value` (files, the server, tests) and by the browser module
/// for JS values read in place, so the module neither builds a JSON tree per catalog nor links
/// serde_json's value and number formatting (about 5 KB of gzipped wasm, measured).
pub trait JsonLike: Sized {
    fn kind(&self) -> JsonKind;
    /// The named field of an object (`None` when absent or when this is not an object).
    fn field(&self, name: &str) -> Option<Self>;
    fn string(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    /// The elements of an array (empty for anything else).
    fn elements(&self) -> Vec<Self>;
    /// The decimal text of an integer number, for numeric ids (`None` for other values).
    /// Only integers a JS number holds exactly (|n| <= 2^53) qualify, so an id reads the same
    /// in the browser and on the server.
    fn integer_text(&self) -> Option<String>;
}

/// The largest integer every JSON reader (JS included) holds exactly: 2^53.
pub const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

impl<'a> JsonLike for &'a Value {
    fn kind(&self) -> JsonKind {
        match self {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }
    fn field(&self, name: &str) -> Option<&'a Value> {
        self.get(name)
    }
    fn string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn elements(&self) -> Vec<&'a Value> {
        self.as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }
    fn integer_text(&self) -> Option<String> {
        let exact = |m: u64| m <= 1 << 53;
        match self {
            Value::Number(n) if n.as_u64().is_some_and(exact) => n.as_u64().map(|v| v.to_string()),
            Value::Number(n) if n.as_i64().is_some_and(|v| exact(v.unsigned_abs())) => {
                n.as_i64().map(|v| v.to_string())
            }
            _ => None,
        }
    }
}

/// The id of a row as text, when it has a usable one (for naming rejected rows).
fn row_id<V: JsonLike>(row: &V) -> Option<String> {
    let id = row.field("id")?;
    id.string().or_else(|| id.integer_text())
}

/// A field that is absent or null.
fn present<V: JsonLike>(row: &V, field: &str) -> Option<V> {
    row.field(field).filter(|v| v.kind() != JsonKind::Null)
}

/// Reads an optional field with `get`; a value of another type is an error naming the field.
fn typed<V: JsonLike, T>(
    row: &V,
    field: &str,
    expected: &str,
    get: impl Fn(&V) -> Option<T>,
) -> Result<Option<T>, String> {
    match present(row, field) {
        None => Ok(None),
        Some(value) => get(&value).map(Some).ok_or_else(|| {
            format!(
                "field \"{field}\" must be {expected}, got {}",
                value.kind().described()
            )
        }),
    }
}

fn opt_string<V: JsonLike>(row: &V, field: &str) -> Result<Option<String>, String> {
    typed(row, field, "a string", V::string)
}

/// A string or an array of strings (`tags`). With `segments` (`categories`), an element may
/// also be a path as its segments: `["Home", "Kitchen"]` reads as `"Home > Kitchen"`.
/// Plain loops rather than iterator chains: each chain instantiation cost wasm bytes.
fn string_list<V: JsonLike>(row: &V, field: &str, segments: bool) -> Result<Vec<String>, String> {
    let Some(value) = present(row, field) else {
        return Ok(Vec::new());
    };
    let what = if segments {
        "strings or arrays of strings"
    } else {
        "strings"
    };
    match value.kind() {
        JsonKind::String => return Ok(value.string().into_iter().collect()),
        JsonKind::Array => {}
        other => {
            return Err(format!(
                "field \"{field}\" must be an array of {what}, got {}",
                other.described()
            ))
        }
    }
    let mut out = Vec::new();
    for element in value.elements() {
        let mut found = element.kind();
        let mut text = element.string();
        if found == JsonKind::Array && segments {
            let mut path = Some(String::new());
            for segment in element.elements() {
                match (segment.string(), path.as_mut()) {
                    (Some(segment), Some(path)) => {
                        if !path.is_empty() {
                            path.push_str(" > ");
                        }
                        path.push_str(&segment);
                    }
                    (None, _) => {
                        found = segment.kind();
                        path = None;
                        break;
                    }
                    _ => {}
                }
            }
            text = path;
        }
        match text {
            Some(text) => out.push(text),
            None => {
                return Err(format!(
                    "field \"{field}\" must hold {what}, found {}",
                    found.described()
                ))
            }
        }
    }
    Ok(out)
}

fn parse_item<V: JsonLike>(row: &V) -> Result<Item, String> {
    if row.kind() != JsonKind::Object {
        return Err(format!(
            "an item must be an object, got {}",
            row.kind().described()
        ));
    }
    let id = match present(row, "id") {
        None => return Err("missing \"id\"".to_owned()),
        Some(v) => match v.kind() {
            JsonKind::String => v.string().unwrap_or_default(),
            // Numeric ids are common in shop exports; accept integers and keep them as text.
            JsonKind::Number if v.integer_text().is_some() => v.integer_text().unwrap_or_default(),
            JsonKind::Number => {
                return Err(
                    "field \"id\" must be a string or an integer up to 2^53, got another number"
                        .to_owned(),
                )
            }
            other => {
                return Err(format!(
                    "field \"id\" must be a string, got {}",
                    other.described()
                ))
            }
        },
    };
    let title = opt_string(row, "title")?.ok_or("missing \"title\"")?;
    let price = typed(row, "price", "a number", V::number)?;
    let available = typed(row, "available", "a boolean", V::boolean)?.unwrap_or(true);
    let embedding = match present(row, "embedding") {
        None => None,
        Some(v) if v.kind() == JsonKind::Array => Some(
            v.elements()
                .iter()
                .map(|v| {
                    v.number()
                        .map(|f| f as f32)
                        .ok_or_else(|| "field \"embedding\" must hold numbers".to_owned())
                })
                .collect::<Result<Vec<f32>, String>>()?,
        ),
        Some(other) => {
            return Err(format!(
                "field \"embedding\" must be an array of numbers, got {}",
                other.kind().described()
            ))
        }
    };
    let item = Item {
        id,
        title,
        description: opt_string(row, "description")?,
        categories: string_list(row, "categories", true)?
            .iter()
            .map(|c| normalize_category(c))
            .filter(|c| !c.is_empty())
            .collect(),
        brand: opt_string(row, "brand")?.filter(|b| !b.trim().is_empty()),
        price,
        available,
        tags: string_list(row, "tags", false)?,
        embedding,
    };
    validate_item(&item)?;
    Ok(item)
}

/// Checks the rules that do not depend on the JSON shape (also used by typed upserts).
fn validate_item(item: &Item) -> Result<(), String> {
    if item.id.trim().is_empty() {
        return Err("empty id".to_owned());
    }
    if item.id.len() > MAX_ID_BYTES {
        return Err(format!(
            "id is {} bytes long, the limit is {MAX_ID_BYTES}",
            item.id.len()
        ));
    }
    if item.title.trim().is_empty() {
        return Err("empty title".to_owned());
    }
    if let Some(price) = item.price {
        if !price.is_finite() {
            return Err(format!(
                "price must be a finite number, got {}",
                crate::lean::number(price)
            ));
        }
        if price < 0.0 {
            return Err(format!(
                "price must not be negative, got {}",
                crate::lean::number(price)
            ));
        }
    }
    if let Some(e) = &item.embedding {
        if e.is_empty() {
            return Err("embedding is empty".to_owned());
        }
        if e.iter().any(|v| !v.is_finite()) {
            return Err("embedding holds a non-finite value".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reasons(rows: Value) -> Vec<String> {
        let (_, report) = Catalog::from_value(&rows).expect("some rows load");
        report.rejected.into_iter().map(|r| r.reason).collect()
    }

    fn good() -> Value {
        json!({"id": "ok", "title": "Good row"})
    }

    #[test]
    fn loads_valid_rows_with_dense_indices() {
        let (cat, report) = Catalog::from_json(
            r#"[{"id":"a","title":"Blue Mug","categories":["Home>Kitchen > Mugs"],"price":9.5},
                {"id":"b","title":"Red Mug","available":false,"tags":"sale"}]"#,
        )
        .expect("valid");
        assert_eq!(report.loaded, 2);
        assert_eq!(cat.index_of("b"), Some(1));
        assert_eq!(
            cat.get(0).map(|i| i.categories.clone()),
            Some(vec!["Home > Kitchen > Mugs".to_owned()])
        );
        assert!(!cat.by_id("b").expect("b").available);
        assert_eq!(cat.by_id("b").expect("b").tags, vec!["sale"]);
    }

    #[test]
    fn rejects_empty_id() {
        let r = reasons(json!([good(), {"id": " ", "title": "x"}]));
        assert_eq!(r, vec!["empty id"]);
    }

    #[test]
    fn rejects_missing_id() {
        assert_eq!(
            reasons(json!([good(), {"title": "x"}])),
            vec!["missing \"id\""]
        );
    }

    #[test]
    fn rejects_duplicate_id_keeping_the_first() {
        let (cat, report) =
            Catalog::from_value(&json!([good(), {"id": "ok", "title": "Second"}])).expect("loads");
        assert_eq!(report.rejected[0].index, 1);
        assert_eq!(report.rejected[0].id.as_deref(), Some("ok"));
        assert!(report.rejected[0].reason.contains("duplicate id"));
        assert_eq!(cat.by_id("ok").expect("ok").title, "Good row");
    }

    #[test]
    fn rejects_non_finite_and_negative_price() {
        let mut item = Item::new("x", "X");
        item.price = Some(f64::NAN);
        let mut cat = Catalog::default();
        assert!(matches!(
            cat.upsert(item.clone()),
            Err(CatalogError::InvalidItem { .. })
        ));
        item.price = Some(-1.0);
        let err = cat.upsert(item).expect_err("negative");
        assert!(err.to_string().contains("negative"));
        // JSON cannot hold NaN; a huge literal overflows to infinity in serde_json? It errors at parse.
        assert!(
            reasons(json!([good(), {"id": "p", "title": "t", "price": "12"}]))[0]
                .contains("\"price\" must be a number")
        );
    }

    #[test]
    fn rejects_wrong_embedding_length() {
        let r = reasons(json!([
            {"id": "a", "title": "A", "embedding": [1.0, 0.0, 0.0]},
            {"id": "b", "title": "B", "embedding": [1.0, 0.0]}
        ]));
        assert_eq!(r.len(), 1);
        assert!(r[0].contains("embedding has 2 values"), "{r:?}");
    }

    #[test]
    fn rejects_wrong_types() {
        let r = reasons(json!([
            good(),
            {"id": "a", "title": 5},
            {"id": "b", "title": "B", "categories": [1]},
            {"id": "c", "title": "C", "available": "yes"},
            {"id": "d", "title": "D", "embedding": ["x"]},
            {"id": true, "title": "E"},
            "not an object",
            {"id": "f", "title": "F", "tags": {"a": 1}}
        ]));
        assert_eq!(r.len(), 7, "{r:?}");
        assert!(r[0].contains("\"title\" must be a string"));
        assert!(r[1].contains("\"categories\" must hold strings or arrays of strings"));
        assert!(r[2].contains("\"available\" must be a boolean"));
        assert!(r[3].contains("\"embedding\" must hold numbers"));
        assert!(r[4].contains("\"id\" must be a string"));
        assert!(r[5].contains("must be an object"));
        assert!(r[6].contains("\"tags\" must be an array"));
    }

    #[test]
    fn rejects_blank_title_and_oversized_id() {
        let long = "x".repeat(MAX_ID_BYTES + 1);
        let r = reasons(json!([good(), {"id": "t", "title": "  "}, {"id": long, "title": "L"}]));
        assert_eq!(r[0], "empty title");
        assert_eq!(
            r[1],
            format!(
                "id is {} bytes long, the limit is {MAX_ID_BYTES}",
                MAX_ID_BYTES + 1
            )
        );
    }

    #[test]
    fn rejects_empty_and_non_finite_embeddings() {
        let r = reasons(json!([good(), {"id": "e", "title": "E", "embedding": []}]));
        assert_eq!(r, vec!["embedding is empty"]);
        let mut item = Item::new("n", "N");
        item.embedding = Some(vec![1.0, f32::INFINITY]);
        let err = Catalog::default().upsert(item).expect_err("non-finite");
        assert_eq!(
            err.to_string(),
            "invalid item \"n\": embedding holds a non-finite value"
        );
    }

    #[test]
    fn categories_may_be_given_as_path_segments() {
        let rows = json!([
            {"id": "a", "title": "A", "categories": [["Home", " Kitchen "], "Garden > Tools"]},
            {"id": 9, "title": "B", "categories": [["Home", 3]]},
            {"id": "c", "title": "C", "categories": [{"path": "Home"}]},
            {"id": "d", "title": "D", "tags": [["nested"]]},
        ]);
        let (cat, report) = Catalog::from_value(&rows).expect("the first row loads");
        let a = cat.by_id("a").expect("loaded");
        assert_eq!(a.categories, ["Home > Kitchen", "Garden > Tools"]);
        let rejected: Vec<(Option<&str>, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.id.as_deref(), r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (
                    Some("9"),
                    "field \"categories\" must hold strings or arrays of strings, found a number"
                ),
                (
                    Some("c"),
                    "field \"categories\" must hold strings or arrays of strings, found an object"
                ),
                (
                    Some("d"),
                    "field \"tags\" must hold strings, found an array"
                ),
            ]
        );
    }

    #[test]
    fn numeric_ids_are_kept_as_text() {
        let (cat, _) = Catalog::from_value(&json!([{"id": 42, "title": "Answer"}])).expect("ok");
        assert_eq!(cat.index_of("42"), Some(0));
        // Only integers a JS number holds exactly, so the browser and the server agree.
        let edge = json!([
            {"id": -9_007_199_254_740_992i64, "title": "Smallest"},
            {"id": 9_007_199_254_740_993u64, "title": "Beyond 2^53"},
            {"id": 1.5, "title": "Fraction"},
        ]);
        let (cat, report) = Catalog::from_value(&edge).expect("the first row loads");
        assert_eq!(cat.index_of("-9007199254740992"), Some(0));
        let rejected: Vec<usize> = report.rejected.iter().map(|r| r.index).collect();
        assert_eq!(rejected, [1, 2]);
        assert!(report.rejected[0].reason.contains("integer up to 2^53"));
    }

    #[test]
    fn no_valid_row_is_an_error() {
        let err = Catalog::from_value(&json!([{"id": ""}])).expect_err("nothing valid");
        assert!(matches!(
            err,
            CatalogError::NoValidItems { rejected: 1, .. }
        ));
        assert!(matches!(
            Catalog::from_json("[]"),
            Err(CatalogError::NoValidItems { .. })
        ));
        assert!(matches!(
            Catalog::from_json("{}"),
            Err(CatalogError::NotAnArray(_))
        ));
        assert!(matches!(
            Catalog::from_json("[{"),
            Err(CatalogError::InvalidJson(_))
        ));
    }

    #[test]
    fn upsert_and_remove_keep_indices_stable() {
        let (mut cat, _) =
            Catalog::from_value(&json!([good(), {"id": "b", "title": "B"}])).expect("ok");
        assert_eq!(cat.upsert(Item::new("b", "B2")), Ok((1, true)));
        assert_eq!(cat.upsert(Item::new("c", "C")), Ok((2, false)));
        assert_eq!(cat.remove("ok"), Ok(0));
        assert_eq!(cat.len(), 2);
        assert_eq!(cat.slots(), 3);
        assert_eq!(cat.index_of("c"), Some(2));
        assert!(cat.get(0).is_none());
        assert!(matches!(
            cat.remove("ok"),
            Err(CatalogError::UnknownItem(_))
        ));
        assert_eq!(cat.upsert(Item::new("ok", "back")), Ok((3, false)));
    }

    #[test]
    fn category_paths_include_ancestors() {
        let mut item = Item::new("a", "A");
        item.categories = vec!["Home > Kitchen > Mugs".into(), "Home > Gifts".into()];
        assert_eq!(
            item.category_paths(),
            vec![
                "Home",
                "Home > Kitchen",
                "Home > Kitchen > Mugs",
                "Home > Gifts"
            ]
        );
        assert!(item.in_category("Home>Kitchen"));
        assert!(!item.in_category("Kitchen"));
        assert!(!item.in_category("Home > Kit"));
    }
}
