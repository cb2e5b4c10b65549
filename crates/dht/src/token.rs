//! Write tokens (BEP 5): a node may announce to us (or put, BEP 44) only with a token we
//! gave its IP address in an answer to `get_peers` (or `get`). The token is the first 8
//! bytes of SHA-1(secret ‖ IP); the secret rotates every few minutes and the previous one
//! is still accepted, so a token lives between one and two rotation periods, and we keep
//! no state per requester.

use crate::rng::{RandomBytes, Rng};
use sha1::{Digest, Sha1};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Length of the tokens we hand out.
const TOKEN_LEN: usize = 8;

#[derive(Debug)]
pub(crate) struct Tokens {
    current: [u8; 16],
    previous: [u8; 16],
    rotated_at: Instant,
    every: Duration,
}

impl Tokens {
    pub(crate) fn new(rng: &mut Rng, every: Duration, now: Instant) -> Self {
        let mut current = [0u8; 16];
        rng.fill(&mut current);
        Tokens {
            current,
            previous: current,
            rotated_at: now,
            every,
        }
    }

    fn make(secret: &[u8; 16], ip: IpAddr) -> [u8; TOKEN_LEN] {
        let mut h = Sha1::new();
        h.update(secret);
        match ip {
            IpAddr::V4(v4) => h.update(v4.octets()),
            IpAddr::V6(v6) => h.update(v6.octets()),
        }
        let digest = h.finalize();
        let mut out = [0u8; TOKEN_LEN];
        out.copy_from_slice(&digest[..TOKEN_LEN]);
        out
    }

    /// The token for a requester at `ip`.
    pub(crate) fn issue(&self, ip: IpAddr) -> Vec<u8> {
        Self::make(&self.current, ip).to_vec()
    }

    /// Whether `token` was issued to `ip` under the current or the previous secret.
    pub(crate) fn check(&self, ip: IpAddr, token: &[u8]) -> bool {
        token == Self::make(&self.current, ip) || token == Self::make(&self.previous, ip)
    }

    /// Rotates the secret when its time has come.
    pub(crate) fn maybe_rotate(&mut self, rng: &mut Rng, now: Instant) {
        if now.saturating_duration_since(self.rotated_at) >= self.every {
            self.previous = self.current;
            rng.fill(&mut self.current);
            self.rotated_at = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_for_one_rotation_then_refused() {
        let mut rng = Rng::new(1);
        let now = Instant::now();
        let every = Duration::from_secs(300);
        let mut t = Tokens::new(&mut rng, every, now);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let tok = t.issue(ip);
        assert!(t.check(ip, &tok));
        assert!(!t.check("10.0.0.2".parse().unwrap(), &tok));
        t.maybe_rotate(&mut rng, now + every);
        assert!(t.check(ip, &tok));
        t.maybe_rotate(&mut rng, now + every * 2);
        assert!(!t.check(ip, &tok));
    }
}
