//! Who an email comes from and where replies to it go.
//!
//! - The installation's sender is the server's configuration (`HANDOFF_SMTP_FROM`,
//!   `HANDOFF_SMTP_REPLY_TO`) unless an admin set another on the Emails page; the admin's
//!   choice is kept in the database, so every server process on one database sends alike.
//! - Per campaign, its portal settings name the sender (the campaign's name when empty) and may
//!   send replies elsewhere. The address itself is always the installation's: a mail server,
//!   SPF and DKIM accept only addresses of domains the business has set up for sending.

use lettre::message::Mailbox;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::{
    error::AppError,
    ssr::{
        entities::campaign,
        services::{emails::smtp::parse_mailbox, settings},
        state::RuntimeSettings,
    },
    types::EmailSenderSettings,
};

/// The admin's sender address (setting key), instead of `HANDOFF_SMTP_FROM`.
pub const FROM_SETTING: &str = "email.from";
/// The admin's reply-to address (setting key), instead of `HANDOFF_SMTP_REPLY_TO`.
pub const REPLY_TO_SETTING: &str = "email.reply_to";

/// Who one email comes from and where its replies go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    /// The `From` mailbox.
    pub from: Mailbox,
    /// The `Reply-To` mailbox, if any.
    pub reply_to: Option<Mailbox>,
}

/// A sender or reply-to address typed by an admin: empty is `None`; anything else must read as
/// `refer@example.com` or `Example Referrals <refer@example.com>`.
pub fn parse_address(field: &str, value: &str) -> Result<Option<String>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > 254 {
        return Err(AppError::invalid(
            "too_long",
            field,
            "Keep it under 254 characters.",
        ));
    }
    parse_mailbox(value)
        .map(|mailbox| Some(mailbox.to_string()))
        .map_err(|_| {
            AppError::invalid(
                "invalid_email",
                field,
                "Write an email address, like refer@example.com or Example Referrals <refer@example.com>.",
            )
        })
}

/// The installation's sender: the admin's choice where there is one, else `configured`.
pub async fn installation(
    db: &impl ConnectionTrait,
    configured: &Sender,
) -> Result<Sender, AppError> {
    // Both were checked when saved; one that no longer reads falls back to the configuration.
    let read = |v: Option<String>| v.and_then(|v| parse_mailbox(&v).ok());
    Ok(Sender {
        from: read(settings::get(db, FROM_SETTING).await?)
            .unwrap_or_else(|| configured.from.clone()),
        reply_to: read(settings::get(db, REPLY_TO_SETTING).await?)
            .or_else(|| configured.reply_to.clone()),
    })
}

/// The sender of an email about `campaign`: its sender name (or its name) with the
/// installation's address, and its reply-to (or the installation's).
pub fn for_campaign(installation: &Sender, campaign: &campaign::Model) -> Sender {
    let name = campaign
        .email_sender_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&campaign.name);
    Sender {
        from: Mailbox::new(Some(name.to_owned()), installation.from.email.clone()),
        reply_to: campaign
            .email_reply_to
            .as_deref()
            .and_then(|v| parse_mailbox(v).ok())
            .or_else(|| installation.reply_to.clone()),
    }
}

/// The Emails page's "Sender" form: the admin's choices and what the server is configured with.
pub async fn current(
    db: &impl ConnectionTrait,
    settings: &RuntimeSettings,
) -> Result<EmailSenderSettings, AppError> {
    Ok(EmailSenderSettings {
        from: settings::get(db, FROM_SETTING).await?.unwrap_or_default(),
        reply_to: settings::get(db, REPLY_TO_SETTING)
            .await?
            .unwrap_or_default(),
        configured_from: settings.smtp_from.clone(),
        configured_reply_to: settings.smtp_reply_to.clone().unwrap_or_default(),
    })
}

/// Saves the admin's sender and reply-to (empty: back to the configuration). Nothing changes
/// when either is not an address.
pub async fn save(
    db: &DatabaseConnection,
    actor: &crate::ssr::services::audit::Actor,
    from: &str,
    reply_to: &str,
) -> Result<(), AppError> {
    let from = parse_address("from", from)?;
    let reply_to = parse_address("reply_to", reply_to)?;
    let shown =
        |value: &Option<String>| value.clone().unwrap_or_else(|| "the configured one".into());
    settings::set_logged(
        db,
        actor,
        &[
            (FROM_SETTING, from.as_deref().unwrap_or("")),
            (REPLY_TO_SETTING, reply_to.as_deref().unwrap_or("")),
        ],
        "email_sender.changed",
        format!(
            "Emails now come from {} with replies to {}.",
            shown(&from),
            shown(&reply_to)
        ),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_or_refused_with_the_field_named() {
        assert_eq!(parse_address("from", "  ").unwrap(), None);
        assert_eq!(
            parse_address("from", " Shop Referrals <refer@shop.example> ").unwrap(),
            Some("Shop Referrals <refer@shop.example>".to_owned())
        );
        for bad in [
            "not an address",
            "a@b@c",
            "Name <>",
            "x\r\nBcc: y@z.example",
        ] {
            match parse_address("reply_to", bad) {
                Err(AppError::Invalid { field, .. }) => {
                    assert_eq!(field.as_deref(), Some("reply_to"), "{bad}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
