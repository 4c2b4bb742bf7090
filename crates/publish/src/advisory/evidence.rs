//! What the caller knows beyond the alert. Everything is optional: a
//! section of the advisory appears only when its evidence was given.

use std::net::IpAddr;

use portwatch_enrich::kev::Catalog;
use portwatch_enrich::knowledge::Knowledge;
use serde::Serialize;

use crate::mask::Masking;
use crate::series::PortSeries;

/// Evidence gathered for one alert (from the store, enrichment and the
/// honeypot). `Default` is "nothing beyond the alert".
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The port's series around the alert, with expected bands; drawn as
    /// the advisory's graph.
    pub series: Option<PortSeries>,
    /// Exact distinct sources over the alert window (the store merges the
    /// minutes' sketches); the alert alone knows only a lower bound.
    pub distinct_sources: Option<u64>,
    /// Distinct targets over the alert window.
    pub distinct_targets: Option<u64>,
    /// Some targets probed; always masked unless the options say otherwise.
    pub targets: Vec<IpAddr>,
    /// Sources per country (ISO code or name), largest first.
    pub countries: Vec<Share>,
    /// Sources per autonomous system (`AS4134 Chinanet`), largest first.
    pub asns: Vec<Share>,
    /// Sources per scanning tool fingerprint (`masscan`, `zmap`), largest
    /// first.
    pub tools: Vec<Share>,
    /// How many sources are on reputation lists.
    pub reputation: Option<Reputation>,
    /// Payload signatures the honeypot matched on this port.
    pub payloads: Vec<PayloadSignature>,
}

/// A named group of sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    pub name: String,
    pub sources: u64,
}

impl Share {
    pub fn new(name: impl Into<String>, sources: u64) -> Self {
        Share {
            name: name.into(),
            sources,
        }
    }
}

/// Sources found on reputation lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reputation {
    /// Sources found on at least one list.
    pub listed: u64,
    /// Sources looked up.
    pub checked: u64,
    /// The lists consulted.
    pub lists: Vec<String>,
}

/// A payload pattern the honeypot recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadSignature {
    pub name: String,
    /// Connections or datagrams that matched.
    pub hits: u64,
    /// Distinct sources that sent it.
    pub sources: u64,
    /// A short printable excerpt (escaped by the renderers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// How an advisory is put together.
#[derive(Debug, Clone)]
pub struct AdvisoryOptions<'a> {
    /// Who publishes: the sensor network's name (the STIX identity).
    pub publisher: String,
    /// Target masking (rule 9); masked by default.
    pub masking: Masking,
    /// A vulnerability disclosed at most this many days before the onset
    /// is called out as a probable cause.
    pub recent_days: u32,
    /// Sources listed by address, at most.
    pub max_sources: usize,
    pub knowledge: &'a Knowledge,
    pub catalog: &'a Catalog,
}

impl AdvisoryOptions<'static> {
    /// The built-in port knowledge and KEV snapshot, masked targets.
    pub fn builtin() -> Self {
        AdvisoryOptions {
            publisher: "portwatch sensor network".into(),
            masking: Masking::default(),
            recent_days: 90,
            max_sources: 20,
            knowledge: Knowledge::builtin(),
            catalog: Catalog::builtin(),
        }
    }
}
