//! Mapping a byte range of a torrent's concatenated data onto the files that hold it.

use super::FileEntry;

/// `len` bytes at `offset` within file number `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSlice {
    /// Index into the torrent's file list.
    pub file: usize,
    /// Offset within that file.
    pub offset: u64,
    /// Number of bytes of the range that lie in this file.
    pub len: u64,
}

/// Iterator returned by [`file_slices`].
#[derive(Debug, Clone)]
pub struct FileSlices<'a> {
    files: &'a [FileEntry],
    index: usize,
    pos: u64,
    end: u64,
}

/// The parts of `files` (laid end to end by their `offset`) that cover `len` bytes starting at
/// `offset`, skipping zero-length files. Stops early at the end of the last file.
pub fn file_slices(files: &[FileEntry], offset: u64, len: u64) -> FileSlices<'_> {
    let index = files.partition_point(|f| f.offset.saturating_add(f.length) <= offset);
    FileSlices {
        files,
        index,
        pos: offset,
        end: offset.saturating_add(len),
    }
}

impl Iterator for FileSlices<'_> {
    type Item = FileSlice;

    fn next(&mut self) -> Option<FileSlice> {
        while self.pos < self.end {
            let file = self.files.get(self.index)?;
            let file_end = file.offset.saturating_add(file.length);
            let index = self.index;
            self.index += 1;
            if file_end <= self.pos {
                continue;
            }
            let offset = self.pos.checked_sub(file.offset)?;
            let len = file_end.min(self.end) - self.pos;
            self.pos += len;
            return Some(FileSlice {
                file: index,
                offset,
                len,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(lengths: &[u64]) -> Vec<FileEntry> {
        let mut offset = 0;
        lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| {
                let f = FileEntry {
                    path: vec![i.to_string()],
                    length,
                    offset,
                    pad: false,
                };
                offset += length;
                f
            })
            .collect()
    }

    #[test]
    fn range_spanning_files_skips_empty_ones() {
        let fs = files(&[10, 0, 5, 20]);
        let got: Vec<_> = file_slices(&fs, 8, 10).collect();
        assert_eq!(
            got,
            vec![
                FileSlice {
                    file: 0,
                    offset: 8,
                    len: 2
                },
                FileSlice {
                    file: 2,
                    offset: 0,
                    len: 5
                },
                FileSlice {
                    file: 3,
                    offset: 0,
                    len: 3
                },
            ]
        );
    }

    #[test]
    fn range_inside_one_file_and_past_the_end() {
        let fs = files(&[10, 5]);
        assert_eq!(
            file_slices(&fs, 11, 2).collect::<Vec<_>>(),
            vec![FileSlice {
                file: 1,
                offset: 1,
                len: 2
            }]
        );
        assert_eq!(file_slices(&fs, 12, 100).map(|s| s.len).sum::<u64>(), 3);
        assert_eq!(file_slices(&fs, 15, 1).count(), 0);
        assert_eq!(file_slices(&fs, 0, 0).count(), 0);
    }
}
