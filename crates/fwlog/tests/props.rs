//! Properties: no input makes the parser or the sniffer panic, and a line
//! rendered the way the kernel writes it reads back to the packet it came from.

// Test helpers outside #[test] functions unwrap too: a panic is a failure here.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portwatch_core::{Proto, Timestamp, tcp_flags};
use portwatch_fwlog::{LineOutcome, LogParser, ParseOptions, sniff};
use proptest::prelude::*;

const REAL: [&str; 6] = [
    "Mar 11 20:35:11 linux kernel: [463490.251762] DROP IN=eth1 OUT= \
     MAC=23:87:fc:c6:24:58:00:21:3f:98:99:78:09:00 SRC=192.168.10.55 DST=192.168.10.1 LEN=44 \
     TOS=0x00 PREC=0x00 TTL=53 ID=15270 PROTO=TCP SPT=56247 DPT=1025 WINDOW=3072 RES=0x00 SYN \
     URGP=0 OPT (020405B4) ",
    "Mar 11 20:41:04 linux kernel: [463843.171785] DROP IN=eth1 OUT= \
     MAC=23:87:fc:c6:24:58:00:21:3f:98:99:78:09:00 SRC=192.168.10.55 DST=192.168.10.1 LEN=28 \
     TOS=0x00 PREC=0x00 TTL=50 ID=54985 PROTO=UDP SPT=44318 DPT=1146 LEN=8 ",
    "Dec 20 20:10:01 rohan kernel: [  449.059230] DROP IN=eth0 OUT= \
     MAC=00:1b:b9:76:9c:e4:00:13:46:3a:41:36:86:dd SRC=2012:1234:1234:0000:0000:0000:0000:0001 \
     DST=2012:1234:1234:0000:0000:0000:0000:0002 LEN=132 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( ) \
     OPT ( ) PROTO=TCP SPT=58537 DPT=1234 WINDOW=8192 RES=0x00 SYN URGP=0 ",
    "2015-03-07T05:09:30.045015+02:00 servername kernel: DROP: IN=eth0 OUT= \
     MAC=00:00:00:00:00:00:00:00:00:00:00:00:00:00 SRC=4.4.4.4 DST=1.2.3.4 LEN=40 TOS=0x00 \
     PREC=0x00 TTL=228 ID=54321 PROTO=TCP SPT=58923 DPT=21 WINDOW=65535 RES=0x00 SYN URGP=0 ",
    "Aug 21 10:00:01 fw kernel: DROP IN=eth0 OUT= SRC=203.0.113.9 DST=198.18.0.5 LEN=56 \
     TOS=0x00 PREC=0xC0 TTL=250 ID=777 PROTO=ICMP TYPE=3 CODE=3 [SRC=198.18.0.5 \
     DST=203.0.113.9 LEN=40 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP INCOMPLETE [8 bytes] ] ",
    "Apr 24 12:06:50 localhost kernel: [ 3445.031964] Shorewall:wlan0_mac:DROP:IN=wlan0 OUT= \
     MAC=02:00:5e:02:03:01:18:53:33:33:d6:41:03:00 SRC=192.168.10.55 DST=224.0.0.1 LEN=36 \
     TOS=0x00 PREC=0xC0 TTL=1 ID=0 FRAG:12 PROTO=2",
];

