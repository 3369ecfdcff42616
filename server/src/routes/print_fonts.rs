//! `GET /print/fonts/{file}`: the typefaces the print page sets its text in (the same files the
//! PDF embeds), so the browser's print matches the PDF. Public: they are open-licensed fonts.

use app::ssr::services::print::fonts::Typeface;
use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// The file names the print page asks for, their typeface and content type.
const FILES: [(&str, Typeface, &str); 3] = [
    ("inter-regular.otf", Typeface::Regular, "font/otf"),
    ("inter-bold.otf", Typeface::Bold, "font/otf"),
    ("jetbrains-mono-bold.ttf", Typeface::Mono, "font/ttf"),
];

/// Serves one of [`FILES`]; anything else is a 404.
pub async fn show(Path(file): Path<String>) -> Response {
    let Some((_, face, content_type)) = FILES.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // The fonts change only with a release.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        face.bytes(),
    )
        .into_response()
}
