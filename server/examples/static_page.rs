//! The benchmark baseline for the portal page: a bare axum server answering every `GET` with
//! the same bytes, read once from a file. `scripts/bench-portal.sh` serves the real signed-in
//! portal page's bytes with it, side by side with Handoff rendering them.

use axum::{
    Router,
    http::{HeaderValue, header},
    response::IntoResponse,
    routing::get,
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3912".to_owned());
    let file = args.next().expect("usage: static_page ADDR FILE");
    let bytes: &'static [u8] = Box::leak(std::fs::read(file)?.into_boxed_slice());
    let page = move || async move {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            bytes,
        )
            .into_response()
    };
    let app = Router::new().fallback(get(page));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
