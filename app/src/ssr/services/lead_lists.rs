//! Lists of leads: the Leads tab's filters and search box, its pages, the global search, and the
//! CSV export of the same view.
//!
//! A filter is checked once and turned into one query (`prepare`); a page and an export read
//! that query with keyset paging, so the export of a view holds exactly the rows its pages show.
//! Every search reads one index range: an exact email or phone key, an order id, a referral
//! code's referrer, or the start of a name or email (`domain::search`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    QueryFilter, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, SimpleExpr},
};

use crate::{
    domain::search::{self, SearchText},
    error::AppError,
    ssr::{
        entities::{conversion_event, lead, referrer, replaced_code},
        services::{
            campaigns,
            leads::to_wire,
            paging::{self, Order},
        },
        state::AppState,
    },
    types::{LEAD_STATUSES, Lead, LeadFilter, LeadsView, Page},
};

/// The most leads one order id finds (an order id names one purchase; more is a data error).
const ORDER_MATCHES: u64 = 100;

/// Leads read per round trip of a CSV export.
const EXPORT_BATCH: u64 = 1000;

/// A checked filter, ready to read pages from.
pub struct LeadQuery {
    select: Select<lead::Entity>,
    order: LeadOrder,
    /// What the search box matched, in words, when it was used.
    pub search_note: Option<String>,
}

/// The order of a lead list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LeadOrder {
    /// By id: newest or oldest first.
    Created(Order),
    /// Largest qualifying amount first (newest first among equal amounts).
    Amount,
}

/// One page of leads matching `filter`.
pub async fn list(state: &AppState, filter: &LeadFilter) -> Result<Page<Lead>, AppError> {
    Ok(view(state, filter).await?.page)
}

/// One page of leads matching `filter`, with how its search text was understood.
pub async fn view(state: &AppState, filter: &LeadFilter) -> Result<LeadsView, AppError> {
    let query = prepare(&state.db, filter).await?;
    let page = page_of(&state.db, &query, filter.after, paging::PAGE_SIZE).await?;
    Ok(LeadsView {
        page,
        search_note: query.search_note,
    })
}

/// The first `size` leads matching `filter` (the global search's short list).
pub async fn first(
    state: &AppState,
    filter: &LeadFilter,
    size: u64,
) -> Result<LeadsView, AppError> {
    let query = prepare(&state.db, filter).await?;
    let page = page_of(&state.db, &query, None, size).await?;
    Ok(LeadsView {
        page,
        search_note: query.search_note,
    })
}

/// Checks `filter` (status, days, sort, campaign) and builds its query. Bad values are refused
/// with the field they came from, before anything is read.
pub async fn prepare(db: &DatabaseConnection, filter: &LeadFilter) -> Result<LeadQuery, AppError> {
    let order = match nonblank(&filter.sort) {
        None | Some("newest") => LeadOrder::Created(Order::NewestFirst),
        Some("oldest") => LeadOrder::Created(Order::OldestFirst),
        Some("amount") => LeadOrder::Amount,
        Some(_) => {
            return Err(AppError::invalid(
                "invalid_sort",
                "sort",
                "Sort is newest, oldest or amount.",
            ));
        }
    };
    let from = nonblank(&filter.from)
        .map(|d| parse_day(d, "from"))
        .transpose()?;
    let to = nonblank(&filter.to)
        .map(|d| parse_day(d, "to"))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(AppError::invalid(
            "invalid_date_range",
            "to",
            "The last day comes before the first.",
        ));
    }
    let mut select = lead::Entity::find();
    if let Some(status) = nonblank(&filter.status) {
        if !LEAD_STATUSES.contains(&status) {
            return Err(AppError::invalid(
                "invalid_status",
                "status",
                "Status is pending, review, qualified or rejected.",
            ));
        }
        select = select.filter(lead::Column::Status.eq(status));
    }
    if let Some(slug) = nonblank(&filter.campaign) {
        let campaign = campaigns::find_row(db, slug).await?;
        select = select.filter(lead::Column::CampaignId.eq(campaign.id));
    }
    if let Some(referrer_id) = filter.referrer_id {
        select = select.filter(lead::Column::ReferrerId.eq(referrer_id));
    }
    if let Some(admin_id) = filter.entered_by {
        select = select.filter(lead::Column::EnteredBy.eq(admin_id));
    }
    if let Some(from) = from {
        select = select.filter(lead::Column::CreatedAt.gte(start_of(from)));
    }
    if let Some(to) = to {
        select = select.filter(lead::Column::CreatedAt.lt(start_of(to) + Duration::days(1)));
    }
    let mut search_note = None;
    if let Some(text) = filter.search.as_deref().and_then(SearchText::parse) {
        let (condition, note) = search_condition(db, &text).await?;
        select = select.filter(condition);
        search_note = Some(note);
    }
    Ok(LeadQuery {
        select,
        order,
        search_note,
    })
}

