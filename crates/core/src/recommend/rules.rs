//! Recommendation requests and the business rules every strategy honours: exclusions, filters,
//! boosts, pins, minimum score, MMR diversity and top-k selection.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::catalog::items::{normalize_category, Item};

/// Largest `k` a request may ask for.
pub const MAX_K: usize = 500;

/// Which recommender to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Personal: the shopper's profile, shared co-occurrence and a popularity prior.
    #[default]
    ForYou,
    /// Items like `item`: TF-IDF cosine, blended with embedding cosine when present.
    Similar,
    /// Items bought with `item` (shared co-occurrence), content similarity as fallback.
    BoughtTogether,
    /// Items growing fastest across all shoppers (shared model).
    Trending,
    /// The shopper's own recently viewed items, newest first.
    RecentlyViewed,
    /// The shopper's own past purchases, by frequency and recency.
    BuyAgain,
}

impl Strategy {
    /// Every strategy, in a fixed order.
    pub const ALL: [Strategy; 6] = [
        Strategy::ForYou,
        Strategy::Similar,
        Strategy::BoughtTogether,
        Strategy::Trending,
        Strategy::RecentlyViewed,
        Strategy::BuyAgain,
    ];

    /// The strategy called `name` (`"for-you"`, ...).
    pub fn from_name(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::ForYou => "for-you",
            Strategy::Similar => "similar",
            Strategy::BoughtTogether => "bought-together",
            Strategy::Trending => "trending",
            Strategy::RecentlyViewed => "recently-viewed",
            Strategy::BuyAgain => "buy-again",
        }
    }

    /// Strategies that start from one item.
    pub fn needs_item(self) -> bool {
        matches!(self, Strategy::Similar | Strategy::BoughtTogether)
    }

    /// By default discovery strategies hide what the shopper already saw or bought; the
    /// strategies that are about the shopper's own history do not.
    fn default_exclusions(self) -> (bool, bool) {
        match self {
            Strategy::ForYou | Strategy::Similar | Strategy::BoughtTogether => (true, true),
            Strategy::Trending => (false, true),
            Strategy::RecentlyViewed | Strategy::BuyAgain => (false, false),
        }
    }
}

/// Restricts which items may be recommended. Empty lists mean "no restriction".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Filter {
    /// `true`: only available items; `false`: only unavailable ones.
    pub available: Option<bool>,
    /// Item must be in one of these categories or below them.
    pub categories: Vec<String>,
    pub brands: Vec<String>,
    /// Item must carry at least one of these tags.
    pub tags: Vec<String>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    /// Item ids never to recommend.
    pub exclude: Vec<String>,
}

impl Filter {
    /// Whether an item passes the filter (`exclude` is applied by the engine, which resolves
    /// ids once per request). Category paths must be in normalized form, as
    /// [`RecommendRequest::normalized`] leaves them; the engine normalizes every request.
    pub fn accepts(&self, item: &Item) -> bool {
        if let Some(a) = self.available {
            if item.available != a {
                return false;
            }
        }
        if self.min_price.is_some() || self.max_price.is_some() {
            let Some(p) = item.price else { return false };
            if self.min_price.is_some_and(|m| p < m) || self.max_price.is_some_and(|m| p > m) {
                return false;
            }
        }
        if !self.categories.is_empty()
            && !self
                .categories
                .iter()
                .any(|c| item.in_normalized_category(c))
        {
            return false;
        }
        if !self.brands.is_empty() && !item.brand.as_ref().is_some_and(|b| self.brands.contains(b))
        {
            return false;
        }
        if !self.tags.is_empty() && !item.tags.iter().any(|t| self.tags.contains(t)) {
            return false;
        }
        true
    }
}

/// Multiplies the score of matching items by `factor` (> 1 promotes, < 1 demotes). An item
/// matches when every field given matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Boost {
    #[serde(default)]
    pub item: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    pub factor: f32,
}

impl Boost {
    pub fn matches(&self, item: &Item) -> bool {
        self.item.as_ref().is_none_or(|i| i == &item.id)
            && self
                .category
                .as_ref()
                .is_none_or(|c| item.in_normalized_category(c))
            && self
                .brand
                .as_ref()
                .is_none_or(|b| item.brand.as_ref() == Some(b))
            && self.tag.as_ref().is_none_or(|t| item.tags.contains(t))
    }
}

/// Places an item at a fixed 1-based position. Pinned items still honour `filter` (a shop
/// never wants an out-of-stock pin when it asked for available items) but not exclusions or
/// `minScore`. Pins naming unknown items are skipped, so a stale pin list never empties a rail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pin {
    pub item: String,
    pub position: usize,
}

