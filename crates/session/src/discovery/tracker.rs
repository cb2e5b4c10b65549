//! The tracker task of one torrent: drives a [`shoal_tracker::Announcer`] over HTTP
//! ([`super::tracker_http`]) and UDP ([`super::tracker_udp`]), hands the peers trackers return
//! to the driver, publishes each tracker's status for the handle, and tells the trackers
//! "stopped" when the torrent ends.
//!
//! A failing tracker is logged once (with the reason, on one line) until it works again; it
//! never stops the torrent. `https://` trackers speak the same HTTP exchange inside TLS.

use super::tracker_http::{self, HttpError};
use super::tracker_udp::{UdpError, UdpTracker};
use super::TorrentLink;
use crate::dual_stack::Family;
use shoal_core::{InfoHash, Rng};
use shoal_engine::PeerSource;
use shoal_tracker::udp::{Patience, UdpConfig, UdpOutcome, UdpRequest};
use shoal_tracker::url::{Scheme, TrackerUrl};
use shoal_tracker::{
    http, AnnounceParams, AnnounceReply, Announcer, AnnouncerConfig, Due, Event, ScrapeStats,
    TrackerError,
};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tracing::{debug, info, warn};

/// Longest HTTP exchange (connect, request, response).
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for each tracker's answer to the final "stopped" announce.
const STOPPED_TIMEOUT: Duration = Duration::from_secs(2);
/// Peers asked for in each announce.
const NUMWANT: u32 = 50;
/// Below this many connected peers a downloading torrent re-announces sooner.
const WANT_PEERS: usize = 10;
/// What `left` says while a magnet's size is unknown: not zero, or trackers would count
/// us as a seed and send us no seeds.
const UNKNOWN_LEFT: u64 = 16 * 1024;

/// How one tracker is doing, as shown to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackerState {
    /// Not asked yet (an earlier tracker answered, or the torrent just started).
    NotContacted,
    /// An announce is waiting for its answer.
    Announcing,
    /// The last announce was answered.
    Working {
        /// Peers in the last answer.
        peers: usize,
        /// Seeders the tracker counted, when it said.
        seeders: Option<u32>,
        /// Leechers the tracker counted, when it said.
        leechers: Option<u32>,
    },
    /// The last announce failed; the reason, one line.
    Failed(String),
    /// This kind of tracker URL cannot be used; the reason, one line.
    Unsupported(String),
}

/// One tracker of a torrent and how it is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerStatus {
    /// The tracker's announce URL, as the torrent lists it.
    pub url: String,
    /// How its last exchange went.
    pub state: TrackerState,
    /// Peers received from it in total.
    pub peers_received: usize,
}

