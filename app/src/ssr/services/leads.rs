//! Leads: capturing a referred friend with the right attribution, listing, and the timeline.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};

use crate::{
    domain::{email::Email, phone::Phone, search},
    error::AppError,
    ssr::{
        db::{begin_write, is_unique_violation},
        entities::{campaign, lead, lead_event, referrer},
        services::{
            campaigns, codes,
            emails::{self, notifications, queue, templates::CampaignTemplates},
            fraud, referrers,
        },
        state::AppState,
    },
    types::{CaptureOutcome, Lead, LeadDetail, LeadEvent},
};

/// The flag of a lead brought by a deactivated referrer's link.
pub const REFERRER_INACTIVE: &str = "referrer_inactive";

/// Which door the lead came through; it decides the recorded source when a code was typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Handoff's hosted friend page.
    HostedPage,
    /// The business's own HTML form posting to the friend endpoint.
    ExternalForm,
    /// `POST /api/v1/leads`.
    Api,
    /// Recorded by hand at the admin's sales desk (a code heard on a call or at a visit).
    SalesDesk,
}

/// Who recorded a lead by hand, for its timeline and the sales rep's own list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnteredBy {
    /// The admin account.
    pub admin_id: i64,
    /// Its login email, as the timeline names it.
    pub email: String,
}

/// A verified referral-link click carried by the friend's attribution cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkAttribution {
    /// The referrer whose link was clicked.
    pub referrer_id: i64,
    /// When.
    pub clicked_at: DateTime<Utc>,
}

/// Everything needed to capture a lead.
#[derive(Clone, Debug)]
pub struct CaptureRequest {
    /// Campaign slug.
    pub campaign: String,
    /// The friend's name, if given.
    pub name: Option<String>,
    /// The friend's email; may be empty on the sales desk and the API when `phone` is given.
    pub email: String,
    /// The friend's phone number, if given (the sales desk and the API).
    pub phone: Option<String>,
    /// A note for the lead's timeline (the sales desk and the API).
    pub note: Option<String>,
    /// The admin who recorded it at the sales desk.
    pub entered_by: Option<EnteredBy>,
    /// The referral code typed (or prefilled), if any.
    pub referral_code: Option<String>,
    /// A referral-link click, if the friend came by one.
    pub attribution: Option<LinkAttribution>,
    /// Which door.
    pub channel: Channel,
    /// Keyed hash of the friend's IP.
    pub ip_hash: Option<String>,
    /// The browser carries the portal cookie of the referrer this lead would be credited to.
    pub referrer_cookie: Option<i64>,
}

fn flags_of(row: &lead::Model) -> Vec<String> {
    row.flags
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The wire form of a lead row, given its referrer's name.
pub fn to_wire(row: &lead::Model, campaign_slug: &str, referrer_name: Option<String>) -> Lead {
    Lead {
        id: row.id,
        campaign: campaign_slug.to_owned(),
        name: row.name.clone(),
        email: row.email.clone(),
        phone: row.phone.clone(),
        referrer_id: row.referrer_id,
        referrer_name,
        source: row.source.clone(),
        status: row.status.clone(),
        flags: flags_of(row),
        amount_minor: row.amount_minor,
        amount_currency: row.amount_currency.clone(),
        created_at: row.created_at,
    }
}

/// The name of the referrer a lead credits, for the friend's thank-you: nobody when a
/// deactivated referrer's link brought the lead (it waits for an admin's review).
pub fn credited_name(lead: &Lead) -> Option<String> {
    if lead.flags.iter().any(|f| f == REFERRER_INACTIVE) {
        None
    } else {
        lead.referrer_name.clone()
    }
}

/// The wire form of one lead row (one query for the referrer's name).
pub async fn wire_one(
    db: &impl ConnectionTrait,
    row: &lead::Model,
    campaign_slug: &str,
) -> Result<Lead, AppError> {
    let name = match row.referrer_id {
        Some(id) => referrer::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(|e| AppError::internal("leads::wire_one", e))?
            .map(|r| r.name),
        None => None,
    };
    Ok(to_wire(row, campaign_slug, name))
}

async fn find_existing(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    normalized: &str,
) -> Result<Option<lead::Model>, AppError> {
    lead::Entity::find()
        .filter(lead::Column::CampaignId.eq(campaign_id))
        .filter(lead::Column::EmailNormalized.eq(normalized))
        .one(db)
        .await
        .map_err(|e| AppError::internal("leads::find_existing", e))
}

/// Adds `note` (and who wrote it at the sales desk) to an existing lead's timeline.
async fn add_note(
    state: &AppState,
    lead: &lead::Model,
    note: Option<String>,
    by: Option<&EnteredBy>,
) -> Result<(), AppError> {
    let Some(note) = note else {
        return Ok(());
    };
    let detail = match by {
        Some(by) => format!("{note} (noted by {} at the sales desk)", by.email),
        None => note,
    };
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("leads::add_note begin", e))?;
    lead_event::ActiveModel {
        lead_id: Set(lead.id),
        kind: Set("note".to_owned()),
        detail: Set(detail),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::internal("leads::add_note", e))?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("leads::add_note commit", e))
}

