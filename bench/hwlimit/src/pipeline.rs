//! The measured transfer: a sender thread streams the source file through one
//! 127.0.0.1 TCP connection; the receiving thread fills piece-sized buffers
//! and hands them to a third thread that SHA-1-hashes each piece (as a
//! BitTorrent leecher verifies it) and writes it at its offset. Receiving and
//! hashing+writing overlap, so two cores can both be busy, the way a client
//! could use them. Buffers are recycled, so memory stays at a few pieces.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};

use crate::sendfile;

/// Pieces in flight between the receiving and the hashing thread.
const QUEUE_DEPTH: usize = 8;
/// Every wait is bounded: a wedged transfer fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(600);
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(30);

/// What arrived: its length, and the SHA-1 of the concatenated piece digests
/// (equal to the source's when every byte arrived intact).
#[derive(Debug)]
pub struct Outcome {
    pub bytes: u64,
    pub pieces_sha1: [u8; 20],
    /// CPU seconds of the sending thread alone (what a seeder must spend),
    /// so the rest of the process's CPU is the receiving side's.
    pub sender_cpu_seconds: Option<f64>,
}

/// Sends `source` to itself and writes it to `out`; `fsync` ends with an
/// fsync of `out` (leave it to the caller to time its own).
pub fn run(source: &Path, out: &Path, piece_length: usize, fsync: bool) -> io::Result<Outcome> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let source = source.to_path_buf();
    let sender = thread::Builder::new()
        .name("send".into())
        .spawn(move || send(&source, addr))?;
    let conn = match accept_within(&listener, &sender) {
        Ok(conn) => conn,
        Err(error) => {
            // The sender's own error says more than "no connection".
            join(sender)?;
            return Err(error);
        }
    };
    let received = receive(conn, out.to_path_buf(), piece_length, fsync);
    let sender_cpu_seconds = join(sender)?;
    received.map(|outcome| Outcome {
        sender_cpu_seconds,
        ..outcome
    })
}

/// The sending side: sendfile(2), so the bytes go from the page cache to the
/// socket without passing through user space (as a seeder can send them).
/// Returns the thread's own CPU seconds.
fn send(source: &Path, addr: std::net::SocketAddr) -> io::Result<Option<f64>> {
    let file = File::open(source)?;
    let conn = TcpStream::connect_timeout(&addr, ACCEPT_TIMEOUT)?;
    conn.set_write_timeout(Some(TIMEOUT))?;
    sendfile::all(&file, &conn)?;
    conn.shutdown(Shutdown::Write)?;
    Ok(crate::cpu_seconds("/proc/thread-self/stat"))
}

/// Accepts the sender's connection; gives up if the sender thread ended
/// without connecting, or after [`ACCEPT_TIMEOUT`].
fn accept_within(
    listener: &TcpListener,
    sender: &thread::JoinHandle<io::Result<Option<f64>>>,
) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + ACCEPT_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((conn, _)) => {
                conn.set_nonblocking(false)?;
                conn.set_read_timeout(Some(TIMEOUT))?;
                return Ok(conn);
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if sender.is_finished() || Instant::now() > deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the sender never connected",
                    ));
                }
                thread::sleep(Duration::from_millis(1));
            }
            Err(error) => return Err(error),
        }
    }
}

fn join<T>(handle: thread::JoinHandle<io::Result<T>>) -> io::Result<T> {
    handle
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("a thread panicked")))
}

/// The receiving thread (the caller's): fills buffers and queues them for
/// [`hash_and_write`], which hands each back once written.
fn receive(
    mut conn: TcpStream,
    out: PathBuf,
    piece_length: usize,
    fsync: bool,
) -> io::Result<Outcome> {
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(QUEUE_DEPTH);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..QUEUE_DEPTH + 2 {
        empty_tx
            .send(vec![0; piece_length])
            .map_err(|_| io::Error::other("buffer queue closed"))?;
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&out)?;
    let writer = thread::Builder::new()
        .name("hash+write".into())
        .spawn(move || hash_and_write(file, full_rx, empty_tx, fsync))?;
    let received = (|| -> io::Result<()> {
        loop {
            // The writer dropping its end means it failed: its error is reported below.
            let Ok(mut buffer) = empty_rx.recv_timeout(TIMEOUT) else {
                return Ok(());
            };
            let filled = fill(&mut conn, &mut buffer)?;
            if filled > 0 && full_tx.send((buffer, filled)).is_err() {
                return Ok(());
            }
            if filled < piece_length {
                return Ok(());
            }
        }
    })();
    drop(full_tx);
    let written = writer
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the hash+write thread panicked")));
    received?;
    written
}

/// Reads until `buffer` is full or the sender closed; how many bytes came.
fn fill(conn: &mut TcpStream, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match conn.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(got) => filled += got,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

fn hash_and_write(
    file: File,
    full: mpsc::Receiver<(Vec<u8>, usize)>,
    empty: mpsc::Sender<Vec<u8>>,
    fsync: bool,
) -> io::Result<Outcome> {
    let mut digests = Sha1::new();
    let mut offset = 0u64;
    for (buffer, len) in full {
        let piece = &buffer[..len];
        digests.update(Sha1::digest(piece));
        file.write_all_at(piece, offset)?;
        offset += len as u64;
        // The receiver may have finished already; the buffer is then dropped.
        let _ = empty.send(buffer);
    }
    if fsync {
        file.sync_all()?;
    }
    Ok(Outcome {
        bytes: offset,
        pieces_sha1: digests.finalize().into(),
        sender_cpu_seconds: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch file under the temp dir, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("shoal-hwlimit-{}-{name}", std::process::id()));
            Scratch(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn pieces_sha1(data: &[u8], piece_length: usize) -> [u8; 20] {
        let mut digests = Sha1::new();
        for piece in data.chunks(piece_length) {
            digests.update(Sha1::digest(piece));
        }
        digests.finalize().into()
    }

    #[test]
    fn the_received_file_equals_the_source_with_a_short_last_piece() {
        let piece_length = 64 * 1024;
        // Not a multiple of the piece length, and more pieces than buffers.
        let data: Vec<u8> = (0..(QUEUE_DEPTH * 3 * piece_length + 12_345) as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let source = Scratch::new("source");
        let out = Scratch::new("out");
        std::fs::write(&source.0, &data).unwrap();

        let outcome = run(&source.0, &out.0, piece_length, true).unwrap();

        assert_eq!(outcome.bytes, data.len() as u64);
        assert_eq!(outcome.pieces_sha1, pieces_sha1(&data, piece_length));
        assert!(
            outcome.sender_cpu_seconds.is_some(),
            "no sender CPU reading"
        );
        assert!(std::fs::read(&out.0).unwrap() == data, "output differs");
    }

    #[test]
    fn a_missing_source_is_an_error_not_a_hang() {
        let out = Scratch::new("out-missing");
        let error = run(Path::new("/nonexistent/shoal-hwlimit"), &out.0, 1024, false).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
