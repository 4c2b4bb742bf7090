//! `portwatch report ...`: reading a store.

use std::io::Write;
use std::net::IpAddr;

use anyhow::{Context, anyhow, bail};
use portwatch_aggregate::SeriesClass;
use portwatch_core::{BucketWidth, PortKey, Proto, Timestamp};
use portwatch_store::{
    Order, SeriesQuery, SourceOrder, SourcesQuery, Store, TimeRange, TopPortsQuery, open_store,
};

use crate::args::{
    ClassArg, CommonReportArgs, Format, OrderArg, PortArgs, RangeArgs, ReportCommand, SourceArgs,
    SourceOrderArg, SourcesArgs, TopArgs,
};
use crate::attrib::{Attribution, SourceDoc};
use crate::exit::Exit;
use crate::output::json::{
    self, BaselineDoc, Port, SeriesDoc, SourceReportDoc, SourcesDoc, StoreDoc, TopDoc,
};
use crate::output::table::{Align, Table};
use crate::output::{bytes, count, top_source, write_csv};
use crate::overlay::Overlay;

pub fn run(cmd: ReportCommand) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match cmd {
            ReportCommand::Top(a) => top(a).await,
            ReportCommand::Port(a) => port(a).await,
            ReportCommand::Sources(a) => sources(a).await,
            ReportCommand::Source(a) => source(a).await,
            ReportCommand::Summary(a) => summary(a).await,
        }
    })?;
    Ok(Exit::Ok)
}

pub(crate) async fn open(common: &CommonReportArgs) -> anyhow::Result<Box<dyn Store>> {
    open_db(&common.db).await
}

pub(crate) async fn open_db(db: &str) -> anyhow::Result<Box<dyn Store>> {
    // Reports never create a store: a mistyped path is an error, not an empty report.
    if !db.contains("://") && !std::path::Path::new(db).exists() {
        bail!("{db}: no such store (write one with `portwatch analyze --db {db}`)");
    }
    Ok(open_store(db).await?)
}

fn class(c: ClassArg) -> SeriesClass {
    match c {
        ClassArg::Probe => SeriesClass::Probe,
        ClassArg::Backscatter => SeriesClass::Backscatter,
    }
}

/// `--since` rounds down and `--until` up to whole minutes, the store's grain.
pub(crate) fn range(r: &RangeArgs) -> anyhow::Result<TimeRange> {
    let parse = |flag: &str, s: &Option<String>, up: bool| -> anyhow::Result<Option<Timestamp>> {
        let Some(s) = s else { return Ok(None) };
        let t = Timestamp::parse_rfc3339(s).ok_or_else(|| {
            anyhow!("--{flag} {s:?}: expected RFC 3339 (2007-08-22T14:00:00Z) or YYYY-MM-DD")
        })?;
        let minute = t.bucket_start(BucketWidth::Minute);
        let rounded = if up && Timestamp::from_secs(minute) != t {
            minute + 60
        } else {
            minute
        };
        Ok(Some(Timestamp::from_secs(rounded)))
    };
    let range = TimeRange {
        from: parse("since", &r.since, false)?,
        to: parse("until", &r.until, true)?,
    };
    if let (Some(a), Some(b)) = (range.from, range.to)
        && a > b
    {
        bail!("--since {a} is after --until {b}");
    }
    Ok(range)
}

pub(crate) fn port_key(s: &str) -> anyhow::Result<PortKey> {
    s.parse::<PortKey>().map_err(|e| anyhow!("{e}"))
}

pub(crate) fn write_json<T: serde::Serialize>(doc: &T) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, doc)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

pub(crate) fn write_text(s: &str) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

