//! Opening an interface and the thread that reads it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pcap::{Active, Precision};
use portwatch_core::Timestamp;

use crate::stats::{KernelCounters, SharedStats};
use crate::{CaptureConfig, CaptureError, CaptureStats, CapturedPacket, PacketReceiver};

/// Most packets in one batch. Big enough that a busy interface costs one
/// channel operation per few hundred packets, small enough that one batch
/// dropped on a full queue is a small loss.
pub const BATCH_MAX: usize = 512;

/// Reading libpcap's counters costs a system call and, in promiscuous
/// mode, reads of two sysfs files: do it this often, not per batch.
const STATS_EVERY: Duration = Duration::from_millis(200);

/// The longest a stop spends collecting what the kernel still holds.
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// Pause between non-blocking reads while draining.
const DRAIN_POLL: Duration = Duration::from_millis(5);

/// A running capture on one interface.
///
/// Dropping it stops the thread too (and discards the final counters);
/// call [`stop`](Self::stop) to learn them and whether reading failed.
pub struct Capture {
    interface: String,
    linktype: u32,
    stats: Arc<SharedStats>,
    stop: Arc<AtomicBool>,
    breaker: pcap::BreakLoop,
    thread: Option<JoinHandle<Result<(), pcap::Error>>>,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("interface", &self.interface)
            .field("linktype", &self.linktype)
            .field("stats", &self.stats.snapshot())
            .field("running", &!self.is_finished())
            .finish()
    }
}

