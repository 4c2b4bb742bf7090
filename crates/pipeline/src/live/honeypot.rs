//! The honeypot as a live source: its events forwarded to the sensor, its
//! counters (refused connections, dropped events) published as drops.

use std::time::Duration;

use portwatch_honeypot::{HoneypotEvent, HoneypotMonitor};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::sensor::{Input, LiveHandle, register};
use super::stats::SourceKind;

/// Forwards `events` to the sensor until either side closes. Refused
/// connections and events the honeypot's own queue dropped count as the
/// source's drops (rule 4).
pub fn spawn_honeypot(
    handle: &LiveHandle,
    monitor: HoneypotMonitor,
    mut events: mpsc::Receiver<HoneypotEvent>,
) -> JoinHandle<()> {
    let id = register(handle, "honeypot", SourceKind::Honeypot);
    let handle = handle.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(event) => {
                        if handle.tx.send(Input::Honeypot { source: id, event }).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                _ = ticker.tick() => {}
            }
            let s = monitor.stats();
            let drops = s.tcp_refused_busy + s.tcp_refused_source + s.events_dropped;
            handle
                .stats
                .set_detail(id, Some(drops), serde_json::to_value(s).unwrap_or_default());
        }
    })
}
