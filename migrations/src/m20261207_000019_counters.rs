//! Maintained counters: the numbers the admin's overview, the Referrers tab and the portal show,
//! kept up to date by the database itself instead of counted per request.
//!
//! Why triggers and not the services: every path that writes clicks, leads or rewards (the
//! friend form, the import engine, the sales desk, merges, deletes, and whatever comes next)
//! then counts the same way, in the same transaction as its write, on SQLite and PostgreSQL,
//! and no future path can forget to. SQLite runs one statement per counter for each row;
//! PostgreSQL runs one grouped statement per counter for each statement (transition tables), so a
//! 10,000-row batch touches each counter row once.
//!
//! Each counter is a [`Projection`]: which counter row one source row adds to, and what it adds.
//! The triggers add a new row's projection and take away an old row's; [`rebuild`] sums every
//! row's projection from scratch (the backfill, and the check that the triggers agree).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

/// The migration.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000019_counters"
    }
}

/// The counter tables. Keys first; every other column is a count that starts at 0.
const TABLES: [&str; 4] = [
    "CREATE TABLE referrer_totals (
        referrer_id BIGINT NOT NULL,
        campaign_id BIGINT NOT NULL,
        clicks BIGINT NOT NULL DEFAULT 0,
        leads BIGINT NOT NULL DEFAULT 0,
        qualified BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (referrer_id, campaign_id)
    )",
    "CREATE TABLE campaign_days (
        campaign_id BIGINT NOT NULL,
        day VARCHAR(10) NOT NULL,
        clicks BIGINT NOT NULL DEFAULT 0,
        leads BIGINT NOT NULL DEFAULT 0,
        qualified BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, day)
    )",
    "CREATE TABLE campaign_channels (
        campaign_id BIGINT NOT NULL,
        channel VARCHAR(32) NOT NULL,
        clicks BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, channel)
    )",
    "CREATE TABLE campaign_rewards (
        campaign_id BIGINT NOT NULL,
        status VARCHAR(16) NOT NULL,
        currency VARCHAR(8) NOT NULL,
        rewards BIGINT NOT NULL DEFAULT 0,
        amount_minor BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, status, currency)
    )",
];

/// Top referrers of a campaign, and across campaigns, without sorting every referrer.
const INDEXES: [&str; 2] = [
    "CREATE INDEX referrer_totals_by_campaign ON referrer_totals (campaign_id, qualified, leads)",
    "CREATE INDEX referrer_totals_by_qualified ON referrer_totals (qualified, leads)",
];

/// The tables whose rows are counted.
const SOURCES: [&str; 3] = ["clicks", "leads", "rewards"];

/// What one row of `source` adds to one counter table. Expressions name the row's columns as
/// `{r}.column`; `when` says which rows count at all.
struct Projection {
    source: &'static str,
    target: &'static str,
    keys: Vec<(&'static str, String)>,
    counts: Vec<(&'static str, String)>,
    when: String,
}

/// A UTC day `YYYY-MM-DD` of a timestamp expression.
fn day(backend: DatabaseBackend, expr: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        // Timestamps are stored as UTC text that starts with the date.
        _ => format!("substr({expr}, 1, 10)"),
    }
}

/// Every counter.
fn projections(backend: DatabaseBackend) -> Vec<Projection> {
    let qualified = "CASE WHEN {r}.status = 'qualified' THEN 1 ELSE 0 END".to_owned();
    let one = || "1".to_owned();
    vec![
        Projection {
            source: "clicks",
            target: "referrer_totals",
            keys: vec![
                ("referrer_id", "{r}.referrer_id".into()),
                ("campaign_id", "{r}.campaign_id".into()),
            ],
            counts: vec![("clicks", one())],
            when: "1 = 1".into(),
        },
        Projection {
            source: "clicks",
            target: "campaign_days",
            keys: vec![
                ("campaign_id", "{r}.campaign_id".into()),
                ("day", day(backend, "{r}.created_at")),
            ],
            counts: vec![("clicks", one())],
            when: "1 = 1".into(),
        },
        Projection {
            source: "clicks",
            target: "campaign_channels",
            keys: vec![
                ("campaign_id", "{r}.campaign_id".into()),
                ("channel", "{r}.channel".into()),
            ],
            counts: vec![("clicks", one())],
            when: "1 = 1".into(),
        },
        Projection {
            source: "leads",
            target: "referrer_totals",
            keys: vec![
                ("referrer_id", "{r}.referrer_id".into()),
                ("campaign_id", "{r}.campaign_id".into()),
            ],
            counts: vec![("leads", one()), ("qualified", qualified.clone())],
            when: "{r}.referrer_id IS NOT NULL".into(),
        },
        Projection {
            source: "leads",
            target: "campaign_days",
            keys: vec![
                ("campaign_id", "{r}.campaign_id".into()),
                ("day", day(backend, "{r}.created_at")),
            ],
            counts: vec![("leads", one())],
            when: "1 = 1".into(),
        },
        // A lead counts as qualified on the day it qualified.
        Projection {
            source: "leads",
            target: "campaign_days",
            keys: vec![
                ("campaign_id", "{r}.campaign_id".into()),
                (
                    "day",
                    day(backend, "COALESCE({r}.qualified_at, {r}.created_at)"),
                ),
            ],
            counts: vec![("qualified", one())],
            when: "{r}.status = 'qualified'".into(),
        },
        Projection {
            source: "rewards",
            target: "campaign_rewards",
            keys: vec![
                ("campaign_id", "{r}.campaign_id".into()),
                ("status", "{r}.status".into()),
                ("currency", "COALESCE({r}.currency, '')".into()),
            ],
            counts: vec![
                ("rewards", one()),
                ("amount_minor", "COALESCE({r}.amount_minor, 0)".into()),
            ],
            when: "1 = 1".into(),
        },
    ]
}

impl Projection {
    /// The `ON CONFLICT` clause that adds to an existing counter row.
    fn conflict(&self) -> String {
        let updates = self
            .counts
            .iter()
            .map(|(c, _)| format!("{c} = {t}.{c} + excluded.{c}", t = self.target))
            .collect::<Vec<_>>()
            .join(", ");
        format!("ON CONFLICT ({}) DO UPDATE SET {updates}", self.key_list())
    }

