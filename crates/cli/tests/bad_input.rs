//! Bad input to `shoal info` and `shoal get`: malformed or hostile .torrent files
//! and malformed magnet links. Each must end the command with exit code 1 and
//! one clear line on stderr, no panic, and nothing written outside the output
//! folder. Each test checks every case and reports all that fail together.

mod common;

use std::collections::BTreeSet;

use common::bencode::Value;
use common::process::describe_status;
use common::shoal::PANIC_EXIT_CODE;
use common::wait::QUICK_TIMEOUT;
use common::{seeded_bytes, shoal, Finished, TestDir};

const PIECE: i64 = 16_384;

/// A single-file torrent with `info` built from these entries.
fn torrent(info: Vec<(&str, Value)>) -> Vec<u8> {
    Value::dict(vec![("info", Value::dict(info))]).encode()
}

/// A well-formed single-file info dictionary, with one entry replaced or added.
fn single_file_info(name: &str, length: i64, change: Option<(&'static str, Value)>) -> Vec<u8> {
    let pieces = (length.max(1) as usize).div_ceil(PIECE as usize);
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

/// Top-level entries of the test dir, leaving out the output folder and logs.
fn entries_outside_output(t: &TestDir) -> BTreeSet<String> {
    std::fs::read_dir(t.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "out" && !name.ends_with(".stdout") && !name.ends_with(".stderr"))
        .collect()
}

/// What is wrong with how shoal ended, if anything.
fn clean_failure_problem(finished: &Finished) -> Option<String> {
    let lines: Vec<&str> = finished
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if finished.status.code() == Some(PANIC_EXIT_CODE) || finished.stderr.contains("panicked") {
        return Some(format!("panicked: {}", finished.stderr.trim()));
    }
    if finished.status.code() != Some(1) {
        return Some(format!(
            "{} (expected exit code 1); stderr: {}",
            describe_status(finished.status),
            finished.stderr.trim()
        ));
    }
    if lines.len() != 1 {
        return Some(format!(
            "{} lines on stderr (expected one):\n{}",
            lines.len(),
            finished.stderr
        ));
    }
    None
}

/// Runs `shoal info SOURCE` and `shoal get SOURCE -o out`; returns the problems.
fn check_refused(t: &TestDir, case: &str, source: &std::ffi::OsStr) -> Vec<String> {
    let mut problems = Vec::new();
    let before = entries_outside_output(t);
    let out = t.join("out");
    let runs = [
        ("info", args!["info", source]),
        (
            "get",
            args!["get", source, "-o", &out, "--listen", "127.0.0.1:0"],
        ),
    ];
    for (command, args) in runs {
        let mut proc = shoal::spawn(t, &format!("{case}-{command}"), args);
        if !common::wait_until(QUICK_TIMEOUT, || proc.try_exit().is_some()) {
            problems.push(format!(
                "{case}: `shoal {command}` accepted it (still running after {QUICK_TIMEOUT:?})"
            ));
            continue;
        }
        let finished = proc.wait_exit(QUICK_TIMEOUT);
        if let Some(problem) = clean_failure_problem(&finished) {
            problems.push(format!("{case}: `shoal {command}`: {problem}"));
        }
    }
    let after = entries_outside_output(t);
    let created: Vec<&String> = after.difference(&before).collect();
    if !created.is_empty() {
        problems.push(format!(
            "{case}: wrote outside the output folder: {created:?}"
        ));
    }
    problems
}

fn assert_no_problems(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
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
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("garbage", seeded_bytes(9, 4096)),
        ("not-a-dictionary", b"i42e".to_vec()),
        (
            "no-info",
            Value::dict(vec![("announce", Value::str("http://x/"))]).encode(),
        ),
        (
            "trailing-garbage",
            [valid.clone(), b"xyz".to_vec()].concat(),
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

#[test]
fn torrents_with_unsafe_paths_are_refused_and_write_nothing_outside() {
    let t = TestDir::new("bad-paths");
    let absolute = t.join("absolute-target.bin");
    let absolute = absolute.to_str().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "name-parent",
            single_file_info("../escape.bin", 100_000, None),
        ),
        (
            "name-nested-parent",
            single_file_info("x/../../escape.bin", 100_000, None),
        ),
        ("name-absolute", single_file_info(absolute, 100_000, None)),
        ("name-dot-dot", single_file_info("..", 100_000, None)),
        ("path-parent", multi_file_torrent(&["..", "escape.bin"])),
        (
            "path-deep-parent",
            multi_file_torrent(&["a", "..", "..", "escape.bin"]),
        ),
        ("path-absolute", multi_file_torrent(&[absolute])),
        (
            "path-with-slash",
            multi_file_torrent(&["a/../../escape.bin"]),
        ),
    ];
    let mut problems = Vec::new();
    for (case, bytes) in &cases {
        let path = write_case(&t, case, bytes);
        problems.extend(check_refused(&t, case, path.as_os_str()));
    }
    for escaped in [t.join("escape.bin"), t.join("absolute-target.bin")] {
        if escaped.exists() {
            problems.push(format!("{} was written", escaped.display()));
        }
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
