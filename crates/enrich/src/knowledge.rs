//! Curated knowledge about the ports scanners hunt.
//!
//! `data/ports.toml` (documented at its top) says, per port, what listens
//! there, which products and malware are known for it, where the facts come
//! from, and which historical vulnerabilities were reached through it with
//! their disclosure dates. It also maps vendor/product names, as the CISA KEV
//! catalog spells them, to ports, so that [`crate::kev`] can attach catalog
//! entries to a port. The built-in file is compiled in; a user file of the same
//! shape is loaded with [`Knowledge::load`] and checked the same way: unknown
//! keys, bad port keys, bad dates and duplicate ports are errors that name the
//! file and the line.
//!
//! ```
//! use portwatch_core::PortKey;
//! let k = portwatch_enrich::knowledge::Knowledge::builtin();
//! let smb: PortKey = "445/tcp".parse().unwrap();
//! assert!(k.vulnerabilities_for(smb).iter().any(|v| v.covers("CVE-2017-0144")));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use portwatch_core::{PortKey, Timestamp};
use serde::Deserialize;

const BUILTIN: &str = include_str!("../data/ports.toml");
const BUILTIN_NAME: &str = "<builtin data/ports.toml>";

/// Why a knowledge file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KnowledgeError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Parse {
        file: String,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("{file}:{line}: {what}")]
    Invalid {
        file: String,
        line: usize,
        what: String,
    },
}

/// A calendar date given with the precision the source allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    /// 1-12, or `None` when only the year is known.
    pub month: Option<u32>,
    /// 1-31, or `None` when only the month is known.
    pub day: Option<u32>,
}

impl Date {
    /// Parses `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.split('-');
        let year = parts.next().filter(|y| y.len() == 4)?.parse().ok()?;
        let month = parts.next().map(str::parse::<u32>).transpose().ok()?;
        let day = parts.next().map(str::parse::<u32>).transpose().ok()?;
        if parts.next().is_some() {
            return None;
        }
        let date = Date { year, month, day };
        // Validates the day against the month through the core calendar.
        date.start()?;
        Some(date)
    }

    /// Midnight UTC of the first day the date may mean (an imprecise date
    /// counts from the start of its month or year).
    pub fn start(self) -> Option<Timestamp> {
        Timestamp::from_civil(
            self.year,
            self.month.unwrap_or(1),
            self.day.unwrap_or(1),
            0,
            0,
            0,
            0,
        )
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

/// A historical vulnerability reached through a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vuln {
    /// A CVE id, or an advisory id (`MS05-027`) where that is the usual name.
    pub id: String,
    /// Further CVE ids the same advisory covers.
    pub cves: Vec<String>,
    pub name: String,
    pub disclosed: Date,
}

impl Vuln {
    /// Whether `id` (CVE or advisory, any case) names this vulnerability.
    pub fn covers(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id) || self.cves.iter().any(|c| c.eq_ignore_ascii_case(id))
    }

    /// The CVE to dedupe by: the id if it is a CVE, else the first listed.
    pub fn primary_cve(&self) -> Option<&str> {
        std::iter::once(self.id.as_str())
            .chain(self.cves.iter().map(String::as_str))
            .find(|c| c.starts_with("CVE-"))
    }
}

/// What is known about one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub key: PortKey,
    pub service: String,
    pub products: Vec<String>,
    pub notes: String,
    pub references: Vec<String>,
    /// Where the facts of this entry come from.
    pub source: String,
    pub vulns: Vec<Vuln>,
}

/// Maps KEV `vendorProject` / `product` to ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRule {
    pub vendor: String,
    pub product: Option<String>,
    pub product_contains: Option<String>,
    pub ports: Vec<PortKey>,
}

impl ProductRule {
    /// Case-insensitive: vendor equal, then product equal, or containing the
    /// substring, or anything when the rule names no product.
    pub fn matches(&self, vendor: &str, product: &str) -> bool {
        if !self.vendor.eq_ignore_ascii_case(vendor.trim()) {
            return false;
        }
        let product = product.trim();
        if let Some(p) = &self.product {
            return p.eq_ignore_ascii_case(product);
        }
        if let Some(sub) = &self.product_contains {
            return contains_ignore_ascii_case(product.as_bytes(), sub.as_bytes());
        }
        true
    }
}

