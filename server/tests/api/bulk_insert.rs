//! `db::insert_all`, the multi-row insert every batch write goes through.

use app::ssr::{
    db::{OnConflict, insert_all, insert_statements},
    entities::setting,
};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{DbBackend, EntityTrait, QueryOrder};

use crate::{helpers::TestApp, on_both_databases};

fn row(key: &str, value: &str, at: DateTime<Utc>) -> setting::ActiveModel {
    setting::ActiveModel::from(setting::Model {
        key: key.to_owned(),
        value: value.to_owned(),
        updated_at: at,
    })
}

async fn values_of(app: &TestApp) -> Vec<(String, String, DateTime<Utc>)> {
    setting::Entity::find()
        .order_by_asc(setting::Column::Key)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.key.starts_with("bulk"))
        .map(|s| (s.key, s.value, s.updated_at))
        .collect()
}

async fn repeated_values_are_bound_once_and_every_row_is_kept(app: TestApp) {
    let at = Utc::now().trunc_subsecs(6);
    let earlier = at - chrono::Duration::hours(1);
    assert_eq!(
        insert_all(
            &app.db,
            vec![row("bulk0", "old", earlier)],
            OnConflict::Fail
        )
        .await
        .unwrap(),
        1
    );
    // `value` and `updated_at` are the same in every row, `key` is not.
    let rows = || {
        (0..5)
            .map(|i| row(&format!("bulk{i}"), "same", at))
            .collect::<Vec<_>>()
    };
    let statements = insert_statements(DbBackend::Sqlite, rows(), OnConflict::Fail).unwrap();
    assert_eq!(statements.len(), 1);
    let values = statements[0].values.as_ref().unwrap();
    assert_eq!(
        values.0.len(),
        2 + 5,
        "two shared values, then one key per row"
    );
    assert_eq!(
        statements[0].sql,
        "INSERT OR FAIL INTO \"settings\" (\"key\", \"value\", \"updated_at\") \
         SELECT column1, ?, ? FROM (VALUES (?), (?), (?), (?), (?)) WHERE true"
    );

    let written = insert_all(&app.db, rows(), OnConflict::Skip(&["key"]))
        .await
        .unwrap();
    assert_eq!(written, 4, "the existing key is skipped and not counted");
    let mut expected = vec![("bulk0".to_owned(), "old".to_owned(), earlier)];
    expected.extend((1..5).map(|i| (format!("bulk{i}"), "same".to_owned(), at)));
    assert_eq!(values_of(&app).await, expected);

    let changed = vec![row("bulk1", "new", at), row("bulk2", "new", at)];
    let written = insert_all(
        &app.db,
        changed,
        OnConflict::Update {
            key: &["key"],
            columns: &["value"],
        },
    )
    .await
    .unwrap();
    assert_eq!(written, 2);
    let values: Vec<String> = values_of(&app).await.into_iter().map(|v| v.1).collect();
    assert_eq!(values, ["old", "new", "new", "same", "same"]);

    // More rows than SQLite's limit of terms in a compound SELECT (500), in one statement.
    let many: Vec<_> = (0..1_200)
        .map(|i| row(&format!("bulkmany{i:04}"), "same", at))
        .collect();
    assert_eq!(
        insert_statements(DbBackend::Sqlite, many.clone(), OnConflict::Fail)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        insert_all(&app.db, many, OnConflict::Fail).await.unwrap(),
        1_200
    );
    assert_eq!(values_of(&app).await.len(), 5 + 1_200);
}

on_both_databases!(repeated_values_are_bound_once_and_every_row_is_kept);
