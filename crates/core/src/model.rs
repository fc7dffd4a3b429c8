//! The shared model every client downloads: popularity, trending, per-item co-occurrence
//! neighbours, the interest distribution and segment centroids. Items are named by id, not by
//! index, so a model stays valid across catalog versions; the engine resolves ids on load.
//!
//! [`ModelBuilder`] turns plain counts into a model. Later the private aggregator feeds it
//! noised, thresholded counts; here it is only arithmetic.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::compact::SortedMap;

/// Version of the model format: a client reads exactly this format and refuses the others.
/// Format 2 spells fields in camelCase (`builtEpoch`, `segmentAxis`, `itemModel`), as every
/// other value JS sees; format 1 used snake_case. A browser holding a cached format-1 model
/// ignores it (`model-cache-invalid`) and fetches the current one.
pub const MODEL_FORMAT: u32 = 2;

/// One co-occurrence neighbour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Neighbour {
    pub item: String,
    /// Normalized co-occurrence in (0, 1].
    pub score: f32,
}

/// A shopper segment: a centroid over the model's `segmentAxis` interest keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub label: String,
    /// Share of shoppers in the segment, in [0, 1].
    pub share: f32,
    pub centroid: Vec<f32>,
}

/// The shared model (format [`MODEL_FORMAT`]). Its maps are [`SortedMap`]s, not `BTreeMap`s:
/// the same JSON (objects, keys in order) for less code in the browser module.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedModel {
    pub format: u32,
    /// Monotonic version chosen by the publisher.
    pub version: u64,
    /// UTC day (days since 1970-01-01) the model was built.
    pub built_epoch: u32,
    /// Popularity in [0, 1] (log-scaled counts, 1 for the most popular item).
    pub popularity: SortedMap<String, f32>,
    /// Trending score in [0, 1]: growth of recent counts over the baseline.
    pub trending: SortedMap<String, f32>,
    /// Per item, the items it leads to, best first: the weights of the learned item model
    /// ([`SharedModel::item_model`]) where it was fitted, co-occurrence neighbours for the
    /// rest. The device scores them against the shopper's history.
    pub neighbours: SortedMap<String, Vec<Neighbour>>,
    /// Interest key -> share of all interest counts (sums to 1).
    pub interests: SortedMap<String, f32>,
    /// The interest keys segment centroids are expressed over.
    pub segment_axis: Vec<String>,
    pub segments: Vec<Segment>,
    /// The learned item model behind `neighbours`, if one was fitted (absent in models built
    /// from co-occurrence alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_model: Option<ItemModelInfo>,
}

/// What learned the item lists of a [`SharedModel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemModelInfo {
    /// `"ease"`: Steck's EASE, fitted to the released item and pair counts.
    pub kind: String,
    /// Items whose lists come from it (the others keep co-occurrence).
    pub items: u32,
    /// Its L2 regularization.
    pub lambda: f32,
}

/// Errors in a shared model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("model is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("model format {found} is newer than this client understands ({MODEL_FORMAT}): update kindred")]
    UnsupportedFormat { found: u32 },
    #[error("model format {found} is older than this client reads ({MODEL_FORMAT}): rebuild it with this version of the kindred server")]
    OutdatedFormat { found: u32 },
    #[error("model value for \"{key}\" is not a finite number in [0, 1]")]
    BadScore { key: String },
    #[error("segment \"{label}\" has {found} values but the segment axis has {expected}")]
    BadSegment {
        label: String,
        found: usize,
        expected: usize,
    },
}

