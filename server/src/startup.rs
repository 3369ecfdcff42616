//! Building and running the application: database, state, workers, router, listener.

use std::{path::Path, time::Duration};

use anyhow::Context;
use app::{
    app::{App, shell},
    ssr::{
        db,
        services::{
            admins,
            emails::smtp::{Mailer, parse_mailbox},
            portal::tokens,
        },
        session_store::DbSessionStore,
        state::AppState,
    },
};
use axum::{
    Router, middleware,
    routing::{get, post},
};
use leptos::prelude::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};
use tower_http::{
    services::ServeDir, set_header::SetResponseHeaderLayer, timeout::RequestBodyTimeoutLayer,
    trace::TraceLayer,
};
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer, cookie::SameSite};

use crate::{
    config::Settings,
    routes::{self, csrf::AllowedOrigin},
    workers,
};

/// A built application, bound to its port and ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    click_writer: JoinHandle<()>,
    session_cleanup: JoinHandle<()>,
    outbox_worker: JoinHandle<()>,
    crm_worker: JoinHandle<()>,
    email_worker: Option<JoinHandle<()>>,
    client_limits: crate::serve::ClientLimits,
}

/// Connects to the database and applies migrations.
pub async fn connect_and_migrate(
    settings: &Settings,
) -> anyhow::Result<sea_orm::DatabaseConnection> {
    if let Some(path) = sqlite_file(&settings.database_url) {
        // Before SQLite creates it with the process's default mode (world-readable).
        crate::config::create_private_file(path)
            .with_context(|| format!("cannot create the database file {}", path.display()))?;
    }
    let db = db::connect(&settings.database_url).await.with_context(|| {
        format!(
            "cannot open the database at {}",
            redact(&settings.database_url)
        )
    })?;
    db::migrate(&db)
        .await
        .context("cannot apply database migrations")?;
    Ok(db)
}

/// The file of a `sqlite://PATH[?...]` URL (not an in-memory database).
fn sqlite_file(url: &str) -> Option<&Path> {
    let path = url.strip_prefix("sqlite://")?.split('?').next()?;
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| Path::new(path))
}

