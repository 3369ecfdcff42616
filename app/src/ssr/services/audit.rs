//! The audit log: who changed what, and when. Each change writes its entry in the same
//! transaction as the change itself, so the log holds exactly what happened: a change that rolls
//! back leaves no entry, and a committed one cannot lose its entry.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PrimaryKeyTrait, QueryFilter,
};

use crate::{
    error::AppError,
    ssr::{
        db::begin_write,
        entities::audit_entry,
        services::{campaigns, paging},
        state::AppState,
    },
    types::{AuditEntry, AuditFilter, CurrentAdmin, Page},
};

/// Who makes a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The admin account, when an admin does.
    pub admin_id: Option<i64>,
    /// As the log shows it.
    pub name: String,
}

impl Actor {
    /// A signed-in admin.
    pub fn admin(admin: &CurrentAdmin) -> Actor {
        Actor {
            admin_id: Some(admin.id),
            name: admin.email.clone(),
        }
    }

    /// A request made with an API key (by its name).
    pub fn api_key(name: &str) -> Actor {
        Actor {
            admin_id: None,
            name: format!("API key “{name}”"),
        }
    }

    /// The command line on the server (`handoff …`).
    pub fn command_line() -> Actor {
        Actor {
            admin_id: None,
            name: "command line".to_owned(),
        }
    }
}

/// What a change touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// A campaign (its settings, rules, status).
    Campaign(i64),
    /// A referrer.
    Referrer(i64),
    /// A lead.
    Lead(i64),
    /// A reward.
    Reward(i64),
    /// An API key.
    ApiKey(i64),
    /// An inbound webhook source (Zapier, Make, n8n, HubSpot, Salesforce, custom).
    InboundSource(i64),
    /// An outbound webhook endpoint.
    WebhookEndpoint(i64),
    /// A Stripe promotion code mapped to a referrer.
    PromotionCode(i64),
    /// An installation-wide setting (Stripe's secret and campaign, the email sender).
    Setting,
}

impl Object {
    fn kind_and_id(self) -> (&'static str, Option<i64>) {
        match self {
            Object::Campaign(id) => ("campaign", Some(id)),
            Object::Referrer(id) => ("referrer", Some(id)),
            Object::Lead(id) => ("lead", Some(id)),
            Object::Reward(id) => ("reward", Some(id)),
            Object::ApiKey(id) => ("api_key", Some(id)),
            Object::InboundSource(id) => ("inbound_source", Some(id)),
            Object::WebhookEndpoint(id) => ("webhook_endpoint", Some(id)),
            Object::PromotionCode(id) => ("promotion_code", Some(id)),
            Object::Setting => ("setting", None),
        }
    }
}

/// One change, for the log.
#[derive(Clone, Debug)]
pub struct Change {
    /// `referrer.deactivated`, `lead.rejected`, ….
    pub action: &'static str,
    /// The campaign it belongs to, when it belongs to one.
    pub campaign_id: Option<i64>,
    /// What it touched.
    pub object: Object,
    /// One sentence for a person: "Deactivated Jane (JANE-7K4)."
    pub summary: String,
}

/// Writes `change` by `actor`. Call it with the transaction that makes the change.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    change: Change,
) -> Result<(), AppError> {
    let (kind, id) = change.object.kind_and_id();
    audit_entry::ActiveModel {
        created_at: Set(Utc::now()),
        admin_id: Set(actor.admin_id),
        actor: Set(actor.name.chars().take(300).collect()),
        action: Set(change.action.to_owned()),
        campaign_id: Set(change.campaign_id),
        object_kind: Set(kind.to_owned()),
        object_id: Set(id),
        summary: Set(change.summary),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| AppError::internal("audit::record", e))?;
    Ok(())
}

/// Deletes the row `id` of `E` and records `change` of it by `actor`, in one transaction (the
/// row is read in it too, so the entry names what was really deleted); `what` names the kind of
/// row in the "not found" answer when there is none.
pub async fn delete_logged<E>(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    what: &'static str,
    change: impl FnOnce(&E::Model) -> Change,
) -> Result<(), AppError>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    let err = |e: sea_orm::DbErr| AppError::internal(&format!("audit::delete_logged {what}"), e);
    let txn = begin_write(db).await.map_err(err)?;
    let row = E::find_by_id(id)
        .one(&*txn)
        .await
        .map_err(err)?
        .ok_or_else(|| AppError::not_found(what))?;
    E::delete_by_id(id).exec(&*txn).await.map_err(err)?;
    record(&*txn, actor, change(&row)).await?;
    txn.commit().await.map_err(err)
}

/// One page of the log, newest first, optionally one campaign's.
pub async fn list(state: &AppState, filter: &AuditFilter) -> Result<Page<AuditEntry>, AppError> {
    let mut query = audit_entry::Entity::find();
    if let Some(slug) = filter.campaign.as_deref().filter(|s| !s.trim().is_empty()) {
        let campaign = campaigns::find_row(&state.db, slug).await?;
        query = query.filter(audit_entry::Column::CampaignId.eq(campaign.id));
    }
    let (rows, next_cursor) = paging::newest_first(
        &state.db,
        query,
        audit_entry::Column::Id,
        filter.after,
        |r| r.id,
        "audit::list",
    )
    .await?;
    let slugs = campaigns::slugs_of(&state.db, rows.iter().filter_map(|r| r.campaign_id)).await?;
    let items = rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            at: row.created_at,
            actor: row.actor,
            action: row.action,
            campaign: row.campaign_id.and_then(|id| slugs.get(&id).cloned()),
            object_kind: row.object_kind,
            object_id: row.object_id,
            summary: row.summary,
        })
        .collect();
    Ok(Page { items, next_cursor })
}
