//! Publishing after detection in `analyze`: advisories into a directory,
//! every alert transition to webhooks, a JSON-lines file and stdout —
//! each exactly once across runs.
//!
//! Exactly once rests on the store: every (transition key, sink) handed
//! out is recorded with its outcome (`Store::record_delivery`), and a run
//! sends only what is not recorded as delivered (or rejected: a 4xx that
//! retrying cannot fix). A delivery that gave up is retried by the next
//! run. Were the process killed between a send and its record, the next
//! run would send again with the same idempotency key, so receivers that
//! remember keys still see it once.

mod config;
mod updates;

use crate::attrib::Attribution;
use std::collections::{BTreeMap, HashMap};
use std::io::Stdout;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use portwatch_detect::{Alert, AlertUpdate, DetectConfig};
use portwatch_publish::deliver::{Attempt, Outcome, event_name};
use portwatch_publish::{
    AdvisoryFormat, AdvisoryOptions, DeliveryRecord, JsonLines, Webhook, advisory, idempotency_key,
    render,
};
use portwatch_store::{DeliveriesQuery, Store, StoredDelivery};
use serde::Serialize;

pub use config::PublishConfig;
pub use updates::{reached_peak, updates};

/// What one run published.
#[derive(Debug, Default, Serialize)]
pub struct Published {
    /// Advisory files written (new or changed state).
    pub files: Vec<FileDoc>,
    /// Every delivery tried in this run, with its attempts.
    pub deliveries: Vec<DeliveryDoc>,
    /// Per sink, what happened and what was left alone.
    pub sinks: Vec<SinkDoc>,
}

/// An advisory file written.
#[derive(Debug, Clone, Serialize)]
pub struct FileDoc {
    pub alert: String,
    pub format: &'static str,
    pub path: String,
    /// The transition it describes (`<id>-<state>-<at>`).
    pub revision: String,
}

/// One transition handed to one sink in this run.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryDoc {
    pub sink: String,
    #[serde(flatten)]
    pub record: DeliveryRecord,
}

/// A sink's tally for this run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SinkDoc {
    pub sink: String,
    pub delivered: usize,
    pub rejected: usize,
    pub gave_up: usize,
    /// Recorded as delivered (or rejected) by an earlier run: not sent.
    pub already_delivered: usize,
    /// Not tried because the sink gave up earlier in this run; the next
    /// run sends them.
    pub deferred: usize,
}

enum Sink {
    Stdout(JsonLines<Stdout>),
    File(JsonLines<std::fs::File>, String),
    Hook(Webhook, String),
}

impl Sink {
    fn name(&self) -> String {
        match self {
            Sink::Stdout(_) => "stdout".into(),
            Sink::File(_, path) => format!("jsonl:{path}"),
            Sink::Hook(_, url) => format!("webhook:{url}"),
        }
    }

    async fn send(&mut self, u: &AlertUpdate, attribution: &serde_json::Value) -> DeliveryRecord {
        let a = Some(attribution);
        let (out, target) = match self {
            Sink::Hook(hook, _) => return hook.deliver_attributed(u, a).await,
            Sink::Stdout(out) => (out.send_attributed(u, a), "stdout".to_string()),
            Sink::File(out, path) => (out.send_attributed(u, a), path.clone()),
        };
        // A line sink has one attempt: a write that failed is retried by
        // the next run, like a webhook that gave up.
        let error = out.err().map(|e| e.to_string());
        DeliveryRecord {
            target,
            alert_id: u.alert.id.to_string(),
            event: event_name(u),
            idempotency_key: idempotency_key(u),
            outcome: if error.is_none() {
                Outcome::Delivered
            } else {
                Outcome::GaveUp
            },
            attempts: vec![Attempt {
                number: 1,
                started_unix_ms: now_millis(),
                elapsed_ms: 0,
                status: None,
                error,
                backoff_ms: None,
            }],
        }
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().try_into().unwrap_or(u64::MAX))
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().try_into().unwrap_or(i64::MAX))
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Delivered => "delivered",
        Outcome::Rejected => "rejected",
        Outcome::GaveUp => "gave_up",
    }
}

/// Delivered, or rejected by a receiver that will reject it again.
fn is_final(outcome: &str) -> bool {
    matches!(outcome, "delivered" | "rejected")
}

