//! KRPC, the DHT's message format (BEP 5): bencoded dictionaries over UDP, one per
//! datagram, with the extensions of BEP 32 (`nodes6`, `want`), BEP 42 (`ip`), BEP 43
//! (`ro`) and BEP 44 (`get`, `put`).
//!
//! [`Message::decode`] accepts any input without panicking and allocates at most a few
//! bounded lists (the caps below); [`Message::encode`] writes canonical bencoding (sorted
//! keys). Responses are not typed by method on the wire (only the transaction id ties them
//! to a query), so [`Response`] carries every optional field any method answers with.

mod decode;
mod encode;

pub(crate) use decode::canonical_value as canonical;

use crate::compact::NodeInfo;
use crate::id::NodeId;
use std::net::SocketAddr;

/// Longest transaction id we accept and echo. libtorrent sends 2 bytes, others 4; 16 is
/// room for anyone reasonable while keeping the id inline.
pub const MAX_TID_LEN: usize = 16;
/// Most entries decoded from one `nodes` or `nodes6` string (8 is the norm; a few more
/// from generous nodes are harmless, a thousand are not).
pub const MAX_NODES: usize = 16;
/// Most peers decoded from one `values` list.
pub const MAX_VALUES: usize = 200;
/// Longest client version string (`v`) kept; longer ones are ignored.
pub const MAX_VERSION_LEN: usize = 16;
/// Longest token accepted (libtorrent sends 4 bytes, we send 8).
pub const MAX_TOKEN_LEN: usize = 32;
/// Longest BEP 44 value, bencoded (BEP 44: 1,000 bytes).
pub const MAX_VALUE_LEN: usize = 1000;
/// Longest BEP 44 salt.
pub const MAX_SALT_LEN: usize = 64;
/// Longest unknown method name kept (for the error reply and logs).
pub const MAX_METHOD_LEN: usize = 32;
/// Longest error message kept.
pub const MAX_ERROR_MESSAGE_LEN: usize = 256;

/// A transaction id: 0 to [`MAX_TID_LEN`] bytes, echoed byte for byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Tid {
    len: u8,
    bytes: [u8; MAX_TID_LEN],
}

impl Tid {
    /// The id from these bytes, `None` when longer than [`MAX_TID_LEN`].
    pub fn new(b: &[u8]) -> Option<Tid> {
        if b.len() > MAX_TID_LEN {
            return None;
        }
        let mut bytes = [0u8; MAX_TID_LEN];
        bytes[..b.len()].copy_from_slice(b);
        Some(Tid {
            len: b.len() as u8,
            bytes,
        })
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Debug for Tid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tid(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// One KRPC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Transaction id (`t`).
    pub tid: Tid,
    /// Client version (`v`, top level), when present and short.
    pub version: Option<Vec<u8>>,
    /// BEP 43: the sender is read-only (`ro=1`) and must not be added to tables.
    pub read_only: bool,
    /// BEP 42: the recipient's address as the sender sees it (`ip`), in responses.
    pub ip: Option<SocketAddr>,
    /// The query, response or error.
    pub body: Body,
}

/// What a message is (`y`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `y=q`.
    Query(Query),
    /// `y=r`.
    Response(Response),
    /// `y=e`.
    Error(ErrorBody),
}

/// A query: the sender's id, BEP 32's `want`, and the method with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The querying node's id.
    pub id: NodeId,
    /// BEP 32 `want`: which families of nodes to return.
    pub want: Want,
    /// Method and arguments.
    pub method: Method,
}

/// BEP 32 `want`. Neither set means "the family the query came on".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Want {
    /// `n4`: IPv4 nodes in `nodes`.
    pub v4: bool,
    /// `n6`: IPv6 nodes in `nodes6`.
    pub v6: bool,
}

