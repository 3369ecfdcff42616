//! Removing a referrer record: deleting one (an owner's act, with what goes with it counted and
//! their data downloadable first), and merging two records of one person in a campaign.
//!
//! Deleting keeps what belongs to others: their friends' leads stay (credited to nobody), and
//! rewards already issued stay in the books without a name. What was only theirs goes: clicks,
//! unpaid rewards, emails, sign-in links, prints.
//!
//! Merging moves everything of the record merged away (leads, clicks, rewards, conversion
//! events, emails, promotion codes) to the one kept, and keeps what is already out in the world
//! working: its link (through `merged_links`) and its code (as a replaced code that never runs
//! out) go on crediting the same person.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

use crate::domain::rules::RewardStatus;
use crate::{
    domain::{email::Email, words::counted},
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{
            click, conversion_event, email, lead, merged_link, promotion_code, referrer,
            replaced_code, reward,
        },
        services::{
            audit::{self, Actor, Change, Object},
            referrer_changes::described,
        },
        state::AppState,
    },
    types::{ReferrerFootprint, ReferrerMerged},
};

/// How long a merged-away code keeps crediting: for good, in practice (printed cards do not
/// expire), but as a date like every replaced code.
const MERGED_CODE_YEARS: i64 = 100;

/// Unpaid reward statuses: these go with a deleted referrer.
const UNPAID: [RewardStatus; 3] = [
    RewardStatus::Pending,
    RewardStatus::Due,
    RewardStatus::Cancelled,
];

async fn find(db: &impl ConnectionTrait, id: i64) -> Result<referrer::Model, AppError> {
    referrer::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("referrer_removal::find", e))?
        .ok_or_else(|| AppError::not_found("Referrer"))
}

/// What goes with a referrer if they are deleted, counted.
pub async fn footprint(db: &impl ConnectionTrait, id: i64) -> Result<ReferrerFootprint, AppError> {
    let err = |e| AppError::internal("referrer_removal::footprint", e);
    let clicks = click::Entity::find()
        .filter(click::Column::ReferrerId.eq(id))
        .count(db)
        .await
        .map_err(err)?;
    let leads = lead::Entity::find()
        .filter(lead::Column::ReferrerId.eq(id))
        .count(db)
        .await
        .map_err(err)?;
    let theirs = || {
        reward::Entity::find()
            .filter(reward::Column::ReferrerId.eq(id))
            .filter(reward::Column::Recipient.eq("referrer"))
    };
    let unpaid_rewards = theirs()
        .filter(reward::Column::Status.is_in(UNPAID))
        .count(db)
        .await
        .map_err(err)?;
    let issued_rewards = theirs()
        .filter(reward::Column::Status.eq(RewardStatus::Issued))
        .count(db)
        .await
        .map_err(err)?;
    let emails = email::Entity::find()
        .filter(email::Column::ReferrerId.eq(id))
        .count(db)
        .await
        .map_err(err)?;
    Ok(ReferrerFootprint {
        clicks,
        leads,
        unpaid_rewards,
        issued_rewards,
        emails,
    })
}

