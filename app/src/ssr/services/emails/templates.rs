//! A campaign's own email templates: the subject and body for each kind, whether it goes out on
//! its own, a preview with sample data, and a test send to the admin.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};

use crate::{
    domain::emails::{EmailKind, Placeholder, Values, unknown_placeholders},
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{campaign, email_template},
        services::{
            audit::{self, Actor, Change, Object},
            campaigns,
            emails::{
                compose::{self, Card, Content, Rendered},
                mail_domain, qr_url,
                queue::{self, Draft},
            },
            portal,
        },
        state::{AppState, RuntimeSettings},
    },
    types::{EmailPreview, EmailTemplateView},
};

/// The subject and body a campaign uses for one kind, and whether it goes out on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Subject template.
    pub subject: String,
    /// Body template.
    pub body: String,
    /// Sent on its own (always true for kinds that cannot be turned off).
    pub auto_send: bool,
    /// Written by the campaign (false: built in).
    pub custom: bool,
}

fn built_in(kind: EmailKind) -> Template {
    let (subject, body) = kind.default_template();
    Template {
        subject: subject.to_owned(),
        body: body.to_owned(),
        auto_send: true,
        custom: false,
    }
}

fn from_row(kind: EmailKind, row: &email_template::Model) -> Template {
    Template {
        subject: row.subject.clone(),
        body: row.body.clone(),
        auto_send: row.auto_send || !kind.can_turn_off(),
        custom: true,
    }
}

/// Every kind's template of one campaign, loaded in one query, for code that renders many
/// emails (a batch of conversions, the rewards an admin issues).
#[derive(Clone, Debug)]
pub struct CampaignTemplates {
    /// In `EmailKind::ALL` order.
    by_kind: Vec<Template>,
}

impl Default for CampaignTemplates {
    /// The built-in templates (a campaign that wrote none).
    fn default() -> Self {
        Self {
            by_kind: EmailKind::ALL.into_iter().map(built_in).collect(),
        }
    }
}

impl CampaignTemplates {
    /// The template for `kind`.
    pub fn get(&self, kind: EmailKind) -> &Template {
        let index = EmailKind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("every kind is in EmailKind::ALL");
        &self.by_kind[index]
    }

    fn apply(&mut self, row: &email_template::Model) {
        if let Ok(kind) = row.kind.parse::<EmailKind>() {
            let index = EmailKind::ALL.iter().position(|k| *k == kind);
            if let Some(index) = index {
                self.by_kind[index] = from_row(kind, row);
            }
        }
    }

    /// The templates of each campaign in `campaign_ids` (built-in where a campaign wrote none).
    pub async fn load_many(
        db: &impl ConnectionTrait,
        campaign_ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, CampaignTemplates>, AppError> {
        let mut sets: HashMap<i64, CampaignTemplates> = campaign_ids
            .into_iter()
            .map(|id| (id, CampaignTemplates::default()))
            .collect();
        if sets.is_empty() {
            return Ok(sets);
        }
        let rows = email_template::Entity::find()
            .filter(email_template::Column::CampaignId.is_in(sets.keys().copied()))
            .all(db)
            .await
            .map_err(|e| AppError::internal("templates::load_many", e))?;
        for row in &rows {
            if let Some(set) = sets.get_mut(&row.campaign_id) {
                set.apply(row);
            }
        }
        Ok(sets)
    }
}

/// The template campaign `campaign_id` uses for `kind`.
pub async fn effective(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    kind: EmailKind,
) -> Result<Template, AppError> {
    let row = email_template::Entity::find()
        .filter(email_template::Column::CampaignId.eq(campaign_id))
        .filter(email_template::Column::Kind.eq(kind.as_str()))
        .one(db)
        .await
        .map_err(|e| AppError::internal("templates::effective", e))?;
    Ok(row.map_or_else(|| built_in(kind), |r| from_row(kind, &r)))
}

/// Every kind's template for campaign `slug`, for the editor.
pub async fn list(state: &AppState, slug: &str) -> Result<Vec<EmailTemplateView>, AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let rows = email_template::Entity::find()
        .filter(email_template::Column::CampaignId.eq(campaign.id))
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("templates::list", e))?;
    EmailKind::ALL
        .into_iter()
        .map(|kind| {
            let t = rows
                .iter()
                .find(|r| r.kind == kind.as_str())
                .map_or_else(|| built_in(kind), |r| from_row(kind, r));
            let sample = render_sample(&state.settings, &campaign, kind, &t.subject, &t.body)?;
            Ok(EmailTemplateView {
                kind: kind.as_str().to_owned(),
                label: kind.label().to_owned(),
                subject: t.subject,
                body: t.body,
                auto_send: t.auto_send,
                custom: t.custom,
                can_turn_off: kind.can_turn_off(),
                preview: EmailPreview {
                    subject: sample.subject,
                    html: sample.html,
                    text: sample.text,
                },
            })
        })
        .collect()
}

