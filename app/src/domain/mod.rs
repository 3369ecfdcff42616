//! Handoff's domain rules: pure functions and value types with no IO.
//!
//! Nothing in here touches the database, the network, the clock or a random
//! number generator. Callers that need randomness pass it in as a
//! `random_index(n)` closure, so every rule can be tested deterministically and
//! the same code compiles for the server and for the browser (wasm).

pub mod api_access;
pub mod channel;
pub mod codes;
pub mod color;
pub mod csv;
pub mod email;
pub mod emails;
pub mod logo;
pub mod phone;
pub mod roles;
pub mod rules;
pub mod rules_form;
pub mod search;
pub mod share;
pub mod slug;
pub mod widget;
pub mod words;
