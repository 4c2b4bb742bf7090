//! TCP: accept, maybe send a banner, read the first bytes, close.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portwatch_core::Proto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use crate::event::{HoneypotEvent, Outcome, Shared, now};
use crate::limits::{Permit, Refusal};

/// After a failed accept (out of file descriptors, mostly), wait this long
/// rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

pub(crate) async fn serve(listener: TcpListener, banner: Option<Arc<[u8]>>, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Counted; logged at debug so an fd-exhaustion storm
                // cannot flood the log.
                tracing::debug!(%error, "honeypot accept failed");
                shared.stats.tcp_accept_errors(1);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let ts = now();
        match shared.limiter.try_acquire(peer.ip()) {
            Ok(permit) => {
                shared.stats.tcp_accepted(1);
                tokio::spawn(handle(
                    stream,
                    peer,
                    permit,
                    banner.clone(),
                    Arc::clone(&shared),
                    ts,
                ));
            }
            Err(refusal) => refuse(&shared, stream, peer, refusal, ts),
        }
    }
}

/// Closes at once with a reset (no TIME_WAIT kept for a flood) and still
/// reports the attempt: a refused scanner is still a scanner.
fn refuse(
    shared: &Shared,
    stream: TcpStream,
    peer: SocketAddr,
    refusal: Refusal,
    ts: portwatch_core::Timestamp,
) {
    let outcome = match refusal {
        Refusal::Busy => {
            shared.stats.tcp_refused_busy(1);
            Outcome::RefusedBusy
        }
        Refusal::SourceBusy => {
            shared.stats.tcp_refused_source(1);
            Outcome::RefusedSource
        }
    };
    let (dst, redirected) = destination(&stream);
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
    shared.emit(HoneypotEvent {
        ts,
        proto: Proto::Tcp,
        src: peer,
        dst,
        redirected,
        payload: Vec::new(),
        payload_cut: false,
        outcome,
        duration_ms: 0,
        analysis: None,
    });
}

async fn handle(
    mut stream: TcpStream,
    peer: SocketAddr,
    permit: Permit,
    banner: Option<Arc<[u8]>>,
    shared: Arc<Shared>,
    ts: portwatch_core::Timestamp,
) {
    let start = Instant::now();
    let (dst, redirected) = destination(&stream);
    let limits = &shared.limits;
    let mut buf = vec![0u8; limits.max_bytes];
    let mut got = 0;
    let exchange = exchange(
        &mut stream,
        banner.as_deref(),
        &mut buf,
        &mut got,
        limits.idle_after_data_ms,
    );
    let outcome = match timeout(limits.connection_timeout_ms, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => {
            shared.stats.tcp_timeouts(1);
            Outcome::Timeout
        }
    };
    drop(stream);
    drop(permit);
    buf.truncate(got);
    shared.stats.bytes_received(got as u64);
    if outcome == Outcome::LimitReached {
        shared.stats.payloads_cut(1);
    }
    let analysis = shared.analyze(Proto::Tcp, dst.port(), &buf);
    shared.emit(HoneypotEvent {
        ts,
        proto: Proto::Tcp,
        src: peer,
        dst,
        redirected,
        payload: buf,
        payload_cut: outcome == Outcome::LimitReached,
        outcome,
        duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        analysis,
    });
}

/// Banner out, first bytes in. Only reads into a fixed buffer: nothing the
/// client sends is interpreted here (rule 10).
async fn exchange(
    stream: &mut TcpStream,
    banner: Option<&[u8]>,
    buf: &mut [u8],
    got: &mut usize,
    idle: Duration,
) -> Outcome {
    if let Some(b) = banner
        && stream.write_all(b).await.is_err()
    {
        return Outcome::Error;
    }
    loop {
        let read = stream.read(&mut buf[*got..]);
        let n = if *got == 0 {
            read.await
        } else {
            match timeout(idle, read).await {
                Ok(r) => r,
                Err(_) => return Outcome::Idle,
            }
        };
        match n {
            Ok(0) => return Outcome::ClientClosed,
            Ok(n) => {
                *got += n;
                if *got == buf.len() {
                    return Outcome::LimitReached;
                }
            }
            Err(_) => return Outcome::Error,
        }
    }
}

/// Where the client meant to connect: `SO_ORIGINAL_DST` when an nftables
/// redirect (NAT) brought the connection here, else the listener's address.
fn destination(stream: &TcpStream) -> (SocketAddr, bool) {
    let local = stream
        .local_addr()
        .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    match original_dst(stream, local) {
        Some(orig) if orig != local => (orig, true),
        _ => (local, false),
    }
}

#[cfg(target_os = "linux")]
fn original_dst(stream: &TcpStream, local: SocketAddr) -> Option<SocketAddr> {
    // Without NAT the kernel answers ENOENT (or the listener address);
    // either way the listener's address is the destination.
    let sock = socket2::SockRef::from(stream);
    let addr = if local.is_ipv4() {
        sock.original_dst_v4()
    } else {
        sock.original_dst_v6()
    };
    addr.ok()?.as_socket()
}

#[cfg(not(target_os = "linux"))]
fn original_dst(_stream: &TcpStream, _local: SocketAddr) -> Option<SocketAddr> {
    None
}
