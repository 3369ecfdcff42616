//! HTTP routes outside the Leptos app: the referral link, the friend page, the portal, the REST
//! API, health, and the cross-site request forgery guard.

pub mod admin_exports;
pub mod admin_imports;
pub mod api;
pub mod client_ip;
pub mod cookies;
pub mod csrf;
pub mod friend;
pub mod health;
pub mod pages;
pub mod portal;
pub mod redirect;
pub mod uploads;
pub mod webhooks;