/// The longest note kept with a lead.
const MAX_NOTE: usize = 1000;

fn parse_note(note: Option<&str>) -> Result<Option<String>, AppError> {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) if n.chars().count() > MAX_NOTE => Err(AppError::invalid(
            "invalid_note",
            "note",
            format!("Notes are at most {MAX_NOTE} characters."),
        )),
        Some(n) => Ok(Some(n.to_owned())),
    }
}

/// The friend's contact details, checked: the email as given (empty when none), the phone as
/// given, and the key that finds the same friend again (the normalized email, else the phone's
/// `tel:` key). The friend form needs an email; hand-recorded leads may have a phone instead.
fn parse_contact(request: &CaptureRequest) -> Result<(String, Option<String>, String), AppError> {
    let phone = match request.phone.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => Some(
            Phone::parse(p)
                .map_err(|e| AppError::invalid("invalid_phone", "phone", e.to_string()))?,
        ),
        _ => None,
    };
    let phone_allowed = matches!(request.channel, Channel::SalesDesk | Channel::Api);
    if request.email.trim().is_empty() && phone_allowed {
        let phone = phone.ok_or_else(|| {
            AppError::invalid(
                "missing_contact",
                "email",
                "Enter the friend's email or phone number.",
            )
        })?;
        return Ok((
            String::new(),
            Some(phone.as_str().to_owned()),
            phone.key().to_owned(),
        ));
    }
    let email = Email::parse(&request.email)
        .map_err(|e| AppError::invalid("invalid_email", "email", e.to_string()))?;
    let normalized = email.normalized();
    Ok((
        email.as_str().to_owned(),
        phone.map(|p| p.as_str().to_owned()),
        normalized,
    ))
}

fn parse_name(name: Option<&str>) -> Result<Option<String>, AppError> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) if n.chars().count() > 200 => Err(AppError::invalid(
            "invalid_name",
            "name",
            "Names are at most 200 characters.",
        )),
        Some(n) => Ok(Some(n.to_owned())),
    }
}

