//! One UDP tracker (BEP 15) over a tokio socket: drives a [`UdpSession`] (packets, retransmit
//! timing, connection-id reuse) and keeps its socket between announces.

use crate::dual_stack::Family;
use shoal_tracker::udp::{Patience, UdpConfig, UdpOutcome, UdpRequest, UdpSession};
use shoal_tracker::url::TrackerUrl;
use shoal_tracker::TrackerError;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::{sleep_until, timeout, Instant};

/// Largest datagram read; longer ones are cut, which only drops peers beyond the cap.
const MAX_DATAGRAM: usize = 20 * 1024;
/// Longest wait for a host name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a UDP exchange failed; one line.
#[derive(Debug, thiserror::Error)]
pub enum UdpError {
    /// The tracker's host name did not resolve to an address.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host name from the URL.
        host: String,
        /// What the resolver said, or why no address was usable.
        reason: String,
    },
    /// The UDP socket could not be opened, or sending or receiving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The tracker refused, sent something unusable or never answered.
    #[error("{0}")]
    Tracker(#[from] TrackerError),
}

/// A UDP tracker with its socket (connected to the tracker) and protocol state.
pub(crate) struct UdpTracker {
    socket: UdpSocket,
    session: UdpSession,
}

impl UdpTracker {
    /// Resolves the tracker and opens a socket towards it (towards its first address of
    /// `family`, when given).
    pub(super) async fn open(
        url: &TrackerUrl,
        config: UdpConfig,
        seed: u64,
        family: Option<Family>,
    ) -> Result<UdpTracker, UdpError> {
        let resolve_error = |reason: String| UdpError::Resolve {
            host: url.host.clone(),
            reason,
        };
        let addr: SocketAddr = timeout(
            RESOLVE_TIMEOUT,
            tokio::net::lookup_host((url.host.as_str(), url.port)),
        )
        .await
        .map_err(|_| resolve_error("timed out".into()))?
        .map_err(|e| resolve_error(e.to_string()))?
        .find(|&addr| family.is_none_or(|f| Family::of(addr) == f))
        .ok_or_else(|| match family {
            Some(f) => resolve_error(format!("no {} address", f.name())),
            None => resolve_error("no address".into()),
        })?;
        let local: SocketAddr = if addr.is_ipv6() {
            "[::]:0".parse().expect("literal")
        } else {
            "0.0.0.0:0".parse().expect("literal")
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        Ok(UdpTracker {
            socket,
            session: UdpSession::new(config, addr.is_ipv6(), seed),
        })
    }

    /// Runs one request to its end: an answer, an error, or no answer after the
    /// retransmissions `patience` allows.
    pub(super) async fn request(
        &mut self,
        request: UdpRequest,
        patience: Patience,
    ) -> Result<UdpOutcome, UdpError> {
        self.session
            .start(Instant::now().into_std(), request, patience);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            while let Some(packet) = self.session.poll_transmit() {
                self.socket.send(&packet).await?;
            }
            let Some(deadline) = self.session.poll_timeout() else {
                // Not reached: a started request waits for an answer or a timeout.
                return Err(TrackerError::Timeout { attempts: 0 }.into());
            };
            tokio::select! {
                received = self.socket.recv(&mut buf) => {
                    // An ICMP "port unreachable" shows up here as an error: nobody listens.
                    let n = received?;
                    if let Some(outcome) = self.session.handle_datagram(Instant::now().into_std(), &buf[..n]) {
                        return Ok(outcome);
                    }
                }
                _ = sleep_until(Instant::from_std(deadline)) => {
                    if let Some(outcome) = self.session.handle_timeout(Instant::now().into_std()) {
                        return Ok(outcome);
                    }
                }
            }
        }
    }
}
