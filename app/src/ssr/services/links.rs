//! Resolving a referral link slug to where the friend goes, cached in memory so the redirect
//! never waits on the database for a link it has seen recently.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    error::AppError,
    ssr::{
        entities::{campaign, merged_link, referrer},
        services::campaigns::ACTIVE,
        state::AppState,
    },
};

/// Everything the redirect needs to know about one referral link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTarget {
    /// The campaign's id.
    pub campaign_id: i64,
    /// The campaign's slug (for the hosted friend page).
    pub campaign_slug: String,
    /// The referrer's id.
    pub referrer_id: i64,
    /// What goes into `ref=`: the referrer's code, or the link slug when codes are off.
    pub ref_value: String,
    /// The campaign's landing URL; `None` means the hosted friend page.
    pub landing_url: Option<String>,
    /// False when the campaign is paused.
    pub active: bool,
    /// False when an admin deactivated the referrer: the link still leads to the campaign, but
    /// without their code, and a friend it brings is held for review.
    pub referrer_active: bool,
    /// Where the link sends the friend (see [`destination`]), worked out once per cache fill
    /// rather than on every click.
    pub location: axum::http::HeaderValue,
}

/// Lookups are cached this long; edits made by this process clear the cache at once, edits by
/// another process sharing the database are seen within this time.
pub const LINK_CACHE_TTL: Duration = Duration::from_secs(10);

/// Beyond this many entries the cache starts over, so random slugs cannot grow it without bound.
const MAX_ENTRIES: usize = 100_000;

type Entry = (Instant, Option<Arc<LinkTarget>>);

/// A small TTL cache of slug lookups, including misses.
#[derive(Debug, Default)]
pub struct LinkCache {
    entries: RwLock<HashMap<String, Entry>>,
}

impl LinkCache {
    fn get(&self, slug: &str) -> Option<Option<Arc<LinkTarget>>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(slug)
            .filter(|(at, _)| at.elapsed() < LINK_CACHE_TTL)
            .map(|(_, target)| target.clone())
    }

    fn put(&self, slug: &str, target: Option<Arc<LinkTarget>>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(slug.to_owned(), (Instant::now(), target));
    }

    /// Forgets everything: called after any change to campaigns or referrers.
    pub fn invalidate_all(&self) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// True when `slug` could be a link slug at all; anything else is answered 404 without a query.
fn plausible(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The target of the referral link `slug`, or `None` when there is no such link.
pub async fn resolve(state: &AppState, slug: &str) -> Result<Option<Arc<LinkTarget>>, AppError> {
    let slug = slug.to_ascii_lowercase();
    if !plausible(&slug) {
        return Ok(None);
    }
    if let Some(hit) = state.links.get(&slug) {
        return Ok(hit);
    }
    let err = |e| AppError::internal("links::resolve", e);
    let mut referrer = referrer::Entity::find()
        .filter(referrer::Column::Slug.eq(slug.as_str()))
        .one(&state.db)
        .await
        .map_err(err)?;
    if referrer.is_none() {
        // The link of a record merged into another credits the record kept.
        let merged = merged_link::Entity::find()
            .filter(merged_link::Column::Slug.eq(slug.as_str()))
            .one(&state.db)
            .await
            .map_err(err)?;
        if let Some(merged) = merged {
            referrer = referrer::Entity::find_by_id(merged.referrer_id)
                .one(&state.db)
                .await
                .map_err(err)?;
        }
    }
    let target = match referrer {
        None => None,
        Some(r) => campaign::Entity::find_by_id(r.campaign_id)
            .one(&state.db)
            .await
            .map_err(err)?
            .map(|c| {
                let mut target = LinkTarget {
                    campaign_id: c.id,
                    campaign_slug: c.slug,
                    referrer_id: r.id,
                    ref_value: r.code.clone().unwrap_or_else(|| r.slug.clone()),
                    landing_url: c.landing_url,
                    active: c.status == ACTIVE,
                    referrer_active: r.active,
                    location: axum::http::HeaderValue::from_static("/"),
                };
                axum::http::HeaderValue::try_from(destination(&target, &state.settings.public_url))
                    .map(|location| {
                        target.location = location;
                        Arc::new(target)
                    })
                    .map_err(|e| AppError::internal("links::resolve location", e))
            })
            .transpose()?,
    };
    state.links.put(&slug, target.clone());
    Ok(target)
}

/// Where the link sends the friend: the campaign's landing URL with `ref=<code or slug>` added
/// (replacing any `ref` already there), or the hosted friend page. Only ever a URL stored on the
/// campaign, so the link cannot be turned into an open redirect. A deactivated referrer's link
/// adds no `ref`: their code would only be refused at the business's checkout.
pub fn destination(target: &LinkTarget, public_url: &str) -> String {
    match target
        .landing_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
    {
        Some(mut url) => {
            let mut pairs: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "ref")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if target.referrer_active {
                pairs.push(("ref".to_owned(), target.ref_value.clone()));
            }
            if pairs.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(pairs);
            }
            url.to_string()
        }
        None => format!("{public_url}/f/{}", target.campaign_slug),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(landing: Option<&str>) -> LinkTarget {
        LinkTarget {
            campaign_id: 1,
            campaign_slug: "spring".into(),
            referrer_id: 2,
            ref_value: "JANE-7K4Q".into(),
            landing_url: landing.map(str::to_owned),
            active: true,
            referrer_active: true,
            location: axum::http::HeaderValue::from_static("/"),
        }
    }

    #[test]
    fn landing_url_gets_the_code_as_ref_replacing_an_existing_one() {
        let t = target(Some("https://shop.example/signup?utm_source=x&ref=old"));
        assert_eq!(
            destination(&t, "http://h"),
            "https://shop.example/signup?utm_source=x&ref=JANE-7K4Q"
        );
    }

    #[test]
    fn no_landing_url_means_the_hosted_friend_page() {
        assert_eq!(destination(&target(None), "http://h"), "http://h/f/spring");
    }

    #[test]
    fn an_inactive_referrers_link_carries_no_code() {
        let mut t = target(Some("https://shop.example/signup?utm_source=x&ref=old"));
        t.referrer_active = false;
        assert_eq!(
            destination(&t, "http://h"),
            "https://shop.example/signup?utm_source=x"
        );
        let mut bare = target(Some("https://shop.example/signup"));
        bare.referrer_active = false;
        assert_eq!(
            destination(&bare, "http://h"),
            "https://shop.example/signup"
        );
    }

    #[test]
    fn implausible_slugs_are_not_looked_up() {
        assert!(!plausible("../etc"));
        assert!(!plausible(""));
        assert!(plausible("jane-k7m2x9"));
    }
}
