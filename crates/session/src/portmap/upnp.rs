//! UPnP-IGD: an SSDP `M-SEARCH` from our LAN address (to the multicast group and to the
//! gateway's port 1900 directly), the device description from the `LOCATION` of a reply,
//! then SOAP actions on its WAN connection service.
//!
//! Only a device that names itself is believed: the `LOCATION` host must be the address
//! the reply came from, and the control URL must be on that same host, so a reply cannot
//! send our requests elsewhere. Bad replies and descriptions are logged at debug level and
//! the search goes on until the deadline.

use super::http;
use super::mapping::{Active, Client, Entry, Target};
use super::PortMapProtocol;
use shoal_portmap::igd::{self, Action, Service, SoapError};
use shoal_portmap::lease::Lease;
use shoal_portmap::ssdp;
use shoal_portmap::url::HttpUrl;
use shoal_portmap::Transport;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::{sleep_until, Instant};
use tracing::debug;

/// How long devices may take to answer a search (`MX`, seconds).
const MX: u8 = 1;
/// When the search is sent again (datagrams get lost).
const SEARCH_AGAIN: Duration = Duration::from_millis(700);
/// How long replies are waited for: devices answer within `MX`.
const SEARCH_WINDOW: Duration = Duration::from_secs(2);
/// Longest wait for one renewal or deletion.
const SINGLE_EXCHANGE: Duration = Duration::from_secs(2);

/// A gateway found over UPnP.
pub(super) struct UpnpClient {
    service: Service,
    local_ip: Ipv4Addr,
    lifetime: u32,
}

/// Finds the gateway and maps `target`'s ports, by `deadline`.
pub(super) async fn map(target: &Target, deadline: Instant) -> Result<Active, String> {
    let service = discover(target, deadline).await?;
    debug!(control = %service.control_url, service = %service.service_type, "UPnP: gateway found");
    let client = UpnpClient {
        service,
        local_ip: target.local_ip,
        lifetime: target.lifetime,
    };
    let answer = client
        .act(&Action::GetExternalIpAddress, deadline)
        .await
        .map_err(|e| format!("GetExternalIPAddress: {e}"))?;
    let external_ip = match answer {
        Some(ip) if !ip.is_unspecified() => IpAddr::V4(ip),
        _ => return Err("the gateway has no external address".to_string()),
    };
    let mut entries = Vec::new();
    for &transport in &target.transports {
        match client
            .add(transport, target.port, external_ip, deadline)
            .await
        {
            Ok(entry) => entries.push(entry),
            Err(e) if entries.is_empty() => return Err(format!("AddPortMapping: {e}")),
            Err(e) => debug!(?transport, "UPnP: not mapped: {e}"),
        }
    }
    Ok(Active {
        protocol: PortMapProtocol::Upnp,
        client: Client::Upnp(client),
        entries,
        external_ip,
    })
}

impl UpnpClient {
    /// Posts `action`; for `GetExternalIPAddress` the address.
    async fn act(&self, action: &Action, deadline: Instant) -> Result<Option<Ipv4Addr>, String> {
        let request = action.request(&self.service);
        let response = http::exchange(&self.service.control_url, &request, deadline).await?;
        igd::parse_answer(response.status, &response.body).map_err(|e| e.to_string())
    }

