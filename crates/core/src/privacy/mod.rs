//! Privacy: the report wire format, contribution windows, the device's report lifecycle, zCDP
//! accounting, the ledger, local DP and noise.

pub mod budget;
pub mod config;
pub mod device;
pub mod ldp;
pub mod ledger;
pub mod noise;
pub mod report;
pub mod window;
