//! One task per peer connection: the handshakes in either direction (Message Stream
//! Encryption first when the session's [`Encryption`] mode asks for it, then BEP 3's), then
//! a reader and a writer running side by side until either ends. The task reports to its
//! torrent's driver and never touches engine state.
//!
//! Transports: everything after the dial or accept works over a [`Link`] on any
//! `AsyncRead + AsyncWrite` stream, and [`run_halves`] over any read and write halves, with
//! RC4 as an optional layer inside the reader and writer (in place, no extra copy for
//! plaintext). TCP adds its socket options and splits the stream in [`run_connected`]; uTP
//! will do the same with its own stream type and reuse the rest.

mod encryption;
mod handshake;
mod link;
mod reader;
mod transport;
mod writer;

pub(crate) use encryption::{policy, respond};
pub(crate) use handshake::read_handshake;
pub(crate) use link::Link;
pub(crate) use transport::{PeerStream, Transport};

use crate::config::{Encryption, Transports};
use crate::event::{BlocksSent, DriverEvent, Outgoing};
use crate::utp::UtpSocket;
use shoal_engine::PeerKey;
use shoal_mse::{Ciphers, MseError};
use shoal_wire::{Handshake, WireError};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tracing::debug;

/// Most bytes the kernel holds unsent for one connection (`TCP_NOTSENT_LOWAT`). Without it
/// the send buffer grows to hold hundreds of milliseconds of blocks on a slow uplink, first
/// come first served; with it, blocks wait in the engine, which sends the rarest pieces
/// first, and a piece only a few peers have reaches the others in a fraction of that time.
/// A quarter of a millisecond at loopback speed, so throughput there is not touched.
const UNSENT_LIMIT: u32 = 128 * 1024;

