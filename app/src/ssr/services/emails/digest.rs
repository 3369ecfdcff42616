//! An import's summary email: one "N of your referrals qualified" per referrer when a CSV import
//! ends, instead of one "your referral qualified" per imported row.
//!
//! Why: a file of 10,000 historical orders would otherwise send a referrer 10,000 emails, and
//! writing a rendered email per row made an import 2.3x slower (docs/BENCHMARKS.md).
//!
//! How it keeps the outbox's promise (nothing lost, nothing twice):
//! - each engine batch of an import adds what it qualified to `import_digests`, one row per
//!   (import, referrer), in the batch's own transaction ([`Digests::write`]): a batch that rolls
//!   back counts nothing;
//! - the transaction that ends an import ([`send`]) takes the rows of every import of its
//!   campaign with `DELETE ... RETURNING` and writes one email per referrer to the outbox: the
//!   rows and the emails change hands atomically, and two processes ending imports at once get
//!   disjoint rows;
//! - an import killed half way keeps its rows. Running the file again (the CLI makes a new import
//!   of it; the admin's upload runs the same one) adds the rest, and its end sends them all in
//!   one email. Why every import of the campaign and not only the one ending: a killed import
//!   never ends, so its rows would wait forever. The price is that an import running beside the
//!   one ending has its summary so far sent early, and the rest at its own end: two emails, none
//!   lost.
//!
//! A referrer with one qualified referral in the import gets the ordinary "referral qualified"
//! email (the friend named, the reward in words); with several, the `ReferralsQualified` kind.

use std::collections::hash_map::Entry;

use foldhash::{HashMap, HashMapExt};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict, Query},
};

use crate::{
    domain::{
        emails::{EmailKind, Placeholder},
        rules::format_amount,
    },
    error::AppError,
    ssr::{
        entities::{campaign, import, import_digest, referrer, reward},
        services::emails::{
            self, notifications,
            queue::{self, Draft},
            templates::CampaignTemplates,
        },
        state::RuntimeSettings,
    },
};

/// Friends named in a summary; the rest are counted ("and 9 others").
const NAMED_FRIENDS: usize = 3;

/// What one batch adds to its imports' summaries, per (import, referrer).
#[derive(Debug, Default)]
pub struct Digests(HashMap<(i64, i64), import_digest::Model>);

impl Digests {
    /// Whether nothing was noted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Notes that import `import_id` qualified a referral of `referrer_id` (the friend as the
    /// emails name them), earning the referrer `rewards`.
    pub fn note(
        &mut self,
        import_id: i64,
        referrer_id: i64,
        friend: String,
        rewards: &[reward::Model],
    ) {
        let currency_of = |r: &reward::Model| match r.amount_minor {
            Some(_) => r.currency.clone().unwrap_or_default(),
            None => String::new(),
        };
        let currency = rewards.first().map(currency_of).unwrap_or_default();
        let one = import_digest::Model {
            import_id,
            referrer_id,
            qualified: 1,
            // One line per friend: a name cannot hold a line break of its own.
            friends: friend.replace(['\r', '\n'], " "),
            rewards: i64::try_from(rewards.len()).unwrap_or(i64::MAX),
            first_reward: rewards
                .first()
                .map(notifications::reward_text)
                .unwrap_or_default(),
            amount_minor: rewards.iter().fold(0i64, |sum, r| {
                sum.saturating_add(r.amount_minor.unwrap_or(0))
            }),
            mixed_currencies: rewards.iter().any(|r| currency_of(r) != currency),
            currency,
        };
        match self.0.entry((import_id, referrer_id)) {
            Entry::Occupied(mut kept) => kept.get_mut().absorb(one),
            Entry::Vacant(slot) => {
                slot.insert(one);
            }
        }
    }