impl SharedModel {
    pub fn from_json(json: &str) -> Result<SharedModel, ModelError> {
        let model: SharedModel =
            serde_json::from_str(json).map_err(|e| ModelError::InvalidJson(e.to_string()))?;
        model.validate()?;
        Ok(model)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether a model of `format` can be read at all: checked before its fields, whose
    /// names depend on the format.
    pub fn check_format(format: u32) -> Result<(), ModelError> {
        match format {
            MODEL_FORMAT => Ok(()),
            found if found > MODEL_FORMAT => Err(ModelError::UnsupportedFormat { found }),
            found => Err(ModelError::OutdatedFormat { found }),
        }
    }

    /// Checks format and value ranges so a damaged model cannot produce NaN scores.
    pub fn validate(&self) -> Result<(), ModelError> {
        SharedModel::check_format(self.format)?;
        let unit = |v: f32| v.is_finite() && (0.0..=1.0).contains(&v);
        for (key, v) in self
            .popularity
            .iter()
            .chain(&self.trending)
            .chain(&self.interests)
        {
            if !unit(*v) {
                return Err(ModelError::BadScore { key: key.clone() });
            }
        }
        for (key, list) in &self.neighbours {
            if list.iter().any(|n| !unit(n.score)) {
                return Err(ModelError::BadScore { key: key.clone() });
            }
        }
        for s in &self.segments {
            if s.centroid.len() != self.segment_axis.len()
                || s.centroid.iter().any(|v| !v.is_finite())
            {
                return Err(ModelError::BadSegment {
                    label: s.label.clone(),
                    found: s.centroid.len(),
                    expected: self.segment_axis.len(),
                });
            }
        }
        Ok(())
    }
}

/// Parameters of model building.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuilderConfig {
    /// Neighbours kept per item.
    pub max_neighbours: usize,
    /// Pairs seen fewer times are ignored as noise.
    pub min_pair_count: f64,
    /// Shrinks co-occurrence of rarely seen pairs toward zero: `c / (c + shrinkage)`.
    pub pair_shrinkage: f64,
    /// Pseudo-count added to recent and baseline counts before computing growth.
    pub trending_prior: f64,
    /// Items with fewer recent counts are not trending.
    pub min_trending_count: f64,
}

impl Default for BuilderConfig {
    fn default() -> Self {
        BuilderConfig {
            max_neighbours: 20,
            min_pair_count: 2.0,
            pair_shrinkage: 3.0,
            trending_prior: 2.0,
            min_trending_count: 3.0,
        }
    }
}

/// Builds a [`SharedModel`] from plain counts.
#[derive(Debug, Clone, Default)]
pub struct ModelBuilder {
    config: BuilderConfig,
    items: HashMap<String, f64>,
    recent: HashMap<String, f64>,
    baseline: HashMap<String, f64>,
    baseline_days: f64,
    recent_days: f64,
    pairs: HashMap<(String, String), f64>,
    interests: HashMap<String, f64>,
    segment_axis: Vec<String>,
    segments: Vec<Segment>,
}

impl ModelBuilder {
    pub fn new(config: BuilderConfig) -> Self {
        ModelBuilder {
            config,
            baseline_days: 1.0,
            recent_days: 1.0,
            ..ModelBuilder::default()
        }
    }

    /// Counts of an item over the recent window (popularity and trending numerator).
    pub fn item(&mut self, id: &str, count: f64) -> &mut Self {
        if count.is_finite() && count > 0.0 {
            *self.items.entry(id.to_owned()).or_default() += count;
        }
        self
    }

    /// Counts of an item over the recent window, when popularity uses other (e.g. decayed)
    /// counts: trending then compares these with the baseline instead of [`ModelBuilder::item`].
    pub fn recent_item(&mut self, id: &str, count: f64) -> &mut Self {
        if count.is_finite() && count > 0.0 {
            *self.recent.entry(id.to_owned()).or_default() += count;
        }
        self
    }

    /// Counts of an item over the baseline window (trending denominator).
    pub fn baseline_item(&mut self, id: &str, count: f64) -> &mut Self {
        if count.is_finite() && count > 0.0 {
            *self.baseline.entry(id.to_owned()).or_default() += count;
        }
        self
    }

    /// Lengths of the recent and baseline windows in days, so their rates compare.
    pub fn windows(&mut self, recent_days: f64, baseline_days: f64) -> &mut Self {
        self.recent_days = recent_days.max(1e-9);
        self.baseline_days = baseline_days.max(1e-9);
        self
    }

    /// Times two items co-occurred in a session or basket (order does not matter).
    pub fn pair(&mut self, a: &str, b: &str, count: f64) -> &mut Self {
        if a != b && count.is_finite() && count > 0.0 {
            let key = if a < b {
                (a.to_owned(), b.to_owned())
            } else {
                (b.to_owned(), a.to_owned())
            };
            *self.pairs.entry(key).or_default() += count;
        }
        self
    }

    pub fn interest(&mut self, key: &str, count: f64) -> &mut Self {
        if count.is_finite() && count > 0.0 {
            *self.interests.entry(key.to_owned()).or_default() += count;
        }
        self
    }

