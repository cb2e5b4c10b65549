//! UDP trackers (BEP 15): the packets, and [`UdpSession`], one tracker's exchange as a
//! sans-IO state machine.
//!
//! A request first needs a connection id (connect), which stays usable for one minute and is
//! reused by later requests. A request with no answer is sent again after 15·2^n seconds,
//! n = 0, 1, 2... growing with every retransmission of the request (a connect answer does not
//! reset it, as in the spec's example); when a retransmission is due after the connection id
//! expired, a new connect goes out instead.
//!
//! How long a request keeps trying is its [`Patience`], chosen by the caller per request:
//! - [`Patience::Spec`] follows BEP 15 to the letter: n goes up to 8, so 9 sends and
//!   15·(2^9 − 1) s ≈ 2 h 8 min before the request fails. Used when no other tracker is left
//!   to try, where waiting costs nothing and a lossy link or a busy tracker gets every chance.
//! - [`Patience::Brief`] gives up after [`UdpConfig::max_attempts`] sends (2: 15 + 30 s), so
//!   that a dead UDP tracker does not hold back the other trackers of the round for two
//!   hours. The tracker is asked again next round, so it is not given up on.

use crate::peers::PeerCollector;
use crate::{one_line, AnnounceParams, AnnounceReply, ScrapeStats, TrackerError};
use shoal_core::Rng;
use std::time::{Duration, Instant};

/// The magic `protocol_id` of a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// A connection id may be used for this long after it was received.
pub const CONNECTION_ID_LIFETIME: Duration = Duration::from_secs(60);
/// Most info-hashes in one scrape request, as BEP 15 suggests.
pub const MAX_SCRAPE: usize = 74;

const ACTION_CONNECT: u32 = 0;
const ACTION_ANNOUNCE: u32 = 1;
const ACTION_SCRAPE: u32 = 2;
const ACTION_ERROR: u32 = 3;

/// A connect request packet.
pub fn connect_request(tid: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(16);
    p.extend_from_slice(&PROTOCOL_ID.to_be_bytes());
    p.extend_from_slice(&ACTION_CONNECT.to_be_bytes());
    p.extend_from_slice(&tid.to_be_bytes());
    p
}

/// An announce request packet (98 bytes; the `IP address` field is left 0).
pub fn announce_request(connection_id: u64, tid: u32, a: &AnnounceParams) -> Vec<u8> {
    let mut p = Vec::with_capacity(98);
    p.extend_from_slice(&connection_id.to_be_bytes());
    p.extend_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
    p.extend_from_slice(&tid.to_be_bytes());
    p.extend_from_slice(&a.info_hash);
    p.extend_from_slice(&a.peer_id);
    p.extend_from_slice(&a.downloaded.to_be_bytes());
    p.extend_from_slice(&a.left.to_be_bytes());
    p.extend_from_slice(&a.uploaded.to_be_bytes());
    p.extend_from_slice(&a.event.udp_code().to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&a.key.to_be_bytes());
    // -1 asks for the tracker's default.
    let numwant = a
        .numwant
        .map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX));
    p.extend_from_slice(&numwant.to_be_bytes());
    p.extend_from_slice(&a.port.to_be_bytes());
    p
}

/// A scrape request packet for up to [`MAX_SCRAPE`] info-hashes (the rest are left out).
pub fn scrape_request(connection_id: u64, tid: u32, info_hashes: &[[u8; 20]]) -> Vec<u8> {
    let mut p = Vec::with_capacity(16 + 20 * info_hashes.len().min(MAX_SCRAPE));
    p.extend_from_slice(&connection_id.to_be_bytes());
    p.extend_from_slice(&ACTION_SCRAPE.to_be_bytes());
    p.extend_from_slice(&tid.to_be_bytes());
    for h in info_hashes.iter().take(MAX_SCRAPE) {
        p.extend_from_slice(h);
    }
    p
}

/// A decoded reply packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The tracker grants a connection id to put on the next requests.
    Connect {
        /// Transaction id, copied from the request it answers.
        tid: u32,
        /// The id to send with announces and scrapes, for [`CONNECTION_ID_LIFETIME`].
        connection_id: u64,
    },
    /// The answer to an announce.
    Announce {
        /// Transaction id, copied from the request it answers.
        tid: u32,
        /// Interval, swarm counts and peers.
        reply: AnnounceReply,
    },
    /// The answer to a scrape, one entry per info-hash asked about, in the same order.
    Scrape {
        /// Transaction id, copied from the request it answers.
        tid: u32,
        /// Counters for each info-hash.
        stats: Vec<ScrapeStats>,
    },
    /// The tracker refused the request.
    Error {
        /// Transaction id, copied from the request it answers.
        tid: u32,
        /// The tracker's explanation, one line.
        message: String,
    },
}

