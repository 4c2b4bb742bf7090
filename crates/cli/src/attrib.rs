//! Attribution: who the sources are (scan shape, tool, country, AS, lists,
//! research organisation) and why their port matters (service, curated
//! notes, vulnerabilities), for `report source|sources|port`, `alerts` and
//! advisories.
//!
//! A source is classified over the days the report's range overlaps (the
//! store keeps sources per UTC day): its probes, backscatter, distinct
//! ports and targets give a [`ScanShape`] with the thresholds of
//! [`ShapeThresholds::default`] (docs/attribution.md), and its tool is the
//! fingerprint that matched most of its probes.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ipnet::IpNet;
use portwatch_core::{PortKey, Timestamp};
use portwatch_enrich::kev::Catalog;
use portwatch_enrich::knowledge::Knowledge;
use portwatch_enrich::{Enricher, SourceLabels, as_label};
use portwatch_pipeline::SourceFilter;
use portwatch_scanners::{ScanShape, ShapeThresholds, SourceProfile};
use portwatch_store::{SourceOrder, SourceTotals, SourcesQuery, Store, TimeRange, TrwSummary};
use serde::Serialize;

use crate::enrich_config::EnrichConfig;

/// Countries and ASes listed in a breakdown, most sources first.
const TOP_LABELS: usize = 10;

/// A vulnerability is a probable cause of an alert when disclosed (or
/// listed as exploited) at most this many days before the onset, as in
/// advisories.
pub const RECENT_DAYS: i64 = 90;

/// What attribution runs with.
#[derive(Debug, Clone)]
pub struct Attribution {
    enricher: Arc<Enricher>,
    home: Vec<IpNet>,
    kev: Option<Arc<Catalog>>,
    exclude_research: bool,
    /// `[enrich] drop_log_outcomes`.
    pub drop_log_outcomes: bool,
    thresholds: ShapeThresholds,
}

impl Attribution {
    /// From a config file's `[enrich]` (or nothing configured); every file it
    /// names is opened now, so a missing or corrupt one fails the command
    /// before any work, naming the file.
    pub fn from_config(path: Option<&Path>) -> anyhow::Result<Attribution> {
        Attribution::new(&crate::detect::enrich_config(path)?)
    }

    pub fn new(cfg: &EnrichConfig) -> anyhow::Result<Attribution> {
        let loaded = cfg.load()?;
        Ok(Attribution {
            enricher: Arc::new(loaded.enricher),
            home: loaded.home,
            kev: loaded.kev.map(Arc::new),
            exclude_research: loaded.exclude_research,
            drop_log_outcomes: cfg.drop_log_outcomes,
            thresholds: ShapeThresholds::default(),
        })
    }

    /// The per-packet filter `analyze` drops research scanners with, when
    /// configured to.
    pub fn exclude_filter(&self) -> Option<SourceFilter> {
        if !self.exclude_research {
            return None;
        }
        let enricher = Arc::clone(&self.enricher);
        Some(Arc::new(move |ip| enricher.is_research(ip)))
    }

    pub fn shape(&self, t: &SourceTotals) -> ScanShape {
        self.thresholds.shape(&SourceProfile {
            probes: t.probes,
            backscatter: t.backscatter,
            other: t.other,
            ports: t.port_count,
            targets: t.targets,
        })
    }

    fn is_home(&self, ip: IpAddr) -> bool {
        self.home.iter().any(|n| n.contains(&ip))
    }

    /// One source, classified and labelled.
    pub fn source(&self, t: &SourceTotals) -> anyhow::Result<SourceDoc> {
        let class = self.shape(t);
        let labels = if self.enricher.is_empty() {
            SourceLabels::default()
        } else {
            self.enricher.lookup(t.addr)?
        };
        let geo = self.enricher.has_geo();
        let home = self.is_home(t.addr);
        Ok(SourceDoc {
            addr: t.addr.to_string(),
            class: class.as_str(),
            tool: t.tools.dominant().map_or("unknown", |t| t.as_str()),
            tools: t.tools.iter().map(|(t, n)| (t.as_str(), n)).collect(),
            first_seen: t.first_seen.to_rfc3339(),
            last_seen: t.last_seen.to_rfc3339(),
            probes: t.probes,
            backscatter: t.backscatter,
            other: t.other,
            packets: t.probes + t.backscatter + t.other,
            bytes: t.bytes,
            port_count: t.port_count,
            ports: t.ports.iter().take(100).map(|p| p.to_string()).collect(),
            targets: t.targets,
            country: geo.then(|| labels.country.clone()),
            asn: geo.then_some(labels.asn),
            as_org: geo.then(|| labels.as_org.clone()),
            lists: self.enricher.has_lists().then(|| labels.lists.clone()),
            research: self
                .enricher
                .has_research()
                .then(|| labels.research.clone()),
            home,
            possibly_infected: home && scans(class),
            trw: TrwSummary::of(t.first_contacts_ok, t.first_contacts_failed),
        })
    }

