//! The two system calls std does not offer that the write path needs: a vectored positioned
//! write (one `pwritev` for a piece's blocks instead of one `pwrite` each) and a hint that
//! starts writing dirty pages back at once (`sync_file_range`).
//!
//! Why the hint matters: Linux keeps written pages dirty until a tenth or so of memory is
//! dirty, so without it a 1 GiB download finishes with all of its data still in the page
//! cache and the final fsync waits for the disk to take the whole GiB. Starting writeback
//! piece by piece overlaps the disk with the network, and the final fsync only waits for the
//! tail. On other systems the hint does nothing and the write falls back to `pwrite`s.

use std::fs::File;
use std::io::{self, IoSlice};

/// Most slices passed to one `pwritev` (Linux's `IOV_MAX`).
#[cfg(target_os = "linux")]
const MAX_IOVECS: usize = 1024;

/// Writes every byte of `bufs`, back to back, at `offset` of `file`.
pub(crate) fn write_all_vectored_at(file: &File, bufs: &[&[u8]], offset: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        linux_write_all_vectored_at(file, bufs, offset)
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::os::unix::fs::FileExt;
        let mut at = offset;
        for buf in bufs {
            file.write_all_at(buf, at)?;
            at += buf.len() as u64;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn linux_write_all_vectored_at(file: &File, bufs: &[&[u8]], offset: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut slices: Vec<IoSlice<'_>> = bufs
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| IoSlice::new(b))
        .collect();
    let mut remaining = &mut slices[..];
    let mut at = offset;
    while !remaining.is_empty() {
        let count = remaining.len().min(MAX_IOVECS);
        let pos = libc::off_t::try_from(at)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
        // SAFETY: `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix, the pointer
        // and count describe `count` live slices borrowed for the duration of the call, and
        // the descriptor is open for as long as `file` is borrowed.
        let written = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                remaining.as_ptr().cast::<libc::iovec>(),
                count as libc::c_int,
                pos,
            )
        };
        if written < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if written == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero));
        }
        at += written as u64;
        IoSlice::advance_slices(&mut remaining, written as usize);
    }
    Ok(())
}

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to the disk now,
/// without waiting for it. Errors are ignored: this is only a hint, and the fsync at the end
/// reports any real write failure.
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(pos), Ok(n)) = (
            libc::off64_t::try_from(offset),
            libc::off64_t::try_from(len),
        ) else {
            return;
        };
        // SAFETY: a plain system call on a descriptor that stays open while `file` is
        // borrowed; it reads no memory of ours.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), pos, n, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, offset, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn vectored_write_lands_every_slice_in_order_at_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let a = vec![1u8; 5000];
        let b: Vec<u8> = Vec::new();
        let c = vec![3u8; 70_000];
        write_all_vectored_at(&file, &[&a, &b, &c], 10).unwrap();
        start_writeback(&file, 0, 80_000);
        let mut got = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), 10 + 5000 + 70_000);
        assert!(got[..10].iter().all(|&x| x == 0));
        assert!(got[10..5010].iter().all(|&x| x == 1));
        assert!(got[5010..].iter().all(|&x| x == 3));
    }

    #[test]
    fn more_slices_than_one_call_takes_are_all_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let bytes: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let slices: Vec<&[u8]> = bytes.chunks(1).collect();
        write_all_vectored_at(&file, &slices, 0).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}
