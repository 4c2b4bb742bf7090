//! Report queries over SQLite. Each runs in one read transaction, so a
//! query that reads several tiles sees one snapshot even while batches merge.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use futures_util::TryStreamExt;
use portwatch_aggregate::{ClassCounts, SourceStats};
use portwatch_core::{PortKey, Timestamp};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::codec::{self, class_code, series_columns, source_columns, uint};
use crate::error::db;
use crate::range::{ceil_to, floor_to, tiles};
use crate::reduce;
use crate::{
    PortTotals, SeriesPoint, SeriesQuery, SourceTotals, SourcesQuery, StoreError, StoreTotals,
    StreamTotals, TopPortsQuery,
};

const DAY: i64 = 86_400;

/// Days listed in one series statement.
pub(super) const DAYS_PER_STATEMENT: usize = 256;

pub(crate) async fn top_ports(
    pool: &SqlitePool,
    q: &TopPortsQuery,
) -> Result<Vec<PortTotals>, StoreError> {
    let (from, to) = q.range.secs()?;
    let mut tx = pool.begin().await.map_err(db("starting a read"))?;
    let ports = super::top::merged_ports(&mut tx, q, &tiles(from, to)).await?;
    let mut out: Vec<PortTotals> = ports
        .into_iter()
        .map(|(port, m)| m.into_port_totals(port))
        .collect();
    reduce::rank_ports(&mut out, q.order, q.limit);
    Ok(out)
}

pub(crate) async fn port_totals(
    pool: &SqlitePool,
    class: portwatch_aggregate::SeriesClass,
    port: portwatch_core::PortKey,
    range: crate::TimeRange,
) -> Result<Option<PortTotals>, StoreError> {
    let (from, to) = range.secs()?;
    let q = TopPortsQuery {
        class,
        range,
        limit: 1,
        order: crate::Order::Sources,
        proto: Some(port.proto),
    };
    let mut tx = pool.begin().await.map_err(db("starting a read"))?;
    let merged = super::top::one_port(&mut tx, &q, &tiles(from, to), port).await?;
    Ok(merged.map(|m| m.into_port_totals(port)))
}

/// The first and last day with data, if any.
pub(super) async fn day_span(
    conn: &mut SqliteConnection,
) -> Result<Option<(i64, i64)>, StoreError> {
    let (first, last): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT MIN(start), MAX(start) FROM series WHERE width = ?")
            .bind(DAY)
            .fetch_one(conn)
            .await
            .map_err(db("reading the span of the series"))?;
    Ok(first.zip(last))
}

/// The days that overlap `[lo, hi)` and lie in `span` (first and last day).
pub(super) fn days(lo: i64, hi: i64, span: (i64, i64)) -> Vec<i64> {
    (floor_to(lo, DAY).max(span.0)..hi.min(span.1 + DAY))
        .step_by(DAY as usize)
        .collect()
}

pub(crate) async fn series(
    pool: &SqlitePool,
    q: &SeriesQuery,
) -> Result<Vec<SeriesPoint>, StoreError> {
    let (from, to) = q.range.secs()?;
    if from >= to {
        return Ok(Vec::new());
    }
    let w = q.width.secs();
    let (lo, hi) = (floor_to(from, w), ceil_to(to, w));
    let mut tx = pool.begin().await.map_err(db("starting a read"))?;
    // The index seeks once per day, so list the days, but only those the
    // store has data for (a range may be open or reach far beyond it).
    let Some(span) = day_span(&mut tx).await? else {
        return Ok(Vec::new());
    };
    let days = days(lo, hi, span);
    let mut out = Vec::new();
    for chunk in days.chunks(DAYS_PER_STATEMENT) {
        // Named, because without statistics SQLite prefers the primary key's
        // range on `start`, which reads every port's rows.
        let mut sql = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            series_columns!(),
            " FROM series INDEXED BY series_by_port"
        ));
        sql.push(" WHERE width = ")
            .push_bind(w)
            .push(" AND day IN (");
        let mut list = sql.separated(", ");
        for d in chunk {
            list.push_bind(*d);
        }
        sql.push(") AND class = ")
            .push_bind(class_code(q.class))
            .push(" AND proto = ")
            .push_bind(i64::from(q.port.proto.number()))
            .push(" AND port = ")
            .push_bind(i64::from(q.port.port))
            .push(" AND start >= ")
            .push_bind(lo)
            .push(" AND start < ")
            .push_bind(hi);
        let mut rows = sql.build().fetch(&mut *tx);
        while let Some(row) = rows.try_next().await.map_err(db("reading a series"))? {
            let key = codec::series_key(&row)?;
            let (bucket, active) = codec::series_bucket(&row)?;
            out.push(reduce::series_point(key.start, &bucket, active));
        }
    }
    out.sort_by_key(|p| p.start);
    Ok(out)
}

