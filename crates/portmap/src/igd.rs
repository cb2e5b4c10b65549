//! UPnP Internet Gateway Device: the device description (which WAN connection service it
//! offers, at which control URL) and the SOAP actions on that service, each built as one
//! whole HTTP/1.1 request (`Connection: close`) and read back from the response's status
//! and body.
//!
//! The description is scanned, not parsed as XML: each `<service>` element's
//! `<serviceType>` and `<controlURL>`, and the `<URLBase>` if there is one. The services
//! looked for, in order of preference, are [`SERVICE_TYPES`].

use crate::url::{HttpUrl, UrlError};
use crate::Transport;
use std::net::Ipv4Addr;

/// The WAN connection services that map ports, preferred first.
pub const SERVICE_TYPES: [&str; 3] = [
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
];
/// UPnP error 725, OnlyPermanentLeasesSupported: ask again with lease 0.
pub const ERROR_ONLY_PERMANENT_LEASES: u16 = 725;
/// Longest `<service>` element or value looked at, in bytes.
const MAX_ELEMENT: usize = 8192;

/// The service to send actions to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// One of [`SERVICE_TYPES`].
    pub service_type: String,
    /// Where its SOAP actions are posted.
    pub control_url: HttpUrl,
}

/// Why a description is of no use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DescriptionError {
    /// No WAN connection service among [`SERVICE_TYPES`].
    #[error("no WANIPConnection or WANPPPConnection service")]
    NoService,
    /// The service has no `<controlURL>`.
    #[error("the service has no control URL")]
    NoControlUrl,
    /// The control URL is not a plain `http://` URL.
    #[error("bad control URL: {0}")]
    BadControlUrl(UrlError),
}

/// Finds the preferred WAN connection service in a device description fetched from
/// `location`.
pub fn find_service(description: &str, location: &HttpUrl) -> Result<Service, DescriptionError> {
    let base = match element(description, "URLBase").map(unescape) {
        Some(text) if !text.trim().is_empty() => {
            HttpUrl::parse(&text).unwrap_or_else(|_| location.clone())
        }
        _ => location.clone(),
    };
    let mut found: Vec<(usize, Option<String>)> = Vec::new();
    let mut rest = description;
    while let Some(start) = rest.find("<service>") {
        let after = &rest[start + "<service>".len()..];
        let Some(end) = after.find("</service>") else {
            break;
        };
        let block = &after[..end];
        rest = &after[end..];
        if block.len() > MAX_ELEMENT {
            continue;
        }
        let Some(kind) = element(block, "serviceType").map(|t| t.trim().to_string()) else {
            continue;
        };
        if let Some(rank) = SERVICE_TYPES.iter().position(|t| *t == kind) {
            found.push((rank, element(block, "controlURL").map(unescape)));
        }
    }
    let (rank, control) = found
        .into_iter()
        .min_by_key(|(rank, _)| *rank)
        .ok_or(DescriptionError::NoService)?;
    let control = control
        .filter(|c| !c.trim().is_empty())
        .ok_or(DescriptionError::NoControlUrl)?;
    let control_url = base
        .join(&control)
        .map_err(DescriptionError::BadControlUrl)?;
    Ok(Service {
        service_type: SERVICE_TYPES[rank].to_string(),
        control_url,
    })
}

/// The text of the first `<name>...</name>` in `text` (namespace prefixes not handled).
fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    (len <= MAX_ELEMENT).then(|| &text[start..start + len])
}

