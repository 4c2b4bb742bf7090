//! Command-line arguments, parsed into raw values; each command validates
//! them into options for the library crates.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "portwatch",
    version,
    about = "Early warning for Internet scanning: per-port scan series from darknet captures and firewall logs",
    propagate_version = true
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); PORTWATCH_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read captures (pcap, pcapng; plain, gzip or zstd) and netfilter logs into per-port scan series.
    Analyze(AnalyzeArgs),
    /// Report from a store: busiest ports, one port's series, sources.
    #[command(subcommand)]
    Report(ReportCommand),
    /// List the alerts detection found in a store (spikes of scanning on a port).
    Alerts(AlertsArgs),
    /// Serve the read-only HTTP JSON API and Prometheus metrics over a store.
    Serve(ServeArgs),
    /// Run the live sensor: honeypot, followed logs, detection every minute, publishing and the API.
    Run(RunArgs),
    /// Write one alert's advisory (Markdown, HTML, JSON or STIX 2.1), targets masked.
    Advisory(AdvisoryArgs),
    /// Write synthetic darknet traffic with scheduled scan campaigns (and a ground-truth JSON).
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The store (a SQLite file written by `analyze --db`).
    #[arg(long, env = "PORTWATCH_DB", value_name = "PATH", required = true)]
    pub db: String,
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: String,
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Log lines on stderr as text or as one JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// The config file (`[run]`, `[store]`, `[api]`, `[honeypot]`, `[[logs]]`,
    /// `[detect]`, `[publish]`; see docs/run.example.toml) and detection flags.
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Detection sensitivity: a config file, then flags over it.
#[derive(Debug, Args, Clone, Default)]
pub struct DetectArgs {
    /// Config file (TOML) with `[detect]` and `[publish]` tables; see docs/portwatch.example.toml.
    #[arg(long, env = "PORTWATCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Score at which an alert opens (default 6; lower is more sensitive).
    #[arg(long, value_name = "SCORE")]
    pub open_score: Option<f64>,
    /// Distinct sources a campaign needs in its scoring window (default 5).
    #[arg(long, value_name = "N")]
    pub min_sources: Option<u32>,
    /// Hours of data before any alert (baselines learn first; default 24).
    #[arg(long, value_name = "HOURS")]
    pub warmup_hours: Option<f64>,
    /// Watch PORT/PROTO closely (lower thresholds); repeatable.
    #[arg(long, value_name = "PORT/PROTO")]
    pub watch: Vec<String>,
    /// Never alert on PORT/PROTO; repeatable.
    #[arg(long, value_name = "PORT/PROTO")]
    pub ignore: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture or log files; `-` reads standard input. The format is recognised from the content.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Store to merge into: a SQLite file (created if missing). Without it, a temporary store (a SQLite file under TMPDIR, removed at exit) is used and only the report remains.
    #[arg(long, env = "PORTWATCH_DB", value_name = "PATH")]
    pub db: Option<String>,
    /// Aggregate and report, but write nothing (not even to a temporary store).
    #[arg(long, conflicts_with = "db")]
    pub no_store: bool,
    /// Output format (json: one document, see docs/json.md).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// How many ports to list per table (json lists all).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Year of the first line of syslog files whose lines carry none (RFC 3164). Default: from the file's modification time.
    #[arg(long)]
    pub year: Option<i32>,
    /// UTC offset of log timestamps that carry no zone, e.g. +09:00 (default: they are UTC).
    #[arg(long, value_name = "±HH:MM", allow_hyphen_values = true)]
    pub utc_offset: Option<String>,
    /// Decode threads for captures (default: all cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Records per batch (the unit merged exactly once into the store).
    #[arg(long, default_value_t = portwatch_pipeline::analyze::DEFAULT_BATCH_RECORDS, hide = true)]
    pub batch_records: u64,
    /// No progress bar even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Skip spike detection (it runs over the whole store after merging).
    #[arg(long)]
    pub no_detect: bool,
    /// Publish nothing this run, whatever `[publish]` in the config says.
    #[arg(long)]
    pub no_publish: bool,
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub common: CommonReportArgs,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Only alerts that are not closed.
    #[arg(long)]
    pub open: bool,
    /// Only this PORT/PROTO.
    #[arg(long)]
    pub port: Option<String>,
    /// Only the alert with this id (json: its full document).
    #[arg(long)]
    pub id: Option<String>,
    #[command(flatten)]
    pub enrich: EnrichArgs,
}

/// Where attribution's databases and lists are configured.
#[derive(Debug, Args, Clone, Default)]
pub struct EnrichArgs {
    /// Config file (TOML) whose `[enrich]` table names GeoIP/ASN databases, address lists and research scanners; see docs/portwatch.example.toml.
    #[arg(long, env = "PORTWATCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdvisoryFormatArg {
    /// Markdown, the chart embedded as a data: URI.
    Md,
    /// One self-contained HTML file.
    Html,
    /// `portwatch.advisory/1` (docs/advisory.md).
    Json,
    /// A STIX 2.1 bundle.
    Stix,
}

