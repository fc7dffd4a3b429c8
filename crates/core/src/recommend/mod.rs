//! Recommendations: requests and rules, the recommenders and explanations.

pub mod explain;
pub mod rank;
pub mod rules;
pub mod strategies;
