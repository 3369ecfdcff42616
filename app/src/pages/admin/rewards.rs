//! The Rewards tab: what is due, issuing it, and the CSV for a payout run.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{
        campaigns::list_campaigns,
        rewards::{IssueAllDueRewards, IssueReward, list_rewards},
    },
    components::{AdminPage, action_error, load_error},
    domain::rules::format_amount,
    pages::admin::referrers::serde_urlencoded_pairs,
    types::Reward,
};

/// The status filter's choices, the default first. `all` lists every status.
const STATUS_CHOICES: [(&str, &str); 5] = [
    ("due", "Due: ready to issue"),
    ("pending", "Pending: in hold"),
    ("issued", "Issued"),
    ("cancelled", "Cancelled"),
    ("all", "Any status"),
];

/// The status asked for in the URL: `due` when absent or empty.
fn status_param(param: Option<String>) -> String {
    param
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "due".to_owned())
}

/// The reward in words: the amount when it has one (with its description), else the
/// description; milestones say which.
pub fn reward_text(r: &Reward) -> String {
    let mut text = match r.amount_minor {
        Some(amount) => {
            let money = format_amount(amount, r.currency.as_deref());
            // A reward without a description of its own is described by its amount.
            if r.description.is_empty() || r.description == money {
                money
            } else {
                format!("{money} ({})", r.description)
            }
        }
        None if r.description.is_empty() => r.kind.clone(),
        None => r.description.clone(),
    };
    if r.milestone > 0 {
        text.push_str(&format!(", milestone {}", r.milestone));
    }
    text
}

/// What issuing `n` rewards did, in words.
fn issued_message(n: usize) -> String {
    match n {
        0 => "No rewards were due; nothing was issued.".to_owned(),
        1 => "1 reward issued.".to_owned(),
        n => format!("{n} rewards issued."),
    }
}