/// Undoes XML's five predefined entities.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A SOAP action on the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Map `external_port` on the gateway to `internal_client:internal_port`.
    AddPortMapping {
        /// The port opened on the gateway's external address.
        external_port: u16,
        /// TCP or UDP.
        transport: Transport,
        /// Our port.
        internal_port: u16,
        /// Our LAN address.
        internal_client: Ipv4Addr,
        /// Shown in the router's table.
        description: String,
        /// Seconds; 0 asks for a permanent mapping.
        lease_duration: u32,
    },
    /// Remove the mapping of `external_port`.
    DeletePortMapping {
        /// The mapped port.
        external_port: u16,
        /// TCP or UDP.
        transport: Transport,
    },
    /// Ask for the gateway's external address.
    GetExternalIpAddress,
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::AddPortMapping { .. } => "AddPortMapping",
            Action::DeletePortMapping { .. } => "DeletePortMapping",
            Action::GetExternalIpAddress => "GetExternalIPAddress",
        }
    }

    fn arguments(&self) -> String {
        match self {
            Action::AddPortMapping {
                external_port,
                transport,
                internal_port,
                internal_client,
                description,
                lease_duration,
            } => format!(
                "<NewRemoteHost></NewRemoteHost><NewExternalPort>{external_port}</NewExternalPort>\
                 <NewProtocol>{}</NewProtocol><NewInternalPort>{internal_port}</NewInternalPort>\
                 <NewInternalClient>{internal_client}</NewInternalClient><NewEnabled>1</NewEnabled>\
                 <NewPortMappingDescription>{}</NewPortMappingDescription>\
                 <NewLeaseDuration>{lease_duration}</NewLeaseDuration>",
                transport.upnp_name(),
                escape(description)
            ),
            Action::DeletePortMapping {
                external_port,
                transport,
            } => format!(
                "<NewRemoteHost></NewRemoteHost><NewExternalPort>{external_port}</NewExternalPort>\
                 <NewProtocol>{}</NewProtocol>",
                transport.upnp_name()
            ),
            Action::GetExternalIpAddress => String::new(),
        }
    }

    /// The whole HTTP request that posts this action to `service`.
    pub fn request(&self, service: &Service) -> String {
        let name = self.name();
        let st = &service.service_type;
        let body = format!(
            "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>\
             <u:{name} xmlns:u=\"{st}\">{}</u:{name}></s:Body></s:Envelope>\r\n",
            self.arguments()
        );
        format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n\
             SOAPAction: \"{st}#{name}\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            service.control_url.path,
            service.control_url.host_header(),
            body.len()
        )
    }
}

/// The GET of a device description at `location`.
pub fn description_request(location: &HttpUrl) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept-Encoding: identity\r\n\r\n",
        location.path,
        location.host_header()
    )
}

/// Why an action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// A UPnP error (a SOAP fault with an `<errorCode>`), e.g. 718 ConflictInMappingEntry,
    /// 725 OnlyPermanentLeasesSupported, 606 Action not authorized.
    #[error("UPnP error {code} {description}")]
    Upnp {
        /// The UPnP error code.
        code: u16,
        /// Its `<errorDescription>`, at most 80 characters.
        description: String,
    },
    /// An HTTP status other than 200 without a UPnP error in the body.
    #[error("HTTP status {0}")]
    Status(u16),
}