/// A query's method and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `ping`.
    Ping,
    /// `find_node` for `target`.
    FindNode {
        /// The id sought.
        target: NodeId,
    },
    /// `get_peers` for an info-hash.
    GetPeers {
        /// The torrent.
        info_hash: NodeId,
    },
    /// `announce_peer`.
    AnnouncePeer {
        /// The torrent.
        info_hash: NodeId,
        /// The port given (ignored by the recipient when `implied_port`).
        port: u16,
        /// `implied_port=1`: use the datagram's source port (the NAT's external port).
        implied_port: bool,
        /// The token from an earlier `get_peers` answer.
        token: Vec<u8>,
    },
    /// BEP 44 `get`.
    Get {
        /// SHA-1 of the value (immutable) or of `k` + salt (mutable).
        target: NodeId,
        /// Only return a mutable item newer than this.
        seq: Option<i64>,
    },
    /// BEP 44 `put`.
    Put(PutArgs),
    /// Any other method (answered with error 204). The name is cut at [`MAX_METHOD_LEN`].
    Unknown(Vec<u8>),
}

/// The arguments of a BEP 44 `put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutArgs {
    /// The token from an earlier `get` answer.
    pub token: Vec<u8>,
    /// The value, bencoded (canonical, at most [`MAX_VALUE_LEN`] bytes).
    pub value: Vec<u8>,
    /// Present for a mutable item.
    pub mutable: Option<MutableFields>,
}

/// The fields a mutable item adds (BEP 44).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutableFields {
    /// ed25519 public key.
    pub key: [u8; 32],
    /// Sequence number.
    pub seq: i64,
    /// Signature over salt, seq and value.
    pub sig: [u8; 64],
    /// Salt (empty when absent).
    pub salt: Vec<u8>,
    /// Compare-and-swap: the sequence number being replaced.
    pub cas: Option<i64>,
}

/// A response (`r`): every field any method may return.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The responder's id.
    pub id: NodeId,
    /// IPv4 nodes (`nodes`).
    pub nodes: Vec<NodeInfo>,
    /// IPv6 nodes (`nodes6`).
    pub nodes6: Vec<NodeInfo>,
    /// Peers (`values`).
    pub values: Vec<SocketAddr>,
    /// Write token (`token`).
    pub token: Option<Vec<u8>>,
    /// BEP 44 value (`v`), bencoded.
    pub value: Option<Vec<u8>>,
    /// BEP 44 public key (`k`).
    pub key: Option<[u8; 32]>,
    /// BEP 44 sequence number (`seq`).
    pub seq: Option<i64>,
    /// BEP 44 signature (`sig`).
    pub sig: Option<[u8; 64]>,
}

/// An error reply (`e`): a code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// 201 generic, 202 server, 203 protocol, 204 method unknown; BEP 44 adds 205-207,
    /// 301, 302.
    pub code: i64,
    /// Human-readable text.
    pub message: String,
}

/// Error codes of BEP 5 and BEP 44.
pub mod code {
    /// Generic error.
    pub const GENERIC: i64 = 201;
    /// Server error.
    pub const SERVER: i64 = 202;
    /// Protocol error: malformed packet, invalid arguments, bad token.
    pub const PROTOCOL: i64 = 203;
    /// Method unknown.
    pub const METHOD_UNKNOWN: i64 = 204;
    /// BEP 44: value too big.
    pub const VALUE_TOO_BIG: i64 = 205;
    /// BEP 44: invalid signature.
    pub const INVALID_SIGNATURE: i64 = 206;
    /// BEP 44: salt too big.
    pub const SALT_TOO_BIG: i64 = 207;
    /// BEP 44: compare-and-swap mismatch.
    pub const CAS_MISMATCH: i64 = 301;
    /// BEP 44: sequence number older than the stored one.
    pub const SEQ_TOO_OLD: i64 = 302;
}

/// Why a datagram is not a usable KRPC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not bencoding, or not a dictionary.
    #[error("not a bencoded dictionary")]
    NotKrpc,
    /// No `t`, or one longer than [`MAX_TID_LEN`].
    #[error("missing or oversized transaction id")]
    BadTid,
    /// `y` missing or unknown.
    #[error("missing or unknown message type")]
    BadType,
    /// A query we can answer with error 203: its transaction id is kept for the reply.
    #[error("malformed query: {reason}")]
    BadQuery {
        /// The query's transaction id.
        tid: Tid,
        /// What was wrong.
        reason: &'static str,
    },
    /// A response or error without its required fields.
    #[error("malformed reply: {0}")]
    BadReply(&'static str),
}

impl Message {
    /// Decodes one datagram.
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        decode::message(buf)
    }

    /// Appends the canonical bencoding of the message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::message(self, out)
    }

    /// The bencoding in a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests;
