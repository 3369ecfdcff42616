//! Fraud signals. A signal flags a lead and holds its qualification for an admin's review; it
//! never drops anything silently.

use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::{
    error::AppError,
    ssr::entities::{lead, referrer},
};

/// The friend's normalized email is the referrer's own, or the friend's browser is the
/// referrer's (it carries the referrer's portal cookie).
pub const SELF_REFERRAL: &str = "self_referral";
/// The friend signed up from the IP address the referrer last used.
pub const SAME_IP: &str = "same_ip";
/// The friend's email is at a throwaway-mailbox provider.
pub const DISPOSABLE_EMAIL: &str = "disposable_email";
/// Many leads from one IP address in a short time.
pub const IP_BURST: &str = "ip_burst";

/// Leads from one IP within [`BURST_WINDOW_MINUTES`] at which the next one is flagged.
pub const BURST_LIMIT: u64 = 5;
/// The window of the burst signal.
pub const BURST_WINDOW_MINUTES: i64 = 60;

/// What is known about a new lead when it is created.
#[derive(Clone, Copy, Debug)]
pub struct NewLead<'a> {
    /// Campaign id.
    pub campaign_id: i64,
    /// The referrer it will be credited to.
    pub referrer: &'a referrer::Model,
    /// Its normalized email (or the synthetic key of a lead without one).
    pub email_normalized: &'a str,
    /// Keyed hash of the friend's IP, when the lead came from a browser.
    pub ip_hash: Option<&'a str>,
    /// The friend's browser carries the credited referrer's own portal cookie.
    pub referrers_own_browser: bool,
}

/// The fraud signals a new lead raises, each with a sentence for its timeline.
pub async fn assess(
    db: &impl ConnectionTrait,
    new: NewLead<'_>,
) -> Result<Vec<(&'static str, String)>, AppError> {
    let recent_from_ip = match new.ip_hash {
        Some(ip) => Some(
            lead::Entity::find()
                .filter(lead::Column::CampaignId.eq(new.campaign_id))
                .filter(lead::Column::IpHash.eq(ip))
                .filter(
                    lead::Column::CreatedAt
                        .gt(Utc::now() - Duration::minutes(BURST_WINDOW_MINUTES)),
                )
                .count(db)
                .await
                .map_err(|e| AppError::internal("fraud::assess burst", e))?,
        ),
        None => None,
    };
    Ok(signals(new, recent_from_ip))
}

/// The signals of a new lead, given how many leads came from its IP in the burst window (when it
/// came from a browser). Pure, so a batch of conversions can judge many leads without a query.
pub fn signals(new: NewLead<'_>, recent_from_ip: Option<u64>) -> Vec<(&'static str, String)> {
    let mut flags = Vec::new();
    if new.referrer.email_normalized == new.email_normalized {
        flags.push((
            SELF_REFERRAL,
            "Flagged as a self-referral: the friend's email is the referrer's own. Held for review."
                .to_owned(),
        ));
    } else if new.referrers_own_browser {
        flags.push((
            SELF_REFERRAL,
            "Flagged as a self-referral: the sign-up came from the referrer's own browser. Held for review."
                .to_owned(),
        ));
    }
    if let Some(ip) = new.ip_hash
        && new.referrer.last_ip_hash.as_deref() == Some(ip)
    {
        flags.push((
            SAME_IP,
            "Flagged: the friend signed up from the referrer's IP address. Held for review."
                .to_owned(),
        ));
    }
    if let Some(recent) = recent_from_ip
        && recent >= BURST_LIMIT
    {
        flags.push((
            IP_BURST,
            format!(
                "Flagged: {recent} other sign-ups came from the same IP address in the last hour. Held for review."
            ),
        ));
    }
    if let Some((_, domain)) = new.email_normalized.rsplit_once('@')
        && is_disposable_domain(domain)
    {
        flags.push((
            DISPOSABLE_EMAIL,
            format!("Flagged: {domain} hands out throwaway mailboxes. Held for review."),
        ));
    }
    flags
}

/// The disposable-mailbox domains, in a set: `mailchecker::is_valid` scans its list of some
/// 50,000 domains for every address, which made this check most of a CSV import's time.
static DISPOSABLE: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| mailchecker::blacklist().into_iter().collect());

/// Whether `domain` belongs to a known disposable-mailbox provider: the domain or any parent of
/// it below the top level (`x.mailinator.com` counts as `mailinator.com`), as mailchecker reads it.
pub fn is_disposable_domain(domain: &str) -> bool {
    let domain = domain.trim().to_ascii_lowercase();
    let mut rest = domain.as_str();
    loop {
        let Some((_, parent)) = rest.split_once('.') else {
            return false;
        };
        if DISPOSABLE.contains(rest) {
            return true;
        }
        rest = parent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposable_domains_are_known() {
        assert!(is_disposable_domain("mailinator.com"));
        assert!(is_disposable_domain("yopmail.com"));
        assert!(!is_disposable_domain("gmail.com"));
        assert!(!is_disposable_domain("example.org"));
        assert!(is_disposable_domain("inbox.mailinator.com"));
        assert!(is_disposable_domain("Mailinator.COM"));
        assert!(!is_disposable_domain("com"));
        // The set answers exactly as mailchecker's own scan.
        for domain in [
            "mailinator.com",
            "a.b.yopmail.com",
            "gmail.com",
            "example.org",
            "x.y",
        ] {
            assert_eq!(
                is_disposable_domain(domain),
                !mailchecker::is_valid(&format!("someone@{domain}")),
                "{domain}"
            );
        }
    }
}
