//! `Settings`: defaults, then an optional TOML file, then `HANDOFF_*` / `DATABASE_URL`
//! environment variables. A bad value is one clear error line, never a panic.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use app::ssr::services::emails::smtp::{SmtpUrl, parse_mailbox};
use serde::Deserialize;

/// Environment variables Handoff reads. Any other `HANDOFF_` variable gets a warning, since it
/// is most likely a typo.
pub const KNOWN_VARS: [&str; 19] = [
    "HANDOFF_DATA_DIR",
    "HANDOFF_ADDR",
    "HANDOFF_PUBLIC_URL",
    "HANDOFF_SECRET",
    "HANDOFF_CONFIG",
    "HANDOFF_SITE_ROOT",
    "HANDOFF_CLICK_FLUSH_MS",
    "HANDOFF_STRIPE_WEBHOOK_SECRET",
    "HANDOFF_OUTBOX_POLL_MS",
    "HANDOFF_TRUSTED_PROXIES",
    "HANDOFF_PREVIEW_COPY_MB",
    "HANDOFF_SMTP_URL",
    "HANDOFF_SMTP_FROM",
    "HANDOFF_SMTP_REPLY_TO",
    "HANDOFF_ALLOW_PRIVATE_NETWORKS",
    "HANDOFF_RATE_LIMITS",
    "HANDOFF_MAX_CONNECTIONS",
    "HANDOFF_MAX_CONNECTIONS_PER_CLIENT",
    "HANDOFF_TIMEOUTS",
];

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The raw bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `sqlite://...` (default, under the data directory) or `postgres://...`.
    pub database_url: String,
    /// Where the SQLite database and the generated secret live.
    pub data_dir: PathBuf,
    /// Bind address.
    pub addr: SocketAddr,
    /// How links are written (no trailing slash).
    pub public_url: String,
    /// Signing key.
    pub secret: Secret,
    /// Where the compiled site (`pkg/`, CSS, `public/` assets) is.
    pub site_root: PathBuf,
    /// How often batched clicks are written, in milliseconds.
    pub click_flush_ms: u64,
    /// Stripe's webhook signing secret (`whsec_...`); overrides the one set in the admin.
    pub stripe_webhook_secret: Option<Secret>,
    /// How often the outbox worker looks for webhooks to send, in milliseconds.
    pub outbox_poll_ms: u64,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// CSV files larger than this many MB are previewed on a copy of a SQLite database.
    pub preview_copy_mb: u64,
    /// The SMTP server emails go through; `None` keeps them in the database unsent.
    pub smtp_url: Option<SmtpUrl>,
    /// The sender: `refer@example.com` or `Example <refer@example.com>`.
    pub smtp_from: String,
    /// Where replies go, when not to the sender.
    pub smtp_reply_to: Option<String>,
    /// Whether webhooks and CRM calls may go to loopback, private and link-local addresses
    /// (off: only public addresses, against server-side request forgery).
    pub allow_private_networks: bool,
    /// Requests per minute per client address to the public endpoints.
    pub rate_limits: app::ssr::state::RateLimits,
    /// Connections served at once, and how long a client may take.
    pub client_limits: crate::serve::ClientLimits,
}

/// The optional configuration file: every key is optional and the environment wins over it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    addr: Option<String>,
    public_url: Option<String>,
    secret: Option<String>,
    site_root: Option<PathBuf>,
    click_flush_ms: Option<u64>,
    stripe_webhook_secret: Option<String>,
    outbox_poll_ms: Option<u64>,
    trusted_proxies: Option<String>,
    preview_copy_mb: Option<u64>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    smtp_reply_to: Option<String>,
    allow_private_networks: Option<bool>,
    rate_limits: Option<String>,
    max_connections: Option<u64>,
    max_connections_per_client: Option<u64>,
    timeouts: Option<String>,
}

/// Why the settings could not be loaded: printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is malformed.
    #[error("{name}: {reason}")]
    Invalid {
        /// The setting's name as the user wrote it.
        name: String,
        /// What is wrong, and what is expected.
        reason: String,
    },
    /// The file could not be read or parsed.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

fn invalid(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Where to find settings: the environment, and an explicit config file path.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Environment variables (a map, so tests can pass their own).
    pub env: BTreeMap<String, String>,
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
}

