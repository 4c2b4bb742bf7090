//! `[enrich]`: where the databases and lists for attribution are, which
//! networks are our own, and whether research scanners count in detection.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use ipnet::IpNet;
use portwatch_enrich::kev::Catalog;
use portwatch_enrich::{EnrichPaths, Enricher};
use serde::Deserialize;

/// The `[enrich]` table. Every key is optional; without any, attribution
/// still classifies sources and names their tools, and only the labels
/// (country, AS, lists, research) are missing. Relative paths are relative
/// to the working directory, as in `[publish]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    /// MaxMind-format country (or city) database, e.g. GeoLite2-Country.mmdb.
    pub country_db: Option<PathBuf>,
    /// MaxMind-format ASN database, e.g. GeoLite2-ASN.mmdb.
    pub asn_db: Option<PathBuf>,
    /// Named address lists (plain CIDR lists or FireHOL netsets).
    #[serde(default)]
    pub lists: Vec<ListConfig>,
    /// Known research scanners: `CIDR<TAB>organisation` lines.
    pub research: Option<PathBuf>,
    /// A catalog in CISA's KEV JSON shape, used beside the shipped snapshot.
    pub kev: Option<PathBuf>,
    /// Our own networks (CIDR): a source inside them that scans is reported
    /// as possibly infected.
    #[serde(default)]
    pub home_networks: Vec<String>,
    /// Drop the packets of known research scanners before aggregation, so
    /// they count neither in the series nor in detection.
    #[serde(default)]
    pub exclude_research_from_detection: bool,
    /// The firewall logs `analyze` reads log the *drops* of a live
    /// network's perimeter: each logged TCP SYN is then a failed first
    /// contact of its source (once per target address), for Threshold
    /// Random Walk. Off by default: on a darknet every SYN "fails".
    #[serde(default)]
    pub drop_log_outcomes: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListConfig {
    pub name: String,
    pub path: PathBuf,
}

/// What attribution runs with: the loaded databases and lists, the home
/// networks and the vulnerability catalogs.
#[derive(Debug)]
pub struct Loaded {
    pub enricher: Enricher,
    pub home: Vec<IpNet>,
    /// The user's KEV-shaped catalog, if any (the snapshot is always used).
    pub kev: Option<Catalog>,
    pub exclude_research: bool,
}

impl EnrichConfig {
    /// Checks what can be checked without reading files.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.home()?;
        for l in &self.lists {
            if l.name.trim().is_empty() {
                anyhow::bail!("lists: a list at {} has an empty name", l.path.display());
            }
        }
        if self.exclude_research_from_detection && self.research.is_none() {
            anyhow::bail!("exclude_research_from_detection needs `research` (the scanners' list)");
        }
        Ok(())
    }

    fn home(&self) -> anyhow::Result<Vec<IpNet>> {
        self.home_networks
            .iter()
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| anyhow!("home_networks: {s:?} is not a CIDR network"))
            })
            .collect()
    }

    /// Opens every file named; a missing or corrupt one is an error naming it.
    pub fn load(&self) -> anyhow::Result<Loaded> {
        let paths = EnrichPaths {
            country: self.country_db.clone(),
            asn: self.asn_db.clone(),
            lists: self
                .lists
                .iter()
                .map(|l| (l.name.clone(), l.path.clone()))
                .collect(),
            research: self.research.clone(),
        };
        let enricher = Enricher::load(&paths).context("[enrich]")?;
        let kev = self
            .kev
            .as_deref()
            .map(Catalog::load)
            .transpose()
            .context("[enrich] kev")?;
        Ok(Loaded {
            enricher,
            home: self.home()?,
            kev,
            exclude_research: self.exclude_research_from_detection,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<EnrichConfig> {
        let c: EnrichConfig = toml::from_str(text)?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn keys_parse_and_mistakes_are_named() {
        let c = parse(
            "country_db = \"c.mmdb\"\nhome_networks = [\"192.0.2.0/24\", \"2001:db8::1\"]\n\
             [[lists]]\nname = \"level1\"\npath = \"l1.netset\"\n",
        )
        .expect("valid");
        assert_eq!(c.lists[0].name, "level1");
        assert_eq!(
            c.home().expect("home"),
            vec![
                "192.0.2.0/24".parse::<IpNet>().expect("net"),
                "2001:db8::1/128".parse().expect("net")
            ]
        );
        let e = parse("home_networks = [\"192.0.2.0/33\"]").expect_err("bad net");
        assert!(e.to_string().contains("192.0.2.0/33"), "{e}");
        let e = parse("exclude_research_from_detection = true").expect_err("no list");
        assert!(e.to_string().contains("research"), "{e}");
        let e = parse("[[lists]]\nname = \"x\"\n").expect_err("no path");
        assert!(e.to_string().contains("path"), "{e}");
        let e = parse("contry_db = \"x\"").expect_err("unknown key");
        assert!(e.to_string().contains("contry_db"), "{e}");
    }

    #[test]
    fn missing_files_are_named() {
        let c = parse("research = \"/nonexistent/scanners.tsv\"").expect("valid");
        let e = format!("{:#}", c.load().expect_err("missing"));
        assert!(e.contains("/nonexistent/scanners.tsv"), "{e}");
    }
}
