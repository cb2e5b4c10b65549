//! ut_metadata (BEP 9) payloads: request, data and reject for 16 KiB pieces of the info
//! dictionary. A data message is a bencoded dictionary immediately followed by the piece bytes,
//! which are sliced out of the payload without copying.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use shoal_bencode::Owned;

use super::METADATA_PIECE_LEN;
use crate::WireError;

const MSG_REQUEST: i64 = 0;
const MSG_DATA: i64 = 1;
const MSG_REJECT: i64 = 2;

/// One ut_metadata message: how a peer that has only a magnet link fetches the torrent's
/// info dictionary, 16 KiB at a time, from peers that have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataMsg {
    /// Asks the receiver for one piece of the info dictionary.
    Request {
        /// Which 16 KiB piece of the info dictionary is wanted (0-based).
        piece: u32,
    },
    /// One piece of the info dictionary. `data` is at most [`METADATA_PIECE_LEN`] bytes;
    /// `total_size` is untrusted and must be checked against the handshake's
    /// `metadata_size` by the caller.
    Data {
        /// Which piece of the info dictionary this is.
        piece: u32,
        /// Length of the whole info dictionary as the sender states it.
        total_size: u64,
        /// The piece's bytes, a zero-copy slice of the message payload.
        data: Bytes,
    },
    /// The sender will not send this piece (it lacks the metadata or limits requests).
    Reject {
        /// The piece that was refused.
        piece: u32,
    },
}

impl MetadataMsg {
    /// Decodes one ut_metadata payload. An unknown `msg_type` yields
    /// [`WireError::UnknownMetadataMsgType`], which BEP 9 says to ignore, not punish.
    pub fn decode(payload: &Bytes) -> Result<Self, WireError> {
        let (value, dict_len) = shoal_bencode::decode_prefix(payload)?;
        let dict = value.as_dict().ok_or(WireError::BadExtension(
            "ut_metadata message is not a dictionary",
        ))?;
        let msg_type =
            dict.get(b"msg_type")
                .and_then(|v| v.as_int())
                .ok_or(WireError::BadExtension(
                    "ut_metadata message has no msg_type",
                ))?;
        let piece = dict
            .get(b"piece")
            .and_then(|v| v.as_int())
            .and_then(|p| u32::try_from(p).ok())
            .ok_or(WireError::BadExtension(
                "ut_metadata message has no valid piece",
            ))?;
        match msg_type {
            MSG_REQUEST => Ok(MetadataMsg::Request { piece }),
            MSG_REJECT => Ok(MetadataMsg::Reject { piece }),
            MSG_DATA => {
                let total_size = dict
                    .get(b"total_size")
                    .and_then(|v| v.as_int())
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or(WireError::BadExtension(
                        "ut_metadata data message has no valid total_size",
                    ))?;
                if dict_len > payload.len() {
                    return Err(WireError::BadExtension(
                        "ut_metadata dictionary overruns payload",
                    ));
                }
                let data = payload.slice(dict_len..);
                if data.len() > METADATA_PIECE_LEN {
                    return Err(WireError::BadExtension(
                        "ut_metadata data message carries more than 16 KiB",
                    ));
                }
                Ok(MetadataMsg::Data {
                    piece,
                    total_size,
                    data,
                })
            }
            other => Err(WireError::UnknownMetadataMsgType(other)),
        }
    }

    /// The payload to send inside an extended message with the peer's ut_metadata id.
    pub fn encode(&self) -> Bytes {
        let (msg_type, piece) = match self {
            MetadataMsg::Request { piece } => (MSG_REQUEST, piece),
            MetadataMsg::Data { piece, .. } => (MSG_DATA, piece),
            MetadataMsg::Reject { piece } => (MSG_REJECT, piece),
        };
        let mut dict = BTreeMap::new();
        dict.insert(b"msg_type".to_vec(), Owned::Int(msg_type));
        dict.insert(b"piece".to_vec(), Owned::Int(i64::from(*piece)));
        let MetadataMsg::Data {
            total_size, data, ..
        } = self
        else {
            return Bytes::from(Owned::Dict(dict).encode());
        };
        dict.insert(
            b"total_size".to_vec(),
            Owned::Int(i64::try_from(*total_size).unwrap_or(i64::MAX)),
        );
        let header = Owned::Dict(dict).encode();
        let mut out = BytesMut::with_capacity(header.len() + data.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.freeze()
    }
}
