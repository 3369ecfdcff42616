//! Handoff's database schema as sea-orm migrations.
//!
//! Migrations are immutable once landed: a schema change is a new file. They run on SQLite and
//! PostgreSQL alike, so they keep to what SeaQuery's SQLite backend supports: one change per
//! `ALTER TABLE`, foreign keys only inside `CREATE TABLE`, enums stored as strings.

pub use sea_orm_migration::prelude::*;

mod indexes;

mod m20261125_000001_initial;
mod m20261125_000002_rewards;
mod m20261126_000003_import_default_event;
mod m20261126_000004_min_amount_currency;
mod m20261126_000005_api_key_access;
mod m20261204_000006_referrer_side;
mod m20261204_000007_email_templates;
mod m20261205_000008_campaign_logos;
mod m20261205_000009_leads_by_referrer_status;
mod m20261205_000010_email_sender;
mod m20261205_000011_import_digests;
mod m20261205_000012_rewards_by_referrer;
mod m20261206_000013_print_studio;
mod m20261207_000014_sales_desk;
mod m20261207_000015_referrer_state;
mod m20261207_000016_lead_search;
mod m20261207_000017_audit_log;
mod m20261207_000018_merged_links;
mod m20261207_000019_counters;
mod m20261207_000020_admin_at_scale;
mod m20261207_000021_lead_amount;
mod m20261207_000022_crm_sync;
mod m20261207_000023_fair_deliveries;
mod m20261207_000024_share_widget;
mod m20261207_000025_hashed_sessions;

/// Sets every maintained counter from scratch (see the counters migration).
pub use m20261207_000019_counters::rebuild as rebuild_counters;

/// Runs every migration in order; `Migrator::up(&db, None)` brings a database to the current schema.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_initial::Migration),
            Box::new(m20261125_000002_rewards::Migration),
            Box::new(m20261126_000003_import_default_event::Migration),
            Box::new(m20261126_000004_min_amount_currency::Migration),
            Box::new(m20261126_000005_api_key_access::Migration),
            Box::new(m20261204_000006_referrer_side::Migration),
            Box::new(m20261204_000007_email_templates::Migration),
            Box::new(m20261205_000008_campaign_logos::Migration),
            Box::new(m20261205_000009_leads_by_referrer_status::Migration),
            Box::new(m20261205_000010_email_sender::Migration),
            Box::new(m20261205_000011_import_digests::Migration),
            Box::new(m20261205_000012_rewards_by_referrer::Migration),
            Box::new(m20261206_000013_print_studio::Migration),
            Box::new(m20261207_000014_sales_desk::Migration),
            Box::new(m20261207_000015_referrer_state::Migration),
            Box::new(m20261207_000016_lead_search::Migration),
            Box::new(m20261207_000017_audit_log::Migration),
            Box::new(m20261207_000018_merged_links::Migration),
            Box::new(m20261207_000019_counters::Migration),
            Box::new(m20261207_000020_admin_at_scale::Migration),
            Box::new(m20261207_000021_lead_amount::Migration),
            Box::new(m20261207_000022_crm_sync::Migration),
            Box::new(m20261207_000023_fair_deliveries::Migration),
            Box::new(m20261207_000024_share_widget::Migration),
            Box::new(m20261207_000025_hashed_sessions::Migration),
        ]
    }
}
