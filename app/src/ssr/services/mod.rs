//! Use cases. Server functions, REST handlers, the CLI and workers all call these, so each rule
//! exists once.

pub mod admins;
pub mod api_keys;
pub mod campaigns;
pub mod clicks;
pub mod codes;
pub mod demo;
pub mod leads;
pub mod links;
pub mod referrers;
pub mod secrets;
pub mod throttle;
