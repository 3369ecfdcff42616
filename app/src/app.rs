//! The HTML shell and the router of the admin UI.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::pages::admin::{
    audit::AuditPage,
    campaigns::{CampaignPage, CampaignsPage},
    email_templates::EmailTemplatesPage,
    emails::{EmailPage, EmailsPage},
    imports::{ImportPage, ImportsPage},
    integrations::{EndpointPage, IntegrationsPage, SourcePage, StripeLogPage},
    keys::ApiKeysPage,
    leads::{LeadPage, LeadsPage},
    login::LoginPage,
    overview::OverviewPage,
    print::PrintStudioPage,
    referrer::ReferrerPage,
    referrers::ReferrersPage,
    rewards::RewardsPage,
    sales::SalesDeskPage,
    search::SearchPage,
    setup::SetupPage,
    widget::WidgetSettingsPage,
};
use crate::pages::portal::PortalPage;

/// The document around every server-rendered page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::content_policy::set_for_page();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The admin application. Every route renders fully on the server before it is sent
/// (`SsrMode::Async`), so pages are complete without JavaScript.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/handoff.css" />
        <Title text="Handoff" />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/admin") view=OverviewPage ssr=SsrMode::Async />
                <Route path=path!("/admin/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/admin/setup") view=SetupPage ssr=SsrMode::Async />
                <Route path=path!("/admin/campaigns") view=CampaignsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/campaigns/:slug") view=CampaignPage ssr=SsrMode::Async />
                <Route path=path!("/admin/campaigns/:slug/emails") view=EmailTemplatesPage ssr=SsrMode::Async />
                <Route path=path!("/admin/campaigns/:slug/widget") view=WidgetSettingsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/referrers") view=ReferrersPage ssr=SsrMode::Async />
                <Route path=path!("/admin/referrers/:id") view=ReferrerPage ssr=SsrMode::Async />
                <Route path=path!("/admin/emails") view=EmailsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/emails/:id") view=EmailPage ssr=SsrMode::Async />
                <Route path=path!("/admin/leads") view=LeadsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/leads/:id") view=LeadPage ssr=SsrMode::Async />
                <Route path=path!("/admin/rewards") view=RewardsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/imports") view=ImportsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/imports/:id") view=ImportPage ssr=SsrMode::Async />
                <Route path=path!("/admin/integrations") view=IntegrationsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/integrations/sources/:id") view=SourcePage ssr=SsrMode::Async />
                <Route path=path!("/admin/integrations/stripe") view=StripeLogPage ssr=SsrMode::Async />
                <Route path=path!("/admin/integrations/endpoints/:id") view=EndpointPage ssr=SsrMode::Async />
                <Route path=path!("/admin/api-keys") view=ApiKeysPage ssr=SsrMode::Async />
                <Route path=path!("/admin/print") view=PrintStudioPage ssr=SsrMode::Async />
                <Route path=path!("/admin/sales") view=SalesDeskPage ssr=SsrMode::Async />
                <Route path=path!("/admin/search") view=SearchPage ssr=SsrMode::Async />
                <Route path=path!("/admin/audit") view=AuditPage ssr=SsrMode::Async />
                <Route path=path!("/p/:slug") view=PortalPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// Shown for unknown admin paths.
#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="narrow">
            <h1>"Page not found"</h1>
            <p><a href="/admin">"Back to the dashboard"</a></p>
        </main>
    }
}
