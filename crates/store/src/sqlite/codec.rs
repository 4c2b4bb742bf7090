//! Values to and from SQLite columns.
//!
//! Integers are stored as signed 64-bit (SQLite INTEGER, PostgreSQL BIGINT):
//! counts are checked on the way in and out, sequence numbers are stored by
//! their bit pattern. Sketches are stored as their own compact byte form
//! (a BLOB here, BYTEA in PostgreSQL); an address as its 4 or 16 bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portwatch_aggregate::{PortBucket, SeriesClass, SeriesKey, SourceStats, ToolCounts};
use portwatch_core::{PortKey, Proto, Timestamp};
use portwatch_sketch::{DistinctCounter, PortSet, TopK};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::StoreError;

pub(crate) fn int(what: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::OutOfRange { what, value: v })
}

pub(crate) fn uint(what: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        what,
        value: v.to_string(),
    })
}

/// Sequence numbers use all 64 bits; the column keeps their bit pattern.
pub(crate) fn seq(v: u64) -> i64 {
    v as i64
}

pub(crate) fn class_code(c: SeriesClass) -> i64 {
    match c {
        SeriesClass::Probe => 0,
        SeriesClass::Backscatter => 1,
    }
}

fn class_from(code: i64) -> Result<SeriesClass, StoreError> {
    match code {
        0 => Ok(SeriesClass::Probe),
        1 => Ok(SeriesClass::Backscatter),
        _ => Err(StoreError::Corrupt {
            what: "series class",
            value: code.to_string(),
        }),
    }
}

pub(crate) fn port_from(proto: i64, port: i64) -> Result<PortKey, StoreError> {
    let proto = u8::try_from(proto)
        .ok()
        .and_then(Proto::from_number)
        .ok_or_else(|| StoreError::Corrupt {
            what: "protocol",
            value: proto.to_string(),
        })?;
    let port = u16::try_from(port).map_err(|_| StoreError::Corrupt {
        what: "port",
        value: port.to_string(),
    })?;
    Ok(PortKey::new(proto, port))
}

pub(crate) fn addr_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn addr_from(b: &[u8]) -> Result<IpAddr, StoreError> {
    if let Ok(o) = <[u8; 4]>::try_from(b) {
        Ok(IpAddr::V4(Ipv4Addr::from(o)))
    } else if let Ok(o) = <[u8; 16]>::try_from(b) {
        Ok(IpAddr::V6(Ipv6Addr::from(o)))
    } else {
        Err(StoreError::Corrupt {
            what: "source address",
            value: format!("{} bytes", b.len()),
        })
    }
}

fn get<'r, T>(row: &'r SqliteRow, i: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(i).map_err(crate::error::db("reading a row"))
}

fn sketch<T>(
    what: &'static str,
    b: &[u8],
    read: fn(&[u8]) -> Result<T, portwatch_sketch::SketchError>,
) -> Result<T, StoreError> {
    read(b).map_err(|source| StoreError::Sketch { what, source })
}

/// The columns every series read selects, in this order (a macro so that
/// statements can be `concat!`ed into static strings).
macro_rules! series_columns {
    () => {
        "class, proto, port, start, packets, bytes, active_minutes, first_seen, last_seen, sketches"
    };
}
pub(crate) use series_columns;

/// A bucket's three sketches as one column value: the source counter and the
/// target counter, each after its length (`u32`, little-endian), then the top
/// sources. One value instead of three halves the per-row cost of binding
/// and storing, and the sketches are always read together.
pub(crate) fn pack_sketches(b: &PortBucket) -> Vec<u8> {
    let (s, t, k) = (
        b.sources.to_bytes(),
        b.targets.to_bytes(),
        b.top_sources.to_bytes(),
    );
    let mut out = Vec::with_capacity(8 + s.len() + t.len() + k.len());
    for part in [&s, &t] {
        // Sketch encodings are bounded far below 4 GiB (a dense counter is
        // about 12 KiB); a longer one would fail to unpack, not misread.
        out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&k);
    out
}

fn unpack_sketches(blob: &[u8]) -> Result<(DistinctCounter, DistinctCounter, TopK), StoreError> {
    fn part<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], StoreError> {
        let short = || StoreError::Corrupt {
            what: "series sketches",
            value: "a truncated value".to_string(),
        };
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(short)?;
        let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| short())?;
        let (head, tail) = tail.split_at_checked(len).ok_or_else(short)?;
        *rest = tail;
        Ok(head)
    }
    let mut rest = blob;
    let sources = sketch(
        "source counter",
        part(&mut rest)?,
        DistinctCounter::from_bytes,
    )?;
    let targets = sketch(
        "target counter",
        part(&mut rest)?,
        DistinctCounter::from_bytes,
    )?;
    let top = sketch("top sources", rest, TopK::from_bytes)?;
    Ok((sources, targets, top))
}

