//! The print studio: pick a campaign, a template, a paper and who to print; see the first sheet
//! as it will print; download the print-shop PDF, the print page (HTML) or the mail-merge CSV.
//! The headline and body text of each template are edited here, previewed as they are typed.
//!
//! Without JavaScript the choices are a plain GET form whose "Preview" button reloads the page
//! with them; with it, every change redraws the preview at once. Every address the page builds
//! comes from one [`StudioChoice`], so the preview and the downloads always agree.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::print::{SavePrintTexts, print_matches, print_studio},
    components::{AdminPage, action_error, load_error},
    types::StudioView,
};

/// What the studio's form has chosen.
#[derive(Clone, Debug, Default, PartialEq)]
struct StudioChoice {
    template: String,
    paper: String,
    marks: bool,
    names: bool,
    channel: bool,
    search: String,
    joined_after: String,
    never_printed: bool,
    referrer: Option<i64>,
    /// Text typed but not saved, previewed (and printed) in place of the saved text.
    headline: Option<String>,
    body: Option<String>,
}

impl StudioChoice {
    /// The query string of the print files for this choice.
    fn query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("template", self.template.clone()),
            ("paper", self.paper.clone()),
        ];
        if self.marks {
            pairs.push(("marks", "1".into()));
        }
        if !self.names {
            pairs.push(("names", "0".into()));
        }
        if !self.channel {
            pairs.push(("channel", "0".into()));
        }
        match self.referrer {
            Some(id) => pairs.push(("referrer", id.to_string())),
            None => {
                if !self.search.trim().is_empty() {
                    pairs.push(("search", self.search.trim().to_owned()));
                }
                if !self.joined_after.is_empty() {
                    pairs.push(("joined_after", self.joined_after.clone()));
                }
                if self.never_printed {
                    pairs.push(("never_printed", "1".into()));
                }
            }
        }
        if let Some(headline) = &self.headline {
            pairs.push(("headline", headline.clone()));
        }
        if let Some(body) = &self.body {
            pairs.push(("body", body.clone()));
        }
        super::referrers::serde_urlencoded_pairs(&pairs)
    }
}

