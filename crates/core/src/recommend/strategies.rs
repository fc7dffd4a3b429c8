//! The recommender menu: candidate scoring for each [`Strategy`], the shared rule pipeline
//! (exclusions, filters, boosts, minimum score, top-k, MMR, pins) and human-readable reasons.

use crate::catalog::index::ContentIndex;
use crate::catalog::items::{Catalog, CatalogError};
use crate::lean::{self, HashSet};
use crate::model::resolved::ResolvedModel;
use crate::recommend::rank::{mmr, Scored, TopK};
use crate::recommend::rules::{Pin, RecommendRequest, Recommendation};
use crate::shopper::history::History;
use crate::shopper::profile::Profile;
use crate::strategy::Strategy;

/// Weights of the for-you blend. Relevance is the shopper's own content profile plus the
/// shared item model (learned weights, or co-occurrence) scored against the shopper's whole
/// history, each scaled to [0, 1] and weighed equally. (Measured on the Online Retail split,
/// mean of 5 seeds: the item model at twice the weight of content lost 0.004 NDCG@10 on
/// "new" once it covered the history instead of the 20 strongest profile items.)
const FOR_YOU_CONTENT: f32 = 1.0;
const FOR_YOU_COVISIT: f32 = 1.0;
/// Shared popularity (in [0, 1]) multiplies relevance by up to `1 + FOR_YOU_POPULARITY_BOOST`:
/// of two items that match equally, the one many shoppers buy now is the likelier purchase,
/// but popularity alone never makes an unrelated item relevant. (An additive prior of the
/// same strength pushed the few items a k-thresholded model knows into every list.)
const FOR_YOU_POPULARITY_BOOST: f32 = 1.0;
/// Shared trending (in [0, 1], growth in the newest window over the two before) multiplies
/// relevance by up to `1 + this` on top of popularity: what more shoppers turn to now (a
/// season, a new line) is what a shopper is likelier to buy next. Worth +0.004 NDCG@10 on
/// "new" at 2 (mean of 5 seeds; 3 and 5 gained a little more, 2 is the rounder bet for shops
/// less seasonal than a gift wholesaler before Christmas).
const FOR_YOU_TRENDING_BOOST: f32 = 2.0;
/// A small additive popularity prior orders what relevance leaves at zero (thin profiles).
const FOR_YOU_POPULARITY: f32 = 0.05;
/// When a request allows bought items, the shopper's own repeat purchases join the blend:
/// the buy-again score scaled to [0, 1], times this weight. At 20 the items a shopper buys
/// most often and most recently rank above any discovery, while one bought once long ago
/// (a small fraction of the most bought one) mixes with strong new matches. Repeat buying is
/// a large share of what shoppers buy next: on the Online Retail "all" task, 3 gave 0.297
/// NDCG@10, 20 gives 0.313 (PersonalPop, pure repeat counts: 0.305).
const FOR_YOU_BUY_AGAIN: f32 = 20.0;
/// Shared popularity multiplies the buy-again term by up to `1 + this`: of the many items a
/// shopper bought once, the ones everybody keeps buying are the ones bought again.
const BUY_AGAIN_POPULARITY_BOOST: f32 = 2.0;
/// Half-life of repeat-purchase recency. Restocking and consumables run on monthly to
/// quarterly cycles, slower than browsing interest (the profile's 14 days).
const BUY_AGAIN_HALF_LIFE_DAYS: f64 = 90.0;
/// Profile items used as anchors for content (embedding centroid) and reasons.
const ANCHORS: usize = 20;
/// How much an item of the shopper's history says about what they want next, for the shared
/// item model: a purchase (within the purchase memory) weighs 1, an item only browsed this
/// much, ...
const HISTORY_BROWSED: f32 = 0.5;
/// ... both halving every this many days since the last interaction: the item model learns
/// which items one shopper wants within a window, and last quarter's purchases still say a
/// lot about this quarter's.
const HISTORY_HALF_LIFE_DAYS: f64 = 90.0;

