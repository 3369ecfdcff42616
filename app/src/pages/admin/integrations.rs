//! The Integrations tab: inbound webhook sources (Zapier, Make, n8n, HubSpot, Salesforce, custom
//! JSON) with their field mappings and delivery logs, Stripe, outbound webhook endpoints, and the
//! HubSpot sync (`hubspot.rs`).
//! The REST API's keys have their own page, linked from here.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{hubspot::HubSpotSection, salesforce::SalesforceSection};
use crate::{
    api::{
        campaigns::list_campaigns,
        integrations::{
            CreateInboundSource, CreateWebhookEndpoint, DeleteInboundSource, DeletePromotionCode,
            DeleteWebhookEndpoint, EVENT_CHOICES, EndpointRow, IntegrationsOverview,
            MAX_REPORTED_MAPPING_ERRORS, MapStripePromotionCode, NewEndpoint, NewSource,
            PRESET_CHOICES, PROMOTION_CODE_IMPORT_ACTION, PROMOTION_CODES_SHOWN,
            PromotionCodeImport, PromotionCodeRow, ReplayInboundDelivery, ReplayWebhookDelivery,
            STRIPE_EVENTS, SaveSourceMapping, SaveStripeCampaign, SaveStripeSecret,
            SetWebhookEndpointEnabled, event_field, get_inbound_source, get_integrations,
            get_webhook_endpoint, stripe_deliveries, take_new_inbound_source,
            take_new_webhook_endpoint, take_promotion_code_import,
        },
    },
    components::{
        AdminPage, CopyText, RefusedRows, action_error, load_error, short_time, use_id_param,
    },
    error::AppError,
    types::{Campaign, ImportError, InboundDelivery, InboundSource},
};

/// A mapping's name for people and for its Delete button: its id, else its code.
pub fn promotion_code_label(p: &PromotionCodeRow) -> String {
    p.promotion_code_id
        .clone()
        .or_else(|| p.code.clone())
        .unwrap_or_default()
}

/// The referrer a mapping credits, for people: `Name <email>`.
pub fn referrer_text(p: &PromotionCodeRow) -> String {
    match (&p.referrer_name, &p.referrer_email) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        _ => format!("Referrer {} (deleted)", p.referrer_id),
    }
}

/// What the promotion-code list shows: all of them, or how many of how many.
pub fn promotion_codes_caption(shown: usize, total: u64, search: Option<&str>) -> String {
    match search {
        Some(search) if total == 1 => format!("1 mapping matches “{search}”."),
        Some(search) if total as usize == shown => format!("{total} mappings match “{search}”."),
        Some(search) => {
            format!("Showing the newest {shown} of the {total} mappings that match “{search}”.")
        }
        None if total as usize == shown => match total {
            1 => "1 mapping.".to_owned(),
            n => format!("{n} mappings."),
        },
        None => format!(
            "Showing the newest {shown} of {total} mappings; find others by their id, code or referrer's email."
        ),
    }
}

/// A preset's name for people.
pub fn preset_label(preset: &str) -> &str {
    PRESET_CHOICES
        .iter()
        .find(|(p, _)| *p == preset)
        .map(|(_, label)| *label)
        .unwrap_or(preset)
}

/// A payload for reading: JSON indented, anything else as it came.
pub fn pretty_payload(payload: &str) -> String {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| payload.to_owned())
}

/// The events an endpoint receives, in words.
pub fn events_text(events: &[String]) -> String {
    if events.iter().any(|e| e == "*") {
        "every event".to_owned()
    } else {
        events.join(", ")
    }
}

/// The fields of a source's mapping editor: form name, label, hint.
const MAPPING_FIELDS: [(&str, &str, &str); 8] = [
    (
        "email",
        "Email",
        "The friend's email, like /email or /properties/email/value.",
    ),
    ("referral_code", "Referral code", "Like /referral_code."),
    (
        "promotion_code",
        "Promotion code",
        "A coupon code mapped to a referrer. Empty: not sent.",
    ),
    ("amount", "Amount", "The conversion's value, like /amount."),
    ("currency", "Currency", "Like /currency (USD, EUR…)."),
    (
        "event",
        "Event name",
        "Like /event. Empty: the default event below.",
    ),
    (
        "event_id",
        "Event id",
        "A unique id per event, so a retry is never counted twice. Empty: the webhook-id header, else a hash of the body.",
    ),
    (
        "occurred_at",
        "Occurred at",
        "When it happened (RFC 3339 or unix seconds). Empty: when it arrives.",
    ),
];

