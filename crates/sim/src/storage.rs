//! A node's in-memory piece store: blocks staged until their piece is verified, verified
//! pieces kept as `Bytes` so that serving a block is a zero-copy slice.
//!
//! Two fidelities trade realism for memory and time:
//! - [`Fidelity::Exact`]: every verified piece is the node's own copy, assembled from the
//!   blocks it received and checked with SHA-1. For tests: the data a node ends with is
//!   really what it downloaded.
//! - [`Fidelity::Fast`]: a block that is a slice of the shared original at its own offset is
//!   known to be correct without hashing, and verified pieces are slices of the shared
//!   original, so a node costs a few bytes per piece. Any other block (corrupt data) is
//!   hashed as usual. For benchmarks with thousands of nodes.

use crate::content::{piece_range, sha1, Content};
use crate::node::NodeId;
use bytes::{Bytes, BytesMut};
use shoal_core::{BlockRef, Lengths, PieceIndex};

/// How faithfully storage copies and hashes data; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fidelity {
    /// Every node keeps and hashes its own copy of what it received (for tests).
    #[default]
    Exact,
    /// Intact blocks are slices of the shared original and skip hashing (for benchmarks).
    Fast,
}

/// One received block waiting for its piece to be verified.
#[derive(Debug, Clone)]
struct StagedBlock {
    offset: u32,
    data: Bytes,
    /// The node whose `Piece` message carried it, when known.
    source: Option<NodeId>,
}

/// The result of hashing a piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub ok: bool,
    /// The blocks did not cover the piece exactly (an engine bug: it asked too early).
    pub incomplete: bool,
    /// Nodes that contributed blocks to the piece.
    pub sources: Vec<NodeId>,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Verified pieces; empty until the metadata is known.
    pieces: Vec<Option<Bytes>>,
    staged: Vec<Vec<StagedBlock>>,
    verified: u32,
}

impl Store {
    /// A store holding nothing yet (a magnet download before its metadata arrives).
    pub(crate) fn empty() -> Store {
        Store::default()
    }

    /// Sizes the store for `lengths` once the metadata is known; pieces already present are kept.
    pub(crate) fn allocate(&mut self, lengths: &Lengths) {
        let n = lengths.num_pieces() as usize;
        if self.pieces.len() != n {
            self.pieces = vec![None; n];
            self.staged = vec![Vec::new(); n];
            self.verified = 0;
        }
    }

    /// A complete store sharing the original data.
    pub(crate) fn full(content: &Content) -> Store {
        let mut store = Store::default();
        store.allocate(content.lengths());
        for p in content.lengths().pieces() {
            store.pieces[p.get() as usize] = Some(content.piece(p));
        }
        store.verified = content.lengths().num_pieces();
        store
    }

    pub(crate) fn is_allocated(&self) -> bool {
        !self.pieces.is_empty()
    }

    pub(crate) fn has_piece(&self, piece: PieceIndex) -> bool {
        matches!(self.pieces.get(piece.get() as usize), Some(Some(_)))
    }

    pub(crate) fn verified_count(&self) -> u32 {
        self.verified
    }

    /// Stages a block; `false` if the store cannot take it (no metadata, or the piece is
    /// already verified and must not be overwritten).
    pub(crate) fn store_block(
        &mut self,
        block: BlockRef,
        data: Bytes,
        source: Option<NodeId>,
    ) -> bool {
        let i = block.piece.get() as usize;
        if self.has_piece(block.piece) || data.len() != block.len as usize {
            return false;
        }
        let Some(staged) = self.staged.get_mut(i) else {
            return false;
        };
        staged.retain(|b| b.offset != block.offset);
        staged.push(StagedBlock {
            offset: block.offset,
            data,
            source,
        });
        true
    }

    /// Hashes the staged blocks of `piece`; keeps the piece when it matches and drops its
    /// blocks either way.
    pub(crate) fn verify(
        &mut self,
        content: &Content,
        fidelity: Fidelity,
        piece: PieceIndex,
    ) -> Verdict {
        let i = piece.get() as usize;
        let mut blocks = self
            .staged
            .get_mut(i)
            .map(std::mem::take)
            .unwrap_or_default();
        blocks.sort_by_key(|b| b.offset);
        let mut sources: Vec<NodeId> = blocks.iter().filter_map(|b| b.source).collect();
        sources.sort_unstable();
        sources.dedup();
        let lengths = content.lengths();
        let piece_len = lengths.piece_len(piece);
        let covers = blocks.iter().try_fold(0u32, |at, b| {
            (b.offset == at).then(|| at + b.data.len() as u32)
        });
        if covers != Some(piece_len) || self.has_piece(piece) || i >= self.pieces.len() {
            return Verdict {
                ok: false,
                incomplete: covers != Some(piece_len),
                sources,
            };
        }
        let start = lengths.piece_offset(piece) as usize;
        let verified = if fidelity == Fidelity::Fast
            && blocks.iter().all(|b| is_original(content, start, b))
        {
            Some(content.piece(piece))
        } else {
            let mut buf = BytesMut::with_capacity(piece_len as usize);
            for b in &blocks {
                buf.extend_from_slice(&b.data);
            }
            let ok = content.info.pieces.get(i).is_some_and(|h| *h == sha1(&buf));
            ok.then(|| match fidelity {
                Fidelity::Exact => buf.freeze(),
                Fidelity::Fast => content.data.slice(piece_range(lengths, piece)),
            })
        };
        let ok = verified.is_some();
        if ok {
            self.pieces[i] = verified;
            self.verified += 1;
        }
        Verdict {
            ok,
            incomplete: false,
            sources,
        }
    }

