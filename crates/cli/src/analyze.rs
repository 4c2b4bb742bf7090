//! `portwatch analyze`.

use std::io::Write;

use anyhow::{Context, bail};
use portwatch_detect::Alert;
use portwatch_pipeline::detect::{Detection, detect_store};
use portwatch_pipeline::{AnalyzeOptions, AnalyzeReport, InputOutcome, PortTotal, analyze};
use portwatch_store::{SqliteStore, Store, open_store};

use crate::args::{AnalyzeArgs, Format};
use crate::exit::Exit;
use crate::output::json::{self, AnalyzeDoc};
use crate::output::table::{Align, Table};
use crate::output::{bytes, count, top_source, write_csv};
use crate::progress::Bar;

pub fn run(a: AnalyzeArgs) -> anyhow::Result<Exit> {
    // `[enrich]` files are opened before any input is read: a missing
    // research list must not surface after an hour of reading.
    let attrib = crate::attrib::Attribution::from_config(a.detect.config.as_deref())?;
    let opts = AnalyzeOptions {
        inputs: a.inputs.clone(),
        year: a.year,
        utc_offset_secs: a
            .utc_offset
            .as_deref()
            .map(parse_utc_offset)
            .transpose()?
            .unwrap_or(0),
        batch_records: a.batch_records,
        workers: a
            .workers
            .unwrap_or_else(|| AnalyzeOptions::default().workers)
            .max(1),
        progress: Bar::for_terminal(!a.no_progress),
        exclude: attrib.exclude_filter(),
        drop_log_outcomes: attrib.drop_log_outcomes,
    };
    // Settings are checked before any input is read.
    let detect_cfg = if a.no_detect || a.no_store {
        None
    } else {
        Some(crate::detect::config(&a.detect)?)
    };
    // Publishing needs detection's alerts; its settings are checked now too.
    let publish_cfg = match &detect_cfg {
        Some(_) if !a.no_publish => Some(crate::detect::publish_config(&a.detect)?),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (report, detection, published) = runtime.block_on(async {
        let store: Option<Box<dyn Store>> = match &a.db {
            _ if a.no_store => None,
            Some(db) => Some(open_store(db).await?),
            None => {
                let store = SqliteStore::temporary().await?;
                if let Some(dir) = store.temporary_dir() {
                    remove_when_interrupted(dir.to_path_buf());
                }
                Some(Box::new(store))
            }
        };
        let report = analyze(store.as_deref(), &opts).await?;
        let detection = match (store.as_deref(), &detect_cfg) {
            (Some(store), Some(cfg)) => Some(detect_store(store, cfg).await?),
            _ => None,
        };
        let published = match (store.as_deref(), &detect_cfg, &publish_cfg, &detection) {
            (Some(store), Some(dcfg), Some(pcfg), Some(d)) => {
                Some(crate::publish::run(store, pcfg, dcfg, &attrib, &d.alerts).await?)
            }
            _ => None,
        };
        Ok::<_, anyhow::Error>((report, detection, published))
    })?;
    let alerts = detection
        .as_ref()
        .map(|d| alerts_of_run(&report, d))
        .unwrap_or_default();

    // Stdout is line-buffered: a JSON report of every port is a million
    // lines, and a write call per line took longer than writing the lines.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match a.format {
        Format::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &analyze_doc(&report, detection.as_ref(), &alerts, published.as_ref()),
            )?;
            writeln!(out)?;
        }
        Format::Csv => write_ports_csv(&mut out, &report)?,
        Format::Table => {
            write!(out, "{}", render_table(&report, a.top, a.db.as_deref()))?;
            write!(out, "{}", render_alerts(detection.as_ref(), &alerts, &a))?;
            if let Some(p) = &published {
                write!(out, "{}", crate::publish::table(p))?;
            }
        }
    }
    out.flush()?;
    for input in &report.inputs {
        if input.outcome == InputOutcome::Unreadable {
            for e in &input.errors {
                eprintln!("portwatch: {}", e.message);
            }
        } else if input.error_count > 0 && a.format != Format::Table {
            eprintln!(
                "portwatch: {}: {} error(s); first: {}",
                input.label,
                input.error_count,
                input.errors.first().map_or("", |e| e.message.as_str())
            );
        }
    }
    Ok(if report.any_unreadable() {
        Exit::Unreadable
    } else if report.any_partial() {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// Watches for Ctrl-C and SIGTERM while `analyze` runs on a temporary
/// store: the process ends there (exit code 130) without unwinding, so the
/// store's directory, which can hold as much as the input, is removed here
/// rather than left behind in the temporary directory. The watcher has a
/// thread of its own: the command's runtime may be busy in a blocking read
/// (of standard input, say) when the signal comes.
fn remove_when_interrupted(dir: std::path::PathBuf) {
    let shown = dir.display().to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("portwatch-interrupt".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::warn!("cannot watch for Ctrl-C: {e}");
                    let _ = ready_tx.send(());
                    return;
                }
            };
            runtime.block_on(async {
                let signals = crate::exit::Interrupts::new();
                let _ = ready_tx.send(());
                signals.recv().await;
            });
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => eprintln!(
                    "portwatch: interrupted; removed the temporary store {}",
                    dir.display()
                ),
                Err(e) => eprintln!(
                    "portwatch: interrupted; could not remove the temporary store {}: {e}",
                    dir.display()
                ),
            }
            std::process::exit(Exit::Interrupted as i32);
        });
    match spawned {
        // The handlers are in place before analyze goes on: a wait of a
        // millisecond, once, on the command's runtime thread.
        Ok(_) => {
            if ready_rx.recv().is_ok() {
                tracing::debug!(store = %shown, "watching for Ctrl-C and SIGTERM");
            }
        }
        Err(e) => tracing::warn!("cannot watch for Ctrl-C: {e}"),
    }
}

