//! The shop's catalog: validated items and their content index.

pub mod index;
pub mod items;