/// Deletes a referrer. `confirm_email` must be their email (typed by the owner, so a slip of
/// the mouse deletes nothing). Returns their name.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    id: i64,
    confirm_email: &str,
) -> Result<String, AppError> {
    let row = find(&state.db, id).await?;
    let typed = Email::parse(confirm_email).map(|e| e.normalized());
    if typed.as_deref() != Ok(row.email_normalized.as_str()) {
        return Err(AppError::invalid(
            "confirmation_mismatch",
            "confirm_email",
            format!(
                "Type {}'s email exactly to confirm; nothing was deleted.",
                row.name
            ),
        ));
    }
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("referrer_removal::delete begin", e))?;
    let counts = footprint(&txn, id).await?;
    let err = |e| AppError::internal("referrer_removal::delete", e);
    reward::Entity::delete_many()
        .filter(reward::Column::ReferrerId.eq(id))
        .filter(reward::Column::Recipient.eq("referrer"))
        .filter(reward::Column::Status.is_in(UNPAID))
        .exec(&txn)
        .await
        .map_err(err)?;
    // The database would do these two by its foreign keys; done here so both engines (and an
    // import's writer, which runs without foreign-key checks) leave the same rows.
    reward::Entity::update_many()
        .col_expr(reward::Column::ReferrerId, Expr::value(Option::<i64>::None))
        .filter(reward::Column::ReferrerId.eq(id))
        .exec(&txn)
        .await
        .map_err(err)?;
    lead::Entity::update_many()
        .col_expr(lead::Column::ReferrerId, Expr::value(Option::<i64>::None))
        .filter(lead::Column::ReferrerId.eq(id))
        .exec(&txn)
        .await
        .map_err(err)?;
    referrer::Entity::delete_by_id(id)
        .exec(&txn)
        .await
        .map_err(err)?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "referrer.deleted",
            campaign_id: Some(row.campaign_id),
            object: Object::Referrer(id),
            summary: format!(
                "Deleted {} <{}>: {}.",
                described(&row),
                row.email,
                counts.sentence()
            ),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("referrer_removal::delete commit", e))?;
    state.links.invalidate_all();
    Ok(row.name)
}

/// Finds the other record of a merge by what an admin has at hand: its email, code or id, in
/// the campaign of `keep`.
pub async fn find_other(
    db: &impl ConnectionTrait,
    keep: &referrer::Model,
    text: &str,
) -> Result<referrer::Model, AppError> {
    let text = text.trim();
    let not_found = || {
        AppError::invalid(
            "merge_not_found",
            "other",
            "No other referrer of this campaign has that email, code or number.",
        )
    };
    if text.is_empty() {
        return Err(not_found());
    }
    let in_campaign = referrer::Entity::find()
        .filter(referrer::Column::CampaignId.eq(keep.campaign_id))
        .filter(referrer::Column::Id.ne(keep.id));
    let code_key = crate::domain::codes::normalize(text).ok();
    let by = if let Ok(email) = Email::parse(text) {
        in_campaign.filter(referrer::Column::EmailNormalized.eq(email.normalized()))
    } else if let Ok(id) = text.trim_start_matches('#').parse::<i64>() {
        // A number is the record's number, or a code made only of digits.
        let mut either = Condition::any().add(referrer::Column::Id.eq(id));
        if let Some(key) = code_key {
            either = either.add(referrer::Column::CodeKey.eq(key));
        }
        in_campaign.filter(either)
    } else if let Some(key) = code_key {
        in_campaign.filter(referrer::Column::CodeKey.eq(key))
    } else {
        return Err(not_found());
    };
    by.order_by_asc(referrer::Column::Id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("referrer_removal::find_other", e))?
        .ok_or_else(not_found)
}

