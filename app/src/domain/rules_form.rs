//! A campaign's rule book as the admin's plain HTML form holds it: strings in, [`CampaignRules`]
//! out, and back again to fill the form.
//!
//! People type amounts in major units (`12.50`), percentages as percent (`2.5`) and events as a
//! comma-separated list; the rule book stores minor units, basis points and a list. This is the
//! one place that converts between the two. Every error names the *form field* at fault
//! (`min_amount`, `r1_amount`), never the rule book's path, so the page can show it beside that
//! field; validation errors of [`CampaignRules::validated`] are mapped to form fields too.

use super::rules::{CampaignRules, QualificationRule, RewardRule, currency_exponent};

/// How many reward rows the form has; the last blank one is how an admin adds a reward.
pub const REWARD_ROWS: usize = 3;

/// The qualification rule and reward rows, exactly as the form posts them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RulesForm {
    /// Qualifying events, comma-separated.
    pub events: String,
    /// Smallest qualifying amount in major units; empty for any amount.
    pub min_amount: String,
    /// Currency of the minimum: only tells how many decimals it has (two when empty).
    pub min_currency: String,
    /// Days after the lead's creation; empty for no limit.
    pub window_days: String,
    /// An admin approves each qualification.
    pub requires_approval: bool,
    /// A refund puts the lead back to pending.
    pub refund_unqualifies: bool,
    /// Rewards are issued as soon as they are due.
    pub auto_issue: bool,
    /// The reward rows, in order.
    pub rewards: Vec<RewardForm>,
}

/// One reward row of the form. A row whose `kind` is empty ("No reward") is skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewardForm {
    /// `fixed`, `percent`, `custom`, or empty for no reward.
    pub kind: String,
    /// `referrer` or `friend`.
    pub recipient: String,
    /// For `fixed`: the amount in major units.
    pub amount: String,
    /// For `fixed`: the currency; for `percent`, only the decimals of the cap.
    pub currency: String,
    /// For `percent`: percent of the conversion (`10`, `2.5`).
    pub percent: String,
    /// For `percent`: the most one reward may be, in major units; empty for no cap.
    pub cap: String,
    /// What the reward is, in words.
    pub description: String,
    /// `per_lead` or `milestone`.
    pub cadence: String,
    /// For `milestone`: every this many qualified referrals.
    pub every: String,
    /// The most rewards of this row one referrer may earn; empty for no limit.
    pub max: String,
    /// Days the reward is held before it is due; empty for none.
    pub hold: String,
}

/// Why the form could not become a rule book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormError {
    /// The form field at fault (`events`, `r0_amount`...), or `rewards` for the rows as a whole.
    pub field: String,
    /// A sentence for a person.
    pub message: String,
}

fn form_error(field: impl Into<String>, message: impl Into<String>) -> FormError {
    FormError {
        field: field.into(),
        message: message.into(),
    }
}

/// The name of reward row `row`'s input `part`: `r0_amount`.
pub fn reward_field(row: usize, part: &str) -> String {
    format!("r{row}_{part}")
}

/// The currency whose decimals amounts without a currency of their own are shown in: the
/// minimum's, else the first fixed reward's.
pub fn currency_hint(rules: &CampaignRules) -> Option<String> {
    rules.qualification.min_amount_currency.clone().or_else(|| {
        rules
            .rewards
            .iter()
            .find(|r| r.kind == "fixed")
            .and_then(|r| r.currency.clone())
    })
}

/// Reads an amount in major units (`12`, `12.5`, `12,50`) as minor units of `currency` (two
/// decimals when empty or unknown). Empty is `None`.
pub fn parse_major(text: &str, currency: &str) -> Result<Option<i64>, String> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if text.is_empty() {
        return Ok(None);
    }
    let exponent = currency_exponent(&currency.trim().to_ascii_uppercase());
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (text.as_str(), ""),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err("Write the amount as a number, like 12.50.".to_owned());
    }
    if fraction.len() > exponent as usize {
        return Err(if exponent == 0 {
            "This currency has no decimals; write a whole number.".to_owned()
        } else {
            format!("At most {exponent} decimals.")
        });
    }
    let unit = 10i64.pow(exponent);
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "That amount is too large.")?
    };
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        let scale = 10i64.pow(exponent - fraction.len() as u32);
        fraction
            .parse::<i64>()
            .map_err(|_| "That amount is too large.")?
            * scale
    };
    whole
        .checked_mul(unit)
        .and_then(|w| w.checked_add(fraction))
        .map(Some)
        .ok_or_else(|| "That amount is too large.".to_owned())
}

