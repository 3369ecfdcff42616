//! Emails to referrers (and friends): what each kind says, the outbox they go through, the SMTP
//! side, and the Emails log the admin reads.
//!
//! - `compose`: a template and its values into a branded subject, HTML part and text part;
//! - `digest`: an import's one summary email per referrer instead of one per imported row;
//! - `queue`: the outbox rows (enqueue in the caller's transaction, claim, record, resend);
//! - `sender`: who an email comes from and where replies go (configuration, admin, campaign);
//! - `smtp`: `HANDOFF_SMTP_URL`, and a stored email turned into a MIME message sent by lettre;
//! - this file: the use cases (the link-and-code email, the sign-in email) and the log.

pub mod compose;
pub mod digest;
pub mod notifications;
pub mod queue;
pub mod sender;
pub mod smtp;
pub mod templates;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::ssr::db::{WriteTxn, begin_write};

use crate::{
    domain::emails::{EmailKind, Placeholder, Values, first_name},
    error::AppError,
    ssr::{
        entities::{campaign, email, referrer},
        services::{
            emails::{
                compose::{Button, Card, Content},
                queue::Draft,
            },
            portal::{
                self,
                tokens::{self, TokenPurpose},
            },
            referrers,
            secrets::{constant_time_eq, keyed_digest},
        },
        state::{AppState, RuntimeSettings},
    },
    types::{EmailDetail, EmailLine, EmailProgress, WelcomeRun},
};

/// The domain that ends Message-IDs: the public URL's host.
pub fn mail_domain(settings: &RuntimeSettings) -> String {
    url::Url::parse(&settings.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "handoff.invalid".to_owned())
}

/// Where the QR image of a referrer's link is served.
pub fn qr_url(settings: &RuntimeSettings, referrer_slug: &str) -> String {
    format!("{}/qr/{referrer_slug}.png?size=240", settings.public_url)
}

/// The token of a referrer's one-click unsubscribe address: derived from the secret, so it
/// needs no storage and cannot be guessed from the referrer's id.
fn unsubscribe_token(settings: &RuntimeSettings, referrer_id: i64) -> String {
    keyed_digest(
        &settings.secret,
        "unsubscribe",
        &referrer_id.to_string(),
        32,
    )
}

/// A referrer's one-click unsubscribe address (the footer link and `List-Unsubscribe`).
pub fn unsubscribe_url(settings: &RuntimeSettings, referrer_id: i64) -> String {
    format!(
        "{}/p/unsubscribe/{referrer_id}-{}",
        settings.public_url,
        unsubscribe_token(settings, referrer_id)
    )
}

/// The referrer id in an unsubscribe token (`{id}-{digest}`) when the digest is right.
pub fn check_unsubscribe(settings: &RuntimeSettings, token: &str) -> Option<i64> {
    let (id, digest) = token.split_once('-')?;
    let id: i64 = id.parse().ok()?;
    constant_time_eq(
        unsubscribe_token(settings, id).as_bytes(),
        digest.as_bytes(),
    )
    .then_some(id)
}

/// The values every email to a referrer knows (`{reward}` is the campaign's reward text; a
/// notification about a reward sets it to that reward).
pub(crate) fn referrer_values(
    settings: &RuntimeSettings,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
) -> Values {
    let mut values = Values::default();
    values
        .set(Placeholder::FirstName, first_name(&referrer.name))
        .set(Placeholder::Name, referrer.name.clone())
        .set(Placeholder::Campaign, campaign.name.clone())
        .set(
            Placeholder::ReferralLink,
            referrers::link(settings, &referrer.slug),
        )
        .set(
            Placeholder::ReferralCode,
            referrer.code.clone().unwrap_or_default(),
        )
        .set(
            Placeholder::PortalLink,
            portal::entrance_url(settings, &campaign.slug),
        )
        .set(
            Placeholder::Reward,
            campaign.reward_text.clone().unwrap_or_default(),
        );
    values
}

