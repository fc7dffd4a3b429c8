//! Recommendation requests and the business rules every strategy honours: exclusions, filters,
//! boosts, pins, minimum score and diversity (top-k and MMR are in [`super::rank`]).

use serde::{Deserialize, Serialize};

use crate::catalog::items::{normalize_category, Item};
use crate::strategy::Strategy;

/// Largest `k` a request may ask for.
pub const MAX_K: usize = 500;

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
        let (viewed, purchased) = default_exclusions(self.strategy);
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

/// By default discovery strategies hide what the shopper already saw or bought; the
/// strategies that are about the shopper's own history do not.
fn default_exclusions(strategy: Strategy) -> (bool, bool) {
    match strategy {
        Strategy::ForYou | Strategy::Similar | Strategy::BoughtTogether => (true, true),
        Strategy::Trending => (false, true),
        Strategy::RecentlyViewed | Strategy::BuyAgain => (false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
