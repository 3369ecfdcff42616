//! Integration tests through real HTTP against the real application, on SQLite and PostgreSQL.

mod admin;
mod bulk_insert;
mod campaigns;
mod cli;
mod conversions;
mod friend;
mod helpers;
mod imports;
mod leads;
mod links;
mod model;
mod outbound;
mod promotion_codes;
mod referrers;
mod webhooks;
