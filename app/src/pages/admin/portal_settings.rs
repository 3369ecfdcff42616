//! The campaign page's "Referrer portal" form: what the portal says, whether people may join,
//! which of the business's sites may frame it, with a live preview (once JavaScript runs; the
//! saved portal is always one click away).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::portal::SavePortalSettings,
    components::action_error,
    domain::{
        color::Rgb,
        logo::{LogoRefusal, MAX_LOGO_BYTES},
    },
    types::PortalSettingsInput,
};

/// The form and its preview, for campaign `slug`. `current` and `save` belong to the campaign
/// page: resources made there (not in this nested component) hydrate from the streamed data.
#[component]
pub fn PortalSettingsCard(
    slug: String,
    name: String,
    brand_color: String,
    /// The campaign's logo address (uploaded or typed in), if any.
    logo_url: Option<String>,
    current: PortalSettingsInput,
    save: ServerAction<SavePortalSettings>,
) -> impl IntoView {
    let query = use_query_map();
    let brand = Rgb::parse(&brand_color).unwrap_or(Rgb::BLACK);
    let brand_text = brand.readable_text().hex();
    let saved = move || {
        matches!(save.value().get(), Some(Ok(())))
            || query.with(|q| q.get("saved").as_deref() == Some("portal"))
    };
    view! {
        <section class="card" aria-labelledby="portal-heading">
            <h2 id="portal-heading">"Referrer portal"</h2>
            <p>"Referrers join and sign in at " <a href=format!("/p/{slug}")>{format!("/p/{slug}")}</a> "."</p>
            <LogoForm slug=slug.clone() logo_url=logo_url.clone() />
            {
                        let headline = RwSignal::new(current.headline.clone());
                        let intro = RwSignal::new(current.intro.clone());
                        let reward = RwSignal::new(current.reward_text.clone());
                        let default_headline = format!("Refer a friend to {name}");
                        let fallback_headline = default_headline.clone();
                        let sender_placeholder = name.clone();
                        view! {
                            <div class="portal-settings">
                                <ActionForm action=save>
                                    <input type="hidden" name="slug" value=slug />
                                    <label for="portal-headline">"Headline"</label>
                                    <input id="portal-headline" name="settings[headline]" maxlength="120"
                                        placeholder=default_headline.clone() value=current.headline.clone()
                                        on:input=move |ev| headline.set(event_target_value(&ev)) />
                                    <label for="portal-intro">"Intro"</label>
                                    <textarea id="portal-intro" name="settings[intro]" maxlength="1000" rows="3"
                                        on:input=move |ev| intro.set(event_target_value(&ev))>{current.intro.clone()}</textarea>
                                    <label for="portal-reward">"Reward, in your words"</label>
                                    <input id="portal-reward" name="settings[reward_text]" maxlength="500"
                                        placeholder="Give $10, get $10 when your friend's first order ships"
                                        value=current.reward_text.clone()
                                        on:input=move |ev| reward.set(event_target_value(&ev)) />
                                    <label for="portal-terms">"Terms address"</label>
                                    <input id="portal-terms" name="settings[terms_url]" type="url" placeholder="https://example.com/referral-terms" value=current.terms_url.clone() />
                                    <label for="portal-footer">"Footer"</label>
                                    <input id="portal-footer" name="settings[footer]" maxlength="500" value=current.footer.clone() />
                                    <p class="check">
                                        <input id="portal-signup" name="settings[signup_open]" type="checkbox" checked=current.signup_open.is_some() />
                                        <label for="portal-signup">"Anyone may join on the portal"</label>
                                    </p>
                                    <label for="portal-frame">"Sites that may show the portal in a frame"</label>
                                    <input id="portal-frame" name="settings[frame_ancestors]" aria-describedby="portal-frame-hint" placeholder="https://shop.example.com" value=current.frame_ancestors.clone() />
                                    <p id="portal-frame-hint" class="hint">"Your own sites, separated by spaces. Empty: no site may frame it."</p>
                                    <label for="portal-sender">"Emails come from (name)"</label>
                                    <input id="portal-sender" name="settings[email_sender_name]" maxlength="100"
                                        placeholder=sender_placeholder value=current.email_sender_name.clone() />
                                    <label for="portal-reply-to">"Replies go to"</label>
                                    <input id="portal-reply-to" name="settings[email_reply_to]" maxlength="254" aria-describedby="portal-reply-to-hint"
                                        placeholder="referrals@example.com" value=current.email_reply_to.clone() />
                                    <p id="portal-reply-to-hint" class="hint">"Empty: the address set on the Emails page. The sending address itself is set there too."</p>
                                    {action_error(save.value())}
                                    {move || saved().then(|| view! { <p class="ok" role="status">"Portal saved."</p> })}
                                    <button type="submit">"Save portal"</button>
                                </ActionForm>
                                <div class="preview" aria-label="Preview of the portal entrance">
                                    <div class="portal-header" style=format!("background:{};color:{}", brand.hex(), brand_text)>
                                        {match logo_url.clone() {
                                            Some(logo) => view! { <img class="logo" src=logo alt=name.clone() /> }.into_any(),
                                            None => view! { <span class="portal-name">{name.clone()}</span> }.into_any(),
                                        }}
                                    </div>
                                    <div class="preview-body">
                                        <p class="preview-headline">{move || {
                                            let h = headline.get();
                                            if h.trim().is_empty() { fallback_headline.clone() } else { h }
                                        }}</p>
                                        <p>{move || intro.get()}</p>
                                        <p class="reward">{move || reward.get()}</p>
                                    </div>
                                </div>
                            </div>
                        }
            }
        </section>
    }
}

