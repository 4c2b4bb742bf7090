//! Captured frames as a live source: whatever reads packets (libpcap,
//! AF_PACKET, a test) hands each frame here with its link type and time;
//! frames are decoded with [`portwatch_decode::decode`] and sent on in runs.
//!
//! Each source follows TCP first contacts to their answers as `analyze`
//! does (the same handshake tracker), so a sensor on a link that carries
//! replies gives Threshold Random Walk verdicts. A SYN seen on one source
//! and its answer on another are not matched.

use std::time::Instant;

use portwatch_aggregate::Observation;
use portwatch_core::{DropReason, Timestamp};
use portwatch_decode::LinkType;

use super::sensor::{Input, LiveHandle, register};
use super::stats::SourceKind;
use crate::handshake::{HandshakeTracker, Outcome};

/// Frames decoded per message to the sensor.
const RUN: usize = 1024;

/// A packet source's end of the pipeline. Call [`FrameSource::push`] per
/// frame and [`FrameSource::flush`] when the source goes idle (a capture
/// read timeout), so a quiet link's last frames are not held back.
#[derive(Debug)]
pub struct FrameSource {
    handle: LiveHandle,
    id: usize,
    observations: Vec<Observation>,
    errors: Vec<DropReason>,
    handshakes: HandshakeTracker,
    outcomes: Vec<Outcome>,
    /// The first frame time of the newest capture second, and when that
    /// frame was pushed: while the link is quiet, capture time is taken to
    /// advance with the wall clock, so unanswered SYNs still time out.
    newest: Option<(Timestamp, Instant)>,
    /// The capture second the tracker was last swept at.
    swept: i64,
}

/// The sensor has stopped; the packet source should stop too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the live sensor has stopped")]
pub struct SensorGone;

impl FrameSource {
    /// A source named e.g. `capture:eth0`.
    pub fn new(handle: &LiveHandle, name: &str) -> Self {
        FrameSource {
            id: register(handle, name, SourceKind::Packets),
            handle: handle.clone(),
            observations: Vec::with_capacity(RUN),
            errors: Vec::new(),
            handshakes: HandshakeTracker::new(),
            outcomes: Vec::new(),
            newest: None,
            swept: i64::MIN,
        }
    }

    /// Decodes one frame; `orig_len` is its length on the wire. Blocks
    /// while the sensor's queue is full (the capture's own buffer, and its
    /// kernel drop counter, take the overflow).
    pub fn push(
        &mut self,
        link: LinkType,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> Result<(), SensorGone> {
        // Once a second of capture time: reading the clock per frame is
        // not free.
        if self.newest.is_none_or(|(t, _)| ts.secs() > t.secs()) {
            self.newest = Some((ts, Instant::now()));
            self.sweep(ts);
        }
        match portwatch_decode::decode(link, ts, data, orig_len) {
            Ok(ev) => {
                self.handshakes.observe(&ev, &mut self.outcomes);
                self.observations.push(Observation::of(&ev));
            }
            Err(reason) => self.errors.push(reason),
        }
        if self.observations.len() + self.errors.len() >= RUN {
            self.flush()?;
        }
        Ok(())
    }

    /// Times out unanswered SYNs, at most once a second of capture time.
    fn sweep(&mut self, now: Timestamp) {
        if now.secs() > self.swept {
            self.swept = now.secs();
            self.handshakes.sweep(now, &mut self.outcomes);
        }
    }

    /// Sends what is buffered, first timing out SYNs that went unanswered
    /// while the link was quiet.
    pub fn flush(&mut self) -> Result<(), SensorGone> {
        if let Some((ts, at)) = self.newest {
            let quiet = at.elapsed().as_nanos();
            let now = Timestamp(ts.0.saturating_add(i64::try_from(quiet).unwrap_or(i64::MAX)));
            self.sweep(now);
        }
        self.send()
    }

    /// The source ends: every attempt still open is decided, and
    /// everything is sent.
    pub fn finish(&mut self) -> Result<(), SensorGone> {
        self.handshakes.finish(&mut self.outcomes);
        self.send()
    }

    fn send(&mut self) -> Result<(), SensorGone> {
        if self.observations.is_empty() && self.errors.is_empty() && self.outcomes.is_empty() {
            return Ok(());
        }
        let input = Input::Events {
            source: self.id,
            observations: std::mem::replace(&mut self.observations, Vec::with_capacity(RUN)),
            errors: std::mem::take(&mut self.errors),
            outcomes: std::mem::take(&mut self.outcomes),
            lines: 0,
            checkpoint: None,
        };
        self.handle.tx.blocking_send(input).map_err(|_| SensorGone)
    }

    /// Records frames the kernel or the capture library dropped (they
    /// were never seen, so they are drops, not errors).
    pub fn set_drops(&self, dropped: u64) {
        self.set_drops_detail(dropped, serde_json::Value::Null);
    }

    /// [`Self::set_drops`] with the packet source's own counters, shown in
    /// the sensor's health.
    pub fn set_drops_detail(&self, dropped: u64, detail: serde_json::Value) {
        self.handle.stats.set_detail(self.id, Some(dropped), detail);
    }
}
