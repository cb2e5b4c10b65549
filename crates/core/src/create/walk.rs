//! Listing the files to put in a torrent: regular files only, sorted by path, symlinks skipped.

use super::CreateError;
use crate::sanitize::sanitize_component;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

/// A regular file found under the folder being shared.
#[derive(Debug, Clone)]
pub(super) struct SourceFile {
    pub disk_path: PathBuf,
    /// Path components relative to the shared folder.
    pub components: Vec<String>,
    pub length: u64,
}

/// Every regular file below `root`, hidden ones included, sorted by path components.
///
/// Symbolic links (to files or folders) are skipped without error: following them could leave
/// the folder or loop, and a torrent cannot describe them portably. Sockets, pipes and devices
/// are skipped as well. The walk uses an explicit stack, so deep trees cannot overflow it.
pub(super) fn list_files(root: &Path) -> Result<Vec<SourceFile>, CreateError> {
    let mut files = Vec::new();
    let mut pending = vec![(root.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| CreateError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| CreateError::io(&dir, e))?;
            let disk_path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| CreateError::io(&disk_path, e))?;
            if kind.is_symlink() || !(kind.is_dir() || kind.is_file()) {
                continue;
            }
            let mut components = prefix.clone();
            components.push(torrent_name(&entry.file_name(), &disk_path)?);
            if kind.is_dir() {
                pending.push((disk_path, components));
            } else {
                let meta = entry
                    .metadata()
                    .map_err(|e| CreateError::io(&disk_path, e))?;
                files.push(SourceFile {
                    disk_path,
                    components,
                    length: meta.len(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.components.cmp(&b.components));
    Ok(files)
}

/// The name a file or folder gets in the torrent. It must be UTF-8 and already safe, because
/// the sharer later finds its files on disk by the names in the torrent: a name that
/// [`sanitize_component`] would change could not be found again.
pub(super) fn torrent_name(name: &OsStr, disk_path: &Path) -> Result<String, CreateError> {
    let name = name
        .to_str()
        .ok_or_else(|| CreateError::NonUtf8Name(disk_path.into()))?;
    match sanitize_component(name) {
        Some(safe) if safe == name => Ok(safe),
        _ => Err(CreateError::UnsafeName(disk_path.into())),
    }
}
