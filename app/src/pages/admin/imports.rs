//! The Uploads tab: upload a conversions CSV, see what it would do (a preview that writes
//! nothing), import it, and the history of uploads.
//!
//! The file goes up in a plain multipart form post to `POST /admin/imports/upload` (an axum route
//! of the `server` crate), which keeps it, starts the preview and redirects to the upload's page,
//! with or without JavaScript. The upload's page follows a running preview or import: without
//! JavaScript it reloads itself every 2 seconds while one runs; with it, it asks every second.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{
        campaigns::list_campaigns,
        imports::{PreviewImport, RunImport, get_import, list_imports, take_upload_error},
    },
    components::{
        AdminPage, ErrorNote, RefusedRows, action_error, load_error, short_time, use_id_param,
    },
    pages::admin::referrers::serde_urlencoded_pairs,
    types::{ImportReport, ImportView},
};

/// Refused rows listed on the page; the CSV download has them all.
pub const SHOWN_ERRORS: usize = 200;

/// Whether a preview or an import is going on.
pub fn is_running(status: &str) -> bool {
    matches!(status, "previewing" | "running")
}

/// An upload's status in words.
pub fn status_text(status: &str) -> &'static str {
    match status {
        "uploaded" => "Uploaded, not previewed yet",
        "previewing" => "Previewing…",
        "previewed" => "Previewed: nothing is imported yet",
        "running" => "Importing…",
        "done" => "Imported",
        "failed" => "Stopped with an error",
        _ => "Unknown",
    }
}

/// How far a run got, in whole percent (0 for an empty file).
pub fn percent(done: i64, total: i64) -> i64 {
    if total <= 0 {
        return 0;
    }
    let done = done.clamp(0, total);
    // i128: a 2 GiB file times 100 is far from overflowing, but a bad row should not panic.
    (i128::from(done) * 100 / i128::from(total)) as i64
}

/// A file size for people: `512 bytes`, `12.3 KB`, `4.5 MB`.
pub fn file_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1000.0 {
        format!("{bytes} bytes")
    } else if b < 1_000_000.0 {
        format!("{:.1} KB", b / 1000.0)
    } else if b < 1_000_000_000.0 {
        format!("{:.1} MB", b / 1_000_000.0)
    } else {
        format!("{:.2} GB", b / 1_000_000_000.0)
    }
}

/// The event that rows without one count as, in words.
pub fn event_text(default_event: Option<&str>) -> String {
    match default_event {
        Some(event) => event.to_owned(),
        None => "the campaign's first qualifying event".to_owned(),
    }
}

/// The label of the button that imports `n` rows.
pub fn import_button_text(n: u64) -> String {
    match n {
        1 => "Import 1 row".to_owned(),
        n => format!("Import {n} rows"),
    }
}

/// The counts of a report, each with its label and what it means. A preview says what would
/// happen ("Will import"), an import what did.
pub fn report_counts(r: &ImportReport) -> Vec<(&'static str, u64, &'static str)> {
    let preview = r.dry_run;
    vec![
        ("Rows", r.rows, "Data rows read (blank lines not counted)."),
        (
            if preview { "Will import" } else { "Imported" },
            r.imported,
            "New conversion events.",
        ),
        (
            if preview { "Will qualify" } else { "Qualified" },
            r.qualified,
            "Leads that qualify with this row, earning their rewards.",
        ),
        (
            "Already qualified",
            r.already_qualified,
            "The lead had qualified before; the event is recorded, nothing more.",
        ),
        (
            "For review",
            r.review,
            "Leads that wait in the review queue for an admin's approval.",
        ),
        (
            "Ambiguous",
            r.ambiguous,
            "The code names another referrer than the one the lead was credited to first; the first keeps the credit.",
        ),
        (
            "Duplicates",
            r.duplicates,
            "Imported before (the same order id, or the very same row): skipped.",
        ),
        (
            "Unmatched",
            r.unmatched,
            "No known referral code, promotion code or lead email: not imported.",
        ),
        (
            "Invalid",
            r.invalid,
            "A value could not be read: not imported.",
        ),
    ]
}

