"""Prints the SQL of the CSV-import floor for `scripts/bench-import.sh`.

The rows Handoff writes for each row of the benchmark's file (a lead, a conversion event, a
reward and one timeline entry, with the engine's texts and timestamp format), inserted by
`sqlite3` itself with set-based INSERT ... SELECT from the bare table `b.bare`, written as
Handoff's import writes them: `INSERT OR FAIL`, no foreign-key checks (see `db::own_writer`), the
lead's amount set, and as many rows per transaction as the import commits on SQLite when no other
writer waits (50,000: `imports::CommitPolicy`; TXN_ROWS=N in the environment sets another number).
No application writes those rows faster through SQLite.

    python3 scripts/import-floor-sql.py ROWS > floor.sql

With `--least`, it prints instead the least any importer that does what issue 3's section 2
asks could write, for an empty database: per row a lead, a conversion event, a reward and a
timeline entry, each table with a handful of short columns, no timestamps, and only the unique
keys section 2 asks for (lead per campaign and email, event per source and id, reward per rule,
lead and recipient), none of the indexes the admin needs. No importer reaches a higher ratio to
`.import` than this one.

    python3 scripts/import-floor-sql.py ROWS --least > least.sql
"""

import os
import sys

rows = int(sys.argv[1])
# Rows per transaction of the floor (not of `--least`, which has no index that takes rows at
# random places, so bigger transactions change little there).
TXN_ROWS = int(os.environ.get("TXN_ROWS", "50000"))


def least():
    """The least a conforming importer writes, into an empty database."""
    print(
        "pragma journal_mode=wal; pragma synchronous=normal; pragma cache_size=-16000;"
        " pragma foreign_keys=off;"
    )
    print(
        "create table leads(id integer primary key, campaign_id integer not null,"
        " referrer_id integer, email text not null, status text not null);"
        " create unique index ux_leads on leads(campaign_id, email);"
        " create table events(id integer primary key, source text not null,"
        " event_id text not null, lead_id integer, amount integer);"
        " create unique index ux_events on events(source, event_id);"
        " create table rewards(id integer primary key, rule_id integer, lead_id integer,"
        " recipient text, status text);"
        " create unique index ux_rewards on rewards(rule_id, lead_id, recipient);"
        " create table timeline(id integer primary key, lead_id integer, kind text);"
    )
    print("attach 'bare.db' as b;")
    for start in range(1, rows + 1, 10000):
        src = f"from b.bare where rowid between {start} and {min(start + 9999, rows)}"
        print("begin;")
        print(f"insert into leads select rowid, 1, rowid % 100, email, 'qualified' {src};")
        print(
            "insert into events select rowid, 'csv', order_id, rowid,"
            f" cast(amount * 100 as integer) {src};"
        )
        print(f"insert into rewards select rowid, 1, rowid, 'referrer', 'due' {src};")
        print(f"insert into timeline select rowid, rowid, 'captured' {src};")
        print("commit;")


if "--least" in sys.argv[2:]:
    least()
    sys.exit(0)

now = "'2026-11-26T02:41:48.986219113+00:00'"
# Foreign keys off, as on the connection Handoff's import writes through (they were on until
# 2026-11-26's last session, when the import stopped checking them: see docs/BENCHMARKS.md).
print(
    "pragma journal_mode=wal; pragma synchronous=normal; pragma cache_size=-16000;"
    " pragma foreign_keys=off;"
)
print("attach 'bare.db' as b;")
print(
    "create temp table k as select"
    " (select id from campaigns where slug = 'bench') as campaign,"
    " (select min(id) from referrers) as first_referrer,"
    " (select id from reward_rules where retired_at is null limit 1) as rule,"
    " (select coalesce(max(id), 0) from leads) as base;"
)
timeline = [
    (
        "captured",
        "'Event \"purchase\" of USD ' || amount || ' (id ' || order_id || ') arrived from csv"
        " with code ' || referral_code || '; credited to Referrer 1; the lead qualifies."
        " Reward for the referrer: Thank-you reward, due now.'",
    ),
]
for start in range(1, rows + 1, TXN_ROWS):
    end = min(start + TXN_ROWS - 1, rows)
    row = "b.bare.rowid"
    src = f"from b.bare, temp.k where {row} between {start} and {end}"
    referrer = f"first_referrer + {row} % 100"
    print("begin;")
    print(
        "insert or fail into leads(id, campaign_id, referrer_id, email, email_normalized, source, status,"
        " flags, created_at, updated_at, qualified_at, qualifying_event_id, amount_minor,"
        " amount_currency)"
        f" select base + {row}, campaign, {referrer}, email, email, 'code', 'qualified', '',"
        f" {now}, {now}, {now}, {row}, cast(amount * 100 as integer), currency {src};"
    )
    print(
        "insert or fail into conversion_events(id, campaign_id, source, event_id, name, lead_id,"
        " referrer_id, email, code, amount_minor, currency, occurred_at, outcome, response,"
        " created_at)"
        f" select {row}, campaign, 'csv', order_id, 'purchase', base + {row}, {referrer}, email,"
        " referral_code, cast(amount * 100 as integer), currency, date || 'T00:00:00+00:00',"
        f" 'qualified', '', {now} {src};"
    )
    print(
        "insert or fail into rewards(id, campaign_id, rule_id, lead_id, referrer_id, recipient, kind,"
        " description, status, milestone, dedupe_key, conversion_event_id, due_at, clawback,"
        " created_at, updated_at)"
        f" select {row}, campaign, rule, base + {row}, {referrer}, 'referrer', 'custom',"
        " 'Thank-you reward', 'due', 0,"
        f" 'r' || rule || ':lead' || (base + {row}) || ':referrer', {row}, {now}, 0, {now}, {now}"
        f" {src};"
    )
    for kind, detail in timeline:
        print(
            "insert or fail into lead_events(lead_id, kind, detail, created_at)"
            f" select base + {row}, '{kind}', {detail}, {now} {src};"
        )
    print("commit;")
