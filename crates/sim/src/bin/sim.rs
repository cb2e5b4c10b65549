//! Runs one swarm and compares its completion time with the theoretical bound
//! `T = max(F/u_seed, F/d_min, N*F/(u_seed + sum of leecher uploads))`.
//!
//! `sim --peers 1000 --size 16M --piece 256k --seed-up 5M --up 1M --down 4M --fast`
//! Rates are bytes per second; sizes and rates take k/M/G suffixes (powers of 1000 for
//! rates, of 1024 for sizes).
//!
//! At 10,000 peers the run is bound by memory latency (1.6 GB, a cold node per event). On
//! glibc, `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` backs the heap with transparent huge pages
//! where the system allows them (`madvise` mode), which cuts that run's CPU time by about a
//! fifth (fewer TLB misses).
//!
//! `--threads` (by default the CPUs available) runs the nodes on that many threads; the
//! result does not depend on it, only the wall time does.

use shoal_sim::{
    Behaviour, ContentSpec, Discovery, Fidelity, Limits, Link, NodeId, Role, StopReason, Swarm,
    SwarmConfig,
};
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    peers: u64,
    seed: u64,
    size: u64,
    piece: u64,
    seed_up: u64,
    up: u64,
    down: u64,
    latency_ms: u64,
    fast: bool,
    trace: bool,
    max_time_s: u64,
    hints: usize,
    progress: u64,
    corrupt: u64,
    silent: u64,
    threads: usize,
}

