//! Referral codes against the database: making unique ones, and reading what a person typed.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    domain::codes::{self, CodeError, CodeStyle, ReferralCode},
    error::AppError,
    ssr::{
        entities::{campaign, referrer},
        services::secrets::random_index,
    },
};

/// How many times to draw a new code after a unique collision before giving up.
pub const MAX_CODE_ATTEMPTS: usize = 12;

/// A fresh code for `name` in `campaign`. After a few collisions (common first names under the
/// name-based style) the random part grows by one symbol.
pub fn new_code(campaign: &campaign::Model, name: &str, attempt: usize) -> ReferralCode {
    let style = CodeStyle::parse(&campaign.code_style).unwrap_or_default();
    let default_len = style.default_random_len();
    let random_len = if attempt >= 4 {
        default_len + 1
    } else {
        default_len
    };
    ReferralCode::generate_with_random_len(
        style,
        campaign.code_prefix.as_deref(),
        name,
        random_len,
        &mut random_index,
    )
}

fn unknown(message: &str, suggestion: Option<String>) -> AppError {
    let message = match &suggestion {
        Some(s) => format!("{message} Did you mean {s}?"),
        None => format!("{message} Check it and try again."),
    };
    AppError::Invalid {
        code: "unknown_referral_code".into(),
        field: Some("referral_code".into()),
        message,
        suggestion,
    }
}

/// The referrer in `campaign_id` whose code the person typed.
///
/// Lookup ignores case, spaces and hyphens and reads look-alikes (O as 0, I and L as 1). A code
/// with a wrong check symbol is never looked up as typed, so a one-character typo cannot credit
/// somebody else. On a miss, "did you mean" is offered only when exactly one code of the campaign
/// is one edit away.
pub async fn resolve(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    input: &str,
) -> Result<referrer::Model, AppError> {
    let key = match codes::normalize(input) {
        Ok(key) => key,
        Err(CodeError::Empty) => {
            return Err(AppError::invalid(
                "missing_referral_code",
                "referral_code",
                "Enter the referral code you were given.",
            ));
        }
        Err(e) => {
            return Err(AppError::Invalid {
                code: "unknown_referral_code".into(),
                field: Some("referral_code".into()),
                message: e.to_string(),
                suggestion: None,
            });
        }
    };
    if codes::has_valid_check(&key) {
        let found = referrer::Entity::find()
            .filter(referrer::Column::CodeKey.eq(key.as_str()))
            .filter(referrer::Column::CampaignId.eq(campaign_id))
            .one(db)
            .await
            .map_err(|e| AppError::internal("codes::resolve", e))?;
        if let Some(found) = found {
            return Ok(found);
        }
    }
    let neighbours = codes::one_edit_neighbours(&key);
    let candidates: Vec<Option<String>> = if neighbours.is_empty() {
        Vec::new()
    } else {
        referrer::Entity::find()
            .select_only()
            .column(referrer::Column::Code)
            .filter(referrer::Column::CampaignId.eq(campaign_id))
            .filter(referrer::Column::CodeKey.is_in(neighbours))
            .limit(2)
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| AppError::internal("codes::resolve neighbours", e))?
    };
    let suggestion = match candidates.as_slice() {
        [Some(only)] => Some(only.clone()),
        _ => None,
    };
    let message = if codes::has_valid_check(&key) {
        "We don't recognise that referral code."
    } else {
        "That referral code doesn't look right."
    };
    Err(unknown(message, suggestion))
}

/// The referrer a `ref` value names. Referral links append the referrer's code, or their link
/// slug when the campaign has codes off; a business's form posts that value back, so both are
/// accepted. The slug is tried only in the exact lowercase form links write it.
pub async fn resolve_reference(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    input: &str,
) -> Result<referrer::Model, AppError> {
    let trimmed = input.trim();
    let slug_shaped = !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if slug_shaped {
        let by_slug = referrer::Entity::find()
            .filter(referrer::Column::Slug.eq(trimmed))
            .filter(referrer::Column::CampaignId.eq(campaign_id))
            .one(db)
            .await
            .map_err(|e| AppError::internal("codes::resolve_reference", e))?;
        if let Some(found) = by_slug {
            return Ok(found);
        }
    }
    resolve(db, campaign_id, input).await
}
