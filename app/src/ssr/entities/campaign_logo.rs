//! The `campaign_logos` table.

use sea_orm::entity::prelude::*;

/// A campaign's uploaded logo: a PNG or JPEG checked on the way in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_logos")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    /// `image/png` or `image/jpeg`, from the bytes (never from the upload's own claim).
    pub content_type: String,
    #[sea_orm(column_type = "Blob")]
    pub bytes: Vec<u8>,
    /// Changes with the bytes: the ETag, and the `?v=` that lets caches keep a logo for long.
    pub etag: String,
    pub updated_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
