//! What the capture thread hands over: owned packets, in batches.

use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use portwatch_core::{DropReason, Event, Timestamp};
use portwatch_decode::LinkType;

/// One captured frame, owned so it can cross threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPacket {
    /// When the kernel saw the packet, to the nanosecond (rule 1: the
    /// packet counts in the minute this says).
    pub ts: Timestamp,
    /// The interface's data link type as libpcap numbers it (`DLT_*`);
    /// Ethernet is 1, Linux cooked capture (`any`) 113.
    pub linktype: u32,
    /// The bytes captured, at most the config's `snaplen`.
    pub data: Vec<u8>,
    /// The packet's length on the wire; more than `data.len()` when the
    /// snapshot length cut it.
    pub orig_len: u32,
}

impl CapturedPacket {
    /// The link type in the form [`portwatch_decode::decode`] takes.
    ///
    /// `DLT_*` and `LINKTYPE_*` numbers agree for every link type portwatch
    /// decodes except raw IP, whose DLT value (12, or 14 on OpenBSD) decode
    /// accepts as well. `None` for a value too large to be a link type.
    pub fn link_type(&self) -> Option<LinkType> {
        u16::try_from(self.linktype).ok().map(LinkType)
    }

    /// True when the snapshot length cut the packet.
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }

    /// Decodes the packet into a classified event borrowing its bytes.
    pub fn decode(&self) -> Result<Event<'_>, DropReason> {
        let link = self.link_type().ok_or(DropReason::UnsupportedLinkType)?;
        portwatch_decode::decode(link, self.ts, &self.data, self.orig_len)
    }
}

/// The consuming end of a capture: batches of packets in arrival order.
///
/// Iterating yields single packets until the capture stops (or fails, see
/// [`Capture::stop`](crate::Capture::stop)); [`recv_batch`](Self::recv_batch)
/// hands over whole batches, which is cheaper on a busy interface.
#[derive(Debug)]
pub struct PacketReceiver {
    rx: Receiver<Vec<CapturedPacket>>,
    pending: std::vec::IntoIter<CapturedPacket>,
}

impl PacketReceiver {
    pub(crate) fn new(rx: Receiver<Vec<CapturedPacket>>) -> Self {
        PacketReceiver {
            rx,
            pending: Vec::new().into_iter(),
        }
    }

    /// The next batch (never empty), blocking; `None` once the capture has
    /// ended and every batch was handed over. Packets already taken out of
    /// a batch by [`recv`](Self::recv) are not returned again.
    pub fn recv_batch(&mut self) -> Option<Vec<CapturedPacket>> {
        let rest: Vec<_> = self.pending.by_ref().collect();
        if !rest.is_empty() {
            return Some(rest);
        }
        self.rx.recv().ok()
    }

    /// Like [`recv_batch`](Self::recv_batch) but waits at most `timeout`.
    pub fn recv_batch_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<CapturedPacket>, RecvTimeoutError> {
        let rest: Vec<_> = self.pending.by_ref().collect();
        if !rest.is_empty() {
            return Ok(rest);
        }
        self.rx.recv_timeout(timeout)
    }

    /// A batch if one is waiting, without blocking.
    pub fn try_recv_batch(&mut self) -> Result<Vec<CapturedPacket>, TryRecvError> {
        let rest: Vec<_> = self.pending.by_ref().collect();
        if !rest.is_empty() {
            return Ok(rest);
        }
        self.rx.try_recv()
    }

    /// The next packet, blocking; `None` once the capture has ended.
    pub fn recv(&mut self) -> Option<CapturedPacket> {
        loop {
            if let Some(p) = self.pending.next() {
                return Some(p);
            }
            self.pending = self.rx.recv().ok()?.into_iter();
        }
    }

    /// The next packet, waiting at most `timeout` in all.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<CapturedPacket, RecvTimeoutError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(p) = self.pending.next() {
                return Ok(p);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            self.pending = self.rx.recv_timeout(left)?.into_iter();
        }
    }
}

impl Iterator for PacketReceiver {
    type Item = CapturedPacket;

    fn next(&mut self) -> Option<CapturedPacket> {
        self.recv()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portwatch_core::{Class, PortKey, Proto};
    use std::sync::mpsc::sync_channel;

    /// Ethernet + IPv4 + TCP SYN 198.18.0.2:40000 → 198.18.0.1:5168.
    fn syn_frame() -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        f.extend_from_slice(&[
            0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1,
        ]);
        f.extend_from_slice(&[
            0x9c, 0x40, 0x14, 0x30, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x04, 0, 0, 0, 0, 0,
        ]);
        f
    }

    fn packet(n: u8) -> CapturedPacket {
        CapturedPacket {
            ts: Timestamp::from_secs(i64::from(n)),
            linktype: 1,
            data: syn_frame(),
            orig_len: 54,
        }
    }

    #[test]
    fn decode_goes_through_portwatch_decode() {
        let p = packet(7);
        let ev = p.decode().unwrap();
        assert_eq!(ev.ts, Timestamp::from_secs(7));
        assert_eq!(
            (ev.proto, ev.sport, ev.dport),
            (Some(Proto::Tcp), 40000, 5168)
        );
        assert_eq!(ev.class, Class::Probe);
        assert_eq!(
            ev.key,
            Some(PortKey {
                proto: Proto::Tcp,
                port: 5168
            })
        );
        assert!(!p.is_truncated());
    }

    #[test]
    fn cut_and_unknown_link_types_are_drop_reasons() {
        let mut p = packet(1);
        p.data.truncate(40);
        p.orig_len = 94;
        assert!(p.is_truncated());
        assert_eq!(p.decode().unwrap_err(), DropReason::Truncated);
        let mut p = packet(1);
        p.linktype = 70_000;
        assert_eq!(p.link_type(), None);
        assert_eq!(p.decode().unwrap_err(), DropReason::UnsupportedLinkType);
        p.linktype = 147; // DLT_USER0
        assert_eq!(p.decode().unwrap_err(), DropReason::UnsupportedLinkType);
    }

    #[test]
    fn receiver_hands_out_every_packet_once_in_order() {
        let (tx, rx) = sync_channel(4);
        let mut r = PacketReceiver::new(rx);
        tx.send(vec![packet(1), packet(2), packet(3)]).unwrap();
        tx.send(vec![packet(4)]).unwrap();
        assert_eq!(r.recv().unwrap().ts, Timestamp::from_secs(1));
        // The rest of the first batch comes before the second batch.
        let rest: Vec<_> = r.recv_batch().unwrap().iter().map(|p| p.ts).collect();
        assert_eq!(rest, [Timestamp::from_secs(2), Timestamp::from_secs(3)]);
        assert_eq!(
            r.recv_timeout(Duration::from_millis(10)).unwrap().ts,
            Timestamp::from_secs(4)
        );
        assert_eq!(
            r.recv_timeout(Duration::from_millis(10)),
            Err(RecvTimeoutError::Timeout)
        );
        assert_eq!(r.try_recv_batch(), Err(TryRecvError::Empty));
        tx.send(vec![packet(5), packet(6)]).unwrap();
        drop(tx);
        let ts: Vec<_> = r.by_ref().map(|p| p.ts.secs()).collect();
        assert_eq!(ts, [5, 6]);
        assert_eq!(r.recv_batch(), None);
        assert_eq!(
            r.recv_batch_timeout(Duration::from_millis(10)),
            Err(RecvTimeoutError::Disconnected)
        );
    }
}
