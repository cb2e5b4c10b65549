//! Our external address, agreed by votes. Peers tell us the address they see us at (BEP 10
//! `yourip`), DHT nodes do too (BEP 42 `ip`), and a port mapping reports the router's. Each
//! reporter counts once (its latest word), only the latest [`MAX_REPORTERS`] per family are
//! kept, and a reporter on our own LAN (or loopback) does not vote: it sees a local address,
//! not the one the internet sees. An address needs [`QUORUM`] reporters to win, unless the
//! router itself said it (a port mapping), which needs no quorum.
//!
//! [`AddressVotes`] is plain data (no clock, no I/O); [`ExternalAddress`] shares it between
//! the session's drivers and publishes the winners.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use tokio::sync::watch;
use tracing::info;

/// Our external addresses as agreed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExternalAddresses {
    /// The IPv4 address the internet sees us at.
    pub v4: Option<IpAddr>,
    /// The IPv6 address the internet sees us at.
    pub v6: Option<IpAddr>,
}

/// The session's votes, fed by every torrent's driver (and the DHT), with the winners
/// published for whoever reports reachability.
#[derive(Debug)]
pub(crate) struct ExternalAddress {
    votes: Mutex<AddressVotes>,
    winners: watch::Sender<ExternalAddresses>,
}

impl ExternalAddress {
    pub(crate) fn new() -> ExternalAddress {
        ExternalAddress {
            votes: Mutex::default(),
            winners: watch::Sender::new(ExternalAddresses::default()),
        }
    }

    /// Counts one report; logs and publishes a new winner.
    pub(crate) fn vote(&self, ip: IpAddr, reporter: Reporter) {
        let mut votes = self.votes.lock().unwrap_or_else(PoisonError::into_inner);
        if votes.vote(ip, reporter) {
            self.publish(&votes);
        }
    }

    /// What the router said our IPv4 address is (a port mapping), or `None` once the
    /// mapping is gone.
    // Fed by port mapping, which lands separately.
    #[allow(dead_code)]
    pub(crate) fn set_mapped(&self, ip: Option<IpAddr>) {
        let mut votes = self.votes.lock().unwrap_or_else(PoisonError::into_inner);
        votes.set_mapped(ip);
        self.publish(&votes);
    }

    fn publish(&self, votes: &AddressVotes) {
        let now = ExternalAddresses {
            v4: votes.external(true),
            v6: votes.external(false),
        };
        self.winners.send_if_modified(|old| {
            if *old == now {
                return false;
            }
            for ip in [now.v4, now.v6].into_iter().flatten() {
                if ![old.v4, old.v6].contains(&Some(ip)) {
                    info!(%ip, reporters = votes.reporters_of(ip), "external address");
                }
            }
            *old = now;
            true
        });
    }

    /// Follows the winners.
    pub(crate) fn subscribe(&self) -> watch::Receiver<ExternalAddresses> {
        self.winners.subscribe()
    }
}

/// Reporters remembered per address family; the oldest is forgotten first.
pub(crate) const MAX_REPORTERS: usize = 64;
/// Distinct reporters an address needs before it is believed.
pub(crate) const QUORUM: usize = 2;

/// Who reported an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reporter {
    /// A peer (BEP 10 `yourip`), by its IP address.
    Peer(IpAddr),
    /// A DHT node (BEP 42 `ip`), by its IP address.
    DhtNode(IpAddr),
}

impl Reporter {
    fn ip(self) -> IpAddr {
        match self {
            Reporter::Peer(ip) | Reporter::DhtNode(ip) => ip,
        }
    }
}

/// The votes, per family, and what the router said.
#[derive(Debug, Default)]
pub(crate) struct AddressVotes {
    v4: VecDeque<(IpAddr, IpAddr)>,
    v6: VecDeque<(IpAddr, IpAddr)>,
    mapped_v4: Option<IpAddr>,
}

impl AddressVotes {
    /// Records that `reporter` sees us at `ip`. Returns true if this changed the winner of
    /// `ip`'s family.
    pub(crate) fn vote(&mut self, ip: IpAddr, reporter: Reporter) -> bool {
        let ip = ip.to_canonical();
        let from = reporter.ip().to_canonical();
        if !is_global(ip) || !is_global(from) || ip.is_ipv4() != from.is_ipv4() {
            return false;
        }
        let before = self.external(ip.is_ipv4());
        let votes = if ip.is_ipv4() {
            &mut self.v4
        } else {
            &mut self.v6
        };
        votes.retain(|&(reporter, _)| reporter != from);
        if votes.len() == MAX_REPORTERS {
            votes.pop_front();
        }
        votes.push_back((from, ip));
        self.external(ip.is_ipv4()) != before
    }

    /// The router's external IPv4 address, from a port mapping (no quorum needed).
    #[allow(dead_code)]
    pub(crate) fn set_mapped(&mut self, ip: Option<IpAddr>) {
        self.mapped_v4 = ip.map(|ip| ip.to_canonical()).filter(|ip| ip.is_ipv4());
    }

