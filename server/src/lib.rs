//! The `handoff` server: configuration, start-up, HTTP routes, REST API, workers and CLI.
//! Public so integration tests can start the real application on port 0.

pub mod cli;
pub mod config;
pub mod routes;
pub mod serve;
pub mod startup;
pub mod telemetry;
pub mod workers;
