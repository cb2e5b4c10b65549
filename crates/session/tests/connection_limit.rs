//! The session-wide connection limit (`SessionConfig::max_connections`), seen through the
//! torrents' stats: a session never holds more connections than it allows, across torrents
//! and in both directions, and a freed slot goes to whoever waits for one.
//!
//! Every torrent here is a leecher without data, so connections, once made, simply stay up:
//! what the stats count is the limit at work, not transfers coming and going.

use bytes::Bytes;
use shoal_core::Metainfo;
use shoal_session::{AddTorrent, Session, SessionConfig, TorrentHandle};
use shoal_testkit::{content, TorrentBuilder};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest wait for connections to come up.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long the counts are watched for going over the limit.
const WATCH: Duration = Duration::from_secs(3);

/// A one-file torrent named `name` (its data is never written: nobody has it).
fn torrent(name: &str) -> Metainfo {
    TorrentBuilder::single_file(name, content(0, 64 * 1024))
        .piece_length(32 * 1024)
        .build()
        .metainfo
}

async fn session(max_connections: usize) -> Session {
    let mut config = SessionConfig::new("127.0.0.1:0".parse().unwrap());
    config.max_connections = max_connections;
    Session::new(config).await.unwrap()
}

fn add(session: &Session, meta: &Metainfo, dir: &Path, peers: Vec<SocketAddr>) -> TorrentHandle {
    let info: Option<(Arc<_>, Bytes)> =
        Some((Arc::new(meta.info.clone()), meta.info_bytes.clone()));
    session
        .add_torrent(AddTorrent {
            info,
            peers,
            ..AddTorrent::new(meta.info_hash, dir)
        })
        .unwrap()
}

fn connected(handles: &[&TorrentHandle]) -> usize {
    handles
        .iter()
        .map(|h| h.stats().engine.connected_peers)
        .sum()
}

/// Watches `handles` for `WATCH`, asserting their connections never exceed `limit`; returns
/// the largest count seen.
async fn never_above(handles: &[&TorrentHandle], limit: usize) -> usize {
    let until = Instant::now() + WATCH;
    let mut most = 0;
    while Instant::now() < until {
        let now = connected(handles);
        assert!(now <= limit, "{now} connections with a limit of {limit}");
        most = most.max(now);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    most
}

/// Waits until `handles` have `want` connections together.
async fn reach(handles: &[&TorrentHandle], want: usize, what: &str) {
    let until = Instant::now() + DEADLINE;
    while connected(handles) != want {
        assert!(
            Instant::now() < until,
            "{what}: {} connections, expected {want}",
            connected(handles)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_torrents_share_the_session_limit_and_a_stopped_one_frees_its_slots() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (torrent("a"), torrent("b"));
    // Six peers listening, three per torrent.
    let mut listeners = Vec::new();
    let mut addrs = (Vec::new(), Vec::new());
    for i in 0..6 {
        let s = session(400).await;
        let (meta, list) = if i < 3 {
            (&a, &mut addrs.0)
        } else {
            (&b, &mut addrs.1)
        };
        list.push(s.listen_addr());
        let handle = add(&s, meta, &dir.path().join(format!("peer{i}")), Vec::new());
        listeners.push((s, handle));
    }

    let capped = session(3).await;
    let ha = add(&capped, &a, &dir.path().join("capped"), addrs.0.clone());
    let hb = add(&capped, &b, &dir.path().join("capped"), addrs.1.clone());
    let both = [&ha, &hb];
    reach(&both, 3, "the capped session").await;
    assert_eq!(never_above(&both, 3).await, 3);
    // (The listening peers are not counted: PEX from the capped session introduces them to
    // each other, so they connect among themselves.)

    // Stopping one torrent frees its slots for the other, up to its three peers.
    let b_before = hb.stats().engine.connected_peers;
    ha.stop().await;
    reach(&[&hb], 3, "torrent b after a stopped").await;
    assert!(b_before <= 3);
    assert_eq!(never_above(&[&hb], 3).await, 3);

    capped.shutdown().await;
    for (s, _) in listeners {
        s.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_connections_beyond_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let meta = torrent("c");
    let capped = session(1).await;
    let hc = add(&capped, &meta, &dir.path().join("capped"), Vec::new());
    // Two peers dial the capped session; only one gets in.
    let mut others = Vec::new();
    for i in 0..2 {
        let s = session(400).await;
        let peers = vec![capped.listen_addr()];
        let h = add(&s, &meta, &dir.path().join(format!("peer{i}")), peers);
        others.push((s, h));
    }
    reach(&[&hc], 1, "the capped session").await;
    assert_eq!(never_above(&[&hc], 1).await, 1);
    let dialers: Vec<&TorrentHandle> = others.iter().map(|(_, h)| h).collect();
    assert_eq!(connected(&dialers), 1, "both dialers got in");

    capped.shutdown().await;
    for (s, _) in others {
        s.shutdown().await;
    }
}
