"""Shared fixtures for valija's end-to-end tests.

Each test gets a `Valija` (the real binary on free loopback ports with a
temporary data dir). Everything synchronises on log lines or process exits,
never on fixed sleeps. Standard library only.
"""
import os
import random
import re
import select
import signal
import imaplib
import smtplib
import socket
import ssl
import string
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VALIJA_BIN = os.environ.get("VALIJA_BIN", str(REPO / "build" / "valija"))

# Generous: CI runs on 2 cores, sometimes under load.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
CLI_TIMEOUT = 30.0
NET_TIMEOUT = 20.0

ROLE_OFFSETS = {"smtp": 25, "submission": 587, "submissions": 465, "pop3": 110, "pop3s": 995,
                "imap": 143, "imaps": 993}


def _ports_free(base, offsets=tuple(ROLE_OFFSETS.values())):
    socks = []
    try:
        for off in offsets:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            socks.append(s)
            s.bind(("127.0.0.1", base + off))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


_used_bases = set()  # bases of servers started by tests still running (released at teardown)
_bases_lock = threading.Lock()


def release_bases(bases):
    with _bases_lock:
        for b in bases:
            _used_bases.discard(b)


def pick_port_base():
    """A base whose service ports are free on 127.0.0.1. Bases stay below Linux's
    ephemeral range (32768-60999), so no outgoing connection of another process (or a
    TIME_WAIT left by one) can hold a port between this check and the bind."""
    for _ in range(200):
        base = random.randrange(10000, 31001, 1000) + random.randrange(0, 10) * 10
        with _bases_lock:
            if base in _used_bases:
                continue
        if _ports_free(base):
            with _bases_lock:
                _used_bases.add(base)
            return base
    raise RuntimeError("no free port base found")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def top_level(toml_text):
    """The part of a TOML text before its first table header."""
    return re.split(r"(?m)^\s*\[", toml_text, maxsplit=1)[0]


class StartError(Exception):
    def __init__(self, msg, returncode, stderr):
        super().__init__(msg)
        self.returncode = returncode
        self.stderr = stderr