/// The kind named in a form, or a field error.
pub fn parse_kind(kind: &str) -> Result<EmailKind, AppError> {
    kind.parse::<EmailKind>()
        .map_err(|e| AppError::invalid("invalid_email_kind", "kind", e.to_string()))
}

/// Checks a subject and body an admin wrote: lengths, and no unknown `{placeholders}`.
fn check(subject: &str, body: &str) -> Result<(String, String), AppError> {
    let subject = subject.trim();
    let body = body.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(AppError::invalid(
            "invalid_subject",
            "subject",
            "Write a subject of 1 to 200 characters.",
        ));
    }
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(AppError::invalid(
            "invalid_body",
            "body",
            "Write a body of 1 to 10,000 characters.",
        ));
    }
    for (field, text) in [("subject", subject), ("body", body)] {
        let unknown = unknown_placeholders(text);
        if !unknown.is_empty() {
            let known: Vec<String> = Placeholder::ALL
                .iter()
                .map(|p| format!("{{{}}}", p.name()))
                .collect();
            return Err(AppError::invalid(
                "unknown_placeholder",
                field,
                format!(
                    "{} is not a placeholder. Use {}.",
                    unknown
                        .iter()
                        .map(|u| format!("{{{u}}}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    known.join(", ")
                ),
            ));
        }
    }
    Ok((subject.to_owned(), body.to_owned()))
}

/// Saves campaign `slug`'s template for `kind`.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    kind: EmailKind,
    subject: &str,
    body: &str,
    auto_send: bool,
) -> Result<(), AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let (subject, body) = check(subject, body)?;
    let err = |e| AppError::internal("templates::save", e);
    let txn = begin_write(&state.db).await.map_err(err)?;
    email_template::Entity::insert(email_template::ActiveModel {
        campaign_id: Set(campaign.id),
        kind: Set(kind.as_str().to_owned()),
        subject: Set(subject),
        body: Set(body),
        auto_send: Set(auto_send || !kind.can_turn_off()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            email_template::Column::CampaignId,
            email_template::Column::Kind,
        ])
        .update_columns([
            email_template::Column::Subject,
            email_template::Column::Body,
            email_template::Column::AutoSend,
            email_template::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await
    .map_err(err)?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "email_template.changed",
            campaign_id: Some(campaign.id),
            object: Object::Campaign(campaign.id),
            summary: format!(
                "Changed the “{}” email of {}{}.",
                kind.label(),
                campaign.name,
                if auto_send || !kind.can_turn_off() {
                    ""
                } else {
                    " (not sent on its own)"
                }
            ),
        },
    )
    .await?;
    txn.commit().await.map_err(err)
}

