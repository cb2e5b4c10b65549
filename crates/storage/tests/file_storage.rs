//! Behaviour specific to `FileStorage`: what appears on disk, when, and what it refuses.

mod common;

use bytes::Bytes;
use common::{write_piece, Fixture, Spec, TempDir};
use shoal_storage::faults::FailingStorage;
use shoal_storage::{check_existing, verify_and_write, FileStorage, Storage, StorageError};
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn files_appear_only_when_first_written() {
    let fx = Fixture::odd();
    let dir = TempDir::new("lazy");
    let s = FileStorage::open(dir.path(), &fx.info).unwrap();
    assert!(files_under(dir.path()).is_empty(), "open creates nothing");
    write_piece(&s, &fx, 0);
    assert_eq!(files_under(dir.path()), vec!["t/a.txt", "t/sub/b.bin"]);
    for i in 0..fx.num_pieces() {
        write_piece(&s, &fx, i);
    }
    s.finish().unwrap();
    assert_eq!(
        files_under(dir.path()),
        vec!["t/a.txt", "t/empty", "t/sub/b.bin", "t/sub/deeper/d.dat"],
        "padding file never created; empty file created by finish"
    );
    assert_eq!(fs::metadata(dir.path().join("t/empty")).unwrap().len(), 0);
    assert_eq!(
        fs::read(dir.path().join("t/sub/deeper/d.dat")).unwrap(),
        fx.data[128..]
    );
}

#[test]
fn file_paths_lists_real_files_in_order() {
    let fx = Fixture::odd();
    let dir = TempDir::new("paths");
    let s = FileStorage::open(dir.path(), &fx.info).unwrap();
    let rel: Vec<_> = s
        .file_paths()
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_owned())
        .collect();
    let expected: Vec<std::path::PathBuf> =
        ["t/a.txt", "t/sub/b.bin", "t/empty", "t/sub/deeper/d.dat"]
            .iter()
            .map(Into::into)
            .collect();
    assert_eq!(rel, expected);
}

#[test]
fn padding_reads_as_zeros_whatever_is_written_there() {
    let fx = Fixture::odd();
    let dir = TempDir::new("pad");
    let s = FileStorage::open(dir.path(), &fx.info).unwrap();
    // Bytes 107..128 are the padding file; write non-zero garbage over it and its neighbours.
    s.write_at(100, &[&[7u8; 40]]).unwrap();
    let mut back = [0xAAu8; 40];
    s.read_at(100, &mut back).unwrap();
    assert_eq!(back[..7], [7; 7]);
    assert_eq!(back[7..28], [0; 21]);
    assert_eq!(back[28..], [7; 12]);
    assert!(!dir.path().join("t/.pad").exists());
}

#[test]
fn new_files_are_full_length_and_sparse() {
    const LEN: u64 = 16 << 20;
    let fx = Fixture::new(&[(&["big.bin"], LEN, false)], 1 << 20);
    let dir = TempDir::new("sparse");
    let s = FileStorage::open(dir.path(), &fx.info).unwrap();
    write_piece(&s, &fx, fx.num_pieces() - 1);
    let meta = fs::metadata(dir.path().join("big.bin")).unwrap();
    assert_eq!(meta.len(), LEN);
    assert!(
        meta.blocks() * 512 < LEN / 4,
        "only {} bytes allocated expected",
        meta.blocks() * 512
    );
    let have = check_existing(&s, &fx.info, 0, &|_, _| {});
    assert_eq!(
        have.iter_ones().collect::<Vec<_>>(),
        vec![fx.num_pieces() - 1]
    );
}

#[test]
fn existing_data_is_never_truncated() {
    let fx = Fixture::new(&[(&["f"], 100, false)], 50);
    let dir = TempDir::new("notrunc");
    let longer: Vec<u8> = (0..150u8).collect();
    fs::write(dir.path().join("f"), &longer).unwrap();
    let s = FileStorage::open(dir.path(), &fx.info).unwrap();
    write_piece(&s, &fx, 1);
    s.flush().unwrap();
    let now = fs::read(dir.path().join("f")).unwrap();
    assert_eq!(now.len(), 150);
    assert_eq!(now[..50], longer[..50]);
    assert_eq!(now[50..100], fx.data[50..100]);
    assert_eq!(now[100..], longer[100..]);
}

