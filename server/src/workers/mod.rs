//! Background workers.

pub mod clicks;
pub mod crm;
pub mod email;
pub mod outbox;