/// Why an announce or scrape failed; one line.
#[derive(Debug, thiserror::Error)]
pub enum TrackerFailure {
    /// The URL is malformed or of a kind shoal cannot use.
    #[error("{0}")]
    BadUrl(TrackerError),
    /// The HTTP(S) request failed before a response arrived.
    #[error("{0}")]
    Http(#[from] HttpError),
    /// The HTTP tracker answered with a status other than 200 and no failure reason of its
    /// own (status code and reason phrase).
    #[error("HTTP {0} {1}")]
    Status(u16, String),
    /// The UDP exchange failed: no address, a socket error, or no usable answer.
    #[error("{0}")]
    Udp(#[from] UdpError),
    /// The tracker answered, but refused the request or sent a reply that cannot be used.
    #[error("{0}")]
    Reply(#[from] TrackerError),
    /// Scrape asked of an HTTP tracker whose URL has no scrape form (BEP 48).
    #[error("tracker has no scrape URL")]
    NoScrape,
}

/// The publisher of tracker statuses a handle reads.
pub(crate) type StatusBoard = watch::Sender<Vec<TrackerStatus>>;

/// Talks to trackers: HTTP statelessly, UDP trackers kept open for connection-id reuse.
///
/// A listener that takes both address families announces once over each family the
/// tracker's host has (BEP 7), so the tracker hands our IPv4 address to IPv4 peers and our
/// IPv6 address to IPv6 peers. The two announces run side by side; the peers of both are
/// merged, and the exchange counts as answered if either was.
struct Clients {
    udp: HashMap<(String, Family), UdpTracker>,
    udp_config: UdpConfig,
    seed: u64,
    /// The families our listener takes peers of.
    families: Vec<Family>,
}

impl Clients {
    /// `patience`: how long a UDP tracker keeps being asked (the full BEP 15 schedule when
    /// it is the last tracker left to try this round).
    async fn announce(
        &mut self,
        url: &str,
        params: &AnnounceParams,
        patience: Patience,
    ) -> Result<AnnounceReply, TrackerFailure> {
        let parsed = TrackerUrl::parse(url).map_err(TrackerFailure::BadUrl)?;
        let mut exchanges = Vec::new();
        for &family in &self.families {
            let udp = self.udp.remove(&(url.to_string(), family));
            self.seed = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let seed = self.seed;
            exchanges.push(announce_over(
                url,
                &parsed,
                params,
                patience,
                family,
                udp,
                self.udp_config,
                seed,
            ));
        }
        let mut results = Vec::new();
        let mut exchanges = exchanges.into_iter();
        match (exchanges.next(), exchanges.next()) {
            (Some(a), Some(b)) => {
                let (a, b) = tokio::join!(a, b);
                results.extend([a, b]);
            }
            (Some(a), None) => results.push(a.await),
            _ => {}
        }
        let mut answered: Option<AnnounceReply> = None;
        let mut failure: Option<TrackerFailure> = None;
        for (family, udp, result) in results {
            if let Some(tracker) = udp {
                self.udp.insert((url.to_string(), family), tracker);
            }
            match (result, &mut answered) {
                (Ok(reply), None) => answered = Some(reply),
                (Ok(reply), Some(first)) => merge(first, reply),
                // A host without an address of this family is no failure when another
                // family answered; otherwise the first real error is the one to report.
                (Err(e), _) => {
                    let replace = match &failure {
                        None => true,
                        Some(f) => is_missing_family(f) && !is_missing_family(&e),
                    };
                    if replace {
                        failure = Some(e);
                    }
                }
            }
        }
        match (answered, failure) {
            (Some(reply), _) => Ok(reply),
            (None, Some(e)) => Err(e),
            (None, None) => Err(TrackerFailure::BadUrl(TrackerError::BadField("address"))),
        }
    }
}

/// True for the error of a tracker host that has no address of the family asked for.
fn is_missing_family(e: &TrackerFailure) -> bool {
    matches!(
        e,
        TrackerFailure::Http(HttpError::Resolve { .. })
            | TrackerFailure::Udp(UdpError::Resolve { .. })
    )
}

/// Adds the peers of a second family's answer to the first's.
fn merge(first: &mut AnnounceReply, other: AnnounceReply) {
    for peer in other.peers {
        if !first.peers.contains(&peer) {
            first.peers.push(peer);
        }
    }
    first.warning = first.warning.take().or(other.warning);
}

/// One announce over one address family. Hands back the UDP tracker (kept for its
/// connection id) unless the exchange failed at the socket.
#[allow(clippy::too_many_arguments)]
async fn announce_over(
    url: &str,
    parsed: &TrackerUrl,
    params: &AnnounceParams,
    patience: Patience,
    family: Family,
    udp: Option<UdpTracker>,
    udp_config: UdpConfig,
    seed: u64,
) -> (
    Family,
    Option<UdpTracker>,
    Result<AnnounceReply, TrackerFailure>,
) {
    match parsed.scheme {
        Scheme::Http | Scheme::Https => {
            let result = async {
                let full = http::announce_url(url, params, None);
                let target = TrackerUrl::parse(&full)
                    .map_err(TrackerFailure::BadUrl)?
                    .path_and_query;
                let response =
                    tracker_http::get(parsed, &target, HTTP_TIMEOUT, Some(family)).await?;
                match http::parse_announce(&response.body) {
                    // A tracker's own failure reason says more than its status code.
                    Err(TrackerError::Failure(reason)) => Err(TrackerError::Failure(reason).into()),
                    _ if response.status != 200 => {
                        Err(TrackerFailure::Status(response.status, response.reason))
                    }
                    reply => Ok(reply?),
                }
            }
            .await;
            (family, udp, result)
        }
        Scheme::Udp => {
            let mut tracker = match udp {
                Some(tracker) => tracker,
                None => match UdpTracker::open(parsed, udp_config, seed, Some(family)).await {
                    Ok(tracker) => tracker,
                    Err(e) => return (family, None, Err(e.into())),
                },
            };
            let request = UdpRequest::Announce(params.clone());
            match tracker.request(request, patience).await {
                Ok(UdpOutcome::Announced(reply)) => (family, Some(tracker), Ok(reply)),
                Ok(UdpOutcome::Failed(e)) => (family, Some(tracker), Err(e.into())),
                Ok(UdpOutcome::Scraped(_)) => (
                    family,
                    Some(tracker),
                    Err(TrackerError::BadField("action").into()),
                ),
                // A socket error (say, ICMP unreachable) is not worth keeping the socket for.
                Err(e) => (family, None, Err(e.into())),
            }
        }
    }
}

/// Announces to `tiers` until the torrent stops, then sends "stopped".
/// `families`: the address families our listener takes peers of (an announce goes out
/// over each).
pub(crate) async fn run(
    mut link: TorrentLink,
    tiers: Vec<Vec<String>>,
    board: StatusBoard,
    families: Vec<Family>,
) {
    let seed = seed_for(link.info_hash);
    let mut rng = Rng::new(seed);
    let key = rng.next_u64() as u32;
    let mut announcer = Announcer::new(AnnouncerConfig::default(), tiers, &mut rng, Instant::now());
    let mut clients = Clients {
        udp: HashMap::new(),
        udp_config: UdpConfig::default(),
        seed,
        families,
    };
    board.send_replace(
        announcer
            .urls()
            .map(|url| TrackerStatus {
                url: url.to_string(),
                state: TrackerState::NotContacted,
                peers_received: 0,
            })
            .collect(),
    );
    // Failures already logged, so a dead tracker is reported once, not every round.
    let mut reported: HashSet<String> = HashSet::new();
    // Announce only once existing data is checked, so `left` is right from the first
    // announce (a seed says `left=0` rather than looking like a new leecher).
    while matches!(link.stats().state, crate::TorrentState::Checking { .. }) {
        if !link.changed().await {
            return;
        }
    }
    loop {
        if link.is_stopped() {
            break;
        }
        let stats = link.stats();
        if has_everything(&stats) {
            announcer.completed(Instant::now());
        }
        if let Some(due) = announcer.poll(Instant::now()) {
            let params = params_for(&link, &stats, due.event, key);
            let started = Instant::now();
            let mut not_answered_yet = false;
            update(&board, &due.url, |s| {
                if !matches!(s.state, TrackerState::Working { .. }) {
                    s.state = TrackerState::Announcing;
                    not_answered_yet = true;
                }
            });
            // A UDP tracker with nobody after it in the round gets BEP 15's full schedule
            // (up to about two hours); with others waiting it gets two sends (45 s) and is
            // asked again next round.
            let patience = if due.last_resort {
                Patience::Spec
            } else {
                Patience::Brief
            };
            let announce = clients.announce(&due.url, &params, patience);
            tokio::pin!(announce);
            let (result, stopping) = tokio::select! {
                result = &mut announce => (result, false),
                _ = link.stopped() => {
                    // A download can end before a tracker's first answer (a fast peer
                    // hint); wait a little for it, so the exit summary says how the
                    // tracker did (a TLS failure, say) rather than "no answer yet".
                    if !not_answered_yet {
                        break;
                    }
                    match tokio::time::timeout(STOPPED_TIMEOUT, &mut announce).await {
                        Ok(result) => (result, true),
                        Err(_) => break,
                    }
                }
            };
            match result {
                Ok(reply) => {
                    let need_peers =
                        !stats.state.is_complete() && stats.engine.connected_peers < WANT_PEERS;
                    announcer.on_success(Instant::now(), &reply, need_peers);
                    if reported.remove(&due.url) {
                        info!(tracker = %due.url, "tracker works again");
                    }
                    if let Some(warning) = &reply.warning {
                        info!(tracker = %due.url, "tracker warning: {warning}");
                    }
                    info!(
                        tracker = %due.url,
                        event = ?due.event,
                        peers = reply.peers.len(),
                        seeders = ?reply.complete,
                        leechers = ?reply.incomplete,
                        took_ms = started.elapsed().as_millis() as u64,
                        "tracker answered"
                    );
                    let count = reply.peers.len();
                    update(&board, &due.url, |s| {
                        s.peers_received += count;
                        s.state = TrackerState::Working {
                            peers: count,
                            seeders: reply.complete,
                            leechers: reply.incomplete,
                        };
                    });
                    if !link.found(PeerSource::Tracker, reply.peers).await {
                        break;
                    }
                }
                Err(e) => {
                    announcer.on_failure(Instant::now());
                    let reason = e.to_string();
                    if reported.insert(due.url.clone()) {
                        warn!("tracker {} failed: {reason}", due.url);
                    } else {
                        debug!("tracker {} failed again: {reason}", due.url);
                    }
                    let unsupported = matches!(e, TrackerFailure::BadUrl(_));
                    update(&board, &due.url, |s| {
                        s.state = if unsupported {
                            TrackerState::Unsupported(reason)
                        } else {
                            TrackerState::Failed(reason)
                        };
                    });
                }
            }
            if stopping {
                break;
            }
            continue;
        }
        let wake = announcer.next_wakeup().map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = sleep_until_some(wake) => {}
            alive = link.changed() => if !alive { break },
        }
    }
    let stats = link.stats();
    if has_everything(&stats) {
        announcer.completed(Instant::now());
    }
    for Due { url, event, .. } in announcer.stopped() {
        let params = params_for(&link, &stats, event, key);
        let last = clients.announce(&url, &params, Patience::Brief);
        match tokio::time::timeout(STOPPED_TIMEOUT, last).await {
            Ok(Ok(_)) => debug!(tracker = %url, ?event, "last announce answered"),
            Ok(Err(e)) => debug!(tracker = %url, ?event, "last announce failed: {e}"),
            Err(_) => debug!(tracker = %url, ?event, "last announce got no answer in time"),
        }
    }
}

fn params_for(
    link: &TorrentLink,
    stats: &crate::TorrentStats,
    event: Event,
    key: u32,
) -> AnnounceParams {
    let e = &stats.engine;
    let left = if e.has_metadata {
        e.total_bytes.saturating_sub(e.have_bytes)
    } else {
        UNKNOWN_LEFT
    };
    AnnounceParams {
        info_hash: link.info_hash.0,
        peer_id: link.peer_id.0,
        port: link.listen_port,
        uploaded: e.uploaded,
        downloaded: e.downloaded,
        left,
        event,
        numwant: Some(if event == Event::Stopped { 0 } else { NUMWANT }),
        key,
    }
}

/// All data verified. Checked before each announce, so a torrent that starts complete (a
/// seed) announces `started` with `left=0` and never `completed`.
fn has_everything(stats: &crate::TorrentStats) -> bool {
    let e = &stats.engine;
    stats.state.is_complete()
        || (e.has_metadata && e.total_bytes > 0 && e.have_bytes >= e.total_bytes)
}

fn update(board: &StatusBoard, url: &str, change: impl FnOnce(&mut TrackerStatus)) {
    board.send_modify(|all| {
        if let Some(s) = all.iter_mut().find(|s| s.url == url) {
            change(s);
        }
    });
}

/// Asks one tracker for the swarm counters of `info_hash` (BEP 48 over HTTP, BEP 15 over
/// UDP), within `limit`.
pub async fn scrape(
    url: &str,
    info_hash: InfoHash,
    limit: Duration,
) -> Result<ScrapeStats, TrackerFailure> {
    let parsed = TrackerUrl::parse(url).map_err(TrackerFailure::BadUrl)?;
    match parsed.scheme {
        Scheme::Http | Scheme::Https => {
            let scrape = http::scrape_url(url).ok_or(TrackerFailure::NoScrape)?;
            let full = http::scrape_request_url(&scrape, &[info_hash.0]);
            let target = TrackerUrl::parse(&full)
                .map_err(TrackerFailure::BadUrl)?
                .path_and_query;
            let response = tracker_http::get(&parsed, &target, limit, None).await?;
            match http::parse_scrape(&response.body, &info_hash.0) {
                Err(TrackerError::Failure(reason)) => Err(TrackerError::Failure(reason).into()),
                _ if response.status != 200 => {
                    Err(TrackerFailure::Status(response.status, response.reason))
                }
                stats => Ok(stats?),
            }
        }
        Scheme::Udp => {
            let config = UdpConfig {
                base_timeout: (limit / 2).max(Duration::from_millis(100)),
                max_attempts: 2,
            };
            let mut tracker = UdpTracker::open(&parsed, config, seed_for(info_hash), None).await?;
            let request = UdpRequest::Scrape(vec![info_hash.0]);
            let asked = tracker.request(request, Patience::Brief);
            match tokio::time::timeout(limit * 2, asked).await {
                Err(_) => Err(TrackerError::Timeout { attempts: 2 }.into()),
                Ok(Err(e)) => Err(e.into()),
                Ok(Ok(UdpOutcome::Scraped(stats))) => stats
                    .first()
                    .copied()
                    .ok_or_else(|| TrackerError::Short(8).into()),
                Ok(Ok(UdpOutcome::Failed(e))) => Err(e.into()),
                Ok(Ok(UdpOutcome::Announced(_))) => Err(TrackerError::BadField("action").into()),
            }
        }
    }
}

/// Seed for shuffles, keys and transaction ids: differs per torrent and per run.
fn seed_for(info_hash: InfoHash) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut salt = [0u8; 8];
    salt.copy_from_slice(&info_hash.0[..8]);
    nanos ^ u64::from_le_bytes(salt) ^ (u64::from(std::process::id()) << 40)
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::test_link;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const LIMIT: Duration = Duration::from_secs(5);

    /// A torrent that stops before its tracker's first answer (a download done in a blink)
    /// still learns how that answer went, so the summary at exit can say so.
    #[tokio::test]
    async fn a_first_answer_that_comes_after_the_stop_is_still_recorded() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/announce", listener.local_addr().unwrap());
        let (link, driver) = test_link::magnet(InfoHash([2; 20]));
        let (board, seen) = watch::channel(Vec::new());
        let task = tokio::spawn(run(link, vec![vec![url.clone()]], board, vec![Family::V4]));
        let (mut conn, _) = tokio::time::timeout(LIMIT, listener.accept())
            .await
            .expect("announced within 5 s")
            .unwrap();
        let mut request = [0u8; 512];
        let _ = conn.read(&mut request).await.unwrap();
        // The torrent stops while the announce waits; only then does the tracker answer.
        drop(driver);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!task.is_finished(), "gave up on the first answer at once");
        conn.write_all(b"garbage\r\n\r\n").await.unwrap();
        drop(conn);
        tokio::time::timeout(LIMIT, task)
            .await
            .expect("the tracker task ends within 5 s of the stop")
            .unwrap();
        let statuses = seen.borrow().clone();
        assert_eq!(statuses.len(), 1);
        assert!(
            matches!(&statuses[0].state, TrackerState::Failed(r) if r.contains("not an HTTP response")),
            "{statuses:?}"
        );
    }
}
