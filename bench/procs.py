"""Child processes for the benchmark: started in their own process group,
measured (CPU seconds from wait4's rusage once reaped, from /proc while they
run; peak resident and anonymous memory from /proc), and always killed when
the benchmark ends, however it ends."""

import os
import select
import signal
import socket
import subprocess
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# How often a running transfer's memory is sampled, in seconds.
SAMPLE_INTERVAL = 0.05

_running = []


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _cpu_times():
    """(busy, total) jiffies of all CPUs from /proc/stat; idle and iowait are not busy."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _dirty_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Dirty:"):
                return int(line.split()[1])
    return 0


def wait_machine_quiet(timeout, window=0.5, max_busy=0.10, max_dirty_kib=64 * 1024):
    """Wait until the machine is quiet: under `max_busy` of all CPUs busy for `window`
    seconds and little dirty page cache left to write back. What the previous transfer
    left behind (writeback, freeing a deleted gigabyte) then lands on no one's clock;
    a seeder that starts fast would otherwise pay for it and one that starts slowly not.
    False on timeout (the run goes on, measured as it is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy0, total0 = _cpu_times()
        time.sleep(window)
        busy1, total1 = _cpu_times()
        busy = (busy1 - busy0) / max(1, total1 - total0)
        if busy <= max_busy and _dirty_kib() <= max_dirty_kib:
            return True
    return False


class Proc:
    """One child process with its output in `log_dir/label.{out,err}`."""

    def __init__(self, label, argv, log_dir, env=None):
        self.label = label
        self.argv = argv
        self.out_path = os.path.join(log_dir, label + ".out")
        self.err_path = os.path.join(log_dir, label + ".err")
        self.peak_anon_kib = 0
        self.peak_hwm_kib = 0
        self.rusage = None
        self.status = None
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                start_new_session=True, env=env,
            )
        self.pid = self.popen.pid
        # Readable once the process exits: a waiter wakes at its exit, not at the next poll.
        self.pidfd = os.pidfd_open(self.pid)
        self.lines_read = 0
        self.lines = []
        _running.append(self)

    def output(self):
        with open(self.out_path, "rb") as out:
            return out.read().decode("utf-8", "replace")

    def has_line(self, start):
        """Whether the process has printed a whole line on stdout that begins with
        `start` (reads only what was added since the last call)."""
        with open(self.out_path, "rb") as out:
            out.seek(self.lines_read)
            added = out.read()
        # Only whole lines: a line being written is read again next time.
        complete = added[:added.rfind(b"\n") + 1]
        self.lines_read += len(complete)
        self.lines += complete.decode("utf-8", "replace").splitlines()
        return any(line.startswith(start) for line in self.lines)

    def wait_exit(self, seconds):
        """Sleep up to `seconds`, waking at once if the process exits."""
        if self.status is None:
            select.select([self.pidfd], [], [], seconds)

    def log_tail(self, lines=15):
        parts = []
        for path in (self.out_path, self.err_path):
            with open(path, "rb") as log:
                tail = log.read().decode("utf-8", "replace").splitlines()[-lines:]
            parts.append("%s:\n  %s" % (path, "\n  ".join(tail)))
        return "\n".join(parts)

    def cpu_exact(self):
        """Whether cpu_seconds() comes from wait4's rusage (microseconds) rather than
        /proc (clock ticks, 10 ms)."""
        return self.rusage is not None

    def cpu_seconds(self):
        """User + system CPU of the process (all its threads) so far: exact from
        wait4's rusage once it has been reaped, else from /proc in clock ticks."""
        if self.rusage is not None:
            return self.rusage.ru_utime + self.rusage.ru_stime
        try:
            with open("/proc/%d/stat" % self.pid) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # Fields 14 and 15 of proc(5), counted after the ")" that ends the name.
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def status_kib(self, key):
        try:
            with open("/proc/%d/status" % self.pid) as status:
                for line in status:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def sample_memory(self):
        """Track the peak of anonymous memory (the kernel keeps no peak of it)
        and the latest reading of the resident high-water mark."""
        self.peak_anon_kib = max(self.peak_anon_kib, self.status_kib("RssAnon"))
        self.peak_hwm_kib = max(self.peak_hwm_kib, self.status_kib("VmHWM"))

    def peak_rss_kib(self):
        """The process's own resident high-water mark (VmHWM), as last read
        while it ran. Not wait4's ru_maxrss: Linux carries the pre-exec
        image's peak into it, so every child of this (Python, libtorrent
        loaded) process would report at least our own resident size."""
        if self.rusage is None:
            self.sample_memory()
        return self.peak_hwm_kib

    def poll(self):
        """Reap the process if it has exited; return its exit status or None."""
        if self.status is not None:
            return self.status
        pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
        if pid == 0:
            return None
        self.status = os.waitstatus_to_exitcode(status)
        self.rusage = rusage
        self.popen.returncode = self.status
        os.close(self.pidfd)
        return self.status

    def wait(self, timeout):
        """Wait for exit, sampling memory; the exit status, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sample_memory()
            if self.poll() is not None:
                return self.status
            self.wait_exit(SAMPLE_INTERVAL)
        return None

    def wait_until(self, timeout, ready):
        """Wait until `ready()` holds while the process runs; False on timeout
        or if the process exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll() is not None:
                return False
            if ready():
                return True
            time.sleep(SAMPLE_INTERVAL)
        return False

    def wait_idle(self, timeout, quiet_for=0.5, max_cpu=0.03):
        """Wait until the process uses (almost) no CPU for `quiet_for` seconds:
        a seeder has finished checking its data. False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(quiet_for)
            if self.poll() is not None:
                return False
            if self.cpu_seconds() - before <= max_cpu:
                return True
        return False

    def kill(self):
        """SIGTERM the process group, SIGKILL it if still there after 5 s."""
        if self.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait(5) is None:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.wait(5)
        if self in _running:
            _running.remove(self)


def kill_all():
    for proc in list(_running):
        proc.kill()


def run_measured(label, argv, log_dir, timeout):
    """Run to the end; (wall seconds, CPU seconds, exit status)."""
    started = time.monotonic()
    proc = Proc(label, argv, log_dir)
    status = proc.wait(timeout)
    elapsed = time.monotonic() - started
    if status is None:
        proc.kill()
        raise RuntimeError("%s timed out after %ss\n%s" % (label, timeout, proc.log_tail()))
    if status != 0:
        raise RuntimeError("%s exited %s\n%s" % (label, status, proc.log_tail()))
    cpu = proc.cpu_seconds()
    _running.remove(proc)
    return elapsed, cpu