/// Minor units as major units for an input: `1250` in USD is `12.50`.
pub fn format_major(minor: i64, currency: &str) -> String {
    let exponent = currency_exponent(&currency.trim().to_ascii_uppercase());
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs}");
    }
    let unit = 10u64.pow(exponent);
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = exponent as usize
    )
}

/// Reads a percentage (`10`, `2.5`, `0.01`) as basis points. Empty is `None`.
pub fn parse_percent(text: &str) -> Result<Option<u32>, String> {
    let bp = parse_major(text, "")
        .map_err(|_| "Write the percentage as a number, like 10 or 2.5.".to_owned())?;
    bp.map(|bp| u32::try_from(bp).map_err(|_| "At most 100%.".to_owned()))
        .transpose()
}

/// Basis points as a percentage for an input: `1000` is `10`, `250` is `2.5`.
pub fn format_percent(bp: u32) -> String {
    let text = format!("{}.{:02}", bp / 100, bp % 100);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn parse_count(text: &str, field: &str, what: &str) -> Result<Option<u32>, FormError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u32>()
        .map(Some)
        .map_err(|_| form_error(field, format!("Write {what} as a whole number, like 30.")))
}

impl RulesForm {
    /// The form filled with `rules`: its first [`REWARD_ROWS`] rewards, then blank rows up to
    /// that many. Amounts without a currency of their own use `currency_hint`'s decimals.
    pub fn from_rules(rules: &CampaignRules) -> RulesForm {
        let hint = currency_hint(rules).unwrap_or_default();
        let q = &rules.qualification;
        let mut rewards: Vec<RewardForm> = rules
            .rewards
            .iter()
            .take(REWARD_ROWS)
            .map(|r| {
                let currency = r.currency.clone().unwrap_or_else(|| hint.clone());
                RewardForm {
                    kind: r.kind.clone(),
                    recipient: r.recipient.clone(),
                    amount: r
                        .amount_minor
                        .map(|a| format_major(a, &currency))
                        .unwrap_or_default(),
                    percent: r.percent_bp.map(format_percent).unwrap_or_default(),
                    cap: r
                        .cap_minor
                        .map(|c| format_major(c, &currency))
                        .unwrap_or_default(),
                    currency,
                    description: r.description.clone(),
                    cadence: r.cadence.clone(),
                    every: r.milestone_every.map(|n| n.to_string()).unwrap_or_default(),
                    max: r
                        .max_per_referrer
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    hold: if r.hold_days == 0 {
                        String::new()
                    } else {
                        r.hold_days.to_string()
                    },
                }
            })
            .collect();
        while rewards.len() < REWARD_ROWS {
            rewards.push(RewardForm::blank());
        }
        RulesForm {
            events: q.events.join(", "),
            min_amount: q
                .min_amount_minor
                .map(|m| format_major(m, &hint))
                .unwrap_or_default(),
            // Only a currency the minimum really has: the hint (a reward's currency) only sets
            // how amounts are written, and shown here it would read as a condition.
            min_currency: q.min_amount_currency.clone().unwrap_or_default(),
            window_days: q.window_days.map(|d| d.to_string()).unwrap_or_default(),
            requires_approval: q.requires_approval,
            refund_unqualifies: q.refund_unqualifies,
            auto_issue: q.auto_issue,
            rewards,
        }
    }

