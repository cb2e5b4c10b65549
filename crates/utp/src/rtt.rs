//! Round-trip time estimate and the retransmission timeout, as BEP 29 gives them.
//!
//! `rtt += (sample - rtt) / 8`, `rtt_var += (|rtt - sample| - rtt_var) / 4`,
//! `timeout = max(rtt + 4 * rtt_var, 500 ms)`, 1 s before the first sample, doubled for
//! every timeout in a row (capped at [`MAX_RTO`]) until an ACK makes progress.

use std::time::Duration;

/// Timeout before any sample (BEP 29).
const INITIAL_RTO: Duration = Duration::from_secs(1);
/// Floor of the timeout (BEP 29): below it, delayed ACKs and scheduling jitter would
/// cause spurious timeouts, which cost a whole window.
const MIN_RTO: Duration = Duration::from_millis(500);
/// Ceiling of the backed-off timeout.
pub(crate) const MAX_RTO: Duration = Duration::from_secs(30);

/// The estimator of one connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rtt {
    /// Smoothed RTT and its mean deviation, in microseconds; `None` before a sample.
    srtt_var: Option<(u64, u64)>,
    /// Timeouts in a row since the last progress: the doubling exponent.
    backoff: u32,
}

impl Rtt {
    /// Takes one sample: the time from sending a packet (sent once only) to its ACK.
    pub(crate) fn sample(&mut self, rtt: Duration) {
        let s = rtt.as_micros().min(u128::from(u32::MAX)) as u64;
        self.srtt_var = Some(match self.srtt_var {
            None => (s, s / 2),
            Some((srtt, var)) => {
                let delta = srtt.abs_diff(s);
                let var = (var * 3 + delta) / 4;
                let srtt = (srtt * 7 + s) / 8;
                (srtt, var)
            }
        });
    }

    /// The smoothed RTT, once there is a sample.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt_var.map(|(s, _)| Duration::from_micros(s))
    }

    /// The timeout, backoff included.
    pub(crate) fn rto(&self) -> Duration {
        let base = match self.srtt_var {
            None => INITIAL_RTO,
            Some((s, v)) => Duration::from_micros(s + 4 * v).max(MIN_RTO),
        };
        base.saturating_mul(1 << self.backoff.min(8)).min(MAX_RTO)
    }

    /// A timeout fired: the next one waits twice as long.
    pub(crate) fn back_off(&mut self) {
        self.backoff = self.backoff.saturating_add(1);
    }

    /// An ACK made progress: the path works, stop backing off.
    pub(crate) fn reset_backoff(&mut self) {
        self.backoff = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_floor_and_backoff() {
        let mut r = Rtt::default();
        assert_eq!(r.rto(), Duration::from_secs(1));
        r.sample(Duration::from_millis(10));
        assert_eq!(r.rto(), MIN_RTO);
        for _ in 0..20 {
            r.sample(Duration::from_millis(300));
        }
        assert!(r.rto() > Duration::from_millis(300) && r.rto() < Duration::from_millis(700));
        let one = r.rto();
        r.back_off();
        assert_eq!(r.rto(), one * 2);
        r.reset_backoff();
        assert_eq!(r.rto(), one);
        for _ in 0..40 {
            r.back_off();
        }
        assert_eq!(r.rto(), MAX_RTO);
    }
}
