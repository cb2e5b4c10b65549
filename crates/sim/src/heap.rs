//! A 4-ary min-heap. With hundreds of thousands of pending events, a pop in a binary heap
//! is a chain of cache misses one level apart; four children share two cache lines and
//! the tree is half as deep, so popping costs about half as many misses.

/// Min-heap; the smallest by `Ord` pops first. Items move by swaps, so they need not be
/// `Copy` (the event queue keeps whole events in it).
#[derive(Debug, Clone)]
pub(crate) struct QuadHeap<T> {
    items: Vec<T>,
}

impl<T> Default for QuadHeap<T> {
    fn default() -> Self {
        QuadHeap { items: Vec::new() }
    }
}

impl<T: Ord> QuadHeap<T> {
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    pub(crate) fn push(&mut self, item: T) {
        let mut i = self.items.len();
        self.items.push(item);
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.items[parent] <= self.items[i] {
                break;
            }
            self.items.swap(parent, i);
            i = parent;
        }
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        let n = self.items.len();
        if n == 0 {
            return None;
        }
        self.items.swap(0, n - 1);
        let top = self.items.pop();
        // Move the former last item down from the root to where it belongs.
        let n = n - 1;
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let end = (first + 4).min(n);
            let mut min = first;
            for c in first + 1..end {
                if self.items[c] < self.items[min] {
                    min = c;
                }
            }
            if self.items[i] <= self.items[min] {
                break;
            }
            self.items.swap(i, min);
            i = min;
        }
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::Rng;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn pops_like_a_sorted_reference_under_mixed_pushes_and_pops() {
        let mut rng = Rng::new(5);
        let mut heap = QuadHeap::default();
        let mut reference = BinaryHeap::new();
        for round in 0..20_000 {
            if rng.below(3) > 0 || reference.is_empty() {
                let v = rng.below(1000);
                heap.push(v);
                reference.push(Reverse(v));
            } else {
                assert_eq!(heap.pop(), reference.pop().map(|r| r.0), "round {round}");
            }
            assert_eq!(heap.len(), reference.len());
        }
        let drained: Vec<u64> = std::iter::from_fn(|| heap.pop()).collect();
        let expected: Vec<u64> = std::iter::from_fn(|| reference.pop().map(|r| r.0)).collect();
        assert_eq!(drained, expected);
        assert_eq!(heap.peek(), None);
    }
}
