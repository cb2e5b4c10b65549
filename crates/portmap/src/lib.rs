//! Port mapping for shoal, without any I/O: the messages a home router's mapping services
//! speak, built and parsed, and the schedule on which a mapping is renewed. The session
//! crate (`shoal-session`, `portmap/`) owns the sockets and timers.
//!
//! - [`natpmp`]: NAT-PMP (RFC 6886), 12-byte requests to the gateway's UDP port 5351.
//! - [`pcp`]: the Port Control Protocol's MAP opcode (RFC 6887), on the same port.
//! - [`ssdp`]: the SSDP `M-SEARCH` that finds a UPnP Internet Gateway Device, and its reply.
//! - [`igd`]: the device description (which service, at which control URL) and the SOAP
//!   actions `AddPortMapping`, `DeletePortMapping` and `GetExternalIPAddress` of
//!   `WANIPConnection:1/2` and `WANPPPConnection:1`, as whole HTTP/1.1 requests.
//! - [`url`]: the few `http://` URLs UPnP uses (an IPv4 host, a port, a path).
//! - [`route`]: the default gateway from Linux's `/proc/net/route`.
//! - [`lease`]: when to renew a granted mapping and when to give up on it.
//!
//! Every input comes from the network (any host on the LAN can answer a multicast search),
//! so parsing never panics, never allocates beyond the input's size, and reports what is
//! wrong as a typed error the runtime logs and ignores.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod igd;
pub mod lease;
pub mod natpmp;
pub mod pcp;
pub mod route;
pub mod ssdp;
pub mod url;

/// The transport protocol of a mapped port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// TCP (the peer-wire listener).
    Tcp,
    /// UDP (uTP, and the DHT when it shares the socket).
    Udp,
}

impl Transport {
    /// `"TCP"` or `"UDP"`, as UPnP names them.
    pub fn upnp_name(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
        }
    }

    /// The IANA protocol number PCP carries (6 or 17).
    pub fn iana_number(self) -> u8 {
        match self {
            Transport::Tcp => 6,
            Transport::Udp => 17,
        }
    }
}

/// The UDP port NAT-PMP and PCP servers listen on (RFC 6886 §3, RFC 6887 §19.1).
pub const SERVER_PORT: u16 = 5351;
