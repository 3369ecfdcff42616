//! Stripe: the signing secret, the campaign for events attributed by email, promotion codes mapped
//! to referrers (one by one or from a file), and the event log.

use leptos::prelude::*;

use super::{Actions, campaign_options, inbound::InboundLog, ok_note, succeeded};
use crate::{
    api::integrations::{
        DeletePromotionCode, MAX_REPORTED_MAPPING_ERRORS, PROMOTION_CODE_IMPORT_ACTION,
        PROMOTION_CODES_SHOWN, PromotionCodeImport, PromotionCodeRow, ReplayInboundDelivery,
        STRIPE_EVENTS, stripe_deliveries,
    },
    components::{AdminPage, CopyText, RefusedRows, action_error, load_error},
    error::AppError,
    types::{Campaign, ImportError},
};

/// A mapping's name for people and for its Delete button: its id, else its code.
pub fn promotion_code_label(p: &PromotionCodeRow) -> String {
    p.promotion_code_id
        .clone()
        .or_else(|| p.code.clone())
        .unwrap_or_default()
}

/// The referrer a mapping credits, for people: `Name <email>`.
pub fn referrer_text(p: &PromotionCodeRow) -> String {
    match (&p.referrer_name, &p.referrer_email) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        _ => format!("Referrer {} (deleted)", p.referrer_id),
    }
}

/// What the promotion-code list shows: all of them, or how many of how many.
pub fn promotion_codes_caption(shown: usize, total: u64, search: Option<&str>) -> String {
    match search {
        Some(search) if total == 1 => format!("1 mapping matches “{search}”."),
        Some(search) if total as usize == shown => format!("{total} mappings match “{search}”."),
        Some(search) => {
            format!("Showing the newest {shown} of the {total} mappings that match “{search}”.")
        }
        None if total as usize == shown => match total {
            1 => "1 mapping.".to_owned(),
            n => format!("{n} mappings."),
        },
        None => format!(
            "Showing the newest {shown} of {total} mappings; find others by their id, code or referrer's email."
        ),
    }
}