fn parser() -> LogParser {
    LogParser::new(ParseOptions::new(Timestamp::from_secs(1_566_374_401)))
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, char),
    Truncate(usize),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), "[ -~]{0,12}|\\PC{0,4}").prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<usize>(), any::<char>()).prop_map(|(at, c)| Mutation::Replace(at, c)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

fn apply(line: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    let n = chars.len();
    match m {
        Mutation::Delete(at, len) => {
            let at = at % n;
            chars.drain(at..(at + len).min(n));
        }
        Mutation::Insert(at, s) => {
            let at = at % (n + 1);
            chars.splice(at..at, s.chars());
        }
        Mutation::Replace(at, c) => chars[at % n] = *c,
        Mutation::Truncate(at) => chars.truncate(at % (n + 1)),
        Mutation::Swap(a, b) => chars.swap(a % n, b % n),
    }
    chars.into_iter().collect()
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = parser().parse_line(&s);
        let _ = sniff(s.as_bytes());
    }

    #[test]
    fn netfilter_alphabet_never_panics(
        s in "(IN=|SRC=|DST=|LEN=|PROTO=|TCP|UDP|ICMP|SPT=|DPT=|TYPE=|CODE=|FRAG:|\\[|\\]|OPT|\
              INCOMPLETE|URGP=|SYN|ACK|[0-9]{1,6}|[0-9.:a-f]{1,12}| ){0,60}"
    ) {
        let line = format!("Aug 21 10:00:01 h kernel: {s}");
        let _ = parser().parse_line(&line);
        let _ = parser().parse_line(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_sniffer(b in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = sniff(&b);
    }

    #[test]
    fn mutated_real_lines_never_panic(
        which in 0..REAL.len(),
        ms in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut line = REAL[which].to_string();
        for m in &ms {
            if line.is_empty() {
                break;
            }
            line = apply(&line, m);
        }
        let mut p = parser();
        let _ = p.parse_line(&line);
        let _ = sniff(line.as_bytes());
        // Cutting a mutated line anywhere is just as safe.
        for end in (0..=line.len()).filter(|&i| line.is_char_boundary(i)).step_by(7) {
            let _ = p.parse_line(&line[..end]);
        }
    }
}

/// A packet as the kernel would log it.
#[derive(Debug, Clone)]
struct Logged {
    src: IpAddr,
    dst: IpAddr,
    len: u16,
    ttl: u8,
    id: u16,
    proto: Proto,
    sport: u16,
    dport: u16,
    flags: u8,
    window: u16,
    icmp_code: u8,
    prefix: String,
}

fn logged() -> impl Strategy<Value = Logged> {
    let v6 = any::<bool>();
    (
        v6,
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        (any::<u16>(), any::<u8>(), any::<u16>()),
        prop_oneof![Just(Proto::Tcp), Just(Proto::Udp), Just(Proto::Icmp)],
        (
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u16>(),
            any::<u8>(),
        ),
        "[A-Za-z :\\[\\]-]{0,16}",
    )
        .prop_map(
            |(v6, s, d, (len, ttl, id), proto, (sport, dport, flags, window, code), prefix)| {
                let addr = |b: [u8; 16]| -> IpAddr {
                    if v6 {
                        Ipv6Addr::from(b).into()
                    } else {
                        Ipv4Addr::new(b[0], b[1], b[2], b[3]).into()
                    }
                };
                let proto = match (proto, v6) {
                    (Proto::Icmp, true) => Proto::Icmpv6,
                    (p, _) => p,
                };
                Logged {
                    src: addr(s),
                    dst: addr(d),
                    len,
                    ttl,
                    id: if v6 { 0 } else { id },
                    proto,
                    sport,
                    dport: if matches!(proto, Proto::Icmp | Proto::Icmpv6) {
                        dport % 256
                    } else {
                        dport
                    },
                    flags,
                    window,
                    icmp_code: code,
                    // A prefix that ends in a field name (`LOGIN`) would glue
                    // onto IN=; iptables users end their prefixes with a space
                    // or a colon.
                    prefix: if prefix.is_empty() {
                        prefix
                    } else {
                        format!("{prefix} ")
                    },
                }
            },
        )
}

fn render(p: &Logged) -> String {
    let mut s = format!(
        "Aug 21 10:00:01 host kernel: [ 12.345678] {}IN=eth0 OUT= SRC={} DST={} LEN={} ",
        p.prefix, p.src, p.dst, p.len
    );
    if p.src.is_ipv4() {
        s += &format!("TOS=0x00 PREC=0x00 TTL={} ID={} DF ", p.ttl, p.id);
    } else {
        s += &format!("TC=0 HOPLIMIT={} FLOWLBL=0 ", p.ttl);
    }
    match p.proto {
        Proto::Tcp => {
            s += &format!(
                "PROTO=TCP SPT={} DPT={} WINDOW={} RES=0x00 ",
                p.sport, p.dport, p.window
            );
            for (bit, name) in [
                (tcp_flags::CWR, "CWR"),
                (tcp_flags::ECE, "ECE"),
                (tcp_flags::URG, "URG"),
                (tcp_flags::ACK, "ACK"),
                (tcp_flags::PSH, "PSH"),
                (tcp_flags::RST, "RST"),
                (tcp_flags::SYN, "SYN"),
                (tcp_flags::FIN, "FIN"),
            ] {
                if p.flags & bit != 0 {
                    s += name;
                    s += " ";
                }
            }
            s += "URGP=0 ";
        }
        Proto::Udp => s += &format!("PROTO=UDP SPT={} DPT={} LEN=8 ", p.sport, p.dport),
        Proto::Icmp | Proto::Icmpv6 => {
            let name = if p.proto == Proto::Icmp {
                "ICMP"
            } else {
                "ICMPv6"
            };
            s += &format!("PROTO={name} TYPE={} CODE={} ", p.dport, p.icmp_code);
        }
    }
    s
}

proptest! {
    #[test]
    fn rendered_lines_read_back(p in logged()) {
        let line = render(&p);
        let LineOutcome::Event(e) = parser().parse_line(&line) else {
            return Err(TestCaseError::fail(format!("not an event: {line}")));
        };
        prop_assert_eq!((e.src, e.dst, e.ip_len), (p.src, p.dst, u32::from(p.len)));
        prop_assert_eq!((e.fp.ttl, e.fp.ip_id), (p.ttl, p.id));
        prop_assert_eq!(e.proto, Some(p.proto));
        prop_assert_eq!(e.dport, p.dport);
        match p.proto {
            Proto::Tcp => {
                prop_assert_eq!((e.sport, e.fp.tcp_flags, e.fp.tcp_window), (p.sport, p.flags, p.window));
            }
            Proto::Udp => prop_assert_eq!(e.sport, p.sport),
            Proto::Icmp | Proto::Icmpv6 => prop_assert_eq!(e.fp.icmp_code, p.icmp_code),
        }
        let expected = portwatch_core::classify(&portwatch_core::TransportInfo {
            proto: Some(p.proto),
            sport: e.sport,
            dport: p.dport,
            tcp_flags: e.fp.tcp_flags,
            non_first_fragment: false,
        });
        prop_assert_eq!((e.class, e.key), (expected.class, expected.key));
    }
}