/// Why a link-and-code email is written: the first one a referrer gets goes out at most once,
/// however many paths ask for it (join, admin add, API, bulk send); the admin's "send again"
/// always writes a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occasion {
    /// The first, automatic or bulk: at most once per referrer.
    First,
    /// Sent again on purpose.
    Again,
}

/// The link-and-code email for a referrer, with a fresh sign-in link (a token written in `db`,
/// so call it in the transaction that writes the email).
pub async fn link_and_code(
    db: &impl ConnectionTrait,
    settings: &RuntimeSettings,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
    occasion: Occasion,
    now: DateTime<Utc>,
) -> Result<Draft, AppError> {
    let email = SignInEmail {
        kind: EmailKind::LinkAndCode,
        ttl: tokens::WELCOME_SIGN_IN_TTL,
        button: "Open your referral portal",
        card: Some(Card {
            link: referrers::link(settings, &referrer.slug),
            code: referrer.code.clone(),
            qr_url: qr_url(settings, &referrer.slug),
        }),
        dedupe_key: (occasion == Occasion::First).then(|| format!("link_and_code:{}", referrer.id)),
    };
    email.draft(db, settings, campaign, referrer, now).await
}

/// The sign-in email: a single-use link that lasts 30 minutes.
pub async fn sign_in(
    db: &impl ConnectionTrait,
    settings: &RuntimeSettings,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
    now: DateTime<Utc>,
) -> Result<Draft, AppError> {
    let email = SignInEmail {
        kind: EmailKind::SignIn,
        ttl: tokens::SIGN_IN_TTL,
        button: "Sign in",
        card: None,
        dedupe_key: None,
    };
    email.draft(db, settings, campaign, referrer, now).await
}

/// An email to a referrer that carries a fresh single-use sign-in link, as its button and as
/// `{sign_in_link}`: the link-and-code email and the sign-in email.
struct SignInEmail {
    kind: EmailKind,
    /// How long the link works.
    ttl: chrono::Duration,
    /// The button's label.
    button: &'static str,
    /// The link, code and QR block, when the email shows it.
    card: Option<Card>,
    dedupe_key: Option<String>,
}

impl SignInEmail {
    /// Issues the link's token in `db` and renders the campaign's template for the kind.
    async fn draft(
        self,
        db: &impl ConnectionTrait,
        settings: &RuntimeSettings,
        campaign: &campaign::Model,
        referrer: &referrer::Model,
        now: DateTime<Utc>,
    ) -> Result<Draft, AppError> {
        let token = tokens::issue(db, referrer.id, TokenPurpose::EmailLink, self.ttl, now).await?;
        let link = portal::sign_in_link(settings, &campaign.slug, &token);
        let mut values = referrer_values(settings, campaign, referrer);
        values.set(Placeholder::SignInLink, link.clone());
        let template = templates::effective(db, campaign.id, self.kind).await?;
        let rendered = compose::render_template(
            &Content {
                kind: self.kind,
                campaign,
                values,
                card: self.card,
                button: Some(Button {
                    label: self.button.to_owned(),
                    url: link,
                }),
                unsubscribe_url: None,
            },
            &template.subject,
            &template.body,
        )?;
        Ok(Draft {
            kind: self.kind,
            campaign_id: Some(campaign.id),
            referrer_id: Some(referrer.id),
            to: referrer.email.clone(),
            rendered,
            dedupe_key: self.dedupe_key,
        })
    }
}

/// The referrer with `id` and their campaign.
async fn referrer_and_campaign(
    db: &DatabaseConnection,
    id: i64,
) -> Result<(referrer::Model, campaign::Model), AppError> {
    let row = referrer::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("emails::referrer", e))?
        .ok_or_else(|| AppError::not_found("Referrer"))?;
    let campaign = campaign::Entity::find_by_id(row.campaign_id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("emails::campaign", e))?
        .ok_or_else(|| AppError::not_found("Campaign"))?;
    Ok((row, campaign))
}

async fn begin(state: &AppState) -> Result<WriteTxn, AppError> {
    begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("emails::begin", e))
}

