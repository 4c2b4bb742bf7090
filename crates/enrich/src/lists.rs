//! Address lists: which named lists a source is on, and which research
//! scanner it belongs to.
//!
//! Lists are plain CIDR lists or FireHOL netsets (one address or CIDR per
//! line, `#` starts a comment); each has a name, by default its file stem.
//! Research scanners come as `CIDR<TAB>organisation` lines
//! (`data/lists/research-scanners.tsv` documents the format). Lookups are
//! longest-prefix matches over a sorted array of disjoint ranges built once:
//! overlapping prefixes are flattened so that each range carries its most
//! specific prefix, and a lookup is one binary search with no allocation.
//! A bad line is an error naming the file and line.
//!
//! ```
//! use portwatch_enrich::lists::PrefixMap;
//! let map = PrefixMap::new(vec![
//!     ("10.0.0.0/8".parse().unwrap(), "corp"),
//!     ("10.1.0.0/16".parse().unwrap(), "lab"),
//! ]);
//! assert_eq!(map.longest_match("10.1.2.3".parse().unwrap()).map(|(_, v)| *v), Some("lab"));
//! assert_eq!(map.longest_match("10.2.0.1".parse().unwrap()).map(|(_, v)| *v), Some("corp"));
//! assert!(map.longest_match("192.0.2.1".parse().unwrap()).is_none());
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

/// Why a list file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {what}: {text:?}")]
    Line {
        file: String,
        line: usize,
        text: String,
        what: &'static str,
    },
}

/// Disjoint ranges of one address family, sorted by start.
#[derive(Debug, Clone, Default)]
struct Ranges {
    starts: Vec<u128>,
    /// End of each range and the index of the most specific prefix covering
    /// it, side by side so a hit costs one more cache line, not two.
    tail: Vec<(u128, u32)>,
    /// `index[b]` is the first range whose start has top 16 bits >= `b`, so a
    /// lookup searches only the few ranges of its own /16 bucket.
    index: Vec<u32>,
    /// Bits below the top 16 of the family's addresses (16 or 112).
    shift: u32,
}

const BUCKETS: usize = 1 << 16;

impl Ranges {
    /// Flattens nested prefixes: `items` are (start, end, entry index).
    fn build(mut items: Vec<(u128, u128, u32)>, bits: u32) -> Ranges {
        // Parents before children; equal prefixes in input order, so the
        // later one ends on top of the stack and wins.
        items.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut out = Ranges {
            shift: bits - 16,
            ..Ranges::default()
        };
        let mut emit = |from: u128, to: u128, e: u32| {
            out.starts.push(from);
            out.tail.push((to, e));
        };
        let mut stack: Vec<(u128, u32)> = Vec::new();
        let mut cursor: u128 = 0;
        for (start, end, e) in items {
            while let Some(&(top_end, top)) = stack.last() {
                if top_end >= start {
                    break;
                }
                if cursor <= top_end {
                    emit(cursor, top_end, top);
                }
                // top_end < start, so this cannot overflow.
                cursor = top_end + 1;
                stack.pop();
            }
            if let Some(&(_, top)) = stack.last()
                && cursor < start
            {
                emit(cursor, start - 1, top);
            }
            stack.push((end, e));
            cursor = start;
        }
        let mut finished = false;
        while let Some((top_end, top)) = stack.pop() {
            if !finished && cursor <= top_end {
                emit(cursor, top_end, top);
            }
            match top_end.checked_add(1) {
                Some(c) => cursor = c,
                None => finished = true,
            }
        }
        let shift = out.shift;
        let mut first = 0usize;
        out.index = (0..=BUCKETS)
            .map(|b| {
                first += out.starts[first..].partition_point(|&s| ((s >> shift) as usize) < b);
                u32::try_from(first).unwrap_or(u32::MAX)
            })
            .collect();
        out
    }

    fn find(&self, x: u128) -> Option<u32> {
        let b = (x >> self.shift) as usize;
        let lo = *self.index.get(b)? as usize;
        let hi = *self.index.get(b + 1)? as usize;
        // Ranges before `lo` start in lower buckets, so below `x`; ranges
        // from `hi` on start above it.
        let i = (lo + self.starts.get(lo..hi)?.partition_point(|&s| s <= x)).checked_sub(1)?;
        let &(end, entry) = self.tail.get(i)?;
        (x <= end).then_some(entry)
    }
}

