//! uTP on tokio: one UDP socket, one task that owns it, and byte streams over it.
//!
//! The protocol is `shoal_utp::Endpoint`, a sans-IO state machine; this module is its
//! driver. [`UtpSocket::bind`] binds the UDP socket (the session binds it on the TCP
//! listener's port, as libtorrent does, so a peer's one advertised port reaches both
//! transports) and spawns the task (`driver.rs`) that feeds the endpoint every datagram,
//! sends what it asks, fires its timer, and wakes the streams its events name.
//! [`UtpStream`] (`stream.rs`) is `AsyncRead + AsyncWrite`, so the peer tasks' handshake,
//! encryption and message loops run over it as over a `TcpStream`.
//!
//! The endpoint sits behind one mutex shared by the task and the streams: a stream's read
//! or write is a short call into the endpoint under the lock, and a `Notify` asks the task
//! to drain what the call produced (datagrams to send). Holding the lock only for those
//! calls keeps it uncontended in practice: the task takes it once per batch of received
//! datagrams and once per drain.
//!
//! Datagrams that are not uTP go to whoever took them with [`UtpSocket::other_datagrams`]:
//! the session's DHT node, which shares this socket (and sends with
//! [`UtpSocket::send_other`]), so the port and NAT mapping other DHT nodes see are those
//! of our uTP listener, and hole punching through the DHT reaches it. Without a taker they
//! are dropped.

mod driver;
mod stream;

pub(crate) use stream::UtpStream;

use shoal_utp::{Config, Endpoint};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

/// Incoming connections accepted but not yet taken by the listener; more are refused.
const ACCEPT_QUEUE: usize = 64;
/// Largest datagram sent to a peer known to take it (another shoal on loopback, where the
/// MTU is 64 KiB): a tenth of the datagrams, and of the system calls, per GiB.
pub(crate) const LOOPBACK_PACKET_SIZE: usize = 65_000;

/// The state the task and every stream share.
struct Shared {
    endpoint: Endpoint,
    conns: HashMap<shoal_utp::ConnectionHandle, ConnWaiters>,
    /// Where accepted connections go (closed once the listener is gone).
    incoming: mpsc::Sender<(UtpStream, SocketAddr)>,
}

/// What a connection's users wait for.
#[derive(Default)]
struct ConnWaiters {
    read: Option<Waker>,
    write: Option<Waker>,
    /// An outgoing connection's dialer, until `Connected` or `Closed`.
    connected: Option<oneshot::Sender<Result<(), shoal_utp::CloseReason>>>,
    /// Set by `Closed`: reads end, writes fail.
    closed: Option<shoal_utp::CloseReason>,
    /// The stream was dropped; the entry goes at `Closed`.
    dropped: bool,
}

impl ConnWaiters {
    fn wake_all(&mut self) {
        if let Some(w) = self.read.take() {
            w.wake();
        }
        if let Some(w) = self.write.take() {
            w.wake();
        }
    }
}

/// Datagrams of another protocol queued for their taker; beyond this they are dropped (the
/// DHT retries what it misses).
const OTHER_QUEUE: usize = 1024;

/// A datagram of another protocol and who sent it.
pub(crate) type OtherDatagram = (SocketAddr, bytes::Bytes);

