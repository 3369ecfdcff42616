//! The command line: `handoff [serve|migrate|admin|api-key|demo|import]`.

use std::{
    io::{IsTerminal, Read},
    path::PathBuf,
    process::ExitCode,
};

use app::{
    domain::{api_access::ApiAccess, roles::Role, words::counted},
    ssr::{
        services::{
            admins, api_keys,
            audit::Actor,
            demo,
            imports::{self, ImportOptions},
        },
        state::AppState,
    },
};
use clap::{Parser, Subcommand};
use leptos::prelude::LeptosOptions;

use crate::{
    config::{Settings, Sources},
    startup::{Application, connect_and_migrate},
    telemetry,
};

/// Handoff: self-hosted referral links, codes and leads.
///
/// Configuration comes from an optional TOML file, then the environment: DATABASE_URL,
/// HANDOFF_DATA_DIR, HANDOFF_ADDR, HANDOFF_PUBLIC_URL, HANDOFF_SECRET, HANDOFF_TRUSTED_PROXIES,
/// HANDOFF_ALLOW_PRIVATE_NETWORKS, HANDOFF_RATE_LIMITS, HANDOFF_MAX_CONNECTIONS,
/// HANDOFF_MAX_CONNECTIONS_PER_CLIENT, HANDOFF_TIMEOUTS (see docs/CONFIGURATION.md).
#[derive(Debug, Parser)]
#[command(name = "handoff", version, about, long_about)]
pub struct Cli {
    /// A TOML configuration file (also HANDOFF_CONFIG). The environment overrides it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app, API and referral links (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage admin accounts.
    Admin {
        /// What to do with admins.
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage API keys.
    #[command(name = "api-key")]
    ApiKey {
        /// What to do with API keys.
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Load a demo data set: a campaign, 50 referrers, 500 leads in every status. With
    /// `--leads N`, a campaign at scale instead: 100 referrers and N friends who clicked and
    /// bought, imported through the CSV import and spread over 180 days.
    Demo {
        /// Build the campaign at scale with this many leads (for example 1000000).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        leads: Option<u64>,
    },
    /// Set the maintained counters (the overview's numbers, each referrer's clicks, leads and
    /// qualified) from scratch. The database keeps them as it goes; this is for a database
    /// restored from parts or edited by hand.
    Recount,
    /// Import data from files.
    Import {
        /// What to import.
        #[command(subcommand)]
        command: ImportCommand,
    },
}

/// `handoff import ...`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import conversions (orders, sign-ups, qualified leads) from a CSV file. Columns are found
    /// by header name; rows imported before are skipped, so re-running a file is safe.
    Conversions {
        /// The CSV file.
        file: PathBuf,
        /// The campaign's slug.
        #[arg(long)]
        campaign: String,
        /// Only report what would happen; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Event name for rows without an event column (default: the campaign's first
        /// qualifying event).
        #[arg(long)]
        event: Option<String>,
    },
}

/// `handoff admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin. The password is read from stdin when it is not a terminal, otherwise
    /// asked for without echo.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// owner, admin, marketer, viewer or sales.
        #[arg(long, default_value = "owner")]
        role: String,
    },
}

/// `handoff api-key ...`.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it, alone, on stdout (it is not shown again).
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// What the key may do: `full`, `conversions` (only POST /api/v1/conversions and
        /// /api/v1/conversions/import) or `read` (only GET calls).
        #[arg(long, default_value = "full")]
        access: String,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key's id (see `list`).
        #[arg(long)]
        id: i64,
    },
    /// List keys (never the keys themselves).
    List,
}

