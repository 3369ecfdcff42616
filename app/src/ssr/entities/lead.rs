//! The `leads` table.

use sea_orm::entity::prelude::*;

/// A referred person (the friend).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub referrer_id: Option<i64>,
    pub name: Option<String>,
    pub email: String,
    pub email_normalized: String,
    pub source: String,
    pub status: String,
    pub flags: String,
    pub ip_hash: Option<String>,
    pub qualified_at: Option<ChronoDateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub status_reason: Option<String>,
    pub qualifying_event_id: Option<i64>,
    /// The friend's phone number as typed, when the sales desk recorded one.
    pub phone: Option<String>,
    /// The admin account that recorded this lead by hand at the sales desk.
    pub entered_by: Option<i64>,
    /// The name folded for prefix search (`domain::search::name_key`).
    pub name_key: Option<String>,
    /// The amount of the conversion it qualified with, in minor units (0 without one): what
    /// the Leads tab sorts by.
    pub amount_minor: i64,
    /// That conversion's currency.
    pub amount_currency: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