    /// Adds the noted counts to the stored ones (one statement), in the batch's transaction.
    pub async fn write(self, txn: &DatabaseTransaction) -> Result<(), AppError> {
        if self.0.is_empty() {
            return Ok(());
        }
        use import_digest::Column as C;
        let mut insert = Query::insert();
        insert.into_table(import_digest::Entity).columns([
            C::ImportId,
            C::ReferrerId,
            C::Qualified,
            C::Friends,
            C::Rewards,
            C::FirstReward,
            C::AmountMinor,
            C::Currency,
            C::MixedCurrencies,
        ]);
        for row in self.0.into_values() {
            insert
                .values([
                    row.import_id.into(),
                    row.referrer_id.into(),
                    row.qualified.into(),
                    row.friends.into(),
                    row.rewards.into(),
                    row.first_reward.into(),
                    row.amount_minor.into(),
                    row.currency.into(),
                    row.mixed_currencies.into(),
                ])
                .map_err(|e| AppError::internal("digest::values", e))?;
        }
        // In `DO UPDATE`, `import_digests.x` is the stored value and `excluded.x` this batch's
        // (the same in SQLite and PostgreSQL); every expression sees the row as it was.
        let first_set = |column: &str| {
            Expr::cust(format!(
                "CASE WHEN import_digests.{column} = '' THEN excluded.{column} \
                 ELSE import_digests.{column} END"
            ))
        };
        insert.on_conflict(
            OnConflict::columns([C::ImportId, C::ReferrerId])
                .values([
                    (
                        C::Qualified,
                        Expr::cust("import_digests.qualified + excluded.qualified"),
                    ),
                    (C::Friends, first_set("friends")),
                    (
                        C::Rewards,
                        Expr::cust("import_digests.rewards + excluded.rewards"),
                    ),
                    (C::FirstReward, first_set("first_reward")),
                    (
                        C::AmountMinor,
                        Expr::cust("import_digests.amount_minor + excluded.amount_minor"),
                    ),
                    (
                        C::Currency,
                        Expr::cust(
                            "CASE WHEN import_digests.rewards = 0 THEN excluded.currency \
                             ELSE import_digests.currency END",
                        ),
                    ),
                    (
                        C::MixedCurrencies,
                        Expr::cust(
                            "(import_digests.mixed_currencies OR excluded.mixed_currencies \
                             OR (import_digests.rewards > 0 AND excluded.rewards > 0 \
                             AND import_digests.currency <> excluded.currency))",
                        ),
                    ),
                ])
                .to_owned(),
        );
        let statement = txn.get_database_backend().build(&insert);
        txn.execute_raw(statement)
            .await
            .map_err(|e| AppError::internal("digest::write", e))?;
        Ok(())
    }
}

impl import_digest::Model {
    /// Adds `other`'s counts (of the same referrer) to these, as [`Digests::write`] adds a
    /// batch's to the stored ones.
    fn absorb(&mut self, other: import_digest::Model) {
        self.qualified += other.qualified;
        for friend in other.friends.lines() {
            if self.friends.lines().count() >= NAMED_FRIENDS {
                break;
            }
            if !self.friends.is_empty() {
                self.friends.push('\n');
            }
            self.friends.push_str(friend);
        }
        if other.rewards > 0 {
            if self.rewards == 0 {
                self.first_reward = other.first_reward;
                self.currency = other.currency;
            } else if other.currency != self.currency {
                self.mixed_currencies = true;
            }
            self.mixed_currencies |= other.mixed_currencies;
            self.rewards += other.rewards;
            self.amount_minor = self.amount_minor.saturating_add(other.amount_minor);
        }
    }
}

