//! A deterministic link simulator for two uTP endpoints: a virtual clock, and one link
//! per direction with a bottleneck (bandwidth and a tail-drop buffer), propagation delay,
//! and seeded loss, reordering, duplication and an MTU. The same seed gives the same run.

#![allow(dead_code)] // each test file uses a different part

use shoal_utp::packet::{Packet, PacketType};
use shoal_utp::{CloseReason, Config, ConnectionHandle, Datagram, Endpoint, Event};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A SplitMix64 generator for the link's dice.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5eed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Test streams repeat with this period (prime, so it never lines up with packets).
const PERIOD: usize = 65_521;

/// One period of the content of a test stream.
fn pattern() -> Vec<u8> {
    (0..PERIOD as u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect()
}

/// One direction of the path.
#[derive(Debug, Clone)]
pub struct LinkParams {
    /// Propagation delay.
    pub delay: Duration,
    /// Bottleneck rate in bytes per second; `None`: no bottleneck.
    pub bandwidth: Option<u64>,
    /// Bytes the bottleneck buffer holds before it drops.
    pub buffer: usize,
    pub loss: f64,
    /// Probability a datagram is held back by `reorder_by` (arriving after later ones).
    pub reorder: f64,
    pub reorder_by: Duration,
    pub duplicate: f64,
    /// Larger datagrams are dropped if they ask for don't-fragment, else delivered.
    pub mtu: usize,
}

impl Default for LinkParams {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(10),
            bandwidth: None,
            buffer: usize::MAX,
            loss: 0.0,
            reorder: 0.0,
            reorder_by: Duration::from_millis(5),
            duplicate: 0.0,
            mtu: 65_535,
        }
    }
}

/// A datagram in flight.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Instant,
    order: u64,
    to_b: bool,
    data: Vec<u8>,
}

