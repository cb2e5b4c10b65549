//! Any bytes as a gateway's answer to port mapping: the first byte picks the decoder
//! (NAT-PMP, PCP, SSDP reply, device description, SOAP answer, URL join, /proc/net/route),
//! the rest is its input. Each returns a typed error or a value within the bounds it
//! documents; encoders' output decodes back where the format allows.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_portmap::url::{HttpUrl, MAX_URL};
use shoal_portmap::{igd, natpmp, pcp, route, ssdp, Transport};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let location = HttpUrl::parse("http://192.168.1.1:5000/rootDesc.xml").unwrap();
    match which % 7 {
        0 => {
            if let Ok(natpmp::Response::Map { transport, .. }) = natpmp::Response::decode(rest) {
                assert!(matches!(transport, Transport::Tcp | Transport::Udp));
                assert!(rest.len() >= 16);
            }
        }
        1 => {
            if let Ok(pcp::Reply::Map(m)) = pcp::Reply::decode(rest) {
                assert!(rest.len() >= pcp::MAP_LEN);
                // The request that would match it encodes to bytes it answers.
                let request = pcp::MapRequest {
                    nonce: m.nonce,
                    transport: m.transport,
                    internal_port: m.internal_port,
                    client_ip: "192.168.1.2".parse().unwrap(),
                    suggested_external_port: m.external_port,
                    lifetime: m.lifetime,
                };
                assert!(m.answers(&request));
                assert_eq!(pcp::Reply::decode(&request.encode()), Err(pcp::DecodeError::Opcode(1)));
            }
        }
        2 => {
            if let Ok(reply) = ssdp::parse_reply(rest) {
                assert!(rest.len() <= ssdp::MAX_REPLY);
                assert!(reply.location.path.starts_with('/'));
                assert!(reply.location.to_string().len() <= MAX_URL + 32);
            }
        }
        3 => {
            if let Ok(service) = igd::find_service(&text, &location) {
                assert!(igd::SERVICE_TYPES.contains(&service.service_type.as_str()));
                let request = igd::Action::GetExternalIpAddress.request(&service);
                let (head, body) = request.split_once("\r\n\r\n").unwrap();
                assert!(head.contains(&format!("Content-Length: {}", body.len())));
            }
        }
        4 => {
            let status = u16::from(which) * 3;
            let _ = igd::parse_answer(status, rest);
        }
        5 => {
            let (a, b) = rest.split_at(rest.len() / 2);
            let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
            if let Ok(url) = HttpUrl::parse(&a) {
                assert!(url.port != 0 && !url.host.is_empty());
                if let Ok(joined) = url.join(&b) {
                    assert!(joined.port != 0);
                }
                // Formatted, a URL parses back to itself.
                assert_eq!(HttpUrl::parse(&url.to_string()).as_ref(), Ok(&url));
            }
        }
        _ => {
            if let Some(r) = route::default_route(&text) {
                assert!(!r.gateway.is_unspecified());
            }
        }
    }
});
