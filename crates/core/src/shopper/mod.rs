//! The shopper: behaviour history and the decayed interest profile.

pub mod history;
pub mod profile;