/// Sends the summaries of `campaign`'s imports: takes every stored count of its imports (the
/// one ending and any killed before it) and writes one email per referrer to the outbox, in
/// `txn` (the transaction that marks an import finished). Returns how many emails were written.
pub async fn send(
    txn: &DatabaseTransaction,
    settings: &RuntimeSettings,
    campaign: &campaign::Model,
) -> Result<usize, AppError> {
    let taken = import_digest::Entity::delete_many()
        .filter(
            import_digest::Column::ImportId.in_subquery(
                Query::select()
                    .column(import::Column::Id)
                    .from(import::Entity)
                    .and_where(import::Column::CampaignId.eq(campaign.id))
                    .to_owned(),
            ),
        )
        .exec_with_returning(txn)
        .await
        .map_err(|e| AppError::internal("digest::take", e))?;
    if taken.is_empty() {
        return Ok(0);
    }
    // One email per referrer, however many imports counted for them.
    let mut by_referrer: HashMap<i64, import_digest::Model> = HashMap::with_capacity(taken.len());
    for row in taken {
        match by_referrer.entry(row.referrer_id) {
            Entry::Occupied(mut kept) => kept.get_mut().absorb(row),
            Entry::Vacant(slot) => {
                slot.insert(row);
            }
        }
    }
    let mut rows: Vec<import_digest::Model> = by_referrer.into_values().collect();
    rows.sort_by_key(|r| r.referrer_id);
    let templates = CampaignTemplates::load_many(txn, [campaign.id])
        .await?
        .remove(&campaign.id)
        .unwrap_or_default();
    let mut referrers: HashMap<i64, referrer::Model> = HashMap::with_capacity(rows.len());
    for ids in rows.chunks(500) {
        let found = referrer::Entity::find()
            .filter(referrer::Column::Id.is_in(ids.iter().map(|r| r.referrer_id)))
            .all(txn)
            .await
            .map_err(|e| AppError::internal("digest::referrers", e))?;
        referrers.extend(found.into_iter().map(|r| (r.id, r)));
    }
    let mut drafts = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(referrer) = referrers.get(&row.referrer_id) else {
            continue;
        };
        drafts.extend(draft(settings, &templates, campaign, referrer, row)?);
    }
    let written = drafts.len();
    if written > 0 {
        queue::enqueue(
            txn,
            drafts,
            &emails::mail_domain(settings),
            chrono::Utc::now(),
        )
        .await?;
    }
    Ok(written)
}

/// The summary email for one row, or `None` when the referrer does not want it.
fn draft(
    settings: &RuntimeSettings,
    templates: &CampaignTemplates,
    campaign: &campaign::Model,
    referrer: &referrer::Model,
    row: &import_digest::Model,
) -> Result<Option<Draft>, AppError> {
    let friends: Vec<&str> = row.friends.lines().collect();
    let (kind, friend_name, reward) = if row.qualified <= 1 {
        (
            EmailKind::ReferralQualified,
            friends.first().copied().unwrap_or("Somebody").to_owned(),
            row.first_reward.clone(),
        )
    } else {
        (
            EmailKind::ReferralsQualified,
            friends_phrase(&friends, row.qualified),
            rewards_phrase(row),
        )
    };
    if !notifications::wanted(kind, templates, referrer) {
        return Ok(None);
    }
    let mut values = emails::referrer_values(settings, campaign, referrer);
    values
        .set(Placeholder::FriendName, friend_name)
        .set(Placeholder::Reward, reward)
        .set(Placeholder::Count, row.qualified.to_string());
    let draft = notifications::to_referrer(
        kind, settings, templates, campaign, referrer, values,
        // No key: the stored row was taken in this transaction, so it is written once; a key
        // would wrongly drop the summary of a second run of a failed import.
        None,
    )?;
    Ok(draft)
}

/// "Ana, Ben and Sam" when every friend is named, "Ana, Ben, Sam and 9 others" when not.
fn friends_phrase(named: &[&str], count: i64) -> String {
    let others = count - i64::try_from(named.len()).unwrap_or(i64::MAX);
    match (named.split_last(), others) {
        (None, _) => format!("{count} friends"),
        (Some((last, [])), n) if n <= 0 => (*last).to_owned(),
        (Some((last, rest)), n) if n <= 0 => format!("{} and {last}", rest.join(", ")),
        (Some(_), 1) => format!("{} and 1 other", named.join(", ")),
        (Some(_), n) => format!("{} and {n} others", named.join(", ")),
    }
}

