//! Framing of peer-wire messages: `<u32 big-endian length><u8 id><payload>` (BEP 3, BEP 6, BEP 10).
//!
//! [`Decoder`] takes whole messages off the front of a receive buffer. It checks the length
//! prefix against the limit and the id's fixed length as soon as the first five bytes arrive,
//! before any body is buffered, so a hostile length cannot make us allocate. Bitfield, Piece
//! and Extended payloads are zero-copy slices of the receive buffer.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::message::{id, BlockInfo, Message};
use crate::WireError;

/// Default frame limit: a 1 MiB bitfield (8 Mi pieces) plus header room. Block messages are
/// far smaller (16 KiB + 13), but the bitfield of a huge torrent must still fit.
pub const MAX_MESSAGE_LEN: u32 = (1 << 20) + 16;

/// Bytes of the length prefix.
const PREFIX_LEN: usize = 4;
/// Length prefix + id + index + begin: everything of a Piece message before its data.
const PIECE_HEADER_LEN: usize = 13;

/// Stateless apart from its limit; after it returns an error the stream is out of sync and the
/// connection must be closed.
#[derive(Debug, Clone)]
pub struct Decoder {
    max_message_len: u32,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(MAX_MESSAGE_LEN)
    }
}

impl Decoder {
    /// `max_message_len` bounds the length prefix (id + payload); longer frames are an error.
    pub fn new(max_message_len: u32) -> Decoder {
        Decoder { max_message_len }
    }

    /// Takes one complete message off the front of `buf` if present. Returns `Ok(None)` and
    /// leaves `buf` untouched (apart from reserving room for the rest of the frame) when the
    /// message is still incomplete.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, WireError> {
        let Some(len) = buf.first_chunk::<4>().map(|b| u32::from_be_bytes(*b)) else {
            return Ok(None);
        };
        if len == 0 {
            buf.advance(PREFIX_LEN);
            return Ok(Some(Message::KeepAlive));
        }
        if len > self.max_message_len {
            return Err(WireError::MessageTooLong {
                len,
                max: self.max_message_len,
            });
        }
        let Some(&msg_id) = buf.get(PREFIX_LEN) else {
            return Ok(None);
        };
        check_length(msg_id, len)?;
        // `len` is at most `max_message_len`, a u32, so this cannot overflow a 64-bit usize
        // (and on 32-bit targets saturates into a length that is simply never reached).
        let total = PREFIX_LEN.saturating_add(len as usize);
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let msg = match msg_id {
            id::BITFIELD | id::PIECE | id::EXTENDED => {
                let frame = buf.split_to(total).freeze();
                decode_payload_message(msg_id, len, frame)?
            }
            _ => {
                let msg = decode_fixed_message(msg_id, len, buf.get(PREFIX_LEN + 1..total))?;
                buf.advance(total);
                msg
            }
        };
        Ok(Some(msg))
    }
}

/// Rejects a length prefix that cannot belong to `msg_id` (and unknown ids).
fn check_length(msg_id: u8, len: u32) -> Result<(), WireError> {
    let ok = match msg_id {
        id::CHOKE | id::UNCHOKE | id::INTERESTED | id::NOT_INTERESTED => len == 1,
        id::HAVE_ALL | id::HAVE_NONE => len == 1,
        id::HAVE | id::SUGGEST | id::ALLOWED_FAST => len == 5,
        id::REQUEST | id::CANCEL | id::REJECT => len == 13,
        id::PORT => len == 3,
        // The codec does not know the piece count; the engine checks the exact size.
        id::BITFIELD => len >= 1,
        id::PIECE => len >= 9,
        // One byte for the extended message id.
        id::EXTENDED => len >= 2,
        other => return Err(WireError::UnknownMessageId(other)),
    };
    if ok {
        Ok(())
    } else {
        Err(WireError::BadLength { id: msg_id, len })
    }
}

