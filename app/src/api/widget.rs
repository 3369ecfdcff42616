//! Server functions of the admin's share widget page.

use leptos::prelude::*;

use crate::{domain::widget::WidgetSettingsInput, error::AppError, types::WidgetAdmin};

/// The campaign's widget settings and what a business needs to put the widget on its site.
#[server(prefix = "/rpc", endpoint = "widget_settings")]
pub async fn load_widget_settings(slug: String) -> Result<WidgetAdmin, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{campaigns, widget},
        },
    };
    auth::require(Permission::ViewData).await?;
    let state = auth::state()?;
    let row = campaigns::find_row(&state.db, &slug).await?;
    let public_url = &state.settings.public_url;
    Ok(WidgetAdmin {
        settings: widget::settings_of(&row).to_input(),
        script_url: format!("{public_url}/embed.js?v={}", widget::embed_version()),
        origin: url::Url::parse(public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| public_url.clone()),
        signup_open: row.signup_open,
        slug: row.slug,
        name: row.name,
    })
}

/// Saves the campaign's widget settings (mode and display rules).
#[server(prefix = "/rpc", endpoint = "widget_settings_save")]
pub async fn save_widget_settings(
    slug: String,
    settings: WidgetSettingsInput,
) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, widget},
        },
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    widget::save(&auth::state()?, &Actor::admin(&admin), &slug, &settings).await?;
    crate::api::redirect_back_with(&[("saved", "widget")]);
    Ok(())
}
