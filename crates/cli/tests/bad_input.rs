//! Bad input to `shoal info` and `shoal get`: malformed .torrent files, `..` in
//! file paths, and malformed magnet links. Each must end the command with exit code 1 and
//! one clear line on stderr, no panic, and nothing written outside the output
//! folder. Each test checks every case and reports all that fail together.

mod common;

use common::bencode::Value;
use common::refusal::{assert_no_problems, check_refused};
use common::{seeded_bytes, TestDir};

const PIECE: i64 = 16_384;

/// A single-file torrent with `info` built from these entries.
fn torrent(info: Vec<(&str, Value)>) -> Vec<u8> {
    Value::dict(vec![("info", Value::dict(info))]).encode()
}

/// A well-formed single-file info dictionary, with one entry replaced or added.
fn single_file_info(name: &str, length: i64, change: Option<(&'static str, Value)>) -> Vec<u8> {
    // Hashes for as many pieces as `length` needs (capped, for the huge lengths).
    let pieces = (length.clamp(1, 1 << 30) as usize).div_ceil(PIECE as usize);
    let mut info = vec![
        ("name", Value::str(name)),
        ("length", Value::Int(length)),
        ("piece length", Value::Int(PIECE)),
        ("pieces", Value::Bytes(seeded_bytes(5, 20 * pieces))),
    ];
    if let Some((key, value)) = change {
        info.retain(|(k, _)| *k != key);
        info.push((key, value));
    }
    torrent(info)
}

/// A multi-file torrent named "folder" holding one file at `path` (components).
fn multi_file_torrent(path: &[&str]) -> Vec<u8> {
    let file = Value::dict(vec![
        ("length", Value::Int(1000)),
        (
            "path",
            Value::List(path.iter().map(|c| Value::str(c)).collect()),
        ),
    ]);
    torrent(vec![
        ("name", Value::str("folder")),
        ("files", Value::List(vec![file])),
        ("piece length", Value::Int(PIECE)),
        ("pieces", Value::Bytes(seeded_bytes(6, 20))),
    ])
}

fn write_case(t: &TestDir, case: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = t.join(&format!("{case}.torrent"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn malformed_torrent_files_are_refused_with_one_line() {
    let t = TestDir::new("bad-torrents");
    let valid = single_file_info("file.bin", 100_000, None);
    let deep_nesting = [vec![b'l'; 100_000], vec![b'e'; 100_000]].concat();
    // Not here: trailing bytes after the top-level dictionary, which libtorrent,
    // Transmission and aria2 all accept.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("garbage", seeded_bytes(9, 4096)),
        ("not-a-dictionary", b"i42e".to_vec()),
        (
            "no-info",
            Value::dict(vec![("announce", Value::str("http://x/"))]).encode(),
        ),
        ("deep-nesting", deep_nesting),
        (
            "piece-length-zero",
            single_file_info("f.bin", 100_000, Some(("piece length", Value::Int(0)))),
        ),
        (
            "pieces-not-multiple-of-20",
            single_file_info(
                "f.bin",
                100_000,
                Some(("pieces", Value::Bytes(vec![7; 19]))),
            ),
        ),
        (
            "too-few-pieces",
            single_file_info(
                "f.bin",
                100_000,
                Some(("pieces", Value::Bytes(vec![7; 20]))),
            ),
        ),
        (
            "negative-length",
            single_file_info("f.bin", -1, Some(("pieces", Value::Bytes(vec![7; 20])))),
        ),
        (
            "huge-length",
            single_file_info(
                "f.bin",
                1 << 62,
                Some(("pieces", Value::Bytes(vec![7; 20]))),
            ),
        ),
        ("empty-name", single_file_info("", 100_000, None)),
    ];
    let mut problems = Vec::new();
    for (case, bytes) in &cases {
        let path = write_case(&t, case, bytes);
        problems.extend(check_refused(&t, case, path.as_os_str()));
    }
    assert_no_problems(problems);
}

/// `..` as a whole name or path component has no safe reading. (Separators
/// inside one component may be neutralised instead: see hostile_names.rs.)
#[test]
fn torrents_with_parent_dir_components_are_refused() {
    let t = TestDir::new("bad-paths");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("name-dot-dot", single_file_info("..", 100_000, None)),
        ("name-dot", single_file_info(".", 100_000, None)),
        ("path-parent", multi_file_torrent(&["..", "escape.bin"])),
        (
            "path-deep-parent",
            multi_file_torrent(&["a", "..", "..", "escape.bin"]),
        ),
    ];
    let mut problems = Vec::new();
    for (case, bytes) in &cases {
        let path = write_case(&t, case, bytes);
        problems.extend(check_refused(&t, case, path.as_os_str()));
    }
    if t.join("escape.bin").exists() {
        problems.push("escape.bin was written next to the output folder".to_string());
    }
    assert_no_problems(problems);
}

#[test]
fn malformed_magnet_links_and_sources_are_refused_with_one_line() {
    let t = TestDir::new("bad-magnets");
    let hex39 = "c12fe1c06bba254a9dc9f519b335aa7c1367a88";
    let cases = [
        ("magnet-no-query", "magnet:".to_string()),
        ("magnet-no-xt", "magnet:?dn=nothing".to_string()),
        (
            "magnet-not-hex",
            format!("magnet:?xt=urn:btih:{}", "z".repeat(40)),
        ),
        ("magnet-short-hash", format!("magnet:?xt=urn:btih:{hex39}")),
        ("magnet-long-hash", format!("magnet:?xt=urn:btih:{hex39}00")),
        (
            "magnet-bad-escape",
            "magnet:?xt=urn:btih:%ZZ%ZZ".to_string(),
        ),
        ("magnet-empty-hash", "magnet:?xt=urn:btih:".to_string()),
        ("magnet-other-urn", format!("magnet:?xt=urn:sha1:{hex39}0")),
        ("not-a-source", "definitely not a torrent".to_string()),
        (
            "missing-file",
            t.join("missing.torrent").to_string_lossy().into_owned(),
        ),
        ("hash-not-hex", "g".repeat(40)),
    ];
    let mut problems = Vec::new();
    for (case, source) in &cases {
        problems.extend(check_refused(&t, case, source.as_ref()));
    }
    assert_no_problems(problems);
}

#[test]
fn a_folder_given_as_torrent_is_refused() {
    let t = TestDir::new("bad-folder-source");
    let folder = t.subdir("a-folder.torrent");
    assert_no_problems(check_refused(&t, "folder", folder.as_os_str()));
    assert!(folder.is_dir(), "the folder given as a torrent is gone");
}

#[test]
fn a_reader_that_stops_early_ends_info_quietly() {
    // `shoal info x | head -0`: stdout is closed before shoal writes. That is the reader's
    // choice, not a failure: exit 0 and no panic message.
    let hash = "0123456789abcdef0123456789abcdef01234567";
    let mut child = std::process::Command::new(common::shoal::SHOAL)
        .args(["info", hash])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("shoal starts");
    drop(child.stdout.take());
    let mut status = None;
    common::wait::wait_until(std::time::Duration::from_secs(30), || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert_eq!(status.and_then(|s| s.code()), Some(0), "stderr: {stderr}");
}
