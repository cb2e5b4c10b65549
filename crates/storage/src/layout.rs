//! Maps torrent-global byte ranges onto the files that hold them.
//!
//! A torrent's data is its files concatenated in order; a piece or block can start in one
//! file and end in another. [`Layout::segments`] splits a range at file boundaries.

use crate::StorageError;
use shoal_core::Info;

/// Where one file sits in the torrent's data.
#[derive(Debug, Clone, Copy)]
struct Span {
    offset: u64,
    length: u64,
    pad: bool,
}

impl Span {
    fn end(&self) -> u64 {
        self.offset + self.length
    }
}

/// The part of a requested range that falls inside one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Index of the file in `Info::files`.
    pub file: usize,
    /// Offset of the segment within that file.
    pub file_offset: u64,
    /// Offset of the segment within the requested range.
    pub range_offset: u64,
    pub len: u64,
    /// A BEP 47 padding file: never on disk, always zeros.
    pub pad: bool,
}

/// The file spans of one torrent, checked to tile its data exactly.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    spans: Vec<Span>,
    total: u64,
}

impl Layout {
    /// Fails unless the files follow each other without gaps or overlaps and add up to the
    /// torrent's total length (the parser guarantees this; we check rather than trust).
    pub(crate) fn new(info: &Info) -> Result<Layout, StorageError> {
        let total = info.lengths.total();
        let mut next = 0u64;
        let mut spans = Vec::with_capacity(info.files.len());
        for f in &info.files {
            if f.offset != next {
                return Err(StorageError::Layout { total });
            }
            next = next
                .checked_add(f.length)
                .ok_or(StorageError::Layout { total })?;
            spans.push(Span {
                offset: f.offset,
                length: f.length,
                pad: f.pad,
            });
        }
        if next != total {
            return Err(StorageError::Layout { total });
        }
        Ok(Layout { spans, total })
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The non-empty file segments covering `len` bytes at `offset`, in order.
    pub(crate) fn segments(
        &self,
        offset: u64,
        len: u64,
    ) -> Result<impl Iterator<Item = Segment> + '_, StorageError> {
        let end = check_range(offset, len, self.total)?;
        let first = self.spans.partition_point(|s| s.end() <= offset);
        let spans = self.spans.get(first..).unwrap_or_default();
        Ok(spans
            .iter()
            .enumerate()
            .take_while(move |(_, s)| s.offset < end)
            .filter(|(_, s)| s.length > 0)
            .map(move |(i, s)| {
                let start = s.offset.max(offset);
                let stop = s.end().min(end);
                Segment {
                    file: first + i,
                    file_offset: start - s.offset,
                    range_offset: start - offset,
                    len: stop - start,
                    pad: s.pad,
                }
            }))
    }
}

/// Returns the range's end, or an error when it does not fit in `total` bytes.
pub(crate) fn check_range(offset: u64, len: u64, total: u64) -> Result<u64, StorageError> {
    match offset.checked_add(len) {
        Some(end) if end <= total => Ok(end),
        _ => Err(StorageError::OutOfRange { offset, len, total }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::{FileEntry, Lengths};

    fn info(files: &[(u64, bool)]) -> Info {
        let mut offset = 0;
        let files: Vec<FileEntry> = files
            .iter()
            .enumerate()
            .map(|(i, &(length, pad))| {
                let f = FileEntry {
                    path: vec![format!("f{i}")],
                    length,
                    offset,
                    pad,
                };
                offset += length;
                f
            })
            .collect();
        Info {
            name: "t".into(),
            piece_length: 16,
            pieces: vec![],
            files,
            private: false,
            multi_file: true,
            lengths: Lengths::new(offset, 16).unwrap(),
        }
    }

    #[test]
    fn splits_ranges_at_file_boundaries_and_skips_empty_files() {
        let layout =
            Layout::new(&info(&[(10, false), (0, false), (5, true), (20, false)])).unwrap();
        let segs: Vec<_> = layout.segments(8, 10).unwrap().collect();
        assert_eq!(
            segs,
            vec![
                Segment {
                    file: 0,
                    file_offset: 8,
                    range_offset: 0,
                    len: 2,
                    pad: false
                },
                Segment {
                    file: 2,
                    file_offset: 0,
                    range_offset: 2,
                    len: 5,
                    pad: true
                },
                Segment {
                    file: 3,
                    file_offset: 0,
                    range_offset: 7,
                    len: 3,
                    pad: false
                },
            ]
        );
        let tail: Vec<_> = layout.segments(34, 1).unwrap().collect();
        assert_eq!(
            tail,
            vec![Segment {
                file: 3,
                file_offset: 19,
                range_offset: 0,
                len: 1,
                pad: false
            }]
        );
        assert_eq!(layout.segments(35, 0).unwrap().count(), 0);
    }

    #[test]
    fn rejects_out_of_range_requests() {
        let layout = Layout::new(&info(&[(10, false)])).unwrap();
        assert!(matches!(
            layout.segments(5, 6),
            Err(StorageError::OutOfRange { .. })
        ));
        assert!(matches!(
            layout.segments(u64::MAX, 2),
            Err(StorageError::OutOfRange { .. })
        ));
    }

    #[test]
    fn rejects_file_lists_that_do_not_tile_the_data() {
        let mut bad = info(&[(10, false), (10, false)]);
        bad.files[1].offset = 11;
        assert!(matches!(
            Layout::new(&bad),
            Err(StorageError::Layout { .. })
        ));
        let mut short = info(&[(10, false)]);
        short.lengths = Lengths::new(11, 16).unwrap();
        assert!(Layout::new(&short).is_err());
    }
}
