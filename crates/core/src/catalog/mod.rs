//! The shop's catalog: validated items and their content index.

pub(crate) mod index;
pub(crate) mod items;