/// A database URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Application {
    /// Builds everything and binds the listener (`HANDOFF_ADDR` port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = connect_and_migrate(&settings).await?;
        let listener = TcpListener::bind(settings.addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.addr))?;
        let local_addr = listener.local_addr()?;
        let public_url = if settings.public_url == format!("http://{}", settings.addr) {
            // The default public URL follows the real port when port 0 was asked for.
            format!("http://{local_addr}")
        } else {
            settings.public_url.clone()
        };

        let leptos_options = LeptosOptions::builder()
            .output_name("handoff")
            .site_root(settings.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .build();

        let (click_tx, click_rx) = mpsc::channel(workers::clicks::QUEUE_CAPACITY);
        let click_writer = workers::clicks::spawn(
            db.clone(),
            click_rx,
            Duration::from_millis(settings.click_flush_ms),
        );

        let state = AppState::new(
            leptos_options,
            db.clone(),
            settings.runtime_for(&public_url),
            click_tx,
        );

        let outbox_worker = workers::outbox::spawn(
            db.clone(),
            state.settings.clone(),
            Duration::from_millis(settings.outbox_poll_ms),
        );
        // Idle (one settings read a poll) until HubSpot is connected in Integrations.
        let crm_worker = workers::crm::spawn(
            db.clone(),
            state.settings.clone(),
            Duration::from_millis(settings.outbox_poll_ms),
        );
        let email_worker = match &settings.smtp_url {
            Some(url) => {
                let from = parse_mailbox(&settings.smtp_from).map_err(anyhow::Error::msg)?;
                let reply_to = settings
                    .smtp_reply_to
                    .as_deref()
                    .map(parse_mailbox)
                    .transpose()
                    .map_err(anyhow::Error::msg)?;
                let mailer = Mailer::new(url, from, reply_to)
                    .map_err(|e| anyhow::anyhow!("HANDOFF_SMTP_URL: {e}"))?;
                tracing::info!(smtp = ?url, from = %settings.smtp_from, "sending email through SMTP");
                Some(workers::email::spawn(
                    db.clone(),
                    mailer,
                    state.settings.clone(),
                    Duration::from_millis(settings.outbox_poll_ms),
                ))
            }
            None => {
                tracing::warn!(
                    "No SMTP server configured (HANDOFF_SMTP_URL): emails are written to the database, but not sent"
                );
                eprintln!(
                    "\n  Mail is not being sent: set HANDOFF_SMTP_URL (see docs/CONFIGURATION.md). Emails wait in the database until then.\n"
                );
                None
            }
        };

        let session_store = DbSessionStore::new(db.clone());
        let session_cleanup = tokio::spawn({
            let store = session_store.clone();
            let db = db.clone();
            async move {
                let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
                loop {
                    every_hour.tick().await;
                    if let Err(e) = store.delete_expired().await {
                        tracing::warn!(error = %e, "could not delete expired sessions");
                    }
                    if let Err(e) = tokens::delete_expired(&db, chrono::Utc::now()).await {
                        tracing::warn!(error = %e, "could not delete expired portal tokens");
                    }
                }
            }
        });
        let sessions = SessionManagerLayer::new(session_store)
            .with_name("handoff_session")
            .with_same_site(SameSite::Lax)
            .with_secure(state.settings.secure_cookies)
            .with_http_only(true)
            .with_expiry(Expiry::OnInactivity(time::Duration::days(7)));

        let router = build_router(state.clone(), sessions, &public_url, settings.client_limits);

        offer_setup_link(&db, &settings.data_dir, &public_url).await?;

        Ok(Application {
            listener,
            router,
            state,
            click_writer,
            session_cleanup,
            outbox_worker,
            crm_worker,
            email_worker,
            client_limits: settings.client_limits,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The shared state (tests use its database handle).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and writes every queued
    /// click before returning.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            router,
            state,
            click_writer,
            session_cleanup,
            outbox_worker,
            crm_worker,
            email_worker,
            client_limits,
        } = self;
        tracing::info!(addr = %listener.local_addr()?, public_url = %state.settings.public_url, "Handoff is serving");
        let counts = state.public_limits.clone();
        let trusted_proxies = state.settings.trusted_proxies.clone();
        drop(state);
        crate::serve::serve(
            listener,
            router,
            client_limits,
            trusted_proxies,
            counts,
            shutdown,
        )
        .await;
        session_cleanup.abort();
        // A delivery cut off here keeps its lease and is retried when the lease runs out.
        outbox_worker.abort();
        // A batch cut off here keeps its lease and is sent again when the lease runs out.
        crm_worker.abort();
        // An email cut off here keeps its lease and is sent again when the lease runs out.
        if let Some(worker) = email_worker {
            worker.abort();
        }
        // The router (and with it every click sender) is gone: the writer drains and stops.
        click_writer.await.context("click writer panicked")?;
        Ok(())
    }
}

