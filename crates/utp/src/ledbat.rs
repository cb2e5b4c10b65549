//! LEDBAT congestion control (RFC 6817) in BEP 29's form: the window grows while the
//! queueing delay the connection causes is under the 100 ms target and shrinks when it is
//! over, halves on loss and falls to one packet on a timeout.
//!
//! - **Delay.** Every ACK carries the peer's `timestamp_difference`: its clock minus ours
//!   for our last packet it received, a one-way delay plus an unknown clock offset. The
//!   *base delay* is the least of those over the last one to two minutes (two one-minute
//!   buckets, the older dropped each minute), so a drifting clock or a changed route moves
//!   it within two minutes instead of accumulating. The *queueing delay* is the least of
//!   the last three samples (RFC 6817's current-delay filter, against noise) minus the
//!   base. All of it is `u32` microseconds on a wrapping clock.
//! - **Window.** Per ACK of `bytes_acked`:
//!   `cwnd += gain * min(off_target / target, 1) * bytes_acked / cwnd`, with
//!   `off_target = target - queueing_delay` and `gain` 3,000 bytes per round trip
//!   (libtorrent, libutp), the decrease limited to half the bytes acknowledged (at most
//!   halving per round trip, as RFC 6817 asks). The window only grows when it was what
//!   limited sending: an idle or application-limited connection does not inflate it.
//! - **Slow start** (optional, on by default, like libtorrent): the window grows by the
//!   bytes acknowledged (doubling per round trip) until the queueing delay passes half the
//!   target, a loss, or the threshold set by the last timeout. Pure LEDBAT would need
//!   about 130 round trips to fill a 10 MB/s path with 40 ms of delay.
//! - **Loss** halves the window, at most once per round trip: losses of packets sent before
//!   the last cut do not cut again. **Timeout** sets it to one packet (BEP 29 says 150
//!   bytes; one full packet loses nothing on modern links) and slow-starts back to half of
//!   what it was.

use crate::seq;
use std::time::{Duration, Instant};

/// Upper bound of the window; the peer's advertised window usually binds long before.
const MAX_CWND: f64 = (64 << 20) as f64;
/// Length of one bucket of base-delay history.
const BUCKET: Duration = Duration::from_secs(60);

/// The least one-way delay seen over the last one to two minutes.
#[derive(Debug, Clone, Default)]
struct BaseDelay {
    /// Minimum of the current minute and of the one before.
    buckets: [Option<u32>; 2],
    /// When the current minute began.
    started: Option<Instant>,
}

