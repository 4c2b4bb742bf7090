//! First-contact outcomes from a capture that shows replies, for Threshold
//! Random Walk (Jung et al. 2004).
//!
//! A TCP SYN from A:a to B:p opens an attempt. The attempt succeeds when
//! B:p answers A:a with a SYN-ACK, and fails when it answers with a RST, when
//! an ICMP destination-unreachable about that SYN comes back, or when nothing
//! answers within [`REPLY_TIMEOUT_SECS`] of capture time. Only a source's
//! *first* attempt to each address counts, as in the paper: a client that
//! fetches ten pages from one server is one success, not ten, and a vertical
//! scan of one host is one failure, not a thousand.
//!
//! A timeout is evidence only when the capture could have shown the answer:
//! a darknet capture holds no replies at all, so there every SYN would time
//! out and every source look like a scanner. Timeouts are therefore held
//! back until the capture has shown at least one reply (a SYN-ACK, a RST to a
//! tracked SYN or an ICMP unreachable about one); if it never does, they are
//! dropped and no outcome is recorded at all.
//!
//! Holding them costs memory for every SYN of a darknet capture, so the
//! tracker stops holding after [`MAX_HELD`] timeouts without a reply: the
//! capture is taken to have no replies. It then only watches a window of
//! recent SYNs ([`DORMANT_SLOTS`]) for an answer; the first answer wakes it,
//! and outcomes count from then on (the held ones are gone). The window is a
//! direct-mapped table with a cheap hash and no sweep: a darknet sends every
//! packet through it, and a hash map insert, remove and timeout queue per
//! SYN were a third of the reader thread's time. A later SYN may push an
//! earlier one out of its slot, so an answer can go unnoticed, but a capture
//! that really shows replies shows a great many of them.
//!
//! The tracker runs on the reader thread, so it must be cheap on packets
//! that are not SYN, SYN-ACK, RST or ICMP unreachable: those return after a
//! protocol and flags test.

use std::collections::VecDeque;

// SipHash would be a fifth of the reader thread's time here.
use foldhash::{HashMap, HashSet, HashSetExt};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portwatch_core::{Event, Proto, Timestamp, tcp_flags};

/// How long a SYN waits for its answer, in capture seconds. A reply takes
/// a round trip (well under a second on nearly every path; 3 s is also the
/// classic initial retransmission timeout of RFC 1122).
pub const REPLY_TIMEOUT_SECS: i64 = 3;

/// Attempts waiting for an answer at most; beyond it the oldest are
/// decided as timed out early, which bounds memory under a SYN flood.
const MAX_OPEN: usize = 1 << 20;

/// Timeouts held before any reply at most: past it the capture is taken to
/// show no replies (a darknet), and the tracker goes dormant.
const MAX_HELD: usize = 1 << 16;

/// Slots of a dormant tracker's window of recent SYNs (a power of two).
const DORMANT_SLOTS: usize = 4096;

/// Distinct (source, target) pairs remembered for first-contact dedup at
/// most; beyond it the set is cleared, so a source may count a target again.
pub(crate) const MAX_CONTACTED: usize = 1 << 23;

/// One attempt: who asked whom on which ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Attempt {
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
    sport: u16,
}

/// A decided first contact, attributed to the source that sent the SYN at
/// `ts` (the SYN's time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub src: IpAddr,
    pub ts: Timestamp,
    pub ok: bool,
}

/// Follows SYNs to their answers; see the module documentation.
#[derive(Debug, Default)]
pub struct HandshakeTracker {
    /// Open attempts and the time of their SYN.
    open: HashMap<Attempt, Timestamp>,
    /// Open attempts in SYN order, for the timeout sweep; entries already
    /// answered are skipped when met.
    queue: VecDeque<(Timestamp, Attempt)>,
    /// (source, target) pairs that already had their first contact.
    contacted: HashSet<(IpAddr, IpAddr)>,
    /// Whether any reply has been seen.
    replies_seen: bool,
    /// Timed-out attempts held until the capture shows a reply.
    held: Vec<Outcome>,
    /// No reply among [`MAX_HELD`] timeouts: nothing is held or
    /// deduplicated until an answer shows up.
    dormant: bool,
    /// A dormant tracker's recent SYNs, by [`window_slot`]; empty otherwise.
    window: Vec<Option<(Attempt, Timestamp)>>,
}

