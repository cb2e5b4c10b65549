//! What `share` and `seed` say about how peers on the internet can reach us, from the
//! session's [`Reachability`]: the port mapping made, or why there is none.

use shoal_session::{PortMapState, Reachability, Session};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long `share` waits for port mapping before printing its magnet link, so that the
/// link's first `x.pe` hint can be the public address.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(3);

/// Waits, at most `limit`, until port mapping is no longer trying; returns what is known.
pub async fn settle(session: &Session, limit: Duration) -> Reachability {
    let mut rx = session.reachability();
    let settled = |r: &Reachability| r.port_mapping != PortMapState::Trying;
    let _ = tokio::time::timeout(limit, rx.wait_for(settled)).await;
    let latest = rx.borrow().clone();
    latest
}

/// Follows the session's reachability and says when the line changes (a mapping made after
/// `share` stopped waiting, lost, or made again).
pub struct Watch {
    rx: tokio::sync::watch::Receiver<Reachability>,
    listen: SocketAddr,
    mapping_off: bool,
    last: Option<String>,
}

impl Watch {
    /// Starts from the line already printed (`shown`).
    pub fn new(session: &Session, mapping_off: bool, shown: Option<String>) -> Watch {
        Watch {
            rx: session.reachability(),
            listen: session.listen_addr(),
            mapping_off,
            last: shown,
        }
    }

    /// The new line, if it changed since the last call. Trying again (every few minutes
    /// while no mapping works, or after one was lost) is not news.
    pub fn changed(&mut self) -> Option<String> {
        let reach = self.rx.borrow().clone();
        if reach.port_mapping == PortMapState::Trying {
            return None;
        }
        let now = line(&reach, self.listen, self.mapping_off);
        if now.is_some() && now != self.last {
            self.last.clone_from(&now);
            return now;
        }
        None
    }
}

/// The public address to put first in a magnet link, if a mapping is in force and its
/// address is a public one (a router behind another NAT maps to a private address, which
/// peers on the internet cannot dial).
pub fn external(reach: &Reachability) -> Option<SocketAddr> {
    reach
        .mapping
        .as_ref()
        .and_then(|m| m.external())
        .filter(|a| is_public(a.ip()))
}

/// Not private, shared (CGNAT, 100.64/10), loopback, link-local or unspecified.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (a == 100 && b & 0xc0 == 64))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80)
        }
    }
}

/// One line for the user; `None` where there is nothing worth saying (a loopback listen
/// address, where nothing is mapped on purpose).
pub fn line(reach: &Reachability, listen: SocketAddr, mapping_off: bool) -> Option<String> {
    Some(match &reach.port_mapping {
        PortMapState::Mapped => {
            let mapping = reach.mapping.as_ref()?;
            let at = mapping.external()?;
            if !is_public(at.ip()) {
                return Some(format!(
                    "the router mapped {at} through {}, a private address: another NAT is in \
                     the way; reachable by hole punching only",
                    mapping.protocol
                ));
            }
            let udp = match mapping.udp {
                Some(udp) if Some(udp) != mapping.tcp && mapping.tcp.is_some() => {
                    format!(" (UDP at {udp})")
                }
                _ => String::new(),
            };
            format!("reachable at {at}{udp} through {}", mapping.protocol)
        }
        PortMapState::Off if mapping_off => "port mapping off".to_string(),
        PortMapState::Off => return None,
        PortMapState::Trying => {
            "port mapping: still waiting for the router; reachable by hole punching only until then"
                .to_string()
        }
        PortMapState::Unavailable(_) if reach.behind_nat() => {
            "behind NAT, no port mapping: reachable by hole punching only".to_string()
        }
        PortMapState::Unavailable(_) => match reach.local_ip {
            Some(ip) => format!(
                "no port mapping; reachable at {} if no firewall is in the way",
                SocketAddr::new(ip, listen.port())
            ),
            None => "no port mapping".to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_is_said_only_when_asked_for() {
        let listen: SocketAddr = "0.0.0.0:7000".parse().unwrap();
        let reach = Reachability::default();
        assert_eq!(
            line(&reach, listen, true).as_deref(),
            Some("port mapping off")
        );
        assert_eq!(line(&reach, listen, false), None);
    }

    #[test]
    fn public_and_private_addresses() {
        for ip in ["80.100.100.11", "2001:db8::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.0.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.0.1",
            "127.0.0.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