fn build_router(
    state: AppState,
    sessions: SessionManagerLayer<DbSessionStore>,
    public_url: &str,
    limits: crate::serve::ClientLimits,
) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let site_root = options.site_root.to_string();
    let public_origin = url::Url::parse(public_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();

    let admin = Router::new()
        .merge(routes::admin_exports::router())
        .merge(routes::admin_imports::router())
        .merge(routes::admin_print::router())
        .merge(routes::logos::admin_router())
        .leptos_routes_with_context(&state, routes, || (), move || shell(options.clone()))
        .layer(middleware::from_fn(routes::rpc_status::error_status))
        .layer(middleware::from_fn_with_state(
            AllowedOrigin {
                public_origin: public_origin.clone(),
            },
            routes::csrf::guard,
        ))
        .layer(sessions);

    // A sign-in link's button starts a session: a post from another site must not sign a
    // visitor in as someone else (login forgery), so it passes the same origin check.
    let portal_login = Router::new()
        .route(
            "/p/{slug}/login/{token}",
            get(routes::portal_login::show).post(routes::portal_login::redeem),
        )
        .layer(middleware::from_fn_with_state(
            AllowedOrigin { public_origin },
            routes::csrf::guard,
        ));

    let public = Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/metrics", get(routes::rate_limits::metrics))
        .route("/r/{slug}", get(routes::redirect::follow))
        .route("/embed.js", get(routes::widget::embed_js))
        .route(
            "/embed/{slug}/widget.json",
            get(routes::widget::widget_json),
        )
        .route(
            "/embed/{slug}/preview.json",
            get(routes::widget::preview_json),
        )
        .route("/embed/{slug}/preview", get(routes::widget::preview_page))
        .route("/qr/{file}", get(routes::qr::show))
        .route("/print/fonts/{file}", get(routes::print_fonts::show))
        .route(
            "/f/{campaign}",
            get(routes::friend::show).post(routes::friend::submit),
        )
        .route("/p/{slug}/card.pdf", get(routes::portal::card_pdf))
        .route("/p/{slug}/card.svg", get(routes::portal::card_svg))
        .route("/p/{slug}/{token}", get(routes::portal::old_link))
        .route(
            "/p/unsubscribe/{token}",
            get(routes::unsubscribe::show).post(routes::unsubscribe::confirm),
        )
        .route("/webhooks/stripe", post(routes::webhooks::stripe))
        .route("/webhooks/in/{token}", post(routes::webhooks::source))
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/admin") }),
        )
        .merge(routes::logos::public_router())
        .merge(portal_login)
        .merge(routes::api::router());

    Router::new()
        .merge(admin)
        .merge(public)
        .fallback_service(ServeDir::new(site_root).fallback(get(not_found)))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_FRAME_OPTIONS,
            axum::http::HeaderValue::from_static("DENY"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            routes::security_headers::ServedOverHttps(state.settings.secure_cookies),
            routes::security_headers::add,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::rate_limits::limit,
        ))
        // A body that pauses longer than this fails to read (its handler answers 400).
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(axum::middleware::from_fn_with_state(
            routes::deadline::RequestTimeouts {
                request: limits.request_timeout,
                upload: limits.upload_timeout,
            },
            routes::deadline::limit,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> axum::response::Response {
    routes::pages::message(
        axum::http::StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
    )
}

/// While no admin exists, a one-time setup link: written to `{data_dir}/setup-link` (readable by
/// this user only) and printed when the server runs in a terminal, but never into the log, which
/// may be kept in files others read. Once an admin exists, a leftover link file is removed.
async fn offer_setup_link(
    db: &sea_orm::DatabaseConnection,
    data_dir: &std::path::Path,
    public_url: &str,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let path = data_dir.join(SETUP_LINK_FILE);
    let Some(token) = admins::issue_setup_token(db).await? else {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(path = %path.display(), error = %e, "could not remove the used setup link file");
            }
            _ => {}
        }
        return Ok(());
    };
    let link = format!("{public_url}/admin/setup?token={token}");
    crate::config::replace_private(&path, &format!("{link}\n"))
        .with_context(|| format!("cannot write the setup link to {}", path.display()))?;
    tracing::warn!(
        "No admin account exists yet. The one-time link to create the owner account (valid 24 hours) is in {} (readable by this user only); or run `handoff admin create`.",
        path.display()
    );
    if std::io::stderr().is_terminal() {
        eprintln!("\n  Set up Handoff: {link}\n");
    }
    Ok(())
}

/// The file in the data directory that holds the setup link while no admin exists.
pub const SETUP_LINK_FILE: &str = "setup-link";