/// Why a connection ended; only logged, since the engine just needs to know that it did.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PeerError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("protocol error: {0}")]
    Wire(#[from] WireError),
    #[error("{0}")]
    Mse(#[from] MseError),
    #[error("timed out")]
    Timeout,
    #[error("handshake names another torrent")]
    WrongTorrent,
    #[error("connection closed by peer")]
    Eof,
    #[error("torrent is gone")]
    DriverGone,
}

impl PeerError {
    /// Whether a failed encrypted dial may be a peer that only speaks plaintext: it hung up,
    /// reset, went quiet, or answered something that is not MSE.
    fn may_be_plaintext_peer(&self) -> bool {
        match self {
            PeerError::Io(_) | PeerError::Eof | PeerError::Timeout => true,
            PeerError::Mse(e) => matches!(
                e,
                MseError::Truncated(_) | MseError::SyncNotFound(_) | MseError::Garbage(_)
            ),
            _ => false,
        }
    }
}

/// Everything a peer task needs from its driver.
pub(crate) struct PeerSetup {
    pub key: PeerKey,
    pub addr: SocketAddr,
    /// Our side of the handshake.
    pub ours: Handshake,
    pub events: mpsc::Sender<DriverEvent>,
    /// Where the writer reports blocks sent (see `BlocksSent`).
    pub sent: mpsc::UnboundedSender<BlocksSent>,
    pub outgoing: mpsc::Receiver<Outgoing>,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub encryption: Encryption,
    /// The transports allowed, and the session's uTP socket when uTP is one of them.
    pub transports: Transports,
    pub utp: Option<Arc<UtpSocket>>,
    /// A hole-punch dial (BEP 55): uTP only, and the log says so once connected.
    pub holepunch: bool,
}

/// Dials, exchanges handshakes (ours first), then runs the connection.
pub(crate) async fn run_outbound(mut setup: PeerSetup) {
    let (link, theirs) = match dial(&setup).await {
        Ok(ok) => ok,
        Err(e) => {
            debug!("dial failed: {e}");
            let event = DriverEvent::ConnectFailed {
                key: setup.key,
                addr: setup.addr,
            };
            let _ = setup.events.send(event).await;
            return;
        }
    };
    run_connected(link, theirs, &mut setup).await;
}

/// A connection with both handshakes done: over the transport that connects first (see
/// `transport.rs`), in the session's encryption mode (`dial_over`); if the handshakes
/// fail there in a way that may mean the transport, once more over the other one.
async fn dial(setup: &PeerSetup) -> Result<(Link<PeerStream>, Handshake), PeerError> {
    let stream = connect(setup, None).await?;
    let transport = stream.transport();
    let error = match dial_over(setup, stream).await {
        Ok(done) => return Ok(done),
        Err(e) => e,
    };
    // Something listens on this transport but does not speak to us there (a client with
    // uTP or TCP turned off may still accept and hang up): the other transport, once.
    let other = transport::other(transport, setup.transports, setup.utp.as_ref());
    match other {
        Some(other) if error.may_be_plaintext_peer() => {
            debug!("handshakes over {transport:?} failed ({error}); dialing over {other:?}");
            let stream = connect(setup, Some(other)).await?;
            dial_over(setup, stream).await
        }
        _ => Err(error),
    }
}

/// The handshakes over a connected stream: MSE first unless encryption is off, and in
/// `Prefer` a second, plaintext dial over the same transport if the peer dropped the
/// encrypted one (libtorrent does the same).
async fn dial_over(
    setup: &PeerSetup,
    stream: PeerStream,
) -> Result<(Link<PeerStream>, Handshake), PeerError> {
    let transport = stream.transport();
    let Some(provide) = encryption::offer(setup.encryption) else {
        return plaintext_handshakes(setup, stream).await;
    };
    let encrypted = async {
        let mut stream = stream;
        let ia = setup.ours.encode();
        let skey = setup.ours.info_hash.0;
        let outcome = encryption::initiate(&mut stream, skey, provide, &ia).await?;
        let mut link = Link::after_mse(stream, outcome);
        let theirs = handshake::read_answer(&mut link, &setup.ours).await?;
        Ok::<_, PeerError>((link, theirs))
    };
    let error = match timeout(setup.handshake_timeout, encrypted).await {
        Ok(Ok(done)) => return Ok(done),
        Ok(Err(e)) => e,
        Err(_) => PeerError::Timeout,
    };
    if setup.encryption == Encryption::Prefer && error.may_be_plaintext_peer() {
        debug!("encrypted handshake failed ({error}); dialing again in plaintext");
        // Over the transport that answered: the peer is there.
        let stream = connect(setup, Some(transport)).await?;
        return plaintext_handshakes(setup, stream).await;
    }
    if setup.encryption == Encryption::Require {
        debug!(
            "encrypted handshake failed ({error}); encryption is required, so no plaintext retry"
        );
    }
    Err(error)
}

async fn connect(setup: &PeerSetup, prefer: Option<Transport>) -> Result<PeerStream, PeerError> {
    let utp = setup.utp.as_ref();
    let stream = transport::connect(
        setup.addr,
        setup.transports,
        utp,
        prefer,
        setup.connect_timeout,
    )
    .await?;
    Ok(stream)
}

/// BEP 3's handshakes, ours first, in plaintext over a connected stream.
async fn plaintext_handshakes(
    setup: &PeerSetup,
    stream: PeerStream,
) -> Result<(Link<PeerStream>, Handshake), PeerError> {
    let mut link = Link::plain(stream);
    let exchange = async {
        handshake::write_handshake(&mut link, &setup.ours).await?;
        handshake::read_answer(&mut link, &setup.ours).await
    };
    let theirs = timeout(setup.handshake_timeout, exchange)
        .await
        .map_err(|_| PeerError::Timeout)??;
    Ok((link, theirs))
}

/// Replies to a handshake the listener already read (after MSE, if the peer encrypted),
/// then runs the connection.
pub(crate) async fn run_inbound(
    mut setup: PeerSetup,
    mut link: Link<PeerStream>,
    theirs: Handshake,
) {
    let replied = timeout(
        setup.handshake_timeout,
        handshake::write_handshake(&mut link, &setup.ours),
    )
    .await;
    match replied {
        Ok(Ok(())) => run_connected(link, theirs, &mut setup).await,
        Ok(Err(e)) => {
            debug!("handshake reply failed: {e}");
            let _ = setup
                .events
                .send(DriverEvent::PeerClosed { key: setup.key })
                .await;
        }
        Err(_) => {
            debug!("handshake reply timed out");
            let _ = setup
                .events
                .send(DriverEvent::PeerClosed { key: setup.key })
                .await;
        }
    }
}

/// Each transport's part: TCP's socket options and its lock-free split, uTP's shared
/// split; then the halves run alike.
async fn run_connected(link: Link<PeerStream>, theirs: Handshake, setup: &mut PeerSetup) {
    let Link {
        stream,
        pending,
        ciphers,
    } = link;
    match stream {
        PeerStream::Tcp(stream) => {
            // Small messages (requests, haves) must not wait for Nagle's timer.
            let _ = stream.set_nodelay(true);
            // Keep what the kernel holds unsent short, so that the engine's queue, which
            // serves the rarest pieces first, is where blocks wait (see `UNSENT_LIMIT`).
            let _ = socket2::SockRef::from(&stream).set_tcp_notsent_lowat(UNSENT_LIMIT);
            let (rd, wr) = stream.into_split();
            run_halves(rd, wr, pending, ciphers, Transport::Tcp, theirs, setup).await;
        }
        PeerStream::Utp(stream) => {
            if setup.addr.ip().is_loopback() && theirs.peer_id.0.starts_with(b"-SH") {
                // Another shoal on this machine: it reads datagrams of any size.
                stream.raise_packet_size();
            }
            let (rd, wr) = tokio::io::split(stream);
            run_halves(rd, wr, pending, ciphers, Transport::Utp, theirs, setup).await;
        }
    }
}

/// Any transport's part: reports the peer, then reads and writes until either side ends.
/// `pending` is stream data the handshakes already read; `ciphers` is `Some` for RC4.
pub(crate) async fn run_halves<R, W>(
    rd: R,
    wr: W,
    pending: bytes::BytesMut,
    ciphers: Option<Ciphers>,
    transport: Transport,
    theirs: Handshake,
    setup: &mut PeerSetup,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let key = setup.key;
    let encrypted = ciphers.is_some();
    let connected = DriverEvent::PeerConnected {
        key,
        addr: setup.addr,
        peer_id: theirs.peer_id,
        reserved: theirs.reserved,
        encrypted,
        transport,
    };
    if setup.events.send(connected).await.is_err() {
        return;
    }
    debug!(peer_id = ?theirs.peer_id, encrypted, ?transport, "connected");
    if setup.holepunch {
        tracing::info!(peer_id = ?theirs.peer_id, "connected through a hole punch (BEP 55)");
    }
    let (recv, send) = match ciphers {
        Some(c) => (Some(c.recv), Some(c.send)),
        None => (None, None),
    };
    let ended = tokio::select! {
        r = reader::run(rd, recv, pending, key, &setup.events) => r,
        r = writer::run(wr, send, key, &mut setup.outgoing, &setup.events, &setup.sent) => r,
    };
    match ended {
        Ok(()) => debug!("closed"),
        Err(e) => debug!("closed: {e}"),
    }
    let _ = setup.events.send(DriverEvent::PeerClosed { key }).await;
}
