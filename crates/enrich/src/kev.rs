//! CISA's Known Exploited Vulnerabilities catalog, attached to ports.
//!
//! The catalog (CC0) lists vulnerabilities seen exploited, each with the
//! vendor/product it affects and the date CISA added it. A dated snapshot is
//! shipped gzipped (`data/kev-2025-08-25.json.gz`); a newer download of the
//! same JSON shape, plain or gzipped, is read with [`Catalog::load`]. Entries
//! are tied to ports through the product mapping of [`crate::knowledge`], and
//! [`Catalog::vulns_for_port`] merges them with the curated history (the
//! catalog starts in November 2021, so older disclosures come from the curated
//! file) so that an alert can say "disclosed N days before onset".
//!
//! ```
//! use portwatch_core::Timestamp;
//! use portwatch_enrich::{kev::Catalog, knowledge::Knowledge};
//! let onset = Timestamp::parse_rfc3339("2017-05-12T00:00:00Z").unwrap();
//! let refs = Catalog::builtin().vulns_for_port(Knowledge::builtin(), "445/tcp".parse().unwrap(), onset, 90);
//! assert_eq!(refs[0].id, "MS17-010");
//! assert_eq!(refs[0].days_before, 59);
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use portwatch_core::{PortKey, Timestamp};
use serde::Deserialize;

use crate::knowledge::{Date, Knowledge};

const SNAPSHOT: &[u8] = include_bytes!("../data/kev-2025-08-25.json.gz");
const SNAPSHOT_NAME: &str = "<builtin data/kev-2025-08-25.json.gz>";

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KevError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a KEV catalog: {source}")]
    Json {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: vulnerabilities[{index}] ({cve}): {what}")]
    Invalid {
        file: String,
        index: usize,
        cve: String,
        what: String,
    },
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KevEntry {
    pub cve: String,
    pub vendor_project: String,
    pub product: String,
    pub name: String,
    pub date_added: Date,
    pub short_description: String,
    /// `knownRansomwareCampaignUse` is "Known".
    pub ransomware: bool,
}

/// Where a [`VulnRef`]'s date comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VulnSource {
    /// The curated file: `date` is the public disclosure.
    Curated,
    /// The KEV catalog: `date` is when CISA added it (exploitation known).
    Kev,
}

/// A vulnerability related to a port, dated relative to an onset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnRef {
    /// CVE id, or the advisory id the curated file uses (`MS17-010`).
    pub id: String,
    pub name: String,
    /// Disclosure (curated) or KEV `dateAdded`; see `source`.
    pub date: Date,
    /// "vendor product" for KEV entries, the port's products for curated ones.
    pub product: String,
    /// Whole days from `date` to the onset.
    pub days_before: i64,
    pub source: VulnSource,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    #[serde(default)]
    catalog_version: String,
    vulnerabilities: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    vulnerability_name: String,
    date_added: String,
    #[serde(default)]
    short_description: String,
    #[serde(default)]
    known_ransomware_campaign_use: String,
}

/// A loaded catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    version: String,
    entries: Vec<KevEntry>,
}

