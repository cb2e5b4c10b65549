//! Piece and block arithmetic. A [`PieceIndex`] or [`BlockRef`] can only be made by
//! [`Lengths`], so code holding one never re-checks bounds.

/// The block size every client requests (16 KiB); the last block of a piece may be shorter.
pub const BLOCK_SIZE: u32 = 16 * 1024;

/// Index of a piece that exists in the torrent it was validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PieceIndex(u32);

impl PieceIndex {
    /// The index as a plain number, for the wire or for indexing a vector.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A block that exists: `len` bytes at `offset` within `piece`, never crossing the piece end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// The piece the block belongs to.
    pub piece: PieceIndex,
    /// Byte offset of the block from the start of the piece (`begin` on the wire).
    pub offset: u32,
    /// Length of the block in bytes; at most [`BLOCK_SIZE`] for blocks we request.
    pub len: u32,
}

impl BlockRef {
    /// Index of this block within its piece when it is block-aligned.
    pub fn block_index(&self) -> u32 {
        self.offset / BLOCK_SIZE
    }
}

/// The shape of a torrent's data: total length and piece length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lengths {
    total: u64,
    piece_length: u32,
    num_pieces: u32,
}

impl Lengths {
    /// `None` when the shape is impossible (zero piece length, or more than `u32::MAX` pieces).
    pub fn new(total: u64, piece_length: u32) -> Option<Lengths> {
        if piece_length == 0 {
            return None;
        }
        let num_pieces = u32::try_from(total.div_ceil(piece_length as u64)).ok()?;
        Some(Lengths {
            total,
            piece_length,
            num_pieces,
        })
    }

    /// Total length of the torrent's data in bytes (all files together).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Length of every piece but the last, in bytes.
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// Number of pieces in the torrent.
    pub fn num_pieces(&self) -> u32 {
        self.num_pieces
    }

    /// A [`PieceIndex`] for `index` when that piece exists (e.g. from a HAVE message).
    pub fn validate_piece(&self, index: u32) -> Option<PieceIndex> {
        (index < self.num_pieces).then_some(PieceIndex(index))
    }

    /// Every piece of the torrent, in order.
    pub fn pieces(&self) -> impl Iterator<Item = PieceIndex> {
        (0..self.num_pieces).map(PieceIndex)
    }

    /// Byte offset of the piece's start within the torrent's data.
    pub fn piece_offset(&self, piece: PieceIndex) -> u64 {
        piece.0 as u64 * self.piece_length as u64
    }

    /// Length of this piece in bytes: the piece length, or less for the last piece.
    pub fn piece_len(&self, piece: PieceIndex) -> u32 {
        let start = self.piece_offset(piece);
        (self.total - start).min(self.piece_length as u64) as u32
    }

    /// Number of [`BLOCK_SIZE`] blocks in this piece (the last may be shorter).
    pub fn blocks_in_piece(&self, piece: PieceIndex) -> u32 {
        self.piece_len(piece).div_ceil(BLOCK_SIZE)
    }

    /// The `i`th standard block of `piece`; `None` past the piece's end.
    pub fn block(&self, piece: PieceIndex, i: u32) -> Option<BlockRef> {
        let plen = self.piece_len(piece);
        let offset = i.checked_mul(BLOCK_SIZE)?;
        (offset < plen).then(|| BlockRef {
            piece,
            offset,
            len: (plen - offset).min(BLOCK_SIZE),
        })
    }

    /// The standard blocks of `piece`, in order: what a downloader requests.
    pub fn blocks(&self, piece: PieceIndex) -> impl Iterator<Item = BlockRef> + '_ {
        (0..self.blocks_in_piece(piece)).filter_map(move |i| self.block(piece, i))
    }

    /// Validates a block as a peer names it. Any in-bounds range of 1..=128 KiB is accepted,
    /// so that serving clients with unusual block sizes works.
    pub fn validate_block(&self, index: u32, begin: u32, len: u32) -> Option<BlockRef> {
        let piece = self.validate_piece(index)?;
        let plen = self.piece_len(piece);
        if len == 0 || len > 128 * 1024 || begin.checked_add(len)? > plen {
            return None;
        }
        Some(BlockRef {
            piece,
            offset: begin,
            len,
        })
    }

    /// Validates a block we requested as a standard block (offset aligned, standard length).
    pub fn validate_standard_block(&self, index: u32, begin: u32, len: u32) -> Option<BlockRef> {
        let piece = self.validate_piece(index)?;
        if begin % BLOCK_SIZE != 0 {
            return None;
        }
        let b = self.block(piece, begin / BLOCK_SIZE)?;
        (b.len == len).then_some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_piece_and_block_are_short() {
        let l = Lengths::new(100_000, 32_768).unwrap();
        assert_eq!(l.num_pieces(), 4);
        let last = l.validate_piece(3).unwrap();
        assert_eq!(l.piece_len(last), 100_000 - 3 * 32_768);
        assert_eq!(l.blocks_in_piece(last), 1);
        assert_eq!(l.block(last, 0).unwrap().len, 1696);
        assert!(l.validate_piece(4).is_none());
        let p0 = l.validate_piece(0).unwrap();
        assert_eq!(l.blocks(p0).count(), 2);
    }

    #[test]
    fn block_validation() {
        let l = Lengths::new(100_000, 32_768).unwrap();
        assert!(l.validate_block(0, 16384, 16384).is_some());
        assert!(l.validate_block(0, 16385, 16384).is_none());
        assert!(l.validate_block(3, 0, 1697).is_none());
        assert!(l.validate_standard_block(3, 0, 1696).is_some());
        assert!(l.validate_standard_block(0, 100, 16384).is_none());
        assert!(l.validate_block(0, u32::MAX, 2).is_none());
    }

    #[test]
    fn empty_torrent_has_no_pieces() {
        let l = Lengths::new(0, 16384).unwrap();
        assert_eq!(l.num_pieces(), 0);
        assert!(Lengths::new(10, 0).is_none());
    }
}
