//! One module per screen.

pub mod admin;
