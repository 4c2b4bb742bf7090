//! Detection settings from a config file and flags, the alerts table, and
//! `portwatch alerts`.

use std::path::Path;

use anyhow::{Context, anyhow};
use portwatch_core::{PortKey, Timestamp};
use portwatch_detect::{Alert, DetectConfig, GapSpan};
use portwatch_publish::advisory::PayloadSignature;
use portwatch_store::{AlertRecord, AlertsQuery};
use serde::{Deserialize, Serialize};

use crate::args::{AlertsArgs, DetectArgs, Format};
use crate::attrib::{Attribution, AttributionDoc};
use crate::enrich_config::EnrichConfig;
use crate::output::json::{self, Range};
use crate::output::table::{Align, Table};
use crate::output::{count, write_csv};
use crate::publish::PublishConfig;

/// The config file: `[detect]`, `[publish]` and `[enrich]`; `portwatch run`
/// adds its sections here. Unknown keys are refused by name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    detect: DetectConfig,
    #[serde(default)]
    publish: PublishConfig,
    #[serde(default)]
    enrich: EnrichConfig,
    // `portwatch run`'s tables (other commands read and ignore them).
    #[serde(default)]
    run: crate::run::RunSection,
    #[serde(default)]
    store: crate::run::StoreSection,
    #[serde(default)]
    api: crate::run::ApiSection,
    #[serde(default)]
    honeypot: Option<portwatch_honeypot::HoneypotConfig>,
    #[serde(default)]
    logs: Vec<crate::run::LogSection>,
    #[serde(default)]
    capture: Vec<portwatch_capture::CaptureConfig>,
}

/// The attribution config: nothing configured, or the file's `[enrich]`;
/// validated (files are opened by [`EnrichConfig::load`]).
pub fn enrich_config(config: Option<&Path>) -> anyhow::Result<EnrichConfig> {
    match config {
        Some(path) => Ok(read_file(path)?.enrich),
        None => Ok(EnrichConfig::default()),
    }
}

/// `portwatch run`'s plan: its tables of the config file (or their
/// defaults without one), validated.
pub fn run_plan(a: &DetectArgs) -> anyhow::Result<crate::run::RunPlan> {
    let file = match &a.config {
        Some(path) => read_file(path)?,
        None => ConfigFile::default(),
    };
    let mut plan = crate::run::plan(
        &file.run,
        &file.store,
        &file.api,
        file.honeypot.as_ref(),
        &file.logs,
        &file.capture,
        a.config.as_deref(),
    )?;
    for log in &mut plan.logs {
        log.drop_log_outcomes = file.enrich.drop_log_outcomes;
    }
    Ok(plan)
}

/// The publishing config: defaults (nothing), or the file's `[publish]`;
/// validated.
pub fn publish_config(a: &DetectArgs) -> anyhow::Result<PublishConfig> {
    match &a.config {
        Some(path) => Ok(read_file(path)?.publish),
        None => Ok(PublishConfig::default()),
    }
}

/// The detection config: defaults, then the file, then flags; validated.
pub fn config(a: &DetectArgs) -> anyhow::Result<DetectConfig> {
    let mut cfg = match &a.config {
        Some(path) => read_config(path)?,
        None => DetectConfig::default(),
    };
    if let Some(v) = a.open_score {
        cfg.open_score = v;
    }
    if let Some(v) = a.min_sources {
        cfg.min_sources = v;
    }
    if let Some(v) = a.warmup_hours {
        cfg.warmup_hours = v;
    }
    let ports = |flag: &str, list: &[String]| -> anyhow::Result<Vec<PortKey>> {
        list.iter()
            .map(|s| {
                s.parse::<PortKey>()
                    .map_err(|e| anyhow!("--{flag} {s:?}: {e}"))
            })
            .collect()
    };
    cfg.watch.ports.extend(ports("watch", &a.watch)?);
    cfg.ignore.extend(ports("ignore", &a.ignore)?);
    cfg.validate()
        .map_err(|e| anyhow!("detection settings (file and flags): {e}"))?;
    Ok(cfg)
}

