//! Turning bencoded torrents and `info` dictionaries into [`Metainfo`] and [`Info`], with
//! every check that protects the rest of shoal from a hostile file.

use super::{trackers, FileEntry, Info, Metainfo, MetainfoError, MAX_PIECE_LENGTH};
use crate::sanitize::sanitize_component;
use crate::{InfoHash, Lengths};
use bytes::Bytes;
use shoal_bencode::{Dict, Value};
use std::collections::HashSet;

pub(super) fn metainfo(torrent: &[u8]) -> Result<Metainfo, MetainfoError> {
    let (value, _) = shoal_bencode::decode_prefix(torrent)?;
    let top = value.as_dict().ok_or(MetainfoError::Field("info"))?;
    let info_dict = top.get_dict(b"info").ok_or(MetainfoError::Field("info"))?;
    let info = info(info_dict)?;
    let raw_info = info_dict.raw();
    Ok(Metainfo {
        info,
        info_hash: InfoHash::from_info_bytes(raw_info),
        info_bytes: Bytes::copy_from_slice(raw_info),
        trackers: trackers::tiers(top),
        comment: text(top, b"comment.utf-8", b"comment"),
        created_by: text(top, b"created by.utf-8", b"created by"),
        creation_date: top.get_int(b"creation date"),
    })
}

pub(super) fn info_from_bytes(raw_info: &[u8]) -> Result<Info, MetainfoError> {
    let value = shoal_bencode::decode(raw_info)?;
    info(value.as_dict().ok_or(MetainfoError::Field("info"))?)
}

pub(super) fn info(d: &Dict<'_>) -> Result<Info, MetainfoError> {
    let raw_name = text(d, b"name.utf-8", b"name").ok_or(MetainfoError::Field("name"))?;
    let name = sanitize_component(&raw_name).ok_or(MetainfoError::UnsafePath(raw_name))?;
    let piece_length = d
        .get_int(b"piece length")
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0 && n <= MAX_PIECE_LENGTH)
        .ok_or(MetainfoError::Field("piece length"))?;
    let pieces = piece_hashes(
        d.get_bytes(b"pieces")
            .ok_or(MetainfoError::Field("pieces"))?,
    )?;
    let (files, multi_file) = match d.get(b"files") {
        Some(list) => (multi_files(list, &name)?, true),
        None => {
            let length = file_length(d)?;
            (
                vec![FileEntry {
                    path: vec![name.clone()],
                    length,
                    offset: 0,
                    pad: false,
                }],
                false,
            )
        }
    };
    let total = files.last().map_or(0, |f| f.offset + f.length);
    if total == 0 {
        return Err(MetainfoError::Field("length"));
    }
    let lengths = Lengths::new(total, piece_length).ok_or(MetainfoError::Shape)?;
    if pieces.len() as u64 != u64::from(lengths.num_pieces()) {
        return Err(MetainfoError::PieceCount {
            pieces: pieces.len(),
            expected: lengths.num_pieces().into(),
        });
    }
    reject_colliding_paths(&files)?;
    Ok(Info {
        name,
        piece_length,
        pieces,
        files,
        private: d.get_int(b"private") == Some(1),
        multi_file,
        lengths,
    })
}

fn piece_hashes(raw: &[u8]) -> Result<Vec<[u8; 20]>, MetainfoError> {
    let chunks = raw.chunks_exact(20);
    if !chunks.remainder().is_empty() {
        return Err(MetainfoError::Field("pieces"));
    }
    Ok(chunks.filter_map(|c| c.try_into().ok()).collect())
}

/// A `length` that is present and not negative.
fn file_length(d: &Dict<'_>) -> Result<u64, MetainfoError> {
    d.get_int(b"length")
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(MetainfoError::Field("length"))
}