/// Parses the command line and runs it. Errors are one line on stderr and a non-zero exit.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let sources = Sources::from_process(cli.config.clone());
    for name in sources.unknown_vars() {
        tracing::warn!("unknown environment variable {name} ignored (typo?)");
    }
    let settings = match Settings::load(&sources) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("handoff: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    match execute(cli.command.unwrap_or(Command::Serve), settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("handoff: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            connect_and_migrate(&settings).await?;
            eprintln!("Migrations applied.");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { email, role },
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown role '{role}': use owner, admin, marketer, viewer or sales"
                )
            })?;
            let password = read_password()?;
            let db = connect_and_migrate(&settings).await?;
            let admin = admins::create(&db, &email, &password, role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("Created {} ({}).", admin.email, admin.role.as_str());
            Ok(())
        }
        Command::ApiKey { command } => {
            let db = connect_and_migrate(&settings).await?;
            match command {
                ApiKeyCommand::Create { name, access } => {
                    let access = ApiAccess::parse(&access).ok_or_else(|| {
                        anyhow::anyhow!("--access: {access:?} is not full, conversions or read")
                    })?;
                    let (id, key) = api_keys::create(&db, &Actor::command_line(), &name, access)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    eprintln!(
                        "Created API key {id} ({name}). Store it now; it is not shown again."
                    );
                    println!("{key}");
                }
                ApiKeyCommand::Revoke { id } => {
                    api_keys::revoke(&db, &Actor::command_line(), id)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    eprintln!("Revoked API key {id}.");
                }
                ApiKeyCommand::List => {
                    for key in api_keys::list(&db)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                    {
                        println!(
                            "{}\t{}\t{}…\t{}\t{}",
                            key.id,
                            key.name,
                            key.prefix,
                            key.access.as_str(),
                            if key.revoked { "revoked" } else { "active" }
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Import {
            command:
                ImportCommand::Conversions {
                    file,
                    campaign,
                    dry_run,
                    event,
                },
        } => {
            let filename = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            import_conversions(
                &settings,
                file,
                ImportOptions {
                    campaign,
                    filename,
                    dry_run,
                    default_event: event,
                },
            )
            .await
        }
        Command::Recount => {
            let db = connect_and_migrate(&settings).await?;
            app::ssr::db::rebuild_counters(&db)
                .await
                .map_err(|e| anyhow::anyhow!("recounting failed: {e}"))?;
            eprintln!("Counters set from scratch.");
            Ok(())
        }
        Command::Demo { leads } => {
            let state = offline_state(&settings).await?;
            let summary = match leads {
                Some(leads) => {
                    demo::create_at_scale(&state, leads, |step| eprintln!("demo: {step}…")).await
                }
                None => demo::create(&state).await,
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "Demo data loaded: campaign '{}' with {} and {}.",
                summary.campaign,
                counted(summary.referrers as u64, "referrer", "referrers"),
                counted(summary.leads as u64, "lead", "leads")
            );
            Ok(())
        }
    }
}

/// State for commands that use the services without serving HTTP.
async fn offline_state(settings: &Settings) -> anyhow::Result<AppState> {
    let db = connect_and_migrate(settings).await?;
    // These commands write no clicks through the queue; a closed channel is enough.
    let (clicks, _) = tokio::sync::mpsc::channel(1);
    Ok(AppState::new(
        LeptosOptions::builder().output_name("handoff").build(),
        db,
        settings.runtime(),
        clicks,
    ))
}

/// `handoff import conversions`: runs the import and prints the report.
async fn import_conversions(
    settings: &Settings,
    file: PathBuf,
    options: ImportOptions,
) -> anyhow::Result<()> {
    let state = offline_state(settings).await?;
    let report = imports::run(&state, &file, &options)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let verb = if report.dry_run {
        "Preview (nothing written)"
    } else {
        "Imported"
    };
    println!(
        "{verb}: {}; {} new ({} qualified, {} already qualified, {} for review, {} ambiguous), {}, {} unmatched, {} invalid.",
        counted(report.rows, "row", "rows"),
        report.imported,
        report.qualified,
        report.already_qualified,
        report.review,
        report.ambiguous,
        counted(report.duplicates, "duplicate", "duplicates"),
        report.unmatched,
        report.invalid
    );
    for e in report.errors.iter().take(50) {
        let column = if e.column.is_empty() {
            String::new()
        } else {
            format!(" [{}]", e.column)
        };
        eprintln!("line {}{column}: {}", e.line, e.reason);
    }
    let failed = report.unmatched + report.invalid;
    if failed > 50 {
        eprintln!(
            "... and {} more not imported.",
            counted(failed - 50, "row", "rows")
        );
    }
    Ok(())
}

/// The password for `admin create`: stdin when piped, a no-echo prompt on a terminal.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        anyhow::ensure!(first == second, "the passwords differ");
        Ok(first)
    } else {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input)?;
        let password = input.lines().next().unwrap_or_default().to_owned();
        anyhow::ensure!(!password.is_empty(), "no password on stdin");
        Ok(password)
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests and writing queued clicks");
}