    /// Sets the segment centroids (each over `axis`).
    pub fn segments(&mut self, axis: Vec<String>, segments: Vec<Segment>) -> &mut Self {
        self.segment_axis = axis;
        self.segments = segments;
        self
    }

    pub fn build(&self, version: u64, built_epoch: u32) -> SharedModel {
        SharedModel {
            format: MODEL_FORMAT,
            version,
            built_epoch,
            popularity: self.popularity(),
            trending: self.trending(),
            neighbours: self.neighbours(),
            interests: normalize_sum(&self.interests),
            segment_axis: self.segment_axis.clone(),
            segments: self.segments.clone(),
            item_model: None,
        }
    }

    fn popularity(&self) -> SortedMap<String, f32> {
        let max = self.items.values().copied().fold(0.0, f64::max);
        if max <= 0.0 {
            return SortedMap::new();
        }
        self.items
            .iter()
            .map(|(k, &c)| (k.clone(), ((1.0 + c).ln() / (1.0 + max).ln()) as f32))
            .collect()
    }

    fn trending(&self) -> SortedMap<String, f32> {
        let prior = self.config.trending_prior;
        let recent = if self.recent.is_empty() {
            &self.items
        } else {
            &self.recent
        };
        let growth: Vec<(String, f64)> = recent
            .iter()
            .filter(|(_, &c)| c >= self.config.min_trending_count)
            .map(|(k, &c)| {
                let recent = c / self.recent_days;
                let base = self.baseline.get(k).copied().unwrap_or(0.0) / self.baseline_days;
                (k.clone(), (recent + prior) / (base + prior))
            })
            .filter(|(_, g)| *g > 1.0)
            .collect();
        let max = growth.iter().map(|(_, g)| g.ln()).fold(0.0, f64::max);
        if max <= 0.0 {
            return SortedMap::new();
        }
        growth
            .into_iter()
            .map(|(k, g)| (k, (g.ln() / max) as f32))
            .collect()
    }

    /// Ochiai (cosine) co-occurrence `c_ab / sqrt(c_a * c_b)`, shrunk for small counts, so
    /// that popular items do not become everyone's neighbour. `c_a` is the item's own count
    /// (how many shoppers touched it, what released item counts are) when it has one: the sum
    /// of its pair counts grows with how many other items its shoppers touch, which pushed
    /// popular items out of every neighbour list once pairs covered a whole window. Items
    /// without a count of their own fall back to that sum.
    fn neighbours(&self) -> SortedMap<String, Vec<Neighbour>> {
        let mut occurrence: HashMap<&str, f64> = HashMap::new();
        for ((a, b), &c) in &self.pairs {
            *occurrence.entry(a).or_default() += c;
            *occurrence.entry(b).or_default() += c;
        }
        let count_of = |id: &str| -> f64 {
            self.items
                .get(id)
                .copied()
                .unwrap_or_else(|| occurrence.get(id).copied().unwrap_or(0.0))
                .max(1.0)
        };
        let mut lists: HashMap<String, Vec<Neighbour>> = HashMap::new();
        for ((a, b), &c) in &self.pairs {
            if c < self.config.min_pair_count {
                continue;
            }
            let score =
                c / (count_of(a) * count_of(b)).sqrt() * (c / (c + self.config.pair_shrinkage));
            let score = score.clamp(0.0, 1.0) as f32;
            if score <= 0.0 {
                continue;
            }
            lists.entry(a.clone()).or_default().push(Neighbour {
                item: b.clone(),
                score,
            });
            lists.entry(b.clone()).or_default().push(Neighbour {
                item: a.clone(),
                score,
            });
        }
        lists
            .into_iter()
            .map(|(k, mut list)| {
                list.sort_by(|x, y| {
                    y.score
                        .total_cmp(&x.score)
                        .then_with(|| x.item.cmp(&y.item))
                });
                list.truncate(self.config.max_neighbours);
                (k, list)
            })
            .collect()
    }
}

