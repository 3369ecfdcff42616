//! Background workers.

pub mod clicks;
