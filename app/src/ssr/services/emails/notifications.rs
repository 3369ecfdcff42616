//! The notification emails: to a referrer when somebody they referred arrives, when a referral
//! qualifies and earns them a reward, and when a reward is issued; to the friend, a welcome with
//! their own reward in a double-sided campaign.
//!
//! Each builder only renders: it returns the [`Draft`] (or `None` when nothing is to be sent: the
//! referrer turned notifications off, the friend left no address) and the caller writes it with
//! [`queue::enqueue`] in the transaction of the change it tells about. The conversions engine
//! renders a whole batch's drafts this way and writes them with one `enqueue`.
//!
//! The three referrer notifications carry the one-click unsubscribe link in their footer; the
//! email worker adds `List-Unsubscribe` and `List-Unsubscribe-Post` for the same address.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::{
    domain::{
        emails::{EmailKind, Placeholder, Values, first_name, mask_email},
        rules::format_amount,
    },
    error::AppError,
    ssr::{
        entities::{campaign, lead, referrer, reward},
        services::{
            emails::{
                self,
                compose::{self, Button, Content},
                queue::{self, Draft},
                templates::CampaignTemplates,
            },
            portal,
        },
        state::RuntimeSettings,
    },
};

/// The `recipient` of a reward a referrer earns.
const TO_REFERRER: &str = "referrer";
/// The `recipient` of a reward the friend earns.
const TO_FRIEND: &str = "friend";

/// What a reward is, in words: its description with the amount when it has one
/// (`Store credit (USD 20.00)`), or the amount alone.
pub fn reward_text(row: &reward::Model) -> String {
    let amount = row
        .amount_minor
        .map(|a| format_amount(a, row.currency.as_deref()));
    let description = row.description.trim();
    match amount {
        Some(amount) if description.is_empty() || description == amount => amount,
        Some(amount) => format!("{description} ({amount})"),
        None if description.is_empty() => "a reward".to_owned(),
        None => description.to_owned(),
    }
}

/// Several rewards in one phrase: `A`, `A and B`, `A, B and C`.
fn rewards_text<'a>(rows: impl IntoIterator<Item = &'a reward::Model>) -> String {
    let texts: Vec<String> = rows.into_iter().map(reward_text).collect();
    match texts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// How a referrer's email names the friend: their first name, else their address masked as the
/// portal shows it (`j***@example.com`), else "Somebody" (a code-only conversion has neither).
pub fn friend_label(lead: &lead::Model) -> String {
    if let Some(name) = lead
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        return first_name(name).to_owned();
    }
    if lead.email.contains('@') {
        return mask_email(&lead.email);
    }
    "Somebody".to_owned()
}

/// Whether a notification of `kind` goes to `referrer` at all: the campaign sends it on its own,
/// and the referrer has an address and did not turn notifications off.
pub fn wanted(kind: EmailKind, templates: &CampaignTemplates, referrer: &referrer::Model) -> bool {
    templates.get(kind).auto_send && !referrer.emails_opt_out && !referrer.email.is_empty()
}

/// A notification to a referrer (the caller checked [`wanted`]), in the campaign's template.
/// `dedupe_key` makes it go out at most once.
pub fn to_referrer(
    kind: EmailKind,
    settings: &RuntimeSettings,
    templates: &CampaignTemplates,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
    values: Values,
    dedupe_key: impl Into<Option<String>>,
) -> Result<Option<Draft>, AppError> {
    debug_assert!(kind.is_notification());
    let template = templates.get(kind);
    let rendered = compose::render_template(
        &Content {
            kind,
            campaign,
            values,
            card: None,
            button: Some(Button {
                label: "Open your referral portal".to_owned(),
                url: portal::entrance_url(settings, &campaign.slug),
            }),
            unsubscribe_url: Some(emails::unsubscribe_url(settings, referrer.id)),
        },
        &template.subject,
        &template.body,
    )?;
    Ok(Some(Draft {
        kind,
        campaign_id: Some(campaign.id),
        referrer_id: Some(referrer.id),
        to: referrer.email.clone(),
        rendered,
        dedupe_key: dedupe_key.into(),
    }))
}

