//! UDP: record each datagram; reply only when configured, never with more
//! bytes than the request, and within the rate limits (no amplification).

use std::sync::Arc;
use std::time::{Duration, Instant};

use portwatch_core::Proto;
use tokio::net::UdpSocket;

use crate::event::{HoneypotEvent, Outcome, Shared, now};

pub(crate) async fn serve(sock: UdpSocket, reply: Option<Arc<[u8]>>, shared: Arc<Shared>) {
    let max = shared.limits.max_bytes;
    // One byte more than kept, so a longer datagram shows as cut.
    let mut buf = vec![0u8; max + 1];
    let Ok(local) = sock.local_addr() else { return };
    loop {
        let (n, peer) = match sock.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(_) => {
                // ICMP errors surface here on some systems; not fatal.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let ts = now();
        shared.stats.udp_datagrams(1);
        shared.stats.bytes_received(n as u64);
        let kept = &buf[..n.min(max)];
        if let Some(r) = &reply {
            // `n` never exceeds what the client sent, so neither does this.
            let len = r.len().min(n);
            if len > 0 && shared.budget.allow(peer.ip(), Instant::now()) {
                if sock.send_to(&r[..len], peer).await.is_ok() {
                    shared.stats.udp_replies(1);
                }
            } else if len > 0 {
                shared.stats.udp_replies_suppressed(1);
            }
        }
        let cut = n > max;
        if cut {
            shared.stats.payloads_cut(1);
        }
        shared.emit(HoneypotEvent {
            ts,
            proto: Proto::Udp,
            src: peer,
            dst: local,
            redirected: false,
            payload: kept.to_vec(),
            payload_cut: cut,
            outcome: Outcome::Datagram,
            duration_ms: 0,
            analysis: shared.analyze(Proto::Udp, local.port(), kept),
        });
    }
}
