//! The print studio's server functions. The files themselves are plain GET routes
//! (`server/src/routes/admin_print.rs`); these give the studio page what it shows. Every one
//! needs the `Print` permission (owner, admin, marketer).

// Flat arguments: they travel as a plain query string or form.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{error::AppError, types::StudioView};

/// The studio for `campaign` (none: the first campaign) and `template` (none or unknown: the
/// business card), and the referrer picked by id, if any.
#[server(prefix = "/rpc", endpoint = "print_studio")]
pub async fn print_studio(
    campaign: Option<String>,
    template: Option<String>,
    referrer: Option<i64>,
) -> Result<StudioView, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{
                campaigns,
                print::{self, layout},
            },
        },
        types::PrintOption,
    };
    auth::require(Permission::Print).await?;
    let state = auth::state()?;
    let list = campaigns::list(&state.db).await?;
    let template = template
        .as_deref()
        .and_then(|t| layout::Template::parse(t).ok())
        .unwrap_or(layout::Template::BusinessCard);
    let chosen = campaign
        .filter(|slug| list.iter().any(|c| &c.slug == slug))
        .or_else(|| list.first().map(|c| c.slug.clone()));
    let mut studio = StudioView {
        campaigns: list
            .iter()
            .map(|c| (c.slug.clone(), c.name.clone()))
            .collect(),
        campaign: chosen.clone(),
        templates: layout::Template::ALL
            .into_iter()
            .map(|t| PrintOption {
                name: t.name().to_owned(),
                label: t.label().to_owned(),
            })
            .collect(),
        papers: layout::Paper::ALL
            .into_iter()
            .map(|p| PrintOption {
                name: p.name().to_owned(),
                label: p.label().to_owned(),
            })
            .collect(),
        template: template.name().to_owned(),
        headline: String::new(),
        body: String::new(),
        default_headline: String::new(),
        default_body: String::new(),
        referrer: None,
    };
    if let Some(slug) = chosen {
        let row = campaigns::find_row(&state.db, &slug).await?;
        let texts = print::texts(&state, &row, template).await?;
        studio.headline = texts.headline.unwrap_or_default();
        studio.body = texts.body.unwrap_or_default();
        studio.default_headline = texts.default_headline;
        studio.default_body = texts.default_body.unwrap_or_default();
        if let Some(id) = referrer {
            studio.referrer = print::referrer_name(&state, row.id, id)
                .await?
                .map(|n| (id, n));
        }
    }
    Ok(studio)
}

/// How many referrers of `campaign` the studio's filters pick.
#[server(prefix = "/rpc", endpoint = "print_matches")]
pub async fn print_matches(
    campaign: String,
    search: Option<String>,
    joined_after: Option<String>,
    never_printed: Option<bool>,
) -> Result<u64, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::print},
    };
    auth::require(Permission::Print).await?;
    let mut pairs: Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)> = Vec::new();
    if let Some(search) = search {
        pairs.push(("search".into(), search.into()));
    }
    if let Some(day) = joined_after {
        pairs.push(("joined_after".into(), day.into()));
    }
    if never_printed == Some(true) {
        pairs.push(("never_printed".into(), "1".into()));
    }
    let request = print::PrintRequest::from_pairs(pairs)?;
    print::count(&auth::state()?, &campaign, &request).await
}

/// Saves the headline and body text `campaign` prints on `template` (blank: the defaults).
#[server(prefix = "/rpc", endpoint = "print_texts_save")]
pub async fn save_print_texts(
    campaign: String,
    template: String,
    headline: String,
    body: String,
) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::print::{self, layout::Template},
        },
    };
    auth::require(Permission::Print).await?;
    let template = Template::parse(&template)?;
    print::save_texts(&auth::state()?, &campaign, template, &headline, &body).await?;
    crate::api::redirect_back_with(&[("saved", "texts")]);
    Ok(())
}