impl HandshakeTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one decoded packet; decided outcomes go to `out` (in the order
    /// they were decided).
    #[inline]
    pub fn observe(&mut self, ev: &Event<'_>, out: &mut Vec<Outcome>) {
        match ev.proto {
            Some(Proto::Tcp) => {
                let f = ev.fp.tcp_flags;
                // The attempt this packet would answer.
                let asked = Attempt {
                    src: ev.dst,
                    dst: ev.src,
                    dport: ev.sport,
                    sport: ev.dport,
                };
                if f & tcp_flags::RST != 0 {
                    self.answer(asked, ev.ts, false, out);
                } else if f & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN | tcp_flags::ACK {
                    self.answer(asked, ev.ts, true, out);
                } else if f & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN {
                    self.syn(ev);
                }
            }
            Some(Proto::Icmp) if ev.dport == 3 => {
                // Port unreachable (3), host unreachable (1), and the
                // administratively prohibited codes (9, 10, 13) a firewall
                // rejects with.
                if matches!(ev.fp.icmp_code, 1 | 3 | 9 | 10 | 13)
                    && let Some(a) = quoted_v4_tcp(ev.payload)
                {
                    self.answer(a, ev.ts, false, out);
                }
            }
            Some(Proto::Icmpv6) if ev.dport == 1 => {
                // Destination unreachable: no route (0), prohibited (1),
                // address (3) and port (4) unreachable, policy (5), reject (6).
                if matches!(ev.fp.icmp_code, 0 | 1 | 3..=6)
                    && let Some(a) = quoted_v6_tcp(ev.payload)
                {
                    self.answer(a, ev.ts, false, out);
                }
            }
            _ => {}
        }
    }

    fn syn(&mut self, ev: &Event<'_>) {
        let a = Attempt {
            src: ev.src,
            dst: ev.dst,
            dport: ev.dport,
            sport: ev.sport,
        };
        if self.dormant {
            let slot = window_slot(&a);
            if let Some(s) = self.window.get_mut(slot) {
                *s = Some((a, ev.ts));
            }
            return;
        }
        if self.contacted.contains(&(ev.src, ev.dst)) {
            return;
        }
        // First contact is the attempt, whatever its answer: a second SYN
        // to the same address (a retransmission, another port) while the
        // first is pending is not another one.
        if self.contacted.len() >= MAX_CONTACTED {
            self.contacted.clear();
        }
        self.contacted.insert((ev.src, ev.dst));
        self.open.insert(a, ev.ts);
        self.queue.push_back((ev.ts, a));
    }

    /// An answer at `now` to the attempt `a`.
    fn answer(&mut self, a: Attempt, now: Timestamp, ok: bool, out: &mut Vec<Outcome>) {
        let found = match self.open.remove(&a) {
            Some(ts) => Some(ts),
            None if self.dormant => self.window_take(&a, now),
            None => None,
        };
        let Some(ts) = found else {
            return;
        };
        if self.dormant {
            self.window = Vec::new();
            // Replies after all: count from here on, this one included.
            self.dormant = false;
            self.replies_seen = true;
            self.contacted.insert((a.src, a.dst));
        }
        self.saw_reply(out);
        out.push(Outcome { src: a.src, ts, ok });
    }

    fn saw_reply(&mut self, out: &mut Vec<Outcome>) {
        if !self.replies_seen {
            self.replies_seen = true;
            out.append(&mut self.held);
        }
    }

    /// Decides every attempt whose SYN is older than `now` minus the
    /// timeout as failed. Call as capture time advances.
    pub fn sweep(&mut self, now: Timestamp, out: &mut Vec<Outcome>) {
        let cutoff = now.secs().saturating_sub(REPLY_TIMEOUT_SECS);
        while let Some(&(ts, a)) = self.queue.front() {
            if ts.secs() >= cutoff && self.queue.len() <= MAX_OPEN {
                break;
            }
            self.queue.pop_front();
            // Answered attempts left their queue entry behind; a later
            // retransmission cannot reopen them (they are `contacted`), so
            // a matching time means this entry is the open one.
            if self.open.get(&a) == Some(&ts) {
                self.open.remove(&a);
                self.timed_out(
                    Outcome {
                        src: a.src,
                        ts,
                        ok: false,
                    },
                    out,
                );
            }
        }
    }

    fn timed_out(&mut self, o: Outcome, out: &mut Vec<Outcome>) {
        if self.replies_seen {
            out.push(o);
        } else if !self.dormant {
            self.held.push(o);
            if self.held.len() >= MAX_HELD {
                self.dormant = true;
                self.held = Vec::new();
                self.contacted = HashSet::new();
                self.window = vec![None; DORMANT_SLOTS];
            }
        }
    }

    /// Takes `a` out of a dormant tracker's window if its SYN is there and
    /// recent enough at `now` to be answered; returns the SYN's time.
    fn window_take(&mut self, a: &Attempt, now: Timestamp) -> Option<Timestamp> {
        let slot = self.window.get_mut(window_slot(a))?;
        match *slot {
            Some((held, ts))
                if held == *a && now.secs().saturating_sub(ts.secs()) <= REPLY_TIMEOUT_SECS =>
            {
                *slot = None;
                Some(ts)
            }
            _ => None,
        }
    }

    /// The end of the capture: every open attempt times out, and held
    /// timeouts are dropped if no reply was ever seen.
    pub fn finish(&mut self, out: &mut Vec<Outcome>) {
        self.sweep(Timestamp(i64::MAX), out);
        self.held.clear();
    }
}

