//! The content index: field-weighted TF-IDF vectors, an inverted index for fast scoring, and
//! l2-normalized embeddings in a dense matrix ([`Matrix`]).
//!
//! Single-item upserts and removals are O(size of the item): the item is tokenized once, its
//! postings are replaced and it is weighted with the fitted idf. The idf table is refitted (from
//! stored term counts, never re-tokenizing) once the catalog has drifted by [`REFIT_DRIFT`] of
//! its size, the same fit/transform split scikit-learn uses.

use crate::catalog::items::{Catalog, Item};
use crate::lean::{dot, Matrix};
use crate::text::sparse::SparseVec;
use crate::text::tfidf::{TermCounts, Tfidf, Vocabulary};
use crate::text::tokenizer;

/// Fraction of the catalog that may change before the idf table is refitted.
pub const REFIT_DRIFT: f64 = 0.1;

/// How much each field counts toward an item's term frequencies. Titles say most about what a
/// product is; descriptions are long and noisy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldWeights {
    pub title: f32,
    pub categories: f32,
    pub brand: f32,
    pub tags: f32,
    pub description: f32,
}

impl Default for FieldWeights {
    fn default() -> Self {
        FieldWeights {
            title: 3.0,
            categories: 2.0,
            brand: 2.0,
            tags: 2.0,
            description: 1.0,
        }
    }
}

/// TF-IDF vectors, postings and embeddings for every catalog slot.
#[derive(Debug, Clone, Default)]
pub struct ContentIndex {
    weights: FieldWeights,
    vocab: Vocabulary,
    tfidf: Tfidf,
    counts: Vec<TermCounts>,
    vectors: Vec<SparseVec>,
    /// term id -> (item index, weight), unordered.
    postings: Vec<Vec<(u32, f32)>>,
    /// One l2-normalized row per slot; all-zero for items without an embedding.
    embeddings: Option<Matrix>,
    has_embedding: Vec<bool>,
    /// Which slots hold an indexed document (an item may have no tokens at all).
    live: Vec<bool>,
}

impl ContentIndex {
    /// Tokenizes and indexes every live item of the catalog.
    pub fn build(catalog: &Catalog, weights: FieldWeights) -> Self {
        let mut index = ContentIndex {
            weights,
            ..ContentIndex::default()
        };
        let slots = catalog.slots();
        index.counts = vec![TermCounts::default(); slots];
        index.has_embedding = vec![false; slots];
        index.live = vec![false; slots];
        if let Some(dim) = catalog.embedding_dim() {
            index.embeddings = Some(Matrix::zeros(slots, dim));
        }
        for (i, item) in catalog.iter() {
            index.counts[i as usize] = index.term_counts(item);
            index.live[i as usize] = true;
            index.set_embedding(i, item.embedding.as_deref());
        }
        index.tfidf = Tfidf::fit(index.counts.iter(), index.vocab.len());
        index.reweight_all();
        index
    }

    /// Adds or replaces the item at `slot` (which may be one past the end).
    pub fn upsert(&mut self, slot: u32, item: &Item) {
        let s = slot as usize;
        self.remove(slot);
        if s >= self.counts.len() {
            self.counts.resize(s + 1, TermCounts::default());
            self.vectors.resize(s + 1, SparseVec::default());
            self.has_embedding.resize(s + 1, false);
            self.live.resize(s + 1, false);
        }
        let counts = self.term_counts(item);
        self.live[s] = true;
        self.tfidf.add_document(&counts);
        self.counts[s] = counts;
        self.set_embedding(slot, item.embedding.as_deref());
        if self.needs_refit() {
            self.tfidf.refit();
            self.reweight_all();
        } else {
            self.vectors[s] = self.tfidf.transform(&self.counts[s]);
            self.postings.resize(self.vocab.len(), Vec::new());
            for (t, w) in self.vectors[s].iter() {
                self.postings[t as usize].push((slot, w));
            }
        }
    }

    /// Removes the item at `slot` from the postings and document frequencies.
    pub fn remove(&mut self, slot: u32) {
        let s = slot as usize;
        if !self.live.get(s).copied().unwrap_or(false) {
            return;
        }
        self.live[s] = false;
        for &t in &self.vectors[s].indices {
            if let Some(list) = self.postings.get_mut(t as usize) {
                list.retain(|&(i, _)| i != slot);
            }
        }
        let counts = std::mem::take(&mut self.counts[s]);
        self.tfidf.remove_document(&counts);
        self.vectors[s] = SparseVec::default();
        self.set_embedding(slot, None);
    }

