//! One task per peer connection: the handshake in either direction, then a reader and a
//! writer running side by side until either ends. The task reports to its torrent's driver
//! and never touches engine state.

mod handshake;
mod reader;
mod writer;

pub(crate) use handshake::read_handshake;

use crate::event::{BlocksSent, DriverEvent, Outgoing};
use shoal_engine::PeerKey;
use shoal_wire::{Handshake, WireError};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
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
    #[error("timed out")]
    Timeout,
    #[error("handshake names another torrent")]
    WrongTorrent,
    #[error("connection closed by peer")]
    Eof,
    #[error("torrent is gone")]
    DriverGone,
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
}

/// Dials, exchanges handshakes (ours first), then runs the connection.
pub(crate) async fn run_outbound(mut setup: PeerSetup) {
    let dialed = async {
        let mut stream = timeout(setup.connect_timeout, TcpStream::connect(setup.addr))
            .await
            .map_err(|_| PeerError::Timeout)??;
        let theirs = timeout(
            setup.handshake_timeout,
            handshake::exchange_outbound(&mut stream, &setup.ours),
        )
        .await
        .map_err(|_| PeerError::Timeout)??;
        Ok::<_, PeerError>((stream, theirs))
    };
    let (stream, theirs) = match dialed.await {
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
    run_connected(stream, theirs, &mut setup).await;
}

/// Replies to a handshake the listener already read, then runs the connection.
pub(crate) async fn run_inbound(mut setup: PeerSetup, mut stream: TcpStream, theirs: Handshake) {
    let replied = timeout(
        setup.handshake_timeout,
        handshake::write_handshake(&mut stream, &setup.ours),
    )
    .await;
    match replied {
        Ok(Ok(())) => run_connected(stream, theirs, &mut setup).await,
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

async fn run_connected(stream: TcpStream, theirs: Handshake, setup: &mut PeerSetup) {
    let key = setup.key;
    // Small messages (requests, haves) must not wait for Nagle's timer.
    let _ = stream.set_nodelay(true);
    // Keep what the kernel holds unsent short, so that the engine's queue, which serves the
    // rarest pieces first, is where blocks wait (see `UNSENT_LIMIT`).
    let _ = socket2::SockRef::from(&stream).set_tcp_notsent_lowat(UNSENT_LIMIT);
    let connected = DriverEvent::PeerConnected {
        key,
        addr: setup.addr,
        peer_id: theirs.peer_id,
        reserved: theirs.reserved,
    };
    if setup.events.send(connected).await.is_err() {
        return;
    }
    debug!(peer_id = ?theirs.peer_id, "connected");
    let (rd, wr) = stream.into_split();
    let ended = tokio::select! {
        r = reader::run(rd, key, &setup.events) => r,
        r = writer::run(wr, key, &mut setup.outgoing, &setup.events, &setup.sent) => r,
    };
    match ended {
        Ok(()) => debug!("closed"),
        Err(e) => debug!("closed: {e}"),
    }
    let _ = setup.events.send(DriverEvent::PeerClosed { key }).await;
}