fn read_config(path: &Path) -> anyhow::Result<DetectConfig> {
    Ok(read_file(path)?.detect)
}

/// Reads and validates the whole file, so that a mistake in any table is
/// reported whichever command reads it.
fn read_file(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("config {}: cannot read", path.display()))?;
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        // toml names the key and the line; keep its message on one line.
        let msg = e.to_string().lines().collect::<Vec<_>>().join(" ");
        anyhow!("config {}: {msg}", path.display())
    })?;
    file.detect
        .validate()
        .map_err(|e| anyhow!("config {}: [detect] {e}", path.display()))?;
    file.publish
        .validate()
        .map_err(|e| anyhow!("config {}: [publish] {e:#}", path.display()))?;
    file.enrich
        .validate()
        .map_err(|e| anyhow!("config {}: [enrich] {e:#}", path.display()))?;
    Ok(file)
}

/// Parses a stored alert document back.
pub fn parse_alert(r: &AlertRecord) -> anyhow::Result<Alert> {
    serde_json::from_str(&r.doc).with_context(|| format!("stored alert {} is unreadable", r.id))
}

fn minute(secs: i64) -> String {
    let s = Timestamp::from_secs(secs).to_rfc3339();
    // 2007-08-22T14:00:00Z → 2007-08-22 14:00
    s.get(..16).map_or(s.clone(), |m| m.replace('T', " "))
}

/// Alerts as a table, with each alert's one-line summary beneath it.
pub fn alerts_table(alerts: &[Alert]) -> String {
    let mut t = Table::new(&[
        ("ID", Align::Left),
        ("PORT", Align::Left),
        ("SERVICE", Align::Left),
        ("KIND", Align::Left),
        ("STATE", Align::Left),
        ("ONSET (UTC)", Align::Left),
        ("PEAK SRC/MIN", Align::Right),
        ("NORMAL SRC/MIN", Align::Right),
        ("SCORE", Align::Right),
        ("SOURCES", Align::Right),
        ("PACKETS", Align::Right),
        ("MOVED", Align::Left),
    ]);
    for a in alerts {
        let sources = a.during.sources.unwrap_or(a.during.sources_at_least);
        t.row(vec![
            a.id.to_string(),
            a.key().to_string(),
            json::service(a.key()).unwrap_or("-").to_string(),
            a.kind.as_str().to_string(),
            a.state.as_str().to_string(),
            minute(a.onset),
            count(a.peak.sources),
            format!("{:.2}", a.baseline_at_onset.sources_per_min),
            format!("{:.1}", a.score.max),
            count(sources),
            count(a.during.packets),
            serde_json::to_value(a.moved)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ]);
    }
    let mut s = t.render();
    for a in alerts {
        s.push_str(&format!("  {}  {}\n", a.id, a.summary));
    }
    s
}

/// Sensor gaps as lines.
pub fn gaps_text(gaps: &[GapSpan]) -> String {
    let mut s = String::new();
    for g in gaps {
        s.push_str(&format!(
            "  no data {} to {} ({} min): a gap, not silence\n",
            minute(g.start),
            minute(g.end),
            count(((g.end - g.start) / 60) as u64)
        ));
    }
    s
}

/// `portwatch alerts --format json`.
#[derive(Debug, Serialize)]
struct AlertsDoc<'a> {
    version: u32,
    range: Range,
    open_only: bool,
    /// `portwatch.alert/1` documents (see docs/json.md), each with its
    /// `attribution`.
    alerts: Vec<AttributedAlert<'a>>,
}

/// An alert document with the attribution of its sources beside its own
/// fields, and the payload signatures the honeypot saw on its port while
/// it lasted (absent when none).
#[derive(Debug, Serialize)]
struct AttributedAlert<'a> {
    #[serde(flatten)]
    alert: &'a Alert,
    attribution: &'a AttributionDoc,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    payloads: &'a [PayloadSignature],
}

