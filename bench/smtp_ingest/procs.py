"""Process helpers shared by the server wrappers: readiness, stop, /proc reads."""
import os
import signal
import subprocess
import time

from loadgen import smtp_greeting


class ServerError(Exception):
    pass


def tail(path, lines=30) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"(cannot read {path}: {e})"
    return "\n".join(text.splitlines()[-lines:])


def pid_alive(pid: int) -> bool:
    """False when the process is gone or a zombie (PID 1 here may not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_smtp_ready(port, timeout, alive=lambda: True, what="server", log=None):
    """Polls until 127.0.0.1:port accepts and greets with 220 (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise ServerError(f"{what} exited during start-up" + (f"; log:\n{tail(log)}" if log else ""))
        if smtp_greeting("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise ServerError(f"{what} not ready on 127.0.0.1:{port} after {timeout:.0f} s"
                      + (f"; log:\n{tail(log)}" if log else ""))


def terminate(proc: subprocess.Popen, grace=10.0):
    """SIGTERM, then SIGKILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def kill_pid(pid: int, grace=10.0):
    """SIGTERM a process we did not fork (daemonized), SIGKILL after `grace`."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def proc_status(pid: int) -> dict:
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class ForeignCpu:
    """Samples /proc in a thread and sums the CPU time used by processes that are
    not part of the benchmark (a build or test run on the same machine), so a
    disturbed run is visible. Ours: this process, the server pids, processes of
    the mail uids, Postfix's and Dovecot's daemons, kernel threads."""

    def __init__(self, own_pids=(), own_uids=(), interval=0.5):
        import threading
        self.own_pids = set(own_pids) | {os.getpid()}
        self.own_uids = set(own_uids)
        self.interval = interval
        self._first, self._last, self._names = {}, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._tck = os.sysconf("SC_CLK_TCK")

    def _ours(self, pid, ppid, uid, comm):
        # a daemon's children are ours too: Postfix's start as root before dropping to `postfix`
        if pid in self.own_pids or ppid in self.own_pids or uid in self.own_uids or ppid == 2 or pid == 2:
            return True
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read(300).split(b"\0")[0]
        except OSError:
            return True
        return not argv0 or b"dovecot" in argv0 or b"postfix" in argv0 or comm.startswith("dovecot-bench")

    def _sample(self, first):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                with open(f"/proc/{pid}/stat") as f:
                    raw = f.read()
                uid = entry.stat().st_uid
            except OSError:
                continue
            comm = raw[raw.find("(") + 1:raw.rfind(")")]
            fields = raw[raw.rfind(")") + 2:].split()
            key = (pid, fields[19])  # starttime tells a reused pid apart
            jiffies = int(fields[11]) + int(fields[12])
            if key not in self._names:
                ours = self._ours(pid, int(fields[1]), uid, comm)
                self._names[key] = None if ours else comm
                if ours:
                    self.own_pids.add(pid)
                if first:
                    self._first[key] = jiffies
            if self._names[key] is not None:
                self._last[key] = jiffies

    def _loop(self):
        while not self._stop.wait(self.interval):
            self._sample(False)

    def __enter__(self):
        self._sample(True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample(False)

    def report(self):
        """(foreign CPU seconds, up to 3 busiest foreign process names)."""
        per = {}
        for key, last in self._last.items():
            used = (last - self._first.get(key, 0)) / self._tck
            if used > 0:
                per[self._names[key]] = per.get(self._names[key], 0) + used
        top = sorted(per.items(), key=lambda kv: -kv[1])[:3]
        return sum(per.values()), [f"{n} {s:.1f}s" for n, s in top]
