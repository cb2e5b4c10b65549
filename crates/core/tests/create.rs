//! Torrent creation: what `create_torrent` writes must parse back, and its piece hashes must
//! equal a plain single-threaded SHA-1 over the files' bytes in torrent order.

use sha1::{Digest, Sha1};
use shoal_core::create::{auto_piece_length, create_torrent, CreateError, CreateOptions};
use shoal_core::{Metainfo, Rng};
use std::fs;
use std::path::Path;
use std::sync::Mutex;

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn write(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let data = random_bytes(len, seed);
    fs::write(path, &data).unwrap();
    data
}

/// The obvious reference: concatenate, cut into pieces, hash each.
fn reference_hashes(data: &[u8], piece_length: usize) -> Vec<[u8; 20]> {
    data.chunks(piece_length)
        .map(|piece| Sha1::digest(piece).into())
        .collect()
}

fn no_progress(_: u64, _: u64) {}

#[test]
fn single_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("movie.bin");
    let data = write(&path, 5 * 16384 + 123, 1);
    let opts = CreateOptions {
        piece_length: Some(16384),
        trackers: vec!["udp://t:1/announce".into()],
        threads: 3,
        creation_date: Some(1_700_000_000),
        ..CreateOptions::default()
    };
    let m = Metainfo::from_bytes(&create_torrent(&path, &opts, &no_progress).unwrap()).unwrap();
    assert!(!m.info.multi_file && !m.info.private);
    assert_eq!(m.info.name, "movie.bin");
    assert_eq!(m.info.files.len(), 1);
    assert_eq!(m.info.total_length(), data.len() as u64);
    assert_eq!(m.info.pieces, reference_hashes(&data, 16384));
    assert_eq!(m.trackers, vec![vec!["udp://t:1/announce".to_string()]]);
    assert_eq!(m.creation_date, Some(1_700_000_000));
    assert_eq!(
        m.created_by,
        Some(format!("shoal {}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(m.comment, None);
}

#[test]
fn multi_file_with_odd_sizes_crossing_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("album");
    // Written out of order; the torrent lists them sorted by path components.
    let sizes = [
        ("b/z.dat", 40_000),
        ("a.txt", 7),
        (".hidden", 16_384),
        ("b/a.dat", 1),
        ("empty", 0),
        ("c/d/e/deep.dat", 70_001),
    ];
    for (i, (rel, len)) in sizes.iter().enumerate() {
        write(&root.join(rel), *len, i as u64 + 10);
    }
    std::os::unix::fs::symlink(root.join("a.txt"), root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("loop")).unwrap();
    let expected_order = [
        ".hidden",
        "a.txt",
        "b/a.dat",
        "b/z.dat",
        "c/d/e/deep.dat",
        "empty",
    ];
    let mut all = Vec::new();
    for rel in expected_order {
        all.extend(fs::read(root.join(rel)).unwrap());
    }
    let reports = Mutex::new(Vec::new());
    let record = |done: u64, total: u64| reports.lock().unwrap().push((done, total));
    let opts = CreateOptions {
        piece_length: Some(32768),
        trackers: vec!["http://a/announce".into(), " ".into(), "udp://b:2".into()],
        private: true,
        comment: Some("test set".into()),
        threads: 4,
        creation_date: None,
    };
    let bytes = create_torrent(&root, &opts, &record).unwrap();
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert!(m.info.multi_file && m.info.private);
    assert_eq!(m.info.name, "album");
    let paths: Vec<String> = m.info.files.iter().map(|f| f.path[1..].join("/")).collect();
    assert_eq!(paths, expected_order);
    assert_eq!(m.info.pieces, reference_hashes(&all, 32768));
    assert_eq!(
        m.trackers,
        vec![vec!["http://a/announce"], vec!["udp://b:2"]]
    );
    assert_eq!(m.comment.as_deref(), Some("test set"));
    assert_eq!(m.creation_date, None);

    let reports = reports.into_inner().unwrap();
    let total = all.len() as u64;
    assert_eq!(reports.first(), Some(&(0, total)));
    assert_eq!(reports.last(), Some(&(total, total)));
    assert!(
        reports.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress went backwards"
    );
}

#[test]
fn thread_count_does_not_change_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    for i in 0..7 {
        write(&root.join(format!("f{i}")), 9_000 + i * 3_001, i as u64);
    }
    let make = |threads| {
        let opts = CreateOptions {
            threads,
            ..CreateOptions::default()
        };
        create_torrent(&root, &opts, &no_progress).unwrap()
    };
    let one = make(1);
    assert_eq!(one, make(2));
    assert_eq!(one, make(64));
    assert_eq!(Metainfo::from_bytes(&one).unwrap().info.piece_length, 16384);
}