    pub fn sources(&self, list: &[SourceTotals]) -> anyhow::Result<Vec<SourceDoc>> {
        list.iter().map(|t| self.source(t)).collect()
    }

    /// Sources broken down by class, tool, country, AS, list and research.
    pub fn breakdown(&self, docs: &[SourceDoc]) -> Breakdown {
        let n = docs.len() as u64;
        let shares = |names: &mut dyn Iterator<Item = String>| -> Vec<Share> {
            let mut counts: HashMap<String, u64> = HashMap::new();
            for name in names {
                *counts.entry(name).or_default() += 1;
            }
            let mut v: Vec<Share> = counts
                .into_iter()
                .map(|(name, sources)| Share {
                    name,
                    sources,
                    share: share(sources, n),
                })
                .collect();
            v.sort_by(|a, b| b.sources.cmp(&a.sources).then_with(|| a.name.cmp(&b.name)));
            v
        };
        let geo = self.enricher.has_geo();
        let top = |mut v: Vec<Share>| {
            v.truncate(TOP_LABELS);
            v
        };
        let lists = self.enricher.has_lists().then(|| {
            self.enricher
                .list_names()
                .map(|name| {
                    let sources = docs
                        .iter()
                        .filter(|d| {
                            d.lists
                                .as_ref()
                                .is_some_and(|l| l.iter().any(|x| x == name))
                        })
                        .count() as u64;
                    Share {
                        name: name.to_string(),
                        sources,
                        share: share(sources, n),
                    }
                })
                .collect()
        });
        let research = self.enricher.has_research().then(|| {
            let orgs = shares(&mut docs.iter().filter_map(|d| d.research.clone().flatten()));
            let sources = orgs.iter().map(|s| s.sources).sum();
            Research {
                sources,
                share: share(sources, n),
                organisations: orgs,
            }
        });
        Breakdown {
            sources: n,
            classes: shares(&mut docs.iter().map(|d| d.class.to_string())),
            trw: shares(
                &mut docs
                    .iter()
                    .map(|d| d.trw.as_ref().map_or("n/a", |t| t.verdict).to_string()),
            ),
            tools: shares(&mut docs.iter().map(|d| d.tool.to_string())),
            countries: geo.then(|| {
                top(shares(
                    &mut docs.iter().filter_map(|d| d.country.clone().flatten()),
                ))
            }),
            asns: geo.then(|| {
                top(shares(&mut docs.iter().filter_map(|d| {
                    d.asn
                        .flatten()
                        .map(|a| as_label(a, d.as_org.as_ref().and_then(|o| o.as_deref())))
                })))
            }),
            lists,
            research,
            possibly_infected: (!self.home.is_empty()).then(|| {
                docs.iter()
                    .filter(|d| d.possibly_infected)
                    .map(|d| d.addr.clone())
                    .collect()
            }),
        }
    }

    /// The sources that probed `port` on the days `range` overlaps,
    /// classified and labelled.
    pub async fn port_sources(
        &self,
        store: &dyn Store,
        port: PortKey,
        range: TimeRange,
    ) -> anyhow::Result<Vec<SourceDoc>> {
        let list = store
            .sources(&SourcesQuery {
                range,
                limit: usize::MAX,
                port: Some(port),
                order: SourceOrder::Probes,
            })
            .await?;
        self.sources(&list)
    }

