//! Knowledge that explains what portwatch counts.
//!
//! For now: [`services`], the service registered for every port (IANA's
//! registry, shipped in `data/iana-services.tsv` with its snapshot date) and
//! the names of ICMP types.
//!
//! ```
//! use portwatch_core::{PortKey, Proto};
//! assert_eq!(portwatch_enrich::services::name(PortKey::new(Proto::Tcp, 445)), Some("microsoft-ds"));
//! assert_eq!(portwatch_enrich::services::name(PortKey::new(Proto::Icmp, 8)), Some("echo-request"));
//! ```

pub mod services;