#[derive(Debug, Args)]
pub struct AdvisoryArgs {
    /// The alert's id (`portwatch alerts --db X` lists them).
    pub id: String,
    /// The store (a SQLite file written by `analyze --db`).
    #[arg(long, env = "PORTWATCH_DB", value_name = "PATH", required = true)]
    pub db: String,
    #[arg(long, value_enum, default_value = "md")]
    pub format: AdvisoryFormatArg,
    /// Write to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Show target addresses unmasked: for internal use only, never to publish (rule 9).
    #[arg(long)]
    pub unmask: bool,
    /// The baseline band is recomputed with these settings (use those of `analyze`).
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The busiest ports, with service names.
    Top(TopArgs),
    /// One port's series (e.g. 5168/tcp), bucket by bucket.
    Port(PortArgs),
    /// The most active sources, classified (scan shape, tool) and labelled (country, AS, lists).
    Sources(SourcesArgs),
    /// Everything about one source: class, tools, ports, targets, country, AS, lists.
    Source(SourceArgs),
    /// What the store holds: inputs, record counts by class, time span.
    Summary(CommonReportArgs),
}

#[derive(Debug, Args)]
pub struct CommonReportArgs {
    /// The store (a SQLite file written by `analyze --db`).
    #[arg(long, env = "PORTWATCH_DB", value_name = "PATH", required = true)]
    pub db: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RangeArgs {
    /// Start of the range (RFC 3339 or YYYY-MM-DD, UTC), rounded down to the minute.
    #[arg(long)]
    pub since: Option<String>,
    /// End of the range, exclusive, rounded up to the minute.
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClassArg {
    Probe,
    Backscatter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    Sources,
    Packets,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub common: CommonReportArgs,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Scan probes, or backscatter (replies to spoofed traffic).
    #[arg(long, value_enum, default_value = "probe")]
    pub class: ClassArg,
    /// Only this protocol (tcp, udp, icmp, icmpv6).
    #[arg(long)]
    pub proto: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Rank by distinct sources (default) or packets.
    #[arg(long, value_enum, default_value = "sources")]
    pub order: OrderArg,
    #[command(flatten)]
    pub chart: ChartArgs,
    /// Bucket width of the chart: 1m, 5m, 1h or 1d (default: the finest
    /// that draws the range in at most 1,500 buckets).
    #[arg(long, requires = "chart")]
    pub bucket: Option<String>,
}

/// A chart of the report, beside its table.
#[derive(Debug, Args, Clone, Default)]
pub struct ChartArgs {
    /// Also draw the report as a chart into FILE (.svg or .png); stdout keeps the table or JSON.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
    /// Chart size in pixels.
    #[arg(
        long,
        value_name = "WxH",
        default_value = "1000x640",
        requires = "chart"
    )]
    pub chart_size: String,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    /// PORT/PROTO, e.g. 5168/tcp, 0/udp, 8/icmp.
    pub port: String,
    #[command(flatten)]
    pub common: CommonReportArgs,
    #[command(flatten)]
    pub range: RangeArgs,
    #[arg(long, value_enum, default_value = "probe")]
    pub class: ClassArg,
    /// Bucket width: 1m, 5m, 1h or 1d.
    #[arg(long, default_value = "1m")]
    pub bucket: String,
    /// No baseline band (it re-runs the port's baselines over the store).
    #[arg(long)]
    pub no_baseline: bool,
    #[command(flatten)]
    pub chart: ChartArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceOrderArg {
    Probes,
    Packets,
    Ports,
    Targets,
}

#[derive(Debug, Args)]
pub struct SourcesArgs {
    #[command(flatten)]
    pub common: CommonReportArgs,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Only sources that probed this PORT/PROTO.
    #[arg(long)]
    pub port: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long, value_enum, default_value = "probes")]
    pub order: SourceOrderArg,
    #[command(flatten)]
    pub enrich: EnrichArgs,
}

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The source address (IPv4 or IPv6).
    pub addr: String,
    #[command(flatten)]
    pub common: CommonReportArgs,
    #[command(flatten)]
    pub range: RangeArgs,
    #[command(flatten)]
    pub enrich: EnrichArgs,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Where to write the capture (pcap; `.gz` or `.zst` compresses it).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Length of the simulated run in hours.
    #[arg(long, default_value_t = 48.0)]
    pub hours: f64,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Total packets to write (overrides the background rate).
    #[arg(long)]
    pub packets: Option<u64>,
    /// Number of background sources.
    #[arg(long)]
    pub sources: Option<u64>,
    /// Scan campaign, repeatable, e.g. `5168/tcp@36h+6h,sources=300,pps=50,tool=masscan,ramp=taper`.
    #[arg(long = "campaign", value_name = "SPEC")]
    pub campaigns: Vec<String>,
    /// No campaigns at all (background only); otherwise the default demo campaigns are used when none is given.
    #[arg(long, conflicts_with = "campaigns")]
    pub no_campaigns: bool,
    /// Full simulation config (TOML); flags override its values.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Ground-truth JSON path (default: next to --out, `NAME.truth.json`).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Nanosecond-resolution pcap.
    #[arg(long)]
    pub nanos: bool,
}