    /// Our external address of one family (`v4` true: IPv4): the router's word, else the
    /// address most reporters agree on, if at least [`QUORUM`] of them do (ties go to the
    /// address reported most recently).
    pub(crate) fn external(&self, v4: bool) -> Option<IpAddr> {
        if v4 {
            if let Some(ip) = self.mapped_v4 {
                return Some(ip);
            }
        }
        let votes = if v4 { &self.v4 } else { &self.v6 };
        let mut best: Option<(IpAddr, usize)> = None;
        for (i, &(_, ip)) in votes.iter().enumerate().rev() {
            // Count each address once, at its latest vote.
            if votes.iter().skip(i + 1).any(|&(_, later)| later == ip) {
                continue;
            }
            let count = votes.iter().filter(|&&(_, v)| v == ip).count();
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((ip, count));
            }
        }
        best.filter(|&(_, count)| count >= QUORUM).map(|(ip, _)| ip)
    }

    /// How many reporters named `ip`.
    pub(crate) fn reporters_of(&self, ip: IpAddr) -> usize {
        let votes = if ip.is_ipv4() { &self.v4 } else { &self.v6 };
        votes.iter().filter(|&&(_, v)| v == ip).count()
    }
}

/// True for an address the internet can route: not loopback, private, link-local,
/// unspecified, multicast, documentation or shared (CGNAT) space.
pub(crate) fn is_global(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_multicast()
                || ip.is_broadcast()
                || ip.is_documentation()
                // 100.64.0.0/10: carrier-grade NAT's shared space.
                || (a == 100 && (64..128).contains(&b))
                // 0.0.0.0/8 and 240.0.0.0/4.
                || a == 0
                || a >= 240)
        }
        IpAddr::V6(ip) => {
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local, 2001:db8::/32 documentation.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && ip.segments()[1] == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_needs_a_quorum_of_distinct_reporters() {
        let mut votes = AddressVotes::default();
        assert!(!votes.vote(ip("80.1.1.1"), Reporter::Peer(ip("81.0.0.1"))));
        assert_eq!(votes.external(true), None, "one reporter is not enough");
        // The same reporter again (another connection, or the DHT from the same host).
        votes.vote(ip("80.1.1.1"), Reporter::DhtNode(ip("81.0.0.1")));
        assert_eq!(votes.external(true), None);
        assert!(votes.vote(ip("80.1.1.1"), Reporter::Peer(ip("82.0.0.1"))));
        assert_eq!(votes.external(true), Some(ip("80.1.1.1")));
        assert_eq!(votes.reporters_of(ip("80.1.1.1")), 2);
        assert_eq!(votes.external(false), None);
    }

    #[test]
    fn the_majority_wins_and_a_reporter_can_change_its_mind() {
        let mut votes = AddressVotes::default();
        for r in ["81.0.0.1", "81.0.0.2", "81.0.0.3"] {
            votes.vote(ip("80.1.1.1"), Reporter::Peer(ip(r)));
        }
        for r in ["82.0.0.1", "82.0.0.2"] {
            votes.vote(ip("80.9.9.9"), Reporter::Peer(ip(r)));
        }
        assert_eq!(votes.external(true), Some(ip("80.1.1.1")));
        // Our address changed (a new lease): reporters say so, one by one.
        for r in ["81.0.0.1", "81.0.0.2"] {
            votes.vote(ip("80.9.9.9"), Reporter::Peer(ip(r)));
        }
        assert_eq!(votes.external(true), Some(ip("80.9.9.9")));
    }

    #[test]
    fn lan_and_loopback_views_do_not_vote() {
        let mut votes = AddressVotes::default();
        for r in ["192.168.1.5", "127.0.0.1", "10.0.0.2", "fe80::1"] {
            votes.vote(ip("80.1.1.1"), Reporter::Peer(ip(r)));
        }
        for r in ["81.0.0.1", "81.0.0.2"] {
            votes.vote(ip("192.168.1.2"), Reporter::Peer(ip(r)));
        }
        assert_eq!(votes.external(true), None);
        // A mapped IPv4 address in an IPv6 report is the IPv4 address.
        votes.vote(ip("::ffff:80.1.1.1"), Reporter::Peer(ip("::ffff:81.0.0.1")));
        votes.vote(ip("80.1.1.1"), Reporter::Peer(ip("81.0.0.2")));
        assert_eq!(votes.external(true), Some(ip("80.1.1.1")));
    }

    #[test]
    fn the_router_needs_no_quorum_and_memory_is_bounded() {
        let mut votes = AddressVotes::default();
        votes.set_mapped(Some(ip("80.100.100.11")));
        assert_eq!(votes.external(true), Some(ip("80.100.100.11")));
        votes.set_mapped(None);
        for i in 0..1000u32 {
            let reporter = IpAddr::from([81, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
            votes.vote(ip("2a00::1").to_canonical(), Reporter::Peer(reporter));
            votes.vote(ip("80.1.1.1"), Reporter::Peer(reporter));
        }
        assert_eq!(votes.v4.len(), MAX_REPORTERS);
        assert!(
            votes.v6.is_empty(),
            "IPv6 votes from IPv4 reporters are refused"
        );
        assert_eq!(votes.external(true), Some(ip("80.1.1.1")));
    }

    #[test]
    fn global_addresses() {
        for g in ["80.1.1.1", "8.8.8.8", "2a00:1450::1"] {
            assert!(is_global(ip(g)), "{g}");
        }
        for l in [
            "10.1.1.1",
            "172.16.0.1",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.2.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_global(ip(l)), "{l}");
        }
    }
}
