//! Reusable views. No data access here.

use leptos::prelude::*;
use leptos_router::components::{A, Redirect};

use crate::{
    api::auth::Logout,
    domain::roles::Permission,
    error::AppError,
    types::{CurrentAdmin, ImportError},
};

/// An error message for a failed action or load, announced to screen readers.
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{error.to_string()}</p> }
}

/// Shows the error of an action's last run, if it failed.
pub fn action_error<T, S>(value: S) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || match value.get() {
        Some(Err(error)) => Some(view! { <ErrorNote error /> }),
        _ => None,
    }
}

/// Clears `form` each time `value` (an action's value) turns into a success that `done`
/// accepts, so what was just created cannot be sent twice by accident.
pub fn clear_after_success<T, S>(value: S, form: NodeRef<leptos::html::Form>, done: fn(&T) -> bool)
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(created)) = value.get()
            && done(&created)
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
}

/// Renders a load error: a redirect to the login page when the session is missing, otherwise
/// the message.
pub fn load_error(error: AppError) -> AnyView {
    match error {
        AppError::Unauthenticated => view! { <Redirect path="/admin/login" /> }.into_any(),
        error => view! { <ErrorNote error /> }.into_any(),
    }
}

/// The admin frame: navigation, who is signed in, log out.
#[component]
pub fn AdminNav(admin: CurrentAdmin) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="topbar">
            <a class="brand" href=admin.role.home()>"Handoff"</a>
            // `A` marks the current page with aria-current.
            <nav aria-label="Main">
                {admin.role.allows(Permission::ViewData).then(|| view! {
                    <A href="/admin" exact=true>"Overview"</A>
                    <A href="/admin/campaigns">"Campaigns"</A>
                    <A href="/admin/referrers">"Referrers"</A>
                    <A href="/admin/leads">"Leads"</A>
                    <A href="/admin/rewards">"Rewards"</A>
                    <A href="/admin/emails">"Emails"</A>
                    <A href="/admin/imports">"Uploads"</A>
                    <A href="/admin/integrations">"Integrations"</A>
                })}
                {admin
                    .role
                    .allows(Permission::RecordLeads)
                    .then(|| view! { <A href="/admin/sales">"Sales desk"</A> })}
                {admin
                    .role
                    .allows(Permission::Print)
                    .then(|| view! { <A href="/admin/print">"Print"</A> })}
                {admin
                    .role
                    .allows(Permission::ManageApiKeys)
                    .then(|| view! { <A href="/admin/api-keys">"API keys"</A> })}
                {admin
                    .role
                    .allows(Permission::ManageAdmins)
                    .then(|| view! { <A href="/admin/audit">"Audit log"</A> })}
                {admin.role.allows(Permission::ViewData).then(|| view! {
                    <a href="/api/v1/docs" rel="external">"API reference"</a>
                })}
            </nav>
            {admin.role.allows(Permission::ViewData).then(|| view! {
                // A plain GET form: it works before hydration and without JavaScript.
                <form class="header-search" method="get" action="/admin/search" role="search" aria-label="Search everything">
                    <label for="header-search" class="visually-hidden">"Search campaigns, referrers and leads"</label>
                    <input id="header-search" type="search" name="q" maxlength="200" placeholder="Search…" />
                    <button type="submit">"Search"</button>
                </form>
            })}
            <div class="who">
                <span>{format!("{} ({})", admin.email, admin.role.as_str())}</span>
                <ActionForm action=logout>
                    <button type="submit" class="link">"Log out"</button>
                </ActionForm>
            </div>
        </header>
    }
}

/// Formats a UTC time for tables: `2026-11-25 17:04`.
pub fn short_time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// An admin screen: loads the signed-in admin, then renders the navigation and the page body.
/// Without a session it redirects to the login page.
#[component]
pub fn AdminPage(title: &'static str, children: ChildrenFn) -> impl IntoView {
    let me = Resource::new(|| (), |_| crate::api::auth::me());
    view! {
        <leptos_meta::Title text=format!("{title} · Handoff") />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(admin) => {
                            view! {
                                <AdminNav admin />
                                <main id="main">{children()}</main>
                            }
                                .into_any()
                        }
                        Err(error) => load_error(error),
                    }
                })
            }}
        </Suspense>
    }
}

