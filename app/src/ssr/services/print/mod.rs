//! The print studio's output: a campaign's referrers as print-ready business cards, flyers,
//! posters and table tents. [`PrintRequest`] reads what is asked for; [`prepare`] gathers the
//! campaign's branding (with the studio's headline and body text for the template) and the
//! referrers picked; the pieces are drawn once ([`draw`]) onto a PDF ([`pdf`]), an SVG or the
//! HTML print page ([`svg`]), or a PNG ([`png`]), laid out by [`layout`].

pub mod draw;
pub mod fonts;
pub mod layout;
pub mod pdf;
pub mod png;
mod request;
pub mod stream;
pub mod svg;

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};

use crate::{
    domain::{channel::Channel, color::Rgb},
    error::AppError,
    ssr::{
        entities::{campaign, campaign_logo, print_text, referrer, referrer_print},
        services::{campaigns, logos::LogoType, portal, referrers},
        state::AppState,
    },
};
use layout::{Paper, Template};
pub use request::{MAX_BODY, MAX_HEADLINE, PrintRequest, limited};
use request::{nonblank, too_many};

/// The most pieces one PDF holds (500 sheets of business cards). A larger run is printed in
/// parts, picked with `referrer=`.
pub const MAX_PIECES: usize = 5_000;

/// A campaign's look on paper.
#[derive(Clone)]
pub struct PrintBranding {
    /// The campaign's name, shown when it has no uploaded logo.
    pub name: String,
    /// The brand colour, for the strip at the top.
    pub brand_color: Rgb,
    /// Text on the brand colour.
    pub brand_text_color: Rgb,
    /// The headline: the studio's for this template, else the portal's.
    pub headline: String,
    /// The body text: the studio's for this template, else the portal's reward text.
    pub body: Option<String>,
    /// The uploaded logo.
    pub logo: Option<PrintLogo>,
}

/// An uploaded logo (PNG or JPEG, checked on upload), as each output embeds it.
#[derive(Clone)]
pub struct PrintLogo {
    /// The file.
    pub bytes: Arc<[u8]>,
    /// PNG (else JPEG).
    pub png: bool,
    /// Its size in pixels, for its aspect ratio.
    pub pixels: (u32, u32),
}

/// One referrer's piece: what differs from card to card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintPiece {
    /// The referrer's name, when names are printed.
    pub name: Option<String>,
    /// Their referral code, when the campaign has codes.
    pub code: Option<String>,
    /// Their full public referral link, printed as text (without `https://`).
    pub link: String,
    /// What the QR code holds: the link, with the template's channel marker (`?ch=card`)
    /// unless the request turned channels off.
    pub qr_link: String,
}

/// A finished file.
pub struct PrintFile {
    /// The file's bytes; only its first bytes when `rest` follows.
    pub bytes: Vec<u8>,
    /// The rest of a file still being made (a streamed PDF): chunks in order. An `Err` means it
    /// broke off part-way (logged where it broke); the answer must then be cut off, not ended,
    /// so the client does not take half a file for a whole one.
    pub rest: Option<stream::Chunks>,
    /// `{campaign}-{template}-{paper}.pdf` and the like.
    pub file_name: String,
    /// How many pieces it holds.
    pub pieces: usize,
}

/// The headline and body text a campaign saved for a template, and what prints when none is
/// saved (the portal's headline and reward text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateTexts {
    /// The saved headline, if any.
    pub headline: Option<String>,
    /// The saved body text, if any.
    pub body: Option<String>,
    /// The portal's headline.
    pub default_headline: String,
    /// The portal's reward text.
    pub default_body: Option<String>,
}

/// Campaign `row`'s texts for `template`.
pub async fn texts(
    state: &AppState,
    row: &campaign::Model,
    template: Template,
) -> Result<TemplateTexts, AppError> {
    let saved = print_text::Entity::find_by_id((row.id, template.name().to_owned()))
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("print::texts", e))?;
    let portal = portal::branding(row, &state.settings.public_url);
    Ok(TemplateTexts {
        headline: saved.as_ref().and_then(|t| t.headline.clone()),
        body: saved.and_then(|t| t.body),
        default_headline: portal.headline,
        default_body: portal.reward_text,
    })
}

