//! The referrer page's last two sections: merging another record of the same person into this
//! one, and (for owners) deleting the referrer, with what goes with it counted and their data
//! to download first.

use leptos::prelude::*;

use crate::{
    api::referrers::{DeleteReferrer, MergeReferrer},
    components::action_error,
    error::AppError,
    types::{Referrer, ReferrerFootprint},
};

/// "Merge a duplicate" and, for owners, "Delete". `footprint` answers "not allowed" for
/// anyone but an owner, and then the delete section is left out. (Both resources and actions
/// are made at the page's top: a resource made inside the admin frame's `Suspend` does not
/// hydrate reliably.)
#[component]
pub fn MergeAndDelete(
    referrer: Referrer,
    merge: ServerAction<MergeReferrer>,
    delete: ServerAction<DeleteReferrer>,
    footprint: Resource<Result<ReferrerFootprint, AppError>>,
) -> impl IntoView {
    let id = referrer.id;
    let name = referrer.name.clone();
    view! {
        <section class="card">
            <h2>"Merge a duplicate"</h2>
            <p>"When one person has two records in this campaign: everything of the other record (leads, clicks, rewards, emails) moves here, and its link and code go on crediting this referrer. The other record is removed."</p>
            <ActionForm action=merge>
                <input type="hidden" name="id" value=id.to_string() />
                <label for="merge-other">"The other record's email, code or number"</label>
                <input id="merge-other" name="other" required maxlength="254" autocomplete="off" />
                <div class="check">
                    <input id="merge-confirm" type="checkbox" name="confirm" value="yes" required />
                    <label for="merge-confirm">{format!("Merge it into {name} and remove it")}</label>
                </div>
                {action_error(merge.value())}
                <button type="submit" class="secondary">"Merge into this referrer"</button>
            </ActionForm>
        </section>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(counts) = footprint.await else {
                    return ().into_any();
                };
                view! {
                    <section class="card danger-zone">
                        <h2>"Delete"</h2>
                        <p>{format!("Deleting cannot be undone: {}.", counts.sentence())}</p>
                        <p><a href=format!("/admin/referrers/{id}/export.csv") download="">"Download everything about them (CSV)"</a>" first, to keep."</p>
                        <ActionForm action=delete>
                            <input type="hidden" name="id" value=id.to_string() />
                            <label for="delete-confirm">"Type their email to confirm"</label>
                            <input id="delete-confirm" name="confirm_email" type="email" required autocomplete="off" />
                            {action_error(delete.value())}
                            <button type="submit" class="danger">"Delete referrer"</button>
                        </ActionForm>
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}
