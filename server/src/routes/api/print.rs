//! `/api/v1/campaigns/{slug}/print.pdf`: a campaign's referrers as print-ready cards, flyers or
//! posters. The options and the drawing are the print studio's (`services::print`).

use app::{
    error::AppError,
    ssr::{
        services::print::{self, PrintFile, PrintRequest},
        state::AppState,
    },
};
use axum::{
    extract::{RawQuery, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

use super::{
    auth::ApiKey,
    error::{ApiError, ApiPath, ErrorBody},
};

/// Print a campaign's referrers as a PDF.
///
/// One piece per referrer (all of the campaign's, or those picked with `referrer=`), laid out on
/// sheets: 10 business cards on A4 or Letter, 4 A6 flyers on A4, one poster per sheet. With
/// `marks=1` each piece gets 3 mm of bleed and crop marks (8 cards to a sheet). QR codes are
/// vectors, text is real text in embedded fonts. At most 5,000 pieces per PDF.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{slug}/print.pdf", tag = "campaigns",
    params(
        ("slug" = String, Path, description = "Campaign slug"),
        ("template" = Option<String>, Query, description = "`business-card` (85 x 55 mm, the default), `flyer` (A6) or `poster` (the whole sheet)"),
        ("paper" = Option<String>, Query, description = "`a4` (the default) or `letter`"),
        ("marks" = Option<String>, Query, description = "`1` for crop marks and 3 mm bleed, for print shops"),
        ("names" = Option<String>, Query, description = "`0` to leave the referrers' names off"),
        ("referrer" = Option<Vec<i64>>, Query, description = "A referrer's id; repeat it to pick several, in the order given. Without it, every referrer of the campaign"),
    ),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = [u8]),
        (status = 401, description = "Missing or bad API key", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "Unknown template, paper or parameter (the message lists the allowed values), a referrer not in the campaign, or nothing to print", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn pdf(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(slug): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let request = read_request(query)?;
    let file = print::campaign_pdf(&state, &slug, &request).await?;
    Ok(pdf_response(file)?)
}

/// The mail-merge CSV of a campaign's referrers.
///
/// One row per referrer (the same picks as `print.pdf`: every referrer of the campaign, or those
/// given with `referrer=`, in that order): `name,email,code,link,qr_png_url,qr_svg_url`, for an
/// external print or mailing service. The QR addresses are public. Every field is quoted; one
/// that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` so a
/// spreadsheet does not run it as a formula.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{slug}/print.csv", tag = "campaigns",
    params(
        ("slug" = String, Path, description = "Campaign slug"),
        ("referrer" = Option<Vec<i64>>, Query, description = "A referrer's id; repeat it to pick several, in the order given. Without it, every referrer of the campaign"),
    ),
    responses(
        (status = 200, description = "The CSV (`text/csv`, an attachment)", content_type = "text/csv", body = String),
        (status = 401, description = "Missing or bad API key", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "A bad parameter, a referrer not in the campaign, or nothing to list", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn csv(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(slug): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let request = read_request(query)?;
    let file = print::campaign_csv(&state, &slug, &request).await?;
    Ok(file_response(
        file,
        "text/csv; charset=utf-8",
        "attachment",
    )?)
}

/// What the query string asks for (the same parameters for the PDF and the CSV).
fn read_request(query: Option<String>) -> Result<PrintRequest, AppError> {
    let query = query.unwrap_or_default();
    PrintRequest::from_pairs(url::form_urlencoded::parse(query.as_bytes()))
}

/// A PDF answer: shown inline under its file name, never kept by a cache (it holds people's
/// names and links). Shared with the portal's "my cards".
pub fn pdf_response(file: PrintFile) -> Result<Response, AppError> {
    file_response(file, "application/pdf", "inline")
}

/// `file` as `content_type`, `inline` or as an `attachment` under its name, never cached.
fn file_response(
    file: PrintFile,
    content_type: &'static str,
    disposition: &str,
) -> Result<Response, AppError> {
    let disposition =
        HeaderValue::try_from(format!("{disposition}; filename=\"{}\"", file.file_name))
            .map_err(|e| AppError::internal("print content-disposition", e))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        file.bytes,
    )
        .into_response())
}