/// Saves campaign `slug`'s headline and body text for `template` (blank: print the portal's).
pub async fn save_texts(
    state: &AppState,
    slug: &str,
    template: Template,
    headline: &str,
    body: &str,
) -> Result<(), AppError> {
    let headline = nonblank(&limited("headline", headline, MAX_HEADLINE)?);
    let body = nonblank(&limited("body", body, MAX_BODY)?);
    let row = campaigns::find_row(&state.db, slug).await?;
    let model = print_text::ActiveModel {
        campaign_id: Set(row.id),
        template: Set(template.name().to_owned()),
        headline: Set(headline),
        body: Set(body),
        updated_at: Set(Utc::now()),
    };
    print_text::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([print_text::Column::CampaignId, print_text::Column::Template])
                .update_columns([
                    print_text::Column::Headline,
                    print_text::Column::Body,
                    print_text::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(&state.db)
        .await
        .map_err(|e| AppError::internal("print::save_texts", e))?;
    Ok(())
}

/// Campaign `row`'s look on paper for `request`'s template: the portal's name and colours, its
/// uploaded logo, the studio's texts (or the request's, for a preview).
async fn branding(
    state: &AppState,
    row: &campaign::Model,
    request: &PrintRequest,
) -> Result<PrintBranding, AppError> {
    let portal = portal::branding(row, &state.settings.public_url);
    let texts = texts(state, row, request.template).await?;
    let logo = campaign_logo::Entity::find_by_id(row.id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("print::branding logo", e))?
        .and_then(|logo| {
            let size = imagesize::blob_size(&logo.bytes).ok()?;
            Some(PrintLogo {
                png: logo.content_type == LogoType::Png.content_type(),
                pixels: (size.width as u32, size.height as u32),
                bytes: Arc::from(logo.bytes),
            })
        });
    // The request's text wins (an empty one means "the default"), then the saved, then the
    // portal's.
    let pick = |asked: &Option<String>, saved: Option<String>, default: Option<String>| match asked
    {
        Some(text) if !text.is_empty() => Some(text.clone()),
        Some(_) => default,
        None => saved.or(default),
    };
    Ok(PrintBranding {
        name: portal.name,
        brand_color: Rgb::parse(&portal.brand_color).unwrap_or(Rgb::BLACK),
        brand_text_color: Rgb::parse(&portal.brand_text_color).unwrap_or(Rgb::WHITE),
        headline: pick(
            &request.headline,
            texts.headline,
            Some(texts.default_headline),
        )
        .unwrap_or_default(),
        body: pick(&request.body, texts.body, texts.default_body),
        logo,
    })
}

/// Referrers whose material was never printed.
fn never_printed_condition() -> Expr {
    Expr::col((referrer::Entity, referrer::Column::Id)).not_in_subquery(
        Query::select()
            .column(referrer_print::Column::ReferrerId)
            .from(referrer_print::Entity)
            .to_owned(),
    )
}

/// The query for the referrers `request` lets through in campaign `campaign_id`, by id.
fn filtered_query(campaign_id: i64, request: &PrintRequest) -> sea_orm::Select<referrer::Entity> {
    let mut query = referrer::Entity::find()
        .filter(referrer::Column::CampaignId.eq(campaign_id))
        .order_by_asc(referrer::Column::Id);
    // "Everyone" leaves out deactivated referrers, whose printed code would be refused; one
    // picked by id is printed as asked.
    if request.referrers.is_empty() {
        query = query.filter(referrer::Column::Active.eq(true));
    }
    if let Some(any) = request
        .search
        .as_deref()
        .and_then(referrers::search_condition)
    {
        query = query.filter(any);
    }
    if let Some(day) = request.joined_after {
        let start = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        query = query.filter(referrer::Column::CreatedAt.gte(start));
    }
    if request.never_printed {
        query = query.filter(never_printed_condition());
    }
    query
}

/// The name of referrer `id` of campaign `campaign_id`; `None` when there is no such referrer
/// in that campaign.
pub async fn referrer_name(
    state: &AppState,
    campaign_id: i64,
    id: i64,
) -> Result<Option<String>, AppError> {
    Ok(referrer::Entity::find_by_id(id)
        .filter(referrer::Column::CampaignId.eq(campaign_id))
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("print::referrer_name", e))?
        .map(|row| row.name))
}

/// How many referrers `request` picks in campaign `slug`, for the studio.
pub async fn count(state: &AppState, slug: &str, request: &PrintRequest) -> Result<u64, AppError> {
    use sea_orm::PaginatorTrait;
    let row = campaigns::find_row(&state.db, slug).await?;
    if !request.referrers.is_empty() {
        return Ok(request.referrers.len() as u64);
    }
    filtered_query(row.id, request)
        .count(&state.db)
        .await
        .map_err(|e| AppError::internal("print::count", e))
}

/// The referrers `request` picks: those of the campaign in the order picked (any id not in the
/// campaign is refused, by number), or all that pass the filters, by id. With `limit`, at most
/// that many and an empty list is no error (the preview).
async fn picked(
    state: &AppState,
    campaign_id: i64,
    request: &PrintRequest,
    limit: Option<usize>,
) -> Result<Vec<referrer::Model>, AppError> {
    let err = |e| AppError::internal("print::pieces", e);
    let mut query = filtered_query(campaign_id, request);
    if request.referrers.is_empty() {
        query = query.limit(limit.unwrap_or(MAX_PIECES + 1) as u64);
    } else {
        query = query.filter(referrer::Column::Id.is_in(request.referrers.clone()));
    }
    let mut rows = query.all(&state.db).await.map_err(err)?;
    if rows.len() > MAX_PIECES {
        return Err(too_many());
    }
    if !request.referrers.is_empty() {
        let missing: Vec<String> = request
            .referrers
            .iter()
            .filter(|id| !rows.iter().any(|row| row.id == **id))
            .map(i64::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(AppError::invalid(
                "unknown_referrer",
                "referrer",
                format!("No referrer {} in this campaign.", missing.join(", ")),
            ));
        }
        rows.sort_by_key(|row| request.referrers.iter().position(|id| *id == row.id));
        if let Some(limit) = limit {
            rows.truncate(limit);
        }
    }
    if rows.is_empty() && limit.is_none() {
        let message = if request.filtered() {
            "No referrer of this campaign matches: there is nothing to print."
        } else {
            "This campaign has no referrers yet: there is nothing to print."
        };
        return Err(AppError::invalid("nothing_to_print", "referrer", message));
    }
    Ok(rows)
}

/// The channel a template's QR codes carry.
pub fn channel_of(template: Template) -> Channel {
    match template {
        Template::BusinessCard => Channel::Card,
        Template::Flyer => Channel::Flyer,
        Template::Poster => Channel::Poster,
        Template::TableTent => Channel::Tent,
    }
}

/// `referrer`'s piece as `request` asks.
fn piece_of(state: &AppState, referrer: &referrer::Model, request: &PrintRequest) -> PrintPiece {
    let link = referrers::link(&state.settings, &referrer.slug);
    let qr_link = if request.channel {
        format!("{link}?ch={}", channel_of(request.template).as_str())
    } else {
        link.clone()
    };
    PrintPiece {
        name: request.names.then(|| referrer.name.clone()),
        code: referrer.code.clone(),
        link,
        qr_link,
    }
}

/// Everything a print run needs: the campaign, its branding, the pieces.
pub struct Prepared {
    /// The campaign.
    pub campaign: campaign::Model,
    /// Its look on paper.
    pub brand: PrintBranding,
    /// The referrers picked, in order.
    pub referrers: Vec<referrer::Model>,
    /// Their pieces, in the same order.
    pub pieces: Vec<PrintPiece>,
}

/// Gathers campaign `slug`'s print run for `request` (`limit` as in [`picked`]).
pub async fn prepare(
    state: &AppState,
    slug: &str,
    request: &PrintRequest,
    limit: Option<usize>,
) -> Result<Prepared, AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let brand = branding(state, &campaign, request).await?;
    let referrers = picked(state, campaign.id, request, limit).await?;
    let pieces = referrers
        .iter()
        .map(|referrer| piece_of(state, referrer, request))
        .collect();
    Ok(Prepared {
        campaign,
        brand,
        referrers,
        pieces,
    })
}

