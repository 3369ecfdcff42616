//! The print studio's files for signed-in admins: the PDF, the print page, the mail-merge CSV,
//! the live preview and one referrer's card as SVG or PNG. Plain GET routes in the admin half of
//! the router (its session, its CSRF guard), so the studio's links work without JavaScript.
//! Every one needs the `Print` permission (owner, admin, marketer); they only read, apart from
//! recording who was printed.

use app::{
    domain::roles::Permission,
    error::AppError,
    ssr::{
        auth,
        services::print::{self, PieceFormat, PrintFile},
        state::AppState,
    },
};
use axum::{
    Router,
    extract::{Path, RawQuery, State},
    response::Response,
    routing::get,
};
use tower_sessions::Session;

use super::{
    admin_exports::error_page,
    api::print::{FONT_BASE, PrintType, file_response, read_dpi, read_request},
};

/// The studio's download routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/print/{slug}/{file}", get(campaign_file))
        .route("/admin/referrers/{id}/{file}", get(referrer_card))
}

/// Answers with `made`'s file once the session may print, else the login or a reason page.
async fn respond(
    state: &AppState,
    session: &Session,
    kind: PrintType,
    made: impl AsyncFnOnce() -> Result<PrintFile, AppError>,
) -> Response {
    let result = match auth::require_in(state, session, Permission::Print).await {
        Ok(_) => made().await,
        Err(e) => Err(e),
    };
    match result.and_then(|file| file_response(file, kind)) {
        Ok(response) => response,
        Err(error) => error_page(error, "Cannot print this"),
    }
}

/// `GET /admin/print/{slug}/print.pdf|print.html|print.csv|preview.svg?…`: the parameters of
/// `/api/v1/campaigns/{slug}/print.pdf`.
pub async fn campaign_file(
    State(state): State<AppState>,
    session: Session,
    Path((slug, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let kind = match file.as_str() {
        "print.pdf" => PrintType::Pdf,
        "print.html" => PrintType::Html,
        "print.csv" => PrintType::Csv,
        "preview.svg" => PrintType::Svg,
        _ => return error_page(AppError::not_found("print file"), ""),
    };
    respond(&state, &session, kind, async || {
        let request = read_request(query.as_deref())?;
        match kind {
            PrintType::Pdf => print::campaign_pdf(&state, &slug, &request).await,
            PrintType::Html => print::campaign_page(&state, &slug, &request, FONT_BASE).await,
            PrintType::Csv => print::campaign_csv(&state, &slug, &request).await,
            _ => Ok(PrintFile {
                bytes: print::preview(&state, &slug, &request).await?.into_bytes(),
                rest: None,
                file_name: format!("{slug}-preview.svg"),
                pieces: 0,
            }),
        }
    })
    .await
}

/// `GET /admin/referrers/{id}/card.svg|card.png?template=…&dpi=…`: one referrer's piece.
pub async fn referrer_card(
    State(state): State<AppState>,
    session: Session,
    Path((id, file)): Path<(i64, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let kind = match file.as_str() {
        "card.svg" => PrintType::Svg,
        "card.png" => PrintType::Png,
        _ => return error_page(AppError::not_found("card"), ""),
    };
    respond(&state, &session, kind, async || {
        let (rest, dpi) = read_dpi(query.as_deref())?;
        let request = read_request(Some(&rest))?;
        let format = if kind == PrintType::Png {
            PieceFormat::Png(dpi)
        } else {
            PieceFormat::Svg
        };
        print::referrer_piece(&state, id, &request, format).await
    })
    .await
}