/// Stores `draft` in `txn` (which holds its sign-in token) and commits both.
async fn finish(
    state: &AppState,
    txn: WriteTxn,
    draft: Draft,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    queue::enqueue(&txn, vec![draft], &mail_domain(&state.settings), now).await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("emails::finish commit", e))
}

/// Sends a sign-in email to a referrer (the portal's "email me a link", the admin's button).
pub async fn send_sign_in(
    state: &AppState,
    campaign: &campaign::Model,
    row: &referrer::Model,
) -> Result<(), AppError> {
    let (txn, now) = (begin(state).await?, Utc::now());
    let draft = sign_in(&txn, &state.settings, campaign, row, now).await?;
    finish(state, txn, draft, now).await
}

/// What the admin can send a referrer by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManualEmail {
    /// The link-and-code email, again.
    LinkAndCode,
    /// A fresh sign-in link.
    SignIn,
}

/// The admin's "send link-and-code email" and "send sign-in link" buttons.
pub async fn send_to_referrer(
    state: &AppState,
    referrer_id: i64,
    which: ManualEmail,
) -> Result<(), AppError> {
    let (row, campaign) = referrer_and_campaign(&state.db, referrer_id).await?;
    match which {
        ManualEmail::LinkAndCode => {
            let (txn, now) = (begin(state).await?, Utc::now());
            let draft =
                link_and_code(&txn, &state.settings, &campaign, &row, Occasion::Again, now).await?;
            finish(state, txn, draft, now).await
        }
        ManualEmail::SignIn => send_sign_in(state, &campaign, &row).await,
    }
}

/// Referrers written per transaction by [`send_missing_welcomes`].
const WELCOME_BATCH: u64 = 200;

/// The newest email's id (0 when there is none): a bulk send's emails come after it.
async fn newest_email_id(db: &DatabaseConnection) -> Result<i64, AppError> {
    Ok(email::Entity::find()
        .select_only()
        .column_as(email::Column::Id.max(), "id")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await
        .map_err(|e| AppError::internal("emails::newest_email_id", e))?
        .flatten()
        .unwrap_or(0))
}

/// Writes the link-and-code email for every active referrer of the campaign who has never had
/// one.
/// Batches of [`WELCOME_BATCH`] commit one by one, so a run cut short keeps what it wrote and
/// the next run goes on from there; the emails' dedupe keys make sure nobody gets it twice,
/// even with two runs at once. Returns how many were written and where, for
/// [`welcome_progress`].
pub async fn send_missing_welcomes(
    state: &AppState,
    campaign_slug: &str,
) -> Result<WelcomeRun, AppError> {
    let campaign = crate::ssr::services::campaigns::find_row(&state.db, campaign_slug).await?;
    let since = newest_email_id(&state.db).await?;
    let mut written = 0;
    let mut after = 0i64;
    loop {
        let batch = referrer::Entity::find()
            .filter(referrer::Column::CampaignId.eq(campaign.id))
            .filter(referrer::Column::Id.gt(after))
            // A deactivated referrer's link and code would credit nobody.
            .filter(referrer::Column::Active.eq(true))
            .filter(never_emailed_condition())
            .order_by_asc(referrer::Column::Id)
            .limit(WELCOME_BATCH)
            .all(&state.db)
            .await
            .map_err(|e| AppError::internal("emails::send_missing_welcomes", e))?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        let now = Utc::now();
        let txn = begin(state).await?;
        let mut drafts = Vec::with_capacity(batch.len());
        for row in &batch {
            drafts.push(
                link_and_code(&txn, &state.settings, &campaign, row, Occasion::First, now).await?,
            );
        }
        written += queue::enqueue(&txn, drafts, &mail_domain(&state.settings), now).await?;
        txn.commit()
            .await
            .map_err(|e| AppError::internal("emails::send_missing_welcomes commit", e))?;
    }
    Ok(WelcomeRun {
        written,
        since,
        until: newest_email_id(&state.db).await?,
    })
}