/// Why a candidate scored; turned into text only for the final list.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Why {
    /// Close to the shopper's profile (for-you) or to the anchor item (similar).
    Content,
    /// Co-occurs with the shopper's items (for-you) or with the anchor (bought-together): the
    /// shared item lists, from pairs viewed or bought together (see [`Strategy::BoughtTogether`]).
    CoOccurrence,
    /// Content fallback for bought-together when shared data is missing.
    ContentFallback,
    Popular,
    Trending,
    RecentlyViewed,
    BuyAgain,
    /// No personal or shared signal at all: catalog order.
    Catalog,
}

/// Scores for every catalog slot plus the dominant reason of each.
struct Candidates {
    scores: Vec<f32>,
    why: Vec<Why>,
}

impl Candidates {
    fn new(slots: usize, why: Why) -> Self {
        Candidates {
            scores: vec![0.0; slots],
            why: vec![why; slots],
        }
    }
}

/// What the recommenders read, borrowed from the engine that owns it: the catalog and its
/// index, the shopper's history and profile, the resolved shared model and two settings.
/// Plain data, so that this layer never depends on the engine.
#[derive(Clone, Copy)]
pub(crate) struct Recommender<'a> {
    pub catalog: &'a Catalog,
    pub index: &'a ContentIndex,
    pub history: &'a History,
    pub profile: &'a Profile,
    pub model: Option<&'a ResolvedModel>,
    /// Strongest profile terms used to score content.
    pub profile_terms: usize,
    /// Half-life of interest decay in days: recently-viewed ranks by it.
    pub half_life_days: f64,
}