/// "Somebody you referred just arrived": `lead` was just credited to `referrer`.
pub fn new_referral(
    settings: &RuntimeSettings,
    templates: &CampaignTemplates,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
    lead: &lead::Model,
) -> Result<Option<Draft>, AppError> {
    if !wanted(EmailKind::NewReferral, templates, referrer) {
        return Ok(None);
    }
    let mut values = emails::referrer_values(settings, campaign, referrer);
    values.set(Placeholder::FriendName, friend_label(lead));
    to_referrer(
        EmailKind::NewReferral,
        settings,
        templates,
        campaign,
        referrer,
        values,
        format!("new_referral:{}", lead.id),
    )
}

/// "Your referral qualified": `lead` qualified and earned `referrer` the referrer's rewards among
/// `rewards` (none: no email).
pub fn referral_qualified(
    settings: &RuntimeSettings,
    templates: &CampaignTemplates,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
    lead: &lead::Model,
    rewards: &[reward::Model],
) -> Result<Option<Draft>, AppError> {
    let earned: Vec<&reward::Model> = rewards
        .iter()
        .filter(|r| r.recipient == TO_REFERRER)
        .collect();
    let Some(first) = earned.iter().map(|r| r.id).min() else {
        return Ok(None);
    };
    if !wanted(EmailKind::ReferralQualified, templates, referrer) {
        return Ok(None);
    }
    let mut values = emails::referrer_values(settings, campaign, referrer);
    values
        .set(Placeholder::FriendName, friend_label(lead))
        .set(Placeholder::Reward, rewards_text(earned));
    // Keyed by a reward rather than the lead: a lead that qualifies again after a refund earns
    // nothing new (the rewards' own keys), so this key is never reached twice for one reason.
    to_referrer(
        EmailKind::ReferralQualified,
        settings,
        templates,
        campaign,
        referrer,
        values,
        format!("referral_qualified:{first}"),
    )
}

/// "Your reward was issued", for a referrer's reward (a friend's reward: `None`).
pub fn reward_issued(
    settings: &RuntimeSettings,
    templates: &CampaignTemplates,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
    reward: &reward::Model,
) -> Result<Option<Draft>, AppError> {
    if reward.recipient != TO_REFERRER || !wanted(EmailKind::RewardIssued, templates, referrer) {
        return Ok(None);
    }
    let mut values = emails::referrer_values(settings, campaign, referrer);
    values.set(Placeholder::Reward, reward_text(reward));
    to_referrer(
        EmailKind::RewardIssued,
        settings,
        templates,
        campaign,
        referrer,
        values,
        format!("reward_issued:{}", reward.id),
    )
}

/// The friend's welcome with their reward: only in a double-sided campaign (some of `rewards`
/// are the friend's) and when the friend left an address. At most one per friend.
pub fn friend_welcome(
    templates: &CampaignTemplates,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
    lead: &lead::Model,
    rewards: &[reward::Model],
) -> Result<Option<Draft>, AppError> {
    let theirs: Vec<&reward::Model> = rewards
        .iter()
        .filter(|r| r.recipient == TO_FRIEND)
        .collect();
    let template = templates.get(EmailKind::FriendWelcome);
    if theirs.is_empty() || !lead.email.contains('@') || !template.auto_send {
        return Ok(None);
    }
    let mut values = Values::default();
    values
        .set(
            Placeholder::FirstName,
            first_name(lead.name.as_deref().unwrap_or("")),
        )
        .set(Placeholder::Name, lead.name.clone().unwrap_or_default())
        .set(Placeholder::Campaign, campaign.name.clone())
        .set(Placeholder::ReferrerName, referrer.name.clone())
        .set(
            Placeholder::Reward,
            format!("Your reward: {}.", rewards_text(theirs)),
        );
    let button = campaign
        .landing_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|url| Button {
            label: format!("Visit {}", campaign.name),
            url: url.to_owned(),
        });
    let rendered = compose::render_template(
        &Content {
            kind: EmailKind::FriendWelcome,
            campaign,
            values,
            card: None,
            button,
            // The friend is not a referrer: this is the one email they get, not a notification.
            unsubscribe_url: None,
        },
        &template.subject,
        &template.body,
    )?;
    Ok(Some(Draft {
        kind: EmailKind::FriendWelcome,
        campaign_id: Some(campaign.id),
        referrer_id: Some(referrer.id),
        to: lead.email.clone(),
        rendered,
        dedupe_key: Some(format!("friend_welcome:{}", lead.id)),
    }))
}

