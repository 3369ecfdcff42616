//! Turning a template and its values into the two parts of a branded email.
//!
//! The subject and body are written in the placeholder language of `domain::emails` (the
//! campaign's words); the frame around them (header with logo, the card with QR, link and code,
//! the button, the footer) is an askama layout with inline styles and tables, because mail
//! clients ignore style sheets and many ignore modern layout.

use askama::Template;

use crate::{
    domain::{
        color::Rgb,
        emails::{EmailKind, Values, render_html, render_subject, render_text},
    },
    error::AppError,
    ssr::{entities::campaign, services::campaigns::DEFAULT_BRAND_COLOR},
};

/// The referrer's link, code and QR, shown as a card.
#[derive(Clone, Debug)]
pub struct Card {
    /// The referral link.
    pub link: String,
    /// The referral code, when the campaign has codes.
    pub code: Option<String>,
    /// Where the QR image of the link is served.
    pub qr_url: String,
}

/// The one call to action of an email.
#[derive(Clone, Debug)]
pub struct Button {
    /// What it says.
    pub label: String,
    /// Where it goes.
    pub url: String,
}

/// Everything that varies between two emails of one kind.
#[derive(Clone, Debug)]
pub struct Content<'a> {
    /// The kind.
    pub kind: EmailKind,
    /// The campaign whose branding frames the email.
    pub campaign: &'a campaign::Model,
    /// The placeholder values.
    pub values: Values,
    /// The referrer's card, if the email shows it.
    pub card: Option<Card>,
    /// The call to action.
    pub button: Option<Button>,
    /// The one-click unsubscribe address (notifications only).
    pub unsubscribe_url: Option<String>,
}

/// A rendered email: subject, HTML part and text part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The plain-text part.
    pub text: String,
}

#[derive(Template)]
#[template(path = "email/layout.html")]
struct HtmlLayout<'a> {
    subject: &'a str,
    brand_color: &'a str,
    brand_text: &'a str,
    logo_url: Option<&'a str>,
    campaign_name: &'a str,
    body_html: &'a str,
    card: Option<&'a Card>,
    button: Option<&'a Button>,
    footer: Option<&'a str>,
    unsubscribe_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/layout.txt")]
struct TextLayout<'a> {
    body_text: &'a str,
    campaign_name: &'a str,
    button: Option<&'a Button>,
    footer: Option<&'a str>,
    unsubscribe_url: Option<&'a str>,
}

/// Renders an email in the campaign's branding from a subject and body template (the
/// campaign's own, see `templates`).
pub fn render_template(
    content: &Content<'_>,
    subject_template: &str,
    body_template: &str,
) -> Result<Rendered, AppError> {
    let subject = render_subject(subject_template, &content.values);
    let brand = Rgb::parse(&content.campaign.brand_color)
        .or_else(|| Rgb::parse(DEFAULT_BRAND_COLOR))
        .unwrap_or(Rgb::BLACK);
    let brand_text = brand.readable_text().hex();
    let link_style = "color:#1d4ed8;word-break:break-all;";
    let body_html = render_html(body_template, &content.values, link_style);
    let body_text = render_text(body_template, &content.values);
    let footer = content
        .campaign
        .portal_footer
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty());
    // A logo is only referenced over http(s); anything else would be an odd or unsafe URL.
    let logo_url = content
        .campaign
        .logo_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let html = HtmlLayout {
        subject: &subject,
        brand_color: &brand.hex(),
        brand_text: &brand_text,
        logo_url,
        campaign_name: &content.campaign.name,
        body_html: &body_html,
        card: content.card.as_ref(),
        button: content.button.as_ref(),
        footer,
        unsubscribe_url: content.unsubscribe_url.as_deref(),
    }
    .render()
    .map_err(|e| AppError::internal("emails::render html", e))?;
    let text = TextLayout {
        body_text: body_text.trim_end(),
        campaign_name: &content.campaign.name,
        button: content.button.as_ref(),
        footer,
        unsubscribe_url: content.unsubscribe_url.as_deref(),
    }
    .render()
    .map_err(|e| AppError::internal("emails::render text", e))?;
    Ok(Rendered {
        subject,
        html,
        text,
    })
}