/// Merges the record `other` (found by email, code or id) into `keep_id`: everything of
/// `other` moves to `keep_id`, its link and code keep working for the same person, and `other`
/// is gone. Both must be in one campaign.
pub async fn merge(
    state: &AppState,
    actor: &Actor,
    keep_id: i64,
    other: &str,
) -> Result<ReferrerMerged, AppError> {
    let keep = find(&state.db, keep_id).await?;
    let gone = find_other(&state.db, &keep, other).await?;
    let now = Utc::now();
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("referrer_removal::merge begin", e))?;
    let counts = footprint(&txn, gone.id).await?;
    let err = |e| AppError::internal("referrer_removal::merge move", e);
    macro_rules! move_rows {
        ($entity:ident) => {
            $entity::Entity::update_many()
                .col_expr($entity::Column::ReferrerId, Expr::value(keep.id))
                .filter($entity::Column::ReferrerId.eq(gone.id))
                .exec(&txn)
                .await
                .map_err(err)?;
        };
    }
    move_rows!(lead);
    move_rows!(click);
    move_rows!(reward);
    move_rows!(conversion_event);
    move_rows!(email);
    move_rows!(promotion_code);
    move_rows!(replaced_code);
    move_rows!(merged_link);
    referrer::Entity::delete_by_id(gone.id)
        .exec(&txn)
        .await
        .map_err(err)?;
    // What is out in the world keeps crediting the person: the link by its slug, the code as
    // a replaced code of the record kept (inserted after the delete frees its key).
    merged_link::ActiveModel {
        slug: Set(gone.slug.clone()),
        referrer_id: Set(keep.id),
        merged_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::internal("referrer_removal::merge link", e))?;
    if let (Some(code), Some(key)) = (gone.code.clone(), gone.code_key.clone()) {
        replaced_code::ActiveModel {
            referrer_id: Set(keep.id),
            campaign_id: Set(keep.campaign_id),
            code: Set(code),
            code_key: Set(key),
            replaced_at: Set(now),
            valid_until: Set(now + Duration::days(365 * MERGED_CODE_YEARS)),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| AppError::internal("referrer_removal::merge code", e))?;
    }
    let summary = format!(
        "Merged {} <{}> into {}: {}, {} and {} moved; the old link and code now credit {}.",
        described(&gone),
        gone.email,
        described(&keep),
        counted(counts.leads as i64, "lead", "leads"),
        counted(counts.clicks as i64, "click", "clicks"),
        counted(
            (counts.unpaid_rewards + counts.issued_rewards) as i64,
            "reward",
            "rewards"
        ),
        keep.name
    );
    audit::record(
        &txn,
        actor,
        Change {
            action: "referrer.merged",
            campaign_id: Some(keep.campaign_id),
            object: Object::Referrer(keep.id),
            summary: summary.clone(),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("referrer_removal::merge commit", e))?;
    state.links.invalidate_all();
    Ok(ReferrerMerged {
        kept: keep.id,
        merged: gone.id,
        summary,
    })
}

/// Everything about one referrer as CSV, for the owner to keep before deleting them: the
/// referrer, each lead they brought and each reward they earned, one row each.
pub async fn export_csv(state: &AppState, id: i64) -> Result<(String, String), AppError> {
    let row = find(&state.db, id).await?;
    let err = |e| AppError::internal("referrer_removal::export_csv", e);
    let mut out =
        String::from("record,id,name,email,code,status,amount,currency,detail,created_at\n");
    out.push_str(&crate::domain::csv::line(&[
        "referrer".to_owned(),
        row.id.to_string(),
        row.name.clone(),
        row.email.clone(),
        row.code.clone().unwrap_or_default(),
        if row.active { "active" } else { "inactive" }.to_owned(),
        String::new(),
        String::new(),
        row.note.clone().unwrap_or_default(),
        row.created_at.to_rfc3339(),
    ]));
    let leads = lead::Entity::find()
        .filter(lead::Column::ReferrerId.eq(id))
        .order_by_asc(lead::Column::Id)
        .all(&state.db)
        .await
        .map_err(err)?;
    for l in leads {
        out.push_str(&crate::domain::csv::line(&[
            "lead".to_owned(),
            l.id.to_string(),
            l.name.unwrap_or_default(),
            if l.email.is_empty() {
                l.phone.unwrap_or_default()
            } else {
                l.email
            },
            String::new(),
            l.status,
            String::new(),
            String::new(),
            l.source,
            l.created_at.to_rfc3339(),
        ]));
    }
    let rewards = reward::Entity::find()
        .filter(reward::Column::ReferrerId.eq(id))
        .filter(reward::Column::Recipient.eq("referrer"))
        .order_by_asc(reward::Column::Id)
        .all(&state.db)
        .await
        .map_err(err)?;
    for r in rewards {
        out.push_str(&crate::domain::csv::line(&[
            "reward".to_owned(),
            r.id.to_string(),
            String::new(),
            String::new(),
            String::new(),
            r.status.as_str().to_owned(),
            r.amount_minor
                .map(|a| crate::domain::rules::format_decimal(a, r.currency.as_deref()))
                .unwrap_or_default(),
            r.currency.unwrap_or_default(),
            r.description,
            r.created_at.to_rfc3339(),
        ]));
    }
    Ok((row.slug, out))
}