/// Longest-prefix map from IPv4/IPv6 prefixes to values.
#[derive(Debug, Clone)]
pub struct PrefixMap<V> {
    entries: Vec<(IpNet, V)>,
    v4: Ranges,
    v6: Ranges,
}

impl<V> Default for PrefixMap<V> {
    fn default() -> Self {
        PrefixMap {
            entries: Vec::new(),
            v4: Ranges::default(),
            v6: Ranges::default(),
        }
    }
}

fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

impl<V> PrefixMap<V> {
    /// Builds the map; host bits of a prefix are ignored, and where the same
    /// prefix appears twice the later value wins.
    pub fn new(entries: Vec<(IpNet, V)>) -> PrefixMap<V> {
        let entries: Vec<(IpNet, V)> = entries.into_iter().map(|(n, v)| (n.trunc(), v)).collect();
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for (i, (net, _)) in entries.iter().enumerate() {
            let (s, e) = bounds(net);
            // More than 4 billion prefixes do not fit in memory anyway.
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            match net {
                IpNet::V4(_) => v4.push((s, e, i)),
                IpNet::V6(_) => v6.push((s, e, i)),
            }
        }
        PrefixMap {
            v4: Ranges::build(v4, 32),
            v6: Ranges::build(v6, 128),
            entries,
        }
    }

    /// The most specific prefix containing `ip`, with its value. IPv4-mapped
    /// IPv6 addresses are looked up as IPv4.
    pub fn longest_match(&self, ip: IpAddr) -> Option<(&IpNet, &V)> {
        let found = match ip {
            IpAddr::V4(a) => self.v4.find(u128::from(u32::from(a))),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.v4.find(u128::from(u32::from(v4))),
                None => self.v6.find(u128::from(a)),
            },
        }?;
        self.entries.get(found as usize).map(|(n, v)| (n, v))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.longest_match(ip).is_some()
    }

    /// Number of prefixes given (duplicates included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Splits a line into its content (comment and blanks removed).