/// `/admin/imports`: the upload form and the history. `?campaign=` preselects a campaign and
/// `?event=` fills in the event for rows without one (a refused upload comes back with both).
#[component]
pub fn ImportsPage() -> impl IntoView {
    let query = use_query_map();
    let chosen = move || query.with(|q| q.get("campaign").filter(|s| !s.is_empty()));
    let typed_event = move || query.with(|q| q.get("event")).unwrap_or_default();
    let imports = Resource::new(|| (), |_| list_imports());
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    let upload_error = Resource::new(|| (), |_| take_upload_error());
    let uploading = RwSignal::new(false);
    view! {
        <AdminPage title="Uploads">
            <h1>"Uploads"</h1>
            <p>"Upload conversions (orders, sign-ups, closed deals) exported from your shop, CRM or spreadsheet. Handoff previews every file first: nothing is written until you import it."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let campaigns = match campaigns.await {
                        Ok(list) => list,
                        Err(error) => return load_error(error),
                    };
                    let error = upload_error.await.ok().flatten();
                    let history = match imports.await {
                        Ok(list) => list,
                        Err(error) => return load_error(error),
                    };
                    let chosen = chosen();
                    let typed_event = typed_event();
                    let names: Vec<(String, String)> = campaigns.iter().map(|c| (c.slug.clone(), c.name.clone())).collect();
                    let no_campaigns = campaigns.is_empty();
                    view! {
                        <section class="card" aria-labelledby="upload-heading">
                            <h2 id="upload-heading">"Upload a CSV file"</h2>
                            {if no_campaigns {
                                view! { <p>"Create a " <a href="/admin/campaigns">"campaign"</a> " first: conversions count for a campaign."</p> }.into_any()
                            } else {
                                view! {
                                    // A plain form post: files this big never go through a server function.
                                    <form method="post" action="/admin/imports/upload" enctype="multipart/form-data"
                                        on:submit=move |_| uploading.set(true)>
                                        <label for="upload-campaign">"Campaign"</label>
                                        <select id="upload-campaign" name="campaign" required>
                                            {campaigns.iter().map(|c| {
                                                let is = chosen.as_deref() == Some(c.slug.as_str());
                                                view! { <option value=c.slug.clone() selected=is>{c.name.clone()}</option> }
                                            }).collect_view()}
                                        </select>
                                        <label for="upload-file">"CSV file"</label>
                                        <input id="upload-file" name="file" type="file" accept=".csv,text/csv,text/plain" required aria-describedby="upload-file-hint" />
                                        <p id="upload-file-hint" class="hint">
                                            "A header row, then one row per conversion: the email or the referral code (or both), and optionally amount, currency, event, date and order id. Any size."
                                        </p>
                                        <label for="upload-event">"Event name for rows without one"</label>
                                        <input id="upload-event" name="default_event" maxlength="80" value=typed_event
                                            placeholder="purchase" spellcheck="false" aria-describedby="upload-event-hint" />
                                        <p id="upload-event-hint" class="hint">
                                            "Optional. Rows without an event column, or with it empty, count as this event (like purchase or contract_signed). Empty: the campaign's first qualifying event."
                                        </p>
                                        {error.map(|error| view! { <ErrorNote error /> })}
                                        <button type="submit" aria-busy=move || uploading.get().then_some("true")>
                                            {move || if uploading.get() { "Uploading…" } else { "Upload and preview" }}
                                        </button>
                                    </form>
                                }.into_any()
                            }}
                        </section>
                        <h2>"History"</h2>
                        <ImportHistory history names />
                    }
                        .into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}

/// The last 50 uploads.
#[component]
fn ImportHistory(history: Vec<ImportView>, names: Vec<(String, String)>) -> impl IntoView {
    if history.is_empty() {
        return view! { <p class="empty">"No uploads yet."</p> }.into_any();
    }
    let name = move |slug: &str| {
        names
            .iter()
            .find(|(s, _)| s == slug)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| slug.to_owned())
    };
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"File"</th>
                        <th scope="col">"Campaign"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Rows"</th>
                        <th scope="col">"Imported"</th>
                        <th scope="col">"Refused"</th>
                        <th scope="col">"Uploaded"</th>
                    </tr>
                </thead>
                <tbody>
                    {history.into_iter().map(|i| {
                        let report = i.report.clone();
                        let count = |f: fn(&ImportReport) -> u64| report.as_ref().map(f).map(|n| n.to_string()).unwrap_or_else(|| "—".into());
                        // A preview's "imported" is what it would import: not imported yet.
                        let imported = if i.status == "done" { count(|r| r.imported) } else { "—".to_owned() };
                        view! {
                            <tr>
                                <td data-label="File"><a href=format!("/admin/imports/{}", i.id)>{i.filename.clone()}</a></td>
                                <td data-label="Campaign">{name(&i.campaign)}</td>
                                <td data-label="Status"><span class=format!("badge {}", i.status)>{i.status.clone()}</span></td>
                                <td data-label="Rows" class="num">{count(|r| r.rows)}</td>
                                <td data-label="Imported" class="num">{imported}</td>
                                <td data-label="Refused" class="num">{count(|r| r.unmatched + r.invalid)}</td>
                                <td data-label="Uploaded">{short_time(&i.created_at)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// `/admin/imports/:id`: the upload's progress, then its preview (with the button that imports
/// it) or its final report. `?started=` says a form posted without JavaScript started a run.
#[component]
pub fn ImportPage() -> impl IntoView {
    let query = use_query_map();
    let id = use_id_param();
    let preview = ServerAction::<PreviewImport>::new();
    let run = ServerAction::<RunImport>::new();
    let tick = RwSignal::new(0u64);
    let import = Resource::new(
        move || {
            (
                id(),
                tick.get(),
                preview.version().get(),
                run.version().get(),
            )
        },
        |(id, _, _, _)| get_import(id),
    );
    // With JavaScript: one timer for the page's life, which reloads the upload every second while
    // a run goes on. (Effects never run on the server.)
    Effect::new(move |_| {
        let poll = set_interval_with_handle(
            move || {
                let running = import
                    .try_get_untracked()
                    .flatten()
                    .is_some_and(|v| v.is_ok_and(|v| is_running(&v.status)));
                if running {
                    tick.try_update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(handle) = poll {
            on_cleanup(move || handle.clear());
        }
    });
    let started = move || {
        let from_action = [preview.value().get(), run.value().get()];
        if from_action.iter().any(|v| matches!(v, Some(Err(_)))) {
            return None;
        }
        if let Some(Some(Ok(()))) = from_action.iter().find(|v| v.is_some()) {
            return Some("Started.");
        }
        match query.with(|q| q.get("started")).as_deref() {
            Some("import") => Some("Import started."),
            Some("preview") => Some("Preview started."),
            _ => None,
        }
    };
    view! {
        <AdminPage title="Upload">
            <p><a href="/admin/imports">"← All uploads"</a></p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match import.await {
                        Ok(upload) => view! { <ImportDetail upload preview run /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Transition>
            {move || started().map(|text| view! { <p class="ok" role="status">{text}</p> })}
            {action_error(preview.value())}
            {action_error(run.value())}
        </AdminPage>
    }
}

/// The body of an upload's page.
#[component]
fn ImportDetail(
    upload: ImportView,
    preview: ServerAction<PreviewImport>,
    run: ServerAction<RunImport>,
) -> impl IntoView {
    let running = is_running(&upload.status);
    let id = upload.id.to_string();
    let campaign = upload.campaign.clone();
    let leads_href = format!(
        "/admin/leads?{}",
        serde_urlencoded_pairs(&[("campaign", campaign.clone())])
    );
    let rewards_href = format!(
        "/admin/rewards?{}",
        serde_urlencoded_pairs(&[("campaign", campaign.clone())])
    );
    let pct = percent(upload.bytes_done, upload.bytes_total);
    // The report of the last finished run; while a run goes on, only its progress is shown.
    let report = (!running).then(|| upload.report.clone()).flatten();
    let status = upload.status.clone();
    view! {
        <h1>{upload.filename.clone()}</h1>
        <dl class="facts">
            <dt>"Campaign"</dt><dd><a href=format!("/admin/campaigns/{}", upload.campaign)>{upload.campaign.clone()}</a></dd>
            <dt>"Status"</dt><dd><span class=format!("badge {}", upload.status)>{upload.status.clone()}</span> " " {status_text(&upload.status)}</dd>
            <dt>"Size"</dt><dd>{file_size(upload.bytes_total)}</dd>
            <dt>"Event for rows without one"</dt><dd>{event_text(upload.default_event.as_deref())}</dd>
            <dt>"Uploaded"</dt><dd>{short_time(&upload.created_at)}</dd>
            {upload.finished_at.map(|at| view! { <dt>"Last run ended"</dt><dd>{short_time(&at)}</dd> })}
        </dl>
        {running.then(|| view! {
            // Without JavaScript the page reloads itself while the run goes on; with it, the
            // noscript's content stays text and the page asks for news every second instead.
            <noscript inner_html=r#"<meta http-equiv="refresh" content="2">"#></noscript>
            <section class="card" aria-labelledby="progress-heading">
                <h2 id="progress-heading">{if upload.status == "running" { "Importing" } else { "Previewing" }}</h2>
                <label for="import-progress">{format!("{pct}% of {} read", file_size(upload.bytes_total))}</label>
                <progress id="import-progress" max="100" value=pct.to_string()>{format!("{pct}%")}</progress>
                <p class="hint">"This page follows the run; you may also leave it and come back."</p>
            </section>
        })}
        {(status == "failed").then(|| view! {
            <p class="error">"The last run stopped with an error (the details are in the server log). Rows imported before it stay imported, and running the file again skips them."</p>
        })}
        {report.map(|r| view! { <ReportView report=r id=id.clone() status=status.clone() run /> })}
        {(status == "done").then(|| view! {
            <p>
                "See the result in " <a href=leads_href>"Leads"</a> " (qualified and in-review leads) and "
                <a href=rewards_href>"Rewards"</a> " (what is due)."
            </p>
        })}
        {matches!(status.as_str(), "uploaded" | "failed").then(|| {
            let id = id.clone();
            view! {
                <ActionForm action=preview>
                    <input type="hidden" name="id" value=id />
                    <button type="submit" class="secondary">{if status == "failed" { "Preview again" } else { "Preview" }}</button>
                </ActionForm>
            }
        })}
    }
}

/// A preview's or an import's counts, the import button, and the refused rows.
#[component]
fn ReportView(
    report: ImportReport,
    id: String,
    status: String,
    run: ServerAction<RunImport>,
) -> impl IntoView {
    let preview = report.dry_run;
    let refused = report.unmatched + report.invalid;
    let listed = report.errors.len().min(SHOWN_ERRORS);
    let more = refused > listed as u64;
    let errors_href = format!("/admin/imports/{id}/errors.csv");
    let can_import = preview && status == "previewed";
    let to_import = report.imported;
    view! {
        <section class="card" aria-labelledby="report-heading">
            <h2 id="report-heading">{if preview { "Preview" } else { "Result" }}</h2>
            <p>{if preview {
                "What importing this file would do. Nothing has been written yet."
            } else {
                "What the import did."
            }}</p>
            <div class="table-wrap">
                <table class="counts">
                    <thead><tr><th scope="col">"What"</th><th scope="col">"Count"</th><th scope="col">"Meaning"</th></tr></thead>
                    <tbody>
                        {report_counts(&report).into_iter().map(|(label, n, meaning)| view! {
                            <tr><th scope="row">{label}</th><td class="num">{n.to_string()}</td><td>{meaning}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {can_import.then(|| {
                let id = id.clone();
                if to_import == 0 {
                    view! { <p>"No row of this file would be imported."</p> }.into_any()
                } else {
                    view! {
                        <ActionForm action=run>
                            <input type="hidden" name="id" value=id />
                            <button type="submit">{import_button_text(to_import)}</button>
                        </ActionForm>
                    }.into_any()
                }
            })}
        </section>
        {(refused > 0 || !report.errors.is_empty()).then(|| view! {
            <section aria-labelledby="refused-heading">
                <h2 id="refused-heading">"Refused rows"</h2>
                <p>
                    {if more {
                        format!("Showing the first {listed} of {refused} refused rows. ")
                    } else {
                        String::new()
                    }}
                    <a href=errors_href download="import-errors.csv">"Download all refused rows (CSV)"</a>
                </p>
                <RefusedRows errors={report.errors.iter().take(SHOWN_ERRORS).cloned().collect::<Vec<_>>()} />
            </section>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_a_whole_percentage_of_the_file() {
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(50, 200), 25);
        assert_eq!(percent(300, 200), 100);
        assert_eq!(percent(-5, 200), 0);
        assert_eq!(percent(i64::MAX - 1, i64::MAX), 99);
    }

    #[test]
    fn sizes_and_buttons_read_naturally() {
        assert_eq!(file_size(512), "512 bytes");
        assert_eq!(file_size(12_345), "12.3 KB");
        assert_eq!(file_size(4_500_000), "4.5 MB");
        assert_eq!(import_button_text(1), "Import 1 row");
        assert_eq!(import_button_text(1234), "Import 1234 rows");
        assert_eq!(event_text(Some("signup")), "signup");
        assert_eq!(event_text(None), "the campaign's first qualifying event");
    }

    #[test]
    fn only_previews_and_imports_are_running() {
        assert!(is_running("previewing"));
        assert!(is_running("running"));
        for s in ["uploaded", "previewed", "done", "failed"] {
            assert!(!is_running(s), "{s}");
            assert_ne!(status_text(s), "Unknown");
        }
    }

    #[test]
    fn a_preview_says_what_would_happen_and_an_import_what_did() {
        let report = ImportReport {
            dry_run: true,
            rows: 4,
            imported: 2,
            qualified: 2,
            invalid: 1,
            unmatched: 1,
            ..Default::default()
        };
        let counts = report_counts(&report);
        let labels: Vec<&str> = counts.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(
            labels,
            [
                "Rows",
                "Will import",
                "Will qualify",
                "Already qualified",
                "For review",
                "Ambiguous",
                "Duplicates",
                "Unmatched",
                "Invalid"
            ]
        );
        assert_eq!(counts[1].1, 2);
        assert_eq!(counts[8].1, 1);
        let done = ImportReport {
            dry_run: false,
            ..report
        };
        let counts = report_counts(&done);
        assert_eq!(counts[1].0, "Imported");
        assert_eq!(counts[2].0, "Qualified");
    }
}