/// Clicks per channel, as a small table: how many came through the shared link and how many
/// from each kind of printed material. Only channels with clicks are listed.
#[component]
pub fn ChannelClicks(counts: crate::domain::channel::ChannelCounts) -> impl IntoView {
    let rows: Vec<_> = counts.nonzero().collect();
    if rows.is_empty() {
        return view! { <p class="hint">"No clicks yet."</p> }.into_any();
    }
    view! {
        <table class="channels">
            <caption>"Clicks by channel"</caption>
            <thead><tr><th scope="col">"Channel"</th><th scope="col">"Clicks"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|(channel, clicks)| view! {
                    <tr><th scope="row">{channel.label()}</th><td class="num">{clicks}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Download links for the QR code of link `link_slug`: SVG (for print) and a 1,024 px PNG, and
/// when the campaign has an uploaded logo (`logo`), both again with the logo in the middle.
#[component]
pub fn QrDownloads(link_slug: String, logo: bool) -> impl IntoView {
    let link = move |extension: &str, logo: bool| {
        let size = if extension == "png" { "size=1024&" } else { "" };
        let logo = if logo { "&logo=1" } else { "" };
        format!("/qr/{link_slug}.{extension}?{size}download=1{logo}")
    };
    view! {
        <p class="qr-downloads">
            <a href=link("svg", false) download="">"Download QR (SVG)"</a>
            <br />
            <a href=link("png", false) download="">"Download QR (PNG)"</a>
            {logo.then(|| view! {
                <br />
                <a href=link("svg", true) download="">"With logo (SVG)"</a>
                <br />
                <a href=link("png", true) download="">"With logo (PNG)"</a>
            })}
        </p>
    }
}

/// How long a copy button says "Copied" before it reads "Copy" again.
const COPIED_FOR_MS: u64 = 2000;

/// A value with a "Copy" button. The button appears only once the page is hydrated, since it
/// needs JavaScript; without it the text is there to select.
#[component]
pub fn CopyText(text: String) -> impl IntoView {
    let hydrated = use_hydrated();
    let copied = RwSignal::new(false);
    let value = text.clone();
    let copy = move |_| {
        copy_to_clipboard(&value);
        copied.set(true);
        // "Copied" answers this click; after a moment the button offers to copy again.
        set_timeout(
            move || copied.set(false),
            std::time::Duration::from_millis(COPIED_FOR_MS),
        );
    };
    view! {
        <span class="copy">
            <code>{text}</code>
            <Show when=move || hydrated.get()>
                <button type="button" class="link" on:click=copy.clone()>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </Show>
        </span>
    }
}

#[cfg(feature = "hydrate")]
fn copy_to_clipboard(text: &str) {
    if let Some(window) = web_sys::window() {
        let _promise = window.navigator().clipboard().write_text(text);
    }
}

#[cfg(not(feature = "hydrate"))]
fn copy_to_clipboard(_text: &str) {}

/// The browser's own share sheet (the Web Share API), offered only where the browser has it:
/// most phones, some desktops. Elsewhere nothing shows, and the plain share links do the job.
#[component]
pub fn ShareButton(title: String, text: String, url: String) -> impl IntoView {
    let available = RwSignal::new(false);
    Effect::new(move |_| available.set(can_share()));
    let share = move |_| share_sheet(&title, &text, &url);
    view! {
        <Show when=move || available.get()>
            <button type="button" class="secondary" on:click=share.clone()>"Share…"</button>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
fn can_share() -> bool {
    web_sys::window().is_some_and(|w| {
        web_sys::js_sys::Reflect::has(&w.navigator(), &"share".into()).unwrap_or(false)
    })
}

#[cfg(not(feature = "hydrate"))]
fn can_share() -> bool {
    false
}

#[cfg(feature = "hydrate")]
fn share_sheet(title: &str, text: &str, url: &str) {
    if let Some(window) = web_sys::window() {
        let data = web_sys::ShareData::new();
        data.set_title(title);
        data.set_text(text);
        data.set_url(url);
        // A dismissed sheet rejects the promise; there is nothing to do about it.
        let _promise = window.navigator().share_with_data(&data);
    }
}

#[cfg(not(feature = "hydrate"))]
fn share_sheet(_title: &str, _text: &str, _url: &str) {}

/// Opens the browser's print dialog (the page's print style sheet decides what is printed).
#[cfg(feature = "hydrate")]
pub fn print_page() {
    if let Some(window) = web_sys::window() {
        let _ = window.print();
    }
}

/// Printing needs a browser.
#[cfg(not(feature = "hydrate"))]
pub fn print_page() {}

/// A signal that turns true once the page runs in the browser with JavaScript (effects never run
/// during server rendering), for controls that only work there.
pub fn use_hydrated() -> RwSignal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    hydrated
}

/// The rows a CSV upload refused, as a table of line, column and reason (a blank column is the
/// whole row). Shared by the conversion uploads and the promotion-code mapping import.
#[component]
pub fn RefusedRows(errors: Vec<ImportError>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table>
                <thead><tr><th scope="col">"Line"</th><th scope="col">"Column"</th><th scope="col">"Reason"</th></tr></thead>
                <tbody>
                    {errors.into_iter().map(|e| view! {
                        <tr>
                            <td data-label="Line" class="num">{e.line.to_string()}</td>
                            <td data-label="Column">{if e.column.is_empty() { "(whole row)".to_owned() } else { e.column }}</td>
                            <td data-label="Reason">{e.reason}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The `:id` of the current route as a number (0 when it is missing or not a number, which no
/// row has, so the page answers "not found").
pub fn use_id_param() -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0))
}
