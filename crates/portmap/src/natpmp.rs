//! NAT-PMP (RFC 6886): requests to the gateway's UDP port [`crate::SERVER_PORT`] and its
//! answers.
//!
//! A request is 2 bytes (external address) or 12 (map a port); an answer starts with
//! version 0, the request's opcode + 128 and a result code. A mapping is deleted by mapping
//! it again with lifetime 0 and external port 0 (§3.4). The client retransmits after 250 ms,
//! doubling ([`RETRANSMIT_INITIAL`]); the RFC's nine tries take a minute, which the runtime
//! cuts short.

use crate::Transport;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The protocol version NAT-PMP messages carry.
pub const VERSION: u8 = 0;
/// First retransmission interval (RFC 6886 §3.1), doubled after each try.
pub const RETRANSMIT_INITIAL: Duration = Duration::from_millis(250);
/// The lifetime RFC 6886 recommends asking for (§3.3): two hours.
pub const RECOMMENDED_LIFETIME: u32 = 7200;

/// A request to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// "What is your external address?" (opcode 0).
    ExternalAddress,
    /// Map `internal_port` (opcode 1 for UDP, 2 for TCP); lifetime 0 deletes.
    Map {
        /// TCP or UDP.
        transport: Transport,
        /// Our port on the LAN.
        internal_port: u16,
        /// The external port we would like (0: any; also 0 when deleting).
        suggested_external_port: u16,
        /// Seconds the mapping should last; 0 deletes it.
        lifetime: u32,
    },
}

impl Request {
    /// The request's bytes (2 or 12).
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            Request::ExternalAddress => vec![VERSION, 0],
            Request::Map {
                transport,
                internal_port,
                suggested_external_port,
                lifetime,
            } => {
                let mut out = Vec::with_capacity(12);
                out.extend_from_slice(&[VERSION, opcode(transport), 0, 0]);
                out.extend_from_slice(&internal_port.to_be_bytes());
                out.extend_from_slice(&suggested_external_port.to_be_bytes());
                out.extend_from_slice(&lifetime.to_be_bytes());
                out
            }
        }
    }
}

fn opcode(transport: Transport) -> u8 {
    match transport {
        Transport::Udp => 1,
        Transport::Tcp => 2,
    }
}

/// A result code other than success (RFC 6886 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResultCode {
    /// 1: the gateway does not speak this version (a PCP-only server answers so).
    #[error("unsupported version")]
    UnsupportedVersion,
    /// 2: mapping is turned off or refused for us.
    #[error("not authorized or refused")]
    NotAuthorized,
    /// 3: the gateway has no external address (its own uplink is down).
    #[error("network failure")]
    NetworkFailure,
    /// 4: the gateway cannot create more mappings.
    #[error("out of resources")]
    OutOfResources,
    /// 5: the gateway does not know the opcode.
    #[error("unsupported opcode")]
    UnsupportedOpcode,
    /// Any other code.
    #[error("result code {0}")]
    Other(u16),
}

impl ResultCode {
    fn from_code(code: u16) -> Option<ResultCode> {
        Some(match code {
            0 => return None,
            1 => ResultCode::UnsupportedVersion,
            2 => ResultCode::NotAuthorized,
            3 => ResultCode::NetworkFailure,
            4 => ResultCode::OutOfResources,
            5 => ResultCode::UnsupportedOpcode,
            n => ResultCode::Other(n),
        })
    }
}

/// A successful answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// The gateway's external address.
    ExternalAddress {
        /// Seconds since the gateway's mapping table was (re)started.
        epoch: u32,
        /// The gateway's public IPv4 address.
        address: Ipv4Addr,
    },
    /// A mapping granted (or, with lifetime 0, deleted).
    Map {
        /// TCP or UDP.
        transport: Transport,
        /// Seconds since the gateway's mapping table was (re)started.
        epoch: u32,
        /// Our port the mapping leads to.
        internal_port: u16,
        /// The port the gateway opened on its external address.
        external_port: u16,
        /// Seconds the mapping lasts (0 when it was deleted).
        lifetime: u32,
    },
}

/// Why a datagram is not a successful NAT-PMP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its opcode's answer (12 or 16 bytes).
    #[error("truncated answer ({0} bytes)")]
    Truncated(usize),
    /// Not version 0.
    #[error("version {0}, not NAT-PMP's 0")]
    Version(u8),
    /// An opcode that is not an answer (below 128) or not one we know.
    #[error("opcode {0} is not an answer we asked for")]
    Opcode(u8),
    /// The gateway answered with an error.
    #[error("gateway says: {0}")]
    Result(ResultCode),
}