impl Sources {
    /// The process environment.
    pub fn from_process(config_file: Option<PathBuf>) -> Self {
        Self {
            env: std::env::vars().collect(),
            config_file,
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `HANDOFF_` variables that Handoff does not know.
    pub fn unknown_vars(&self) -> Vec<&str> {
        self.env
            .keys()
            .map(String::as_str)
            .filter(|k| k.starts_with("HANDOFF_") && !KNOWN_VARS.contains(k))
            .collect()
    }
}

fn parse_addr(name: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        invalid(
            name,
            format!("'{value}' is not an address; expected IP:PORT such as 127.0.0.1:3000"),
        )
    })
}

fn parse_public_url(name: &str, value: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| {
        invalid(
            name,
            format!("'{value}' is not a URL ({e}); expected e.g. https://refer.example.com"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            name,
            "must be an http:// or https:// URL with a host",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(name, "must not have a query or fragment"));
    }
    if url.path() != "/" {
        // Pages are served from the root; a path prefix would write links that lead nowhere.
        return Err(invalid(
            name,
            "must not have a path (Handoff is served from the root of its host)",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn parse_database_url(name: &str, value: &str) -> Result<String, ConfigError> {
    if value.starts_with("sqlite:")
        || value.starts_with("postgres://")
        || value.starts_with("postgresql://")
    {
        Ok(value.to_owned())
    } else {
        Err(invalid(
            name,
            "must start with sqlite: or postgres:// (e.g. postgres://user:pass@host/db)",
        ))
    }
}

fn secret_value(name: &str, value: &str) -> Result<Secret, ConfigError> {
    if value.len() < 32 {
        return Err(invalid(name, "must be at least 32 characters"));
    }
    Ok(Secret(value.as_bytes().to_vec()))
}

/// Reads the secret kept in the data directory, or makes and stores a new one.
fn data_dir_secret(data_dir: &Path) -> Result<Secret, ConfigError> {
    let path = data_dir.join("secret");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim()).map_err(|_| {
                invalid(
                    &path.display().to_string(),
                    "is not hex; delete it to make a new secret",
                )
            })?;
            if bytes.len() < 32 {
                return Err(invalid(
                    &path.display().to_string(),
                    "is shorter than 32 bytes",
                ));
            }
            Ok(Secret(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = vec![0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            write_private(&path, &hex::encode(&bytes)).map_err(|e| {
                invalid(
                    &path.display().to_string(),
                    format!("cannot write the generated secret: {e}"),
                )
            })?;
            Ok(Secret(bytes))
        }
        Err(e) => Err(invalid(
            &path.display().to_string(),
            format!("cannot read: {e}"),
        )),
    }
}

/// Writes `contents` to `path` as a file only its owner may read (0600 on Unix), replacing
/// any file there.
pub fn replace_private(path: &Path, contents: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    write_private(path, contents)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    private_file_options()
        .open(path)?
        .write_all(contents.as_bytes())
}

/// Options that create a new file only its owner may read or write (0600 on Unix): the data
/// directory's files hold personal data and secrets.
fn private_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `path` empty and private (0600) unless it exists: SQLite then opens it as a new
/// database, and creates its `-wal` and `-shm` files with the same permissions.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    match private_file_options().open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates `path` and its missing parents only their owner may enter (0700 on Unix). A
/// directory that exists keeps its permissions: it is the administrator's.
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// The compiled site: `HANDOFF_SITE_ROOT`/`LEPTOS_SITE_ROOT`, else next to the binary
/// (`target/release/handoff` -> `target/site`), else `./target/site`. Looking beside the binary
/// is what lets it serve its own assets from whatever directory it is started in.
fn find_site_root(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(path) = explicit {
        return path;
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("site"));
        candidates.push(dir.join("../site"));
    }
    candidates.push(PathBuf::from("target/site"));
    candidates
        .into_iter()
        .find(|c| c.join("pkg").is_dir())
        .unwrap_or_else(|| PathBuf::from("target/site"))
}

/// A list of proxy addresses or CIDR ranges, separated by commas or spaces: `127.0.0.1,
/// 10.0.0.0/8, ::1`. A bare address stands for itself alone.
/// `redirects=120, friend_form=20, webhooks=600, api=600` (any of them; the rest keep their
/// defaults; 0 turns one off).
fn parse_rate_limits(name: &str, value: &str) -> Result<app::ssr::state::RateLimits, ConfigError> {
    let mut limits = app::ssr::state::RateLimits::default();
    for (key, number) in named_numbers(name, value, "api=600", 1_000_000)? {
        let number = u32::try_from(number).unwrap_or(u32::MAX);
        match key {
            "redirects" => limits.redirects = number,
            "friend_form" => limits.friend_form = number,
            "webhooks" => limits.webhooks = number,
            "api" => limits.api = number,
            other => {
                return Err(invalid(
                    name,
                    format!("unknown limit `{other}` (redirects, friend_form, webhooks, api)"),
                ));
            }
        }
    }
    Ok(limits)
}

/// `headers=10, body=30, request=60, upload=1800` in seconds (any of them; the rest keep their
/// defaults), over the default client limits.
fn parse_timeouts(
    name: &str,
    value: &str,
    mut limits: crate::serve::ClientLimits,
) -> Result<crate::serve::ClientLimits, ConfigError> {
    for (key, seconds) in named_numbers(name, value, "request=60", 86_400)? {
        if seconds == 0 {
            return Err(invalid(
                name,
                format!("`{key}`: a timeout must be at least 1 second"),
            ));
        }
        let seconds = std::time::Duration::from_secs(seconds);
        match key {
            "headers" => limits.header_timeout = seconds,
            "body" => limits.body_timeout = seconds,
            "request" => limits.request_timeout = seconds,
            "upload" => limits.upload_timeout = seconds,
            other => {
                return Err(invalid(
                    name,
                    format!("unknown timeout `{other}` (headers, body, request, upload)"),
                ));
            }
        }
    }
    Ok(limits)
}

/// A count from the environment (`names.0`, which wins) or the file (`names.1`): `least` to
/// 100000, `None` when neither sets it.
fn whole_number(
    sources: &Sources,
    names: (&str, &str),
    from_file: Option<u64>,
    least: u64,
) -> Result<Option<usize>, ConfigError> {
    let (name, value) = match (sources.get(names.0), from_file) {
        (Some(v), _) => (names.0, v.trim().parse::<u64>().ok()),
        (None, Some(n)) => (names.1, Some(n)),
        (None, None) => return Ok(None),
    };
    value
        .filter(|n| (least..=100_000).contains(n))
        .and_then(|n| usize::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            invalid(
                name,
                format!("must be a whole number from {least} to 100000"),
            )
        })
}

/// The `name=number` pairs of a setting, separated by commas or spaces, each number 0 to `max`;
/// `example` shows the form in the error message.
fn named_numbers<'a>(
    name: &str,
    value: &'a str,
    example: &str,
    max: u64,
) -> Result<Vec<(&'a str, u64)>, ConfigError> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, number) = pair.split_once('=').ok_or_else(|| {
                invalid(
                    name,
                    format!("`{pair}` is not name=number (for example {example})"),
                )
            })?;
            let number = number
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| invalid(name, format!("`{pair}`: the number must be 0 to {max}")))?;
            Ok((key.trim(), number))
        })
        .collect()
}

