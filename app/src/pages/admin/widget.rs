//! `/admin/campaigns/:slug/widget`: the share widget on the business's own site. How it shows
//! (popup, sticky bar, inline panel) and when (paths, delay, page views, how often, small
//! screens), a live preview of the real widget in a frame (the saved mode without JavaScript,
//! the chosen one with it), and the snippet with the token call and the host's CSP.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::widget::{SaveWidgetSettings, load_widget_settings},
    components::{AdminPage, action_error, load_error},
    domain::widget::{MAX_DELAY_SECONDS, MAX_PAGE_VIEWS, WidgetFrequency, WidgetMode},
    types::WidgetAdmin,
};

/// `/admin/campaigns/:slug/widget`.
#[component]
pub fn WidgetSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let save = ServerAction::<SaveWidgetSettings>::new();
    let current = Resource::new(
        move || (slug(), save.version().get()),
        |(slug, _)| load_widget_settings(slug),
    );
    view! {
        <AdminPage title="Share widget">
            <p><a href=move || format!("/admin/campaigns/{}", slug())>"← Campaign"</a></p>
            <h1>"Share widget"</h1>
            <p>"Your customers see their referral link, code, QR code and share links on your own site, without leaving it."</p>
            <Suspense fallback=|| view! { <p>"Loading the widget…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(page) => view! { <WidgetForm page save /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}

/// The settings form with its preview, and the snippet.
#[component]
fn WidgetForm(page: WidgetAdmin, save: ServerAction<SaveWidgetSettings>) -> impl IntoView {
    let query = use_query_map();
    let saved = move || {
        matches!(save.value().get(), Some(Ok(())))
            || query.with(|q| q.get("saved").as_deref() == Some("widget"))
    };
    let settings = page.settings.clone();
    let mode = RwSignal::new(settings.mode.clone());
    let preview_slug = page.slug.clone();
    let preview_src = move || format!("/embed/{}/preview?mode={}", preview_slug, mode.get());
    let snippet = format!(
        "<script src=\"{}\" data-campaign=\"{}\" data-token=\"TOKEN FROM YOUR BACKEND\" async></script>",
        page.script_url, page.slug
    );
    let token_call = format!(
        "curl -X POST {}/api/v1/referrers/widget-token \\\n  -H \"Authorization: Bearer $HANDOFF_API_KEY\" -H \"Content-Type: application/json\" \\\n  -d '{{\"campaign\":\"{}\",\"email\":\"customer@example.com\",\"name\":\"Their name\"}}'",
        page.origin, page.slug
    );
    let csp = format!("script-src {0}; connect-src {0}", page.origin);
    view! {
        <div class="widget-settings">
            <section class="card" aria-labelledby="widget-form-heading">
                <h2 id="widget-form-heading">"How and when it shows"</h2>
                <ActionForm action=save>
                    <input type="hidden" name="slug" value=page.slug.clone() />
                    <label for="widget-mode">"Show it as"</label>
                    <select id="widget-mode" name="settings[mode]" on:change=move |ev| mode.set(event_target_value(&ev))>
                        {WidgetMode::ALL.into_iter().map(|m| view! {
                            <option value=m.as_str() selected=settings.mode == m.as_str()>{m.label()}</option>
                        }).collect_view()}
                    </select>
                    <label for="widget-paths">"On these pages"</label>
                    <textarea id="widget-paths" name="settings[paths]" rows="3" aria-describedby="widget-paths-hint"
                        placeholder="/account/*">{settings.paths.clone()}</textarea>
                    <p id="widget-paths-hint" class="hint">"One path per line: /account for that page, /account/* for every page under it. Empty: every page."</p>
                    <label for="widget-delay">"After (seconds)"</label>
                    <input id="widget-delay" name="settings[delay_seconds]" type="number" min="0" max=MAX_DELAY_SECONDS.to_string()
                        inputmode="numeric" value=settings.delay_seconds.clone() />
                    <label for="widget-views">"From page view number"</label>
                    <input id="widget-views" name="settings[min_page_views]" type="number" min="1" max=MAX_PAGE_VIEWS.to_string()
                        inputmode="numeric" aria-describedby="widget-views-hint" value=settings.min_page_views.clone() />
                    <p id="widget-views-hint" class="hint">"1: on the first page a customer opens. Counted per browser."</p>
                    <label for="widget-frequency">"How often"</label>
                    <select id="widget-frequency" name="settings[frequency]">
                        {WidgetFrequency::ALL.into_iter().map(|f| view! {
                            <option value=f.as_str() selected=settings.frequency == f.as_str()>{f.label()}</option>
                        }).collect_view()}
                    </select>
                    <p class="check">
                        <input id="widget-small" name="settings[hide_on_small_screens]" type="checkbox" checked=settings.hide_on_small_screens.is_some() />
                        <label for="widget-small">"Never on small screens (phones)"</label>
                    </p>
                    {action_error(save.value())}
                    {move || saved().then(|| view! { <p class="ok" role="status">"Widget saved."</p> })}
                    <button type="submit">"Save widget"</button>
                </ActionForm>
            </section>
            <section class="card" aria-labelledby="widget-preview-heading">
                <h2 id="widget-preview-heading">"Preview"</h2>
                <p class="hint">"The real widget with a sample customer, shown at once. Choosing another way to show it updates the preview before you save."</p>
                <iframe class="widget-preview" title="Preview of the share widget" src=preview_src></iframe>
            </section>
        </div>
        <section class="card" aria-labelledby="widget-install-heading">
            <h2 id="widget-install-heading">"Put it on your site"</h2>
            <ol>
                <li>
                    <p>"Your backend asks Handoff for a token for the signed-in customer (with an API key; never from the browser). It works for an hour unless you pass ttl_minutes."</p>
                    <pre><code>{token_call}</code></pre>
                    <p class="hint">{if page.signup_open {
                        "A customer who is not a referrer yet becomes one (the campaign lets anyone join)."
                    } else {
                        "This campaign does not let anyone join: a customer who is not a referrer yet gets 409 signup_closed. Add them first, or allow joining in the portal settings."
                    }}</p>
                </li>
                <li>
                    <p>"Your page loads the widget with that token:"</p>
                    <pre><code>{snippet}</code></pre>
                    <p class="hint">"For the inline panel, put <div data-handoff-widget></div> where it goes."</p>
                </li>
                <li>
                    <p>"If your site sets a Content-Security-Policy, allow Handoff's origin:"</p>
                    <pre><code>{csp}</code></pre>
                </li>
            </ol>
        </section>
    }
}
