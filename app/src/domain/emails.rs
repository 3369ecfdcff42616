//! The emails Handoff sends, and the placeholder language their subjects and bodies are written
//! in (`Hi {first_name}, your link is {referral_link}`).
//!
//! Substitution is one pass over the template: a value is never read as a template, so a
//! referrer named `{portal_link}` or `<b>Jane</b>` is printed as exactly that, and in HTML it is
//! escaped.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A kind of email.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// To a referrer: their link, code, QR, the portal entrance and a sign-in link.
    LinkAndCode,
    /// To a referrer who asked to sign in: a single-use link.
    SignIn,
    /// To a referrer: somebody they referred arrived.
    NewReferral,
    /// To a referrer: a referral qualified and earned a reward.
    ReferralQualified,
    /// To a referrer: one import (a CSV file) qualified several of their referrals. Sent once
    /// per referrer when the import ends, instead of one "referral qualified" email per row.
    ReferralsQualified,
    /// To a referrer: a reward was issued (paid out).
    RewardIssued,
    /// To a referred friend in a double-sided campaign: welcome, and their reward.
    FriendWelcome,
}

impl EmailKind {
    /// Every kind, in the order the admin lists them.
    pub const ALL: [EmailKind; 7] = [
        EmailKind::LinkAndCode,
        EmailKind::SignIn,
        EmailKind::NewReferral,
        EmailKind::ReferralQualified,
        EmailKind::ReferralsQualified,
        EmailKind::RewardIssued,
        EmailKind::FriendWelcome,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::LinkAndCode => "link_and_code",
            EmailKind::SignIn => "sign_in",
            EmailKind::NewReferral => "new_referral",
            EmailKind::ReferralQualified => "referral_qualified",
            EmailKind::ReferralsQualified => "referrals_qualified",
            EmailKind::RewardIssued => "reward_issued",
            EmailKind::FriendWelcome => "friend_welcome",
        }
    }

    /// What the admin calls it.
    pub fn label(self) -> &'static str {
        match self {
            EmailKind::LinkAndCode => "Link and code",
            EmailKind::SignIn => "Sign-in link",
            EmailKind::NewReferral => "New referral",
            EmailKind::ReferralQualified => "Referral qualified",
            EmailKind::ReferralsQualified => "Referrals qualified by an import",
            EmailKind::RewardIssued => "Reward issued",
            EmailKind::FriendWelcome => "Friend welcome",
        }
    }

    /// Notifications are what a referrer can turn off; they carry `List-Unsubscribe`. The
    /// link-and-code and sign-in emails are what the referrer (or the business) asked for.
    pub fn is_notification(self) -> bool {
        matches!(
            self,
            EmailKind::NewReferral
                | EmailKind::ReferralQualified
                | EmailKind::ReferralsQualified
                | EmailKind::RewardIssued
        )
    }

    /// Whether a campaign can stop it going out on its own. A sign-in link is only ever sent
    /// because somebody asked for it, so it cannot be turned off.
    pub fn can_turn_off(self) -> bool {
        self != EmailKind::SignIn
    }

    /// The subject and body a campaign starts with.
    pub fn default_template(self) -> (&'static str, &'static str) {
        match self {
            EmailKind::LinkAndCode => (
                "Your referral link and code for {campaign}",
                "Hi {first_name},\n\n\
                 Thanks for spreading the word about {campaign}. Share your link: anyone who \
                 follows it is credited to you.\n\n\
                 Your link: {referral_link}\n\
                 Your code: {referral_code}\n\n\
                 Your code works where a link can't: say it on the phone, write it on a card, \
                 or have your friend type it at checkout.\n\n\
                 {reward}\n\n\
                 Your portal shows your referrals and rewards: {portal_link}",
            ),
            EmailKind::SignIn => (
                "Sign in to your {campaign} referral portal",
                "Hi {first_name},\n\n\
                 Use this link to sign in to your referral portal. It works once, for 30 minutes:\n\n\
                 {sign_in_link}\n\n\
                 If you did not ask for it, ignore this email: nothing changes.",
            ),
            EmailKind::NewReferral => (
                "Somebody you referred just arrived",
                "Hi {first_name},\n\n\
                 {friend_name} arrived through your referral for {campaign}. We'll tell you when \
                 the referral qualifies.\n\n\
                 Follow your referrals in your portal: {portal_link}",
            ),
            EmailKind::ReferralQualified => (
                "Your referral qualified",
                "Hi {first_name},\n\n\
                 {friend_name}'s referral qualified, and you earned: {reward}.\n\n\
                 See your rewards in your portal: {portal_link}",
            ),
            EmailKind::ReferralsQualified => (
                "{count} of your referrals qualified",
                "Hi {first_name},\n\n\
                 {count} of your referrals qualified ({friend_name}), and you earned: {reward}.\n\n\
                 See your rewards in your portal: {portal_link}",
            ),
            EmailKind::RewardIssued => (
                "Your reward was issued",
                "Hi {first_name},\n\n\
                 Your reward was issued: {reward}. Thank you for referring!\n\n\
                 Your portal: {portal_link}",
            ),
            EmailKind::FriendWelcome => (
                "Welcome to {campaign}",
                "Hi {first_name},\n\n\
                 {referrer_name} referred you to {campaign}. {reward}",
            ),
        }
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored kind name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown email kind \"{0}\"")]
pub struct UnknownEmailKind(pub String);