impl Response {
    /// The transaction id, which ties the reply to the request we sent.
    pub fn tid(&self) -> u32 {
        match *self {
            Response::Connect { tid, .. }
            | Response::Announce { tid, .. }
            | Response::Scrape { tid, .. }
            | Response::Error { tid, .. } => tid,
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes a reply. `ipv6` says whether it came over IPv6, which makes announce peers 18
/// bytes each instead of 6. Longer packets than needed are accepted (the spec allows
/// extensions); shorter ones are errors.
pub fn parse_response(buf: &[u8], ipv6: bool) -> Result<Response, TrackerError> {
    if buf.len() < 8 {
        return Err(TrackerError::Short(buf.len()));
    }
    let action = be32(buf, 0);
    let tid = be32(buf, 4);
    match action {
        ACTION_CONNECT => {
            if buf.len() < 16 {
                return Err(TrackerError::Short(buf.len()));
            }
            let mut id = [0u8; 8];
            id.copy_from_slice(&buf[8..16]);
            Ok(Response::Connect {
                tid,
                connection_id: u64::from_be_bytes(id),
            })
        }
        ACTION_ANNOUNCE => {
            if buf.len() < 20 {
                return Err(TrackerError::Short(buf.len()));
            }
            let mut peers = PeerCollector::default();
            if ipv6 {
                peers.compact_v6(&buf[20..]);
            } else {
                peers.compact_v4(&buf[20..]);
            }
            let reply = AnnounceReply {
                interval: Some(Duration::from_secs(u64::from(be32(buf, 8)))),
                min_interval: None,
                incomplete: Some(be32(buf, 12)),
                complete: Some(be32(buf, 16)),
                warning: None,
                tracker_id: None,
                peers: peers.finish(),
            };
            Ok(Response::Announce { tid, reply })
        }
        ACTION_SCRAPE => {
            let stats = buf[8..]
                .chunks_exact(12)
                .take(MAX_SCRAPE)
                .map(|c| ScrapeStats {
                    seeders: be32(c, 0),
                    completed: be32(c, 4),
                    leechers: be32(c, 8),
                })
                .collect();
            Ok(Response::Scrape { tid, stats })
        }
        ACTION_ERROR => Ok(Response::Error {
            tid,
            message: one_line(&buf[8..]),
        }),
        other => Err(TrackerError::WrongAction {
            expected: ACTION_ANNOUNCE,
            got: other,
        }),
    }
}

/// BEP 15's largest n in 15·2^n: 9 sends in all.
pub const SPEC_MAX_N: u32 = 8;

/// Timing of [`UdpSession`].
#[derive(Debug, Clone, Copy)]
pub struct UdpConfig {
    /// The first wait for an answer; doubled after each retransmission (BEP 15: 15 s).
    pub base_timeout: Duration,
    /// Unanswered sends (connects included) before a [`Patience::Brief`] request fails.
    pub max_attempts: u32,
}

/// How long one request keeps retransmitting before it fails (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// At most [`UdpConfig::max_attempts`] sends: other trackers wait for their turn.
    Brief,
    /// The full BEP 15 schedule, n = 0..=[`SPEC_MAX_N`]: nobody else is left to ask.
    Spec,
}

impl Default for UdpConfig {
    fn default() -> UdpConfig {
        UdpConfig {
            base_timeout: Duration::from_secs(15),
            // 15 + 30 s: long enough for a lost packet or two, short enough that the next
            // tracker of the tier gets its turn within a minute.
            max_attempts: 2,
        }
    }
}

/// What a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpRequest {
    /// Announce ourselves and ask for peers.
    Announce(AnnounceParams),
    /// Ask for swarm counters of these info-hashes.
    Scrape(Vec<[u8; 20]>),
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpOutcome {
    /// The tracker answered the announce.
    Announced(AnnounceReply),
    /// The tracker answered the scrape, one entry per info-hash asked about.
    Scraped(Vec<ScrapeStats>),
    /// The tracker refused, answered nonsense or never answered.
    Failed(TrackerError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Connect,
    Request,
}

#[derive(Debug)]
struct Job {
    request: UdpRequest,
    waiting: Waiting,
    tid: u32,
    /// Retransmissions so far (BEP 15's n): the wait is `base · 2^attempt`, and the request
    /// fails once `max_attempts` sends got no answer.
    attempt: u32,
    /// Unanswered sends after which the request fails.
    max_attempts: u32,
    deadline: Instant,
}

/// One UDP tracker: at most one request at a time, and the connection id it shares.
#[derive(Debug)]
pub struct UdpSession {
    config: UdpConfig,
    ipv6: bool,
    rng: Rng,
    connection: Option<(u64, Instant)>,
    job: Option<Job>,
    transmit: Option<Vec<u8>>,
}

impl UdpSession {
    /// `ipv6`: the tracker's address family (it decides the peer format of announce replies).
    pub fn new(config: UdpConfig, ipv6: bool, seed: u64) -> UdpSession {
        UdpSession {
            config,
            ipv6,
            rng: Rng::new(seed),
            connection: None,
            job: None,
            transmit: None,
        }
    }

    /// Starts a request, abandoning any request still waiting.
    pub fn start(&mut self, now: Instant, request: UdpRequest, patience: Patience) {
        let max_attempts = match patience {
            Patience::Brief => self.config.max_attempts.clamp(1, SPEC_MAX_N + 1),
            Patience::Spec => SPEC_MAX_N + 1,
        };
        self.job = Some(Job {
            request,
            waiting: Waiting::Connect,
            tid: 0,
            attempt: 0,
            max_attempts,
            deadline: now,
        });
        self.send(now);
    }

    /// True while a request waits for its answer.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// The next packet to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.take()
    }

    /// When [`UdpSession::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.job.as_ref().map(|j| j.deadline)
    }

    /// Retransmits (or reconnects) when the wait ran out; fails the request once its
    /// [`Patience`] is used up.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<UdpOutcome> {
        let job = self.job.as_mut()?;
        if now < job.deadline {
            return None;
        }
        if job.attempt + 1 >= job.max_attempts {
            let attempts = job.attempt + 1;
            self.job = None;
            return Some(UdpOutcome::Failed(TrackerError::Timeout { attempts }));
        }
        job.attempt += 1;
        self.send(now);
        None
    }

