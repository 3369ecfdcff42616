//! The login page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{api::auth::Login, components::action_error};

/// `/admin/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    view! {
        <Title text="Log in · Handoff" />
        <main class="narrow card">
            <h1>"Log in to Handoff"</h1>
            <ActionForm action=login>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                {action_error(login.value())}
                <button type="submit">"Log in"</button>
            </ActionForm>
        </main>
    }
}
