//! The sales desk: a sales rep records a referral from a call or a visit (the code the customer
//! said, who the friend is, and optionally the order that qualifies it), then sees it in their
//! own list. Built for a phone first: one column, large targets, the right keyboards.
//!
//! With JavaScript the answer appears in place and a recorded entry clears the form. Without it
//! the form posts and the page comes back: filled in again (from the session) after a refusal or
//! a "did you mean", or with `?recorded=ID` after a success.

use leptos::{html, prelude::*};
use leptos_router::hooks::use_query_map;

use crate::{
    api::sales::{RecordReferral, sales_desk, sales_entries},
    components::{AdminPage, ErrorNote, clear_after_success, load_error, short_time},
    pages::admin::referrers::serde_urlencoded_pairs,
    types::{DeskReply, DeskView, Lead},
};

/// `/admin/sales?after=&recorded=`.
#[component]
pub fn SalesDeskPage() -> impl IntoView {
    let query = use_query_map();
    let after = move || query.with(|q| q.get("after").and_then(|a| a.parse::<i64>().ok()));
    let record = ServerAction::<RecordReferral>::new();
    let desk = Resource::new(|| (), |_| sales_desk());
    let entries = Resource::new(
        move || (after(), record.version().get()),
        |(after, _)| sales_entries(after),
    );
    view! {
        <AdminPage title="Sales desk">
            <h1>"Sales desk"</h1>
            <p>"Record a referral from a call or a visit: the code the customer said, who they are, and the order if they bought."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match desk.await {
                        Ok(view) => view! { <DeskForm view record /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Transition>
            <h2>"Recorded by you"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(page) => view! { <Entries page /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Transition>
        </AdminPage>
    }
}

/// Who the friend is, in one line: name, then email or phone.
fn friend_line(lead: &Lead) -> String {
    let contact = lead.contact();
    match lead.name.as_deref() {
        Some(name) if !contact.is_empty() => format!("{name} ({contact})"),
        Some(name) => name.to_owned(),
        None => contact.to_owned(),
    }
}

/// What recording did, in words.
fn recorded_message(
    lead: &Lead,
    created: bool,
    outcome: Option<&str>,
    order_duplicate: bool,
) -> String {
    let referrer = lead.referrer_name.as_deref().unwrap_or("nobody");
    let mut text = if created {
        format!("Recorded {} for {referrer}.", friend_line(lead))
    } else {
        format!(
            "{} was already referred in this campaign (credited to {referrer}); the first referral stands and no new lead was made.",
            friend_line(lead)
        )
    };
    let order = match (order_duplicate, outcome) {
        (true, _) => " That order id was recorded before, so the order changed nothing.",
        (false, Some("qualified")) => " The order qualified the referral.",
        (false, Some("review")) => " The order waits for an admin's approval.",
        (false, Some("already_qualified")) => " The referral was already qualified.",
        (false, Some("lead_rejected")) => {
            " The lead was rejected earlier, so the order earns nothing."
        }
        (false, Some(_)) => {
            " The order was recorded; it does not meet the campaign's rule to qualify."
        }
        (false, None) => "",
    };
    text.push_str(order);
    text
}

/// The form, with the answer to its last post.
#[component]
fn DeskForm(view: DeskView, record: ServerAction<RecordReferral>) -> impl IntoView {
    if view.campaigns.is_empty() {
        return view! { <p class="empty">"No campaign is taking referrals right now."</p> }
            .into_any();
    }
    let query = use_query_map();
    let draft = view.draft.clone().unwrap_or_default();
    let kept_confirm = view.confirm.clone();
    let has_draft = view.draft.is_some();
    let can_view_leads = view.can_view_leads;
    let form = NodeRef::<html::Form>::new();
    let code_input = NodeRef::<html::Input>::new();
    // A recorded entry clears the form; a "did you mean" keeps it for the confirmation.
    clear_after_success(record.value(), form, |reply| {
        matches!(reply, DeskReply::Recorded { .. })
    });
    let confirm = move || match record.value().get() {
        Some(Ok(DeskReply::Confirm {
            code,
            referrer_name,
        })) => Some((code, referrer_name)),
        Some(_) => None,
        None => kept_confirm.clone(),
    };
    let recorded = move || match record.value().get() {
        Some(Ok(DeskReply::Recorded {
            lead,
            created,
            order_outcome,
            order_duplicate,
        })) => Some((
            recorded_message(&lead, created, order_outcome.as_deref(), order_duplicate),
            lead.id,
        )),
        _ => None,
    };
    // Without JavaScript, a success comes back as `?recorded=ID` (the entry tops the list).
    let recorded_without_js = move || {
        (record.value().get().is_none() && !has_draft)
            .then(|| query.with(|q| q.get("recorded")))
            .flatten()
            .and_then(|id| id.parse::<i64>().ok())
    };
    let error = move || match record.value().get() {
        Some(Err(error)) => Some(view! { <ErrorNote error /> }),
        _ => None,
    };
    let selected_campaign = draft.campaign.clone();
    view! {
        {move || recorded().map(|(text, id)| view! {
            <p class="ok" role="status">
                {text}
                {can_view_leads.then(|| view! { " " <a href=format!("/admin/leads/{id}")>"Open the lead"</a> })}
            </p>
        })}
        {move || recorded_without_js().map(|id| view! {
            <p class="ok" role="status">
                "Recorded; it is at the top of your list below."
                {can_view_leads.then(|| view! { " " <a href=format!("/admin/leads/{id}")>"Open the lead"</a> })}
            </p>
        })}
        <ActionForm action=record node_ref=form attr:class="desk stacked">
            <label for="desk-campaign">"Campaign"</label>
            <select id="desk-campaign" name="campaign">
                {view.campaigns.iter().map(|(slug, name)| {
                    let is = *slug == selected_campaign;
                    view! { <option value=slug.clone() selected=is>{name.clone()}</option> }
                }).collect_view()}
            </select>
            <label for="desk-code">"Referral code"</label>
            <input id="desk-code" name="code" required autocomplete="off" autocapitalize="characters"
                spellcheck="false" aria-describedby="desk-code-hint" value=draft.code.clone()
                node_ref=code_input />
            <p id="desk-code-hint" class="hint">"As the customer said it: case, spaces and dashes do not matter, and O/0 or I/1 mix-ups are read right."</p>
            {move || confirm().map(|(code, referrer_name)| {
                let chosen = code.clone();
                view! {
                    <div class="confirm" role="alert">
                        <p>"That code is not quite right. Did you mean " <code class="code">{code.clone()}</code> ", " <strong>{referrer_name}</strong> "'s code?"</p>
                        <button type="submit" name="confirm" value=code
                            on:click=move |_| {
                                if let Some(input) = code_input.get() {
                                    input.set_value(&chosen);
                                }
                            }>
                            "Yes, record it for this code"
                        </button>
                        <p class="hint">"If not, correct the code above and record again."</p>
                    </div>
                }
            })}
            <label for="desk-name">"Friend's name"</label>
            <input id="desk-name" name="name" autocomplete="off" maxlength="200" value=draft.name.clone() />
            <label for="desk-email">"Friend's email"</label>
            <input id="desk-email" name="email" type="email" autocomplete="off" inputmode="email"
                aria-describedby="desk-contact-hint" value=draft.email.clone() />
            <label for="desk-phone">"or phone"</label>
            <input id="desk-phone" name="phone" type="tel" autocomplete="off" inputmode="tel"
                aria-describedby="desk-contact-hint" value=draft.phone.clone() />
            <p id="desk-contact-hint" class="hint">"An email or a phone number, so the same friend is not counted twice."</p>
            <label for="desk-note">"Note (optional)"</label>
            <textarea id="desk-note" name="note" rows="2" maxlength="1000">{draft.note.clone()}</textarea>
            <fieldset>
                <legend>"Order (optional)"</legend>
                <p class="hint">"If they bought, the order qualifies the referral now, once per order id."</p>
                <label for="desk-order">"Order id"</label>
                <input id="desk-order" name="order_id" autocomplete="off" maxlength="255" value=draft.order_id.clone() />
                <label for="desk-amount">"Amount"</label>
                <input id="desk-amount" name="amount" inputmode="decimal" autocomplete="off" placeholder="49.90" value=draft.amount.clone() />
                <label for="desk-currency">"Currency"</label>
                <input id="desk-currency" name="currency" maxlength="3" autocapitalize="characters" autocomplete="off" placeholder="USD" value=draft.currency.clone() />
            </fieldset>
            {error}
            <button type="submit">"Record referral"</button>
        </ActionForm>
    }
    .into_any()
}

/// The leads this admin recorded, newest first, with a link to older ones.
#[component]
fn Entries(page: crate::types::Page<Lead>) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="empty">"Nothing recorded yet."</p> }.into_any();
    }
    let next = page.next_cursor.map(|cursor| {
        format!(
            "/admin/sales?{}",
            serde_urlencoded_pairs(&[("after", cursor.to_string())])
        )
    });
    view! {
        <ul class="entries">
            {page.items.into_iter().map(|lead| view! {
                <li>
                    <strong>{friend_line(&lead)}</strong>
                    <span>" for " {lead.referrer_name.clone().unwrap_or_else(|| "nobody".into())}</span>
                    " " <span class=format!("badge {}", lead.status)>{lead.status.clone()}</span>
                    <br />
                    <small><time datetime=lead.created_at.to_rfc3339()>{short_time(&lead.created_at)}</time> " · " {lead.campaign.clone()}</small>
                </li>
            }).collect_view()}
        </ul>
        {next.map(|href| view! { <p><a href=href rel="next">"Older entries →"</a></p> })}
    }
    .into_any()
}
