//! sea-orm entities, one module per table. Row types never cross the network: see `crate::types`.

pub mod admin;
pub mod api_key;
pub mod campaign;
pub mod click;
pub mod lead;
pub mod lead_event;
pub mod referrer;
pub mod session;
pub mod setup_token;