/// A recommendation request (`k.recommend({...})` in JS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RecommendRequest {
    pub strategy: Strategy,
    /// The anchor item for `similar` and `bought-together`.
    pub item: Option<String>,
    /// Number of results, 1 to [`MAX_K`].
    pub k: usize,
    /// Hide items the shopper viewed (default: true for for-you, similar, bought-together).
    pub exclude_viewed: Option<bool>,
    /// Hide items the shopper bought (default: true except for recently-viewed and buy-again).
    pub exclude_purchased: Option<bool>,
    pub filter: Filter,
    pub boost: Vec<Boost>,
    pub pin: Vec<Pin>,
    /// MMR trade-off in [0, 1]: 0 ranks by relevance only, 1 by novelty only.
    pub diversity: f32,
    /// Drop results whose (boosted) score is below this.
    pub min_score: f32,
}

impl Default for RecommendRequest {
    fn default() -> Self {
        RecommendRequest {
            strategy: Strategy::ForYou,
            item: None,
            k: 10,
            exclude_viewed: None,
            exclude_purchased: None,
            filter: Filter::default(),
            boost: Vec::new(),
            pin: Vec::new(),
            diversity: 0.0,
            min_score: 0.0,
        }
    }
}

/// A request that cannot be served as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("option \"{field}\" {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    #[error("strategy \"{strategy}\" needs an \"item\" to start from")]
    MissingItem { strategy: &'static str },
}

impl RecommendRequest {
    pub fn new(strategy: Strategy) -> Self {
        RecommendRequest {
            strategy,
            ..RecommendRequest::default()
        }
    }

    pub fn for_item(strategy: Strategy, item: &str) -> Self {
        RecommendRequest {
            strategy,
            item: Some(item.to_owned()),
            ..RecommendRequest::default()
        }
    }

    pub fn with_k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Checks ranges and required fields.
    pub fn validate(&self) -> Result<(), RequestError> {
        let invalid = |field, problem: String| Err(RequestError::Invalid { field, problem });
        if self.k == 0 || self.k > MAX_K {
            return invalid(
                "k",
                format!("must be between 1 and {MAX_K}, got {}", self.k),
            );
        }
        if !(0.0..=1.0).contains(&self.diversity) {
            return invalid(
                "diversity",
                format!(
                    "must be between 0 and 1, got {}",
                    crate::lean::number(f64::from(self.diversity))
                ),
            );
        }
        if !self.min_score.is_finite() {
            return invalid(
                "minScore",
                format!(
                    "must be a finite number, got {}",
                    crate::lean::number(f64::from(self.min_score))
                ),
            );
        }
        for b in &self.boost {
            if !b.factor.is_finite() || b.factor <= 0.0 {
                return invalid(
                    "boost",
                    format!(
                        "factor must be a positive number, got {}",
                        crate::lean::number(f64::from(b.factor))
                    ),
                );
            }
        }
        for p in &self.pin {
            if p.position == 0 {
                return invalid(
                    "pin",
                    format!("position of \"{}\" is 1-based, got 0", p.item),
                );
            }
        }
        let f = &self.filter;
        for (field, price) in [
            ("filter.minPrice", f.min_price),
            ("filter.maxPrice", f.max_price),
        ] {
            if price.is_some_and(|p| !p.is_finite()) {
                return invalid(field, "must be a finite number".to_owned());
            }
        }
        if let (Some(lo), Some(hi)) = (f.min_price, f.max_price) {
            if lo > hi {
                return invalid(
                    "filter",
                    format!(
                        "minPrice {} is above maxPrice {}",
                        crate::lean::number(lo),
                        crate::lean::number(hi)
                    ),
                );
            }
        }
        if self.strategy.needs_item() && self.item.as_deref().is_none_or(str::is_empty) {
            return Err(RequestError::MissingItem {
                strategy: self.strategy.name(),
            });
        }
        Ok(())
    }

    /// Whether viewed and purchased items are hidden, after defaults.
    pub fn exclusions(&self) -> (bool, bool) {
        let (viewed, purchased) = self.strategy.default_exclusions();
        (
            self.exclude_viewed.unwrap_or(viewed),
            self.exclude_purchased.unwrap_or(purchased),
        )
    }

    /// Normalized category filter (so `"Home>Kitchen"` matches `"Home > Kitchen"`).
    pub fn normalized(mut self) -> Self {
        self.filter.categories = self
            .filter
            .categories
            .iter()
            .map(|c| normalize_category(c))
            .collect();
        for b in &mut self.boost {
            b.category = b.category.as_deref().map(normalize_category);
        }
        self
    }
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub item: String,
    pub score: f32,
    /// Human-readable reasons, most important first.
    pub reasons: Vec<String>,
}

/// A candidate during ranking: item index and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub item: u32,
    pub score: f32,
}

impl Eq for Scored {}

impl Ord for Scored {
    /// Higher score first; ties broken by lower index so results are deterministic.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.item.cmp(&self.item))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the `capacity` best candidates seen, cheaply rejecting those below the current worst.
#[derive(Debug)]
pub struct TopK {
    capacity: usize,
    heap: BinaryHeap<std::cmp::Reverse<Scored>>,
}

impl TopK {
    pub fn new(capacity: usize) -> Self {
        TopK {
            capacity,
            heap: BinaryHeap::with_capacity(capacity + 1),
        }
    }