/// Decides to drop particular packets (a SYN, a FIN) whatever the dice say.
pub type Filter = Box<dyn FnMut(&Packet<'_>) -> bool>;

pub struct Link {
    pub params: LinkParams,
    /// When the bottleneck finishes sending what it holds.
    busy_until: Option<Instant>,
    pub filter: Option<Filter>,
    pub sent: u64,
    pub dropped: u64,
    /// (when, queueing delay) of each datagram through the bottleneck.
    pub queue_samples: Vec<(Instant, Duration)>,
}

impl Link {
    fn new(params: LinkParams) -> Self {
        Self {
            params,
            busy_until: None,
            filter: None,
            sent: 0,
            dropped: 0,
            queue_samples: Vec::new(),
        }
    }

    /// When a datagram sent now arrives, or `None` if it is lost.
    fn carry(&mut self, now: Instant, data: &[u8], df: bool, rng: &mut Rng) -> Option<Instant> {
        self.sent += 1;
        if let (Some(f), Ok(p)) = (self.filter.as_mut(), Packet::decode(data)) {
            if f(&p) {
                self.dropped += 1;
                return None;
            }
        }
        if (df && data.len() > self.params.mtu) || rng.chance(self.params.loss) {
            self.dropped += 1;
            return None;
        }
        let mut depart = now;
        if let Some(bw) = self.params.bandwidth {
            let busy = self.busy_until.unwrap_or(now).max(now);
            let backlog = busy - now;
            let backlog_bytes = backlog.as_secs_f64() * bw as f64;
            if backlog_bytes + data.len() as f64 > self.params.buffer as f64 {
                self.dropped += 1;
                return None;
            }
            self.queue_samples.push((now, backlog));
            depart = busy + Duration::from_secs_f64(data.len() as f64 / bw as f64);
            self.busy_until = Some(depart);
        }
        let mut at = depart + self.params.delay;
        if rng.chance(self.params.reorder) {
            at += self.params.reorder_by;
        }
        Some(at)
    }
}

/// Two endpoints joined by two links, on a virtual clock.
pub struct Sim {
    pub now: Instant,
    pub start: Instant,
    pub a: Endpoint,
    pub b: Endpoint,
    pub a_addr: SocketAddr,
    pub b_addr: SocketAddr,
    pub ab: Link,
    pub ba: Link,
    rng: Rng,
    wire: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    buf: Vec<u8>,
    pub events_a: Vec<Event>,
    pub events_b: Vec<Event>,
}

impl Sim {
    pub fn new(seed: u64, cfg: Config, ab: LinkParams, ba: LinkParams) -> Self {
        let now = Instant::now();
        // Room for connections given larger packets than the configuration's.
        let buf = vec![0u8; 65_536];
        Self {
            now,
            start: now,
            a: Endpoint::new(
                Config {
                    seed: seed.wrapping_mul(3) + 1,
                    ..cfg.clone()
                },
                now,
            ),
            b: Endpoint::new(
                Config {
                    seed: seed.wrapping_mul(5) + 2,
                    ..cfg
                },
                now,
            ),
            a_addr: "10.0.0.1:6881".parse().unwrap(),
            b_addr: "10.0.0.2:51413".parse().unwrap(),
            ab: Link::new(ab),
            ba: Link::new(ba),
            rng: Rng::new(seed),
            wire: BinaryHeap::new(),
            order: 0,
            buf,
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Sends everything both endpoints have to send and collects their events.
    pub fn drain(&mut self) {
        for to_b in [true, false] {
            loop {
                let (ep, link) = if to_b {
                    (&mut self.a, &mut self.ab)
                } else {
                    (&mut self.b, &mut self.ba)
                };
                let Some(t) = ep.poll_transmit(self.now, &mut self.buf) else {
                    break;
                };
                let data = &self.buf[..t.len];
                assert!(Packet::decode(data).is_ok(), "sent a malformed packet");
                let copies = if self.rng.chance(link.params.duplicate) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    if let Some(at) = link.carry(self.now, data, t.dont_fragment, &mut self.rng) {
                        self.order += 1;
                        let order = self.order;
                        self.wire.push(Reverse(InFlight {
                            at,
                            order,
                            to_b,
                            data: data.to_vec(),
                        }));
                    }
                }
            }
            let (ep, events) = if to_b {
                (&mut self.a, &mut self.events_a)
            } else {
                (&mut self.b, &mut self.events_b)
            };
            while let Some(e) = ep.poll_event() {
                events.push(e);
            }
        }
    }

    /// Moves time to the next arrival or deadline (at most `limit` ahead) and handles
    /// what is due: every datagram arriving at that instant (one batch), then timers.
    /// Returns false when nothing is left to happen.
    pub fn step(&mut self, limit: Duration) -> bool {
        self.drain();
        let next_wire = self.wire.peek().map(|Reverse(f)| f.at);
        let next_timer = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = [next_wire, next_timer].into_iter().flatten().min() else {
            return false;
        };
        self.now = self.now.max(next.min(self.now + limit));
        while self.wire.peek().is_some_and(|Reverse(f)| f.at <= self.now) {
            let Reverse(f) = self.wire.pop().unwrap();
            let (ep, from) = if f.to_b {
                (&mut self.b, self.a_addr)
            } else {
                (&mut self.a, self.b_addr)
            };
            assert_eq!(ep.handle_datagram(self.now, from, &f.data), Datagram::Utp);
        }
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.drain();
        true
    }

    /// Runs until `done` says so, or `max` of virtual time passes (then panics).
    pub fn run_until(&mut self, max: Duration, mut done: impl FnMut(&mut Sim) -> bool) {
        let deadline = self.now + max;
        while !done(self) {
            assert!(
                self.now < deadline,
                "not done after {max:?} (seed run stuck?)"
            );
            if !self.step(Duration::from_millis(50)) {
                self.now += Duration::from_millis(50);
            }
        }
    }

    pub fn closed_a(&self, h: ConnectionHandle) -> Option<CloseReason> {
        closed(&self.events_a, h)
    }

    pub fn closed_b(&self, h: ConnectionHandle) -> Option<CloseReason> {
        closed(&self.events_b, h)
    }
}

fn closed(events: &[Event], h: ConnectionHandle) -> Option<CloseReason> {
    events.iter().find_map(|e| match *e {
        Event::Closed(c, r) if c == h => Some(r),
        _ => None,
    })
}

/// Whether `p` is of type `t`.
pub fn is(p: &Packet<'_>, t: PacketType) -> bool {
    p.header.packet_type == t
}

/// A one-way transfer of `len` bytes from A to B, the application on both sides: A writes
/// as fast as it is allowed and closes when all is written; B accepts, reads and checks
/// every byte, and closes at the end of the stream.
pub struct Transfer {
    pattern: Vec<u8>,
    pub len: usize,
    pub a_conn: Option<ConnectionHandle>,
    pub b_conn: Option<ConnectionHandle>,
    pub written: usize,
    pub received: usize,
    pub b_reads: bool,
    pub eof: bool,
    pub finished_at: Option<Instant>,
    ev_a: usize,
    ev_b: usize,
}

impl Transfer {
    pub fn start(sim: &mut Sim, len: usize) -> Self {
        let h = sim.a.connect(sim.now, sim.b_addr).unwrap();
        let mut t = Self {
            pattern: pattern(),
            len,
            a_conn: Some(h),
            b_conn: None,
            written: 0,
            received: 0,
            b_reads: true,
            eof: false,
            finished_at: None,
            ev_a: 0,
            ev_b: 0,
        };
        t.pump(sim);
        t
    }

    /// The applications' turn: act on new events, write and read what can be.
    pub fn pump(&mut self, sim: &mut Sim) {
        sim.drain();
        while self.ev_b < sim.events_b.len() {
            if let Event::Incoming(h, _) = sim.events_b[self.ev_b] {
                sim.b.accept(h).unwrap();
                self.b_conn = Some(h);
            }
            self.ev_b += 1;
        }
        self.ev_a = sim.events_a.len();
        if let Some(h) = self.a_conn {
            while self.written < self.len {
                let off = self.written % PERIOD;
                let n = (self.len - self.written).min(PERIOD - off);
                match sim.a.write(h, &self.pattern[off..off + n]) {
                    Ok(k) => self.written += k,
                    Err(_) => break,
                }
            }
            if self.written == self.len {
                sim.a.close(h);
            }
        }
        if let (Some(h), true) = (self.b_conn, self.b_reads) {
            let mut chunk = [0u8; 16 << 10];
            loop {
                match sim.b.read(h, &mut chunk) {
                    Ok(0) => {
                        if !self.eof {
                            self.eof = true;
                            self.finished_at = Some(sim.now);
                            sim.b.close(h);
                        }
                        break;
                    }
                    Ok(n) => {
                        let mut got = &chunk[..n];
                        while !got.is_empty() {
                            let off = self.received % PERIOD;
                            let k = got.len().min(PERIOD - off);
                            let want = &self.pattern[off..off + k];
                            assert!(got[..k] == *want, "wrong bytes after {}", self.received);
                            self.received += k;
                            got = &got[k..];
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        sim.drain();
    }

    /// Runs until B has every byte and both sides closed.
    pub fn run(&mut self, sim: &mut Sim, max: Duration) {
        sim.run_until(max, |sim| {
            self.pump(sim);
            self.eof
                && self.a_conn.is_some_and(|h| sim.closed_a(h).is_some())
                && self.b_conn.is_some_and(|h| sim.closed_b(h).is_some())
        });
        assert_eq!(self.received, self.len);
        assert_eq!(
            sim.closed_a(self.a_conn.unwrap()),
            Some(CloseReason::Finished)
        );
        assert_eq!(
            sim.closed_b(self.b_conn.unwrap()),
            Some(CloseReason::Finished)
        );
    }

    /// Goodput of the transfer, in bytes per second of virtual time.
    pub fn rate(&self, sim: &Sim) -> f64 {
        let end = self.finished_at.unwrap_or(sim.now);
        self.received as f64 / (end - sim.start).as_secs_f64()
    }
}
