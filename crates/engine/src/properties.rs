//! Property tests of the picker and the choker: for random swarms and random event orders,
//! their invariants hold and a download always finishes. (Inside the crate, as both are
//! private to it.)

use crate::choker::{Candidate, Choker};
use crate::picker::Picker;
use crate::PeerKey;
use proptest::prelude::*;
use shoal_core::{Bitfield, BlockRef, Lengths, Rng, BLOCK_SIZE};
use std::collections::{BTreeMap, BTreeSet};

/// One step of the random schedule: (which peer, what to do, a number to pick with).
type Step = (usize, u8, u16);

fn bitfields(n: u32, peers: usize, seed: u64) -> Vec<Bitfield> {
    let mut rng = Rng::new(seed);
    let mut out: Vec<Bitfield> = (0..peers)
        .map(|_| {
            let mut b = Bitfield::new(n);
            for i in 0..n {
                if rng.below(2) == 0 {
                    b.set(i);
                }
            }
            b
        })
        .collect();
    // Every piece exists somewhere, so the download can finish.
    for i in 0..n {
        if !out.iter().any(|b| b.get(i)) {
            let p = rng.below(peers as u64) as usize;
            out[p].set(i);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn picker_invariants_hold_and_download_finishes(
        pieces in 1u32..12,
        blocks_per_piece in 1u32..5,
        tail in 1u32..BLOCK_SIZE,
        peers in 1usize..5,
        seed in any::<u64>(),
        steps in proptest::collection::vec((0usize..5, 0u8..4, any::<u16>()), 0..300),
    ) {
        let piece_len = blocks_per_piece * BLOCK_SIZE;
        let total = (pieces - 1) as u64 * piece_len as u64 + tail as u64;
        let lengths = Lengths::new(total, piece_len).unwrap();
        let n = lengths.num_pieces();
        let mut picker = Picker::new(lengths, Bitfield::new(n), &mut Rng::new(seed));
        let has = bitfields(n, peers, seed);
        for b in &has {
            picker.peer_has_bitfield(b);
        }
        let mut outstanding: Vec<Vec<BlockRef>> = vec![Vec::new(); peers];
        let mut received: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
        let mut bad_once: BTreeSet<u32> = BTreeSet::new();

        let mut run = |step: Step, picker: &mut Picker| -> Result<(), TestCaseError> {
            let (p, op, x) = step;
            let p = p % peers;
            let key = PeerKey(p as u64);
            match op {
                0 => {
                    let endgame = picker.in_endgame();
                    let mut out = Vec::new();
                    // As the engine asks a seed: what nobody else has, then the rest.
                    let max = 1 + x as usize % 8;
                    picker.pick(key, max, has[p].is_full(), |i| has[p].get(i), |_| true, &mut out);
                    let more = max - out.len();
                    picker.pick(key, more, false, |i| has[p].get(i), |_| true, &mut out);
                    for b in &out {
                        prop_assert!(has[p].get(b.piece.get()), "picked a piece the peer lacks");
                        prop_assert!(!picker.have().get(b.piece.get()), "picked a piece we have");
                        prop_assert!(!outstanding[p].contains(b), "asked one peer twice for a block");
                        let elsewhere = outstanding.iter().enumerate().any(|(q, o)| q != p && o.contains(b));
                        prop_assert!(!elsewhere || endgame || picker.in_endgame(), "duplicate request outside endgame");
                        outstanding[p].push(*b);
                    }
                }
                1 | 2 if !outstanding[p].is_empty() => {
                    let i = x as usize % outstanding[p].len();
                    let b = outstanding[p].remove(i);
                    if op == 2 {
                        picker.request_dropped(&b, key);
                        return Ok(());
                    }
                    let got = picker.block_received(&b, key);
                    for other in &got.cancel {
                        outstanding[other.0 as usize].retain(|o| *o != b);
                        picker.request_dropped(&b, *other);
                    }
                    if got.fresh {
                        let set = received.entry(b.piece.get()).or_default();
                        prop_assert!(set.insert(b.offset), "a block counted fresh twice");
                    }
                    if got.piece_complete {
                        let piece = b.piece;
                        prop_assert_eq!(received[&piece.get()].len() as u32, lengths.blocks_in_piece(piece));
                        received.remove(&piece.get());
                        // Each piece fails its hash once at most, to exercise the retry path.
                        let ok = !bad_once.insert(piece.get()) || x % 3 != 0;
                        if !ok {
                            for o in outstanding.iter_mut() {
                                o.retain(|b| b.piece != piece);
                            }
                        }
                        picker.piece_verified(piece, ok);
                    }
                }
                _ => {}
            }
            Ok(())
        };
        for step in steps {
            run(step, &mut picker)?;
        }
        // Then a fair schedule must finish the download.
        let mut rounds = 0;
        while !picker.is_complete() {
            rounds += 1;
            prop_assert!(rounds < 10_000, "download did not finish");
            for p in 0..peers {
                run((p, 0, 7), &mut picker)?;
                run((p, 1, 0), &mut picker)?;
            }
        }
    }

    #[test]
    fn choker_unchokes_only_interested_peers_within_its_slots(
        leech_slots in 0usize..6,
        seed_slots in 0usize..16,
        peers in proptest::collection::vec((any::<bool>(), 0u64..1000, 0u64..1000, any::<bool>()), 0..30),
        seeding in any::<bool>(),
        seed in any::<u64>(),
        rounds in 1usize..8,
    ) {
        let candidates: Vec<Candidate> = peers
            .iter()
            .enumerate()
            .map(|(i, &(interested, down, up, snubbed))| Candidate {
                key: PeerKey(i as u64),
                interested,
                download_rate: down,
                upload_rate: up,
                snubbed,
            })
            .collect();
        let mut choker = Choker::new(leech_slots, seed_slots);
        let slots = if seeding { seed_slots } else { leech_slots };
        let mut rng = Rng::new(seed);
        for _ in 0..rounds {
            let unchoked = choker.round(&candidates, seeding, &mut rng);
            prop_assert!(unchoked.len() <= slots + 1);
            let unique: BTreeSet<_> = unchoked.iter().collect();
            prop_assert_eq!(unique.len(), unchoked.len());
            for key in &unchoked {
                prop_assert!(candidates[key.0 as usize].interested, "unchoked an uninterested peer");
            }
            // The regular slots go to the best eligible peers by the rate that matters.
            let rate = |c: &Candidate| if seeding { c.upload_rate } else { c.download_rate };
            let eligible: Vec<&Candidate> = candidates.iter().filter(|c| c.interested && !c.snubbed).collect();
            let regular = eligible.len().min(slots);
            if regular > 0 {
                let mut rates: Vec<u64> = eligible.iter().map(|c| rate(c)).collect();
                rates.sort_unstable_by(|a, b| b.cmp(a));
                let threshold = rates[regular - 1];
                let best_unchoked = unchoked
                    .iter()
                    .filter(|k| {
                        let c = &candidates[k.0 as usize];
                        !c.snubbed && rate(c) >= threshold
                    })
                    .count();
                prop_assert!(best_unchoked >= regular, "a better peer was left choked");
            }
        }
    }
}