impl Response {
    /// Parses an answer. Bytes past the answer's length are ignored (RFC 6886 §3.2 lets
    /// later versions append).
    pub fn decode(data: &[u8]) -> Result<Response, DecodeError> {
        if data.len() < 4 {
            return Err(DecodeError::Truncated(data.len()));
        }
        if data[0] != VERSION {
            return Err(DecodeError::Version(data[0]));
        }
        let op = data[1];
        if op < 128 {
            return Err(DecodeError::Opcode(op));
        }
        let result = u16::from_be_bytes([data[2], data[3]]);
        if let Some(code) = ResultCode::from_code(result) {
            // An error answer may be as short as its header (RFC 6886 §3.5: an
            // "unsupported version" answer carries only the first 8 bytes or so).
            return Err(DecodeError::Result(code));
        }
        let be32 =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let be16 = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
        match op - 128 {
            0 => {
                if data.len() < 12 {
                    return Err(DecodeError::Truncated(data.len()));
                }
                Ok(Response::ExternalAddress {
                    epoch: be32(4),
                    address: Ipv4Addr::new(data[8], data[9], data[10], data[11]),
                })
            }
            n @ (1 | 2) => {
                if data.len() < 16 {
                    return Err(DecodeError::Truncated(data.len()));
                }
                Ok(Response::Map {
                    transport: if n == 1 {
                        Transport::Udp
                    } else {
                        Transport::Tcp
                    },
                    epoch: be32(4),
                    internal_port: be16(8),
                    external_port: be16(10),
                    lifetime: be32(12),
                })
            }
            _ => Err(DecodeError::Opcode(op)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_encode_as_the_rfc_lays_them_out() {
        assert_eq!(Request::ExternalAddress.encode(), [0, 0]);
        let map = Request::Map {
            transport: Transport::Tcp,
            internal_port: 40001,
            suggested_external_port: 40001,
            lifetime: 7200,
        };
        assert_eq!(
            map.encode(),
            [0, 2, 0, 0, 0x9c, 0x41, 0x9c, 0x41, 0, 0, 0x1c, 0x20]
        );
        let delete = Request::Map {
            transport: Transport::Udp,
            internal_port: 1,
            suggested_external_port: 0,
            lifetime: 0,
        };
        assert_eq!(delete.encode(), [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn answers_decode() {
        let ext = [0, 128, 0, 0, 0, 0, 0, 9, 80, 100, 100, 11];
        assert_eq!(
            Response::decode(&ext),
            Ok(Response::ExternalAddress {
                epoch: 9,
                address: Ipv4Addr::new(80, 100, 100, 11)
            })
        );
        let map = [
            0, 130, 0, 0, 0, 0, 0, 9, 0x9c, 0x41, 0x9c, 0x42, 0, 0, 0x1c, 0x20, 99,
        ];
        assert_eq!(
            Response::decode(&map),
            Ok(Response::Map {
                transport: Transport::Tcp,
                epoch: 9,
                internal_port: 40001,
                external_port: 40002,
                lifetime: 7200
            })
        );
    }

    #[test]
    fn bad_answers_are_errors() {
        assert_eq!(Response::decode(&[]), Err(DecodeError::Truncated(0)));
        assert_eq!(
            Response::decode(&[0, 130, 0, 0, 0, 0, 0, 9, 1]),
            Err(DecodeError::Truncated(9))
        );
        assert_eq!(
            Response::decode(&[2, 130, 0, 0]),
            Err(DecodeError::Version(2))
        );
        assert_eq!(Response::decode(&[0, 2, 0, 0]), Err(DecodeError::Opcode(2)));
        assert_eq!(
            Response::decode(&[0, 131, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(DecodeError::Opcode(131))
        );
        assert_eq!(
            Response::decode(&[0, 129, 0, 1, 0, 0, 0, 0]),
            Err(DecodeError::Result(ResultCode::UnsupportedVersion))
        );
        assert_eq!(
            Response::decode(&[0, 129, 0, 77]),
            Err(DecodeError::Result(ResultCode::Other(77)))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_without_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let _ = Response::decode(&data);
        }
    }
}
