//! Recommendations: requests and rules, the recommenders and explanations.

pub(crate) mod explain;
pub(crate) mod rank;
pub(crate) mod rules;
pub(crate) mod strategies;
