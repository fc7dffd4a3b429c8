//! Privacy: the report wire format, contribution windows, the device's report lifecycle, zCDP
//! accounting, the ledger, local DP and noise.

pub(crate) mod budget;
pub(crate) mod config;
pub(crate) mod device;
pub(crate) mod ldp;
pub(crate) mod ledger;
pub(crate) mod noise;
pub(crate) mod report;
pub(crate) mod window;
