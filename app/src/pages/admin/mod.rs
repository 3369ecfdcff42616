//! The admin dashboard's screens.

pub mod campaigns;
pub mod keys;
pub mod leads;
pub mod login;
pub mod referrers;
pub mod setup;
