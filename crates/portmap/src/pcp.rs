//! The Port Control Protocol's MAP opcode (RFC 6887), over UDP to the gateway's port
//! [`crate::SERVER_PORT`], the port NAT-PMP uses too.
//!
//! A MAP request is a 24-byte header (version 2, opcode 1, the lifetime asked for, our own
//! address as the server sees it) and 36 bytes of MAP data (a nonce, the protocol, our
//! port, the external port and address we would like). The answer repeats the nonce, which
//! the client checks, and carries the port and address granted. Lifetime 0 deletes a
//! mapping (§15), with the same nonce that created it.
//!
//! A server that speaks only NAT-PMP answers a version-2 request with a version-0
//! "unsupported version" (RFC 6887 §9), which [`Reply::decode`] reports as
//! [`Reply::NatPmpOnly`] so the client falls back. RFC 6887's retransmission starts at 3 s;
//! the gateway is one hop away, so the runtime starts at NAT-PMP's 250 ms instead and gives
//! up within seconds.

use crate::Transport;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The protocol version PCP messages carry.
pub const VERSION: u8 = 2;
/// The MAP opcode.
pub const OPCODE_MAP: u8 = 1;
/// Size of a MAP request and of a MAP answer without options.
pub const MAP_LEN: usize = 60;

/// A MAP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapRequest {
    /// Random, kept for the mapping's life: renewals and the deletion repeat it.
    pub nonce: [u8; 12],
    /// TCP or UDP.
    pub transport: Transport,
    /// Our port on the LAN.
    pub internal_port: u16,
    /// Our address as the gateway sees it (the source address of the request).
    pub client_ip: IpAddr,
    /// The external port we would like (0: any).
    pub suggested_external_port: u16,
    /// Seconds the mapping should last; 0 deletes it.
    pub lifetime: u32,
}

impl MapRequest {
    /// The request's 60 bytes.
    pub fn encode(&self) -> [u8; MAP_LEN] {
        let mut out = [0u8; MAP_LEN];
        out[0] = VERSION;
        out[1] = OPCODE_MAP;
        out[4..8].copy_from_slice(&self.lifetime.to_be_bytes());
        out[8..24].copy_from_slice(&mapped(self.client_ip).octets());
        out[24..36].copy_from_slice(&self.nonce);
        out[36] = self.transport.iana_number();
        out[40..42].copy_from_slice(&self.internal_port.to_be_bytes());
        out[42..44].copy_from_slice(&self.suggested_external_port.to_be_bytes());
        // Suggested external address: all zeros of the IPv4-mapped form, "any IPv4".
        out[44..60].copy_from_slice(&mapped(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).octets());
        out
    }
}

/// IPv4 addresses travel as IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
fn mapped(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

fn unmapped(ip: Ipv6Addr) -> IpAddr {
    match ip.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(ip),
    }
}

/// A result code other than success (RFC 6887 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResultCode {
    /// 2: the server refuses us.
    #[error("not authorized")]
    NotAuthorized,
    /// 3: the server did not understand the request.
    #[error("malformed request")]
    MalformedRequest,
    /// 4: the server does not know MAP.
    #[error("unsupported opcode")]
    UnsupportedOpcode,
    /// 7: the server has no external connectivity.
    #[error("network failure")]
    NetworkFailure,
    /// 8: the server is out of mappings.
    #[error("no resources")]
    NoResources,
    /// 9: the protocol cannot be mapped.
    #[error("unsupported protocol")]
    UnsupportedProtocol,
    /// 11: the suggested external port or address cannot be given.
    #[error("cannot provide external")]
    CannotProvideExternal,
    /// 12: the client address in the request is not the request's source address (a NAT
    /// between us and the server).
    #[error("address mismatch")]
    AddressMismatch,
    /// Any other code.
    #[error("result code {0}")]
    Other(u8),
}

impl ResultCode {
    fn from_code(code: u8) -> ResultCode {
        match code {
            2 => ResultCode::NotAuthorized,
            3 => ResultCode::MalformedRequest,
            4 => ResultCode::UnsupportedOpcode,
            7 => ResultCode::NetworkFailure,
            8 => ResultCode::NoResources,
            9 => ResultCode::UnsupportedProtocol,
            11 => ResultCode::CannotProvideExternal,
            12 => ResultCode::AddressMismatch,
            n => ResultCode::Other(n),
        }
    }
}

/// A granted (or, with lifetime 0, deleted) mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapResponse {
    /// The request's nonce, repeated.
    pub nonce: [u8; 12],
    /// TCP or UDP.
    pub transport: Transport,
    /// Our port the mapping leads to.
    pub internal_port: u16,
    /// The port opened on the external address.
    pub external_port: u16,
    /// The external address.
    pub external_ip: IpAddr,
    /// Seconds the mapping lasts.
    pub lifetime: u32,
    /// Seconds since the server's mapping table was (re)started.
    pub epoch: u32,
}

impl MapResponse {
    /// True if this answers `request` (same nonce, protocol and internal port).
    pub fn answers(&self, request: &MapRequest) -> bool {
        self.nonce == request.nonce
            && self.transport == request.transport
            && self.internal_port == request.internal_port
    }
}

/// What the server said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// A successful MAP answer.
    Map(MapResponse),
    /// The server speaks PCP but not our version (result 1, UNSUPP_VERSION), or speaks
    /// only NAT-PMP (a version-0 answer): fall back to NAT-PMP.
    NatPmpOnly,
}

