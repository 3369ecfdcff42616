//! `handoff`: the self-hosted referral platform in one binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    server::cli::run().await
}
