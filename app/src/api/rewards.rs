//! Reward server functions: the Rewards tab's list and its issue buttons.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{Page, Reward},
};

/// One page of the Rewards tab; `status` empty for every status.
#[server(prefix = "/rpc", endpoint = "rewards")]
pub async fn list_rewards(
    campaign: Option<String>,
    status: Option<String>,
    after: Option<i64>,
) -> Result<Page<Reward>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::rewards},
    };
    auth::require(Permission::ViewData).await?;
    let filter = crate::types::RewardFilter {
        campaign,
        status,
        after,
    };
    rewards::list(&auth::state()?, &filter).await
}

/// Marks one due reward as issued (paid out); any other status is refused.
#[server(prefix = "/rpc", endpoint = "reward_issue")]
pub async fn issue_reward(id: i64) -> Result<Reward, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, rewards},
        },
    };
    let admin = auth::require(Permission::IssueRewards).await?;
    let reward = rewards::issue(&auth::state()?, &Actor::admin(&admin), &[id])
        .await?
        .into_iter()
        .next()
        // Only when another admin issued it at the same moment.
        .ok_or_else(|| AppError::conflict("reward_not_due", "This reward is no longer due."))?;
    crate::api::redirect_back_with(&[("issued", "1")]);
    Ok(reward)
}

/// Marks every due reward (of `campaign`, or of all campaigns) as issued and returns how many.
/// `confirm` is the form's checkbox: a bulk action is never taken by an accidental click.
#[server(prefix = "/rpc", endpoint = "rewards_issue_all")]
pub async fn issue_all_due_rewards(
    campaign: Option<String>,
    confirm: Option<String>,
) -> Result<usize, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, rewards},
        },
    };
    let admin = auth::require(Permission::IssueRewards).await?;
    if confirm.is_none() {
        return Err(AppError::invalid(
            "confirmation_required",
            "confirm",
            "Tick the box to confirm that every due reward was paid.",
        ));
    }
    let count =
        rewards::issue_all_due(&auth::state()?, &Actor::admin(&admin), campaign.as_deref()).await?;
    crate::api::redirect_back_with(&[("issued", &count.to_string())]);
    Ok(count)
}