    /// The bytes of a block of a verified piece.
    pub(crate) fn read(&self, block: BlockRef) -> Option<Bytes> {
        let piece = self.pieces.get(block.piece.get() as usize)?.as_ref()?;
        let end = block.offset.checked_add(block.len)? as usize;
        (end <= piece.len()).then(|| piece.slice(block.offset as usize..end))
    }

    /// The whole payload, if every piece is verified.
    pub(crate) fn assemble(&self) -> Option<Vec<u8>> {
        if !self.is_allocated() {
            return None;
        }
        let mut out = Vec::new();
        for piece in &self.pieces {
            out.extend_from_slice(piece.as_ref()?);
        }
        Some(out)
    }
}

/// Whether a block is a slice of the original at exactly its own position.
fn is_original(content: &Content, piece_start: usize, block: &StagedBlock) -> bool {
    let at = piece_start + block.offset as usize;
    at + block.data.len() <= content.data.len()
        && std::ptr::eq(block.data.as_ptr(), content.data[at..].as_ptr())
}

/// A corrupted copy of `data`: same length, every byte flipped.
pub(crate) fn corrupt(data: &[u8]) -> Bytes {
    data.iter().map(|b| !b).collect::<Vec<u8>>().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ContentSpec;

    fn content() -> Content {
        Content::generate(
            3,
            ContentSpec {
                len: 80_000,
                piece_len: 32_768,
            },
        )
        .unwrap()
    }

    fn fill(store: &mut Store, content: &Content, piece: PieceIndex, bad: bool) {
        for b in content.lengths().blocks(piece).collect::<Vec<_>>() {
            let data = content
                .piece(piece)
                .slice(b.offset as usize..(b.offset + b.len) as usize);
            let data = if bad {
                corrupt(&data)
            } else {
                Bytes::copy_from_slice(&data)
            };
            assert!(store.store_block(b, data, Some(NodeId(1))));
        }
    }

    #[test]
    fn good_piece_verifies_and_is_readable() {
        let c = content();
        let mut s = Store::empty();
        s.allocate(c.lengths());
        let p = c.lengths().validate_piece(2).unwrap();
        fill(&mut s, &c, p, false);
        let v = s.verify(&c, Fidelity::Exact, p);
        assert!(v.ok, "{v:?}");
        assert_eq!(v.sources, vec![NodeId(1)]);
        let b = c.lengths().block(p, 0).unwrap();
        assert_eq!(s.read(b).unwrap(), c.piece(p).slice(..b.len as usize));
        assert!(
            !s.store_block(b, Bytes::from(vec![0; b.len as usize]), None),
            "verified data is never overwritten"
        );
    }

    #[test]
    fn bad_or_missing_blocks_fail() {
        let c = content();
        let mut s = Store::empty();
        s.allocate(c.lengths());
        let p = c.lengths().validate_piece(0).unwrap();
        fill(&mut s, &c, p, true);
        assert!(!s.verify(&c, Fidelity::Fast, p).ok);
        assert!(s.read(c.lengths().block(p, 0).unwrap()).is_none());
        let b = c.lengths().block(p, 0).unwrap();
        s.store_block(b, c.piece(p).slice(..b.len as usize), None);
        let v = s.verify(&c, Fidelity::Fast, p);
        assert!(!v.ok && v.incomplete);
    }

    #[test]
    fn fast_fidelity_accepts_shared_slices_and_assembles() {
        let c = content();
        let full = Store::full(&c);
        let mut s = Store::empty();
        s.allocate(c.lengths());
        for p in c.lengths().pieces() {
            for b in c.lengths().blocks(p).collect::<Vec<_>>() {
                s.store_block(b, full.read(b).unwrap(), None);
            }
            assert!(s.verify(&c, Fidelity::Fast, p).ok);
        }
        assert_eq!(s.assemble().unwrap(), c.data.to_vec());
    }
}
