//! `hwlimit`: the hardware limit for a one-to-one loopback transfer on this
//! machine, for shoal's benchmark suite (bench/, issue 3).
//!
//! Pushes the bytes of one file through one 127.0.0.1 TCP connection into a
//! receiver that SHA-1-hashes every piece and writes it to a file (see
//! [`pipeline`]). No protocol, no peer logic: what is left is the work every
//! BitTorrent client has to do, so a client's MB/s reads as a fraction of this.
//!
//! Usage: `hwlimit SOURCE OUT [--piece-length BYTES] [--no-fsync]`
//!
//! Prints one line of JSON: bytes, seconds, mb_per_s (10^6 bytes/s),
//! cpu_seconds (the whole process: sender and receiver threads),
//! sender_cpu_seconds (the sending thread alone, what a seeder needs; the
//! difference is the receiving side's, what a leecher needs), pieces_sha1
//! (SHA-1 of the concatenated piece digests, to check against the source's).
//! `--no-fsync` leaves the final fsync to the caller, which the benchmark
//! harness times the same way for every client.

mod pipeline;
mod sendfile;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const DEFAULT_PIECE_LENGTH: usize = 1 << 20;
const USAGE: &str = "usage: hwlimit SOURCE OUT [--piece-length BYTES] [--no-fsync]";

struct Args {
    source: PathBuf,
    out: PathBuf,
    piece_length: usize,
    fsync: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut paths = Vec::new();
    let mut piece_length = DEFAULT_PIECE_LENGTH;
    let mut fsync = true;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--piece-length" => {
                let value = args.next().ok_or("--piece-length needs a value")?;
                piece_length = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("bad --piece-length {value:?}"))?;
            }
            "--no-fsync" => fsync = false,
            "-h" | "--help" => return Err(USAGE.into()),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    let [source, out]: [PathBuf; 2] = paths
        .try_into()
        .map_err(|_| "expected SOURCE and OUT".to_string())?;
    Ok(Args {
        source,
        out,
        piece_length,
        fsync,
    })
}

/// User + system CPU seconds from a `stat` file of /proc: /proc/self/stat for
/// the process (all threads), /proc/thread-self/stat for the calling thread
/// (fields 14 and 15, in USER_HZ = 100 ticks per second on Linux for every
/// architecture's user ABI).
fn cpu_seconds(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("hwlimit: {message}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let outcome = pipeline::run(&args.source, &args.out, args.piece_length, args.fsync);
    let seconds = started.elapsed().as_secs_f64();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("hwlimit: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{{\"bytes\": {}, \"seconds\": {:.4}, \"mb_per_s\": {:.1}, \"cpu_seconds\": {:.3}, \"sender_cpu_seconds\": {:.3}, \"pieces_sha1\": \"{}\"}}",
        outcome.bytes,
        seconds,
        outcome.bytes as f64 / seconds / 1e6,
        cpu_seconds("/proc/self/stat").unwrap_or(f64::NAN),
        outcome.sender_cpu_seconds.unwrap_or(f64::NAN),
        hex(&outcome.pieces_sha1),
    );
    ExitCode::SUCCESS
}