    /// Whether a candidate with this score could enter (check before expensive rules).
    pub fn would_accept(&self, candidate: Scored) -> bool {
        self.heap.len() < self.capacity || self.heap.peek().is_some_and(|w| candidate > w.0)
    }

    pub fn push(&mut self, candidate: Scored) {
        if self.capacity == 0 || !candidate.score.is_finite() {
            return;
        }
        if self.heap.len() < self.capacity {
            self.heap.push(std::cmp::Reverse(candidate));
        } else if self.would_accept(candidate) {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse(candidate));
        }
    }

    /// Best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|r| r.0).collect();
        // Unstable is deterministic here: `Scored` orders totally (ties broken by index).
        crate::lean::sort_by(&mut v, |a, b| a > b);
        v
    }
}

/// Maximal marginal relevance: greedily picks the candidate maximizing
/// `(1 - lambda) * relevance - lambda * max_similarity_to_picked`, relevance scaled to [0, 1].
/// The returned scores are that objective, which never increases along the list.
pub fn mmr(
    pool: &[Scored],
    k: usize,
    lambda: f32,
    similarity: impl Fn(u32, u32) -> f32,
) -> Vec<Scored> {
    let max = pool.iter().map(|c| c.score).fold(f32::MIN, f32::max);
    let min = pool.iter().map(|c| c.score).fold(f32::MAX, f32::min);
    let span = if max > min { max - min } else { 1.0 };
    let rel: Vec<f32> = pool
        .iter()
        .map(|c| {
            if max > min {
                (c.score - min) / span
            } else {
                1.0
            }
        })
        .collect();
    let mut max_sim = vec![0.0f32; pool.len()];
    let mut taken = vec![false; pool.len()];
    let mut picked = Vec::with_capacity(k.min(pool.len()));
    while picked.len() < k {
        let best = (0..pool.len())
            .filter(|&i| !taken[i])
            .map(|i| (i, (1.0 - lambda) * rel[i] - lambda * max_sim[i]))
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
        let Some((i, objective)) = best else { break };
        taken[i] = true;
        picked.push(Scored {
            item: pool[i].item,
            score: objective,
        });
        for j in 0..pool.len() {
            if !taken[j] {
                let s = similarity(pool[i].item, pool[j].item);
                if s.is_finite() && s > max_sim[j] {
                    max_sim[j] = s;
                }
            }
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_best_sorted() {
        let mut top = TopK::new(3);
        for (i, s) in [0.5, 0.9, 0.1, 0.7, 0.9, f32::NAN].iter().enumerate() {
            top.push(Scored {
                item: i as u32,
                score: *s,
            });
        }
        let items: Vec<u32> = top.into_sorted().iter().map(|c| c.item).collect();
        assert_eq!(items, vec![1, 4, 3]);
    }

    #[test]
    fn mmr_spreads_similar_items_apart() {
        let pool = [
            Scored {
                item: 0,
                score: 1.0,
            },
            Scored {
                item: 1,
                score: 0.99,
            },
            Scored {
                item: 2,
                score: 0.5,
            },
        ];
        // 0 and 1 are near duplicates.
        let sim = |a: u32, b: u32| {
            if a.min(b) == 0 && a.max(b) == 1 {
                0.95
            } else {
                0.0
            }
        };
        let picked: Vec<u32> = mmr(&pool, 3, 0.7, sim).iter().map(|c| c.item).collect();
        assert_eq!(picked, vec![0, 2, 1]);
        let plain: Vec<u32> = mmr(&pool, 3, 0.0, sim).iter().map(|c| c.item).collect();
        assert_eq!(plain, vec![0, 1, 2]);
    }

    #[test]
    fn validation_messages_name_the_field() {
        let err = RecommendRequest::new(Strategy::ForYou)
            .with_k(0)
            .validate()
            .expect_err("k=0");
        assert!(err.to_string().contains("\"k\""));
        let err = RecommendRequest::new(Strategy::Similar)
            .validate()
            .expect_err("no item");
        assert_eq!(
            err.to_string(),
            "strategy \"similar\" needs an \"item\" to start from"
        );
        let mut r = RecommendRequest::new(Strategy::ForYou);
        r.filter.min_price = Some(10.0);
        r.filter.max_price = Some(5.0);
        assert!(r.validate().is_err());
    }

    #[test]
    fn request_json_uses_js_names() {
        let r: RecommendRequest = serde_json::from_str(
            r#"{"strategy":"bought-together","item":"a","k":4,"excludeViewed":false,
                "filter":{"available":true,"minPrice":1},"boost":[{"brand":"Acme","factor":2}],
                "pin":[{"item":"b","position":1}],"diversity":0.3,"minScore":0.1}"#,
        )
        .expect("parses");
        assert_eq!(r.strategy, Strategy::BoughtTogether);
        assert_eq!(r.exclusions(), (false, true));
        assert!(serde_json::from_str::<RecommendRequest>(r#"{"strategy":"nope"}"#).is_err());
        assert!(serde_json::from_str::<RecommendRequest>(r#"{"kk":3}"#).is_err());
    }
}
