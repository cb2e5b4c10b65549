//! Local Service Discovery (BEP 14) at run time: one multicast socket per address family for
//! the whole session, announcing every registered torrent and handing peers that announce the
//! same torrents to their drivers. The datagram format is
//! shoal-discovery's `lsd` module.
//!
//! Timing follows the BEP: each torrent is announced when it starts and every 5 minutes,
//! and the session sends at most one round of datagrams per minute (a round carries many
//! info-hashes per datagram), so a LAN never sees a storm from us. A torrent added while the
//! minute is not over waits for the next round.
//!
//! Sockets bind the group's port with address and port reuse, so several clients on one
//! host all receive the group; multicast loopback is on so they also hear each other, and
//! our own announces come back too: the random per-session cookie drops those. The TTL stays
//! at 1 (the default): LSD is for the local link, though the groups' scope is wider.
//!
//! Without a network (no multicast route, no IPv6) the service logs once at debug and keeps
//! running with what works; it never fails a torrent.

use super::TorrentLink;
use shoal_core::{InfoHash, Rng};
use shoal_discovery::lsd::{self, Announce, MAX_DATAGRAM};
use shoal_engine::PeerSource;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, info_span, Instrument};

/// How often each torrent is announced (BEP 14).
const REANNOUNCE: Duration = Duration::from_secs(5 * 60);
/// Peers found by LSD queued for one torrent before more are dropped (they come again in
/// five minutes anyway).
const FOUND_QUEUE: usize = 64;

/// Where LSD announces and listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsdConfig {
    /// IPv4 group and port; `None` leaves IPv4 out.
    pub group_v4: Option<SocketAddrV4>,
    /// IPv6 group and port; `None` leaves IPv6 out.
    pub group_v6: Option<SocketAddrV6>,
    /// Interface for IPv4 membership and sending (`0.0.0.0`: the kernel's choice, which
    /// follows the routing table). Tests use `127.0.0.1`, where multicast stays on the host.
    pub interface_v4: Ipv4Addr,
    /// Least time between two announce rounds (BEP 14: at most one per minute).
    pub min_interval: Duration,
}

impl LsdConfig {
    /// The BEP 14 groups: `239.192.152.143:6771` and `[ff15::efc0:988f]:6771`.
    pub fn new() -> LsdConfig {
        LsdConfig {
            group_v4: Some(SocketAddrV4::new(Ipv4Addr::new(239, 192, 152, 143), 6771)),
            group_v6: Some(SocketAddrV6::new(
                Ipv6Addr::new(0xff15, 0, 0, 0, 0, 0, 0xefc0, 0x988f),
                6771,
                0,
                0,
            )),
            interface_v4: Ipv4Addr::UNSPECIFIED,
            min_interval: Duration::from_secs(60),
        }
    }

    /// The BEP 14 groups on another port (tests use their own so they do not hear each other).
    pub fn with_port(port: u16) -> LsdConfig {
        let mut config = LsdConfig::new();
        if let Some(group) = &mut config.group_v4 {
            group.set_port(port);
        }
        if let Some(group) = &mut config.group_v6 {
            group.set_port(port);
        }
        config
    }
}

impl Default for LsdConfig {
    fn default() -> LsdConfig {
        LsdConfig::new()
    }
}

/// The session's LSD service. Cheap to clone; the background task ends when the last clone
/// is dropped.
#[derive(Clone)]
pub(crate) struct Lsd {
    shared: Arc<Shared>,
    _task: Arc<AbortOnDrop>,
}

struct Shared {
    torrents: Mutex<HashMap<InfoHash, Registered>>,
    /// Wakes the service when a torrent registers, to schedule its first announce.
    registered: Notify,
}

