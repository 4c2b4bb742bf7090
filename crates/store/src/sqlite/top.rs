//! Top ports without merging every port's sketches.
//!
//! A range holds a long tail of ports seen once or twice; only a handful can
//! make the top. So first every port's packet count and bounds on its
//! distinct sources come from plain integer columns (the merged count is at
//! least the largest bucket's and at most their sum), then sketches are read
//! and merged only for the ports whose bounds reach the cut. The answer is the
//! same as merging everything; the test against the model checks it.

use std::collections::{BTreeMap, HashMap};

use futures_util::TryStreamExt;
use portwatch_core::PortKey;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::codec::{self, class_code, series_columns, uint};
use super::read::{DAYS_PER_STATEMENT, day_span, days};
use crate::error::db;
use crate::range::Tile;
use crate::reduce::Merged;
use crate::{Order, StoreError, TopPortsQuery};

/// Above this many candidates, one scan of everything is cheaper than
/// looking each up.
const MAX_CANDIDATES: usize = 2048;

/// Ports listed in one statement.
const PORTS_PER_STATEMENT: usize = 256;

/// Every port with data in `tiles`, its buckets merged; or, when `limit`
/// leaves most of them out, just the ports that can be among the best.
pub(crate) async fn merged_ports(
    conn: &mut SqliteConnection,
    q: &TopPortsQuery,
    tiles: &[Tile],
) -> Result<HashMap<PortKey, Merged>, StoreError> {
    let mut ports = HashMap::new();
    match candidates(conn, q, tiles).await? {
        None => {
            for tile in tiles {
                scan(conn, q, tile, &mut ports).await?;
            }
        }
        Some(keys) => {
            let Some(span) = day_span(conn).await? else {
                return Ok(ports);
            };
            let mut by_proto: BTreeMap<_, Vec<i64>> = BTreeMap::new();
            for k in keys {
                by_proto.entry(k.proto).or_default().push(i64::from(k.port));
            }
            for tile in tiles {
                let tile_days = days(tile.from, tile.to, span);
                for (proto, list) in &by_proto {
                    for port_chunk in list.chunks(PORTS_PER_STATEMENT) {
                        for day_chunk in tile_days.chunks(DAYS_PER_STATEMENT) {
                            let lookup = Lookup {
                                proto: i64::from(proto.number()),
                                ports: port_chunk,
                                days: day_chunk,
                            };
                            fetch(conn, q, tile, &lookup, &mut ports).await?;
                        }
                    }
                }
            }
        }
    }
    Ok(ports)
}

/// One port's buckets in `tiles`, merged (`None` when it has none).
pub(crate) async fn one_port(
    conn: &mut SqliteConnection,
    q: &TopPortsQuery,
    tiles: &[Tile],
    port: PortKey,
) -> Result<Option<Merged>, StoreError> {
    let Some(span) = day_span(conn).await? else {
        return Ok(None);
    };
    let mut ports = HashMap::new();
    let list = [i64::from(port.port)];
    for tile in tiles {
        for day_chunk in days(tile.from, tile.to, span).chunks(DAYS_PER_STATEMENT) {
            let lookup = Lookup {
                proto: i64::from(port.proto.number()),
                ports: &list,
                days: day_chunk,
            };
            fetch(conn, q, tile, &lookup, &mut ports).await?;
        }
    }
    Ok(ports.remove(&port))
}

#[derive(Debug, Default)]
struct Bound {
    packets: u64,
    /// The largest bucket's distinct sources: the merge has at least as many.
    lower: u64,
    /// The sum over buckets: the merge has at most as many.
    upper: u64,
}

