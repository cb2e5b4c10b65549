//! The bookkeeping of hole punching (BEP 55), apart from the `Torrent` that acts on it:
//! who introduced each address learned by PEX, which rendezvous we asked for, the hole-punch
//! dials in flight, and the token buckets that bound what a relay can make us dial.
//!
//! All of it is bounded: a hostile peer can fill the maps only up to their caps, and the
//! oldest entries go first.

use crate::PeerKey;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Addresses whose introducer is remembered, at most (the candidates' cap is 2,000; PEX
/// is one source of them among several).
const MAX_INTRODUCED: usize = 1000;
/// Rendezvous asked for and remembered, at most.
const MAX_ASKS: usize = 64;
/// Hole-punch dials in flight at once, at most.
pub(crate) const MAX_DIALS: usize = 8;
/// A connect naming an address we asked about counts as the answer within this time.
pub(crate) const ANSWER_WINDOW: Duration = Duration::from_secs(30);
/// A dial to a PEX address not called reachable that has not connected after this long
/// asks for a rendezvous without waiting for the dial to give up: two SYNs have gone
/// unanswered by then, on any path with a round trip under a second.
pub(crate) const ASK_EARLY_AFTER: Duration = Duration::from_secs(2);
/// The same address is not asked about again before this long.
pub(crate) const ASK_AGAIN_AFTER: Duration = Duration::from_secs(120);

/// Who told us about an address, and the PEX flags it gave with it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Introduction {
    pub(crate) by: PeerKey,
    pub(crate) flags: u8,
}

/// A rendezvous we sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask {
    pub(crate) relay: PeerKey,
    pub(crate) at: Instant,
    /// A connect or an error answered it: a second connect is not ours.
    pub(crate) answered: bool,
}

/// A token bucket: `burst` tokens at most, one more every `every`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: u32,
    burst: u32,
    every: Duration,
    last: Instant,
}