fn normalize_sum(counts: &HashMap<String, f64>) -> SortedMap<String, f32> {
    let total: f64 = counts.values().sum();
    if total <= 0.0 {
        return SortedMap::new();
    }
    counts
        .iter()
        .map(|(k, v)| (k.clone(), (v / total) as f32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ModelBuilder {
        let mut b = ModelBuilder::new(BuilderConfig::default());
        b.item("mug", 100.0)
            .item("tea", 10.0)
            .item("spoon", 10.0)
            .item("new", 9.0);
        b.baseline_item("mug", 100.0).baseline_item("tea", 10.0);
        b.pair("tea", "spoon", 8.0)
            .pair("mug", "tea", 9.0)
            .pair("mug", "spoon", 1.0);
        b.interest("category:Kitchen", 3.0)
            .interest("brand:Acme", 1.0);
        b
    }

    #[test]
    fn popularity_is_log_scaled_to_one() {
        let m = builder().build(1, 20000);
        assert_eq!(m.popularity["mug"], 1.0);
        assert!(m.popularity["tea"] > 0.4 && m.popularity["tea"] < 1.0);
    }

    #[test]
    fn trending_favours_growth_not_size() {
        let m = builder().build(1, 20000);
        assert!(m.trending.contains_key("new"));
        assert!(
            !m.trending.contains_key("mug"),
            "steady item is not trending"
        );
    }

    #[test]
    fn neighbours_are_normalized_against_popularity() {
        let m = builder().build(1, 20000);
        let tea = &m.neighbours["tea"];
        assert_eq!(
            tea[0].item, "spoon",
            "the niche pair beats the popular item: {tea:?}"
        );
        assert!(
            !m.neighbours["mug"].iter().any(|n| n.item == "spoon"),
            "below min pair count"
        );
    }

    #[test]
    fn interests_sum_to_one_and_json_round_trips() {
        let m = builder().build(7, 20000);
        assert!((m.interests.values().sum::<f32>() - 1.0).abs() < 1e-6);
        let back = SharedModel::from_json(&m.to_json()).expect("valid");
        assert_eq!(back, m);
    }

    #[test]
    fn json_is_what_btreemaps_wrote() {
        use std::collections::BTreeMap;
        // The model as it was before its maps became `SortedMap`s: the wire format must not move.
        #[derive(Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Before {
            format: u32,
            version: u64,
            built_epoch: u32,
            popularity: BTreeMap<String, f32>,
            trending: BTreeMap<String, f32>,
            neighbours: BTreeMap<String, Vec<Neighbour>>,
            interests: BTreeMap<String, f32>,
            segment_axis: Vec<String>,
            segments: Vec<Segment>,
        }
        let mut b = builder();
        for i in 0..40 {
            b.item(&format!("item-{}", (i * 7) % 40), f64::from(i + 1))
                .pair(&format!("item-{i}"), "mug", 3.0);
        }
        b.segments(
            vec!["category:Kitchen".into()],
            vec![Segment {
                label: "cooks".into(),
                share: 0.5,
                centroid: vec![1.0],
            }],
        );
        let json = b.build(3, 20000).to_json();
        let before: Before = serde_json::from_str(&json).expect("old shape");
        assert_eq!(serde_json::to_string(&before).expect("json"), json);
    }

    #[test]
    fn fields_are_camel_case() {
        let mut m = builder().build(1, 20000);
        m.item_model = Some(ItemModelInfo {
            kind: "ease".into(),
            items: 1,
            lambda: 1.0,
        });
        let json = m.to_json();
        for key in ["\"builtEpoch\":", "\"segmentAxis\":", "\"itemModel\":"] {
            assert!(json.contains(key), "{key} in {json}");
        }
        for old in ["built_epoch", "segment_axis", "item_model"] {
            assert!(!json.contains(old), "{old} in {json}");
        }
    }

    #[test]
    fn rejects_other_formats_and_bad_scores() {
        let mut m = builder().build(1, 1);
        m.format = MODEL_FORMAT + 1;
        assert!(matches!(
            m.validate(),
            Err(ModelError::UnsupportedFormat { .. })
        ));
        // Format 1 spelled its fields in snake_case: read as format 2 it would lose them.
        m.format = 1;
        assert!(matches!(
            m.validate(),
            Err(ModelError::OutdatedFormat { found: 1 })
        ));
        let mut m = builder().build(1, 1);
        m.popularity.insert("x".into(), f32::NAN);
        assert!(matches!(m.validate(), Err(ModelError::BadScore { .. })));
        assert!(SharedModel::from_json("{").is_err());
    }
}
