//! The sales desk's server functions. Each needs the `RecordLeads` permission (owner, admin,
//! sales); a sales rep sees only the leads they recorded.

// Flat arguments: they travel as a plain form.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{DeskReply, DeskView, Lead, Page},
};

/// Session key of the entry a plain form post left to show again, with its "did you mean".
#[cfg(feature = "ssr")]
const DRAFT_KEY: &str = "sales_desk_draft";

/// What a plain form post keeps for the page it redirects to.
#[cfg(feature = "ssr")]
type Draft = (crate::types::DeskEntry, Option<(String, String)>);

/// The desk: the campaigns taking referrals and, once, what the last plain form post typed
/// (after a refusal or a "did you mean", so the rep does not type it all again).
#[server(prefix = "/rpc", endpoint = "sales_desk")]
pub async fn sales_desk() -> Result<DeskView, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::sales},
    };
    let admin = auth::require(Permission::RecordLeads).await?;
    let state = auth::state()?;
    let kept: Option<Draft> = auth::session()
        .await?
        .remove(DRAFT_KEY)
        .await
        .map_err(|e| AppError::internal("sales_desk draft", e))?;
    let (draft, confirm) = match kept {
        Some((draft, confirm)) => (Some(draft), confirm),
        None => (None, None),
    };
    Ok(DeskView {
        campaigns: sales::desk_campaigns(&state).await?,
        draft,
        confirm,
        can_view_leads: admin.role.allows(Permission::ViewData),
    })
}

/// The leads the signed-in admin recorded at the desk, newest first.
#[server(prefix = "/rpc", endpoint = "sales_entries")]
pub async fn sales_entries(after: Option<i64>) -> Result<Page<Lead>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::sales},
    };
    let admin = auth::require(Permission::RecordLeads).await?;
    sales::entries_of(&auth::state()?, &admin, after).await
}

/// Records a referral from a call or a visit. `confirm` is the code of a "did you mean" the rep
/// accepted; it replaces the code typed.
#[server(prefix = "/rpc", endpoint = "sales_record")]
pub async fn record_referral(
    campaign: String,
    code: String,
    name: String,
    email: String,
    phone: String,
    note: String,
    order_id: String,
    amount: String,
    currency: String,
    confirm: Option<String>,
) -> Result<DeskReply, AppError> {
    use crate::{
        api::{is_plain_form_post, redirect_back_with},
        domain::roles::Permission,
        ssr::{auth, services::sales},
        types::DeskEntry,
    };
    let admin = auth::require(Permission::RecordLeads).await?;
    let entry = DeskEntry {
        campaign,
        code: confirm.filter(|c| !c.trim().is_empty()).unwrap_or(code),
        name,
        email,
        phone,
        note,
        order_id,
        amount,
        currency,
    };
    let reply = sales::desk_record(&auth::state()?, &admin, &entry).await;
    if is_plain_form_post() {
        // Without JavaScript the page is rendered again after a redirect: keep what was typed
        // unless it was recorded.
        let session = auth::session().await?;
        let kept: Option<Draft> = match &reply {
            Ok(DeskReply::Recorded { .. }) => None,
            Ok(DeskReply::Confirm {
                code,
                referrer_name,
            }) => Some((entry, Some((code.clone(), referrer_name.clone())))),
            Err(_) => Some((entry, None)),
        };
        match kept {
            Some(draft) => session.insert(DRAFT_KEY, draft).await,
            None => session.remove::<Draft>(DRAFT_KEY).await.map(|_| ()),
        }
        .map_err(|e| AppError::internal("record_referral draft", e))?;
        match &reply {
            Ok(DeskReply::Recorded { lead, .. }) => {
                redirect_back_with(&[("recorded", &lead.id.to_string())]);
            }
            Ok(DeskReply::Confirm { .. }) => redirect_back_with(&[("recorded", "")]),
            Err(_) => {}
        }
    }
    reply
}
