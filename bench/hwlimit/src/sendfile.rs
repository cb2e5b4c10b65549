//! sendfile(2) from a file to a socket, declared straight from the C library
//! that std already links: std's own `io::copy` turned out to read and send
//! through a user-space buffer here (seen with perf), and the hardware limit
//! must not pay copies a client need not pay. No extra crate for one call.

use std::fs::File;
use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;

extern "C" {
    // ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count);
    // off_t is 64 bits on every 64-bit Linux target and with glibc's
    // sendfile64 alias on the others; the offset pointer is null here anyway.
    fn sendfile(out_fd: i32, in_fd: i32, offset: *mut i64, count: usize) -> isize;
}

/// At most this many bytes per call (the kernel caps one call near 2 GiB).
const CHUNK: usize = 1 << 30;

/// Sends the rest of `file` (from its current position) to `conn`.
pub fn all(file: &File, conn: &TcpStream) -> io::Result<u64> {
    let mut sent = 0u64;
    loop {
        // SAFETY: both descriptors are open for the whole call (borrowed), and
        // a null offset asks the kernel to use and advance the file position.
        let got = unsafe {
            sendfile(
                conn.as_raw_fd(),
                file.as_raw_fd(),
                std::ptr::null_mut(),
                CHUNK,
            )
        };
        match got {
            0 => return Ok(sent),
            n if n > 0 => sent += n as u64,
            _ => {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
}
