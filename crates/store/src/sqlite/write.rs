//! Merging batches into SQLite.
//!
//! A merge is one transaction: claim the batch id (a second claim finds it
//! taken and changes nothing), add the stream's record counts, then for each
//! UTC hour of the batch's minutes read the rows it will touch, merge them in
//! memory and write them back with multi-row upserts; the same for the
//! roll-ups and for source-days. Dropping the future or failing anywhere
//! rolls the transaction back, so a batch lands whole or not at all.

use std::collections::{BTreeMap, HashMap};

use futures_util::TryStreamExt;
use portwatch_aggregate::{Batch, PortBucket, SeriesKey};
use portwatch_core::BucketWidth;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::codec::{self, class_code, int, series_columns};
use crate::error::db;
use crate::plan::{self, Staged};
use crate::range::floor_to;
use crate::{LiveExtras, MergeOutcome, StoreError};

const DAY: i64 = 86_400;

/// Rows per multi-row statement (13 values each, far below SQLite's and
/// PostgreSQL's bind limits). Shorter tails are written in power-of-two
/// pieces so that only a handful of statement shapes get prepared and cached.
pub(super) const ROWS_PER_STATEMENT: usize = 256;

pub(crate) async fn merge_batch(
    pool: &SqlitePool,
    batch: &Batch,
    live: Option<&LiveExtras>,
) -> Result<MergeOutcome, StoreError> {
    // IMMEDIATE takes the write lock up front, so two writers queue on the
    // busy timeout instead of one failing when it upgrades from reading.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(db("starting a merge"))?;
    let claimed = sqlx::query(
        "INSERT INTO batches (stream, seq) VALUES (?, ?) ON CONFLICT (stream, seq) DO NOTHING",
    )
    .bind(&batch.id.stream)
    .bind(codec::seq(batch.id.seq))
    .execute(&mut *tx)
    .await
    .map_err(db("claiming a batch id"))?
    .rows_affected();
    if claimed == 0 {
        tx.rollback().await.map_err(db("ending a merge"))?;
        tracing::debug!(stream = %batch.id.stream, seq = batch.id.seq, "batch already merged");
        return Ok(MergeOutcome::AlreadyMerged);
    }
    merge_counts(&mut tx, batch).await?;
    merge_series(&mut tx, batch).await?;
    super::source_days::merge(&mut tx, batch).await?;
    if let Some(extras) = live {
        super::live::merge(&mut tx, &batch.id.stream, extras).await?;
    }
    tx.commit().await.map_err(db("committing a merge"))?;
    tracing::debug!(
        stream = %batch.id.stream,
        seq = batch.id.seq,
        minutes = batch.minutes.len(),
        sources = batch.sources.len(),
        "batch merged"
    );
    Ok(MergeOutcome::Merged)
}

pub(crate) async fn describe_stream(
    pool: &SqlitePool,
    stream: &str,
    label: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO streams (stream, label, batches) VALUES (?, ?, 0)
         ON CONFLICT (stream) DO UPDATE SET label = excluded.label",
    )
    .bind(stream)
    .bind(label)
    .execute(pool)
    .await
    .map_err(db("labelling a stream"))?;
    Ok(())
}

async fn merge_counts(conn: &mut SqliteConnection, batch: &Batch) -> Result<(), StoreError> {
    let c = &batch.counts;
    sqlx::query(
        "INSERT INTO streams (stream, label, batches, first_seen, last_seen) VALUES (?, NULL, 1, ?, ?)
         ON CONFLICT (stream) DO UPDATE SET
           batches = streams.batches + 1,
           first_seen = CASE WHEN streams.first_seen IS NULL OR excluded.first_seen < streams.first_seen
                             THEN excluded.first_seen ELSE streams.first_seen END,
           last_seen = CASE WHEN streams.last_seen IS NULL OR excluded.last_seen > streams.last_seen
                            THEN excluded.last_seen ELSE streams.last_seen END",
    )
    .bind(&batch.id.stream)
    .bind(c.first_seen.map(|t| t.0))
    .bind(c.last_seen.map(|t| t.0))
    .execute(&mut *conn)
    .await
    .map_err(db("counting a stream's batches"))?;
    for (name, n) in crate::reduce::counters(c) {
        sqlx::query(
            "INSERT INTO stream_counts (stream, name, n) VALUES (?, ?, ?)
             ON CONFLICT (stream, name) DO UPDATE SET n = stream_counts.n + excluded.n",
        )
        .bind(&batch.id.stream)
        .bind(name)
        .bind(int("record count", n)?)
        .execute(&mut *conn)
        .await
        .map_err(db("adding a stream's record counts"))?;
    }
    Ok(())
}

