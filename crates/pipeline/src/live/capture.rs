//! A live packet capture (`crates/capture`, libpcap) as a sensor source:
//! its packets go through a [`FrameSource`], its drop counters become the
//! source's drops (rule 4).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portwatch_capture::{Capture, CaptureStats, PacketReceiver};
use portwatch_decode::LinkType;

use super::frames::FrameSource;
use super::sensor::LiveHandle;

/// How long the thread waits for packets before flushing what it holds
/// and looking at the stop flag: a quiet link's last frames reach the
/// sensor within this.
const IDLE: Duration = Duration::from_millis(200);

/// How often the capture's counters are copied into the sensor's health.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Feeds a started capture into the sensor until `stop` is set, the
/// capture ends (its interface went away) or the sensor stops. The thread
/// returns the capture's final counters, or why it ended.
pub fn spawn_capture(
    handle: &LiveHandle,
    capture: Capture,
    packets: PacketReceiver,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<Result<CaptureStats, String>>> {
    let name = format!("capture:{}", capture.interface());
    let source = FrameSource::new(handle, &name);
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || feed(name, capture, packets, source, stop))
}

fn feed(
    name: String,
    capture: Capture,
    mut packets: PacketReceiver,
    mut source: FrameSource,
    stop: Arc<AtomicBool>,
) -> Result<CaptureStats, String> {
    let link = u16::try_from(capture.linktype())
        .map(LinkType)
        .map_err(|_| format!("{name}: link type {} is not decodable", capture.linktype()))?;
    tracing::info!(source = %name, linktype = capture.linktype(), "capturing");
    let mut published = Instant::now();
    let mut sensor_gone = false;
    while !stop.load(Ordering::Relaxed) {
        match packets.recv_batch_timeout(IDLE) {
            Ok(batch) => {
                for p in &batch {
                    if source.push(link, p.ts, &p.data, p.orig_len).is_err() {
                        sensor_gone = true;
                        break;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if source.flush().is_err() {
                    sensor_gone = true;
                }
            }
            // The capture thread ended: stop() below says why.
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if sensor_gone {
            break;
        }
        if published.elapsed() >= STATS_EVERY {
            publish(&source, &capture.stats());
            published = Instant::now();
        }
    }
    let result = capture.stop();
    // What the kernel still held when the capture stopped.
    if !sensor_gone {
        while let Ok(batch) = packets.try_recv_batch() {
            for p in &batch {
                let _ = source.push(link, p.ts, &p.data, p.orig_len);
            }
        }
        let _ = source.finish();
    }
    match result {
        Ok(stats) => {
            publish(&source, &stats);
            tracing::info!(source = %name, received = stats.received, dropped = stats.dropped(), "capture stopped");
            Ok(stats)
        }
        Err(e) => {
            tracing::error!(source = %name, error = %e, "capture failed");
            Err(format!("{name}: {e}"))
        }
    }
}

fn publish(source: &FrameSource, stats: &CaptureStats) {
    source.set_drops_detail(
        stats.dropped(),
        serde_json::to_value(stats).unwrap_or_default(),
    );
}