/// `a < b` on the wrapping microsecond clock.
fn earlier(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

impl BaseDelay {
    fn update(&mut self, now: Instant, sample: u32) {
        let started = *self.started.get_or_insert(now);
        let elapsed = now.saturating_duration_since(started);
        if elapsed >= BUCKET * 2 {
            self.buckets = [None, None];
            self.started = Some(now);
        } else if elapsed >= BUCKET {
            self.buckets = [None, self.buckets[0]];
            self.started = Some(started + BUCKET);
        }
        let cur = &mut self.buckets[0];
        if cur.is_none_or(|c| earlier(sample, c)) {
            *cur = Some(sample);
        }
    }

    fn get(&self) -> Option<u32> {
        match self.buckets {
            [Some(a), Some(b)] => Some(if earlier(a, b) { a } else { b }),
            [a, b] => a.or(b),
        }
    }
}

/// The controller of one connection.
#[derive(Debug, Clone)]
pub(crate) struct Ledbat {
    /// The congestion window, in bytes of datagrams in flight.
    cwnd: f64,
    /// One full packet: the floor of the window.
    mss: f64,
    target_us: f64,
    gain: f64,
    slow_start: bool,
    /// Slow start ends at this window (set by timeouts).
    ssthresh: f64,
    base: BaseDelay,
    /// The last three delay samples, for the current-delay filter.
    recent: [Option<u32>; 3],
    recent_at: usize,
    /// Losses of packets sent before this sequence number were already answered.
    cut_until: Option<u16>,
}

impl Ledbat {
    pub(crate) fn new(mss: usize, target: Duration, gain: u32, slow_start: bool) -> Self {
        let mss = mss as f64;
        Self {
            // Two packets to start, as libtorrent: one ACK in return is enough to grow.
            cwnd: 2.0 * mss,
            mss,
            target_us: target.as_micros() as f64,
            gain: f64::from(gain),
            slow_start,
            ssthresh: MAX_CWND,
            base: BaseDelay::default(),
            recent: [None; 3],
            recent_at: 0,
            cut_until: None,
        }
    }

    /// The window, in bytes.
    pub(crate) fn window(&self) -> usize {
        self.cwnd as usize
    }

    /// The packet size changed (MTU search): the floor of the window follows.
    pub(crate) fn set_mss(&mut self, mss: usize) {
        self.mss = mss as f64;
        self.cwnd = self.cwnd.max(self.mss);
    }

    /// The current queueing delay estimate, once there is a sample.
    pub(crate) fn queueing_delay(&self) -> Option<Duration> {
        self.queue_us()
            .map(|us| Duration::from_micros(u64::from(us)))
    }

    fn queue_us(&self) -> Option<u32> {
        let base = self.base.get()?;
        let current =
            self.recent
                .iter()
                .flatten()
                .copied()
                .reduce(|a, b| if earlier(a, b) { a } else { b })?;
        // A sample below the base only happens before the base takes it in; call it 0.
        Some(if earlier(current, base) {
            0
        } else {
            current.wrapping_sub(base)
        })
    }

    /// An ACK acknowledged `bytes_acked` bytes; `delay_us` is the peer's
    /// `timestamp_difference` (`None` when it sent 0, i.e. has no sample yet);
    /// `cwnd_limited` says whether the window is what held sending back.
    pub(crate) fn on_ack(
        &mut self,
        now: Instant,
        bytes_acked: usize,
        delay_us: Option<u32>,
        cwnd_limited: bool,
    ) {
        if let Some(sample) = delay_us {
            self.base.update(now, sample);
            self.recent[self.recent_at] = Some(sample);
            self.recent_at = (self.recent_at + 1) % self.recent.len();
        }
        let queue = f64::from(self.queue_us().unwrap_or(0));
        let acked = bytes_acked as f64;
        if self.slow_start {
            if queue * 2.0 > self.target_us {
                self.slow_start = false;
            } else {
                if cwnd_limited {
                    self.cwnd = (self.cwnd + acked).min(MAX_CWND);
                }
                if self.cwnd >= self.ssthresh {
                    self.slow_start = false;
                }
                return;
            }
        }
        // Growth is at most `gain` per round trip; a decrease scales with how far over
        // the target the queue is (so a large overshoot drains quickly), but takes at
        // most half of what was acknowledged: no more than halving per round trip.
        let delay_factor = ((self.target_us - queue) / self.target_us).min(1.0);
        let window_factor = (acked / self.cwnd).min(1.0);
        let change = (self.gain * delay_factor * window_factor).max(-acked / 2.0);
        if change > 0.0 && !cwnd_limited {
            return;
        }
        self.cwnd = (self.cwnd + change).clamp(self.mss, MAX_CWND);
    }

    /// Packet `seq` was lost (not a probe); `next_seq` is the next number we will send.
    /// Returns whether the window was cut.
    pub(crate) fn on_loss(&mut self, seq: u16, next_seq: u16) -> bool {
        if self.cut_until.is_some_and(|c| seq::before(seq, c)) {
            return false;
        }
        self.cwnd = (self.cwnd / 2.0).max(self.mss);
        self.ssthresh = self.cwnd;
        self.slow_start = false;
        self.cut_until = Some(next_seq);
        true
    }

    /// The retransmission timer fired: back to one packet.
    pub(crate) fn on_timeout(&mut self, next_seq: u16, slow_start: bool) {
        self.ssthresh = (self.cwnd / 2.0).max(2.0 * self.mss);
        self.cwnd = self.mss;
        self.slow_start = slow_start;
        self.cut_until = Some(next_seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1400;

    fn ledbat(slow_start: bool) -> Ledbat {
        Ledbat::new(MSS, Duration::from_millis(100), 3000, slow_start)
    }

    #[test]
    fn grows_under_target_and_shrinks_over_it() {
        let t0 = Instant::now();
        let mut l = ledbat(false);
        let start = l.window();
        // The base is 1 s of clock offset; no queue: grows.
        for i in 0..100 {
            l.on_ack(t0 + Duration::from_millis(i), MSS, Some(1_000_000), true);
        }
        let grown = l.window();
        assert!(grown > start + 10_000, "{start} -> {grown}");
        // 200 ms of queue: shrinks, at most to one packet.
        for i in 0..10_000 {
            l.on_ack(
                t0 + Duration::from_millis(100 + i),
                MSS,
                Some(1_200_000),
                true,
            );
        }
        assert_eq!(l.window(), MSS);
        assert_eq!(l.queueing_delay(), Some(Duration::from_millis(200)));
    }

    #[test]
    fn does_not_grow_when_not_limited() {
        let t0 = Instant::now();
        let mut l = ledbat(true);
        let start = l.window();
        for _ in 0..100 {
            l.on_ack(t0, MSS, Some(5), false);
        }
        assert_eq!(l.window(), start);
    }

    #[test]
    fn slow_start_doubles_then_stops_at_half_target() {
        let t0 = Instant::now();
        let mut l = ledbat(true);
        l.on_ack(t0, 2 * MSS, Some(1000), true);
        assert_eq!(l.window(), 4 * MSS);
        // 60 ms of queue (three samples: the filter takes their least): past half the
        // target, slow start ends.
        for _ in 0..3 {
            l.on_ack(t0, MSS, Some(61_000), true);
        }
        assert!(!l.slow_start);
        let w = l.window();
        l.on_ack(t0, 4 * MSS, Some(1000), true);
        assert!(
            l.window() <= w + 3000,
            "at most the gain per round trip, not 4 packets"
        );
    }

    #[test]
    fn loss_halves_once_per_window() {
        let mut l = ledbat(false);
        l.cwnd = 100_000.0;
        assert!(l.on_loss(10, 20));
        assert_eq!(l.window(), 50_000);
        assert!(!l.on_loss(15, 25), "sent before the cut");
        assert!(l.on_loss(20, 30));
        assert_eq!(l.window(), 25_000);
        l.on_timeout(30, true);
        assert_eq!(l.window(), MSS);
    }

    #[test]
    fn base_delay_forgets_after_two_minutes() {
        let t0 = Instant::now();
        let mut b = BaseDelay::default();
        b.update(t0, 500);
        b.update(t0 + Duration::from_secs(30), 900);
        assert_eq!(b.get(), Some(500));
        b.update(t0 + Duration::from_secs(70), 900);
        assert_eq!(b.get(), Some(500), "the previous minute still counts");
        b.update(t0 + Duration::from_secs(125), 900);
        assert_eq!(b.get(), Some(900));
        // Wrapping clock: u32::MAX is just before 3.
        b.update(t0 + Duration::from_secs(126), u32::MAX);
        b.update(t0 + Duration::from_secs(127), 3);
        assert_eq!(b.get(), Some(u32::MAX));
    }
}
