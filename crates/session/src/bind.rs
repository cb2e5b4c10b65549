//! The session's listening sockets: a TCP listener and a uTP (UDP) socket on one port
//! number, as libtorrent binds them, so that the single port a peer learns of us (from a
//! tracker, the DHT, PEX or a magnet link's hint) reaches both transports.

use crate::config::Transports;
use crate::dual_stack;
use crate::listener::Accepting;
use crate::utp::UtpSocket;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tracing::info;

/// With port 0, how many ports to try for one whose TCP and UDP halves are both free.
const PORT_ATTEMPTS: usize = 16;

/// What the session listens with.
pub(crate) struct Bound {
    pub accepting: Accepting,
    pub utp: Option<Arc<UtpSocket>>,
    pub addr: SocketAddr,
}

/// Binds the transports allowed on `listen` (port 0: an unused port, the same for both).
/// `[::]` listens dual-stack, or on `0.0.0.0` where this host has no IPv6.
pub(crate) async fn bind(
    listen: SocketAddr,
    transports: Transports,
    seed: u64,
) -> io::Result<Bound> {
    match bind_on(listen, transports, seed).await {
        Err(e) if dual_stack::is_dual_stack(listen) && dual_stack::no_ipv6(&e) => {
            info!("no IPv6 on this host ({e}): listening on IPv4 only");
            let v4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, listen.port()));
            bind_on(v4, transports, seed).await
        }
        bound => bound,
    }
}

async fn bind_on(listen: SocketAddr, transports: Transports, seed: u64) -> io::Result<Bound> {
    if !transports.utp() {
        let tcp = dual_stack::tcp_listener(listen)?;
        let addr = tcp.local_addr()?;
        let accepting = Accepting {
            tcp: Some(tcp),
            utp: None,
        };
        return Ok(Bound {
            accepting,
            utp: None,
            addr,
        });
    }
    if !transports.tcp() {
        let (utp, incoming) = UtpSocket::bind(listen, seed).await?;
        let addr = utp.local_addr();
        let accepting = Accepting {
            tcp: None,
            utp: Some(incoming),
        };
        return Ok(Bound {
            accepting,
            utp: Some(Arc::new(utp)),
            addr,
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let tcp = dual_stack::tcp_listener(listen)?;
        let addr = tcp.local_addr()?;
        match UtpSocket::bind(addr, seed).await {
            Ok((utp, incoming)) => {
                let accepting = Accepting {
                    tcp: Some(tcp),
                    utp: Some(incoming),
                };
                return Ok(Bound {
                    accepting,
                    utp: Some(Arc::new(utp)),
                    addr,
                });
            }
            // The port the system picked for TCP is taken on UDP: pick again.
            Err(e)
                if e.kind() == io::ErrorKind::AddrInUse
                    && listen.port() == 0
                    && attempt < PORT_ATTEMPTS => {}
            Err(e) => return Err(e),
        }
    }
}
