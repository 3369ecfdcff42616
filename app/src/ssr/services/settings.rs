//! Installation-wide settings changed in the admin, stored as key/value rows.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, sea_query::OnConflict};

use crate::{error::AppError, ssr::entities::setting};

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
