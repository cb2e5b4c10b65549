//! mktorrent, a second torrent maker whose output shoal must read.

use std::path::Path;

use super::process::Proc;
use super::testdir::TestDir;
use super::wait::STARTUP_TIMEOUT;

/// `mktorrent -l PIECE_LOG2 -o TORRENT DATA`: no tracker, pieces of
/// 2^`piece_log2` bytes. Panics if mktorrent fails.
pub fn make(dir: &TestDir, data: &Path, torrent: &Path, piece_log2: u8) {
    let args = crate::args!["-l", piece_log2.to_string(), "-o", torrent, data];
    Proc::spawn(dir, "mktorrent", "mktorrent", args).wait_success(STARTUP_TIMEOUT);
}

/// As [`make`], announcing to `tracker`.
pub fn make_announcing(dir: &TestDir, data: &Path, torrent: &Path, piece_log2: u8, tracker: &str) {
    let args = crate::args![
        "-a",
        tracker,
        "-l",
        piece_log2.to_string(),
        "-o",
        torrent,
        data
    ];
    Proc::spawn(dir, "mktorrent", "mktorrent", args).wait_success(STARTUP_TIMEOUT);
}
