//! Inbound webhook sources (Zapier, Make, n8n, HubSpot workflows, Salesforce flows, custom JSON):
//! the section of the Integrations tab, a source's page with its field mapping, and its delivery log.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{Actions, campaign_options, ok_note, succeeded};
use crate::{
    api::integrations::{
        PRESET_CHOICES, ReplayInboundDelivery, SaveSourceMapping, get_inbound_source,
    },
    components::{AdminPage, CopyText, action_error, load_error, short_time, use_id_param},
    types::{Campaign, InboundDelivery, InboundSource},
};

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

/// The fields of a source's mapping editor: form name, label, hint.
pub(super) const MAPPING_FIELDS: [(&str, &str, &str); 8] = [
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
pub(super) fn mapping_value(source: &InboundSource, field: &str) -> String {
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

/// Inbound sources: create, list, delete.
#[component]
pub(super) fn InboundSection(
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
pub(super) fn InboundLog(
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
