//! The shared model clients download.

pub mod shared;
