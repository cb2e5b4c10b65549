//! Turning a torrent's path components into paths under the download folder, and opening
//! files there without following symbolic links.
//!
//! What is guaranteed: every path is `root` followed by components that are non-empty and
//! not `.`/`..` and contain no `/`, `\` or NUL. Below `root`, no directory or file is ever
//! used if it is a symbolic link (or anything other than a plain directory/file) at the time
//! it is checked: directories are made one level at a time and inspected with `lstat`, new
//! files are made with `O_CREAT|O_EXCL` (which never follows a link), and an existing file is
//! checked again after opening, by device and inode, against what `lstat` sees at its path.
//! What is not guaranteed: a local attacker who can write inside `root` and swaps a checked
//! directory for a link between our check and our open can still redirect us; closing that
//! race needs `openat`-style calls that std does not offer. `root` itself is the user's
//! choice and is followed even if it is a link.

use crate::StorageError;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Builds the relative path for a file, refusing any component that could escape `root`.
pub(crate) fn relative_path(root: &Path, components: &[String]) -> Result<PathBuf, StorageError> {
    if components.is_empty() {
        return Err(unsafe_component("", root));
    }
    let mut rel = PathBuf::new();
    for c in components {
        if !is_safe_component(c) {
            return Err(unsafe_component(c, root));
        }
        rel.push(c);
    }
    Ok(rel)
}

fn is_safe_component(c: &str) -> bool {
    !c.is_empty() && c != "." && c != ".." && !c.contains(['/', '\\', '\0'])
}

fn unsafe_component(c: &str, root: &Path) -> StorageError {
    StorageError::UnsafeComponent {
        component: c.to_string(),
        root: root.to_path_buf(),
    }
}

/// A file opened for writing, with the directories whose entries changed (to fsync later).
pub(crate) struct WritableFile {
    pub file: File,
    pub changed_dirs: Vec<PathBuf>,
}

/// Opens `root/rel` read-only. A missing file or directory gives a NotFound I/O error.
pub(crate) fn open_for_read(root: &Path, rel: &Path) -> Result<File, StorageError> {
    let path = root.join(rel);
    check_parents(root, rel, false, &mut Vec::new())?;
    match fs::symlink_metadata(&path) {
        Ok(meta) => open_existing(&path, &meta, false),
        Err(e) => Err(StorageError::io("read", &path, e)),
    }
}

/// Opens `root/rel` for reading and writing, creating it and its parent directories.
pub(crate) fn open_for_write(root: &Path, rel: &Path) -> Result<WritableFile, StorageError> {
    let path = root.join(rel);
    let mut changed_dirs = Vec::new();
    if !root.exists() {
        fs::create_dir_all(root).map_err(|e| StorageError::io("create folder", root, e))?;
        changed_dirs.extend(root.parent().map(Path::to_path_buf));
    }
    check_parents(root, rel, true, &mut changed_dirs)?;
    // Two rounds at most: if another process creates the file between our lstat and our
    // exclusive create, look at it again.
    for _ in 0..2 {
        match fs::symlink_metadata(&path) {
            Ok(meta) => {
                let file = open_existing(&path, &meta, true)?;
                return Ok(WritableFile { file, changed_dirs });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&path)
                {
                    Ok(file) => {
                        changed_dirs.extend(path.parent().map(Path::to_path_buf));
                        return Ok(WritableFile { file, changed_dirs });
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(StorageError::io("create", &path, e)),
                }
            }
            Err(e) => return Err(StorageError::io("inspect", &path, e)),
        }
    }
    Err(StorageError::NotPlain(path))
}

/// Walks the directories between `root` and the file, refusing links; creates missing ones
/// when `create` is set.
fn check_parents(
    root: &Path,
    rel: &Path,
    create: bool,
    changed_dirs: &mut Vec<PathBuf>,
) -> Result<(), StorageError> {
    let Some(parent) = rel.parent() else {
        return Ok(());
    };
    let mut dir = root.to_path_buf();
    for component in parent.components() {
        dir.push(component);
        if create {
            match fs::create_dir(&dir) {
                Ok(()) => {
                    changed_dirs.extend(dir.parent().map(Path::to_path_buf));
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StorageError::io("create folder", &dir, e)),
            }
        }
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => return Err(StorageError::NotPlain(dir)),
            // A missing folder means the file is missing: name the file, which the user knows.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::io("read", &root.join(rel), e))
            }
            Err(e) => return Err(StorageError::io("inspect", &dir, e)),
        }
    }
    Ok(())
}

/// Opens a file `lstat` showed to exist, then makes sure the path still names that same
/// plain file (and not a link swapped in meanwhile).
fn open_existing(path: &Path, meta: &fs::Metadata, write: bool) -> Result<File, StorageError> {
    if !meta.file_type().is_file() {
        return Err(StorageError::NotPlain(path.to_path_buf()));
    }
    let action = if write { "open for writing" } else { "open" };
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .map_err(|e| StorageError::io(action, path, e))?;
    let opened = file
        .metadata()
        .map_err(|e| StorageError::io(action, path, e))?;
    let now = fs::symlink_metadata(path).map_err(|e| StorageError::io(action, path, e))?;
    if opened.dev() != now.dev() || opened.ino() != now.ino() || !now.file_type().is_file() {
        return Err(StorageError::NotPlain(path.to_path_buf()));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_plain_components() {
        let rel = relative_path(Path::new("/dl"), &comps(&["name", "dir", "file.txt"])).unwrap();
        assert_eq!(rel, PathBuf::from("name/dir/file.txt"));
    }

    #[test]
    fn refuses_components_that_could_escape() {
        for bad in [
            &[][..],
            &[""],
            &["."],
            &["a", ".."],
            &["a/b"],
            &["a\\b"],
            &["a\0b"],
            &["/etc"],
        ] {
            let err = relative_path(Path::new("/dl"), &comps(bad)).unwrap_err();
            assert!(
                matches!(err, StorageError::UnsafeComponent { .. }),
                "{bad:?}: {err}"
            );
        }
    }
}
