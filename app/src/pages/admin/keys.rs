//! API keys: create (shown once) and revoke.

use leptos::prelude::*;

use crate::{
    api::keys::{CreateApiKey, RevokeApiKey, list_api_keys},
    components::{AdminPage, CopyText, action_error, load_error, use_hydrated},
};

/// `/admin/api-keys`.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let hydrated = use_hydrated();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    view! {
        <AdminPage title="API keys">
            <h1>"API keys"</h1>
            <p>"Keys authenticate the REST API (" <a href="/api/v1/docs">"reference"</a> "). A key is shown once; only its hash is stored."</p>
            <section class="card">
                <h2>"New key"</h2>
                // The new key is shown once, in the page's own state; without JavaScript there
                // is nowhere to show it, so the form appears only once the page is hydrated.
                <Show
                    when=move || hydrated.get()
                    fallback=|| view! {
                        <p class="hint">
                            "Creating keys here needs JavaScript (the key is shown only once). Without it, run "
                            <code>"handoff api-key create --name NAME"</code> " on the server."
                        </p>
                    }
                >
                    <ActionForm action=create>
                        <label for="key-name">"Key name"</label>
                        <input id="key-name" name="name" required maxlength="200" placeholder="Checkout integration" />
                        {action_error(create.value())}
                        {move || match create.value().get() {
                            Some(Ok(key)) => Some(view! {
                                <div class="ok" role="status">
                                    <p>"Copy this key now; it will not be shown again:"</p>
                                    <CopyText text=key />
                                </div>
                            }),
                            _ => None,
                        }}
                        <button type="submit">"Create key"</button>
                    </ActionForm>
                </Show>
            </section>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No API keys yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table>
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Starts with"</th><th scope="col">"State"</th><th scope="col">"Action"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|k| view! {
                                            <tr>
                                                <td>{k.name.clone()}</td>
                                                <td><code>{k.prefix.clone()}"…"</code></td>
                                                <td>{if k.revoked { "revoked" } else { "active" }}</td>
                                                <td>{(!k.revoked).then(|| view! {
                                                    <ActionForm action=revoke>
                                                        <input type="hidden" name="id" value=k.id.to_string() />
                                                        <button type="submit" class="danger">{format!("Revoke {}", k.name)}</button>
                                                    </ActionForm>
                                                })}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(error) => load_error(error),
                    }
                })}
            </Suspense>
        </AdminPage>
    }
}
