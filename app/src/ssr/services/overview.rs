//! The campaign overview: all-time numbers, a chart over days or weeks, rewards, the best
//! referrers and clicks per channel, every one read from the maintained counters (see the
//! counters migration), so the page costs the same at a thousand leads and at a million.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use crate::{
    domain::channel::ChannelCounts,
    error::AppError,
    ssr::{
        chart,
        entities::{
            campaign, campaign_channel, campaign_day, campaign_reward, referrer, referrer_total,
        },
        services::campaigns,
    },
    types::{Overview, Period, RewardSum, Tally, TallyPoint, TopReferrer},
};

/// Days in the daily chart.
const DAYS: i64 = 30;
/// Weeks in the weekly chart.
const WEEKS: i64 = 26;
/// Referrers in the top list.
const TOP: u64 = 5;

fn db_error(e: sea_orm::DbErr) -> AppError {
    AppError::internal("overview", e)
}

/// The overview of campaign `slug`, or of every campaign together with `None`.
pub async fn overview(
    db: &DatabaseConnection,
    slug: Option<&str>,
    period: Period,
    today: NaiveDate,
) -> Result<Overview, AppError> {
    let campaign_list: Vec<(String, String)> = campaign::Entity::find()
        .select_only()
        .column(campaign::Column::Slug)
        .column(campaign::Column::Name)
        .order_by_asc(campaign::Column::Name)
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    let chosen = match slug.map(str::trim).filter(|s| !s.is_empty()) {
        Some(slug) => Some(campaigns::find_row(db, slug).await?),
        None => None,
    };
    let campaign_id = chosen.as_ref().map(|c| c.id);
    let (first_day, bars) = span(period, today);
    let series = series(db, campaign_id, period, first_day, bars).await?;
    Ok(Overview {
        campaign: chosen.map(|c| (c.slug, c.name)),
        campaigns: campaign_list,
        period,
        totals: totals(db, campaign_id).await?,
        chart_svg: chart::tally_chart(&series, period),
        series,
        rewards: rewards(db, campaign_id).await?,
        top_referrers: top_referrers(db, campaign_id).await?,
        channels: channels(db, campaign_id).await?,
    })
}

/// The first day of the chart and how many bars it has: the last 30 days, or the last 26 weeks
/// counted from Mondays (this week included).
fn span(period: Period, today: NaiveDate) -> (NaiveDate, i64) {
    match period {
        Period::Day => (today - Duration::days(DAYS - 1), DAYS),
        Period::Week => {
            let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
            (monday - Duration::weeks(WEEKS - 1), WEEKS)
        }
    }
}

fn day_filter(campaign_id: Option<i64>) -> sea_orm::Select<campaign_day::Entity> {
    let query = campaign_day::Entity::find();
    match campaign_id {
        Some(id) => query.filter(campaign_day::Column::CampaignId.eq(id)),
        None => query,
    }
}

/// All-time sums of the daily counters.
async fn totals(db: &DatabaseConnection, campaign_id: Option<i64>) -> Result<Tally, AppError> {
    let sums: Option<(Option<i64>, Option<i64>, Option<i64>)> = day_filter(campaign_id)
        .select_only()
        .column_as(Expr::cust("CAST(SUM(clicks) AS BIGINT)"), "clicks")
        .column_as(Expr::cust("CAST(SUM(leads) AS BIGINT)"), "leads")
        .column_as(Expr::cust("CAST(SUM(qualified) AS BIGINT)"), "qualified")
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)?;
    let (clicks, leads, qualified) = sums.unwrap_or_default();
    Ok(Tally {
        clicks: clicks.unwrap_or(0),
        leads: leads.unwrap_or(0),
        qualified: qualified.unwrap_or(0),
    })
}

