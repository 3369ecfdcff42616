//! `AppState`: built once at start-up, shared by the Leptos routes, server functions and the
//! axum routes of the `server` crate.

use std::{sync::Arc, time::Duration};

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;

use crate::ssr::services::{
    clicks::NewClick,
    conversions::ConversionQueue,
    links::LinkCache,
    rules::RulesCache,
    throttle::{LoginThrottle, PasswordHashing, RateLimiter, TokenBuckets},
};

/// Requests per minute (a burst of as many) one client address may make to each kind of public
/// endpoint; 0 turns a limit off. `HANDOFF_RATE_LIMITS` sets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// `GET /r/{slug}`: referral link clicks.
    pub redirects: u32,
    /// `POST /f/{campaign}`: the friend form (it writes a lead).
    pub friend_form: u32,
    /// `POST /webhooks/...`: Stripe and inbound sources.
    pub webhooks: u32,
    /// `/api/v1/...`: the REST API.
    pub api: u32,
}

impl Default for RateLimits {
    /// Far above what a person or an office behind one address does, far below a flood.
    fn default() -> Self {
        Self {
            redirects: 120,
            friend_form: 20,
            webhooks: 600,
            api: 600,
        }
    }
}

/// Settings the application logic needs at run time (the full configuration lives in `server`).
#[derive(Clone)]
pub struct RuntimeSettings {
    /// How links are written, without a trailing slash: `https://refer.example.com`.
    pub public_url: String,
    /// Signing key for portal tokens, IP hashing and the like. Never printed.
    pub secret: Arc<[u8]>,
    /// Whether cookies get the `Secure` attribute (public URL is https).
    pub secure_cookies: bool,
    /// The data directory (uploads are spooled under `uploads/`).
    pub data_dir: std::path::PathBuf,
    /// Stripe's webhook signing secret from the environment; wins over the admin's setting.
    pub stripe_webhook_secret: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (empty: the TCP peer is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests per minute each client address may make to the public endpoints.
    pub rate_limits: RateLimits,
    /// Whether webhooks and CRM calls may reach loopback, private and link-local addresses
    /// (`HANDOFF_ALLOW_PRIVATE_NETWORKS`; see `services::outbound_net`).
    pub allow_private_networks: bool,
    /// A CSV preview of a larger file than this runs on a copy of a SQLite database, so that it
    /// does not hold up other writes (see `services::imports`).
    pub preview_copy_bytes: u64,
    /// Whether an SMTP server is configured. Without one, emails are still written (rendered,
    /// readable in the database), but nothing sends them.
    pub email_sending: bool,
    /// The configured sender (`HANDOFF_SMTP_FROM`), which an admin may override on the Emails
    /// page (`services::emails::sender`).
    pub smtp_from: String,
    /// The configured reply-to address (`HANDOFF_SMTP_REPLY_TO`), if any.
    pub smtp_reply_to: Option<String>,
}

impl std::fmt::Debug for RuntimeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeSettings")
            .field("public_url", &self.public_url)
            .field("secret", &"[redacted]")
            .field("secure_cookies", &self.secure_cookies)
            .field("data_dir", &self.data_dir)
            .field(
                "stripe_webhook_secret",
                &self.stripe_webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("preview_copy_bytes", &self.preview_copy_bytes)
            .field("email_sending", &self.email_sending)
            .finish()
    }
}

/// The application's shared state. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos' own options (site root, output name, address).
    pub leptos_options: LeptosOptions,
    /// The connection pool.
    pub db: DatabaseConnection,
    /// Run-time settings.
    pub settings: Arc<RuntimeSettings>,
    /// Referral-link lookups, cached so the redirect does not wait for the database.
    pub links: Arc<LinkCache>,
    /// Clicks go here and are written in batches by a background worker.
    pub clicks: mpsc::Sender<NewClick>,
    /// Failed-login counters.
    pub login_throttle: Arc<LoginThrottle>,
    /// Campaigns and their rules, for the conversion path.
    pub rules_cache: Arc<RulesCache>,
    /// Conversion events waiting to be written together (group commit).
    pub conversion_queue: Arc<ConversionQueue>,
    /// Portal sign-in and join requests per email address and per client address.
    pub portal_limits: Arc<PortalLimits>,
    /// Admin login attempts per client address.
    pub login_limits: Arc<LoginLimits>,
    /// The public endpoints' per-client limits (`RuntimeSettings::rate_limits`).
    pub public_limits: Arc<PublicLimits>,
    /// How many password hashes may run and wait at once.
    pub password_hashing: Arc<PasswordHashing>,
}

