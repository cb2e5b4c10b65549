//! What a user sees when the disk fails under a download: `shoal get` into a folder on a
//! file system too small for the torrent stops with exit code 1 and one line that says the
//! disk is full, names the file and says what to do.
//!
//! The small file system is a tmpfs mounted in a mount namespace of the download's own
//! (`unshare --mount`), so nothing outside the test sees it and it goes away with the
//! process. That needs root; elsewhere the test is skipped loudly (and fails under CI).

mod common;

use common::payload::{self, MIB};
use common::shoal::{self, SHOAL};
use common::tools::in_ci;
use common::wait::{QUICK_TIMEOUT, TRANSFER_TIMEOUT};
use common::{Proc, TestDir};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// Size of the small file system: a third of the payload below.
const SMALL_FS: &str = "size=1m";

/// `sh -c` script run by `unshare --mount`: mounts the small file system on its first
/// argument, then runs the rest as the command.
const MOUNT_THEN_RUN: &str = "mount -t tmpfs -o \"$1\" shoal-test \"$2\" && shift 2 && exec \"$@\"";

/// `unshare --mount sh -c MOUNT_THEN_RUN` with `folder` on a small tmpfs, then `command`.
fn on_small_fs(folder: &Path, command: &[OsString]) -> Command {
    let mut unshare = Command::new("unshare");
    unshare
        .args(["--mount", "sh", "-c", MOUNT_THEN_RUN, "sh", SMALL_FS])
        .arg(folder)
        .args(command);
    unshare
}

/// Whether this machine lets the test mount a tmpfs in a namespace of its own.
fn small_fs_available(t: &TestDir) -> bool {
    let folder = t.subdir("probe");
    let probe = on_small_fs(&folder, &["true".into()]).output();
    let why = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(e) => e.to_string(),
    };
    let message = format!("cannot mount a tmpfs with `unshare --mount` ({why}); needs root");
    if in_ci() {
        panic!("{message}");
    }
    eprintln!("!!!!!!!! SKIPPED: {message} !!!!!!!!");
    false
}

#[test]
fn a_full_disk_stops_get_with_one_line_that_says_so_and_exit_code_1() {
    let t = TestDir::new("disk-full");
    if !small_fs_available(&t) {
        return;
    }
    let payload = payload::single_file(&t, "src", "big.bin", 3 * MIB + 5, 21);
    let share = shoal::share(&t, &payload.content(), args![]);
    let out = t.subdir("out");
    let get = args![
        SHOAL,
        "get",
        &share.magnet,
        "-o",
        &out,
        "--listen",
        "127.0.0.1:0",
        "--no-dht",
        "--no-lsd"
    ];
    let mut command = on_small_fs(&out, &get);
    // Only what a user would see on stderr: no logs.
    command.env_remove("RUST_LOG");
    let finished =
        Proc::spawn_command(&t, "shoal-get", command).wait_exit(TRANSFER_TIMEOUT + QUICK_TIMEOUT);

    assert_eq!(
        finished.status.code(),
        Some(1),
        "exit code of a get that ran out of disk: {}",
        finished.describe()
    );
    let errors: Vec<&str> = finished
        .stderr
        .lines()
        .filter(|l| l.starts_with("shoal: error:"))
        .collect();
    let [line] = errors[..] else {
        panic!("expected one error line: {}", finished.describe());
    };
    let file = out.join("big.bin");
    let expected = format!(
        "shoal: error: disk full: could not write {}; free some space",
        file.display()
    );
    assert!(
        line.starts_with(&expected),
        "the error line does not say the disk is full and which file: {line:?}"
    );
    assert!(
        line.contains("run the same command again"),
        "the error line gives no advice: {line:?}"
    );
}