/// The ports that can make the top `q.limit`, or `None` if that is (nearly)
/// all of them.
async fn candidates(
    conn: &mut SqliteConnection,
    q: &TopPortsQuery,
    tiles: &[Tile],
) -> Result<Option<Vec<PortKey>>, StoreError> {
    let mut bounds: HashMap<PortKey, Bound> = HashMap::new();
    for tile in tiles {
        let mut sql = QueryBuilder::<Sqlite>::new(
            "SELECT proto, port, SUM(packets), MAX(sources), SUM(sources) FROM series",
        );
        filter(&mut sql, q, tile);
        sql.push(" GROUP BY proto, port");
        let mut rows = sql.build().fetch(&mut *conn);
        while let Some(row) = rows.try_next().await.map_err(db("ranking ports"))? {
            let get =
                |i| -> Result<i64, StoreError> { row.try_get(i).map_err(db("ranking ports")) };
            let total = |i| uint("a port total", get(i)?);
            let b = bounds
                .entry(codec::port_from(get(0)?, get(1)?)?)
                .or_default();
            b.packets += total(2)?;
            b.lower = b.lower.max(total(3)?);
            b.upper += total(4)?;
        }
    }
    if q.limit == 0 || bounds.len() <= q.limit {
        return Ok(None);
    }
    let rank = |b: &Bound| match q.order {
        Order::Packets => b.packets,
        Order::Sources => b.lower,
    };
    let mut ranks: Vec<u64> = bounds.values().map(rank).collect();
    let (_, &mut cut, _) = ranks.select_nth_unstable_by(q.limit - 1, |a, b| b.cmp(a));
    // Distinct counts past the exact range are estimates whose merge is not
    // strictly bounded by its parts: leave a margin.
    let keep = |b: &Bound| match q.order {
        Order::Packets => b.packets >= cut,
        Order::Sources => b.upper.saturating_add(b.upper / 8) >= cut - cut / 8,
    };
    let keys: Vec<PortKey> = bounds
        .iter()
        .filter(|(_, b)| keep(b))
        .map(|(k, _)| *k)
        .collect();
    Ok((keys.len() <= MAX_CANDIDATES).then_some(keys))
}

/// The conditions shared by every statement over one tile.
fn filter(sql: &mut QueryBuilder<Sqlite>, q: &TopPortsQuery, tile: &Tile) {
    sql.push(" WHERE width = ")
        .push_bind(tile.width.secs())
        .push(" AND start >= ")
        .push_bind(tile.from)
        .push(" AND start < ")
        .push_bind(tile.to)
        .push(" AND class = ")
        .push_bind(class_code(q.class));
    if let Some(proto) = q.proto {
        sql.push(" AND proto = ")
            .push_bind(i64::from(proto.number()));
    }
}

/// Merges every row of a tile.
async fn scan(
    conn: &mut SqliteConnection,
    q: &TopPortsQuery,
    tile: &Tile,
    ports: &mut HashMap<PortKey, Merged>,
) -> Result<(), StoreError> {
    let mut sql =
        QueryBuilder::<Sqlite>::new(concat!("SELECT ", series_columns!(), " FROM series"));
    filter(&mut sql, q, tile);
    absorb(sql, conn, ports).await
}

/// Some ports of one protocol, on some days of a tile.
struct Lookup<'a> {
    proto: i64,
    ports: &'a [i64],
    days: &'a [i64],
}

/// Merges the rows of a tile for some ports, through the per-port index.
async fn fetch(
    conn: &mut SqliteConnection,
    q: &TopPortsQuery,
    tile: &Tile,
    lookup: &Lookup<'_>,
    ports: &mut HashMap<PortKey, Merged>,
) -> Result<(), StoreError> {
    let mut sql = QueryBuilder::<Sqlite>::new(concat!(
        "SELECT ",
        series_columns!(),
        " FROM series INDEXED BY series_by_port WHERE width = "
    ));
    sql.push_bind(tile.width.secs()).push(" AND day IN (");
    let mut list = sql.separated(", ");
    for d in lookup.days {
        list.push_bind(*d);
    }
    sql.push(") AND class = ")
        .push_bind(class_code(q.class))
        .push(" AND proto = ")
        .push_bind(lookup.proto)
        .push(" AND port IN (");
    let mut list = sql.separated(", ");
    for p in lookup.ports {
        list.push_bind(*p);
    }
    sql.push(") AND start >= ")
        .push_bind(tile.from)
        .push(" AND start < ")
        .push_bind(tile.to);
    absorb(sql, conn, ports).await
}

async fn absorb(
    mut sql: QueryBuilder<Sqlite>,
    conn: &mut SqliteConnection,
    ports: &mut HashMap<PortKey, Merged>,
) -> Result<(), StoreError> {
    let mut rows = sql.build().fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.map_err(db("reading top ports"))? {
        let key = codec::series_key(&row)?;
        let (bucket, active) = codec::series_bucket(&row)?;
        ports.entry(key.port).or_default().add(&bucket, active);
    }
    Ok(())
}