/// Publishes what `cfg` asks for about `alerts` (every alert in the store,
/// as detection left them).
pub async fn run(
    store: &dyn Store,
    cfg: &PublishConfig,
    detect: &DetectConfig,
    attrib: &Attribution,
    alerts: &[Alert],
) -> anyhow::Result<Published> {
    let mut out = Published::default();
    if cfg.is_off() {
        return Ok(out);
    }
    let done: HashMap<(String, String), StoredDelivery> = store
        .deliveries(&DeliveriesQuery::default())
        .await?
        .into_iter()
        .map(|d| ((d.key.clone(), d.sink.clone()), d))
        .collect();
    // Each alert's attribution is worked out once, for all its transitions
    // and sinks, and only if something is sent.
    let mut attributions = HashMap::new();
    for mut sink in open_sinks(cfg)? {
        let mut delivery = Delivery {
            store,
            attrib,
            done: &done,
            attributions: &mut attributions,
        };
        let tally = delivery
            .deliver_all(&mut sink, alerts, &mut out.deliveries)
            .await?;
        out.sinks.push(tally);
    }
    if let Some(dir) = &cfg.advisory_dir {
        let (files, tally) =
            write_advisories(store, cfg, detect, attrib, dir, alerts, &done).await?;
        out.files = files;
        out.sinks.push(tally);
    }
    Ok(out)
}

fn open_sinks(cfg: &PublishConfig) -> anyhow::Result<Vec<Sink>> {
    let mut sinks = Vec::new();
    if cfg.stdout {
        sinks.push(Sink::Stdout(JsonLines::stdout()));
    }
    if let Some(path) = &cfg.jsonl {
        sinks.push(Sink::File(
            JsonLines::append(path)?,
            path.display().to_string(),
        ));
    }
    for w in &cfg.webhooks {
        sinks.push(Sink::Hook(Webhook::new(w.to_config())?, w.url.clone()));
    }
    Ok(sinks)
}

/// Every transition of every alert not yet delivered to `sink`, in order.
/// Once the sink gives up, the rest of this run's transitions wait for
/// the next run: each would cost the whole retry schedule against an
/// endpoint that is down, and waiting keeps every alert's transitions in
/// order at the receiver.
struct Delivery<'a> {
    store: &'a dyn Store,
    attrib: &'a Attribution,
    done: &'a HashMap<(String, String), StoredDelivery>,
    /// By alert id.
    attributions: &'a mut HashMap<String, serde_json::Value>,
}

impl Delivery<'_> {
    async fn attribution(&mut self, alert: &Alert) -> anyhow::Result<serde_json::Value> {
        let id = alert.id.to_string();
        if let Some(a) = self.attributions.get(&id) {
            return Ok(a.clone());
        }
        let doc = crate::detect::attribute_alert(self.attrib, self.store, alert).await?;
        let value = serde_json::to_value(&doc)?;
        self.attributions.insert(id, value.clone());
        Ok(value)
    }

    async fn deliver_all(
        &mut self,
        sink: &mut Sink,
        alerts: &[Alert],
        log: &mut Vec<DeliveryDoc>,
    ) -> anyhow::Result<SinkDoc> {
        let (store, done) = (self.store, self.done);
        let name = sink.name();
        let mut tally = SinkDoc {
            sink: name.clone(),
            ..SinkDoc::default()
        };
        let mut down = false;
        for u in alerts.iter().flat_map(updates) {
            let key = idempotency_key(&u);
            let prev = done.get(&(key.clone(), name.clone()));
            if prev.is_some_and(|d| is_final(&d.outcome)) {
                tally.already_delivered += 1;
                continue;
            }
            if down {
                tally.deferred += 1;
                continue;
            }
            let attribution = self.attribution(&u.alert).await?;
            let record = sink.send(&u, &attribution).await;
            match record.outcome {
                Outcome::Delivered => tally.delivered += 1,
                Outcome::Rejected => tally.rejected += 1,
                Outcome::GaveUp => {
                    tally.gave_up += 1;
                    down = true;
                }
            }
            store
                .record_delivery(&stored(&name, &record, prev)?)
                .await
                .with_context(|| format!("recording the delivery of {key} to {name}"))?;
            log.push(DeliveryDoc {
                sink: name.clone(),
                record,
            });
        }
        Ok(tally)
    }
}