/// "3 rewards, USD 30.00 in all", or "3 rewards" when they are not all one currency; the one
/// reward's own words when there is one.
fn rewards_phrase(row: &import_digest::Model) -> String {
    match row.rewards {
        0 => String::new(),
        1 => row.first_reward.clone(),
        n if row.mixed_currencies || row.currency.is_empty() => format!("{n} rewards"),
        n => format!(
            "{n} rewards, {} in all",
            format_amount(row.amount_minor, Some(&row.currency))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        qualified: i64,
        rewards: i64,
        amount: i64,
        currency: &str,
        mixed: bool,
    ) -> import_digest::Model {
        import_digest::Model {
            import_id: 1,
            referrer_id: 1,
            qualified,
            friends: String::new(),
            rewards,
            first_reward: "USD 10.00".to_owned(),
            amount_minor: amount,
            currency: currency.to_owned(),
            mixed_currencies: mixed,
        }
    }

    #[test]
    fn friends_are_named_then_counted() {
        assert_eq!(friends_phrase(&["Ana"], 1), "Ana");
        assert_eq!(friends_phrase(&["Ana", "Ben"], 2), "Ana and Ben");
        assert_eq!(
            friends_phrase(&["Ana", "Ben", "Sam"], 3),
            "Ana, Ben and Sam"
        );
        assert_eq!(
            friends_phrase(&["Ana", "Ben", "Sam"], 4),
            "Ana, Ben, Sam and 1 other"
        );
        assert_eq!(
            friends_phrase(&["Ana", "Ben", "Sam"], 12),
            "Ana, Ben, Sam and 9 others"
        );
        assert_eq!(friends_phrase(&[], 5), "5 friends");
    }

    #[test]
    fn rewards_are_added_up_only_in_one_currency() {
        assert_eq!(rewards_phrase(&row(3, 1, 1000, "USD", false)), "USD 10.00");
        assert_eq!(
            rewards_phrase(&row(3, 3, 3000, "USD", false)),
            "3 rewards, USD 30.00 in all"
        );
        assert_eq!(rewards_phrase(&row(3, 3, 3000, "USD", true)), "3 rewards");
        assert_eq!(rewards_phrase(&row(3, 3, 0, "", false)), "3 rewards");
    }

    fn reward(amount: Option<i64>, currency: &str) -> reward::Model {
        let now = chrono::Utc::now();
        reward::Model {
            id: 1,
            campaign_id: 1,
            rule_id: 1,
            lead_id: Some(1),
            referrer_id: Some(9),
            recipient: "referrer".to_owned(),
            kind: "cash".to_owned(),
            amount_minor: amount,
            currency: Some(currency.to_owned()),
            description: String::new(),
            status: crate::domain::rules::RewardStatus::Pending,
            milestone: 0,
            dedupe_key: "k".to_owned(),
            conversion_event_id: None,
            due_at: None,
            issued_at: None,
            cancelled_at: None,
            cancel_reason: None,
            clawback: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn notes_add_up_and_name_three_friends() {
        let mut digests = Digests::default();
        for (i, name) in ["Ana", "Ben\nEvil", "Sam", "Kim"].into_iter().enumerate() {
            let currency = if i == 3 { "EUR" } else { "USD" };
            digests.note(7, 9, name.to_owned(), &[reward(Some(1000), currency)]);
        }
        let row = &digests.0[&(7, 9)];
        assert_eq!(row.qualified, 4);
        assert_eq!(row.friends, "Ana\nBen Evil\nSam");
        assert_eq!(row.rewards, 4);
        assert_eq!(row.amount_minor, 4000);
        assert_eq!(row.currency, "USD");
        assert!(row.mixed_currencies, "one reward was in EUR");
    }
}
