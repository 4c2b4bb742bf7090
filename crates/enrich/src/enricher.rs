//! Everything known about one source address, from every configured
//! database and list at once.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::geo::{GeoDb, GeoError};
use crate::lists::{AddressList, AddressLists, ListError, Scanners};

/// Why the enrichment sources could not be loaded or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrichError {
    #[error(transparent)]
    Geo(#[from] GeoError),
    #[error(transparent)]
    List(#[from] ListError),
    #[error("two address lists are named {name:?}; names must be unique")]
    DuplicateList { name: String },
}

/// Where the databases and lists are; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrichPaths {
    /// A MaxMind-format country (or city) database.
    pub country: Option<PathBuf>,
    /// A MaxMind-format ASN database.
    pub asn: Option<PathBuf>,
    /// Named address lists: plain CIDR lists or FireHOL netsets.
    pub lists: Vec<(String, PathBuf)>,
    /// Known research scanners, `CIDR<TAB>organisation` lines.
    pub research: Option<PathBuf>,
}

/// What is known about one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceLabels {
    /// ISO 3166-1 alpha-2 code of where the address is believed to be.
    pub country: Option<String>,
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    /// Names of the lists holding the address, in configuration order.
    pub lists: Vec<String>,
    /// The research organisation scanning from it, if it is a known one.
    pub research: Option<String>,
}

/// The country and ASN databases, the named lists and the research
/// scanners, loaded once and asked per source.
///
/// A lookup is a few longest-prefix searches (one per list, one for the
/// research list) and up to two .mmdb tree walks; it allocates only the
/// strings it returns. `benches/lookup.rs` measures it per source.
#[derive(Debug, Default)]
pub struct Enricher {
    geo: Option<GeoDb>,
    lists: AddressLists,
    research: Option<Scanners>,
}

impl Enricher {
    pub fn new(geo: Option<GeoDb>, lists: AddressLists, research: Option<Scanners>) -> Enricher {
        Enricher {
            geo,
            lists,
            research,
        }
    }

    /// Opens everything `paths` names; a missing or malformed file is an
    /// error naming it (and the line, for lists).
    pub fn load(paths: &EnrichPaths) -> Result<Enricher, EnrichError> {
        let geo = if paths.country.is_some() || paths.asn.is_some() {
            Some(GeoDb::open(paths.country.as_deref(), paths.asn.as_deref())?)
        } else {
            None
        };
        let mut lists = AddressLists::default();
        for (name, path) in &paths.lists {
            if lists.lists().iter().any(|l| &l.name == name) {
                return Err(EnrichError::DuplicateList { name: name.clone() });
            }
            let mut list = AddressList::load(path)?;
            list.name.clone_from(name);
            lists.push(list);
        }
        let research = paths.research.as_deref().map(Scanners::load).transpose()?;
        Ok(Enricher::new(geo, lists, research))
    }

    /// Whether any database or list is configured.
    pub fn is_empty(&self) -> bool {
        self.geo.is_none() && self.lists.lists().is_empty() && self.research.is_none()
    }

    pub fn has_geo(&self) -> bool {
        self.geo.is_some()
    }

    pub fn has_lists(&self) -> bool {
        !self.lists.lists().is_empty()
    }

    pub fn has_research(&self) -> bool {
        self.research.is_some()
    }

    /// The configured lists' names, in order.
    pub fn list_names(&self) -> impl Iterator<Item = &str> {
        self.lists.lists().iter().map(|l| l.name.as_str())
    }

    /// Whether `ip` is a known research scanner; the per-packet question
    /// when research scanners are excluded from detection.
    #[inline]
    pub fn is_research(&self, ip: IpAddr) -> bool {
        self.research
            .as_ref()
            .is_some_and(|r| r.organisation(ip).is_some())
    }

    /// Everything known about `ip`. Fails only on a database record that
    /// cannot be decoded (the error names the file).
    pub fn lookup(&self, ip: IpAddr) -> Result<SourceLabels, GeoError> {
        let mut labels = SourceLabels {
            lists: self.lists.names_containing(ip).map(str::to_owned).collect(),
            research: self
                .research
                .as_ref()
                .and_then(|r| r.organisation(ip))
                .map(str::to_owned),
            ..SourceLabels::default()
        };
        if let Some(geo) = &self.geo {
            let info = geo.lookup(ip)?;
            labels.country = info.country;
            labels.asn = info.asn;
            labels.as_org = info.as_org;
        }
        Ok(labels)
    }
}

