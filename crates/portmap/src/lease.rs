//! When to renew a granted mapping, and when to give up on it: a plain value driven by
//! the caller's clock (`now` passed in), so the schedule is tested without waiting.
//!
//! A mapping granted for `lifetime` seconds is renewed at half of it (RFC 6886 §3.3 and
//! RFC 6887 §11.2.1 both suggest renewing well before expiry), but never sooner than
//! [`MIN_RENEW`] after it was granted (a gateway granting a second would otherwise be
//! asked again and again) nor later than [`MAX_RENEW`] (a gateway that restarted forgets
//! its mappings; an absurd lifetime such as 136 years changes nothing). A permanent UPnP
//! mapping (lease 0) is refreshed every [`MAX_RENEW`] for the same reason. A renewal that
//! fails is retried after [`RETRY_FIRST`], doubling, until the mapping expires; then the
//! caller starts over (discovers the gateway again).

use std::time::{Duration, Instant};

/// Earliest renewal after a grant.
pub const MIN_RENEW: Duration = Duration::from_secs(10);
/// Latest renewal after a grant (and the refresh period of a permanent mapping).
pub const MAX_RENEW: Duration = Duration::from_secs(30 * 60);
/// The first retry after a failed renewal; doubles after each failure.
pub const RETRY_FIRST: Duration = Duration::from_secs(5);

/// A granted mapping's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    granted: Instant,
    /// `None` for a permanent mapping.
    lifetime: Option<Duration>,
    /// When to renew next.
    next: Instant,
    failures: u32,
}

/// What to do when a renewal failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this time.
    RetryAt(Instant),
    /// The mapping has expired (or will before the next try): start over.
    Expired,
}

impl Lease {
    /// A mapping granted at `now` for `lifetime_secs` seconds (0: permanent).
    pub fn granted(now: Instant, lifetime_secs: u32) -> Lease {
        let lifetime = (lifetime_secs > 0).then(|| Duration::from_secs(u64::from(lifetime_secs)));
        let after = lifetime.map_or(MAX_RENEW, |l| (l / 2).clamp(MIN_RENEW, MAX_RENEW));
        Lease {
            granted: now,
            lifetime,
            next: now + after,
            failures: 0,
        }
    }

    /// When to renew (or retry a failed renewal).
    pub fn renew_at(&self) -> Instant {
        self.next
    }

    /// When the gateway drops the mapping unless renewed (`None`: permanent).
    pub fn expires_at(&self) -> Option<Instant> {
        self.lifetime.and_then(|l| self.granted.checked_add(l))
    }

    /// The renewal attempted at `now` failed.
    pub fn renewal_failed(&mut self, now: Instant) -> AfterFailure {
        let wait = RETRY_FIRST.saturating_mul(1 << self.failures.min(10));
        self.failures += 1;
        let at = now + wait;
        match self.expires_at() {
            Some(end) if at >= end => AfterFailure::Expired,
            // A permanent mapping has nothing to lose; after a few failures, start over.
            None if self.failures > 4 => AfterFailure::Expired,
            _ => {
                self.next = at;
                AfterFailure::RetryAt(at)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn renews_at_half_the_lifetime_within_bounds() {
        let t0 = Instant::now();
        assert_eq!(Lease::granted(t0, 7200).renew_at(), t0 + S(1800));
        assert_eq!(Lease::granted(t0, 600).renew_at(), t0 + S(300));
        assert_eq!(Lease::granted(t0, 1).renew_at(), t0 + MIN_RENEW);
        assert_eq!(Lease::granted(t0, u32::MAX).renew_at(), t0 + MAX_RENEW);
        assert_eq!(Lease::granted(t0, 600).expires_at(), Some(t0 + S(600)));
        let permanent = Lease::granted(t0, 0);
        assert_eq!(
            (permanent.renew_at(), permanent.expires_at()),
            (t0 + MAX_RENEW, None)
        );
    }

    #[test]
    fn failed_renewals_back_off_until_expiry() {
        let t0 = Instant::now();
        let mut lease = Lease::granted(t0, 120);
        let t = lease.renew_at();
        assert_eq!(t, t0 + S(60));
        assert_eq!(lease.renewal_failed(t), AfterFailure::RetryAt(t + S(5)));
        assert_eq!(lease.renew_at(), t + S(5));
        assert_eq!(
            lease.renewal_failed(t + S(5)),
            AfterFailure::RetryAt(t + S(15))
        );
        assert_eq!(
            lease.renewal_failed(t + S(15)),
            AfterFailure::RetryAt(t + S(35))
        );
        // Next wait would be 40 s, past expiry at t0 + 120 s.
        assert_eq!(lease.renewal_failed(t + S(35)), AfterFailure::Expired);
    }

    #[test]
    fn a_permanent_mapping_gives_up_after_a_few_failures() {
        let t0 = Instant::now();
        let mut lease = Lease::granted(t0, 0);
        let mut now = lease.renew_at();
        for _ in 0..4 {
            match lease.renewal_failed(now) {
                AfterFailure::RetryAt(at) => now = at,
                AfterFailure::Expired => panic!("gave up too soon"),
            }
        }
        assert_eq!(lease.renewal_failed(now), AfterFailure::Expired);
    }
}
