//! Test payloads and their checks: deterministic pseudo-random bytes from a seed
//! (so a failure can be reproduced), trees of files with odd sizes, and a
//! byte-for-byte comparison of two files or directory trees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `len` pseudo-random bytes, the same for the same `seed` (splitmix64).
pub fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed ^ 0x5348_4f41_4c5f_5445; // "SHOAL_TE": seed 0 is not all zeros
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `len` seeded bytes to `path`, creating parent directories.
pub fn write_seeded_file(path: &Path, seed: u64, len: usize) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    std::fs::write(path, seeded_bytes(seed, len))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Writes each `(relative path, size)` under `root`, every file from its own seed.
pub fn write_tree(root: &Path, files: &[(&str, usize)], seed: u64) {
    for (index, (relative, len)) in files.iter().enumerate() {
        write_seeded_file(&root.join(relative), seed.wrapping_add(index as u64), *len);
    }
}

/// `None` if `actual` holds exactly the same files with the same bytes as
/// `expected` (both files, or both directory trees), else what differs first.
pub fn tree_difference(expected: &Path, actual: &Path) -> Option<String> {
    let expected_files = match list_files(expected) {
        Ok(files) => files,
        Err(e) => return Some(format!("cannot read {}: {e}", expected.display())),
    };
    let actual_files = match list_files(actual) {
        Ok(files) => files,
        Err(e) => return Some(format!("cannot read {}: {e}", actual.display())),
    };
    let expected_names: Vec<_> = expected_files.keys().collect();
    let actual_names: Vec<_> = actual_files.keys().collect();
    if expected_names != actual_names {
        return Some(format!(
            "different files: expected {expected_names:?} under {}, found {actual_names:?} under {}",
            expected.display(),
            actual.display()
        ));
    }
    for (relative, expected_path) in &expected_files {
        let actual_path = &actual_files[relative];
        let want = match std::fs::read(expected_path) {
            Ok(bytes) => bytes,
            Err(e) => return Some(format!("cannot read {}: {e}", expected_path.display())),
        };
        let got = match std::fs::read(actual_path) {
            Ok(bytes) => bytes,
            Err(e) => return Some(format!("cannot read {}: {e}", actual_path.display())),
        };
        if want != got {
            let offset = want.iter().zip(&got).position(|(a, b)| a != b);
            return Some(format!(
                "{} differs from {}: {} bytes expected, {} found, first difference at {}",
                actual_path.display(),
                expected_path.display(),
                want.len(),
                got.len(),
                offset.map_or_else(
                    || "the end of the shorter".to_string(),
                    |o| format!("byte {o}")
                )
            ));
        }
    }
    None
}

/// Panics unless `actual` matches `expected` byte for byte.
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    if let Some(difference) = tree_difference(expected, actual) {
        panic!("downloaded data does not match the original: {difference}");
    }
}

/// How many `chunk`-sized pieces of `actual` already equal `expected`, and how
/// many there are: a view of how far a download got, whatever the file's size.
pub fn matching_chunks(expected: &[u8], actual: &Path, chunk: usize) -> (usize, usize) {
    let total = expected.len().div_ceil(chunk);
    let got = std::fs::read(actual).unwrap_or_default();
    let matching = expected
        .chunks(chunk)
        .enumerate()
        .filter(|(index, want)| {
            let start = index * chunk;
            got.get(start..start + want.len()) == Some(*want)
        })
        .count();
    (matching, total)
}

/// Every regular file under `root` by its path relative to `root` (a file root
/// is listed under the empty path). Symlinks are listed as files so they show up
/// as differences rather than being followed.
pub fn list_files(root: &Path) -> std::io::Result<BTreeMap<PathBuf, PathBuf>> {
    let mut files = BTreeMap::new();
    if std::fs::symlink_metadata(root)?.is_file() {
        files.insert(PathBuf::new(), root.to_path_buf());
        return Ok(files);
    }
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                files.insert(relative, path);
            }
        }
    }
    Ok(files)
}
