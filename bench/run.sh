#!/usr/bin/env bash
# The one command of shoal's benchmark suite (issue 3):
#
#   bash bench/run.sh [--quick] [--runs N] [--loopback-runs N] [--size-mib N]
#                     [--large-mib N] [--only SCENARIO] [--keep]
#
# Installs what is missing (scripts/install-test-deps.sh), builds shoal in
# release mode, runs every scenario side by side in a scratch folder under
# /tmp, and writes docs/benchmarks.md. --quick uses a 256 MiB payload instead
# of 1 GiB and no large payload. --large-mib sets the large payload (default
# 4096: the self-pairs run on it too, and torrents are created of it; 0: none).
# --loopback-runs: counted runs of scenario 1 (default 5, after a warm-up);
# --runs N: runs of every scenario (default 3 for scenarios 2 and 3).
# --only loopback|create|swarm|simulation runs one scenario and writes its
# report into the scratch folder (printed at the end), not docs/.
# --keep leaves the scratch folder (logs, results.json) in place.
# Not part of the test run (.ci/run): it takes minutes and loads the machine.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command_line="bash bench/run.sh $*"
quick=()
size_mib=1024
large_mib=4096
runs=3
loopback_runs=5
only=()
keep=0
while (($# > 0)); do
    case $1 in
        --quick) quick=(--quick); size_mib=256; large_mib=0 ;;
        --runs) runs=$2; loopback_runs=$2; shift ;;
        --loopback-runs) loopback_runs=$2; shift ;;
        --only) only=(--only "$2"); shift ;;
        --size-mib) size_mib=$2; shift ;;
        --large-mib) large_mib=$2; shift ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ left in bench/

say() { printf 'bench: %s\n' "$*" >&2; }

tools=(aria2c mktorrent transmission-create transmission-daemon transmission-remote opentracker openssl ip tc)
missing=0
for tool in "${tools[@]}"; do command -v "$tool" >/dev/null || missing=1; done
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null || missing=1
if ((missing)); then
    say "reference clients missing: running scripts/install-test-deps.sh"
    bash "$repo/scripts/install-test-deps.sh"
fi

# rqbit is not packaged by Debian: `cargo install` it once into a cache that
# later runs reuse (about 11 minutes on 2 cores, at the lowest priority).
rqbit_root="${XDG_CACHE_HOME:-$HOME/.cache}/shoal-bench/rqbit"
rqbit="$rqbit_root/bin/rqbit"
if [[ ! -x $rqbit ]]; then
    say "installing rqbit into $rqbit_root (cargo install, once)"
    mkdir -p "$rqbit_root"
    if ! CARGO_TARGET_DIR="$rqbit_root/target" nice -n 19 \
        cargo install rqbit --locked --root "$rqbit_root" >"$rqbit_root/install.log" 2>&1; then
        say "rqbit did not install (see $rqbit_root/install.log): its rows will say so"
        rqbit=
    fi
fi

# The charts: Debian's matplotlib for Debian's python (the driver's).
if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    say "installing python3-matplotlib (for the charts)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib \
        || say "no matplotlib: the report will have no charts"
fi

say "building shoal, bench/hwlimit and the simulator (release)"
(cd "$repo" && cargo build --release --quiet -p shoal -p shoal-bench-hwlimit -p shoal-sim --bins)
shoal="$repo/target/release/shoal"
hwlimit="$repo/target/release/hwlimit"

work=$(mktemp -d /tmp/shoal-bench.XXXXXX)
# The namespace the Transmission-leecher pairs run in (bench/nets.py).
netns="shoal-bench-$$"
driver_pid=
cleanup() {
    if [[ -n $driver_pid ]] && kill -0 "$driver_pid" 2>/dev/null; then
        kill -TERM "$driver_pid" 2>/dev/null || true
        wait "$driver_pid" 2>/dev/null || true
    fi
    if [[ -e /run/netns/$netns ]]; then ip netns del "$netns" || true; fi
    if ((keep)); then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A run of one scenario alone is not the suite's report: it stays in the scratch folder.
report="$repo/docs/benchmarks.md"
if ((${#only[@]})); then report="$work/benchmarks.md"; fi

# The whole suite is bounded too: a wedged client cannot hold the machine.
# Each loopback round (the warm-up too) is allowed 0.5 s per MiB of payload, a wide margin.
bound=$((1800 + size_mib * (loopback_runs + 1) / 2 + large_mib))
timeout --signal=TERM --kill-after=30 "$bound" \
    /usr/bin/python3 "$repo/bench/bench.py" \
    --shoal "$shoal" --hwlimit "$hwlimit" --sim "$repo/target/release/sim" --rqbit "$rqbit" --netns "$netns" --work "$work" --size-mib "$size_mib" --large-mib "$large_mib" --runs "$runs" --loopback-runs "$loopback_runs" \
    "${quick[@]}" "${only[@]}" --report "$report" --command "${command_line% }" &
driver_pid=$!
wait "$driver_pid"
driver_pid=
if ((${#only[@]})); then cat "$report"; fi
