//! The shopper: behaviour history and the decayed interest profile.

pub(crate) mod history;
pub(crate) mod profile;
