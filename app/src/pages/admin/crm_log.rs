//! What every CRM section of Integrations shows the same way: what the last form came to, the
//! queue's progress line and the sync log with "Send again".

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::crm::{ResendCrmRow, SyncLine, SyncProgress},
    components::{action_error, short_time},
    error::AppError,
};

/// The last answer of each form a CRM section has besides saving its credentials.
pub struct SectionActions {
    /// The CRM's own check (HubSpot's properties, Salesforce's connection check): a sentence.
    pub message: MappedSignal<Option<Result<String, AppError>>>,
    /// "Sync all now": how many were queued.
    pub queued: MappedSignal<Option<Result<u64, AppError>>>,
    /// "Disconnect".
    pub disconnected: MappedSignal<Option<Result<(), AppError>>>,
    /// "Send again".
    pub resent: MappedSignal<Option<Result<(), AppError>>>,
}

/// What the last form of the CRM called `crm` came to: with JavaScript from the actions'
/// answers, without it from the code its redirect put in the query (`?{crm in lowercase}=code`,
/// read through `notice`, never the query's own text); and each form's error.
#[component]
pub fn CrmNotices(
    crm: &'static str,
    actions: SectionActions,
    notice: fn(&str) -> Option<&'static str>,
) -> impl IntoView {
    let query = use_query_map();
    let key = crm.to_lowercase();
    let SectionActions {
        message,
        queued,
        disconnected,
        resent,
    } = actions;
    let text = move || -> Option<String> {
        if let Some(Ok(message)) = message.get() {
            return Some(message);
        }
        if let Some(Ok(queued)) = queued.get() {
            return Some(format!(
                "Queued {queued} referrers and leads for {crm}: the numbers below show the progress."
            ));
        }
        let code = if let Some(Ok(())) = disconnected.get() {
            "disconnected".to_owned()
        } else if let Some(Ok(())) = resent.get() {
            "resent".to_owned()
        } else {
            query.with(|q| q.get(&key))?
        };
        notice(&code).map(str::to_owned)
    };
    view! {
        {move || text().map(|text| view! { <p class="ok" role="status">{text}</p> })}
        {action_error(message)}
        {action_error(queued)}
        {action_error(resent)}
        {action_error(disconnected)}
    }
}

/// "12 synced, 3 waiting, 1 failed."
pub fn progress_line(progress: &SyncProgress) -> String {
    format!(
        "{} synced, {} waiting, {} failed.",
        progress.synced, progress.pending, progress.failed
    )
}

/// The sync log of the CRM called `crm`: the newest attempts with the CRM's answer, each with
/// "Send again".
#[component]
pub fn SyncLog(
    log: Vec<SyncLine>,
    crm: &'static str,
    resend: ServerAction<ResendCrmRow>,
) -> impl IntoView {
    let answer_heading = format!("{crm}'s answer");
    view! {
        <h3>"Sync log"</h3>
        {if log.is_empty() {
            view! { <p class="empty">"Nothing sent yet."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table>
                        <thead><tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Contact"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">{answer_heading.clone()}</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {log.into_iter().map(|line| {
                                let href = format!("/admin/{}s/{}", line.object_kind, line.object_id);
                                let what = format!("{} {}", if line.object_kind == "lead" { "Lead" } else { "Referrer" }, line.object_id);
                                let answer = match line.last_status {
                                    Some(status) => format!("HTTP {status} {}", line.reply),
                                    None => line.reply.clone(),
                                };
                                let status = if line.attempts > 0 && line.status == "pending" {
                                    format!("retrying ({} failed)", line.attempts)
                                } else {
                                    line.status.clone()
                                };
                                view! {
                                    <tr>
                                        <td data-label="When">{line.at.as_ref().map(short_time).unwrap_or_default()}</td>
                                        <td data-label="Contact"><a href=href>{what.clone()}</a></td>
                                        <td data-label="Status">{status}</td>
                                        <td data-label=answer_heading.clone()><code class="reply">{answer}</code></td>
                                        <td>
                                            <ActionForm action=resend>
                                                <input type="hidden" name="id" value=line.id.to_string() />
                                                <button type="submit" class="secondary">"Send again"<span class="visually-hidden">{format!(": {what}")}</span></button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}