impl Catalog {
    /// The snapshot shipped with portwatch (decompressed and parsed once).
    pub fn builtin() -> &'static Catalog {
        static BUILTIN_CATALOG: OnceLock<Catalog> = OnceLock::new();
        // The snapshot is checked by the tests; an empty fallback keeps the
        // library panic-free.
        BUILTIN_CATALOG
            .get_or_init(|| Catalog::from_bytes(SNAPSHOT, SNAPSHOT_NAME).unwrap_or_default())
    }

    /// Reads a catalog file, plain JSON or gzipped.
    pub fn load(path: &Path) -> Result<Catalog, KevError> {
        let bytes = std::fs::read(path).map_err(|source| KevError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Catalog::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parses catalog bytes (gzip recognised by its magic); `file` names them
    /// in errors.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Catalog, KevError> {
        let mut unpacked = Vec::new();
        let json = if bytes.starts_with(&[0x1f, 0x8b]) {
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut unpacked)
                .map_err(|source| KevError::Io {
                    path: PathBuf::from(file),
                    source,
                })?;
            &unpacked[..]
        } else {
            bytes
        };
        let raw: RawCatalog = serde_json::from_slice(json).map_err(|source| KevError::Json {
            file: file.to_string(),
            source,
        })?;
        let mut entries = Vec::with_capacity(raw.vulnerabilities.len());
        for (index, e) in raw.vulnerabilities.into_iter().enumerate() {
            let invalid = |what: String| KevError::Invalid {
                file: file.to_string(),
                index,
                cve: e.cve_id.clone(),
                what,
            };
            let date_added = Date::parse(&e.date_added)
                .filter(|d| d.day.is_some())
                .ok_or_else(|| {
                    invalid(format!("dateAdded {:?} is not YYYY-MM-DD", e.date_added))
                })?;
            if !e.cve_id.starts_with("CVE-") {
                return Err(invalid("cveID does not start with CVE-".into()));
            }
            entries.push(KevEntry {
                ransomware: e
                    .known_ransomware_campaign_use
                    .eq_ignore_ascii_case("known"),
                cve: e.cve_id,
                vendor_project: e.vendor_project,
                product: e.product,
                name: e.vulnerability_name,
                date_added,
                short_description: e.short_description,
            });
        }
        Ok(Catalog {
            version: raw.catalog_version,
            entries,
        })
    }

    /// `catalogVersion`, such as `2025.08.25`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn entries(&self) -> &[KevEntry] {
        &self.entries
    }

    pub fn get(&self, cve: &str) -> Option<&KevEntry> {
        self.entries
            .iter()
            .find(|e| e.cve.eq_ignore_ascii_case(cve))
    }

    /// KEV entries whose product `knowledge` maps to `key`.
    pub fn entries_for_port<'a>(
        &'a self,
        knowledge: &'a Knowledge,
        key: PortKey,
    ) -> impl Iterator<Item = &'a KevEntry> + 'a {
        self.entries.iter().filter(move |e| {
            knowledge
                .product_rules()
                .iter()
                .any(|r| r.matches(&e.vendor_project, &e.product) && r.ports.contains(&key))
        })
    }

    /// Vulnerabilities of `key` dated from `within_days` days before `onset`
    /// up to the onset, curated and KEV merged and deduped by CVE (the
    /// curated disclosure date wins over the later KEV addition), newest
    /// first.
    pub fn vulns_for_port(
        &self,
        knowledge: &Knowledge,
        key: PortKey,
        onset: Timestamp,
        within_days: u32,
    ) -> Vec<VulnRef> {
        let days_before = |d: Date| {
            d.start()
                .map(|t| (onset.secs() - t.secs()).div_euclid(86_400))
                .filter(|&n| (0..=i64::from(within_days)).contains(&n))
        };
        let curated = knowledge.port(key);
        let mut out: Vec<VulnRef> = Vec::new();
        for v in curated.map(|p| &p.vulns[..]).unwrap_or_default() {
            if let Some(n) = days_before(v.disclosed) {
                out.push(VulnRef {
                    id: v.id.clone(),
                    name: v.name.clone(),
                    date: v.disclosed,
                    product: curated.map(|p| p.products.join(", ")).unwrap_or_default(),
                    days_before: n,
                    source: VulnSource::Curated,
                });
            }
        }
        for e in self.entries_for_port(knowledge, key) {
            // Known to the curated file at all (in or out of the window):
            // the curated date is the disclosure, so KEV adds nothing.
            let curated_knows = curated.is_some_and(|p| p.vulns.iter().any(|v| v.covers(&e.cve)));
            if curated_knows || out.iter().any(|r| r.id.eq_ignore_ascii_case(&e.cve)) {
                continue;
            }
            if let Some(n) = days_before(e.date_added) {
                out.push(VulnRef {
                    id: e.cve.clone(),
                    name: e.name.clone(),
                    date: e.date_added,
                    product: format!("{} {}", e.vendor_project, e.product),
                    days_before: n,
                    source: VulnSource::Kev,
                });
            }
        }
        out.sort_by(|a, b| {
            a.days_before
                .cmp(&b.days_before)
                .then_with(|| a.id.cmp(&b.id))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn key(s: &str) -> PortKey {
        s.parse().unwrap()
    }

    #[test]
    fn snapshot_loads() {
        let c = Catalog::from_bytes(SNAPSHOT, SNAPSHOT_NAME).unwrap();
        assert_eq!(c.version(), "2025.08.25");
        assert_eq!(c.entries().len(), 1404);
        let eb = c.get("CVE-2017-0144").unwrap();
        assert_eq!(eb.vendor_project, "Microsoft");
        assert_eq!(eb.date_added.to_string(), "2022-02-10");
        assert_eq!(Catalog::builtin().entries().len(), 1404);
    }

    #[test]
    fn shared_copy_matches_snapshot() {
        let Some(dir) = crate::test_data::dir("cisa-kev") else {
            return;
        };
        let c = Catalog::load(&dir.join("known_exploited_vulnerabilities.json")).unwrap();
        assert_eq!(c.entries(), Catalog::builtin().entries());
    }

    #[test]
    fn kev_entries_map_to_ports() {
        let k = Knowledge::builtin();
        let c = Catalog::builtin();
        let smb: Vec<&str> = c
            .entries_for_port(k, key("445/tcp"))
            .map(|e| e.cve.as_str())
            .collect();
        for cve in ["CVE-2017-0144", "CVE-2017-0147", "CVE-2020-0796"] {
            assert!(smb.contains(&cve), "{cve} not in {smb:?}");
        }
        assert!(
            c.entries_for_port(k, key("3389/tcp"))
                .any(|e| e.cve == "CVE-2019-0708")
        );
        assert!(
            c.entries_for_port(k, key("6379/tcp"))
                .any(|e| e.cve == "CVE-2022-0543")
        );
        assert!(
            c.entries_for_port(k, key("8291/tcp"))
                .any(|e| e.cve == "CVE-2018-14847")
        );
        assert!(
            c.entries_for_port(k, key("52869/tcp"))
                .any(|e| e.cve == "CVE-2014-8361")
        );
        assert_eq!(c.entries_for_port(k, key("5168/tcp")).count(), 0);
    }

    #[test]
    fn serverprotect_2007_comes_from_curated_history() {
        let refs = Catalog::builtin().vulns_for_port(
            Knowledge::builtin(),
            key("5168/tcp"),
            at("2007-08-22T12:00:00Z"),
            365,
        );
        let ids: Vec<&str> = refs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2007-4218", "CVE-2007-1070"]);
        assert_eq!(refs[0].days_before, 21);
        assert_eq!(refs[0].source, VulnSource::Curated);
    }

    #[test]
    fn dedupe_prefers_curated_and_window_is_inclusive() {
        let k = Knowledge::builtin();
        let c = Catalog::builtin();
        // SMBGhost: curated 2020-03, KEV added 2022-02-10. Around the KEV
        // date only the curated entry's id may appear, and it is out of window.
        let refs = c.vulns_for_port(k, key("445/tcp"), at("2022-02-20T00:00:00Z"), 30);
        assert!(refs.iter().all(|r| !r.id.contains("2020-0796")), "{refs:?}");
        assert!(
            refs.iter().all(|r| !r.id.starts_with("CVE-2017-014")),
            "{refs:?}"
        );
        // BlueKeep exactly on disclosure day and a day before it.
        let day0 = c.vulns_for_port(k, key("3389/tcp"), at("2019-05-14T00:00:00Z"), 0);
        assert_eq!(day0.len(), 1);
        assert_eq!(day0[0].days_before, 0);
        assert!(
            c.vulns_for_port(k, key("3389/tcp"), at("2019-05-13T23:59:59Z"), 10)
                .is_empty()
        );
    }

    #[test]
    fn kev_only_entries_carry_their_added_date() {
        // CVE-2018-7445 (RouterOS, added 2022-09-08) is not in the curated file.
        let refs = Catalog::builtin().vulns_for_port(
            Knowledge::builtin(),
            key("8291/tcp"),
            at("2022-10-01T06:00:00Z"),
            60,
        );
        assert_eq!(refs.len(), 1, "{refs:?}");
        assert_eq!(refs[0].id, "CVE-2018-7445");
        assert_eq!(refs[0].source, VulnSource::Kev);
        assert_eq!(refs[0].days_before, 23);
        assert_eq!(refs[0].product, "MikroTik RouterOS");
    }

    #[test]
    fn user_file_errors_name_the_file() {
        let bad_date = br#"{"vulnerabilities":[{"cveID":"CVE-2024-0001","vendorProject":"A","product":"B","vulnerabilityName":"n","dateAdded":"2024/01/01"}]}"#;
        let e = Catalog::from_bytes(bad_date, "kev.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("kev.json: vulnerabilities[0] (CVE-2024-0001): dateAdded"),
            "{e}"
        );
        let e = Catalog::from_bytes(b"{\"title\": 1}", "kev.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("kev.json: not a KEV catalog"), "{e}");
        let e = Catalog::load(Path::new("/nonexistent/kev.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/kev.json"), "{e}");
    }
}
