//! Adding referrers in bulk from a CSV file (name, email, and optionally the code a business
//! already printed), with a preview that runs every check and writes nothing.
//!
//! A file is at most [`MAX_ROWS`] rows and is added in one transaction: all its good rows or,
//! on a failure of the server, none. A row is refused (with its line, column and reason) for a
//! missing or bad name or email, an email that appears twice in the file, or a code that is
//! malformed, repeated, or already someone else's; a referrer whose email the campaign already
//! has is left as they are and counted. Each new referrer gets `referrer.created` and, when
//! asked, their link-and-code email, as one added by hand does.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait,
};

use crate::{
    domain::{email::Email, slug, words::counted},
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{campaign, referrer, replaced_code},
        referrer_csv::{ReferrerCsvReader, ReferrerRow},
        services::{
            audit::{self, Actor, Change, Object},
            campaigns,
            codes::{MAX_CODE_ATTEMPTS, new_code},
            outbox::Effects,
            referrers::{self, Welcome, parse_name},
            secrets::random_index,
        },
        state::AppState,
    },
    types::{ImportError, ReferrerImportReport},
};

/// The most referrers one file adds; larger lists are split (or sent through the API).
pub const MAX_ROWS: usize = 10_000;

/// The largest file taken.
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;

/// Refused rows listed in a report (the rest are counted).
pub const MAX_REPORTED_ERRORS: usize = 200;

/// What to do with a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// Write each new referrer's link-and-code email.
    pub send_welcome: bool,
}

/// A row that passed the checks that need no database.
struct Candidate {
    line: u64,
    name: String,
    email: Email,
    normalized: String,
    /// The code to keep, as written, and its lookup key.
    code: Option<(String, String)>,
}

/// Reads `path`, checks every row, and adds the good ones to `campaign_slug` (or, with
/// `dry_run`, says what it would do). `filename` names the file in the audit log.
pub async fn run(
    state: &AppState,
    actor: &Actor,
    campaign_slug: &str,
    path: &Path,
    filename: &str,
    options: ImportOptions,
) -> Result<ReferrerImportReport, AppError> {
    let campaign = campaigns::find_row(&state.db, campaign_slug).await?;
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| AppError::internal("referrer_import::run size", e))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(AppError::invalid(
            "file_too_large",
            "file",
            "A file of referrers is at most 5 MB; split it into smaller files.",
        ));
    }
    let owned = path.to_owned();
    let (rows, columns) = tokio::task::spawn_blocking(move || read_all(&owned))
        .await
        .map_err(|e| AppError::internal("referrer_import::run join", e))??;
    let mut report = ReferrerImportReport {
        dry_run: options.dry_run,
        rows: rows.len() as u64,
        ..ReferrerImportReport::default()
    };
    let refuse = |report: &mut ReferrerImportReport, line: u64, column: &str, reason: String| {
        report.refused += 1;
        if report.errors.len() < MAX_REPORTED_ERRORS {
            report.errors.push(ImportError {
                line,
                column: column.to_owned(),
                reason,
            });
        } else {
            report.errors_truncated = true;
        }
    };
    let column = |field: &str| columns.get(field).cloned().unwrap_or_default();
    // Checks without the database: each field, and repeats within the file.
    let mut candidates = Vec::new();
    let mut emails_seen: HashMap<String, u64> = HashMap::new();
    let mut codes_seen: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                refuse(&mut report, error.line, &error.column, error.reason);
                continue;
            }
        };
        match check_row(&campaign, &row) {
            Err((field, reason)) => refuse(&mut report, row.line, &column(field), reason),
            Ok(candidate) => {
                if let Some(first) = emails_seen.get(&candidate.normalized) {
                    let reason = format!("The same email is on line {first} already.");
                    refuse(&mut report, row.line, &column("email"), reason);
                    continue;
                }
                if let Some((_, key)) = &candidate.code
                    && let Some(first) = codes_seen.get(key)
                {
                    let reason = format!("The same code is on line {first} already.");
                    refuse(&mut report, row.line, &column("code"), reason);
                    continue;
                }
                emails_seen.insert(candidate.normalized.clone(), candidate.line);
                if let Some((_, key)) = &candidate.code {
                    codes_seen.insert(key.clone(), candidate.line);
                }
                candidates.push(candidate);
            }
        }
    }
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("referrer_import::run begin", e))?;
    let existing = existing_emails(&txn, campaign.id, emails_seen.keys()).await?;
    let taken = taken_codes(&txn, codes_seen.keys()).await?;
    let welcome = if options.send_welcome {
        Welcome::SendEmail
    } else {
        Welcome::Quiet
    };
    let mut effects = Effects::default();
    for candidate in candidates {
        if existing.contains(&candidate.normalized) {
            report.existing += 1;
            continue;
        }
        if let Some((code, key)) = &candidate.code
            && let Some(whose) = taken.get(key)
        {
            let reason = format!("The code {code} is already {whose}.");
            refuse(&mut report, candidate.line, &column("code"), reason);
            continue;
        }
        let row = insert(&txn, &campaign, &candidate).await?;
        effects.push(
            "referrer.created",
            referrers::created_event(&state.settings, &row, &campaign.slug),
        );
        referrers::welcome_email(&txn, &state.settings, &campaign, &row, welcome).await?;
        report.added += 1;
    }
    if options.dry_run {
        txn.rollback()
            .await
            .map_err(|e| AppError::internal("referrer_import::run rollback", e))?;
        return Ok(report);
    }
    effects.write(&txn).await?;
    if report.added > 0 {
        audit::record(
            &txn,
            actor,
            Change {
                action: "referrer.imported",
                campaign_id: Some(campaign.id),
                object: Object::Campaign(campaign.id),
                summary: format!(
                    "Added {} from {filename} ({} already there, {} refused).",
                    counted(report.added as i64, "referrer", "referrers"),
                    report.existing,
                    report.refused
                ),
            },
        )
        .await?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("referrer_import::run commit", e))?;
    Ok(report)
}