async fn merge_series(conn: &mut SqliteConnection, batch: &Batch) -> Result<(), StoreError> {
    use BucketWidth::{Day, FiveMinutes, Hour, Minute};
    let minutes = plan::by_time(batch);
    let none = HashMap::new();
    for day in plan::runs(&minutes, Day) {
        let mut new_in_day = HashMap::new();
        // The day's rows, summed from its hours as they are staged (a busy
        // port's day from 24 hour rows instead of 1,440 minutes).
        let mut day_sum: HashMap<SeriesKey, PortBucket> = HashMap::new();
        for hour in plan::runs(day, Hour) {
            let mut rows = plan::stage(hour, Minute, &none);
            absorb(conn, Minute, &mut rows).await?;
            let (mut new_5m, mut new_1h) = (HashMap::new(), HashMap::new());
            plan::count_new(&rows, FiveMinutes, &mut new_5m);
            plan::count_new(&rows, Hour, &mut new_1h);
            plan::count_new(&rows, Day, &mut new_in_day);
            // Roll up while SQLite (on its own thread) writes the minutes.
            let (written, (mut five, mut hourly)) = tokio::join!(
                biased;
                write_series(conn, Minute, &mut rows),
                async {
                    let five = plan::stage(hour, FiveMinutes, &new_5m);
                    let hourly = plan::stage_rows(&five, Hour, &new_1h);
                    for s in &hourly {
                        let key = SeriesKey {
                            start: floor_to(s.key.start, DAY),
                            ..s.key
                        };
                        day_sum.entry(key).or_default().merge(&s.bucket);
                    }
                    (five, hourly)
                }
            );
            written?;
            for (width, rows) in [(FiveMinutes, &mut five), (Hour, &mut hourly)] {
                absorb(conn, width, rows).await?;
                write_series(conn, width, rows).await?;
            }
        }
        let mut day_rows: Vec<(SeriesKey, PortBucket)> = day_sum.into_iter().collect();
        day_rows.sort_unstable_by_key(|(key, _)| *key);
        let mut rows = plan::staged(day_rows, Day, &new_in_day);
        absorb(conn, Day, &mut rows).await?;
        write_series(conn, Day, &mut rows).await?;
    }
    Ok(())
}

/// Merges what the store holds into `rows` (all of one width).
async fn absorb(
    conn: &mut SqliteConnection,
    width: BucketWidth,
    rows: &mut [Staged],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let index: HashMap<SeriesKey, usize> =
        rows.iter().enumerate().map(|(i, s)| (s.key, i)).collect();
    match width {
        // The rows of a batch's minutes (and their 5-minute buckets) are
        // about all there is in their time range: read it in one scan.
        BucketWidth::Minute | BucketWidth::FiveMinutes => {
            absorb_range(conn, width, rows, &index).await
        }
        // An hour or day holds far more ports than one batch of minutes
        // may touch: look up just the batch's keys.
        BucketWidth::Hour | BucketWidth::Day => absorb_keys(conn, width, rows, &index).await,
    }
}

async fn absorb_range(
    conn: &mut SqliteConnection,
    width: BucketWidth,
    rows: &mut [Staged],
    index: &HashMap<SeriesKey, usize>,
) -> Result<(), StoreError> {
    let lo = rows.iter().map(|s| s.key.start).min().unwrap_or(0);
    let hi = rows.iter().map(|s| s.key.start).max().unwrap_or(0) + width.secs();
    let mut found = sqlx::query(concat!(
        "SELECT ",
        series_columns!(),
        " FROM series WHERE width = ? AND start >= ? AND start < ?"
    ))
    .bind(width.secs())
    .bind(lo)
    .bind(hi)
    .fetch(&mut *conn);
    while let Some(row) = found
        .try_next()
        .await
        .map_err(db("reading series to merge"))?
    {
        if let Some(&i) = index.get(&codec::series_key(&row)?) {
            let (bucket, active) = codec::series_bucket(&row)?;
            rows[i].absorb(width, bucket, active);
        }
    }
    Ok(())
}

