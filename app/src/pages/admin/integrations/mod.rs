//! The Integrations tab: inbound webhook sources (Zapier, Make, n8n, HubSpot, Salesforce, custom
//! JSON) with their field mappings and delivery logs, Stripe, outbound webhook endpoints, and the
//! HubSpot sync (`hubspot.rs`).
//! The REST API's keys have their own page, linked from here.

mod inbound;
mod outbound;
mod stripe;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{hubspot::HubSpotSection, salesforce::SalesforceSection};
use crate::{
    api::{
        campaigns::list_campaigns,
        integrations::{
            CreateInboundSource, CreateWebhookEndpoint, DeleteInboundSource, DeletePromotionCode,
            DeleteWebhookEndpoint, IntegrationsOverview, MapStripePromotionCode, NewEndpoint,
            NewSource, PromotionCodeImport, SaveStripeCampaign, SaveStripeSecret,
            SetWebhookEndpointEnabled, get_integrations, take_new_inbound_source,
            take_new_webhook_endpoint, take_promotion_code_import,
        },
    },
    components::{AdminPage, load_error},
    error::AppError,
    types::Campaign,
};

use self::{inbound::InboundSection, outbound::OutboundSection, stripe::StripeSection};
pub use self::{inbound::SourcePage, outbound::EndpointPage, stripe::StripeLogPage};

/// Whether a form's last post succeeded: with JavaScript, from its action's value; without it,
/// from the `key=expected` its server function put in the query when it redirected back.
pub(super) fn succeeded<T, S>(
    value: S,
    key: &'static str,
    expected: &'static str,
) -> impl Fn() -> bool + Send + Sync + 'static
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    let query = use_query_map();
    move || match value.with(|v| v.as_ref().map(Result::is_ok)) {
        Some(ok) => ok,
        None => query.with(|q| q.get(key).as_deref() == Some(expected)),
    }
}

/// A success message shown while `shown` holds.
pub(super) fn ok_note(
    text: &'static str,
    shown: impl Fn() -> bool + Send + Sync + 'static,
) -> impl IntoView {
    move || shown().then(|| view! { <p class="ok" role="status">{text}</p> })
}

/// The campaign options of a select, `chosen` selected.
pub(super) fn campaign_options(
    campaigns: &[Campaign],
    chosen: Option<&str>,
) -> impl IntoView + use<> {
    campaigns
        .iter()
        .map(|c| {
            let is = chosen == Some(c.slug.as_str());
            view! { <option value=c.slug.clone() selected=is>{c.name.clone()}</option> }
        })
        .collect_view()
}

/// `/admin/integrations`.
#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let create_source = ServerAction::<CreateInboundSource>::new();
    let delete_source = ServerAction::<DeleteInboundSource>::new();
    let secret = ServerAction::<SaveStripeSecret>::new();
    let stripe_campaign = ServerAction::<SaveStripeCampaign>::new();
    let promo = ServerAction::<MapStripePromotionCode>::new();
    let delete_promo = ServerAction::<DeletePromotionCode>::new();
    let create_endpoint = ServerAction::<CreateWebhookEndpoint>::new();
    let enable = ServerAction::<SetWebhookEndpointEnabled>::new();
    let delete_endpoint = ServerAction::<DeleteWebhookEndpoint>::new();
    let query = use_query_map();
    let promo_search = move || {
        query.with(|q| {
            q.get("promo")
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
    };
    let overview = Resource::new(
        move || {
            (
                promo_search(),
                (
                    create_source.version().get(),
                    delete_source.version().get(),
                    secret.version().get(),
                    stripe_campaign.version().get(),
                    promo.version().get(),
                    delete_promo.version().get(),
                    create_endpoint.version().get(),
                    enable.version().get(),
                    delete_endpoint.version().get(),
                ),
            )
        },
        |(search, _)| get_integrations(search),
    );
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    // A new source's URL and an endpoint's secret, once (see `InboundSection`).
    let fresh_source = Resource::new(
        move || create_source.version().get(),
        |_| take_new_inbound_source(),
    );
    let fresh_endpoint = Resource::new(
        move || create_endpoint.version().get(),
        |_| take_new_webhook_endpoint(),
    );
    // What a promotion-code file posted just before came to, once.
    let promo_import = Resource::new(|| (), |_| take_promotion_code_import());
    let actions = Actions {
        create_source,
        delete_source,
        secret,
        stripe_campaign,
        promo,
        delete_promo,
        create_endpoint,
        enable,
        delete_endpoint,
        fresh_source,
        fresh_endpoint,
        promo_import,
    };
    view! {
        <AdminPage title="Integrations">
            <h1>"Integrations"</h1>
            <p>
                "How conversions reach Handoff from your tools, and how Handoff tells them what happened. Your own code can also use the "
                <a href="/api/v1/docs" rel="external">"REST API"</a> " with an " <a href="/admin/api-keys">"API key"</a> "."
            </p>
            <nav aria-label="On this page" class="toc">
                <a href="#inbound">"Inbound webhooks"</a>
                <a href="#stripe">"Stripe"</a>
                <a href="#outbound">"Outbound webhooks"</a>
                <a href="#hubspot">"HubSpot"</a>
                <a href="#salesforce">"Salesforce"</a>
                <a href="/admin/api-keys">"API keys"</a>
            </nav>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let search = promo_search();
                    Suspend::new(async move {
                        let campaigns = match campaigns.await {
                            Ok(list) => list,
                            Err(error) => return load_error(error),
                        };
                        match overview.await {
                            Ok(overview) => view! { <Sections overview campaigns actions search /> }.into_any(),
                            Err(error) => load_error(error),
                        }
                    })
                }}
            </Suspense>
            // Outside the Suspense above: its own resource is made with the page, not inside that
            // Suspense's async render (a resource made there does not hydrate).
            <HubSpotSection />
            <SalesforceSection />
        </AdminPage>
    }
}

