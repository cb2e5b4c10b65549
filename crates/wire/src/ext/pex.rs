//! ut_pex (BEP 11) payloads: peers the sender connected to (`added`, `added6`, with one flag
//! byte each in `added.f`, `added6.f`) and disconnected from (`dropped`, `dropped6`), in the
//! compact forms of 6 bytes (IPv4 + port) and 18 bytes (IPv6 + port).
//!
//! Decoding is lenient (PEX is only a hint): a missing or mistyped field reads as empty and a
//! trailing partial entry is ignored. Each list keeps at most [`PEX_MAX_ENTRIES`] entries, to
//! bound what one message can make us store.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use bytes::Bytes;
use shoal_bencode::{Dict, Owned};

use crate::WireError;

/// Entries kept per list (`added`, `added6`, `dropped`, `dropped6`) when decoding. BEP 11 asks
/// senders for at most 50 per message after the first.
pub const PEX_MAX_ENTRIES: usize = 200;

const V4_LEN: usize = 6;
const V6_LEN: usize = 18;

/// BEP 11 flag bits of `added_flags`.
pub mod flags {
    /// The peer prefers encrypted connections (MSE).
    pub const PREFERS_ENCRYPTION: u8 = 0x01;
    /// The peer is a seed or upload-only: no use connecting to it when seeding ourselves.
    pub const SEED: u8 = 0x02;
    /// The peer speaks uTP (BEP 29).
    pub const SUPPORTS_UTP: u8 = 0x04;
    /// The peer supports ut_holepunch (BEP 55).
    pub const HOLEPUNCH: u8 = 0x08;
    /// The sender reached the peer by connecting out, so it accepts incoming connections.
    pub const REACHABLE: u8 = 0x10;
}

/// One ut_pex message: peers of the same torrent the sender has connected to and
/// disconnected from since its last message (the first message lists all current peers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PexMsg {
    /// Decoded: the IPv4 peers first, then the IPv6 ones.
    pub added: Vec<SocketAddr>,
    /// One flag byte per `added` entry, same order ([`flags`]). Decoded: always as long as
    /// `added` (0 where the sender gave none). Encoded: missing entries are sent as 0.
    pub added_flags: Vec<u8>,
    /// Peers the sender has disconnected from (IPv4 first when decoded).
    pub dropped: Vec<SocketAddr>,
}

impl PexMsg {
    /// Reads a ut_pex payload; fails only when it is not a bencoded dictionary.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        let (value, _used) = shoal_bencode::decode_prefix(payload)?;
        let dict = value.as_dict().ok_or(WireError::BadExtension(
            "ut_pex message is not a dictionary",
        ))?;

        let added4 = peers(dict, b"added", V4_LEN);
        let added6 = peers(dict, b"added6", V6_LEN);
        let mut added_flags = flags_for(dict, b"added.f", added4.len());
        added_flags.extend(flags_for(dict, b"added6.f", added6.len()));
        let mut added = added4;
        added.extend(added6);

        let mut dropped = peers(dict, b"dropped", V4_LEN);
        dropped.extend(peers(dict, b"dropped6", V6_LEN));
        Ok(PexMsg {
            added,
            added_flags,
            dropped,
        })
    }

    /// Always writes all six keys (possibly empty), so the message has the fields BEP 11
    /// requires even when there is nothing to report.
    pub fn encode(&self) -> Bytes {
        let mut added4 = Vec::new();
        let mut added4_flags = Vec::new();
        let mut added6 = Vec::new();
        let mut added6_flags = Vec::new();
        for (i, addr) in self.added.iter().enumerate() {
            let flag = self.added_flags.get(i).copied().unwrap_or(0);
            match addr {
                SocketAddr::V4(_) => {
                    push_compact(&mut added4, addr);
                    added4_flags.push(flag);
                }
                SocketAddr::V6(_) => {
                    push_compact(&mut added6, addr);
                    added6_flags.push(flag);
                }
            }
        }
        let mut dropped4 = Vec::new();
        let mut dropped6 = Vec::new();
        for addr in &self.dropped {
            match addr {
                SocketAddr::V4(_) => push_compact(&mut dropped4, addr),
                SocketAddr::V6(_) => push_compact(&mut dropped6, addr),
            }
        }
        let dict: BTreeMap<Vec<u8>, Owned> = [
            (&b"added"[..], added4),
            (b"added.f", added4_flags),
            (b"added6", added6),
            (b"added6.f", added6_flags),
            (b"dropped", dropped4),
            (b"dropped6", dropped6),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_vec(), Owned::Bytes(value)))
        .collect();
        Bytes::from(Owned::Dict(dict).encode())
    }
}

/// Parses up to [`PEX_MAX_ENTRIES`] compact addresses of `entry_len` bytes from `dict[key]`.
fn peers(dict: &Dict<'_>, key: &[u8], entry_len: usize) -> Vec<SocketAddr> {
    let Some(bytes) = dict.get(key).and_then(|v| v.as_bytes()) else {
        return Vec::new();
    };
    bytes
        .chunks_exact(entry_len)
        .take(PEX_MAX_ENTRIES)
        .filter_map(addr_from_compact)
        .collect()
}

/// The flag bytes in `dict[key]`, cut or zero-padded to `count`.
fn flags_for(dict: &Dict<'_>, key: &[u8], count: usize) -> Vec<u8> {
    let given = dict.get(key).and_then(|v| v.as_bytes()).unwrap_or_default();
    let mut out: Vec<u8> = given.iter().copied().take(count).collect();
    out.resize(count, 0);
    out
}

fn addr_from_compact(entry: &[u8]) -> Option<SocketAddr> {
    let (ip, port) = entry.split_last_chunk::<2>()?;
    let port = u16::from_be_bytes(*port);
    if let Ok(v4) = <[u8; 4]>::try_from(ip) {
        Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(v4), port)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(ip) {
        Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(v6),
            port,
            0,
            0,
        )))
    } else {
        None
    }
}

fn push_compact(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr {
        SocketAddr::V4(a) => out.extend_from_slice(&a.ip().octets()),
        SocketAddr::V6(a) => out.extend_from_slice(&a.ip().octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}