impl Recommender<'_> {
    /// Runs a validated, [normalized](RecommendRequest::normalized) request at `now`
    /// (clamped); fails only on an unknown anchor item.
    pub fn run(
        &self,
        req: &RecommendRequest,
        now: i64,
    ) -> Result<Vec<Recommendation>, CatalogError> {
        let anchor = match req.item.as_deref() {
            Some(id) if req.strategy.needs_item() => Some(self.catalog.require(id)?),
            _ => None,
        };
        // The shopper's strongest items and whole weighted history: for-you scores and
        // explains with them (computed once).
        let (anchors, history) = if req.strategy == Strategy::ForYou {
            (self.anchors(now), self.history_weights(now))
        } else {
            (Vec::new(), Vec::new())
        };
        let candidates = match req.strategy {
            Strategy::ForYou => self.for_you(&anchors, &history, !req.exclusions().1, now),
            Strategy::Similar => self.similar(anchor.unwrap_or(0)),
            Strategy::BoughtTogether => self.bought_together(anchor.unwrap_or(0)),
            Strategy::Trending => self.trending(),
            Strategy::RecentlyViewed => self.recently_viewed(now),
            Strategy::BuyAgain => self.buy_again(now),
        };
        let ranked = self.apply_rules(req, anchor, &candidates);
        Ok(ranked
            .into_iter()
            .filter_map(|(scored, pinned)| {
                let item = self.catalog.get(scored.item)?;
                let mut reasons = if pinned {
                    vec!["featured by the shop".to_owned()]
                } else {
                    vec![self.reason(
                        candidates.why[scored.item as usize],
                        scored.item,
                        anchor,
                        &anchors,
                        &history,
                    )]
                };
                if !pinned && req.boost.iter().any(|b| b.matches(item) && b.factor > 1.0) {
                    reasons.push("promoted by the shop".to_owned());
                }
                Some(Recommendation {
                    item: item.id.clone(),
                    score: scored.score,
                    reasons,
                })
            })
            .collect())
    }

    /// Exclusions, filters, boosts, minimum score, top-k, MMR and pins, for every strategy.
    /// Returns the final list with a flag for pinned entries.
    fn apply_rules(
        &self,
        req: &RecommendRequest,
        anchor: Option<u32>,
        c: &Candidates,
    ) -> Vec<(Scored, bool)> {
        let (exclude_viewed, exclude_purchased) = req.exclusions();
        let mut blocked: HashSet<u32> = req
            .filter
            .exclude
            .iter()
            .filter_map(|id| self.catalog.index_of(id))
            .collect();
        blocked.extend(anchor);
        if exclude_viewed || exclude_purchased {
            let (seen, bought) = self.seen_and_bought();
            if exclude_viewed {
                blocked.extend(seen);
            }
            if exclude_purchased {
                blocked.extend(bought);
            }
        }
        let honours_removed_interests =
            matches!(req.strategy, Strategy::ForYou | Strategy::Trending);
        let pool = if req.diversity > 0.0 {
            (req.k * 4).clamp(40, 2000)
        } else {
            req.k
        };
        let mut top = TopK::new(pool);
        for (i, &raw) in c.scores.iter().enumerate() {
            if raw <= 0.0 || !raw.is_finite() {
                continue;
            }
            let i = i as u32;
            let Some(item) = self.catalog.get(i) else {
                continue;
            };
            let mut score = raw;
            for b in &req.boost {
                if b.matches(item) {
                    score *= b.factor;
                }
            }
            if score < req.min_score {
                continue;
            }
            let candidate = Scored { item: i, score };
            // Cheap score test first; the rules below only run for would-be results.
            if !top.would_accept(candidate)
                || blocked.contains(&i)
                || !req.filter.accepts(item)
                || (honours_removed_interests && self.profile.is_excluded(item))
            {
                continue;
            }
            top.push(candidate);
        }
        let sorted = top.into_sorted();
        let chosen = if req.diversity > 0.0 {
            mmr(&sorted, req.k, req.diversity, |a, b| {
                self.index.similarity(a, b)
            })
        } else {
            sorted
        };
        let mut list: Vec<(Scored, bool)> = chosen.into_iter().map(|s| (s, false)).collect();
        self.place_pins(req, &mut list);
        list
    }

    fn place_pins(&self, req: &RecommendRequest, list: &mut Vec<(Scored, bool)>) {
        if req.pin.is_empty() {
            return;
        }
        // Stable by position: of two pins for one position, the first given wins.
        let mut pins: Vec<(usize, &Pin)> = req.pin.iter().enumerate().collect();
        lean::sort_by(&mut pins, |a, b| (a.1.position, a.0) < (b.1.position, b.0));
        for (_, pin) in pins {
            let Some(i) = self.catalog.index_of(&pin.item) else {
                continue;
            };
            let Some(item) = self.catalog.get(i) else {
                continue;
            };
            if !req.filter.accepts(item) {
                continue;
            }
            list.retain(|(s, _)| s.item != i);
            let at = (pin.position - 1).min(list.len());
            list.insert(
                at,
                (
                    Scored {
                        item: i,
                        score: 0.0,
                    },
                    true,
                ),
            );
        }
        list.truncate(req.k);
        // A pinned entry takes the score of the entry below it (or the lowest unpinned score
        // above it), so scores stay non-increasing down the list.
        for p in (0..list.len()).rev() {
            if list[p].1 {
                let below = list.get(p + 1).map(|(s, _)| s.score);
                let above = list[..p]
                    .iter()
                    .filter(|(_, pinned)| !pinned)
                    .map(|(s, _)| s.score)
                    .reduce(f32::min);
                list[p].0.score = below.or(above).unwrap_or(1.0);
            }
        }
    }

    /// The shopper's strongest items as (slot, affinity), live items only.
    fn anchors(&self, now: i64) -> Vec<(u32, f32)> {
        self.profile
            .top_items(now, ANCHORS)
            .into_iter()
            .filter_map(|(id, a)| self.catalog.index_of(&id).map(|i| (i, a as f32)))
            .collect()
    }

    /// The shopper's history as `(slot, weight)`: every item with totals (purchases are kept
    /// for the purchase memory, browsing for the retention period), weighted by
    /// [`HISTORY_BROWSED`] and [`HISTORY_HALF_LIFE_DAYS`].
    fn history_weights(&self, now: i64) -> Vec<(u32, f32)> {
        let half_life = HISTORY_HALF_LIFE_DAYS * crate::DAY_MS as f64;
        let mut out: Vec<(u32, f32)> = self
            .history
            .all_stats()
            .filter_map(|(id, s)| {
                let i = self.catalog.index_of(id)?;
                let last = s.last_seen.max(s.last_purchase)?;
                let base = if s.purchases > 0 {
                    1.0
                } else {
                    HISTORY_BROWSED
                };
                let age = (now - last).max(0) as f64;
                Some((i, base * lean::exp2(-age / half_life) as f32))
            })
            .collect();
        // Slot order, so sums are the same whatever order the totals are stored in.
        lean::sort_by(&mut out, |a, b| a.0 < b.0);
        out
    }

    fn for_you(
        &self,
        anchors: &[(u32, f32)],
        history: &[(u32, f32)],
        again: bool,
        now: i64,
    ) -> Candidates {
        let slots = self.catalog.slots();
        let user_text = self
            .profile
            .text_vector(self.index.vocabulary(), self.profile_terms);
        if anchors.is_empty() && user_text.is_empty() && history.is_empty() {
            return self.popular_or_catalog();
        }
        let mut content = vec![0.0f32; slots];
        self.index.accumulate_text(&user_text, 1.0, &mut content);
        if let Some(centroid) = self.index.embedding_centroid(anchors) {
            let mut emb = vec![0.0f32; slots];
            self.index.accumulate_embedding(&centroid, 1.0, &mut emb);
            for (i, c) in content.iter_mut().enumerate() {
                if self.index.embedding(i as u32).is_some() {
                    *c = 0.5 * *c + 0.5 * emb[i].max(0.0);
                }
            }
        }
        let mut out = Candidates::new(slots, Why::Content);
        let model = self.model;
        // The shared item model (learned weights, or co-occurrence for items it does not
        // cover) scored against the whole history, scaled to [0, 1].
        let mut covisit = vec![0.0f32; slots];
        if let Some(m) = model {
            for &(i, w) in history {
                for &(j, s) in &m.neighbours[i as usize] {
                    covisit[j as usize] += w * s;
                }
            }
            let max = covisit.iter().copied().fold(0.0f32, f32::max);
            if max > 0.0 {
                covisit.iter_mut().for_each(|v| *v /= max);
            }
        }
        // Buy-again scores scaled to [0, 1] (empty when bought items are excluded anyway).
        let bought = if again {
            let mut b = self.buy_again(now).scores;
            let max = b.iter().copied().fold(0.0f32, f32::max);
            if max > 0.0 {
                b.iter_mut().for_each(|v| *v /= max);
            }
            b
        } else {
            Vec::new()
        };
        for i in 0..slots {
            let pop = model.map_or(0.0, |m| m.popularity[i]);
            let c = FOR_YOU_CONTENT * content[i];
            let v = FOR_YOU_COVISIT * covisit[i];
            // Popularity boosts relevance and adds a small prior of its own.
            let trend = model.map_or(0.0, |m| m.trending[i]);
            let boost = (c + v) * (FOR_YOU_POPULARITY_BOOST * pop + FOR_YOU_TRENDING_BOOST * trend);
            let prior = FOR_YOU_POPULARITY * pop;
            let a = bought.get(i).map_or(0.0, |b| {
                FOR_YOU_BUY_AGAIN * b * (1.0 + BUY_AGAIN_POPULARITY_BOOST * pop)
            });
            out.scores[i] = c + v + boost + prior + a;
            // The reason names the strongest source of relevance; the boost only amplifies it.
            out.why[i] = if a > c + v + boost + prior {
                Why::BuyAgain
            } else if v >= c && v > 0.0 && v >= prior {
                Why::CoOccurrence
            } else if prior > c + v {
                Why::Popular
            } else {
                Why::Content
            };
        }
        out
    }

    fn similar(&self, anchor: u32) -> Candidates {
        let slots = self.catalog.slots();
        let mut out = Candidates::new(slots, Why::Content);
        self.index
            .accumulate_text(self.index.vector(anchor), 1.0, &mut out.scores);
        if let Some(e) = self.index.embedding(anchor) {
            let mut emb = vec![0.0f32; slots];
            self.index.accumulate_embedding(e, 1.0, &mut emb);
            for (i, s) in out.scores.iter_mut().enumerate() {
                if self.index.embedding(i as u32).is_some() {
                    *s = 0.5 * *s + 0.5 * emb[i].max(0.0);
                }
            }
        }
        out
    }

    fn bought_together(&self, anchor: u32) -> Candidates {
        let neighbours = self
            .model
            .map_or(&[][..], |m| &m.neighbours[anchor as usize][..]);
        // Content fallback ranks strictly below every co-occurrence neighbour.
        let floor = neighbours.iter().map(|n| n.1).fold(1.0f32, f32::min) * 0.5;
        let mut out = self.similar(anchor);
        for (s, why) in out.scores.iter_mut().zip(out.why.iter_mut()) {
            *s *= floor;
            *why = Why::ContentFallback;
        }
        for &(j, score) in neighbours {
            out.scores[j as usize] = score;
            out.why[j as usize] = Why::CoOccurrence;
        }
        out
    }

    fn trending(&self) -> Candidates {
        if let Some(m) = self.model {
            if m.trending.iter().any(|&t| t > 0.0) {
                let mut out = Candidates::new(m.trending.len(), Why::Trending);
                out.scores.clone_from(&m.trending);
                return out;
            }
        }
        self.popular_or_catalog()
    }

    /// Cold start: shared popularity (blended with trending) when a model exists, else the
    /// catalog in its own order with tiny decreasing scores.
    fn popular_or_catalog(&self) -> Candidates {
        let slots = self.catalog.slots();
        if let Some(m) = self.model {
            if m.popularity.iter().any(|&p| p > 0.0) {
                let mut out = Candidates::new(slots, Why::Popular);
                for i in 0..slots {
                    out.scores[i] = 0.8 * m.popularity[i] + 0.2 * m.trending[i];
                }
                return out;
            }
        }
        let mut out = Candidates::new(slots, Why::Catalog);
        for (rank, (i, _)) in self.catalog.iter().enumerate() {
            out.scores[i as usize] = 1e-3 / (1.0 + rank as f32 * 1e-3);
        }
        out
    }

    fn recently_viewed(&self, now: i64) -> Candidates {
        let slots = self.catalog.slots();
        let mut out = Candidates::new(slots, Why::RecentlyViewed);
        let half_life = self.half_life_days * crate::DAY_MS as f64;
        for (id, s) in self.history.all_stats() {
            if let (Some(i), Some(last)) = (self.catalog.index_of(id), s.last_seen) {
                let age = (now - last).max(0) as f64;
                out.scores[i as usize] = (lean::exp2(-age / half_life) as f32).max(1e-9);
            }
        }
        out
    }

    fn buy_again(&self, now: i64) -> Candidates {
        let slots = self.catalog.slots();
        let mut out = Candidates::new(slots, Why::BuyAgain);
        let half_life = BUY_AGAIN_HALF_LIFE_DAYS * crate::DAY_MS as f64;
        for (id, s) in self.history.all_stats() {
            if let (Some(i), Some(last), true) =
                (self.catalog.index_of(id), s.last_purchase, s.purchases > 0)
            {
                let age = (now - last).max(0) as f64;
                // Linear in the number of purchases, as PersonalPop counts lines: a shopper who
                // bought an item ten times will buy it again before one bought twice (on the
                // Online Retail split, linear beat 1 + ln(n) by 0.005 NDCG@10 on "all").
                let frequency = f64::from(s.purchases);
                out.scores[i as usize] =
                    ((frequency * lean::exp2(-age / half_life)) as f32).max(1e-9);
            }
        }
        out
    }

    /// Item ids the shopper viewed (or clicked, carted) and bought, resolved to indices.
    fn seen_and_bought(&self) -> (HashSet<u32>, HashSet<u32>) {
        let mut seen = HashSet::default();
        let mut bought = HashSet::default();
        for (id, s) in self.history.all_stats() {
            if let Some(i) = self.catalog.index_of(id) {
                if s.last_seen.is_some() {
                    seen.insert(i);
                }
                if s.purchases > 0 {
                    bought.insert(i);
                }
            }
        }
        (seen, bought)
    }

    fn title(&self, i: u32) -> &str {
        self.catalog
            .get(i)
            .map_or("an item", |it| it.title.as_str())
    }

    /// What the shopper did with an item, for reasons ("which you bought").
    fn verb(&self, i: u32) -> &'static str {
        let stats = self
            .catalog
            .get(i)
            .and_then(|it| self.history.stats(&it.id));
        match stats {
            Some(s) if s.purchases > 0 => "bought",
            Some(s) if s.in_cart => "put in your cart",
            Some(s) if s.carts > 0 => "added to your cart",
            _ => "viewed",
        }
    }

    fn reason(
        &self,
        why: Why,
        i: u32,
        anchor: Option<u32>,
        anchors: &[(u32, f32)],
        history: &[(u32, f32)],
    ) -> String {
        match why {
            Why::Content => match anchor {
                Some(a) => {
                    let terms =
                        self.index
                            .shared_terms(self.index.vector(a), self.index.vector(i), 3);
                    if terms.is_empty() {
                        format!("similar to {}", self.title(a))
                    } else {
                        format!("similar to {} (both: {})", self.title(a), terms.join(", "))
                    }
                }
                None => {
                    let best = anchors
                        .iter()
                        .take(10)
                        .map(|&(a, _)| (a, self.index.similarity(a, i)))
                        .filter(|&(a, s)| a != i && s > 0.0)
                        .max_by(|x, y| x.1.total_cmp(&y.1));
                    match best {
                        Some((a, _)) => {
                            format!("similar to {}, which you {}", self.title(a), self.verb(a))
                        }
                        None => "matches your interests".to_owned(),
                    }
                }
            },
            Why::CoOccurrence => match anchor {
                Some(a) => format!("often viewed or bought with {}", self.title(a)),
                None => {
                    let best = self.model.and_then(|m| {
                        history
                            .iter()
                            .filter_map(|&(a, aff)| {
                                m.neighbours[a as usize]
                                    .iter()
                                    .find(|n| n.0 == i)
                                    .map(|n| (a, aff * n.1))
                            })
                            .max_by(|x, y| x.1.total_cmp(&y.1))
                    });
                    match best {
                        Some((a, _)) => format!(
                            "often viewed or bought with {}, which you {}",
                            self.title(a),
                            self.verb(a)
                        ),
                        None => "often viewed or bought with items you like".to_owned(),
                    }
                }
            },
            Why::ContentFallback => {
                format!(
                    "similar to {} (no data from other shoppers on it yet)",
                    self.title(anchor.unwrap_or(i))
                )
            }
            Why::Popular => "popular with shoppers".to_owned(),
            Why::Trending => "trending now".to_owned(),
            Why::RecentlyViewed => {
                let views = self
                    .catalog
                    .get(i)
                    .and_then(|it| self.history.stats(&it.id))
                    .map_or(0, |s| s.views + s.clicks);
                if views > 1 {
                    format!("you viewed this {views} times")
                } else {
                    "you viewed this recently".to_owned()
                }
            }
            Why::BuyAgain => {
                let n = self
                    .catalog
                    .get(i)
                    .and_then(|it| self.history.stats(&it.id))
                    .map_or(0, |s| s.purchases);
                if n > 1 {
                    format!("you bought this {n} times")
                } else {
                    "you bought this before".to_owned()
                }
            }
            Why::Catalog => "from the catalog (no shopping data yet)".to_owned(),
        }
    }
}
