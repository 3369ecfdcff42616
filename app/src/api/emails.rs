//! The Emails log's server functions.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{EmailDetail, EmailLine, EmailPreview, EmailSenderSettings, EmailTemplateView},
};

/// The Emails log, newest first, 100 at a time (`before`: the id to page from).
#[server(prefix = "/rpc", endpoint = "emails")]
pub async fn list_emails(
    status: Option<String>,
    before: Option<i64>,
) -> Result<Vec<EmailLine>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails},
    };
    auth::require(Permission::ViewData).await?;
    emails::log(&auth::state()?.db, None, status.as_deref(), before).await
}

/// One email with both parts.
#[server(prefix = "/rpc", endpoint = "email")]
pub async fn load_email(id: i64) -> Result<EmailDetail, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails},
    };
    auth::require(Permission::ViewData).await?;
    emails::detail(&auth::state()?.db, id).await
}

/// Sends an email again as soon as the worker gets to it.
#[server(prefix = "/rpc", endpoint = "email_resend")]
pub async fn resend_email(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails::queue},
    };
    auth::require(Permission::ManageReferrers).await?;
    queue::resend(&auth::state()?.db, id).await?;
    crate::api::redirect_back_with(&[("resent", &id.to_string())]);
    Ok(())
}

/// Whether the server sends email (an SMTP server is configured).
#[server(prefix = "/rpc", endpoint = "email_sending")]
pub async fn email_sending() -> Result<bool, AppError> {
    use crate::{domain::roles::Permission, ssr::auth};
    auth::require(Permission::ViewData).await?;
    Ok(auth::state()?.settings.email_sending)
}

/// Who emails come from and where replies go, for the Emails page's "Sender" form.
#[server(prefix = "/rpc", endpoint = "email_sender")]
pub async fn load_email_sender() -> Result<EmailSenderSettings, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails::sender},
    };
    auth::require(Permission::ViewData).await?;
    let state = auth::state()?;
    sender::current(&state.db, &state.settings).await
}

/// Saves the installation's sender and reply-to (empty: the server's configuration).
#[server(prefix = "/rpc", endpoint = "email_sender_save")]
pub async fn save_email_sender(from: String, reply_to: String) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, emails::sender},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    sender::save(&auth::state()?.db, &Actor::admin(&admin), &from, &reply_to).await?;
    crate::api::redirect_back_with(&[("saved", "sender")]);
    Ok(())
}

/// Every kind's template of campaign `slug`, for the editor.
#[server(prefix = "/rpc", endpoint = "email_templates")]
pub async fn list_email_templates(slug: String) -> Result<Vec<EmailTemplateView>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails::templates},
    };
    auth::require(Permission::ViewData).await?;
    templates::list(&auth::state()?, &slug).await
}

/// Saves one kind's subject, body and whether it goes out on its own (`auto_send` is `on` when
/// the box is ticked).
#[server(prefix = "/rpc", endpoint = "email_template_save")]
pub async fn save_email_template(
    slug: String,
    kind: String,
    subject: String,
    body: String,
    auto_send: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, emails::templates},
        },
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    let kind = templates::parse_kind(&kind)?;
    templates::save(
        &auth::state()?,
        &Actor::admin(&admin),
        &slug,
        kind,
        &subject,
        &body,
        auto_send.is_some(),
    )
    .await?;
    crate::api::redirect_back_with(&[("saved", kind.as_str())]);
    Ok(())
}

/// Goes back to the built-in text for one kind.
#[server(prefix = "/rpc", endpoint = "email_template_reset")]
pub async fn reset_email_template(slug: String, kind: String) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, emails::templates},
        },
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    let kind = templates::parse_kind(&kind)?;
    templates::reset(&auth::state()?, &Actor::admin(&admin), &slug, kind).await?;
    crate::api::redirect_back_with(&[("reset", kind.as_str())]);
    Ok(())
}

/// A subject and body rendered with sample data, as the email would look.
#[server(prefix = "/rpc", endpoint = "email_template_preview")]
pub async fn preview_email_template(
    slug: String,
    kind: String,
    subject: String,
    body: String,
) -> Result<EmailPreview, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails::templates},
    };
    auth::require(Permission::ViewData).await?;
    let kind = templates::parse_kind(&kind)?;
    let rendered = templates::preview(&auth::state()?, &slug, kind, &subject, &body).await?;
    Ok(EmailPreview {
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
    })
}

/// Sends the email, with sample data, to the signed-in admin.
#[server(prefix = "/rpc", endpoint = "email_template_test")]
pub async fn send_test_email(
    slug: String,
    kind: String,
    subject: String,
    body: String,
) -> Result<String, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails::templates},
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    let kind = templates::parse_kind(&kind)?;
    templates::send_test(
        &auth::state()?,
        &slug,
        kind,
        &subject,
        &body,
        &admin.email,
        chrono::Utc::now(),
    )
    .await?;
    crate::api::redirect_back_with(&[("tested", kind.as_str())]);
    Ok(admin.email)
}