#[test]
fn files_already_on_disk_verify_as_complete() {
    let fx = Fixture::odd();
    let dir = TempDir::new("seed");
    let root = dir.path();
    fs::create_dir_all(root.join("t/sub/deeper")).unwrap();
    fs::write(root.join("t/a.txt"), &fx.data[..7]).unwrap();
    fs::write(root.join("t/sub/b.bin"), &fx.data[7..107]).unwrap();
    fs::write(root.join("t/sub/deeper/d.dat"), &fx.data[128..]).unwrap();
    let s = FileStorage::open(root, &fx.info).unwrap();
    assert!(check_existing(&s, &fx.info, 2, &|_, _| {}).is_full());
}

#[test]
fn only_a_file_with_data_in_it_counts_as_existing() {
    let fx = Fixture::odd();
    let dir = TempDir::new("exists");
    let root = dir.path();
    let s = FileStorage::open(root, &fx.info).unwrap();
    assert!(!s.any_file_exists(), "empty folder");
    fs::create_dir_all(root.join("t/sub")).unwrap();
    fs::write(root.join("t/a.txt"), b"").unwrap();
    symlink("/etc/hostname", root.join("t/sub/b.bin")).unwrap();
    assert!(!s.any_file_exists(), "an empty file and a link");
    fs::create_dir_all(root.join("t/sub/deeper")).unwrap();
    fs::write(root.join("t/sub/deeper/d.dat"), b"x").unwrap();
    assert!(s.any_file_exists(), "a file with one byte");
}

#[test]
fn missing_or_short_files_count_as_absent_without_creating_anything() {
    let fx = Fixture::odd();
    let dir = TempDir::new("absent");
    let root = dir.path();
    fs::create_dir_all(root.join("t/sub")).unwrap();
    fs::write(root.join("t/a.txt"), &fx.data[..7]).unwrap();
    // b.bin holds only its first 40 bytes: piece 0 (bytes 0..32) is there, piece 1 is not.
    fs::write(root.join("t/sub/b.bin"), &fx.data[7..47]).unwrap();
    let s = FileStorage::open(root, &fx.info).unwrap();
    assert!(!s.available(32, 32));
    let have = check_existing(&s, &fx.info, 1, &|_, _| {});
    assert_eq!(have.iter_ones().collect::<Vec<_>>(), vec![0]);
    assert!(!root.join("t/sub/deeper").exists());
    let mut buf = [0u8; 4];
    let err = s.read_at(130, &mut buf).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("d.dat"), "{err}");
}

#[test]
fn unsafe_components_are_refused_up_front() {
    let bad: [&[&str]; 5] = [
        &["t", ".."],
        &["t", ""],
        &["t", "."],
        &["t", "a/b"],
        &["t", "a\0"],
    ];
    for path in bad {
        let fx = Fixture::new(&[(&["t", "ok"], 10, false), (path, 10, false)], 16);
        let dir = TempDir::new("unsafe");
        match FileStorage::open(dir.path(), &fx.info) {
            Err(StorageError::UnsafeComponent { .. }) => {}
            Err(e) => panic!("{path:?}: wrong error {e}"),
            Ok(_) => panic!("{path:?} accepted"),
        }
    }
}

#[test]
fn duplicate_paths_are_refused() {
    let specs: [Spec; 2] = [(&["t", "x"], 10, false), (&["t", "x"], 10, false)];
    let fx = Fixture::new(&specs, 16);
    let dir = TempDir::new("dup");
    assert!(matches!(
        FileStorage::open(dir.path(), &fx.info),
        Err(StorageError::DuplicatePath(_))
    ));
}

