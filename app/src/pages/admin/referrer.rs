//! One referrer: link, code, QR, portal address, email history, and the buttons that send them
//! their link-and-code email or a sign-in link.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::referrers::{SendReferrerEmail, load_referrer},
    components::{
        AdminPage, ChannelClicks, CopyText, QrDownloads, action_error, load_error, short_time,
        use_id_param,
    },
    pages::admin::emails::EmailRows,
};

/// `/admin/referrers/:id`.
#[component]
pub fn ReferrerPage() -> impl IntoView {
    let query = use_query_map();
    let id = use_id_param();
    let send = ServerAction::<SendReferrerEmail>::new();
    let detail = Resource::new(
        move || (id(), send.version().get()),
        |(id, _)| load_referrer(id),
    );
    let sent_notice = move || {
        let from_action = matches!(send.value().get(), Some(Ok(()))).then_some(());
        let from_redirect = query.with(|q| q.get("sent")).map(|_| ());
        from_action
            .or(from_redirect)
            .map(|_| view! { <p class="ok" role="status">"Email written: it is on its way (see the history below)."</p> })
    };
    view! {
        <AdminPage title="Referrer">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let d = match detail.await {
                        Ok(d) => d,
                        Err(error) => return load_error(error),
                    };
                    let r = d.referrer.referrer.clone();
                    view! {
                        <p><a href="/admin/referrers">"← Referrers"</a></p>
                        <h1>{r.name.clone()}</h1>
                        <p>{r.email.clone()}" · "{r.campaign.clone()}
                            {d.emails_opt_out.then_some(" · notification emails off")}
                        </p>
                        <section class="card">
                            <h2>"Link, code and portal"</h2>
                            <dl class="facts">
                                <dt>"Referral link"</dt><dd><CopyText text=r.link.clone() /></dd>
                                <dt>"Referral code"</dt><dd>{match r.code.clone() {
                                    Some(code) => view! { <CopyText text=code /> }.into_any(),
                                    None => view! { "—" }.into_any(),
                                }}</dd>
                                <dt>"Portal"</dt><dd><CopyText text=r.portal_url.clone() /></dd>
                            </dl>
                            <div class="qr-row">
                                <div class="qr" role="img" aria-label="QR code of the referral link" inner_html=d.qr_svg.clone()></div>
                                <QrDownloads link_slug=d.link_slug.clone() logo=d.qr_logo />
                            </div>
                            <dl class="stats">
                                <div><dt>"Clicks"</dt><dd>{d.referrer.clicks}</dd></div>
                                <div><dt>"Leads"</dt><dd><a href=format!("/admin/leads?referrer_id={}", r.id)>{d.referrer.leads}</a></dd></div>
                                <div><dt>"Qualified"</dt><dd>{d.referrer.qualified}</dd></div>
                            </dl>
                            <ChannelClicks counts=d.channels.clone() />
                            <p><a href=format!("/admin/print?campaign={}&referrer={}", r.campaign, r.id)>"Print their card, flyer or poster"</a></p>
                        </section>
                        <section class="card">
                            <h2>"Emails"</h2>
                            {sent_notice}
                            {action_error(send.value())}
                            <div class="actions">
                                <ActionForm action=send>
                                    <input type="hidden" name="id" value=r.id.to_string() />
                                    <input type="hidden" name="email" value="link_and_code" />
                                    <button type="submit">"Send link-and-code email"</button>
                                </ActionForm>
                                <ActionForm action=send>
                                    <input type="hidden" name="id" value=r.id.to_string() />
                                    <input type="hidden" name="email" value="sign_in" />
                                    <button type="submit" class="secondary">"Send sign-in link"</button>
                                </ActionForm>
                            </div>
                            {if d.emails.is_empty() {
                                view! { <p class="empty">"No email written to this referrer yet."</p> }.into_any()
                            } else {
                                view! { <EmailRows emails=d.emails.clone() /> }.into_any()
                            }}
                        </section>
                        <p class="hint">{format!("Joined {}", short_time(&r.created_at))}</p>
                    }
                    .into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}
