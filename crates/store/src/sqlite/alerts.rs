//! Stored alerts and their transitions.

use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::codec::port_from;
use crate::error::db;
use crate::{AlertRecord, AlertsQuery, StoreError, TransitionRecord};

pub(crate) async fn replace(pool: &SqlitePool, alerts: &[AlertRecord]) -> Result<(), StoreError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(db("starting to write alerts"))?;
    for table in ["DELETE FROM alert_transitions", "DELETE FROM alerts"] {
        sqlx::query(table)
            .execute(&mut *tx)
            .await
            .map_err(db("clearing alerts"))?;
    }
    for a in alerts {
        sqlx::query(
            "INSERT INTO alerts (id, proto, port, kind, state, onset, closed, doc)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.id)
        .bind(i64::from(a.port.proto.number()))
        .bind(i64::from(a.port.port))
        .bind(&a.kind)
        .bind(&a.state)
        .bind(a.onset)
        .bind(a.closed)
        .bind(&a.doc)
        .execute(&mut *tx)
        .await
        .map_err(db("writing an alert"))?;
        for (seq, t) in (0_i64..).zip(&a.transitions) {
            sqlx::query(
                "INSERT INTO alert_transitions (alert, seq, state, at, decided)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&a.id)
            .bind(seq)
            .bind(&t.state)
            .bind(t.at)
            .bind(t.decided)
            .execute(&mut *tx)
            .await
            .map_err(db("writing an alert transition"))?;
        }
    }
    tx.commit().await.map_err(db("committing alerts"))
}

pub(crate) async fn select(
    pool: &SqlitePool,
    q: &AlertsQuery,
) -> Result<Vec<AlertRecord>, StoreError> {
    let (from, to) = q.range.secs()?;
    let mut tx = pool.begin().await.map_err(db("starting a read"))?;
    let mut sql = QueryBuilder::<Sqlite>::new(
        "SELECT id, proto, port, kind, state, onset, closed, doc FROM alerts WHERE onset < ",
    );
    sql.push_bind(to)
        .push(" AND (closed IS NULL OR closed > ")
        .push_bind(from)
        .push(")");
    if q.open_only {
        sql.push(" AND closed IS NULL");
    }
    if let Some(p) = q.port {
        sql.push(" AND proto = ")
            .push_bind(i64::from(p.proto.number()))
            .push(" AND port = ")
            .push_bind(i64::from(p.port));
    }
    if let Some(id) = &q.id {
        sql.push(" AND id = ").push_bind(id.clone());
    }
    sql.push(" ORDER BY onset, proto, port, id");
    let rows = sql
        .build()
        .fetch_all(&mut *tx)
        .await
        .map_err(db("reading alerts"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let get = |e| db("reading an alert")(e);
        let id: String = row.try_get(0).map_err(get)?;
        let transitions = sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT state, at, decided FROM alert_transitions WHERE alert = ? ORDER BY seq",
        )
        .bind(&id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("reading alert transitions"))?
        .into_iter()
        .map(|(state, at, decided)| TransitionRecord { state, at, decided })
        .collect();
        out.push(AlertRecord {
            port: port_from(row.try_get(1).map_err(get)?, row.try_get(2).map_err(get)?)?,
            kind: row.try_get(3).map_err(get)?,
            state: row.try_get(4).map_err(get)?,
            onset: row.try_get(5).map_err(get)?,
            closed: row.try_get(6).map_err(get)?,
            doc: row.try_get(7).map_err(get)?,
            transitions,
            id,
        });
    }
    Ok(out)
}