#[test]
fn refuses_what_cannot_be_shared() {
    let dir = tempfile::tempdir().unwrap();
    let opts = CreateOptions::default();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", empty.join("only-a-link")).unwrap();
    assert!(matches!(
        create_torrent(&empty, &opts, &no_progress),
        Err(CreateError::EmptyFolder(_))
    ));

    let zeros = dir.path().join("zeros");
    write(&zeros.join("a"), 0, 0);
    assert!(matches!(
        create_torrent(&zeros, &opts, &no_progress),
        Err(CreateError::ZeroLength(_))
    ));

    let missing = dir.path().join("missing");
    assert!(matches!(
        create_torrent(&missing, &opts, &no_progress),
        Err(CreateError::Io { .. })
    ));

    let trailing_dot = dir.path().join("odd");
    write(&trailing_dot.join("name."), 5, 0);
    let err = create_torrent(&trailing_dot, &opts, &no_progress).unwrap_err();
    assert!(
        matches!(err, CreateError::UnsafeName(ref p) if p.ends_with("name.")),
        "{err}"
    );

    let file = dir.path().join("ok.bin");
    write(&file, 100, 0);
    for bad in [1000, 8192, 128 * 1024 * 1024] {
        let opts = CreateOptions {
            piece_length: Some(bad),
            ..CreateOptions::default()
        };
        let err = create_torrent(&file, &opts, &no_progress).unwrap_err();
        assert!(matches!(err, CreateError::PieceLength(n) if n == bad));
    }
}

#[test]
fn dot_path_is_named_after_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("named");
    write(&root.join("x"), 10, 0);
    let dotted = root.join(".");
    let m = Metainfo::from_bytes(
        &create_torrent(&dotted, &CreateOptions::default(), &no_progress).unwrap(),
    );
    assert_eq!(m.unwrap().info.name, "named");
}

#[test]
fn auto_piece_length_scales_with_size() {
    assert_eq!(auto_piece_length(1), 16 * 1024);
    assert_eq!(auto_piece_length(2000 * 16 * 1024), 16 * 1024);
    assert_eq!(auto_piece_length(2000 * 16 * 1024 + 1), 32 * 1024);
    assert_eq!(auto_piece_length(1 << 30), 1 << 20);
    // Capped at 16 MiB: huge data gets more pieces rather than larger ones.
    assert_eq!(auto_piece_length(u64::MAX), 16 * 1024 * 1024);
    for total in [1u64 << 25, 3 << 30, 20 << 30] {
        let pieces = total.div_ceil(auto_piece_length(total).into());
        assert!((1000..=2000).contains(&pieces), "{total}: {pieces}");
    }
}

#[test]
fn threads_sharing_many_claims_across_files_hash_every_piece_in_place() {
    // Large enough (16 KiB pieces, ~13 MiB) that each thread claims several runs of pieces,
    // with file boundaries inside pieces.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    let mut all = Vec::new();
    for (i, len) in [5_000_001usize, 3_333_333, 4_999_999]
        .into_iter()
        .enumerate()
    {
        all.extend(write(&root.join(format!("part{i}")), len, 40 + i as u64));
    }
    for threads in [1, 2, 3] {
        let opts = CreateOptions {
            piece_length: Some(16384),
            threads,
            ..CreateOptions::default()
        };
        let m = Metainfo::from_bytes(&create_torrent(&root, &opts, &no_progress).unwrap()).unwrap();
        assert_eq!(
            m.info.pieces,
            reference_hashes(&all, 16384),
            "{threads} threads"
        );
    }
}
