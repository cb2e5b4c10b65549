//! A calendar queue: a min-priority queue for items stamped with a virtual time, for event
//! sets where almost every item is due within a few seconds of now.
//!
//! With 10,000 nodes the simulator holds over half a million pending events. In one heap
//! each pop walks a dozen levels of a tree far larger than the CPU caches, a cache miss per
//! level. Here time is cut into buckets of `WIDTH` nanoseconds on a ring covering `BUCKETS`
//! of them: a push into a future bucket appends to an unsorted `Vec`, and only the bucket
//! being worked through is a heap, small enough to stay in cache. Items beyond the ring's
//! horizon wait in an overflow heap and join when the ring reaches their bucket.
//!
//! Pops come out in exactly the order of one global heap: every item in the current heap
//! is earlier than every item elsewhere.

use crate::heap::QuadHeap;

/// Nanoseconds per bucket (about 262 µs).
const WIDTH_SHIFT: u32 = 18;
/// Buckets on the ring (a horizon of about 4.3 s, beyond the engine's 1 s timers).
const BUCKETS: usize = 1 << 14;

/// An item the calendar orders: its time first, then its own `Ord` for ties.
pub(crate) trait Timed: Ord {
    fn at(&self) -> u64;
}

pub(crate) struct Calendar<T> {
    /// Items due before `current_end`, the only ones that may pop next.
    current: QuadHeap<T>,
    /// Index of the bucket `current` stands for, counted from time zero.
    current_bucket: u64,
    /// Future buckets within the horizon, unsorted, at `bucket % BUCKETS`.
    ring: Vec<Vec<T>>,
    /// Items due at or after the ring's horizon when they were pushed.
    overflow: QuadHeap<T>,
    len: usize,
    /// Emptied bucket vectors, reused so that the ring does not keep every bucket's largest
    /// allocation alive (thousands of buckets times their busiest moment).
    spare: Vec<Vec<T>>,
}

/// Spare bucket vectors kept for reuse.
const MAX_SPARE: usize = 64;

impl<T: Timed> Default for Calendar<T> {
    fn default() -> Self {
        Calendar {
            current: QuadHeap::default(),
            current_bucket: 0,
            ring: (0..BUCKETS).map(|_| Vec::new()).collect(),
            overflow: QuadHeap::default(),
            len: 0,
            spare: Vec::new(),
        }
    }
}

fn bucket_of(at: u64) -> u64 {
    at >> WIDTH_SHIFT
}

impl<T: Timed> Calendar<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, item: T) {
        self.len += 1;
        let b = bucket_of(item.at());
        if b <= self.current_bucket {
            self.current.push(item);
        } else if b < self.current_bucket + BUCKETS as u64 {
            let bucket = &mut self.ring[(b % BUCKETS as u64) as usize];
            if bucket.capacity() == 0 {
                if let Some(v) = self.spare.pop() {
                    *bucket = v;
                }
            }
            bucket.push(item);
        } else {
            self.overflow.push(item);
        }
    }

    /// The earliest item, moving on to the next non-empty bucket if needed.
    pub(crate) fn peek(&mut self) -> Option<&T> {
        self.settle();
        self.current.peek()
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        self.settle();
        let item = self.current.pop()?;
        self.len -= 1;
        Some(item)
    }

    /// Makes `current` hold the earliest bucket's items, if there are any items at all.
    fn settle(&mut self) {
        while self.current.len() == 0 && self.len > 0 {
            let in_ring = self.len - self.overflow.len();
            self.current_bucket = if in_ring == 0 {
                // Only far-future items: jump straight to the first of them.
                match self.overflow.peek() {
                    Some(first) => bucket_of(first.at()),
                    None => return,
                }
            } else {
                self.current_bucket + 1
            };
            let slot = (self.current_bucket % BUCKETS as u64) as usize;
            let mut items = std::mem::take(&mut self.ring[slot]);
            for item in items.drain(..) {
                self.current.push(item);
            }
            if self.spare.len() < MAX_SPARE && items.capacity() > 0 {
                self.spare.push(items);
            }
            while self
                .overflow
                .peek()
                .is_some_and(|o| bucket_of(o.at()) <= self.current_bucket)
            {
                if let Some(o) = self.overflow.pop() {
                    self.current.push(o);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::Rng;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    struct Item(u64, u64);

    impl Timed for Item {
        fn at(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn pops_like_one_heap_with_near_far_and_past_items() {
        let mut rng = Rng::new(9);
        let mut cal = Calendar::default();
        let mut reference = BinaryHeap::new();
        let mut now = 0u64;
        for seq in 0..200_000u64 {
            if rng.below(5) < 3 || reference.is_empty() {
                // Mostly within a few ms, sometimes seconds or minutes ahead, sometimes now.
                let ahead = match rng.below(10) {
                    0 => rng.below(600_000_000_000),
                    1 => 0,
                    2..=3 => rng.below(3_000_000_000),
                    _ => rng.below(5_000_000),
                };
                let item = Item(now + ahead, seq);
                cal.push(item);
                reference.push(Reverse(item));
            } else {
                let got = cal.pop();
                assert_eq!(got, reference.pop().map(|r| r.0), "at {seq}");
                now = got.map_or(now, |i| i.0);
            }
            assert_eq!(cal.len(), reference.len());
        }
        while let Some(Reverse(expected)) = reference.pop() {
            assert_eq!(cal.peek().copied(), Some(expected));
            assert_eq!(cal.pop(), Some(expected));
        }
        assert_eq!(cal.pop(), None);
        assert_eq!(cal.len(), 0);
    }
}