/// One point per day or week from `first_day`, zeros included, oldest first.
async fn series(
    db: &DatabaseConnection,
    campaign_id: Option<i64>,
    period: Period,
    first_day: NaiveDate,
    bars: i64,
) -> Result<Vec<TallyPoint>, AppError> {
    let rows: Vec<(String, i64, i64, i64)> = day_filter(campaign_id)
        .select_only()
        .column(campaign_day::Column::Day)
        .column(campaign_day::Column::Clicks)
        .column(campaign_day::Column::Leads)
        .column(campaign_day::Column::Qualified)
        .filter(campaign_day::Column::Day.gte(first_day.format("%Y-%m-%d").to_string()))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    let step = match period {
        Period::Day => 1,
        Period::Week => 7,
    };
    let mut points: BTreeMap<NaiveDate, Tally> = (0..bars)
        .map(|i| (first_day + Duration::days(i * step), Tally::default()))
        .collect();
    for (day, clicks, leads, qualified) in rows {
        let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
            continue;
        };
        let offset = (day - first_day).num_days();
        if offset < 0 {
            continue;
        }
        let start = first_day + Duration::days(offset - offset % step);
        if let Some(tally) = points.get_mut(&start) {
            tally.clicks += clicks;
            tally.leads += leads;
            tally.qualified += qualified;
        }
    }
    Ok(points
        .into_iter()
        .map(|(start, tally)| TallyPoint {
            start: start.format("%Y-%m-%d").to_string(),
            tally,
        })
        .collect())
}

/// Rewards per status and currency, summed over campaigns when there is no campaign.
async fn rewards(
    db: &DatabaseConnection,
    campaign_id: Option<i64>,
) -> Result<Vec<RewardSum>, AppError> {
    let mut query = campaign_reward::Entity::find();
    if let Some(id) = campaign_id {
        query = query.filter(campaign_reward::Column::CampaignId.eq(id));
    }
    let mut sums: BTreeMap<(usize, String), RewardSum> = BTreeMap::new();
    for row in query.all(db).await.map_err(db_error)? {
        if row.rewards == 0 {
            continue;
        }
        // In the order a reward moves: pending, due, issued, cancelled.
        let rank = crate::domain::rules::RewardStatus::ALL
            .iter()
            .position(|s| s.as_str() == row.status)
            .unwrap_or(usize::MAX);
        let sum = sums
            .entry((rank, row.currency.clone()))
            .or_insert_with(|| RewardSum {
                status: row.status.clone(),
                currency: row.currency.clone(),
                rewards: 0,
                amount_minor: 0,
            });
        sum.rewards += row.rewards;
        sum.amount_minor += row.amount_minor;
    }
    Ok(sums.into_values().collect())
}

/// The referrers with the most qualified leads, then the most leads.
async fn top_referrers(
    db: &DatabaseConnection,
    campaign_id: Option<i64>,
) -> Result<Vec<TopReferrer>, AppError> {
    let mut query = referrer_total::Entity::find()
        .filter(referrer_total::Column::Leads.gt(0))
        .order_by_desc(referrer_total::Column::Qualified)
        .order_by_desc(referrer_total::Column::Leads)
        .limit(TOP);
    if let Some(id) = campaign_id {
        query = query.filter(referrer_total::Column::CampaignId.eq(id));
    }
    let totals = query.all(db).await.map_err(db_error)?;
    let names: std::collections::HashMap<i64, String> = referrer::Entity::find()
        .select_only()
        .column(referrer::Column::Id)
        .column(referrer::Column::Name)
        .filter(referrer::Column::Id.is_in(totals.iter().map(|t| t.referrer_id)))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .collect();
    Ok(totals
        .into_iter()
        .filter_map(|t| {
            Some(TopReferrer {
                id: t.referrer_id,
                name: names.get(&t.referrer_id)?.clone(),
                tally: Tally {
                    clicks: t.clicks,
                    leads: t.leads,
                    qualified: t.qualified,
                },
            })
        })
        .collect())
}

/// Clicks per channel of one campaign or of all.
async fn channels(
    db: &DatabaseConnection,
    campaign_id: Option<i64>,
) -> Result<ChannelCounts, AppError> {
    let mut query = campaign_channel::Entity::find()
        .select_only()
        .column(campaign_channel::Column::Channel)
        .column(campaign_channel::Column::Clicks);
    if let Some(id) = campaign_id {
        query = query.filter(campaign_channel::Column::CampaignId.eq(id));
    }
    let rows: Vec<(String, i64)> = query.into_tuple().all(db).await.map_err(db_error)?;
    Ok(ChannelCounts::from_rows(rows))
}

/// Today in UTC, the calendar the counters use.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_mondays_and_end_with_this_one() {
        // 2026-12-09 is a Wednesday; its week began on Monday the 7th.
        let today = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        let (first, bars) = span(Period::Week, today);
        assert_eq!(bars, 26);
        assert_eq!(first.weekday(), chrono::Weekday::Mon);
        assert_eq!(
            first + Duration::weeks(25),
            NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
        );
        let (first, bars) = span(Period::Day, today);
        assert_eq!(
            (first, bars),
            (NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(), 30)
        );
    }
}
