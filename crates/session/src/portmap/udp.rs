//! PCP (RFC 6887, MAP) and NAT-PMP (RFC 6886) on the gateway's UDP port 5351, from one
//! socket connected to it (datagrams from anywhere else are not delivered to it).
//!
//! PCP goes first when allowed. A version-0 or UNSUPP_VERSION answer, or silence for
//! [`PCP_SHARE`] of the attempt, hands over to NAT-PMP (when allowed), which first asks for
//! the external address and then maps. Each request is retransmitted after 250 ms,
//! doubling, until an answer or the deadline. Answers that do not parse, or answer
//! something else (another nonce, opcode or port), are logged at debug level and ignored.

use super::mapping::{Active, Client, Entry, Target};
use super::{PortMapProtocol, PortMapProtocols};
use shoal_portmap::lease::Lease;
use shoal_portmap::{natpmp, pcp, Transport, SERVER_PORT};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::{sleep_until, timeout_at, Instant};
use tracing::debug;

/// How much of the attempt PCP may use before NAT-PMP takes over, when both are allowed.
const PCP_SHARE: Duration = Duration::from_millis(1000);
/// Longest wait for one renewal or deletion.
const SINGLE_EXCHANGE: Duration = Duration::from_secs(2);

/// A gateway that granted mappings over PCP or NAT-PMP.
pub(super) struct UdpClient {
    socket: UdpSocket,
    protocol: PortMapProtocol,
    local_ip: Ipv4Addr,
    external_ip: IpAddr,
    lifetime: u32,
}

/// What a retransmitted request came to.
enum Asked<T> {
    Answer(T),
    /// The gateway answered with an error.
    Refused(String),
    /// Nothing usable before the deadline.
    Silent,
}

/// Maps `target`'s ports by PCP, else NAT-PMP, by `deadline`.
pub(super) async fn map(
    target: &Target,
    protocols: PortMapProtocols,
    deadline: Instant,
) -> Result<Active, String> {
    let socket = UdpSocket::bind((target.local_ip, 0))
        .await
        .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    socket
        .connect(SocketAddr::from((target.gateway, SERVER_PORT)))
        .await
        .map_err(|e| format!("cannot reach {}: {e}", target.gateway))?;
    let mut client = UdpClient {
        socket,
        protocol: PortMapProtocol::Pcp,
        local_ip: target.local_ip,
        external_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        lifetime: target.lifetime,
    };
    let mut why = Vec::new();
    if protocols.pcp {
        let pcp_deadline = if protocols.natpmp {
            deadline.min(Instant::now() + PCP_SHARE)
        } else {
            deadline
        };
        match client.map_all(target, pcp_deadline).await {
            Ok(entries) => return Ok(client.into_active(entries)),
            Err(e) => {
                debug!("PCP: {e}");
                why.push(format!("PCP: {e}"));
            }
        }
    }
    if protocols.natpmp {
        client.protocol = PortMapProtocol::NatPmp;
        match client.natpmp_external(deadline).await {
            Ok(ip) => {
                client.external_ip = IpAddr::V4(ip);
                match client.map_all(target, deadline).await {
                    Ok(entries) => return Ok(client.into_active(entries)),
                    Err(e) => why.push(format!("NAT-PMP: {e}")),
                }
            }
            Err(e) => why.push(format!("NAT-PMP: {e}")),
        }
    }
    Err(why.join("; "))
}

impl UdpClient {
    fn into_active(self, entries: Vec<Entry>) -> Active {
        Active {
            protocol: self.protocol,
            external_ip: self.external_ip,
            entries,
            client: Client::Udp(self),
        }
    }

    /// Maps every transport of `target`; the first failure ends it unless one is mapped.
    async fn map_all(&mut self, target: &Target, deadline: Instant) -> Result<Vec<Entry>, String> {
        let mut entries = Vec::new();
        for &transport in &target.transports {
            let nonce = new_nonce();
            let wanted = Wanted {
                transport,
                internal_port: target.port,
                external_port: target.port,
                lifetime: target.lifetime,
                nonce,
            };
            match self.request(&wanted, deadline).await {
                Ok(entry) => entries.push(entry),
                Err(e) if entries.is_empty() => return Err(e),
                Err(e) => debug!(protocol = %self.protocol, ?transport, "not mapped: {e}"),
            }
        }
        Ok(entries)
    }

