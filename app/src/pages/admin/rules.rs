//! A campaign's rule book on its page: the rules in words, and a plain form to change them.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::campaigns::SaveCampaignRules,
    components::action_error,
    domain::{
        rules::{CampaignRules, RewardRule, format_amount, format_decimal},
        rules_form::{REWARD_ROWS, RewardForm, RulesForm, format_percent, reward_field},
    },
    error::AppError,
};

/// One reward rule as a sentence: "Referrer gets 10.00 USD per qualified lead, due 14 days after
/// qualifying."
pub fn describe_reward(r: &RewardRule) -> String {
    let what = match r.kind.as_str() {
        "fixed" => {
            let currency = r.currency.as_deref();
            let amount = format_decimal(r.amount_minor.unwrap_or(0), currency);
            match currency {
                Some(code) => format!("{amount} {code}"),
                None => amount,
            }
        }
        "percent" => {
            let pct = format!(
                "{}% of the conversion",
                format_percent(r.percent_bp.unwrap_or(0))
            );
            match r.cap_minor {
                Some(cap) => format!("{pct} (at most {})", format_amount(cap, None)),
                None => pct,
            }
        }
        _ => r.description.clone(),
    };
    let what = if r.kind != "custom" && !r.description.is_empty() {
        format!("{what} ({})", r.description)
    } else {
        what
    };
    let how_often = match (r.cadence.as_str(), r.milestone_every) {
        ("milestone", Some(n)) => format!("for every {n} qualified referrals"),
        _ => "per qualified lead".to_owned(),
    };
    let mut sentence = format!("{} gets {what} {how_often}", capitalized(&r.recipient));
    if let Some(max) = r.max_per_referrer {
        sentence.push_str(&format!(", at most {max} per referrer"));
    }
    sentence.push_str(&match r.hold_days {
        0 => ", due at once.".to_owned(),
        1 => ", due 1 day after qualifying.".to_owned(),
        n => format!(", due {n} days after qualifying."),
    });
    sentence
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The qualification rule in words, one sentence per fact.
pub fn describe_qualification(rules: &CampaignRules) -> Vec<String> {
    let q = &rules.qualification;
    let mut lines = vec![format!("Qualifies on: {}.", q.events.join(", "))];
    if let Some(min) = q.min_amount_minor {
        lines.push(match &q.min_amount_currency {
            Some(currency) => format!("Minimum amount: {}.", format_amount(min, Some(currency))),
            None => {
                let hint = crate::domain::rules_form::currency_hint(rules);
                format!(
                    "Minimum amount: {}, in any currency.",
                    format_decimal(min, hint.as_deref())
                )
            }
        });
    }
    if let Some(days) = q.window_days {
        lines.push(format!("Within {days} days of the lead."));
    }
    lines.push(if q.requires_approval {
        "An admin approves each qualification.".to_owned()
    } else {
        "Qualifies without approval (flagged leads still wait for review).".to_owned()
    });
    if q.refund_unqualifies {
        lines.push("A refund puts the lead back to pending.".to_owned());
    }
    if q.auto_issue {
        lines.push("Rewards are issued automatically when due.".to_owned());
    }
    lines
}

/// The save action's result, where errors come from.
type SaveResult = MappedSignal<Option<Result<CampaignRules, AppError>>>;

/// The message of the save's error when it is about `field`.
fn error_for(value: SaveResult, field: &str) -> Option<String> {
    value.with(|v| match v {
        Some(Err(AppError::Invalid {
            field: Some(f),
            message,
            ..
        })) if f == field => Some(message.clone()),
        _ => None,
    })
}

/// Counts the successful runs of `save`, for the page to reload the rules after each one.
/// Failed saves do not count, so they leave the form as the admin typed it, with the error
/// beside the field.
pub fn successful_saves(save: ServerAction<SaveCampaignRules>) -> Memo<usize> {
    Memo::new(move |previous: Option<&usize>| {
        let count = previous.copied().unwrap_or(0);
        match save.value().get() {
            Some(Ok(_)) => count + 1,
            _ => count,
        }
    })
}

/// The rules card of `/admin/campaigns/:slug`: the rules in words, then the editor. The page
/// reloads `rules` after each successful save (see [`successful_saves`]). `?saved=rules` says a
/// form posted without JavaScript was saved.
#[component]
pub fn RulesEditor(
    slug: String,
    rules: CampaignRules,
    save: ServerAction<SaveCampaignRules>,
) -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        let ok = match save.value().get() {
            Some(Ok(_)) => true,
            Some(Err(_)) => false,
            None => query.with(|q| q.get("saved")).as_deref() == Some("rules"),
        };
        ok.then(|| view! { <p class="ok" role="status">"Rules saved."</p> })
    };
    view! {
        <section class="card" aria-labelledby="rules-heading">
            <h2 id="rules-heading">"Qualification and rewards"</h2>
            <RulesSummary rules=rules.clone() />
            {notice}
            <RulesEditForm rules slug save />
        </section>
    }
}