/// Stripe: the endpoint URL, the signing secret, the campaign, promotion codes, the log.
#[component]
pub(super) fn StripeSection(
    stripe: crate::api::integrations::StripeSettings,
    campaigns: Vec<Campaign>,
    actions: Actions,
    search: Option<String>,
) -> impl IntoView {
    let secret = actions.secret;
    let campaign = actions.stripe_campaign;
    let promo = actions.promo;
    let secret_saved = succeeded(secret.value(), "saved", "stripe_secret");
    let campaign_saved = succeeded(campaign.value(), "saved", "stripe_campaign");
    let promo_saved = succeeded(promo.value(), "saved", "promotion_code");
    let choices = stripe.referrers.clone();
    let has_choices = !choices.is_empty();
    // The import form's own copies: the campaign form's children are closures that take theirs.
    let import_campaigns = campaigns.clone();
    let import_chosen = stripe.campaign.clone();
    let secret_state = match &stripe.secret_hint {
        Some(hint) => format!("Set, ending in {hint}."),
        None => "Not set: Stripe events are refused until it is.".to_owned(),
    };
    view! {
        <section class="card" id="stripe" aria-labelledby="stripe-heading">
            <h2 id="stripe-heading">"Stripe"</h2>
            <p>"In Stripe's dashboard (Developers, Webhooks), add an endpoint with this URL:"</p>
            <p class="secret"><CopyText text=stripe.endpoint_url.clone() /></p>
            <p>"and select these events: " {STRIPE_EVENTS.iter().enumerate().map(|(i, e)| view! {
                {if i > 0 { ", " } else { "" }}<code>{*e}</code>
            }).collect_view()} "."</p>

            <h3>"Signing secret"</h3>
            {stripe.secret_from_env.then(|| view! {
                <p class="notice">"The HANDOFF_STRIPE_WEBHOOK_SECRET environment variable is set: it is used instead of the secret saved here."</p>
            })}
            <p>{format!("Saved secret: {secret_state}")}</p>
            <ActionForm action=secret>
                <label for="stripe-secret">"Signing secret"</label>
                <input id="stripe-secret" name="secret" type="password" required autocomplete="off" placeholder="whsec_…" aria-describedby="stripe-secret-hint" />
                <p id="stripe-secret-hint" class="hint">"Shown in Stripe on the endpoint's page. It starts with whsec_."</p>
                {action_error(secret.value())}
                {ok_note("Signing secret saved.", secret_saved)}
                <button type="submit">"Save secret"</button>
            </ActionForm>

            <h3>"Campaign"</h3>
            <ActionForm action=campaign>
                <label for="stripe-campaign">"Campaign for Stripe events"</label>
                <select id="stripe-campaign" name="campaign" aria-describedby="stripe-campaign-hint">
                    <option value="" selected=stripe.campaign.is_none()>"None chosen"</option>
                    {campaign_options(&campaigns, stripe.campaign.as_deref())}
                </select>
                <p id="stripe-campaign-hint" class="hint">"A checkout or invoice with a referral code or promotion code Handoff knows counts for that code's own campaign. This campaign is for the rest: events that name only the customer's email (their metadata may also name a campaign, as campaign)."</p>
                {action_error(campaign.value())}
                {ok_note("Campaign saved.", campaign_saved)}
                <button type="submit">"Save campaign"</button>
            </ActionForm>

            <h3 id="promotion-codes">"Promotion codes"</h3>
            <p>"A customer who uses a referrer's Stripe promotion code is credited to that referrer."</p>
            <ActionForm action=promo>
                <div class="fields">
                    {(!choices.is_empty()).then(|| view! {
                        <div class="field">
                            <label for="promo-referrer">"Referrer"</label>
                            <select id="promo-referrer" name="referrer">
                                <option value="">"Choose…"</option>
                                {choices.into_iter().map(|(id, label)| view! {
                                    <option value=id.to_string()>{label}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    })}
                    <div class="field">
                        <label for="promo-referrer-id">{if has_choices { "Or referrer id" } else { "Referrer id" }}</label>
                        <input id="promo-referrer-id" name="referrer_id" inputmode="numeric" aria-describedby="promo-referrer-id-hint" />
                        <p id="promo-referrer-id-hint" class="hint">{if has_choices {
                            "A referrer of any campaign, by id (wins over the choice above)."
                        } else {
                            "A referrer of any campaign, by id. Choose the campaign for Stripe events to pick from its referrers instead."
                        }}</p>
                    </div>
                    <div class="field">
                        <label for="promo-id">"Promotion code id"</label>
                        <input id="promo-id" name="promotion_code_id" placeholder="promo_…" maxlength="255" />
                    </div>
                    <div class="field">
                        <label for="promo-code">"Code customers type"</label>
                        <input id="promo-code" name="code" placeholder="RHEA10" maxlength="255" />
                    </div>
                </div>
                {action_error(promo.value())}
                {ok_note("Promotion code mapped.", promo_saved)}
                <button type="submit">"Map promotion code"</button>
            </ActionForm>
            <PromotionCodeImportForm campaigns=import_campaigns chosen=import_chosen outcome=actions.promo_import />
            <PromotionCodeList
                rows=stripe.promotion_codes
                total=stripe.promotion_codes_total
                search
                delete=actions.delete_promo
            />
            <p><a href="/admin/integrations/stripe">"Stripe delivery log"</a>": every event Stripe sent, what came of it, and replay."</p>
        </section>
    }
}

/// The form that imports a CSV file of promotion-code mappings, and what the last one came to.
/// A plain multipart form post, with or without JavaScript: the route answers with a redirect
/// back here, and the outcome comes from the session, once.
#[component]
fn PromotionCodeImportForm(
    campaigns: Vec<Campaign>,
    chosen: Option<String>,
    outcome: Resource<Result<Option<PromotionCodeImport>, AppError>>,
) -> impl IntoView {
    let importing = RwSignal::new(false);
    view! {
        <h4 id="promo-import-heading">"Import mappings from a CSV file"</h4>
        <form method="post" action=PROMOTION_CODE_IMPORT_ACTION enctype="multipart/form-data"
            aria-labelledby="promo-import-heading" on:submit=move |_| importing.set(true)>
            <div class="fields">
                <div class="field">
                    <label for="promo-import-campaign">"Campaign of the referrers"</label>
                    <select id="promo-import-campaign" name="campaign" required>
                        {campaign_options(&campaigns, chosen.as_deref())}
                    </select>
                </div>
                <div class="field">
                    <label for="promo-import-file">"Mapping file"</label>
                    <input id="promo-import-file" name="file" type="file" accept=".csv,text/csv,text/plain" required aria-describedby="promo-import-file-hint" />
                </div>
            </div>
            <p id="promo-import-file-hint" class="hint">
                "A header row, then one row per promotion code: its id (promo_…) or the code customers type, or both, and the referrer's referral code or email. Stripe's promotion code export works once a referral code column is added. Rows mapped before are skipped, so importing the file again changes nothing. Preview reads the file and reports what an import would do, without writing."
            </p>
            <button type="submit" aria-busy=move || importing.get().then_some("true")>
                {move || if importing.get() { "Working…" } else { "Import mappings" }}
            </button>
            " "
            <button type="submit" class="secondary" name="dry_run" value="true">"Preview"</button>
        </form>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                outcome.await.ok().flatten().map(|outcome| view! { <PromotionCodeImportResult outcome /> })
            })}
        </Suspense>
    }
}

