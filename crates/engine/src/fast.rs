//! BEP 6 allowed-fast sets: the pieces a peer may fetch from us while choked, computed with
//! the canonical algorithm so that every client offers a given peer the same pieces.

use sha1::{Digest, Sha1};
use shoal_core::InfoHash;
use std::net::Ipv4Addr;

/// How many pieces we let a choked newcomer fetch.
pub(crate) const ALLOWED_FAST_COUNT: u32 = 10;

/// The first `k` pieces of the canonical allowed-fast set for a peer at `ip`.
pub(crate) fn allowed_fast_set(
    ip: Ipv4Addr,
    info_hash: &InfoHash,
    num_pieces: u32,
    k: u32,
) -> Vec<u32> {
    let k = k.min(num_pieces);
    let mut set = Vec::with_capacity(k as usize);
    if k == 0 {
        return set;
    }
    let mut x = Vec::with_capacity(24);
    x.extend_from_slice(&(u32::from(ip) & 0xFFFF_FF00).to_be_bytes());
    x.extend_from_slice(&info_hash.0);
    while (set.len() as u32) < k {
        x = Sha1::digest(&x).to_vec();
        for chunk in x.chunks_exact(4) {
            if set.len() as u32 >= k {
                break;
            }
            let y = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let index = y % num_pieces;
            if !set.contains(&index) {
                set.push(index);
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_bep6_test_vectors() {
        let ip = Ipv4Addr::new(80, 4, 4, 200);
        let hash = InfoHash([0xaa; 20]);
        assert_eq!(
            allowed_fast_set(ip, &hash, 1313, 7),
            vec![1059, 431, 808, 1217, 287, 376, 1188]
        );
        assert_eq!(
            allowed_fast_set(ip, &hash, 1313, 9),
            vec![1059, 431, 808, 1217, 287, 376, 1188, 353, 508]
        );
    }

    #[test]
    fn small_torrents_get_every_piece_at_most_once() {
        let set = allowed_fast_set(Ipv4Addr::LOCALHOST, &InfoHash([1; 20]), 3, 10);
        let mut sorted = set.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2]);
    }
}
