//! A simulated network for DHT nodes: datagrams travel through a queue ordered by arrival
//! time, with seeded latency and loss, on a virtual clock that jumps to the next arrival or
//! timer. A node may have an IPv4 address, an IPv6 address or both (one `Dht` behind two
//! sockets); the family of a datagram's destination picks its source address, as the
//! runtime's choice of socket would.

#![allow(dead_code)]

use shoal_dht::{Config, Dht, Event};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// Which families a simulated node has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    V4,
    V6,
    Dual,
}

pub struct Node {
    pub v4: Option<SocketAddr>,
    pub v6: Option<SocketAddr>,
    pub dht: Dht,
    /// Events other than ExternalAddress (those are counted).
    pub events: Vec<Event>,
    pub external_reports: usize,
    timer: Option<Instant>,
}

/// A datagram in flight: arrival time, order of sending (ties), from, to, bytes.
type InFlight = Reverse<(Instant, u64, SocketAddr, SocketAddr, Vec<u8>)>;

pub struct Net {
    pub nodes: Vec<Node>,
    by_addr: HashMap<SocketAddr, usize>,
    queue: BinaryHeap<InFlight>,
    sent: u64,
    pub delivered: u64,
    pub lost: u64,
    rng: u64,
    /// Loss per datagram, in thousandths.
    loss_permille: u64,
    pub start: Instant,
    pub now: Instant,
    buf: Vec<u8>,
}

fn v4(i: usize) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)),
        6881,
    )
}

fn v6(i: usize) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(
            0xfd00,
            0,
            0,
            0,
            0,
            0,
            (i >> 16) as u16,
            i as u16,
        )),
        6881,
    )
}

impl Net {
    pub fn new(seed: u64, loss_permille: u64) -> Self {
        let now = Instant::now();
        Net {
            nodes: Vec::new(),
            by_addr: HashMap::new(),
            queue: BinaryHeap::new(),
            sent: 0,
            delivered: 0,
            lost: 0,
            rng: seed,
            loss_permille,
            start: now,
            now,
            buf: vec![0; 1500],
        }
    }

    fn rand(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Adds a node; returns its index.
    pub fn add(&mut self, stack: Stack) -> usize {
        let i = self.nodes.len() + 1;
        let seed = self.rand();
        let cfg = Config {
            seed,
            allow_private_addresses: true,
            ipv4: stack != Stack::V6,
            ipv6: stack != Stack::V4,
            ..Config::default()
        };
        let node = Node {
            v4: (stack != Stack::V6).then(|| v4(i)),
            v6: (stack != Stack::V4).then(|| v6(i)),
            dht: Dht::new(cfg, self.now),
            events: Vec::new(),
            external_reports: 0,
            timer: None,
        };
        let idx = self.nodes.len();
        for a in node.v4.iter().chain(node.v6.iter()) {
            self.by_addr.insert(*a, idx);
        }
        self.nodes.push(node);
        self.settle(idx);
        idx
    }

    /// The node's addresses.
    pub fn addrs(&self, i: usize) -> Vec<SocketAddr> {
        self.nodes[i]
            .v4
            .iter()
            .chain(self.nodes[i].v6.iter())
            .copied()
            .collect()
    }

    /// Drains a node after an input: datagrams onto the wire, events kept, timer re-armed.
    pub fn settle(&mut self, i: usize) {
        while let Some(t) = self.nodes[i].dht.poll_transmit(&mut self.buf) {
            let node = &self.nodes[i];
            let from = if t.to.is_ipv6() { node.v6 } else { node.v4 };
            let Some(from) = from else { continue };
            let data = self.buf[..t.len].to_vec();
            if self.rand() % 1000 < self.loss_permille {
                self.lost += 1;
                continue;
            }
            let latency = Duration::from_millis(5 + self.rand() % 60);
            self.sent += 1;
            self.queue
                .push(Reverse((self.now + latency, self.sent, from, t.to, data)));
        }
        let node = &mut self.nodes[i];
        while let Some(e) = node.dht.poll_event() {
            match e {
                Event::ExternalAddress { .. } => node.external_reports += 1,
                e => node.events.push(e),
            }
        }
        node.timer = node.dht.poll_timeout();
    }

    /// Runs until `done` holds or `limit` of simulated time passes; returns whether `done`.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Net) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            if done(self) {
                return true;
            }
            let next_timer = self.nodes.iter().filter_map(|n| n.timer).min();
            let next_packet = self.queue.peek().map(|Reverse(p)| p.0);
            let next = match (next_timer, next_packet) {
                (Some(t), Some(p)) => t.min(p),
                (t, p) => match t.or(p) {
                    Some(x) => x,
                    None => return false,
                },
            };
            if next > deadline {
                self.now = deadline;
                return done(self);
            }
            self.now = self.now.max(next);
            if next_packet == Some(next) {
                let Reverse((_, _, from, to, data)) = self.queue.pop().unwrap();
                if let Some(&i) = self.by_addr.get(&to) {
                    self.delivered += 1;
                    let now = self.now;
                    assert!(self.nodes[i].dht.handle_datagram(now, from, &data));
                    self.settle(i);
                }
            } else {
                let now = self.now;
                for i in 0..self.nodes.len() {
                    if self.nodes[i].timer.is_some_and(|t| t <= now) {
                        self.nodes[i].dht.handle_timeout(now);
                        self.settle(i);
                    }
                }
            }
        }
    }

    /// Runs for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    /// Whether node `i` has seen `LookupDone` for `lookup`.
    pub fn done(&self, i: usize, lookup: shoal_dht::LookupId) -> Option<shoal_dht::LookupOutcome> {
        self.nodes[i].events.iter().find_map(|e| match e {
            Event::LookupDone { lookup: l, outcome } if *l == lookup => Some(*outcome),
            _ => None,
        })
    }

    /// The peers node `i` has been given for `lookup`.
    pub fn peers(&self, i: usize, lookup: shoal_dht::LookupId) -> Vec<SocketAddr> {
        self.nodes[i]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Peers { lookup: l, peers } if *l == lookup => Some(peers.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}
