//! Masking target addresses (rule 9): a sensor's own addresses are private,
//! so published outputs show only the leading part of each target.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// How target addresses appear in published outputs.
///
/// The default keeps the first three IPv4 octets (`198.51.100.x`) and the
/// first three IPv6 groups (`2001:db8:1:x:x:x:x:x`): enough for a reader to
/// recognise "my network" and no more. [`Masking::Unmasked`] is for
/// internal use only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Masking {
    /// Keep `v4_octets` leading octets (0–4) and `v6_groups` leading
    /// 16-bit groups (0–8); the rest becomes `x`.
    Masked { v4_octets: u8, v6_groups: u8 },
    /// Publish addresses as they are (internal use).
    Unmasked,
}

impl Default for Masking {
    fn default() -> Self {
        Masking::Masked {
            v4_octets: 3,
            v6_groups: 3,
        }
    }
}

impl Masking {
    pub fn is_masked(self) -> bool {
        !matches!(self, Masking::Unmasked)
    }

    /// The address as it may be published.
    pub fn apply(self, addr: IpAddr) -> String {
        let Masking::Masked {
            v4_octets,
            v6_groups,
        } = self
        else {
            return addr.to_string();
        };
        match addr {
            IpAddr::V4(a) => {
                let keep = usize::from(v4_octets.min(4));
                let parts: Vec<String> = a
                    .octets()
                    .iter()
                    .enumerate()
                    .map(|(i, o)| if i < keep { o.to_string() } else { "x".into() })
                    .collect();
                parts.join(".")
            }
            IpAddr::V6(a) => {
                let keep = usize::from(v6_groups.min(8));
                if keep == 8 {
                    return a.to_string();
                }
                let parts: Vec<String> = a
                    .segments()
                    .iter()
                    .enumerate()
                    .map(|(i, g)| {
                        if i < keep {
                            format!("{g:x}")
                        } else {
                            "x".into()
                        }
                    })
                    .collect();
                parts.join(":")
            }
        }
    }

    /// One line for readers saying what was done.
    pub fn note(self) -> String {
        match self {
            Masking::Masked {
                v4_octets,
                v6_groups,
            } => format!(
                "Target addresses are masked: only the first {} IPv4 octet(s) and {} IPv6 group(s) are shown (x marks the hidden part), to keep the sensor network's addresses private. Source addresses are shown as observed.",
                v4_octets.min(4),
                v6_groups.min(8)
            ),
            Masking::Unmasked => {
                "Target addresses are NOT masked: this document is for internal use only and must not be shared.".to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn masks_by_default() {
        let m = Masking::default();
        assert_eq!(m.apply(ip("198.51.100.23")), "198.51.100.x");
        assert_eq!(m.apply(ip("2001:db8:1:2::5")), "2001:db8:1:x:x:x:x:x");
        assert!(m.note().contains("masked"));
    }

    #[test]
    fn other_widths_and_unmasked() {
        let m = Masking::Masked {
            v4_octets: 2,
            v6_groups: 2,
        };
        assert_eq!(m.apply(ip("198.51.100.23")), "198.51.x.x");
        assert_eq!(m.apply(ip("2001:db8::1")), "2001:db8:x:x:x:x:x:x");
        let all = Masking::Masked {
            v4_octets: 9,
            v6_groups: 9,
        };
        assert_eq!(all.apply(ip("2001:db8::1")), "2001:db8::1");
        assert_eq!(
            Masking::Unmasked.apply(ip("198.51.100.23")),
            "198.51.100.23"
        );
        assert!(Masking::Unmasked.note().contains("NOT masked"));
    }
}
