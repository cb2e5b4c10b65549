"""PNG charts of scenario 1 next to docs/benchmarks.md (docs/bench-*.png):
throughput per pair to completion and to durable data with min–max bars, CPU
seconds per GiB, peak memory.
Uses Debian's python3-matplotlib (bench/run.sh installs it); without it the
report simply has no charts."""

import os
import statistics

GIB = 1 << 30


def _ok(runs):
    return [r for r in runs if "error" not in r]


def _median_and_range(values):
    values = sorted(values)
    mid = statistics.median(values)
    return mid, mid - values[0], values[-1] - mid


def write(docs_dir, loopback, size):
    """[(file name, title)] of the charts written, [] without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    pairs = [(name, _ok(runs)) for name, runs in loopback.items() if name != "hwlimit"]
    pairs = [(name, runs) for name, runs in pairs if runs]
    hw = _ok(loopback["hwlimit"])
    charts = []
    mib = size // (1 << 20)

    def save(fig, name, title):
        fig.tight_layout()
        fig.savefig(os.path.join(docs_dir, name), dpi=100)
        plt.close(fig)
        charts.append((name, title))

    # Throughput to completion and to durable data, hardware limit first.
    names = ["hardware limit"] + [name for name, _ in pairs]
    every = [hw] + [runs for _, runs in pairs]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) + 1.5))
    ys = list(range(len(names)))
    for key, shift, label, color in (("completion_s", -0.2, "to completion", "#9cc3e0"),
                                     ("durable_s", 0.2, "to durable data", "#2a7ab9")):
        stats = [_median_and_range([size / r[key] / 1e6 for r in runs]) for runs in every]
        ax.barh([y + shift for y in ys], [st[0] for st in stats], height=0.4,
                xerr=[[st[1] for st in stats], [st[2] for st in stats]], capsize=2,
                label=label, color=color)
    ax.set_yticks(ys, names)
    ax.invert_yaxis()
    ax.set_xlabel("MB/s (median, bars: min–max)")
    ax.legend()
    ax.set_title("Loopback, one seeder to one leecher, %d MiB" % mib)
    save(fig, "bench-throughput.png", "Throughput per pair")

    # CPU per GiB, leecher and seeder side by side.
    gib = size / GIB
    # The hardware limit first: its receiving thread as the leecher, its
    # sending thread as the seeder.
    fig, ax = plt.subplots(figsize=(8, 0.45 * (len(pairs) + 1) + 1.5))
    ys = list(range(len(pairs) + 1))
    leech = [statistics.median(r.get("receiver_cpu", r["cpu"]) / gib for r in hw)]
    seed = [statistics.median(r.get("sender_cpu", 0.0) / gib for r in hw)]
    leech += [statistics.median(r["leech_cpu"] / gib for r in runs) for _, runs in pairs]
    seed += [statistics.median(r["seed_cpu"] / gib for r in runs) for _, runs in pairs]
    ax.barh([y - 0.2 for y in ys], leech, height=0.4, label="leecher", color="#2a7ab9")
    ax.barh([y + 0.2 for y in ys], seed, height=0.4, label="seeder", color="#e08a2c")
    ax.set_yticks(ys, ["hardware limit"] + [name for name, _ in pairs])
    ax.invert_yaxis()
    ax.set_xlabel("CPU seconds per GiB (median)")
    ax.legend()
    ax.set_title("CPU per GiB moved")
    save(fig, "bench-cpu.png", "CPU seconds per GiB")

    # Peak anonymous memory, leecher and seeder.
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(pairs) + 1.5))
    ys = list(range(len(pairs)))
    leech = [statistics.median(r["leech_anon_kib"] / 1024 for r in runs) for _, runs in pairs]
    seed = [statistics.median(r["seed_anon_kib"] / 1024 for r in runs) for _, runs in pairs]
    ax.barh([y - 0.2 for y in ys], leech, height=0.4, label="leecher", color="#2a7ab9")
    ax.barh([y + 0.2 for y in ys], seed, height=0.4, label="seeder", color="#e08a2c")
    ax.set_yticks(ys, [name for name, _ in pairs])
    ax.invert_yaxis()
    ax.set_xlabel("peak anonymous memory, MiB (median)")
    ax.legend()
    ax.set_title("Peak anonymous memory")
    save(fig, "bench-memory.png", "Peak anonymous memory")
    return charts
