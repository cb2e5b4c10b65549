//! Sequence-number arithmetic on the 16-bit circle.
//!
//! uTP numbers packets, not bytes, with `u16`s that wrap after 65,535; a connection moving
//! 1 GiB in 1,400-byte packets wraps about eleven times. "Before" and "after" are therefore
//! defined on the circle: `a` is before `b` when going forward from `a` reaches `b` in
//! fewer than half the circle. Every comparison of sequence numbers in the crate goes
//! through these functions.

/// `b - a` on the circle: how many steps forward from `a` to `b`.
pub(crate) fn dist(a: u16, b: u16) -> u16 {
    b.wrapping_sub(a)
}

/// Whether `a` comes strictly before `b`.
pub(crate) fn before(a: u16, b: u16) -> bool {
    a != b && dist(a, b) < 0x8000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps() {
        assert!(before(65_535, 0));
        assert!(before(65_000, 10));
        assert!(!before(10, 65_000));
        assert!(!before(7, 7));
        assert_eq!(dist(65_534, 2), 4);
    }
}