/// The logo upload: a plain multipart form to `/admin/campaigns/{slug}/logo` (a server route,
/// so it works without JavaScript), which sends the browser back here with `?logo=saved`,
/// `?logo=removed` or `?logo_error={code}`.
#[component]
fn LogoForm(slug: String, logo_url: Option<String>) -> impl IntoView {
    let query = use_query_map();
    let outcome = move || {
        query.with(|q| {
            if let Some(refusal) = q
                .get("logo_error")
                .as_deref()
                .and_then(LogoRefusal::from_code)
            {
                return Some(
                    view! { <p class="error" role="alert">{refusal.message()}</p> }.into_any(),
                );
            }
            match q.get("logo").as_deref() {
                Some("saved") => {
                    Some(view! { <p class="ok" role="status">"Logo saved."</p> }.into_any())
                }
                Some("removed") => {
                    Some(view! { <p class="ok" role="status">"Logo removed."</p> }.into_any())
                }
                _ => None,
            }
        })
    };
    let uploaded = logo_url
        .as_deref()
        .is_some_and(|u| u.contains(&format!("/logo/{slug}?")));
    view! {
        <h3 id="logo-heading">"Logo"</h3>
        {logo_url.clone().map(|logo| view! { <img class="logo-current" src=logo alt="The current logo" /> })}
        <form method="post" action=format!("/admin/campaigns/{slug}/logo") enctype="multipart/form-data" class="logo-form">
            <label for="logo-file">"Upload a logo"</label>
            <input id="logo-file" name="logo" type="file" accept="image/png,image/jpeg" aria-describedby="logo-hint" />
            <p id="logo-hint" class="hint">
                {format!("PNG or JPEG, at most {} KB. SVG is not accepted (it can carry scripts). A logo address typed in the settings above works too.", MAX_LOGO_BYTES / 1024)}
            </p>
            {outcome}
            <button type="submit">"Upload logo"</button>
        </form>
        {uploaded.then(|| view! {
            <form method="post" action=format!("/admin/campaigns/{slug}/logo/remove")>
                <button type="submit" class="secondary">"Remove logo"</button>
            </form>
        })}
    }
}
