//! Magnet links (BEP 9): parsing and formatting `magnet:?xt=urn:btih:...` URIs.

use crate::InfoHash;
use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    pub info_hash: InfoHash,
    /// `dn`
    pub name: Option<String>,
    /// `xl`
    pub length: Option<u64>,
    /// `tr`, in order
    pub trackers: Vec<String>,
    /// `x.pe` peer hints
    pub peers: Vec<SocketAddr>,
}
