//! Admin accounts: creation, password login, the one-time setup link.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, sea_query::Expr,
};

use crate::{
    domain::{email::Email, roles::Role},
    error::AppError,
    ssr::{
        db::{begin_write, is_unique_violation},
        entities::{admin, setup_token},
        services::{
            secrets::{random_token, sha256_hex},
            throttle::PasswordHashing,
        },
        state::AppState,
    },
    types::CurrentAdmin,
};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// How long a setup link stays valid.
const SETUP_TOKEN_HOURS: i64 = 24;

fn to_current(row: admin::Model) -> Result<CurrentAdmin, AppError> {
    let role = Role::parse(&row.role).ok_or_else(|| {
        AppError::internal("admins::to_current", format!("unknown role {:?}", row.role))
    })?;
    Ok(CurrentAdmin {
        id: row.id,
        email: row.email,
        role,
    })
}

/// Hashes a password with argon2id (the crate's defaults follow OWASP's recommendation).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt_bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| AppError::internal("admins::hash_password salt", e))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal("admins::hash_password", e))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn check_password_policy(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::invalid(
            "weak_password",
            "password",
            format!("Use a password of at least {MIN_PASSWORD_LEN} characters."),
        ));
    }
    if password.len() > 1024 {
        return Err(AppError::invalid(
            "weak_password",
            "password",
            "That password is too long (1024 bytes at most).",
        ));
    }
    Ok(())
}

fn parse_email(input: &str) -> Result<Email, AppError> {
    Email::parse(input).map_err(|e| AppError::invalid("invalid_email", "email", e.to_string()))
}

/// Finds an admin by id.
pub async fn find(db: &DatabaseConnection, id: i64) -> Result<Option<CurrentAdmin>, AppError> {
    admin::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("admins::find", e))?
        .map(to_current)
        .transpose()
}

/// Whether any admin exists yet.
pub async fn any_exist(db: &DatabaseConnection) -> Result<bool, AppError> {
    admin::Entity::find()
        .count(db)
        .await
        .map(|n| n > 0)
        .map_err(|e| AppError::internal("admins::any_exist", e))
}

/// Creates an admin. The email must be new.
pub async fn create(
    db: &impl sea_orm::ConnectionTrait,
    email: &str,
    password: &str,
    role: Role,
) -> Result<CurrentAdmin, AppError> {
    let email = parse_email(email)?;
    check_password_policy(password)?;
    let now = Utc::now();
    let row = admin::ActiveModel {
        email: Set(email.as_str().to_lowercase()),
        password_hash: Set(hash_password(password)?),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::Conflict {
                code: "email_taken".into(),
                message: "An admin with that email already exists.".into(),
            }
        } else {
            AppError::internal("admins::create", e)
        }
    })?;
    to_current(row)
}

/// Checks an email and password. Unknown emails cost the same time as wrong passwords.
pub async fn authenticate(
    db: &DatabaseConnection,
    hashing: &PasswordHashing,
    email: &str,
    password: &str,
) -> Result<CurrentAdmin, AppError> {
    let wrong = || AppError::invalid("wrong_credentials", "password", "Wrong email or password.");
    let row = admin::Entity::find()
        .filter(admin::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await
        .map_err(|e| AppError::internal("admins::authenticate", e))?;
    let Some(row) = row else {
        // Spend the same effort as a real check so response time does not reveal the account.
        let password = password.to_owned();
        let _ = hashing.run(move || hash_password(&password)).await?;
        return Err(wrong());
    };
    let hash = row.password_hash.clone();
    let password = password.to_owned();
    let ok = hashing
        .run(move || verify_password(&password, &hash))
        .await?;
    if !ok {
        return Err(wrong());
    }
    let mut active: admin::ActiveModel = row.clone().into();
    active.last_login_at = Set(Some(Utc::now()));
    active
        .update(db)
        .await
        .map_err(|e| AppError::internal("admins::authenticate last_login", e))?;
    to_current(row)
}

/// When no admin exists, issues a fresh one-time setup token (replacing unused older ones) and
/// returns it so start-up can print the setup link. Returns `None` once an admin exists.
pub async fn issue_setup_token(db: &DatabaseConnection) -> Result<Option<String>, AppError> {
    if any_exist(db).await? {
        return Ok(None);
    }
    let token = random_token(24);
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("admins::issue_setup_token begin", e))?;
    setup_token::Entity::delete_many()
        .filter(setup_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("admins::issue_setup_token clear", e))?;
    setup_token::ActiveModel {
        token_hash: Set(sha256_hex(&token)),
        expires_at: Set(Utc::now() + Duration::hours(SETUP_TOKEN_HOURS)),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::internal("admins::issue_setup_token insert", e))?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("admins::issue_setup_token commit", e))?;
    Ok(Some(token))
}

