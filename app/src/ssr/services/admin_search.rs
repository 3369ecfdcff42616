//! The admin header's search box: one text, looked up as a campaign, a referrer and a lead at
//! once, a few of each, each kind by the same rules as its own tab's search.

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};

use crate::{
    domain::search::MAX_TEXT,
    error::AppError,
    ssr::{
        entities::{campaign, referrer},
        services::{campaigns, lead_lists, referrers},
        state::AppState,
    },
    types::{LeadFilter, SearchResults},
};

/// How many of each kind the results list before "see all".
pub const SHOWN: u64 = 10;

/// Everything `text` finds; blank text finds nothing.
pub async fn search(state: &AppState, text: &str) -> Result<SearchResults, AppError> {
    let text: String = text.trim().chars().take(MAX_TEXT).collect();
    let mut results = SearchResults {
        text: text.clone(),
        campaigns: Vec::new(),
        referrers: Vec::new(),
        more_referrers: false,
        leads: Vec::new(),
        more_leads: false,
        lead_note: None,
    };
    let Some(referrer_condition) = referrers::search_condition(&text) else {
        return Ok(results);
    };
    let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
    results.campaigns = campaign::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col(campaign::Column::Name)))
                        .like(pattern.as_str()),
                )
                .add(campaign::Column::Slug.like(pattern.as_str())),
        )
        .order_by_asc(campaign::Column::Name)
        .limit(SHOWN)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("admin_search::campaigns", e))?
        .iter()
        .map(campaigns::to_wire)
        .collect();

    let mut found = referrer::Entity::find()
        .filter(referrer_condition)
        .order_by_desc(referrer::Column::Id)
        .limit(SHOWN + 1)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("admin_search::referrers", e))?;
    results.more_referrers = found.len() as u64 > SHOWN;
    found.truncate(SHOWN as usize);
    let slugs = campaigns::slugs_of(&state.db, found.iter().map(|r| r.campaign_id)).await?;
    results.referrers = found
        .iter()
        .map(|row| {
            let slug = slugs.get(&row.campaign_id).map_or("", String::as_str);
            referrers::to_wire(&state.settings, row, slug)
        })
        .collect();

    let leads = lead_lists::first(
        state,
        &LeadFilter {
            search: Some(text),
            ..LeadFilter::default()
        },
        SHOWN + 1,
    )
    .await?;
    let mut items = leads.page.items;
    results.more_leads = items.len() as u64 > SHOWN;
    items.truncate(SHOWN as usize);
    results.leads = items;
    results.lead_note = leads.search_note;
    Ok(results)
}