    fn needs_refit(&self) -> bool {
        self.tfidf.drift() as f64 > (self.tfidf.n_docs() as f64 * REFIT_DRIFT).max(8.0)
    }

    fn reweight_all(&mut self) {
        self.vectors = self
            .counts
            .iter()
            .map(|c| self.tfidf.transform(c))
            .collect();
        self.postings = vec![Vec::new(); self.vocab.len()];
        for (i, v) in self.vectors.iter().enumerate() {
            for (t, w) in v.iter() {
                self.postings[t as usize].push((i as u32, w));
            }
        }
    }

    fn term_counts(&mut self, item: &Item) -> TermCounts {
        let w = self.weights;
        let mut counts = Vec::new();
        let mut add = |text: &str, weight: f32, vocab: &mut Vocabulary| {
            tokenizer::for_each_token(text, |tok| counts.push((vocab.get_or_insert(tok), weight)));
        };
        add(&item.title, w.title, &mut self.vocab);
        for c in &item.categories {
            add(c, w.categories, &mut self.vocab);
        }
        if let Some(b) = &item.brand {
            add(b, w.brand, &mut self.vocab);
        }
        for t in &item.tags {
            add(t, w.tags, &mut self.vocab);
        }
        if let Some(d) = &item.description {
            add(d, w.description, &mut self.vocab);
        }
        TermCounts::from_pairs(counts)
    }

    fn set_embedding(&mut self, slot: u32, embedding: Option<&[f32]>) {
        let s = slot as usize;
        if s >= self.has_embedding.len() {
            self.has_embedding.resize(s + 1, false);
        }
        let Some(values) = embedding else {
            if let Some(m) = &mut self.embeddings {
                if s < m.rows() {
                    m.row_mut(s).fill(0.0);
                }
            }
            self.has_embedding[s] = false;
            return;
        };
        let matrix = self
            .embeddings
            .get_or_insert_with(|| Matrix::zeros(0, values.len()));
        while matrix.rows() <= s {
            matrix.push_zero_row();
        }
        let norm = dot(values, values).sqrt();
        // Catalog validation guarantees every embedding has the matrix's width.
        if norm > 0.0 && values.len() == matrix.cols() {
            for (out, v) in matrix.row_mut(s).iter_mut().zip(values) {
                *out = v / norm;
            }
            self.has_embedding[s] = true;
        }
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocab
    }

    /// The l2-normalized TF-IDF vector of an item (empty for unknown slots).
    pub fn vector(&self, slot: u32) -> &SparseVec {
        static EMPTY: SparseVec = SparseVec {
            indices: Vec::new(),
            values: Vec::new(),
        };
        self.vectors.get(slot as usize).unwrap_or(&EMPTY)
    }

    /// Number of slots the index covers.
    pub fn slots(&self) -> usize {
        self.vectors.len()
    }

    /// Adds `weight * (query · item)` to `scores[item]` for every item sharing a term with
    /// `query`. `scores` must have one entry per slot.
    pub fn accumulate_text(&self, query: &SparseVec, weight: f32, scores: &mut [f32]) {
        for (t, q) in query.iter() {
            if let Some(list) = self.postings.get(t as usize) {
                let qw = q * weight;
                for &(i, w) in list {
                    if let Some(s) = scores.get_mut(i as usize) {
                        *s += qw * w;
                    }
                }
            }
        }
    }

    /// The normalized embedding of an item, when it has one.
    pub fn embedding(&self, slot: u32) -> Option<&[f32]> {
        let s = slot as usize;
        if !self.has_embedding.get(s).copied().unwrap_or(false) {
            return None;
        }
        self.embeddings.as_ref().map(|m| m.row(s))
    }

    /// Adds `weight * cos(query, item)` for every item with an embedding. `query` need not be
    /// normalized.
    pub fn accumulate_embedding(&self, query: &[f32], weight: f32, scores: &mut [f32]) {
        let Some(matrix) = &self.embeddings else {
            return;
        };
        let norm = dot(query, query).sqrt();
        if norm == 0.0 || query.len() != matrix.cols() {
            return;
        }
        for i in 0..matrix.rows() {
            if self.has_embedding.get(i) == Some(&true) {
                if let Some(s) = scores.get_mut(i) {
                    *s += weight * dot(matrix.row(i), query) / norm;
                }
            }
        }
    }

    /// Affinity-weighted mean of the given items' embeddings (None when none has one).
    pub fn embedding_centroid(&self, items: &[(u32, f32)]) -> Option<Vec<f32>> {
        let matrix = self.embeddings.as_ref()?;
        let mut centroid = vec![0.0f32; matrix.cols()];
        let mut any = false;
        for &(i, w) in items {
            if let Some(e) = self.embedding(i) {
                for (c, x) in centroid.iter_mut().zip(e) {
                    *c += w * x;
                }
                any = true;
            }
        }
        any.then_some(centroid)
    }

