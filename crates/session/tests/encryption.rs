//! Message Stream Encryption between two sessions on 127.0.0.1, for every pair of modes:
//! the leecher dials the seeder, and either the data arrives (RC4-encrypted when either side
//! requires it, plaintext otherwise) or, when one side requires encryption and the other has
//! it off, the connection is refused and nothing is transferred.

use shoal_core::Metainfo;
use shoal_session::{AddTorrent, Encryption, Session, SessionConfig};
use shoal_testkit::{content, TorrentBuilder};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use Encryption::{Off, Prefer, Require};

const LEN: usize = 300_001;
/// Well above a working transfer (well under a second), and above the time a refused dial
/// and its plaintext retry take.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long a pair that must fail is given to show that it does.
const REFUSED_FOR: Duration = Duration::from_secs(3);

async fn session(mode: Encryption) -> Session {
    let mut config = SessionConfig::new("127.0.0.1:0".parse().unwrap());
    config.encryption = mode;
    Session::new(config).await.unwrap()
}

fn add(meta: &Metainfo, dir: &Path, peers: Vec<std::net::SocketAddr>, seed: bool) -> AddTorrent {
    AddTorrent {
        info: Some((Arc::new(meta.info.clone()), meta.info_bytes.clone())),
        peers,
        seed,
        ..AddTorrent::new(meta.info_hash, dir)
    }
}

/// Seeds with `seeder`, downloads with `leecher`; `Some(RC4 connections)` if the data arrived
/// (and matches), `None` if nothing did within `patience`.
async fn transfer(seeder: Encryption, leecher: Encryption, patience: Duration) -> Option<u64> {
    let (seed_dir, leech_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let torrent = TorrentBuilder::single_file("f.bin", content(1, LEN))
        .piece_length(32 * 1024)
        .build();
    torrent.write_files(seed_dir.path());
    let meta = torrent.metainfo.clone();
    let seed_session = session(seeder).await;
    let seed = seed_session
        .add_torrent(add(&meta, seed_dir.path(), vec![], true))
        .unwrap();
    tokio::time::timeout(DEADLINE, seed.wait_complete())
        .await
        .unwrap()
        .unwrap();
    let leech_session = session(leecher).await;
    let peers = vec![seed_session.listen_addr()];
    let leech = leech_session
        .add_torrent(add(&meta, leech_dir.path(), peers, false))
        .unwrap();
    let waited = tokio::time::timeout(patience, leech.wait_complete()).await;
    let outcome = match waited {
        Ok(done) => {
            done.expect("download failed");
            let encrypted = leech.stats().encrypted_connections;
            let got = std::fs::read(leech_dir.path().join("f.bin")).unwrap();
            assert!(got == content(1, LEN), "downloaded bytes differ");
            Some(encrypted)
        }
        Err(_) => {
            assert_eq!(
                leech.stats().engine.downloaded,
                0,
                "refused, yet data moved"
            );
            None
        }
    };
    leech_session.shutdown().await;
    seed_session.shutdown().await;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_with_prefer_is_rc4_both_ways() {
    assert_eq!(transfer(Prefer, Require, DEADLINE).await, Some(1));
    assert_eq!(transfer(Require, Prefer, DEADLINE).await, Some(1));
    assert_eq!(transfer(Require, Require, DEADLINE).await, Some(1));
}

/// prefer with prefer obfuscates the handshake, then the receiver picks plaintext
/// (libtorrent's default); prefer with off falls back to a plaintext dial, or is a
/// plaintext peer to begin with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_and_off_work_in_plaintext() {
    assert_eq!(transfer(Prefer, Prefer, DEADLINE).await, Some(0));
    assert_eq!(transfer(Off, Prefer, DEADLINE).await, Some(0));
    assert_eq!(transfer(Prefer, Off, DEADLINE).await, Some(0));
    assert_eq!(transfer(Off, Off, DEADLINE).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_with_off_is_refused_cleanly() {
    assert_eq!(transfer(Off, Require, REFUSED_FOR).await, None);
    assert_eq!(transfer(Require, Off, REFUSED_FOR).await, None);
}

/// Reads until the session closes the connection; panics if it is still open after `within`.
async fn assert_closed(stream: &mut tokio::net::TcpStream, within: Duration) {
    use tokio::io::AsyncReadExt;
    let drain = async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(within, drain)
        .await
        .expect("the session kept a bad connection open");
}

/// 96 bytes of "public key" then padding that never holds the sync hash: the listener
/// gives up at the spec's bound (at once, not at the handshake time-out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_drops_garbage_at_the_sync_bound() {
    use tokio::io::AsyncWriteExt;
    let session = session(Prefer).await;
    let mut stream = tokio::net::TcpStream::connect(session.listen_addr())
        .await
        .unwrap();
    let garbage: Vec<u8> = (0..96 + 532u32).map(|i| (i * 7 + 3) as u8).collect();
    stream.write_all(&garbage).await.unwrap();
    assert_closed(&mut stream, Duration::from_secs(3)).await;
    session.shutdown().await;
}

/// A correct MSE handshake for a torrent the session does not run is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_drops_an_unknown_torrent() {
    use shoal_mse::{Entropy, Initiator, Methods, Progress};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let session = session(Prefer).await;
    let mut stream = tokio::net::TcpStream::connect(session.listen_addr())
        .await
        .unwrap();
    let entropy = Entropy::fixed([5; 20], &[1; 10], 0);
    let mut a = Initiator::new([0xEE; 20], Methods::BOTH, b"", entropy);
    stream.write_all(&a.take_output()).await.unwrap();
    let mut buf = vec![0u8; 96];
    stream.read_exact(&mut buf).await.unwrap();
    assert!(matches!(a.feed(&buf), Ok(Progress::NeedMore)));
    stream.write_all(&a.take_output()).await.unwrap();
    assert_closed(&mut stream, Duration::from_secs(3)).await;
    session.shutdown().await;
}
