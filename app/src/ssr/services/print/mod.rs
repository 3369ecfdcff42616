//! The print studio's output: a campaign's referrers as print-ready business cards, flyers and
//! posters. [`PrintRequest`] reads what is asked for, [`campaign_pdf`] gathers the campaign's
//! branding and referrers and draws the PDF ([`pdf`]), laid out by [`layout`].

pub mod fonts;
pub mod layout;
pub mod pdf;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    domain::color::Rgb,
    error::AppError,
    ssr::{
        entities::{campaign_logo, referrer},
        services::{campaigns, logos::LogoType, portal, referrers, rewards::csv_field},
        state::AppState,
    },
};
use layout::{Paper, Template};

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
    /// The headline.
    pub headline: String,
    /// What referrers and friends earn, in the campaign's words.
    pub reward_text: Option<String>,
    /// The uploaded logo.
    pub logo: Option<PrintLogo>,
}

/// An uploaded logo, decoded for the PDF.
#[derive(Clone)]
pub struct PrintLogo {
    /// The image, embedded once however many pieces show it.
    pub image: krilla::image::Image,
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
    /// Their full public referral link: the QR code and the text.
    pub link: String,
}

/// What to print, read from a query string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintRequest {
    /// The template (default: business cards).
    pub template: Template,
    /// The sheet (default: A4).
    pub paper: Paper,
    /// Crop marks and bleed, for print shops.
    pub marks: bool,
    /// Whether each piece carries its referrer's name (default yes).
    pub names: bool,
    /// The referrers to print, in this order; empty means every referrer of the campaign.
    pub referrers: Vec<i64>,
}

impl Default for PrintRequest {
    fn default() -> Self {
        PrintRequest {
            template: Template::BusinessCard,
            paper: Paper::A4,
            marks: false,
            names: true,
            referrers: Vec::new(),
        }
    }
}

/// `1`/`true` or `0`/`false`, for `field`.
fn flag(field: &str, value: &str) -> Result<bool, AppError> {
    match value.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(AppError::invalid(
            "invalid_flag",
            field,
            format!("`{field}` is 1 or 0."),
        )),
    }
}

impl PrintRequest {
    /// Reads `template`, `paper`, `marks`, `names` and `referrer` (repeatable) from the pairs of
    /// a query string. Anything else, or a bad value, is refused with the field and what is
    /// allowed.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<PrintRequest, AppError> {
        let mut request = PrintRequest::default();
        for (key, value) in pairs {
            match key.as_ref() {
                "template" => request.template = Template::parse(&value)?,
                "paper" => request.paper = Paper::parse(&value)?,
                "marks" => request.marks = flag("marks", &value)?,
                "names" => request.names = flag("names", &value)?,
                "referrer" => {
                    let id = value.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                        AppError::invalid(
                            "invalid_referrer",
                            "referrer",
                            format!("`referrer` is a referrer's id, a whole number; {value:?} is not."),
                        )
                    })?;
                    if !request.referrers.contains(&id) {
                        request.referrers.push(id);
                    }
                }
                other => {
                    return Err(AppError::invalid(
                        "unknown_parameter",
                        other,
                        format!(
                            "Unknown parameter {other:?}. Use template, paper, marks, names and referrer."
                        ),
                    ));
                }
            }
        }
        if request.referrers.len() > MAX_PIECES {
            return Err(too_many());
        }
        Ok(request)
    }
}

fn too_many() -> AppError {
    AppError::invalid(
        "too_many_pieces",
        "referrer",
        format!(
            "One PDF holds at most {MAX_PIECES} pieces. Pick referrers with `referrer=` and print in parts."
        ),
    )
}

/// A finished file.
pub struct PrintFile {
    /// The PDF.
    pub bytes: Vec<u8>,
    /// `{campaign}-{template}-{paper}.pdf`.
    pub file_name: String,
    /// How many pieces it holds.
    pub pieces: usize,
}

/// Campaign `slug`'s branding for print: the portal's (one place decides the headline a
/// campaign without one gets), with its uploaded logo.
async fn branding(
    state: &AppState,
    row: &crate::ssr::entities::campaign::Model,
) -> Result<PrintBranding, AppError> {
    let portal = portal::branding(row, &state.settings.public_url);
    let logo = campaign_logo::Entity::find_by_id(row.id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("print::branding logo", e))?
        .and_then(|logo| {
            let png = logo.content_type == LogoType::Png.content_type();
            pdf::logo_image(logo.bytes, png)
        });
    Ok(PrintBranding {
        name: portal.name,
        brand_color: Rgb::parse(&portal.brand_color).unwrap_or(Rgb::BLACK),
        brand_text_color: Rgb::parse(&portal.brand_text_color).unwrap_or(Rgb::WHITE),
        headline: portal.headline,
        reward_text: portal.reward_text,
        logo,
    })
}

