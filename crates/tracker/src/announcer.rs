//! [`Announcer`]: when to announce, to which tracker, with which event, for one torrent.
//!
//! Tiers follow BEP 12: each tier is shuffled once; every announce round starts at the first
//! tracker of the first tier and goes on, one tracker at a time, until one answers; the one
//! that answered moves to the front of its tier. Only one tracker is contacted at a time,
//! which is also what BEP 27 asks of private torrents.
//!
//! After an answer the next round waits for the tracker's `interval` (never less than its
//! `min interval`), or a shorter "starving" delay while the torrent still needs peers. When
//! every tracker failed, rounds back off exponentially. Events bypass the interval, as BEP 15
//! allows: each tracker gets `started` first, `completed` once the torrent completes, and
//! [`Announcer::stopped`] names the trackers to tell `stopped`.

use crate::{AnnounceReply, Event};
use shoal_core::Rng;
use std::time::{Duration, Instant};

/// Timing of an [`Announcer`].
#[derive(Debug, Clone, Copy)]
pub struct AnnouncerConfig {
    /// Used when a tracker's answer has no `interval`.
    pub default_interval: Duration,
    /// Never announce to trackers more often than this, whatever they say.
    pub floor: Duration,
    /// Longest interval honoured; trackers asking for more are asked sooner anyway.
    pub ceiling: Duration,
    /// Delay before the next round while the torrent still wants peers (still at least the
    /// tracker's `min interval`).
    pub starving_interval: Duration,
    /// First delay after a round in which every tracker failed; doubles each failed round.
    pub retry_base: Duration,
    /// The retry delay stops doubling at this.
    pub retry_max: Duration,
}

impl Default for AnnouncerConfig {
    fn default() -> AnnouncerConfig {
        AnnouncerConfig {
            default_interval: Duration::from_secs(30 * 60),
            floor: Duration::from_secs(30),
            ceiling: Duration::from_secs(4 * 3600),
            starving_interval: Duration::from_secs(120),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(30 * 60),
        }
    }
}

/// The next announce to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The tracker's announce URL.
    pub url: String,
    /// The event to send with this announce.
    pub event: Event,
    /// No other tracker is left to try in this round (the last of the last tier, or the only
    /// tracker): the caller may keep trying this one as long as its protocol allows (BEP 15's
    /// full retransmit schedule) instead of giving up early for the next tracker's sake.
    pub last_resort: bool,
}

#[derive(Debug)]
struct Tracker {
    url: String,
    /// The tracker acknowledged our `started` and has not been told `stopped`.
    started: bool,
    /// `completed` is still to be sent to this tracker.
    owes_completed: bool,
}

/// Announce scheduling for one torrent's trackers.
#[derive(Debug)]
pub struct Announcer {
    config: AnnouncerConfig,
    tiers: Vec<Vec<Tracker>>,
    /// The tracker the current round tries next: (tier, index).
    cursor: (usize, usize),
    /// The announce handed out and not yet answered.
    in_flight: Option<(usize, usize)>,
    next_at: Instant,
    /// Rounds in a row in which every tracker failed.
    failed_rounds: u32,
    complete: bool,
}

impl Announcer {
    /// `tiers` as in the torrent (BEP 12); empty tiers and repeated URLs are dropped, and each
    /// tier is shuffled. The first announce is due at once.
    pub fn new(
        config: AnnouncerConfig,
        tiers: Vec<Vec<String>>,
        rng: &mut Rng,
        now: Instant,
    ) -> Announcer {
        let mut seen = std::collections::HashSet::new();
        let tiers = tiers
            .into_iter()
            .map(|tier| {
                let mut tier: Vec<Tracker> = tier
                    .into_iter()
                    .filter(|url| seen.insert(url.clone()))
                    .map(|url| Tracker {
                        url,
                        started: false,
                        owes_completed: false,
                    })
                    .collect();
                rng.shuffle(&mut tier);
                tier
            })
            .filter(|tier| !tier.is_empty())
            .collect();
        Announcer {
            config,
            tiers,
            cursor: (0, 0),
            in_flight: None,
            next_at: now,
            failed_rounds: 0,
            complete: false,
        }
    }

