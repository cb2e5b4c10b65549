//! The choker: which interested peers we upload to.
//!
//! Every round (10 s) the regular slots go to the interested peers that are best for us:
//! while downloading, those that gave us the most data in the last round (tit-for-tat),
//! skipping snubbed peers; while seeding, those we could upload to fastest, and more of
//! them (a seed trades nothing; see `Config::seed_upload_slots`). Every third round
//! the optimistic slot moves to a random choked interested peer, so newcomers get a chance
//! to prove themselves. The choker is a pure function of its inputs and its seeded RNG.

use crate::PeerKey;
use shoal_core::Rng;

/// What the choker needs to know about one peer.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub key: PeerKey,
    pub interested: bool,
    /// Payload bytes per second the peer sent us recently.
    pub download_rate: u64,
    /// Payload bytes per second we sent the peer recently.
    pub upload_rate: u64,
    /// The peer has sent us nothing for a long time although we asked.
    pub snubbed: bool,
}

#[derive(Debug)]
pub(crate) struct Choker {
    slots: usize,
    seed_slots: usize,
    rounds: u64,
    optimistic: Option<PeerKey>,
}

/// Regular rounds per optimistic-unchoke rotation (3 x 10 s = 30 s).
const OPTIMISTIC_EVERY: u64 = 3;

impl Choker {
    /// `slots` regular slots while downloading, `seed_slots` while seeding.
    pub(crate) fn new(slots: usize, seed_slots: usize) -> Choker {
        Choker {
            slots,
            seed_slots,
            rounds: 0,
            optimistic: None,
        }
    }

    /// Regular slots (besides the optimistic one).
    pub(crate) fn slots(&self, seeding: bool) -> usize {
        if seeding {
            self.seed_slots
        } else {
            self.slots
        }
    }

    /// Runs one round and returns the peers to have unchoked (all others are choked).
    pub(crate) fn round(
        &mut self,
        peers: &[Candidate],
        seeding: bool,
        rng: &mut Rng,
    ) -> Vec<PeerKey> {
        let mut ranked: Vec<&Candidate> = peers
            .iter()
            .filter(|c| c.interested && !c.snubbed)
            .collect();
        // Stable order for equal rates: key order, so the outcome depends only on inputs.
        ranked.sort_by_key(|c| {
            (
                std::cmp::Reverse(if seeding {
                    c.upload_rate
                } else {
                    c.download_rate
                }),
                c.key,
            )
        });
        let slots = self.slots(seeding);
        let mut unchoked: Vec<PeerKey> = ranked.iter().take(slots).map(|c| c.key).collect();

        let rotate = self.rounds % OPTIMISTIC_EVERY == 0;
        self.rounds += 1;
        let still_there = self
            .optimistic
            .filter(|o| peers.iter().any(|c| c.key == *o && c.interested));
        self.optimistic = if rotate || still_there.is_none() {
            let choked: Vec<PeerKey> = peers
                .iter()
                .filter(|c| c.interested && !unchoked.contains(&c.key))
                .map(|c| c.key)
                .collect();
            (!choked.is_empty()).then(|| choked[rng.below(choked.len() as u64) as usize])
        } else {
            still_there
        };
        if let Some(o) = self.optimistic {
            if !unchoked.contains(&o) {
                unchoked.push(o);
            }
        }
        unchoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(key: u64, interested: bool, down: u64, up: u64) -> Candidate {
        Candidate {
            key: PeerKey(key),
            interested,
            download_rate: down,
            upload_rate: up,
            snubbed: false,
        }
    }

    #[test]
    fn leeching_rewards_best_uploaders_plus_one_optimistic() {
        let mut c = Choker::new(2, 2);
        let peers = vec![
            cand(1, true, 10, 0),
            cand(2, true, 30, 0),
            cand(3, true, 20, 0),
            cand(4, false, 99, 0),
            cand(5, true, 0, 0),
        ];
        let u = c.round(&peers, false, &mut Rng::new(1));
        assert_eq!(u.len(), 3);
        assert_eq!(&u[..2], &[PeerKey(2), PeerKey(3)]);
        assert!(
            u[2] == PeerKey(1) || u[2] == PeerKey(5),
            "optimistic is a choked interested peer"
        );
        assert!(!u.contains(&PeerKey(4)), "uninterested peers stay choked");
    }

    #[test]
    fn seeding_ranks_by_upload_rate() {
        let mut c = Choker::new(1, 1);
        let peers = vec![cand(1, true, 0, 5), cand(2, true, 0, 50)];
        let u = c.round(&peers, true, &mut Rng::new(1));
        assert_eq!(u[0], PeerKey(2));
    }

    #[test]
    fn snubbed_peers_lose_regular_slots() {
        let mut c = Choker::new(1, 1);
        let mut fast = cand(1, true, 1000, 0);
        fast.snubbed = true;
        let peers = vec![fast, cand(2, true, 1, 0)];
        let u = c.round(&peers, false, &mut Rng::new(1));
        assert_eq!(u[0], PeerKey(2));
    }

    #[test]
    fn optimistic_slot_rotates_every_third_round() {
        let peers: Vec<Candidate> = (1..=20).map(|k| cand(k, true, 0, 0)).collect();
        let mut c = Choker::new(0, 0);
        let mut rng = Rng::new(3);
        let first = c.round(&peers, false, &mut rng);
        assert_eq!(c.round(&peers, false, &mut rng), first);
        assert_eq!(c.round(&peers, false, &mut rng), first);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..30 {
            seen.extend(c.round(&peers, false, &mut rng));
        }
        assert!(seen.len() > 3, "rotation reaches many peers: {seen:?}");
    }
}