/// Records that `referrers` were printed now (for "never printed"). Bookkeeping after the file
/// is made: a failure is logged and the file still goes out.
async fn mark_printed(state: &AppState, campaign_id: i64, referrers: &[referrer::Model]) {
    let now = Utc::now();
    for chunk in referrers.chunks(500) {
        let rows = chunk.iter().map(|referrer| referrer_print::ActiveModel {
            referrer_id: Set(referrer.id),
            campaign_id: Set(campaign_id),
            first_printed_at: Set(now),
            last_printed_at: Set(now),
            times: Set(1),
        });
        let result = referrer_print::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(referrer_print::Column::ReferrerId)
                    .update_column(referrer_print::Column::LastPrintedAt)
                    .value(
                        referrer_print::Column::Times,
                        Expr::col((referrer_print::Entity, referrer_print::Column::Times)).add(1),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&state.db)
            .await;
        if let Err(error) = result {
            tracing::error!(%error, campaign_id, "print: could not record who was printed");
            return;
        }
    }
}

/// Runs CPU-heavy drawing off the async workers (see BENCHMARKS, "Print").
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal("print::draw task", e))?
}

/// `{campaign}-{template}-{paper}.{extension}`.
fn file_name(campaign: &campaign::Model, request: &PrintRequest, extension: &str) -> String {
    format!(
        "{}-{}-{}.{extension}",
        campaign.slug,
        request.template.name(),
        request.paper.name()
    )
}