/// `+09:00`, `-0500`, `+9` → seconds east of UTC.
pub(crate) fn parse_utc_offset(s: &str) -> anyhow::Result<i32> {
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => bail!("--utc-offset {s:?}: expected ±HH:MM, e.g. +09:00"),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.as_str(), "0"),
        4 => (&digits[..2], &digits[2..]),
        _ => bail!("--utc-offset {s:?}: expected ±HH:MM, e.g. +09:00"),
    };
    let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) else {
        bail!("--utc-offset {s:?}: expected ±HH:MM, e.g. +09:00");
    };
    if h > 14 || m > 59 {
        bail!("--utc-offset {s:?}: out of range (at most ±14:00)");
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// The alerts whose span overlaps the time span of this run's records.
fn alerts_of_run(r: &AnalyzeReport, d: &Detection) -> Vec<Alert> {
    let (Some(first), Some(last)) = (r.counts.first_seen, r.counts.last_seen) else {
        return Vec::new();
    };
    d.alerts
        .iter()
        .filter(|a| a.onset <= last.secs() && a.closed.is_none_or(|c| c > first.secs()))
        .cloned()
        .collect()
}

fn render_alerts(d: Option<&Detection>, alerts: &[Alert], a: &AnalyzeArgs) -> String {
    let Some(d) = d else {
        return if a.no_store {
            "Detection skipped (--no-store keeps no minutes to detect on).\n".into()
        } else {
            "Detection skipped (--no-detect).\n".into()
        };
    };
    let mut s = format!(
        "\nAlerts ({} in this data, {} in the store; detection over {} minutes with data)\n",
        alerts.len(),
        d.alerts.len(),
        count(d.minutes)
    );
    if alerts.is_empty() {
        s.push_str("  (no spike above any port's normal)\n");
    } else {
        s.push_str(&crate::detect::alerts_table(alerts));
    }
    if !d.gaps.is_empty() {
        s.push_str(&format!("Sensor gaps ({}):\n", d.gaps.len()));
        s.push_str(&crate::detect::gaps_text(&d.gaps));
    }
    if let Some(db) = &a.db
        && !alerts.is_empty()
    {
        s.push_str(&format!(
            "See `portwatch alerts --db {db}` and `portwatch report port PORT/PROTO --db {db}`.\n"
        ));
    }
    s
}

fn analyze_doc(
    r: &AnalyzeReport,
    d: Option<&Detection>,
    alerts: &[Alert],
    published: Option<&crate::publish::Published>,
) -> AnalyzeDoc {
    AnalyzeDoc {
        published: published
            .map(|p| p.files.as_slice())
            .unwrap_or_default()
            .to_vec(),
        deliveries: published
            .map(|p| p.deliveries.as_slice())
            .unwrap_or_default()
            .to_vec(),
        publish_sinks: published.map(|p| p.sinks.clone()).unwrap_or_default(),
        version: json::VERSION,
        summary: json::Summary::from(&r.counts),
        excluded_research: r.excluded,
        inputs: r.inputs.iter().map(json::Input::from).collect(),
        ports: r.ports.iter().map(json::Port::from).collect(),
        backscatter: r.backscatter.iter().map(json::Port::from).collect(),
        alerts: alerts.to_vec(),
        detection: json::DetectionDoc {
            ran: d.is_some(),
            minutes: d.map_or(0, |d| d.minutes),
            alerts_in_store: d.map_or(0, |d| d.alerts.len()),
            gaps: d
                .map(|d| d.gaps.iter().map(json::Gap::from).collect())
                .unwrap_or_default(),
        },
    }
}

fn write_ports_csv<W: Write>(out: W, r: &AnalyzeReport) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = r
        .ports
        .iter()
        .map(|p| ("probe", p))
        .chain(r.backscatter.iter().map(|p| ("backscatter", p)))
        .map(|(class, p)| {
            vec![
                class.to_string(),
                p.port.proto.to_string(),
                p.port.port.to_string(),
                json::service(p.port).unwrap_or("").to_string(),
                p.packets.to_string(),
                p.bytes.to_string(),
                p.sources.to_string(),
                p.targets.to_string(),
                p.first_seen.to_rfc3339(),
                p.last_seen.to_rfc3339(),
            ]
        })
        .collect();
    write_csv(
        out,
        &[
            "class",
            "proto",
            "port",
            "service",
            "packets",
            "bytes",
            "sources",
            "targets",
            "first_seen",
            "last_seen",
        ],
        &rows,
    )
}

