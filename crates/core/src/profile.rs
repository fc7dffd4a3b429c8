//! The interest profile: decayed per-item affinities rolled up into human-readable interests
//! (categories with their ancestors, brands, tags, price bands, title terms) and the shopper's
//! TF-IDF text vector, all updated incrementally on each event.
//!
//! Decay without touching every entry: a value added at time `t` is stored multiplied by
//! `2^((t - origin) / half_life)`; reading at `now` multiplies by `2^(-(now - origin) /
//! half_life)`. One event is therefore O(size of the item), whatever the history length. When
//! the stored scale grows too large the origin moves forward and all entries are rescaled once.

use crate::compact::{self, HashMap, SortedSet};

use serde::{Deserialize, Serialize};

use crate::catalog::Item;
use crate::sparse::SparseVec;
use crate::tfidf::Vocabulary;

/// Exponent at which stored values are rebased (2^60 keeps f64 far from overflow).
const REBASE_EXPONENT: f64 = 60.0;
/// Most text terms kept in the profile; the weakest are pruned beyond it.
const MAX_TEXT_TERMS: usize = 4096;

/// Price bands used as interests, in the shop's currency.
const PRICE_BANDS: [(f64, &str); 7] = [
    (10.0, "under 10"),
    (25.0, "10-25"),
    (50.0, "25-50"),
    (100.0, "50-100"),
    (250.0, "100-250"),
    (500.0, "250-500"),
    (f64::INFINITY, "500+"),
];

/// The price band label of a price.
pub fn price_band(price: f64) -> &'static str {
    PRICE_BANDS
        .iter()
        .find(|(upper, _)| price < *upper)
        .map_or("500+", |(_, label)| label)
}

/// One interest as the shopper sees it in the privacy centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interest {
    /// Stable key, e.g. `"category:Home > Kitchen"`; pass it to `remove_interest`.
    pub key: String,
    /// `category`, `brand`, `tag`, `price` or `term`.
    pub kind: String,
    /// The readable part of the key.
    pub label: String,
    /// Share of the shown interests' total weight (the list sums to 1).
    pub weight: f64,
}

/// Decayed affinities, interests and the text vector of one shopper.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub(crate) half_life_ms: f64,
    pub(crate) origin_ms: Option<i64>,
    pub(crate) items: HashMap<String, f64>,
    pub(crate) interests: HashMap<String, f64>,
    pub(crate) text: HashMap<String, f64>,
    /// Interests the shopper removed (kept out of the profile and of recommendations).
    pub(crate) removed: SortedSet<String>,
}

impl Profile {
    pub fn new(half_life_ms: f64) -> Self {
        Profile {
            half_life_ms: half_life_ms.max(1.0),
            ..Profile::default()
        }
    }

    fn scale_at(&mut self, ts: i64) -> f64 {
        let origin = *self.origin_ms.get_or_insert(ts);
        let exponent = (ts - origin) as f64 / self.half_life_ms;
        if exponent > REBASE_EXPONENT {
            self.rebase(ts);
            return 1.0;
        }
        compact::exp2(exponent)
    }

    fn rebase(&mut self, new_origin: i64) {
        let origin = self.origin_ms.unwrap_or(new_origin);
        let factor = compact::exp2(-((new_origin - origin) as f64) / self.half_life_ms);
        for map in [&mut self.items, &mut self.interests, &mut self.text] {
            map.values_mut().for_each(|v| *v *= factor);
            map.retain(|_, v| v.abs() > 1e-12);
        }
        self.origin_ms = Some(new_origin);
    }

    /// Factor turning stored values into values as of `now`.
    pub(crate) fn read_factor(&self, now: i64) -> f64 {
        match self.origin_ms {
            Some(origin) => compact::exp2(-((now - origin) as f64) / self.half_life_ms),
            None => 0.0,
        }
    }

