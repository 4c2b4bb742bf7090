//! The shape of one source's scanning over a window, from its totals.
//!
//! The caller fills a [`SourceProfile`] from whatever per-source aggregate
//! it holds; with `portwatch_aggregate::SourceStats` (or the store's
//! `SourceTotals`, whose fields have the same names):
//!
//! ```text
//! SourceProfile {
//!     probes: s.probes,
//!     backscatter: s.backscatter,
//!     other: s.other,
//!     ports: s.ports.len(),          // SourceTotals: port_count
//!     targets: s.targets.estimate(), // SourceTotals: targets
//! }
//! ```
//!
//! Only probes (SYNs, UDP datagrams, echo requests) make a shape: stealth
//! scans with FIN/NULL/Xmas/ACK flags count as `other` in portwatch and so
//! leave a source at [`ScanShape::TooLittle`]. Distinct targets may be an
//! estimate (exact up to the sketch's exact limit), which the thresholds
//! are far enough from to not matter.

/// Per-source counts over a window: the input of [`SourceProfile::shape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceProfile {
    /// Probes the source sent.
    pub probes: u64,
    /// Backscatter the source sent: replies (SYN-ACK, RST, ICMP errors) to
    /// traffic it never sent, the mark of a spoofed-source attack's victim.
    pub backscatter: u64,
    /// Packets neither probe nor backscatter.
    pub other: u64,
    /// Distinct (protocol, port) pairs probed.
    pub ports: u64,
    /// Distinct destination addresses probed.
    pub targets: u64,
}

/// What a source's traffic over a window looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScanShape {
    /// One or a few ports across many addresses: looking for one service
    /// everywhere (ZMap, Mirai, most Internet-wide scanning).
    Horizontal,
    /// Many ports of one or a few addresses: looking at one host closely.
    Vertical,
    /// Several ports across many addresses (a block or strobe scan).
    Strobe,
    /// Many packets to one port of one address: a flood or a stuck client,
    /// not a search.
    Flood,
    /// Mostly backscatter: the source is the victim of an attack with
    /// spoofed source addresses, not a scanner.
    BackscatterVictim,
    /// Too few probes, or a spread that fits none of the above.
    TooLittle,
}

impl ScanShape {
    pub const ALL: [ScanShape; 6] = [
        ScanShape::Horizontal,
        ScanShape::Vertical,
        ScanShape::Strobe,
        ScanShape::Flood,
        ScanShape::BackscatterVictim,
        ScanShape::TooLittle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScanShape::Horizontal => "horizontal",
            ScanShape::Vertical => "vertical",
            ScanShape::Strobe => "strobe",
            ScanShape::Flood => "flood",
            ScanShape::BackscatterVictim => "backscatter_victim",
            ScanShape::TooLittle => "too_little",
        }
    }
}

impl std::fmt::Display for ScanShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The cut-offs [`ShapeThresholds::shape`] uses; [`Default`] gives the
/// values documented on each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeThresholds {
    /// Fewer probes than this say nothing (default 5): a client retrying a
    /// connection sends three or four SYNs.
    pub min_probes: u64,
    /// Backscatter needed before a source is called a victim (default 5),
    /// and it must also be more than half of the source's packets.
    pub min_backscatter: u64,
    /// Distinct targets that make a scan wide (default 8). On a darknet no
    /// address offers anything, so a source that tries eight of them is
    /// searching; psad's `syn_sweep` log has 11.
    pub wide_targets: u64,
    /// Most ports a horizontal scan has (default 2: one service, or a pair
    /// such as Mirai's 23 and 2323). A wide scan of more ports is a strobe.
    pub horizontal_max_ports: u64,
    /// Distinct ports that make a narrow scan vertical (default 10); nmap's
    /// default scan tries 1,000.
    pub vertical_min_ports: u64,
    /// Probes to a single port of a single address that make a flood
    /// (default 100).
    pub flood_min_probes: u64,
}

impl Default for ShapeThresholds {
    fn default() -> Self {
        ShapeThresholds {
            min_probes: 5,
            min_backscatter: 5,
            wide_targets: 8,
            horizontal_max_ports: 2,
            vertical_min_ports: 10,
            flood_min_probes: 100,
        }
    }
}

