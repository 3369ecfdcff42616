//! Integrations > Salesforce: the connected app, the object and external id field, a check of
//! the connection, "sync all now" with its progress, and the sync log.

use leptos::prelude::*;

use super::integrations::{ok_note, succeeded};
use crate::{
    api::crm::{
        CheckSalesforce, DisconnectSalesforce, ResendCrmRow, SalesforceOverview, SaveSalesforce,
        SyncSalesforceNow, get_salesforce, salesforce_notice,
    },
    components::{action_error, clear_after_success, load_error},
    pages::admin::crm_log::{CrmNotices, SectionActions, SyncLog, progress_line},
};

/// The Salesforce section of the Integrations page.
#[component]
pub fn SalesforceSection() -> impl IntoView {
    let save = ServerAction::<SaveSalesforce>::new();
    let disconnect = ServerAction::<DisconnectSalesforce>::new();
    let check = ServerAction::<CheckSalesforce>::new();
    let sync_all = ServerAction::<SyncSalesforceNow>::new();
    let resend = ServerAction::<ResendCrmRow>::new();
    let overview = Resource::new(
        move || {
            (
                save.version().get(),
                disconnect.version().get(),
                sync_all.version().get(),
                resend.version().get(),
            )
        },
        |_| get_salesforce(),
    );
    let actions = SectionActions {
        message: check.value(),
        queued: sync_all.value(),
        disconnected: disconnect.value(),
        resent: resend.value(),
    };
    view! {
        <section class="card" id="salesforce" aria-labelledby="salesforce-heading">
            <h2 id="salesforce-heading">"Salesforce"</h2>
            <p>"Every referrer and lead becomes a Salesforce Contact or Lead, matched by an external id field that holds their email, with the same data HubSpot gets: the referral link and code, the portal's address, qualified referrals and rewards due, and for a lead who referred them. Changes go within seconds, 200 records a request; API limits are honoured and failures retried for a day. A record that exists keeps its name, owner and status: only Handoff's fields change."</p>
            <CrmNotices crm="Salesforce" actions notice=salesforce_notice />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => view! { <SalesforceBody overview save disconnect check sync_all resend /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SalesforceBody(
    overview: SalesforceOverview,
    save: ServerAction<SaveSalesforce>,
    disconnect: ServerAction<DisconnectSalesforce>,
    check: ServerAction<CheckSalesforce>,
    sync_all: ServerAction<SyncSalesforceNow>,
    resend: ServerAction<ResendCrmRow>,
) -> impl IntoView {
    let saved = succeeded(save.value(), "saved", "salesforce");
    let connected = overview.secret_hint.is_some();
    let state = match (&overview.secret_hint, &overview.domain) {
        (Some(hint), Some(domain)) => format!(
            "Connected to {domain}: {} records by {}, consumer secret ending in {hint}.",
            overview.object, overview.external_id
        ),
        _ => "Not connected: nothing is sent to Salesforce.".to_owned(),
    };
    let is_lead = overview.object == "Lead";
    let secret_hint = if connected {
        "Leave empty to keep the stored secret."
    } else {
        "The connected app's consumer secret."
    };
    let field_rows = overview
        .fields
        .iter()
        .map(|(name, label, kind)| {
            view! { <tr><td data-label="API name"><code>{name.clone()}</code></td><td data-label="Label">{label.clone()}</td><td data-label="Type">{kind.clone()}</td></tr> }
        })
        .collect_view();
    // A saved secret does not stay typed in the page.
    let credentials = NodeRef::new();
    clear_after_success(save.value(), credentials, |_| true);
    view! {
        <p>{state}</p>
        <ActionForm action=save node_ref=credentials>
            <label for="salesforce-domain">"My Domain URL"</label>
            <input id="salesforce-domain" name="domain" type="url" required placeholder="https://acme.my.salesforce.com" value=overview.domain.clone().unwrap_or_default() aria-describedby="salesforce-domain-hint" />
            <p id="salesforce-domain-hint" class="hint">"In Salesforce: Setup, My Domain. Handoff signs in there."</p>
            <label for="salesforce-client-id">"Consumer key"</label>
            <input id="salesforce-client-id" name="client_id" type="text" required autocomplete="off" value=overview.client_id.clone().unwrap_or_default() />
            <label for="salesforce-client-secret">"Consumer secret"</label>
            <input id="salesforce-client-secret" name="client_secret" type="password" autocomplete="off" required=!connected aria-describedby="salesforce-secret-hint" />
            <p id="salesforce-secret-hint" class="hint">{secret_hint}" Create a connected app (Setup, App Manager, New Connected App) with OAuth enabled, the scope \"Manage user data via APIs (api)\", and \"Enable Client Credentials Flow\" with a Run As user who may edit the object."</p>
            <label for="salesforce-object">"Write referrers and leads as"</label>
            <select id="salesforce-object" name="object">
                <option value="Contact" selected=!is_lead>"Contacts"</option>
                <option value="Lead" selected=is_lead>"Leads"</option>
            </select>
            <label for="salesforce-external-id">"External id field"</label>
            <input id="salesforce-external-id" name="external_id" type="text" value=overview.external_id.clone() aria-describedby="salesforce-external-id-hint" />
            <p id="salesforce-external-id-hint" class="hint">"A custom Email field marked External ID and Unique; Handoff writes each person's email, lowercased, into it. Records that existed before Handoff are matched once this field holds their email."</p>
            {action_error(save.value())}
            {ok_note("Salesforce connection saved.", saved)}
            <button type="submit">"Save connection"</button>
        </ActionForm>
        <h3>"Fields"</h3>
        <p>{format!("Create these custom fields on {} (Setup, Object Manager, {}, Fields & Relationships), as well as the external id field, and let the Run As user edit them:", overview.object, overview.object)}</p>
        <div class="table-wrap">
            <table>
                <thead><tr><th scope="col">"API name"</th><th scope="col">"Label"</th><th scope="col">"Type"</th></tr></thead>
                <tbody>{field_rows}</tbody>
            </table>
        </div>
        {connected.then(|| view! {
            <ActionForm action=check>
                <button type="submit">"Check the connection"</button>
            </ActionForm>
            <ActionForm action=disconnect>
                <button type="submit" class="secondary">"Disconnect Salesforce"</button>
            </ActionForm>
            <h3>"Sync"</h3>
            <p>{progress_line(&overview.progress)}</p>
            <ActionForm action=sync_all>
                <p class="hint">"Sends every referrer and lead again, for a new org or after the fields were created."</p>
                <button type="submit">"Sync all now"</button>
            </ActionForm>
        })}
        <SyncLog log=overview.progress.log crm="Salesforce" resend />
    }
}
