//! TF-IDF weighting with scikit-learn's `TfidfVectorizer()` defaults: raw term counts, smooth idf
//! `ln((1 + n) / (1 + df)) + 1`, l2-normalized rows. Arithmetic is done in f64 and stored as f32,
//! which keeps values within 1e-7 of scikit-learn's float64 output.
//!
//! The idf table is *fitted* on a set of documents and then frozen, like scikit-learn's
//! `fit`/`transform`: documents added later are transformed with the fitted idf (terms never
//! seen at fit time get the idf of a term with document frequency 1). The catalog index refits
//! when enough items have changed (see `index.rs`), so single upserts stay O(item).

use crate::lean::HashMap;

use serde::{Deserialize, Serialize};

use crate::text::sparse::SparseVec;
use crate::text::tokenizer;

/// Maps terms to dense ids and back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Vocabulary {
    terms: Vec<String>,
    #[serde(skip)]
    ids: HashMap<String, u32>,
}

impl Vocabulary {
    pub fn id(&self, term: &str) -> Option<u32> {
        self.ids.get(term).copied()
    }

    pub fn get_or_insert(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.ids.get(term) {
            return id;
        }
        let id = self.terms.len() as u32;
        self.terms.push(term.to_owned());
        self.ids.insert(term.to_owned(), id);
        id
    }

    pub fn term(&self, id: u32) -> &str {
        &self.terms[id as usize]
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Rebuilds the lookup table after deserialization (the table itself is not serialized).
    pub fn rebuild_lookup(&mut self) {
        self.ids = self
            .terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
    }
}

/// Weighted term counts of one document, keyed by vocabulary id: merged and sorted once (with
/// [`SparseVec::from_pairs`]) so fitting and every later refit read them as they are.
pub type TermCounts = SparseVec;

/// Document frequencies and the fitted idf table.
#[derive(Debug, Clone, Default)]
pub struct Tfidf {
    /// Current document frequency of every term (kept up to date on add/remove).
    df: Vec<u32>,
    /// Current number of documents.
    n_docs: usize,
    /// idf per term as of the last fit.
    fitted_idf: Vec<f32>,
    /// Number of documents at the last fit.
    fitted_docs: usize,
}

/// scikit-learn's smooth idf.
pub fn smooth_idf(n_docs: usize, df: u32) -> f64 {
    ((1.0 + n_docs as f64) / (1.0 + f64::from(df))).ln() + 1.0
}

impl Tfidf {
    /// Counts document frequencies over `docs` and fits the idf table.
    pub fn fit<'a>(docs: impl IntoIterator<Item = &'a TermCounts>, n_terms: usize) -> Self {
        let mut model = Tfidf {
            df: vec![0; n_terms],
            ..Tfidf::default()
        };
        for doc in docs {
            model.add_document(doc);
        }
        model.refit();
        model
    }

    /// Recomputes the idf table from the current document frequencies. A term no document
    /// holds any more gets the idf of a term in one document, like a term never seen.
    pub fn refit(&mut self) {
        self.fitted_docs = self.n_docs;
        self.fitted_idf = self
            .df
            .iter()
            .map(|&df| smooth_idf(self.n_docs, df.max(1)) as f32)
            .collect();
    }

    /// Registers a document's terms in the document frequencies (idf stays as fitted).
    pub fn add_document(&mut self, doc: &TermCounts) {
        self.n_docs += 1;
        for term in counted_terms(doc) {
            let t = term as usize;
            if t >= self.df.len() {
                self.df.resize(t + 1, 0);
            }
            self.df[t] += 1;
        }
    }

    /// Removes a document previously added with [`Tfidf::add_document`].
    pub fn remove_document(&mut self, doc: &TermCounts) {
        self.n_docs = self.n_docs.saturating_sub(1);
        for term in counted_terms(doc) {
            if let Some(df) = self.df.get_mut(term as usize) {
                *df = df.saturating_sub(1);
            }
        }
    }

    /// The fitted idf of a term; terms unseen at fit time count as appearing in one document.
    pub fn idf(&self, term: u32) -> f32 {
        self.fitted_idf
            .get(term as usize)
            .copied()
            .unwrap_or_else(|| smooth_idf(self.fitted_docs, 1) as f32)
    }

    /// Number of documents currently registered.
    pub fn n_docs(&self) -> usize {
        self.n_docs
    }

    /// Documents added or removed since the last fit, as a count of drift.
    pub fn drift(&self) -> usize {
        self.n_docs.abs_diff(self.fitted_docs)
    }

    /// `tf * idf`, l2-normalized. An empty document gives an empty vector.
    pub fn transform(&self, doc: &TermCounts) -> SparseVec {
        let weighted: Vec<f64> = doc
            .iter()
            .map(|(t, tf)| f64::from(tf) * f64::from(self.idf(t)))
            .collect();
        let norm = weighted.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return SparseVec::default();
        }
        SparseVec {
            indices: doc.indices.clone(),
            values: weighted.iter().map(|v| (v / norm) as f32).collect(),
        }
    }
}

/// The terms a document counts toward document frequency (those with a positive weight).
fn counted_terms(doc: &TermCounts) -> impl Iterator<Item = u32> + '_ {
    doc.iter().filter(|&(_, w)| w > 0.0).map(|(t, _)| t)
}

/// The equivalent of scikit-learn's `TfidfVectorizer().fit_transform(texts)`: every text is one
/// field of weight 1, tokenized with [`tokenizer::tokenize`]. Used by the golden test and by tools.
pub fn fit_transform_texts(texts: &[&str]) -> (Vocabulary, Vec<SparseVec>) {
    let mut vocab = Vocabulary::default();
    let docs: Vec<TermCounts> = texts
        .iter()
        .map(|t| {
            SparseVec::from_pairs(
                tokenizer::tokenize(t)
                    .iter()
                    .map(|tok| (vocab.get_or_insert(tok), 1.0))
                    .collect(),
            )
        })
        .collect();
    let model = Tfidf::fit(&docs, vocab.len());
    let vectors = docs.iter().map(|d| model.transform(d)).collect();
    (vocab, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_idf_matches_formula() {
        // n = 3 docs, term in 1 doc: ln(4/2) + 1
        assert!((smooth_idf(3, 1) - (2.0f64.ln() + 1.0)).abs() < 1e-12);
    }

    #[test]
    fn vectors_are_unit_length() {
        let (_, vecs) = fit_transform_texts(&["red mug", "blue mug mug", "red kettle"]);
        for v in &vecs {
            assert!((v.norm() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn unseen_terms_get_rare_idf() {
        let mut vocab = Vocabulary::default();
        let a = vocab.get_or_insert("a");
        let docs = vec![SparseVec::from_pairs(vec![(a, 1.0)]); 2];
        let model = Tfidf::fit(&docs, vocab.len());
        let b = vocab.get_or_insert("b");
        assert!(model.idf(b) > model.idf(a));
    }
}
