//! Knowledge that explains what portwatch counts: what a port is, who is
//! scanning it and why now.
//!
//! - [`services`]: the service registered for every port (IANA's registry,
//!   shipped in `data/iana-services.tsv` with its snapshot date) and the names
//!   of ICMP types.
//! - [`knowledge`]: curated facts about the ports scanners hunt, their
//!   historical vulnerabilities, and a vendor/product → port mapping.
//! - [`kev`]: CISA's Known Exploited Vulnerabilities catalog tied to ports,
//!   merged with the curated history ("disclosed N days before onset").
//! - [`geo`]: country and AS of a source from MaxMind-format databases.
//! - [`lists`]: named address lists (plain CIDR, FireHOL netsets) and known
//!   research scanners, with longest-prefix lookups.
//! - [`enricher`]: all of the above for one source at once
//!   ([`Enricher::lookup`] → [`SourceLabels`]).
//!
//! ```
//! use portwatch_core::{PortKey, Proto};
//! assert_eq!(portwatch_enrich::services::name(PortKey::new(Proto::Tcp, 445)), Some("microsoft-ds"));
//! assert_eq!(portwatch_enrich::services::name(PortKey::new(Proto::Icmp, 8)), Some("echo-request"));
//! ```

pub mod enricher;
pub mod geo;
pub mod kev;
pub mod knowledge;
pub mod lists;
pub mod services;

pub use enricher::{EnrichError, EnrichPaths, Enricher, SourceLabels, as_label};

#[cfg(test)]
pub(crate) mod test_data {
    use std::path::PathBuf;

    /// `<shared data>/<name>`, or `None` after saying why the test skips.
    pub fn dir(name: &str) -> Option<PathBuf> {
        let root = std::env::var_os("PORTWATCH_SHARED_DATA").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external"),
            PathBuf::from,
        );
        let dir = root.join(name);
        if dir.is_dir() {
            Some(dir)
        } else {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipped: {} not found", dir.display());
            }
            None
        }
    }
}