impl FromStr for EmailKind {
    type Err = UnknownEmailKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEmailKind(s.to_owned()))
    }
}

/// Where an email is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// Waiting for the worker (or for SMTP to be configured).
    Pending,
    /// The SMTP server accepted it.
    Sent,
    /// The server refused it for good, or every retry failed.
    Failed,
}

impl EmailStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Pending => "pending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
        }
    }
}

impl FromStr for EmailStatus {
    type Err = UnknownEmailKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [EmailStatus::Pending, EmailStatus::Sent, EmailStatus::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEmailKind(s.to_owned()))
    }
}

/// A value an email template can name in braces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `{first_name}`: the first word of the recipient's name.
    FirstName,
    /// `{name}`: the recipient's full name.
    Name,
    /// `{campaign}`: the campaign's name.
    Campaign,
    /// `{referral_link}`: the referrer's link.
    ReferralLink,
    /// `{referral_code}`: the referrer's code.
    ReferralCode,
    /// `{portal_link}`: the campaign's portal entrance.
    PortalLink,
    /// `{sign_in_link}`: a single-use sign-in link.
    SignInLink,
    /// `{reward}`: what is earned, in the campaign's words.
    Reward,
    /// `{friend_name}`: the referred friend's first name.
    FriendName,
    /// `{referrer_name}`: the referrer's name (in the friend's email).
    ReferrerName,
    /// `{count}`: how many referrals an import qualified (in its summary email).
    Count,
}

impl Placeholder {
    /// Every placeholder.
    pub const ALL: [Placeholder; 11] = [
        Placeholder::FirstName,
        Placeholder::Name,
        Placeholder::Campaign,
        Placeholder::ReferralLink,
        Placeholder::ReferralCode,
        Placeholder::PortalLink,
        Placeholder::SignInLink,
        Placeholder::Reward,
        Placeholder::FriendName,
        Placeholder::ReferrerName,
        Placeholder::Count,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::FirstName => "first_name",
            Placeholder::Name => "name",
            Placeholder::Campaign => "campaign",
            Placeholder::ReferralLink => "referral_link",
            Placeholder::ReferralCode => "referral_code",
            Placeholder::PortalLink => "portal_link",
            Placeholder::SignInLink => "sign_in_link",
            Placeholder::Reward => "reward",
            Placeholder::FriendName => "friend_name",
            Placeholder::ReferrerName => "referrer_name",
            Placeholder::Count => "count",
        }
    }

    /// Whether the value is a URL (written as a link in HTML).
    pub fn is_link(self) -> bool {
        matches!(
            self,
            Placeholder::ReferralLink | Placeholder::PortalLink | Placeholder::SignInLink
        )
    }

    fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The values of one email's placeholders. A placeholder with no value prints as nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(Vec<(Placeholder, String)>);

impl Values {
    /// Sets a value (the last one set wins).
    pub fn set(&mut self, placeholder: Placeholder, value: impl Into<String>) -> &mut Self {
        self.0.retain(|(p, _)| *p != placeholder);
        self.0.push((placeholder, value.into()));
        self
    }

    /// The value of a placeholder, or "".
    pub fn get(&self, placeholder: Placeholder) -> &str {
        self.0
            .iter()
            .find(|(p, _)| *p == placeholder)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The first word of a name, for greetings ("Jane Doe" -> "Jane"); "there" when there is none.
pub fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or("there")
}

/// A piece of a template: text as written, or a placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Value(Placeholder),
}

/// Splits a template into text and placeholders. Braces around anything that is not a known
/// placeholder are text.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Placeholder::from_name(&after[..close]).map(|p| (p, close)))
        {
            Some((placeholder, close)) => {
                if open > 0 {
                    out.push(Piece::Text(&rest[..open]));
                }
                out.push(Piece::Value(placeholder));
                rest = &after[close + 1..];
            }
            None => {
                out.push(Piece::Text(&rest[..=open]));
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// The names in braces that are not placeholders (`{frist_name}`), for the template editor.
pub fn unknown_placeholders(template: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        let looks_like_one =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if looks_like_one && Placeholder::from_name(name).is_none() {
            unknown.push(name.to_owned());
        }
        rest = &after[close + 1..];
    }
    unknown
}

/// The template with its placeholders filled in, as plain text (subjects, the text part).
pub fn render_text(template: &str, values: &Values) -> String {
    pieces(template)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => t,
            Piece::Value(p) => values.get(p),
        })
        .collect()
}

