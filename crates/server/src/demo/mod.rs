//! The demo shop's data, made by the project itself: `kindred demo-catalog` writes the
//! storefront's products (`www/catalog.json`) from the core's deterministic generator.

pub mod catalog;