/// Goes back to the built-in text (and sending on its own) for `kind`.
pub async fn reset(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    kind: EmailKind,
) -> Result<(), AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let err = |e| AppError::internal("templates::reset", e);
    let txn = begin_write(&state.db).await.map_err(err)?;
    let done = email_template::Entity::delete_many()
        .filter(email_template::Column::CampaignId.eq(campaign.id))
        .filter(email_template::Column::Kind.eq(kind.as_str()))
        .exec(&txn)
        .await
        .map_err(err)?;
    if done.rows_affected > 0 {
        audit::record(
            &txn,
            actor,
            Change {
                action: "email_template.reset",
                campaign_id: Some(campaign.id),
                object: Object::Campaign(campaign.id),
                summary: format!(
                    "Put the “{}” email of {} back to the built-in text.",
                    kind.label(),
                    campaign.name
                ),
            },
        )
        .await?;
    }
    txn.commit().await.map_err(err)
}

/// Sample values for previews and test sends: a made-up referrer in this campaign.
fn sample(settings: &RuntimeSettings, campaign: &campaign::Model) -> (Values, Card) {
    let link = format!("{}/r/jane-sample", settings.public_url);
    let mut values = Values::default();
    values
        .set(Placeholder::FirstName, "Jane")
        .set(Placeholder::Name, "Jane Sample")
        .set(Placeholder::Campaign, campaign.name.clone())
        .set(Placeholder::ReferralLink, link.clone())
        .set(Placeholder::ReferralCode, "JANE-7K4Q")
        .set(
            Placeholder::PortalLink,
            portal::entrance_url(settings, &campaign.slug),
        )
        .set(
            Placeholder::SignInLink,
            format!("{}/p/{}/login/sample", settings.public_url, campaign.slug),
        )
        .set(
            Placeholder::Reward,
            campaign
                .reward_text
                .clone()
                .unwrap_or_else(|| "10.00 USD".to_owned()),
        )
        .set(Placeholder::FriendName, "Sam")
        .set(Placeholder::ReferrerName, "Jane Sample")
        .set(Placeholder::Count, "3");
    let card = Card {
        link,
        code: Some("JANE-7K4Q".to_owned()),
        qr_url: qr_url(settings, "jane-sample"),
    };
    (values, card)
}

/// An email of `kind` in `campaign`'s branding, rendered from `subject` and `body` with sample
/// data.
fn render_sample(
    settings: &RuntimeSettings,
    campaign: &campaign::Model,
    kind: EmailKind,
    subject: &str,
    body: &str,
) -> Result<Rendered, AppError> {
    let (mut values, card) = sample(settings, campaign);
    if kind == EmailKind::ReferralsQualified {
        // The summary names a few friends and counts the rewards, as `emails::digest` writes it.
        values
            .set(Placeholder::FriendName, "Sam, Ana and Ben")
            .set(Placeholder::Reward, "3 rewards, 30.00 USD in all");
    }
    let content = Content {
        kind,
        campaign,
        values,
        card: (kind == EmailKind::LinkAndCode).then_some(card),
        button: None,
        unsubscribe_url: kind
            .is_notification()
            .then(|| format!("{}/p/unsubscribe/sample", settings.public_url)),
    };
    compose::render_template(&content, subject, body)
}

/// An email of `kind` rendered from `subject` and `body` (checked first) with sample data.
pub async fn preview(
    state: &AppState,
    slug: &str,
    kind: EmailKind,
    subject: &str,
    body: &str,
) -> Result<Rendered, AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let (subject, body) = check(subject, body)?;
    render_sample(&state.settings, &campaign, kind, &subject, &body)
}

/// Sends the preview to `to` (the admin), marked as a test in the subject.
pub async fn send_test(
    state: &AppState,
    slug: &str,
    kind: EmailKind,
    subject: &str,
    body: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let mut rendered = preview(state, slug, kind, subject, body).await?;
    rendered.subject = format!("[Test] {}", rendered.subject);
    queue::enqueue(
        &state.db,
        vec![Draft {
            kind,
            campaign_id: Some(campaign.id),
            referrer_id: None,
            to: to.to_owned(),
            rendered,
            dedupe_key: None,
        }],
        &mail_domain(&state.settings),
        now,
    )
    .await?;
    Ok(())
}
