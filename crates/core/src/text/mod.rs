//! Text: the tokenizer, TF-IDF weighting and sparse vectors.

pub(crate) mod sparse;
pub(crate) mod tfidf;
pub(crate) mod tokenizer;
