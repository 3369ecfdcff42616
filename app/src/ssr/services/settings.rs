//! Installation-wide settings changed in the admin, stored as key/value rows.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};

use crate::{
    error::AppError,
    ssr::{
        db::begin_write,
        entities::setting,
        services::audit::{self, Actor, Change, Object},
    },
};

/// Stripe's webhook signing secret (`whsec_...`).
pub const STRIPE_WEBHOOK_SECRET: &str = "stripe.webhook_secret";
/// The campaign Stripe events count for (unless the event's metadata names one).
pub const STRIPE_CAMPAIGN: &str = "stripe.campaign";

/// The value of `key`, if set.
pub async fn get(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, AppError> {
    Ok(setting::Entity::find_by_id(key.to_owned())
        .one(db)
        .await
        .map_err(|e| AppError::internal("settings::get", e))?
        .map(|s| s.value)
        .filter(|v| !v.is_empty()))
}

/// Which of `keys` are set (to a value that is not empty), in one query.
pub async fn present(db: &impl ConnectionTrait, keys: &[&str]) -> Result<Vec<String>, AppError> {
    Ok(setting::Entity::find()
        .filter(setting::Column::Key.is_in(keys.iter().copied()))
        .filter(setting::Column::Value.ne(""))
        .all(db)
        .await
        .map_err(|e| AppError::internal("settings::present", e))?
        .into_iter()
        .map(|s| s.key)
        .collect())
}

/// Sets `key` (an empty value clears it).
pub async fn set(db: &impl ConnectionTrait, key: &str, value: &str) -> Result<(), AppError> {
    setting::Entity::insert(setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.to_owned()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(setting::Column::Key)
            .update_columns([setting::Column::Value, setting::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map_err(|e| AppError::internal("settings::set", e))?;
    Ok(())
}

/// Sets each `(key, value)` of `values` and logs the change by `actor` as `action` with
/// `summary`, in one transaction (never a secret's value in the summary).
pub async fn set_logged(
    db: &DatabaseConnection,
    actor: &Actor,
    values: &[(&str, &str)],
    action: &'static str,
    summary: String,
) -> Result<(), AppError> {
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("settings::set_logged begin", e))?;
    for (key, value) in values {
        set(&txn, key, value).await?;
    }
    audit::record(
        &txn,
        actor,
        Change {
            action,
            campaign_id: None,
            object: Object::Setting,
            summary,
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("settings::set_logged commit", e))
}

/// Stores Stripe's webhook signing secret (already checked) and logs that it changed, never its
/// value.
pub async fn set_stripe_secret(
    db: &DatabaseConnection,
    actor: &Actor,
    secret: &str,
) -> Result<(), AppError> {
    set_logged(
        db,
        actor,
        &[(STRIPE_WEBHOOK_SECRET, secret)],
        "stripe.secret_changed",
        "Set a new Stripe webhook signing secret.".to_owned(),
    )
    .await
}

/// Sets the campaign (a slug already checked, or empty for none) that Stripe events attributed by
/// email alone count for, and logs it.
pub async fn set_stripe_campaign(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign: &str,
) -> Result<(), AppError> {
    let summary = if campaign.is_empty() {
        "Stripe events attributed by email alone now count for no campaign.".to_owned()
    } else {
        format!("Stripe events attributed by email alone now count for the campaign {campaign}.")
    };
    set_logged(
        db,
        actor,
        &[(STRIPE_CAMPAIGN, campaign)],
        "stripe.campaign_changed",
        summary,
    )
    .await
}
