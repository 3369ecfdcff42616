//! Integrations > HubSpot: the connection, Handoff's properties, "sync all now" with its
//! progress, and the sync log.

use leptos::prelude::*;

use super::integrations::{ok_note, succeeded};
use crate::{
    api::crm::{
        CreateHubspotProperties, DisconnectHubspot, HubSpotOverview, ResendCrmRow,
        SaveHubspotToken, SyncHubspotNow, get_hubspot, notice,
    },
    components::{action_error, clear_after_success, load_error},
    pages::admin::crm_log::{CrmNotices, SectionActions, SyncLog, progress_line},
};

/// The HubSpot section of the Integrations page.
#[component]
pub fn HubSpotSection() -> impl IntoView {
    let token = ServerAction::<SaveHubspotToken>::new();
    let disconnect = ServerAction::<DisconnectHubspot>::new();
    let properties = ServerAction::<CreateHubspotProperties>::new();
    let sync_all = ServerAction::<SyncHubspotNow>::new();
    let resend = ServerAction::<ResendCrmRow>::new();
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
    let actions = SectionActions {
        message: properties.value(),
        queued: sync_all.value(),
        disconnected: disconnect.value(),
        resent: resend.value(),
    };
    view! {
        <section class="card" id="hubspot" aria-labelledby="hubspot-heading">
            <h2 id="hubspot-heading">"HubSpot"</h2>
            <p>"Every referrer and lead becomes a HubSpot contact, matched by email, with Handoff's properties: the referral link and code, the portal's address, qualified referrals and rewards due, and for a lead who referred them. Changes go within seconds, 100 contacts a request; HubSpot's rate limits are honoured and failures retried for a day. Nothing else on the contact is changed."</p>
            <CrmNotices crm="HubSpot" actions notice=notice />
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
    resend: ServerAction<ResendCrmRow>,
) -> impl IntoView {
    let token_saved = succeeded(token.value(), "saved", "hubspot_token");
    let connected = overview.token_hint.is_some();
    let state = match &overview.token_hint {
        Some(hint) => format!("Connected: access token ending in {hint}."),
        None => "Not connected: nothing is sent to HubSpot.".to_owned(),
    };
    // A saved secret does not stay typed in the page.
    let credentials = NodeRef::new();
    clear_after_success(token.value(), credentials, |_| true);
    view! {
        <p>{state}</p>
        <ActionForm action=token node_ref=credentials>
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
            <p>{progress_line(&overview.progress)}</p>
            <ActionForm action=sync_all>
                <p class="hint">"Sends every referrer and lead again, for a new HubSpot account or after the properties were created."</p>
                <button type="submit">"Sync all now"</button>
            </ActionForm>
        })}
        <SyncLog log=overview.progress.log crm="HubSpot" resend />
    }
}
