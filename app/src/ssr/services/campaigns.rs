//! Campaigns: create, edit, pause.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::{
    domain::{codes::CodeStyle, slug::Slug},
    error::AppError,
    ssr::{
        db::{begin_write, is_unique_violation},
        entities::campaign,
        services::{
            audit::{self, Actor, Change, Object},
            rules,
        },
        state::AppState,
    },
    types::{Campaign, CampaignInput},
};

/// The slugs of the campaigns `ids`, by id: how a list of rows from several campaigns names each
/// row's campaign with one query.
pub async fn slugs_of(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, AppError> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(campaign::Entity::find()
        .select_only()
        .column(campaign::Column::Id)
        .column(campaign::Column::Slug)
        .filter(campaign::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await
        .map_err(|e| AppError::internal("campaigns::slugs_of", e))?
        .into_iter()
        .collect())
}

/// The brand colour of a campaign that does not choose one.
pub const DEFAULT_BRAND_COLOR: &str = "#4338ca";

/// Campaign status values.
pub const ACTIVE: &str = "active";
/// A paused campaign's links show a friendly "not active" page and accept no new leads.
pub const PAUSED: &str = "paused";

/// The wire form of a campaign row.
pub fn to_wire(row: &campaign::Model) -> Campaign {
    Campaign {
        id: row.id,
        slug: row.slug.clone(),
        name: row.name.clone(),
        landing_url: row.landing_url.clone(),
        codes_enabled: row.codes_enabled,
        code_style: row.code_style.clone(),
        code_prefix: row.code_prefix.clone(),
        brand_color: row.brand_color.clone(),
        logo_url: row.logo_url.clone(),
        status: row.status.clone(),
        created_at: row.created_at,
    }
}

/// Trims an optional text field; empty means absent.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// An absolute http(s) URL, or a field error. The redirect only ever goes to URLs that passed here.
pub(crate) fn http_url(field: &str, value: &str) -> Result<String, AppError> {
    let bad = || {
        AppError::invalid(
            "invalid_url",
            field,
            "Enter a full web address starting with https:// or http://.",
        )
    };
    if value.len() > 2048 {
        return Err(bad());
    }
    let url = url::Url::parse(value).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    Ok(url.to_string())
}

fn brand_color(value: &str) -> Result<String, AppError> {
    let v = value.trim();
    let ok = v.len() == 7 && v.starts_with('#') && v[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(AppError::invalid(
            "invalid_color",
            "brand_color",
            "Enter the brand colour as #rrggbb, for example #4338ca.",
        ))
    }
}

fn code_prefix(value: &str) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() || v.len() > 8 || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::invalid(
            "invalid_code_prefix",
            "code_prefix",
            "A code prefix is 1 to 8 letters or digits.",
        ));
    }
    Ok(v.to_ascii_uppercase())
}

fn code_style(value: &str) -> Result<CodeStyle, AppError> {
    value.trim().parse::<CodeStyle>().map_err(|_| {
        AppError::invalid(
            "invalid_code_style",
            "code_style",
            "Code style is `random` or `name_based`.",
        )
    })
}

fn name(value: &str) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 200 {
        return Err(AppError::invalid(
            "invalid_name",
            "name",
            "Give the campaign a name of 1 to 200 characters.",
        ));
    }
    Ok(v.to_owned())
}

/// Applies `input` onto `active` (fields that are absent stay as they are).
fn apply(input: &CampaignInput, active: &mut campaign::ActiveModel) -> Result<(), AppError> {
    if !input.name.trim().is_empty() {
        active.name = Set(name(&input.name)?);
    }
    if let Some(url) = &input.landing_url {
        active.landing_url = Set(match url.trim() {
            "" => None,
            v => Some(http_url("landing_url", v)?),
        });
    }
    if let Some(on) = input.codes_enabled {
        active.codes_enabled = Set(on);
    }
    if let Some(style) = present(&input.code_style) {
        active.code_style = Set(code_style(style)?.as_str().to_owned());
    }
    if let Some(prefix) = &input.code_prefix {
        active.code_prefix = Set(match prefix.trim() {
            "" => None,
            v => Some(code_prefix(v)?),
        });
    }
    if let Some(color) = present(&input.brand_color) {
        active.brand_color = Set(brand_color(color)?);
    }
    if let Some(logo) = &input.logo_url {
        active.logo_url = Set(match logo.trim() {
            "" => None,
            v => Some(http_url("logo_url", v)?),
        });
    }
    Ok(())
}

