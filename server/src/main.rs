//! `handoff`: the self-hosted referral platform in one binary.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: batch writes (CSV imports, grouped conversions)
/// build and drop many large statement buffers, and glibc's malloc spent a third of an import's
/// time consolidating and splitting chunks (`perf`, docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    server::cli::run().await
}