/// Who gets the credit, by what source, and the sentences explaining why.
struct Credit {
    referrer: referrer::Model,
    source: &'static str,
    story: Vec<(&'static str, String, DateTime<Utc>)>,
}

async fn decide_credit(
    db: &DatabaseConnection,
    campaign: &campaign::Model,
    request: &CaptureRequest,
) -> Result<Credit, AppError> {
    let now = Utc::now();
    let typed = request
        .referral_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let clicked = match &request.attribution {
        Some(a) => referrers::find_in_campaign(db, a.referrer_id, campaign.id)
            .await?
            .map(|r| (r, a.clicked_at)),
        None => None,
    };
    let mut story = Vec::new();
    if let Some((r, at)) = &clicked {
        story.push((
            "click",
            format!("Clicked {}'s referral link (/r/{}).", r.name, r.slug),
            *at,
        ));
    }
    let Some(code) = typed else {
        let (referrer, _) = clicked.ok_or_else(|| {
            AppError::invalid(
                "missing_referral_code",
                "referral_code",
                "Enter the referral code you were given.",
            )
        })?;
        story.push((
            "captured",
            format!(
                "Signed up; credited to {} by their referral link.",
                referrer.name
            ),
            now,
        ));
        return Ok(Credit {
            referrer,
            source: "link",
            story,
        });
    };
    let referrer = codes::resolve_reference(db, campaign.id, code).await?;
    let door = match request.channel {
        Channel::HostedPage => "on the hosted friend page",
        Channel::ExternalForm => "on the business's own form",
        Channel::Api => "through the API",
        Channel::SalesDesk => "at the sales desk",
    };
    let code_shown = referrer
        .code
        .clone()
        .unwrap_or_else(|| referrer.slug.clone());
    let source = match (&clicked, request.channel) {
        // The code matches the link they arrived by: the link did the work.
        (Some((r, _)), _) if r.id == referrer.id => "link",
        (_, Channel::HostedPage) => "code",
        (_, Channel::ExternalForm) => "form",
        (_, Channel::Api) => "api",
        (_, Channel::SalesDesk) => "sales",
    };
    let why = match &clicked {
        Some((r, _)) if r.id == referrer.id => format!(
            "Signed up {door} with code {code_shown} from {}'s link; credited to {}.",
            r.name, referrer.name
        ),
        Some((r, _)) => format!(
            "Signed up {door} with code {code_shown}, which belongs to {}; the typed code wins over the earlier click on {}'s link.",
            referrer.name, r.name
        ),
        None => format!(
            "Signed up {door} with code {code_shown} (typed \"{code}\"); credited to {}.",
            referrer.name
        ),
    };
    story.push(("captured", why, now));
    Ok(Credit {
        referrer,
        source,
        story,
    })
}

/// Whom a sign-up would credit, as the friend's thanks names them: the same checks as
/// [`capture`] (a missing or wrong code is refused the same way), nothing written. The friend
/// page answers an email that is already a lead with this, so what it shows never tells whether
/// an address signed up before.
pub async fn would_credit(
    state: &AppState,
    request: &CaptureRequest,
) -> Result<Option<String>, AppError> {
    let campaign = campaigns::find_row(&state.db, &request.campaign).await?;
    let credit = decide_credit(&state.db, &campaign, request).await?;
    Ok(credit.referrer.active.then_some(credit.referrer.name))
}

/// Captures a friend as a pending lead credited to the right referrer.
///
/// First referrer wins: an email already in the campaign keeps its lead and attribution, and
/// nothing is created (`created: false`). A friend whose normalized email is the referrer's own
/// is recorded but flagged as a self-referral. The referrer's "new referral" email is written in
/// the lead's transaction (unless they turned notifications off).
pub async fn capture(
    state: &AppState,
    request: &CaptureRequest,
) -> Result<CaptureOutcome, AppError> {
    let campaign = campaigns::find_row(&state.db, &request.campaign).await?;
    if campaign.status != campaigns::ACTIVE {
        return Err(AppError::conflict(
            "campaign_paused",
            "This referral programme is not taking sign-ups right now.",
        ));
    }
    let (email, phone, normalized) = parse_contact(request)?;
    let name = parse_name(request.name.as_deref())?;
    let note = parse_note(request.note.as_deref())?;
    if let Some(existing) = find_existing(&state.db, campaign.id, &normalized).await? {
        // The same friend again changes nothing, but what a rep or the business's CRM wrote
        // about them goes on their timeline rather than being lost.
        add_note(state, &existing, note, request.entered_by.as_ref()).await?;
        return Ok(CaptureOutcome {
            lead: wire_one(&state.db, &existing, &campaign.slug).await?,
            created: false,
        });
    }
    let credit = decide_credit(&state.db, &campaign, request).await?;
    let mut story = credit.story;
    let signals = fraud::assess(
        &state.db,
        fraud::NewLead {
            campaign_id: campaign.id,
            referrer: &credit.referrer,
            email_normalized: &normalized,
            ip_hash: request.ip_hash.as_deref(),
            referrers_own_browser: request.referrer_cookie == Some(credit.referrer.id),
        },
    )
    .await?;
    let mut flags = Vec::new();
    for (flag, sentence) in signals {
        flags.push(flag);
        story.push(("flagged", sentence, Utc::now()));
    }
    if !credit.referrer.active {
        // Only a link gets here (a deactivated referrer's code is refused): the friend is kept,
        // and the flag holds any qualification for an admin's review.
        flags.push(REFERRER_INACTIVE);
        story.push((
            "flagged",
            format!(
                "{} was deactivated by an admin, so this referral credits nobody unless an admin approves it.",
                credit.referrer.name
            ),
            Utc::now(),
        ));
    }
    let now = Utc::now();
    if let Some(by) = &request.entered_by {
        story.push((
            "entered",
            format!("Entered by {} at the sales desk.", by.email),
            now,
        ));
    }
    if let Some(note) = note {
        story.push(("note", note, now));
    }
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("leads::capture begin", e))?;
    let inserted = lead::ActiveModel {
        campaign_id: Set(campaign.id),
        referrer_id: Set(Some(credit.referrer.id)),
        name_key: Set(name.as_deref().map(search::name_key)),
        name: Set(name),
        email: Set(email),
        phone: Set(phone),
        entered_by: Set(request.entered_by.as_ref().map(|by| by.admin_id)),
        email_normalized: Set(normalized.clone()),
        source: Set(credit.source.to_owned()),
        status: Set("pending".to_owned()),
        flags: Set(flags.join(",")),
        ip_hash: Set(request.ip_hash.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) if is_unique_violation(&e) => {
            // A concurrent sign-up with the same email won the race: theirs stands.
            drop(txn);
            let existing = find_existing(&state.db, campaign.id, &normalized)
                .await?
                .ok_or_else(|| {
                    AppError::internal("leads::capture", "lead vanished after conflict")
                })?;
            return Ok(CaptureOutcome {
                lead: wire_one(&state.db, &existing, &campaign.slug).await?,
                created: false,
            });
        }
        Err(e) => return Err(AppError::internal("leads::capture insert", e)),
    };
    let events = story
        .into_iter()
        .map(|(kind, detail, at)| lead_event::ActiveModel {
            lead_id: Set(row.id),
            kind: Set(kind.to_owned()),
            detail: Set(detail),
            created_at: Set(at),
            ..Default::default()
        });
    lead_event::Entity::insert_many(events)
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("leads::capture events", e))?;
    let templates = CampaignTemplates::load_many(&txn, [campaign.id])
        .await?
        .remove(&campaign.id)
        .unwrap_or_default();
    // A deactivated referrer is not told about a referral that credits them nothing.
    if credit.referrer.active
        && let Some(draft) = notifications::new_referral(
            &state.settings,
            &templates,
            &campaign,
            &credit.referrer,
            &row,
        )?
    {
        queue::enqueue(
            &txn,
            vec![draft],
            &emails::mail_domain(&state.settings),
            now,
        )
        .await?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("leads::capture commit", e))?;
    Ok(CaptureOutcome {
        lead: to_wire(&row, &campaign.slug, Some(credit.referrer.name)),
        created: true,
    })
}