/// The integrations page's forms.
#[derive(Clone, Copy)]
pub(super) struct Actions {
    pub(super) create_source: ServerAction<CreateInboundSource>,
    pub(super) delete_source: ServerAction<DeleteInboundSource>,
    pub(super) secret: ServerAction<SaveStripeSecret>,
    pub(super) stripe_campaign: ServerAction<SaveStripeCampaign>,
    pub(super) promo: ServerAction<MapStripePromotionCode>,
    pub(super) delete_promo: ServerAction<DeletePromotionCode>,
    pub(super) create_endpoint: ServerAction<CreateWebhookEndpoint>,
    pub(super) enable: ServerAction<SetWebhookEndpointEnabled>,
    pub(super) delete_endpoint: ServerAction<DeleteWebhookEndpoint>,
    pub(super) fresh_source: Resource<Result<Option<NewSource>, AppError>>,
    pub(super) fresh_endpoint: Resource<Result<Option<NewEndpoint>, AppError>>,
    pub(super) promo_import: Resource<Result<Option<PromotionCodeImport>, AppError>>,
}

#[component]
fn Sections(
    overview: IntegrationsOverview,
    campaigns: Vec<Campaign>,
    actions: Actions,
    /// The promotion-code search of the query (`?promo=`).
    search: Option<String>,
) -> impl IntoView {
    let IntegrationsOverview {
        inbound_base,
        sources,
        stripe,
        endpoints,
    } = overview;
    view! {
        <InboundSection sources inbound_base campaigns=campaigns.clone() actions />
        <StripeSection stripe campaigns actions search />
        <OutboundSection endpoints actions />
    }
}

#[cfg(test)]
mod tests {
    use super::{
        inbound::{MAPPING_FIELDS, mapping_value, preset_label, pretty_payload},
        outbound::events_text,
        stripe::{promotion_code_label, promotion_codes_caption, referrer_text},
    };
    use crate::{api::integrations::PromotionCodeRow, types::InboundSource};

    #[test]
    fn payloads_are_indented_when_they_are_json() {
        assert_eq!(pretty_payload(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_payload("not json"), "not json");
    }

    #[test]
    fn presets_and_events_read_as_words() {
        assert_eq!(preset_label("hubspot"), "HubSpot deal workflow");
        assert_eq!(preset_label("other"), "other");
        assert_eq!(events_text(&["*".into()]), "every event");
        assert_eq!(
            events_text(&["lead.created".into(), "reward.due".into()]),
            "lead.created, reward.due"
        );
    }

    #[test]
    fn promotion_codes_read_as_words() {
        let mut p = PromotionCodeRow {
            id: 3,
            campaign: "spring".into(),
            referrer_id: 9,
            referrer_name: Some("Ann".into()),
            referrer_email: Some("ann@example.com".into()),
            referrer_code: Some("ANN-7K4Q".into()),
            promotion_code_id: Some("promo_1".into()),
            code: Some("ANN10".into()),
            created_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        };
        assert_eq!(promotion_code_label(&p), "promo_1");
        assert_eq!(referrer_text(&p), "Ann <ann@example.com>");
        p.promotion_code_id = None;
        p.referrer_name = None;
        assert_eq!(promotion_code_label(&p), "ANN10");
        assert_eq!(referrer_text(&p), "Referrer 9 (deleted)");

        assert_eq!(promotion_codes_caption(1, 1, None), "1 mapping.");
        assert_eq!(promotion_codes_caption(4, 4, None), "4 mappings.");
        assert!(
            promotion_codes_caption(100, 250, None).starts_with("Showing the newest 100 of 250")
        );
        assert_eq!(
            promotion_codes_caption(1, 1, Some("promo")),
            "1 mapping matches “promo”."
        );
        assert_eq!(
            promotion_codes_caption(3, 3, Some("ann")),
            "3 mappings match “ann”."
        );
        assert!(promotion_codes_caption(100, 120, Some("a")).contains("100 of the 120"));
    }

    #[test]
    fn every_mapping_field_is_edited() {
        let source = InboundSource {
            id: 1,
            campaign: "spring".into(),
            name: "Zap".into(),
            preset: "zapier".into(),
            token_prefix: "in_abc".into(),
            signed: false,
            mapping: crate::types::FieldMapping {
                event_id: "/id".into(),
                email: "/email".into(),
                referral_code: "/code".into(),
                promotion_code: "/promo".into(),
                amount: "/amount".into(),
                amount_unit: "major".into(),
                currency: "/cur".into(),
                event: "/event".into(),
                occurred_at: "/at".into(),
            },
            default_event: "purchase".into(),
            created_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        };
        for (name, _, _) in MAPPING_FIELDS {
            assert!(mapping_value(&source, name).starts_with('/'), "{name}");
        }
    }
}
