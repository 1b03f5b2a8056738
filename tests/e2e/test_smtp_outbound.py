"""The outbound SMTP engine through `valija smtp-test`: the client dialogue
(smtp/client), STARTTLS, dot-stuffing and the MX walk, against real servers on
loopback: valija's own SMTP listener, and Postfix's smtp-sink (a server without
ESMTP or without STARTTLS). MX records come from the test DNS server (dnsstub.py).
"""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import CLI_TIMEOUT, VALIJA_BIN, free_port, make_message
from dnsstub import DnsStub

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def smtp_test(*args, stdin=None):
    cp = subprocess.run([VALIJA_BIN, "smtp-test", *[str(a) for a in args]], capture_output=True, text=True,
                        timeout=CLI_TIMEOUT, input=stdin)
    return cp.returncode, cp.stdout + cp.stderr


@pytest.fixture(scope="module")
def v(shared_valija):
    return shared_valija


def closed_port():
    """A loopback port nobody listens on (connection refused at once)."""
    return free_port()


class Sink:
    """Postfix's smtp-sink on a free loopback port (accepts and discards mail)."""

    def __init__(self, *options):
        self.port = free_port()
        args = [SMTP_SINK, *options]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += ["127.0.0.1:%d" % self.port, "10"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # ready when it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("smtp-sink did not start: %r" % self.proc.stderr.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def sink_factory():
    sinks = []

    def make(*options):
        s = Sink(*options)
        sinks.append(s)
        return s
    yield make
    for s in sinks:
        s.stop()


def test_delivers_to_valija_over_starttls(v):
    mark = v.log_mark()
    rc, out = smtp_test("127.0.0.1:%d" % v.ports["smtp"], "--to", "demo@localhost", "--from", "ana@example.org",
                        "--helo", "client.example")
    assert rc == 0, out
    assert "C: STARTTLS" in out and re.search(r"^-- TLS: TLSv1\.[23] with cipher", out, re.M), out
    # RFC 3207 §4.2: EHLO again after TLS.
    assert out.count("C: EHLO client.example") == 2, out
    # CHUNKING offered: the envelope pipelined, then the message as one BDAT (RFC 3030).
    assert re.search(r"C: MAIL FROM:<ana@example.org> SIZE=\d+\nC: RCPT TO:<demo@localhost>\n(S: .*\n)+C: BDAT \d+ LAST\n", out), out
    assert re.search(r"^-- demo@localhost: delivered \(250 2\.0\.0 ", out, re.M), out
    v.wait_log(r"event=delivered .*to=demo@localhost", since=mark)


def test_message_is_dot_stuffed_and_arrives_intact(v, tmp_path):
    body = ".leading dot\r\n..two dots\r\n.\r\nlast line\r\n"
    msg = make_message("dots", body, sender="ana@example.org", to="demo@localhost")
    f = tmp_path / "m.eml"
    f.write_bytes(msg)
    mark = v.log_mark()
    rc, out = smtp_test("127.0.0.1:%d" % v.ports["smtp"], "--to", "demo@localhost", "--from", "ana@example.org",
                        "--message", f, "--tls", "none")
    assert rc == 0, out
    assert "C: STARTTLS" not in out, out  # offered, not used
    d = v.wait_log(r"event=delivered trace=(\S+) to=demo@localhost .*uid=(\d+)", since=mark)
    stored = v.message("demo@localhost", int(d.group(2)))
    assert stored.endswith(msg), stored[-200:]


def test_refused_recipient_is_permanent(v):
    rc, out = smtp_test("127.0.0.1:%d" % v.ports["smtp"], "--to", "demo@localhost", "--to", "nobody@localhost")
    assert rc == 1, out
    assert re.search(r"^-- demo@localhost: delivered", out, re.M), out
    assert re.search(r"^-- nobody@localhost: refused, would bounce \(550 5\.1\.1 ", out, re.M), out


def test_probe_without_recipients(v):
    rc, out = smtp_test("127.0.0.1:%d" % v.ports["smtp"])
    assert rc == 0, out
    assert "C: STARTTLS" in out and "C: QUIT" in out and "MAIL FROM" not in out, out


def test_connection_refused_is_temporary():
    rc, out = smtp_test("127.0.0.1:%d" % closed_port(), "--to", "a@example.org", "--timeout", "5")
    assert rc == 75, out
    assert "cannot connect" in out and "temporary failure" in out, out


def test_mx_walk_skips_a_dead_exchanger(v):
    """RFC 5321 §5.1: the first exchanger refuses connections (nothing listens on
    127.0.0.3), the second takes the mail."""
    zone = {"dest.example": {"MX": ["10 dead.dest.example.", "20 live.dest.example."]},
            "dead.dest.example": {"A": ["127.0.0.3"]},
            "live.dest.example": {"A": ["127.0.0.1"]}}
    with DnsStub(zone) as dns:
        rc, out = smtp_test("dest.example", "--dns", dns.address, "--port", v.ports["smtp"], "--to", "demo@localhost",
                            "--timeout", "5")
    assert rc == 0, out
    assert "exchangers in order: dead.dest.example (10), live.dest.example (20)" in out, out
    assert re.search(r"connecting to dead\.dest\.example \[127\.0\.0\.3\]:%d\n.*cannot connect" % v.ports["smtp"], out), out
    assert "connecting to live.dest.example [127.0.0.1]" in out, out
    assert re.search(r"^-- demo@localhost: delivered", out, re.M), out


def test_null_mx_bounces_without_connecting():
    with DnsStub({"nomail.example": {"MX": ["0 ."]}}) as dns:
        rc, out = smtp_test("nomail.example", "--dns", dns.address, "--to", "a@nomail.example")
    assert rc == 1, out
    assert "null MX" in out and "556 5.1.10" in out and "connecting" not in out, out


def test_server_without_esmtp_gets_helo(sink_factory):
    sink = sink_factory("-e")  # no ESMTP: EHLO is refused
    rc, out = smtp_test("127.0.0.1:%d" % sink.port, "--to", "a@example.org", "--helo", "client.example")
    assert rc == 0, out
    assert "C: HELO client.example" in out, out
    assert "SIZE=" not in out and "PIPELINING" not in out, out  # one command at a time
    assert re.search(r"C: MAIL FROM:<[^>]*>\nS: 250", out), out


def test_tls_required_but_not_offered(sink_factory):
    sink = sink_factory()  # smtp-sink offers no STARTTLS
    rc, out = smtp_test("127.0.0.1:%d" % sink.port, "--to", "a@example.org", "--tls", "required")
    assert rc == 75, out
    assert "4.7.10" in out and "MAIL FROM" not in out, out


def test_eight_bit_message_to_a_seven_bit_server_is_refused(sink_factory, tmp_path):
    sink = sink_factory("-8")  # smtp-sink: do not announce 8BITMIME
    f = tmp_path / "m.eml"
    f.write_bytes("Subject: año\r\n\r\nCañón\r\n".encode())
    rc, out = smtp_test("127.0.0.1:%d" % sink.port, "--to", "a@example.org", "--message", f)
    assert rc == 1, out
    assert "5.6.3" in out and "MAIL FROM" not in out, out