impl ShapeThresholds {
    /// The shape of `p`, decided in this order: backscatter victim (at
    /// least `min_backscatter` backscatter packets and more than half of
    /// all), too little (fewer than `min_probes` probes), wide scans
    /// (`wide_targets` or more targets: horizontal with at most
    /// `horizontal_max_ports` ports, strobe otherwise), vertical (fewer
    /// targets, `vertical_min_ports` or more ports), flood (one target, one
    /// port, `flood_min_probes` or more probes), else too little.
    pub fn shape(&self, p: &SourceProfile) -> ScanShape {
        let packets = p
            .probes
            .saturating_add(p.backscatter)
            .saturating_add(p.other);
        if p.backscatter >= self.min_backscatter && p.backscatter > packets / 2 {
            return ScanShape::BackscatterVictim;
        }
        if p.probes < self.min_probes {
            return ScanShape::TooLittle;
        }
        if p.targets >= self.wide_targets {
            return if p.ports <= self.horizontal_max_ports {
                ScanShape::Horizontal
            } else {
                ScanShape::Strobe
            };
        }
        if p.ports >= self.vertical_min_ports {
            return ScanShape::Vertical;
        }
        if p.targets <= 1 && p.ports <= 1 && p.probes >= self.flood_min_probes {
            return ScanShape::Flood;
        }
        ScanShape::TooLittle
    }
}

impl SourceProfile {
    /// The shape under the default [`ShapeThresholds`].
    pub fn shape(&self) -> ScanShape {
        ShapeThresholds::default().shape(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(probes: u64, ports: u64, targets: u64) -> SourceProfile {
        SourceProfile {
            probes,
            ports,
            targets,
            ..SourceProfile::default()
        }
    }

    #[test]
    fn literal_shapes() {
        assert_eq!(profile(256, 1, 256).shape(), ScanShape::Horizontal);
        assert_eq!(profile(12, 2, 8).shape(), ScanShape::Horizontal);
        assert_eq!(profile(12, 3, 8).shape(), ScanShape::Strobe);
        assert_eq!(profile(1002, 501, 1).shape(), ScanShape::Vertical);
        assert_eq!(profile(4008, 501, 4).shape(), ScanShape::Vertical);
        assert_eq!(profile(200, 1, 1).shape(), ScanShape::Flood);
        assert_eq!(profile(99, 1, 1).shape(), ScanShape::TooLittle);
        assert_eq!(profile(11, 2, 1).shape(), ScanShape::TooLittle);
        assert_eq!(profile(4, 1, 4).shape(), ScanShape::TooLittle);
        assert_eq!(profile(0, 0, 0).shape(), ScanShape::TooLittle);
    }

    #[test]
    fn boundaries() {
        assert_eq!(profile(7, 1, 7).shape(), ScanShape::TooLittle);
        assert_eq!(profile(8, 1, 8).shape(), ScanShape::Horizontal);
        assert_eq!(profile(9, 9, 1).shape(), ScanShape::TooLittle);
        assert_eq!(profile(10, 10, 1).shape(), ScanShape::Vertical);
        assert_eq!(profile(100, 1, 1).shape(), ScanShape::Flood);
        assert_eq!(profile(100, 1, 2).shape(), ScanShape::TooLittle);
    }

    #[test]
    fn backscatter_must_dominate() {
        let victim = SourceProfile {
            backscatter: 6,
            other: 5,
            ..SourceProfile::default()
        };
        assert_eq!(victim.shape(), ScanShape::BackscatterVictim);
        let half = SourceProfile {
            backscatter: 6,
            other: 6,
            ..SourceProfile::default()
        };
        assert_eq!(half.shape(), ScanShape::TooLittle);
        let scanner_with_replies = SourceProfile {
            backscatter: 50,
            ..profile(300, 1, 300)
        };
        assert_eq!(scanner_with_replies.shape(), ScanShape::Horizontal);
        let few = SourceProfile {
            backscatter: 4,
            ..SourceProfile::default()
        };
        assert_eq!(few.shape(), ScanShape::TooLittle);
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let p = SourceProfile {
            probes: u64::MAX,
            backscatter: u64::MAX,
            other: u64::MAX,
            ports: 1,
            targets: 1,
        };
        assert_eq!(p.shape(), ScanShape::BackscatterVictim);
    }

    #[test]
    fn names() {
        let names: Vec<&str> = ScanShape::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "horizontal",
                "vertical",
                "strobe",
                "flood",
                "backscatter_victim",
                "too_little"
            ]
        );
    }
}