    /// Adds `weight` of affinity for `item` at `ts`, spread over its interests and its text
    /// vector (`terms`: the item's TF-IDF terms and weights).
    pub fn add_item<'a>(
        &mut self,
        item: &Item,
        terms: impl Iterator<Item = (&'a str, f32)>,
        weight: f32,
        ts: i64,
    ) {
        let w = f64::from(weight) * self.scale_at(ts);
        *self.items.entry(item.id.clone()).or_default() += w;
        for key in interest_keys(item) {
            if !self.removed.contains(&key) {
                *self.interests.entry(key).or_default() += w;
            }
        }
        for (term, tw) in terms {
            if !self.removed.contains(&format!("term:{term}")) {
                *self.text.entry(term.to_owned()).or_default() += w * f64::from(tw);
            }
        }
        self.prune_text();
    }

    /// Adds search-query tokens to the text vector (the query itself stays in local history).
    pub fn add_query(&mut self, tokens: &[String], weight: f32, ts: i64) {
        if tokens.is_empty() {
            return;
        }
        let w = f64::from(weight) * self.scale_at(ts) / (tokens.len() as f64).sqrt();
        for t in tokens {
            if !self.removed.contains(&format!("term:{t}")) {
                *self.text.entry(t.clone()).or_default() += w;
            }
        }
        self.prune_text();
    }

    fn prune_text(&mut self) {
        if self.text.len() <= MAX_TEXT_TERMS {
            return;
        }
        let mut values: Vec<f64> = self.text.values().map(|v| v.abs()).collect();
        let cut = values.len() - MAX_TEXT_TERMS * 3 / 4;
        compact::sort_by(&mut values, |a, b| a < b);
        let threshold = values[cut];
        self.text.retain(|_, v| v.abs() >= threshold);
    }

    /// The decayed affinity of an item as of `now` (0 when never touched).
    pub fn item_affinity(&self, item: &str, now: i64) -> f64 {
        self.items
            .get(item)
            .map_or(0.0, |v| v * self.read_factor(now))
    }

    /// Items with positive affinity, strongest first, at most `n`.
    pub fn top_items(&self, now: i64, n: usize) -> Vec<(String, f64)> {
        let f = self.read_factor(now);
        let mut items: Vec<(String, f64)> = self
            .items
            .iter()
            .filter(|(_, &v)| v > 0.0)
            .map(|(k, v)| (k.clone(), v * f))
            .collect();
        top_n(&mut items, n);
        items
    }

    /// The top `n` interests with weights normalized to sum to 1.
    pub fn interests(&self, now: i64, n: usize) -> Vec<Interest> {
        let f = self.read_factor(now);
        let mut scored: Vec<(String, f64)> = self
            .interests
            .iter()
            .filter(|(k, &v)| v > 0.0 && !self.removed.contains(*k))
            .map(|(k, v)| (k.clone(), v * f))
            .collect();
        top_n(&mut scored, n);
        let total: f64 = scored.iter().map(|(_, v)| v).sum();
        scored
            .into_iter()
            .map(|(key, v)| {
                let (kind, label) = key.split_once(':').unwrap_or(("term", key.as_str()));
                Interest {
                    kind: kind.to_owned(),
                    label: label.to_owned(),
                    weight: if total > 0.0 { v / total } else { 0.0 },
                    key,
                }
            })
            .collect()
    }

    /// The shopper's text vector over `vocab`, keeping the `max_terms` strongest positive terms,
    /// l2-normalized. Terms unknown to the vocabulary are skipped.
    pub fn text_vector(&self, vocab: &Vocabulary, max_terms: usize) -> SparseVec {
        let mut terms: Vec<(String, f64)> = self
            .text
            .iter()
            .filter(|(_, &v)| v > 0.0)
            .map(|(k, &v)| (k.clone(), v))
            .collect();
        top_n(&mut terms, max_terms);
        let pairs: Vec<(u32, f32)> = terms
            .iter()
            .filter_map(|(t, v)| vocab.id(t).map(|id| (id, *v as f32)))
            .collect();
        let mut vec = SparseVec::from_pairs(pairs);
        let norm = vec.norm() as f32;
        if norm > 0.0 && norm.is_finite() {
            vec.values.iter_mut().for_each(|v| *v /= norm);
        } else {
            vec = SparseVec::default();
        }
        vec
    }

    /// Removes an interest and keeps it removed: it is no longer shown or accumulated, and
    /// recommenders exclude items that carry it (terms are dropped from the text vector).
    pub fn remove_interest(&mut self, key: &str) {
        self.interests.remove(key);
        if let Some(term) = key.strip_prefix("term:") {
            self.text.remove(term);
        }
        self.removed.insert(key.to_owned());
    }