async fn top(a: TopArgs) -> anyhow::Result<()> {
    let store = open(&a.common).await?;
    let q = TopPortsQuery {
        class: class(a.class),
        range: range(&a.range)?,
        limit: a.limit,
        order: match a.order {
            OrderArg::Sources => Order::Sources,
            OrderArg::Packets => Order::Packets,
        },
        proto: a
            .proto
            .as_deref()
            .map(|p| p.parse::<Proto>().map_err(|e| anyhow!("--proto: {e}")))
            .transpose()?,
    };
    let ports = store.top_ports(&q).await?;
    if let Some(path) = &a.chart.chart {
        top_chart(store.as_ref(), &a, &q, &ports, path).await?;
    }
    match a.common.format {
        Format::Json => write_json(&TopDoc {
            version: json::VERSION,
            class: q.class.as_str(),
            range: (&q.range).into(),
            order: match q.order {
                Order::Sources => "sources",
                Order::Packets => "packets",
            },
            ports: ports.iter().map(Port::from).collect(),
        }),
        Format::Csv => {
            let rows: Vec<Vec<String>> = ports
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    vec![
                        (i + 1).to_string(),
                        p.port.proto.to_string(),
                        p.port.port.to_string(),
                        json::service(p.port).unwrap_or("").to_string(),
                        p.sources.to_string(),
                        p.packets.to_string(),
                        p.bytes.to_string(),
                        p.targets.to_string(),
                        p.active_minutes.to_string(),
                        p.first_seen.to_rfc3339(),
                        p.last_seen.to_rfc3339(),
                    ]
                })
                .collect();
            write_csv(
                std::io::stdout().lock(),
                &[
                    "rank",
                    "proto",
                    "port",
                    "service",
                    "sources",
                    "packets",
                    "bytes",
                    "targets",
                    "active_minutes",
                    "first_seen",
                    "last_seen",
                ],
                &rows,
            )?;
            Ok(())
        }
        Format::Table => {
            let mut t = Table::new(&[
                ("#", Align::Right),
                ("PORT", Align::Left),
                ("SERVICE", Align::Left),
                ("SOURCES", Align::Right),
                ("PACKETS", Align::Right),
                ("TARGETS", Align::Right),
                ("ACTIVE MIN", Align::Right),
                ("FIRST SEEN", Align::Left),
                ("LAST SEEN", Align::Left),
                ("TOP SOURCE", Align::Left),
            ]);
            for (i, p) in ports.iter().enumerate() {
                t.row(vec![
                    (i + 1).to_string(),
                    p.port.to_string(),
                    json::service(p.port).unwrap_or("-").to_string(),
                    format!(
                        "{}{}",
                        if p.sources_exact { "" } else { "~" },
                        count(p.sources)
                    ),
                    count(p.packets),
                    count(p.targets),
                    count(p.active_minutes),
                    p.first_seen.to_rfc3339(),
                    p.last_seen.to_rfc3339(),
                    top_source(&p.top_sources),
                ]);
            }
            let what = match q.class {
                SeriesClass::Probe => "scan probes",
                SeriesClass::Backscatter => "backscatter (replies to spoofed traffic)",
            };
            let mut s = format!(
                "Top {} ports, {what}, by {}\n",
                ports.len(),
                match q.order {
                    Order::Sources => "distinct sources",
                    Order::Packets => "packets",
                }
            );
            if t.is_empty() {
                s.push_str("  (nothing in this range)\n");
            } else {
                s.push_str(&t.render());
            }
            write_text(&s)
        }
    }
}