fn content(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn read(path: &Path) -> Result<String, ListError> {
    std::fs::read_to_string(path).map_err(|source| ListError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a plain CIDR list or FireHOL netset; `file` names it in errors.
pub fn parse_netset(text: &str, file: &str) -> Result<Vec<IpNet>, ListError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let c = content(line);
        if c.is_empty() {
            continue;
        }
        out.push(parse_net(c).ok_or_else(|| ListError::Line {
            file: file.to_string(),
            line: n + 1,
            text: line.to_string(),
            what: "not an IP address or CIDR",
        })?);
    }
    Ok(out)
}

/// One named address list.
#[derive(Debug, Clone, Default)]
pub struct AddressList {
    pub name: String,
    map: PrefixMap<()>,
}

impl AddressList {
    pub fn new(name: impl Into<String>, nets: Vec<IpNet>) -> AddressList {
        AddressList {
            name: name.into(),
            map: PrefixMap::new(nets.into_iter().map(|n| (n, ())).collect()),
        }
    }

    /// Loads a netset; the list is named after the file stem
    /// (`firehol_level1.netset` → `firehol_level1`).
    pub fn load(path: &Path) -> Result<AddressList, ListError> {
        let nets = parse_netset(&read(path)?, &path.display().to_string())?;
        let name = path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        Ok(AddressList::new(name, nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.map.contains(ip)
    }

    /// The most specific listed prefix holding `ip`.
    pub fn matching_prefix(&self, ip: IpAddr) -> Option<IpNet> {
        self.map.longest_match(ip).map(|(n, _)| *n)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Many named lists, asked together.
#[derive(Debug, Clone, Default)]
pub struct AddressLists {
    lists: Vec<AddressList>,
}

impl AddressLists {
    pub fn new(lists: Vec<AddressList>) -> AddressLists {
        AddressLists { lists }
    }

    pub fn push(&mut self, list: AddressList) {
        self.lists.push(list);
    }

    pub fn lists(&self) -> &[AddressList] {
        &self.lists
    }

    /// Names of the lists holding `ip`, in the order the lists were added.
    pub fn names_containing(&self, ip: IpAddr) -> impl Iterator<Item = &str> {
        self.lists
            .iter()
            .filter(move |l| l.contains(ip))
            .map(|l| l.name.as_str())
    }
}

/// Known research and benign scanners: prefix → organisation.
#[derive(Debug, Clone, Default)]
pub struct Scanners {
    map: PrefixMap<String>,
}

impl Scanners {
    /// Parses `CIDR<TAB>organisation` lines (`#` comments, blank lines
    /// allowed); `file` names the text in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scanners, ListError> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            // Not trimmed first: the tab must survive even before an empty
            // organisation.
            let c = line.split('#').next().unwrap_or("");
            if c.trim().is_empty() {
                continue;
            }
            let bad = |what| ListError::Line {
                file: file.to_string(),
                line: n + 1,
                text: line.to_string(),
                what,
            };
            let (cidr, org) = c
                .split_once('\t')
                .ok_or_else(|| bad("expected CIDR<TAB>organisation"))?;
            let org = org.trim();
            if org.is_empty() {
                return Err(bad("empty organisation"));
            }
            let net = parse_net(cidr.trim()).ok_or_else(|| bad("not an IP address or CIDR"))?;
            entries.push((net, org.to_string()));
        }
        Ok(Scanners {
            map: PrefixMap::new(entries),
        })
    }

    pub fn load(path: &Path) -> Result<Scanners, ListError> {
        Scanners::parse(&read(path)?, &path.display().to_string())
    }

    /// The organisation scanning from `ip`, if it is a known scanner.
    pub fn organisation(&self, ip: IpAddr) -> Option<&str> {
        self.map.longest_match(ip).map(|(_, org)| org.as_str())
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn nested_prefixes_pick_the_most_specific() {
        let m = PrefixMap::new(vec![
            (net("0.0.0.0/0"), 0),
            (net("10.0.0.0/8"), 1),
            (net("10.1.0.0/16"), 2),
            (net("10.1.2.0/24"), 3),
            (net("10.200.0.0/16"), 4),
            (net("255.255.255.255/32"), 5),
            (net("::/0"), 6),
            (net("2001:db8::/32"), 7),
            (net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 8),
        ]);
        let at = |s: &str| m.longest_match(ip(s)).map(|(_, v)| *v);
        assert_eq!(at("10.1.2.3"), Some(3));
        assert_eq!(at("10.1.3.0"), Some(2));
        assert_eq!(at("10.0.255.255"), Some(1));
        assert_eq!(at("10.2.0.0"), Some(1));
        assert_eq!(at("10.200.1.1"), Some(4));
        assert_eq!(at("11.0.0.0"), Some(0));
        assert_eq!(at("0.0.0.0"), Some(0));
        assert_eq!(at("255.255.255.254"), Some(0));
        assert_eq!(at("255.255.255.255"), Some(5));
        assert_eq!(at("2001:db8::1"), Some(7));
        assert_eq!(at("2001:db9::1"), Some(6));
        assert_eq!(at("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Some(8));
        assert_eq!(at("::ffff:10.1.2.3"), Some(3));
        assert_eq!(
            m.longest_match(ip("10.1.2.3")).map(|(n, _)| *n),
            Some(net("10.1.2.0/24"))
        );
    }

    #[test]
    fn empty_and_duplicates() {
        let m: PrefixMap<u8> = PrefixMap::new(vec![]);
        assert!(m.longest_match(ip("1.2.3.4")).is_none() && m.is_empty());
        let m = PrefixMap::new(vec![(net("192.0.2.7/24"), 1), (net("192.0.2.0/24"), 2)]);
        assert_eq!(m.longest_match(ip("192.0.2.200")).map(|(_, v)| *v), Some(2));
        assert!(m.longest_match(ip("2001:db8::1")).is_none());
    }

    #[test]
    fn netset_format() {
        let text = "#\n# firehol_level1\n#\n1.2.3.0/24\n5.6.7.8 # a host\n\n2001:db8::/48\n";
        let nets = parse_netset(text, "x.netset").unwrap();
        assert_eq!(
            nets,
            [net("1.2.3.0/24"), net("5.6.7.8/32"), net("2001:db8::/48")]
        );
        let e = parse_netset("1.2.3.0/24\n1.2.3.400\n", "x.netset")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "x.netset:2: not an IP address or CIDR: \"1.2.3.400\"");
        let e = parse_netset("10.0.0.0/33\n", "y").unwrap_err().to_string();
        assert!(e.starts_with("y:1: "), "{e}");
    }

    #[test]
    fn many_lists_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("spamhaus_drop.netset");
        std::fs::write(&a, "# drop\n198.51.100.0/24\n").unwrap();
        let mut lists = AddressLists::default();
        lists.push(AddressList::load(&a).unwrap());
        lists.push(AddressList::new(
            "mine",
            vec![net("198.51.100.128/25"), net("2001:db8::/32")],
        ));
        let names: Vec<&str> = lists.names_containing(ip("198.51.100.200")).collect();
        assert_eq!(names, ["spamhaus_drop", "mine"]);
        let names: Vec<&str> = lists.names_containing(ip("2001:db8::5")).collect();
        assert_eq!(names, ["mine"]);
        assert_eq!(lists.names_containing(ip("203.0.113.1")).count(), 0);
        assert_eq!(
            lists.lists()[1].matching_prefix(ip("198.51.100.200")),
            Some(net("198.51.100.128/25"))
        );
        let e = AddressList::load(&dir.path().join("gone.netset")).unwrap_err();
        assert!(e.to_string().contains("gone.netset"));
    }

    #[test]
    fn scanners_format() {
        let s = Scanners::parse(
            "# research scanners\n192.0.2.0/24\tExample Research\n2001:db8:1::/48\tExample v6\n",
            "s.tsv",
        )
        .unwrap();
        assert_eq!(s.organisation(ip("192.0.2.9")), Some("Example Research"));
        assert_eq!(s.organisation(ip("2001:db8:1::9")), Some("Example v6"));
        assert_eq!(s.organisation(ip("192.0.3.9")), None);
        for (text, what) in [
            ("192.0.2.0/24 Example\n", "expected CIDR<TAB>organisation"),
            ("192.0.2.0/24\t \n", "empty organisation"),
            ("192.0.2/24\tX\n", "not an IP address or CIDR"),
        ] {
            let e = Scanners::parse(text, "s.tsv").unwrap_err().to_string();
            assert!(e.starts_with("s.tsv:1: ") && e.contains(what), "{e}");
        }
    }

    #[test]
    fn shipped_scanner_list_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/lists/research-scanners.tsv");
        Scanners::load(&path).unwrap();
    }

    fn naive(entries: &[(IpNet, usize)], ip: IpAddr) -> Option<usize> {
        entries
            .iter()
            .filter(|(n, _)| n.contains(&ip))
            // Longest prefix; among equal prefixes the last given wins.
            .max_by_key(|(n, v)| (n.prefix_len(), *v))
            .map(|(_, v)| *v)
    }

    proptest! {
        /// The flattened ranges agree with a linear scan for every address,
        /// whatever the nesting.
        #[test]
        fn agrees_with_linear_scan(
            raw in prop::collection::vec((any::<u32>(), 0u8..=32), 0..40),
            probes in prop::collection::vec(any::<u32>(), 50),
        ) {
            let entries: Vec<(IpNet, usize)> = raw
                .iter()
                .enumerate()
                .map(|(i, &(a, len))| {
                    // Keep addresses in a small space so prefixes nest often.
                    let a = a & 0xff00_00ff;
                    let n = ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(a), len).unwrap();
                    (IpNet::V4(n.trunc()), i)
                })
                .collect();
            // The same shapes in the top 32 bits of IPv6.
            let entries6: Vec<(IpNet, usize)> = raw
                .iter()
                .enumerate()
                .map(|(i, &(a, len))| {
                    let a = u128::from(a & 0xff00_00ff) << 96;
                    let n = ipnet::Ipv6Net::new(a.into(), len).unwrap();
                    (IpNet::V6(n.trunc()), i)
                })
                .collect();
            let map = PrefixMap::new(entries.clone());
            let map6 = PrefixMap::new(entries6.clone());
            for p in probes.iter().copied() {
                for a in [p, p & 0xff00_00ff] {
                    let ip = IpAddr::V4(a.into());
                    prop_assert_eq!(map.longest_match(ip).map(|(_, v)| *v), naive(&entries, ip));
                    let ip6 = IpAddr::V6((u128::from(a) << 96 | u128::from(p)).into());
                    prop_assert_eq!(map6.longest_match(ip6).map(|(_, v)| *v), naive(&entries6, ip6));
                }
            }
        }
    }
}