const USAGE: &str = "usage: sim [--peers N] [--seed S] [--size BYTES] [--piece BYTES] [--seed-up B/s] \
[--up B/s] [--down B/s] [--latency-ms MS] [--hints N] [--max-time SECONDS] [--progress SECONDS] [--corrupt N] [--silent N] [--threads N] [--fast] [--trace]
--threads defaults to the CPUs available; the result does not depend on it.";

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e == "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = SwarmConfig {
        content: ContentSpec {
            len: args.size,
            piece_len: args.piece as u32,
        },
        fidelity: if args.fast {
            Fidelity::Fast
        } else {
            Fidelity::Exact
        },
        discovery: Discovery {
            seeders: true,
            random: args.hints,
        },
        threads: args.threads,
        ..SwarmConfig::default()
    };
    let mut swarm = match Swarm::with_config(args.seed, config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sim: {e}");
            return ExitCode::from(2);
        }
    };
    swarm.set_trace(args.trace);
    let latency = Duration::from_millis(args.latency_ms);
    let seeder = swarm.add_seeder(Link::symmetric(args.seed_up, latency));
    let leechers: Vec<_> = (0..args.peers)
        .map(|_| swarm.add_leecher(Link::new(args.up, args.down, latency)))
        .collect();
    for _ in 0..args.corrupt {
        swarm.add_corrupt_peer(Link::symmetric(args.seed_up, latency));
    }
    for _ in 0..args.silent {
        swarm.add_silent_peer(Link::symmetric(args.seed_up, latency));
    }

    let started = Instant::now();
    // Run in short steps of virtual time to sample how much upload capacity is in use.
    let sample = Duration::from_millis(250);
    let mut timeline = Timeline::default();
    let mut peak_queue = 0;
    let mut outcome;
    loop {
        let step = sample.min(Duration::from_secs(args.max_time_s).saturating_sub(swarm.now()));
        let before = swarm.now();
        outcome = swarm.run_with(
            |s| {
                peak_queue = peak_queue.max(s.pending_events());
                s.all_complete()
            },
            Limits {
                time: step,
                events: u64::MAX,
            },
        );
        timeline.sample(&swarm, (swarm.now() - before).as_secs_f64());
        if args.progress > 0 && swarm.now().as_millis() % (args.progress as u128 * 1000) < 250 {
            print_progress(&swarm, &leechers);
        }
        if outcome.stop != StopReason::TimeLimit || swarm.now().as_secs() >= args.max_time_s {
            break;
        }
    }
    let wall = started.elapsed();

    let f = args.size as f64;
    let n = args.peers as f64;
    let bound = (f / args.seed_up as f64)
        .max(f / args.down as f64)
        .max(n * f / (args.seed_up as f64 + n * args.up as f64));
    let times: Vec<f64> = leechers
        .iter()
        .filter_map(|&l| outcome.completed[l.index()])
        .map(|d| d.as_secs_f64())
        .collect();
    let last = times.iter().copied().fold(0.0, f64::max);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    println!(
        "peers {} size {} piece {} seed-up {} up {} down {} latency {} ms",
        args.peers, args.size, args.piece, args.seed_up, args.up, args.down, args.latency_ms
    );
    println!(
        "stop {:?}: {} of {} leechers complete",
        outcome.stop,
        times.len(),
        args.peers
    );
    println!(
        "completion: last {last:.2} s, mean {mean:.2} s; bound T {bound:.2} s; last/T {:.2}",
        last / bound
    );
    let capacity = args.seed_up as f64 + n * args.up as f64;
    println!(
        "upload in use: {:.0}% of the swarm's capacity ({:.0} MB/s) until the last completion; per second: {}",
        timeline.mean_use(capacity) * 100.0,
        capacity / 1e6,
        timeline.per_second(capacity)
    );
    // Where the lost time went, and the part of it no protocol that forwards only whole
    // verified pieces can avoid (see `ramp_floor`).
    let first_done = times.iter().copied().fold(f64::INFINITY, f64::min);
    let [ramp, middle, tail] = timeline.phases(capacity, first_done);
    let (hop, ramp_floor) = ramp_floor(&args, capacity);
    let floor_ratio = (bound + ramp_floor) / bound;
    println!(
        "capacity lost, in seconds of full use: ramp {:.2} (first {:.2} s, until use first reaches 50%), middle {:.2} ({:.2} s), tail {:.2} (last {:.2} s, after the first completion)",
        ramp.1, ramp.0, middle.1, middle.0, tail.1, tail.0
    );
    println!(
        "store-and-forward floor: a piece hop takes at least {:.0} ms, so, with the first block from the seed eight one-way trips after the start, starting up and filling the swarm's upload from the seed's loses {ramp_floor:.2} s: last/T >= {floor_ratio:.2}",
        hop * 1e3
    );
    let idle = &timeline.idle;
    let pct = |x: u64| x as f64 * 100.0 / idle.samples.max(1) as f64;
    println!(
        "idle uploaders (share of node samples): {:.1}% nobody interested, {:.1}% all interested peers choked, {:.1}% unchoked peers asking nothing",
        pct(idle.nobody_interested),
        pct(idle.all_choked),
        pct(idle.no_requests)
    );
    if let Some(log) = swarm.node(seeder).served() {
        let first = log
            .first_copy_at
            .map_or("never".to_string(), |t| format!("{:.2} s", t as f64 / 1e9));
        println!(
            "seeder: every block out once at {first} (F/u_seed {:.2} s); {:.1}% of the {} blocks it sent before then were repeats; {} blocks sent in all",
            f / args.seed_up as f64,
            log.duplicate_ratio() * 100.0,
            log.sent_before_first_copy,
            log.sent
        );
    }
    println!(
        "simulator: {} events in {:.2} s wall on {} threads ({:.0} events/s, peak queue {peak_queue}), {} anomalies",
        outcome.events,
        wall.as_secs_f64(),
        args.threads,
        outcome.events as f64 / wall.as_secs_f64().max(1e-9),
        outcome.anomalies
    );
    let busy: Vec<String> = swarm
        .thread_busy()
        .iter()
        .map(|b| format!("{:.2}", b.as_secs_f64()))
        .collect();
    println!("simulator threads busy (s): {}", busy.join(" "));
    let (mut failures, mut bans, mut honest_bans) = (0, 0, 0);
    for &l in &leechers {
        let log = swarm.node(l).log();
        failures += log.hash_failures;
        bans += log.banned.len();
        honest_bans += log
            .banned
            .iter()
            .filter(|&&b| swarm.node(b).spec().behaviour == Behaviour::Honest)
            .count();
    }
    println!("hostile: {failures} pieces failed verification, {bans} bans ({honest_bans} of honest peers)");
    for a in swarm.anomalies().iter().take(10) {
        println!("anomaly at {:?} on {:?}: {}", a.at, a.node, a.what);
    }
    // One line of key=value pairs for scripts (bench/): stays the last line of the output.
    println!(
        "result peers={} complete={} last_s={last:.3} mean_s={mean:.3} bound_s={bound:.3} ratio={:.3} upload_use={:.3} wall_s={:.2} events={} anomalies={} floor_ratio={floor_ratio:.3} lost_ramp_s={:.3} lost_middle_s={:.3} lost_tail_s={:.3}",
        args.peers,
        times.len(),
        last / bound,
        timeline.mean_use(capacity),
        wall.as_secs_f64(),
        outcome.events,
        outcome.anomalies,
        ramp.1,
        middle.1,
        tail.1
    );
    // Freeing a 10,000-node swarm (gigabytes in millions of small allocations) takes a
    // noticeable part of a second; the process is about to exit, which frees it all at once.
    std::mem::forget(swarm);
    if outcome.stop == StopReason::Done {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The least time, beyond the bound, that starting up and filling the swarm's upload take
/// when only whole verified pieces are forwarded: `(hop, loss)` in seconds.
///
/// Nothing moves before the first block from the seed arrives: eight one-way trips after
/// the start (TCP handshake, the BitTorrent handshake back, `Interested`, `Unchoke`,
/// `Request`, the data). A piece can leave a leecher only once all of it arrived and passed
/// its hash. One hop
/// takes at least the piece's time at a leecher's upload rate plus three one-way trips (the
/// `Have` out, the `Request` back, the data out). A holder that sends each piece whole to
/// one peer at a time makes copies double once per hop at best, so the upload in use grows
/// from the seed's `u_seed` as `u_seed * 2^(t/hop)` until it reaches the capacity `C`, which
/// takes `hop * log2(C/u_seed)`; of that time, `hop / ln 2` worth of full use is achieved,
/// so `hop * (log2(C/u_seed) - 1/ln 2)` is lost. Splitting an upload over several peers,
/// or a hop that waits for an unchoke, only makes it longer.
fn ramp_floor(args: &Args, capacity: f64) -> (f64, f64) {
    let one_way = 2.0 * args.latency_ms as f64 / 1e3;
    let hop = args.piece as f64 / args.up as f64 + 3.0 * one_way;
    let doublings = (capacity / args.seed_up as f64).log2();
    let startup = 8.0 * one_way;
    (
        hop,
        startup + hop * (doublings - std::f64::consts::LOG2_E).max(0.0),
    )
}

/// Payload bytes put on the wire by the whole swarm, sampled every step.
#[derive(Default)]
struct Timeline {
    /// (step length in seconds, bytes sent during it)
    steps: Vec<(f64, u64)>,
    last_total: u64,
    /// Steps up to and including the one in which the last leecher completed.
    active: usize,
    /// Node samples (until the last completion) with the upload pipe idle, by reason.
    idle: IdleCount,
}

/// Why nodes' upload pipes were idle when sampled.
#[derive(Default, Debug)]
struct IdleCount {
    samples: u64,
    /// Nothing to offer: no connected peer is interested in us.
    nobody_interested: u64,
    /// Peers are interested but we unchoke none of them.
    all_choked: u64,
    /// We unchoke interested peers but they have no request waiting with us.
    no_requests: u64,
}

impl Timeline {
    fn sample(&mut self, swarm: &Swarm, secs: f64) {
        const IDLE_SAMPLE_NODES: usize = 2500;
        let total = swarm.payload_sent();
        self.steps.push((secs, total - self.last_total));
        self.last_total = total;
        if !swarm.all_complete() || self.active == 0 {
            self.active = self.steps.len();
            // At most a few thousand nodes per sample (every node up to that): the share is
            // the same, and visiting 10,000 nodes out of cache 40 times costs over a second
            // with the other thread idle.
            let stride = swarm.len().div_ceil(IDLE_SAMPLE_NODES).max(1);
            for node in swarm.node_ids().step_by(stride).map(|n| swarm.node(n)) {
                if !node.is_online() {
                    continue;
                }
                self.idle.samples += 1;
                if !node.upload_idle() {
                    continue;
                }
                let st = node.stats();
                if st.interested_peers == 0 {
                    self.idle.nobody_interested += 1;
                } else if st.unchoked_peers == 0 {
                    self.idle.all_choked += 1;
                } else if st.queued_requests == 0 {
                    self.idle.no_requests += 1;
                }
            }
        }
    }

    /// Bytes sent over the bytes the swarm could have sent, until the last completion.
    fn mean_use(&self, capacity: f64) -> f64 {
        let steps = &self.steps[..self.active.min(self.steps.len())];
        let secs: f64 = steps.iter().map(|s| s.0).sum();
        let bytes: u64 = steps.iter().map(|s| s.1).sum();
        bytes as f64 / (capacity * secs).max(1.0)
    }

    /// `(duration, capacity lost)` in seconds for the ramp (until use first reaches half),
    /// the middle, and the tail (from the step in which the first leecher completed).
    fn phases(&self, capacity: f64, first_done: f64) -> [(f64, f64); 3] {
        let mut out = [(0.0, 0.0); 3];
        let (mut t, mut ramping) = (0.0, true);
        for &(secs, bytes) in &self.steps[..self.active.min(self.steps.len())] {
            let used = bytes as f64 / (capacity * secs).max(1e-9);
            ramping &= used < 0.5;
            let phase = if ramping {
                0
            } else if t + secs > first_done {
                2
            } else {
                1
            };
            out[phase].0 += secs;
            out[phase].1 += (1.0 - used.min(1.0)) * secs;
            t += secs;
        }
        out
    }

    /// Percent in use in each whole second, space-separated.
    fn per_second(&self, capacity: f64) -> String {
        let mut out = Vec::new();
        let (mut secs, mut bytes) = (0.0, 0u64);
        for &(s, b) in &self.steps[..self.active.min(self.steps.len())] {
            secs += s;
            bytes += b;
            if secs >= 0.999 {
                out.push(format!("{:.0}", bytes as f64 * 100.0 / (capacity * secs)));
                (secs, bytes) = (0.0, 0);
            }
        }
        if secs > 0.0 {
            out.push(format!("{:.0}", bytes as f64 * 100.0 / (capacity * secs)));
        }
        out.join(" ")
    }
}

/// One line per step: leechers done, bytes held, and who uploaded them.
fn print_progress(swarm: &Swarm, leechers: &[NodeId]) {
    let (mut done, mut have, mut up_leechers, mut peers) = (0, 0u64, 0u64, 0usize);
    for &l in leechers {
        let st = swarm.node(l).stats();
        done += usize::from(swarm.node(l).completed_at().is_some());
        have += st.have_bytes;
        up_leechers += st.uploaded;
        peers += st.connected_peers;
    }
    let total = swarm.content().data.len() as f64 * leechers.len().max(1) as f64;
    let up_seeds: u64 = swarm
        .node_ids()
        .filter(|&n| swarm.node(n).spec().role == Role::Seeder)
        .map(|n| swarm.node(n).stats().uploaded)
        .sum();
    println!(
        "t {:>7.1} s: {done} done, {:.1}% of bytes held, uploaded by seeders {} MB, by leechers {} MB, mean {:.1} peers",
        swarm.now().as_secs_f64(),
        have as f64 * 100.0 / total,
        up_seeds / 1_000_000,
        up_leechers / 1_000_000,
        peers as f64 / leechers.len().max(1) as f64
    );
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        peers: 20,
        seed: 1,
        size: 4 << 20,
        piece: 64 << 10,
        seed_up: 2_000_000,
        up: 1_000_000,
        down: 4_000_000,
        latency_ms: 20,
        fast: false,
        trace: false,
        max_time_s: 24 * 3600,
        hints: 5,
        progress: 0,
        corrupt: 0,
        silent: 0,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--peers" => a.peers = number(&value()?, 1000)?,
            "--seed" => a.seed = number(&value()?, 1000)?,
            "--size" => a.size = number(&value()?, 1024)?,
            "--piece" => a.piece = number(&value()?, 1024)?,
            "--seed-up" => a.seed_up = number(&value()?, 1000)?,
            "--up" => a.up = number(&value()?, 1000)?,
            "--down" => a.down = number(&value()?, 1000)?,
            "--latency-ms" => a.latency_ms = number(&value()?, 1000)?,
            "--hints" => a.hints = number(&value()?, 1000)? as usize,
            "--max-time" => a.max_time_s = number(&value()?, 1000)?,
            "--progress" => a.progress = number(&value()?, 1000)?,
            "--corrupt" => a.corrupt = number(&value()?, 1000)?,
            "--silent" => a.silent = number(&value()?, 1000)?,
            "--threads" => a.threads = number(&value()?, 1000)?.clamp(1, 256) as usize,
            "--fast" => a.fast = true,
            "--trace" => a.trace = true,
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.seed_up == 0 || a.up == 0 || a.down == 0 || a.piece == 0 || a.piece > u32::MAX as u64 {
        return Err(
            "rates and the piece size must be non-zero (and the piece size fit in 32 bits)".into(),
        );
    }
    Ok(a)
}

/// `1500`, `16k`, `4M`, `1G`; `unit` is 1000 or 1024.
fn number(s: &str, unit: u64) -> Result<u64, String> {
    let (digits, scale) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], unit),
        Some('m' | 'M') => (&s[..s.len() - 1], unit * unit),
        Some('g' | 'G') => (&s[..s.len() - 1], unit * unit * unit),
        _ => (s, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("not a number: {s}"))
}