/// The top ports' series over the range (or over what they span) on one
/// chart. Drawn before the table is printed, so that a chart that cannot
/// be drawn fails the command before anything went to stdout.
async fn top_chart(
    store: &dyn Store,
    a: &TopArgs,
    q: &TopPortsQuery,
    ports: &[portwatch_store::PortTotals],
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let opts = crate::chart::size(&a.chart.chart_size)?;
    let first = ports.iter().map(|p| p.first_seen.secs()).min();
    let last = ports.iter().map(|p| p.last_seen.secs() + 1).max();
    let (Some(from), Some(to)) = (
        q.range.from.map(Timestamp::secs).or(first),
        q.range.to.map(Timestamp::secs).or(last),
    ) else {
        bail!("no ports in this range: no chart written");
    };
    let width = match &a.bucket {
        Some(b) => b.parse().map_err(|e| anyhow!("--bucket: {e}"))?,
        None => crate::chart::auto_width(from, to),
    };
    // Whole buckets: the store answers ranges of whole minutes, and the
    // chart's first and last buckets should not be cut.
    let w = width.secs();
    let (from, to) = (from.div_euclid(w) * w, (to + w - 1).div_euclid(w) * w);
    let mut series = Vec::new();
    // The chart draws at most eight lines; reading more series is waste.
    for p in ports.iter().take(8) {
        let points = store
            .series(&SeriesQuery {
                class: q.class,
                port: p.port,
                width,
                range: TimeRange::new(Timestamp::from_secs(from), Timestamp::from_secs(to)),
            })
            .await?;
        series.push(crate::chart::port_series(
            p.port,
            width,
            (from, to),
            &points,
            None,
        ));
    }
    let metric = match q.order {
        Order::Sources => portwatch_publish::Metric::Sources,
        Order::Packets => portwatch_publish::Metric::Packets,
    };
    crate::chart::write_top(path, series, metric, &opts)?;
    crate::chart::announce(path, &opts, width);
    Ok(())
}

async fn port(a: PortArgs) -> anyhow::Result<()> {
    let attrib = Attribution::from_config(a.detect.config.as_deref())?;
    let store = open(&a.common).await?;
    let width: BucketWidth = a.bucket.parse().map_err(|e| anyhow!("--bucket: {e}"))?;
    let key = port_key(&a.port)?;
    let q = SeriesQuery {
        class: class(a.class),
        port: key,
        width,
        range: range(&a.range)?,
    };
    let points = store.series(&q).await?;
    // Who scanned the port: scan probes only (a backscatter series' sources
    // are victims, not scanners).
    let attribution = if q.class == SeriesClass::Probe {
        Some(crate::attrib::attribute(&attrib, store.as_ref(), key, q.range, None).await?)
    } else {
        None
    };
    let overlay = if q.class == SeriesClass::Probe && !a.no_baseline {
        Some(Overlay::load(store.as_ref(), &crate::detect::config(&a.detect)?, &q).await?)
    } else {
        None
    };
    let bands: Vec<Option<BaselineDoc>> = points
        .iter()
        .map(|p| overlay.as_ref().and_then(|o| o.band(p.start.secs(), width)))
        .collect();
    let payloads = crate::payloads::signatures(store.as_ref(), key, None).await?;
    let alert_ids = |p: &portwatch_store::SeriesPoint| -> Vec<String> {
        overlay.as_ref().map_or_else(Vec::new, |o| {
            o.alerts_in(p.start.secs(), p.start.secs() + width.secs())
                .map(|a| a.id.to_string())
                .collect()
        })
    };
    match a.common.format {
        Format::Json => write_json(&SeriesDoc {
            version: json::VERSION,
            proto: key.proto.as_str(),
            port: key.port,
            service: json::service(key),
            class: q.class.as_str(),
            bucket: width.as_str(),
            range: (&q.range).into(),
            series: points
                .iter()
                .zip(&bands)
                .map(|(p, b)| json::Point {
                    baseline: *b,
                    alerts: alert_ids(p),
                    ..json::Point::from(p)
                })
                .collect(),
            alerts: overlay
                .as_ref()
                .map(|o| o.alerts.iter().map(brief).collect())
                .unwrap_or_default(),
            gaps: overlay
                .as_ref()
                .map(|o| o.gaps.iter().map(json::Gap::from).collect())
                .unwrap_or_default(),
            attribution,
            payloads,
        }),
        Format::Csv => {
            let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
            let rows: Vec<Vec<String>> = points
                .iter()
                .zip(&bands)
                .map(|(p, b)| {
                    vec![
                        p.start.to_rfc3339(),
                        p.sources.to_string(),
                        p.packets.to_string(),
                        p.bytes.to_string(),
                        p.targets.to_string(),
                        p.top_sources
                            .first()
                            .map_or(String::new(), |e| e.addr.to_string()),
                        f(b.map(|b| b.sources_per_min)),
                        f(b.map(|b| b.sources_per_min_upper)),
                        f(b.map(|b| b.packets)),
                        f(b.map(|b| b.packets_upper)),
                        alert_ids(p).join(" "),
                    ]
                })
                .collect();
            write_csv(
                std::io::stdout().lock(),
                &[
                    "start",
                    "sources",
                    "packets",
                    "bytes",
                    "targets",
                    "top_source",
                    "baseline_sources_per_min",
                    "baseline_sources_per_min_upper",
                    "baseline_packets",
                    "baseline_packets_upper",
                    "alerts",
                ],
                &rows,
            )?;
            Ok(())
        }
        Format::Table => {
            let mut s = String::new();
            if let Some(at) = &attribution {
                s.push_str(&format!("{key}: who scanned it over this range\n"));
                s.push_str(&at.text());
                s.push('\n');
            }
            s.push_str(&port_table(&q, &points, &bands, overlay.as_ref()));
            if !payloads.is_empty() {
                s.push_str(&crate::payloads::table(key, &payloads));
            }
            write_text(&s)
        }
    }?;
    if let Some(path) = &a.chart.chart {
        let opts = crate::chart::size(&a.chart.chart_size)?;
        let sensor = overlay.as_ref().and_then(Overlay::sensor_span);
        let span = crate::chart::span(&q.range, sensor, &points, width)
            .ok_or_else(|| anyhow!("{key} has no data in this range: no chart written"))?;
        let series = crate::chart::port_series(key, width, span, &points, overlay.as_ref());
        let alert = overlay.as_ref().and_then(|o| o.main_alert(span.0, span.1));
        crate::chart::write_port(path, &series, alert, &opts)?;
        crate::chart::announce(path, &opts, width);
    }
    Ok(())
}

