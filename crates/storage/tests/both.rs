//! Behaviour every storage must have, run against both `FileStorage` (in a temporary folder)
//! and `MemoryStorage`.

mod common;

use bytes::Bytes;
use common::{write_piece, Fixture, TempDir};
use shoal_storage::{
    check_existing, verify_and_write, FileStorage, MemoryStorage, Storage, StorageError,
};
use std::sync::Arc;

/// Runs `body` once with each storage kind. The temp folder lives until the body returns.
fn with_each_storage(fx: &Fixture, body: impl Fn(&str, Arc<dyn Storage>)) {
    let dir = TempDir::new("both");
    let file: Arc<dyn Storage> = Arc::new(FileStorage::open(dir.path(), &fx.info).unwrap());
    body("file", file);
    let mem: Arc<dyn Storage> = Arc::new(MemoryStorage::new(fx.info.lengths.total()));
    body("memory", mem);
}

fn read_all(storage: &dyn Storage, len: u64) -> Vec<u8> {
    let mut buf = vec![0xAA; len as usize];
    storage.read_at(0, &mut buf).unwrap();
    buf
}

#[test]
fn every_piece_written_reads_back_whole() {
    let fx = Fixture::odd();
    with_each_storage(&fx, |kind, s| {
        for i in (0..fx.num_pieces()).rev() {
            write_piece(&*s, &fx, i);
        }
        s.flush().unwrap();
        assert_eq!(read_all(&*s, fx.info.lengths.total()), fx.data, "{kind}");
    });
}

#[test]
fn piece_crossing_file_boundaries_round_trips() {
    let fx = Fixture::odd();
    with_each_storage(&fx, |kind, s| {
        // Piece 0 covers all of a.txt (7 bytes) and the start of b.bin; piece 3 covers the end
        // of the padding file, the empty file and the start of d.dat.
        for i in [0, 3] {
            write_piece(&*s, &fx, i);
            let (offset, data) = fx.piece(i);
            let mut back = vec![0; data.len()];
            s.read_at(offset, &mut back).unwrap();
            assert_eq!(back, data, "{kind} piece {i}");
        }
        // A read spanning exactly the a.txt / b.bin boundary.
        let mut span = [0u8; 4];
        s.read_at(5, &mut span).unwrap();
        assert_eq!(span, fx.data[5..9], "{kind}");
    });
}

#[test]
fn verify_finds_exactly_the_pieces_written() {
    let fx = Fixture::odd();
    with_each_storage(&fx, |kind, s| {
        write_piece(&*s, &fx, 1);
        write_piece(&*s, &fx, 4);
        let calls = std::sync::Mutex::new(Vec::new());
        let have = check_existing(&*s, &fx.info, 3, &|n, total| {
            calls.lock().unwrap().push((n, total))
        });
        assert_eq!(have.iter_ones().collect::<Vec<_>>(), vec![1, 4], "{kind}");
        let calls = calls.into_inner().unwrap();
        let expected: Vec<_> = (1..=fx.num_pieces())
            .map(|n| (n, fx.num_pieces()))
            .collect();
        assert_eq!(
            calls, expected,
            "{kind}: progress reports every piece, in order"
        );
    });
}

/// Piece `i` cut into received blocks of `block` bytes, as the session holds them.
fn blocks_of(fx: &Fixture, i: u32, block: usize) -> Vec<Option<Bytes>> {
    let (_, data) = fx.piece(i);
    data.chunks(block)
        .map(|b| Some(Bytes::copy_from_slice(b)))
        .collect()
}

#[test]
fn only_a_piece_that_matches_its_hash_reaches_storage() {
    let fx = Fixture::odd();
    with_each_storage(&fx, |kind, s| {
        let piece = |i| fx.info.lengths.validate_piece(i).unwrap();
        let mut corrupt = blocks_of(&fx, 1, 10);
        corrupt[2] = Some(Bytes::from(vec![0xEE; 10]));
        assert!(
            !verify_and_write(&*s, &fx.info, piece(1), &corrupt).unwrap(),
            "{kind}"
        );
        let mut missing = blocks_of(&fx, 2, 10);
        missing[0] = None;
        assert!(
            !verify_and_write(&*s, &fx.info, piece(2), &missing).unwrap(),
            "{kind}"
        );
        // A piece's blocks filed under another piece do not match that piece's hash.
        let elsewhere = blocks_of(&fx, 0, 10);
        assert!(
            !verify_and_write(&*s, &fx.info, piece(1), &elsewhere).unwrap(),
            "{kind}"
        );
        // Nothing was written: the file was never created, or the memory is still zeros.
        for i in [1, 2] {
            let (offset, data) = fx.piece(i);
            let mut back = vec![0xAA; data.len()];
            if s.read_at(offset, &mut back).is_ok() {
                assert!(back.iter().all(|&b| b == 0), "{kind} piece {i}");
            }
        }

        assert!(
            verify_and_write(&*s, &fx.info, piece(3), &blocks_of(&fx, 3, 10)).unwrap(),
            "{kind}"
        );
        let have = check_existing(&*s, &fx.info, 1, &|_, _| {});
        assert_eq!(have.iter_ones().collect::<Vec<_>>(), vec![3], "{kind}");
    });
}

#[test]
fn verify_rejects_a_corrupted_piece() {
    let fx = Fixture::odd();
    with_each_storage(&fx, |kind, s| {
        for i in 0..fx.num_pieces() {
            write_piece(&*s, &fx, i);
        }
        // Flip one byte of d.dat, inside piece 4.
        let at = fx.info.lengths.total() - 2;
        s.write_at(at, &[&[fx.data[at as usize] ^ 0xff]]).unwrap();
        let have = check_existing(&*s, &fx.info, 0, &|_, _| {});
        assert_eq!(have.count(), fx.num_pieces() - 1, "{kind}");
        assert!(!have.get(4), "{kind}");
    });
}

#[test]
fn concurrent_writes_from_many_threads() {
    let fx = Fixture::new(
        &[
            (&["c", "x"], 5000, false),
            (&["c", "y"], 3, false),
            (&["c", "z"], 9000, false),
        ],
        256,
    );
    with_each_storage(&fx, |kind, s| {
        std::thread::scope(|scope| {
            for t in 0..4u32 {
                let s = &s;
                let fx = &fx;
                scope.spawn(move || {
                    for i in (t..fx.num_pieces()).step_by(4) {
                        write_piece(&**s, fx, i);
                    }
                });
            }
        });
        assert_eq!(read_all(&*s, fx.info.lengths.total()), fx.data, "{kind}");
        assert!(
            check_existing(&*s, &fx.info, 2, &|_, _| {}).is_full(),
            "{kind}"
        );
    });
}

#[test]
fn ranges_past_the_end_are_refused() {
    let fx = Fixture::odd();
    let total = fx.info.lengths.total();
    with_each_storage(&fx, |kind, s| {
        let mut buf = [0u8; 2];
        let err = s.read_at(total - 1, &mut buf).unwrap_err();
        assert!(
            matches!(err, StorageError::OutOfRange { .. }),
            "{kind}: {err}"
        );
        let err = s.write_at(total, &[&[1]]).unwrap_err();
        assert!(
            matches!(err, StorageError::OutOfRange { .. }),
            "{kind}: {err}"
        );
        assert!(s.write_at(u64::MAX, &[&[1]]).is_err(), "{kind}");
        // Empty reads at the very end are fine.
        s.read_at(total, &mut []).unwrap();
    });
}