    /// Renews `entry` (same nonce, same external port asked for).
    pub(super) async fn renew(&mut self, entry: &Entry) -> Result<Entry, String> {
        let wanted = Wanted {
            transport: entry.transport,
            internal_port: entry.internal_port,
            external_port: entry.external.port(),
            lifetime: self.lifetime,
            nonce: entry.nonce,
        };
        self.request(&wanted, Instant::now() + SINGLE_EXCHANGE)
            .await
    }

    /// Deletes `entry` (lifetime 0).
    pub(super) async fn delete(&mut self, entry: &Entry) -> Result<(), String> {
        let wanted = Wanted {
            transport: entry.transport,
            internal_port: entry.internal_port,
            external_port: 0,
            lifetime: 0,
            nonce: entry.nonce,
        };
        self.request(&wanted, Instant::now() + SINGLE_EXCHANGE)
            .await
            .map(drop)
    }

    /// One MAP (PCP) or map request (NAT-PMP), retransmitted until answered.
    async fn request(&self, wanted: &Wanted, deadline: Instant) -> Result<Entry, String> {
        let asked = match self.protocol {
            PortMapProtocol::Pcp => self.pcp_map(wanted, deadline).await,
            _ => self.natpmp_map(wanted, deadline).await,
        };
        match asked {
            Asked::Answer(entry) => Ok(entry),
            Asked::Refused(why) => Err(why),
            Asked::Silent => Err("no answer from the gateway".to_string()),
        }
    }

    async fn pcp_map(&self, wanted: &Wanted, deadline: Instant) -> Asked<Entry> {
        let request = pcp::MapRequest {
            nonce: wanted.nonce,
            transport: wanted.transport,
            internal_port: wanted.internal_port,
            client_ip: IpAddr::V4(self.local_ip),
            suggested_external_port: wanted.external_port,
            lifetime: wanted.lifetime,
        };
        ask(
            &self.socket,
            &request.encode(),
            deadline,
            |data| match pcp::Reply::decode(data) {
                Ok(pcp::Reply::Map(m)) if m.answers(&request) => {
                    Some(granted(wanted, m.lifetime, m.external_ip, m.external_port))
                }
                Ok(pcp::Reply::Map(_)) => {
                    debug!("PCP: an answer to another request, ignored");
                    None
                }
                Ok(pcp::Reply::NatPmpOnly) => {
                    Some(Err("the gateway does not speak PCP version 2".to_string()))
                }
                Err(pcp::DecodeError::Result(code)) => Some(Err(format!("gateway says: {code}"))),
                Err(e) => {
                    debug!("PCP: bad answer ignored: {e}");
                    None
                }
            },
        )
        .await
    }

    async fn natpmp_map(&self, wanted: &Wanted, deadline: Instant) -> Asked<Entry> {
        let request = natpmp::Request::Map {
            transport: wanted.transport,
            internal_port: wanted.internal_port,
            suggested_external_port: wanted.external_port,
            lifetime: wanted.lifetime,
        };
        let external_ip = self.external_ip;
        ask(
            &self.socket,
            &request.encode(),
            deadline,
            |data| match natpmp::Response::decode(data) {
                Ok(natpmp::Response::Map {
                    transport,
                    internal_port,
                    external_port,
                    lifetime,
                    ..
                }) if transport == wanted.transport && internal_port == wanted.internal_port => {
                    Some(granted(wanted, lifetime, external_ip, external_port))
                }
                Ok(other) => {
                    debug!("NAT-PMP: an answer to another request ignored: {other:?}");
                    None
                }
                // A NAT-PMP server's late answer to our PCP request (its "unsupported
                // version" shares opcode 129 with a UDP map answer), not an answer to this.
                Err(natpmp::DecodeError::Result(natpmp::ResultCode::UnsupportedVersion)) => {
                    debug!("NAT-PMP: a late answer to PCP ignored");
                    None
                }
                Err(natpmp::DecodeError::Result(code)) => {
                    Some(Err(format!("gateway says: {code}")))
                }
                Err(e) => {
                    debug!("NAT-PMP: bad answer ignored: {e}");
                    None
                }
            },
        )
        .await
    }