/// Why a datagram is not a usable PCP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than a MAP answer.
    #[error("truncated answer ({0} bytes)")]
    Truncated(usize),
    /// A version other than 0 and 2.
    #[error("version {0}")]
    Version(u8),
    /// Not an answer (the R bit clear) or not to MAP.
    #[error("opcode {0:#04x} is not a MAP answer")]
    Opcode(u8),
    /// A protocol number other than TCP's and UDP's.
    #[error("protocol {0}")]
    Protocol(u8),
    /// The server answered with an error.
    #[error("server says: {0}")]
    Result(ResultCode),
}

impl Reply {
    /// Parses an answer (options after the MAP data are ignored).
    pub fn decode(data: &[u8]) -> Result<Reply, DecodeError> {
        if data.len() < 4 {
            return Err(DecodeError::Truncated(data.len()));
        }
        match data[0] {
            // A NAT-PMP server's "unsupported version", or any NAT-PMP answer.
            0 => return Ok(Reply::NatPmpOnly),
            VERSION => {}
            v => return Err(DecodeError::Version(v)),
        }
        if data[1] != 0x80 | OPCODE_MAP {
            return Err(DecodeError::Opcode(data[1]));
        }
        match data[3] {
            0 => {}
            1 => return Ok(Reply::NatPmpOnly),
            code => return Err(DecodeError::Result(ResultCode::from_code(code))),
        }
        if data.len() < MAP_LEN {
            return Err(DecodeError::Truncated(data.len()));
        }
        let be32 =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let be16 = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
        let transport = match data[36] {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            p => return Err(DecodeError::Protocol(p)),
        };
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&data[24..36]);
        let mut ip = [0u8; 16];
        ip.copy_from_slice(&data[44..60]);
        Ok(Reply::Map(MapResponse {
            nonce,
            transport,
            internal_port: be16(40),
            external_port: be16(42),
            external_ip: unmapped(Ipv6Addr::from(ip)),
            lifetime: be32(4),
            epoch: be32(8),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> MapRequest {
        MapRequest {
            nonce: *b"0123456789ab",
            transport: Transport::Udp,
            internal_port: 40001,
            client_ip: "192.168.77.2".parse().unwrap(),
            suggested_external_port: 40001,
            lifetime: 7200,
        }
    }

    /// The answer a server would send to `request()`.
    fn answer(result: u8) -> Vec<u8> {
        let mut a = request().encode().to_vec();
        a[1] = 0x81;
        a[3] = result;
        a[8..12].copy_from_slice(&77u32.to_be_bytes());
        a[8 + 4..24].fill(0);
        a[44..60].copy_from_slice(&Ipv4Addr::new(80, 100, 100, 11).to_ipv6_mapped().octets());
        a
    }

    #[test]
    fn map_request_layout() {
        let bytes = request().encode();
        assert_eq!(&bytes[..4], &[2, 1, 0, 0]);
        assert_eq!(&bytes[4..8], &7200u32.to_be_bytes());
        assert_eq!(
            &bytes[8..24],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 77, 2]
        );
        assert_eq!(&bytes[24..36], b"0123456789ab");
        assert_eq!(&bytes[36..40], &[17, 0, 0, 0]);
        assert_eq!(&bytes[40..44], &[0x9c, 0x41, 0x9c, 0x41]);
        assert_eq!(
            &bytes[44..60],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]
        );
    }

    #[test]
    fn map_answer_decodes_and_matches_its_request() {
        let Ok(Reply::Map(m)) = Reply::decode(&answer(0)) else {
            panic!("not a MAP answer");
        };
        assert!(m.answers(&request()));
        assert_eq!(m.external_ip, IpAddr::V4(Ipv4Addr::new(80, 100, 100, 11)));
        assert_eq!((m.external_port, m.lifetime, m.epoch), (40001, 7200, 77));
        let other = MapRequest {
            nonce: [9; 12],
            ..request()
        };
        assert!(!m.answers(&other));
    }

    #[test]
    fn fallbacks_and_errors() {
        assert_eq!(
            Reply::decode(&[0, 129, 0, 1, 0, 0, 0, 0]),
            Ok(Reply::NatPmpOnly)
        );
        assert_eq!(Reply::decode(&answer(1)[..24]), Ok(Reply::NatPmpOnly));
        assert_eq!(
            Reply::decode(&answer(2)[..24]),
            Err(DecodeError::Result(ResultCode::NotAuthorized))
        );
        assert_eq!(
            Reply::decode(&answer(0)[..59]),
            Err(DecodeError::Truncated(59))
        );
        assert_eq!(Reply::decode(&[2]), Err(DecodeError::Truncated(1)));
        assert_eq!(
            Reply::decode(&[1, 0x81, 0, 0]),
            Err(DecodeError::Version(1))
        );
        // A request echoed back, or an answer to another opcode.
        assert_eq!(
            Reply::decode(&request().encode()),
            Err(DecodeError::Opcode(1))
        );
        assert_eq!(
            Reply::decode(&[2, 0x82, 0, 0]),
            Err(DecodeError::Opcode(0x82))
        );
        let mut bad_proto = answer(0);
        bad_proto[36] = 99;
        assert_eq!(Reply::decode(&bad_proto), Err(DecodeError::Protocol(99)));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_without_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let _ = Reply::decode(&data);
        }
    }
}
