//! Binding the listeners and running them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use portwatch_payload::SignatureSet;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::event::{HoneypotEvent, Shared};
use crate::limits::{ConnLimiter, ReplyBudget};
use crate::stats::{HoneypotStats, Stats};
use crate::{HoneypotConfig, HoneypotError, udp};

/// Kernel backlog of each TCP listener: a SYN flood fills this, not us.
const LISTEN_BACKLOG: i32 = 1024;

/// Running listeners. Dropping it (or [`Honeypot::shutdown`]) stops
/// accepting; connections in progress end by their own time limits.
#[derive(Debug)]
pub struct Honeypot {
    tasks: Vec<JoinHandle<()>>,
    tcp_addrs: Vec<SocketAddr>,
    udp_addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
}

impl Honeypot {
    /// Validates `config`, binds every listener (failing, with the address,
    /// if one cannot be bound) and starts serving on the current Tokio
    /// runtime. Events arrive on the returned receiver, at most
    /// `limits.event_queue` of them waiting.
    pub async fn spawn(
        config: HoneypotConfig,
        signatures: Arc<SignatureSet>,
    ) -> Result<(Honeypot, mpsc::Receiver<HoneypotEvent>), HoneypotError> {
        config.validate()?;
        let (tx, rx) = mpsc::channel(config.limits.event_queue);
        let stats = Arc::new(Stats::default());
        let limits = &config.limits;
        let limiter = ConnLimiter::new(
            limits.max_connections,
            limits.max_connections_per_source,
            Arc::clone(&stats),
        );
        let shared = Arc::new(Shared {
            budget: ReplyBudget::new(limits, Instant::now()),
            limits: config.limits.clone(),
            signatures,
            stats,
            limiter,
            tx,
        });
        let mut pot = Honeypot {
            tasks: Vec::new(),
            tcp_addrs: Vec::new(),
            udp_addrs: Vec::new(),
            shared,
        };
        for &ip in &config.addresses {
            for port in config.tcp_port_list() {
                let listener = bind_tcp(SocketAddr::new(ip, port))?;
                pot.tcp_addrs
                    .push(listener.local_addr().map_err(bind_err("tcp", ip, port))?);
                let banner = config.banners.get(&port).map(|b| Arc::from(b.as_slice()));
                pot.tasks.push(tokio::spawn(crate::tcp::serve(
                    listener,
                    banner,
                    Arc::clone(&pot.shared),
                )));
            }
            for port in config.udp_port_list() {
                let sock = bind_udp(SocketAddr::new(ip, port))?;
                pot.udp_addrs
                    .push(sock.local_addr().map_err(bind_err("udp", ip, port))?);
                let reply = config
                    .udp_replies
                    .get(&port)
                    .map(|b| Arc::from(b.as_slice()));
                pot.tasks.push(tokio::spawn(udp::serve(
                    sock,
                    reply,
                    Arc::clone(&pot.shared),
                )));
            }
        }
        tracing::info!(
            tcp = pot.tcp_addrs.len(),
            udp = pot.udp_addrs.len(),
            "honeypot listening"
        );
        Ok((pot, rx))
    }

    /// The bound TCP addresses (with the real port where `0` was asked).
    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp_addrs
    }

    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp_addrs
    }

    pub fn stats(&self) -> HoneypotStats {
        self.shared.stats.snapshot()
    }

    /// TCP connections open right now.
    pub fn open_connections(&self) -> usize {
        self.shared.limiter.open()
    }

    /// A cheap, cloneable handle to the counters, for a metrics endpoint.
    pub fn monitor(&self) -> HoneypotMonitor {
        HoneypotMonitor {
            stats: Arc::clone(&self.shared.stats),
            limiter: Arc::clone(&self.shared.limiter),
        }
    }

    /// Stops every listener.
    pub fn shutdown(self) {
        drop(self);
    }
}

/// Read-only view of a running honeypot's counters (see [`Honeypot::monitor`]).
#[derive(Debug, Clone)]
pub struct HoneypotMonitor {
    stats: Arc<Stats>,
    limiter: Arc<ConnLimiter>,
}

impl HoneypotMonitor {
    pub fn stats(&self) -> HoneypotStats {
        self.stats.snapshot()
    }

    pub fn open_connections(&self) -> usize {
        self.limiter.open()
    }
}

impl Drop for Honeypot {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn bind_err(
    proto: &'static str,
    ip: IpAddr,
    port: u16,
) -> impl FnOnce(std::io::Error) -> HoneypotError {
    move |source| HoneypotError::Bind {
        proto,
        addr: SocketAddr::new(ip, port),
        source,
    }
}

fn socket(addr: SocketAddr, ty: Type, proto: Protocol) -> std::io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    if addr.is_ipv6() {
        // So `0.0.0.0` and `::` can both be listed without clashing.
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    Ok(sock)
}

fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, HoneypotError> {
    let err = bind_err("tcp", addr.ip(), addr.port());
    let sock = socket(addr, Type::STREAM, Protocol::TCP).and_then(|s| {
        s.listen(LISTEN_BACKLOG)?;
        Ok(s)
    });
    sock.and_then(|s| TcpListener::from_std(s.into()))
        .map_err(err)
}

fn bind_udp(addr: SocketAddr) -> Result<UdpSocket, HoneypotError> {
    let err = bind_err("udp", addr.ip(), addr.port());
    socket(addr, Type::DGRAM, Protocol::UDP)
        .and_then(|s| UdpSocket::from_std(s.into()))
        .map_err(err)
}