    /// Content similarity of two items in [−1, 1]: TF-IDF cosine, averaged with the embedding
    /// cosine when both items have embeddings.
    pub fn similarity(&self, a: u32, b: u32) -> f32 {
        let text = self.vector(a).dot(self.vector(b));
        match (self.embedding(a), self.embedding(b)) {
            (Some(x), Some(y)) => 0.5 * text + 0.5 * dot(x, y),
            _ => text,
        }
    }

    /// The terms two vectors share, strongest first (for human-readable reasons).
    pub fn shared_terms(&self, a: &SparseVec, b: &SparseVec, max: usize) -> Vec<&str> {
        let mut shared: Vec<(u32, f32)> = a
            .iter()
            .filter_map(|(t, w)| {
                let o = b.get(t);
                (o > 0.0).then_some((t, w * o))
            })
            .collect();
        crate::lean::sort_by(&mut shared, |x, y| {
            y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)).is_lt()
        });
        shared
            .into_iter()
            .take(max)
            .map(|(t, _)| self.vocab.term(t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::items::Item;

    fn catalog(items: &[(&str, &str)]) -> Catalog {
        let mut cat = Catalog::default();
        for (id, title) in items {
            cat.upsert(Item::new(*id, *title)).expect("valid");
        }
        cat
    }

    #[test]
    fn similar_titles_score_higher() {
        let cat = catalog(&[
            ("a", "blue ceramic mug"),
            ("b", "red ceramic mug"),
            ("c", "steel kettle"),
        ]);
        let index = ContentIndex::build(&cat, FieldWeights::default());
        assert!(index.similarity(0, 1) > index.similarity(0, 2));
        let mut scores = vec![0.0; 3];
        index.accumulate_text(index.vector(0), 1.0, &mut scores);
        assert!((scores[0] - 1.0).abs() < 1e-5);
        assert!(scores[1] > 0.0 && scores[2] == 0.0);
    }

    #[test]
    fn upsert_and_remove_update_postings() {
        let mut cat = catalog(&[("a", "blue mug"), ("b", "green teapot")]);
        let mut index = ContentIndex::build(&cat, FieldWeights::default());
        let (slot, _) = cat.upsert(Item::new("c", "blue teapot")).expect("ok");
        index.upsert(slot, cat.get(slot).expect("c"));
        let mut scores = vec![0.0; 3];
        index.accumulate_text(index.vector(0), 1.0, &mut scores);
        assert!(scores[2] > 0.0, "new item is reachable through postings");
        let removed = cat.remove("c").expect("c");
        index.remove(removed);
        let mut scores = vec![0.0; 3];
        index.accumulate_text(index.vector(0), 1.0, &mut scores);
        assert_eq!(scores[2], 0.0);
    }

    #[test]
    fn many_upserts_trigger_a_refit_that_matches_a_fresh_build() {
        let mut cat = catalog(&[("a", "blue mug"), ("b", "green teapot")]);
        let mut index = ContentIndex::build(&cat, FieldWeights::default());
        for i in 0..40 {
            let (slot, _) = cat
                .upsert(Item::new(format!("x{i}"), format!("mug number{i}")))
                .expect("ok");
            index.upsert(slot, cat.get(slot).expect("item"));
        }
        let fresh = ContentIndex::build(&cat, FieldWeights::default());
        // After the last refit at most REFIT_DRIFT of the catalog was added, so vectors are close.
        let diff = (index.similarity(0, 5) - fresh.similarity(0, 5)).abs();
        assert!(diff < 0.05, "drift {diff}");
    }

    #[test]
    fn embeddings_blend_into_similarity() {
        let mut cat = Catalog::default();
        let mut a = Item::new("a", "alpha");
        a.embedding = Some(vec![1.0, 0.0]);
        let mut b = Item::new("b", "beta");
        b.embedding = Some(vec![2.0, 0.1]);
        cat.upsert(a).expect("a");
        cat.upsert(b).expect("b");
        let index = ContentIndex::build(&cat, FieldWeights::default());
        assert!(
            index.similarity(0, 1) > 0.45,
            "no shared terms but close embeddings"
        );
        let mut scores = vec![0.0; 2];
        index.accumulate_embedding(index.embedding(0).expect("a"), 1.0, &mut scores);
        assert!((scores[0] - 1.0).abs() < 1e-5);
    }
}
