//! `/api/v1/campaigns/{slug}/print.pdf`: a campaign's referrers as print-ready cards, flyers or
//! posters. The options and the drawing are the print studio's (`services::print`).

use app::{
    error::AppError,
    ssr::{
        services::print::{self, PieceFormat, PrintFile, PrintRequest},
        state::AppState,
    },
};
use axum::{
    body::{Body, Bytes},
    extract::{RawQuery, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures_util::{StreamExt, stream};

use super::{
    auth::ApiKey,
    error::{ApiError, ApiPath, ErrorBody},
};

/// The print options every campaign print file takes, documented once (the handlers read the raw
/// query with the studio's own parser, `PrintRequest`, which names the allowed values in its
/// errors).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // a description for the OpenAPI document; never built
pub struct PrintParams {
    /// `business-card` (85 x 55 mm, the default), `flyer` (A6), `poster` (the whole sheet) or
    /// `table-tent` (A5, folded)
    template: Option<String>,
    /// `a4` (the default) or `letter`
    paper: Option<String>,
    /// `1` for crop marks and 3 mm bleed, for print shops
    marks: Option<String>,
    /// `0` to leave the referrers' names off
    names: Option<String>,
    /// A referrer's id; repeat it to pick several, in the order given. Without it, every
    /// referrer of the campaign the filters let through
    referrer: Option<Vec<i64>>,
    /// Only referrers whose name or email holds this, or whose code it is
    search: Option<String>,
    /// Only referrers who joined on or after this day (YYYY-MM-DD)
    joined_after: Option<String>,
    /// `1` for only referrers never printed before
    never_printed: Option<String>,
    /// `0` for QR codes without the channel marker
    channel: Option<String>,
    /// A headline instead of the one saved for this template
    headline: Option<String>,
    /// Body text instead of the one saved for this template
    body: Option<String>,
}

/// Print a campaign's referrers as a PDF.
///
/// One piece per referrer (all of the campaign's, those the filters let through, or those
/// picked with `referrer=`), laid out on sheets: 10 business cards on A4 or Letter, 4 A6 flyers
/// on A4, one poster or table tent per sheet. With `marks=1` each piece gets 3 mm of bleed and
/// crop marks (8 cards to a sheet). QR codes are vectors and carry the template's channel
/// (`?ch=card`) unless `channel=0`; text is real text in embedded fonts. At most 5,000 pieces
/// per PDF. The referrers printed count as printed (see `never_printed`).
#[utoipa::path(
    get, path = "/api/v1/campaigns/{slug}/print.pdf", tag = "campaigns",
    params(("slug" = String, Path, description = "Campaign slug"), PrintParams),
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
    let request = read_request(query.as_deref())?;
    let file = print::campaign_pdf(&state, &slug, &request).await?;
    Ok(pdf_response(file)?)
}

/// A campaign's referrers as a print page (HTML).
///
/// The PDF's layout as HTML sheets with `@page` CSS: printed from a browser at 100 % with no
/// margins it matches the PDF. Takes the same parameters as `print.pdf`.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{slug}/print.html", tag = "campaigns",
    params(("slug" = String, Path, description = "Campaign slug"), PrintParams),
    responses(
        (status = 200, description = "The print page", content_type = "text/html", body = String),
        (status = 401, description = "Missing or bad API key", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "A bad parameter (as for `print.pdf`)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn html(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(slug): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let request = read_request(query.as_deref())?;
    let file = print::campaign_page(&state, &slug, &request, FONT_BASE).await?;
    Ok(file_response(file, PrintType::Html)?)
}

/// Where the print page loads its fonts from (`routes::print_fonts`).
pub const FONT_BASE: &str = "/print/fonts";

/// One referrer's card (or other template) as SVG.
///
/// The piece trimmed, no bleed, text as outlines (it needs no font), the logo embedded. Takes
/// `template`, `paper` (for a poster), `names`, `channel`, `headline` and `body` as `print.pdf`.
#[utoipa::path(
    get, path = "/api/v1/referrers/{id}/card.svg", tag = "referrers",
    params(("id" = i64, Path, description = "Referrer id")),
    responses(
        (status = 200, description = "The SVG", content_type = "image/svg+xml", body = String),
        (status = 401, description = "Missing or bad API key", body = ErrorBody),
        (status = 404, description = "No such referrer", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn card_svg(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(id): ApiPath<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let request = read_request(query.as_deref())?;
    let file = print::referrer_piece(&state, id, &request, PieceFormat::Svg).await?;
    Ok(file_response(file, PrintType::Svg)?)
}

/// One referrer's card (or other template) as PNG.
///
/// As `card.svg`, rasterized at `dpi` (72 to 1,200; 300 by default: a business card is then
/// 1,004 x 650 px).
#[utoipa::path(
    get, path = "/api/v1/referrers/{id}/card.png", tag = "referrers",
    params(
        ("id" = i64, Path, description = "Referrer id"),
        ("dpi" = Option<u32>, Query, description = "Dots per inch, 72 to 1200 (default 300)"),
    ),
    responses(
        (status = 200, description = "The PNG", content_type = "image/png", body = [u8]),
        (status = 401, description = "Missing or bad API key", body = ErrorBody),
        (status = 404, description = "No such referrer", body = ErrorBody),
        (status = 422, description = "A bad parameter, or an image over 4,000 px on a side", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn card_png(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(id): ApiPath<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (rest, dpi) = read_dpi(query.as_deref())?;
    let request = read_request(Some(&rest))?;
    let file = print::referrer_piece(&state, id, &request, PieceFormat::Png(dpi)).await?;
    Ok(file_response(file, PrintType::Png)?)
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
    params(("slug" = String, Path, description = "Campaign slug"), PrintParams),
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
    let request = read_request(query.as_deref())?;
    let file = print::campaign_csv(&state, &slug, &request).await?;
    Ok(file_response(file, PrintType::Csv)?)
}

/// What the query string asks for (the same parameters for every print file).
pub fn read_request(query: Option<&str>) -> Result<PrintRequest, AppError> {
    PrintRequest::from_pairs(url::form_urlencoded::parse(
        query.unwrap_or_default().as_bytes(),
    ))
}

/// The query string without its `dpi` pair, and the dpi asked for (a PNG's only extra
/// parameter; 300 by default, 72 to 1,200).
pub fn read_dpi(query: Option<&str>) -> Result<(String, u32), AppError> {
    let mut dpi = print::png::DEFAULT_DPI;
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key == "dpi" {
            dpi = value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|dpi| (72..=1200).contains(dpi))
                .ok_or_else(|| {
                    AppError::invalid(
                        "invalid_dpi",
                        "dpi",
                        "`dpi` is a whole number from 72 to 1200.",
                    )
                })?;
        } else {
            rest.append_pair(&key, &value);
        }
    }
    Ok((rest.finish(), dpi))
}

/// A PDF answer: shown inline under its file name, never kept by a cache (it holds people's
/// names and links). Shared with the portal's "my cards" and the studio.
pub fn pdf_response(file: PrintFile) -> Result<Response, AppError> {
    file_response(file, PrintType::Pdf)
}

/// The kinds of print file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintType {
    /// `application/pdf`, inline.
    Pdf,
    /// The mail-merge CSV, an attachment.
    Csv,
    /// The print page, inline, loading only its fonts.
    Html,
    /// One piece or a preview sheet, inline; it loads nothing.
    Svg,
    /// One piece, inline.
    Png,
}

/// `file`'s bytes as a body: at once, or chunk by chunk as a streamed file is made. A stream that
/// breaks off ends the body with an error, which cuts the connection rather than ending the
/// answer cleanly.
fn body(file: PrintFile) -> Body {
    match file.rest {
        None => Body::from(file.bytes),
        Some(rest) => {
            let first =
                stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(file.bytes)) });
            let rest = stream::unfold(rest, |mut rest| async move {
                let chunk = rest.recv().await?;
                Some((chunk.map(Bytes::from), rest))
            });
            Body::from_stream(first.chain(rest))
        }
    }
}

/// `file` as `kind`, under its name, never cached. HTML and SVG get a policy that lets them
/// load nothing but their own fonts and embedded (`data:`) images, and run no script.
pub fn file_response(file: PrintFile, kind: PrintType) -> Result<Response, AppError> {
    let (content_type, disposition, policy) = match kind {
        PrintType::Pdf => ("application/pdf", "inline", None),
        PrintType::Csv => ("text/csv; charset=utf-8", "attachment", None),
        PrintType::Html => (
            "text/html; charset=utf-8",
            "inline",
            Some("default-src 'none'; font-src 'self'; img-src data:; style-src 'unsafe-inline'"),
        ),
        PrintType::Svg => (
            "image/svg+xml",
            "inline",
            Some("default-src 'none'; img-src data:; style-src 'unsafe-inline'"),
        ),
        PrintType::Png => ("image/png", "inline", None),
    };
    let disposition =
        HeaderValue::try_from(format!("{disposition}; filename=\"{}\"", file.file_name))
            .map_err(|e| AppError::internal("print content-disposition", e))?;
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body(file),
    )
        .into_response();
    if let Some(policy) = policy {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    Ok(response)
}