#[test]
fn symlinked_folder_inside_root_is_not_followed() {
    let fx = Fixture::odd();
    let dir = TempDir::new("symdir");
    let outside = TempDir::new("outside");
    let root = dir.path().join("dl");
    fs::create_dir_all(root.join("t")).unwrap();
    symlink(outside.path(), root.join("t/sub")).unwrap();
    let s = FileStorage::open(&root, &fx.info).unwrap();
    let (offset, data) = fx.piece(1);
    let err = s.write_at(offset, &[data]).unwrap_err();
    assert!(matches!(err, StorageError::NotPlain(_)), "{err}");
    assert!(
        files_under(outside.path()).is_empty(),
        "nothing written through the link"
    );
    let mut buf = [0u8; 8];
    assert!(
        s.read_at(10, &mut buf).is_err(),
        "reads refuse the link too"
    );
}

#[test]
fn symlinked_file_inside_root_is_not_followed() {
    let fx = Fixture::odd();
    let dir = TempDir::new("symfile");
    let outside = TempDir::new("outside");
    let victim = outside.path().join("victim");
    fs::write(&victim, b"keep me").unwrap();
    let dangling = outside.path().join("would-be-created");
    fs::create_dir_all(dir.path().join("t")).unwrap();
    symlink(&victim, dir.path().join("t/a.txt")).unwrap();
    fs::create_dir_all(dir.path().join("t/sub")).unwrap();
    symlink(&dangling, dir.path().join("t/sub/b.bin")).unwrap();
    let s = FileStorage::open(dir.path(), &fx.info).unwrap();
    let (offset, data) = fx.piece(0);
    let err = s.write_at(offset, &[data]).unwrap_err();
    assert!(matches!(err, StorageError::NotPlain(_)), "{err}");
    assert_eq!(fs::read(&victim).unwrap(), b"keep me");
    let (offset, data) = fx.piece(1);
    assert!(s.write_at(offset, &[data]).is_err());
    assert!(
        !dangling.exists(),
        "no file created through a dangling link"
    );
    assert!(!s.available(0, 7));
}

#[test]
fn many_files_more_than_stay_open_all_round_trip() {
    let names: Vec<String> = (0..300).map(|i| format!("f{i:03}")).collect();
    let paths: Vec<[&str; 2]> = names.iter().map(|n| ["many", n.as_str()]).collect();
    let specs: Vec<Spec> = paths
        .iter()
        .map(|p| (&p[..], 1 + (p[1].len() as u64 * 3), false))
        .collect();
    let fx = Fixture::new(&specs, 64);
    let dir = TempDir::new("many");
    let s = FileStorage::open(dir.path(), &fx.info).unwrap();
    for i in 0..fx.num_pieces() {
        write_piece(&s, &fx, i);
    }
    s.flush().unwrap();
    let mut back = vec![0; fx.data.len()];
    s.read_at(0, &mut back).unwrap();
    assert_eq!(back, fx.data);
    assert_eq!(files_under(dir.path()).len(), 300);
}

#[test]
fn disk_full_is_reported_as_such() {
    let fx = Fixture::odd();
    let dir = TempDir::new("full");
    let s = FailingStorage::new(FileStorage::open(dir.path(), &fx.info).unwrap(), 40);
    write_piece(&s, &fx, 0);
    let (_, data) = fx.piece(1);
    let piece = fx.info.lengths.validate_piece(1).unwrap();
    let blocks = [Some(Bytes::copy_from_slice(data))];
    let err = verify_and_write(&s, &fx.info, piece, &blocks).unwrap_err();
    assert!(err.is_disk_full(), "{err}");
    let have = check_existing(&s, &fx.info, 1, &|_, _| {});
    assert_eq!(have.iter_ones().collect::<Vec<_>>(), vec![0]);
}

#[test]
fn a_file_in_the_way_of_a_folder_gives_a_clear_error() {
    let fx = Fixture::odd();
    let dir = TempDir::new("inway");
    fs::create_dir_all(dir.path().join("t")).unwrap();
    fs::write(dir.path().join("t/sub"), b"not a folder").unwrap();
    let s = FileStorage::open(dir.path(), &fx.info).unwrap();
    let (offset, data) = fx.piece(1);
    let err = s.write_at(offset, &[data]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("t/sub"), "{msg}");
    assert!(!msg.contains('\n'));
}
