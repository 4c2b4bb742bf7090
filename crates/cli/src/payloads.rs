//! The payload signatures the honeypot saw on a port, summed from the
//! store's payload clusters: for `report port` and advisories' evidence.

use std::collections::BTreeMap;

use portwatch_core::PortKey;
use portwatch_payload::escape_bytes;
use portwatch_publish::advisory::PayloadSignature;
use portwatch_store::{PayloadsQuery, Store};

/// What clusters without any signature are listed as.
pub const UNRECOGNISED: &str = "(no signature)";

/// Longest excerpt shown, in escaped characters.
const EXCERPT: usize = 80;

/// Per signature name: hits (payloads), sources (summed over its clusters:
/// a source that sent two different payloads counts twice) and an excerpt
/// of its most frequent payload. Only clusters seen within `span` (Unix
/// seconds, half-open) when given. Most hits first.
pub async fn signatures(
    store: &dyn Store,
    key: PortKey,
    span: Option<(i64, i64)>,
) -> anyhow::Result<Vec<PayloadSignature>> {
    let clusters = store
        .payloads(&PayloadsQuery {
            port: Some(key),
            limit: 0,
        })
        .await?;
    let mut by_name: BTreeMap<String, PayloadSignature> = BTreeMap::new();
    // Clusters come most frequent first, so the first seen per name gives
    // the excerpt.
    for c in clusters
        .iter()
        .filter(|c| span.is_none_or(|(from, to)| c.last_seen >= from && c.first_seen < to))
    {
        let names: Vec<&str> = if c.signatures.is_empty() {
            vec![UNRECOGNISED]
        } else {
            c.signatures.iter().map(String::as_str).collect()
        };
        for name in names {
            let e = by_name
                .entry(name.to_string())
                .or_insert_with(|| PayloadSignature {
                    name: name.to_string(),
                    hits: 0,
                    sources: 0,
                    excerpt: Some(excerpt(&c.bytes)),
                });
            e.hits += c.count;
            e.sources += c.sources;
        }
    }
    let mut v: Vec<PayloadSignature> = by_name.into_values().collect();
    v.sort_by(|a, b| b.hits.cmp(&a.hits).then_with(|| a.name.cmp(&b.name)));
    Ok(v)
}

fn excerpt(bytes: &[u8]) -> String {
    let e = escape_bytes(bytes);
    match e.char_indices().nth(EXCERPT) {
        Some((i, _)) => format!("{}…", &e[..i]),
        None => e,
    }
}

/// The table section `report port` prints under the series.
pub fn table(key: PortKey, sigs: &[PayloadSignature]) -> String {
    let mut t = crate::output::table::Table::new(&[
        ("SIGNATURE", crate::output::table::Align::Left),
        ("HITS", crate::output::table::Align::Right),
        ("SOURCES", crate::output::table::Align::Right),
        ("EXCERPT (escaped)", crate::output::table::Align::Left),
    ]);
    for s in sigs {
        t.row(vec![
            s.name.clone(),
            crate::output::count(s.hits),
            crate::output::count(s.sources),
            s.excerpt.clone().unwrap_or_default(),
        ]);
    }
    format!(
        "\nPayload signatures the honeypot saw on {key}:\n{}",
        t.render()
    )
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use portwatch_aggregate::BatchId;
    use portwatch_store::{PayloadSample, SqliteStore};

    use super::*;

    fn sample(hash: u64, ts: i64, src: u8, sigs: &[&str], bytes: &[u8]) -> PayloadSample {
        PayloadSample {
            port: "8080/tcp".parse().expect("port"),
            hash,
            ts,
            src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, src)),
            signatures: sigs.iter().map(|s| s.to_string()).collect(),
            bytes: bytes.to_vec(),
            len: bytes.len() as u64,
        }
    }

    #[tokio::test]
    async fn signatures_sum_their_clusters_within_the_span() {
        let store = SqliteStore::in_memory().await.expect("store");
        let long = [b'A'; 200];
        store
            .merge_payloads(
                &BatchId {
                    stream: "s".into(),
                    seq: 0,
                },
                &[
                    sample(1, 600, 1, &["http-request"], b"GET / HTTP/1.1\r\n\r\n"),
                    sample(1, 660, 2, &["http-request"], b"GET / HTTP/1.1\r\n\r\n"),
                    sample(2, 700, 3, &["http-request"], b"GET /x HTTP/1.1\r\n\r\n"),
                    sample(3, 700, 3, &[], &long),
                    sample(4, 9_000, 4, &["tls-client-hello"], b"\x16\x03\x01"),
                ],
            )
            .await
            .expect("merge");
        let key = "8080/tcp".parse().expect("port");
        let all = signatures(&store, key, None).await.expect("all");
        let names: Vec<_> = all
            .iter()
            .map(|s| (s.name.as_str(), s.hits, s.sources))
            .collect();
        assert_eq!(
            names,
            [
                ("http-request", 3, 3),
                (UNRECOGNISED, 1, 1),
                ("tls-client-hello", 1, 1)
            ]
        );
        assert_eq!(
            all[0].excerpt.as_deref(),
            Some("GET / HTTP/1.1\\x0d\\x0a\\x0d\\x0a")
        );
        assert!(all[1].excerpt.as_deref().expect("excerpt").ends_with('…'));
        let early = signatures(&store, key, Some((0, 1000)))
            .await
            .expect("span");
        assert_eq!(early.len(), 2);
        assert!(early.iter().all(|s| s.name != "tls-client-hello"));
    }
}