/// `/admin/print?campaign=&template=&paper=&marks=&names=&channel=&search=&joined_after=&never_printed=&referrer=`.
#[component]
pub fn PrintStudioPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.with_untracked(|q| q.get(key).unwrap_or_default());
    let campaign = RwSignal::new(query.with_untracked(|q| q.get("campaign")));
    let template = RwSignal::new(Some(get("template")).filter(|t| !t.is_empty()));
    let referrer = query.with_untracked(|q| q.get("referrer").and_then(|r| r.parse::<i64>().ok()));
    let choice = RwSignal::new(StudioChoice {
        template: String::new(),
        paper: Some(get("paper"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "a4".into()),
        marks: get("marks") == "1",
        names: get("names") != "0",
        channel: get("channel") != "0",
        search: get("search"),
        joined_after: get("joined_after"),
        never_printed: get("never_printed") == "1",
        referrer,
        headline: None,
        body: None,
    });
    let studio = Resource::new(
        move || (campaign.get(), template.get()),
        move |(campaign, template)| print_studio(campaign, template, referrer),
    );
    let save = ServerAction::<SavePrintTexts>::new();
    view! {
        <AdminPage title="Print studio">
            <h1>"Print studio"</h1>
            <p>"Business cards, flyers, posters and table tents with each referrer's QR code, code and link, ready for an office printer or a print shop."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match studio.await {
                        Ok(studio) => view! { <Studio studio choice campaign template save /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Transition>
        </AdminPage>
    }
}

/// The studio once its campaign's data is loaded.
#[component]
fn Studio(
    studio: StudioView,
    choice: RwSignal<StudioChoice>,
    campaign: RwSignal<Option<String>>,
    template: RwSignal<Option<String>>,
    save: ServerAction<SavePrintTexts>,
) -> impl IntoView {
    let Some(slug) = studio.campaign.clone() else {
        return view! {
            <p class="empty">"There is no campaign yet. " <a href="/admin/campaigns">"Create one"</a> " and add referrers, then print their cards here."</p>
        }
        .into_any();
    };
    // The loaded template is the one the form shows; typed text is for that template only.
    choice.update(|c| {
        if c.template != studio.template {
            c.headline = None;
            c.body = None;
        }
        c.template = studio.template.clone();
        // A referrer picked by id prints only while their campaign is the one shown.
        c.referrer = studio.referrer.as_ref().map(|(id, _)| *id);
    });
    let query = use_query_map();
    let saved_notice = move || {
        matches!(save.value().get(), Some(Ok(())))
            || query.with(|q| q.get("saved").as_deref() == Some("texts"))
    };
    let base = format!("/admin/print/{slug}");
    let link = {
        let base = base.clone();
        move |file: &'static str| {
            let base = base.clone();
            move || format!("{base}/{file}?{}", choice.with(StudioChoice::query))
        }
    };
    let matches = Resource::new(
        move || choice.with(|c| (c.search.clone(), c.joined_after.clone(), c.never_printed)),
        {
            let slug = slug.clone();
            move |(search, joined_after, never_printed): (String, String, bool)| {
                print_matches(
                    slug.clone(),
                    Some(search).filter(|s| !s.trim().is_empty()),
                    Some(joined_after).filter(|d| !d.is_empty()),
                    Some(never_printed),
                )
            }
        },
    );
    let current = choice.get_untracked();
    let one_referrer = studio.referrer.clone();
    let printing_one = one_referrer.is_some();
    let headline_placeholder = studio.default_headline.clone();
    let body_placeholder = studio.default_body.clone();
    let options = |list: &[crate::types::PrintOption], selected: &str| {
        list.iter()
            .map(|o| {
                view! { <option value=o.name.clone() selected=o.name == selected>{o.label.clone()}</option> }
            })
            .collect_view()
    };
    view! {
        <div class="studio">
            <section class="card studio-choices" aria-labelledby="studio-what">
                <h2 id="studio-what">"What to print"</h2>
                <form method="get" action="/admin/print">
                    <label for="studio-campaign">"Campaign"</label>
                    <select id="studio-campaign" name="campaign"
                        on:change=move |ev| campaign.set(Some(event_target_value(&ev)))>
                        {studio.campaigns.iter().map(|(s, name)| view! {
                            <option value=s.clone() selected=*s == slug>{name.clone()}</option>
                        }).collect_view()}
                    </select>
                    <label for="studio-template">"Template"</label>
                    <select id="studio-template" name="template"
                        on:change=move |ev| template.set(Some(event_target_value(&ev)))>
                        {options(&studio.templates, &studio.template)}
                    </select>
                    <label for="studio-paper">"Paper"</label>
                    <select id="studio-paper" name="paper"
                        on:change=move |ev| choice.update(|c| c.paper = event_target_value(&ev))>
                        {options(&studio.papers, &current.paper)}
                    </select>
                    <p class="check">
                        <input id="studio-marks" name="marks" type="checkbox" value="1" checked=current.marks
                            on:change=move |ev| choice.update(|c| c.marks = event_target_checked(&ev)) />
                        <label for="studio-marks">"Crop marks and 3 mm bleed (for a print shop)"</label>
                    </p>
                    <label for="studio-names">"Names"</label>
                    <select id="studio-names" name="names"
                        on:change=move |ev| choice.update(|c| c.names = event_target_value(&ev) != "0")>
                        <option value="1" selected=current.names>"Print each referrer's name"</option>
                        <option value="0" selected=!current.names>"Leave names off"</option>
                    </select>
                    <label for="studio-channel">"QR codes"</label>
                    <select id="studio-channel" name="channel" aria-describedby="studio-channel-hint"
                        on:change=move |ev| choice.update(|c| c.channel = event_target_value(&ev) != "0")>
                        <option value="1" selected=current.channel>"Count their clicks as from paper"</option>
                        <option value="0" selected=!current.channel>"Plain link"</option>
                    </select>
                    <p id="studio-channel-hint" class="hint">"The code carries a marker (?ch=card) so clicks from paper show apart in the stats. It never changes who is credited."</p>
                    {match one_referrer.clone() {
                        Some((id, name)) => view! {
                            <input type="hidden" name="referrer" value=id.to_string() />
                            <p class="ok">{format!("Printing one referrer: {name}. ")}
                                <a href=format!("/admin/print?campaign={slug}")>"Print everyone instead"</a>
                            </p>
                        }.into_any(),
                        None => view! {
                            <fieldset>
                                <legend>"Who"</legend>
                                <label for="studio-search">"Search"</label>
                                <input id="studio-search" name="search" type="search" placeholder="Name, email or code"
                                    value=current.search.clone()
                                    on:input=move |ev| choice.update(|c| c.search = event_target_value(&ev)) />
                                <label for="studio-joined">"Joined on or after"</label>
                                <input id="studio-joined" name="joined_after" type="date" value=current.joined_after.clone()
                                    on:change=move |ev| choice.update(|c| c.joined_after = event_target_value(&ev)) />
                                <p class="check">
                                    <input id="studio-never" name="never_printed" type="checkbox" value="1" checked=current.never_printed
                                        on:change=move |ev| choice.update(|c| c.never_printed = event_target_checked(&ev)) />
                                    <label for="studio-never">"Never printed before"</label>
                                </p>
                            </fieldset>
                        }.into_any(),
                    }}
                    <button type="submit">"Preview"</button>
                </form>
                <p role="status" class="studio-count">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match (printing_one, matches.await) {
                                (true, _) => "1 referrer to print.".to_owned(),
                                (false, Ok(0)) => "No referrer matches: the preview shows a sample.".to_owned(),
                                (false, Ok(1)) => "1 referrer to print.".to_owned(),
                                (false, Ok(n)) => format!("{n} referrers to print."),
                                (false, Err(error)) => error.to_string(),
                            }
                        })}
                    </Transition>
                </p>
            </section>
            <section class="card studio-preview" aria-labelledby="studio-preview-heading">
                <h2 id="studio-preview-heading">"Preview: the first sheet"</h2>
                <img class="studio-sheet" src=link("preview.svg")
                    alt="Preview of the first sheet, as it will print" />
                <h3>"Download"</h3>
                <ul class="downloads">
                    <li><a href=link("print.pdf") download="">"PDF for printing"</a>" (vector QR codes, fonts embedded; with crop marks for a print shop)"</li>
                    <li><a href=link("print.html")>"Print page"</a>" (print it from your browser at 100 %, margins none)"</li>
                    <li><a href=link("print.csv") download="">"Mail-merge CSV"</a>" (name, email, code, link and QR image addresses, for a mailing service)"</li>
                    {studio.referrer.clone().map(|(id, _)| {
                        let card = move |ext: &'static str| move || format!("/admin/referrers/{id}/card.{ext}?{}", choice.with(StudioChoice::query));
                        view! {
                            <li><a href=card("svg")>"This piece as SVG"</a>" · "<a href=card("png")>"as PNG (300 dpi)"</a></li>
                        }
                    })}
                </ul>
                <p class="hint">"Downloading the PDF, the print page or the CSV counts these referrers as printed."</p>
            </section>
            <section class="card studio-texts" aria-labelledby="studio-texts-heading">
                <h2 id="studio-texts-heading">"Text on this template"</h2>
                <ActionForm action=save>
                    <input type="hidden" name="campaign" value=slug.clone() />
                    <input type="hidden" name="template" value=studio.template.clone() />
                    <label for="studio-headline">"Headline"</label>
                    <input id="studio-headline" name="headline" maxlength="120"
                        placeholder=headline_placeholder value=studio.headline.clone()
                        on:input=move |ev| choice.update(|c| c.headline = Some(event_target_value(&ev))) />
                    <label for="studio-body">"Body text"</label>
                    <textarea id="studio-body" name="body" maxlength="500" rows="3" aria-describedby="studio-body-hint"
                        placeholder=body_placeholder
                        on:input=move |ev| choice.update(|c| c.body = Some(event_target_value(&ev)))>{studio.body.clone()}</textarea>
                    <p id="studio-body-hint" class="hint">"Empty: the portal's headline and reward text print. Cards fit up to three short lines of body text; flyers, posters and tents fit more."</p>
                    {action_error(save.value())}
                    {move || saved_notice().then(|| view! { <p class="ok" role="status">"Text saved."</p> })}
                    <button type="submit">"Save text"</button>
                </ActionForm>
            </section>
        </div>
    }
    .into_any()
}
