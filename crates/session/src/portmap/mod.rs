//! Port mapping: asks the home router to forward our listen port (TCP, and UDP for uTP) from
//! its public address, by UPnP-IGD, PCP or NAT-PMP, keeps the mappings renewed, and deletes
//! them on shutdown. The messages are the sans-IO `shoal-portmap` crate's; this module owns
//! the sockets and timers.
//!
//! - `gateway`: the default gateway (`/proc/net/route`) and our address toward it.
//! - `udp`: PCP (tried first) and NAT-PMP (on an "unsupported version" answer or silence),
//!   both on the gateway's UDP port 5351.
//! - `upnp`: SSDP search, the device description, SOAP actions; `http` moves their bytes.
//! - `task`: runs the protocols side by side (the first to map wins, a later success is
//!   deleted again), renews, retries, deletes on shutdown, and publishes [`Reachability`].
//!
//! Every wait is bounded: one attempt of all protocols gives up within
//! [`PortMapConfig::attempt_limit`]; a reply that does not parse is logged at debug level
//! and ignored. Logs are events under the span `portmap`.

mod gateway;
mod http;
mod mapping;
mod task;
mod udp;
mod upnp;

pub(crate) use task::PortMapper;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The protocols port mapping may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapProtocols {
    /// UPnP Internet Gateway Device (SSDP discovery, SOAP on the device's HTTP server).
    pub upnp: bool,
    /// NAT-PMP (RFC 6886).
    pub natpmp: bool,
    /// PCP (RFC 6887); tried before NAT-PMP when both are allowed.
    pub pcp: bool,
}

impl PortMapProtocols {
    /// All three.
    pub const ALL: PortMapProtocols = PortMapProtocols {
        upnp: true,
        natpmp: true,
        pcp: true,
    };
}

/// How the session maps its listen port on the home router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapConfig {
    /// Which protocols to try.
    pub protocols: PortMapProtocols,
    /// Longest time one attempt (all protocols side by side) may take before the mapping
    /// is declared unavailable.
    pub attempt_limit: Duration,
    /// After an attempt found no mapping service, how long until the next.
    pub retry_after: Duration,
    /// The lifetime asked for, in seconds (the gateway may grant less). Renewed at half
    /// what was granted.
    pub lifetime: u32,
}

impl PortMapConfig {
    /// All protocols, a 3-second attempt, another attempt every 5 minutes while none works,
    /// mappings asked for two hours (RFC 6886's recommendation).
    pub fn new() -> PortMapConfig {
        PortMapConfig {
            protocols: PortMapProtocols::ALL,
            attempt_limit: Duration::from_secs(3),
            retry_after: Duration::from_secs(300),
            lifetime: shoal_portmap::natpmp::RECOMMENDED_LIFETIME,
        }
    }
}

impl Default for PortMapConfig {
    fn default() -> PortMapConfig {
        PortMapConfig::new()
    }
}

/// A port mapping protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortMapProtocol {
    /// UPnP Internet Gateway Device.
    Upnp,
    /// NAT-PMP.
    NatPmp,
    /// PCP.
    Pcp,
}

impl fmt::Display for PortMapProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortMapProtocol::Upnp => "UPnP",
            PortMapProtocol::NatPmp => "NAT-PMP",
            PortMapProtocol::Pcp => "PCP",
        })
    }
}

/// The mapping in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// The protocol that made it.
    pub protocol: PortMapProtocol,
    /// The public address and port that leads to our TCP listener, if mapped.
    pub tcp: Option<SocketAddr>,
    /// The public address and port that leads to our UDP (uTP) socket, if mapped.
    pub udp: Option<SocketAddr>,
}

impl PortMapping {
    /// The address to tell peers: the TCP one, else the UDP one.
    pub fn external(&self) -> Option<SocketAddr> {
        self.tcp.or(self.udp)
    }
}

/// Where port mapping stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortMapState {
    /// Turned off ([`crate::SessionConfig::port_mapping`] is `None`), or nothing to map (a
    /// loopback listen address).
    Off,
    /// Looking for a gateway, or asking it.
    Trying,
    /// A mapping is in force: [`Reachability::mapping`].
    Mapped,
    /// No protocol worked; why, in one line. Tried again later.
    Unavailable(String),
}

/// How peers on the internet can reach this session, as far as it knows. Published on
/// [`crate::Session::reachability`]; later sources of knowledge (peers telling us the
/// address they see) add fields here, so it is `non_exhaustive`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reachability {
    /// Port mapping's state.
    pub port_mapping: PortMapState,
    /// The mapping in force, when [`PortMapState::Mapped`].
    pub mapping: Option<PortMapping>,
    /// Our own address toward the default gateway (the LAN address a router sees), once
    /// known.
    pub local_ip: Option<IpAddr>,
    /// The gateway's public address, as its mapping protocol reported it.
    pub external_ip: Option<IpAddr>,
}

impl Default for Reachability {
    /// Nothing known, port mapping off.
    fn default() -> Reachability {
        Reachability::new(PortMapState::Off)
    }
}

impl Reachability {
    pub(crate) fn new(port_mapping: PortMapState) -> Reachability {
        Reachability {
            port_mapping,
            mapping: None,
            local_ip: None,
            external_ip: None,
        }
    }

    /// True if our own address is a private, shared (CGNAT) or link-local one: peers on the
    /// internet cannot dial it, so without a mapping only hole punching reaches us.
    pub fn behind_nat(&self) -> bool {
        match self.local_ip {
            Some(IpAddr::V4(ip)) => {
                ip.is_private()
                    || ip.is_link_local()
                    || (ip.octets()[0] == 100 && ip.octets()[1] & 0xc0 == 64)
            }
            Some(IpAddr::V6(ip)) => {
                (ip.segments()[0] & 0xfe00) == 0xfc00 || (ip.segments()[0] & 0xffc0) == 0xfe80
            }
            None => true,
        }
    }
}