    /// The rule book this form describes, checked by [`CampaignRules::validated`] (and tidied
    /// by it). `extra` rewards (those beyond the form's rows) are kept after the form's.
    pub fn to_rules(&self, extra: &[RewardRule]) -> Result<CampaignRules, FormError> {
        let events: Vec<String> = self
            .events
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        let min_amount_minor = parse_major(&self.min_amount, &self.min_currency)
            .map_err(|m| form_error("min_amount", m))?;
        let window_days = parse_count(&self.window_days, "window_days", "the window")?;
        // Which form row each reward of the rule book came from, to name fields in errors.
        let mut rows = Vec::new();
        let mut rewards = Vec::new();
        for (i, row) in self.rewards.iter().enumerate() {
            if let Some(rule) = row.to_rule(i, &self.min_currency)? {
                rows.push(i);
                rewards.push(rule);
            }
        }
        rewards.extend(extra.iter().cloned());
        let rules = CampaignRules {
            qualification: QualificationRule {
                events,
                min_amount_minor,
                min_amount_currency: Some(self.min_currency.clone()),
                window_days,
                requires_approval: self.requires_approval,
                refund_unqualifies: self.refund_unqualifies,
                auto_issue: self.auto_issue,
            },
            rewards,
        };
        rules
            .validated()
            .map_err(|e| form_error(form_field(&e.field, &rows), e.message))
    }
}

impl RewardForm {
    /// A "No reward" row, for a referrer, per qualified lead.
    pub fn blank() -> RewardForm {
        RewardForm {
            recipient: "referrer".to_owned(),
            cadence: "per_lead".to_owned(),
            ..RewardForm::default()
        }
    }

    fn to_rule(
        &self,
        row: usize,
        fallback_currency: &str,
    ) -> Result<Option<RewardRule>, FormError> {
        let kind = self.kind.trim();
        if kind.is_empty() {
            return Ok(None);
        }
        let field = |part: &str| reward_field(row, part);
        let currency = self.currency.trim();
        let decimals_of = if currency.is_empty() {
            fallback_currency
        } else {
            currency
        };
        let (mut amount_minor, mut percent_bp, mut cap_minor) = (None, None, None);
        match kind {
            "fixed" => {
                amount_minor = parse_major(&self.amount, decimals_of)
                    .map_err(|m| form_error(field("amount"), m))?;
            }
            "percent" => {
                percent_bp =
                    parse_percent(&self.percent).map_err(|m| form_error(field("percent"), m))?;
                cap_minor =
                    parse_major(&self.cap, decimals_of).map_err(|m| form_error(field("cap"), m))?;
            }
            _ => {}
        }
        let cadence = self.cadence.trim();
        let milestone_every = if cadence == "milestone" {
            parse_count(&self.every, &field("every"), "N")?
        } else {
            None
        };
        Ok(Some(RewardRule {
            id: None,
            recipient: self.recipient.trim().to_owned(),
            kind: kind.to_owned(),
            amount_minor,
            currency: (!currency.is_empty()).then(|| currency.to_owned()),
            percent_bp,
            cap_minor,
            description: self.description.clone(),
            cadence: if cadence.is_empty() {
                "per_lead".to_owned()
            } else {
                cadence.to_owned()
            },
            milestone_every,
            max_per_referrer: parse_count(&self.max, &field("max"), "the cap per referrer")?,
            hold_days: parse_count(&self.hold, &field("hold"), "the hold")?.unwrap_or(0),
        }))
    }
}

