//! Outbound webhook endpoints: the section of the Integrations tab and an endpoint's page with its
//! delivery log.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{Actions, ok_note, succeeded};
use crate::{
    api::integrations::{
        DeleteWebhookEndpoint, EVENT_CHOICES, EndpointRow, ReplayWebhookDelivery,
        SetWebhookEndpointEnabled, event_field, get_webhook_endpoint,
    },
    components::{AdminPage, CopyText, action_error, load_error, short_time, use_id_param},
};

/// The events an endpoint receives, in words.
pub fn events_text(events: &[String]) -> String {
    if events.iter().any(|e| e == "*") {
        "every event".to_owned()
    } else {
        events.join(", ")
    }
}

/// Outbound endpoints: create, list, enable or disable, delete.
#[component]
pub(super) fn OutboundSection(endpoints: Vec<EndpointRow>, actions: Actions) -> impl IntoView {
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