/// The value of a mapping field by its form name.
fn mapping_value(source: &InboundSource, field: &str) -> String {
    let m = &source.mapping;
    match field {
        "email" => m.email.clone(),
        "referral_code" => m.referral_code.clone(),
        "promotion_code" => m.promotion_code.clone(),
        "amount" => m.amount.clone(),
        "currency" => m.currency.clone(),
        "event" => m.event.clone(),
        "event_id" => m.event_id.clone(),
        "occurred_at" => m.occurred_at.clone(),
        _ => String::new(),
    }
}

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
fn campaign_options(campaigns: &[Campaign], chosen: Option<&str>) -> impl IntoView + use<> {
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
struct Actions {
    create_source: ServerAction<CreateInboundSource>,
    delete_source: ServerAction<DeleteInboundSource>,
    secret: ServerAction<SaveStripeSecret>,
    stripe_campaign: ServerAction<SaveStripeCampaign>,
    promo: ServerAction<MapStripePromotionCode>,
    delete_promo: ServerAction<DeletePromotionCode>,
    create_endpoint: ServerAction<CreateWebhookEndpoint>,
    enable: ServerAction<SetWebhookEndpointEnabled>,
    delete_endpoint: ServerAction<DeleteWebhookEndpoint>,
    fresh_source: Resource<Result<Option<NewSource>, AppError>>,
    fresh_endpoint: Resource<Result<Option<NewEndpoint>, AppError>>,
    promo_import: Resource<Result<Option<PromotionCodeImport>, AppError>>,
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

/// Inbound sources: create, list, delete.
#[component]
fn InboundSection(
    sources: Vec<InboundSource>,
    inbound_base: String,
    campaigns: Vec<Campaign>,
    actions: Actions,
) -> impl IntoView {
    let create = actions.create_source;
    let delete = actions.delete_source;
    let fresh = actions.fresh_source;
    let deleted = succeeded(delete.value(), "deleted", "source");
    view! {
        <section class="card" id="inbound" aria-labelledby="inbound-heading">
            <h2 id="inbound-heading">"Inbound webhooks"</h2>
            <p>"Zapier, Make, n8n, HubSpot workflows, Salesforce flows or any tool that can POST JSON: each source gets its own URL, and its field mapping turns what it sends into a conversion."</p>
            <h3>"New source"</h3>
            <ActionForm action=create>
                <div class="fields">
                    <div class="field">
                        <label for="source-name">"Source name"</label>
                        <input id="source-name" name="name" required maxlength="200" placeholder="Zapier: Shopify orders" />
                    </div>
                    <div class="field">
                        <label for="source-campaign">"Campaign"</label>
                        <select id="source-campaign" name="campaign" required>{campaign_options(&campaigns, None)}</select>
                    </div>
                    <div class="field">
                        <label for="source-preset">"Preset"</label>
                        <select id="source-preset" name="preset" aria-describedby="source-preset-hint">
                            {PRESET_CHOICES.into_iter().map(|(value, label)| view! { <option value=value>{label}</option> }).collect_view()}
                        </select>
                        <p id="source-preset-hint" class="hint">"Fills in the field mapping; change it later on the source's page."</p>
                    </div>
                </div>
                <div class="check">
                    <input id="source-signed" name="signed" type="checkbox" value="on" />
                    <label for="source-signed">"Require a signature (Standard Webhooks): requests must be signed with the source's secret"</label>
                </div>
                {action_error(create.value())}
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        // With JavaScript the action returns the source; without it the form
                        // redirects back and the source comes from the session, once.
                        let from_action = match create.value().get() {
                            Some(Ok(new)) => Some(new),
                            _ => None,
                        };
                        from_action.or(fresh.await.ok().flatten()).map(|new| view! {
                            <div class="ok" role="status">
                                <p>{format!("Source “{}” created. Copy its URL now; it will not be shown again:", new.name)}</p>
                                <p class="secret"><span>"URL: "</span><CopyText text=new.url /></p>
                                {new.secret.map(|secret| view! {
                                    <p class="secret"><span>"Signing secret: "</span><CopyText text=secret /></p>
                                })}
                            </div>
                        })
                    })}
                </Suspense>
                <button type="submit">"Create source"</button>
            </ActionForm>
            {ok_note("Source deleted; its URL no longer works.", deleted)}
            {action_error(delete.value())}
            {if sources.is_empty() {
                view! { <p class="empty">"No inbound sources yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Campaign"</th>
                                    <th scope="col">"Preset"</th>
                                    <th scope="col">"URL"</th>
                                    <th scope="col">"Signature"</th>
                                    <th scope="col">"Action"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {sources.into_iter().map(|s| view! {
                                    <tr>
                                        <td data-label="Name"><a href=format!("/admin/integrations/sources/{}", s.id)>{s.name.clone()}</a></td>
                                        <td data-label="Campaign">{s.campaign.clone()}</td>
                                        <td data-label="Preset">{preset_label(&s.preset).to_owned()}</td>
                                        <td data-label="URL"><code>{format!("{inbound_base}{}…", s.token_prefix)}</code></td>
                                        <td data-label="Signature">{if s.signed { "required" } else { "not required" }}</td>
                                        <td data-label="Action">
                                            <ActionForm action=delete>
                                                <input type="hidden" name="id" value=s.id.to_string() />
                                                <button type="submit" class="danger" aria-label=format!("Delete source {}", s.name)>"Delete"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// Stripe: the endpoint URL, the signing secret, the campaign, promotion codes, the log.
#[component]
fn StripeSection(
    stripe: crate::api::integrations::StripeSettings,
    campaigns: Vec<Campaign>,
    actions: Actions,
    search: Option<String>,
) -> impl IntoView {
    let secret = actions.secret;
    let campaign = actions.stripe_campaign;
    let promo = actions.promo;
    let secret_saved = succeeded(secret.value(), "saved", "stripe_secret");
    let campaign_saved = succeeded(campaign.value(), "saved", "stripe_campaign");
    let promo_saved = succeeded(promo.value(), "saved", "promotion_code");
    let choices = stripe.referrers.clone();
    let has_choices = !choices.is_empty();
    // The import form's own copies: the campaign form's children are closures that take theirs.
    let import_campaigns = campaigns.clone();
    let import_chosen = stripe.campaign.clone();
    let secret_state = match &stripe.secret_hint {
        Some(hint) => format!("Set, ending in {hint}."),
        None => "Not set: Stripe events are refused until it is.".to_owned(),
    };
    view! {
        <section class="card" id="stripe" aria-labelledby="stripe-heading">
            <h2 id="stripe-heading">"Stripe"</h2>
            <p>"In Stripe's dashboard (Developers, Webhooks), add an endpoint with this URL:"</p>
            <p class="secret"><CopyText text=stripe.endpoint_url.clone() /></p>
            <p>"and select these events: " {STRIPE_EVENTS.iter().enumerate().map(|(i, e)| view! {
                {if i > 0 { ", " } else { "" }}<code>{*e}</code>
            }).collect_view()} "."</p>

            <h3>"Signing secret"</h3>
            {stripe.secret_from_env.then(|| view! {
                <p class="notice">"The HANDOFF_STRIPE_WEBHOOK_SECRET environment variable is set: it is used instead of the secret saved here."</p>
            })}
            <p>{format!("Saved secret: {secret_state}")}</p>
            <ActionForm action=secret>
                <label for="stripe-secret">"Signing secret"</label>
                <input id="stripe-secret" name="secret" type="password" required autocomplete="off" placeholder="whsec_…" aria-describedby="stripe-secret-hint" />
                <p id="stripe-secret-hint" class="hint">"Shown in Stripe on the endpoint's page. It starts with whsec_."</p>
                {action_error(secret.value())}
                {ok_note("Signing secret saved.", secret_saved)}
                <button type="submit">"Save secret"</button>
            </ActionForm>

            <h3>"Campaign"</h3>
            <ActionForm action=campaign>
                <label for="stripe-campaign">"Campaign for Stripe events"</label>
                <select id="stripe-campaign" name="campaign" aria-describedby="stripe-campaign-hint">
                    <option value="" selected=stripe.campaign.is_none()>"None chosen"</option>
                    {campaign_options(&campaigns, stripe.campaign.as_deref())}
                </select>
                <p id="stripe-campaign-hint" class="hint">"A checkout or invoice with a referral code or promotion code Handoff knows counts for that code's own campaign. This campaign is for the rest: events that name only the customer's email (their metadata may also name a campaign, as campaign)."</p>
                {action_error(campaign.value())}
                {ok_note("Campaign saved.", campaign_saved)}
                <button type="submit">"Save campaign"</button>
            </ActionForm>

            <h3 id="promotion-codes">"Promotion codes"</h3>
            <p>"A customer who uses a referrer's Stripe promotion code is credited to that referrer."</p>
            <ActionForm action=promo>
                <div class="fields">
                    {(!choices.is_empty()).then(|| view! {
                        <div class="field">
                            <label for="promo-referrer">"Referrer"</label>
                            <select id="promo-referrer" name="referrer">
                                <option value="">"Choose…"</option>
                                {choices.into_iter().map(|(id, label)| view! {
                                    <option value=id.to_string()>{label}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    })}
                    <div class="field">
                        <label for="promo-referrer-id">{if has_choices { "Or referrer id" } else { "Referrer id" }}</label>
                        <input id="promo-referrer-id" name="referrer_id" inputmode="numeric" aria-describedby="promo-referrer-id-hint" />
                        <p id="promo-referrer-id-hint" class="hint">{if has_choices {
                            "A referrer of any campaign, by id (wins over the choice above)."
                        } else {
                            "A referrer of any campaign, by id. Choose the campaign for Stripe events to pick from its referrers instead."
                        }}</p>
                    </div>
                    <div class="field">
                        <label for="promo-id">"Promotion code id"</label>
                        <input id="promo-id" name="promotion_code_id" placeholder="promo_…" maxlength="255" />
                    </div>
                    <div class="field">
                        <label for="promo-code">"Code customers type"</label>
                        <input id="promo-code" name="code" placeholder="RHEA10" maxlength="255" />
                    </div>
                </div>
                {action_error(promo.value())}
                {ok_note("Promotion code mapped.", promo_saved)}
                <button type="submit">"Map promotion code"</button>
            </ActionForm>
            <PromotionCodeImportForm campaigns=import_campaigns chosen=import_chosen outcome=actions.promo_import />
            <PromotionCodeList
                rows=stripe.promotion_codes
                total=stripe.promotion_codes_total
                search
                delete=actions.delete_promo
            />
            <p><a href="/admin/integrations/stripe">"Stripe delivery log"</a>": every event Stripe sent, what came of it, and replay."</p>
        </section>
    }
}

/// The form that imports a CSV file of promotion-code mappings, and what the last one came to.
/// A plain multipart form post, with or without JavaScript: the route answers with a redirect
/// back here, and the outcome comes from the session, once.
#[component]
fn PromotionCodeImportForm(
    campaigns: Vec<Campaign>,
    chosen: Option<String>,
    outcome: Resource<Result<Option<PromotionCodeImport>, AppError>>,
) -> impl IntoView {
    let importing = RwSignal::new(false);
    view! {
        <h4 id="promo-import-heading">"Import mappings from a CSV file"</h4>
        <form method="post" action=PROMOTION_CODE_IMPORT_ACTION enctype="multipart/form-data"
            aria-labelledby="promo-import-heading" on:submit=move |_| importing.set(true)>
            <div class="fields">
                <div class="field">
                    <label for="promo-import-campaign">"Campaign of the referrers"</label>
                    <select id="promo-import-campaign" name="campaign" required>
                        {campaign_options(&campaigns, chosen.as_deref())}
                    </select>
                </div>
                <div class="field">
                    <label for="promo-import-file">"Mapping file"</label>
                    <input id="promo-import-file" name="file" type="file" accept=".csv,text/csv,text/plain" required aria-describedby="promo-import-file-hint" />
                </div>
            </div>
            <p id="promo-import-file-hint" class="hint">
                "A header row, then one row per promotion code: its id (promo_…) or the code customers type, or both, and the referrer's referral code or email. Stripe's promotion code export works once a referral code column is added. Rows mapped before are skipped, so importing the file again changes nothing. Preview reads the file and reports what an import would do, without writing."
            </p>
            <button type="submit" aria-busy=move || importing.get().then_some("true")>
                {move || if importing.get() { "Working…" } else { "Import mappings" }}
            </button>
            " "
            <button type="submit" class="secondary" name="dry_run" value="true">"Preview"</button>
        </form>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                outcome.await.ok().flatten().map(|outcome| view! { <PromotionCodeImportResult outcome /> })
            })}
        </Suspense>
    }
}

/// What a promotion-code file import did: its counts, and every refused row with its line,
/// column and reason; or why the file was refused as a whole.
#[component]
fn PromotionCodeImportResult(outcome: PromotionCodeImport) -> impl IntoView {
    let summary = outcome.summary();
    let campaign = outcome.campaign;
    let report = match outcome.result {
        Ok(report) => report,
        Err(error) => {
            let file = if outcome.filename.is_empty() {
                "The file".to_owned()
            } else {
                format!("“{}”", outcome.filename)
            };
            return view! {
                <p class="error" role="alert">{format!("{file} was not imported: {error}")}</p>
            }
            .into_any();
        }
    };
    let more = report.errors_truncated;
    let listed = report.errors.len();
    let advice = if report.dry_run {
        "An import would write nothing for them. Fix them, then preview or import the file again."
    } else {
        "Nothing was written for them. Fix them and import the file again: the rows mapped already are skipped."
    };
    // The refused rows as a file, in the page itself: a download that needs no JavaScript and
    // no second request.
    let download = format!(
        "data:text/csv;charset=utf-8,{}",
        percent_encoding::utf8_percent_encode(
            &ImportError::report_csv(&report.errors),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    view! {
        <p class="ok" role="status">{summary}</p>
        {(!report.errors.is_empty()).then(|| view! {
            <section aria-labelledby="promo-refused-heading">
                <h4 id="promo-refused-heading">"Refused rows"</h4>
                <p>
                    {if more {
                        format!("The first {listed} of {} refused rows. ", report.refused)
                    } else {
                        String::new()
                    }}
                    {advice}
                </p>
                <p>
                    <a href=download download="refused-promotion-codes.csv">
                        {if more {
                            format!("Download these {listed} refused rows (CSV)")
                        } else {
                            "Download the refused rows (CSV)".to_owned()
                        }}
                    </a>
                    {more.then(|| view! {
                        {format!(" A preview of the same file through the API (with a key of full access) lists up to {MAX_REPORTED_MAPPING_ERRORS} refused rows and writes nothing: ")}
                        <code>{format!("POST /api/v1/promotion-codes/import?campaign={campaign}&dry_run=true")}</code>
                        "."
                    })}
                </p>
                <RefusedRows errors=report.errors />
            </section>
        })}
    }
    .into_any()
}

/// The promotion-code mappings (the newest, or those searched for), each with a Delete button.
#[component]
fn PromotionCodeList(
    rows: Vec<PromotionCodeRow>,
    total: u64,
    search: Option<String>,
    delete: ServerAction<DeletePromotionCode>,
) -> impl IntoView {
    let deleted = succeeded(delete.value(), "deleted", "promotion_code");
    let caption = promotion_codes_caption(rows.len(), total, search.as_deref());
    let searching = search.is_some();
    // Worth a search box once the list is cut short (or while searching).
    let search_box = (searching || total > PROMOTION_CODES_SHOWN).then(|| {
        view! {
            <form method="get" action="/admin/integrations#promo-list-heading" role="search" aria-label="Promotion codes">
                <label for="promo-search">"Find a promotion code"</label>
                <input id="promo-search" name="promo" type="search" value=search.clone().unwrap_or_default()
                    placeholder="promo_…, a code or a referrer's email" aria-describedby="promo-search-hint" />
                <p id="promo-search-hint" class="hint">"By the start of its id, its code or its referrer's email."</p>
                <button type="submit" class="secondary">"Find"</button>
                {searching.then(|| view! { " " <a href="/admin/integrations#promo-list-heading">"Show all"</a> })}
            </form>
        }
    });
    view! {
        <h4 id="promo-list-heading">"Mapped promotion codes"</h4>
        {ok_note("Promotion code mapping deleted.", deleted)}
        {action_error(delete.value())}
        {search_box}
        {if rows.is_empty() {
            let empty = if searching { "No promotion code matches." } else { "No promotion codes mapped yet." };
            view! { <p class="empty">{empty}</p> }.into_any()
        } else {
            view! {
                <p>{caption}</p>
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Promotion code id"</th>
                                <th scope="col">"Code"</th>
                                <th scope="col">"Referrer"</th>
                                <th scope="col">"Campaign"</th>
                                <th scope="col">"Action"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows.into_iter().map(|p| {
                                let label = format!("Delete promotion code {}", promotion_code_label(&p));
                                let referrer = referrer_text(&p);
                                view! {
                                    <tr>
                                        <td data-label="Promotion code id">{p.promotion_code_id.map(|i| view! { <code>{i}</code> })}</td>
                                        <td data-label="Code">{p.code.map(|c| view! { <code>{c}</code> })}</td>
                                        <td data-label="Referrer">
                                            {referrer}
                                            {p.referrer_code.map(|c| view! { <br /><small>"Code " <code>{c}</code></small> })}
                                        </td>
                                        <td data-label="Campaign">{p.campaign}</td>
                                        <td data-label="Action">
                                            <ActionForm action=delete>
                                                <input type="hidden" name="id" value=p.id.to_string() />
                                                <button type="submit" class="danger" aria-label=label>"Delete"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}

/// Outbound endpoints: create, list, enable or disable, delete.
#[component]
fn OutboundSection(endpoints: Vec<EndpointRow>, actions: Actions) -> impl IntoView {
    let create = actions.create_endpoint;
    let enable = actions.enable;
    let delete = actions.delete_endpoint;
    let fresh = actions.fresh_endpoint;
    let deleted = succeeded(delete.value(), "deleted", "endpoint");
    view! {
        <section class="card" id="outbound" aria-labelledby="outbound-heading">
            <h2 id="outbound-heading">"Outbound webhooks"</h2>
            <p>"Handoff POSTs events to these URLs, signed with Standard Webhooks, and retries for about a day. An endpoint that fails for a whole day is disabled."</p>
            <h3>"New endpoint"</h3>
            <ActionForm action=create>
                <label for="endpoint-url">"Endpoint URL"</label>
                <input id="endpoint-url" name="url" type="url" required maxlength="2048" placeholder="https://example.com/hooks/handoff" />
                <label for="endpoint-description">"Description"</label>
                <input id="endpoint-description" name="description" maxlength="200" placeholder="CRM sync" />
                <fieldset>
                    <legend>"Events to send"</legend>
                    {EVENT_CHOICES.into_iter().map(|(event, meaning)| {
                        let id = format!("endpoint-event-{}", event_field(event));
                        view! {
                            <div class="check">
                                <input id=id.clone() name=event_field(event) type="checkbox" value="on" />
                                <label for=id><code>{event}</code>" "{format!("({meaning})")}</label>
                            </div>
                        }
                    }).collect_view()}
                </fieldset>
                {action_error(create.value())}
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let from_action = match create.value().get() {
                            Some(Ok(new)) => Some(new),
                            _ => None,
                        };
                        from_action.or(fresh.await.ok().flatten()).map(|new| view! {
                            <div class="ok" role="status">
                                <p>{format!("Endpoint {} added. Copy its signing secret now; it will not be shown again:", new.url)}</p>
                                <p class="secret"><span>"Signing secret: "</span><CopyText text=new.secret /></p>
                            </div>
                        })
                    })}
                </Suspense>
                <button type="submit">"Add endpoint"</button>
            </ActionForm>
            {ok_note("Endpoint deleted.", deleted)}
            {action_error(enable.value())}
            {action_error(delete.value())}
            {if endpoints.is_empty() {
                view! { <p class="empty">"No outbound endpoints yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"URL"</th>
                                    <th scope="col">"Description"</th>
                                    <th scope="col">"Events"</th>
                                    <th scope="col">"State"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {endpoints.into_iter().map(|e| view! { <EndpointListRow endpoint=e enable delete /> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn EndpointListRow(
    endpoint: EndpointRow,
    enable: ServerAction<SetWebhookEndpointEnabled>,
    delete: ServerAction<DeleteWebhookEndpoint>,
) -> impl IntoView {
    let e = endpoint;
    let id = e.id.to_string();
    let delete_id = id.clone();
    let toggle = if e.enabled { "Disable" } else { "Enable" };
    let toggle_label = format!("{toggle} {}", e.url);
    let delete_label = format!("Delete {}", e.url);
    view! {
        <tr>
            <td><a href=format!("/admin/integrations/endpoints/{}", e.id)>{e.url.clone()}</a></td>
            <td>{e.description.clone()}</td>
            <td>{events_text(&e.events)}</td>
            <td>
                <span class={if e.enabled { "badge active" } else { "badge paused" }}>{if e.enabled { "enabled" } else { "disabled" }}</span>
                {e.disabled_reason.clone().map(|reason| view! { <p class="notice">{reason}</p> })}
            </td>
            <td class="actions">
                <ActionForm action=enable>
                    <input type="hidden" name="id" value=id />
                    <input type="hidden" name="enabled" value={(!e.enabled).to_string()} />
                    <button type="submit" class="secondary" aria-label=toggle_label>{toggle}</button>
                </ActionForm>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=delete_id />
                    <button type="submit" class="danger" aria-label=delete_label>"Delete"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// `/admin/integrations/sources/:id`: the source, its mapping editor and its delivery log.
#[component]
pub fn SourcePage() -> impl IntoView {
    let id = use_id_param();
    let save = ServerAction::<SaveSourceMapping>::new();
    let replay = ServerAction::<ReplayInboundDelivery>::new();
    let detail = Resource::new(
        move || (id(), save.version().get(), replay.version().get()),
        |(id, _, _)| get_inbound_source(id),
    );
    view! {
        <AdminPage title="Inbound source">
            <p><a href="/admin/integrations#inbound">"← Integrations"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => view! {
                            <h1>{d.source.name.clone()}</h1>
                            <dl class="facts">
                                <dt>"Campaign"</dt><dd>{d.source.campaign.clone()}</dd>
                                <dt>"Preset"</dt><dd>{preset_label(&d.source.preset).to_owned()}</dd>
                                <dt>"URL"</dt><dd><code>{format!("{}{}…", d.inbound_base, d.source.token_prefix)}</code>
                                    <br /><small>"The full URL was shown once, when the source was created."</small></dd>
                                <dt>"Signature"</dt><dd>{if d.source.signed { "required (Standard Webhooks)" } else { "not required" }}</dd>
                                <dt>"Created"</dt><dd>{short_time(&d.source.created_at)}</dd>
                            </dl>
                            <MappingEditor source=d.source save />
                            <h2>"Delivery log"</h2>
                            <InboundLog deliveries=d.deliveries replay />
                        }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}

/// A source's field mapping: one JSON pointer per field.
#[component]
fn MappingEditor(source: InboundSource, save: ServerAction<SaveSourceMapping>) -> impl IntoView {
    let saved = succeeded(save.value(), "saved", "mapping");
    let unit = source.mapping.amount_unit.clone();
    view! {
        <section class="card" aria-labelledby="mapping-heading">
            <h2 id="mapping-heading">"Field mapping"</h2>
            <p>"Where each field is in the JSON the source sends, as a JSON pointer (" <code>"/email"</code> ", " <code>"/properties/email/value"</code> "). Leave a field empty when it is not sent. The email or the referral code is needed."</p>
            <ActionForm action=save>
                <input type="hidden" name="id" value=source.id.to_string() />
                <div class="fields">
                    {MAPPING_FIELDS.into_iter().map(|(name, label, hint)| {
                        let id = format!("mapping-{name}");
                        let hint_id = format!("mapping-{name}-hint");
                        view! {
                            <div class="field">
                                <label for=id.clone()>{label}</label>
                                <input id=id name=name value=mapping_value(&source, name) maxlength="200" spellcheck="false" aria-describedby=hint_id.clone() />
                                <p id=hint_id class="hint">{hint}</p>
                            </div>
                        }
                    }).collect_view()}
                    <div class="field">
                        <label for="mapping-amount_unit">"Amount unit"</label>
                        <select id="mapping-amount_unit" name="amount_unit">
                            <option value="major" selected=unit != "minor">"Major units (12.50)"</option>
                            <option value="minor" selected=unit == "minor">"Minor units (1250)"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="mapping-default_event">"Default event"</label>
                        <input id="mapping-default_event" name="default_event" required maxlength="64" value=source.default_event.clone() aria-describedby="mapping-default_event-hint" />
                        <p id="mapping-default_event-hint" class="hint">"The event when the payload names none, like purchase."</p>
                    </div>
                </div>
                {action_error(save.value())}
                {ok_note("Mapping saved.", saved)}
                <button type="submit">"Save mapping"</button>
            </ActionForm>
        </section>
    }
}

/// A delivery log of inbound webhooks (a source's or Stripe's), each with its payload and a
/// Replay button.
#[component]
fn InboundLog(
    deliveries: Vec<InboundDelivery>,
    replay: ServerAction<ReplayInboundDelivery>,
) -> impl IntoView {
    let query = use_query_map();
    let notice = move || match replay.value().get() {
        Some(Ok(message)) => Some(message),
        Some(Err(_)) => None,
        None => query.with(|q| q.get("replayed")).map(|_| {
            "Replayed: the new entry at the top of the log says what came of it.".to_owned()
        }),
    };
    view! {
        {action_error(replay.value())}
        {move || notice().map(|text| view! { <p class="ok" role="status">{text}</p> })}
        {if deliveries.is_empty() {
            view! { <p class="empty">"Nothing received yet."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Received"</th>
                                <th scope="col">"Message id"</th>
                                <th scope="col">"Outcome"</th>
                                <th scope="col">"Message"</th>
                                <th scope="col">"Payload"</th>
                                <th scope="col">"Action"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {deliveries.into_iter().map(|d| view! {
                                <tr>
                                    <td data-label="Received">{short_time(&d.created_at)}</td>
                                    <td data-label="Message id">{d.message_id.clone().map(|m| view! { <code>{m}</code> })}</td>
                                    <td data-label="Outcome"><span class=format!("badge {}", d.outcome)>{d.outcome.clone()}</span></td>
                                    <td data-label="Message">{d.message.clone()}</td>
                                    <td data-label="Payload">
                                        <details class="payload">
                                            <summary>{format!("Payload {}", d.id)}</summary>
                                            <pre>{pretty_payload(&d.payload)}</pre>
                                        </details>
                                    </td>
                                    <td data-label="Action">
                                        <ActionForm action=replay>
                                            <input type="hidden" name="id" value=d.id.to_string() />
                                            <button type="submit" class="secondary" aria-label=format!("Replay delivery {}", d.id)>"Replay"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}

/// `/admin/integrations/stripe`: Stripe's delivery log.
#[component]
pub fn StripeLogPage() -> impl IntoView {
    let replay = ServerAction::<ReplayInboundDelivery>::new();
    let log = Resource::new(move || replay.version().get(), |_| stripe_deliveries());
    view! {
        <AdminPage title="Stripe delivery log">
            <p><a href="/admin/integrations#stripe">"← Integrations"</a></p>
            <h1>"Stripe delivery log"</h1>
            <p>"The last 100 events Stripe sent, newest first. Replay one after fixing what it needed (the campaign, a promotion code)."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(deliveries) => view! { <InboundLog deliveries replay /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}

/// `/admin/integrations/endpoints/:id`: an outbound endpoint and its delivery log.
#[component]
pub fn EndpointPage() -> impl IntoView {
    let query = use_query_map();
    let id = use_id_param();
    let replay = ServerAction::<ReplayWebhookDelivery>::new();
    let enable = ServerAction::<SetWebhookEndpointEnabled>::new();
    let detail = Resource::new(
        move || (id(), replay.version().get(), enable.version().get()),
        |(id, _, _)| get_webhook_endpoint(id),
    );
    let notice = move || {
        if let Some(result) = replay.value().get() {
            return result
                .ok()
                .map(|()| "Queued: the delivery is sent again in a moment.");
        }
        query
            .with(|q| q.get("replayed"))
            .map(|_| "Queued: the delivery is sent again in a moment.")
    };
    view! {
        <AdminPage title="Outbound endpoint">
            <p><a href="/admin/integrations#outbound">"← Integrations"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => {
                            let e = d.endpoint;
                            let toggle = if e.enabled { "Disable" } else { "Enable" };
                            view! {
                                <h1>{e.url.clone()}</h1>
                                {e.disabled_reason.clone().map(|reason| view! {
                                    <p class="error">{format!("Disabled by Handoff: {reason} Fix the receiver, then enable it again.")}</p>
                                })}
                                <dl class="facts">
                                    <dt>"Description"</dt><dd>{if e.description.is_empty() { "—".to_owned() } else { e.description.clone() }}</dd>
                                    <dt>"Events"</dt><dd>{events_text(&e.events)}</dd>
                                    <dt>"State"</dt><dd><span class={if e.enabled { "badge active" } else { "badge paused" }}>{if e.enabled { "enabled" } else { "disabled" }}</span></dd>
                                    {e.failing_since.map(|at| view! { <dt>"Failing since"</dt><dd>{short_time(&at)}</dd> })}
                                </dl>
                                <ActionForm action=enable>
                                    <input type="hidden" name="id" value=e.id.to_string() />
                                    <input type="hidden" name="enabled" value={(!e.enabled).to_string()} />
                                    <button type="submit" class="secondary">{toggle}</button>
                                </ActionForm>
                                {action_error(enable.value())}
                                <h2>"Delivery log"</h2>
                                {action_error(replay.value())}
                                {move || notice().map(|text| view! { <p class="ok" role="status">{text}</p> })}
                                <OutboundLog deliveries=d.deliveries replay />
                            }.into_any()
                        }
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}

#[component]
fn OutboundLog(
    deliveries: Vec<crate::api::integrations::DeliveryRow>,
    replay: ServerAction<ReplayWebhookDelivery>,
) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="empty">"Nothing sent yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Event"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Attempts"</th>
                        <th scope="col">"Last response"</th>
                        <th scope="col">"When"</th>
                        <th scope="col">"Action"</th>
                    </tr>
                </thead>
                <tbody>
                    {deliveries.into_iter().map(|d| {
                        let response = match (d.last_status, d.last_error.clone()) {
                            (Some(status), Some(error)) => format!("HTTP {status}: {error}"),
                            (Some(status), None) => format!("HTTP {status}"),
                            (None, Some(error)) => error,
                            (None, None) => "—".to_owned(),
                        };
                        let when = match d.delivered_at {
                            Some(at) => format!("delivered {}", short_time(&at)),
                            None if d.status == "pending" => format!("next attempt {}", short_time(&d.next_attempt_at)),
                            None => "—".to_owned(),
                        };
                        view! {
                            <tr>
                                <td data-label="Event"><code>{d.event_type.clone()}</code><br /><small>{d.event_id.clone()}</small></td>
                                <td data-label="Status"><span class=format!("badge {}", d.status)>{d.status.clone()}</span></td>
                                <td data-label="Attempts" class="num">{d.attempts.to_string()}</td>
                                <td data-label="Last response">{response}</td>
                                <td data-label="When">{when}</td>
                                <td data-label="Action">
                                    <ActionForm action=replay>
                                        <input type="hidden" name="id" value=d.id.to_string() />
                                        <button type="submit" class="secondary" aria-label=format!("Replay {} {}", d.event_type, d.event_id)>"Replay"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_indented_when_they_are_json() {
        assert_eq!(pretty_payload(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_payload("not json"), "not json");
    }

    #[test]
    fn presets_and_events_read_as_words() {
        assert_eq!(preset_label("hubspot"), "HubSpot workflow");
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
