//! The Referrers tab: search, add, and each referrer's link, code and numbers.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{
        campaigns::list_campaigns,
        referrers::{
            AddReferrer, SendMissingWelcomes, list_referrers, take_referrer_import,
            welcome_progress,
        },
    },
    components::{AdminPage, action_error, clear_after_success, load_error, short_time},
    error::AppError,
    pages::admin::referrer_import::BulkAdd,
    types::{EmailProgress, ReferrerFilter, WelcomeRun},
};

/// How far one bulk send has gone out. With JavaScript it reads again every two seconds while
/// emails wait; without, reloading the page does.
#[component]
fn WelcomeProgressNote(
    run: WelcomeRun,
    progress: Resource<Option<Result<EmailProgress, AppError>>>,
) -> impl IntoView {
    view! {
        <div class="ok" role="status">
            <p>{format!("Link-and-code emails written: {}.", run.written)}</p>
            <Transition fallback=|| ()>
                {move || progress.get().flatten().map(|result| match result {
                    Ok(p) => {
                        let done = p.sent + p.failed;
                        let total = (p.sent + p.pending + p.failed).max(1);
                        view! {
                            <progress max=total value=done aria-label="Emails sent">{format!("{done} of {total}")}</progress>
                            <p>
                                {format!("Sent {}, waiting {}, failed {}.", p.sent, p.pending, p.failed)}
                                {(p.failed > 0).then(|| view! { " " <a href="/admin/emails?status=failed">"See the failures"</a> })}
                            </p>
                        }.into_any()
                    }
                    Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </div>
    }
}

/// `/admin/referrers?campaign=&q=&after=`.
#[component]
pub fn ReferrersPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| ReferrerFilter {
            campaign: q.get("campaign").filter(|s| !s.is_empty()),
            search: q.get("q").filter(|s| !s.is_empty()),
            after: q.get("after").and_then(|a| a.parse().ok()),
            never_emailed: q.get("never_emailed").is_some_and(|v| v == "1"),
            ..Default::default()
        })
    };
    // A bulk send's result after a plain form post (the page it redirects back to).
    let welcomed = move || {
        query.with(|q| {
            let number = |key: &str| q.get(key).and_then(|v| v.parse::<i64>().ok());
            Some(WelcomeRun {
                written: number("welcomed")?.try_into().ok()?,
                since: number("since")?,
                until: number("until")?,
            })
        })
    };
    let add = ServerAction::<AddReferrer>::new();
    let add_form = NodeRef::<leptos::html::Form>::new();
    clear_after_success(add.value(), add_form, |_| true);
    // Who was added: from the action with JavaScript, from `?added=ID` without.
    let added = move || match add.value().get() {
        Some(Ok(referrer)) => Some((referrer.id, Some(referrer.name))),
        Some(Err(_)) => None,
        None => query
            .with(|q| q.get("added"))
            .and_then(|id| id.parse::<i64>().ok())
            .map(|id| (id, None)),
    };
    let welcome_all = ServerAction::<SendMissingWelcomes>::new();
    // The bulk send's progress is read here, at the page's top: a resource made inside the
    // admin frame's `Suspend` does not hydrate reliably. With JavaScript it reads again every
    // two seconds while emails wait.
    let welcome_run = move || match welcome_all.value().get() {
        Some(Ok(run)) => Some(run),
        _ => welcomed(),
    };
    let progress_tick = RwSignal::new(0u32);
    let progress = Resource::new(
        move || {
            (
                query.with(|q| q.get("campaign")),
                welcome_run(),
                progress_tick.get(),
            )
        },
        |(campaign, run, _)| async move {
            match (campaign, run) {
                (Some(campaign), Some(run)) => {
                    Some(welcome_progress(campaign, run.since, run.until).await)
                }
                _ => None,
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Some(Ok(p))) = progress.get()
            && p.pending > 0
        {
            set_timeout(
                move || progress_tick.update(|t| *t += 1),
                std::time::Duration::from_secs(2),
            );
        }
    });
    let referrers = Resource::new(
        move || (filter(), add.version().get(), welcome_all.version().get()),
        |(filter, _, _)| {
            list_referrers(
                filter.campaign,
                filter.search,
                filter.after,
                Some(filter.never_emailed),
            )
        },
    );
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    // What the last bulk add came to (kept in the session by the upload route), once.
    let bulk_outcome = Resource::new(|| (), |_| take_referrer_import());
    view! {
        <AdminPage title="Referrers">
            <h1>"Referrers"</h1>
            // After a deletion (the delete form goes on to this page).
            {move || query.with(|q| q.get("deleted")).map(|name| view! {
                <p class="ok" role="status">{format!("Deleted {name}. The audit log keeps a line saying so.")}</p>
            })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let current = filter();
                    let campaigns = match campaigns.await {
                        Ok(list) => list,
                        Err(error) => return load_error(error),
                    };
                    let bulk_campaigns = campaigns.clone();
                    let bulk_chosen = current.campaign.clone();
                    let options = move |selected: Option<String>| {
                        campaigns
                            .iter()
                            .map(|c| {
                                let is = selected.as_deref() == Some(c.slug.as_str());
                                view! { <option value=c.slug.clone() selected=is>{c.name.clone()}</option> }
                            })
                            .collect_view()
                    };
                    let page = match referrers.await {
                        Ok(page) => page,
                        Err(error) => return load_error(error),
                    };
                    let next = page.next_cursor.map(|cursor| {
                        let mut q = vec![("after", cursor.to_string())];
                        if let Some(c) = &current.campaign { q.push(("campaign", c.clone())); }
                        if let Some(s) = &current.search { q.push(("q", s.clone())); }
                        if current.never_emailed { q.push(("never_emailed", "1".to_owned())); }
                        format!("/admin/referrers?{}", serde_urlencoded_pairs(&q))
                    });
                    view! {
                        <form method="get" class="filters" role="search">
                            <label for="filter-campaign">"Campaign"</label>
                            <select id="filter-campaign" name="campaign">
                                <option value="">"All campaigns"</option>
                                {options(current.campaign.clone())}
                            </select>
                            <label for="filter-q">"Search"</label>
                            <input id="filter-q" name="q" type="search" placeholder="Name, email or code" value=current.search.clone().unwrap_or_default() />
                            <p class="check">
                                <input id="filter-never-emailed" name="never_emailed" type="checkbox" value="1" checked=current.never_emailed />
                                <label for="filter-never-emailed">"Never emailed"</label>
                            </p>
                            <button type="submit">"Filter"</button>
                        </form>
                        {current.campaign.clone().map(|campaign| {
                            let sent = move || {
                                welcome_run().map(|run| view! { <WelcomeProgressNote run progress /> })
                            };
                            view! {
                                <section class="card">
                                    <h2>"Link-and-code emails"</h2>
                                    <ActionForm action=welcome_all>
                                        <input type="hidden" name="campaign" value=campaign />
                                        <p>"Send the link-and-code email to every referrer of this campaign who has not had one. Nobody gets it twice; run it again any time to reach the rest."</p>
                                        {action_error(welcome_all.value())}
                                        {sent}
                                        <button type="submit">"Send to everyone not yet emailed"</button>
                                    </ActionForm>
                                </section>
                            }
                        })}
                        <section class="card">
                            <h2>"Add a referrer"</h2>
                            {move || added().map(|(id, name)| view! {
                                <p class="ok" role="status">
                                    "Added " <a href=format!("/admin/referrers/{id}")>{name.unwrap_or_else(|| "the referrer".to_owned())}</a>
                                    "."
                                </p>
                            })}
                            <ActionForm action=add node_ref=add_form>
                                <label for="campaign">"Campaign"</label>
                                <select id="campaign" name="campaign" required>
                                    {options(current.campaign.clone())}
                                </select>
                                <label for="name">"Name"</label>
                                <input id="name" name="name" required maxlength="200" autocomplete="off" />
                                <label for="email">"Email"</label>
                                <input id="email" name="email" type="email" required autocomplete="off" />
                                {action_error(add.value())}
                                <button type="submit">"Add referrer"</button>
                            </ActionForm>
                        </section>
                        <BulkAdd campaigns=bulk_campaigns chosen=bulk_chosen outcome=bulk_outcome />
                        {if page.items.is_empty() {
                            view! { <p class="empty">"No referrers match."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Email"</th>
                                                <th scope="col">"Code"</th>
                                                <th scope="col">"Link"</th>
                                                <th scope="col">"Clicks"</th>
                                                <th scope="col">"Leads"</th>
                                                <th scope="col">"Qualified"</th>
                                                <th scope="col">"Joined"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {page.items.into_iter().map(|r| view! {
                                                <tr>
                                                    <td data-label="Name"><a href=format!("/admin/referrers/{}", r.referrer.id)>{r.referrer.name.clone()}</a>{(!r.referrer.active).then(|| view! { " " <span class="badge inactive">"inactive"</span> })}</td>
                                                    <td data-label="Email">{r.referrer.email.clone()}</td>
                                                    <td data-label="Code"><code class="code">{r.referrer.code.clone().unwrap_or_else(|| "—".into())}</code></td>
                                                    <td data-label="Link"><crate::components::CopyText text=r.referrer.link.clone() /></td>
                                                    <td data-label="Clicks" class="num">{r.clicks}</td>
                                                    <td data-label="Leads" class="num"><a href=format!("/admin/leads?referrer_id={}", r.referrer.id)>{r.leads}</a></td>
                                                    <td data-label="Qualified" class="num">{r.qualified}</td>
                                                    <td data-label="Joined">{short_time(&r.referrer.created_at)}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                        {next.map(|href| view! { <p><a href=href rel="next">"Older referrers →"</a></p> })}
                    }
                        .into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}

/// `a=1&b=2` with each value percent-encoded.
pub(crate) fn serde_urlencoded_pairs(pairs: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}
