//! The `campaigns` table.

use sea_orm::entity::prelude::*;

/// A referral program.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub landing_url: Option<String>,
    pub codes_enabled: bool,
    pub code_style: String,
    pub code_prefix: Option<String>,
    pub brand_color: String,
    pub logo_url: Option<String>,
    pub status: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub portal_headline: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub portal_intro: Option<String>,
    /// What a referrer (and a friend) earns, in the campaign's own words.
    #[sea_orm(column_type = "Text", nullable)]
    pub reward_text: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub terms_url: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub portal_footer: Option<String>,
    /// Whether people may join on the portal entrance.
    pub signup_open: bool,
    /// Origins that may embed the portal in a frame, separated by spaces.
    #[sea_orm(column_type = "Text", nullable)]
    pub frame_ancestors: Option<String>,
    /// The name emails about this campaign come from (instead of the campaign's name).
    pub email_sender_name: Option<String>,
    /// Where replies to this campaign's emails go (instead of the installation's reply-to).
    pub email_reply_to: Option<String>,
    /// The share widget's settings (`domain::widget::WidgetSettings` as JSON); NULL: off.
    #[sea_orm(column_type = "Text", nullable)]
    pub widget_settings: Option<String>,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