struct Registered {
    found: mpsc::Sender<SocketAddr>,
    next_announce: Instant,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One joined group.
struct Group {
    socket: UdpSocket,
    target: SocketAddr,
    /// The `Host` header: the group as `ip:port` or `[ip]:port`.
    host: String,
}

impl Lsd {
    /// Joins the configured groups and starts the service; `listen_port` is the TCP port
    /// announced. Fails only if no group could be joined at all.
    pub(crate) fn start(config: &LsdConfig, listen_port: u16) -> io::Result<Lsd> {
        let mut groups = Vec::new();
        let mut last_error = None;
        if let Some(group) = config.group_v4 {
            match join_v4(group, config.interface_v4) {
                Ok(socket) => groups.push(Group {
                    socket,
                    target: group.into(),
                    host: group.to_string(),
                }),
                Err(e) => {
                    debug!(%group, "LSD: cannot join the IPv4 group: {e}");
                    last_error = Some(e);
                }
            }
        }
        if let Some(group) = config.group_v6 {
            match join_v6(group) {
                Ok(socket) => groups.push(Group {
                    socket,
                    target: group.into(),
                    host: group.to_string(),
                }),
                Err(e) => {
                    debug!(%group, "LSD: cannot join the IPv6 group: {e}");
                    last_error = Some(e);
                }
            }
        }
        if groups.is_empty() {
            return Err(last_error.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "no LSD group configured")
            }));
        }
        let shared = Arc::new(Shared {
            torrents: Mutex::default(),
            registered: Notify::new(),
        });
        let service = Service {
            shared: shared.clone(),
            groups,
            cookie: new_cookie(),
            listen_port,
            min_interval: config.min_interval,
            last_round: None,
            send_failed: false,
        };
        info!(
            groups = ?service.groups.iter().map(|g| g.target).collect::<Vec<_>>(),
            "local service discovery on"
        );
        let task = tokio::spawn(service.run().instrument(info_span!("lsd")));
        Ok(Lsd {
            shared,
            _task: Arc::new(AbortOnDrop(task)),
        })
    }

    /// Announces `info_hash` from now on; peers that announce it arrive on the receiver.
    /// Dropping the returned [`Registration`] stops both.
    fn register(&self, info_hash: InfoHash) -> (Registration, mpsc::Receiver<SocketAddr>) {
        let (found, rx) = mpsc::channel(FOUND_QUEUE);
        self.shared.lock().insert(
            info_hash,
            Registered {
                found,
                next_announce: Instant::now(),
            },
        );
        self.shared.registered.notify_one();
        let registration = Registration {
            shared: self.shared.clone(),
            info_hash,
        };
        (registration, rx)
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<InfoHash, Registered>> {
        self.torrents.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A torrent's place in the LSD service; removed on drop.
struct Registration {
    shared: Arc<Shared>,
    info_hash: InfoHash,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.lock().remove(&self.info_hash);
    }
}

/// One torrent's LSD task: announces it while it runs and hands the peers found to its
/// driver. Private torrents (BEP 27) never use LSD; a magnet leaves LSD as soon as its
/// metadata says private.
pub(crate) async fn run(lsd: Lsd, mut link: TorrentLink) {
    if link.private {
        return;
    }
    let (_registration, mut found) = lsd.register(link.info_hash);
    loop {
        tokio::select! {
            peer = found.recv() => {
                let Some(peer) = peer else { return };
                let mut peers = vec![peer];
                while let Ok(more) = found.try_recv() {
                    peers.push(more);
                }
                debug!(?peers, "LSD found peers");
                if !link.found(PeerSource::Lsd, peers).await {
                    return;
                }
            }
            _ = link.stopped_or_private() => return,
        }
    }
}

/// The background task: receives on every group and sends the announce rounds.
struct Service {
    shared: Arc<Shared>,
    groups: Vec<Group>,
    cookie: String,
    listen_port: u16,
    min_interval: Duration,
    last_round: Option<Instant>,
    /// A send already failed once (logged); later failures stay quiet.
    send_failed: bool,
}

impl Service {
    async fn run(mut self) {
        // One buffer per group, a little larger than an announce so an oversized datagram is
        // seen as truncated rather than silently cut at exactly our limit.
        let mut bufs = vec![vec![0u8; MAX_DATAGRAM + 100]; self.groups.len()];
        loop {
            let next_round = self.next_round();
            let received = {
                let receives = self.groups.iter().zip(bufs.iter_mut()).map(|(g, buf)| {
                    Box::pin(async move {
                        let result = g.socket.recv_from(buf).await;
                        result.map(|(len, from)| (buf[..len].to_vec(), from))
                    })
                });
                tokio::select! {
                    result = first_of(receives.collect()) => Some(result),
                    _ = sleep_until_some(next_round) => None,
                    _ = self.shared.registered.notified() => continue,
                }
            };
            match received {
                Some(Ok((datagram, from))) => self.on_datagram(&datagram, from),
                Some(Err(e)) => {
                    // ICMP errors and the like surface here; they are not fatal.
                    debug!("LSD receive failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => self.announce_due().await,
            }
        }
    }

    /// When the next round may go out: the earliest torrent due, but not within
    /// `min_interval` of the last round.
    fn next_round(&self) -> Option<Instant> {
        let earliest = self.shared.lock().values().map(|r| r.next_announce).min()?;
        Some(match self.last_round {
            Some(last) => earliest.max(last + self.min_interval),
            None => earliest,
        })
    }

    async fn announce_due(&mut self) {
        let now = Instant::now();
        let due: Vec<InfoHash> = {
            let mut torrents = self.shared.lock();
            let mut due: Vec<(Instant, InfoHash)> = torrents
                .iter()
                .filter(|(_, r)| r.next_announce <= now)
                .map(|(hash, r)| (r.next_announce, *hash))
                .collect();
            // Longest-waiting first; what does not fit in one datagram waits for the next round.
            due.sort();
            let fits = self
                .groups
                .iter()
                .map(|g| lsd::hashes_per_datagram(&g.host, &self.cookie))
                .min()
                .unwrap_or(1);
            due.truncate(fits);
            for (_, hash) in &due {
                if let Some(r) = torrents.get_mut(hash) {
                    r.next_announce = now + REANNOUNCE;
                }
            }
            due.into_iter().map(|(_, hash)| hash).collect()
        };
        if due.is_empty() {
            return;
        }
        self.last_round = Some(now);
        for group in &self.groups {
            let datagram = lsd::build(&group.host, self.listen_port, &due, &self.cookie);
            match group
                .socket
                .send_to(datagram.as_bytes(), group.target)
                .await
            {
                Ok(_) => debug!(group = %group.target, torrents = due.len(), "LSD announce sent"),
                Err(e) if !self.send_failed => {
                    self.send_failed = true;
                    debug!(group = %group.target, "LSD announce not sent (no multicast route?): {e}");
                }
                Err(_) => {}
            }
        }
    }

    fn on_datagram(&self, datagram: &[u8], from: SocketAddr) {
        let announce = match lsd::parse(datagram) {
            Ok(announce) => announce,
            Err(e) => {
                debug!(%from, "ignored a datagram: {e}");
                return;
            }
        };
        let Announce {
            port,
            info_hashes,
            cookie,
        } = announce;
        if cookie.as_deref() == Some(self.cookie.as_str()) {
            return;
        }
        let mut peer = from;
        peer.set_port(port);
        let torrents = self.shared.lock();
        for hash in info_hashes {
            if let Some(r) = torrents.get(&hash) {
                // A full queue drops the peer: its next announce comes in five minutes.
                let _ = r.found.try_send(peer);
            }
        }
    }
}

/// Waits for the first of several receives; the others are dropped (no data is lost: a
/// receive that did not complete took nothing from its socket).
async fn first_of<F: std::future::Future>(mut futures: Vec<std::pin::Pin<Box<F>>>) -> F::Output {
    std::future::poll_fn(move |cx| {
        for f in futures.iter_mut() {
            if let std::task::Poll::Ready(out) = f.as_mut().poll(cx) {
                return std::task::Poll::Ready(out);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn join_v4(group: SocketAddrV4, interface: Ipv4Addr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, group.port()).into())?;
    socket.join_multicast_v4(group.ip(), &interface)?;
    if !interface.is_unspecified() {
        socket.set_multicast_if_v4(&interface)?;
    }
    socket.set_multicast_loop_v4(true)?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

fn join_v6(group: SocketAddrV6) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_only_v6(true)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, group.port(), 0, 0).into())?;
    socket.join_multicast_v6(group.ip(), 0)?;
    socket.set_multicast_loop_v6(true)?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

/// A random cookie per session, so two clients on one host still tell their announces apart.
fn new_cookie() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = Rng::new(nanos ^ (u64::from(std::process::id()) << 32));
    format!("{:016x}", rng.next_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The BEP 14 IPv4 group on a port of this test's own, looped back on 127.0.0.1 so
    /// nothing leaves the host.
    fn loopback_config() -> LsdConfig {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .expect("a free UDP port");
        LsdConfig {
            group_v6: None,
            interface_v4: Ipv4Addr::LOCALHOST,
            min_interval: Duration::ZERO,
            ..LsdConfig::with_port(port)
        }
    }

    async fn next_peer(rx: &mut mpsc::Receiver<SocketAddr>) -> SocketAddr {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a peer within 10 s")
            .expect("service still running")
    }

    #[tokio::test]
    async fn two_services_on_one_host_find_each_other_and_not_themselves() {
        let config = loopback_config();
        let hash = InfoHash([0x5a; 20]);
        let a = Lsd::start(&config, 1111).unwrap();
        let (_reg_a, mut found_a) = a.register(hash);
        // B starts after A's first announce went out: A learns of B from B's announce.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let b = Lsd::start(&config, 2222).unwrap();
        let (_reg_b, _found_b) = b.register(hash);
        assert_eq!(
            next_peer(&mut found_a).await,
            "127.0.0.1:2222".parse().unwrap()
        );
        // A's own announces (cookie) never come back as peers.
        let other = tokio::time::timeout(Duration::from_millis(300), found_a.recv()).await;
        assert!(other.is_err(), "unexpected peer: {other:?}");
    }

    #[tokio::test]
    async fn malformed_datagrams_are_ignored() {
        let config = loopback_config();
        let port = config.group_v4.unwrap().port();
        let hash = InfoHash([0x33; 20]);
        let lsd = Lsd::start(&config, 1111).unwrap();
        let (_reg, mut found) = lsd.register(hash);
        let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let good = lsd::build("239.192.152.143:6771", 4242, &[hash], "someone-else");
        let hostile: Vec<Vec<u8>> = vec![
            Vec::new(),
            vec![0xff; 3000],
            b"BT-SEARCH * HTTP/1.1\r\nPort: 99999\r\nInfohash: 33\r\n\r\n".to_vec(),
            good.as_bytes()[..good.len() / 2].to_vec(),
            good.replace("Port: 4242", "Port: 0").into_bytes(),
            // Another torrent: not ours, so nothing is handed over.
            lsd::build("x", 5555, &[InfoHash([1; 20])], "c").into_bytes(),
        ];
        for datagram in &hostile {
            sender.send_to(datagram, target).await.unwrap();
        }
        sender.send_to(good.as_bytes(), target).await.unwrap();
        assert_eq!(
            next_peer(&mut found).await,
            "127.0.0.1:4242".parse().unwrap()
        );
    }

    #[tokio::test]
    async fn a_magnet_whose_metadata_says_private_leaves_lsd() {
        let config = loopback_config();
        let hash = InfoHash([0x44; 20]);
        let lsd = Lsd::start(&config, 1111).unwrap();
        let (link, mut driver) = super::super::test_link::magnet(hash);
        let task = tokio::spawn(run(lsd.clone(), link));
        // Registered (so announced) while the metadata is unknown, and peers that announce
        // the torrent reach the driver.
        let registered = |lsd: &Lsd| lsd.shared.lock().contains_key(&hash);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !registered(&lsd) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(registered(&lsd), "the magnet never registered with LSD");
        let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = SocketAddr::from((Ipv4Addr::LOCALHOST, config.group_v4.unwrap().port()));
        let announce = lsd::build("239.192.152.143:6771", 4242, &[hash], "other");
        sender.send_to(announce.as_bytes(), target).await.unwrap();
        let event = tokio::time::timeout(Duration::from_secs(5), driver.events.recv()).await;
        assert!(
            matches!(event, Ok(Some(crate::event::DriverEvent::AddPeers { .. }))),
            "no peers from LSD before the metadata"
        );

        driver
            .metadata
            .send_replace(super::super::test_link::metadata(true));
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the LSD task ends within 5 s of private metadata")
            .unwrap();
        assert!(!registered(&lsd), "still announced after turning private");
    }
}
