//! The minute buckets detection reads: every port at once, in time order.

use futures_util::TryStreamExt;
use sqlx::SqlitePool;

use super::codec::{self, class_code, series_columns};
use crate::error::db;
use crate::reduce;
use crate::{MinuteBucket, MinutesQuery, StoreError, TimeRange};

const MINUTE: i64 = 60;

pub(crate) async fn minutes(
    pool: &SqlitePool,
    q: &MinutesQuery,
) -> Result<Vec<MinuteBucket>, StoreError> {
    let (from, to) = q.range.secs()?;
    let mut conn = pool.acquire().await.map_err(db("starting a read"))?;
    // The primary key leads with (width, start, class, proto, port): a range
    // scan in exactly the order wanted, rows of other classes skipped.
    let mut rows = sqlx::query(concat!(
        "SELECT ",
        series_columns!(),
        " FROM series WHERE width = ? AND start >= ? AND start < ? AND class = ?
          ORDER BY start, proto, port"
    ))
    .bind(MINUTE)
    .bind(from)
    .bind(to)
    .bind(class_code(q.class))
    .fetch(&mut *conn);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await.map_err(db("reading minutes"))? {
        let key = codec::series_key(&row)?;
        let (bucket, active) = codec::series_bucket(&row)?;
        out.push(MinuteBucket {
            port: key.port,
            point: reduce::series_point(key.start, &bucket, active),
        });
    }
    Ok(out)
}

pub(crate) async fn active_minutes(
    pool: &SqlitePool,
    range: TimeRange,
) -> Result<Vec<i64>, StoreError> {
    let (from, to) = range.secs()?;
    sqlx::query_scalar(
        "SELECT DISTINCT start FROM series WHERE width = ? AND start >= ? AND start < ?
         ORDER BY start",
    )
    .bind(MINUTE)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db("reading the active minutes"))
}
