//! The Referrers tab's bulk add: a CSV file of referrers (name, email, and a code to keep),
//! previewed or added, and what came of it.

use leptos::prelude::*;

use crate::{
    api::referrers::REFERRER_IMPORT_ACTION,
    components::RefusedRows,
    domain::words::counted,
    error::AppError,
    types::{Campaign, ImportError, ReferrerImport, ReferrerImportReport},
};

/// The form (a plain multipart post to the server's upload route, so it works without
/// JavaScript) and, after a post, what it did. `outcome` is read from the session once, at the
/// page's top.
#[component]
pub fn BulkAdd(
    campaigns: Vec<Campaign>,
    chosen: Option<String>,
    outcome: Resource<Result<Option<ReferrerImport>, AppError>>,
) -> impl IntoView {
    let working = RwSignal::new(false);
    view! {
        <section class="card" aria-labelledby="bulk-add-heading">
            <h2 id="bulk-add-heading">"Add many from a CSV file"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    outcome.await.ok().flatten().map(|outcome| view! { <BulkAddResult outcome /> })
                })}
            </Suspense>
            <form method="post" action=REFERRER_IMPORT_ACTION enctype="multipart/form-data"
                aria-labelledby="bulk-add-heading" on:submit=move |_| working.set(true)>
                <label for="bulk-campaign">"Campaign"</label>
                <select id="bulk-campaign" name="campaign" required>
                    {campaigns.iter().map(|c| {
                        let is = chosen.as_deref() == Some(c.slug.as_str());
                        view! { <option value=c.slug.clone() selected=is>{c.name.clone()}</option> }
                    }).collect_view()}
                </select>
                <label for="bulk-file">"File"</label>
                <input id="bulk-file" name="file" type="file" accept=".csv,text/csv,text/plain" required aria-describedby="bulk-file-hint" />
                <p id="bulk-file-hint" class="hint">
                    "A header row, then one referrer per row: name (or first and last name), email, and a code if they already have printed ones to keep. Up to 10,000 rows. Referrers whose email the campaign has are left as they are. Preview checks every row and writes nothing."
                </p>
                <div class="check">
                    <input id="bulk-welcome" name="send_welcome" type="checkbox" value="yes" />
                    <label for="bulk-welcome">"Send each new referrer their link-and-code email"</label>
                </div>
                <button type="submit" class="secondary" name="dry_run" value="true">"Preview"</button>
                " "
                <button type="submit" aria-busy=move || working.get().then_some("true")>
                    {move || if working.get() { "Working…" } else { "Add referrers" }}
                </button>
            </form>
        </section>
    }
}

/// One sentence of what a file did (or would do).
fn summary(filename: &str, report: &ReferrerImportReport) -> String {
    let file = if filename.is_empty() {
        "The file".to_owned()
    } else {
        format!("“{filename}”")
    };
    let (added, verb) = if report.dry_run {
        ("would be added", "Preview of")
    } else {
        ("added", "Done with")
    };
    format!(
        "{verb} {file}: {} {added}, {} already there, {} refused.",
        counted(report.added as i64, "referrer", "referrers"),
        report.existing,
        report.refused
    )
}

/// What a bulk add did: its counts and its refused rows; or why the file was refused whole.
#[component]
fn BulkAddResult(outcome: ReferrerImport) -> impl IntoView {
    let report = match outcome.result {
        Ok(report) => report,
        Err(error) => {
            return view! {
                <p class="error" role="alert">{format!("The file was not read: {error}")}</p>
            }
            .into_any();
        }
    };
    let text = summary(&outcome.filename, &report);
    let download = format!(
        "data:text/csv;charset=utf-8,{}",
        percent_encoding::utf8_percent_encode(
            &ImportError::report_csv(&report.errors),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    let listed = report.errors.len();
    view! {
        <p class="ok" role="status">{text}</p>
        {(!report.errors.is_empty()).then(|| view! {
            <section aria-labelledby="bulk-refused-heading">
                <h3 id="bulk-refused-heading">"Refused rows"</h3>
                <p>
                    {if report.errors_truncated {
                        format!("The first {listed} of {} refused rows. ", report.refused)
                    } else {
                        String::new()
                    }}
                    "Nothing was written for them. Fix them and add the file again: referrers added already are left as they are."
                </p>
                <p><a href=download download="refused-referrers.csv">"Download the refused rows (CSV)"</a></p>
                <RefusedRows errors=report.errors />
            </section>
        })}
    }
    .into_any()
}