/// Creates a campaign. A slug derived from the name gets `-2`, `-3`... when taken; a slug the
/// caller chose must be free.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: &CampaignInput,
) -> Result<Campaign, AppError> {
    let name = name(&input.name)?;
    let (base_slug, chosen) = match present(&input.slug) {
        Some(s) => (
            Slug::parse(s).map_err(|e| AppError::invalid("invalid_slug", "slug", e.to_string()))?,
            true,
        ),
        None => (Slug::from_name(&name), false),
    };
    let now = Utc::now();
    let mut active = campaign::ActiveModel {
        name: Set(name),
        landing_url: Set(None),
        codes_enabled: Set(true),
        code_style: Set(CodeStyle::default().as_str().to_owned()),
        code_prefix: Set(None),
        brand_color: Set(DEFAULT_BRAND_COLOR.to_owned()),
        logo_url: Set(None),
        status: Set(ACTIVE.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(input, &mut active)?;
    for attempt in 1..=50 {
        let slug = if attempt == 1 {
            base_slug.as_str().to_owned()
        } else {
            format!("{}-{attempt}", base_slug.as_str())
        };
        let mut row = active.clone();
        row.slug = Set(slug);
        // The campaign and its default rule book appear together or not at all.
        let txn = begin_write(&state.db)
            .await
            .map_err(|e| AppError::internal("campaigns::create begin", e))?;
        match row.insert(&txn).await {
            Ok(model) => {
                rules::insert_defaults(&txn, model.id).await?;
                audit::record(
                    &txn,
                    actor,
                    Change {
                        action: "campaign.created",
                        campaign_id: Some(model.id),
                        object: Object::Campaign(model.id),
                        summary: format!("Created the campaign {} ({}).", model.name, model.slug),
                    },
                )
                .await?;
                txn.commit()
                    .await
                    .map_err(|e| AppError::internal("campaigns::create commit", e))?;
                return Ok(to_wire(&model));
            }
            Err(e) if is_unique_violation(&e) && !chosen => continue,
            Err(e) if is_unique_violation(&e) => {
                return Err(AppError::Invalid {
                    code: "slug_taken".into(),
                    field: Some("slug".into()),
                    message: "Another campaign already uses that slug.".into(),
                    suggestion: None,
                });
            }
            Err(e) => return Err(AppError::internal("campaigns::create", e)),
        }
    }
    Err(AppError::invalid(
        "slug_taken",
        "slug",
        "Could not find a free slug for that name; choose one.",
    ))
}

/// The condition "this campaign has `slug`", as typed by somebody (spaces and capitals allowed).
pub fn with_slug(slug: &str) -> sea_orm::sea_query::SimpleExpr {
    campaign::Column::Slug.eq(slug.trim().to_ascii_lowercase())
}

/// The row of the campaign with `slug`.
pub async fn find_row(db: &DatabaseConnection, slug: &str) -> Result<campaign::Model, AppError> {
    campaign::Entity::find()
        .filter(with_slug(slug))
        .one(db)
        .await
        .map_err(|e| AppError::internal("campaigns::find_row", e))?
        .ok_or_else(|| AppError::not_found("Campaign"))
}

/// The campaign with `slug`.
pub async fn get(db: &DatabaseConnection, slug: &str) -> Result<Campaign, AppError> {
    find_row(db, slug).await.map(|row| to_wire(&row))
}

/// Every campaign, newest first.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<Campaign>, AppError> {
    Ok(campaign::Entity::find()
        .order_by_desc(campaign::Column::Id)
        .all(db)
        .await
        .map_err(|e| AppError::internal("campaigns::list", e))?
        .iter()
        .map(to_wire)
        .collect())
}

/// Edits a campaign. The slug never changes: printed links and codes depend on it.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    input: &CampaignInput,
) -> Result<Campaign, AppError> {
    let row = find_row(&state.db, slug).await?;
    let mut active: campaign::ActiveModel = row.into();
    apply(input, &mut active)?;
    active.updated_at = Set(Utc::now());
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("campaigns::update begin", e))?;
    let model = active
        .update(&txn)
        .await
        .map_err(|e| AppError::internal("campaigns::update", e))?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "campaign.updated",
            campaign_id: Some(model.id),
            object: Object::Campaign(model.id),
            summary: format!("Changed the settings of {}.", model.name),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("campaigns::update commit", e))?;
    state.links.invalidate_all();
    state.rules_cache.clear();
    Ok(to_wire(&model))
}

/// Pauses or resumes a campaign.
pub async fn set_paused(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    paused: bool,
) -> Result<Campaign, AppError> {
    let row = find_row(&state.db, slug).await?;
    let mut active: campaign::ActiveModel = row.into();
    active.status = Set(if paused { PAUSED } else { ACTIVE }.to_owned());
    active.updated_at = Set(Utc::now());
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("campaigns::set_paused begin", e))?;
    let model = active
        .update(&txn)
        .await
        .map_err(|e| AppError::internal("campaigns::set_paused", e))?;
    let (action, verb) = if paused {
        ("campaign.paused", "Paused")
    } else {
        ("campaign.resumed", "Resumed")
    };
    audit::record(
        &txn,
        actor,
        Change {
            action,
            campaign_id: Some(model.id),
            object: Object::Campaign(model.id),
            summary: format!("{verb} {}.", model.name),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("campaigns::set_paused commit", e))?;
    state.links.invalidate_all();
    state.rules_cache.clear();
    Ok(to_wire(&model))
}