/// `/admin/rewards?status=&campaign=&after=` (`issued=N` after a form posted without JavaScript).
#[component]
pub fn RewardsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| {
            (
                q.get("campaign").filter(|s| !s.is_empty()),
                status_param(q.get("status")),
                q.get("after").and_then(|a| a.parse::<i64>().ok()),
            )
        })
    };
    let issue = ServerAction::<IssueReward>::new();
    let issue_all = ServerAction::<IssueAllDueRewards>::new();
    let rewards = Resource::new(
        move || (filter(), issue.version().get(), issue_all.version().get()),
        |((campaign, status, after), _, _)| {
            let status = (status != "all").then_some(status);
            list_rewards(campaign, status, after)
        },
    );
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    let notice = move || {
        if let Some(Ok(n)) = issue_all.value().get() {
            return Some(issued_message(n));
        }
        if let Some(Ok(r)) = issue.value().get() {
            let to = r.recipient_email.clone().unwrap_or(r.recipient.clone());
            return Some(format!("Issued {} to {to}.", reward_text(&r)));
        }
        let failed = issue.value().with(|v| matches!(v, Some(Err(_))))
            || issue_all.value().with(|v| matches!(v, Some(Err(_))));
        if failed {
            return None;
        }
        query
            .with(|q| q.get("issued"))
            .and_then(|n| n.parse::<usize>().ok())
            .map(issued_message)
    };
    view! {
        <AdminPage title="Rewards">
            <h1>"Rewards"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (campaign, status, _) = filter();
                    let campaigns = match campaigns.await {
                        Ok(list) => list,
                        Err(error) => return load_error(error),
                    };
                    let page = match rewards.await {
                        Ok(page) => page,
                        Err(error) => return load_error(error),
                    };
                    let campaign_name = |slug: &str| {
                        campaigns
                            .iter()
                            .find(|c| c.slug == slug)
                            .map(|c| c.name.clone())
                            .unwrap_or_else(|| slug.to_owned())
                    };
                    let scope = campaign
                        .as_deref()
                        .map(|slug| format!(" of {}", campaign_name(slug)))
                        .unwrap_or_default();
                    let mut pairs = Vec::new();
                    if let Some(c) = &campaign { pairs.push(("campaign", c.clone())); }
                    pairs.push(("status", status.clone()));
                    let next = page.next_cursor.map(|cursor| {
                        let mut q = pairs.clone();
                        q.push(("after", cursor.to_string()));
                        format!("/admin/rewards?{}", serde_urlencoded_pairs(&q))
                    });
                    // A payout run pays what is due; another status exports that status instead.
                    let export_status = if status == "all" { "due".to_owned() } else { status.clone() };
                    let mut export = vec![("status", export_status.clone())];
                    if let Some(c) = &campaign { export.push(("campaign", c.clone())); }
                    let export_href = format!("/admin/rewards/export.csv?{}", serde_urlencoded_pairs(&export));
                    let empty = page.items.is_empty();
                    let rows = page.items.into_iter().map(|r| {
                        let text = reward_text(&r);
                        let email = r.recipient_email.clone().unwrap_or_else(|| "—".to_owned());
                        let label = format!("Issue {text} to {email}");
                        view! {
                            <tr>
                                <td data-label="Recipient">{email.clone()}<br /><small>{r.recipient.clone()}</small></td>
                                <td data-label="Reward">{text}</td>
                                <td data-label="Campaign">{campaign_name(&r.campaign)}</td>
                                <td data-label="Lead">{r.lead_id.map(|id| {
                                    let label = r.lead_name.clone().unwrap_or_else(|| format!("Lead {id}"));
                                    view! { <a href=format!("/admin/leads/{id}")>{label}</a> }
                                })}</td>
                                <td data-label="Status">
                                    <span class=format!("badge {}", r.status)>{r.status.clone()}</span>
                                    {r.clawback.then(|| view! { <span class="badge clawback">"clawback"</span> })}
                                </td>
                                <td data-label="Due">{r.due_at.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td data-label="Cancel reason">{r.cancel_reason.clone().unwrap_or_else(|| "—".into())}</td>
                                <td data-label="Action">{(r.status == "due").then(|| view! {
                                    <ActionForm action=issue>
                                        <input type="hidden" name="id" value=r.id.to_string() />
                                        <button type="submit" class="secondary" aria-label=label>"Issue"</button>
                                    </ActionForm>
                                })}</td>
                            </tr>
                        }
                    }).collect_view();
                    view! {
                        <form method="get" class="filters" role="search">
                            <label for="filter-status">"Status"</label>
                            <select id="filter-status" name="status">
                                {STATUS_CHOICES.into_iter().map(|(value, text)| view! {
                                    <option value=value selected=status == value>{text}</option>
                                }).collect_view()}
                            </select>
                            <label for="filter-campaign">"Campaign"</label>
                            <select id="filter-campaign" name="campaign">
                                <option value="">"All campaigns"</option>
                                {campaigns.iter().map(|c| {
                                    let is = campaign.as_deref() == Some(c.slug.as_str());
                                    view! { <option value=c.slug.clone() selected=is>{c.name.clone()}</option> }
                                }).collect_view()}
                            </select>
                            <button type="submit">"Filter"</button>
                        </form>
                        <section class="card">
                            <h2>"Payout"</h2>
                            <p>
                                <a href=export_href download="rewards.csv">"Download CSV for payout"</a>
                                <br />
                                <small>{format!("All {export_status} rewards{scope}, oldest first, with recipient emails and amounts.")}</small>
                            </p>
                            <ActionForm action=issue_all>
                                <input type="hidden" name="campaign" value=campaign.clone().unwrap_or_default() />
                                <div class="check">
                                    <input id="confirm-issue-all" name="confirm" type="checkbox" value="on" required />
                                    <label for="confirm-issue-all">{format!("Every due reward{scope} has been paid: mark them all as issued")}</label>
                                </div>
                                {action_error(issue_all.value())}
                                <button type="submit">"Issue all due rewards"</button>
                            </ActionForm>
                        </section>
                        {action_error(issue.value())}
                        {move || notice().map(|text| view! { <p class="ok" role="status">{text}</p> })}
                        {if empty {
                            view! { <p class="empty">"No rewards match."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Recipient"</th>
                                                <th scope="col">"Reward"</th>
                                                <th scope="col">"Campaign"</th>
                                                <th scope="col">"Lead"</th>
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Due"</th>
                                                <th scope="col">"Cancel reason"</th>
                                                <th scope="col">"Action"</th>
                                            </tr>
                                        </thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                        {next.map(|href| view! { <p><a href=href rel="next">"Older rewards →"</a></p> })}
                    }
                        .into_any()
                })}
            </Suspense>
        </AdminPage>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reward() -> Reward {
        Reward {
            id: 1,
            campaign: "spring".into(),
            lead_id: Some(2),
            lead_name: Some("Sam".into()),
            referrer_id: Some(3),
            recipient: "referrer".into(),
            recipient_email: Some("ref@example.com".into()),
            kind: "fixed".into(),
            amount_minor: Some(1250),
            currency: Some("USD".into()),
            description: String::new(),
            status: "due".into(),
            milestone: 0,
            due_at: None,
            issued_at: None,
            cancel_reason: None,
            clawback: false,
            created_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        }
    }

    #[test]
    fn a_reward_reads_as_its_amount_or_its_description() {
        assert_eq!(reward_text(&reward()), "USD 12.50");
        let labelled = Reward {
            description: "USD 12.50".into(),
            ..reward()
        };
        assert_eq!(reward_text(&labelled), "USD 12.50");
        let described = Reward {
            description: "Store credit".into(),
            ..reward()
        };
        assert_eq!(reward_text(&described), "USD 12.50 (Store credit)");
        let custom = Reward {
            kind: "custom".into(),
            amount_minor: None,
            currency: None,
            description: "One month free".into(),
            milestone: 2,
            ..reward()
        };
        assert_eq!(reward_text(&custom), "One month free, milestone 2");
    }

    #[test]
    fn the_status_filter_defaults_to_due() {
        assert_eq!(status_param(None), "due");
        assert_eq!(status_param(Some(" ".into())), "due");
        assert_eq!(status_param(Some("issued".into())), "issued");
        assert_eq!(issued_message(1), "1 reward issued.");
        assert_eq!(issued_message(4), "4 rewards issued.");
    }
}