/// Writes the "reward issued" emails for `issued` rewards (any recipients; only referrers' are
/// told) in `db`, the transaction that issued them: two queries for their referrers and
/// campaigns, one multi-row insert, and nothing at all when no referrer is to be told. Returns
/// how many were written.
pub async fn rewards_issued(
    db: &impl ConnectionTrait,
    settings: &RuntimeSettings,
    issued: &[reward::Model],
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let told: Vec<&reward::Model> = issued
        .iter()
        .filter(|r| r.recipient == TO_REFERRER && r.referrer_id.is_some())
        .collect();
    if told.is_empty() {
        return Ok(0);
    }
    let referrer_ids: Vec<i64> = told.iter().filter_map(|r| r.referrer_id).collect();
    let referrers: HashMap<i64, referrer::Model> = referrer::Entity::find()
        .filter(referrer::Column::Id.is_in(referrer_ids))
        .filter(referrer::Column::EmailsOptOut.eq(false))
        .all(db)
        .await
        .map_err(|e| AppError::internal("notifications::rewards_issued referrers", e))?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    if referrers.is_empty() {
        return Ok(0);
    }
    let campaign_ids: Vec<i64> = told.iter().map(|r| r.campaign_id).collect();
    let campaigns: HashMap<i64, campaign::Model> = campaign::Entity::find()
        .filter(campaign::Column::Id.is_in(campaign_ids))
        .all(db)
        .await
        .map_err(|e| AppError::internal("notifications::rewards_issued campaigns", e))?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let templates = CampaignTemplates::load_many(db, campaigns.keys().copied()).await?;
    let mut drafts = Vec::new();
    for row in told {
        let (Some(referrer), Some(campaign)) = (
            row.referrer_id.and_then(|id| referrers.get(&id)),
            campaigns.get(&row.campaign_id),
        ) else {
            continue;
        };
        let Some(templates) = templates.get(&campaign.id) else {
            continue;
        };
        drafts.extend(reward_issued(settings, templates, campaign, referrer, row)?);
    }
    if drafts.is_empty() {
        return Ok(0);
    }
    queue::enqueue(db, drafts, &emails::mail_domain(settings), now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reward(description: &str, amount: Option<i64>) -> reward::Model {
        reward::Model {
            id: 1,
            campaign_id: 1,
            rule_id: 1,
            lead_id: Some(1),
            referrer_id: Some(1),
            recipient: TO_REFERRER.to_owned(),
            kind: "fixed".to_owned(),
            amount_minor: amount,
            currency: amount.map(|_| "USD".to_owned()),
            description: description.to_owned(),
            status: crate::domain::rules::RewardStatus::Due,
            milestone: 0,
            dedupe_key: "k".to_owned(),
            conversion_event_id: None,
            due_at: None,
            issued_at: None,
            cancelled_at: None,
            cancel_reason: None,
            clawback: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_reward_reads_as_its_description_and_amount() {
        assert_eq!(
            reward_text(&reward("Store credit", Some(2000))),
            "Store credit (USD 20.00)"
        );
        assert_eq!(reward_text(&reward("USD 10.00", Some(1000))), "USD 10.00");
        assert_eq!(reward_text(&reward("", Some(1000))), "USD 10.00");
        assert_eq!(reward_text(&reward("A free month", None)), "A free month");
    }

    #[test]
    fn several_rewards_read_as_one_phrase() {
        let a = reward("A", None);
        let b = reward("B", None);
        let c = reward("C", None);
        assert_eq!(rewards_text([&a]), "A");
        assert_eq!(rewards_text([&a, &b]), "A and B");
        assert_eq!(rewards_text([&a, &b, &c]), "A, B and C");
    }
}
