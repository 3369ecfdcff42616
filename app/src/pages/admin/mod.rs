//! The admin dashboard's screens.

pub mod campaigns;
pub mod imports;
pub mod integrations;
pub mod keys;
pub mod leads;
pub mod login;
pub mod referrers;
pub mod rewards;
pub mod rules;
pub mod setup;
