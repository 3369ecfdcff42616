//! Use cases. Server functions, REST handlers, the CLI and workers all call these, so each rule
//! exists once.

pub mod admins;
pub mod api_keys;
pub mod campaigns;
pub mod clicks;
pub mod codes;
pub mod conversions;
pub mod deliveries;
pub mod demo;
pub mod emails;
pub mod fraud;
pub mod imports;
pub mod inbound;
pub mod leads;
pub mod links;
pub mod outbox;
pub mod paging;
pub mod portal;
pub mod qr;
pub mod referrers;
pub mod rewards;
pub mod rules;
pub mod secrets;
pub mod settings;
pub mod signatures;
pub mod throttle;
