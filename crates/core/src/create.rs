//! Building a v1 metainfo file from a file or folder on disk.
//!
//! A file becomes a single-file torrent; a folder becomes a multi-file torrent named after it,
//! holding every regular file below it (hidden files included, symlinks skipped, sorted by
//! path). Pieces are hashed on several threads with bounded memory (see `hasher`). The core
//! reads no clock: the creation date is an option.

mod hasher;
mod walk;

use crate::{FileEntry, Lengths};
use shoal_bencode::Owned;
use std::path::{Path, PathBuf};

/// Smallest piece length [`create_torrent`] accepts (16 KiB, one block).
pub const MIN_PIECE_LENGTH: u32 = 16 * 1024;
/// Largest piece length accepted (64 MiB), the same limit the metainfo parser enforces.
pub const MAX_PIECE_LENGTH: u32 = crate::metainfo::MAX_PIECE_LENGTH;

/// How to build the torrent. `Default` gives an automatic piece length, no trackers, a public
/// torrent and all cores.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// A power of two from 16 KiB to 64 MiB; `None` picks one with [`auto_piece_length`].
    pub piece_length: Option<u32>,
    /// Announce URLs: the first becomes `announce`; with more than one, each becomes its own
    /// tier of `announce-list`, in order.
    pub trackers: Vec<String>,
    /// Sets the BEP 27 `private` flag: peers then come only from the trackers (no DHT,
    /// PEX or LSD).
    pub private: bool,
    /// Free text written as the torrent's `comment`; `None` leaves it out.
    pub comment: Option<String>,
    /// Hashing threads; 0 means one per core.
    pub threads: usize,
    /// Unix time written as `creation date`; `None` leaves it out.
    pub creation_date: Option<i64>,
}

/// Why a torrent could not be created; each message names the path to fix.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// Reading a file or listing a folder failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or folder that could not be read.
        path: PathBuf,
        /// What the operating system reported.
        source: std::io::Error,
    },
    /// The path to share is something else, such as a device or a socket.
    #[error("{} is neither a regular file nor a folder", .0.display())]
    NotFileOrFolder(PathBuf),
    /// The folder to share holds no regular files.
    #[error("folder {} holds no files to share (symlinks are skipped)", .0.display())]
    EmptyFolder(PathBuf),
    /// All the files are empty, so there are no pieces to make.
    #[error("nothing to share: {} holds only empty files", .0.display())]
    ZeroLength(PathBuf),
    /// A file or folder name cannot be written into the torrent, which stores UTF-8 names.
    #[error("the name of {} is not valid UTF-8; rename it to share it", .0.display())]
    NonUtf8Name(PathBuf),
    /// A name that other systems could not recreate safely (see
    /// [`sanitize_component`](crate::sanitize_component)).
    #[error("the name of {} is not portable (trailing dot or space, control character, or too long); rename it", .0.display())]
    UnsafeName(PathBuf),
    /// [`CreateOptions::piece_length`] is not a power of two within the accepted range.
    #[error("piece length {0} must be a power of two from 16 KiB to 64 MiB")]
    PieceLength(u32),
    /// The data is too large to describe in one torrent at this piece length (too many
    /// pieces); a larger piece length may fit.
    #[error("{} is too large for one torrent at this piece length", .0.display())]
    TooLarge(PathBuf),
    /// A file got shorter while it was being hashed, so the hashes would be wrong.
    #[error("{} changed size while it was being hashed; try again", .0.display())]
    Changed(PathBuf),
    /// A bug in shoal: the hashing threads disagreed with the file layout.
    #[error("internal error while hashing (file layout mismatch)")]
    Internal,
}

