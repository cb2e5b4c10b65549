//! A fresh seed and a slow peer: the pieces initial seeding handed to a peer whose link
//! barely moves must not keep a newcomer waiting on the seed for as long as that link takes
//! (found in the NAT lab, where a throttled relay held pieces and the getter that came
//! through a hole punch was refused them for about 24 s).

use crate::harness::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// What the scripted getter B holds and waits for.
#[derive(Default)]
struct Getter {
    have: BTreeSet<(u32, u32)>,
    asked: BTreeSet<(u32, u32)>,
    /// When B was last served a block, and when it first was refused one.
    refused_since: Option<Instant>,
    longest_refusal: Duration,
}

impl Getter {
    /// Asks for every block B neither has nor waits for (a client refused asks again; shoal
    /// does once its other choices are used up, at the latest on its next one-second tick).
    fn ask(&mut self, t: &mut Torrent, now: Instant, key: PeerKey) {
        for piece in 0..PIECES {
            for begin in [0, 16384] {
                if !self.have.contains(&(piece, begin)) && self.asked.insert((piece, begin)) {
                    t.handle_message(now, key, Message::Request(block(piece, begin)));
                }
            }
        }
    }

    /// Carries out the seed's actions for B: blocks leave at once (B's link is fast).
    fn take(&mut self, t: &mut Torrent, now: Instant, key: PeerKey, actions: &[Action]) {
        for a in actions {
            match a {
                Action::ReadBlock { peer, block } if *peer == key => {
                    let b = (block.piece.get(), block.offset);
                    self.asked.remove(&b);
                    self.have.insert(b);
                    t.handle_block_sent(now, key, block.len);
                    if let Some(since) = self.refused_since.take() {
                        self.longest_refusal = self.longest_refusal.max(now - since);
                    }
                }
                Action::Send {
                    peer,
                    msg: Message::Reject(r),
                } if *peer == key => {
                    self.asked.remove(&(r.index, r.begin));
                    self.refused_since.get_or_insert(now);
                }
                _ => {}
            }
        }
    }

    fn complete(&self) -> bool {
        self.have.len() == 2 * PIECES as usize
    }
}

/// Runs a fresh seed with C, which asked for four whole pieces and whose link sends one
/// block every `c_every` seconds (never, with `None`), and B, which connects 2 s later and
/// wants everything. Returns how long B went without a block while it lacked some, and
/// when it had them all (`None`: not within a minute).
fn slow_relay_and_getter(c_every: Option<u64>) -> (Duration, Option<Duration>) {
    // The seed A has just started; C, the slow relay, asks for four whole pieces.
    let (mut t, start, _) = engine_with_have(Bitfield::full(PIECES), true);
    let c = PEER;
    t.handle_message(start, c, Message::Interested);
    drain(&mut t);
    for piece in 0..4 {
        for begin in [0, 16384] {
            t.handle_message(start, c, Message::Request(block(piece, begin)));
        }
    }
    let to_c = reads(&drain(&mut t));
    assert!(!to_c.is_empty(), "C is served");
    let mut c_unsent = to_c.len();
    let mut b = Getter::default();
    let mut other = None;
    let mut now = start;
    while now - start < Duration::from_secs(60) && !b.complete() {
        now += Duration::from_secs(1);
        t.handle_timeout(now);
        let secs = (now - start).as_secs();
        if c_every.is_some_and(|every| secs % every == 0) && c_unsent > 0 {
            c_unsent -= 1;
            t.handle_block_sent(now, c, 16384);
        }
        if secs == 2 {
            // The getter B connects (through a hole punch) and wants everything.
            let key = connect_other(&mut t, now, [10, 1, 2, 4], true);
            t.handle_message(now, key, Message::HaveNone);
            t.handle_message(now, key, Message::Interested);
            other = Some(key);
        }
        let actions = drain(&mut t);
        if let Some(key) = other {
            b.take(&mut t, now, key, &actions);
            b.ask(&mut t, now, key);
            // Each block sent frees a read slot, so more may follow at once.
            loop {
                let actions = drain(&mut t);
                if actions.is_empty() {
                    break;
                }
                b.take(&mut t, now, key, &actions);
            }
        }
    }
    if let Some(since) = b.refused_since {
        b.longest_refusal = b.longest_refusal.max(now - since);
    }
    (b.longest_refusal, b.complete().then(|| now - start))
}

#[test]
fn a_slow_peer_holding_pieces_does_not_starve_a_newcomer_on_a_fresh_seed() {
    // C's link is throttled to a trickle: one block leaves every 4 s, so the eight blocks
    // it holds take 32 s. B gets the six pieces nobody holds at once; the other four it
    // could only have once they had left for C (29 s of nothing before the fix), while our
    // upload to it sat idle. Now they are free again after a choke round without a block
    // of them leaving.
    let (refused, took) = slow_relay_and_getter(Some(4));
    assert!(took.is_some(), "B still lacks blocks after a minute");
    assert!(
        refused <= Duration::from_secs(10),
        "B got nothing for {refused:?} (complete after {took:?})"
    );
}