/// The value of an optional text filter, trimmed; `None` when blank.
fn nonblank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `2026-12-07` as a day; anything else is refused on `field`.
fn parse_day(text: &str, field: &'static str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        AppError::invalid(
            "invalid_date",
            field,
            "Write a day as year-month-day, like 2026-12-07.",
        )
    })
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// What a search text finds, tried in this order: a whole email address; an order id (exactly
/// as typed); a phone number; a referral code (current or replaced); else the start of a name
/// or an email. Returns the condition and what it matched, in words.
async fn search_condition(
    db: &impl ConnectionTrait,
    text: &SearchText,
) -> Result<(Condition, String), AppError> {
    let shown = &text.exact;
    let backend = db.get_database_backend();
    if let Some(email) = &text.email {
        return Ok((
            Condition::all().add(email_key_is(backend, email)),
            format!("Leads with the email {shown}"),
        ));
    }
    let ordered: Vec<i64> = conversion_event::Entity::find()
        .select_only()
        .column(conversion_event::Column::LeadId)
        .filter(conversion_event::Column::EventId.eq(shown.as_str()))
        .filter(conversion_event::Column::LeadId.is_not_null())
        .limit(ORDER_MATCHES)
        .into_tuple::<Option<i64>>()
        .all(db)
        .await
        .map_err(|e| AppError::internal("lead_lists::search orders", e))?
        .into_iter()
        .flatten()
        .collect();
    if !ordered.is_empty() {
        return Ok((
            Condition::all().add(lead::Column::Id.is_in(ordered)),
            format!("Leads with the order id {shown}"),
        ));
    }
    if let Some(key) = &text.phone {
        return Ok((
            Condition::all().add(email_key_is(backend, key)),
            format!("Leads with the phone number {shown}"),
        ));
    }
    if let Some(key) = &text.code
        && let Some((ids, names)) = referrers_of_code(db, key).await?
    {
        return Ok((
            Condition::all().add(lead::Column::ReferrerId.is_in(ids)),
            format!("Leads credited to the code {shown} ({names})"),
        ));
    }
    Ok((
        Condition::any()
            .add(prefix_range(
                backend,
                lead::Column::NameKey,
                "name_key",
                &text.prefix,
            ))
            .add(prefix_range(
                backend,
                lead::Column::EmailNormalized,
                "email_normalized",
                &text.prefix,
            )),
        format!("Leads whose name or email starts with “{shown}”"),
    ))
}

/// The referrers whose code (or replaced code) has the lookup `key`, and their names joined
/// for the note; `None` when the text is no one's code.
async fn referrers_of_code(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<(Vec<i64>, String)>, AppError> {
    let replaced: Vec<i64> = replaced_code::Entity::find()
        .select_only()
        .column(replaced_code::Column::ReferrerId)
        .filter(replaced_code::Column::CodeKey.eq(key))
        .into_tuple::<i64>()
        .all(db)
        .await
        .map_err(|e| AppError::internal("lead_lists::search replaced codes", e))?;
    let found: Vec<(i64, String)> = referrer::Entity::find()
        .select_only()
        .column(referrer::Column::Id)
        .column(referrer::Column::Name)
        .filter(
            Condition::any()
                .add(referrer::Column::CodeKey.eq(key))
                .add(referrer::Column::Id.is_in(replaced)),
        )
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| AppError::internal("lead_lists::search codes", e))?;
    if found.is_empty() {
        return Ok(None);
    }
    let names = found
        .iter()
        .map(|(_, name)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some((found.into_iter().map(|(id, _)| id).collect(), names)))
}

