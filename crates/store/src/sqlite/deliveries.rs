//! What the publisher delivered: one row per (idempotency key, sink).

use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::error::db;
use crate::{DeliveriesQuery, StoreError, StoredDelivery};

pub(crate) async fn record(pool: &SqlitePool, d: &StoredDelivery) -> Result<(), StoreError> {
    // An upsert: a retry that succeeds replaces the failure it retried.
    sqlx::query(
        "INSERT INTO deliveries (key, sink, alert, event, outcome, attempts, recorded)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key, sink) DO UPDATE SET
           alert = excluded.alert, event = excluded.event, outcome = excluded.outcome,
           attempts = excluded.attempts, recorded = excluded.recorded",
    )
    .bind(&d.key)
    .bind(&d.sink)
    .bind(&d.alert)
    .bind(&d.event)
    .bind(&d.outcome)
    .bind(&d.attempts)
    .bind(d.recorded)
    .execute(pool)
    .await
    .map_err(db("recording a delivery"))?;
    Ok(())
}

type Row = (String, String, String, String, String, String, i64);

pub(crate) async fn select(
    pool: &SqlitePool,
    q: &DeliveriesQuery,
) -> Result<Vec<StoredDelivery>, StoreError> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "SELECT key, sink, alert, event, outcome, attempts, recorded FROM deliveries WHERE 1 = 1",
    );
    if let Some(sink) = &q.sink {
        sql.push(" AND sink = ").push_bind(sink.clone());
    }
    if let Some(alert) = &q.alert {
        sql.push(" AND alert = ").push_bind(alert.clone());
    }
    sql.push(" ORDER BY key, sink");
    let rows: Vec<Row> = sql
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(db("reading deliveries"))?;
    Ok(rows
        .into_iter()
        .map(
            |(key, sink, alert, event, outcome, attempts, recorded)| StoredDelivery {
                key,
                sink,
                alert,
                event,
                outcome,
                attempts,
                recorded,
            },
        )
        .collect())
}
