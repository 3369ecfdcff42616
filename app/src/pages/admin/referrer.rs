//! One referrer: link, code, QR, portal address, email history, the buttons that send them
//! their link-and-code email or a sign-in link, their details and note (editable), and the
//! switch that deactivates or reactivates them.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::referrers::{
        DeleteReferrer, MergeReferrer, ReplaceReferrerCode, SendReferrerEmail, SetReferrerActive,
        UpdateReferrer, load_referrer, load_referrer_footprint,
    },
    components::{
        AdminPage, ChannelClicks, CopyText, QrDownloads, action_error, load_error, short_time,
        use_id_param,
    },
    pages::admin::{emails::EmailRows, referrer_removal::MergeAndDelete},
};

/// `/admin/referrers/:id`.
#[component]
pub fn ReferrerPage() -> impl IntoView {
    let query = use_query_map();
    let id = use_id_param();
    let send = ServerAction::<SendReferrerEmail>::new();
    let update = ServerAction::<UpdateReferrer>::new();
    let switch = ServerAction::<SetReferrerActive>::new();
    let replace = ServerAction::<ReplaceReferrerCode>::new();
    let merge = ServerAction::<MergeReferrer>::new();
    let delete = ServerAction::<DeleteReferrer>::new();
    let footprint = Resource::new(
        move || (id(), merge.version().get()),
        |(id, _)| load_referrer_footprint(id),
    );
    let detail = Resource::new(
        move || {
            (
                id(),
                send.version().get(),
                update.version().get(),
                switch.version().get(),
                replace.version().get(),
                merge.version().get(),
            )
        },
        |(id, ..)| load_referrer(id),
    );
    // What the last save did: from the action with JavaScript, from `?saved=` without.
    let saved_notice = move || {
        if let Some(Ok(merged)) = merge.value().get() {
            return Some(view! { <p class="ok" role="status">{merged.summary}</p> }.into_any());
        }
        let saved = match (
            update.value().get(),
            switch.value().get(),
            replace.value().get(),
        ) {
            (_, _, Some(Ok(_))) => Some("code".to_owned()),
            (_, Some(Ok(r)), _) => Some(
                if r.active {
                    "reactivated"
                } else {
                    "deactivated"
                }
                .to_owned(),
            ),
            (Some(Ok(_)), _, _) => Some("details".to_owned()),
            _ => query.with(|q| q.get("saved")),
        };
        let text = match saved.as_deref()? {
            "details" => "Saved.",
            "code" => {
                "Code replaced: the new one is above. The old one keeps working for the days you chose, then is refused as replaced."
            }
            "deactivated" => {
                "Deactivated: their code is refused and their link credits nobody until you reactivate them."
            }
            "reactivated" => "Reactivated: their code and link work again.",
            "merged" => {
                "Merged: everything of the other record is here now, and its link and code credit this referrer."
            }
            _ => return None,
        };
        Some(view! { <p class="ok" role="status">{text}</p> }.into_any())
    };
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
                        <h1>{r.name.clone()} {(!r.active).then(|| view! { " " <span class="badge inactive">"inactive"</span> })}</h1>
                        <p>{r.email.clone()}" · "{r.campaign.clone()}
                            {d.emails_opt_out.then_some(" · notification emails off")}
                        </p>
                        {saved_notice}
                        {(!r.active).then(|| view! {
                            <p class="error" role="status">
                                {format!(
                                    "Inactive since {}: their code is refused at checkout and in forms, and their link leads to the campaign without crediting them (a friend it brings is held for review).",
                                    d.deactivated_at.as_ref().map(short_time).unwrap_or_default()
                                )}
                            </p>
                        })}
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
                        <ReferrerSettings referrer=r.clone() note=d.note.clone().unwrap_or_default() update switch replace />
                        <MergeAndDelete referrer=r.clone() merge delete footprint />
                        <p class="hint">{format!("Joined {}", short_time(&r.created_at))}</p>
                    }
                    .into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}

/// The referrer's details and note, and the switch that deactivates or reactivates them.
#[component]
fn ReferrerSettings(
    referrer: crate::types::Referrer,
    note: String,
    update: ServerAction<UpdateReferrer>,
    switch: ServerAction<SetReferrerActive>,
    replace: ServerAction<ReplaceReferrerCode>,
) -> impl IntoView {
    let id = referrer.id.to_string();
    let switch_id = id.clone();
    let replace_id = id.clone();
    let has_code = referrer.code.is_some();
    let active = referrer.active;
    view! {
        <section class="card">
            <h2>"Details"</h2>
            <ActionForm action=update>
                <input type="hidden" name="id" value=id />
                <label for="referrer-name">"Name"</label>
                <input id="referrer-name" name="name" required maxlength="200" value=referrer.name.clone() />
                <label for="referrer-email">"Email"</label>
                <input id="referrer-email" name="email" type="email" required value=referrer.email.clone() />
                <label for="referrer-note">"Note"</label>
                <textarea id="referrer-note" name="note" rows="3" maxlength="2000" aria-describedby="referrer-note-hint">{note}</textarea>
                <p id="referrer-note-hint" class="hint">"For your team only; the referrer never sees it."</p>
                {action_error(update.value())}
                <button type="submit">"Save details"</button>
            </ActionForm>
        </section>
        <section class="card">
            <h2>{if active { "Deactivate" } else { "Reactivate" }}</h2>
            <p>{if active {
                "A deactivated referrer keeps everything they have, but their code is refused at checkout, in forms and at the sales desk, and their link leads to the campaign without crediting them. You can reactivate them at any time."
            } else {
                "Reactivating makes their code and link work again at once."
            }}</p>
            <ActionForm action=switch>
                <input type="hidden" name="id" value=switch_id />
                <input type="hidden" name="active" value=if active { "false" } else { "true" } />
                {action_error(switch.value())}
                <button type="submit" class=if active { "danger" } else { "" }>
                    {if active { "Deactivate referrer" } else { "Reactivate referrer" }}
                </button>
            </ActionForm>
        </section>
        {has_code.then(|| view! {
            <section class="card">
                <h2>"Replace the code"</h2>
                <p>"For a lost card or a code that got around: they get a new code (their link stays the same). The old code keeps crediting them for a while, so cards already handed out still work; after that it is refused as replaced."</p>
                <ActionForm action=replace>
                    <input type="hidden" name="id" value=replace_id />
                    <label for="grace-days">"Days the old code keeps working"</label>
                    <input id="grace-days" name="grace_days" type="number" min="0" max="365" value="30" required inputmode="numeric" />
                    {action_error(replace.value())}
                    <button type="submit" class="secondary">"Replace code"</button>
                </ActionForm>
            </section>
        })}
    }
}
