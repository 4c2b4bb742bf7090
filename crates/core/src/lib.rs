//! portwatch's shared vocabulary.
//!
//! Every other crate speaks in these types: a [`Proto`] and port form a
//! [`PortKey`]; a [`Timestamp`] is event time in UTC nanoseconds and falls into a
//! UTC-aligned bucket of some [`BucketWidth`]; a decoded packet or firewall log
//! line becomes an [`Event`] whose [`Class`] says whether it is a scan probe,
//! backscatter or something else ([`classify`] decides, the same way for
//! packets and log lines). Nothing here does I/O.
//!
//! ```
//! use portwatch_core::{PortKey, Proto};
//! let key: PortKey = "5168/tcp".parse().unwrap();
//! assert_eq!(key, PortKey::new(Proto::Tcp, 5168));
//! assert_eq!(key.to_string(), "5168/tcp");
//! ```

mod classify;
mod event;
mod port;
mod time;

pub use classify::{Classification, TransportInfo, classify};
pub use event::{Class, DropReason, Event, Fingerprint, OtherKind, tcp_flags};
pub use port::{ParsePortKeyError, PortKey, Proto};
pub use time::{BucketWidth, ParseBucketWidthError, Timestamp};
