//! Integration tests through real HTTP against the real application, on SQLite and PostgreSQL.

mod admin;
mod bulk_insert;
mod campaigns;
mod cli;
mod conversions;
mod emails;
mod friend;
mod helpers;
mod images;
mod imports;
mod leads;
mod links;
mod logos;
mod model;
mod notifications;
mod outbound;
mod portal;
mod print;
mod print_studio;
mod promotion_codes;
mod qr;
mod referrer_admin;
mod referrers;
mod smtp;
mod webhooks;