    /// Vulnerabilities of the products on `key`: the curated history and
    /// the KEV entries (shipped snapshot and the configured catalog) whose
    /// product the curated file maps to the port, newest first. With an
    /// onset, each says how many days before it it was disclosed (or listed
    /// by CISA), and only those dated up to the onset are kept.
    pub fn vulnerabilities(&self, key: PortKey, onset: Option<Timestamp>) -> Vec<VulnDoc> {
        let knowledge = Knowledge::builtin();
        let days = |d: portwatch_enrich::knowledge::Date| {
            onset.and_then(|o| d.start().map(|t| (o.secs() - t.secs()).div_euclid(86_400)))
        };
        let catalogs: Vec<&Catalog> = std::iter::once(Catalog::builtin())
            .chain(self.kev.as_deref())
            .collect();
        let exploited = |cve: &str| catalogs.iter().any(|c| c.get(cve).is_some());
        let mut out: Vec<VulnDoc> = Vec::new();
        if let Some(info) = knowledge.port(key) {
            for v in &info.vulns {
                let cves: Vec<String> = std::iter::once(v.id.clone())
                    .chain(v.cves.iter().cloned())
                    .filter(|c| c.starts_with("CVE-"))
                    .collect();
                out.push(VulnDoc {
                    known_exploited: cves.iter().any(|c| exploited(c)),
                    id: v.id.clone(),
                    cves,
                    name: v.name.clone(),
                    product: info.products.join(", "),
                    date: v.disclosed.to_string(),
                    source: "curated",
                    days_before_onset: days(v.disclosed),
                    recent: false,
                });
            }
        }
        for catalog in &catalogs {
            for e in catalog.entries_for_port(knowledge, key) {
                if out
                    .iter()
                    .any(|r| r.cves.iter().any(|c| c.eq_ignore_ascii_case(&e.cve)))
                {
                    continue;
                }
                out.push(VulnDoc {
                    id: e.cve.clone(),
                    cves: vec![e.cve.clone()],
                    name: e.name.clone(),
                    product: format!("{} {}", e.vendor_project, e.product),
                    date: e.date_added.to_string(),
                    source: "kev",
                    days_before_onset: days(e.date_added),
                    known_exploited: true,
                    recent: false,
                });
            }
        }
        if onset.is_some() {
            out.retain(|v| v.days_before_onset.is_none_or(|d| d >= 0));
        }
        for v in &mut out {
            v.recent = v.days_before_onset.is_some_and(|d| d <= RECENT_DAYS);
        }
        out.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.id.cmp(&b.id)));
        out
    }
}

/// Shapes that are scanning (as opposed to flooding one target, being a
/// backscatter victim, or too little to say).
fn scans(class: ScanShape) -> bool {
    matches!(
        class,
        ScanShape::Horizontal | ScanShape::Vertical | ScanShape::Strobe
    )
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // Four decimals: shares are for reading, and exact JSON in tests.
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

/// One source as reports show it (`report source`, rows of `report
/// sources`); docs/json.md describes the fields.
#[derive(Debug, Clone, Serialize)]
pub struct SourceDoc {
    pub addr: String,
    /// [`ScanShape`] over the range.
    pub class: &'static str,
    /// The tool that sent most of the recognised probes, or `unknown`.
    pub tool: &'static str,
    /// Probes per tool fingerprint (`unknown`: matched no rule).
    pub tools: BTreeMap<&'static str, u64>,
    pub first_seen: String,
    pub last_seen: String,
    pub probes: u64,
    pub backscatter: u64,
    pub other: u64,
    pub packets: u64,
    pub bytes: u64,
    pub port_count: u64,
    /// Up to 100 ports probed, as "PORT/PROTO".
    pub ports: Vec<String>,
    pub targets: u64,
    /// Present (possibly null) when a country database is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Option<String>>,
    /// Present (possibly null) when a geo database is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<Option<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_org: Option<Option<String>>,
    /// Names of the configured lists holding the address (when any are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lists: Option<Vec<String>>,
    /// The research organisation, when a research list is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub research: Option<Option<String>>,
    /// Inside `home_networks`.
    pub home: bool,
    /// A home-network source that scans: possibly infected.
    pub possibly_infected: bool,
    /// Threshold Random Walk over the source's first contacts; null when
    /// the inputs showed no connection outcome for it (a darknet capture).
    pub trw: Option<TrwSummary>,
}

impl SourceDoc {
    /// `scanner (0 ok, 14 failed)`, or `n/a` without outcomes.
    pub fn trw_cell(&self) -> String {
        self.trw.as_ref().map_or_else(
            || "n/a".into(),
            |t| format!("{} ({} ok, {} failed)", t.verdict, t.ok, t.failed),
        )
    }
}

impl SourceDoc {
    pub fn country_cell(&self) -> String {
        self.country.clone().flatten().unwrap_or_else(|| "-".into())
    }

    pub fn asn_cell(&self) -> String {
        self.asn.flatten().map_or_else(
            || "-".into(),
            |a| as_label(a, self.as_org.clone().flatten().as_deref()),
        )
    }

    pub fn lists_cell(&self) -> String {
        let mut v: Vec<String> = self.lists.clone().unwrap_or_default();
        if let Some(Some(org)) = &self.research {
            v.push(format!("research: {org}"));
        }
        if v.is_empty() {
            "-".into()
        } else {
            v.join(", ")
        }
    }
}

/// A named group of sources and its share of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub name: String,
    pub sources: u64,
    /// `sources` / all sources of the breakdown, 4 decimals.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Research {
    pub sources: u64,
    pub share: f64,
    pub organisations: Vec<Share>,
}

