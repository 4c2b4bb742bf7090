//! Prometheus metrics: counters the process keeps (a live sensor counts
//! records and drops as they happen, rule 4) and gauges read from the store
//! at scrape time (what it holds, alerts by state).

use portwatch_pipeline::live::SensorHealth;
use portwatch_store::{AlertsQuery, Store, StoreError};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// The process's own counters. Cheap to bump from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Records read, by source (`capture:eth0`, `log:/var/log/kern.log`,
    /// `honeypot`) and class.
    pub records: Family<Labels, Counter>,
    /// Records dropped, by source and reason (kernel drops, full queues,
    /// unparseable lines, …).
    pub drops: Family<Labels, Counter>,
    /// Batches merged into the store.
    pub batches: Counter,
}

impl Metrics {
    /// Counts `n` records of `class` from `source`.
    pub fn record(&self, source: &str, class: &str, n: u64) {
        self.records
            .get_or_create(&vec![
                ("source".to_string(), source.to_string()),
                ("class".to_string(), class.to_string()),
            ])
            .inc_by(n);
    }

    /// Counts `n` records of `source` dropped for `reason`.
    pub fn drop(&self, source: &str, reason: &str, n: u64) {
        self.drops
            .get_or_create(&vec![
                ("source".to_string(), source.to_string()),
                ("reason".to_string(), reason.to_string()),
            ])
            .inc_by(n);
    }

    /// The OpenMetrics text of the counters and of the store's gauges.
    pub async fn render(
        &self,
        store: &dyn Store,
        live: Option<&SensorHealth>,
    ) -> Result<String, StoreError> {
        let mut reg = Registry::with_prefix("portwatch");
        if let Some(h) = live {
            register_live(&mut reg, h);
        }
        reg.register(
            "records",
            "Records read by this process, by source and class",
            self.records.clone(),
        );
        reg.register(
            "dropped",
            "Records dropped by this process, by source and reason",
            self.drops.clone(),
        );
        reg.register(
            "batches_merged",
            "Batches this process merged into the store",
            self.batches.clone(),
        );

        let totals = store.totals().await?;
        let stored: Family<Labels, Gauge> = Family::default();
        let c = &totals.counts;
        for (class, n) in [
            ("probe", c.probe),
            ("backscatter", c.backscatter),
            ("other", c.other_total()),
            ("unparseable", c.dropped_total()),
        ] {
            stored
                .get_or_create(&vec![("class".to_string(), class.to_string())])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        reg.register(
            "store_records",
            "Records the store holds, over every input, by class",
            stored,
        );
        let streams: Gauge = Gauge::default();
        streams.set(i64::try_from(totals.streams).unwrap_or(i64::MAX));
        reg.register("store_streams", "Input streams in the store", streams);
        let last: Gauge = Gauge::default();
        last.set(c.last_seen.map_or(0, |t| t.secs()));
        reg.register(
            "store_last_event_seconds",
            "Event time of the newest record in the store (Unix seconds)",
            last,
        );

        let alerts = store.alerts(&AlertsQuery::default()).await?;
        let by_state: Family<Labels, Gauge> = Family::default();
        for state in ["rising", "peak", "tapering", "closed"] {
            let n = alerts.iter().filter(|a| a.state == state).count();
            by_state
                .get_or_create(&vec![("state".to_string(), state.to_string())])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        reg.register("alerts", "Stored alerts by lifecycle state", by_state);

        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &reg);
        Ok(out)
    }
}

fn gauge(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A running sensor's per-source counters. They are the sensor's own
/// running totals (since the process started), exposed as gauges because
/// the sensor, not this registry, keeps them.
fn register_live(reg: &mut Registry, h: &SensorHealth) {
    let per_source = |f: &dyn Fn(&portwatch_pipeline::live::SourceHealth) -> Option<i64>| {
        let fam: Family<Labels, Gauge> = Family::default();
        for s in &h.sources {
            if let Some(v) = f(s) {
                fam.get_or_create(&vec![
                    ("source".to_string(), s.name.clone()),
                    ("kind".to_string(), format!("{:?}", s.kind).to_lowercase()),
                ])
                .set(v);
            }
        }
        fam
    };
    reg.register(
        "live_events",
        "Events aggregated per live source since start",
        per_source(&|s| Some(gauge(s.events))),
    );
    reg.register(
        "live_lines",
        "Log lines read per followed log since start",
        per_source(&|s| Some(gauge(s.lines))),
    );
    reg.register(
        "live_errors",
        "Unreadable records per live source since start",
        per_source(&|s| Some(gauge(s.errors))),
    );
    reg.register(
        "live_drops",
        "Records lost per live source (full queues, refused connections, kernel drops)",
        per_source(&|s| Some(gauge(s.drops))),
    );
    reg.register(
        "live_lag_seconds",
        "Wall time minus event time of each live source's newest event",
        per_source(&|s| s.lag_secs),
    );
    let batches: Gauge = Gauge::default();
    batches.set(gauge(h.batches));
    reg.register(
        "live_batches",
        "Batches the live sensor committed since start",
        batches,
    );
    let pending: Gauge = Gauge::default();
    pending.set(gauge(h.pending_events));
    reg.register(
        "live_pending_events",
        "Events held in memory for the next flush",
        pending,
    );
}