/// What a promotion-code file import did: its counts, and every refused row with its line,
/// column and reason; or why the file was refused as a whole.
#[component]
fn PromotionCodeImportResult(outcome: PromotionCodeImport) -> impl IntoView {
    let summary = outcome.summary();
    let campaign = outcome.campaign;
    let report = match outcome.result {
        Ok(report) => report,
        Err(error) => {
            let file = if outcome.filename.is_empty() {
                "The file".to_owned()
            } else {
                format!("“{}”", outcome.filename)
            };
            return view! {
                <p class="error" role="alert">{format!("{file} was not imported: {error}")}</p>
            }
            .into_any();
        }
    };
    let more = report.errors_truncated;
    let listed = report.errors.len();
    let advice = if report.dry_run {
        "An import would write nothing for them. Fix them, then preview or import the file again."
    } else {
        "Nothing was written for them. Fix them and import the file again: the rows mapped already are skipped."
    };
    // The refused rows as a file, in the page itself: a download that needs no JavaScript and
    // no second request.
    let download = format!(
        "data:text/csv;charset=utf-8,{}",
        percent_encoding::utf8_percent_encode(
            &ImportError::report_csv(&report.errors),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    view! {
        <p class="ok" role="status">{summary}</p>
        {(!report.errors.is_empty()).then(|| view! {
            <section aria-labelledby="promo-refused-heading">
                <h4 id="promo-refused-heading">"Refused rows"</h4>
                <p>
                    {if more {
                        format!("The first {listed} of {} refused rows. ", report.refused)
                    } else {
                        String::new()
                    }}
                    {advice}
                </p>
                <p>
                    <a href=download download="refused-promotion-codes.csv">
                        {if more {
                            format!("Download these {listed} refused rows (CSV)")
                        } else {
                            "Download the refused rows (CSV)".to_owned()
                        }}
                    </a>
                    {more.then(|| view! {
                        {format!(" A preview of the same file through the API (with a key of full access) lists up to {MAX_REPORTED_MAPPING_ERRORS} refused rows and writes nothing: ")}
                        <code>{format!("POST /api/v1/promotion-codes/import?campaign={campaign}&dry_run=true")}</code>
                        "."
                    })}
                </p>
                <RefusedRows errors=report.errors />
            </section>
        })}
    }
    .into_any()
}

/// The promotion-code mappings (the newest, or those searched for), each with a Delete button.
#[component]
fn PromotionCodeList(
    rows: Vec<PromotionCodeRow>,
    total: u64,
    search: Option<String>,
    delete: ServerAction<DeletePromotionCode>,
) -> impl IntoView {
    let deleted = succeeded(delete.value(), "deleted", "promotion_code");
    let caption = promotion_codes_caption(rows.len(), total, search.as_deref());
    let searching = search.is_some();
    // Worth a search box once the list is cut short (or while searching).
    let search_box = (searching || total > PROMOTION_CODES_SHOWN).then(|| {
        view! {
            <form method="get" action="/admin/integrations#promo-list-heading" role="search" aria-label="Promotion codes">
                <label for="promo-search">"Find a promotion code"</label>
                <input id="promo-search" name="promo" type="search" value=search.clone().unwrap_or_default()
                    placeholder="promo_…, a code or a referrer's email" aria-describedby="promo-search-hint" />
                <p id="promo-search-hint" class="hint">"By the start of its id, its code or its referrer's email."</p>
                <button type="submit" class="secondary">"Find"</button>
                {searching.then(|| view! { " " <a href="/admin/integrations#promo-list-heading">"Show all"</a> })}
            </form>
        }
    });
    view! {
        <h4 id="promo-list-heading">"Mapped promotion codes"</h4>
        {ok_note("Promotion code mapping deleted.", deleted)}
        {action_error(delete.value())}
        {search_box}
        {if rows.is_empty() {
            let empty = if searching { "No promotion code matches." } else { "No promotion codes mapped yet." };
            view! { <p class="empty">{empty}</p> }.into_any()
        } else {
            view! {
                <p>{caption}</p>
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Promotion code id"</th>
                                <th scope="col">"Code"</th>
                                <th scope="col">"Referrer"</th>
                                <th scope="col">"Campaign"</th>
                                <th scope="col">"Action"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows.into_iter().map(|p| {
                                let label = format!("Delete promotion code {}", promotion_code_label(&p));
                                let referrer = referrer_text(&p);
                                view! {
                                    <tr>
                                        <td data-label="Promotion code id">{p.promotion_code_id.map(|i| view! { <code>{i}</code> })}</td>
                                        <td data-label="Code">{p.code.map(|c| view! { <code>{c}</code> })}</td>
                                        <td data-label="Referrer">
                                            {referrer}
                                            {p.referrer_code.map(|c| view! { <br /><small>"Code " <code>{c}</code></small> })}
                                        </td>
                                        <td data-label="Campaign">{p.campaign}</td>
                                        <td data-label="Action">
                                            <ActionForm action=delete>
                                                <input type="hidden" name="id" value=p.id.to_string() />
                                                <button type="submit" class="danger" aria-label=label>"Delete"</button>
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

/// `/admin/integrations/stripe`: Stripe's delivery log.
#[component]
pub fn StripeLogPage() -> impl IntoView {
    let replay = ServerAction::<ReplayInboundDelivery>::new();
    let log = Resource::new(move || replay.version().get(), |_| stripe_deliveries());
    view! {
        <AdminPage title="Stripe delivery log">
            <p><a href="/admin/integrations#stripe">"← Integrations"</a></p>
            <h1>"Stripe delivery log"</h1>
            <p>"The last 100 events Stripe sent, newest first. Replay one after fixing what it needed (the campaign, a promotion code)."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(deliveries) => view! { <InboundLog deliveries replay /> }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}
