//! One module per screen.

pub mod admin;
pub mod portal;
