//! A fixed-length bit set in wire order (bit 7 of byte 0 is piece 0), with a cached count.

/// Which pieces a peer (or we) have: one bit per piece, as sent in the BITFIELD message.
///
/// `len` is the number of pieces; bits past it in the last byte are always zero.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: u32,
    ones: u32,
}

impl Bitfield {
    /// A bitfield of `len` pieces with none set (a peer that has nothing yet).
    pub fn new(len: u32) -> Bitfield {
        Bitfield {
            bytes: vec![0; len.div_ceil(8) as usize],
            len,
            ones: 0,
        }
    }

    /// A bitfield of `len` pieces with all set (a seed).
    pub fn full(len: u32) -> Bitfield {
        let mut b = Bitfield::new(len);
        for i in 0..len {
            b.set(i);
        }
        b
    }

    /// From wire bytes. Fails when the byte length is wrong or a spare trailing bit is set
    /// (BEP 3 says peers sending such a bitfield should be dropped).
    pub fn from_bytes(bytes: &[u8], len: u32) -> Option<Bitfield> {
        if bytes.len() != len.div_ceil(8) as usize {
            return None;
        }
        let spare = (bytes.len() as u32 * 8 - len) as u8;
        if spare > 0
            && bytes
                .last()
                .is_some_and(|b| b & ((1u16 << spare) - 1) as u8 != 0)
        {
            return None;
        }
        let ones = bytes.iter().map(|b| b.count_ones()).sum();
        Some(Bitfield {
            bytes: bytes.to_vec(),
            len,
            ones,
        })
    }

    /// The wire bytes, ready to send in a BITFIELD message.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of pieces the bitfield covers (set or not).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether it covers no pieces at all (`len() == 0`); see [`Bitfield::none`] for "no bit set".
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of pieces set; kept up to date, so this is O(1).
    pub fn count(&self) -> u32 {
        self.ones
    }

    /// Whether every piece is set (the holder is a seed).
    pub fn is_full(&self) -> bool {
        self.ones == self.len
    }

    /// Whether no piece is set.
    pub fn none(&self) -> bool {
        self.ones == 0
    }

    /// Whether piece `i` is set; false for indexes past the end.
    pub fn get(&self, i: u32) -> bool {
        i < self.len && self.bytes[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }

    /// Sets bit `i`; returns true if it was newly set. Out-of-range indexes are ignored.
    pub fn set(&mut self, i: u32) -> bool {
        if i >= self.len || self.get(i) {
            return false;
        }
        self.bytes[(i / 8) as usize] |= 0x80 >> (i % 8);
        self.ones += 1;
        true
    }

    /// Clears bit `i`; returns true if it was set. Out-of-range indexes are ignored.
    pub fn clear(&mut self, i: u32) -> bool {
        if !self.get(i) {
            return false;
        }
        self.bytes[(i / 8) as usize] &= !(0x80 >> (i % 8));
        self.ones -= 1;
        true
    }

    /// The indexes of the set pieces, in increasing order.
    pub fn iter_ones(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(move |&i| self.get(i))
    }
}

impl std::fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitfield({}/{})", self.ones, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_count() {
        let mut b = Bitfield::new(10);
        assert!(b.set(0));
        assert!(!b.set(0));
        assert!(b.set(9));
        assert!(!b.set(10));
        assert_eq!(b.count(), 2);
        assert_eq!(b.as_bytes(), &[0x80, 0x40]);
        assert!(b.clear(0));
        assert_eq!(b.iter_ones().collect::<Vec<_>>(), vec![9]);
    }

    #[test]
    fn rejects_spare_bits_and_wrong_length() {
        assert!(Bitfield::from_bytes(&[0xff, 0xc0], 10).is_some());
        assert!(Bitfield::from_bytes(&[0xff, 0xe0], 10).is_none());
        assert!(Bitfield::from_bytes(&[0xff], 10).is_none());
        assert!(Bitfield::from_bytes(&[0xff, 0xff], 16).unwrap().is_full());
    }
}