/// A lead's email key (a normalized email, or a phone's key) is `key`: one entry of the index
/// `ix_leads_email_key`, which PostgreSQL built in the "C" collation (see [`prefix_range`]); an
/// equality in the column's own collation could not use it and read every lead instead (80 ms
/// at a million). Equality is byte equality in either collation, so the answer is the same.
fn email_key_is(backend: DatabaseBackend, key: &str) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust_with_values(
            r#""leads"."email_normalized" COLLATE "C" = $1"#,
            [key.to_owned()],
        ),
        _ => lead::Column::EmailNormalized.eq(key.to_owned()),
    }
}

/// `column` starts with `prefix`, as one range of its index. PostgreSQL compares in the "C"
/// collation, as its index was built (see the migration `lead_search`); SQLite's default
/// collation already compares bytes.
fn prefix_range(
    backend: DatabaseBackend,
    column: lead::Column,
    column_sql: &str,
    prefix: &str,
) -> SimpleExpr {
    let upper = search::prefix_successor(prefix);
    match backend {
        DatabaseBackend::Postgres => {
            let lower = Expr::cust_with_values(
                format!(r#""leads"."{column_sql}" COLLATE "C" >= $1"#),
                [prefix.to_owned()],
            );
            match upper {
                Some(upper) => lower.and(Expr::cust_with_values(
                    format!(r#""leads"."{column_sql}" COLLATE "C" < $1"#),
                    [upper],
                )),
                None => lower,
            }
        }
        _ => {
            let lower = column.gte(prefix.to_owned());
            match upper {
                Some(upper) => lower.and(column.lt(upper)),
                None => lower,
            }
        }
    }
}

/// `size` leads of `query` past the cursor `after`, in wire form.
async fn page_of(
    db: &impl ConnectionTrait,
    query: &LeadQuery,
    after: Option<i64>,
    size: u64,
) -> Result<Page<Lead>, AppError> {
    let (rows, next_cursor) = match query.order {
        LeadOrder::Created(order) => {
            paging::keyset(
                db,
                query.select.clone(),
                lead::Column::Id,
                after,
                order,
                size,
                |r| r.id,
                "lead_lists::page",
            )
            .await?
        }
        LeadOrder::Amount => by_amount(db, query.select.clone(), after, size).await?,
    };
    Ok(Page {
        items: to_wire_many(db, &rows).await?,
        next_cursor,
    })
}

/// `size` leads of `select`, largest amount first, past the lead `after` (the cursor stays a
/// lead id, so links and the API keep one shape: the amount is looked up from it). Read in
/// `(amount_minor, id)` order from the amount indexes.
async fn by_amount(
    db: &impl ConnectionTrait,
    mut select: Select<lead::Entity>,
    after: Option<i64>,
    size: u64,
) -> Result<(Vec<lead::Model>, Option<i64>), AppError> {
    use sea_orm::QueryOrder;
    let err = |e| AppError::internal("lead_lists::by_amount", e);
    if let Some(after) = after {
        let amount: Option<i64> = lead::Entity::find_by_id(after)
            .select_only()
            .column(lead::Column::AmountMinor)
            .into_tuple()
            .one(db)
            .await
            .map_err(err)?;
        let Some(amount) = amount else {
            // The cursor's lead is gone (deleted with its referrer): nothing sorts after it.
            return Ok((Vec::new(), None));
        };
        // `amount <= a` bounds the index range; the rest skips what the last page showed.
        select = select.filter(lead::Column::AmountMinor.lte(amount)).filter(
            Condition::any()
                .add(lead::Column::AmountMinor.lt(amount))
                .add(lead::Column::Id.lt(after)),
        );
    }
    let mut rows = select
        .order_by_desc(lead::Column::AmountMinor)
        .order_by_desc(lead::Column::Id)
        .limit(size + 1)
        .all(db)
        .await
        .map_err(err)?;
    let next_cursor = if rows.len() as u64 > size {
        rows.truncate(size as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next_cursor))
}

/// Rows in wire form: two queries for the referrers' names and the campaigns' slugs.
async fn to_wire_many(
    db: &impl ConnectionTrait,
    rows: &[lead::Model],
) -> Result<Vec<Lead>, AppError> {
    let referrer_ids: Vec<i64> = rows.iter().filter_map(|r| r.referrer_id).collect();
    let names: HashMap<i64, String> = referrer::Entity::find()
        .select_only()
        .column(referrer::Column::Id)
        .column(referrer::Column::Name)
        .filter(referrer::Column::Id.is_in(referrer_ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await
        .map_err(|e| AppError::internal("lead_lists::names", e))?
        .into_iter()
        .collect();
    let slugs = campaigns::slugs_of(db, rows.iter().map(|r| r.campaign_id)).await?;
    Ok(rows
        .iter()
        .map(|row| {
            to_wire(
                row,
                slugs.get(&row.campaign_id).map_or("", String::as_str),
                row.referrer_id.and_then(|id| names.get(&id).cloned()),
            )
        })
        .collect())
}

/// The header row of a leads export.
pub const EXPORT_HEADER: &str = "lead_id,campaign,name,email,phone,referrer_id,referrer,source,status,flags,amount,currency,created_at\n";

/// A leads export, read batch by batch: each `next_chunk` is the CSV text of the next
/// `EXPORT_BATCH` leads (the header first), `None` once every lead of the view was given. The
/// filter is checked before the first byte, so a bad filter is an error page, not a broken file.
pub struct LeadExport {
    query: LeadQuery,
    cursor: Option<i64>,
    started: bool,
    done: bool,
}

impl LeadExport {
    /// Checks `filter` and prepares its export. The cursor in the filter is ignored: an export
    /// holds the whole view.
    pub async fn new(state: &AppState, filter: &LeadFilter) -> Result<LeadExport, AppError> {
        Ok(LeadExport {
            query: prepare(&state.db, filter).await?,
            cursor: None,
            started: false,
            done: false,
        })
    }

    /// The next part of the file.
    pub async fn next_chunk(&mut self, state: &AppState) -> Result<Option<String>, AppError> {
        if self.done {
            return Ok(None);
        }
        let page = page_of(&state.db, &self.query, self.cursor, EXPORT_BATCH).await?;
        let mut out = String::new();
        if !self.started {
            out.push_str(EXPORT_HEADER);
            self.started = true;
        }
        for lead in &page.items {
            let fields = [
                lead.id.to_string(),
                lead.campaign.clone(),
                lead.name.clone().unwrap_or_default(),
                lead.email.clone(),
                lead.phone.clone().unwrap_or_default(),
                lead.referrer_id.map(|v| v.to_string()).unwrap_or_default(),
                lead.referrer_name.clone().unwrap_or_default(),
                lead.source.clone(),
                lead.status.clone(),
                lead.flags.join(" "),
                if lead.amount_minor == 0 && lead.amount_currency.is_none() {
                    String::new()
                } else {
                    crate::domain::rules::format_decimal(
                        lead.amount_minor,
                        lead.amount_currency.as_deref(),
                    )
                },
                lead.amount_currency.clone().unwrap_or_default(),
                lead.created_at.to_rfc3339(),
            ];
            out.push_str(&crate::domain::csv::line(&fields));
        }
        self.cursor = page.next_cursor;
        self.done = page.next_cursor.is_none();
        Ok(Some(out))
    }
}