fn parse_trusted_proxies(name: &str, value: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        name,
                        format!(
                            "\"{entry}\" is not an IP address or CIDR range (such as 10.0.0.0/8)"
                        ),
                    )
                })
        })
        .collect()
}

/// A sender or reply-to address, checked now so that a typo stops the server at start-up
/// rather than failing every email later.
fn mailbox(name: &str, value: &str) -> Result<String, ConfigError> {
    parse_mailbox(value)
        .map(|m| m.to_string())
        .map_err(|e| invalid(name, e))
}

/// The sender when none is configured: `Handoff <handoff@HOST>` for the public URL's host.
fn default_sender(public_url: &str) -> String {
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned());
    // An IP address is not a mail domain; `localhost` keeps the address well-formed.
    let host = if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        "localhost".to_owned()
    } else {
        host
    };
    format!("Handoff <handoff@{host}>")
}

impl Settings {
    /// Loads settings from `sources`. Creates the data directory and its secret when needed.
    pub fn load(sources: &Sources) -> Result<Settings, ConfigError> {
        let file_path = sources
            .config_file
            .clone()
            .or_else(|| sources.get("HANDOFF_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    reason: e.message().to_owned(),
                })?
            }
            None => FileConfig::default(),
        };

        let data_dir = sources
            .get("HANDOFF_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        create_private_dir(&data_dir).map_err(|e| {
            invalid(
                "HANDOFF_DATA_DIR",
                format!("cannot create {}: {e}", data_dir.display()),
            )
        })?;

        let addr = match sources.get("HANDOFF_ADDR") {
            Some(v) => parse_addr("HANDOFF_ADDR", v)?,
            None => match &file.addr {
                Some(v) => parse_addr("addr", v)?,
                None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            },
        };

        let public_url = match sources.get("HANDOFF_PUBLIC_URL") {
            Some(v) => parse_public_url("HANDOFF_PUBLIC_URL", v)?,
            None => match &file.public_url {
                Some(v) => parse_public_url("public_url", v)?,
                None => format!("http://{addr}"),
            },
        };

        let database_url = match sources.get("DATABASE_URL") {
            Some(v) => parse_database_url("DATABASE_URL", v)?,
            None => match &file.database_url {
                Some(v) => parse_database_url("database_url", v)?,
                None => format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("handoff.db").display()
                ),
            },
        };

        let secret = match (sources.get("HANDOFF_SECRET"), file.secret) {
            (Some(s), _) => secret_value("HANDOFF_SECRET", s)?,
            (None, Some(s)) => secret_value("secret", &s)?,
            (None, None) => data_dir_secret(&data_dir)?,
        };

        let site_root = find_site_root(
            sources
                .get("HANDOFF_SITE_ROOT")
                .or_else(|| sources.get("LEPTOS_SITE_ROOT"))
                .map(PathBuf::from)
                .or(file.site_root),
        );

        let click_flush_ms = match sources.get("HANDOFF_CLICK_FLUSH_MS") {
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| invalid("HANDOFF_CLICK_FLUSH_MS", "must be 1 to 1000"))?,
            None => match file.click_flush_ms {
                Some(n) if (1..=1000).contains(&n) => n,
                Some(_) => return Err(invalid("click_flush_ms", "must be 1 to 1000")),
                None => 200,
            },
        };

        let stripe_webhook_secret = sources
            .get("HANDOFF_STRIPE_WEBHOOK_SECRET")
            .map(str::to_owned)
            .or(file.stripe_webhook_secret)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .map(|s| Secret(s.into_bytes()));

        let outbox_poll_ms = match sources.get("HANDOFF_OUTBOX_POLL_MS") {
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (10..=60_000).contains(n))
                .ok_or_else(|| invalid("HANDOFF_OUTBOX_POLL_MS", "must be 10 to 60000"))?,
            None => match file.outbox_poll_ms {
                Some(n) if (10..=60_000).contains(&n) => n,
                Some(_) => return Err(invalid("outbox_poll_ms", "must be 10 to 60000")),
                None => 1000,
            },
        };

        let trusted_proxies = match sources.get("HANDOFF_TRUSTED_PROXIES") {
            Some(v) => parse_trusted_proxies("HANDOFF_TRUSTED_PROXIES", v)?,
            None => match &file.trusted_proxies {
                Some(v) => parse_trusted_proxies("trusted_proxies", v)?,
                None => Vec::new(),
            },
        };

        let preview_copy_mb = match sources.get("HANDOFF_PREVIEW_COPY_MB") {
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 1_000_000)
                .ok_or_else(|| invalid("HANDOFF_PREVIEW_COPY_MB", "must be 0 to 1000000"))?,
            None => match file.preview_copy_mb {
                Some(n) if n <= 1_000_000 => n,
                Some(_) => return Err(invalid("preview_copy_mb", "must be 0 to 1000000")),
                None => 5,
            },
        };

        let smtp_url = match (sources.get("HANDOFF_SMTP_URL"), &file.smtp_url) {
            (Some(v), _) => Some(SmtpUrl::parse(v).map_err(|e| invalid("HANDOFF_SMTP_URL", e))?),
            (None, Some(v)) => Some(SmtpUrl::parse(v).map_err(|e| invalid("smtp_url", e))?),
            (None, None) => None,
        };
        let smtp_from = match (sources.get("HANDOFF_SMTP_FROM"), &file.smtp_from) {
            (Some(v), _) => mailbox("HANDOFF_SMTP_FROM", v)?,
            (None, Some(v)) => mailbox("smtp_from", v)?,
            (None, None) => default_sender(&public_url),
        };
        let smtp_reply_to = match (sources.get("HANDOFF_SMTP_REPLY_TO"), &file.smtp_reply_to) {
            (Some(v), _) => Some(mailbox("HANDOFF_SMTP_REPLY_TO", v)?),
            (None, Some(v)) => Some(mailbox("smtp_reply_to", v)?),
            (None, None) => None,
        };

        let allow_private_networks = match sources.get("HANDOFF_ALLOW_PRIVATE_NETWORKS") {
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" | "" => false,
                _ => {
                    return Err(invalid(
                        "HANDOFF_ALLOW_PRIVATE_NETWORKS",
                        "must be true or false",
                    ));
                }
            },
            None => file.allow_private_networks.unwrap_or(false),
        };

        let rate_limits = match (sources.get("HANDOFF_RATE_LIMITS"), &file.rate_limits) {
            (Some(v), _) => parse_rate_limits("HANDOFF_RATE_LIMITS", v)?,
            (None, Some(v)) => parse_rate_limits("rate_limits", v)?,
            (None, None) => app::ssr::state::RateLimits::default(),
        };

        let mut client_limits = crate::serve::ClientLimits::default();
        if let Some(n) = whole_number(
            sources,
            ("HANDOFF_MAX_CONNECTIONS", "max_connections"),
            file.max_connections,
            1,
        )? {
            client_limits.max_connections = n;
        }
        if let Some(n) = whole_number(
            sources,
            (
                "HANDOFF_MAX_CONNECTIONS_PER_CLIENT",
                "max_connections_per_client",
            ),
            file.max_connections_per_client,
            0,
        )? {
            client_limits.max_connections_per_client = n;
        }
        client_limits = match (sources.get("HANDOFF_TIMEOUTS"), &file.timeouts) {
            (Some(v), _) => parse_timeouts("HANDOFF_TIMEOUTS", v, client_limits)?,
            (None, Some(v)) => parse_timeouts("timeouts", v, client_limits)?,
            (None, None) => client_limits,
        };

        Ok(Settings {
            database_url,
            data_dir,
            addr,
            public_url,
            secret,
            site_root,
            click_flush_ms,
            stripe_webhook_secret,
            outbox_poll_ms,
            trusted_proxies,
            preview_copy_mb,
            smtp_url,
            smtp_from,
            smtp_reply_to,
            allow_private_networks,
            rate_limits,
            client_limits,
        })
    }

    /// The settings the application logic needs, with links written for `public_url`.
    pub fn runtime_for(&self, public_url: &str) -> app::ssr::state::RuntimeSettings {
        app::ssr::state::RuntimeSettings {
            public_url: public_url.to_owned(),
            secret: std::sync::Arc::from(self.secret.expose()),
            secure_cookies: public_url.starts_with("https://"),
            data_dir: self.data_dir.clone(),
            stripe_webhook_secret: self
                .stripe_webhook_secret
                .as_ref()
                .map(|s| String::from_utf8_lossy(s.expose()).into_owned()),
            trusted_proxies: self.trusted_proxies.clone(),
            preview_copy_bytes: self.preview_copy_mb.saturating_mul(1024 * 1024),
            email_sending: self.smtp_url.is_some(),
            smtp_from: self.smtp_from.clone(),
            smtp_reply_to: self.smtp_reply_to.clone(),
            allow_private_networks: self.allow_private_networks,
            rate_limits: self.rate_limits,
        }
    }

    /// The settings the application logic needs.
    pub fn runtime(&self) -> app::ssr::state::RuntimeSettings {
        self.runtime_for(&self.public_url)
    }

    /// Whether cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(pairs: &[(&str, &str)], dir: &Path) -> Sources {
        let mut env: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.insert("HANDOFF_DATA_DIR".into(), dir.display().to_string());
        Sources {
            env,
            config_file: None,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("handoff-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn defaults_write_links_with_the_bind_address_and_keep_a_generated_secret() {
        let dir = temp_dir("defaults");
        let first = Settings::load(&sources(&[], &dir)).expect("defaults load");
        assert_eq!(first.public_url, "http://127.0.0.1:3000");
        assert!(first.database_url.starts_with("sqlite://"));
        let second = Settings::load(&sources(&[], &dir)).expect("reload");
        assert_eq!(
            first.secret.expose(),
            second.secret.expose(),
            "secret is kept across starts"
        );
    }

    #[test]
    fn smtp_settings_are_read_and_a_bad_url_names_the_setting() {
        let dir = temp_dir("smtp");
        let s = Settings::load(&sources(
            &[
                ("HANDOFF_SMTP_URL", "smtp://u:p@mail.example.com:587"),
                ("HANDOFF_SMTP_FROM", "Refer <refer@example.com>"),
            ],
            &dir,
        ))
        .expect("loads");
        assert_eq!(s.smtp_url.as_ref().map(|u| u.port), Some(587));
        assert_eq!(s.smtp_from, "Refer <refer@example.com>");
        assert!(s.runtime().email_sending);
        let err = Settings::load(&sources(&[("HANDOFF_SMTP_URL", "mail.example.com")], &dir))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("HANDOFF_SMTP_URL:"), "{err}");
        let err = Settings::load(&sources(&[("HANDOFF_SMTP_FROM", "not an address")], &dir))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("HANDOFF_SMTP_FROM:"), "{err}");
        let s = Settings::load(&sources(&[], &dir)).expect("defaults");
        assert!(!s.runtime().email_sending);
        assert_eq!(s.smtp_from, "Handoff <handoff@localhost>");
    }

    #[test]
    fn a_bad_address_is_one_clear_error() {
        let dir = temp_dir("addr");
        let err = Settings::load(&sources(&[("HANDOFF_ADDR", "localhost")], &dir)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("HANDOFF_ADDR: 'localhost' is not an address"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_public_url_and_database_url_are_rejected() {
        let dir = temp_dir("urls");
        let err = Settings::load(&sources(&[("HANDOFF_PUBLIC_URL", "ftp://x")], &dir)).unwrap_err();
        assert!(err.to_string().contains("HANDOFF_PUBLIC_URL"));
        let err = Settings::load(&sources(
            &[("HANDOFF_PUBLIC_URL", "https://x.example/refer")],
            &dir,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("must not have a path"), "{err}");
        let err = Settings::load(&sources(&[("HANDOFF_SECRET", "short")], &dir)).unwrap_err();
        assert!(err.to_string().starts_with("HANDOFF_SECRET:"), "{err}");
        let err = Settings::load(&sources(&[("DATABASE_URL", "mysql://x")], &dir)).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"));
    }

    #[test]
    fn the_environment_wins_over_the_file_and_unknown_keys_in_the_file_are_errors() {
        let dir = temp_dir("file");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("handoff.toml");
        std::fs::write(
            &file,
            "addr = \"127.0.0.1:4000\"\npublic_url = \"https://refer.example.com/\"\n",
        )
        .unwrap();
        let mut s = sources(&[("HANDOFF_ADDR", "127.0.0.1:5000")], &dir);
        s.config_file = Some(file.clone());
        let settings = Settings::load(&s).unwrap();
        assert_eq!(settings.addr.port(), 5000);
        assert_eq!(settings.public_url, "https://refer.example.com");
        assert!(settings.secure_cookies());
        std::fs::write(&file, "adress = \"x\"\n").unwrap();
        let err = Settings::load(&s).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn rate_limits_default_and_are_set_by_name() {
        let dir = temp_dir("limits");
        let defaults = Settings::load(&sources(&[], &dir)).unwrap().rate_limits;
        assert_eq!(defaults, app::ssr::state::RateLimits::default());
        let set = Settings::load(&sources(
            &[("HANDOFF_RATE_LIMITS", "redirects=5, api=0")],
            &dir,
        ))
        .unwrap()
        .rate_limits;
        assert_eq!(
            (set.redirects, set.api, set.webhooks),
            (5, 0, defaults.webhooks)
        );
        for (bad, words) in [
            ("clicks=5", "unknown limit `clicks`"),
            ("api", "not name=number"),
            ("api=-1", "0 to 1000000"),
        ] {
            let err = Settings::load(&sources(&[("HANDOFF_RATE_LIMITS", bad)], &dir)).unwrap_err();
            assert!(err.to_string().contains(words), "{bad}: {err}");
        }
    }

    #[test]
    fn client_limits_default_and_are_set_by_name() {
        let dir = temp_dir("client-limits");
        let defaults = Settings::load(&sources(&[], &dir)).unwrap().client_limits;
        assert_eq!(defaults, crate::serve::ClientLimits::default());
        let set = Settings::load(&sources(
            &[
                ("HANDOFF_TIMEOUTS", "headers=2 request=5"),
                ("HANDOFF_MAX_CONNECTIONS", "64"),
            ],
            &dir,
        ))
        .unwrap()
        .client_limits;
        assert_eq!(set.header_timeout, std::time::Duration::from_secs(2));
        assert_eq!(set.request_timeout, std::time::Duration::from_secs(5));
        assert_eq!(set.body_timeout, defaults.body_timeout);
        assert_eq!(set.max_connections, 64);
        for (name, bad, words) in [
            ("HANDOFF_TIMEOUTS", "slow=5", "unknown timeout `slow`"),
            ("HANDOFF_TIMEOUTS", "headers=0", "at least 1 second"),
            ("HANDOFF_TIMEOUTS", "headers", "not name=number"),
            ("HANDOFF_MAX_CONNECTIONS", "0", "1 to 100000"),
            ("HANDOFF_MAX_CONNECTIONS_PER_CLIENT", "-1", "0 to 100000"),
            ("HANDOFF_MAX_CONNECTIONS", "many", "whole number"),
        ] {
            let err = Settings::load(&sources(&[(name, bad)], &dir)).unwrap_err();
            assert!(err.to_string().contains(words), "{bad}: {err}");
        }
    }

    #[test]
    fn private_networks_are_refused_unless_allowed_and_a_bad_value_is_named() {
        let dir = temp_dir("private");
        assert!(
            !Settings::load(&sources(&[], &dir))
                .unwrap()
                .allow_private_networks
        );
        let allowed = Settings::load(&sources(
            &[("HANDOFF_ALLOW_PRIVATE_NETWORKS", "true")],
            &dir,
        ))
        .unwrap();
        assert!(allowed.runtime().allow_private_networks);
        let err = Settings::load(&sources(
            &[("HANDOFF_ALLOW_PRIVATE_NETWORKS", "maybe")],
            &dir,
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("HANDOFF_ALLOW_PRIVATE_NETWORKS: must be true or false"),
            "{err}"
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges_and_a_bad_one_is_named() {
        let dir = temp_dir("proxies");
        assert!(
            Settings::load(&sources(&[], &dir))
                .unwrap()
                .trusted_proxies
                .is_empty(),
            "no proxy is trusted unless configured"
        );
        let settings = Settings::load(&sources(
            &[("HANDOFF_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ::1")],
            &dir,
        ))
        .unwrap();
        let listed: Vec<String> = settings
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(listed, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        assert_eq!(settings.runtime().trusted_proxies, settings.trusted_proxies);
        let err = Settings::load(&sources(
            &[("HANDOFF_TRUSTED_PROXIES", "127.0.0.1,proxy.local")],
            &dir,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "HANDOFF_TRUSTED_PROXIES: \"proxy.local\" is not an IP address or CIDR range (such as 10.0.0.0/8)"
        );
        let file = dir.join("proxies.toml");
        std::fs::write(&file, "trusted_proxies = \"10.0.0.0/33\"\n").unwrap();
        let mut s = sources(&[], &dir);
        s.config_file = Some(file);
        let err = Settings::load(&s).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("trusted_proxies: \"10.0.0.0/33\""),
            "{err}"
        );
    }

    #[test]
    fn the_preview_copy_size_is_in_megabytes_and_checked() {
        let dir = temp_dir("preview-copy");
        let default = Settings::load(&sources(&[], &dir)).unwrap();
        assert_eq!(default.runtime().preview_copy_bytes, 5 * 1024 * 1024);
        let always = Settings::load(&sources(&[("HANDOFF_PREVIEW_COPY_MB", "0")], &dir)).unwrap();
        assert_eq!(always.runtime().preview_copy_bytes, 0);
        let err =
            Settings::load(&sources(&[("HANDOFF_PREVIEW_COPY_MB", "five")], &dir)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "HANDOFF_PREVIEW_COPY_MB: must be 0 to 1000000"
        );
        assert!(
            !sources(&[("HANDOFF_PREVIEW_COPY_MB", "1")], &dir)
                .unknown_vars()
                .contains(&"HANDOFF_PREVIEW_COPY_MB")
        );
    }

    #[test]
    fn unknown_handoff_variables_are_reported() {
        let dir = temp_dir("unknown");
        let s = sources(&[("HANDOFF_ADRR", "x")], &dir);
        assert_eq!(s.unknown_vars(), vec!["HANDOFF_ADRR"]);
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(
            format!("{:?}", Secret(b"hunter2".to_vec())),
            "Secret([redacted])"
        );
    }
}