/// Campaign `slug`'s referrers as one PDF, as `request` asks, streamed sheet by sheet as it is
/// drawn (see [`pdf::write`]); they count as printed once it is whole. The last bytes go out
/// only after that is recorded, so a client holding the whole file sees the record.
pub async fn campaign_pdf(
    state: &AppState,
    slug: &str,
    request: &PrintRequest,
) -> Result<PrintFile, AppError> {
    let run = prepare(state, slug, request, None).await?;
    let template = request.template;
    let imposition = layout::impose(template, request.paper, request.marks);
    let title = format!("{}: {}", run.campaign.name, template.name());
    let pieces = run.pieces.len();
    let file_name = file_name(&run.campaign, request, "pdf");
    let (mut writer, mut receiver) = stream::channel();
    let (brand, campaign_id, referrers) = (run.brand, run.campaign.id, run.referrers);
    let (state, runtime) = (state.clone(), tokio::runtime::Handle::current());
    let task = tokio::task::spawn_blocking(move || {
        let written = pdf::write(
            &mut writer,
            template.face(),
            &imposition,
            &brand,
            &run.pieces,
            &title,
        );
        match written {
            Ok(()) => {
                runtime.block_on(mark_printed(&state, campaign_id, &referrers));
                // The client may have gone in the meantime; nothing is lost either way.
                let _ = writer.send();
                Ok(())
            }
            Err(error) => {
                writer.break_off();
                Err(error)
            }
        }
    });
    match receiver.recv().await {
        Some(Ok(first)) => Ok(PrintFile {
            bytes: first,
            rest: Some(receiver),
            file_name,
            pieces,
        }),
        // It failed (or ended) before a byte went out: the task says why.
        _ => match task.await {
            Ok(Err(error)) => Err(error),
            Ok(Ok(())) => Err(AppError::internal("print::campaign_pdf", "an empty PDF")),
            Err(error) => Err(AppError::internal("print::campaign_pdf task", error)),
        },
    }
}

/// Campaign `slug`'s referrers as the HTML print page (the PDF's layout, printed by the
/// browser); they count as printed.
pub async fn campaign_page(
    state: &AppState,
    slug: &str,
    request: &PrintRequest,
    font_base: &str,
) -> Result<PrintFile, AppError> {
    let run = prepare(state, slug, request, None).await?;
    let template = request.template;
    let imposition = layout::impose(template, request.paper, request.marks);
    let title = format!("{}: {}", run.campaign.name, template.label());
    let count = run.pieces.len();
    let (brand, pieces, font_base) = (run.brand, run.pieces, font_base.to_owned());
    let html = blocking(move || {
        svg::page(
            template.face(),
            &imposition,
            &brand,
            &pieces,
            &title,
            &font_base,
        )
    })
    .await?;
    mark_printed(state, run.campaign.id, &run.referrers).await;
    Ok(PrintFile {
        bytes: html.into_bytes(),
        rest: None,
        file_name: file_name(&run.campaign, request, "html"),
        pieces: count,
    })
}

