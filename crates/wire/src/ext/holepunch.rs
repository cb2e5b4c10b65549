//! ut_holepunch (BEP 55) payloads: a fixed binary layout, not bencode.
//!
//! ```text
//! msg_type (1) | addr_type (1: 0 IPv4, 1 IPv6) | addr (4 or 16) | port (2) | err_code (4)
//! ```
//!
//! BEP 55 puts `err_code` (0 outside errors) on every message; libtorrent writes it only on
//! errors. So it is always written, and read only where it means something: a rendezvous
//! or connect without it decodes, an error without it does not. Bytes past the message are
//! ignored, as libtorrent ignores them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

use crate::WireError;

const RENDEZVOUS: u8 = 0x00;
const CONNECT: u8 = 0x01;
const ERROR: u8 = 0x02;
const ADDR_V4: u8 = 0x00;
const ADDR_V6: u8 = 0x01;

/// Why a relay could not act on a rendezvous (BEP 55 error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolepunchErrorCode {
    /// 1: the target endpoint is invalid.
    NoSuchPeer,
    /// 2: the relay is not connected to the target.
    NotConnected,
    /// 3: the target does not support ut_holepunch.
    NoSupport,
    /// 4: the target is the relay itself (libtorrent: the peer that asked).
    NoSelf,
    /// Any other code: kept, so that it can be logged.
    Other(u32),
}

impl HolepunchErrorCode {
    fn from_u32(code: u32) -> Self {
        match code {
            1 => Self::NoSuchPeer,
            2 => Self::NotConnected,
            3 => Self::NoSupport,
            4 => Self::NoSelf,
            other => Self::Other(other),
        }
    }

    fn to_u32(self) -> u32 {
        match self {
            Self::NoSuchPeer => 1,
            Self::NotConnected => 2,
            Self::NoSupport => 3,
            Self::NoSelf => 4,
            Self::Other(code) => code,
        }
    }
}

/// One ut_holepunch message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolepunchMsg {
    /// To a relay: send connect messages to us and to the peer at this endpoint.
    Rendezvous(SocketAddr),
    /// From a relay: open a uTP connection to this endpoint now (the peer there does the
    /// same towards us).
    Connect(SocketAddr),
    /// From a relay: the rendezvous for this endpoint cannot be done.
    Error {
        /// The endpoint of the rendezvous, as it was sent.
        addr: SocketAddr,
        /// Why.
        code: HolepunchErrorCode,
    },
}

impl HolepunchMsg {
    /// Reads a ut_holepunch payload.
    ///
    /// Errors: [`WireError::UnknownHolepunchMsgType`] for a message type BEP 55 does not
    /// define (ignore the message, as for ut_metadata), [`WireError::BadHolepunch`] for a
    /// short payload or an unknown address type.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        let [msg_type, addr_type, rest @ ..] = payload else {
            return Err(WireError::BadHolepunch("shorter than its header"));
        };
        if *msg_type > ERROR {
            return Err(WireError::UnknownHolepunchMsgType(*msg_type));
        }
        let (ip, rest): (IpAddr, &[u8]) = match *addr_type {
            ADDR_V4 => {
                let (ip, rest) = rest
                    .split_first_chunk::<4>()
                    .ok_or(WireError::BadHolepunch("IPv4 address cut short"))?;
                (Ipv4Addr::from(*ip).into(), rest)
            }
            ADDR_V6 => {
                let (ip, rest) = rest
                    .split_first_chunk::<16>()
                    .ok_or(WireError::BadHolepunch("IPv6 address cut short"))?;
                (Ipv6Addr::from(*ip).into(), rest)
            }
            _ => return Err(WireError::BadHolepunch("unknown address type")),
        };
        let (port, rest) = rest
            .split_first_chunk::<2>()
            .ok_or(WireError::BadHolepunch("port cut short"))?;
        let addr = SocketAddr::new(ip, u16::from_be_bytes(*port));
        Ok(match *msg_type {
            RENDEZVOUS => Self::Rendezvous(addr),
            CONNECT => Self::Connect(addr),
            _ => {
                let (code, _) = rest
                    .split_first_chunk::<4>()
                    .ok_or(WireError::BadHolepunch("error code cut short"))?;
                Self::Error {
                    addr,
                    code: HolepunchErrorCode::from_u32(u32::from_be_bytes(*code)),
                }
            }
        })
    }

    /// The payload, with `err_code` always present (0 outside errors), as BEP 55 lays it out.
    pub fn encode(&self) -> Bytes {
        let (msg_type, addr, code) = match *self {
            Self::Rendezvous(addr) => (RENDEZVOUS, addr, 0),
            Self::Connect(addr) => (CONNECT, addr, 0),
            Self::Error { addr, code } => (ERROR, addr, code.to_u32()),
        };
        let mut out = BytesMut::with_capacity(24);
        out.put_u8(msg_type);
        match addr.ip() {
            IpAddr::V4(ip) => {
                out.put_u8(ADDR_V4);
                out.put_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.put_u8(ADDR_V6);
                out.put_slice(&ip.octets());
            }
        }
        out.put_u16(addr.port());
        out.put_u32(code);
        out.freeze()
    }

    /// The endpoint the message names.
    pub fn addr(&self) -> SocketAddr {
        match *self {
            Self::Rendezvous(addr) | Self::Connect(addr) | Self::Error { addr, .. } => addr,
        }
    }
}
