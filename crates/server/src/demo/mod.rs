//! The demo shop's data, made by the project itself: `kindred demo-catalog` writes the
//! storefront's products (`www/catalog.json`) from the core's deterministic generator, and
//! `kindred demo-seed` fills a fresh database with a week of simulated shoppers' reports, so
//! the shared model has something to show on the first visit.

pub mod catalog;
pub mod seed;
pub mod shoppers;