/// Sources broken down; optional parts are present when configured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub sources: u64,
    pub classes: Vec<Share>,
    /// Sources by Threshold Random Walk verdict (`n/a`: no outcomes seen).
    pub trw: Vec<Share>,
    pub tools: Vec<Share>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<Share>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asns: Option<Vec<Share>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lists: Option<Vec<Share>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub research: Option<Research>,
    /// Home-network sources that scan (when home_networks is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possibly_infected: Option<Vec<String>>,
}

impl Breakdown {
    /// Lines for a text report, each indented by two spaces.
    pub fn text(&self) -> String {
        let join = |v: &[Share]| -> String {
            if v.is_empty() {
                return "-".into();
            }
            v.iter()
                .map(|s| format!("{} {} ({:.0}%)", s.name, s.sources, s.share * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = format!("  sources: {}\n", self.sources);
        s.push_str(&format!("  by class: {}\n", join(&self.classes)));
        s.push_str(&format!("  by tool: {}\n", join(&self.tools)));
        s.push_str(&format!("  by TRW verdict: {}\n", join(&self.trw)));
        if let Some(c) = &self.countries {
            s.push_str(&format!("  countries: {}\n", join(c)));
        }
        if let Some(a) = &self.asns {
            s.push_str(&format!("  networks: {}\n", join(a)));
        }
        if let Some(l) = &self.lists {
            s.push_str(&format!("  on lists: {}\n", join(l)));
        }
        if let Some(r) = &self.research {
            s.push_str(&format!(
                "  research scanners: {} ({:.0}%){}\n",
                r.sources,
                r.share * 100.0,
                if r.organisations.is_empty() {
                    String::new()
                } else {
                    format!(": {}", join(&r.organisations))
                }
            ));
        }
        if let Some(p) = &self.possibly_infected
            && !p.is_empty()
        {
            s.push_str(&format!(
                "  possibly infected home hosts (they scan out; check them and limit outbound traffic to this port): {}\n",
                p.join(", ")
            ));
        }
        s
    }
}

/// A vulnerability of a product on a port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnDoc {
    /// CVE id, or the advisory id the curated file uses (`MS05-027`).
    pub id: String,
    pub cves: Vec<String>,
    pub name: String,
    pub product: String,
    /// Disclosure (curated) or CISA's `dateAdded` (kev).
    pub date: String,
    /// `curated` or `kev`.
    pub source: &'static str,
    /// Whole days from `date` to the alert's onset (alerts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_before_onset: Option<i64>,
    /// In CISA's Known Exploited Vulnerabilities catalog.
    pub known_exploited: bool,
    /// Dated at most [`RECENT_DAYS`] before the onset: a probable cause.
    pub recent: bool,
}

impl VulnDoc {
    pub fn line(&self) -> String {
        let when = match self.days_before_onset {
            Some(d) => format!(
                "{} {}, {d} days before onset",
                if self.source == "kev" {
                    "listed by CISA"
                } else {
                    "disclosed"
                },
                self.date
            ),
            None => format!(
                "{} {}",
                if self.source == "kev" {
                    "listed by CISA"
                } else {
                    "disclosed"
                },
                self.date
            ),
        };
        format!(
            "{} {} ({}; {when}){}",
            self.id,
            self.name,
            self.product,
            if self.known_exploited {
                " [known exploited]"
            } else {
                ""
            }
        )
    }
}

/// What the curated file says about a port.
#[derive(Debug, Clone, Serialize)]
pub struct PortKnowledgeDoc {
    pub service: Option<&'static str>,
    /// From the curated file, when it knows the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curated_service: Option<String>,
    pub products: Vec<String>,
    pub notes: Option<String>,
    pub references: Vec<String>,
}

pub fn port_knowledge(key: PortKey) -> PortKnowledgeDoc {
    let info = Knowledge::builtin().port(key);
    PortKnowledgeDoc {
        service: portwatch_enrich::services::name(key),
        curated_service: info.map(|p| p.service.clone()),
        products: info.map(|p| p.products.clone()).unwrap_or_default(),
        notes: info.map(|p| p.notes.clone()),
        references: info.map(|p| p.references.clone()).unwrap_or_default(),
    }
}

/// The `attribution` section of an alert (`portwatch alerts`) and of a
/// port report.
#[derive(Debug, Clone, Serialize)]
pub struct AttributionDoc {
    pub knowledge: PortKnowledgeDoc,
    pub sources: Breakdown,
    pub vulnerabilities: Vec<VulnDoc>,
}

impl AttributionDoc {
    pub fn text(&self) -> String {
        let k = &self.knowledge;
        let mut s = String::new();
        if let Some(svc) = k.curated_service.as_deref().or(k.service) {
            s.push_str(&format!("  service: {svc}"));
            if !k.products.is_empty() {
                s.push_str(&format!(" ({})", k.products.join(", ")));
            }
            s.push('\n');
        }
        if let Some(n) = &k.notes {
            s.push_str(&format!("  notes: {n}\n"));
        }
        s.push_str(&self.sources.text());
        if !self.vulnerabilities.is_empty() {
            s.push_str("  vulnerabilities:\n");
            for v in self.vulnerabilities.iter().take(15) {
                s.push_str(&format!("    {}\n", v.line()));
            }
            if self.vulnerabilities.len() > 15 {
                s.push_str(&format!(
                    "    … {} more (--format json lists all)\n",
                    self.vulnerabilities.len() - 15
                ));
            }
        }
        s
    }
}

/// Attribution for `port` over `range` (days overlapped), vulnerabilities
/// dated against `onset` when given.
pub async fn attribute(
    attrib: &Attribution,
    store: &dyn Store,
    port: PortKey,
    range: TimeRange,
    onset: Option<Timestamp>,
) -> anyhow::Result<AttributionDoc> {
    let docs = attrib
        .port_sources(store, port, range)
        .await
        .with_context(|| format!("attributing the sources of {port}"))?;
    Ok(AttributionDoc {
        knowledge: port_knowledge(port),
        sources: attrib.breakdown(&docs),
        vulnerabilities: attrib.vulnerabilities(port, onset),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portwatch_aggregate::ToolCounts;
    use portwatch_scanners::Tool;
    use portwatch_sketch::PortSet;

    fn none() -> Attribution {
        Attribution::new(&EnrichConfig::default()).expect("nothing to load")
    }

    fn totals(addr: &str, probes: u64, ports: u64, targets: u64, tool: Tool) -> SourceTotals {
        let mut tools = ToolCounts::default();
        tools.add(tool, probes);
        SourceTotals {
            addr: addr.parse().expect("address"),
            first_seen: Timestamp::from_secs(0),
            last_seen: Timestamp::from_secs(60),
            probes,
            backscatter: 0,
            other: 0,
            bytes: 40 * probes,
            ports: PortSet::new(),
            port_count: ports,
            targets,
            tools,
            first_contacts_ok: 0,
            first_contacts_failed: 0,
        }
    }

    #[test]
    fn vulnerabilities_of_serverprotect_and_smb() {
        let a = none();
        let at = |s: &str| Timestamp::parse_rfc3339(s).expect("time");
        let sp = a.vulnerabilities(
            "5168/tcp".parse().expect("port"),
            Some(at("2007-08-24T00:00:00Z")),
        );
        let ids: Vec<&str> = sp.iter().map(|v| v.id.as_str()).collect();
        assert!(
            ids.contains(&"CVE-2007-4218") && ids.contains(&"CVE-2007-1070"),
            "{ids:?}"
        );
        let v = sp.iter().find(|v| v.id == "CVE-2007-4218").expect("listed");
        // Disclosed in August 2007 (read as the 1st): 23 days before.
        assert_eq!((v.days_before_onset, v.recent), (Some(23), true));
        // SMB: the curated history (MS17-010 among it) and KEV entries of
        // Windows SMB, none dated after the onset.
        let onset = at("2022-06-01T00:00:00Z");
        let smb = a.vulnerabilities("445/tcp".parse().expect("port"), Some(onset));
        assert!(
            smb.iter()
                .any(|v| v.cves.iter().any(|c| c == "CVE-2017-0144")),
            "{smb:?}"
        );
        // The KEV entries of Windows SMB are the curated ones (deduped by
        // CVE, the curated disclosure date kept), marked as exploited.
        let ms17 = smb
            .iter()
            .find(|v| v.id == "MS17-010")
            .expect("EternalBlue");
        assert_eq!((ms17.source, ms17.known_exploited), ("curated", true));
        assert_eq!(ms17.date, "2017-03-14");
        assert!(smb.iter().any(|v| v.id == "MS05-027" && !v.known_exploited));
        assert!(
            smb.iter()
                .all(|v| v.days_before_onset.is_some_and(|d| d >= 0))
        );
        // Without an onset nothing is dated and nothing dropped.
        let all = a.vulnerabilities("445/tcp".parse().expect("port"), None);
        assert!(all.len() >= smb.len() && all.iter().all(|v| v.days_before_onset.is_none()));
        assert!(
            a.vulnerabilities("4/tcp".parse().expect("port"), None)
                .is_empty()
        );
    }

    #[test]
    fn breakdown_counts_each_source_once() {
        let a = none();
        let docs = a
            .sources(&[
                totals("192.0.2.1", 300, 1, 300, Tool::ZMap),
                totals("192.0.2.2", 20, 1, 20, Tool::ZMap),
                totals("192.0.2.3", 40, 20, 2, Tool::Unknown),
                totals("192.0.2.4", 3, 1, 3, Tool::Masscan),
            ])
            .expect("no lookups");
        let classes: Vec<&str> = docs.iter().map(|d| d.class).collect();
        assert_eq!(
            classes,
            ["horizontal", "horizontal", "vertical", "too_little"]
        );
        let b = a.breakdown(&docs);
        let names = |v: &[Share]| -> Vec<(String, u64, f64)> {
            v.iter()
                .map(|s| (s.name.clone(), s.sources, s.share))
                .collect()
        };
        assert_eq!(
            names(&b.tools),
            [
                ("zmap".into(), 2, 0.5),
                ("masscan".into(), 1, 0.25),
                ("unknown".into(), 1, 0.25)
            ]
        );
        assert_eq!(
            names(&b.classes),
            [
                ("horizontal".into(), 2, 0.5),
                ("too_little".into(), 1, 0.25),
                ("vertical".into(), 1, 0.25)
            ]
        );
        // Nothing configured: no label parts at all.
        assert!(b.countries.is_none() && b.lists.is_none() && b.research.is_none());
        assert!(b.possibly_infected.is_none());
        assert!(
            docs.iter()
                .all(|d| d.country.is_none() && d.lists.is_none())
        );
        assert_eq!(share(1, 3), 0.3333);
        assert_eq!(share(0, 0), 0.0);
    }

    #[test]
    fn home_hosts_that_scan_are_possibly_infected() {
        let a = Attribution::new(&EnrichConfig {
            home_networks: vec!["192.0.2.0/25".into()],
            ..EnrichConfig::default()
        })
        .expect("config");
        let docs = a
            .sources(&[
                totals("192.0.2.1", 300, 1, 300, Tool::Mirai),
                totals("192.0.2.2", 2, 1, 2, Tool::Unknown),
                totals("192.0.2.200", 300, 1, 300, Tool::Mirai),
            ])
            .expect("no lookups");
        let flags: Vec<(bool, bool)> = docs.iter().map(|d| (d.home, d.possibly_infected)).collect();
        assert_eq!(flags, [(true, true), (true, false), (false, false)]);
        assert_eq!(
            a.breakdown(&docs).possibly_infected,
            Some(vec!["192.0.2.1".to_string()])
        );
        assert!(a.exclude_filter().is_none());
    }
}
