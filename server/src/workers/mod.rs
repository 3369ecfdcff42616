//! Background workers.

pub mod clicks;
pub mod email;
pub mod outbox;
