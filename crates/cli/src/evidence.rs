//! What the store knows about an alert beyond the alert itself, gathered
//! for its advisory: the port's series around it with the baseline band
//! per bucket, the distinct sources and targets over its span merged
//! from the store's sketches, the attribution of its sources (tools,
//! countries, networks, reputation lists) as `portwatch alerts` shows it,
//! and the payload signatures the honeypot saw on the port meanwhile.

use portwatch_aggregate::SeriesClass;
use portwatch_core::{BucketWidth, Timestamp};
use portwatch_detect::{Alert, DetectConfig};
use portwatch_publish::Evidence;
use portwatch_publish::advisory::{Reputation, Share};
use portwatch_store::{SeriesQuery, Store, TimeRange};

use crate::attrib::Attribution;
use crate::overlay::Overlay;

/// Buckets of normal shown before the onset and after the end, as the
/// advisory shows them (`portwatch_publish` draws the same context).
const BEFORE: i64 = 12;
const AFTER: i64 = 6;

/// Most buckets the alert's own span is drawn with: enough to see the
/// rise and the taper, few enough to read as a graph in a document.
const MAX_ALERT_BUCKETS: i64 = 60;

/// The width an advisory draws an alert lasting `secs` at: 5 minutes for
/// a wave of a few hours, hours for one of days. Never minutes (noise in
/// a document), never coarser than a day.
pub fn width_for(secs: i64) -> BucketWidth {
    [BucketWidth::FiveMinutes, BucketWidth::Hour]
        .into_iter()
        .find(|w| secs / w.secs() <= MAX_ALERT_BUCKETS)
        .unwrap_or(BucketWidth::Day)
}

/// The alert's end: its close, or the minute after its last active one
/// while open.
pub fn end_of(alert: &Alert) -> i64 {
    alert.closed.unwrap_or(alert.last_active + 60)
}

pub async fn gather(
    store: &dyn Store,
    cfg: &DetectConfig,
    attrib: &Attribution,
    alert: &Alert,
) -> anyhow::Result<Evidence> {
    let key = alert.key();
    let end = end_of(alert);
    let width = width_for(end - alert.onset);
    let w = width.secs();
    let from = (alert.onset.div_euclid(w) - BEFORE) * w;
    let to = ((end + w - 1).div_euclid(w) + AFTER) * w;
    let q = SeriesQuery {
        class: SeriesClass::Probe,
        port: key,
        width,
        range: TimeRange::new(Timestamp::from_secs(from), Timestamp::from_secs(to)),
    };
    let points = store.series(&q).await?;
    let overlay = Overlay::load(store, cfg, &q).await?;
    let series = crate::chart::port_series(key, width, (from, to), &points, Some(&overlay));
    // Alert times are whole minutes, so the span is a valid store range.
    let span = TimeRange::new(Timestamp::from_secs(alert.onset), Timestamp::from_secs(end));
    let totals = store.port_totals(SeriesClass::Probe, key, span).await?;
    let docs = attrib.port_sources(store, key, span).await?;
    let b = attrib.breakdown(&docs);
    let shares = |v: &[crate::attrib::Share]| -> Vec<Share> {
        v.iter()
            .map(|s| Share::new(s.name.clone(), s.sources))
            .collect()
    };
    // What the honeypot heard on the port while the alert lasted.
    let payloads = crate::payloads::signatures(store, key, Some((alert.onset, end))).await?;
    Ok(Evidence {
        payloads,
        series: Some(series),
        distinct_sources: totals.as_ref().map(|t| t.sources),
        distinct_targets: totals.as_ref().map(|t| t.targets),
        countries: b.countries.as_deref().map(shares).unwrap_or_default(),
        asns: b.asns.as_deref().map(shares).unwrap_or_default(),
        // Sources whose probes no rule recognised say nothing about tools.
        tools: b
            .tools
            .iter()
            .filter(|s| s.name != "unknown")
            .map(|s| Share::new(s.name.clone(), s.sources))
            .collect(),
        reputation: b.lists.as_ref().map(|lists| Reputation {
            listed: docs
                .iter()
                .filter(|d| d.lists.as_ref().is_some_and(|l| !l.is_empty()))
                .count() as u64,
            checked: b.sources,
            lists: lists.iter().map(|l| l.name.clone()).collect(),
        }),
        ..Evidence::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_alert_length() {
        assert_eq!(width_for(3 * 3600), BucketWidth::FiveMinutes);
        assert_eq!(width_for(2 * 86_400), BucketWidth::Hour);
        assert_eq!(width_for(30 * 86_400), BucketWidth::Day);
    }
}