    async fn natpmp_external(&self, deadline: Instant) -> Result<Ipv4Addr, String> {
        let request = natpmp::Request::ExternalAddress.encode();
        let asked = ask(
            &self.socket,
            &request,
            deadline,
            |data| match natpmp::Response::decode(data) {
                Ok(natpmp::Response::ExternalAddress { address, .. }) => {
                    if address.is_unspecified() {
                        Some(Err("the gateway has no external address".to_string()))
                    } else {
                        Some(Ok(address))
                    }
                }
                Ok(other) => {
                    debug!("NAT-PMP: an answer to another request ignored: {other:?}");
                    None
                }
                // A NAT-PMP server's late answer to our PCP request (its "unsupported
                // version" shares opcode 129 with a UDP map answer), not an answer to this.
                Err(natpmp::DecodeError::Result(natpmp::ResultCode::UnsupportedVersion)) => {
                    debug!("NAT-PMP: a late answer to PCP ignored");
                    None
                }
                Err(natpmp::DecodeError::Result(code)) => {
                    Some(Err(format!("gateway says: {code}")))
                }
                Err(e) => {
                    debug!("NAT-PMP: bad answer ignored: {e}");
                    None
                }
            },
        )
        .await;
        match asked {
            Asked::Answer(ip) => Ok(ip),
            Asked::Refused(why) => Err(why),
            Asked::Silent => Err("no answer from the gateway".to_string()),
        }
    }
}

/// A request's parameters, whichever protocol carries it.
struct Wanted {
    transport: Transport,
    internal_port: u16,
    external_port: u16,
    lifetime: u32,
    nonce: [u8; 12],
}

/// The entry an answer grants, or why it grants nothing usable. A deletion (lifetime 0
/// asked) succeeds with lifetime 0.
fn granted(
    wanted: &Wanted,
    lifetime: u32,
    external_ip: IpAddr,
    external_port: u16,
) -> Result<Entry, String> {
    if wanted.lifetime > 0 {
        if lifetime == 0 {
            return Err("the gateway granted a lifetime of 0".to_string());
        }
        if external_port == 0 || external_ip.is_unspecified() {
            return Err(format!("the gateway granted {external_ip}:{external_port}"));
        }
    }
    Ok(Entry {
        transport: wanted.transport,
        internal_port: wanted.internal_port,
        external: SocketAddr::new(external_ip, external_port),
        lease: Lease::granted(std::time::Instant::now(), lifetime),
        nonce: wanted.nonce,
    })
}

/// Sends `request`, retransmitting after 250 ms doubling, until `accept` takes an answer or
/// `deadline` passes.
async fn ask<T>(
    socket: &UdpSocket,
    request: &[u8],
    deadline: Instant,
    mut accept: impl FnMut(&[u8]) -> Option<Result<T, String>>,
) -> Asked<T> {
    let mut wait = natpmp::RETRANSMIT_INITIAL;
    let mut buf = [0u8; 1100];
    loop {
        if Instant::now() >= deadline {
            return Asked::Silent;
        }
        if let Err(e) = socket.send(request).await {
            // ICMP unreachable from an earlier send shows up here: nobody listens.
            debug!("send to the gateway failed: {e}");
        }
        let resend = (Instant::now() + wait).min(deadline);
        wait *= 2;
        loop {
            let received = tokio::select! {
                r = socket.recv(&mut buf) => r,
                () = sleep_until(resend) => break,
            };
            match received {
                Ok(n) => match accept(&buf[..n]) {
                    Some(Ok(answer)) => return Asked::Answer(answer),
                    Some(Err(why)) => return Asked::Refused(why),
                    None => {}
                },
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    // ICMP port unreachable: nothing listens on 5351.
                    return Asked::Refused("nothing listens on the gateway's port 5351".into());
                }
                Err(e) => {
                    debug!("receive from the gateway failed: {e}");
                    let _ = timeout_at(resend, std::future::pending::<()>()).await;
                    break;
                }
            }
        }
    }
}