/// The form field for a rule book path (`rewards.1.amount_minor`, `qualification.events.0`),
/// where `rows[i]` is the form row of the rule book's reward `i`. Rewards past the form's rows
/// (kept from the REST API) and paths the form has no field for are `rewards`.
pub fn form_field(path: &str, rows: &[usize]) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["qualification", "events", ..] => "events".to_owned(),
        ["qualification", "min_amount_minor"] => "min_amount".to_owned(),
        ["qualification", "min_amount_currency"] => "min_currency".to_owned(),
        ["qualification", "window_days"] => "window_days".to_owned(),
        ["rewards", index, part, ..] => {
            let row = index.parse::<usize>().ok().and_then(|i| rows.get(i));
            let input = match *part {
                "recipient" => Some("recipient"),
                "kind" => Some("kind"),
                "amount_minor" => Some("amount"),
                "currency" => Some("currency"),
                "percent_bp" => Some("percent"),
                "cap_minor" => Some("cap"),
                "description" => Some("description"),
                "cadence" => Some("cadence"),
                "milestone_every" => Some("every"),
                "max_per_referrer" => Some("max"),
                "hold_days" => Some("hold"),
                _ => None,
            };
            match (row, input) {
                (Some(row), Some(input)) => reward_field(*row, input),
                _ => "rewards".to_owned(),
            }
        }
        _ => "rewards".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed_row(amount: &str, currency: &str) -> RewardForm {
        RewardForm {
            kind: "fixed".into(),
            amount: amount.into(),
            currency: currency.into(),
            ..RewardForm::blank()
        }
    }

    fn form(rewards: Vec<RewardForm>) -> RulesForm {
        RulesForm {
            events: "purchase".into(),
            refund_unqualifies: true,
            rewards,
            ..RulesForm::default()
        }
    }

    #[test]
    fn amounts_are_read_in_the_currencys_decimals() {
        assert_eq!(parse_major("12.50", "USD"), Ok(Some(1250)));
        assert_eq!(parse_major(" 12,5 ", "eur"), Ok(Some(1250)));
        assert_eq!(parse_major("12", ""), Ok(Some(1200)));
        assert_eq!(parse_major(".5", "USD"), Ok(Some(50)));
        assert_eq!(parse_major("1 000", "JPY"), Ok(Some(1000)));
        assert_eq!(parse_major("1.234", "KWD"), Ok(Some(1234)));
        assert_eq!(parse_major("", "USD"), Ok(None));
        assert!(parse_major("12.505", "USD").is_err());
        assert!(parse_major("5.5", "JPY").is_err());
        assert!(parse_major("-3", "USD").is_err());
        assert!(parse_major("1.2.3", "USD").is_err());
        assert!(parse_major("ten", "USD").is_err());
        assert!(parse_major(".", "USD").is_err());
        assert!(parse_major("99999999999999999999", "USD").is_err());
        assert!(parse_major("92233720368547759", "USD").is_err());
    }

    #[test]
    fn amounts_and_percentages_are_written_back_as_typed() {
        assert_eq!(format_major(1250, "USD"), "12.50");
        assert_eq!(format_major(5, ""), "0.05");
        assert_eq!(format_major(1200, "JPY"), "1200");
        assert_eq!(format_major(1234, "KWD"), "1.234");
        assert_eq!(format_percent(1000), "10");
        assert_eq!(format_percent(250), "2.5");
        assert_eq!(format_percent(1), "0.01");
        assert_eq!(parse_percent("2.5"), Ok(Some(250)));
        assert_eq!(parse_percent("100"), Ok(Some(10_000)));
        assert_eq!(parse_percent(""), Ok(None));
        assert!(parse_percent("2.555").is_err());
    }

    #[test]
    fn a_minimum_left_empty_shows_no_currency_after_saving() {
        let f = form(vec![fixed_row("10", "USD")]);
        let rules = f.to_rules(&[]).expect("valid");
        assert_eq!(rules.qualification.min_amount_currency, None);
        let shown = RulesForm::from_rules(&rules);
        assert_eq!(shown.min_currency, "");
        assert_eq!(shown.min_amount, "");
        assert_eq!(shown.rewards[0].currency, "USD");
    }

    #[test]
    fn a_filled_form_becomes_a_tidy_rule_book() {
        let mut f = form(vec![
            fixed_row("10", "usd"),
            RewardForm {
                kind: "percent".into(),
                recipient: "friend".into(),
                percent: "2.5".into(),
                cap: "25".into(),
                hold: "14".into(),
                ..RewardForm::blank()
            },
            RewardForm::blank(),
        ]);
        f.events = "Purchase, contract signed,, purchase".into();
        f.min_amount = "50".into();
        f.min_currency = "USD".into();
        f.window_days = "30".into();
        f.requires_approval = true;
        let rules = f.to_rules(&[]).expect("valid");
        let q = &rules.qualification;
        assert_eq!(q.events, vec!["purchase", "contract_signed"]);
        assert_eq!(q.min_amount_minor, Some(5000));
        assert_eq!(q.min_amount_currency.as_deref(), Some("USD"));
        assert_eq!(q.window_days, Some(30));
        assert!(q.requires_approval && q.refund_unqualifies && !q.auto_issue);
        assert_eq!(rules.rewards.len(), 2, "the blank row is no reward");
        assert_eq!(rules.rewards[0].amount_minor, Some(1000));
        assert_eq!(rules.rewards[0].currency.as_deref(), Some("USD"));
        let pct = &rules.rewards[1];
        assert_eq!((pct.percent_bp, pct.cap_minor), (Some(250), Some(2500)));
        assert_eq!((pct.recipient.as_str(), pct.hold_days), ("friend", 14));
        assert_eq!(pct.currency, None);
    }

    #[test]
    fn rules_survive_the_round_trip_through_the_form() {
        let mut f = form(vec![
            fixed_row("12.50", "EUR"),
            RewardForm {
                kind: "custom".into(),
                description: "A mug".into(),
                cadence: "milestone".into(),
                every: "5".into(),
                max: "2".into(),
                ..RewardForm::blank()
            },
            RewardForm {
                kind: "percent".into(),
                percent: "10".into(),
                cap: "30.00".into(),
                ..RewardForm::blank()
            },
        ]);
        f.min_amount = "20.00".into();
        f.min_currency = "EUR".into();
        let rules = f.to_rules(&[]).expect("valid");
        let again = RulesForm::from_rules(&rules);
        assert_eq!(again.to_rules(&[]).expect("still valid"), rules);
        assert_eq!(again.min_amount, "20.00");
        assert_eq!(again.rewards[0].amount, "12.50");
        assert_eq!(again.rewards[2].cap, "30.00");
        assert_eq!(again.rewards[2].percent, "10");
        assert_eq!(again.rewards[1].every, "5");
        assert_eq!(
            RulesForm::from_rules(&CampaignRules::default()).to_rules(&[]),
            Ok(CampaignRules::default())
        );
    }

    #[test]
    fn the_form_always_has_its_rows_and_keeps_rewards_beyond_them() {
        let mut rules = CampaignRules::default();
        assert_eq!(RulesForm::from_rules(&rules).rewards.len(), REWARD_ROWS);
        for n in 0..4 {
            let mut r = rules.rewards[0].clone();
            r.description = format!("Reward {n}");
            rules.rewards.push(r);
        }
        let f = RulesForm::from_rules(&rules);
        assert_eq!(f.rewards.len(), REWARD_ROWS);
        let back = f.to_rules(&rules.rewards[REWARD_ROWS..]).expect("valid");
        assert_eq!(back, rules);
    }

    #[test]
    fn errors_name_the_form_field() {
        let mut f = form(vec![RewardForm::blank(), fixed_row("", "USD")]);
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "r1_amount");
        f.rewards[1] = fixed_row("10", "");
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "r1_currency");
        f.rewards[1] = fixed_row("1.005", "USD");
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "r1_amount");
        f.rewards[1] = RewardForm {
            kind: "custom".into(),
            ..RewardForm::blank()
        };
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "r1_description");
        f.rewards[1].description = "Cake".into();
        f.rewards[1].hold = "two weeks".into();
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "r1_hold");
        f.rewards[1].hold = String::new();
        f.rewards[1].cadence = "milestone".into();
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "r1_every");
        f.rewards[1].recipient = "friend".into();
        f.rewards[1].every = "3".into();
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "r1_cadence");

        let mut f = form(vec![]);
        f.events = " , ".into();
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "events");
        f.events = "refund".into();
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "events");
        f.events = "purchase".into();
        f.min_amount = "lots".into();
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "min_amount");
        f.min_amount = "50".into();
        f.min_currency = "dollars".into();
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "min_currency");
        f.min_currency = "USD".into();
        f.min_amount = String::new();
        f.window_days = "0".into();
        assert_eq!(f.to_rules(&[]).unwrap_err().field, "window_days");
    }

    #[test]
    fn rule_book_paths_map_to_form_fields() {
        assert_eq!(form_field("qualification.events.3", &[]), "events");
        assert_eq!(
            form_field("qualification.min_amount_currency", &[]),
            "min_currency"
        );
        assert_eq!(form_field("rewards.1.milestone_every", &[0, 2]), "r2_every");
        assert_eq!(form_field("rewards.5.kind", &[0, 2]), "rewards");
        assert_eq!(form_field("rewards", &[0]), "rewards");
    }
}
