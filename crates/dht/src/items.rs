//! The BEP 44 items stored for other nodes: bounded in number, each at most 1,000 bytes,
//! mutable ones only with a valid signature and a sequence number not older than the one
//! stored, and expiring when not put again.

use crate::id::NodeId;
use crate::item::{immutable_target, mutable_target, verify};
use crate::krpc::{code, MutableFields};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A stored item.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) value: Vec<u8>,
    /// `(key, seq, sig)` of a mutable item.
    pub(crate) mutable: Option<([u8; 32], i64, [u8; 64])>,
    stored_at: Instant,
}

#[derive(Debug)]
pub(crate) struct ItemStore {
    items: HashMap<NodeId, Stored>,
    max: usize,
    ttl: Duration,
}

impl ItemStore {
    pub(crate) fn new(max: usize, ttl: Duration) -> Self {
        ItemStore {
            items: HashMap::new(),
            max,
            ttl,
        }
    }

    pub(crate) fn get(&self, target: &NodeId) -> Option<&Stored> {
        self.items.get(target)
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Stores a put's value (canonical bencoding, checked by the decoder). The error is a
    /// BEP 44 code and message for the reply.
    pub(crate) fn put(
        &mut self,
        now: Instant,
        value: &[u8],
        mutable: Option<&MutableFields>,
    ) -> Result<(), (i64, &'static str)> {
        let (target, mutable) = match mutable {
            None => (immutable_target(value), None),
            Some(m) => {
                if !verify(&m.key, &m.salt, m.seq, value, &m.sig) {
                    return Err((code::INVALID_SIGNATURE, "invalid signature"));
                }
                let target = mutable_target(&m.key, &m.salt);
                if let Some((_, stored_seq, _)) = self.items.get(&target).and_then(|s| s.mutable) {
                    if m.cas.is_some_and(|cas| cas != stored_seq) {
                        return Err((code::CAS_MISMATCH, "cas mismatch"));
                    }
                    if m.seq < stored_seq {
                        return Err((code::SEQ_TOO_OLD, "sequence number less than current"));
                    }
                }
                (target, Some((m.key, m.seq, m.sig)))
            }
        };
        if !self.items.contains_key(&target) && self.items.len() >= self.max {
            return Err((code::SERVER, "item store full"));
        }
        self.items.insert(
            target,
            Stored {
                value: value.to_vec(),
                mutable,
                stored_at: now,
            },
        );
        Ok(())
    }

    pub(crate) fn expire(&mut self, now: Instant) {
        let ttl = self.ttl;
        self.items
            .retain(|_, s| now.saturating_duration_since(s.stored_at) < ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::MutableItem;

    fn fields(item: &MutableItem, cas: Option<i64>) -> MutableFields {
        MutableFields {
            key: item.key,
            seq: item.seq,
            sig: item.sig,
            salt: item.salt.clone(),
            cas,
        }
    }

    #[test]
    fn mutable_rules() {
        let now = Instant::now();
        let mut s = ItemStore::new(2, Duration::from_secs(60));
        let v1 = MutableItem::sign(&[1; 32], b"", 1, b"1:a").unwrap();
        let v2 = MutableItem::sign(&[1; 32], b"", 2, b"1:b").unwrap();
        assert!(s.put(now, &v2.value, Some(&fields(&v2, None))).is_ok());
        assert_eq!(
            s.put(now, &v1.value, Some(&fields(&v1, None)))
                .unwrap_err()
                .0,
            code::SEQ_TOO_OLD
        );
        assert_eq!(
            s.put(now, &v2.value, Some(&fields(&v2, Some(1))))
                .unwrap_err()
                .0,
            code::CAS_MISMATCH
        );
        let mut forged = fields(&v2, None);
        forged.seq = 3;
        assert_eq!(
            s.put(now, &v2.value, Some(&forged)).unwrap_err().0,
            code::INVALID_SIGNATURE
        );
        assert!(s.put(now, b"1:x", None).is_ok());
        assert_eq!(s.put(now, b"1:y", None).unwrap_err().0, code::SERVER);
        s.expire(now + Duration::from_secs(61));
        assert_eq!(s.len(), 0);
    }
}