/// Attribution of an alert: the sources that probed its port on the days
/// its span overlaps, vulnerabilities dated against its onset.
pub async fn attribute_alert(
    attrib: &Attribution,
    store: &dyn portwatch_store::Store,
    alert: &Alert,
) -> anyhow::Result<AttributionDoc> {
    let span = portwatch_store::TimeRange::new(
        Timestamp::from_secs(alert.onset),
        Timestamp::from_secs(crate::evidence::end_of(alert)),
    );
    crate::attrib::attribute(
        attrib,
        store,
        alert.key(),
        span,
        Some(Timestamp::from_secs(alert.onset)),
    )
    .await
}

pub fn run_alerts(a: AlertsArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let range = crate::report::range(&a.range)?;
    let port = a.port.as_deref().map(crate::report::port_key).transpose()?;
    let attrib = Attribution::from_config(a.enrich.config.as_deref())?;
    let (records, alerts, attributions, payloads) = runtime.block_on(async {
        let store = crate::report::open(&a.common).await?;
        let q = AlertsQuery {
            range,
            open_only: a.open,
            port,
            id: a.id.clone(),
        };
        let records = store.alerts(&q).await?;
        if let Some(id) = &a.id
            && records.is_empty()
        {
            anyhow::bail!("no alert {id} in {}", a.common.db);
        }
        let alerts = records
            .iter()
            .map(parse_alert)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut attributions = Vec::with_capacity(alerts.len());
        let mut payloads = Vec::with_capacity(alerts.len());
        for alert in &alerts {
            attributions.push(attribute_alert(&attrib, store.as_ref(), alert).await?);
            let span = (alert.onset, crate::evidence::end_of(alert));
            payloads
                .push(crate::payloads::signatures(store.as_ref(), alert.key(), Some(span)).await?);
        }
        Ok::<_, anyhow::Error>((records, alerts, attributions, payloads))
    })?;
    match a.common.format {
        Format::Json => crate::report::write_json(&AlertsDoc {
            version: json::VERSION,
            range: (&range).into(),
            open_only: a.open,
            alerts: alerts
                .iter()
                .zip(&attributions)
                .zip(&payloads)
                .map(|((alert, attribution), payloads)| AttributedAlert {
                    alert,
                    attribution,
                    payloads,
                })
                .collect(),
        }),
        Format::Csv => {
            let shares = |v: &[crate::attrib::Share]| {
                v.iter()
                    .map(|s| format!("{}:{}", s.name, s.sources))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let rows: Vec<Vec<String>> = records
                .iter()
                .zip(&alerts)
                .zip(&attributions)
                .zip(&payloads)
                .map(|(((r, a), at), p)| {
                    vec![
                        r.id.clone(),
                        a.proto.as_str().to_string(),
                        a.port.to_string(),
                        r.kind.clone(),
                        r.state.clone(),
                        Timestamp::from_secs(a.onset).to_rfc3339(),
                        a.closed
                            .map_or(String::new(), |c| Timestamp::from_secs(c).to_rfc3339()),
                        Timestamp::from_secs(a.peak.at).to_rfc3339(),
                        a.peak.sources.to_string(),
                        a.peak.packets.to_string(),
                        format!("{:.4}", a.baseline_at_onset.sources_per_min),
                        format!("{:.2}", a.score.max),
                        a.during
                            .sources
                            .unwrap_or(a.during.sources_at_least)
                            .to_string(),
                        a.during.packets.to_string(),
                        shares(&at.sources.classes),
                        shares(&at.sources.tools),
                        shares(at.sources.countries.as_deref().unwrap_or_default()),
                        p.iter()
                            .map(|s| format!("{}:{}", s.name, s.hits))
                            .collect::<Vec<_>>()
                            .join(" "),
                        a.summary.clone(),
                    ]
                })
                .collect();
            write_csv(
                std::io::stdout().lock(),
                &[
                    "id",
                    "proto",
                    "port",
                    "kind",
                    "state",
                    "onset",
                    "closed",
                    "peak_at",
                    "peak_sources",
                    "peak_packets",
                    "baseline_sources_per_min",
                    "score_max",
                    "sources",
                    "packets",
                    "classes",
                    "tools",
                    "countries",
                    "payloads",
                    "summary",
                ],
                &rows,
            )?;
            Ok(())
        }
        Format::Table => {
            let mut s = format!(
                "{} alert{}{}\n",
                alerts.len(),
                if alerts.len() == 1 { "" } else { "s" },
                if a.open { " open" } else { "" }
            );
            if !alerts.is_empty() {
                s.push_str(&alerts_table(&alerts));
            }
            for ((alert, at), p) in alerts.iter().zip(&attributions).zip(&payloads) {
                s.push_str(&format!(
                    "\nAttribution of {} ({}):\n",
                    alert.id,
                    alert.key()
                ));
                s.push_str(&at.text());
                if !p.is_empty() {
                    s.push_str(&crate::payloads::table(alert.key(), p));
                }
            }
            for r in &records {
                if a.id.is_some() {
                    s.push_str(&format!("\nTransitions of {}:\n", r.id));
                    for t in &r.transitions {
                        s.push_str(&format!(
                            "  {:<9} at {}  (decided {})\n",
                            t.state,
                            minute(t.at),
                            minute(t.decided)
                        ));
                    }
                }
            }
            crate::report::write_text(&s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(f.path(), text).expect("write");
        f
    }

    fn args(f: &tempfile::NamedTempFile) -> DetectArgs {
        DetectArgs {
            config: Some(f.path().to_path_buf()),
            ..DetectArgs::default()
        }
    }

    #[test]
    fn the_example_config_is_valid_and_holds_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/portwatch.example.toml");
        let file = read_file(&path).expect("example config");
        assert_eq!(file.detect, DetectConfig::default());
        assert_eq!(file.publish, PublishConfig::default());
        assert_eq!(file.enrich, EnrichConfig::default());
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let f = write("[detect]\nopen_scor = 5\n");
        let e = config(&args(&f)).expect_err("unknown key").to_string();
        assert!(e.contains("open_scor"), "{e}");
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        let f = write("[detekt]\n");
        let e = config(&args(&f)).expect_err("unknown table").to_string();
        assert!(e.contains("detekt"), "{e}");
    }

    #[test]
    fn publish_mistakes_are_refused_with_the_file_and_key() {
        let f = write("[publish]\nformats = [\"pdf\"]\n");
        let e = format!("{:#}", config(&args(&f)).expect_err("bad format"));
        assert!(e.contains("[publish] formats"), "{e}");
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        let f = write("[publish]\nwebhook = []\n");
        let e = format!("{:#}", publish_config(&args(&f)).expect_err("unknown key"));
        assert!(e.contains("webhook"), "{e}");
        let f = write("[publish]\njsonl = \"events.jsonl\"\nstdout = true\n");
        let p = publish_config(&args(&f)).expect("valid");
        assert!(p.stdout && p.jsonl.is_some());
    }

    #[test]
    fn impossible_thresholds_are_refused_by_name() {
        let f = write("[detect]\nopen_score = 2\nclose_score = 3\n");
        let e = config(&args(&f)).expect_err("hysteresis").to_string();
        assert!(e.contains("close_score"), "{e}");
        let e = config(&DetectArgs {
            min_sources: Some(0),
            ..DetectArgs::default()
        })
        .expect_err("zero sources")
        .to_string();
        assert!(e.contains("min_sources"), "{e}");
    }

    #[test]
    fn flags_override_the_file() {
        let f = write("[detect]\nopen_score = 8\nmin_sources = 7\n");
        let cfg = config(&DetectArgs {
            open_score: Some(5.0),
            watch: vec!["5168/tcp".into()],
            ignore: vec!["23/tcp".into()],
            ..args(&f)
        })
        .expect("config");
        assert_eq!(cfg.open_score, 5.0);
        assert_eq!(cfg.min_sources, 7);
        assert_eq!(cfg.watch.ports, vec!["5168/tcp".parse().expect("port")]);
        assert_eq!(cfg.ignore, vec!["23/tcp".parse().expect("port")]);
        let e = config(&DetectArgs {
            watch: vec!["23/tcp".into()],
            ignore: vec!["23/tcp".into()],
            ..DetectArgs::default()
        })
        .expect_err("watched and ignored")
        .to_string();
        assert!(e.contains("watch.ports"), "{e}");
    }
}
