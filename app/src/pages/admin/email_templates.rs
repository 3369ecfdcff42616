//! `/admin/campaigns/:slug/emails`: the campaign's emails, one card per kind: subject and body
//! with placeholders, whether it goes out on its own, a preview with sample data (the saved text
//! without JavaScript; what is being typed with it), a test send to the admin, and a way back to
//! the built-in text.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::emails::{
        PreviewEmailTemplate, ResetEmailTemplate, SaveEmailTemplate, SendTestEmail,
        list_email_templates,
    },
    components::{AdminPage, ErrorNote, action_error, load_error},
    domain::emails::Placeholder,
    types::{EmailPreview, EmailTemplateView},
};

/// `/admin/campaigns/:slug/emails`.
#[component]
pub fn EmailTemplatesPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let save = ServerAction::<SaveEmailTemplate>::new();
    let reset = ServerAction::<ResetEmailTemplate>::new();
    let templates = Resource::new(
        move || (slug(), save.version().get(), reset.version().get()),
        |(slug, _, _)| list_email_templates(slug),
    );
    // Both actions are shared by every card (saving refetches the list), so remember which kind
    // was submitted last: only its card shows "Saved." or the error. Without JavaScript nothing
    // is remembered, and an error comes back in the address (`__err`): it is shown above the
    // cards.
    let submitted = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(input) = save.input().get() {
            submitted.set(Some(input.kind));
        }
    });
    Effect::new(move |_| {
        if let Some(input) = reset.input().get() {
            submitted.set(Some(input.kind));
        }
    });
    let placeholders: Vec<String> = Placeholder::ALL
        .iter()
        .map(|p| format!("{{{}}}", p.name()))
        .collect();
    view! {
        <AdminPage title="Emails">
            <p><a href=move || format!("/admin/campaigns/{}", slug())>"← Campaign"</a></p>
            <h1>"Emails of this campaign"</h1>
            <p class="hint">
                "Placeholders: " {placeholders.join(" ")}
                ". A value is put in as text: a name cannot add markup or placeholders."
            </p>
            {move || submitted.get().is_none().then(|| action_error(save.value()))}
            <Suspense fallback=|| view! { <p>"Loading emails…"</p> }>
                {move || Suspend::new(async move {
                    match templates.await {
                        Ok(list) => {
                            let slug = slug();
                            list.into_iter()
                                .map(|t| view! { <TemplateCard slug=slug.clone() template=t save reset submitted /> })
                                .collect_view()
                                .into_any()
                        }
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}

/// The preview of an email: the HTML part in a sandboxed frame (no scripts, no same-origin
/// access), then the text part.
#[component]
fn PreviewPane(preview: EmailPreview, label: String) -> impl IntoView {
    view! {
        <p><strong>"Subject: "</strong>{preview.subject}</p>
        <iframe class="email-frame" sandbox="" title=format!("Preview of the {label} email") srcdoc=preview.html></iframe>
        <details>
            <summary>"Plain-text part"</summary>
            <pre class="email-text">{preview.text}</pre>
        </details>
    }
}

/// One kind's form, preview, test send and reset.
#[component]
fn TemplateCard(
    slug: String,
    template: EmailTemplateView,
    save: ServerAction<SaveEmailTemplate>,
    reset: ServerAction<ResetEmailTemplate>,
    submitted: RwSignal<Option<String>>,
) -> impl IntoView {
    let query = use_query_map();
    let test = ServerAction::<SendTestEmail>::new();
    let live = ServerAction::<PreviewEmailTemplate>::new();
    let kind = template.kind.clone();
    let id = {
        let kind = template.kind.clone();
        move |field: &str| format!("{kind}-{field}")
    };
    let subject = RwSignal::new(template.subject.clone());
    let body = RwSignal::new(template.body.clone());
    let saved_preview = template.preview.clone();
    let label = template.label.clone();
    let (slug_live, kind_live) = (slug.clone(), kind.clone());
    let refresh = move || {
        live.dispatch(PreviewEmailTemplate {
            slug: slug_live.clone(),
            kind: kind_live.clone(),
            subject: subject.get_untracked(),
            body: body.get_untracked(),
        });
    };
    let refresh_subject = refresh.clone();
    let notice = {
        let kind = kind.clone();
        move |key: &str| query.with(|q| q.get(key).as_deref() == Some(kind.as_str()))
    };
    let (notice_saved, notice_tested, notice_reset) = (notice.clone(), notice.clone(), notice);
    let mine = {
        let kind = kind.clone();
        move || submitted.with(|s| s.as_deref() == Some(kind.as_str()))
    };
    let saved = {
        let mine = mine.clone();
        move || (mine() && matches!(save.value().get(), Some(Ok(())))) || notice_saved("saved")
    };
    let tested = move || {
        test.value()
            .get()
            .and_then(|r| r.ok())
            .map(|to| format!("Test sent to {to}."))
            .or_else(|| notice_tested("tested").then(|| "Test sent to you.".to_owned()))
    };
    let was_reset = {
        let mine = mine.clone();
        move || (mine() && matches!(reset.value().get(), Some(Ok(())))) || notice_reset("reset")
    };
    let save_error = move || match save.value().get() {
        Some(Err(error)) if mine() => Some(view! { <ErrorNote error /> }),
        _ => None,
    };
    let heading = format!("{}-heading", template.kind);
    let heading_ref = heading.clone();
    let (slug_save, kind_save) = (slug.clone(), kind.clone());
    let (slug_test, kind_test) = (slug.clone(), kind.clone());
    let (slug_reset, kind_reset) = (slug, kind);
    view! {
        <section class="card" aria-labelledby=heading_ref>
            <h2 id=heading>
                {template.label.clone()}
                {(!template.custom).then(|| view! { " " <span class="badge">"built-in text"</span> })}
            </h2>
            <div class="template-editor">
                <ActionForm action=save>
                    <input type="hidden" name="slug" value=slug_save />
                    <input type="hidden" name="kind" value=kind_save />
                    <label for=id("subject")>"Subject"</label>
                    <input id=id("subject") name="subject" maxlength="200" required
                        // `value` for the page as served; `prop:value` because a refetch (after
                        // "Back to the built-in text") patches this element in place, and the
                        // attribute no longer moves a field that has been typed into.
                        value=template.subject.clone() prop:value=template.subject.clone()
                        on:input=move |ev| { subject.set(event_target_value(&ev)); refresh_subject(); } />
                    <label for=id("body")>"Body"</label>
                    <textarea id=id("body") name="body" rows="10" maxlength="10000" required
                        prop:value=template.body.clone()
                        on:input=move |ev| { body.set(event_target_value(&ev)); refresh(); }>
                        {template.body.clone()}
                    </textarea>
                    {if template.can_turn_off {
                        view! {
                            <p class="check">
                                <input id=id("auto") name="auto_send" type="checkbox" checked=template.auto_send />
                                <label for=id("auto")>"Send on its own"</label>
                            </p>
                        }.into_any()
                    } else {
                        view! { <p class="hint">"Sent whenever a referrer asks to sign in; it cannot be turned off."</p> }.into_any()
                    }}
                    {save_error}
                    {move || saved().then(|| view! { <p class="ok" role="status">"Saved."</p> })}
                    {move || was_reset().then(|| view! { <p class="ok" role="status">"Back to the built-in text."</p> })}
                    <button type="submit">"Save"</button>
                </ActionForm>
                <div class="preview">
                    {move || match live.value().get() {
                        Some(Ok(p)) => view! { <PreviewPane preview=p label=label.clone() /> }.into_any(),
                        Some(Err(e)) => view! {
                            <p class="error" role="alert">{e.to_string()}</p>
                            <PreviewPane preview=saved_preview.clone() label=label.clone() />
                        }.into_any(),
                        None => view! { <PreviewPane preview=saved_preview.clone() label=label.clone() /> }.into_any(),
                    }}
                </div>
            </div>
            <div class="actions">
                // The test send takes what is typed (with JavaScript) or the saved text.
                <ActionForm action=test>
                    <input type="hidden" name="slug" value=slug_test />
                    <input type="hidden" name="kind" value=kind_test />
                    <input type="hidden" name="subject" value=move || subject.get() />
                    <input type="hidden" name="body" value=move || body.get() />
                    <button type="submit" class="secondary">"Send a test to me"</button>
                    {action_error(test.value())}
                    {move || tested().map(|t| view! { <p class="ok" role="status">{t}</p> })}
                </ActionForm>
                {template.custom.then(|| view! {
                    <ActionForm action=reset>
                        <input type="hidden" name="slug" value=slug_reset.clone() />
                        <input type="hidden" name="kind" value=kind_reset.clone() />
                        <button type="submit" class="secondary">"Back to the built-in text"</button>
                    </ActionForm>
                })}
            </div>
        </section>
    }
}
