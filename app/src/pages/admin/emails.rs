//! The Emails log: every email Handoff wrote, whether it was sent, the SMTP server's reply when
//! it failed, and a resend button; one email with both of its parts.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::emails::{
        ResendEmail, SaveEmailSender, email_sending, list_emails, load_email, load_email_sender,
    },
    components::{AdminPage, action_error, load_error, short_time, use_id_param},
    error::AppError,
    types::{EmailLine, EmailSenderSettings},
};

/// A table of emails (the log, and a referrer's history).
#[component]
pub fn EmailRows(emails: Vec<EmailLine>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Written"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"To"</th>
                        <th scope="col">"Subject"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Server's reply"</th>
                    </tr>
                </thead>
                <tbody>
                    {emails.into_iter().map(|e| view! {
                        <tr>
                            <td data-label="Written">{short_time(&e.created_at)}</td>
                            <td data-label="Kind">{e.kind.clone()}</td>
                            <td data-label="To">{e.to.clone()}</td>
                            <td data-label="Subject"><a href=format!("/admin/emails/{}", e.id)>{e.subject.clone()}</a></td>
                            <td data-label="Status">{match (e.status.as_str(), e.sent_at) {
                                ("sent", Some(at)) => format!("sent {}", short_time(&at)),
                                ("pending", _) if e.attempts > 0 => format!("retrying ({} tries)", e.attempts),
                                (status, _) => status.to_owned(),
                            }}</td>
                            <td data-label="Server's reply">{e.last_error.clone().unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Who emails come from and where replies go, for the whole installation (each campaign may name
/// its own sender and reply-to in its portal settings).
///
/// Its action and resource are made by the page: a resource made inside the admin frame's
/// `Suspend` does not hydrate reliably (the page would panic in the browser).
#[component]
fn SenderForm(
    save: ServerAction<SaveEmailSender>,
    current: Resource<Result<EmailSenderSettings, AppError>>,
) -> impl IntoView {
    let query = use_query_map();
    let saved = move || {
        matches!(save.value().get(), Some(Ok(())))
            || query.with(|q| q.get("saved").as_deref() == Some("sender"))
    };
    view! {
        <section class="card" aria-labelledby="sender-heading">
            <h2 id="sender-heading">"Sender"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(c) => {
                            let configured_reply_to = if c.configured_reply_to.is_empty() {
                                "none".to_owned()
                            } else {
                                c.configured_reply_to.clone()
                            };
                            view! {
                                <ActionForm action=save>
                                    <label for="sender-from">"Emails come from"</label>
                                    <input id="sender-from" name="from" maxlength="254" aria-describedby="sender-from-hint"
                                        placeholder=c.configured_from.clone() value=c.from.clone() prop:value=c.from.clone() />
                                    <p id="sender-from-hint" class="hint">
                                        {format!("Empty: the server's setting (HANDOFF_SMTP_FROM), now {}. Use an address your mail server may send for. Each campaign's emails carry its own name (set in its portal settings).", c.configured_from)}
                                    </p>
                                    <label for="sender-reply-to">"Replies go to"</label>
                                    <input id="sender-reply-to" name="reply_to" maxlength="254" aria-describedby="sender-reply-to-hint"
                                        placeholder="referrals@example.com" value=c.reply_to.clone() prop:value=c.reply_to.clone() />
                                    <p id="sender-reply-to-hint" class="hint">
                                        {format!("Empty: the server's setting (HANDOFF_SMTP_REPLY_TO), now {configured_reply_to}. A campaign may send its replies elsewhere.")}
                                    </p>
                                    {action_error(save.value())}
                                    {move || saved().then(|| view! { <p class="ok" role="status">"Sender saved."</p> })}
                                    <button type="submit">"Save sender"</button>
                                </ActionForm>
                            }.into_any()
                        }
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// `/admin/emails?status=&before=`.
#[component]
pub fn EmailsPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.with(|q| q.get("status").filter(|s| !s.is_empty()));
    let before = move || query.with(|q| q.get("before").and_then(|b| b.parse::<i64>().ok()));
    let emails = Resource::new(move || (status(), before()), |(s, b)| list_emails(s, b));
    let sending = Resource::new(|| (), |_| email_sending());
    let save_sender = ServerAction::<SaveEmailSender>::new();
    let sender = Resource::new(move || save_sender.version().get(), |_| load_email_sender());
    view! {
        <AdminPage title="Emails">
            <h1>"Emails"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    (sending.await == Ok(false)).then(|| view! {
                        <p class="error" role="status">"Mail is not being sent: no SMTP server is configured (HANDOFF_SMTP_URL). Emails are written and kept here; they go out once it is set."</p>
                    })
                })}
            </Suspense>
            <SenderForm save=save_sender current=sender />
            <h2>"Log"</h2>
            <form method="get" class="filters" role="search">
                <label for="email-status">"Status"</label>
                <select id="email-status" name="status">
                    <option value="">"All"</option>
                    <option value="pending">"Pending"</option>
                    <option value="sent">"Sent"</option>
                    <option value="failed">"Failed"</option>
                </select>
                <button type="submit">"Filter"</button>
            </form>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match emails.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No emails."</p> }.into_any(),
                        Ok(list) => {
                            let older = (list.len() == 100).then(|| list.last().map(|e| e.id)).flatten();
                            let status = status().unwrap_or_default();
                            view! {
                                <EmailRows emails=list />
                                {older.map(|id| view! {
                                    <p><a rel="next" href=format!("/admin/emails?status={status}&before={id}")>"Older emails →"</a></p>
                                })}
                            }.into_any()
                        }
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}

/// `/admin/emails/:id`: one email as it was sent, with a resend button.
#[component]
pub fn EmailPage() -> impl IntoView {
    let query = use_query_map();
    let id = use_id_param();
    let resend = ServerAction::<ResendEmail>::new();
    let email = Resource::new(
        move || (id(), resend.version().get()),
        |(id, _)| load_email(id),
    );
    view! {
        <AdminPage title="Email">
            <p><a href="/admin/emails">"← Emails"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let e = match email.await {
                        Ok(e) => e,
                        Err(error) => return load_error(error),
                    };
                    let resent = matches!(resend.value().get(), Some(Ok(())))
                        || query.with(|q| q.get("resent").is_some());
                    view! {
                        <h1>{e.line.subject.clone()}</h1>
                        <p>{format!("To {} · {} · {}", e.line.to, e.line.kind, e.line.status)}</p>
                        {e.line.last_error.clone().map(|err| view! { <p class="error">{format!("The server answered: {err}")}</p> })}
                        {resent.then(|| view! { <p class="ok" role="status">"It will be sent again in a moment."</p> })}
                        <ActionForm action=resend>
                            <input type="hidden" name="id" value=e.line.id.to_string() />
                            {action_error(resend.value())}
                            <button type="submit">"Send again"</button>
                        </ActionForm>
                        <h2>"HTML part"</h2>
                        // A sandbox without scripts, forms or same-origin access: the email is shown, never run.
                        <iframe class="email-preview" title="The email's HTML part" sandbox="" srcdoc=e.html.clone()></iframe>
                        <h2>"Text part"</h2>
                        <pre class="email-text">{e.text.clone()}</pre>
                    }
                    .into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}