impl Capture {
    /// Opens `cfg.interface`, installs the filter and starts the capture
    /// thread. Packets arrive on the returned receiver until the capture
    /// stops; the interface is capturing when this returns, so traffic sent
    /// afterwards is seen.
    pub fn start(cfg: CaptureConfig) -> Result<(Capture, PacketReceiver), CaptureError> {
        cfg.validate()?;
        let mut cap = open(&cfg)?;
        // Datalink values are small non-negative numbers; a negative one
        // would be a libpcap bug, and maps to a link type nothing decodes.
        let linktype = u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX);
        let breaker = cap.breakloop_handle();
        let (tx, rx) = sync_channel(cfg.queue_batches);
        let stats = Arc::new(SharedStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            tx,
            linktype,
            stats: Arc::clone(&stats),
            stop: Arc::clone(&stop),
            timeout: Duration::from_millis(u64::from(cfg.timeout_ms)),
            kernel: KernelCounters::default(),
            batch: Vec::with_capacity(BATCH_MAX),
            consumer_gone: false,
        };
        let thread = std::thread::Builder::new()
            .name(format!("capture {}", cfg.interface))
            .spawn(move || reader.run(cap))
            .map_err(CaptureError::Thread)?;
        Ok((
            Capture {
                interface: cfg.interface,
                linktype,
                stats,
                stop,
                breaker,
                thread: Some(thread),
            },
            PacketReceiver::new(rx),
        ))
    }

    /// The interface being captured.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface's data link type (`DLT_*`), as in every packet.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The counters so far. libpcap's kernel counters are refreshed every
    /// 200 ms while packets flow and once more when the capture stops.
    pub fn stats(&self) -> CaptureStats {
        self.stats.snapshot()
    }

    /// True once the capture thread has ended: after [`stop`](Self::stop),
    /// when the consumer dropped its receiver, or when reading failed (then
    /// `stop` returns the error).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops capturing, collects what the kernel still holds (this takes
    /// twice `timeout_ms`, at most 2 s), and returns the final counters —
    /// or the error that ended the capture early. Every packet the kernel
    /// accepted before the stop is then delivered or counted as dropped.
    pub fn stop(mut self) -> Result<CaptureStats, CaptureError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<CaptureStats, CaptureError> {
        let Some(thread) = self.thread.take() else {
            return Ok(self.stats());
        };
        self.stop.store(true, Ordering::Release);
        // Wakes a read blocked on a quiet interface; the flag alone would
        // wait for the next packet.
        self.breaker.breakloop();
        let outcome = thread.join();
        let stats = self.stats();
        match outcome {
            Ok(Ok(())) => Ok(stats),
            Ok(Err(source)) => Err(CaptureError::Read {
                interface: self.interface.clone(),
                stats,
                source,
            }),
            Err(_) => Err(CaptureError::Panicked {
                interface: self.interface.clone(),
            }),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Creates, configures and activates the handle, then installs the filter.
fn open(cfg: &CaptureConfig) -> Result<pcap::Capture<Active>, CaptureError> {
    let iface = cfg.interface.as_str();
    // The config was validated: these casts cannot overflow an i32.
    let mut inactive = pcap::Capture::from_device(iface)
        .map_err(|e| classify_open_error(iface, e))?
        .promisc(cfg.promiscuous)
        .snaplen(cfg.snaplen as i32)
        .timeout(cfg.timeout_ms as i32)
        .precision(Precision::Nano);
    if let Some(size) = cfg.buffer_size {
        inactive = inactive.buffer_size(size as i32);
    }
    let mut cap = inactive.open().map_err(|e| classify_open_error(iface, e))?;
    cap.direction(cfg.direction.to_pcap())
        .map_err(|source| CaptureError::Open {
            interface: iface.to_owned(),
            source,
        })?;
    if let Some(filter) = &cfg.bpf_filter {
        cap.filter(filter, true)
            .map_err(|source| CaptureError::InvalidFilter {
                interface: iface.to_owned(),
                filter: filter.clone(),
                source,
            })?;
    }
    Ok(cap)
}

/// libpcap reports why activation failed as text only (the crate drops
/// the status code), so tell the cases users can fix apart: a missing
/// interface is checked against libpcap's own device list, permission by
/// the wording libpcap uses for `EPERM`/`EACCES`.
fn classify_open_error(interface: &str, source: pcap::Error) -> CaptureError {
    let interface = interface.to_owned();
    let text = source.to_string().to_ascii_lowercase();
    // If the list itself cannot be had, fall back on the message alone.
    let listed = pcap::Device::list()
        .map(|devices| devices.iter().any(|d| d.name == interface))
        .unwrap_or(true);
    if !listed || text.contains("no such device") {
        CaptureError::InterfaceNotFound { interface, source }
    } else if text.contains("permi") || text.contains("cap_net_raw") {
        CaptureError::PermissionDenied { interface, source }
    } else {
        CaptureError::Open { interface, source }
    }
}

/// The capture thread's state.
struct Reader {
    tx: SyncSender<Vec<CapturedPacket>>,
    linktype: u32,
    stats: Arc<SharedStats>,
    stop: Arc<AtomicBool>,
    timeout: Duration,
    kernel: KernelCounters,
    batch: Vec<CapturedPacket>,
    consumer_gone: bool,
}

impl Reader {
    fn run(mut self, mut cap: pcap::Capture<Active>) -> Result<(), pcap::Error> {
        let mut stats_due = Instant::now() + STATS_EVERY;
        while !self.stop.load(Ordering::Acquire) && !self.consumer_gone {
            let read = cap.dispatch(None, |p| self.push(&p));
            self.flush();
            if Instant::now() >= stats_due {
                self.refresh_kernel(&mut cap);
                stats_due = Instant::now() + STATS_EVERY;
            }
            if let Err(e) = read {
                // A break from `stop` surfaces as a libpcap error; only a
                // failure nobody asked for ends the capture with an error.
                if self.stop.load(Ordering::Acquire) {
                    break;
                }
                self.refresh_kernel(&mut cap);
                return Err(e);
            }
        }
        self.drain(cap.setnonblock()?)
    }

    /// After a stop: reads what the kernel holds until twice the read
    /// timeout has passed. Linux hands packets over in blocks, and the
    /// block being filled is released only by the timeout, so stopping at
    /// the first empty read would leave those packets counted by the kernel
    /// but never delivered.
    fn drain(&mut self, mut cap: pcap::Capture<Active>) -> Result<(), pcap::Error> {
        let deadline = Instant::now() + (self.timeout * 2).min(DRAIN_MAX);
        while !self.consumer_gone && Instant::now() < deadline {
            let read = cap.dispatch(None, |p| self.push(&p))?;
            self.flush();
            if read == 0 {
                std::thread::sleep(DRAIN_POLL);
            }
        }
        self.refresh_kernel(&mut cap);
        Ok(())
    }

    fn push(&mut self, p: &pcap::Packet<'_>) {
        let h = p.header;
        // With nanosecond precision libpcap puts nanoseconds in `tv_usec`.
        let nanos = u32::try_from(h.ts.tv_usec).unwrap_or(0);
        let truncated = u64::from(p.data.len() < h.len as usize);
        self.stats.add_received(1, truncated);
        self.batch.push(CapturedPacket {
            ts: Timestamp::from_parts(h.ts.tv_sec, nanos),
            linktype: self.linktype,
            data: p.data.to_vec(),
            orig_len: h.len,
        });
        if self.batch.len() >= BATCH_MAX {
            self.flush();
        }
    }

    /// Hands the batch to the consumer, or counts it as dropped: blocking
    /// here would only move the loss into the kernel's ring, uncounted by
    /// us and later.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_MAX));
        let lost = batch.len() as u64;
        match self.tx.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.stats.add_dropped_queue(lost),
            Err(TrySendError::Disconnected(_)) => {
                self.stats.add_dropped_queue(lost);
                self.consumer_gone = true;
            }
        }
    }

    fn refresh_kernel(&mut self, cap: &mut pcap::Capture<Active>) {
        // A failed reading leaves the previous one in place; the next
        // refresh catches up because the counters are cumulative.
        if let Ok(s) = cap.stats() {
            self.kernel.update(s.dropped, s.if_dropped);
            self.stats.set_kernel(&self.kernel);
        }
    }
}

/// Compiles `filter` for an interface of link type `linktype` (`DLT_*`)
/// without opening one, so a config can be checked without privileges.
pub fn check_filter(filter: &str, linktype: u32) -> Result<(), CaptureError> {
    let invalid = |source| CaptureError::InvalidFilter {
        interface: format!("(link type {linktype})"),
        filter: filter.to_owned(),
        source,
    };
    let dlt = i32::try_from(linktype).map_err(|_| invalid(pcap::Error::InvalidLinktype))?;
    let dead = pcap::Capture::dead(pcap::Linktype(dlt)).map_err(invalid)?;
    dead.compile(filter, true).map(drop).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `portwatch run` moves the capture and its receiver into other
    /// threads and tasks.
    #[test]
    fn handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Capture>();
        send::<PacketReceiver>();
        send_sync::<CaptureStats>();
    }
}
