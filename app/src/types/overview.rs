//! The campaign overview: the admin's first page.

use serde::{Deserialize, Serialize};

use crate::domain::channel::ChannelCounts;

/// How the overview's chart groups days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// One bar per day, the last 30 days.
    #[default]
    Day,
    /// One bar per week (Monday to Sunday), the last 26 weeks.
    Week,
}

impl Period {
    /// The value in a URL (`?by=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
        }
    }

    /// Reads `?by=`: `day`, `week`, or nothing for days.
    pub fn parse(text: Option<&str>) -> Option<Period> {
        match text.map(str::trim).unwrap_or("") {
            "" | "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            _ => None,
        }
    }
}

/// Clicks, leads and qualified leads over some span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Clicks on referral links (and printed QR codes).
    pub clicks: i64,
    /// Friends who came in, credited or not.
    pub leads: i64,
    /// Leads that met the qualification rule.
    pub qualified: i64,
}

impl Tally {
    /// Qualified leads per lead, in percent (`None` without leads).
    pub fn qualification_rate(&self) -> Option<f64> {
        percent(self.qualified, self.leads)
    }

    /// Leads per click, in percent (`None` without clicks).
    pub fn click_rate(&self) -> Option<f64> {
        percent(self.leads, self.clicks)
    }
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// One bar of the chart: a day or a week.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyPoint {
    /// Its first day, `YYYY-MM-DD`.
    pub start: String,
    /// Its numbers.
    pub tally: Tally,
}

/// Rewards of one status in one currency (empty for rewards without an amount).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardSum {
    /// pending, due, issued or cancelled.
    pub status: String,
    /// ISO currency, or empty.
    pub currency: String,
    /// How many.
    pub rewards: i64,
    /// Their sum in minor units.
    pub amount_minor: i64,
}

/// A referrer among a campaign's best.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopReferrer {
    /// Referrer id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their numbers.
    pub tally: Tally,
}

/// Everything the overview page shows for one campaign or for all of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The campaign shown (`(slug, name)`), or `None` for all campaigns together.
    pub campaign: Option<(String, String)>,
    /// Every campaign, `(slug, name)`, for the picker.
    pub campaigns: Vec<(String, String)>,
    /// How the chart groups days.
    pub period: Period,
    /// All-time numbers.
    pub totals: Tally,
    /// The chart's bars, oldest first.
    pub series: Vec<TallyPoint>,
    /// The chart, drawn on the server as SVG (it needs no JavaScript and prints).
    pub chart_svg: String,
    /// Rewards per status and currency.
    pub rewards: Vec<RewardSum>,
    /// The five referrers with the most qualified leads (then leads).
    pub top_referrers: Vec<TopReferrer>,
    /// Clicks per channel.
    pub channels: ChannelCounts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_reads_day_week_or_nothing() {
        assert_eq!(Period::parse(None), Some(Period::Day));
        assert_eq!(Period::parse(Some(" week ")), Some(Period::Week));
        assert_eq!(Period::parse(Some("month")), None);
    }

    #[test]
    fn rates_need_something_to_divide_by() {
        let tally = Tally {
            clicks: 200,
            leads: 50,
            qualified: 10,
        };
        assert_eq!(tally.click_rate(), Some(25.0));
        assert_eq!(tally.qualification_rate(), Some(20.0));
        assert_eq!(Tally::default().click_rate(), None);
    }
}
