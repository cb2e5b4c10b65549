//! Transfer rates for display, estimated from the engine's byte counters.

use std::time::Instant;

/// Smoothed bytes-per-second of a monotonically growing counter.
#[derive(Debug)]
pub(crate) struct RateMeter {
    last_total: u64,
    last_at: Instant,
    smoothed: f64,
}

impl RateMeter {
    pub(crate) fn new(now: Instant) -> RateMeter {
        RateMeter {
            last_total: 0,
            last_at: now,
            smoothed: 0.0,
        }
    }

    /// Feeds the counter's current value; returns the smoothed rate in bytes per second.
    pub(crate) fn update(&mut self, now: Instant, total: u64) -> u64 {
        let secs = now.duration_since(self.last_at).as_secs_f64();
        if secs >= 0.2 {
            let sample = total.saturating_sub(self.last_total) as f64 / secs;
            // About a three-second memory at the driver's half-second publishing interval.
            self.smoothed = if self.smoothed == 0.0 {
                sample
            } else {
                0.8 * self.smoothed + 0.2 * sample
            };
            self.last_total = total;
            self.last_at = now;
        }
        self.smoothed as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn steady_counter_gives_its_rate_and_stalls_decay() {
        let start = Instant::now();
        let mut meter = RateMeter::new(start);
        let mut rate = 0;
        for i in 1..=40u64 {
            rate = meter.update(start + Duration::from_millis(500 * i), 1000 * i);
        }
        assert!((1900..=2100).contains(&rate), "{rate}");
        for i in 41..=80u64 {
            rate = meter.update(start + Duration::from_millis(500 * i), 40_000);
        }
        assert!(rate < 100, "{rate}");
    }
}