    /// Feeds a datagram received from the tracker. Replies to other transactions (late
    /// answers to earlier sends) are ignored; a malformed packet or an error packet fails the
    /// request.
    pub fn handle_datagram(&mut self, now: Instant, buf: &[u8]) -> Option<UdpOutcome> {
        let job = self.job.as_ref()?;
        let response = match parse_response(buf, self.ipv6) {
            Ok(r) => r,
            Err(e) => {
                self.job = None;
                return Some(UdpOutcome::Failed(e));
            }
        };
        if response.tid() != job.tid {
            return None;
        }
        let outcome = match (job.waiting, response, &job.request) {
            (_, Response::Error { message, .. }, _) => {
                UdpOutcome::Failed(TrackerError::Failure(message))
            }
            (Waiting::Connect, Response::Connect { connection_id, .. }, _) => {
                self.connection = Some((connection_id, now));
                // n is not reset: a tracker that answers connects but never announces must
                // still run out of attempts.
                self.send(now);
                return None;
            }
            (Waiting::Request, Response::Announce { reply, .. }, UdpRequest::Announce(_)) => {
                UdpOutcome::Announced(reply)
            }
            (Waiting::Request, Response::Scrape { stats, .. }, UdpRequest::Scrape(_)) => {
                UdpOutcome::Scraped(stats)
            }
            (waiting, other, request) => {
                let expected = match (waiting, request) {
                    (Waiting::Connect, _) => ACTION_CONNECT,
                    (_, UdpRequest::Announce(_)) => ACTION_ANNOUNCE,
                    (_, UdpRequest::Scrape(_)) => ACTION_SCRAPE,
                };
                let got = match other {
                    Response::Connect { .. } => ACTION_CONNECT,
                    Response::Announce { .. } => ACTION_ANNOUNCE,
                    Response::Scrape { .. } => ACTION_SCRAPE,
                    Response::Error { .. } => ACTION_ERROR,
                };
                UdpOutcome::Failed(TrackerError::WrongAction { expected, got })
            }
        };
        self.job = None;
        Some(outcome)
    }

    /// Queues the packet for the current step: the request itself while the connection id
    /// is fresh, a connect otherwise.
    fn send(&mut self, now: Instant) {
        let fresh = self
            .connection
            .filter(|&(_, at)| now.saturating_duration_since(at) < CONNECTION_ID_LIFETIME)
            .map(|(id, _)| id);
        if fresh.is_none() {
            self.connection = None;
        }
        let tid = self.rng.next_u64() as u32;
        let Some(job) = self.job.as_mut() else { return };
        job.tid = tid;
        let wait = self.config.base_timeout * 2u32.saturating_pow(job.attempt.min(SPEC_MAX_N));
        job.deadline = now + wait;
        let packet = match (fresh, &job.request) {
            (None, _) => {
                job.waiting = Waiting::Connect;
                connect_request(tid)
            }
            (Some(id), UdpRequest::Announce(a)) => {
                job.waiting = Waiting::Request;
                announce_request(id, tid, a)
            }
            (Some(id), UdpRequest::Scrape(hashes)) => {
                job.waiting = Waiting::Request;
                scrape_request(id, tid, hashes)
            }
        };
        self.transmit = Some(packet);
    }
}

#[cfg(test)]
mod tests;
