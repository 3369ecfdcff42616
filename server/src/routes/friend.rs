//! The hosted friend page `/f/{campaign}`: a form for name, email and referral code. The same
//! endpoint takes plain form posts from the business's own site.

use app::{
    domain::rules::friend_reward,
    error::AppError,
    ssr::{
        entities::{campaign, referrer},
        services::{
            campaigns::ACTIVE,
            leads::{self, CaptureRequest, Channel},
            referrers,
            secrets::ip_hash,
        },
        state::AppState,
    },
};
use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::Utc;
use serde::Deserialize;

use crate::routes::{
    client_ip::ClientIp,
    cookies::{self, ATTRIBUTION_COOKIE},
    pages,
};

/// The friend form.
#[derive(Template)]
#[template(path = "friend.html")]
struct FriendPage {
    campaign_name: String,
    campaign_slug: String,
    brand_color: String,
    logo_url: Option<String>,
    referrer_name: Option<String>,
    name: String,
    email: String,
    referral_code: String,
    form_error: Option<String>,
    email_error: Option<String>,
    code_error: Option<String>,
    suggestion: Option<String>,
    /// What the friend gets, and the event that earns it.
    friend_reward: Option<(String, String)>,
}

/// The thank-you page.
#[derive(Template)]
#[template(path = "thanks.html")]
struct ThanksPage {
    campaign_name: String,
    brand_color: String,
    logo_url: Option<String>,
    referrer_name: Option<String>,
    /// What the friend gets, and the event that earns it.
    friend_reward: Option<(String, String)>,
}

/// `?ref=` or `?code=` prefills the code (for printed links and QR codes).
#[derive(Debug, Default, Deserialize)]
pub struct FriendQuery {
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// What the form posts. Unknown fields from a business's own form are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct FriendForm {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default, alias = "code", alias = "ref")]
    referral_code: Option<String>,
    /// Present only on Handoff's own page, to tell it from the business's form.
    #[serde(default, rename = "_hosted")]
    hosted: Option<String>,
}

/// An active campaign and, in a double-sided campaign, what the friend gets and for what.
type Offer = (campaign::Model, Option<(String, String)>);

async fn load_campaign(state: &AppState, slug: &str) -> Result<Offer, Response> {
    match state.rules_cache.get(&state.db, slug).await {
        Ok((c, rules)) if c.status == ACTIVE => Ok((c, friend_reward(&rules.to_wire()))),
        Ok(_) => Err(pages::message(
            StatusCode::NOT_FOUND,
            "This referral programme is paused",
            "This referral programme isn't taking sign-ups right now. Please check back later.",
        )),
        Err(AppError::NotFound { .. }) => Err(pages::message(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no referral programme at this address.",
        )),
        Err(_) => Err(pages::internal_error()),
    }
}

/// The referrer of a valid attribution cookie for this campaign.
async fn attributed_referrer(
    state: &AppState,
    headers: &HeaderMap,
    campaign_id: i64,
) -> Option<(cookies::Attribution, referrer::Model)> {
    let attribution = cookies::read(headers, ATTRIBUTION_COOKIE)
        .and_then(|v| cookies::decode(&state.settings.secret, v, Utc::now()))?;
    let referrer = referrers::find_in_campaign(&state.db, attribution.referrer_id, campaign_id)
        .await
        .ok()
        .flatten()?;
    Some((attribution, referrer))
}

fn blank_page((c, friend_reward): &Offer) -> FriendPage {
    FriendPage {
        campaign_name: c.name.clone(),
        campaign_slug: c.slug.clone(),
        brand_color: c.brand_color.clone(),
        logo_url: c.logo_url.clone(),
        referrer_name: None,
        name: String::new(),
        email: String::new(),
        referral_code: String::new(),
        form_error: None,
        email_error: None,
        code_error: None,
        suggestion: None,
        friend_reward: friend_reward.clone(),
    }
}

/// `GET /f/{campaign}`.
pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<FriendQuery>,
    headers: HeaderMap,
) -> Response {
    let offer = match load_campaign(&state, &slug).await {
        Ok(offer) => offer,
        Err(response) => return response,
    };
    let campaign = &offer.0;
    let mut page = blank_page(&offer);
    // A deactivated referrer's code would only be refused: their link brings the friend here
    // without it.
    if let Some((_, referrer)) = attributed_referrer(&state, &headers, campaign.id).await
        && referrer.active
    {
        page.referral_code = referrer.code.clone().unwrap_or_default();
        page.referrer_name = Some(referrer.name);
    }
    if let Some(code) = query
        .code
        .or(query.reference)
        .filter(|c| !c.trim().is_empty())
    {
        page.referral_code = code.chars().take(60).collect();
    }
    pages::render(StatusCode::OK, &page)
}

/// `POST /f/{campaign}`: creates the lead and thanks the friend, or shows the form again with
/// the problem next to the field (and nothing created).
pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(form): Form<FriendForm>,
) -> Response {
    let offer = match load_campaign(&state, &slug).await {
        Ok(offer) => offer,
        Err(response) => return response,
    };
    let campaign = &offer.0;
    let attributed = attributed_referrer(&state, &headers, campaign.id).await;
    let request = CaptureRequest {
        campaign: campaign.slug.clone(),
        name: form.name.clone(),
        email: form.email.clone(),
        phone: None,
        note: None,
        entered_by: None,
        referral_code: form.referral_code.clone(),
        attribution: attributed
            .as_ref()
            .and_then(|(a, _)| a.to_link_attribution()),
        channel: if form.hosted.is_some() {
            Channel::HostedPage
        } else {
            Channel::ExternalForm
        },
        ip_hash: Some(ip_hash(&state.settings.secret, client)),
        referrer_cookie: cookies::portal_visitor(&headers, &state.settings.secret),
    };
    // An email that is already a lead gets the page a new one would (the thanks naming whom
    // this sign-up would credit, or the same refusal of a bad code): the form must not tell
    // anyone whether an address signed up before.
    let captured = match leads::capture(&state, &request).await {
        Ok(outcome) if outcome.created => Ok(leads::credited_name(&outcome.lead)),
        Ok(_) => leads::would_credit(&state, &request).await,
        Err(error) => Err(error),
    };
    match captured {
        Ok(referrer_name) => pages::render(
            StatusCode::OK,
            &ThanksPage {
                campaign_name: campaign.name.clone(),
                brand_color: campaign.brand_color.clone(),
                logo_url: campaign.logo_url.clone(),
                referrer_name,
                friend_reward: offer.1.clone(),
            },
        ),
        Err(AppError::Internal) => pages::internal_error(),
        Err(error) => {
            let mut page = blank_page(&offer);
            page.referrer_name = attributed.filter(|(_, r)| r.active).map(|(_, r)| r.name);
            page.name = form.name.unwrap_or_default();
            page.email = form.email;
            page.referral_code = form.referral_code.unwrap_or_default();
            page.suggestion = error.suggestion().map(str::to_owned);
            match error.field() {
                Some("email") => page.email_error = Some(error.to_string()),
                Some("referral_code") => page.code_error = Some(error.to_string()),
                _ => page.form_error = Some(error.to_string()),
            }
            pages::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