/// A subject line: the text rendering on one line (a value cannot add header lines).
pub fn render_subject(template: &str, values: &Values) -> String {
    render_text(template, values)
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The template as HTML paragraphs: blank lines separate paragraphs, single newlines become
/// `<br>`, every piece of text and every value is escaped, and link values become links.
/// `link_style` is the inline style of those links (mail clients ignore style sheets).
pub fn render_html(template: &str, values: &Values, link_style: &str) -> String {
    let mut html = String::new();
    for piece in pieces(template) {
        match piece {
            Piece::Text(t) => html.push_str(&escape_html(t)),
            Piece::Value(p) => {
                let value = values.get(p);
                if p.is_link() && (value.starts_with("https://") || value.starts_with("http://")) {
                    let value = escape_html(value);
                    html.push_str(&format!(
                        "<a href=\"{value}\" style=\"{}\">{value}</a>",
                        escape_html(link_style)
                    ));
                } else {
                    html.push_str(&escape_html(value));
                }
            }
        }
    }
    // The markup added above holds no newlines, so splitting here only splits text.
    html.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            format!(
                "<p style=\"margin:0 0 16px 0\">{}</p>",
                p.replace('\n', "<br>")
            )
        })
        .collect()
}

/// An email address with the local part masked for display to someone else:
/// `jane@example.com` -> `j***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn values() -> Values {
        let mut v = Values::default();
        v.set(Placeholder::FirstName, "Jane")
            .set(Placeholder::ReferralLink, "https://x.test/r/jane-7k4q")
            .set(Placeholder::ReferralCode, "JANE-7K4Q");
        v
    }

    #[test]
    fn every_kind_reads_back_from_its_stored_name() {
        for kind in EmailKind::ALL {
            assert_eq!(kind.as_str().parse::<EmailKind>(), Ok(kind));
        }
        assert!("welcome".parse::<EmailKind>().is_err());
    }

    #[test]
    fn placeholders_are_filled_and_unknown_braces_stay_as_written() {
        let text = render_text(
            "Hi {first_name}: {referral_code} at {referral_link} {nope} {",
            &values(),
        );
        assert_eq!(
            text,
            "Hi Jane: JANE-7K4Q at https://x.test/r/jane-7k4q {nope} {"
        );
    }

    #[test]
    fn a_value_that_looks_like_a_placeholder_is_printed_not_substituted() {
        let mut v = values();
        v.set(Placeholder::FirstName, "{referral_link}");
        assert_eq!(render_text("Hi {first_name}", &v), "Hi {referral_link}");
    }

    #[test]
    fn html_escapes_values_and_text_and_links_only_link_values() {
        let mut v = values();
        v.set(Placeholder::FirstName, "<script>alert(1)</script>");
        let html = render_html("Hi {first_name} & co\n\n{referral_link}", &v, "color:red");
        assert!(html.contains("Hi &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(html.contains("<a href=\"https://x.test/r/jane-7k4q\" style=\"color:red\">"));
        assert_eq!(html.matches("<p ").count(), 2);
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn a_link_value_that_is_not_http_is_not_made_a_link() {
        let mut v = values();
        v.set(Placeholder::ReferralLink, "javascript:alert(1)");
        let html = render_html("{referral_link}", &v, "");
        assert!(!html.contains("<a "));
    }

    #[test]
    fn subjects_stay_on_one_line() {
        let mut v = values();
        v.set(Placeholder::FirstName, "Jane\r\nBcc: victim@example.com");
        assert_eq!(
            render_subject("Hi {first_name}", &v),
            "Hi Jane Bcc: victim@example.com"
        );
    }

    #[test]
    fn unknown_placeholders_are_reported_for_the_editor() {
        assert_eq!(
            unknown_placeholders("{frist_name} {first_name} {a b} {}"),
            vec!["frist_name".to_owned()]
        );
    }

    #[test]
    fn masked_emails_keep_the_first_letter_and_the_domain() {
        assert_eq!(mask_email("jane@example.com"), "j***@example.com");
        assert_eq!(mask_email("broken"), "***");
    }

    #[test]
    fn every_default_template_names_only_known_placeholders() {
        for kind in EmailKind::ALL {
            let (subject, body) = kind.default_template();
            assert!(unknown_placeholders(subject).is_empty(), "{kind}");
            assert!(unknown_placeholders(body).is_empty(), "{kind}");
        }
    }

    proptest! {
        #[test]
        fn no_value_can_open_a_tag_in_html(name in ".{0,40}") {
            let mut v = values();
            v.set(Placeholder::FirstName, name);
            let html = render_html("{first_name}", &v, "");
            prop_assert!(!html.contains("<s"), "{}", html);
            prop_assert!(!html.replace("<p style=\"margin:0 0 16px 0\">", "").replace("</p>", "").replace("<br>", "").contains('<'));
        }

        #[test]
        fn text_rendering_of_plain_text_is_the_text(text in "[^{}]{0,60}") {
            prop_assert_eq!(render_text(&text, &values()), text);
        }
    }
}
