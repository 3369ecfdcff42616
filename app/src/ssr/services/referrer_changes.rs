//! An admin's changes to one referrer: their name, email and note, deactivating or reactivating
//! them, and replacing their code.
//!
//! Deactivation is a switch, not a deletion: the referrer keeps their link, code, leads and
//! rewards. While it is off, [`codes::resolve`](super::codes::resolve) refuses their code
//! ("no longer active") at checkout, in forms, at the sales desk and in conversion events, and
//! their link still leads to the campaign but without their code, so a friend it brings is
//! flagged `referrer_inactive` and held for review. Reactivating restores both at once.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    domain::email::Email,
    error::AppError,
    ssr::{
        db::{begin_write, is_unique_violation},
        entities::{campaign, referrer, replaced_code},
        services::{
            audit::{self, Actor, Change, Object},
            codes::{MAX_CODE_ATTEMPTS, new_code},
            crm,
            referrers::{self, find_by_email, parse_name},
        },
        state::AppState,
    },
    types::Referrer,
};

/// The longest note kept on a referrer.
pub const MAX_NOTE: usize = 2000;

/// A change to a referrer's details; `None` keeps what is there (the referrer page's form sends
/// all three, `PATCH /api/v1/referrers/{id}` what it names).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReferrerEdit<'a> {
    /// Display name.
    pub name: Option<&'a str>,
    /// Email; unique within the campaign.
    pub email: Option<&'a str>,
    /// The admins' note; empty for none.
    pub note: Option<&'a str>,
}

async fn find(state: &AppState, id: i64) -> Result<referrer::Model, AppError> {
    referrer::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("referrer_changes::find", e))?
        .ok_or_else(|| AppError::not_found("Referrer"))
}

/// "Jane (JANE-7K4)": a referrer as the audit log names them.
pub fn described(row: &referrer::Model) -> String {
    match &row.code {
        Some(code) => format!("{} ({code})", row.name),
        None => format!("{} ({})", row.name, row.email),
    }
}

async fn wire(state: &AppState, row: &referrer::Model) -> Result<Referrer, AppError> {
    let slug = campaign::Entity::find_by_id(row.campaign_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("referrer_changes::wire", e))?
        .map(|c| c.slug)
        .unwrap_or_default();
    Ok(referrers::to_wire(&state.settings, row, &slug))
}

fn email_taken(other: Option<&referrer::Model>) -> AppError {
    let whose = other.map_or_else(String::new, |o| format!(" ({})", o.name));
    AppError::invalid(
        "email_taken",
        "email",
        format!(
            "Another referrer of this campaign has that email{whose}. To combine the two, merge them instead."
        ),
    )
}

/// Changes a referrer's name, email and note. Their link, code and history stay. An email
/// another referrer of the campaign has is refused and nothing changes.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i64,
    edit: ReferrerEdit<'_>,
) -> Result<Referrer, AppError> {
    let row = find(state, id).await?;
    let name = parse_name(edit.name.unwrap_or(&row.name))?;
    let email = Email::parse(edit.email.unwrap_or(&row.email))
        .map_err(|e| AppError::invalid("invalid_email", "email", e.to_string()))?;
    let note = edit
        .note
        .unwrap_or(row.note.as_deref().unwrap_or(""))
        .trim();
    if note.chars().count() > MAX_NOTE {
        return Err(AppError::invalid(
            "invalid_note",
            "note",
            format!("Notes are at most {MAX_NOTE} characters."),
        ));
    }
    let normalized = email.normalized();
    if normalized != row.email_normalized
        && let Some(other) = find_by_email(&state.db, row.campaign_id, &normalized).await?
        && other.id != row.id
    {
        return Err(email_taken(Some(&other)));
    }
    let note = Some(note.to_owned()).filter(|n| !n.is_empty());
    let summary = edit_summary(&row, &name, email.as_str(), note.as_deref());
    let Some(summary) = summary else {
        // Nothing changed: nothing to write or log.
        return wire(state, &row).await;
    };
    let campaign_id = row.campaign_id;
    let mut changed: referrer::ActiveModel = row.into();
    changed.name = Set(name);
    changed.email = Set(email.as_str().to_owned());
    changed.email_normalized = Set(normalized);
    changed.note = Set(note);
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("referrer_changes::update begin", e))?;
    let saved = match changed.update(&txn).await {
        Ok(saved) => saved,
        // Another admin gave that email to someone else a moment ago.
        Err(e) if is_unique_violation(&e) => return Err(email_taken(None)),
        Err(e) => return Err(AppError::internal("referrer_changes::update", e)),
    };
    audit::record(
        &txn,
        actor,
        Change {
            action: "referrer.updated",
            campaign_id: Some(campaign_id),
            object: Object::Referrer(saved.id),
            summary,
        },
    )
    .await?;
    // A new email is a contact the CRM does not have yet.
    crm::touch(&txn, &[(crm::ObjectKind::Referrer, saved.id)]).await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("referrer_changes::update commit", e))?;
    wire(state, &saved).await
}

/// What an edit changes, in words ("Changed Jane's name to Jane Doe and email to j@x.com."),
/// or `None` when it changes nothing.
fn edit_summary(
    row: &referrer::Model,
    name: &str,
    email: &str,
    note: Option<&str>,
) -> Option<String> {
    let mut parts = Vec::new();
    if name != row.name {
        parts.push(format!("name to {name}"));
    }
    if email != row.email {
        parts.push(format!("email to {email}"));
    }
    if note != row.note.as_deref() {
        parts.push("the note".to_owned());
    }
    if parts.is_empty() {
        return None;
    }
    let last = parts.pop().unwrap_or_default();
    let list = if parts.is_empty() {
        last
    } else {
        format!("{} and {last}", parts.join(", "))
    };
    Some(format!("Changed {}'s {list}.", row.name))
}