/// The curated port knowledge and product mapping.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    ports: HashMap<PortKey, PortInfo>,
    products: Vec<ProductRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    port: Vec<toml::Spanned<RawPort>>,
    #[serde(default)]
    product: Vec<toml::Spanned<RawProduct>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPort {
    key: toml::Spanned<String>,
    service: String,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    references: Vec<String>,
    source: String,
    #[serde(default)]
    vuln: Vec<RawVuln>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVuln {
    id: toml::Spanned<String>,
    #[serde(default)]
    cves: Vec<String>,
    name: String,
    disclosed: toml::Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    vendor: String,
    product: Option<String>,
    product_contains: Option<String>,
    ports: toml::Spanned<Vec<String>>,
}

impl Knowledge {
    /// The knowledge shipped with portwatch (parsed once).
    pub fn builtin() -> &'static Knowledge {
        static BUILTIN_KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
        BUILTIN_KNOWLEDGE.get_or_init(|| {
            // The shipped file is checked by the tests; an empty fallback
            // keeps the library panic-free should that ever be bypassed.
            Knowledge::parse(BUILTIN, BUILTIN_NAME).unwrap_or_default()
        })
    }

    /// Reads and validates a user file of the same shape as `data/ports.toml`.
    pub fn load(path: &Path) -> Result<Knowledge, KnowledgeError> {
        let text = std::fs::read_to_string(path).map_err(|source| KnowledgeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Knowledge::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Knowledge, KnowledgeError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| KnowledgeError::Parse {
            file: file.to_string(),
            source: Box::new(e),
        })?;
        let invalid = |span: std::ops::Range<usize>, what: String| KnowledgeError::Invalid {
            file: file.to_string(),
            line: line_of(text, span.start),
            what,
        };
        let mut ports = HashMap::with_capacity(raw.port.len());
        for entry in raw.port {
            let span = entry.span();
            let p = entry.into_inner();
            let key: PortKey = p
                .key
                .get_ref()
                .parse()
                .map_err(|e| invalid(p.key.span(), format!("port key: {e}")))?;
            let mut vulns = Vec::with_capacity(p.vuln.len());
            for v in p.vuln {
                let disclosed = Date::parse(v.disclosed.get_ref()).ok_or_else(|| {
                    invalid(
                        v.disclosed.span(),
                        format!(
                            "disclosed {:?} is not YYYY-MM-DD, YYYY-MM or YYYY",
                            v.disclosed.get_ref()
                        ),
                    )
                })?;
                if v.id.get_ref().trim().is_empty() {
                    return Err(invalid(v.id.span(), "empty vulnerability id".into()));
                }
                if let Some(bad) = v.cves.iter().find(|c| !is_cve(c)) {
                    return Err(invalid(v.id.span(), format!("{bad:?} is not a CVE id")));
                }
                vulns.push(Vuln {
                    id: v.id.into_inner(),
                    cves: v.cves,
                    name: v.name,
                    disclosed,
                });
            }
            let info = PortInfo {
                key,
                service: p.service,
                products: p.products,
                notes: p.notes,
                references: p.references,
                source: p.source,
                vulns,
            };
            if ports.insert(key, info).is_some() {
                return Err(invalid(span, format!("port {key} listed twice")));
            }
        }
        let mut products = Vec::with_capacity(raw.product.len());
        for entry in raw.product {
            let span = entry.span();
            let p = entry.into_inner();
            if p.product.is_some() && p.product_contains.is_some() {
                return Err(invalid(
                    span,
                    "give product or product_contains, not both".into(),
                ));
            }
            let ports_span = p.ports.span();
            let keys = p
                .ports
                .into_inner()
                .iter()
                .map(|k| k.parse::<PortKey>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(ports_span.clone(), format!("port key: {e}")))?;
            if keys.is_empty() {
                return Err(invalid(ports_span, "a product rule needs ports".into()));
            }
            products.push(ProductRule {
                vendor: p.vendor,
                product: p.product,
                product_contains: p.product_contains,
                ports: keys,
            });
        }
        Ok(Knowledge { ports, products })
    }

    /// Adds the entries of `other`, which win where both know a port.
    pub fn extend(&mut self, other: Knowledge) {
        self.ports.extend(other.ports);
        self.products.extend(other.products);
    }

    pub fn port(&self, key: PortKey) -> Option<&PortInfo> {
        self.ports.get(&key)
    }

    /// All ports known, in port order.
    pub fn ports(&self) -> Vec<&PortInfo> {
        let mut all: Vec<&PortInfo> = self.ports.values().collect();
        all.sort_by_key(|p| p.key);
        all
    }

    /// Historical vulnerabilities of `key`, oldest first.
    pub fn vulnerabilities_for(&self, key: PortKey) -> Vec<Vuln> {
        let mut v = self.port(key).map(|p| p.vulns.clone()).unwrap_or_default();
        v.sort_by_key(|x| x.disclosed);
        v
    }

    pub fn product_rules(&self) -> &[ProductRule] {
        &self.products
    }

    /// The ports a KEV `vendorProject` / `product` pair is reached on.
    pub fn ports_for_product(&self, vendor: &str, product: &str) -> Vec<PortKey> {
        let mut out: Vec<PortKey> = self
            .products
            .iter()
            .filter(|r| r.matches(vendor, product))
            .flat_map(|r| r.ports.iter().copied())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Substring test without allocating: it runs for every KEV entry and rule.
fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

fn is_cve(s: &str) -> bool {
    let mut parts = s.splitn(3, '-');
    parts.next() == Some("CVE")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use portwatch_core::Proto;

    fn key(s: &str) -> PortKey {
        s.parse().unwrap()
    }

    #[test]
    fn builtin_parses_and_covers_the_ports_that_matter() {
        let k = Knowledge::parse(BUILTIN, BUILTIN_NAME).unwrap();
        for p in [
            "0/tcp",
            "0/udp",
            "22/tcp",
            "23/tcp",
            "2323/tcp",
            "53/udp",
            "123/udp",
            "161/udp",
            "445/tcp",
            "1433/tcp",
            "1900/udp",
            "2375/tcp",
            "2376/tcp",
            "3306/tcp",
            "3389/tcp",
            "5060/udp",
            "5168/tcp",
            "5555/tcp",
            "5900/tcp",
            "6379/tcp",
            "7547/tcp",
            "8080/tcp",
            "8443/tcp",
            "8291/tcp",
            "9200/tcp",
            "11211/udp",
            "12345/tcp",
            "37215/tcp",
            "52869/tcp",
        ] {
            let info = k.port(key(p)).unwrap_or_else(|| panic!("{p} missing"));
            assert!(!info.source.is_empty(), "{p} has no source");
        }
        assert_eq!(Knowledge::builtin().ports().len(), k.ports().len());
    }

    #[test]
    fn smb_history_is_dated_and_ordered() {
        let v = Knowledge::builtin().vulnerabilities_for(PortKey::new(Proto::Tcp, 445));
        let ids: Vec<&str> = v.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(
            ids,
            ["MS05-027", "CVE-2008-4250", "MS17-010", "CVE-2020-0796"]
        );
        assert_eq!(v[0].primary_cve(), Some("CVE-2005-1206"));
        assert_eq!(v[0].disclosed.to_string(), "2005-06-14");
        assert!(v[2].covers("cve-2017-0148"));
        assert!(!v[2].covers("CVE-2017-0149"));
    }

    #[test]
    fn serverprotect_and_bluekeep() {
        let k = Knowledge::builtin();
        let sp = k.vulnerabilities_for(key("5168/tcp"));
        assert!(sp.iter().any(|v| v.covers("CVE-2007-1070")));
        assert!(
            sp.iter()
                .any(|v| v.disclosed == Date::parse("2007-08").unwrap())
        );
        assert!(
            k.vulnerabilities_for(key("3389/tcp"))
                .iter()
                .any(|v| v.covers("CVE-2019-0708"))
        );
        assert!(k.vulnerabilities_for(key("9999/tcp")).is_empty());
    }

    #[test]
    fn product_mapping() {
        let k = Knowledge::builtin();
        assert_eq!(k.ports_for_product("Microsoft", "SMBv1"), [key("445/tcp")]);
        assert_eq!(
            k.ports_for_product("microsoft", "Windows Server Message Block"),
            [key("445/tcp")]
        );
        assert_eq!(
            k.ports_for_product("Microsoft", "Remote Desktop Services"),
            [key("3389/tcp")]
        );
        assert_eq!(
            k.ports_for_product("Trend Micro", "ServerProtect"),
            [key("5168/tcp")]
        );
        assert_eq!(k.ports_for_product("Redis", "Redis"), [key("6379/tcp")]);
        assert_eq!(k.ports_for_product("Realtek", "SDK"), [key("52869/tcp")]);
        assert!(k.ports_for_product("Realtek", "AP-Router SDK").is_empty());
        assert_eq!(k.ports_for_product("Huawei", "HG532"), [key("37215/tcp")]);
        assert_eq!(
            k.ports_for_product("MikroTik", "RouterOS"),
            [key("8291/tcp")]
        );
        assert!(k.ports_for_product("Microsoft", "WordPad").is_empty());
    }

    #[test]
    fn dates() {
        assert_eq!(
            Date::parse("2007-08"),
            Some(Date {
                year: 2007,
                month: Some(8),
                day: None
            })
        );
        assert_eq!(Date::parse("2014").unwrap().to_string(), "2014");
        for bad in [
            "2007-13",
            "2007-02-30",
            "07-01-01",
            "2007-01-01-01",
            "x",
            "",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Date::parse("1970-01-02").unwrap().start(),
            Some(Timestamp::from_secs(86_400))
        );
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let text = "[[port]]\nkey = \"1/tcp\"\nservice = \"x\"\nsource = \"y\"\ncolour = \"red\"\n";
        let e = Knowledge::parse(text, "mine.toml").unwrap_err().to_string();
        assert!(e.starts_with("mine.toml: "), "{e}");
        assert!(e.contains("colour") && e.contains("line 5"), "{e}");
    }

    #[test]
    fn bad_values_name_the_line() {
        let cases = [
            (
                "[[port]]\nkey = \"1/sctp\"\nservice = \"x\"\nsource = \"y\"\n",
                2,
                "port key",
            ),
            (
                "[[port]]\nkey = \"1/tcp\"\nservice = \"x\"\nsource = \"y\"\n[[port.vuln]]\nid = \"CVE-2000-0001\"\nname = \"n\"\ndisclosed = \"2000-02-31\"\n",
                8,
                "disclosed",
            ),
            (
                "[[product]]\nvendor = \"A\"\nports = [\"1/tcp\", \"70000/tcp\"]\n",
                3,
                "port key",
            ),
            (
                "[[port]]\nkey = \"1/tcp\"\nservice = \"x\"\nsource = \"y\"\n[[port]]\nkey = \"tcp/1\"\nservice = \"x\"\nsource = \"y\"\n",
                5,
                "twice",
            ),
        ];
        for (text, line, what) in cases {
            let e = Knowledge::parse(text, "f.toml").unwrap_err().to_string();
            assert!(e.starts_with(&format!("f.toml:{line}: ")), "{e}");
            assert!(e.contains(what), "{e}");
        }
    }

    #[test]
    fn load_from_disk_and_extend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.toml");
        std::fs::write(
            &path,
            "[[port]]\nkey = \"445/tcp\"\nservice = \"ours\"\nsource = \"local\"\n",
        )
        .unwrap();
        let mut k = Knowledge::builtin().clone();
        k.extend(Knowledge::load(&path).unwrap());
        assert_eq!(k.port(key("445/tcp")).unwrap().service, "ours");
        let missing = Knowledge::load(&dir.path().join("nope.toml")).unwrap_err();
        assert!(missing.to_string().contains("nope.toml"));
    }
}
