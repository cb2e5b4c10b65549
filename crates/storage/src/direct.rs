//! Writing verified pieces around the page cache (`O_DIRECT`) where the file system allows
//! it.
//!
//! A buffered write allocates page-cache pages, copies the data into them and leaves them
//! dirty for writeback; for a download that is gigabytes of pages nobody reads again soon.
//! Measured with the benchmark's hardware-limit program (1 GiB, docs/performance.md), the
//! same bytes written `O_DIRECT` cost 0.5–0.7 s of system time against 2.3–3.2 s. So a whole,
//! verified piece whose part in a file starts and ends on a 4 KiB boundary is copied once
//! into an aligned buffer and written through a second descriptor opened `O_DIRECT`; other
//! parts (a file's tail, a file starting mid-piece) and file systems that refuse `O_DIRECT`
//! (tmpfs) keep buffered writes. Reads stay buffered: Linux drops cached pages of a range
//! when it is written directly, so they never see stale data.

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Offsets and lengths of direct writes are multiples of this (the largest logical block
/// size of common disks) and so is the buffer's address.
const ALIGN: usize = 4096;
/// Shorter parts stay buffered: the copy and the wait for the device are not worth it.
const MIN_DIRECT: u64 = 64 * 1024;
/// Bytes staged and written at a time: a bounded buffer per hashing thread, whatever the
/// piece size (a multiple of `ALIGN`). Each write waits for the device, so fewer, larger ones
/// keep it busier: with 256 KiB a 1 GiB loopback download took 10–20% longer on a slow disk
/// (5 interleaved runs), with 1 MiB as long as with buffered writes, for 2.7 MiB more
/// anonymous memory (docs/performance.md).
const STAGE: usize = 1024 * 1024;

/// Whether a part of `len` bytes at `file_offset` may be written directly.
pub(crate) fn eligible(file_offset: u64, len: u64) -> bool {
    file_offset % ALIGN as u64 == 0 && len % ALIGN as u64 == 0 && len >= MIN_DIRECT
}

/// A second, write-only descriptor of the open `file` with `O_DIRECT`, or `None` where the
/// kernel or the file system refuses. It is opened through `/proc/self/fd`, which names the
/// already open file itself, so no path is looked up again (the checks against links that
/// opened `file` still hold).
#[cfg(target_os = "linux")]
pub(crate) fn reopen(file: &File) -> Option<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .ok()
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn reopen(_file: &File) -> Option<File> {
    None
}

thread_local! {
    /// The aligned staging buffer of this (hashing) thread, reused from piece to piece.
    static STAGING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes `chunks`, back to back, at `offset` of `direct` (see [`eligible`]), staging them
/// `STAGE` bytes at a time in this thread's aligned buffer.
pub(crate) fn write(direct: &File, chunks: &[&[u8]], offset: u64) -> io::Result<()> {
    STAGING.with(|staging| {
        let mut staging = staging.borrow_mut();
        if staging.len() < STAGE + ALIGN {
            *staging = vec![0; STAGE + ALIGN];
        }
        let start = staging.as_ptr().align_offset(ALIGN);
        let stage = &mut staging[start..start + STAGE];
        let mut filled = 0;
        let mut at = offset;
        for chunk in chunks {
            let mut rest = *chunk;
            while !rest.is_empty() {
                let n = rest.len().min(STAGE - filled);
                stage[filled..filled + n].copy_from_slice(&rest[..n]);
                filled += n;
                rest = &rest[n..];
                if filled == STAGE {
                    direct.write_all_at(stage, at)?;
                    at += STAGE as u64;
                    filled = 0;
                }
            }
        }
        // The part's length is a multiple of `ALIGN`, so the rest is too.
        if filled > 0 {
            direct.write_all_at(&stage[..filled], at)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aligned_parts_of_some_size_go_direct() {
        assert!(eligible(0, 1 << 20));
        assert!(eligible(8 * 4096, 16 * 4096));
        assert!(!eligible(100, 1 << 20), "unaligned start");
        assert!(!eligible(0, (1 << 20) + 10), "unaligned end");
        assert!(!eligible(0, 4096), "too short to be worth it");
    }
}