/// The rules in words.
#[component]
fn RulesSummary(rules: CampaignRules) -> impl IntoView {
    let rewards = rules
        .rewards
        .iter()
        .map(describe_reward)
        .collect::<Vec<_>>();
    view! {
        <ul>
            {describe_qualification(&rules).into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
        </ul>
        {if rewards.is_empty() {
            view! { <p>"No rewards: qualified leads earn nothing."</p> }.into_any()
        } else {
            view! {
                <h3>"Rewards"</h3>
                <ul>{rewards.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
            }
                .into_any()
        }}
    }
}

/// The editor: one plain form for the qualification rule, the rewards the campaign has (up to
/// [`REWARD_ROWS`]) and one more to add.
#[component]
fn RulesEditForm(
    rules: CampaignRules,
    slug: String,
    save: ServerAction<SaveCampaignRules>,
) -> impl IntoView {
    let errors = save.value();
    let extra = rules.rewards.len().saturating_sub(REWARD_ROWS);
    let form = RulesForm::from_rules(&rules);
    let sentences: Vec<String> = rules
        .rewards
        .iter()
        .take(REWARD_ROWS)
        .map(describe_reward)
        .collect();
    // The row that adds a reward, and whether it opens by itself (a refused new reward comes
    // back open, with its error beside the field).
    let shown = sentences.len();
    let adding = move || {
        shown < REWARD_ROWS
            && matches!(errors.get(), Some(Err(AppError::Invalid { field: Some(ref f), .. })) if f.starts_with(&reward_field(shown, "")))
    };
    view! {
        <h3>"Change the rules"</h3>
        <ActionForm action=save>
            <input type="hidden" name="slug" value=slug />
            <fieldset>
                <legend>"When a referral qualifies"</legend>
                <div class="fields">
                    <TextField name="events".into() label="Qualifying events" value=form.events errors
                        hint="Comma-separated event names, like purchase, contract_signed." />
                    <TextField name="window_days".into() label="Window (days)" value=form.window_days errors
                        inputmode="numeric" hint="The event must come this many days after the lead at most. Empty: no limit." />
                    <TextField name="min_amount".into() label="Minimum amount" value=form.min_amount errors
                        inputmode="decimal" hint="Like 50.00. Empty: any amount." />
                    <TextField name="min_currency".into() label="Currency of the minimum" value=form.min_currency errors
                        maxlength="3" hint="Like USD: only amounts in this currency count toward the minimum. Empty: any currency." />
                </div>
                <CheckField name="requires_approval" label="An admin approves each qualification (leads wait in the review queue)" checked=form.requires_approval />
                <CheckField name="refund_unqualifies" label="A refund un-qualifies the lead and cancels rewards not yet issued" checked=form.refund_unqualifies />
                <CheckField name="auto_issue" label="Issue rewards automatically when they are due" checked=form.auto_issue />
            </fieldset>
            <p class="hint">"Each reward reads as a sentence above its fields. Set a reward's kind to “No reward” to remove it."</p>
            {form.rewards.into_iter().enumerate().map(|(row, reward)| {
                match sentences.get(row).cloned() {
                    // A reward the campaign has: its sentence, then its fields.
                    Some(sentence) => view! { <RewardRow row reward errors sentence=Some(sentence) /> }.into_any(),
                    // The first free row is "add a reward", folded away until opened (a
                    // `<details>`: no JavaScript needed, and its fields are sent either way,
                    // blank meaning no new reward). Further free rows are not shown.
                    None if row == shown => view! {
                        <details class="add-reward" open=adding>
                            <summary>"Add a reward"</summary>
                            <RewardRow row reward errors sentence=None />
                        </details>
                    }.into_any(),
                    None => view! { <RewardHidden row /> }.into_any(),
                }
            }).collect_view()}
            {(extra > 0).then(|| view! {
                <p class="hint">{format!("{extra} more reward(s), added through the REST API, are not shown here and are kept as they are.")}</p>
            })}
            {move || error_for(errors, "rewards").map(|m| view! { <p class="field-error">{m}</p> })}
            {action_error(errors)}
            <button type="submit">"Save rules"</button>
        </ActionForm>
    }
}

/// A free reward row past the one that adds a reward: sent blank (no reward), not shown.
#[component]
fn RewardHidden(row: usize) -> impl IntoView {
    view! { <input type="hidden" name=reward_field(row, "kind") value="" /> }
}

/// One reward row: its inputs are named `r{row}_...`; a reward the campaign has reads as
/// `sentence` above its fields.
#[component]
fn RewardRow(
    row: usize,
    reward: RewardForm,
    errors: SaveResult,
    sentence: Option<String>,
) -> impl IntoView {
    let name = |part: &str| reward_field(row, part);
    let legend = if sentence.is_some() {
        format!("Reward {}", row + 1)
    } else {
        "New reward".to_owned()
    };
    view! {
        <fieldset>
            <legend>{legend}</legend>
            {sentence.map(|s| view! { <p class="sentence">{s}</p> })}
            <div class="fields">
                <SelectField name=name("kind") label="Kind" value=reward.kind errors options=vec![
                    ("", "No reward"),
                    ("fixed", "Fixed amount"),
                    ("percent", "Percentage"),
                    ("custom", "Custom (in words)"),
                ] />
                <SelectField name=name("recipient") label="Recipient" value=reward.recipient errors options=vec![
                    ("referrer", "Referrer"),
                    ("friend", "Friend"),
                ] />
                <TextField name=name("amount") label="Amount" value=reward.amount errors inputmode="decimal" hint="Fixed amount, like 10.00." />
                <TextField name=name("currency") label="Currency" value=reward.currency errors maxlength="3" hint="Like USD." />
                <TextField name=name("percent") label="Percent" value=reward.percent errors inputmode="decimal" hint="Percent of the conversion, like 10 or 2.5." />
                <TextField name=name("cap") label="Cap" value=reward.cap errors inputmode="decimal" hint="Percentage: the most one reward may be. Empty: none." />
                <TextField name=name("description") label="Description" value=reward.description errors maxlength="200" hint="Required for custom, like One month free." />
                <SelectField name=name("cadence") label="Cadence" value=reward.cadence errors options=vec![
                    ("per_lead", "Every qualified lead"),
                    ("milestone", "Every N leads (milestone)"),
                ] />
                <TextField name=name("every") label="Every N referrals" value=reward.every errors inputmode="numeric" hint="Milestones only." />
                <TextField name=name("max") label="Most per referrer" value=reward.max errors inputmode="numeric" hint="Empty: no limit." />
                <TextField name=name("hold") label="Hold (days)" value=reward.hold errors inputmode="numeric" hint="Days before it is due, like a refund window." />
            </div>
        </fieldset>
    }
}

/// The `aria-describedby` of an input: its hint, and its error while there is one.
fn described_by(
    errors: SaveResult,
    name: String,
    hint_id: Option<String>,
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    move || {
        let mut ids: Vec<String> = hint_id.iter().cloned().collect();
        if error_for(errors, &name).is_some() {
            ids.push(format!("rules-{name}-error"));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// The field's error under it, while there is one.
fn field_error(errors: SaveResult, name: String) -> impl IntoView {
    move || {
        error_for(errors, &name).map(|message| {
            view! { <p class="field-error" id=format!("rules-{name}-error")>{message}</p> }
        })
    }
}

/// A labelled text input with an optional hint and its error.
#[component]
fn TextField(
    name: String,
    label: &'static str,
    value: String,
    errors: SaveResult,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] maxlength: Option<&'static str>,
) -> impl IntoView {
    let id = format!("rules-{name}");
    let hint_id = hint.map(|_| format!("rules-{name}-hint"));
    let invalid = {
        let name = name.clone();
        move || error_for(errors, &name).map(|_| "true")
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id name=name.clone() value=value inputmode=inputmode maxlength=maxlength
                aria-invalid=invalid aria-describedby=described_by(errors, name.clone(), hint_id.clone()) />
            {hint.map(|h| view! { <p id=hint_id class="hint">{h}</p> })}
            {field_error(errors, name)}
        </div>
    }
}

/// A labelled select with its error.
#[component]
fn SelectField(
    name: String,
    label: &'static str,
    value: String,
    errors: SaveResult,
    options: Vec<(&'static str, &'static str)>,
) -> impl IntoView {
    let id = format!("rules-{name}");
    let invalid = {
        let name = name.clone();
        move || error_for(errors, &name).map(|_| "true")
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name.clone() aria-invalid=invalid aria-describedby=described_by(errors, name.clone(), None)>
                {options.into_iter().map(|(v, text)| view! { <option value=v selected=value == v>{text}</option> }).collect_view()}
            </select>
            {field_error(errors, name)}
        </div>
    }
}

/// A checkbox with its label.
#[component]
fn CheckField(name: &'static str, label: &'static str, checked: bool) -> impl IntoView {
    let id = format!("rules-{name}");
    view! {
        <div class="check">
            <input id=id.clone() name=name type="checkbox" value="on" checked=checked />
            <label for=id>{label}</label>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_sentences() {
        let mut rules = CampaignRules::default();
        assert_eq!(
            describe_reward(&rules.rewards[0]),
            "Referrer gets Thank-you reward per qualified lead, due at once."
        );
        let mut fixed = rules.rewards[0].clone();
        fixed.kind = "fixed".into();
        fixed.amount_minor = Some(1000);
        fixed.currency = Some("USD".into());
        fixed.description = String::new();
        fixed.hold_days = 14;
        fixed.max_per_referrer = Some(5);
        assert_eq!(
            describe_reward(&fixed),
            "Referrer gets 10.00 USD per qualified lead, at most 5 per referrer, due 14 days after qualifying."
        );
        let mut pct = rules.rewards[0].clone();
        pct.kind = "percent".into();
        pct.recipient = "friend".into();
        pct.percent_bp = Some(250);
        pct.cap_minor = Some(2000);
        pct.description = String::new();
        assert_eq!(
            describe_reward(&pct),
            "Friend gets 2.5% of the conversion (at most 20.00) per qualified lead, due at once."
        );
        let mut milestone = fixed.clone();
        milestone.cadence = "milestone".into();
        milestone.milestone_every = Some(5);
        milestone.max_per_referrer = None;
        milestone.hold_days = 1;
        assert_eq!(
            describe_reward(&milestone),
            "Referrer gets 10.00 USD for every 5 qualified referrals, due 1 day after qualifying."
        );
        rules.rewards.push(fixed);
        rules.qualification.min_amount_minor = Some(5000);
        rules.qualification.requires_approval = true;
        let lines = describe_qualification(&rules);
        assert_eq!(lines[0], "Qualifies on: purchase.");
        assert_eq!(lines[1], "Minimum amount: 50.00, in any currency.");
        assert_eq!(lines[2], "An admin approves each qualification.");
        rules.qualification.min_amount_currency = Some("EUR".to_owned());
        assert_eq!(
            describe_qualification(&rules)[1],
            "Minimum amount: EUR 50.00."
        );
    }
}