class Valija:
    """One valija server process (at most one at a time per instance)."""

    def __init__(self, workdir, binary=VALIJA_BIN):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data = self.workdir / "data"
        self.binary = binary
        self.proc = None
        self.port_base = None
        self.picked_bases = []  # reserved for this instance until its fixture ends
        self.ports = {}
        self.config_path = None
        self._lines = []
        self._cond = threading.Condition()
        self._reader = None
        self.demo_password = None
        self.returncode = None
        # With a configuration, a root test run passes `--user root` (see _start_once).
        self.stay_root = True

    # ---- lifecycle -------------------------------------------------------
    def start(self, port_base=None, config=None, extra_args=(), wait_ready=True,
              log_level=None, data_arg=True):
        """Start the server.

        `config`, when given, is TOML text where `$smtp_port`, `$submission_port`,
        `$submissions_port`, `$pop3_port`, `$pop3s_port`, `$imap_port`, `$imaps_port`,
        `$data` and `$workdir`
        are substituted. Without it
        the server runs in local mode on `port_base` (random free base if None).
        Retries on a port collision when the base was chosen here. With
        data_arg=False, no --data is passed (the config's data_dir is used).
        """
        attempts = 5 if port_base is None else 1
        last = None
        for _ in range(attempts):
            base = port_base if port_base is not None else pick_port_base()
            if port_base is None:
                self.picked_bases.append(base)
            try:
                self._start_once(base, config, extra_args, wait_ready, log_level,
                                 data_arg)
                return self
            except StartError as e:
                last = e
                if port_base is None and "already in use" in e.stderr:
                    continue
                raise
        raise last

    def _start_once(self, base, config, extra_args, wait_ready, log_level, data_arg):
        assert self.proc is None, "already running"
        self.port_base = base
        self.ports = {role: base + off for role, off in ROLE_OFFSETS.items()}
        args = [self.binary, "serve"]
        if data_arg:
            args += ["--data", str(self.data)]
        if config is not None:
            text = string.Template(config).safe_substitute(
                smtp_port=self.ports["smtp"],
                submission_port=self.ports["submission"],
                submissions_port=self.ports["submissions"],
                pop3_port=self.ports["pop3"],
                pop3s_port=self.ports["pop3s"],
                imap_port=self.ports["imap"],
                imaps_port=self.ports["imaps"],
                data=str(self.data),
                workdir=str(self.workdir),
            )
            self.config_path = self.workdir / "valija.toml"
            self.config_path.write_text(text)
            args += ["--config", str(self.config_path)]
            # Started as root with a configuration, valija becomes its service user;
            # the test's data dir under pytest's root-only tmp dir is out of that
            # user's reach, so tests stay root unless they test the switch itself
            # (test_privileges.py) or name their own user.
            if (self.stay_root and os.geteuid() == 0 and "--user" not in extra_args
                    and not re.search(r"(?m)^user\s*=", top_level(text))):
                args += ["--user", "root"]
        else:
            args += ["--port-base", str(base)]
        if log_level:
            args += ["--log-level", log_level]
        args += list(extra_args)
        with self._cond:
            self._lines = []
        self.returncode = None
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, cwd=str(self.workdir))
        self._reader = threading.Thread(target=self._read_stderr,
                                        args=(self.proc,), daemon=True)
        self._reader.start()
        if not wait_ready:
            return
        try:
            m = self.wait_log(r"event=ready\b.*", timeout=START_TIMEOUT,
                              fail_on_exit=True)
        except AssertionError as e:
            rc = self._reap(STOP_TIMEOUT)
            raise StartError(str(e), rc, self.stderr_text()) from None
        for role in ROLE_OFFSETS:
            rm = re.search(r"\b%s=\S+:(\d+)" % role, m.group(0))
            if rm:
                self.ports[role] = int(rm.group(1))
        pm = self.wait_log(r"created account demo@localhost with password (\S+)",
                           timeout=0.01, raise_=False)
        if pm:
            self.demo_password = pm.group(1)

    def _read_stderr(self, proc):
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        proc.stderr.close()
        with self._cond:
            self._cond.notify_all()

    def _reap(self, timeout):
        proc = self.proc
        if proc is None:
            return self.returncode
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait(timeout=STOP_TIMEOUT)
        if self._reader:
            self._reader.join(timeout=STOP_TIMEOUT)
        self.proc = None
        self.returncode = rc
        return rc

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait; SIGKILL on timeout. Returns the exit code."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self._reap(timeout)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for the process to exit by itself (no signal). Returns rc."""
        assert self.proc is not None
        rc = self.proc.wait(timeout=timeout)
        return self._reap(timeout)

    def discard(self):
        """End of a fixture: the server stopped (killed if it will not stop) and its port
        base given back."""
        self.stop()
        self.kill9()
        release_bases(self.picked_bases)

    def kill9(self):
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        return self._reap(STOP_TIMEOUT)

    # ---- logs ------------------------------------------------------------
    def log_mark(self):
        with self._cond:
            return len(self._lines)

    def log_lines(self, since=0):
        with self._cond:
            return list(self._lines[since:])

    def stderr_text(self):
        return "\n".join(self.log_lines())

    def wait_log(self, regex, timeout=NET_TIMEOUT, since=0, raise_=True,
                 fail_on_exit=False):
        """First line (from index `since`) matching `regex`; returns the match."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        pos = since
        with self._cond:
            while True:
                while pos < len(self._lines):
                    m = rx.search(self._lines[pos])
                    pos += 1
                    if m:
                        return m
                reader_done = self._reader is None or not self._reader.is_alive()
                left = deadline - time.monotonic()
                if left <= 0 or (reader_done and pos >= len(self._lines)):
                    if not raise_:
                        return None
                    raise AssertionError(
                        "log line /%s/ not seen within %.0fs%s; stderr:\n%s" % (
                            regex, timeout,
                            " (process exited)" if reader_done else "",
                            "\n".join(self._lines[-60:])))
                self._cond.wait(timeout=min(left, 0.5))

    # ---- clients ---------------------------------------------------------
    def cli(self, *args, input=None, check=False, timeout=CLI_TIMEOUT):
        """Run `valija ARGS --data DIR`; returns CompletedProcess (bytes if
        input is bytes, else text)."""
        argv = [self.binary] + [str(a) for a in args] + ["--data", str(self.data)]
        text = not isinstance(input, (bytes, bytearray))
        cp = subprocess.run(argv, input=input, capture_output=True, text=text,
                            timeout=timeout, cwd=str(self.workdir),
                            stdin=None if input is not None else subprocess.DEVNULL)
        if check and cp.returncode != 0:
            raise AssertionError("valija %s failed rc=%d: %s" % (
                " ".join(map(str, args)), cp.returncode, cp.stderr))
        return cp

    def cli_ok(self, *args, input=None):
        return self.cli(*args, input=input, check=True)

    def add_user(self, address, password="s3cret-pass", quota=None):
        args = ["user", "add", address, "--password-stdin"]
        if quota is not None:
            args += ["--quota", quota]
        return self.cli_ok(*args, input=password + "\n")

    def smtp(self, port=None, timeout=NET_TIMEOUT):
        return smtplib.SMTP("127.0.0.1", port or self.ports["smtp"], timeout=timeout)

    def imap(self, user=None, password="s3cret-pass", tls=False, starttls=False):
        """An imaplib client (implicit TLS with tls=True), logged in when `user` is given."""
        if tls:
            c = imaplib.IMAP4_SSL("127.0.0.1", self.ports["imaps"], ssl_context=insecure_context(),
                                  timeout=NET_TIMEOUT)
        else:
            c = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=NET_TIMEOUT)
            if starttls:
                c.starttls(ssl_context=insecure_context())
        if user:
            c.login(user, password)
        return c

    def raw(self, role="smtp", tls=False, source=None):
        return RawSmtp("127.0.0.1", self.ports[role], tls=tls, source=source)

    def messages(self, address, folder="INBOX"):
        cp = self.cli("mail", "list", address, "--folder", folder)
        assert cp.returncode == 0, "mail list %s: rc=%d %s" % (
            address, cp.returncode, cp.stderr)
        out = []
        for line in cp.stdout.splitlines():
            if not line.strip():
                continue
            f = line.split("\t")
            assert len(f) >= 4, "bad mail list line: %r" % line
            out.append({"uid": int(f[0]), "size": int(f[1]), "date": f[2],
                        "trace": f[3], "flags": f[4] if len(f) > 4 else ""})
        return out

    def message(self, address, uid, folder="INBOX"):
        cp = self.cli("mail", "show", address, str(uid), "--folder", folder, input=b"")
        assert cp.returncode == 0, "mail show %s %s: rc=%d %r" % (
            address, uid, cp.returncode, cp.stderr)
        return cp.stdout

    def bodies(self, address, folder="INBOX"):
        """The stored messages of `address` as a list of bytes."""
        return [self.message(address, m["uid"], folder) for m in self.messages(address, folder)]


def split_trace(stored):
    """Split a stored message into (trace_header_block, original_message).

    The trace block is Return-Path, Delivered-To and Received (with its
    continuation lines) added by valija in front of the received message."""
    pos = 0
    names = [b"Return-Path:", b"Delivered-To:", b"Received:"]
    for name in names:
        assert stored.startswith(name, pos), "expected %r at %d in %r" % (
            name, pos, stored[:400])
        end = stored.index(b"\r\n", pos) + 2
        while stored.startswith(b"\t", end) or stored.startswith(b" ", end):
            end = stored.index(b"\r\n", end) + 2
        pos = end
    return stored[:pos], stored[pos:]


class RawSmtp:
    """A byte-level SMTP client: send anything, read replies precisely."""

    def __init__(self, host, port, tls=False, timeout=NET_TIMEOUT, source=None):
        """`source`: the local address to connect from (127.0.0.x: another client)."""
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        if tls:
            self.sock = insecure_context().wrap_socket(self.sock, server_hostname="localhost")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout=None):
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; pending %r" % self.buf)
        self.buf += chunk

    def readline(self, timeout=None):
        while b"\r\n" not in self.buf:
            self._fill(timeout)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self, timeout=None):
        """Read one (possibly multi-line) reply: (code, [texts], full_text)."""
        lines = []
        while True:
            line = self.readline(timeout)
            assert len(line) >= 3 and line[:3].isdigit(), "bad reply line %r" % line
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                break
            assert line[3] == "-", "bad reply line %r" % line
        code = int(lines[0][:3])
        return code, [l[4:] for l in lines], "\n".join(lines)

    def cmd(self, line, timeout=None):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def expect(self, line, code_prefix):
        code, texts, full = self.cmd(line)
        assert full.startswith(code_prefix), "%r -> %r (expected %r)" % (
            line, full, code_prefix)
        return full

    def greeting(self):
        code, _, full = self.reply()
        assert code == 220, full
        return full

    def ehlo(self, name="client.example"):
        code, texts, full = self.cmd("EHLO " + name)
        assert code == 250, full
        return texts

    def no_pending(self, wait=0.3):
        """True when nothing more is readable right now (after a short grace)."""
        if self.buf:
            return False
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return False
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r:
            return True
        try:
            self._fill(0.5)
        except (EOFError, socket.timeout, ssl.SSLError, OSError):
            return not self.buf
        return not self.buf

    def closed_by_peer(self, timeout=None):
        """Wait until the peer closes; returns the bytes received before EOF."""
        t = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + t
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("peer did not close; got %r" % self.buf)
            try:
                self._fill(left)
            except EOFError:
                return self.buf
            except ConnectionResetError:
                return self.buf


def insecure_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_message(subject, body, sender="sender@example.org", to="demo@localhost",
                 extra_headers=()):
    """An RFC 5322 message as CRLF bytes (no dot-stuffing)."""
    hdrs = ["From: <%s>" % sender, "To: <%s>" % to, "Subject: %s" % subject,
            "Date: Fri, 27 Nov 2026 00:00:00 +0000",
            "Message-ID: <%s@test.example>" % re.sub(r"[^A-Za-z0-9.-]", "-", subject)]
    hdrs += list(extra_headers)
    if isinstance(body, str):
        body = body.encode()
    return ("\r\n".join(hdrs) + "\r\n\r\n").encode() + body


def dot_stuff(msg):
    """Dot-stuff CRLF bytes and append the end-of-data marker."""
    lines = msg.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    out = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
    return out + b".\r\n"


@pytest.fixture
def valija(tmp_path):
    """A fresh server in local mode, stopped at the end of the test."""
    v = Valija(tmp_path / "v")
    v.start()
    yield v
    v.discard()


@pytest.fixture
def valija_factory(tmp_path):
    """Make `Valija` instances (not started); all are stopped at the end."""
    made = []

    def make(name="v"):
        v = Valija(tmp_path / name)
        made.append(v)
        return v

    yield make
    for v in made:
        v.discard()


@pytest.fixture(scope="module")
def shared_valija(tmp_path_factory):
    """One server for a whole module (tests must not depend on each other's
    mailbox state: use fresh accounts or count deltas)."""
    v = Valija(tmp_path_factory.mktemp("shared"))
    v.start()
    yield v
    v.discard()