fn brief(a: &portwatch_detect::Alert) -> json::AlertBrief {
    json::AlertBrief {
        id: a.id.to_string(),
        kind: a.kind.as_str().to_string(),
        state: a.state.as_str().to_string(),
        onset: Timestamp::from_secs(a.onset).to_rfc3339(),
        closed: a.closed.map(|c| Timestamp::from_secs(c).to_rfc3339()),
        summary: a.summary.clone(),
    }
}

fn port_table(
    q: &SeriesQuery,
    points: &[portwatch_store::SeriesPoint],
    bands: &[Option<BaselineDoc>],
    overlay: Option<&Overlay>,
) -> String {
    let (key, width) = (q.port, q.width);
    let mut s = format!(
        "{key} ({}), {}, {width} buckets: {} with data\n",
        json::service(key).unwrap_or("no registered service"),
        q.class.as_str(),
        points.len()
    );
    let mut t = Table::new(&[
        ("BUCKET (UTC)", Align::Left),
        ("SOURCES", Align::Right),
        ("PACKETS", Align::Right),
        ("TARGETS", Align::Right),
        ("BYTES", Align::Right),
        ("TOP SOURCE", Align::Left),
        ("NORMAL SRC/MIN (TOP)", Align::Right),
        ("ALERT", Align::Left),
        ("SOURCES (bar)", Align::Left),
    ]);
    let max_sources = points.iter().map(|p| p.sources).max().unwrap_or(0);
    let mut prev: Option<Timestamp> = None;
    for (p, band) in points.iter().zip(bands) {
        if let Some(prev) = prev {
            let missing = (p.start.secs() - prev.secs()) / width.secs() - 1;
            if missing > 0 {
                let from = prev.secs() + width.secs();
                let down = overlay.is_some_and(|o| o.sensor_down(from, p.start.secs()));
                let what = if down {
                    "no data at all (sensor gap)"
                } else {
                    "empty"
                };
                t.row(vec![format!("  … {missing} {what}"), String::new()]);
            }
        }
        prev = Some(p.start);
        let alerts: Vec<String> = overlay.map_or_else(Vec::new, |o| {
            o.alerts_in(p.start.secs(), p.start.secs() + width.secs())
                .map(|a| format!("{} {}", &a.id.0[..a.id.0.len().min(8)], a.kind.as_str()))
                .collect()
        });
        t.row(vec![
            p.start.to_rfc3339(),
            count(p.sources),
            count(p.packets),
            count(p.targets),
            bytes(p.bytes),
            top_source(&p.top_sources),
            band.map_or_else(
                || if overlay.is_some() { "learning" } else { "-" }.into(),
                |b| format!("{:.2} ({:.1})", b.sources_per_min, b.sources_per_min_upper),
            ),
            alerts.join(", "),
            bar(p.sources, max_sources, 30),
        ]);
    }
    if t.is_empty() {
        s.push_str("  (no data for this port)\n");
    } else {
        s.push_str(&t.render());
    }
    if let Some(o) = overlay {
        if !o.alerts.is_empty() {
            s.push_str("\nAlerts on this port:\n");
            for a in &o.alerts {
                s.push_str(&format!("  {}  {}\n", a.id, a.summary));
            }
        }
        if !o.gaps.is_empty() {
            s.push_str("\nSensor gaps in this range:\n");
            s.push_str(&crate::detect::gaps_text(&o.gaps));
        }
    }
    s
}