#[test]
fn a_stalled_peer_holding_pieces_does_not_starve_a_newcomer_for_ever() {
    // C's link stalls for good (no block it holds is ever reported sent) and it stays
    // connected: before the fix B was refused C's pieces as long as C stayed.
    let (refused, took) = slow_relay_and_getter(None);
    assert!(took.is_some(), "B still lacks blocks after a minute");
    assert!(
        refused <= Duration::from_secs(10),
        "B got nothing for {refused:?} (complete after {took:?})"
    );
}

#[test]
fn a_stalled_peer_is_refused_what_it_still_had_queued_of_the_pieces_it_lost() {
    let (mut t, start, _) = engine_with_have(Bitfield::full(PIECES), true);
    let c = PEER;
    t.handle_message(start, c, Message::Interested);
    drain(&mut t);
    let ask = |t: &mut Torrent, now, pieces: std::ops::Range<u32>| {
        for piece in pieces {
            for begin in [0, 16384] {
                t.handle_message(now, c, Message::Request(block(piece, begin)));
            }
        }
        reads(&drain(t))
    };
    assert_eq!(ask(&mut t, start, 0..2).len(), 4);
    let mut now = start;
    let mut freed_round = Vec::new();
    for secs in 1..=25 {
        now = start + Duration::from_secs(secs);
        if secs == 4 {
            // One block gets out; then C's link stalls for good.
            t.handle_block_sent(now, c, 16384);
        }
        t.handle_timeout(now);
        let a = drain(&mut t);
        if secs == 5 {
            // C's rate is known now (a block in 4 s): a few reads in flight at most, the
            // rest of what it asks for waits in its queue with us.
            assert!(reads(&a).is_empty());
            let handed = ask(&mut t, now, 2..5);
            assert!(handed.len() < 6, "some of C's requests wait: {handed:?}");
        }
        let rejected: Vec<u32> = a
            .iter()
            .filter_map(|a| match a {
                Action::Send {
                    peer,
                    msg: Message::Reject(b),
                } if *peer == c => Some(b.index),
                _ => None,
            })
            .collect();
        if !rejected.is_empty() {
            freed_round.push((secs, rejected));
        }
        assert!(
            reads(&a).is_empty() || secs < 21,
            "nothing more of its lost pieces goes to C: {a:?}"
        );
    }
    // Pieces 2 to 4 were claimed at 5 s; the round at 11 s marks them, the one at 21 s
    // frees them, and C's queued requests for them are refused there.
    assert_eq!(freed_round.len(), 1, "{freed_round:?}");
    let (secs, pieces) = &freed_round[0];
    assert_eq!(*secs, 21);
    assert!(!pieces.is_empty() && pieces.iter().all(|i| (2..5).contains(i)));
    // Another peer is served them now.
    let other = connect_other(&mut t, now, [10, 1, 2, 4], true);
    t.handle_message(now, other, Message::Interested);
    drain(&mut t);
    t.handle_message(now, other, Message::Request(block(pieces[0], 0)));
    assert!(drain(&mut t)
        .iter()
        .any(|a| matches!(a, Action::ReadBlock { peer, .. } if *peer == other)));
}

#[test]
fn a_getter_whose_duplicate_connection_was_replaced_is_served_at_once() {
    // A hole punch gives the seed two connections to B: B's dial arrives first, then the
    // seed's own, which both sides keep (the one dialed by the lower peer id).
    let (mut t, now, _) = engine_with_have(Bitfield::full(PIECES), true);
    let b_id = PeerId([0xff; 20]);
    let b_addr = SocketAddr::from(([10, 9, 9, 9], 6881));
    let (first, second) = (PeerKey(20), PeerKey(21));
    t.handle_peer_connected(now, first, b_addr, b_id, our_reserved_bits(), false);
    t.handle_message(now, first, Message::HaveNone);
    t.handle_message(now, first, Message::Interested);
    for piece in 0..2 {
        for begin in [0, 16384] {
            t.handle_message(now, first, Message::Request(block(piece, begin)));
        }
    }
    let a = drain(&mut t);
    assert_eq!(reads(&a).len(), 4, "the first connection is served: {a:?}");
    // One block of them is reported sent; the rest die with the connection.
    t.handle_block_sent(now, first, 16384);
    t.handle_peer_connected(now, second, b_addr, b_id, our_reserved_bits(), true);
    let a = drain(&mut t);
    assert!(
        a.iter().any(|a| matches!(
            a,
            Action::Disconnect { peer, reason: DisconnectReason::Duplicate } if *peer == first
        )),
        "the first connection is the one dropped: {a:?}"
    );
    // B's late reports for the dropped connection change nothing.
    t.handle_block_sent(now, first, 16384);
    t.handle_message(now, second, Message::HaveNone);
    t.handle_message(now, second, Message::Interested);
    let a = drain(&mut t);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Send { peer, msg: Message::Unchoke } if *peer == second)),
        "unchoked at once, not at the next round: {a:?}"
    );
    // The pieces the first connection held are the new one's to have.
    for piece in 0..2 {
        for begin in [0, 16384] {
            t.handle_message(now, second, Message::Request(block(piece, begin)));
        }
    }
    let a = drain(&mut t);
    assert_eq!(reads(&a).len(), 4, "{a:?}");
    assert!(
        !a.iter().any(|a| matches!(
            a,
            Action::Send {
                msg: Message::Reject(_),
                ..
            }
        )),
        "{a:?}"
    );
}