/// `AS15169 Google Inc.`, or `AS7018` when the database has no name.
pub fn as_label(asn: u32, org: Option<&str>) -> String {
    match org {
        Some(o) => format!("AS{asn} {o}"),
        None => format!("AS{asn}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn lists_and_research_without_geo() {
        let dir = tempfile::tempdir().unwrap();
        let paths = EnrichPaths {
            lists: vec![
                (
                    "blocklist".into(),
                    write(dir.path(), "a.netset", "# FireHOL\n198.51.100.0/24\n"),
                ),
                (
                    "botnet".into(),
                    write(dir.path(), "b.txt", "198.51.100.7\n2001:db8::/32\n"),
                ),
            ],
            research: Some(write(
                dir.path(),
                "r.tsv",
                "198.51.100.0/28\tExample Research\n",
            )),
            ..EnrichPaths::default()
        };
        let e = Enricher::load(&paths).unwrap();
        assert!(!e.has_geo() && e.has_research() && !e.is_empty());
        assert_eq!(e.list_names().collect::<Vec<_>>(), ["blocklist", "botnet"]);
        let l = e.lookup(ip("198.51.100.7")).unwrap();
        assert_eq!(l.lists, ["blocklist", "botnet"]);
        assert_eq!(l.research.as_deref(), Some("Example Research"));
        assert_eq!(l.country, None);
        let l = e.lookup(ip("198.51.100.77")).unwrap();
        assert_eq!(
            (l.lists.as_slice(), l.research),
            (&["blocklist".to_string()][..], None)
        );
        assert!(e.is_research(ip("198.51.100.15")) && !e.is_research(ip("198.51.100.16")));
        assert_eq!(e.lookup(ip("2001:db8::9")).unwrap().lists, ["botnet"]);
        assert_eq!(e.lookup(ip("192.0.2.1")).unwrap(), SourceLabels::default());
    }

    #[test]
    fn mistakes_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(
            dir.path(),
            "bad.netset",
            "198.51.100.0/24\nnot-an-address\n",
        );
        let e = Enricher::load(&EnrichPaths {
            lists: vec![("x".into(), bad.clone())],
            ..EnrichPaths::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains(&format!("{}:2", bad.display())), "{e}");
        let missing = dir.path().join("missing.mmdb");
        let e = Enricher::load(&EnrichPaths {
            asn: Some(missing.clone()),
            ..EnrichPaths::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains(&missing.display().to_string()), "{e}");
        let list = write(dir.path(), "l.txt", "192.0.2.0/24\n");
        let e = Enricher::load(&EnrichPaths {
            lists: vec![("x".into(), list.clone()), ("x".into(), list)],
            ..EnrichPaths::default()
        })
        .unwrap_err();
        assert!(matches!(e, EnrichError::DuplicateList { .. }), "{e}");
    }

    #[test]
    fn geo_from_the_maxmind_test_databases() {
        let Some(dir) = crate::test_data::dir("maxmind-test-dbs") else {
            return;
        };
        let e = Enricher::load(&EnrichPaths {
            country: Some(dir.join("GeoLite2-Country-Test.mmdb")),
            asn: Some(dir.join("GeoLite2-ASN-Test.mmdb")),
            ..EnrichPaths::default()
        })
        .unwrap();
        // From GeoLite2-Country-Test.json and GeoLite2-ASN-Test.json.
        let l = e.lookup(ip("89.160.20.115")).unwrap();
        assert_eq!(l.country.as_deref(), Some("SE"));
        let l = e.lookup(ip("1.128.0.1")).unwrap();
        assert_eq!(
            (l.asn, l.as_org.as_deref()),
            (Some(1221), Some("Telstra Pty Ltd"))
        );
        assert_eq!(
            as_label(1221, l.as_org.as_deref()),
            "AS1221 Telstra Pty Ltd"
        );
        assert_eq!(as_label(7018, None), "AS7018");
    }
}
