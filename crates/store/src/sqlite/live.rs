//! Payload clusters and stream checkpoints, written inside a batch's merge
//! transaction so that they land exactly when the batch does.

use std::collections::BTreeMap;
use std::net::IpAddr;

use portwatch_core::{PortKey, Proto};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::codec;
use crate::error::db;
use crate::live::{PAYLOAD_BYTES_KEPT, PAYLOAD_SOURCES_KEPT};
use crate::{LiveExtras, PayloadCluster, PayloadsQuery, StoreError};

fn addr_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// SQLite integers are signed; the hash keeps its bits.
fn hash_code(h: u64) -> i64 {
    i64::from_ne_bytes(h.to_ne_bytes())
}

pub(crate) async fn merge(
    conn: &mut SqliteConnection,
    stream: &str,
    extras: &LiveExtras,
) -> Result<(), StoreError> {
    // One upsert per cluster, with the batch's own samples folded first.
    let mut clusters: BTreeMap<(u8, u16, u64), Vec<usize>> = BTreeMap::new();
    for (i, p) in extras.payloads.iter().enumerate() {
        clusters
            .entry((p.port.proto.number(), p.port.port, p.hash))
            .or_default()
            .push(i);
    }
    for ((proto, port, hash), members) in clusters {
        let samples: Vec<_> = members.iter().map(|&i| &extras.payloads[i]).collect();
        let Some(first) = samples.first() else {
            continue;
        };
        let first_seen = samples.iter().map(|s| s.ts).min().unwrap_or(first.ts);
        let last_seen = samples.iter().map(|s| s.ts).max().unwrap_or(first.ts);
        let count = samples.len() as i64;
        let signatures = first.signatures.join(",");
        let kept = &first.bytes[..first.bytes.len().min(PAYLOAD_BYTES_KEPT)];
        sqlx::query(
            "INSERT INTO payloads (proto, port, hash, first_seen, last_seen, count, signatures, len, bytes)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (proto, port, hash) DO UPDATE SET
               first_seen = MIN(payloads.first_seen, excluded.first_seen),
               last_seen = MAX(payloads.last_seen, excluded.last_seen),
               count = payloads.count + excluded.count,
               signatures = excluded.signatures",
        )
        .bind(i64::from(proto))
        .bind(i64::from(port))
        .bind(hash_code(hash))
        .bind(first_seen)
        .bind(last_seen)
        .bind(count)
        .bind(signatures)
        .bind(codec::int("payload length", first.len)?)
        .bind(kept)
        .execute(&mut *conn)
        .await
        .map_err(db("merging a payload cluster"))?;
        for s in samples {
            let known: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM payload_sources WHERE proto = ? AND port = ? AND hash = ?",
            )
            .bind(i64::from(proto))
            .bind(i64::from(port))
            .bind(hash_code(hash))
            .fetch_one(&mut *conn)
            .await
            .map_err(db("counting a payload's sources"))?;
            if known >= PAYLOAD_SOURCES_KEPT as i64 {
                sqlx::query(
                    "UPDATE payloads SET sources_capped = 1 WHERE proto = ? AND port = ? AND hash = ?
                       AND NOT EXISTS (SELECT 1 FROM payload_sources
                         WHERE proto = ? AND port = ? AND hash = ? AND addr = ?)",
                )
                .bind(i64::from(proto))
                .bind(i64::from(port))
                .bind(hash_code(hash))
                .bind(i64::from(proto))
                .bind(i64::from(port))
                .bind(hash_code(hash))
                .bind(addr_bytes(s.src))
                .execute(&mut *conn)
                .await
                .map_err(db("capping a payload's sources"))?;
                continue;
            }
            sqlx::query(
                "INSERT INTO payload_sources (proto, port, hash, addr) VALUES (?, ?, ?, ?)
                 ON CONFLICT DO NOTHING",
            )
            .bind(i64::from(proto))
            .bind(i64::from(port))
            .bind(hash_code(hash))
            .bind(addr_bytes(s.src))
            .execute(&mut *conn)
            .await
            .map_err(db("recording a payload's source"))?;
        }
    }
    for (name, value) in &extras.checkpoints {
        sqlx::query(
            "INSERT INTO checkpoints (stream, name, value) VALUES (?, ?, ?)
             ON CONFLICT (stream, name) DO UPDATE SET value = excluded.value",
        )
        .bind(stream)
        .bind(name)
        .bind(value)
        .execute(&mut *conn)
        .await
        .map_err(db("saving a checkpoint"))?;
    }
    Ok(())
}

pub(crate) async fn checkpoints(
    pool: &SqlitePool,
    stream: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    sqlx::query_as("SELECT name, value FROM checkpoints WHERE stream = ? ORDER BY name")
        .bind(stream)
        .fetch_all(pool)
        .await
        .map_err(db("reading checkpoints"))
}

pub(crate) async fn last_seq(pool: &SqlitePool, stream: &str) -> Result<Option<u64>, StoreError> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM batches WHERE stream = ?")
        .bind(stream)
        .fetch_one(pool)
        .await
        .map_err(db("reading a stream's last batch"))?;
    seq.map(|s| {
        u64::try_from(s).map_err(|_| StoreError::Corrupt {
            what: "batch sequence number",
            value: s.to_string(),
        })
    })
    .transpose()
}

type Row = (i64, i64, i64, i64, i64, i64, i64, String, i64, Vec<u8>, i64);

pub(crate) async fn select(
    pool: &SqlitePool,
    q: &PayloadsQuery,
) -> Result<Vec<PayloadCluster>, StoreError> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "SELECT p.proto, p.port, p.hash, p.first_seen, p.last_seen, p.count, p.sources_capped,
                p.signatures, p.len, p.bytes,
                (SELECT COUNT(*) FROM payload_sources s
                  WHERE s.proto = p.proto AND s.port = p.port AND s.hash = p.hash)
         FROM payloads p WHERE 1 = 1",
    );
    if let Some(k) = q.port {
        sql.push(" AND p.proto = ")
            .push_bind(i64::from(k.proto.number()))
            .push(" AND p.port = ")
            .push_bind(i64::from(k.port));
    }
    sql.push(" ORDER BY p.count DESC, p.first_seen, p.hash");
    if q.limit > 0 {
        sql.push(" LIMIT ")
            .push_bind(i64::try_from(q.limit).unwrap_or(i64::MAX));
    }
    let rows: Vec<Row> = sql
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(db("reading payload clusters"))?;
    rows.into_iter().map(cluster).collect()
}

fn cluster(r: Row) -> Result<PayloadCluster, StoreError> {
    let (proto, port, hash, first_seen, last_seen, count, capped, sigs, len, bytes, sources) = r;
    let corrupt = |what: &'static str, v: i64| StoreError::Corrupt {
        what,
        value: v.to_string(),
    };
    let proto = u8::try_from(proto)
        .ok()
        .and_then(Proto::from_number)
        .ok_or_else(|| corrupt("payload protocol", proto))?;
    let port = u16::try_from(port).map_err(|_| corrupt("payload port", port))?;
    let key = PortKey::new(proto, port);
    Ok(PayloadCluster {
        proto: key.proto,
        port: key.port,
        hash: format!("{:016x}", u64::from_ne_bytes(hash.to_ne_bytes())),
        first_seen,
        last_seen,
        count: u64::try_from(count).map_err(|_| corrupt("payload count", count))?,
        sources: u64::try_from(sources).map_err(|_| corrupt("payload sources", sources))?,
        sources_capped: capped != 0,
        signatures: sigs
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        len: u64::try_from(len).map_err(|_| corrupt("payload length", len))?,
        bytes,
    })
}
