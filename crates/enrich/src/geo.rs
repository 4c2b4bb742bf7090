//! Country and autonomous system of a source address.
//!
//! Reads MaxMind-format (`.mmdb`) databases, such as GeoLite2-Country and
//! GeoLite2-ASN, with the `maxminddb` crate. Either database may be absent:
//! [`GeoDb::open`] takes optional paths and a lookup fills in what it can.
//! Databases are read into memory once; lookups borrow from them and allocate
//! only the returned strings. A corrupt record is an error naming the file,
//! never a panic; [`GeoDb::verify`] checks a whole database up front.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{MaxMindDbError, Reader, geoip2};

/// Why a database could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    #[error("{path}: cannot open MaxMind database: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: MaxMindDbError,
    },
    #[error("{path}: broken MaxMind database (looking up {ip}): {source}")]
    Lookup {
        path: PathBuf,
        ip: IpAddr,
        #[source]
        source: MaxMindDbError,
    },
    #[error("{path}: broken MaxMind database: {source}")]
    Verify {
        path: PathBuf,
        #[source]
        source: MaxMindDbError,
    },
}

/// What the databases say about an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 code of where the address is believed to be.
    pub country: Option<String>,
    /// ISO code of the country where the block is registered.
    pub registered_country: Option<String>,
    pub asn: Option<u32>,
    pub as_org: Option<String>,
}

#[derive(Debug)]
struct Db {
    path: PathBuf,
    reader: Reader<Vec<u8>>,
}

impl Db {
    fn open(path: &Path) -> Result<Db, GeoError> {
        let reader = Reader::open_readfile(path).map_err(|source| GeoError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Db {
            path: path.to_path_buf(),
            reader,
        })
    }

    fn decode<'a, T: serde::Deserialize<'a>>(&'a self, ip: IpAddr) -> Result<Option<T>, GeoError> {
        let err = |source| GeoError::Lookup {
            path: self.path.clone(),
            ip,
            source,
        };
        self.reader
            .lookup(ip)
            .map_err(err)?
            .decode::<T>()
            .map_err(err)
    }
}

/// A country database and an ASN database, each optional.
#[derive(Debug)]
pub struct GeoDb {
    country: Option<Db>,
    asn: Option<Db>,
}

impl GeoDb {
    /// Opens the databases given. A City database serves as a country one.
    pub fn open(country: Option<&Path>, asn: Option<&Path>) -> Result<GeoDb, GeoError> {
        Ok(GeoDb {
            country: country.map(Db::open).transpose()?,
            asn: asn.map(Db::open).transpose()?,
        })
    }