/// Decodes a message whose body has been length-checked; `body` is everything after the id.
fn decode_fixed_message(msg_id: u8, len: u32, body: Option<&[u8]>) -> Result<Message, WireError> {
    let bad_length = WireError::BadLength { id: msg_id, len };
    let body = body.ok_or(bad_length.clone())?;
    let u32_at = |at: usize| be_u32(body, at).ok_or(bad_length.clone());
    let block = || -> Result<BlockInfo, WireError> {
        Ok(BlockInfo {
            index: u32_at(0)?,
            begin: u32_at(4)?,
            length: u32_at(8)?,
        })
    };
    Ok(match msg_id {
        id::CHOKE => Message::Choke,
        id::UNCHOKE => Message::Unchoke,
        id::INTERESTED => Message::Interested,
        id::NOT_INTERESTED => Message::NotInterested,
        id::HAVE_ALL => Message::HaveAll,
        id::HAVE_NONE => Message::HaveNone,
        id::HAVE => Message::Have(u32_at(0)?),
        id::SUGGEST => Message::Suggest(u32_at(0)?),
        id::ALLOWED_FAST => Message::AllowedFast(u32_at(0)?),
        id::REQUEST => Message::Request(block()?),
        id::CANCEL => Message::Cancel(block()?),
        id::REJECT => Message::Reject(block()?),
        id::PORT => {
            let port = body.first_chunk::<2>().ok_or(bad_length)?;
            Message::Port(u16::from_be_bytes(*port))
        }
        other => return Err(WireError::UnknownMessageId(other)),
    })
}

/// Decodes a message carrying a variable payload, slicing it out of `frame` without copying.
/// `frame` is the whole message including its length prefix.
fn decode_payload_message(msg_id: u8, len: u32, frame: Bytes) -> Result<Message, WireError> {
    let bad_length = WireError::BadLength { id: msg_id, len };
    let body_start = PREFIX_LEN + 1;
    if frame.len() < body_start {
        return Err(bad_length);
    }
    Ok(match msg_id {
        id::BITFIELD => Message::Bitfield(frame.slice(body_start..)),
        id::PIECE => {
            let (index, begin) = be_u32(&frame, body_start)
                .zip(be_u32(&frame, body_start + 4))
                .ok_or(bad_length)?;
            Message::Piece {
                index,
                begin,
                data: frame.slice(PIECE_HEADER_LEN..),
            }
        }
        id::EXTENDED => {
            let ext_id = *frame.get(body_start).ok_or(bad_length)?;
            Message::Extended {
                id: ext_id,
                payload: frame.slice(body_start + 1..),
            }
        }
        other => return Err(WireError::UnknownMessageId(other)),
    })
}

fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..)?.first_chunk::<4>()?;
    Some(u32::from_be_bytes(*bytes))
}

/// Payload lengths of our own messages always fit a u32 (blocks are 16 KiB, bitfields and
/// extension payloads are bounded by what we build); saturate rather than wrap if one did not.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl Message {
    /// Appends the framed message (length prefix included) to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len());
        let Some(msg_id) = self.id() else {
            dst.put_u32(0);
            return;
        };
        dst.put_u32(len_u32(self.encoded_len() - PREFIX_LEN));
        dst.put_u8(msg_id);
        match self {
            Message::KeepAlive
            | Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => {}
            Message::Have(index) | Message::Suggest(index) | Message::AllowedFast(index) => {
                dst.put_u32(*index)
            }
            Message::Bitfield(bits) => dst.put_slice(bits),
            Message::Request(block) | Message::Cancel(block) | Message::Reject(block) => {
                dst.put_u32(block.index);
                dst.put_u32(block.begin);
                dst.put_u32(block.length);
            }
            Message::Piece { index, begin, data } => {
                dst.put_u32(*index);
                dst.put_u32(*begin);
                dst.put_slice(data);
            }
            Message::Port(port) => dst.put_u16(*port),
            Message::Extended { id, payload } => {
                dst.put_u8(*id);
                dst.put_slice(payload);
            }
        }
    }

    /// Bytes [`Message::encode`] appends, length prefix included.
    pub fn encoded_len(&self) -> usize {
        let payload = match self {
            Message::KeepAlive => return PREFIX_LEN,
            Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 0,
            Message::Have(_) | Message::Suggest(_) | Message::AllowedFast(_) => 4,
            Message::Bitfield(bits) => bits.len(),
            Message::Request(_) | Message::Cancel(_) | Message::Reject(_) => 12,
            Message::Piece { data, .. } => 8 + data.len(),
            Message::Port(_) => 2,
            Message::Extended { payload, .. } => 1 + payload.len(),
        };
        PREFIX_LEN + 1 + payload
    }

    /// For vectored writes of Piece: the 13-byte header (len, id 7, index, begin) alone; the
    /// `data_len` bytes of block data follow it on the wire.
    pub fn piece_header(index: u32, begin: u32, data_len: u32) -> [u8; 13] {
        let mut out = [0u8; PIECE_HEADER_LEN];
        out[..4].copy_from_slice(&(9u32.saturating_add(data_len)).to_be_bytes());
        out[4] = id::PIECE;
        out[5..9].copy_from_slice(&index.to_be_bytes());
        out[9..13].copy_from_slice(&begin.to_be_bytes());
        out
    }
}