/// Where `a` goes in a dormant tracker's window: a multiply-xor of the
/// addresses and ports, far cheaper than a keyed hash of the enum (a
/// darknet's own traffic cannot steer it anywhere that matters: at worst an
/// answer goes unnoticed).
#[inline]
fn window_slot(a: &Attempt) -> usize {
    #[inline]
    fn bits(ip: IpAddr) -> u64 {
        match ip {
            IpAddr::V4(v4) => u64::from(u32::from(v4)),
            IpAddr::V6(v6) => {
                let x = u128::from(v6);
                (x as u64) ^ (x >> 64) as u64
            }
        }
    }
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let h = (bits(a.src).wrapping_mul(K) ^ bits(a.dst)).wrapping_mul(K)
        ^ (u64::from(a.sport) << 16 | u64::from(a.dport));
    (h.wrapping_mul(K) >> (64 - DORMANT_SLOTS.trailing_zeros())) as usize
}

/// The TCP attempt an ICMPv4 error quotes: the original IPv4 header and at
/// least the first 8 bytes of its TCP header (RFC 792).
fn quoted_v4_tcp(p: &[u8]) -> Option<Attempt> {
    let (&vihl, _) = p.split_first()?;
    if vihl >> 4 != 4 || *p.get(9)? != 6 {
        return None;
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    let src = Ipv4Addr::from(<[u8; 4]>::try_from(p.get(12..16)?).ok()?);
    let dst = Ipv4Addr::from(<[u8; 4]>::try_from(p.get(16..20)?).ok()?);
    let tcp = p.get(ihl..ihl + 4)?;
    Some(Attempt {
        src: src.into(),
        dst: dst.into(),
        sport: u16::from_be_bytes([tcp[0], tcp[1]]),
        dport: u16::from_be_bytes([tcp[2], tcp[3]]),
    })
}

/// The same for ICMPv6: the original IPv6 header (TCP directly after it;
/// extension headers are not followed).
fn quoted_v6_tcp(p: &[u8]) -> Option<Attempt> {
    if p.first()? >> 4 != 6 || *p.get(6)? != 6 {
        return None;
    }
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(p.get(8..24)?).ok()?);
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(p.get(24..40)?).ok()?);
    let tcp = p.get(40..44)?;
    Some(Attempt {
        src: src.into(),
        dst: dst.into(),
        sport: u16::from_be_bytes([tcp[0], tcp[1]]),
        dport: u16::from_be_bytes([tcp[2], tcp[3]]),
    })
}

