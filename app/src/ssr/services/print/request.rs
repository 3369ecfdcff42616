//! What to print, read from a query string: the print studio's form, the admin's print files
//! and `GET /api/v1/campaigns/{slug}/print.*` all ask through [`PrintRequest`], whose errors
//! name the allowed values.

use chrono::NaiveDate;

use super::{
    MAX_PIECES,
    layout::{Paper, Template},
};
use crate::error::AppError;

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
    /// The referrers to print, in this order; empty means every referrer of the campaign that
    /// the filters below let through.
    pub referrers: Vec<i64>,
    /// Only referrers whose name or email holds this, or whose code it is.
    pub search: Option<String>,
    /// Only referrers who joined on or after this day (UTC).
    pub joined_after: Option<NaiveDate>,
    /// Only referrers whose material was never printed.
    pub never_printed: bool,
    /// Whether QR codes carry the template's channel marker (default yes), so their clicks
    /// count as "from paper".
    pub channel: bool,
    /// Text to print instead of the saved headline (the studio's live preview).
    pub headline: Option<String>,
    /// Text to print instead of the saved body text.
    pub body: Option<String>,
}

impl PrintRequest {
    /// Whether any filter narrows "every referrer".
    pub(super) fn filtered(&self) -> bool {
        self.search.is_some() || self.joined_after.is_some() || self.never_printed
    }
}

impl Default for PrintRequest {
    fn default() -> Self {
        PrintRequest {
            template: Template::BusinessCard,
            paper: Paper::A4,
            marks: false,
            names: true,
            referrers: Vec::new(),
            search: None,
            joined_after: None,
            never_printed: false,
            channel: true,
            headline: None,
            body: None,
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
    /// Reads `template`, `paper`, `marks`, `names`, `referrer` (repeatable), `search`,
    /// `joined_after` (YYYY-MM-DD), `never_printed`, `channel`, `headline` and `body` from the
    /// pairs of a query string. Anything else, or a bad value, is refused with the field and
    /// what is allowed. Empty values are "not given", as a plain HTML form sends them.
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
                "search" => request.search = nonblank(&value),
                "joined_after" => {
                    request.joined_after = match nonblank(&value) {
                        None => None,
                        Some(day) => {
                            Some(NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| {
                                AppError::invalid(
                                    "invalid_date",
                                    "joined_after",
                                    format!(
                                        "`joined_after` is a day as YYYY-MM-DD; {day:?} is not."
                                    ),
                                )
                            })?)
                        }
                    }
                }
                "never_printed" => request.never_printed = flag("never_printed", &value)?,
                "channel" => request.channel = flag("channel", &value)?,
                "headline" => request.headline = Some(limited("headline", &value, MAX_HEADLINE)?),
                "body" => request.body = Some(limited("body", &value, MAX_BODY)?),
                other => {
                    return Err(AppError::invalid(
                        "unknown_parameter",
                        other,
                        format!(
                            "Unknown parameter {other:?}. Use template, paper, marks, names, referrer, search, joined_after, never_printed, channel, headline and body."
                        ),
                    ));
                }
            }
        }
        if request.referrers.len() > MAX_PIECES {
            return Err(too_many());
        }
        if !request.referrers.is_empty() && request.filtered() {
            return Err(AppError::invalid(
                "picked_and_filtered",
                "referrer",
                "Pick referrers by id (`referrer=`) or by filter (search, joined_after, never_printed), not both.",
            ));
        }
        Ok(request)
    }
}

/// The most characters a printed headline may have.
pub const MAX_HEADLINE: usize = 120;
/// The most characters of printed body text.
pub const MAX_BODY: usize = 500;

/// `value` trimmed, `None` when blank.
pub(super) fn nonblank(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `value` trimmed, refused on `field` past `max` characters. One check for the preview's
/// parameters and the saved texts.
pub fn limited(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(AppError::invalid(
            "too_long",
            field,
            format!("The {field} is at most {max} characters."),
        ));
    }
    Ok(value.to_owned())
}

pub(super) fn too_many() -> AppError {
    AppError::invalid(
        "too_many_pieces",
        "referrer",
        format!(
            "One PDF holds at most {MAX_PIECES} pieces. Pick referrers with `referrer=` and print in parts."
        ),
    )
}