/// How far the link-and-code emails of one bulk send (campaign `campaign_slug`, email ids after
/// `since` up to `until`) have gone out. Reads the id range by primary key, so it stays cheap
/// however many emails the log holds.
pub async fn welcome_progress(
    db: &DatabaseConnection,
    campaign_slug: &str,
    since: i64,
    until: i64,
) -> Result<EmailProgress, AppError> {
    let campaign = crate::ssr::services::campaigns::find_row(db, campaign_slug).await?;
    let counts: Vec<(String, i64)> = email::Entity::find()
        .select_only()
        .column(email::Column::Status)
        .column_as(email::Column::Id.count(), "n")
        .filter(email::Column::Id.gt(since))
        .filter(email::Column::Id.lte(until))
        .filter(email::Column::CampaignId.eq(campaign.id))
        .filter(email::Column::Kind.eq(EmailKind::LinkAndCode.as_str()))
        .group_by(email::Column::Status)
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| AppError::internal("emails::welcome_progress", e))?;
    let count = |status: &str| {
        counts
            .iter()
            .filter(|(s, _)| s == status)
            .map(|(_, n)| u64::try_from(*n).unwrap_or(0))
            .sum()
    };
    Ok(EmailProgress {
        sent: count("sent"),
        pending: count("pending"),
        failed: count("failed"),
    })
}

/// Referrers who never had a link-and-code email written for them.
pub fn never_emailed_condition() -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    Expr::col((referrer::Entity, referrer::Column::Id)).not_in_subquery(
        Query::select()
            .column(email::Column::ReferrerId)
            .from(email::Entity)
            .and_where(Expr::col(email::Column::Kind).eq(EmailKind::LinkAndCode.as_str()))
            .and_where(Expr::col(email::Column::ReferrerId).is_not_null())
            .to_owned(),
    )
}

fn to_line(row: &email::Model) -> EmailLine {
    EmailLine {
        id: row.id,
        kind: row.kind.clone(),
        to: row.to_address.clone(),
        subject: row.subject.clone(),
        status: row.status.clone(),
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        created_at: row.created_at,
        sent_at: row.sent_at,
        referrer_id: row.referrer_id,
    }
}

/// The Emails log: newest first, 100 at a time, optionally one referrer's or one status's.
pub async fn log(
    db: &DatabaseConnection,
    referrer_id: Option<i64>,
    status: Option<&str>,
    before: Option<i64>,
) -> Result<Vec<EmailLine>, AppError> {
    let mut query = email::Entity::find().order_by_desc(email::Column::Id);
    if let Some(id) = referrer_id {
        query = query.filter(email::Column::ReferrerId.eq(id));
    }
    if let Some(status) = status.filter(|s| !s.is_empty()) {
        query = query.filter(email::Column::Status.eq(status));
    }
    if let Some(before) = before {
        query = query.filter(email::Column::Id.lt(before));
    }
    Ok(query
        .limit(100)
        .all(db)
        .await
        .map_err(|e| AppError::internal("emails::log", e))?
        .iter()
        .map(to_line)
        .collect())
}

/// One email of the log, with its parts.
pub async fn detail(db: &DatabaseConnection, id: i64) -> Result<EmailDetail, AppError> {
    let row = email::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("emails::detail", e))?
        .ok_or_else(|| AppError::not_found("Email"))?;
    Ok(EmailDetail {
        line: to_line(&row),
        html: row.html_body,
        text: row.text_body,
    })
}

/// Referrer ids (of `ids`) that have had a link-and-code email written for them.
pub async fn emailed(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<std::collections::HashSet<i64>, AppError> {
    let rows: Vec<Option<i64>> = email::Entity::find()
        .select_only()
        .column(email::Column::ReferrerId)
        .filter(email::Column::ReferrerId.is_in(ids.to_vec()))
        .filter(email::Column::Kind.eq(EmailKind::LinkAndCode.as_str()))
        .distinct()
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| AppError::internal("emails::emailed", e))?;
    Ok(rows.into_iter().flatten().collect())
}