/// The key of a series row (the first four of [`series_columns!`]), cheap to
/// read before deciding whether the sketches are worth decoding.
pub(crate) fn series_key(row: &SqliteRow) -> Result<SeriesKey, StoreError> {
    Ok(SeriesKey {
        class: class_from(get(row, 0)?)?,
        port: port_from(get(row, 1)?, get(row, 2)?)?,
        start: get(row, 3)?,
    })
}

/// The bucket and active-minute count of a series row.
pub(crate) fn series_bucket(row: &SqliteRow) -> Result<(PortBucket, u64), StoreError> {
    let (sources, targets, top_sources) = unpack_sketches(get(row, 9)?)?;
    let bucket = PortBucket {
        packets: uint("packets", get(row, 4)?)?,
        bytes: uint("bytes", get(row, 5)?)?,
        first_seen: Timestamp(get(row, 7)?),
        last_seen: Timestamp(get(row, 8)?),
        sources,
        targets,
        top_sources,
    };
    Ok((bucket, uint("active minutes", get(row, 6)?)?))
}

/// The columns every source read selects, in this order.
macro_rules! source_columns {
    () => {
        "addr, day, first_seen, last_seen, probes, backscatter, other, bytes, ports, targets, tools, \
         first_contacts_ok, first_contacts_failed"
    };
}
pub(crate) use source_columns;

/// The address of a source-day row (first of [`source_columns!`]).
pub(crate) fn source_addr(row: &SqliteRow) -> Result<IpAddr, StoreError> {
    addr_from(get(row, 0)?)
}

/// The ports a source-day probed, without decoding the rest.
pub(crate) fn source_ports(row: &SqliteRow) -> Result<PortSet, StoreError> {
    port_set_at(row, 8)
}

/// The port set in column `i`.
pub(crate) fn port_set_at(row: &SqliteRow, i: usize) -> Result<PortSet, StoreError> {
    sketch("port set", get(row, i)?, PortSet::from_bytes)
}

/// A source-day row's statistics, given its already decoded port set.
pub(crate) fn source_stats(row: &SqliteRow, ports: PortSet) -> Result<SourceStats, StoreError> {
    Ok(SourceStats {
        first_seen: Timestamp(get(row, 2)?),
        last_seen: Timestamp(get(row, 3)?),
        probes: uint("probes", get(row, 4)?)?,
        backscatter: uint("backscatter", get(row, 5)?)?,
        other: uint("other", get(row, 6)?)?,
        bytes: uint("bytes", get(row, 7)?)?,
        ports,
        targets: sketch("target counter", get(row, 9)?, DistinctCounter::from_bytes)?,
        tools: ToolCounts::decode(get(row, 10)?).map_err(|word| StoreError::Corrupt {
            what: "tool counts",
            value: word,
        })?,
        first_contacts_ok: uint("first contacts ok", get(row, 11)?)?,
        first_contacts_failed: uint("first contacts failed", get(row, 12)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_keep_families_apart() {
        for s in ["192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "0.0.0.0"] {
            let a: IpAddr = s.parse().unwrap();
            assert_eq!(addr_from(&addr_bytes(a)).unwrap(), a);
        }
        assert!(addr_from(&[1, 2, 3]).is_err());
    }

    #[test]
    fn sketches_pack_and_unpack() {
        let mut b = PortBucket::default();
        for i in 0..3000u32 {
            b.sources.insert_ip(IpAddr::from(i.to_be_bytes()));
            b.top_sources.add(IpAddr::from((i % 40).to_be_bytes()), 1);
        }
        b.targets.insert_ip("192.0.2.1".parse().unwrap());
        let packed = pack_sketches(&b);
        let (s, t, k) = unpack_sketches(&packed).unwrap();
        assert_eq!((s, t, k), (b.sources, b.targets, b.top_sources));
        for cut in [0, 3, 4, 7, packed.len() / 2, packed.len() - 1] {
            assert!(unpack_sketches(&packed[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = packed.clone();
        long.push(0);
        assert!(unpack_sketches(&long).is_err());
    }

    #[test]
    fn integers_are_checked() {
        assert_eq!(int("x", 5).unwrap(), 5);
        assert!(matches!(
            int("packets", u64::MAX),
            Err(StoreError::OutOfRange {
                what: "packets",
                ..
            })
        ));
        assert!(uint("bytes", -1).is_err());
        assert_eq!(seq(u64::MAX), -1);
        assert!(port_from(6, 65_536).is_err());
        assert!(port_from(7, 80).is_err());
        assert_eq!(port_from(17, 53).unwrap(), PortKey::new(Proto::Udp, 53));
    }
}