/// The studio's preview: the first sheet of what `request` prints, as an SVG that needs
/// nothing from outside (an `<img>` shows it). With nobody to print, one sample piece shows
/// the layout.
pub async fn preview(
    state: &AppState,
    slug: &str,
    request: &PrintRequest,
) -> Result<String, AppError> {
    let template = request.template;
    let imposition = layout::impose(template, request.paper, request.marks);
    let mut run = prepare(state, slug, request, Some(imposition.per_sheet())).await?;
    if run.pieces.is_empty() {
        let link = format!("{}/r/sample", state.settings.public_url);
        run.pieces.push(PrintPiece {
            name: request.names.then(|| "Sam Sample".to_owned()),
            code: run.campaign.codes_enabled.then(|| "SAMPLE-10".to_owned()),
            qr_link: link.clone(),
            link,
        });
    }
    let (brand, pieces) = (run.brand, run.pieces);
    blocking(move || {
        svg::sheet(
            template.face(),
            &imposition,
            &brand,
            &pieces,
            svg::TextMode::Outlines,
            true,
        )
    })
    .await
}

/// The format of one piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceFormat {
    /// A standalone SVG, text as outlines.
    Svg,
    /// A PNG at this many dots per inch.
    Png(u32),
}

/// Referrer `referrer_id`'s own piece (`request`'s template; its referrer list is ignored) as
/// SVG or PNG, trimmed, no bleed: for a designer or a mailing. Not counted as printed.
pub async fn referrer_piece(
    state: &AppState,
    referrer_id: i64,
    request: &PrintRequest,
    format: PieceFormat,
) -> Result<PrintFile, AppError> {
    let referrer = referrer::Entity::find_by_id(referrer_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("print::referrer_piece", e))?
        .ok_or_else(|| AppError::not_found("referrer"))?;
    let campaign = campaign::Entity::find_by_id(referrer.campaign_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("print::referrer_piece campaign", e))?
        .ok_or_else(|| AppError::not_found("campaign"))?;
    let brand = branding(state, &campaign, request).await?;
    let piece = piece_of(state, &referrer, request);
    let template = request.template;
    let size = template.size_mm(request.paper);
    let stem = format!("{}-{}-{}", campaign.slug, referrer.slug, template.name());
    let (bytes, file_name) = match format {
        PieceFormat::Svg => (
            blocking(move || svg::piece(template.face(), size, &brand, &piece))
                .await?
                .into_bytes(),
            format!("{stem}.svg"),
        ),
        PieceFormat::Png(dpi) => (
            blocking(move || png::piece(template.face(), size, &brand, &piece, dpi)).await?,
            format!("{stem}.png"),
        ),
    };
    Ok(PrintFile {
        bytes,
        rest: None,
        file_name,
        pieces: 1,
    })
}

/// The header of [`campaign_csv`].
pub const MAIL_MERGE_HEADER: &str = "name,email,code,link,qr_png_url,qr_svg_url";

/// The mail-merge file for external print and mailing services: one row per referrer `request`
/// picks (the same picks as the PDF), with their name, email, code, link, and the addresses of
/// their QR code as a 1,024 px PNG and as SVG (public, so a mailing service can fetch them).
/// Every field is quoted and defused against spreadsheet formulas. They count as printed.
pub async fn campaign_csv(
    state: &AppState,
    slug: &str,
    request: &PrintRequest,
) -> Result<PrintFile, AppError> {
    let row = campaigns::find_row(&state.db, slug).await?;
    let rows = picked(state, row.id, request, None).await?;
    let public = &state.settings.public_url;
    let mut out = String::with_capacity(200 * (rows.len() + 1));
    out.push_str(MAIL_MERGE_HEADER);
    out.push('\n');
    for referrer in &rows {
        let fields = [
            referrer.name.clone(),
            referrer.email.clone(),
            referrer.code.clone().unwrap_or_default(),
            referrers::link(&state.settings, &referrer.slug),
            format!("{public}/qr/{}.png?size=1024", referrer.slug),
            format!("{public}/qr/{}.svg", referrer.slug),
        ];
        out.push_str(&crate::domain::csv::line(&fields));
    }
    mark_printed(state, row.id, &rows).await;
    Ok(PrintFile {
        bytes: out.into_bytes(),
        rest: None,
        file_name: format!("{}-mail-merge.csv", row.slug),
        pieces: rows.len(),
    })
}

