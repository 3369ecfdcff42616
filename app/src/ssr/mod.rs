//! Everything that runs only on the server: database, services, sessions. The only tree that
//! names sea-orm, askama or tower-sessions.

pub mod auth;
pub mod chart;
pub mod client_ip;
pub mod content_policy;
pub mod conversion_csv;
pub mod db;
pub mod entities;
pub mod portal_session;
pub mod promotion_code_csv;
pub mod referrer_csv;
pub mod services;
pub mod session_store;
pub mod state;
