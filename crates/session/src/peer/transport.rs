//! The transports under a peer connection: a TCP stream or a uTP stream, and how an
//! outgoing connection picks one.
//!
//! Dialing with both allowed races them the way browsers race IPv6 and IPv4 ("happy
//! eyeballs"): uTP first, as libtorrent prefers it; TCP only if uTP has not connected
//! within [`UTP_HEAD_START`]; the first to connect wins and the other is dropped before
//! a byte of BitTorrent is sent on it, so a peer never holds two connections from us. A
//! peer that does not speak uTP (aria2, or a firewall that drops UDP) costs the head start
//! and no more, instead of the seconds of SYN retries a strict uTP-then-TCP order would
//! wait.

use crate::utp::{UtpSocket, UtpStream};
use crate::Transports;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How long uTP has to connect before TCP is tried beside it. A uTP SYN is answered within
/// a round trip; this is several round trips of a long path.
pub(crate) const UTP_HEAD_START: Duration = Duration::from_millis(700);

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
            Ok(PeerStream::Utp(socket.connect(addr, within).await?))
        }
        (None, Some(socket), true) => race(addr, socket, within).await,
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no transport allowed for this peer",
        )),
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

/// uTP with a head start, then TCP beside it; the first connected wins.
async fn race(addr: SocketAddr, utp: &Arc<UtpSocket>, within: Duration) -> io::Result<PeerStream> {
    let utp_dial = utp.connect(addr, within);
    tokio::pin!(utp_dial);
    // uTP alone for its head start.
    let utp_error = match tokio::time::timeout(UTP_HEAD_START, &mut utp_dial).await {
        Ok(Ok(stream)) => return Ok(PeerStream::Utp(stream)),
        Ok(Err(e)) => Some(e),
        Err(_) => None,
    };
    let tcp_dial = connect_tcp(addr, within);
    tokio::pin!(tcp_dial);
    if utp_error.is_none() {
        // Both in flight: the first success wins; a failure waits for the other.
        tokio::select! {
            utp = &mut utp_dial => match utp {
                Ok(stream) => return Ok(PeerStream::Utp(stream)),
                Err(_) => return tcp_dial.await,
            },
            tcp = &mut tcp_dial => match tcp {
                Ok(stream) => return Ok(stream),
                Err(tcp_error) => {
                    return utp_dial.await.map(PeerStream::Utp).map_err(|_| tcp_error)
                }
            },
        }
    }
    // uTP failed outright (reset: nothing listens on UDP there): TCP alone.
    tcp_dial.await
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