/// Rate limit of the admin's login per client address (its email has [`LoginThrottle`]).
#[derive(Debug)]
pub struct LoginLimits {
    /// Per client address.
    pub by_client: RateLimiter,
    /// Per client address and email: one guesser at one account backs off before the email
    /// itself is paused (which then takes guessing from several addresses).
    pub by_client_and_email: RateLimiter,
}

/// Failed admin logins allowed per client address per 15 minutes.
pub const LOGINS_PER_CLIENT: u32 = 30;
/// Failed admin logins allowed per client address and email per 15 minutes: fewer than the
/// email's own pause (`throttle::MAX_FAILURES`), so one address alone cannot pause an account.
pub const LOGINS_PER_CLIENT_AND_EMAIL: u32 = 5;

/// Rate limits of the portal's forms that send email.
#[derive(Debug)]
pub struct PortalLimits {
    /// Per email address.
    pub by_email: RateLimiter,
    /// Per client address.
    pub by_client: RateLimiter,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State around a pool and settings; the link cache starts empty.
    pub fn new(
        leptos_options: LeptosOptions,
        db: DatabaseConnection,
        settings: RuntimeSettings,
        clicks: mpsc::Sender<NewClick>,
    ) -> Self {
        let settings_limits = settings.rate_limits;
        Self {
            leptos_options,
            db,
            settings: Arc::new(settings),
            links: Arc::new(LinkCache::default()),
            clicks,
            login_throttle: Arc::new(LoginThrottle::default()),
            rules_cache: Arc::new(RulesCache::default()),
            conversion_queue: Arc::new(ConversionQueue::default()),
            // A person asks for a link now and then; a script asks for hundreds.
            portal_limits: Arc::new(PortalLimits {
                by_email: RateLimiter::new(5, Duration::from_secs(15 * 60)),
                by_client: RateLimiter::new(20, Duration::from_secs(15 * 60)),
            }),
            // Successful logins give their attempt back, so this counts failures: an office
            // behind one address mistyping now and then never meets it; a guesser from one
            // address gets 30 tries per 15 minutes.
            login_limits: Arc::new(LoginLimits {
                by_client: RateLimiter::new(LOGINS_PER_CLIENT, Duration::from_secs(15 * 60)),
                by_client_and_email: RateLimiter::new(
                    LOGINS_PER_CLIENT_AND_EMAIL,
                    Duration::from_secs(15 * 60),
                ),
            }),
            password_hashing: Arc::new(PasswordHashing::default()),
            public_limits: Arc::new(PublicLimits {
                redirects: TokenBuckets::new(settings_limits.redirects),
                friend_form: TokenBuckets::new(settings_limits.friend_form),
                webhooks: TokenBuckets::new(settings_limits.webhooks),
                api: TokenBuckets::new(settings_limits.api),
                clicks_dropped: std::sync::atomic::AtomicU64::new(0),
                connections: ConnectionCounts::default(),
            }),
        }
    }
}

/// Token buckets per client address for each kind of public endpoint.
#[derive(Debug)]
pub struct PublicLimits {
    /// Referral link clicks.
    pub redirects: TokenBuckets,
    /// Friend form posts.
    pub friend_form: TokenBuckets,
    /// Webhooks in.
    pub webhooks: TokenBuckets,
    /// The REST API.
    pub api: TokenBuckets,
    /// Clicks not recorded because the click queue was full (a flood): dropped, not queued in
    /// a task each, so a flood cannot grow memory without bound.
    pub clicks_dropped: std::sync::atomic::AtomicU64,
    /// The server's connections (kept by its accept loop).
    pub connections: ConnectionCounts,
}

/// Live connection counts, kept by the server's accept loop and shown on `GET /metrics`.
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    /// Connections being served now.
    pub open: std::sync::atomic::AtomicUsize,
    /// Connections accepted since start.
    pub accepted: std::sync::atomic::AtomicU64,
    /// Connections closed at once because their address already had its share open.
    pub refused_per_client: std::sync::atomic::AtomicU64,
}