impl Bucket {
    pub(crate) fn full(now: Instant, burst: u32, every: Duration) -> Bucket {
        Bucket {
            tokens: burst,
            burst,
            every,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let gained = now.saturating_duration_since(self.last).as_nanos() / self.every.as_nanos();
        if gained > 0 {
            let gained = u32::try_from(gained).unwrap_or(u32::MAX);
            self.tokens = self.tokens.saturating_add(gained).min(self.burst);
            self.last += self.every * gained.min(self.burst);
            if self.tokens == self.burst {
                self.last = now;
            }
        }
    }

    /// Whether a token is there (without taking it).
    pub(crate) fn has(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens > 0
    }

    /// Takes a token if one is there.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

/// Unasked connects (we are the target) per relay: two at once, then one a minute.
pub(crate) fn relay_bucket(now: Instant) -> Bucket {
    Bucket::full(now, 2, Duration::from_secs(60))
}

/// Rendezvous we relay per asking peer: five at once, then one every ten seconds.
pub(crate) fn rendezvous_bucket(now: Instant) -> Bucket {
    Bucket::full(now, 5, Duration::from_secs(10))
}

/// The torrent's hole-punching state.
#[derive(Debug)]
pub(crate) struct Holepunch {
    introduced: BTreeMap<SocketAddr, Introduction>,
    /// Insertion order of `introduced`, for eviction.
    introduced_order: VecDeque<SocketAddr>,
    asks: BTreeMap<SocketAddr, Ask>,
    /// Addresses with a hole-punch dial in flight.
    pub(crate) dialing: BTreeSet<SocketAddr>,
    /// Unasked connects over all relays: four at once, then one every fifteen seconds.
    pub(crate) unasked: Bucket,
}

impl Holepunch {
    pub(crate) fn new(now: Instant) -> Holepunch {
        Holepunch {
            introduced: BTreeMap::new(),
            introduced_order: VecDeque::new(),
            asks: BTreeMap::new(),
            dialing: BTreeSet::new(),
            unasked: Bucket::full(now, 4, Duration::from_secs(15)),
        }
    }

    /// `by` named `addr` in a PEX message, with these flags. The latest introducer wins.
    pub(crate) fn introduced(&mut self, addr: SocketAddr, by: PeerKey, flags: u8) {
        if self
            .introduced
            .insert(addr, Introduction { by, flags })
            .is_none()
        {
            self.introduced_order.push_back(addr);
            while self.introduced.len() > MAX_INTRODUCED {
                match self.introduced_order.pop_front() {
                    Some(old) => {
                        self.introduced.remove(&old);
                    }
                    None => break,
                }
            }
        }
    }

    pub(crate) fn introducer(&self, addr: &SocketAddr) -> Option<Introduction> {
        self.introduced.get(addr).copied()
    }

    /// Whether `addr` may be asked about now (never, or long enough ago).
    pub(crate) fn may_ask(&self, now: Instant, addr: &SocketAddr) -> bool {
        self.asks
            .get(addr)
            .is_none_or(|a| now.saturating_duration_since(a.at) >= ASK_AGAIN_AFTER)
    }

    pub(crate) fn asked(&mut self, now: Instant, addr: SocketAddr, relay: PeerKey) {
        if self.asks.len() >= MAX_ASKS && !self.asks.contains_key(&addr) {
            // Forget the oldest ask: its answer window is the first to have closed.
            if let Some(oldest) = self.asks.iter().min_by_key(|(_, a)| a.at).map(|(k, _)| *k) {
                self.asks.remove(&oldest);
            }
        }
        self.asks.insert(
            addr,
            Ask {
                relay,
                at: now,
                answered: false,
            },
        );
    }

    /// The open ask a connect from `relay` naming `addr` answers, if any: one for that
    /// address, or for another port of its IP (the target's NAT may have mapped its uTP
    /// socket to another port than the one PEX gave). Marks it answered.
    pub(crate) fn answer(
        &mut self,
        now: Instant,
        relay: PeerKey,
        addr: SocketAddr,
    ) -> Option<SocketAddr> {
        let open = |a: &Ask| {
            a.relay == relay && !a.answered && now.saturating_duration_since(a.at) < ANSWER_WINDOW
        };
        let key = match self.asks.get(&addr) {
            Some(a) if open(a) => addr,
            _ => {
                *self
                    .asks
                    .iter()
                    .find(|(k, a)| same_ip(k.ip(), addr.ip()) && open(a))?
                    .0
            }
        };
        if let Some(a) = self.asks.get_mut(&key) {
            a.answered = true;
        }
        Some(key)
    }

    /// An error from `relay` about `addr` ends that attempt: true if we had asked.
    pub(crate) fn refused(&mut self, relay: PeerKey, addr: SocketAddr) -> bool {
        match self.asks.get_mut(&addr) {
            Some(a) if a.relay == relay && !a.answered => {
                a.answered = true;
                true
            }
            _ => false,
        }
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_one_token_per_period_up_to_its_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::full(t0, 2, Duration::from_secs(10));
        assert!(b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(!b.take(t0 + Duration::from_secs(9)));
        assert!(b.take(t0 + Duration::from_secs(10)));
        assert!(!b.take(t0 + Duration::from_secs(11)));
        let later = t0 + Duration::from_secs(1000);
        assert!(b.take(later) && b.take(later));
        assert!(!b.take(later));
    }

    #[test]
    fn introductions_are_bounded_oldest_first() {
        let mut h = Holepunch::new(Instant::now());
        for i in 0..(MAX_INTRODUCED as u16 + 10) {
            h.introduced(SocketAddr::from(([10, 0, 0, 1], i + 1)), PeerKey(1), 0);
        }
        assert_eq!(h.introduced.len(), MAX_INTRODUCED);
        assert!(h
            .introducer(&SocketAddr::from(([10, 0, 0, 1], 1)))
            .is_none());
        assert!(h
            .introducer(&SocketAddr::from((
                [10, 0, 0, 1],
                MAX_INTRODUCED as u16 + 10
            )))
            .is_some());
    }

    #[test]
    fn a_connect_answers_an_ask_once_within_its_window() {
        let t0 = Instant::now();
        let mut h = Holepunch::new(t0);
        let asked = SocketAddr::from(([80, 1, 1, 1], 6881));
        h.asked(t0, asked, PeerKey(3));
        assert_eq!(h.answer(t0, PeerKey(4), asked), None, "another relay");
        let remapped = SocketAddr::from(([80, 1, 1, 1], 40000));
        assert_eq!(h.answer(t0, PeerKey(3), remapped), Some(asked));
        assert_eq!(h.answer(t0, PeerKey(3), asked), None, "answered already");
        h.asked(t0, asked, PeerKey(3));
        assert_eq!(h.answer(t0 + ANSWER_WINDOW, PeerKey(3), asked), None);
        assert!(!h.may_ask(t0 + Duration::from_secs(1), &asked));
        assert!(h.may_ask(t0 + ASK_AGAIN_AFTER, &asked));
    }
}
