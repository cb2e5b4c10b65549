//! The torrent every node of a swarm shares: seeded random bytes, their piece hashes, the
//! `Info` the engine works with and the exact bencoded info dictionary served over
//! ut_metadata.

use bytes::Bytes;
use sha1::{Digest, Sha1};
use shoal_core::{FileEntry, Info, InfoHash, Lengths, PieceIndex, Rng};
use std::sync::Arc;

/// The shape of the generated torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentSpec {
    /// Total payload length in bytes.
    pub len: u64,
    /// Piece length in bytes (a multiple of 16 KiB in practice).
    pub piece_len: u32,
}

impl Default for ContentSpec {
    /// 4 MiB in 64 KiB pieces: 64 pieces, small enough for fast tests.
    fn default() -> ContentSpec {
        ContentSpec {
            len: 4 << 20,
            piece_len: 64 << 10,
        }
    }
}

/// A generated single-file torrent.
#[derive(Debug, Clone)]
pub struct Content {
    /// The original payload.
    pub data: Bytes,
    /// The parsed info dictionary, shared by every node that has the metadata.
    pub info: Arc<Info>,
    /// The bencoded info dictionary whose SHA-1 is the info-hash.
    pub info_bytes: Bytes,
    /// The torrent's info-hash, which every node of the swarm is given.
    pub info_hash: InfoHash,
}

/// Why a content spec cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContentError {
    /// The piece length is zero, or the length needs more than `u32::MAX` pieces.
    #[error("the piece length must be non-zero and the torrent must have at most u32::MAX pieces")]
    Shape,
    /// The length does not fit in this machine's address space.
    #[error("the torrent is too large to hold in memory ({0} bytes)")]
    TooLarge(u64),
}

impl Content {
    /// Random bytes drawn from `seed`, hashed into pieces.
    pub fn generate(seed: u64, spec: ContentSpec) -> Result<Content, ContentError> {
        let lengths = Lengths::new(spec.len, spec.piece_len).ok_or(ContentError::Shape)?;
        let len = usize::try_from(spec.len).map_err(|_| ContentError::TooLarge(spec.len))?;
        let data = random_bytes(seed, len);
        let pieces: Vec<[u8; 20]> = lengths
            .pieces()
            .map(|p| sha1(&data[piece_range(&lengths, p)]))
            .collect();
        let name = format!("sim-{seed:016x}.bin");
        let info_bytes = encode_info(&name, spec, &pieces);
        let info_hash = InfoHash(sha1(&info_bytes));
        let info = Info {
            files: vec![FileEntry {
                path: vec![name.clone()],
                length: spec.len,
                offset: 0,
                pad: false,
            }],
            name,
            piece_length: spec.piece_len,
            pieces,
            private: false,
            multi_file: false,
            lengths,
        };
        Ok(Content {
            data,
            info: Arc::new(info),
            info_bytes,
            info_hash,
        })
    }

    /// Total length and piece length, for piece arithmetic.
    pub fn lengths(&self) -> &Lengths {
        &self.info.lengths
    }

    /// The original bytes of one piece (a zero-copy slice).
    pub fn piece(&self, piece: PieceIndex) -> Bytes {
        self.data.slice(piece_range(self.lengths(), piece))
    }
}

/// Byte range of `piece` within the torrent's data.
pub(crate) fn piece_range(lengths: &Lengths, piece: PieceIndex) -> std::ops::Range<usize> {
    let start = lengths.piece_offset(piece) as usize;
    start..start + lengths.piece_len(piece) as usize
}

pub(crate) fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

fn random_bytes(seed: u64, len: usize) -> Bytes {
    let mut rng = Rng::new(seed ^ 0xC0_47E7_7000);
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        data.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    data.truncate(len);
    Bytes::from(data)
}

/// `d6:length…4:name…12:piece length…6:pieces…e`, keys in sorted order as bencode requires.
fn encode_info(name: &str, spec: ContentSpec, pieces: &[[u8; 20]]) -> Bytes {
    let mut out = Vec::with_capacity(pieces.len() * 20 + name.len() + 64);
    out.extend_from_slice(
        format!("d6:lengthi{}e4:name{}:{}", spec.len, name.len(), name).as_bytes(),
    );
    out.extend_from_slice(
        format!(
            "12:piece lengthi{}e6:pieces{}:",
            spec.piece_len,
            pieces.len() * 20
        )
        .as_bytes(),
    );
    for hash in pieces {
        out.extend_from_slice(hash);
    }
    out.push(b'e');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_a_function_of_the_seed() {
        let spec = ContentSpec {
            len: 100_000,
            piece_len: 32_768,
        };
        let a = Content::generate(7, spec).unwrap();
        let b = Content::generate(7, spec).unwrap();
        let c = Content::generate(8, spec).unwrap();
        assert_eq!(a.data, b.data);
        assert_eq!(a.info_hash, b.info_hash);
        assert_ne!(a.data, c.data);
        assert_eq!(a.data.len(), 100_000);
        assert_eq!(a.info.pieces.len(), 4);
    }

    #[test]
    fn piece_hashes_cover_the_data() {
        let a = Content::generate(
            1,
            ContentSpec {
                len: 100_000,
                piece_len: 32_768,
            },
        )
        .unwrap();
        for p in a.lengths().pieces() {
            assert_eq!(sha1(&a.piece(p)), a.info.pieces[p.get() as usize]);
        }
        assert_eq!(a.info_hash.0, sha1(&a.info_bytes));
        assert!(a.info_bytes.starts_with(b"d6:lengthi100000e4:name"));
        assert!(a.info_bytes.ends_with(b"e"));
    }
}
