//! A mapping in force, whatever the protocol that made it: one entry per transport, each
//! with its [`Lease`], and the client that renews and deletes them.

use super::udp::UdpClient;
use super::upnp::UpnpClient;
use super::{PortMapProtocol, PortMapping};
use shoal_portmap::lease::Lease;
use shoal_portmap::Transport;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

/// What to map, and where to ask.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// The default gateway.
    pub gateway: Ipv4Addr,
    /// Our address toward it.
    pub local_ip: Ipv4Addr,
    /// The listen port (TCP and UDP use the same number).
    pub port: u16,
    /// The transports to map.
    pub transports: Vec<Transport>,
    /// The lifetime to ask for, in seconds.
    pub lifetime: u32,
}

/// One mapped port.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub transport: Transport,
    pub internal_port: u16,
    pub external: SocketAddr,
    pub lease: Lease,
    /// PCP's nonce (renewals and the deletion repeat it); unused by the others.
    pub nonce: [u8; 12],
}

/// The protocol's client, which renews and deletes.
pub(super) enum Client {
    Upnp(UpnpClient),
    Udp(UdpClient),
}

/// A mapping in force.
pub(super) struct Active {
    pub protocol: PortMapProtocol,
    pub client: Client,
    pub entries: Vec<Entry>,
    pub external_ip: IpAddr,
}

impl Active {
    /// The public view.
    pub(super) fn mapping(&self) -> PortMapping {
        let find = |t| {
            self.entries
                .iter()
                .find(|e| e.transport == t)
                .map(|e| e.external)
        };
        PortMapping {
            protocol: self.protocol,
            tcp: find(Transport::Tcp),
            udp: find(Transport::Udp),
        }
    }

    /// The shortest lifetime granted, in seconds (0: permanent), for the logs.
    pub(super) fn lifetime(&self) -> u64 {
        let now = Instant::now();
        self.entries
            .iter()
            .filter_map(|e| e.lease.expires_at())
            .map(|at| at.saturating_duration_since(now).as_secs())
            .min()
            .unwrap_or(0)
    }

    /// The earliest renewal due.
    pub(super) fn renew_at(&self) -> Instant {
        self.entries
            .iter()
            .map(|e| e.lease.renew_at())
            .min()
            .unwrap_or_else(Instant::now)
    }

    /// Renews the entries that are due at `now`; an entry that fails keeps its old lease
    /// and the error is returned (the caller decides, from the lease, whether to retry).
    pub(super) async fn renew_due(&mut self, now: Instant) -> Result<(), (usize, String)> {
        for i in 0..self.entries.len() {
            if self.entries[i].lease.renew_at() > now {
                continue;
            }
            let entry = self.entries[i].clone();
            let renewed = match &mut self.client {
                Client::Upnp(c) => c.renew(&entry).await,
                Client::Udp(c) => c.renew(&entry).await,
            };
            match renewed {
                Ok(new) => self.entries[i] = new,
                Err(e) => return Err((i, e)),
            }
        }
        Ok(())
    }

    /// Deletes every entry (each bounded by the client's own limit).
    pub(super) async fn delete(&mut self) {
        for entry in self.entries.clone() {
            let result = match &mut self.client {
                Client::Upnp(c) => c.delete(&entry).await,
                Client::Udp(c) => c.delete(&entry).await,
            };
            match result {
                Ok(()) => tracing::info!(
                    protocol = %self.protocol,
                    transport = ?entry.transport,
                    external = %entry.external,
                    "port mapping deleted"
                ),
                Err(e) => tracing::info!(
                    protocol = %self.protocol,
                    transport = ?entry.transport,
                    "could not delete the port mapping: {e}"
                ),
            }
        }
    }
}
