//! The Leads tab and one lead's timeline.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{
        campaigns::list_campaigns,
        leads::{QualifyLead, RejectLead, get_lead, list_leads},
    },
    components::{AdminPage, action_error, load_error, short_time, use_id_param},
    pages::admin::referrers::serde_urlencoded_pairs,
    types::{ConversionResult, LEAD_STATUSES, LeadFilter},
};

/// The address of the Leads tab (or its export, `path`) for `filter` plus `extra` pairs.
fn leads_href(path: &str, filter: &LeadFilter, extra: &[(&'static str, String)]) -> String {
    let mut pairs = filter.query_pairs();
    pairs.extend(extra.iter().cloned());
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", serde_urlencoded_pairs(&pairs))
    }
}

/// `/admin/leads?campaign=&status=&referrer_id=&q=&from=&to=&sort=&after=`: every filter is in
/// the address, so a view can be bookmarked, shared, and exported as it is.
#[component]
pub fn LeadsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || query.with(|q| LeadFilter::from_query(|key| q.get(key)));
    let leads = Resource::new(filter, list_leads);
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    view! {
        <AdminPage title="Leads">
            <h1>"Leads"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let current = filter();
                    let campaigns = match campaigns.await {
                        Ok(list) => list,
                        Err(error) => return load_error(error),
                    };
                    let view = match leads.await {
                        Ok(view) => view,
                        Err(error) => return load_error(error),
                    };
                    let page = view.page;
                    let next = page
                        .next_cursor
                        .map(|cursor| leads_href("/admin/leads", &current, &[("after", cursor.to_string())]));
                    let export_href = leads_href("/admin/leads/export.csv", &current, &[]);
                    // A filter set by a link (a referrer's leads) is said, with a way out.
                    let referrer_filter = current.referrer_id.map(|id| {
                        let name = page
                            .items
                            .first()
                            .and_then(|l| l.referrer_name.clone())
                            .unwrap_or_else(|| format!("referrer #{id}"));
                        let clear = leads_href("/admin/leads", &LeadFilter { referrer_id: None, ..current.clone() }, &[]);
                        view! {
                            <p class="filter-note" role="status">
                                "Only the leads of " <a href=format!("/admin/referrers/{id}")>{name}</a> ". "
                                <a href=clear>"Show every referrer's leads"</a>
                            </p>
                        }
                    });
                    let search_note = view.search_note.map(|note| {
                        let clear = leads_href("/admin/leads", &LeadFilter { search: None, ..current.clone() }, &[]);
                        view! {
                            <p class="filter-note" role="status">{note} ". " <a href=clear>"Clear the search"</a></p>
                        }
                    });
                    let status = current.status.clone().unwrap_or_default();
                    let sort = current.sort.clone().unwrap_or_default();
                    let queue_href = leads_href(
                        "/admin/leads",
                        &LeadFilter { campaign: current.campaign.clone(), status: Some("review".into()), ..LeadFilter::default() },
                        &[],
                    );
                    view! {
                        <p>
                            <a href=queue_href>"Review queue"</a>
                            ": leads whose qualifying event waits for an admin's approval (the campaign asks for it, or a fraud signal flagged the lead)."
                        </p>
                        <form method="get" class="filters" role="search" aria-label="Find leads">
                            <label for="filter-q">"Search"</label>
                            <input id="filter-q" type="search" name="q" maxlength="200"
                                value=current.search.clone().unwrap_or_default()
                                placeholder="Email, phone, name, order id or code" aria-describedby="filter-q-hint" />
                            <p id="filter-q-hint" class="hint visually-hidden">"A whole email or phone number, an order id, a referral code, or the start of a name or email."</p>
                            <label for="filter-campaign">"Campaign"</label>
                            <select id="filter-campaign" name="campaign">
                                <option value="">"All campaigns"</option>
                                {campaigns.iter().map(|c| {
                                    let is = current.campaign.as_deref() == Some(c.slug.as_str());
                                    view! { <option value=c.slug.clone() selected=is>{c.name.clone()}</option> }
                                }).collect_view()}
                            </select>
                            <label for="filter-status">"Status"</label>
                            <select id="filter-status" name="status">
                                <option value="">"Any status"</option>
                                {LEAD_STATUSES.into_iter().map(|s| view! {
                                    <option value=s selected=status == s>{s}</option>
                                }).collect_view()}
                            </select>
                            <label for="filter-from">"From"</label>
                            <input id="filter-from" type="date" name="from" value=current.from.clone().unwrap_or_default() />
                            <label for="filter-to">"To"</label>
                            <input id="filter-to" type="date" name="to" value=current.to.clone().unwrap_or_default() />
                            <label for="filter-sort">"Order"</label>
                            <select id="filter-sort" name="sort">
                                <option value="newest" selected=sort != "oldest" && sort != "amount">"Newest first"</option>
                                <option value="oldest" selected=sort == "oldest">"Oldest first"</option>
                                <option value="amount" selected=sort == "amount">"Largest amount first"</option>
                            </select>
                            {current.referrer_id.map(|r| view! { <input type="hidden" name="referrer_id" value=r.to_string() /> })}
                            <button type="submit">"Filter"</button>
                        </form>
                        {referrer_filter}
                        {search_note}
                        <p><a href=export_href download="">"Export these leads (CSV)"</a></p>
                        {if page.items.is_empty() {
                            view! { <p class="empty">"No leads match."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Email or phone"</th>
                                                <th scope="col">"Referrer"</th>
                                                <th scope="col">"Source"</th>
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Flags"</th>
                                                <th scope="col">"Amount"</th>
                                                <th scope="col">"Created"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {page.items.into_iter().map(|l| view! {
                                                <tr>
                                                    <td data-label="Name"><a href=format!("/admin/leads/{}", l.id)>{l.name.clone().unwrap_or_else(|| "(no name)".into())}</a></td>
                                                    <td data-label="Email or phone">{l.contact().to_owned()}</td>
                                                    <td data-label="Referrer">{l.referrer_name.clone().unwrap_or_else(|| "—".into())}</td>
                                                    <td data-label="Source">{l.source.clone()}</td>
                                                    <td data-label="Status"><span class=format!("badge {}", l.status)>{l.status.clone()}</span></td>
                                                    <td data-label="Flags">{l.flags.iter().map(|f| view! { <span class="badge flag">{f.replace('_', "-")}</span> }).collect_view()}</td>
                                                    <td data-label="Amount" class="num">{lead_amount(&l)}</td>
                                                    <td data-label="Created">{short_time(&l.created_at)}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                        {next.map(|href| view! { <p><a href=href rel="next">"Next page →"</a></p> })}
                    }
                        .into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}

/// What a decision did, in words.
fn decided_message(result: &ConversionResult) -> String {
    match (result.lead.status.as_str(), result.rewards.len()) {
        ("qualified", 0) => "The lead is qualified.".to_owned(),
        ("qualified", 1) => "The lead is qualified; 1 reward was created.".to_owned(),
        ("qualified", n) => format!("The lead is qualified; {n} rewards were created."),
        (status, _) => format!("The lead is {status}."),
    }
}

/// `/admin/leads/:id`: who the lead is, who gets the credit, and why; qualify (approve) or
/// reject it. `?decided=` carries the outcome of a form posted without JavaScript.
#[component]
pub fn LeadPage() -> impl IntoView {
    let query = use_query_map();
    let id = use_id_param();
    let qualify = ServerAction::<QualifyLead>::new();
    let reject = ServerAction::<RejectLead>::new();
    let detail = Resource::new(
        move || (id(), qualify.version().get(), reject.version().get()),
        |(id, _, _)| get_lead(id),
    );
    let notice = move || {
        for action_value in [qualify.value().get(), reject.value().get()] {
            match action_value {
                Some(Ok(result)) => return Some(decided_message(&result)),
                Some(Err(_)) => return None,
                None => {}
            }
        }
        query
            .with(|q| q.get("decided"))
            .filter(|d| d == "qualified" || d == "rejected")
            .map(|d| format!("The lead is {d}."))
    };
    view! {
        <AdminPage title="Lead">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => {
                            let status = d.lead.status.clone();
                            let in_review = status == "review";
                            let lead_id = d.lead.id.to_string();
                            let reject_id = lead_id.clone();
                            view! {
                            <p><a href="/admin/leads">"← All leads"</a></p>
                            <h1>{d.lead.name.clone().unwrap_or_else(|| d.lead.contact().to_owned())}</h1>
                            <dl class="facts">
                                <dt>"Email"</dt><dd>{d.lead.email.clone()}</dd>
                                {d.lead.phone.clone().map(|phone| view! { <dt>"Phone"</dt><dd>{phone}</dd> })}
                                <dt>"Campaign"</dt><dd><a href=format!("/admin/campaigns/{}", d.lead.campaign)>{d.campaign_name.clone()}</a></dd>
                                <dt>"Referrer"</dt>
                                <dd>{match (d.lead.referrer_id, d.lead.referrer_name.clone()) {
                                    (Some(id), Some(name)) => view! { <a href=format!("/admin/referrers/{id}")>{name}</a> }.into_any(),
                                    _ => view! { "—" }.into_any(),
                                }}
                                    {d.referrer_code.clone().map(|c| view! { " " <code class="code">{c}</code> })}</dd>
                                <dt>"Source"</dt><dd>{d.lead.source.clone()}</dd>
                                <dt>"Status"</dt><dd><span class=format!("badge {}", d.lead.status)>{d.lead.status.clone()}</span></dd>
                                <dt>"Flags"</dt>
                                <dd>{if d.lead.flags.is_empty() {
                                    view! { "none" }.into_any()
                                } else {
                                    d.lead.flags.iter().map(|f| view! { <span class="badge flag">{f.replace('_', "-")}</span> }).collect_view().into_any()
                                }}</dd>
                            </dl>
                            {move || notice().map(|text| view! { <p class="ok" role="status">{text}</p> })}
                            <section class="card">
                                <h2>"Decision"</h2>
                                <p>{match status.as_str() {
                                    "review" => "A qualifying event arrived, but this lead waits for approval (see the timeline for why). Approving creates its rewards.",
                                    "qualified" => "Qualified: its rewards were created. Rejecting cancels those not yet issued.",
                                    "rejected" => "Rejected: nothing more happens unless you qualify it by hand.",
                                    _ => "Pending: no qualifying event yet. Qualifying by hand creates its rewards now.",
                                }}</p>
                                <div class="decide">
                                    {(status != "qualified").then(|| view! {
                                        <ActionForm action=qualify>
                                            <input type="hidden" name="id" value=lead_id />
                                            <label for="qualify-reason">"Note (optional)"</label>
                                            <textarea id="qualify-reason" name="reason" rows="2" maxlength="500"></textarea>
                                            {action_error(qualify.value())}
                                            <button type="submit">{if in_review { "Approve" } else { "Qualify" }}</button>
                                        </ActionForm>
                                    })}
                                    {(status != "rejected").then(|| view! {
                                        <ActionForm action=reject>
                                            <input type="hidden" name="id" value=reject_id />
                                            <label for="reject-reason">"Reason for rejecting"</label>
                                            <textarea id="reject-reason" name="reason" rows="2" maxlength="500" required aria-describedby="reject-hint"></textarea>
                                            <p id="reject-hint" class="hint">"Required. It goes on the timeline; rewards not yet issued are cancelled."</p>
                                            {action_error(reject.value())}
                                            <button type="submit" class="danger">"Reject"</button>
                                        </ActionForm>
                                    })}
                                </div>
                            </section>
                            <h2>"Timeline"</h2>
                            <ol class="timeline">
                                {d.timeline.into_iter().map(|e| view! {
                                    <li class=format!("event {}", e.kind)>
                                        <time datetime=e.at.to_rfc3339()>{short_time(&e.at)}</time>
                                        " " <strong>{e.kind.replace('_', " ")}</strong>
                                        <p>{e.detail}</p>
                                    </li>
                                }).collect_view()}
                            </ol>
                        }.into_any()
                        }
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}

/// A lead's qualifying amount for a table cell ("USD 49.00"), or a dash without one.
fn lead_amount(lead: &crate::types::Lead) -> String {
    if lead.amount_minor == 0 && lead.amount_currency.is_none() {
        "—".to_owned()
    } else {
        crate::domain::rules::format_amount(lead.amount_minor, lead.amount_currency.as_deref())
    }
}