/// The row to store: this run's attempts after those of earlier runs, so
/// the record tells the whole story of a transition that needed retrying.
fn stored(
    sink: &str,
    r: &DeliveryRecord,
    prev: Option<&StoredDelivery>,
) -> anyhow::Result<StoredDelivery> {
    let mut attempts: Vec<serde_json::Value> = prev
        .and_then(|p| serde_json::from_str(&p.attempts).ok())
        .unwrap_or_default();
    for a in &r.attempts {
        attempts.push(serde_json::to_value(a)?);
    }
    Ok(StoredDelivery {
        key: r.idempotency_key.clone(),
        sink: sink.to_string(),
        alert: r.alert_id.clone(),
        event: r.event.clone(),
        outcome: outcome_str(r.outcome).to_string(),
        attempts: serde_json::to_string(&attempts)?,
        recorded: now_secs(),
    })
}

/// The file extension of each advisory format.
pub fn extension(f: AdvisoryFormat) -> &'static str {
    match f {
        AdvisoryFormat::Markdown => "md",
        AdvisoryFormat::Html => "html",
        AdvisoryFormat::Json => "json",
        AdvisoryFormat::Stix => "stix.json",
    }
}

/// `<dir>/<alert id>.<ext>` for every alert that has reached its peak,
/// written when its latest transition has not been written there yet (or
/// the file is gone). Targets are always masked here: these are the
/// published outputs rule 9 is about.
async fn write_advisories(
    store: &dyn Store,
    cfg: &PublishConfig,
    detect: &DetectConfig,
    attrib: &Attribution,
    dir: &Path,
    alerts: &[Alert],
    done: &HashMap<(String, String), StoredDelivery>,
) -> anyhow::Result<(Vec<FileDoc>, SinkDoc)> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating advisory_dir {}", dir.display()))?;
    let formats = cfg.advisory_formats()?;
    let opts = AdvisoryOptions {
        publisher: cfg.publisher.clone(),
        ..AdvisoryOptions::builtin()
    };
    let mut files = Vec::new();
    let mut tally = SinkDoc {
        sink: format!("advisory:{}", dir.display()),
        ..SinkDoc::default()
    };
    for alert in alerts.iter().filter(|a| reached_peak(a)) {
        let Some(latest) = updates(alert).pop() else {
            continue;
        };
        let revision = idempotency_key(&latest);
        let mut todo = Vec::new();
        for &f in &formats {
            let path = dir.join(format!("{}.{}", alert.id, extension(f)));
            let sink = format!("advisory:{}", path.display());
            let written = done
                .get(&(revision.clone(), sink.clone()))
                .is_some_and(|d| is_final(&d.outcome));
            if written && path.exists() {
                tally.already_delivered += 1;
            } else {
                todo.push((f, path, sink));
            }
        }
        if todo.is_empty() {
            continue;
        }
        // Gathering evidence re-runs the port's baselines: only when needed.
        let evidence = crate::evidence::gather(store, detect, attrib, alert).await?;
        let doc = advisory(alert, &evidence, &opts);
        for (f, path, sink) in todo {
            let text = render(&doc, f)?;
            crate::advisory::write_file(&path, &text)?;
            store
                .record_delivery(&StoredDelivery {
                    key: revision.clone(),
                    sink,
                    alert: alert.id.to_string(),
                    event: event_name(&latest),
                    outcome: "delivered".into(),
                    attempts: "[]".into(),
                    recorded: now_secs(),
                })
                .await?;
            tally.delivered += 1;
            files.push(FileDoc {
                alert: alert.id.to_string(),
                format: extension(f),
                path: path.display().to_string(),
                revision: revision.clone(),
            });
        }
    }
    Ok((files, tally))
}

/// The "Published" section of the analyze table.
pub fn table(p: &Published) -> String {
    let mut s = String::from("\nPublished\n");
    if p.sinks.is_empty() {
        s.push_str("  (nothing configured: see [publish] in docs/portwatch.example.toml)\n");
        return s;
    }
    let mut per_sink: BTreeMap<&str, &SinkDoc> = BTreeMap::new();
    for t in &p.sinks {
        per_sink.insert(&t.sink, t);
    }
    for t in per_sink.values() {
        let mut parts = vec![format!("{} delivered", t.delivered)];
        if t.rejected > 0 {
            parts.push(format!("{} rejected", t.rejected));
        }
        if t.gave_up > 0 {
            parts.push(format!("{} failed (retried next run)", t.gave_up));
        }
        if t.deferred > 0 {
            parts.push(format!("{} deferred to the next run", t.deferred));
        }
        parts.push(format!("{} already done", t.already_delivered));
        s.push_str(&format!("  {}: {}\n", t.sink, parts.join(", ")));
    }
    for f in &p.files {
        s.push_str(&format!("  wrote {} ({})\n", f.path, f.revision));
    }
    s
}
