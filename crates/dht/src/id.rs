//! 160-bit node ids and the XOR metric of BEP 5.

use std::fmt;

/// A 160-bit DHT id: a node's id, an info-hash, or a BEP 44 target. Closeness is the XOR
/// of two ids read as a big-endian number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NodeId(pub [u8; 20]);

impl NodeId {
    /// The id from exactly 20 bytes, `None` for any other length.
    pub fn from_slice(b: &[u8]) -> Option<NodeId> {
        Some(NodeId(b.try_into().ok()?))
    }

    /// The XOR distance to `other`, comparable as a big-endian number.
    pub fn distance(&self, other: &NodeId) -> [u8; 20] {
        let mut d = [0u8; 20];
        for (i, byte) in d.iter_mut().enumerate() {
            *byte = self.0[i] ^ other.0[i];
        }
        d
    }

    /// How many leading bits the two ids share (160 when equal).
    pub fn common_prefix_len(&self, other: &NodeId) -> usize {
        for (i, (a, b)) in self.0.iter().zip(other.0.iter()).enumerate() {
            let x = a ^ b;
            if x != 0 {
                return i * 8 + x.leading_zeros() as usize;
            }
        }
        160
    }

    /// A copy of `self` whose bits after the first `prefix` are taken from `random`: an id
    /// in the same bucket range, for refreshing that bucket.
    pub(crate) fn with_random_suffix(&self, prefix: usize, random: &[u8; 20]) -> NodeId {
        let mut out = *random;
        for bit in 0..prefix.min(160) {
            let (byte, mask) = (bit / 8, 0x80u8 >> (bit % 8));
            out[byte] = (out[byte] & !mask) | (self.0[byte] & mask);
        }
        // Flip the bit after the prefix so the id falls in that bucket and not deeper.
        if prefix < 160 {
            let (byte, mask) = (prefix / 8, 0x80u8 >> (prefix % 8));
            out[byte] = (out[byte] & !mask) | (!self.0[byte] & mask);
        }
        NodeId(out)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_distance() {
        let a = NodeId([0; 20]);
        let mut b = [0; 20];
        b[1] = 0x10;
        let b = NodeId(b);
        assert_eq!(a.common_prefix_len(&b), 11);
        assert_eq!(a.common_prefix_len(&a), 160);
        assert_eq!(a.distance(&b)[1], 0x10);
    }

    #[test]
    fn random_suffix_lands_in_the_bucket() {
        let me = NodeId([0xab; 20]);
        for prefix in [0, 5, 8, 100, 159] {
            let id = me.with_random_suffix(prefix, &[0x5a; 20]);
            assert_eq!(me.common_prefix_len(&id), prefix);
        }
    }
}
