//! `/admin/audit?campaign=&after=`: who changed what, and when.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{audit::audit_log, campaigns::list_campaigns},
    components::{AdminPage, load_error, short_time},
    pages::admin::referrers::serde_urlencoded_pairs,
};

/// The audit log, newest first, optionally one campaign's, each entry linking what it names.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| {
            (
                q.get("campaign").filter(|s| !s.is_empty()),
                q.get("after").and_then(|a| a.parse::<i64>().ok()),
            )
        })
    };
    let entries = Resource::new(filter, |(campaign, after)| audit_log(campaign, after));
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    view! {
        <AdminPage title="Audit log">
            <h1>"Audit log"</h1>
            <p class="hint">"Every change an admin or an API key made to campaigns (rules, portal, email templates), referrers, leads, rewards, API keys, integrations and the email sender, newest first."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (campaign, _) = filter();
                    let campaigns = match campaigns.await {
                        Ok(list) => list,
                        Err(error) => return load_error(error),
                    };
                    let page = match entries.await {
                        Ok(page) => page,
                        Err(error) => return load_error(error),
                    };
                    let next = page.next_cursor.map(|cursor| {
                        let mut q = vec![("after", cursor.to_string())];
                        if let Some(c) = &campaign { q.push(("campaign", c.clone())); }
                        format!("/admin/audit?{}", serde_urlencoded_pairs(&q))
                    });
                    view! {
                        <form method="get" class="filters" aria-label="Filter the log">
                            <label for="audit-campaign">"Campaign"</label>
                            <select id="audit-campaign" name="campaign">
                                <option value="">"All campaigns"</option>
                                {campaigns.iter().map(|c| {
                                    let is = campaign.as_deref() == Some(c.slug.as_str());
                                    view! { <option value=c.slug.clone() selected=is>{c.name.clone()}</option> }
                                }).collect_view()}
                            </select>
                            <button type="submit">"Filter"</button>
                        </form>
                        {if page.items.is_empty() {
                            view! { <p class="empty">"Nothing was changed yet."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table>
                                        <thead>
                                            <tr>
                                                <th scope="col">"When"</th>
                                                <th scope="col">"Who"</th>
                                                <th scope="col">"What"</th>
                                                <th scope="col">"Campaign"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {page.items.into_iter().map(|entry| {
                                                let href = entry.object_href();
                                                view! {
                                                    <tr>
                                                        <td data-label="When"><time datetime=entry.at.to_rfc3339()>{short_time(&entry.at)}</time></td>
                                                        <td data-label="Who">{entry.actor.clone()}</td>
                                                        <td data-label="What">
                                                            {match href {
                                                                Some(href) => view! { <a href=href>{entry.summary.clone()}</a> }.into_any(),
                                                                None => view! { {entry.summary.clone()} }.into_any(),
                                                            }}
                                                            " " <span class="hint">{entry.action.clone()}</span>
                                                        </td>
                                                        <td data-label="Campaign">{entry.campaign.clone().map(|slug| view! {
                                                            <a href=format!("/admin/campaigns/{slug}")>{slug.clone()}</a>
                                                        })}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                        {next.map(|href| view! { <p><a href=href rel="next">"Older changes →"</a></p> })}
                    }.into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}
