//! Background workers.

pub mod clicks;
pub mod outbox;
