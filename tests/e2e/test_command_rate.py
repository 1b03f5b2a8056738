"""[limits] commands_per_second (docs/security.md, "Limits"): a connection that sends
commands faster than the limit has each one answered, but only at the configured rate
(after a burst of one second's worth), with one `event=rate_limited
limit=commands_per_second` log line; other clients are served meanwhile. The same for
SMTP, IMAP and POP3."""
import socket
import time

import pytest

RATE = 20
FLOOD = 80  # (FLOOD - RATE) / RATE = 3 s of pacing at least

CONFIG = """\
hostname = "mx.rate.example"
domains = ["rate.example"]
[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"
[[listener]]
address = "127.0.0.1"
port = $imap_port
role = "imap"
[[listener]]
address = "127.0.0.1"
port = $pop3_port
role = "pop3"
[limits]
commands_per_second = %d
""" % RATE

# protocol: (role, the i-th command, how its reply ends, what every reply ends with)
PROTOCOLS = {
    "smtp": ("smtp", lambda i: b"NOOP\r\n", lambda i: b"250 2.0.0 OK\r\n", b"250 2.0.0 OK\r\n"),
    "imap": ("imap", lambda i: b"t%d NOOP\r\n" % i, lambda i: b"t%d OK" % i, b" OK NOOP"),
    "pop3": ("pop3", lambda i: b"CAPA\r\n", lambda i: b"\r\n.\r\n", b"\r\n.\r\n"),
}


class Client:
    def __init__(self, port, source="127.0.0.1"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
        self.buf = b""

    def read_until(self, marker, start=0):
        """Reads until `marker` occurs after `start`; returns the index just after it."""
        while True:
            i = self.buf.find(marker, start)
            if i >= 0:
                return i + len(marker)
            chunk = self.s.recv(65536)
            assert chunk, "connection closed; got %r" % self.buf[-300:]
            self.buf += chunk

    def answered_now(self, marker):
        """How many replies (each ends in `marker`) have arrived by now, without waiting."""
        self.s.setblocking(False)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        except BlockingIOError:
            pass
        finally:
            self.s.settimeout(30)
        return self.buf.count(marker)

    def close(self):
        self.s.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import Valija
    v = Valija(tmp_path_factory.mktemp("rate"))
    v.start(config=CONFIG)
    yield v
    v.discard()


@pytest.mark.parametrize("proto", sorted(PROTOCOLS))
def test_flood_is_paced_and_answered(server, proto):
    role, command, reply_end, every = PROTOCOLS[proto]
    port = server.ports[role]
    since = len(server._lines)
    flood = Client(port)
    flood.read_until(b"\r\n")  # greeting
    pos = len(flood.buf)
    started = time.monotonic()
    flood.s.sendall(b"".join(command(i) for i in range(FLOOD)))
    # Each is answered, in order.
    for i in range(FLOOD):
        pos = flood.read_until(reply_end(i), pos)
        if i == RATE + 10:
            # Meanwhile another client (another address) is served at once: its reply
            # comes while the flood still waits for most of its own.
            other = Client(port, source="127.0.0.2")
            other.read_until(b"\r\n")
            mark = len(other.buf)
            other.s.sendall(command(0))
            other.read_until(reply_end(0), mark)
            other.close()
            assert flood.answered_now(every) < FLOOD - 10
    elapsed = time.monotonic() - started
    # A floor, not a benchmark: the server cannot answer faster than the rate allows.
    assert elapsed >= (FLOOD - RATE) / RATE * 0.9, elapsed
    flood.close()
    m = server.wait_log(r"event=rate_limited limit=commands_per_second protocol=%s .*action=delay" % proto,
                        since=since)
    assert "client=127.0.0.1" in m.group(0)
    assert len([l for l in server._lines[since:] if "limit=commands_per_second protocol=%s" % proto in l]) == 1


def test_within_the_rate_nothing_waits(server):
    """A burst of up to one second's worth is answered without pacing (no log line)."""
    since = len(server._lines)
    c = Client(server.ports["smtp"])
    c.read_until(b"\r\n")
    pos = len(c.buf)
    c.s.sendall(b"NOOP\r\n" * (RATE // 2))
    for _ in range(RATE // 2):
        pos = c.read_until(b"250 2.0.0 OK\r\n", pos)
    c.s.sendall(b"QUIT\r\n")
    c.read_until(b"221 ", pos)
    c.close()
    server.wait_log(r"event=smtp_disconnect ", since=since)  # logged after every command was handled
    assert not any("commands_per_second" in l for l in server._lines[since:])