/// The part of the socket the streams hold.
struct Inner {
    shared: Mutex<Shared>,
    /// Wakes the task to drain the endpoint after a stream's call.
    drain: Notify,
    /// Where datagrams that are not uTP go, once someone takes them.
    other: Mutex<Option<mpsc::Sender<OtherDatagram>>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A bound uTP socket. Dropping it stops its task and with it every connection.
pub(crate) struct UtpSocket {
    inner: Arc<Inner>,
    socket: Arc<UdpSocket>,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl UtpSocket {
    /// Binds `addr` and starts the task. Incoming connections arrive on the receiver.
    pub(crate) async fn bind(
        addr: SocketAddr,
        seed: u64,
    ) -> io::Result<(UtpSocket, mpsc::Receiver<(UtpStream, SocketAddr)>)> {
        let socket = Arc::new(crate::dual_stack::udp_socket(addr)?);
        // Bursts of a fast sender must not overflow the kernel's queue before the task
        // reads them; the kernel caps this at net.core.rmem_max.
        let sock = socket2::SockRef::from(&socket);
        let _ = sock.set_recv_buffer_size(4 << 20);
        let _ = sock.set_send_buffer_size(4 << 20);
        let local_addr = socket.local_addr()?;
        let config = endpoint_config(seed);
        let (incoming_tx, incoming_rx) = mpsc::channel(ACCEPT_QUEUE);
        let inner = Arc::new(Inner {
            shared: Mutex::new(Shared {
                endpoint: Endpoint::new(config, Instant::now()),
                conns: HashMap::new(),
                incoming: incoming_tx,
            }),
            drain: Notify::new(),
            other: Mutex::new(None),
        });
        let task = tokio::spawn(driver::run(socket.clone(), inner.clone()));
        Ok((
            UtpSocket {
                inner,
                socket,
                local_addr,
                task,
            },
            incoming_rx,
        ))
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// From now on, hands every datagram that is not uTP to the returned receiver (a
    /// second call replaces the first taker).
    pub(crate) fn other_datagrams(&self) -> mpsc::Receiver<OtherDatagram> {
        let (tx, rx) = mpsc::channel(OTHER_QUEUE);
        *self
            .inner
            .other
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(tx);
        rx
    }

    /// Sends a datagram of another protocol from this socket.
    pub(crate) async fn send_other(&self, to: SocketAddr, data: &[u8]) -> io::Result<usize> {
        let to = crate::dual_stack::for_socket(to, self.local_addr);
        self.socket.send_to(data, to).await
    }

    /// Opens a connection; fails if the peer does not answer within `within` (or resets).
    pub(crate) async fn connect(
        &self,
        addr: SocketAddr,
        within: Duration,
    ) -> io::Result<UtpStream> {
        let (tx, rx) = oneshot::channel();
        let handle = {
            let mut shared = self.inner.lock();
            let handle = shared
                .endpoint
                .connect(Instant::now(), addr)
                .map_err(|e| io::Error::other(e.to_string()))?;
            shared.conns.insert(
                handle,
                ConnWaiters {
                    connected: Some(tx),
                    ..ConnWaiters::default()
                },
            );
            handle
        };
        self.inner.drain.notify_one();
        // Dropped before it connects (time-out or cancelled), the stream resets the
        // half-open connection.
        let stream = UtpStream::new(self.inner.clone(), handle);
        match tokio::time::timeout(within, rx).await {
            Ok(Ok(Ok(()))) => Ok(stream),
            Ok(Ok(Err(reason))) => Err(close_error(reason)),
            Ok(Err(_)) => Err(io::Error::other("uTP socket stopped")),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "uTP connect timed out",
            )),
        }
    }
}

impl Drop for UtpSocket {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The endpoint's settings for a session: Ethernet-safe packets (some peers are
/// libtorrent, which drops datagrams over 1,500 bytes), and buffers large enough for a
/// fast path's window. Connections start at the largest size, so the path-MTU search has
/// nothing to probe, as it should not: this runtime does not set the don't-fragment bit,
/// and fragmentation covers a path with a smaller MTU. It searches only up to a ceiling
/// raised for a shoal peer on loopback (`UtpStream::raise_packet_size`), where nothing
/// fragments and a lost probe means the peer does not take the size.
fn endpoint_config(seed: u64) -> Config {
    Config {
        seed,
        mtu_probing: true,
        initial_packet_size: Config::default().max_packet_size,
        send_buffer_size: 2 << 20,
        recv_buffer_size: 2 << 20,
        ..Config::default()
    }
}

fn close_error(reason: shoal_utp::CloseReason) -> io::Error {
    let kind = match reason {
        shoal_utp::CloseReason::Reset => io::ErrorKind::ConnectionReset,
        shoal_utp::CloseReason::TimedOut => io::ErrorKind::TimedOut,
        shoal_utp::CloseReason::Finished | shoal_utp::CloseReason::NotAccepted => {
            io::ErrorKind::ConnectionAborted
        }
    };
    io::Error::new(kind, format!("uTP: {reason}"))
}

#[cfg(test)]
mod tests;