    /// AddPortMapping, with a permanent lease if the gateway only takes those.
    async fn add(
        &self,
        transport: Transport,
        port: u16,
        external_ip: IpAddr,
        deadline: Instant,
    ) -> Result<Entry, String> {
        let mut lease = self.lifetime;
        loop {
            let action = Action::AddPortMapping {
                external_port: port,
                transport,
                internal_port: port,
                internal_client: self.local_ip,
                description: format!("shoal {} {port}", transport.upnp_name()),
                lease_duration: lease,
            };
            let request = action.request(&self.service);
            let response = http::exchange(&self.service.control_url, &request, deadline).await?;
            match igd::parse_answer(response.status, &response.body) {
                Ok(_) => {
                    return Ok(Entry {
                        transport,
                        internal_port: port,
                        external: SocketAddr::new(external_ip, port),
                        lease: Lease::granted(std::time::Instant::now(), lease),
                        nonce: [0; 12],
                    })
                }
                Err(SoapError::Upnp { code, .. })
                    if code == igd::ERROR_ONLY_PERMANENT_LEASES && lease != 0 =>
                {
                    lease = 0;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Maps the entry again (UPnP renews by adding the same mapping).
    pub(super) async fn renew(&mut self, entry: &Entry) -> Result<Entry, String> {
        let deadline = Instant::now() + SINGLE_EXCHANGE;
        self.add(
            entry.transport,
            entry.internal_port,
            entry.external.ip(),
            deadline,
        )
        .await
    }

    /// DeletePortMapping.
    pub(super) async fn delete(&mut self, entry: &Entry) -> Result<(), String> {
        let action = Action::DeletePortMapping {
            external_port: entry.external.port(),
            transport: entry.transport,
        };
        self.act(&action, Instant::now() + SINGLE_EXCHANGE)
            .await
            .map(drop)
    }
}

/// Searches until a device with a usable description answers, or `deadline`.
async fn discover(target: &Target, deadline: Instant) -> Result<Service, String> {
    let searching = deadline.min(Instant::now() + SEARCH_WINDOW);
    let socket = search_socket(target.local_ip).map_err(|e| format!("SSDP socket: {e}"))?;
    let destinations = [
        SocketAddr::from(ssdp::MULTICAST),
        SocketAddr::from((target.gateway, ssdp::MULTICAST.port())),
    ];
    let mut tried: HashSet<String> = HashSet::new();
    let mut last_problem = "no device answered the SSDP search".to_string();
    let mut buf = [0u8; ssdp::MAX_REPLY + 1];
    let mut next_search = Instant::now();
    loop {
        if Instant::now() >= next_search {
            for st in ssdp::SEARCH_TARGETS {
                let text = ssdp::m_search(st, MX);
                for to in destinations {
                    if let Err(e) = socket.send_to(text.as_bytes(), to).await {
                        debug!(%to, "SSDP: send failed: {e}");
                    }
                }
            }
            next_search += SEARCH_AGAIN;
        }
        let wake = next_search.min(searching);
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            () = sleep_until(wake) => {
                if Instant::now() >= searching {
                    return Err(last_problem);
                }
                continue;
            }
        };
        let (n, from) = match received {
            Ok(r) => r,
            Err(e) => {
                debug!("SSDP: receive failed: {e}");
                sleep_until(wake).await;
                continue;
            }
        };
        let reply = match ssdp::parse_reply(&buf[..n]) {
            Ok(reply) => reply,
            Err(e) => {
                debug!(%from, "SSDP: reply ignored: {e}");
                last_problem = format!("SSDP reply from {from} ignored: {e}");
                continue;
            }
        };
        if reply.location.host != from.ip().to_string() {
            debug!(%from, location = %reply.location, "SSDP: LOCATION on another host, ignored");
            last_problem = format!("SSDP reply from {from} points to another host");
            continue;
        }
        if !tried.insert(reply.location.to_string()) {
            continue;
        }
        match describe(&reply.location, deadline).await {
            Ok(service) => return Ok(service),
            Err(e) => {
                debug!(location = %reply.location, "UPnP: description not usable: {e}");
                last_problem = format!("{}: {e}", reply.location);
            }
        }
    }
}

/// Fetches the description at `location` and finds the WAN connection service on it.
async fn describe(location: &HttpUrl, deadline: Instant) -> Result<Service, String> {
    let response = http::exchange(location, &igd::description_request(location), deadline).await?;
    if response.status != 200 {
        return Err(format!("HTTP status {}", response.status));
    }
    let text = String::from_utf8_lossy(&response.body);
    let service = igd::find_service(&text, location).map_err(|e| e.to_string())?;
    if service.control_url.host != location.host {
        return Err(format!(
            "control URL {} is on another host",
            service.control_url
        ));
    }
    Ok(service)
}

/// A UDP socket on our LAN address that sends multicast out of that interface, two hops at
/// most (UPnP's TTL).
fn search_socket(local_ip: Ipv4Addr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.bind(&SocketAddr::from((local_ip, 0)).into())?;
    socket.set_multicast_if_v4(&local_ip)?;
    socket.set_multicast_ttl_v4(2)?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const DESCRIPTION: &str = "<root><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl</controlURL></service></serviceList></device></root>";

    /// A device on its own loopback address: SSDP on port 1900 (first a reply pointing at
    /// another host, then the real one), HTTP with the description and SOAP answers
    /// (AddPortMapping refuses non-permanent leases with 725). Returns the actions posted.
    async fn device(ip: Ipv4Addr) -> Arc<Mutex<Vec<String>>> {
        let http = TcpListener::bind((ip, 0)).await.unwrap();
        let port = http.local_addr().unwrap().port();
        let ssdp = UdpSocket::bind((ip, 1900)).await.unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok((_, from)) = ssdp.recv_from(&mut buf).await {
                for host in ["10.9.9.9".to_string(), ip.to_string()] {
                    let reply = format!("HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://{host}:{port}/desc.xml\r\n\r\n");
                    let _ = ssdp.send_to(reply.as_bytes(), from).await;
                }
            }
        });
        let actions = Arc::new(Mutex::new(Vec::new()));
        let seen = actions.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = http.accept().await {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head and a body of Content-Length bytes.
                loop {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    req.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&req).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if body.len() >= len {
                            break;
                        }
                    }
                    if n == 0 {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&req).to_string();
                let (status, body) = if text.starts_with("GET /desc.xml") {
                    (200, DESCRIPTION.to_string())
                } else if text.contains("#GetExternalIPAddress") {
                    seen.lock()
                        .unwrap()
                        .push("GetExternalIPAddress".to_string());
                    (
                        200,
                        "<NewExternalIPAddress>80.100.100.11</NewExternalIPAddress>".to_string(),
                    )
                } else if text.contains("#AddPortMapping") {
                    let permanent = text.contains("<NewLeaseDuration>0<");
                    seen.lock()
                        .unwrap()
                        .push(format!("AddPortMapping permanent={permanent}"));
                    if permanent {
                        (200, String::new())
                    } else {
                        (500, "<UPnPError><errorCode>725</errorCode><errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError>".to_string())
                    }
                } else if text.contains("#DeletePortMapping") {
                    seen.lock().unwrap().push("DeletePortMapping".to_string());
                    (200, String::new())
                } else {
                    (404, String::new())
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        actions
    }

    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn maps_with_a_permanent_lease_when_that_is_all_the_device_takes() {
        let gateway = Ipv4Addr::new(127, 53, 51, 4);
        let actions = device(gateway).await;
        let target = Target {
            gateway,
            local_ip: Ipv4Addr::LOCALHOST,
            port: 40001,
            transports: vec![Transport::Tcp],
            lifetime: 600,
        };
        let started = Instant::now();
        let mut active = map(&target, started + Duration::from_secs(3))
            .await
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(active.protocol, PortMapProtocol::Upnp);
        assert_eq!(
            active.mapping().tcp,
            Some("80.100.100.11:40001".parse().unwrap())
        );
        // A permanent mapping expires never; it is refreshed at the longest interval.
        assert_eq!(active.entries[0].lease.expires_at(), None);
        active.delete().await;
        assert_eq!(
            *actions.lock().unwrap(),
            [
                "GetExternalIPAddress",
                "AddPortMapping permanent=false",
                "AddPortMapping permanent=true",
                "DeletePortMapping"
            ]
        );
    }
}