/// Whether `token` is a valid, unused, unexpired setup token while no admin exists.
pub async fn setup_token_is_valid(db: &DatabaseConnection, token: &str) -> Result<bool, AppError> {
    if any_exist(db).await? {
        return Ok(false);
    }
    let row = setup_token::Entity::find()
        .filter(setup_token::Column::TokenHash.eq(sha256_hex(token)))
        .filter(setup_token::Column::UsedAt.is_null())
        .filter(setup_token::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await
        .map_err(|e| AppError::internal("admins::setup_token_is_valid", e))?;
    Ok(row.is_some())
}

/// Creates the first owner with a setup token. The token works once, and only while no admin
/// exists. A wrong token is refused by a plain read, before the write lock (which a stranger's
/// guesses must not hold); then, in one write transaction, the token is claimed by a single
/// conditional update (on PostgreSQL two requests racing with it block on the row, and the second
/// finds it used) and the admin count checked before the owner is created.
pub async fn complete_setup(
    db: &DatabaseConnection,
    token: &str,
    email: &str,
    password: &str,
) -> Result<CurrentAdmin, AppError> {
    let invalid = || {
        AppError::invalid(
            "invalid_setup_token",
            "token",
            "This setup link is invalid or has been used. Restart the server for a new one, or use `handoff admin create`.",
        )
    };
    if !setup_token_is_valid(db, token).await? {
        return Err(invalid());
    }
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("admins::complete_setup begin", e))?;
    let now = Utc::now();
    let claimed = setup_token::Entity::update_many()
        .col_expr(setup_token::Column::UsedAt, Expr::value(now))
        .filter(setup_token::Column::TokenHash.eq(sha256_hex(token)))
        .filter(setup_token::Column::UsedAt.is_null())
        .filter(setup_token::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("admins::complete_setup claim", e))?;
    if claimed.rows_affected != 1 {
        return Err(invalid());
    }
    let existing = admin::Entity::find()
        .count(&txn)
        .await
        .map_err(|e| AppError::internal("admins::complete_setup count", e))?;
    if existing > 0 {
        return Err(invalid());
    }
    let admin = create(&txn, email, password, Role::Owner).await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("admins::complete_setup commit", e))?;
    Ok(admin)
}

/// Logs in with throttling: refused (429) when `client` (a hash of the caller's address) has
/// made too many attempts, while the email has too many attempts without a success, or when
/// every password hashing slot and its queue are taken; a success clears the email's count and
/// gives the client its attempt back (so the client limit counts failures).
/// Every login door calls this.
pub async fn log_in(
    state: &AppState,
    email: &str,
    password: &str,
    client: &str,
) -> Result<CurrentAdmin, AppError> {
    // The client first: one guesser is stopped before their guessing can pause the owner's own
    // email. Then the email's count, checked and counted in one step.
    let limits = &state.login_limits;
    let pair = format!("{client}\u{0}{}", email.trim().to_lowercase());
    if !limits.by_client.attempt(client) || !limits.by_client_and_email.attempt(&pair) {
        tracing::warn!("refused a login: too many from one client");
        return Err(AppError::RateLimited);
    }
    if !state.login_throttle.begin(email) {
        return Err(AppError::RateLimited);
    }
    let admin = authenticate(&state.db, &state.password_hashing, email, password).await?;
    state.login_throttle.record_success(email);
    limits.by_client.refund(client);
    limits.by_client_and_email.refund(&pair);
    Ok(admin)
}
