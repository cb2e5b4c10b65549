"""Upload accounting for the namespace swarm (swarm.py): where the swarm's
upload capacity goes.

Every peer's link into the bridge has its outer veth end in the hub
namespace, so one `ip -n HUB -s -j link show` reads every peer's counters:
the outer end's rx bytes are what the peer sent (its upload, the direction
tc caps), its tx bytes what the peer received. A thread samples them every
SAMPLE_INTERVAL seconds while the leechers run; `summary` turns the samples
into the figures the report shows (each peer's upload over the run as a
share of its cap, how many copies of the content the seeder sent) and a
per-second time line for the JSON.

Counted bytes are whole frames (Ethernet, IP and TCP headers and protocol
messages included), as tc counts them, so 100% is the cap itself and the
payload share of it is about 95%."""

import json
import subprocess
import threading
import time

SAMPLE_INTERVAL = 0.5


def read_counters(hub, outer_names):
    """{index: (sent, received)} for every peer whose outer link is listed."""
    done = subprocess.run(["ip", "-n", hub, "-s", "-j", "link", "show"],
                          capture_output=True, timeout=10, check=True)
    by_name = {link["ifname"]: link["stats64"] for link in json.loads(done.stdout)}
    out = {}
    for index, name in enumerate(outer_names):
        stats = by_name.get(name)
        if stats is not None:
            out[index] = (stats["rx"]["bytes"], stats["tx"]["bytes"])
    return out


class LinkSampler:
    """Samples every peer's link counters on a thread from `start` to `stop`."""

    def __init__(self, hub, outer_names):
        self.hub = hub
        self.outer_names = outer_names
        self.samples = []  # (seconds since start, {index: (sent, received)})
        self._stop = threading.Event()
        self._thread = None
        self._started = None

    def start(self, started):
        self._started = started
        self._take()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _take(self):
        try:
            counters = read_counters(self.hub, self.outer_names)
        except (subprocess.SubprocessError, OSError, ValueError, KeyError):
            return
        self.samples.append((time.monotonic() - self._started, counters))

    def _run(self):
        while not self._stop.wait(SAMPLE_INTERVAL):
            self._take()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._take()


def _at(samples, t):
    """Counters interpolated at time t (samples are sorted by time)."""
    before = samples[0]
    for sample in samples:
        if sample[0] >= t:
            after = sample
            break
        before = sample
    else:
        return before[1]
    span = after[0] - before[0]
    weight = 0.0 if span <= 0 else (t - before[0]) / span
    return {i: tuple(b + (a - b) * weight for b, a in zip(before[1][i], after[1][i]))
            for i in before[1] if i in after[1]}


def summary(samples, end, size, rate_mbit):
    """The accounting from the leechers' start to `end` (the last one done):
    seeder and mean leecher upload as a share of the cap, the seeder's sent
    bytes over the content size, each leecher's share, and per second the
    seeder's and the leechers' upload in Mbit/s (mean per leecher), the
    number of leechers sending under half their cap, and the bytes received."""
    if len(samples) < 2 or end <= 0:
        return {"error": "too few samples"}
    cap = rate_mbit * 1e6 / 8  # bytes per second
    first, last = samples[0][1], _at(samples, end)
    peers = sorted(i for i in first if i in last)
    sent = {i: last[i][0] - first[i][0] for i in peers}
    leechers = [i for i in peers if i != 0]
    timeline = []
    second = 0
    while second < end:
        upto = min(second + 1.0, end)
        a, b = _at(samples, second), _at(samples, upto)
        span = upto - second
        rates = {i: (b[i][0] - a[i][0]) / span for i in peers if i in a and i in b}
        leech_rates = [rates[i] for i in leechers if i in rates]
        timeline.append({
            "t": second,
            "seed_mbit": round(rates.get(0, 0) * 8 / 1e6, 1),
            "leech_mean_mbit": round(sum(leech_rates) * 8 / 1e6 / max(len(leech_rates), 1), 1),
            "leechers_under_half": sum(1 for r in leech_rates if r < cap / 2),
            "received_mib": round(sum(b[i][1] - first[i][1] for i in leechers if i in b)
                                  / (1 << 20), 1),
        })
        second += 1
    return {
        "seed_util": sent.get(0, 0) / (cap * end),
        "leech_util": sum(sent[i] for i in leechers) / (cap * end * max(len(leechers), 1)),
        "seed_copies": sent.get(0, 0) / size,
        "leech_util_each": [round(sent[i] / (cap * end), 3) for i in leechers],
        "timeline": timeline,
    }


def timeline_text(timeline):
    """The per-second time line as one compact line per second."""
    return "\n".join("  t=%3ds seed %5.1f Mbit/s  leechers mean %5.1f Mbit/s  under half %2d"
                     "  received %7.1f MiB" % (
                         row["t"], row["seed_mbit"], row["leech_mean_mbit"],
                         row["leechers_under_half"], row["received_mib"])
                     for row in timeline)