async fn sources(a: SourcesArgs) -> anyhow::Result<()> {
    // The config's files are opened before the store is read.
    let attrib = Attribution::from_config(a.enrich.config.as_deref())?;
    let store = open(&a.common).await?;
    let q = SourcesQuery {
        range: range(&a.range)?,
        limit: a.limit,
        port: a.port.as_deref().map(port_key).transpose()?,
        order: match a.order {
            SourceOrderArg::Probes => SourceOrder::Probes,
            SourceOrderArg::Packets => SourceOrder::Packets,
            SourceOrderArg::Ports => SourceOrder::Ports,
            SourceOrderArg::Targets => SourceOrder::Targets,
        },
    };
    let docs = attrib.sources(&store.sources(&q).await?)?;
    match a.common.format {
        Format::Json => write_json(&SourcesDoc {
            version: json::VERSION,
            range: (&q.range).into(),
            sources: docs,
        }),
        Format::Csv => {
            let opt = |v: &Option<Option<String>>| v.clone().flatten().unwrap_or_default();
            let rows: Vec<Vec<String>> = docs
                .iter()
                .map(|s| {
                    vec![
                        s.addr.clone(),
                        s.class.to_string(),
                        s.tool.to_string(),
                        s.probes.to_string(),
                        s.backscatter.to_string(),
                        s.other.to_string(),
                        s.port_count.to_string(),
                        s.targets.to_string(),
                        s.first_seen.clone(),
                        s.last_seen.clone(),
                        opt(&s.country),
                        s.asn.flatten().map_or(String::new(), |n| n.to_string()),
                        opt(&s.as_org),
                        s.lists.clone().unwrap_or_default().join(" "),
                        opt(&s.research),
                        s.possibly_infected.to_string(),
                        s.trw
                            .as_ref()
                            .map_or(String::new(), |t| t.verdict.to_string()),
                        s.trw.as_ref().map_or(String::new(), |t| t.ok.to_string()),
                        s.trw
                            .as_ref()
                            .map_or(String::new(), |t| t.failed.to_string()),
                    ]
                })
                .collect();
            write_csv(
                std::io::stdout().lock(),
                &[
                    "addr",
                    "class",
                    "tool",
                    "probes",
                    "backscatter",
                    "other",
                    "ports",
                    "targets",
                    "first_seen",
                    "last_seen",
                    "country",
                    "asn",
                    "as_org",
                    "lists",
                    "research",
                    "possibly_infected",
                    "trw",
                    "first_contacts_ok",
                    "first_contacts_failed",
                ],
                &rows,
            )?;
            Ok(())
        }
        Format::Table => write_text(&sources_table(&docs)),
    }
}