/// The file's rows and the header of each field's column.
type ReadFile = (
    Vec<Result<ReferrerRow, ImportError>>,
    HashMap<&'static str, String>,
);

fn read_all(path: &Path) -> Result<ReadFile, AppError> {
    let file = std::fs::File::open(path)
        .map_err(|e| AppError::internal("referrer_import::read_all open", e))?;
    let mut reader = ReferrerCsvReader::new(std::io::BufReader::new(file))
        .map_err(|e| AppError::invalid("invalid_csv", "file", e.to_string()))?;
    let columns = ["name", "email", "code"]
        .into_iter()
        .map(|field| (field, reader.column(field)))
        .collect();
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row() {
        if rows.len() == MAX_ROWS {
            return Err(AppError::invalid(
                "too_many_rows",
                "file",
                format!("A file adds at most {MAX_ROWS} referrers; split it into smaller files."),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(AppError::invalid(
            "no_rows",
            "file",
            "The file has a header but no referrers.",
        ));
    }
    Ok((rows, columns))
}

/// The checks of one row that need no database; a refusal names the field.
fn check_row(
    campaign: &campaign::Model,
    row: &ReferrerRow,
) -> Result<Candidate, (&'static str, String)> {
    let email = row
        .email
        .as_deref()
        .ok_or(("email", "Needs an email.".to_owned()))?;
    let email = Email::parse(email).map_err(|e| ("email", e.to_string()))?;
    let name = row
        .name
        .as_deref()
        .ok_or(("name", "Needs a name.".to_owned()))?;
    let name = parse_name(name).map_err(|e| ("name", e.to_string()))?;
    let code = match row.code.as_deref() {
        None => None,
        Some(_) if !campaign.codes_enabled => {
            return Err((
                "code",
                "This campaign has referral codes switched off; leave the code empty or switch them on."
                    .to_owned(),
            ));
        }
        Some(code) => {
            let key = crate::domain::codes::normalize(code).map_err(|e| ("code", e.to_string()))?;
            if key.chars().count() < MIN_KEPT_CODE {
                return Err((
                    "code",
                    format!("A code has at least {MIN_KEPT_CODE} letters or digits."),
                ));
            }
            Some((code.trim().to_owned(), key))
        }
    };
    Ok(Candidate {
        line: row.line,
        normalized: email.normalized(),
        email,
        name,
        code,
    })
}

/// The shortest code kept from a file (shorter ones are too easy to guess or mistype).
const MIN_KEPT_CODE: usize = 4;

/// Rows per `IN (...)` lookup.
const LOOKUP_BATCH: usize = 500;

/// Which of `emails` the campaign already has.
async fn existing_emails<'a>(
    txn: &DatabaseTransaction,
    campaign_id: i64,
    emails: impl Iterator<Item = &'a String>,
) -> Result<HashSet<String>, AppError> {
    let emails: Vec<&String> = emails.collect();
    let mut found = HashSet::new();
    for batch in emails.chunks(LOOKUP_BATCH) {
        let rows: Vec<String> = referrer::Entity::find()
            .select_only()
            .column(referrer::Column::EmailNormalized)
            .filter(referrer::Column::CampaignId.eq(campaign_id))
            .filter(referrer::Column::EmailNormalized.is_in(batch.iter().map(|e| e.as_str())))
            .into_tuple()
            .all(txn)
            .await
            .map_err(|e| AppError::internal("referrer_import::existing_emails", e))?;
        found.extend(rows);
    }
    Ok(found)
}

/// Which of the code keys `keys` are already in use, and whose ("Jane's code", "a replaced
/// code"). Codes are unique across campaigns, as every lookup by code assumes.
async fn taken_codes<'a>(
    txn: &DatabaseTransaction,
    keys: impl Iterator<Item = &'a String>,
) -> Result<HashMap<String, String>, AppError> {
    let keys: Vec<&String> = keys.collect();
    let mut taken = HashMap::new();
    for batch in keys.chunks(LOOKUP_BATCH) {
        let batch: Vec<&str> = batch.iter().map(|k| k.as_str()).collect();
        let owners: Vec<(Option<String>, String)> = referrer::Entity::find()
            .select_only()
            .column(referrer::Column::CodeKey)
            .column(referrer::Column::Name)
            .filter(referrer::Column::CodeKey.is_in(batch.clone()))
            .into_tuple()
            .all(txn)
            .await
            .map_err(|e| AppError::internal("referrer_import::taken_codes", e))?;
        for (key, name) in owners {
            if let Some(key) = key {
                taken.insert(key, format!("{name}'s code"));
            }
        }
        let replaced: Vec<String> = replaced_code::Entity::find()
            .select_only()
            .column(replaced_code::Column::CodeKey)
            .filter(replaced_code::Column::CodeKey.is_in(batch))
            .into_tuple()
            .all(txn)
            .await
            .map_err(|e| AppError::internal("referrer_import::taken_codes replaced", e))?;
        for key in replaced {
            taken
                .entry(key)
                .or_insert_with(|| "a replaced code of another referrer".to_owned());
        }
    }
    Ok(taken)
}

/// Inserts one new referrer with the code kept from the file or a new one, drawing the random
/// parts again on a collision (inside a savepoint, so PostgreSQL keeps the transaction).
async fn insert(
    txn: &DatabaseTransaction,
    campaign: &campaign::Model,
    candidate: &Candidate,
) -> Result<referrer::Model, AppError> {
    for attempt in 0..MAX_CODE_ATTEMPTS {
        let code = match &candidate.code {
            Some((code, key)) => Some((code.clone(), key.clone())),
            None => campaign.codes_enabled.then(|| {
                let code = new_code(campaign, &candidate.name, attempt);
                (code.display().to_owned(), code.key().to_owned())
            }),
        };
        let row = referrer::ActiveModel {
            campaign_id: Set(campaign.id),
            name: Set(candidate.name.clone()),
            email: Set(candidate.email.as_str().to_owned()),
            email_normalized: Set(candidate.normalized.clone()),
            slug: Set(slug::link_slug(&candidate.name, &mut random_index)
                .as_str()
                .to_owned()),
            code: Set(code.as_ref().map(|(c, _)| c.clone())),
            code_key: Set(code.map(|(_, k)| k)),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        let savepoint = txn
            .begin()
            .await
            .map_err(|e| AppError::internal("referrer_import::insert savepoint", e))?;
        match row.insert(&savepoint).await {
            Ok(model) => {
                savepoint
                    .commit()
                    .await
                    .map_err(|e| AppError::internal("referrer_import::insert release", e))?;
                return Ok(model);
            }
            Err(e) if crate::ssr::db::is_unique_violation(&e) => {
                let _ = savepoint.rollback().await;
            }
            Err(e) => return Err(AppError::internal("referrer_import::insert", e)),
        }
    }
    Err(AppError::internal(
        "referrer_import::insert",
        "no free slug/code after many attempts",
    ))
}
