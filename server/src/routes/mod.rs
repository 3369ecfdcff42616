//! HTTP routes outside the Leptos app: the referral link and its QR code, the friend page, the
//! portal, the REST API, health, the cross-site request forgery guard and server functions' error
//! statuses.

pub mod admin_exports;
pub mod admin_imports;
pub mod admin_print;
pub mod api;
pub mod client_ip;
pub mod cookies;
pub mod csrf;
pub mod deadline;
pub mod friend;
pub mod health;
pub mod logos;
pub mod pages;
pub mod portal;
pub mod portal_login;
pub mod print_fonts;
pub mod qr;
pub mod rate_limits;
pub mod redirect;
pub mod rpc_status;
pub mod security_headers;
pub mod unsubscribe;
pub mod uploads;
pub mod webhooks;
pub mod widget;