async fn absorb_keys(
    conn: &mut SqliteConnection,
    width: BucketWidth,
    rows: &mut [Staged],
    index: &HashMap<SeriesKey, usize>,
) -> Result<(), StoreError> {
    let mut groups: BTreeMap<(i64, i64, i64), Vec<i64>> = BTreeMap::new();
    for s in rows.iter() {
        let k = s.key;
        groups
            .entry((
                k.start,
                class_code(k.class),
                i64::from(k.port.proto.number()),
            ))
            .or_default()
            .push(i64::from(k.port.port));
    }
    for ((start, class, proto), ports) in groups {
        for chunk in pow2_chunks(&ports, ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT ");
            q.push(series_columns!())
                .push(" FROM series WHERE width = ")
                .push_bind(width.secs())
                .push(" AND start = ")
                .push_bind(start)
                .push(" AND class = ")
                .push_bind(class)
                .push(" AND proto = ")
                .push_bind(proto)
                .push(" AND port IN (");
            let mut list = q.separated(", ");
            for port in chunk {
                list.push_bind(*port);
            }
            q.push(")");
            let mut found = q.build().fetch(&mut *conn);
            while let Some(row) = found
                .try_next()
                .await
                .map_err(db("reading series to merge"))?
            {
                if let Some(&i) = index.get(&codec::series_key(&row)?) {
                    let (bucket, active) = codec::series_bucket(&row)?;
                    rows[i].absorb(width, bucket, active);
                }
            }
        }
    }
    Ok(())
}

/// A series row as bound values, converted (and range-checked) up front
/// because binding cannot fail halfway through a statement.
struct SeriesValues {
    ints: [i64; 12],
    sketches: Vec<u8>,
}

fn series_values(width: BucketWidth, s: &Staged) -> Result<SeriesValues, StoreError> {
    let (k, b) = (&s.key, &s.bucket);
    Ok(SeriesValues {
        ints: [
            width.secs(),
            k.start,
            floor_to(k.start, DAY),
            class_code(k.class),
            i64::from(k.port.proto.number()),
            i64::from(k.port.port),
            int("packets", b.packets)?,
            int("bytes", b.bytes)?,
            int("active minutes", s.active())?,
            int("sources", b.sources.estimate())?,
            b.first_seen.0,
            b.last_seen.0,
        ],
        sketches: codec::pack_sketches(b),
    })
}

/// Writes `rows` (all of one width), merged already, with multi-row upserts.
async fn write_series(
    conn: &mut SqliteConnection,
    width: BucketWidth,
    rows: &mut [Staged],
) -> Result<(), StoreError> {
    // In primary-key order, so that new rows append to the table's B-tree.
    rows.sort_unstable_by_key(|s| (s.key.start, s.key.class, s.key.port));
    let mut chunks = pow2_chunks(rows, ROWS_PER_STATEMENT);
    let mut next = chunks
        .next()
        .map(|c| series_statement(width, c))
        .transpose()?;
    while let Some(mut statement) = next.take() {
        let following = chunks.next();
        // Encode the next chunk while SQLite's thread writes this one.
        let (written, encoded) = tokio::join!(
            biased;
            statement.build().execute(&mut *conn),
            async { following.map(|c| series_statement(width, c)).transpose() }
        );
        written.map_err(db("writing series"))?;
        next = encoded?;
    }
    Ok(())
}

fn series_statement(
    width: BucketWidth,
    chunk: &[Staged],
) -> Result<QueryBuilder<Sqlite>, StoreError> {
    let values = chunk
        .iter()
        .map(|s| series_values(width, s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO series (width, start, day, class, proto, port, packets, bytes, \
         active_minutes, sources, first_seen, last_seen, sketches) ",
    );
    q.push_values(values, |mut row, v| {
        for i in v.ints {
            row.push_bind(i);
        }
        row.push_bind(v.sketches);
    });
    q.push(
        " ON CONFLICT (width, start, class, proto, port) DO UPDATE SET \
         packets = excluded.packets, bytes = excluded.bytes, \
         active_minutes = excluded.active_minutes, sources = excluded.sources, \
         first_seen = excluded.first_seen, \
         last_seen = excluded.last_seen, sketches = excluded.sketches",
    );
    Ok(q)
}

/// Cuts `items` into pieces of `max`, then powers of two for the tail.
pub(crate) fn pow2_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = if rest.len() >= max {
            max
        } else {
            1 << rest.len().ilog2()
        };
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Some(head)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_few_shapes() {
        let v: Vec<u32> = (0..600).collect();
        let sizes: Vec<usize> = pow2_chunks(&v, 256).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![256, 256, 64, 16, 8]);
        assert_eq!(pow2_chunks(&v[..0], 256).count(), 0);
        assert_eq!(
            pow2_chunks(&v[..1], 256)
                .map(<[u32]>::len)
                .collect::<Vec<_>>(),
            vec![1]
        );
    }
}