    /// Walks every record of both databases; slow on full-size databases, so
    /// meant for a `check` command rather than every start.
    pub fn verify(&self) -> Result<(), GeoError> {
        for db in self.country.iter().chain(&self.asn) {
            db.reader.verify().map_err(|source| GeoError::Verify {
                path: db.path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Country and AS of `ip`; fields stay `None` where a database is absent
    /// or has no record.
    pub fn lookup(&self, ip: IpAddr) -> Result<GeoInfo, GeoError> {
        let mut info = GeoInfo::default();
        if let Some(db) = &self.country
            && let Some(c) = db.decode::<geoip2::Country<'_>>(ip)?
        {
            info.country = c.country.iso_code.map(str::to_owned);
            info.registered_country = c.registered_country.iso_code.map(str::to_owned);
        }
        if let Some(db) = &self.asn
            && let Some(a) = db.decode::<geoip2::Asn<'_>>(ip)?
        {
            info.asn = a.autonomous_system_number;
            info.as_org = a.autonomous_system_organization.map(str::to_owned);
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    type Source = Vec<BTreeMap<String, serde_json::Value>>;

    fn open_test(dir: &Path) -> GeoDb {
        GeoDb::open(
            Some(&dir.join("GeoLite2-Country-Test.mmdb")),
            Some(&dir.join("GeoLite2-ASN-Test.mmdb")),
        )
        .unwrap()
    }

    fn first_address(net: &str) -> IpAddr {
        net.parse::<ipnet::IpNet>().unwrap().network()
    }

    #[test]
    fn known_addresses() {
        let Some(dir) = crate::test_data::dir("maxmind-test-dbs") else {
            return;
        };
        let db = open_test(&dir);
        let info = db.lookup("81.2.69.142".parse().unwrap()).unwrap();
        assert_eq!(info.country.as_deref(), Some("GB"));
        assert_eq!(info.registered_country.as_deref(), Some("US"));
        let info = db.lookup("1.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(info.asn, Some(15169));
        assert_eq!(info.as_org.as_deref(), Some("Google Inc."));
        let info = db.lookup("2001:220::1".parse().unwrap()).unwrap();
        assert_eq!(info.country.as_deref(), Some("KR"));
        let info = db.lookup("2001:1700::1".parse().unwrap()).unwrap();
        assert_eq!(info.asn, Some(6730));
        assert_eq!(info.as_org.as_deref(), Some("Sunrise Communications AG"));
        // Private space has no record in either database.
        assert_eq!(
            db.lookup("10.1.2.3".parse().unwrap()).unwrap(),
            GeoInfo::default()
        );
    }

    /// Every network of the JSON sources gives the answer the source says,
    /// IPv4 and IPv6 alike.
    #[test]
    fn every_source_network_round_trips() {
        let Some(dir) = crate::test_data::dir("maxmind-test-dbs") else {
            return;
        };
        let db = open_test(&dir);
        let read = |f: &str| -> Source {
            serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap()
        };
        let (mut v4, mut v6) = (0, 0);
        for (net, rec) in read("GeoLite2-Country-Test.json")
            .iter()
            .flat_map(|m| m.iter())
        {
            let ip = first_address(net);
            let want = rec.pointer("/country/iso_code").and_then(|v| v.as_str());
            assert_eq!(db.lookup(ip).unwrap().country.as_deref(), want, "{net}");
            if ip.is_ipv4() { v4 += 1 } else { v6 += 1 }
        }
        for (net, rec) in read("GeoLite2-ASN-Test.json").iter().flat_map(|m| m.iter()) {
            let ip = first_address(net);
            let got = db.lookup(ip).unwrap();
            let want_asn = rec["autonomous_system_number"].as_u64().map(|n| n as u32);
            let want_org = rec
                .get("autonomous_system_organization")
                .and_then(|v| v.as_str());
            assert_eq!(got.asn, want_asn, "{net}");
            assert_eq!(got.as_org.as_deref(), want_org, "{net}");
        }
        assert!(
            v4 > 10 && v6 > 10,
            "{v4} IPv4 and {v6} IPv6 networks checked"
        );
    }

    #[test]
    fn broken_database_names_the_file() {
        let Some(dir) = crate::test_data::dir("maxmind-test-dbs") else {
            return;
        };
        let path = dir.join("GeoIP2-City-Test-Broken-Double-Format.mmdb");
        let db = GeoDb::open(Some(&path), None).unwrap();
        let e = db
            .lookup("2001:220::".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("GeoIP2-City-Test-Broken-Double-Format.mmdb"),
            "{e}"
        );
        assert!(e.contains("broken MaxMind database"), "{e}");
        let e = db.verify().unwrap_err().to_string();
        assert!(e.contains("Broken-Double-Format"), "{e}");
        assert!(open_test(&dir).verify().is_ok());
    }

    #[test]
    fn unreadable_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.mmdb");
        std::fs::write(&junk, b"not a database").unwrap();
        let e = GeoDb::open(Some(&junk), None).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: cannot open", junk.display())),
            "{e}"
        );
        let e = GeoDb::open(None, Some(&dir.path().join("none.mmdb"))).unwrap_err();
        assert!(e.to_string().contains("none.mmdb"), "{e}");
        let empty = GeoDb::open(None, None).unwrap();
        assert_eq!(
            empty.lookup("1.1.1.1".parse().unwrap()).unwrap(),
            GeoInfo::default()
        );
    }
}