#[cfg(test)]
mod tests {
    use portwatch_core::{Class, Fingerprint};

    use super::*;

    const SCANNER: &str = "198.18.0.1";
    const TARGET: &str = "198.18.1.1";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    fn tcp(t: i64, src: &str, sport: u16, dst: &str, dport: u16, flags: u8) -> Event<'static> {
        Event {
            ts: Timestamp::from_secs(t),
            src: ip(src),
            dst: ip(dst),
            proto: Some(Proto::Tcp),
            sport,
            dport,
            class: Class::Probe,
            key: None,
            ip_len: 40,
            fp: Fingerprint {
                tcp_flags: flags,
                ..Fingerprint::default()
            },
            tcp_options: &[],
            payload: &[],
        }
    }

    const SYN: u8 = tcp_flags::SYN;
    const SYNACK: u8 = tcp_flags::SYN | tcp_flags::ACK;
    const RSTACK: u8 = tcp_flags::RST | tcp_flags::ACK;

    fn run(events: &[Event<'_>], end: bool) -> Vec<(String, i64, bool)> {
        let mut t = HandshakeTracker::new();
        let mut out = Vec::new();
        for ev in events {
            t.sweep(ev.ts, &mut out);
            t.observe(ev, &mut out);
        }
        if end {
            t.finish(&mut out);
        }
        out.iter()
            .map(|o| (o.src.to_string(), o.ts.secs(), o.ok))
            .collect()
    }

    #[test]
    fn syn_ack_succeeds_and_rst_fails() {
        let got = run(
            &[
                tcp(10, SCANNER, 40000, TARGET, 80, SYN),
                tcp(10, SCANNER, 40000, "198.18.1.2", 81, SYN),
                tcp(11, TARGET, 80, SCANNER, 40000, SYNACK),
                tcp(11, "198.18.1.2", 81, SCANNER, 40000, RSTACK),
            ],
            true,
        );
        assert_eq!(
            got,
            [(SCANNER.into(), 10, true), (SCANNER.into(), 10, false)]
        );
    }

    #[test]
    fn answers_must_match_ports_and_direction() {
        let got = run(
            &[
                tcp(10, SCANNER, 40000, TARGET, 80, SYN),
                // Wrong source port, wrong client port, reversed direction.
                tcp(10, TARGET, 81, SCANNER, 40000, SYNACK),
                tcp(10, TARGET, 80, SCANNER, 40001, SYNACK),
                tcp(10, SCANNER, 40000, TARGET, 80, RSTACK),
                // Now the real answer.
                tcp(11, TARGET, 80, SCANNER, 40000, SYNACK),
            ],
            true,
        );
        assert_eq!(got, [(SCANNER.into(), 10, true)]);
    }

    #[test]
    fn only_the_first_contact_with_an_address_counts() {
        let mut evs = Vec::new();
        // 100 ports of one host, all reset: one failure.
        for p in 1..=100u16 {
            evs.push(tcp(5, SCANNER, 50000, TARGET, p, SYN));
            evs.push(tcp(5, TARGET, p, SCANNER, 50000, RSTACK));
        }
        // A client connects five times to one server: one success.
        for i in 0..5u16 {
            evs.push(tcp(6, "198.18.0.9", 33000 + i, TARGET, 8000, SYN));
            evs.push(tcp(6, TARGET, 8000, "198.18.0.9", 33000 + i, SYNACK));
        }
        let got = run(&evs, true);
        assert_eq!(
            got,
            [(SCANNER.into(), 5, false), ("198.18.0.9".into(), 6, true)]
        );
    }

    #[test]
    fn silence_fails_after_the_timeout_once_replies_are_seen() {
        let got = run(
            &[
                tcp(100, SCANNER, 1, "198.18.1.1", 22, SYN),
                tcp(100, SCANNER, 1, "198.18.1.2", 22, SYN),
                // A reply elsewhere shows the capture sees replies.
                tcp(101, "198.18.0.9", 2, "198.18.1.3", 22, SYN),
                tcp(101, "198.18.1.3", 22, "198.18.0.9", 2, SYNACK),
                // Still within the timeout: a late SYN-ACK counts.
                tcp(102, "198.18.1.2", 22, SCANNER, 1, SYNACK),
                // More than the timeout later: the first SYN is failed
                // before the end.
                tcp(104, "198.18.0.9", 3, "198.18.1.4", 22, SYN),
            ],
            false,
        );
        assert_eq!(
            got,
            [
                ("198.18.0.9".into(), 101, true),
                (SCANNER.into(), 100, true),
                (SCANNER.into(), 100, false),
            ]
        );
    }

    #[test]
    fn a_capture_without_replies_records_nothing() {
        let evs: Vec<_> = (0..50u16)
            .map(|i| tcp(i64::from(i), SCANNER, 1, TARGET, i, SYN))
            .collect();
        assert!(run(&evs, true).is_empty());
    }

    #[test]
    fn held_timeouts_count_once_a_reply_shows_up() {
        let got = run(
            &[
                tcp(0, SCANNER, 1, "198.18.1.1", 22, SYN),
                tcp(10, "198.18.0.9", 2, TARGET, 22, SYN),
                tcp(10, TARGET, 22, "198.18.0.9", 2, RSTACK),
            ],
            true,
        );
        assert_eq!(
            got,
            [(SCANNER.into(), 0, false), ("198.18.0.9".into(), 10, false)]
        );
    }

    /// A tracker fed `n` SYNs, one a second to ever new targets, none
    /// answered (enough to go dormant), with what it decided.
    fn fed_unanswered_syns(n: u32) -> (HandshakeTracker, Vec<Outcome>) {
        let mut t = HandshakeTracker::new();
        let mut out = Vec::new();
        for i in 0..n {
            let dst = Ipv4Addr::from(0xc612_0000 + i).to_string();
            let ev = tcp(i64::from(i), SCANNER, 1, &dst, 23, SYN);
            t.sweep(ev.ts, &mut out);
            t.observe(&ev, &mut out);
        }
        (t, out)
    }

    #[test]
    fn a_long_capture_without_replies_goes_dormant_and_wakes_on_an_answer() {
        let n = MAX_HELD as u32 + 100;
        let (mut t, mut out) = fed_unanswered_syns(n);
        assert!(out.is_empty());
        assert!(t.dormant, "held {}", t.held.len());
        assert!(t.held.len() < MAX_HELD && t.contacted.len() < MAX_HELD);
        assert!(t.open.is_empty() && t.queue.is_empty());
        assert_eq!(t.window.len(), DORMANT_SLOTS);
        // An answer to a recent SYN: replies after all, counted from here.
        let last = Ipv4Addr::from(0xc612_0000 + n - 1).to_string();
        let ev = tcp(i64::from(n), &last, 23, SCANNER, 1, RSTACK);
        t.sweep(ev.ts, &mut out);
        t.observe(&ev, &mut out);
        assert!(!t.dormant);
        assert!(out.iter().any(|o| o.ts.secs() == i64::from(n - 1) && !o.ok));
    }

    #[test]
    fn a_dormant_tracker_ignores_answers_after_the_timeout() {
        let n = MAX_HELD as u32 + 100;
        let (mut t, mut out) = fed_unanswered_syns(n);
        assert!(t.dormant);
        // The last SYN was at n - 1; an answer 4 s later is too late.
        let last = Ipv4Addr::from(0xc612_0000 + n - 1).to_string();
        let late = tcp(i64::from(n + 3), &last, 23, SCANNER, 1, SYNACK);
        t.sweep(late.ts, &mut out);
        t.observe(&late, &mut out);
        assert!(t.dormant && out.is_empty());
        // A SYN-ACK from the wrong port answers nothing either.
        let syn = tcp(i64::from(n + 4), SCANNER, 7, &last, 80, SYN);
        t.observe(&syn, &mut out);
        t.observe(
            &tcp(i64::from(n + 4), &last, 81, SCANNER, 7, SYNACK),
            &mut out,
        );
        assert!(t.dormant && out.is_empty());
        t.observe(
            &tcp(i64::from(n + 5), &last, 80, SCANNER, 7, SYNACK),
            &mut out,
        );
        assert!(!t.dormant);
        assert_eq!(out.len(), 1);
        assert!(out[0].ok && out[0].ts.secs() == i64::from(n + 4));
    }

    fn icmp_unreachable(code: u8, quoted: &[u8]) -> Event<'_> {
        Event {
            ts: Timestamp::from_secs(1),
            src: ip("198.18.1.254"),
            dst: ip(SCANNER),
            proto: Some(Proto::Icmp),
            sport: 0,
            dport: 3,
            class: Class::Backscatter,
            key: None,
            ip_len: 56,
            fp: Fingerprint {
                icmp_code: code,
                ..Fingerprint::default()
            },
            tcp_options: &[],
            payload: quoted,
        }
    }

    #[test]
    fn icmp_unreachable_about_the_syn_fails_it() {
        // The quoted IPv4 header of SCANNER:40000 -> TARGET:445 and the
        // first 8 bytes of its TCP header.
        let mut q = vec![0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0];
        q.extend([198, 18, 0, 1, 198, 18, 1, 1]);
        q.extend([0x9c, 0x40, 0x01, 0xbd, 0, 0, 0, 0]);
        let syn = tcp(0, SCANNER, 40000, TARGET, 445, SYN);
        // Code 0 (net unreachable) is not taken; a truncated quote is not.
        assert_eq!(run(&[syn, icmp_unreachable(3, &q[..22])], false), []);
        assert_eq!(
            run(&[syn, icmp_unreachable(3, &q)], false),
            [(SCANNER.into(), 0, false)]
        );
        assert_eq!(
            run(&[syn, icmp_unreachable(13, &q)], false),
            [(SCANNER.into(), 0, false)]
        );
        // Code 0 is not evidence; as the only "reply", the SYN's timeout
        // stays held and is dropped at the end.
        assert_eq!(run(&[syn, icmp_unreachable(0, &q)], true), []);
        // About another port: not this attempt.
        let mut other = q.clone();
        other[23] = 0xbe;
        assert_eq!(run(&[syn, icmp_unreachable(3, &other)], false), []);
    }

    #[test]
    fn retransmitted_syns_are_one_attempt() {
        let got = run(
            &[
                tcp(0, SCANNER, 1, TARGET, 80, SYN),
                tcp(1, SCANNER, 1, TARGET, 80, SYN),
                tcp(2, TARGET, 80, SCANNER, 1, SYNACK),
                tcp(2, TARGET, 80, SCANNER, 1, SYNACK),
            ],
            true,
        );
        assert_eq!(got, [(SCANNER.into(), 0, true)]);
    }
}
