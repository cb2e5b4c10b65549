//! Two sessions in one process on 127.0.0.1 transfer a multi-file torrent with odd sizes:
//! from a `.torrent`, from an info-hash alone (metadata fetched from the seeder), and
//! resuming from a partial, partly corrupted download.

use bytes::Bytes;
use shoal_core::{Info, InfoHash, Metainfo};
use shoal_session::{AddTorrent, Session, SessionConfig, TorrentHandle, TorrentState};
use shoal_testkit::{content, TorrentBuilder};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const PIECE_LENGTH: u32 = 32 * 1024;
/// Files of the test torrent (path under the torrent folder, size): sizes straddle piece and
/// block boundaries, and one file is empty.
const FILES: &[(&[&str], usize)] = &[
    (&["a.bin"], 100_003),
    (&["sub", "b.bin"], 1),
    (&["sub", "empty"], 0),
    (&["sub", "deeper", "c.bin"], 70_001),
    (&["z.bin"], 16_383),
];
const NAME: &str = "odd";
/// Upper bound for any transfer in these tests; they take well under a second when working.
const DEADLINE: Duration = Duration::from_secs(60);

/// Writes the files under `root/NAME` and returns the parsed torrent; file `i` holds
/// `content(i, len)`.
fn make_torrent(root: &Path) -> Metainfo {
    let files = FILES
        .iter()
        .enumerate()
        .map(|(i, &(path, len))| (path, content(i as u64, len)))
        .collect();
    let torrent = TorrentBuilder::multi_file(NAME, files)
        .piece_length(PIECE_LENGTH)
        .build();
    torrent.write_files(root);
    torrent.metainfo
}

fn assert_same_files(seeder: &Path, leecher: &Path) {
    for (path, _) in FILES {
        let mut a = seeder.join(NAME);
        a.extend(path.iter());
        let mut b = leecher.join(NAME);
        b.extend(path.iter());
        let (a, b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert!(
            a == b,
            "{path:?} differs ({} vs {} bytes)",
            a.len(),
            b.len()
        );
    }
}

async fn session() -> Session {
    Session::new(SessionConfig::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap()
}

fn add(
    meta: &Metainfo,
    dir: &Path,
    with_info: bool,
    peers: Vec<SocketAddr>,
    seed: bool,
) -> AddTorrent {
    let info = with_info.then(|| (Arc::new(meta.info.clone()), meta.info_bytes.clone()));
    AddTorrent {
        info,
        peers,
        seed,
        ..AddTorrent::new(meta.info_hash, dir)
    }
}

async fn complete(handle: &TorrentHandle) {
    tokio::time::timeout(DEADLINE, handle.wait_complete())
        .await
        .expect("transfer did not finish in time")
        .expect("transfer failed");
}

/// Starts a seeder for the test torrent and waits until it has checked its data.
async fn seeder(dir: &Path) -> (Session, Metainfo, TorrentHandle) {
    let meta = make_torrent(dir);
    let session = session().await;
    let handle = session
        .add_torrent(add(&meta, dir, true, vec![], true))
        .unwrap();
    complete(&handle).await;
    assert_eq!(handle.stats().state, TorrentState::Seeding);
    (session, meta, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_a_multi_file_torrent_from_a_seeder() {
    let (seed_dir, leech_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (seed_session, meta, _) = seeder(seed_dir.path()).await;
    let leech_session = session().await;
    let peers = vec![seed_session.listen_addr()];
    let handle = leech_session
        .add_torrent(add(&meta, leech_dir.path(), true, peers, false))
        .unwrap();
    complete(&handle).await;
    assert_same_files(seed_dir.path(), leech_dir.path());
    let stats = handle.stats();
    assert_eq!(stats.engine.have_pieces, meta.info.lengths.num_pieces());
    leech_session.shutdown().await;
    seed_session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_metadata_then_data_from_an_info_hash() {
    let (seed_dir, leech_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (seed_session, meta, _) = seeder(seed_dir.path()).await;
    let leech_session = session().await;
    let peers = vec![seed_session.listen_addr()];
    let handle = leech_session
        .add_torrent(add(&meta, leech_dir.path(), false, peers, false))
        .unwrap();
    let (info, info_bytes): (Arc<Info>, Bytes) = tokio::time::timeout(DEADLINE, handle.metadata())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        InfoHash(shoal_storage::sha1_of(&[&info_bytes])),
        meta.info_hash
    );
    assert_eq!(info.name, NAME);
    complete(&handle).await;
    assert_same_files(seed_dir.path(), leech_dir.path());
    leech_session.shutdown().await;
    seed_session.shutdown().await;
}

/// The leecher already has the first file, and a damaged copy of the fourth.
fn write_partial_download(dir: &Path) {
    let sub = dir.join(NAME).join("sub").join("deeper");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(dir.join(NAME).join("a.bin"), content(0, 100_003)).unwrap();
    let mut damaged = content(3, 70_001);
    damaged[40_000] ^= 0xff;
    std::fs::write(sub.join("c.bin"), damaged).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_partial_and_corrupt_data() {
    resume(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_partial_data_after_fetching_metadata() {
    resume(false).await;
}

async fn resume(with_info: bool) {
    let (seed_dir, leech_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (seed_session, meta, _) = seeder(seed_dir.path()).await;
    write_partial_download(leech_dir.path());
    let leech_session = session().await;
    let peers = vec![seed_session.listen_addr()];
    let add = add(&meta, leech_dir.path(), with_info, peers, false);
    let handle = leech_session.add_torrent(add).unwrap();
    complete(&handle).await;
    assert_same_files(seed_dir.path(), leech_dir.path());
    // The first three pieces lie wholly in a.bin and were found on disk, not downloaded.
    let stats = handle.stats();
    assert!(stats.engine.downloaded <= meta.info.lengths.total() - 3 * u64::from(PIECE_LENGTH));
    leech_session.shutdown().await;
    seed_session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_add_of_the_same_torrent_is_refused_and_stop_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(dir.path());
    let session = session().await;
    let first = session
        .add_torrent(add(&meta, dir.path(), false, vec![], false))
        .unwrap();
    assert!(session
        .add_torrent(add(&meta, dir.path(), false, vec![], false))
        .is_err());
    tokio::time::timeout(DEADLINE, first.stop()).await.unwrap();
    assert_eq!(first.stats().state, TorrentState::Stopped);
    assert!(first.wait_complete().await.is_err());
    session.shutdown().await;
}
