//! Text: the tokenizer, TF-IDF weighting and sparse vectors.

pub mod sparse;
pub mod tfidf;
pub mod tokenizer;