/// A lead with its timeline, oldest event first.
pub async fn detail(state: &AppState, id: i64) -> Result<LeadDetail, AppError> {
    let row = lead::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("leads::detail", e))?
        .ok_or_else(|| AppError::not_found("Lead"))?;
    let campaign = campaign::Entity::find_by_id(row.campaign_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("leads::detail campaign", e))?
        .ok_or_else(|| AppError::not_found("Campaign"))?;
    let referrer = match row.referrer_id {
        Some(rid) => referrer::Entity::find_by_id(rid)
            .one(&state.db)
            .await
            .map_err(|e| AppError::internal("leads::detail referrer", e))?,
        None => None,
    };
    let timeline = lead_event::Entity::find()
        .filter(lead_event::Column::LeadId.eq(id))
        .order_by_asc(lead_event::Column::CreatedAt)
        .order_by_asc(lead_event::Column::Id)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("leads::detail events", e))?
        .into_iter()
        .map(|e| LeadEvent {
            kind: e.kind,
            detail: e.detail,
            at: e.created_at,
        })
        .collect();
    Ok(LeadDetail {
        campaign_name: campaign.name.clone(),
        lead: to_wire(
            &row,
            &campaign.slug,
            referrer.as_ref().map(|r| r.name.clone()),
        ),
        referrer_code: referrer.and_then(|r| r.code),
        timeline,
    })
}
