//! `/admin?campaign=&by=`: the campaign overview, the admin's first page. Also shown at the top
//! of a campaign's own page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::campaigns::campaign_overview,
    components::{AdminPage, ChannelClicks, load_error},
    domain::{rules::format_amount, words::counted},
    types::{Overview, Period, Tally},
};

/// The overview of one campaign or all, picked with a plain GET form (no JavaScript needed).
#[component]
pub fn OverviewPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| {
            (
                q.get("campaign").filter(|s| !s.is_empty()),
                q.get("by").filter(|s| !s.is_empty()),
            )
        })
    };
    let overview = Resource::new(filter, |(campaign, by)| campaign_overview(campaign, by));
    view! {
        <AdminPage title="Overview">
            <h1>"Overview"</h1>
            <Suspense fallback=|| view! { <p>"Loading the numbers…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => {
                            let chosen = overview.campaign.as_ref().map(|(slug, _)| slug.clone());
                            let by = overview.period;
                            view! {
                                <form method="get" action="/admin" class="filters" aria-label="Choose what to show">
                                    <label for="overview-campaign">"Campaign"</label>
                                    <select id="overview-campaign" name="campaign">
                                        <option value="">"All campaigns"</option>
                                        {overview.campaigns.iter().map(|(slug, name)| {
                                            let is = chosen.as_deref() == Some(slug.as_str());
                                            view! { <option value=slug.clone() selected=is>{name.clone()}</option> }
                                        }).collect_view()}
                                    </select>
                                    <label for="overview-by">"Chart by"</label>
                                    <select id="overview-by" name="by">
                                        <option value="day" selected=by == Period::Day>"Day (last 30)"</option>
                                        <option value="week" selected=by == Period::Week>"Week (last 26)"</option>
                                    </select>
                                    <button type="submit">"Show"</button>
                                </form>
                                {overview.campaigns.is_empty().then(|| view! {
                                    <p class="empty">"No campaigns yet. " <a href="/admin/campaigns">"Create the first one"</a> "."</p>
                                })}
                                <OverviewSections overview base="/admin".to_owned() />
                            }
                            .into_any()
                        }
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}

/// The overview's sections: numbers, chart, rewards, top referrers, clicks per channel. `base`
/// is the page the day/week links stay on.
#[component]
pub fn OverviewSections(overview: Overview, base: String) -> impl IntoView {
    let Overview {
        campaign,
        period,
        totals,
        series,
        chart_svg,
        rewards,
        top_referrers,
        channels,
        ..
    } = overview;
    let slug = campaign.as_ref().map(|(slug, _)| slug.clone());
    let period_link = |to: Period| {
        let mut pairs = vec![("by", to.as_str().to_owned())];
        if let Some(slug) = &slug
            && base == "/admin"
        {
            pairs.push(("campaign", slug.clone()));
        }
        format!(
            "{base}?{}",
            crate::pages::admin::referrers::serde_urlencoded_pairs(&pairs)
        )
    };
    let (day_href, week_href) = (period_link(Period::Day), period_link(Period::Week));
    let leads_href = match &slug {
        Some(slug) => format!("/admin/leads?campaign={slug}"),
        None => "/admin/leads".to_owned(),
    };
    let rewards_href = "/admin/rewards";
    let unit = match period {
        Period::Day => "day",
        Period::Week => "week",
    };
    view! {
        <section class="card" aria-labelledby="numbers-heading">
            <h2 id="numbers-heading">{match &campaign { Some((_, name)) => name.clone(), None => "All campaigns".to_owned() }}</h2>
            <Numbers totals />
        </section>
        <section class="card" aria-labelledby="chart-heading">
            <h2 id="chart-heading">{format!("Per {unit}")}</h2>
            <p class="period-switch">
                {match period {
                    Period::Day => view! { <strong>"By day"</strong> " · " <a href=week_href>"By week"</a> }.into_any(),
                    Period::Week => view! { <a href=day_href>"By day"</a> " · " <strong>"By week"</strong> }.into_any(),
                }}
            </p>
            <div class="chart" inner_html=chart_svg></div>
            <details>
                <summary>"The numbers"</summary>
                <div class="table-wrap">
                    <table>
                        <thead><tr>
                            <th scope="col">{if period == Period::Day { "Day" } else { "Week of" }}</th>
                            <th scope="col">"Clicks"</th>
                            <th scope="col">"Leads"</th>
                            <th scope="col">"Qualified"</th>
                        </tr></thead>
                        <tbody>
                            {series.into_iter().rev().map(|point| view! {
                                <tr>
                                    <td data-label="Day">{point.start}</td>
                                    <td data-label="Clicks" class="num">{point.tally.clicks}</td>
                                    <td data-label="Leads" class="num">{point.tally.leads}</td>
                                    <td data-label="Qualified" class="num">{point.tally.qualified}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </section>
        <div class="overview-columns">
            <section class="card" aria-labelledby="rewards-heading">
                <h2 id="rewards-heading">"Rewards"</h2>
                {if rewards.is_empty() {
                    view! { <p class="hint">"No rewards yet: they come when leads qualify."</p> }.into_any()
                } else {
                    view! {
                        <ul class="reward-sums">
                            {rewards.into_iter().map(|sum| {
                                let amount = (!sum.currency.is_empty()).then(|| format!(" · {}", format_amount(sum.amount_minor, Some(&sum.currency))));
                                view! {
                                    <li>
                                        <span class=format!("badge {}", sum.status)>{sum.status.clone()}</span>
                                        " " {counted(sum.rewards, "reward", "rewards")} {amount}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <p><a href=rewards_href>"See the rewards"</a></p>
                    }.into_any()
                }}
            </section>
            <section class="card" aria-labelledby="top-heading">
                <h2 id="top-heading">"Top referrers"</h2>
                {if top_referrers.is_empty() {
                    view! { <p class="hint">"No referrer has brought a lead yet."</p> }.into_any()
                } else {
                    view! {
                        <ol class="top-referrers">
                            {top_referrers.into_iter().map(|top| view! {
                                <li>
                                    <a href=format!("/admin/referrers/{}", top.id)>{top.name}</a>
                                    " — " {counted(top.tally.qualified, "qualified", "qualified")}
                                    " of " {counted(top.tally.leads, "lead", "leads")}
                                    ", " {counted(top.tally.clicks, "click", "clicks")}
                                </li>
                            }).collect_view()}
                        </ol>
                        <p><a href=leads_href>"See the leads"</a></p>
                    }.into_any()
                }}
            </section>
            <section class="card" aria-labelledby="channels-heading">
                <h2 id="channels-heading">"Clicks by channel"</h2>
                <ChannelClicks counts=channels />
            </section>
        </div>
    }
}

/// The all-time numbers and the two rates between them.
#[component]
fn Numbers(totals: Tally) -> impl IntoView {
    let rate = |r: Option<f64>| r.map_or_else(|| "–".to_owned(), |r| format!("{r:.1} %"));
    view! {
        <dl class="numbers">
            <div><dt>"Clicks"</dt><dd>{totals.clicks}</dd></div>
            <div><dt>"Leads"</dt><dd>{totals.leads}</dd></div>
            <div><dt>"Qualified"</dt><dd>{totals.qualified}</dd></div>
            <div><dt>"Leads per click"</dt><dd>{rate(totals.click_rate())}</dd></div>
            <div><dt>"Conversion rate"</dt><dd title="Qualified leads per lead">{rate(totals.qualification_rate())}</dd></div>
        </dl>
    }
}
