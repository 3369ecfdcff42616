//! API keys: create (shown once) and revoke.

use leptos::prelude::*;

use crate::{
    api::keys::{CreateApiKey, RevokeApiKey, list_api_keys, take_new_api_key},
    components::{AdminPage, CopyText, action_error, load_error},
    domain::api_access::ApiAccess,
};

/// `/admin/api-keys`.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let fresh_key = Resource::new(move || create.version().get(), |_| take_new_api_key());
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
                <ActionForm action=create>
                    <label for="key-name">"Key name"</label>
                    <input id="key-name" name="name" required maxlength="200" placeholder="Checkout integration" />
                    <label for="key-access">"Access"</label>
                    <select id="key-access" name="access" aria-describedby="key-access-hint">
                        {ApiAccess::ALL.into_iter().map(|a| view! {
                            <option value=a.as_str() selected=a == ApiAccess::Full>{a.label()}</option>
                        }).collect_view()}
                    </select>
                    <p id="key-access-hint" class="hint">"Give an integration the least it needs: a checkout or CRM that reports sales needs only to record conversions (POST /api/v1/conversions and /api/v1/conversions/import); a dashboard needs only to read."</p>
                    {action_error(create.value())}
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            // With JavaScript the action returns the key; without it the form
                            // redirects back and the key comes from the session, once.
                            let from_action = match create.value().get() {
                                Some(Ok(key)) => Some(key),
                                _ => None,
                            };
                            let key = from_action.or(fresh_key.await.ok().flatten());
                            key.map(|key| view! {
                                <div class="ok" role="status">
                                    <p>"Copy this key now; it will not be shown again:"</p>
                                    <CopyText text=key />
                                </div>
                            })
                        })}
                    </Suspense>
                    <button type="submit">"Create key"</button>
                </ActionForm>
            </section>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No API keys yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table>
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Starts with"</th><th scope="col">"Access"</th><th scope="col">"State"</th><th scope="col">"Action"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|k| view! {
                                            <tr>
                                                <td data-label="Name">{k.name.clone()}</td>
                                                <td data-label="Starts with"><code>{k.prefix.clone()}"…"</code></td>
                                                <td data-label="Access">{k.access.clone()}</td>
                                                <td data-label="State">{if k.revoked { "revoked" } else { "active" }}</td>
                                                <td data-label="Action">{(!k.revoked).then(|| view! {
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