pub(crate) async fn sources(
    pool: &SqlitePool,
    q: &SourcesQuery,
) -> Result<Vec<SourceTotals>, StoreError> {
    let (from, to) = q.range.secs()?;
    if from >= to {
        return Ok(Vec::new());
    }
    let first_day = floor_to(from, DAY);
    // With a port, most rows are other sources'. A source counts if it
    // probed the port on any day of the range, so over several days the
    // addresses are found first; over one day a row without the port is
    // the source's only row and is skipped at once. Either way only the
    // kept rows' sketches are decoded and merged: decoding every row made
    // attributing an alert on a 170k-source day take over a second.
    let mut tx = pool.begin().await.map_err(db("starting a read"))?;
    let wanted = match q.port {
        Some(port) if to - first_day > DAY => {
            Some(sources_probing(&mut tx, first_day, to, port).await?)
        }
        _ => None,
    };
    let mut rows = sqlx::query(concat!(
        "SELECT ",
        source_columns!(),
        " FROM source_days WHERE day >= ? AND day < ?"
    ))
    .bind(first_day)
    .bind(to)
    .fetch(&mut *tx);
    let mut merged: HashMap<IpAddr, SourceStats> = HashMap::new();
    while let Some(row) = rows.try_next().await.map_err(db("reading sources"))? {
        let addr = codec::source_addr(&row)?;
        if wanted.as_ref().is_some_and(|w| !w.contains(&addr)) {
            continue;
        }
        let ports = codec::source_ports(&row)?;
        if wanted.is_none() && q.port.is_some_and(|p| !ports.contains(p)) {
            continue;
        }
        let stats = codec::source_stats(&row, ports)?;
        merged.entry(addr).or_default().merge(&stats);
    }
    // Every source kept probed the port (if any) on some day of the range;
    // its totals are over the whole range.
    let mut out: Vec<SourceTotals> = merged
        .into_iter()
        .map(|(addr, s)| reduce::source_totals(addr, s))
        .collect();
    reduce::rank_sources(&mut out, q.order, q.limit);
    Ok(out)
}

/// The sources that probed `port` on some day in `[first_day, to)`.
async fn sources_probing(
    conn: &mut SqliteConnection,
    first_day: i64,
    to: i64,
    port: PortKey,
) -> Result<HashSet<IpAddr>, StoreError> {
    let mut rows = sqlx::query("SELECT addr, ports FROM source_days WHERE day >= ? AND day < ?")
        .bind(first_day)
        .bind(to)
        .fetch(conn);
    let mut out = HashSet::new();
    while let Some(row) = rows.try_next().await.map_err(db("reading sources"))? {
        if codec::port_set_at(&row, 1)?.contains(port) {
            out.insert(codec::source_addr(&row)?);
        }
    }
    Ok(out)
}

pub(crate) async fn source(
    pool: &SqlitePool,
    addr: IpAddr,
    range: crate::TimeRange,
) -> Result<Option<SourceTotals>, StoreError> {
    let (from, to) = range.secs()?;
    if from >= to {
        return Ok(None);
    }
    // The key leads with the day, so this reads the range's days and
    // seeks the address within each.
    let mut rows = sqlx::query(concat!(
        "SELECT ",
        source_columns!(),
        " FROM source_days WHERE day >= ? AND day < ? AND addr = ?"
    ))
    .bind(floor_to(from, DAY))
    .bind(to)
    .bind(codec::addr_bytes(addr))
    .fetch(pool);
    let mut merged: Option<SourceStats> = None;
    while let Some(row) = rows.try_next().await.map_err(db("reading a source"))? {
        let stats = codec::source_stats(&row, codec::source_ports(&row)?)?;
        merged
            .get_or_insert_with(SourceStats::default)
            .merge(&stats);
    }
    Ok(merged.map(|s| reduce::source_totals(addr, s)))
}

pub(crate) async fn totals(pool: &SqlitePool) -> Result<StoreTotals, StoreError> {
    let mut tx = pool.begin().await.map_err(db("starting a read"))?;
    let streams = sqlx::query(
        "SELECT stream, label, batches, first_seen, last_seen FROM streams ORDER BY stream",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db("reading streams"))?;
    let mut per: BTreeMap<String, StreamTotals> = BTreeMap::new();
    for row in &streams {
        let get = |i| -> Result<Option<i64>, StoreError> {
            row.try_get(i).map_err(db("reading streams"))
        };
        let stream: String = row.try_get(0).map_err(db("reading streams"))?;
        let totals = StreamTotals {
            stream: stream.clone(),
            label: row.try_get(1).map_err(db("reading streams"))?,
            batches: uint("batch count", get(2)?.unwrap_or(0))?,
            counts: ClassCounts {
                first_seen: get(3)?.map(Timestamp),
                last_seen: get(4)?.map(Timestamp),
                ..Default::default()
            },
        };
        per.insert(stream, totals);
    }
    let counters = sqlx::query("SELECT stream, name, n FROM stream_counts")
        .fetch_all(&mut *tx)
        .await
        .map_err(db("reading stream counts"))?;
    for row in &counters {
        let stream: &str = row.try_get(0).map_err(db("reading stream counts"))?;
        let name: &str = row.try_get(1).map_err(db("reading stream counts"))?;
        let n = uint(
            "record count",
            row.try_get(2).map_err(db("reading stream counts"))?,
        )?;
        let Some(s) = per.get_mut(stream) else {
            return Err(StoreError::Corrupt {
                what: "stream counts of an unknown stream",
                value: stream.to_string(),
            });
        };
        reduce::add_counter(&mut s.counts, name, n)?;
    }
    let mut out = StoreTotals::default();
    for s in per.into_values() {
        out.counts.merge(&s.counts);
        out.batches += s.batches;
        out.streams += 1;
        out.per_stream.push(s);
    }
    Ok(out)
}