/// Deactivates (`active: false`) or reactivates a referrer. Doing what is already done is not an
/// error. The link cache is cleared so this process's next click sees it at once (other
/// processes within the cache's few seconds).
pub async fn set_active(
    state: &AppState,
    actor: &Actor,
    id: i64,
    active: bool,
) -> Result<Referrer, AppError> {
    let row = find(state, id).await?;
    if row.active == active {
        return wire(state, &row).await;
    }
    let (action, verb) = if active {
        ("referrer.reactivated", "Reactivated")
    } else {
        ("referrer.deactivated", "Deactivated")
    };
    let summary = format!("{verb} {}.", described(&row));
    let mut changed: referrer::ActiveModel = row.into();
    changed.active = Set(active);
    changed.deactivated_at = Set((!active).then(Utc::now));
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("referrer_changes::set_active begin", e))?;
    let saved = changed
        .update(&txn)
        .await
        .map_err(|e| AppError::internal("referrer_changes::set_active", e))?;
    audit::record(
        &txn,
        actor,
        Change {
            action,
            campaign_id: Some(saved.campaign_id),
            object: Object::Referrer(saved.id),
            summary,
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("referrer_changes::set_active commit", e))?;
    state.links.invalidate_all();
    wire(state, &saved).await
}

/// The longest an old code may keep working after it is replaced.
pub const MAX_GRACE_DAYS: u32 = 365;

fn grace_days_error() -> AppError {
    AppError::invalid(
        "invalid_grace_days",
        "grace_days",
        format!("Enter how many days the old code keeps working: 0 to {MAX_GRACE_DAYS}."),
    )
}

/// The grace time as typed in a form: a whole number of days, 0 to [`MAX_GRACE_DAYS`].
pub fn parse_grace_days(text: &str) -> Result<u32, AppError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|d| *d <= MAX_GRACE_DAYS)
        .ok_or_else(grace_days_error)
}

/// Gives the referrer a new code (a lost card, a code that leaked). The old one keeps crediting
/// them for `grace_days`, then is refused with "This referral code was replaced". Their link
/// stays the same.
pub async fn replace_code(
    state: &AppState,
    actor: &Actor,
    id: i64,
    grace_days: u32,
) -> Result<Referrer, AppError> {
    if grace_days > MAX_GRACE_DAYS {
        return Err(grace_days_error());
    }
    let row = find(state, id).await?;
    let (Some(old_code), Some(old_key)) = (row.code.clone(), row.code_key.clone()) else {
        return Err(AppError::conflict(
            "no_code",
            "This referrer has no code to replace.",
        ));
    };
    let campaign = campaign::Entity::find_by_id(row.campaign_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("referrer_changes::replace_code campaign", e))?
        .ok_or_else(|| AppError::not_found("Campaign"))?;
    let now = Utc::now();
    let valid_until = now + chrono::Duration::days(i64::from(grace_days));
    for attempt in 0..MAX_CODE_ATTEMPTS {
        let code = new_code(&campaign, &row.name, attempt);
        let txn = begin_write(&state.db)
            .await
            .map_err(|e| AppError::internal("referrer_changes::replace_code begin", e))?;
        // A key replaced before and later drawn again for someone is forgotten as old first.
        replaced_code::Entity::delete_many()
            .filter(replaced_code::Column::CodeKey.eq(old_key.as_str()))
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("referrer_changes::replace_code forget", e))?;
        replaced_code::ActiveModel {
            referrer_id: Set(row.id),
            campaign_id: Set(row.campaign_id),
            code: Set(old_code.clone()),
            code_key: Set(old_key.clone()),
            replaced_at: Set(now),
            valid_until: Set(valid_until),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| AppError::internal("referrer_changes::replace_code keep", e))?;
        let mut changed: referrer::ActiveModel = row.clone().into();
        changed.code = Set(Some(code.display().to_owned()));
        changed.code_key = Set(Some(code.key().to_owned()));
        match changed.update(&txn).await {
            Ok(saved) => {
                audit::record(
                    &txn,
                    actor,
                    Change {
                        action: "referrer.code_replaced",
                        campaign_id: Some(saved.campaign_id),
                        object: Object::Referrer(saved.id),
                        summary: format!(
                            "Replaced {}'s code {old_code} with {}; the old code works until {}.",
                            saved.name,
                            code.display(),
                            valid_until.format("%Y-%m-%d %H:%M UTC")
                        ),
                    },
                )
                .await?;
                crm::touch(&txn, &[(crm::ObjectKind::Referrer, saved.id)]).await?;
                txn.commit()
                    .await
                    .map_err(|e| AppError::internal("referrer_changes::replace_code commit", e))?;
                // Links carry the code in `ref=`.
                state.links.invalidate_all();
                return wire(state, &saved).await;
            }
            // Drawn a code somebody has: draw again.
            Err(e) if is_unique_violation(&e) => {
                let _ = txn.rollback().await;
            }
            Err(e) => return Err(AppError::internal("referrer_changes::replace_code", e)),
        }
    }
    Err(AppError::internal(
        "referrer_changes::replace_code",
        "no free code after many attempts",
    ))
}