/// `referrer`'s own business card as an SVG (the portal's "Print my card"); `None` when they
/// are not a referrer of campaign `slug`.
pub async fn referrer_card(
    state: &AppState,
    slug: &str,
    referrer: &referrer::Model,
    request: &PrintRequest,
) -> Result<Option<PrintFile>, AppError> {
    let row = campaigns::find_row(&state.db, slug).await?;
    if referrer.campaign_id != row.id {
        return Ok(None);
    }
    referrer_piece(state, referrer.id, request, PieceFormat::Svg)
        .await
        .map(Some)
}

/// A sheet of `referrer`'s own business cards on `paper` (every place on it their card), for
/// the portal's "print my cards"; `None` when they are not a referrer of campaign `slug`.
pub async fn referrer_sheet(
    state: &AppState,
    slug: &str,
    referrer: &referrer::Model,
    paper: Paper,
) -> Result<Option<PrintFile>, AppError> {
    let row = campaigns::find_row(&state.db, slug).await?;
    if referrer.campaign_id != row.id {
        return Ok(None);
    }
    let request = PrintRequest {
        paper,
        ..PrintRequest::default()
    };
    let brand = branding(state, &row, &request).await?;
    let template = request.template;
    let imposition = layout::impose(template, paper, false);
    let pieces = vec![piece_of(state, referrer, &request); imposition.per_sheet()];
    let title = format!("{}: {}", row.name, referrer.name);
    let count = pieces.len();
    let bytes =
        blocking(move || pdf::render(template.face(), &imposition, &brand, &pieces, &title))
            .await?;
    mark_printed(state, row.id, std::slice::from_ref(referrer)).await;
    Ok(Some(PrintFile {
        bytes,
        rest: None,
        file_name: format!("{}-my-cards-{}.pdf", row.slug, paper.name()),
        pieces: count,
    }))
}

#[cfg(test)]
mod outputs_tests;

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn parse(query: &str) -> Result<PrintRequest, AppError> {
        PrintRequest::from_pairs(url::form_urlencoded::parse(query.as_bytes()))
    }

    #[test]
    fn nothing_asked_means_business_cards_on_a4_with_names_for_everyone() {
        assert_eq!(parse("").unwrap(), PrintRequest::default());
    }

    #[test]
    fn every_parameter_is_read_and_referrer_repeats_in_order_without_duplicates() {
        let request =
            parse("template=flyer&paper=letter&marks=1&names=0&referrer=7&referrer=3&referrer=7")
                .unwrap();
        assert_eq!(
            request,
            PrintRequest {
                template: Template::Flyer,
                paper: Paper::Letter,
                marks: true,
                names: false,
                referrers: vec![7, 3],
                ..PrintRequest::default()
            }
        );
    }

    #[test]
    fn bad_values_and_unknown_parameters_are_refused_on_their_field() {
        for (query, field, code) in [
            ("template=mug", "template", "invalid_template"),
            ("paper=a3", "paper", "invalid_paper"),
            ("marks=yes", "marks", "invalid_flag"),
            ("referrer=abc", "referrer", "invalid_referrer"),
            ("referrer=-2", "referrer", "invalid_referrer"),
            ("colour=red", "colour", "unknown_parameter"),
        ] {
            let error = parse(query).unwrap_err();
            assert_eq!(
                (error.field(), error.code()),
                (Some(field), code),
                "{query}"
            );
        }
        let many: Vec<(Cow<'_, str>, Cow<'_, str>)> = (1..=MAX_PIECES as i64 + 1)
            .map(|id| (Cow::Borrowed("referrer"), Cow::Owned(id.to_string())))
            .collect();
        assert_eq!(
            PrintRequest::from_pairs(many).unwrap_err().code(),
            "too_many_pieces"
        );
    }
}
