//! SSDP discovery of an Internet Gateway Device: the `M-SEARCH` sent to the multicast group
//! [`MULTICAST`] (and to the gateway's port 1900 directly), and the unicast HTTP-over-UDP
//! reply whose `LOCATION` header names the device description.

use crate::url::HttpUrl;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The SSDP multicast group and port.
pub const MULTICAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(239, 255, 255, 250), 1900);
/// The search targets sent, one `M-SEARCH` each: IGD version 1 and 2 devices.
pub const SEARCH_TARGETS: [&str; 2] = [
    "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
    "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
];
/// Largest reply read; SSDP replies are a few hundred bytes.
pub const MAX_REPLY: usize = 2048;

/// The `M-SEARCH` datagram for `target`, asking devices to answer within `mx` seconds.
pub fn m_search(target: &str, mx: u8) -> String {
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: {mx}\r\nST: {target}\r\nUSER-AGENT: shoal/1 UPnP/1.1\r\n\r\n"
    )
}

/// A device's answer to the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchReply {
    /// Where the device description is.
    pub location: HttpUrl,
    /// The search target answered (`ST`), empty if absent.
    pub target: String,
}

/// Why a datagram is not a usable search reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Larger than [`MAX_REPLY`].
    #[error("longer than {MAX_REPLY} bytes")]
    TooLong,
    /// Not UTF-8 text, or not `HTTP/1.x 200`.
    #[error("not an HTTP 200 reply")]
    NotOk,
    /// A reply to some other search (its `ST` names no gateway).
    #[error("not a gateway")]
    NotGateway,
    /// No `LOCATION` header.
    #[error("no LOCATION")]
    NoLocation,
    /// A `LOCATION` that is not a plain `http://` URL.
    #[error("bad LOCATION: {0}")]
    BadLocation(crate::url::UrlError),
}

/// Parses a reply to [`m_search`].
pub fn parse_reply(data: &[u8]) -> Result<SearchReply, ReplyError> {
    if data.len() > MAX_REPLY {
        return Err(ReplyError::TooLong);
    }
    let text = std::str::from_utf8(data).map_err(|_| ReplyError::NotOk)?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let status = lines.next().unwrap_or_default();
    let mut parts = status.split_whitespace();
    let ok = parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) && parts.next() == Some("200");
    if !ok {
        return Err(ReplyError::NotOk);
    }
    let mut location = None;
    let mut target = String::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.trim().eq_ignore_ascii_case("location") {
            location = Some(value);
        } else if name.trim().eq_ignore_ascii_case("st") {
            target = value.to_string();
        }
    }
    let is_gateway = target.is_empty()
        || target.contains("InternetGatewayDevice")
        || target.contains("WANIPConnection")
        || target.contains("WANPPPConnection")
        || target == "upnp:rootdevice";
    if !is_gateway {
        return Err(ReplyError::NotGateway);
    }
    let location = location.ok_or(ReplyError::NoLocation)?;
    let location = HttpUrl::parse(location).map_err(ReplyError::BadLocation)?;
    Ok(SearchReply { location, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text() {
        let s = m_search(SEARCH_TARGETS[0], 1);
        assert!(s.starts_with("M-SEARCH * HTTP/1.1\r\n"));
        assert!(s.contains("\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"));
        assert!(s.contains("MAN: \"ssdp:discover\""));
        assert!(s.ends_with("\r\n\r\n"));
    }

    #[test]
    fn reply_from_miniupnpd() {
        let reply = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nUSN: uuid:x::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\nSERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\nLOCATION: http://192.168.77.1:5000/rootDesc.xml\r\n\r\n";
        let r = parse_reply(reply).unwrap();
        assert_eq!(
            r.location.to_string(),
            "http://192.168.77.1:5000/rootDesc.xml"
        );
    }

    #[test]
    fn bad_replies() {
        assert_eq!(parse_reply(b"\xff\xfe"), Err(ReplyError::NotOk));
        assert_eq!(parse_reply(b"garbage"), Err(ReplyError::NotOk));
        assert_eq!(
            parse_reply(b"HTTP/1.1 404 NO\r\n\r\n"),
            Err(ReplyError::NotOk)
        );
        assert_eq!(
            parse_reply(b"HTTP/1.1 200 OK\r\nST: x\r\n\r\n"),
            Err(ReplyError::NotGateway)
        );
        assert_eq!(
            parse_reply(b"HTTP/1.1 200 OK\r\n\r\n"),
            Err(ReplyError::NoLocation)
        );
        assert!(matches!(
            parse_reply(b"HTTP/1.1 200 OK\r\nLocation: https://x/\r\n\r\n"),
            Err(ReplyError::BadLocation(_))
        ));
        assert_eq!(parse_reply(&[b'a'; 3000]), Err(ReplyError::TooLong));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_reply(&data);
        }
    }
}