/// The `files` list: offsets accumulate in list order; paths start with the torrent name.
fn multi_files(list: &Value<'_>, name: &str) -> Result<Vec<FileEntry>, MetainfoError> {
    let list = list
        .as_list()
        .filter(|l| !l.is_empty())
        .ok_or(MetainfoError::Field("files"))?;
    let mut files = Vec::with_capacity(list.len());
    let mut offset = 0u64;
    for entry in list {
        let d = entry.as_dict().ok_or(MetainfoError::Field("files"))?;
        let length = file_length(d)?;
        let raw_path = path_components(d);
        let pad = is_padding(d, raw_path.as_deref());
        let path = match (raw_path, pad) {
            (Some(raw), false) => safe_path(name, &raw)?,
            (None, false) => return Err(MetainfoError::Field("path")),
            // Padding files are never written, so any path will do; BEP 47 lets it be absent.
            (raw, true) => raw
                .and_then(|raw| safe_path(name, &raw).ok())
                .unwrap_or_else(|| vec![name.to_string(), ".pad".into(), length.to_string()]),
        };
        files.push(FileEntry {
            path,
            length,
            offset,
            pad,
        });
        offset = offset.checked_add(length).ok_or(MetainfoError::Shape)?;
    }
    Ok(files)
}

/// `path.utf-8` when it is a list of UTF-8 strings, else `path` (lossily decoded). `None`
/// when neither is a list of byte strings.
fn path_components(d: &Dict<'_>) -> Option<Vec<String>> {
    let utf8 = d.get_list(b"path.utf-8").and_then(|l| {
        l.iter()
            .map(|c| c.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()
    });
    utf8.or_else(|| {
        d.get_list(b"path")?
            .iter()
            .map(|c| {
                c.as_bytes()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
            })
            .collect()
    })
}

/// BEP 47 `attr` containing `p`, or the legacy conventions: a `.pad` folder, or BitComet's
/// `_____padding_file_` names.
fn is_padding(d: &Dict<'_>, path: Option<&[String]>) -> bool {
    let attr = d.get_bytes(b"attr").unwrap_or_default();
    let legacy = path.is_some_and(|p| {
        p.first().is_some_and(|c| c == ".pad")
            || p.last()
                .is_some_and(|c| c.starts_with("_____padding_file_"))
    });
    attr.contains(&b'p') || legacy
}

fn safe_path(name: &str, raw: &[String]) -> Result<Vec<String>, MetainfoError> {
    if raw.is_empty() {
        return Err(MetainfoError::UnsafePath(format!("{name}/ (empty path)")));
    }
    let mut path = Vec::with_capacity(raw.len() + 1);
    path.push(name.to_string());
    for component in raw {
        let safe = sanitize_component(component)
            .ok_or_else(|| MetainfoError::UnsafePath(format!("{name}/{}", raw.join("/"))))?;
        path.push(safe);
    }
    Ok(path)
}

/// Two files with the same path, or a file whose path is also another file's folder, cannot
/// both be stored. Padding files are exempt: they are never written.
fn reject_colliding_paths(files: &[FileEntry]) -> Result<(), MetainfoError> {
    let real: Vec<&[String]> = files
        .iter()
        .filter(|f| !f.pad)
        .map(|f| &f.path[..])
        .collect();
    let mut file_paths = HashSet::with_capacity(real.len());
    let mut folders = HashSet::new();
    for path in &real {
        if !file_paths.insert(*path) {
            return Err(MetainfoError::UnsafePath(format!(
                "{} (listed twice)",
                path.join("/")
            )));
        }
        for depth in 1..path.len() {
            folders.insert(path.get(..depth).unwrap_or_default());
        }
    }
    match real.iter().find(|p| folders.contains(*p)) {
        Some(p) => Err(MetainfoError::UnsafePath(format!(
            "{} (both file and folder)",
            p.join("/")
        ))),
        None => Ok(()),
    }
}

/// `utf8_key` when present and valid UTF-8, else `key` decoded lossily.
fn text(d: &Dict<'_>, utf8_key: &[u8], key: &[u8]) -> Option<String> {
    d.get_str(utf8_key).map(String::from).or_else(|| {
        d.get_bytes(key)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    })
}
