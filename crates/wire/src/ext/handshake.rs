//! The BEP 10 extension handshake: the bencoded dictionary sent as extended message 0.
//!
//! Decoding is lenient, as BEP 10 asks: unknown keys are ignored and a known key with a value
//! of the wrong type or out of range reads as absent. Only a payload that is not a bencoded
//! dictionary is an error.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use shoal_bencode::{Dict, Owned};

use crate::WireError;

/// At most this many `m` entries are kept; a real client announces a handful, and the cap
/// bounds what a hostile one can make us store per peer.
const MAX_M_ENTRIES: usize = 128;

/// What a peer says about itself after the handshake: which extensions it speaks (and
/// under which ids), its client name, listen port, request queue depth and metadata size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtHandshake {
    /// Extension name to the id the sender wants for messages of that kind; id 0 means the
    /// extension is disabled. Decoded entries are sorted by name, first of duplicates kept.
    pub m: Vec<(String, u8)>,
    /// `v`: client name and version.
    pub client: Option<String>,
    /// `p`: the sender's TCP listen port.
    pub listen_port: Option<u16>,
    /// `reqq`: how many outstanding requests the sender accepts.
    pub reqq: Option<u32>,
    /// BEP 9 `metadata_size`: length of the info dictionary in bytes. Untrusted: bound it
    /// before allocating.
    pub metadata_size: Option<u64>,
    /// `yourip`: our address as the sender sees it.
    pub yourip: Option<IpAddr>,
    /// BEP 21 `upload_only`: the sender is a seed or partial seed and will not download.
    pub upload_only: bool,
}

impl ExtHandshake {
    /// Reads the payload of extended message 0; fails only when it is not a bencoded
    /// dictionary.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        // Any bytes after the dictionary are ignored rather than fatal.
        let (value, _used) = shoal_bencode::decode_prefix(payload)?;
        let dict = value.as_dict().ok_or(WireError::BadExtension(
            "extension handshake is not a dictionary",
        ))?;
        Ok(ExtHandshake {
            m: dict
                .get(b"m")
                .and_then(|m| m.as_dict())
                .map(decode_m)
                .unwrap_or_default(),
            client: dict
                .get(b"v")
                .and_then(|v| v.as_bytes())
                .map(|v| String::from_utf8_lossy(v).into_owned()),
            listen_port: int(dict, b"p")
                .and_then(|p| u16::try_from(p).ok())
                .filter(|&p| p != 0),
            reqq: int(dict, b"reqq").and_then(|n| u32::try_from(n).ok()),
            metadata_size: int(dict, b"metadata_size").and_then(|n| u64::try_from(n).ok()),
            yourip: dict
                .get(b"yourip")
                .and_then(|v| v.as_bytes())
                .and_then(ip_from_compact),
            upload_only: int(dict, b"upload_only").is_some_and(|n| n != 0),
        })
    }

    /// The payload to send as extended message 0 (absent fields are left out).
    pub fn encode(&self) -> Bytes {
        let mut dict = BTreeMap::new();
        let m = self
            .m
            .iter()
            .map(|(name, id)| (name.as_bytes().to_vec(), Owned::Int(i64::from(*id))))
            .collect();
        dict.insert(b"m".to_vec(), Owned::Dict(m));
        if let Some(client) = &self.client {
            dict.insert(b"v".to_vec(), Owned::Bytes(client.as_bytes().to_vec()));
        }
        if let Some(port) = self.listen_port {
            dict.insert(b"p".to_vec(), Owned::Int(i64::from(port)));
        }
        if let Some(reqq) = self.reqq {
            dict.insert(b"reqq".to_vec(), Owned::Int(i64::from(reqq)));
        }
        if let Some(size) = self.metadata_size {
            // Sizes beyond i64 cannot be bencoded; no real info dictionary comes close.
            dict.insert(
                b"metadata_size".to_vec(),
                Owned::Int(i64::try_from(size).unwrap_or(i64::MAX)),
            );
        }
        if let Some(ip) = self.yourip {
            let compact = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            dict.insert(b"yourip".to_vec(), Owned::Bytes(compact));
        }
        if self.upload_only {
            dict.insert(b"upload_only".to_vec(), Owned::Int(1));
        }
        Bytes::from(Owned::Dict(dict).encode())
    }

    /// The id to use when sending extension `name` to this peer; `None` when the peer does not
    /// support it or disabled it (id 0).
    pub fn id_of(&self, name: &str) -> Option<u8> {
        self.m
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, id)| id)
            .filter(|&id| id != 0)
    }
}

fn int(dict: &Dict<'_>, key: &[u8]) -> Option<i64> {
    dict.get(key)?.as_int()
}

/// Keeps entries whose name is UTF-8 and whose id fits a byte.
fn decode_m(m: &Dict<'_>) -> Vec<(String, u8)> {
    let mut entries: Vec<(String, u8)> = Vec::new();
    for (name, id) in m.iter() {
        let Some(name) = std::str::from_utf8(name).ok() else {
            continue;
        };
        let Some(id) = id.as_int().and_then(|id| u8::try_from(id).ok()) else {
            continue;
        };
        if entries.iter().any(|(n, _)| n == name) {
            continue;
        }
        entries.push((name.to_owned(), id));
        if entries.len() == MAX_M_ENTRIES {
            break;
        }
    }
    entries.sort();
    entries
}

fn ip_from_compact(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(v6)))
    } else {
        None
    }
}
