//! The shared model: what clients download ([`shared`]) and how the engine reads it against its
//! catalog ([`resolved`]).

pub(crate) mod resolved;
pub(crate) mod shared;
