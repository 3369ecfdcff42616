//! The admin dashboard's screens.

pub mod audit;
pub mod campaigns;
pub mod crm_log;
pub mod email_templates;
pub mod emails;
pub mod hubspot;
pub mod imports;
pub mod integrations;
pub mod keys;
pub mod leads;
pub mod login;
pub mod overview;
pub mod portal_settings;
pub mod print;
pub mod referrer;
pub mod referrer_import;
pub mod referrer_removal;
pub mod referrers;
pub mod rewards;
pub mod rules;
pub mod sales;
pub mod salesforce;
pub mod search;
pub mod setup;
pub mod widget;
