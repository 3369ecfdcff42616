//! Integrations > HubSpot: the connection, Handoff's properties, "sync all now" with its
//! progress, and the sync log.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::integrations::{ok_note, succeeded};
use crate::{
    api::crm::{
        CreateHubspotProperties, DisconnectHubspot, HubSpotOverview, ResendHubspot,
        SaveHubspotToken, SyncHubspotNow, get_hubspot, notice,
    },
    components::{action_error, load_error, short_time},
};

/// The HubSpot section of the Integrations page.
#[component]
pub fn HubSpotSection() -> impl IntoView {
    let token = ServerAction::<SaveHubspotToken>::new();
    let disconnect = ServerAction::<DisconnectHubspot>::new();
    let properties = ServerAction::<CreateHubspotProperties>::new();
    let sync_all = ServerAction::<SyncHubspotNow>::new();
    let resend = ServerAction::<ResendHubspot>::new();
    let overview = Resource::new(
        move || {
            (
                token.version().get(),
                disconnect.version().get(),
                sync_all.version().get(),
                resend.version().get(),
            )
        },
        |_| get_hubspot(),
    );
    let query = use_query_map();
    // What the last form came to: with JavaScript from the actions' values, without it from the
    // code its redirect put in the query (never the query's own text).
    let notice = move || -> Option<String> {
        if let Some(Ok(message)) = properties.value().get() {
            return Some(message);
        }
        if let Some(Ok(queued)) = sync_all.value().get() {
            return Some(format!(
                "Queued {queued} referrers and leads for HubSpot: the numbers below show the progress."
            ));
        }
        let code = if let Some(Ok(())) = disconnect.value().get() {
            "disconnected".to_owned()
        } else if let Some(Ok(())) = resend.value().get() {
            "resent".to_owned()
        } else {
            query.with(|q| q.get("hubspot"))?
        };
        notice(&code).map(str::to_owned)
    };
    view! {
        <section class="card" id="hubspot" aria-labelledby="hubspot-heading">
            <h2 id="hubspot-heading">"HubSpot"</h2>
            <p>"Every referrer and lead becomes a HubSpot contact, matched by email, with Handoff's properties: the referral link and code, the portal's address, qualified referrals and rewards due, and for a lead who referred them. Changes go within seconds, 100 contacts a request; HubSpot's rate limits are honoured and failures retried for a day. Nothing else on the contact is changed."</p>
            {move || notice().map(|text| view! { <p class="ok" role="status">{text}</p> })}
            {action_error(properties.value())}
            {action_error(sync_all.value())}
            {action_error(resend.value())}
            {action_error(disconnect.value())}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => view! { <HubSpotBody overview token disconnect properties sync_all resend /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn HubSpotBody(
    overview: HubSpotOverview,
    token: ServerAction<SaveHubspotToken>,
    disconnect: ServerAction<DisconnectHubspot>,
    properties: ServerAction<CreateHubspotProperties>,
    sync_all: ServerAction<SyncHubspotNow>,
    resend: ServerAction<ResendHubspot>,
) -> impl IntoView {
    let token_saved = succeeded(token.value(), "saved", "hubspot_token");
    let connected = overview.token_hint.is_some();
    let state = match &overview.token_hint {
        Some(hint) => format!("Connected: access token ending in {hint}."),
        None => "Not connected: nothing is sent to HubSpot.".to_owned(),
    };
    view! {
        <p>{state}</p>
        <ActionForm action=token>
            <label for="hubspot-token">"Private app access token"</label>
            <input id="hubspot-token" name="token" type="password" required autocomplete="off" placeholder="pat-…" aria-describedby="hubspot-token-hint" />
            <p id="hubspot-token-hint" class="hint">"In HubSpot: Settings, Integrations, Private apps. Create an app with the scopes crm.objects.contacts.write and crm.schemas.contacts.write, and copy its access token."</p>
            {action_error(token.value())}
            {ok_note("Access token saved.", token_saved)}
            <button type="submit">"Save token"</button>
        </ActionForm>
        {connected.then(|| view! {
            <ActionForm action=disconnect>
                <button type="submit" class="secondary">"Disconnect HubSpot"</button>
            </ActionForm>
            <h3>"Properties"</h3>
            <p>"Handoff writes six contact properties (handoff_referral_link, handoff_referral_code, handoff_portal_url, handoff_referrals_qualified, handoff_rewards_due, handoff_referred_by). HubSpot refuses values for properties it does not have: create them once."</p>
            <ActionForm action=properties>
                <button type="submit">"Create Handoff's properties in HubSpot"</button>
            </ActionForm>
            <h3>"Sync"</h3>
            <p>{format!(
                "{} synced, {} waiting, {} failed.",
                overview.synced, overview.pending, overview.failed
            )}</p>
            <ActionForm action=sync_all>
                <p class="hint">"Sends every referrer and lead again, for a new HubSpot account or after the properties were created."</p>
                <button type="submit">"Sync all now"</button>
            </ActionForm>
        })}
        <h3>"Sync log"</h3>
        {if overview.log.is_empty() {
            view! { <p class="empty">"Nothing sent yet."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table>
                        <thead><tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Contact"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"HubSpot's answer"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {overview.log.into_iter().map(|line| {
                                let href = format!("/admin/{}s/{}", line.object_kind, line.object_id);
                                let what = format!("{} {}", if line.object_kind == "lead" { "Lead" } else { "Referrer" }, line.object_id);
                                let answer = match line.last_status {
                                    Some(status) => format!("HTTP {status} {}", line.reply),
                                    None => line.reply.clone(),
                                };
                                let status = if line.attempts > 0 && line.status == "pending" {
                                    format!("retrying ({} failed)", line.attempts)
                                } else {
                                    line.status.clone()
                                };
                                view! {
                                    <tr>
                                        <td data-label="When">{line.at.as_ref().map(short_time).unwrap_or_default()}</td>
                                        <td data-label="Contact"><a href=href>{what.clone()}</a></td>
                                        <td data-label="Status">{status}</td>
                                        <td data-label="HubSpot's answer"><code class="reply">{answer}</code></td>
                                        <td>
                                            <ActionForm action=resend>
                                                <input type="hidden" name="id" value=line.id.to_string() />
                                                <button type="submit" class="secondary">"Send again"<span class="visually-hidden">{format!(": {what}")}</span></button>
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
