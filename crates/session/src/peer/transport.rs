//! The transports under a peer connection: a TCP stream or a uTP stream, and how an
//! outgoing connection picks one.
//!
//! Dialing with both allowed races them the way browsers race IPv6 and IPv4 ("happy
//! eyeballs"): the preferred transport alone for [`HEAD_START`] (or until it fails), then
//! the other beside it; the first to connect wins and the other is dropped before a byte
//! of BitTorrent is sent on it, so a peer never holds two connections from us. Internet
//! peers get uTP first, as libtorrent gives them, so that uploads yield to the user's
//! other traffic (LEDBAT); loopback and LAN peers get TCP first ([`is_local`]). A peer that
//! does not speak the preferred transport costs the head start at most (a refusal, at
//! once), not the seconds of SYN retries a strict order would wait; one whose handshakes
//! fail on the transport that connected is dialed once more on the other (see
//! `super::dial`).

use crate::utp::{UtpSocket, UtpStream};
use crate::Transports;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How long the preferred transport has to connect before the other is tried beside it.
/// A SYN is answered within a round trip; this is several round trips of a long path.
pub(crate) const HEAD_START: Duration = Duration::from_millis(700);

/// Which transport a connection runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Utp,
}

/// A connected stream of either transport.
pub(crate) enum PeerStream {
    Tcp(TcpStream),
    Utp(UtpStream),
}

impl PeerStream {
    pub(crate) fn transport(&self) -> Transport {
        match self {
            PeerStream::Tcp(_) => Transport::Tcp,
            PeerStream::Utp(_) => Transport::Utp,
        }
    }
}

/// Opens a connection to `addr` over the transports allowed (`prefer`, if given, alone:
/// a second dial to a peer that already answered on it). Each attempt is bounded by
/// `within`.
pub(crate) async fn connect(
    addr: SocketAddr,
    allowed: Transports,
    utp: Option<&Arc<UtpSocket>>,
    prefer: Option<Transport>,
    within: Duration,
) -> io::Result<PeerStream> {
    let utp = utp.filter(|_| allowed.utp());
    let tcp = allowed.tcp();
    match (prefer, utp, tcp) {
        (Some(Transport::Tcp), _, true) | (None, None, true) => connect_tcp(addr, within).await,
        (Some(Transport::Utp), Some(socket), _) | (None, Some(socket), false) => {
            connect_utp(addr, socket, within).await
        }
        (None, Some(socket), true) if is_local(addr) => {
            race(connect_tcp(addr, within), connect_utp(addr, socket, within)).await
        }
        (None, Some(socket), true) => {
            race(connect_utp(addr, socket, within), connect_tcp(addr, within)).await
        }
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no transport allowed for this peer",
        )),
    }
}

/// The transport to try when the handshakes over `tried` failed, if another is allowed.
pub(crate) fn other(
    tried: Transport,
    allowed: Transports,
    utp: Option<&Arc<UtpSocket>>,
) -> Option<Transport> {
    match tried {
        Transport::Tcp if allowed.utp() && utp.is_some() => Some(Transport::Utp),
        Transport::Utp if allowed.tcp() => Some(Transport::Tcp),
        _ => None,
    }
}

/// Loopback, private (RFC 1918, unique local) and link-local peers: on such paths the
/// bandwidth is not the user's internet uplink, so uTP's reason to exist (yielding to
/// the user's other traffic) does not apply, and TCP, carried by the kernel, is faster
/// (on loopback several times so). They get TCP first; everyone else uTP first.
pub(crate) fn is_local(addr: SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        IpAddr::V6(ip) => {
            let first = ip.segments()[0];
            ip.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

async fn connect_tcp(addr: SocketAddr, within: Duration) -> io::Result<PeerStream> {
    match tokio::time::timeout(within, TcpStream::connect(addr)).await {
        Ok(stream) => Ok(PeerStream::Tcp(stream?)),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TCP connect timed out",
        )),
    }
}

async fn connect_utp(
    addr: SocketAddr,
    socket: &Arc<UtpSocket>,
    within: Duration,
) -> io::Result<PeerStream> {
    Ok(PeerStream::Utp(socket.connect(addr, within).await?))
}

/// `first` alone for its head start (or until it fails), then `second` beside it; the
/// first connected wins and the other is dropped unconnected or before any byte is sent.
async fn race(
    first: impl Future<Output = io::Result<PeerStream>>,
    second: impl Future<Output = io::Result<PeerStream>>,
) -> io::Result<PeerStream> {
    tokio::pin!(first);
    let first_failed = match tokio::time::timeout(HEAD_START, &mut first).await {
        Ok(Ok(stream)) => return Ok(stream),
        Ok(Err(_)) => true,
        Err(_) => false,
    };
    if first_failed {
        // Refused or reset at once (nothing listens there on that transport).
        return second.await;
    }
    tokio::pin!(second);
    tokio::select! {
        done = &mut first => match done {
            Ok(stream) => Ok(stream),
            Err(_) => second.await,
        },
        done = &mut second => match done {
            Ok(stream) => Ok(stream),
            Err(second_error) => first.await.map_err(|_| second_error),
        },
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            PeerStream::Utp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PeerStream::Tcp(s) => Pin::new(s).poll_write(cx, data),
            PeerStream::Utp(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PeerStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            PeerStream::Utp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            PeerStream::Utp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            PeerStream::Utp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
