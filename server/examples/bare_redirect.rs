//! The benchmark baseline: a bare axum handler answering every `/r/{slug}` with a constant 302.
//! `scripts/bench-redirect.sh` measures Handoff's real referral link against it in one run.

use axum::{
    Router,
    http::{StatusCode, header},
    routing::get,
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3902".to_owned());
    let app = Router::new().route(
        "/r/{slug}",
        get(|| async {
            (
                StatusCode::FOUND,
                [(header::LOCATION, "https://shop.example/join?ref=JANE-7K4Q")],
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