    pub fn removed_interests(&self) -> &SortedSet<String> {
        &self.removed
    }

    /// Whether an item carries an interest the shopper removed.
    pub fn is_excluded(&self, item: &Item) -> bool {
        !self.removed.is_empty() && interest_keys(item).iter().any(|k| self.removed.contains(k))
    }

    pub fn forget_item(&mut self, item: &str) {
        self.items.remove(item);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.text.is_empty()
    }
}

/// The interest keys an item contributes to (categories with ancestors, brand, tags, price
/// band). Title terms reach the profile through the text vector and are shown as `term:` keys.
pub fn interest_keys(item: &Item) -> Vec<String> {
    let mut keys: Vec<String> = item
        .category_paths()
        .into_iter()
        .map(|c| format!("category:{c}"))
        .collect();
    if let Some(b) = &item.brand {
        keys.push(format!("brand:{b}"));
    }
    keys.extend(item.tags.iter().map(|t| format!("tag:{t}")));
    if let Some(p) = item.price {
        keys.push(format!("price:{}", price_band(p)));
    }
    keys
}

/// Keeps the `n` largest values, largest first; ties broken by key so the result never
/// depends on hash-map iteration order.
fn top_n(items: &mut Vec<(String, f64)>, n: usize) {
    let better = |a: &(String, f64), b: &(String, f64)| {
        b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)).is_lt()
    };
    if n < items.len() / 4 {
        // A few of many (the text vector's terms): one pass with a short sorted list.
        let mut best: Vec<(String, f64)> = Vec::with_capacity(n + 1);
        for item in items.drain(..) {
            if best.len() == n && best.last().is_none_or(|last| !better(&item, last)) {
                continue;
            }
            let at = best.partition_point(|b| better(b, &item));
            best.insert(at, item);
            best.truncate(n);
        }
        *items = best;
        return;
    }
    compact::sort_by(items, better);
    items.truncate(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn mug() -> Item {
        let mut item = Item::new("mug", "Blue Mug");
        item.categories = vec!["Home > Kitchen".into()];
        item.brand = Some("Acme".into());
        item.price = Some(12.0);
        item
    }

    #[test]
    fn affinity_halves_every_half_life() {
        let mut p = Profile::new(10.0 * DAY as f64);
        p.add_item(&mug(), std::iter::empty(), 4.0, 0);
        assert!((p.item_affinity("mug", 0) - 4.0).abs() < 1e-9);
        assert!((p.item_affinity("mug", 10 * DAY) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn rebasing_keeps_values() {
        let mut p = Profile::new(DAY as f64);
        p.add_item(&mug(), std::iter::empty(), 1.0, 0);
        p.add_item(&mug(), std::iter::empty(), 1.0, 100 * DAY);
        let v = p.item_affinity("mug", 100 * DAY);
        assert!((v - 1.0).abs() < 1e-9, "{v}");
    }

    #[test]
    fn interests_roll_up_with_ancestors_and_sum_to_one() {
        let mut p = Profile::new(DAY as f64);
        p.add_item(&mug(), std::iter::empty(), 1.0, 0);
        let interests = p.interests(0, 10);
        let keys: Vec<_> = interests.iter().map(|i| i.key.as_str()).collect();
        for k in [
            "category:Home",
            "category:Home > Kitchen",
            "brand:Acme",
            "price:10-25",
        ] {
            assert!(keys.contains(&k), "{keys:?}");
        }
        let total: f64 = interests.iter().map(|i| i.weight).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn removed_interest_stays_removed() {
        let mut p = Profile::new(DAY as f64);
        p.add_item(&mug(), std::iter::empty(), 1.0, 0);
        p.remove_interest("brand:Acme");
        p.add_item(&mug(), std::iter::empty(), 1.0, 1);
        assert!(p.interests(1, 10).iter().all(|i| i.key != "brand:Acme"));
        assert!(p.is_excluded(&mug()));
    }

    #[test]
    fn price_bands() {
        assert_eq!(price_band(0.0), "under 10");
        assert_eq!(price_band(10.0), "10-25");
        assert_eq!(price_band(9999.0), "500+");
    }
}