/// Reads an action's answer; for `GetExternalIPAddress`, the address (`None` for the
/// others, or an empty or unparsable address).
pub fn parse_answer(status: u16, body: &[u8]) -> Result<Option<Ipv4Addr>, SoapError> {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    if status != 200 {
        if let Some(code) = element(&text, "errorCode").and_then(|c| c.trim().parse().ok()) {
            let description = element(&text, "errorDescription")
                .map(|d| d.trim().chars().take(80).collect())
                .unwrap_or_default();
            return Err(SoapError::Upnp { code, description });
        }
        return Err(SoapError::Status(status));
    }
    Ok(element(&text, "NewExternalIPAddress").and_then(|ip| ip.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIUPNPD: &str = r#"<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service></serviceList><deviceList><device><deviceList><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList></device></deviceList></device></deviceList></device></root>"#;

    fn location() -> HttpUrl {
        HttpUrl::parse("http://192.168.77.1:5000/rootDesc.xml").unwrap()
    }

    #[test]
    fn finds_the_wan_ip_connection_of_miniupnpd() {
        let s = find_service(MINIUPNPD, &location()).unwrap();
        assert_eq!(s.service_type, SERVICE_TYPES[1]);
        assert_eq!(
            s.control_url.to_string(),
            "http://192.168.77.1:5000/ctl/IPConn"
        );
    }

    #[test]
    fn prefers_ip_v2_and_honours_url_base() {
        let desc = "<URLBase>http://10.0.0.1:80/base/</URLBase>\
            <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>ppp</controlURL></service>\
            <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>ip?a=1&amp;b=2</controlURL></service>";
        let s = find_service(desc, &location()).unwrap();
        assert_eq!(s.service_type, SERVICE_TYPES[0]);
        assert_eq!(
            s.control_url.to_string(),
            "http://10.0.0.1:80/base/ip?a=1&b=2"
        );
    }

    #[test]
    fn useless_descriptions() {
        assert_eq!(
            find_service("garbage", &location()),
            Err(DescriptionError::NoService)
        );
        assert_eq!(find_service("<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType></service>", &location()), Err(DescriptionError::NoControlUrl));
        assert_eq!(
            find_service(
                "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1",
                &location()
            ),
            Err(DescriptionError::NoService)
        );
        assert!(matches!(find_service("<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>https://x/</controlURL></service>", &location()), Err(DescriptionError::BadControlUrl(_))));
    }

    #[test]
    fn soap_requests() {
        let service = find_service(MINIUPNPD, &location()).unwrap();
        let add = Action::AddPortMapping {
            external_port: 40001,
            transport: Transport::Udp,
            internal_port: 40001,
            internal_client: Ipv4Addr::new(192, 168, 77, 2),
            description: "shoal <1>".into(),
            lease_duration: 3600,
        };
        let req = add.request(&service);
        assert!(req.starts_with("POST /ctl/IPConn HTTP/1.1\r\nHost: 192.168.77.1:5000\r\n"));
        assert!(req.contains(
            "SOAPAction: \"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping\"\r\n"
        ));
        assert!(req.contains("<NewProtocol>UDP</NewProtocol>"));
        assert!(req.contains("<NewInternalClient>192.168.77.2</NewInternalClient>"));
        assert!(req.contains("shoal &lt;1&gt;"));
        let (head, body) = req.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        let del = Action::DeletePortMapping {
            external_port: 1,
            transport: Transport::Tcp,
        }
        .request(&service);
        assert!(del.contains("<u:DeletePortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"><NewRemoteHost></NewRemoteHost><NewExternalPort>1</NewExternalPort><NewProtocol>TCP</NewProtocol>"));
        assert!(description_request(&location())
            .starts_with("GET /rootDesc.xml HTTP/1.1\r\nHost: 192.168.77.1:5000\r\n"));
    }

    #[test]
    fn soap_answers() {
        let ok = b"<s:Envelope><s:Body><u:GetExternalIPAddressResponse><NewExternalIPAddress>80.100.100.11</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>";
        assert_eq!(
            parse_answer(200, ok),
            Ok(Some(Ipv4Addr::new(80, 100, 100, 11)))
        );
        assert_eq!(parse_answer(200, b""), Ok(None));
        let fault = b"<s:Fault><detail><UPnPError><errorCode>725</errorCode><errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail></s:Fault>";
        assert_eq!(
            parse_answer(500, fault),
            Err(SoapError::Upnp {
                code: 725,
                description: "OnlyPermanentLeasesSupported".into()
            })
        );
        assert_eq!(parse_answer(404, b"nope"), Err(SoapError::Status(404)));
    }

    proptest::proptest! {
        #[test]
        fn any_description_scans_without_panic(s in "(<service>|</service>|<serviceType>|</serviceType>|<controlURL>|</controlURL>|<URLBase>|</URLBase>|urn:schemas-upnp-org:service:WANIPConnection:1|/x|http://a/|\\PC){0,30}") {
            let _ = find_service(&s, &location());
        }
    }
}
