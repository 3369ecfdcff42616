//! sea-orm entities, one module per table. Row types never cross the network: see `crate::types`.

pub mod admin;
pub mod api_key;
pub mod campaign;
pub mod campaign_logo;
pub mod click;
pub mod conversion_event;
pub mod email;
pub mod email_template;
pub mod import;
pub mod import_digest;
pub mod inbound_delivery;
pub mod inbound_source;
pub mod lead;
pub mod lead_event;
pub mod outbox_event;
pub mod portal_token;
pub mod promotion_code;
pub mod qualification_rule;
pub mod referrer;
pub mod reward;
pub mod reward_rule;
pub mod session;
pub mod setting;
pub mod setup_token;
pub mod webhook_delivery;
pub mod webhook_endpoint;