/// Columns for labels appear only when something could fill them.
fn sources_table(docs: &[SourceDoc]) -> String {
    let geo = docs.iter().any(|d| d.country.is_some() || d.asn.is_some());
    let lists = docs
        .iter()
        .any(|d| d.lists.is_some() || d.research.is_some());
    let mut cols = vec![
        ("SOURCE", Align::Left),
        ("CLASS", Align::Left),
        ("TOOL", Align::Left),
        ("TRW", Align::Left),
        ("PROBES", Align::Right),
        ("BACKSCATTER", Align::Right),
        ("PORTS", Align::Right),
        ("TARGETS", Align::Right),
        ("FIRST SEEN", Align::Left),
        ("LAST SEEN", Align::Left),
    ];
    if geo {
        cols.extend([("COUNTRY", Align::Left), ("AS", Align::Left)]);
    }
    if lists {
        cols.push(("LISTS", Align::Left));
    }
    cols.push(("PORTS PROBED", Align::Left));
    let mut t = Table::new(&cols);
    for s in docs {
        let mut ports: Vec<String> = s.ports.iter().take(6).cloned().collect();
        if s.port_count > 6 {
            ports.push("…".into());
        }
        let class = if s.possibly_infected {
            format!("{} (home: possibly infected)", s.class)
        } else {
            s.class.to_string()
        };
        let mut row = vec![
            s.addr.clone(),
            class,
            s.tool.to_string(),
            s.trw_cell(),
            count(s.probes),
            count(s.backscatter),
            count(s.port_count),
            count(s.targets),
            s.first_seen.clone(),
            s.last_seen.clone(),
        ];
        if geo {
            row.extend([s.country_cell(), s.asn_cell()]);
        }
        if lists {
            row.push(s.lists_cell());
        }
        row.push(ports.join(" "));
        t.row(row);
    }
    let mut out = format!("Top {} sources\n", docs.len());
    if t.is_empty() {
        out.push_str("  (no sources in this range)\n");
    } else {
        out.push_str(&t.render());
    }
    out
}

async fn source(a: SourceArgs) -> anyhow::Result<()> {
    let addr: IpAddr = a
        .addr
        .parse()
        .map_err(|_| anyhow!("{:?} is not an IPv4 or IPv6 address", a.addr))?;
    let attrib = Attribution::from_config(a.enrich.config.as_deref())?;
    let store = open(&a.common).await?;
    let r = range(&a.range)?;
    let Some(totals) = store.source(addr, r).await? else {
        bail!("{addr} was not seen in {} over this range", a.common.db);
    };
    let doc = attrib.source(&totals)?;
    match a.common.format {
        Format::Json => write_json(&SourceReportDoc {
            version: json::VERSION,
            range: (&r).into(),
            source: doc,
        }),
        Format::Csv => bail!("report source has no CSV form; use --format json"),
        Format::Table => {
            let mut s = format!("{addr}\n");
            let mut line = |k: &str, v: String| s.push_str(&format!("  {k:<13}{v}\n"));
            line("class", doc.class.to_string());
            line("trw", doc.trw_cell());
            let tools: Vec<String> = doc
                .tools
                .iter()
                .map(|(t, n)| format!("{t} {}", count(*n)))
                .collect();
            line(
                "tool",
                format!(
                    "{} (probes: {})",
                    doc.tool,
                    if tools.is_empty() {
                        "-".into()
                    } else {
                        tools.join(", ")
                    }
                ),
            );
            line(
                "packets",
                format!(
                    "{} (probes {}, backscatter {}, other {})",
                    count(doc.packets),
                    count(doc.probes),
                    count(doc.backscatter),
                    count(doc.other)
                ),
            );
            line("targets", count(doc.targets));
            let mut ports = doc.ports.join(" ");
            if doc.port_count > doc.ports.len() as u64 {
                ports.push_str(" …");
            }
            line("ports", format!("{}: {ports}", count(doc.port_count)));
            line("first seen", doc.first_seen.clone());
            line("last seen", doc.last_seen.clone());
            if doc.country.is_some() || doc.asn.is_some() {
                line("country", doc.country_cell());
                line("AS", doc.asn_cell());
            }
            if doc.lists.is_some() || doc.research.is_some() {
                line("lists", doc.lists_cell());
            }
            if doc.home {
                line(
                    "home network",
                    if doc.possibly_infected {
                        "yes, and it scans: possibly infected (check the host; limit its outbound traffic)".into()
                    } else {
                        "yes".into()
                    },
                );
            }
            write_text(&s)
        }
    }
}

