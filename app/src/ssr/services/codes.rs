//! Referral codes against the database: making unique ones, and reading what a person typed.

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    domain::codes::{self, CodeError, CodeStyle, ReferralCode},
    error::AppError,
    ssr::{
        entities::{campaign, merged_link, referrer, replaced_code},
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

/// The answer to a code whose referrer an admin deactivated: said plainly, so the friend or the
/// checkout knows the code itself was read right.
pub fn inactive() -> AppError {
    AppError::invalid(
        "inactive_referral_code",
        "referral_code",
        "This referral code is no longer active.",
    )
}

/// `found`, unless an admin deactivated that referrer.
fn active_only(found: referrer::Model) -> Result<referrer::Model, AppError> {
    if found.active {
        Ok(found)
    } else {
        Err(inactive())
    }
}

/// The answer to a code an admin replaced, once its grace time is over.
pub fn replaced_code() -> AppError {
    AppError::invalid(
        "replaced_referral_code",
        "referral_code",
        "This referral code was replaced. Ask the person who gave it to you for their new one.",
    )
}

/// What an old, replaced code `key` of `campaign_id` says: its referrer while it is still
/// honoured, [`replaced_code`] after; `None` when it was never replaced.
async fn replaced(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    key: &str,
) -> Result<Option<Result<referrer::Model, AppError>>, AppError> {
    let Some(old) = replaced_code::Entity::find()
        .filter(replaced_code::Column::CodeKey.eq(key))
        .filter(replaced_code::Column::CampaignId.eq(campaign_id))
        .one(db)
        .await
        .map_err(|e| AppError::internal("codes::replaced", e))?
    else {
        return Ok(None);
    };
    if old.valid_until <= Utc::now() {
        return Ok(Some(Err(replaced_code())));
    }
    let owner = referrer::Entity::find_by_id(old.referrer_id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("codes::replaced referrer", e))?;
    Ok(owner.map(active_only))
}

/// The referrer in `campaign_id` whose code the person typed.
///
/// Lookup ignores case, spaces and hyphens and reads look-alikes (O as 0, I and L as 1). Every
/// code Handoff makes carries a check symbol, so a one-character typo of one never names
/// somebody else's: a key with a wrong check symbol is found only when a referrer holds exactly
/// it, which only a code kept from a business's own printed cards can (a bulk add keeps them). On a miss, "did you mean" is offered only when exactly one active code of the
/// campaign is one edit away. A deactivated referrer's code is refused as such
/// ([`inactive`]); a replaced code still credits its referrer until its grace time is over, and
/// is refused as replaced after.
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
    let found = referrer::Entity::find()
        .filter(referrer::Column::CodeKey.eq(key.as_str()))
        .filter(referrer::Column::CampaignId.eq(campaign_id))
        .one(db)
        .await
        .map_err(|e| AppError::internal("codes::resolve", e))?;
    if let Some(found) = found {
        return active_only(found);
    }
    if let Some(replaced) = replaced(db, campaign_id, &key).await? {
        return replaced;
    }
    let neighbours = codes::one_edit_neighbours(&key);
    let candidates: Vec<Option<String>> = if neighbours.is_empty() {
        Vec::new()
    } else {
        referrer::Entity::find()
            .select_only()
            .column(referrer::Column::Code)
            .filter(referrer::Column::CampaignId.eq(campaign_id))
            .filter(referrer::Column::Active.eq(true))
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
    if crate::domain::slug::is_slug_shaped(trimmed) {
        let by_slug = referrer::Entity::find()
            .filter(referrer::Column::Slug.eq(trimmed))
            .filter(referrer::Column::CampaignId.eq(campaign_id))
            .one(db)
            .await
            .map_err(|e| AppError::internal("codes::resolve_reference", e))?;
        if let Some(found) = by_slug {
            return active_only(found);
        }
        // The slug of a record merged into another names the record kept.
        let merged = merged_link::Entity::find()
            .filter(merged_link::Column::Slug.eq(trimmed))
            .one(db)
            .await
            .map_err(|e| AppError::internal("codes::resolve_reference merged", e))?;
        if let Some(merged) = merged {
            let kept = referrer::Entity::find_by_id(merged.referrer_id)
                .filter(referrer::Column::CampaignId.eq(campaign_id))
                .one(db)
                .await
                .map_err(|e| AppError::internal("codes::resolve_reference kept", e))?;
            if let Some(kept) = kept {
                return active_only(kept);
            }
        }
    }
    resolve(db, campaign_id, input).await
}