    fn key_list(&self) -> String {
        self.keys
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn column_list(&self) -> String {
        self.keys
            .iter()
            .chain(self.counts.iter())
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Adds the projection of a SQLite trigger's single row (`NEW` or `OLD`) times `sign`.
    fn upsert_row(&self, row: &str, sign: &str) -> String {
        let exprs = self
            .keys
            .iter()
            .map(|(_, e)| e.replace("{r}", row))
            .chain(
                self.counts
                    .iter()
                    .map(|(_, e)| format!("{sign}({})", e.replace("{r}", row))),
            )
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {t} ({columns}) SELECT {exprs} WHERE {when} {conflict}",
            t = self.target,
            columns = self.column_list(),
            when = self.when.replace("{r}", row),
            conflict = self.conflict(),
        )
    }

    /// Adds the projections of whole sets of rows (`(table, sign)`: a table or a transition
    /// table), summed per key, skipping keys whose sums are all zero. Keys are written in order,
    /// so concurrent transactions lock counter rows in the same order.
    fn upsert_sets(&self, sets: &[(&str, &str)]) -> String {
        let selects = sets
            .iter()
            .map(|(from, sign)| {
                let exprs = self
                    .keys
                    .iter()
                    .map(|(c, e)| format!("{} AS {c}", e.replace("{r}", "r")))
                    .chain(
                        self.counts
                            .iter()
                            .map(|(c, e)| format!("{sign}({}) AS {c}", e.replace("{r}", "r"))),
                    )
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "SELECT {exprs} FROM {from} r WHERE {}",
                    self.when.replace("{r}", "r")
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let sums: Vec<String> = self
            .counts
            .iter()
            .map(|(c, _)| format!("SUM({c})"))
            .collect();
        let nonzero = sums
            .iter()
            .map(|s| format!("{s} <> 0"))
            .collect::<Vec<_>>()
            .join(" OR ");
        // `WHERE 1 = 1` keeps SQLite from reading `ON CONFLICT` as a join's `ON`.
        format!(
            "INSERT INTO {t} ({columns}) SELECT {keys}, {sums} FROM ({selects}) d \
             WHERE 1 = 1 GROUP BY {keys} HAVING {nonzero} ORDER BY {keys} {conflict}",
            t = self.target,
            columns = self.column_list(),
            keys = self.key_list(),
            sums = sums.join(", "),
            conflict = self.conflict(),
        )
    }
}

/// The triggers that keep the counters, for `backend`.
fn create_triggers(backend: DatabaseBackend) -> Vec<String> {
    let projections = projections(backend);
    let mut statements = Vec::new();
    for source in SOURCES {
        let of_source: Vec<&Projection> =
            projections.iter().filter(|p| p.source == source).collect();
        let sets = |sets: &[(&str, &str)]| {
            of_source
                .iter()
                .map(|p| format!("{};", p.upsert_sets(sets)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let row = |row: &str, sign: &str| {
            of_source
                .iter()
                .map(|p| format!("{};", p.upsert_row(row, sign)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        match backend {
            DatabaseBackend::Postgres => {
                statements.push(format!(
                    "CREATE FUNCTION count_{source}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
IF TG_OP = 'INSERT' THEN
{insert}
ELSIF TG_OP = 'DELETE' THEN
{delete}
ELSE
{update}
END IF;
RETURN NULL;
END $$",
                    insert = sets(&[("new_rows", "")]),
                    delete = sets(&[("old_rows", "-")]),
                    update = sets(&[("new_rows", ""), ("old_rows", "-")]),
                ));
                for (event, referencing) in [
                    ("INSERT", "NEW TABLE AS new_rows"),
                    ("DELETE", "OLD TABLE AS old_rows"),
                    ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                ] {
                    statements.push(format!(
                        "CREATE TRIGGER count_{source}_{e} AFTER {event} ON {source} \
                         REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION count_{source}()",
                        e = event.to_lowercase(),
                    ));
                }
            }
            _ => {
                // Only a change to a counted column can move a count (a lead's `updated_at`
                // changes often and must stay cheap).
                let watched = watched_columns(source);
                let changed = watched
                    .iter()
                    .map(|c| format!("OLD.{c} IS NOT NEW.{c}"))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                statements.push(format!(
                    "CREATE TRIGGER count_{source}_insert AFTER INSERT ON {source} BEGIN\n{}\nEND",
                    row("NEW", "")
                ));
                statements.push(format!(
                    "CREATE TRIGGER count_{source}_delete AFTER DELETE ON {source} BEGIN\n{}\nEND",
                    row("OLD", "-")
                ));
                statements.push(format!(
                    "CREATE TRIGGER count_{source}_update AFTER UPDATE ON {source} WHEN {changed} BEGIN\n{}\n{}\nEND",
                    row("OLD", "-"),
                    row("NEW", "")
                ));
            }
        }
    }
    statements
}

/// The columns of `source` that its counters read.
fn watched_columns(source: &str) -> &'static [&'static str] {
    match source {
        "clicks" => &["referrer_id", "campaign_id", "channel", "created_at"],
        "leads" => &[
            "referrer_id",
            "campaign_id",
            "status",
            "qualified_at",
            "created_at",
        ],
        _ => &["campaign_id", "status", "currency", "amount_minor"],
    }
}

/// Sets every counter from scratch: empties the counter tables and sums every row of the
/// counted tables. The migration's backfill, and `handoff recount` for a database whose
/// counters are in doubt (a restore from parts, a hand edit).
pub async fn rebuild<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for table in [
        "referrer_totals",
        "campaign_days",
        "campaign_channels",
        "campaign_rewards",
    ] {
        db.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    for projection in projections(backend) {
        db.execute_unprepared(&projection.upsert_sets(&[(projection.source, "")]))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for statement in TABLES.iter().chain(INDEXES.iter()) {
            db.execute_unprepared(statement).await?;
        }
        rebuild(db).await?;
        for statement in create_triggers(backend) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for source in SOURCES {
            for event in ["insert", "delete", "update"] {
                let drop = match backend {
                    DatabaseBackend::Postgres => {
                        format!("DROP TRIGGER count_{source}_{event} ON {source}")
                    }
                    _ => format!("DROP TRIGGER count_{source}_{event}"),
                };
                db.execute_unprepared(&drop).await?;
            }
            if backend == DatabaseBackend::Postgres {
                db.execute_unprepared(&format!("DROP FUNCTION count_{source}()"))
                    .await?;
            }
        }
        for table in [
            "referrer_totals",
            "campaign_days",
            "campaign_channels",
            "campaign_rewards",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {table}"))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_trigger_adds_one_row_without_grouping() {
        let projections = projections(DatabaseBackend::Sqlite);
        let sql = projections[3].upsert_row("OLD", "-");
        assert_eq!(
            sql,
            "INSERT INTO referrer_totals (referrer_id, campaign_id, leads, qualified) \
             SELECT OLD.referrer_id, OLD.campaign_id, -(1), -(CASE WHEN OLD.status = 'qualified' THEN 1 ELSE 0 END) \
             WHERE OLD.referrer_id IS NOT NULL \
             ON CONFLICT (referrer_id, campaign_id) DO UPDATE SET leads = referrer_totals.leads + excluded.leads, qualified = referrer_totals.qualified + excluded.qualified"
        );
    }

    #[test]
    fn a_statement_trigger_sums_new_and_old_rows_per_key() {
        let projections = projections(DatabaseBackend::Postgres);
        let sql = projections[2].upsert_sets(&[("new_rows", ""), ("old_rows", "-")]);
        assert!(
            sql.contains("FROM new_rows r WHERE 1 = 1 UNION ALL SELECT"),
            "{sql}"
        );
        assert!(sql.contains("-(1) AS clicks FROM old_rows r"), "{sql}");
        assert!(
            sql.contains("GROUP BY campaign_id, channel HAVING SUM(clicks) <> 0"),
            "{sql}"
        );
    }
}