async fn summary(a: CommonReportArgs) -> anyhow::Result<()> {
    let store = open(&a).await?;
    let totals = store.totals().await?;
    match a.format {
        Format::Json => write_json(&StoreDoc {
            version: json::VERSION,
            summary: json::Summary::from(&totals.counts),
            streams: totals
                .per_stream
                .iter()
                .map(|s| json::Stream {
                    stream: s.stream.clone(),
                    label: s.label.clone(),
                    batches: s.batches,
                    summary: json::Summary::from(&s.counts),
                })
                .collect(),
        }),
        Format::Csv => {
            let rows: Vec<Vec<String>> = totals
                .per_stream
                .iter()
                .map(|s| {
                    vec![
                        s.stream.clone(),
                        s.label.clone().unwrap_or_default(),
                        s.batches.to_string(),
                        s.counts.records().to_string(),
                        s.counts.probe.to_string(),
                        s.counts.backscatter.to_string(),
                        s.counts.other_total().to_string(),
                        s.counts.dropped_total().to_string(),
                    ]
                })
                .collect();
            write_csv(
                std::io::stdout().lock(),
                &[
                    "stream",
                    "label",
                    "batches",
                    "records",
                    "probe",
                    "backscatter",
                    "other",
                    "unparseable",
                ],
                &rows,
            )?;
            Ok(())
        }
        Format::Table => {
            let c = &totals.counts;
            let mut s = format!(
                "{}: {} streams, {} batches, {} records — probe {}, backscatter {}, other {}, unparseable {}\n",
                a.db,
                totals.streams,
                totals.batches,
                count(c.records()),
                count(c.probe),
                count(c.backscatter),
                count(c.other_total()),
                count(c.dropped_total())
            );
            if let (Some(f), Some(l)) = (c.first_seen, c.last_seen) {
                s.push_str(&format!("Time span: {f} to {l}\n"));
            }
            let mut t = Table::new(&[
                ("INPUT", Align::Left),
                ("BATCHES", Align::Right),
                ("RECORDS", Align::Right),
                ("PROBE", Align::Right),
                ("BACKSCATTER", Align::Right),
            ]);
            for st in &totals.per_stream {
                t.row(vec![
                    st.label.clone().unwrap_or_else(|| st.stream.clone()),
                    count(st.batches),
                    count(st.counts.records()),
                    count(st.counts.probe),
                    count(st.counts.backscatter),
                ]);
            }
            s.push_str(&t.render());
            write_text(&s)
        }
    }
}

/// A bar of up to `width` cells for `value` against `max`, in eighths of a
/// cell, so a spike stands out in a terminal.
fn bar(value: u64, max: u64, width: u64) -> String {
    const PARTS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    if max == 0 || value == 0 {
        return String::new();
    }
    let eighths = (value * width * 8).div_ceil(max);
    let mut s = "█".repeat((eighths / 8) as usize);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[(eighths % 8 - 1) as usize]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_maximum() {
        assert_eq!(bar(0, 10, 4), "");
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(1, 64, 4), "▏");
        assert_eq!(bar(3, 8, 1), "▍");
    }
}