    /// The trackers in their current order, tier by tier.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.tiers.iter().flatten().map(|t| t.url.as_str())
    }

    /// The announce to make now, if one is due; it stays in flight until
    /// [`Announcer::on_success`] or [`Announcer::on_failure`].
    pub fn poll(&mut self, now: Instant) -> Option<Due> {
        if self.in_flight.is_some() || now < self.next_at || self.tiers.is_empty() {
            return None;
        }
        let (tier, index) = self.cursor;
        let tracker = &self.tiers[tier][index];
        let event = if !tracker.started {
            Event::Started
        } else if tracker.owes_completed {
            Event::Completed
        } else {
            Event::None
        };
        let last_resort = tier + 1 == self.tiers.len() && index + 1 == self.tiers[tier].len();
        self.in_flight = Some(self.cursor);
        Some(Due {
            url: tracker.url.clone(),
            event,
            last_resort,
        })
    }

    /// When [`Announcer::poll`] has something next; `None` while an announce is in flight.
    pub fn next_wakeup(&self) -> Option<Instant> {
        (self.in_flight.is_none() && !self.tiers.is_empty()).then_some(self.next_at)
    }

    /// The announce in flight was answered. `need_peers`: the torrent still looks for peers,
    /// so the next round comes sooner.
    pub fn on_success(&mut self, now: Instant, reply: &AnnounceReply, need_peers: bool) {
        let Some((tier, index)) = self.in_flight.take() else {
            return;
        };
        let mut tracker = self.tiers[tier].remove(index);
        tracker.started = true;
        tracker.owes_completed = false;
        self.tiers[tier].insert(0, tracker);
        self.cursor = (0, 0);
        self.failed_rounds = 0;
        let c = &self.config;
        let min = reply.min_interval.unwrap_or_default().max(c.floor);
        let interval = reply.interval.unwrap_or(c.default_interval).min(c.ceiling);
        let wait = if need_peers {
            c.starving_interval.min(interval)
        } else {
            interval
        };
        self.next_at = now + wait.max(min);
    }

    /// The announce in flight failed (no answer, an error, a refusal): the next tracker of
    /// the round is tried at once, or, after the last one, the round starts over later.
    pub fn on_failure(&mut self, now: Instant) {
        let Some((tier, index)) = self.in_flight.take() else {
            return;
        };
        if index + 1 < self.tiers[tier].len() {
            self.cursor = (tier, index + 1);
        } else if tier + 1 < self.tiers.len() {
            self.cursor = (tier + 1, 0);
        } else {
            self.cursor = (0, 0);
            let c = &self.config;
            let backoff = c.retry_base.saturating_mul(1 << self.failed_rounds.min(16));
            self.failed_rounds += 1;
            self.next_at = now + backoff.min(c.retry_max);
            return;
        }
        self.next_at = now;
    }

    /// The torrent completed: trackers that were told `started` get `completed` now.
    pub fn completed(&mut self, now: Instant) {
        if self.complete {
            return;
        }
        self.complete = true;
        let mut any = false;
        for t in self.tiers.iter_mut().flatten().filter(|t| t.started) {
            t.owes_completed = true;
            any = true;
        }
        if any && self.in_flight.is_none() && self.failed_rounds == 0 {
            self.next_at = now;
        }
    }

    /// The torrent stops: the announces still to make, in order, to the trackers that
    /// acknowledged `started`: `completed` where it is still owed (a download that finished
    /// just before the stop), then `stopped`. Nothing is due afterwards.
    pub fn stopped(&mut self) -> Vec<Due> {
        self.in_flight = None;
        let mut last = Vec::new();
        for t in self.tiers.iter().flatten().filter(|t| t.started) {
            if t.owes_completed {
                last.push(Due {
                    url: t.url.clone(),
                    event: Event::Completed,
                    last_resort: false,
                });
            }
            last.push(Due {
                url: t.url.clone(),
                event: Event::Stopped,
                last_resort: false,
            });
        }
        self.tiers.clear();
        last
    }
}

#[cfg(test)]
mod tests;