pub fn ports_table(ports: &[&PortTotal]) -> Table {
    let mut t = Table::new(&[
        ("PORT", Align::Left),
        ("SERVICE", Align::Left),
        ("SOURCES", Align::Right),
        ("PACKETS", Align::Right),
        ("TARGETS", Align::Right),
        ("FIRST SEEN", Align::Left),
        ("LAST SEEN", Align::Left),
        ("TOP SOURCE", Align::Left),
    ]);
    for p in ports {
        let approx = if p.sources_exact { "" } else { "~" };
        t.row(vec![
            p.port.to_string(),
            json::service(p.port).unwrap_or("-").to_string(),
            format!("{approx}{}", count(p.sources)),
            count(p.packets),
            count(p.targets),
            p.first_seen.to_rfc3339(),
            p.last_seen.to_rfc3339(),
            top_source(&p.top_sources),
        ]);
    }
    t
}

fn render_table(r: &AnalyzeReport, top: usize, db: Option<&str>) -> String {
    let mut s = String::new();
    s.push_str("Inputs\n");
    let mut inputs = Table::new(&[
        ("INPUT", Align::Left),
        ("FORMAT", Align::Left),
        ("READ", Align::Right),
        ("RECORDS", Align::Right),
        ("ERRORS", Align::Right),
        ("RESULT", Align::Left),
    ]);
    for i in &r.inputs {
        let format = match (i.format, i.compression) {
            (Some(f), Some(c)) if c != "none" => format!("{f} ({c})"),
            (Some(f), _) => f.to_string(),
            _ => "-".into(),
        };
        let read = match i.size {
            Some(size) => format!("{} of {}", bytes(i.raw_bytes_read), bytes(size)),
            None => bytes(i.raw_bytes_read),
        };
        let result = if i.batches_already_merged > 0 && i.batches_merged == 0 {
            format!("{} (already in the store)", i.outcome.as_str())
        } else {
            i.outcome.as_str().to_string()
        };
        inputs.row(vec![
            i.label.clone(),
            format,
            read,
            count(i.counts.records()),
            count(i.error_count),
            result,
        ]);
    }
    s.push_str(&inputs.render());

    let c = &r.counts;
    s.push_str(&format!(
        "\nRecords: {} — probe {}, backscatter {}, other {}, unparseable {}\n",
        count(c.records()),
        count(c.probe),
        count(c.backscatter),
        count(c.other_total()),
        count(c.dropped_total()),
    ));
    if let (Some(a), Some(b)) = (c.first_seen, c.last_seen) {
        s.push_str(&format!("Time span: {a} to {b}\n"));
    }
    if r.excluded > 0 {
        s.push_str(&format!(
            "Excluded: {} packets from known research scanners (not counted, not in detection)\n",
            count(r.excluded)
        ));
    }
    if !c.other.is_empty() {
        let parts: Vec<String> = c
            .other
            .iter()
            .map(|(k, v)| format!("{} {}", k.as_str(), count(*v)))
            .collect();
        s.push_str(&format!("Other by kind: {}\n", parts.join(", ")));
    }
    if !c.dropped.is_empty() {
        let parts: Vec<String> = c
            .dropped
            .iter()
            .map(|(k, v)| format!("{} {}", k.as_str(), count(*v)))
            .collect();
        s.push_str(&format!("Unparseable by reason: {}\n", parts.join(", ")));
    }
    for i in r.inputs.iter().filter(|i| i.error_count > 0) {
        s.push_str(&format!(
            "\nErrors in {} ({} in all{}):\n",
            i.label,
            count(i.error_count),
            if i.bytes_skipped > 0 {
                format!(", {} skipped", bytes(i.bytes_skipped))
            } else {
                String::new()
            }
        ));
        for e in i.errors.iter().take(10) {
            let at = match (e.offset, e.line) {
                (Some(o), _) => format!("byte {o}: "),
                _ => String::new(),
            };
            s.push_str(&format!("  {at}{}\n", e.message));
        }
        if i.error_count > 10 {
            s.push_str(&format!(
                "  … and {} more (see --format json)\n",
                i.error_count - 10
            ));
        }
    }

    s.push_str(&format!(
        "\nTop ports by distinct sources (scan probes; {} ports in all)\n",
        count(r.ports.len() as u64)
    ));
    let ports: Vec<&PortTotal> = r.ports.iter().take(top).collect();
    if ports.is_empty() {
        s.push_str("  (no scan probes)\n");
    } else {
        s.push_str(&ports_table(&ports).render());
    }
    if !r.backscatter.is_empty() {
        s.push_str(&format!(
            "\nBackscatter by replying port (replies to spoofed traffic, never scanning; {} ports)\n",
            count(r.backscatter.len() as u64)
        ));
        let bs: Vec<&PortTotal> = r.backscatter.iter().take(top.min(10)).collect();
        s.push_str(&ports_table(&bs).render());
    }
    match db {
        Some(db) => s.push_str(&format!(
            "\nStored in {db}: see `portwatch report top --db {db}` and `portwatch report port PORT/PROTO --db {db}`.\n"
        )),
        None => s.push_str("\nNothing was stored (no --db).\n"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+09:00").unwrap(), 9 * 3600);
        assert_eq!(parse_utc_offset("-0530").unwrap(), -(5 * 3600 + 30 * 60));
        assert_eq!(parse_utc_offset("+2").unwrap(), 7200);
        assert!(parse_utc_offset("0900").is_err());
        assert!(parse_utc_offset("+25:00").is_err());
    }
}
