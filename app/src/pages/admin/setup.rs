//! First-run setup: create the owner account with the one-time link printed at start-up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::auth::{CompleteSetup, setup_token_valid},
    components::{ErrorNote, action_error},
};

/// `/admin/setup?token=...`.
#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token").unwrap_or_default());
    let valid = Resource::new(token, setup_token_valid);
    let setup = ServerAction::<CompleteSetup>::new();
    view! {
        <Title text="Set up · Handoff" />
        <main class="narrow card">
            <h1>"Welcome to Handoff"</h1>
            <Suspense fallback=|| view! { <p>"Checking your setup link…"</p> }>
                {move || Suspend::new(async move {
                    match valid.await {
                        Ok(true) => view! {
                            <p>"Create the owner account. You can add other admins later."</p>
                            <ActionForm action=setup>
                                <input type="hidden" name="token" value=token() />
                                <label for="email">"Email"</label>
                                <input id="email" name="email" type="email" autocomplete="username" required />
                                <label for="password">"Password"</label>
                                <input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required aria-describedby="password-hint" />
                                <p id="password-hint" class="hint">"At least 10 characters."</p>
                                {action_error(setup.value())}
                                <button type="submit">"Create owner account"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Ok(false) => view! {
                            <p class="error" role="alert">
                                "This setup link is invalid, expired or already used. "
                                "Restart the server for a new link, or run "
                                <code>"handoff admin create --email you@example.com"</code>"."
                            </p>
                            <p><a href="/admin/login">"Go to the login page"</a></p>
                        }
                        .into_any(),
                        Err(error) => view! { <ErrorNote error /> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
