//! Merging a batch's source-days: per UTC day, the batch's addresses are
//! looked up by key (a day holds many more sources than one batch touches),
//! merged in memory and written back with multi-row upserts.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use portwatch_aggregate::{Batch, SourceKey, SourceStats};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::codec::{self, int, source_columns};
use super::write::{ROWS_PER_STATEMENT, pow2_chunks};
use crate::StoreError;
use crate::error::db;

pub(super) async fn merge(conn: &mut SqliteConnection, batch: &Batch) -> Result<(), StoreError> {
    let mut by_day: Vec<&(SourceKey, SourceStats)> = batch.sources.iter().collect();
    by_day.sort_unstable_by_key(|(k, _)| (k.day, k.addr));
    for day in by_day.chunk_by(|a, b| a.0.day == b.0.day) {
        for chunk in pow2_chunks(day, ROWS_PER_STATEMENT) {
            let mut merged: Vec<SourceStats> = chunk.iter().map(|(_, s)| s.clone()).collect();
            let index: HashMap<_, usize> = chunk
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.addr, i))
                .collect();
            let mut q = QueryBuilder::<Sqlite>::new("SELECT ");
            q.push(source_columns!())
                .push(" FROM source_days WHERE day = ")
                .push_bind(day[0].0.day)
                .push(" AND addr IN (");
            let mut list = q.separated(", ");
            for (k, _) in chunk.iter() {
                list.push_bind(codec::addr_bytes(k.addr));
            }
            q.push(")");
            let mut found = q.build().fetch(&mut *conn);
            while let Some(row) = found
                .try_next()
                .await
                .map_err(db("reading sources to merge"))?
            {
                if let Some(&i) = index.get(&codec::source_addr(&row)?) {
                    let mut old = codec::source_stats(&row, codec::source_ports(&row)?)?;
                    old.merge(&merged[i]);
                    merged[i] = old;
                }
            }
            drop(found);
            write_sources(conn, chunk, merged).await?;
        }
    }
    Ok(())
}

async fn write_sources(
    conn: &mut SqliteConnection,
    keys: &[&(SourceKey, SourceStats)],
    stats: Vec<SourceStats>,
) -> Result<(), StoreError> {
    let values = keys
        .iter()
        .zip(stats)
        .map(|((k, _), s)| {
            Ok((
                [
                    k.day,
                    s.first_seen.0,
                    s.last_seen.0,
                    int("probes", s.probes)?,
                    int("backscatter", s.backscatter)?,
                    int("other", s.other)?,
                    int("bytes", s.bytes)?,
                    int("first contacts ok", s.first_contacts_ok)?,
                    int("first contacts failed", s.first_contacts_failed)?,
                ],
                [
                    codec::addr_bytes(k.addr),
                    s.ports.to_bytes(),
                    s.targets.to_bytes(),
                ],
                s.tools.encode(),
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO source_days (day, first_seen, last_seen, probes, backscatter, other, bytes, \
         first_contacts_ok, first_contacts_failed, addr, ports, targets, tools) ",
    );
    q.push_values(values, |mut row, (ints, blobs, tools)| {
        for i in ints {
            row.push_bind(i);
        }
        for b in blobs {
            row.push_bind(b);
        }
        row.push_bind(tools);
    });
    q.push(
        " ON CONFLICT (day, addr) DO UPDATE SET \
         first_seen = excluded.first_seen, last_seen = excluded.last_seen, \
         probes = excluded.probes, backscatter = excluded.backscatter, other = excluded.other, \
         bytes = excluded.bytes, ports = excluded.ports, targets = excluded.targets, \
         tools = excluded.tools, first_contacts_ok = excluded.first_contacts_ok, \
         first_contacts_failed = excluded.first_contacts_failed",
    );
    q.build()
        .execute(&mut *conn)
        .await
        .map_err(db("writing sources"))?;
    Ok(())
}
