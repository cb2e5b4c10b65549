//! The link model: how long a message takes to cross from one node to another.
//!
//! Every node has an access link with an upload rate, a download rate and a one-way
//! latency. A message from A to B goes through three stages:
//!
//! 1. **A's upload pipe.** A serialises messages at its upload rate. Messages wait in
//!    per-connection queues and the pipe gives each busy connection a turn in order
//!    (round-robin), the way a host's TCP stack shares its uplink between sockets, so a
//!    `Have` on one connection does not wait behind a backlog of blocks on another. A turn
//!    is one block, or a run of small messages up to a block's size (they would share a
//!    segment): byte-fair, so twenty requests queued on one connection leave in one turn,
//!    not in twenty rounds of everyone else's blocks. Messages
//!    are committed to the wire while less than 16 KiB of serialisation is ahead of them
//!    (a transmit ring), small ones (at most 256 bytes) while less than 18 KiB is: a burst
//!    of small messages leaves together (and costs the simulator one event), blocks leave
//!    one by one.
//!    A block counts as sent (`handle_block_sent`) when it is committed.
//! 2. **Propagation.** The path latency is A's latency plus B's latency.
//! 3. **B's download pipe.** Messages are taken in arrival order (FIFO) and serialised at
//!    B's download rate; the message is handed to B's engine once its last byte is in. A
//!    small control message (at most 256 bytes) with nothing of its own connection ahead of
//!    it in the pipe is handed over on arrival (its bytes still count against the pipe): its
//!    packet would interleave with other connections' blocks, and it saves an event.
//!
//! Each connection stays in order (like TCP) because each stage is FIFO per connection.
//! There is no loss, no congestion control and no per-byte work: a message's size is its
//! encoded length, computed from the [`Message`] value without encoding it.

use shoal_wire::Message;
use std::time::Duration;

/// Messages up to this size are small: they may overfill the transmit ring a little, and
/// are delivered on arrival when their connection has nothing waiting in the download pipe.
pub(crate) const SMALL_MESSAGE_BYTES: u64 = 256;

/// A node's access link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Upload rate in bytes per second; `None` is unlimited.
    pub up: Option<u64>,
    /// Download rate in bytes per second; `None` is unlimited.
    pub down: Option<u64>,
    /// One-way latency of this node's access link.
    pub latency: Duration,
}

impl Link {
    /// A symmetric link: the same rate both ways.
    pub fn symmetric(bytes_per_sec: u64, latency: Duration) -> Link {
        Link {
            up: Some(bytes_per_sec),
            down: Some(bytes_per_sec),
            latency,
        }
    }

    /// An asymmetric link, like most home connections.
    pub fn new(up: u64, down: u64, latency: Duration) -> Link {
        Link {
            up: Some(up),
            down: Some(down),
            latency,
        }
    }

    /// No bandwidth limit either way; only latency.
    pub fn unlimited(latency: Duration) -> Link {
        Link {
            up: None,
            down: None,
            latency,
        }
    }
}

impl Default for Link {
    /// 1 MB/s both ways, 20 ms one-way.
    fn default() -> Link {
        Link::symmetric(1_000_000, Duration::from_millis(20))
    }
}

/// Nanoseconds to move `bytes` at `rate` bytes per second (zero when unlimited).
pub fn transfer_nanos(bytes: u64, rate: Option<u64>) -> u64 {
    match rate {
        None | Some(0) => 0,
        // Every message fits the 64-bit product; only absurd sizes need 128 bits (slow).
        Some(rate) => match bytes.checked_mul(1_000_000_000) {
            Some(product) => product.div_ceil(rate),
            None => {
                let nanos = (bytes as u128 * 1_000_000_000).div_ceil(rate as u128);
                u64::try_from(nanos).unwrap_or(u64::MAX)
            }
        },
    }
}

/// Size of the message on the wire: the 4-byte length prefix, the id byte and the payload.
pub fn wire_len(msg: &Message) -> u64 {
    msg.encoded_len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use shoal_wire::BlockInfo;

    #[test]
    fn transfer_time_scales_with_size_and_rate() {
        assert_eq!(transfer_nanos(1_000_000, Some(1_000_000)), 1_000_000_000);
        assert_eq!(transfer_nanos(16_384, Some(2_000_000)), 8_192_000);
        assert_eq!(transfer_nanos(1, Some(3)), 333_333_334);
        assert_eq!(transfer_nanos(1 << 40, None), 0);
    }

    #[test]
    fn wire_lengths_match_bep3() {
        assert_eq!(wire_len(&Message::KeepAlive), 4);
        assert_eq!(wire_len(&Message::Unchoke), 5);
        assert_eq!(wire_len(&Message::Have(7)), 9);
        let req = BlockInfo {
            index: 1,
            begin: 0,
            length: 16384,
        };
        assert_eq!(wire_len(&Message::Request(req)), 17);
        let piece = Message::Piece {
            index: 1,
            begin: 0,
            data: Bytes::from(vec![0; 16384]),
        };
        assert_eq!(wire_len(&piece), 16384 + 13);
        let ext = Message::Extended {
            id: 0,
            payload: Bytes::from_static(b"de"),
        };
        assert_eq!(wire_len(&ext), 8);
    }
}