/// The referrers `request` picks: those of the campaign in the order picked (any id not in the
/// campaign is refused, by number), or all of them by id.
async fn picked(
    state: &AppState,
    campaign_id: i64,
    request: &PrintRequest,
) -> Result<Vec<referrer::Model>, AppError> {
    let err = |e| AppError::internal("print::pieces", e);
    let mut query = referrer::Entity::find()
        .filter(referrer::Column::CampaignId.eq(campaign_id))
        .order_by_asc(referrer::Column::Id);
    if request.referrers.is_empty() {
        query = query.limit(MAX_PIECES as u64 + 1);
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
    }
    if rows.is_empty() {
        return Err(AppError::invalid(
            "nothing_to_print",
            "referrer",
            "This campaign has no referrers yet: there is nothing to print.",
        ));
    }
    Ok(rows)
}

/// Draws the PDF off the async workers: it is CPU work (see BENCHMARKS, "Print").
async fn draw(
    template: Template,
    imposition: layout::Imposition,
    brand: PrintBranding,
    pieces: Vec<PrintPiece>,
    title: String,
) -> Result<Vec<u8>, AppError> {
    tokio::task::spawn_blocking(move || {
        pdf::render(template.face(), &imposition, &brand, &pieces, &title)
    })
    .await
    .map_err(|e| AppError::internal("print::draw task", e))?
}

/// Campaign `slug`'s referrers as one PDF, as `request` asks.
pub async fn campaign_pdf(
    state: &AppState,
    slug: &str,
    request: &PrintRequest,
) -> Result<PrintFile, AppError> {
    let row = campaigns::find_row(&state.db, slug).await?;
    let brand = branding(state, &row).await?;
    let pieces: Vec<PrintPiece> = picked(state, row.id, request)
        .await?
        .into_iter()
        .map(|referrer| PrintPiece {
            name: request.names.then(|| referrer.name.clone()),
            code: referrer.code.clone(),
            link: referrers::link(&state.settings, &referrer.slug),
        })
        .collect();
    let template = request.template;
    let imposition = layout::impose(template, request.paper, request.marks);
    let title = format!("{}: {}", row.name, template.name());
    let count = pieces.len();
    Ok(PrintFile {
        bytes: draw(template, imposition, brand, pieces, title).await?,
        file_name: format!(
            "{}-{}-{}.pdf",
            row.slug,
            template.name(),
            request.paper.name()
        ),
        pieces: count,
    })
}

/// The header of [`campaign_csv`].
pub const MAIL_MERGE_HEADER: &str = "name,email,code,link,qr_png_url,qr_svg_url";

/// The mail-merge file for external print and mailing services: one row per referrer `request`
/// picks (the same picks as the PDF), with their name, email, code, link, and the addresses of
/// their QR code as a 1,024 px PNG and as SVG (public, so a mailing service can fetch them).
/// Every field is quoted and defused against spreadsheet formulas.
pub async fn campaign_csv(
    state: &AppState,
    slug: &str,
    request: &PrintRequest,
) -> Result<PrintFile, AppError> {
    let row = campaigns::find_row(&state.db, slug).await?;
    let rows = picked(state, row.id, request).await?;
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
        let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok(PrintFile {
        bytes: out.into_bytes(),
        file_name: format!("{}-mail-merge.csv", row.slug),
        pieces: rows.len(),
    })
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
    let brand = branding(state, &row).await?;
    let template = Template::BusinessCard;
    let imposition = layout::impose(template, paper, false);
    let piece = PrintPiece {
        name: Some(referrer.name.clone()),
        code: referrer.code.clone(),
        link: referrers::link(&state.settings, &referrer.slug),
    };
    let pieces = vec![piece; imposition.per_sheet()];
    let title = format!("{}: {}", row.name, referrer.name);
    let count = pieces.len();
    Ok(Some(PrintFile {
        bytes: draw(template, imposition, brand, pieces, title).await?,
        file_name: format!("{}-my-cards-{}.pdf", row.slug, paper.name()),
        pieces: count,
    }))
}

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
