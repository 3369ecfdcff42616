//! The referrer portal at `/p/{campaign}`: the entrance (join, ask for a sign-in link) for
//! visitors, the referrer's own page once signed in. Every form is a plain form post underneath,
//! so the whole portal works without JavaScript; with it, copy buttons appear.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::portal::{PortalJoin, PortalSetEmails, PortalSignIn, PortalSignOut, load_portal},
    components::{
        CopyText, ErrorNote, QrDownloads, ShareButton, action_error, print_page, short_time,
        use_hydrated,
    },
    types::{PortalBranding, PortalHome, PortalView},
};

/// What the entrance says after a join or sign-in request, whether or not the email is known.
const CHECK_YOUR_EMAIL: &str = "Check your email: if the address takes part in this programme, a sign-in link is on its way. It works once, for 30 minutes.";

/// `/p/:slug`.
#[component]
pub fn PortalPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let page = move || query.read().get("page").and_then(|p| p.parse::<u32>().ok());
    let rewards_page = move || {
        query
            .read()
            .get("rewards")
            .and_then(|p| p.parse::<u32>().ok())
    };
    let notice = move || query.read().get("notice");
    let sign_out = ServerAction::<PortalSignOut>::new();
    let emails = ServerAction::<PortalSetEmails>::new();
    let data = Resource::new(
        move || {
            (
                slug(),
                page(),
                rewards_page(),
                sign_out.version().get(),
                emails.version().get(),
            )
        },
        |(slug, page, rewards, _, _)| load_portal(slug, page, rewards),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(PortalView { branding, home: Some(home) }) => view! {
                        <Frame branding=branding.clone()>
                            <Home branding home sign_out emails notice=notice() />
                        </Frame>
                    }.into_any(),
                    Ok(PortalView { branding, home: None }) => view! {
                        <Frame branding=branding.clone()>
                            <Entrance branding notice=notice() />
                        </Frame>
                    }.into_any(),
                    Err(error) => {
                        #[cfg(feature = "ssr")]
                        {
                            use crate::error::AppError;
                            use axum::http::StatusCode;
                            // A page that failed is not a 200: caches and monitors must see it.
                            let status = match &error {
                                AppError::NotFound { .. } => Some(StatusCode::NOT_FOUND),
                                AppError::Internal | AppError::Transport { .. } => {
                                    Some(StatusCode::INTERNAL_SERVER_ERROR)
                                }
                                _ => None,
                            };
                            if let Some(status) = status
                                && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
                            {
                                response.set_status(status);
                            }
                        }
                        view! {
                            <main class="portal narrow">
                                <ErrorNote error />
                            </main>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The campaign's frame: brand colours, logo or name, footer.
#[component]
fn Frame(branding: PortalBranding, children: Children) -> impl IntoView {
    let style = format!(
        "--brand: {}; --brand-text: {}",
        branding.brand_color, branding.brand_text_color
    );
    view! {
        <Title text=branding.name.clone() />
        <div class="portal" style=style>
            <header class="portal-header">
                {match branding.logo_url.clone() {
                    Some(logo) => view! { <img class="logo" src=logo alt=branding.name.clone() /> }.into_any(),
                    None => view! { <span class="portal-name">{branding.name.clone()}</span> }.into_any(),
                }}
            </header>
            <main id="main" class="portal-main">{children()}</main>
            <footer class="portal-footer">
                {branding.footer.clone().map(|f| view! { <p>{f}</p> })}
                {branding.terms_url.clone().map(|t| view! { <p><a href=t>"Programme terms"</a></p> })}
            </footer>
        </div>
    }
}

/// Join and sign in.
#[component]
fn Entrance(branding: PortalBranding, notice: Option<String>) -> impl IntoView {
    let join = ServerAction::<PortalJoin>::new();
    let sign_in = ServerAction::<PortalSignIn>::new();
    let slug = branding.slug.clone();
    let sent = move || {
        let from_action = matches!(join.value().get(), Some(Ok(_)))
            || matches!(sign_in.value().get(), Some(Ok(_)));
        let from_redirect = notice.as_deref() == Some("sent");
        (from_action || from_redirect)
            .then(|| view! { <p class="ok" role="status">{CHECK_YOUR_EMAIL}</p> })
    };
    view! {
        <h1>{branding.headline.clone()}</h1>
        {branding.intro.clone().map(|i| view! { <p class="lead">{i}</p> })}
        {branding.reward_text.clone().map(|r| view! { <p class="reward">{r}</p> })}
        {sent}
        {branding.signup_open.then(|| {
            let slug = slug.clone();
            let terms = branding.terms_url.clone();
            view! {
                <section class="card" aria-labelledby="join-heading">
                    <h2 id="join-heading">"Join and get your link"</h2>
                    <ActionForm action=join>
                        <input type="hidden" name="slug" value=slug />
                        <label for="join-name">"Your name"</label>
                        <input id="join-name" name="name" required maxlength="200" autocomplete="name" />
                        <label for="join-email">"Your email"</label>
                        <input id="join-email" name="email" type="email" required maxlength="254" autocomplete="email" />
                        <p class="check">
                            <input id="join-consent" name="consent" type="checkbox" required />
                            <label for="join-consent">
                                "I accept the "
                                {match terms {
                                    Some(t) => view! { <a href=t>"programme's terms"</a> }.into_any(),
                                    None => view! { "programme's terms" }.into_any(),
                                }}
                                " and agree to get emails about my referrals."
                            </label>
                        </p>
                        {action_error(join.value())}
                        <button type="submit">"Join and get my link"</button>
                    </ActionForm>
                </section>
            }
        })}
        <section class="card" aria-labelledby="sign-in-heading">
            <h2 id="sign-in-heading">"Already take part? Sign in"</h2>
            <p>"No password: we email you a link that signs you in."</p>
            <ActionForm action=sign_in>
                <input type="hidden" name="slug" value=slug.clone() />
                <label for="sign-in-email">"Your email"</label>
                <input id="sign-in-email" name="email" type="email" required maxlength="254" autocomplete="email" />
                {action_error(sign_in.value())}
                <button type="submit">"Email me a sign-in link"</button>
            </ActionForm>
        </section>
    }
}

/// "Print" (with JavaScript; without it, the browser's own Print prints the same card).
#[component]
fn PrintButton() -> impl IntoView {
    let hydrated = use_hydrated();
    view! {
        <Show when=move || hydrated.get()>
            <button type="button" on:click=|_| print_page()>"Print my card"</button>
        </Show>
    }
}

/// The addresses of the referrer's page with another page of leads or of rewards; each keeps
/// the other list's page and lands on its list.
struct PagerLinks {
    slug: String,
    leads: u32,
    rewards: u32,
}

impl PagerLinks {
    fn leads(&self, page: u32) -> String {
        format!(
            "/p/{}?page={page}&rewards={}#stats-heading",
            self.slug, self.rewards
        )
    }

    fn rewards(&self, page: u32) -> String {
        format!(
            "/p/{}?page={}&rewards={page}#rewards-heading",
            self.slug, self.leads
        )
    }
}

/// The signed-in referrer's page.
#[component]
fn Home(
    branding: PortalBranding,
    home: PortalHome,
    sign_out: ServerAction<PortalSignOut>,
    emails: ServerAction<PortalSetEmails>,
    notice: Option<String>,
) -> impl IntoView {
    let slug_for_emails = branding.slug.clone();
    let slug_for_sign_out = branding.slug.clone();
    let link_slug = home.link_slug.clone();
    // Served by `/qr/{slug}.svg` with an ETag and a long cache life, so the browser fetches it
    // once for the page and the card, and again only when the link changes.
    let qr_src = format!("/qr/{link_slug}.svg");
    let shares =
        crate::domain::share::share_links(&branding.name, &home.link, home.code.as_deref());
    let saved = notice.as_deref() == Some("saved");
    let card_src = format!("/p/{}/card.svg", branding.slug);
    let pages = PagerLinks {
        slug: branding.slug.clone(),
        leads: home.page,
        rewards: home.rewards_page,
    };
    view! {
        <h1>{format!("Hi {}", home.name)}</h1>
        {saved.then(|| view! { <p class="ok" role="status">"Saved."</p> })}
        {(!home.active).then(|| view! {
            <p class="error" role="status">"Your referral link and code are paused by the business: new referrals are not credited for now. Your earlier referrals and rewards are not affected."</p>
        })}
        <section class="card share-card" aria-labelledby="link-heading">
            <h2 id="link-heading">"Your referral link"</h2>
            <p class="big"><CopyText text=home.link.clone() /></p>
            {home.code.clone().map(|code| view! {
                <h2>"Your referral code"</h2>
                <p class="big code"><CopyText text=code /></p>
                <p class="hint">"For referrals that don't start with a click: say it, write it on a card, or have your friend type it at checkout."</p>
            })}
            <div class="qr-row">
                <img class="qr" src=qr_src width="160" height="160" alt="QR code of your referral link" />
                <QrDownloads link_slug=link_slug.clone() logo=branding.qr_logo />
            </div>
            <h3>"Share"</h3>
            <ShareButton
                title=branding.name.clone()
                text=crate::domain::share::share_message(&branding.name, home.code.as_deref())
                url=home.link.clone()
            />
            <ul class="share">
                {shares.into_iter().map(|(label, href)| view! {
                    <li><a href=href rel="noopener noreferrer" target="_blank">{label}</a></li>
                }).collect_view()}
            </ul>
        </section>
        <section class="card print-card-section" aria-labelledby="card-heading">
            <h2 id="card-heading">"Print my card"</h2>
            <p class="hint">"A business card with your QR code, code and link. Printing this page prints only the card."</p>
            // The print studio's business-card template, drawn on the server (`/p/{slug}/card.svg`),
            // the same card as the PDF below. Its words are in the caption for screen readers.
            <figure class="print-card" aria-label="Your referral card">
                <img class="print-card-img" src=card_src alt="" width="321" height="208" />
                <figcaption class="visually-hidden">
                    {format!("{}: ", branding.name)}
                    {home.code.clone().map(|code| format!("code {code}, "))}
                    {format!("link {}", home.link)}
                </figcaption>
            </figure>
            <PrintButton />
            <p>
                <a href=format!("/p/{}/card.pdf", branding.slug)>"My cards as a PDF (A4)"</a>
                " · "
                <a href=format!("/p/{}/card.pdf?paper=letter", branding.slug)>"(US Letter)"</a>
                <br />
                <span class="hint">"A sheet of 10 cards, ready for a print shop or card paper."</span>
            </p>
        </section>
        <section class="card" aria-labelledby="how-heading">
            <h2 id="how-heading">"How it works"</h2>
            <ol>
                <li>"Share your link or your code."</li>
                <li>"Your friend signs up or buys with it."</li>
                <li>"When the referral qualifies, you earn your reward."</li>
            </ol>
            {branding.reward_text.clone().map(|r| view! { <p class="reward">{r}</p> })}
        </section>
        <section class="card" aria-labelledby="stats-heading">
            <h2 id="stats-heading">"Your referrals"</h2>
            <dl class="stats">
                <div><dt>"Clicks"</dt><dd>{home.clicks}</dd></div>
                {(home.paper_clicks > 0).then(|| view! {
                    <div><dt>"From printed cards"</dt><dd>{home.paper_clicks}</dd></div>
                })}
                <div><dt>"Friends"</dt><dd>{home.leads}</dd></div>
                <div><dt>"Qualified"</dt><dd>{home.qualified}</dd></div>
            </dl>
            {if home.recent_leads.is_empty() {
                view! { <p class="empty">"Nobody has arrived through your link or code yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead><tr><th scope="col">"Friend"</th><th scope="col">"Status"</th><th scope="col">"Arrived"</th></tr></thead>
                            <tbody>
                                {home.recent_leads.iter().map(|l| view! {
                                    <tr><td data-label="Friend">{l.masked_email.clone()}</td><td data-label="Status">{l.status.clone()}</td><td data-label="Arrived">{short_time(&l.created_at)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <nav class="pager" aria-label="Friends pages">
                {(home.page > 1).then(|| view! { <a href=pages.leads(home.page - 1)>"Newer"</a> })}
                {home.next_page.map(|n| view! { <a href=pages.leads(n)>"Older"</a> })}
            </nav>
        </section>
        <section class="card" aria-labelledby="rewards-heading">
            <h2 id="rewards-heading">"Your rewards"</h2>
            {if home.rewards.is_empty() {
                view! { <p class="empty">"No rewards yet: they appear here when a referral qualifies."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead><tr><th scope="col">"Reward"</th><th scope="col">"Status"</th><th scope="col">"Note"</th></tr></thead>
                            <tbody>
                                {home.rewards.iter().map(|r| view! {
                                    <tr><td data-label="Reward">{r.amount.clone()}</td><td data-label="Status">{r.status.clone()}</td><td data-label="Note">{r.note.clone().unwrap_or_default()}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <nav class="pager" aria-label="Rewards pages">
                {(home.rewards_page > 1).then(|| view! { <a href=pages.rewards(home.rewards_page - 1)>"Newer"</a> })}
                {home.rewards_next_page.map(|n| view! { <a href=pages.rewards(n)>"Older"</a> })}
            </nav>
        </section>
        <section class="card" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            <ActionForm action=emails>
                <input type="hidden" name="slug" value=slug_for_emails />
                <p class="check">
                    <input id="emails-on" name="on" type="checkbox" checked=home.emails_on />
                    <label for="emails-on">"Email me when a friend arrives, a referral qualifies or a reward is issued"</label>
                </p>
                {action_error(emails.value())}
                <button type="submit">"Save"</button>
            </ActionForm>
            <ActionForm action=sign_out>
                <input type="hidden" name="slug" value=slug_for_sign_out />
                <button type="submit" class="secondary">"Sign out"</button>
            </ActionForm>
        </section>
    }
}
