//! Why an item is (or is not) recommended to this shopper: `k.explain(id)` in the browser.
//!
//! An explanation is built from the same pieces ranking uses (the shopper's activity on the
//! item, the interests it matches, the shared model's popularity and trend, and the for-you
//! ranking itself), so what the privacy centre shows is what the recommender does.

use serde::Serialize;

use crate::catalog::items::CatalogError;
use crate::recommend::rules::{RecommendRequest, MAX_K};
use crate::recommend::strategies::Recommender;
use crate::shopper::history::ItemStats;
use crate::shopper::profile::interest_keys;
use crate::strategy::Strategy;

/// An interest of the shopper's that an item carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedInterest {
    pub key: String,
    /// The interest's share of the shopper's profile (0 when it is too weak to be listed).
    pub weight: f64,
}

/// Where the item lands in the shopper's for-you ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForYouPlacement {
    /// 1-based rank in the shopper's for-you list as shown (default exclusions: items the
    /// shopper viewed or bought are not listed), if within [`MAX_K`].
    pub rank: Option<usize>,
    pub score: Option<f32>,
    pub reasons: Vec<String>,
}

/// Everything the engine can say about one item for this shopper.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub item: String,
    pub title: String,
    /// What the shopper did with the item (none if never touched).
    pub activity: Option<ItemStats>,
    pub matched_interests: Vec<MatchedInterest>,
    /// Interests the shopper removed that this item carries: it is kept out of for-you and
    /// trending because of them.
    pub hidden_by: Vec<String>,
    /// Shared-model popularity and trend in [0, 1] (none without a model or for unknown items).
    pub popularity: Option<f32>,
    pub trending: Option<f32>,
    pub for_you: ForYouPlacement,
}

impl Recommender<'_> {
    /// Explains one item at `now` (clamped); errors name unknown items.
    pub fn explain(&self, id: &str, now: i64) -> Result<Explanation, CatalogError> {
        let slot = self.catalog.require(id)?;
        // `require` only returns live slots.
        let Some(item) = self.catalog.get(slot) else {
            return Err(CatalogError::UnknownItem(id.to_owned()));
        };
        let profile = self.profile.interests(now, usize::MAX);
        let removed = self.profile.removed_interests();
        let mut matched_interests = Vec::new();
        let mut hidden_by = Vec::new();
        for key in interest_keys(item) {
            if removed.contains(&key) {
                hidden_by.push(key);
            } else if let Some(i) = profile.iter().find(|i| i.key == key) {
                matched_interests.push(MatchedInterest {
                    key,
                    weight: i.weight,
                });
            }
        }
        crate::lean::sort_by(&mut matched_interests, |a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.key.cmp(&b.key))
                .is_lt()
        });
        let model = self.model.map(|m| &*m.model);
        let request = RecommendRequest::new(Strategy::ForYou)
            .with_k(MAX_K)
            .normalized();
        let ranked = self.run(&request, now)?;
        let for_you = match ranked.into_iter().enumerate().find(|(_, r)| r.item == id) {
            Some((i, r)) => ForYouPlacement {
                rank: Some(i + 1),
                score: Some(r.score),
                reasons: r.reasons,
            },
            None => ForYouPlacement {
                rank: None,
                score: None,
                reasons: Vec::new(),
            },
        };
        Ok(Explanation {
            item: item.id.clone(),
            title: item.title.clone(),
            activity: self.history.stats(id).cloned(),
            matched_interests,
            hidden_by,
            popularity: model.map(|m| m.popularity.get(id).copied().unwrap_or(0.0)),
            trending: model.map(|m| m.trending.get(id).copied().unwrap_or(0.0)),
            for_you,
        })
    }
}
