//! What `share` and `seed` say about how peers on the internet can reach us, from the
//! session's [`Reachability`]: the port mapping made, or why there is none.

use shoal_session::{PortMapState, Reachability, Session};
use std::net::SocketAddr;
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

/// The public address to put first in a magnet link, if a mapping is in force.
pub fn external(reach: &Reachability) -> Option<SocketAddr> {
    reach.mapping.as_ref().and_then(|m| m.external())
}

/// One line for the user; `None` where there is nothing worth saying (a loopback listen
/// address, where nothing is mapped on purpose).
pub fn line(reach: &Reachability, listen: SocketAddr, mapping_off: bool) -> Option<String> {
    Some(match &reach.port_mapping {
        PortMapState::Mapped => {
            let mapping = reach.mapping.as_ref()?;
            let at = mapping.external()?;
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
}