impl CreateError {
    fn io(path: &Path, source: std::io::Error) -> CreateError {
        CreateError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A power of two from 16 KiB to 16 MiB giving at most about 2000 pieces (and at least about
/// 1000 once the data is larger than 16 MiB).
pub fn auto_piece_length(total: u64) -> u32 {
    const TARGET_MAX_PIECES: u64 = 2000;
    const LARGEST: u32 = 16 * 1024 * 1024;
    let mut piece_length = MIN_PIECE_LENGTH;
    while piece_length < LARGEST && total.div_ceil(piece_length.into()) > TARGET_MAX_PIECES {
        piece_length *= 2;
    }
    piece_length
}

/// Hashes `path` and returns the bencoded `.torrent`. `progress(bytes_hashed, total)` is
/// called from the hashing threads (never concurrently, never going backwards), once with 0
/// before hashing starts and after each piece.
pub fn create_torrent(
    path: &Path,
    opts: &CreateOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Vec<u8>, CreateError> {
    let meta = std::fs::metadata(path).map_err(|e| CreateError::io(path, e))?;
    let name = torrent_name(path)?;
    let (files, disk_paths) = if meta.is_dir() {
        let found = walk::list_files(path)?;
        if found.is_empty() {
            return Err(CreateError::EmptyFolder(path.into()));
        }
        layout(&name, found)
    } else if meta.is_file() {
        let only = FileEntry {
            path: vec![name.clone()],
            length: meta.len(),
            offset: 0,
            pad: false,
        };
        (vec![only], vec![path.to_path_buf()])
    } else {
        return Err(CreateError::NotFileOrFolder(path.into()));
    };
    let total = files.last().map_or(0, |f| f.offset + f.length);
    if total == 0 {
        return Err(CreateError::ZeroLength(path.into()));
    }
    let piece_length = opts
        .piece_length
        .unwrap_or_else(|| auto_piece_length(total));
    let valid = piece_length.is_power_of_two()
        && (MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&piece_length);
    if !valid {
        return Err(CreateError::PieceLength(piece_length));
    }
    let lengths = Lengths::new(total, piece_length).ok_or(CreateError::TooLarge(path.into()))?;
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let job = hasher::Job {
        files: &files,
        disk_paths: &disk_paths,
        lengths,
        progress,
    };
    let pieces = hasher::hash_pieces(&job, threads)?;
    let info = info_dict(
        &name,
        meta.is_dir(),
        &files,
        piece_length,
        &pieces,
        opts.private,
    )
    .ok_or(CreateError::TooLarge(path.into()))?;
    Ok(torrent_dict(info, opts).encode())
}

/// The torrent's name: the last component of `path`, or of its canonical form for paths such
/// as `.` that have none.
fn torrent_name(path: &Path) -> Result<String, CreateError> {
    let canonical;
    let named = match path.file_name() {
        Some(_) => path,
        None => {
            canonical = path.canonicalize().map_err(|e| CreateError::io(path, e))?;
            &canonical
        }
    };
    let name = named
        .file_name()
        .ok_or_else(|| CreateError::UnsafeName(path.into()))?;
    walk::torrent_name(name, path)
}

/// Lays the found files end to end under the torrent name.
fn layout(name: &str, found: Vec<walk::SourceFile>) -> (Vec<FileEntry>, Vec<PathBuf>) {
    let mut offset = 0;
    let mut entries = Vec::with_capacity(found.len());
    let mut disk_paths = Vec::with_capacity(found.len());
    for file in found {
        let mut path = vec![name.to_string()];
        path.extend(file.components);
        entries.push(FileEntry {
            path,
            length: file.length,
            offset,
            pad: false,
        });
        disk_paths.push(file.disk_path);
        offset += file.length;
    }
    (entries, disk_paths)
}

/// `None` when a length does not fit bencode's signed integers.
fn info_dict(
    name: &str,
    multi_file: bool,
    files: &[FileEntry],
    piece_length: u32,
    pieces: &[[u8; 20]],
    private: bool,
) -> Option<Owned> {
    let mut info = Owned::dict()
        .with("name", name)
        .with("piece length", piece_length)
        .with("pieces", pieces.concat())
        .with_opt("private", private.then_some(1));
    if multi_file {
        let mut list = Vec::with_capacity(files.len());
        for file in files {
            let relative = file.path.iter().skip(1).map(String::as_str);
            let length = i64::try_from(file.length).ok()?;
            list.push(
                Owned::dict()
                    .with("length", length)
                    .with("path", Owned::list(relative)),
            );
        }
        info = info.with("files", Owned::list(list));
    } else {
        let length = i64::try_from(files.first()?.length).ok()?;
        info = info.with("length", length);
    }
    Some(info.build())
}

fn torrent_dict(info: Owned, opts: &CreateOptions) -> Owned {
    let trackers: Vec<&str> = opts
        .trackers
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .collect();
    let tiers =
        (trackers.len() > 1).then(|| Owned::list(trackers.iter().map(|t| Owned::list([*t]))));
    Owned::dict()
        .with("info", info)
        .with_opt("announce", trackers.first().copied())
        .with_opt("announce-list", tiers)
        .with_opt("comment", opts.comment.as_deref())
        .with("created by", format!("shoal {}", env!("CARGO_PKG_VERSION")))
        .with_opt("creation date", opts.creation_date)
        .build()
}