fn new_nonce() -> [u8; 12] {
    let mut nonce = [0u8; 12];
    if getrandom::fill(&mut nonce).is_err() {
        // Not secret, only distinct: the clock will do.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        nonce.copy_from_slice(&t.to_le_bytes()[..12]);
    }
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    /// A gateway on a loopback address of its own (port 5351 is fixed) that ignores PCP
    /// (counting the requests) and grants every NAT-PMP request.
    async fn natpmp_only_gateway(ip: Ipv4Addr) -> Arc<AtomicU32> {
        let socket = UdpSocket::bind((ip, SERVER_PORT)).await.unwrap();
        let pcp_requests = Arc::new(AtomicU32::new(0));
        let counted = pcp_requests.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1100];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let answer = match &buf[..n] {
                    [2, ..] => {
                        counted.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    [0, 0] => vec![0, 128, 0, 0, 0, 0, 0, 1, 80, 100, 100, 11],
                    [0, op @ (1 | 2), _, _, p1, p2, _, _, l @ ..] => {
                        let mut a = vec![0, 128 + op, 0, 0, 0, 0, 0, 1, *p1, *p2, *p1, *p2];
                        a.extend_from_slice(l);
                        a
                    }
                    _ => continue,
                };
                let _ = socket.send_to(&answer, from).await;
            }
        });
        pcp_requests
    }

    fn target(gateway: Ipv4Addr) -> Target {
        Target {
            gateway,
            local_ip: Ipv4Addr::LOCALHOST,
            port: 40001,
            transports: vec![Transport::Tcp, Transport::Udp],
            lifetime: 600,
        }
    }

    #[tokio::test]
    async fn silent_pcp_falls_back_to_natpmp_after_its_share() {
        let gateway = Ipv4Addr::new(127, 53, 51, 1);
        let pcp_requests = natpmp_only_gateway(gateway).await;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(3);
        let active = map(&target(gateway), PortMapProtocols::ALL, deadline)
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(active.protocol, PortMapProtocol::NatPmp);
        let mapping = active.mapping();
        let public: SocketAddr = "80.100.100.11:40001".parse().unwrap();
        assert_eq!((mapping.tcp, mapping.udp), (Some(public), Some(public)));
        // PCP had its 1 s: sent at 0, 250 and 750 ms.
        assert_eq!(pcp_requests.load(Ordering::Relaxed), 3);
        assert!(
            took >= PCP_SHARE && took < PCP_SHARE + Duration::from_millis(500),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn pcp_alone_gives_up_by_the_deadline() {
        let gateway = Ipv4Addr::new(127, 53, 51, 2);
        let pcp_requests = natpmp_only_gateway(gateway).await;
        let started = Instant::now();
        let deadline = started + Duration::from_millis(1600);
        let protocols = PortMapProtocols {
            upnp: false,
            natpmp: false,
            pcp: true,
        };
        let err = map(&target(gateway), protocols, deadline)
            .await
            .err()
            .unwrap();
        let took = started.elapsed();
        assert!(err.contains("no answer"), "{err}");
        assert!(
            took >= Duration::from_millis(1600) && took < Duration::from_secs(2),
            "{took:?}"
        );
        // 0, 250, 750 ms (the next would be at 1750).
        assert_eq!(pcp_requests.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn nothing_listening_ends_at_once() {
        // No gateway on this address: the ICMP port unreachable ends each protocol.
        let gateway = Ipv4Addr::new(127, 53, 51, 3);
        let started = Instant::now();
        let deadline = started + Duration::from_secs(3);
        let err = map(&target(gateway), PortMapProtocols::ALL, deadline)
            .await
            .err()
            .unwrap();
        assert!(err.contains("nothing listens"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}
