//! `/admin/search?q=`: what the header's search box found.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::search::admin_search,
    components::{AdminPage, load_error, short_time},
    pages::admin::referrers::serde_urlencoded_pairs,
};

/// Campaigns, referrers and leads matching the text, each list linking to its own tab with
/// the same search when there are more.
#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let text = move || query.with(|q| q.get("q").unwrap_or_default());
    let results = Resource::new(text, admin_search);
    view! {
        <AdminPage title="Search">
            <h1>"Search"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let found = match results.await {
                        Ok(found) => found,
                        Err(error) => return load_error(error),
                    };
                    if found.text.is_empty() {
                        return view! {
                            <p>"Type a name, an email, a phone number, a code or an order id in the search box above."</p>
                        }.into_any();
                    }
                    let q = serde_urlencoded_pairs(&[("q", found.text.clone())]);
                    let nothing = found.campaigns.is_empty() && found.referrers.is_empty() && found.leads.is_empty();
                    view! {
                        <p role="status">{if nothing {
                            format!("Nothing matches “{}”.", found.text)
                        } else {
                            format!("Results for “{}”.", found.text)
                        }}</p>
                        {(!found.campaigns.is_empty()).then(|| view! {
                            <section aria-labelledby="found-campaigns">
                                <h2 id="found-campaigns">"Campaigns"</h2>
                                <ul>
                                    {found.campaigns.iter().map(|c| view! {
                                        <li><a href=format!("/admin/campaigns/{}", c.slug)>{c.name.clone()}</a> " " <code>{c.slug.clone()}</code></li>
                                    }).collect_view()}
                                </ul>
                            </section>
                        })}
                        {(!found.referrers.is_empty()).then(|| view! {
                            <section aria-labelledby="found-referrers">
                                <h2 id="found-referrers">"Referrers"</h2>
                                <ul>
                                    {found.referrers.iter().map(|r| view! {
                                        <li>
                                            <a href=format!("/admin/referrers/{}", r.id)>{r.name.clone()}</a>
                                            " " {r.email.clone()}
                                            {r.code.clone().map(|c| view! { " " <code class="code">{c}</code> })}
                                            " (" {r.campaign.clone()} ")"
                                        </li>
                                    }).collect_view()}
                                </ul>
                                {found.more_referrers.then(|| view! {
                                    <p><a href=format!("/admin/referrers?{q}")>"All matching referrers →"</a></p>
                                })}
                            </section>
                        })}
                        {(!found.leads.is_empty()).then(|| view! {
                            <section aria-labelledby="found-leads">
                                <h2 id="found-leads">"Leads"</h2>
                                {found.lead_note.clone().map(|note| view! { <p class="hint">{note} "."</p> })}
                                <ul>
                                    {found.leads.iter().map(|l| view! {
                                        <li>
                                            <a href=format!("/admin/leads/{}", l.id)>{l.name.clone().unwrap_or_else(|| l.contact().to_owned())}</a>
                                            " " {l.contact().to_owned()}
                                            " " <span class=format!("badge {}", l.status)>{l.status.clone()}</span>
                                            " " {short_time(&l.created_at)}
                                        </li>
                                    }).collect_view()}
                                </ul>
                                {found.more_leads.then(|| view! {
                                    <p><a href=format!("/admin/leads?{q}")>"All matching leads →"</a></p>
                                })}
                            </section>
                        })}
                    }.into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}
