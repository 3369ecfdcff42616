//! Campaigns: the list with a create form, and one campaign's settings.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::campaigns::{
        CreateCampaign, GenerateCodes, SaveCampaignRules, SetCampaignPaused, UpdateCampaign,
        campaign_overview, get_campaign, get_campaign_rules, list_campaigns,
    },
    components::{AdminPage, action_error, clear_after_success, load_error, short_time},
    pages::admin::{
        overview::OverviewSections,
        rules::{RulesEditor, successful_saves},
    },
    types::Campaign,
};

/// `/admin/campaigns`.
#[component]
pub fn CampaignsPage() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<CreateCampaign>::new();
    let campaigns = Resource::new(move || create.version().get(), |_| list_campaigns());
    let form = NodeRef::<leptos::html::Form>::new();
    clear_after_success(create.value(), form, |_| true);
    // What was created: from the action with JavaScript, from `?created=` without.
    let created = move || match create.value().get() {
        Some(Ok(campaign)) => Some((campaign.slug, campaign.name)),
        Some(Err(_)) => None,
        None => query
            .with(|q| q.get("created"))
            .map(|slug| (slug.clone(), slug)),
    };
    view! {
        <AdminPage title="Campaigns">
            <h1>"Campaigns"</h1>
            <Suspense fallback=|| view! { <p>"Loading campaigns…"</p> }>
                {move || Suspend::new(async move {
                    match campaigns.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty">"No campaigns yet. Create the first one below."</p>
                        }.into_any(),
                        Ok(list) => view! { <CampaignTable campaigns=list /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
            <section class="card">
                <h2>"New campaign"</h2>
                {move || created().map(|(slug, name)| view! {
                    <p class="ok" role="status">
                        "Created " <a href=format!("/admin/campaigns/{slug}")>{name}</a>
                        ". Next: add referrers, and set its rules and portal on its page."
                    </p>
                })}
                <ActionForm action=create node_ref=form>
                    <CampaignFields campaign=None />
                    {action_error(create.value())}
                    <button type="submit">"Create campaign"</button>
                </ActionForm>
            </section>
        </AdminPage>
    }
}

#[component]
fn CampaignTable(campaigns: Vec<Campaign>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Slug"</th>
                        <th scope="col">"Sends friends to"</th>
                        <th scope="col">"Codes"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {campaigns
                        .into_iter()
                        .map(|c| {
                            view! {
                                <tr>
                                    <td data-label="Name"><a href=format!("/admin/campaigns/{}", c.slug)>{c.name.clone()}</a></td>
                                    <td data-label="Slug"><code>{c.slug.clone()}</code></td>
                                    <td data-label="Sends friends to">{c.landing_url.clone().unwrap_or_else(|| "Hosted friend page".into())}</td>
                                    <td data-label="Codes">{if c.codes_enabled { c.code_style.replace('_', "-") } else { "off".into() }}</td>
                                    <td data-label="Status"><span class=format!("badge {}", c.status)>{c.status.clone()}</span></td>
                                    <td data-label="Created">{short_time(&c.created_at)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The campaign form fields, empty for a new campaign or filled for an edit.
#[component]
fn CampaignFields(campaign: Option<Campaign>) -> impl IntoView {
    let editing = campaign.is_some();
    let c = campaign.unwrap_or(Campaign {
        id: 0,
        slug: String::new(),
        name: String::new(),
        landing_url: None,
        codes_enabled: true,
        code_style: "random".into(),
        code_prefix: None,
        brand_color: "#4338ca".into(),
        logo_url: None,
        status: "active".into(),
        created_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
    });
    let name_based = c.code_style == "name_based";
    view! {
        <label for="name">"Name"</label>
        <input id="name" name="name" required maxlength="200" value=c.name.clone() />
        {(!editing).then(|| view! {
            <label for="slug">"Slug"</label>
            <input id="slug" name="slug" pattern="[a-z0-9\\-]{1,64}" aria-describedby="slug-hint" />
            <p id="slug-hint" class="hint">"Optional: lowercase letters, digits and hyphens. Made from the name when empty."</p>
        })}
        <label for="landing_url">"Landing URL"</label>
        <input id="landing_url" name="landing_url" type="url" value=c.landing_url.clone().unwrap_or_default() aria-describedby="landing-hint" />
        <p id="landing-hint" class="hint">"Where the referral link sends friends, with ref=CODE added. Empty: Handoff's hosted friend page."</p>
        <div class="check">
            <input id="codes_enabled" name="codes_enabled" type="checkbox" value="on" checked=c.codes_enabled />
            <label for="codes_enabled">"Referral codes"</label>
        </div>
        <label for="code_style">"Code style"</label>
        <select id="code_style" name="code_style">
            <option value="random" selected=!name_based>"Random"</option>
            <option value="name_based" selected=name_based>"Name-based"</option>
        </select>
        <label for="code_prefix">"Code prefix"</label>
        <input id="code_prefix" name="code_prefix" maxlength="8" pattern="[A-Za-z0-9]{0,8}" value=c.code_prefix.clone().unwrap_or_default() />
        <label for="brand_color">"Brand colour"</label>
        <input id="brand_color" name="brand_color" type="color" value=c.brand_color.clone() />
        <label for="logo_url">"Logo URL"</label>
        <input id="logo_url" name="logo_url" type="url" value=c.logo_url.clone().unwrap_or_default() />
    }
}

/// `/admin/campaigns/:slug`.
#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let by = move || query.with(|q| q.get("by").filter(|s| !s.is_empty()));
    let update = ServerAction::<UpdateCampaign>::new();
    let pause = ServerAction::<SetCampaignPaused>::new();
    let generate = ServerAction::<GenerateCodes>::new();
    let save_rules = ServerAction::<SaveCampaignRules>::new();
    let rules_saved = successful_saves(save_rules);
    let campaign = Resource::new(
        move || (slug(), update.version().get(), pause.version().get()),
        |(slug, _, _)| get_campaign(slug),
    );
    let rules = Resource::new(
        move || (slug(), rules_saved.get()),
        |(slug, _)| get_campaign_rules(slug),
    );
    let save_portal = ServerAction::<crate::api::portal::SavePortalSettings>::new();
    let portal_settings = Resource::new(
        move || (slug(), save_portal.version().get()),
        |(slug, _)| crate::api::portal::load_portal_settings(slug),
    );
    let overview = Resource::new(
        move || (slug(), by()),
        |(slug, by)| campaign_overview(Some(slug), by),
    );
    view! {
        <AdminPage title="Campaign">
            <Suspense fallback=|| view! { <p>"Loading campaign…"</p> }>
                {move || Suspend::new(async move {
                    let rules = match rules.await {
                        Ok(rules) => rules,
                        Err(error) => return load_error(error),
                    };
                    let portal_current = match portal_settings.await {
                        Ok(settings) => settings,
                        Err(error) => return load_error(error),
                    };
                    let overview = match overview.await {
                        Ok(overview) => overview,
                        Err(error) => return load_error(error),
                    };
                    match campaign.await {
                        Ok(c) => {
                            let paused = c.status == "paused";
                            let slug = c.slug.clone();
                            let friend_page = format!("/f/{slug}");
                            let referrers_href = format!("/admin/referrers?campaign={slug}");
                            let leads_href = format!("/admin/leads?campaign={slug}");
                            let emails_href = format!("/admin/campaigns/{slug}/emails");
                            let widget_href = format!("/admin/campaigns/{slug}/widget");
                            let print_href = format!("/admin/print?campaign={slug}");
                            let (slug_update, slug_pause, slug_generate) = (slug.clone(), slug.clone(), slug.clone());
                            let slug_rules = slug;
                            let (portal_slug, portal_name, portal_color) =
                                (c.slug.clone(), c.name.clone(), c.brand_color.clone());
                            let portal_logo = c.logo_url.clone();
                            view! {
                                <h1>{c.name.clone()}</h1>
                                <p>
                                    <span class=format!("badge {}", c.status)>{c.status.clone()}</span>
                                    " Friend page: " <a href=friend_page.clone()>{friend_page.clone()}</a>
                                    " · " <a href=referrers_href>"Referrers"</a>
                                    " · " <a href=leads_href>"Leads"</a>
                                    " · " <a href=emails_href>"Email templates"</a>
                                    " · " <a href=widget_href>"Share widget"</a>
                                </p>
                                <OverviewSections overview base=format!("/admin/campaigns/{}", c.slug) />
                                <p>"Printed cards, flyers, posters and table tents count apart from shared links. " <a href=print_href>"Print them in the print studio"</a></p>
                                <section class="card">
                                    <h2>"Settings"</h2>
                                    <ActionForm action=update>
                                        <input type="hidden" name="slug" value=slug_update />
                                        <CampaignFields campaign=Some(c.clone()) />
                                        {action_error(update.value())}
                                        {move || matches!(update.value().get(), Some(Ok(_))).then(|| view! { <p class="ok" role="status">"Saved."</p> })}
                                        <button type="submit">"Save changes"</button>
                                    </ActionForm>
                                </section>
                                <crate::pages::admin::portal_settings::PortalSettingsCard
                                    slug=portal_slug
                                    name=portal_name
                                    brand_color=portal_color
                                    logo_url=portal_logo
                                    current=portal_current
                                    save=save_portal
                                />
                                <RulesEditor slug=slug_rules rules save=save_rules />
                                <section class="card">
                                    <h2>{if paused { "Resume" } else { "Pause" }}</h2>
                                    <p>{if paused {
                                        "Paused: referral links show a friendly notice and no new leads are taken."
                                    } else {
                                        "Pausing stops new leads; links show a friendly notice."
                                    }}</p>
                                    <ActionForm action=pause>
                                        <input type="hidden" name="slug" value=slug_pause />
                                        <input type="hidden" name="paused" value=if paused { "false" } else { "true" } />
                                        {action_error(pause.value())}
                                        <button type="submit">{if paused { "Resume campaign" } else { "Pause campaign" }}</button>
                                    </ActionForm>
                                </section>
                                <section class="card">
                                    <h2>"Codes for everyone"</h2>
                                    <p>"Gives a referral code to every referrer of this campaign who has none (for example after switching codes on)."</p>
                                    <ActionForm action=generate>
                                        <input type="hidden" name="slug" value=slug_generate />
                                        {action_error(generate.value())}
                                        {move || match generate.value().get() {
                                            Some(Ok(n)) => Some(view! { <p class="ok" role="status">{format!("{} got a code.", crate::domain::words::counted(n, "referrer", "referrers"))}</p> }),
                                            _ => None,
                                        }}
                                        <button type="submit">"Generate codes"</button>
                                    </ActionForm>
                                </section>
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
