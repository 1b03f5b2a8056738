"""What the outbound tests share: a valija with SMTP, submission and submissions
listeners whose queue resolves through a test DNS server (dnsstub.py) and delivers to
scripted SMTP servers (smtpsink.py) on 127.0.0.2 and up; helpers to send, to read the
queue and to parse delivery reports with Python's email package.
"""
import email
import email.policy
import time

import pytest

from dnsstub import DnsStub
from smtpsink import ScriptedSmtp, free_port_on

CONFIG = """
hostname = "mx.local.example"
domains = ["local.example"]
[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"
[[listener]]
address = "127.0.0.1"
port = $submission_port
role = "submission"
[[listener]]
address = "127.0.0.1"
port = $submissions_port
role = "submissions"
[dns]
servers = ["@DNS@"]
timeout = 3
[queue]
port = @PORT@
retry = @RETRY@
retry_every = 1
tls = "@TLS@"
@EXTRA@
"""

ZONES = {
    "remote.example": {"MX": ["10 mx.remote.example."]},
    "mx.remote.example": {"A": ["127.0.0.2"]},
    "sender.example": {"MX": ["10 mx.sender.example."]},
    "mx.sender.example": {"A": ["127.0.0.2"]},
    "fallback.example": {"MX": ["10 down.fallback.example.", "20 up.fallback.example."]},
    "down.fallback.example": {"A": ["127.0.0.3"]},
    "up.fallback.example": {"A": ["127.0.0.2"]},
    "nullmx.example": {"MX": ["0 ."]},
}


class Env:
    def __init__(self, factory, extra="", sink_kw=None, zones=None, servfail=(), queue_tls="none", retry="[1]",
                 silent=()):
        self.queue_tls = queue_tls
        self.retry = retry
        self.port = free_port_on("127.0.0.2")
        self.sink = ScriptedSmtp("127.0.0.2", self.port, **(sink_kw or {})).start()
        self.dns = DnsStub(zones or ZONES, servfail=servfail, silent=silent).start()
        self.v = factory()
        self.extra = extra
        self.start()
        self.v.add_user("ana@local.example")

    def config(self, extra="", queue_tls="none", retry="[1]"):
        """The outbound test configuration, sending through this environment's DNS and sink."""
        return (CONFIG.replace("@EXTRA@", extra).replace("@DNS@", self.dns.address)
                .replace("@PORT@", str(self.port)).replace("@TLS@", queue_tls).replace("@RETRY@", retry))

    def start(self):
        self.v.start(config=self.config(self.extra, self.queue_tls, self.retry))

    def stop(self):
        self.sink.stop()
        self.dns.stop()

    def send(self, sender, rcpts, msg, mail_params="", rcpt_params=""):
        """One SMTP transaction on port 25; returns the reply to the end of data."""
        with self.v.raw() as c:
            c.greeting()
            c.ehlo()
            c.expect("MAIL FROM:<%s>%s" % (sender, mail_params), "250")
            for r in rcpts:
                c.expect("RCPT TO:<%s>%s" % (r, rcpt_params), "250")
            c.expect("DATA", "354")
            c.send(dot(msg))
            return c.reply()[2]

    def queue(self):
        cp = self.v.cli("queue", "list")
        assert cp.returncode == 0, cp.stderr
        return cp.stdout

    def wait_queue_empty(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.queue()
            if out.startswith("0 message(s)"):
                return
            time.sleep(0.1)
        raise AssertionError("queue not empty:\n" + self.queue())

    def reports(self, address="ana@local.example", n=1, timeout=20):
        """The delivery reports in `address`'s INBOX, parsed (waits for n)."""
        deadline = time.monotonic() + timeout
        while True:
            bodies = self.v.bodies(address)
            if len(bodies) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(bodies) >= n, "expected %d report(s) in %s, got %d" % (n, address, len(bodies))
        return [email.message_from_bytes(b, policy=email.policy.default) for b in bodies]


def dot(msg):
    lines = msg.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines) + b".\r\n"


@pytest.fixture
def env(valija_factory):
    made = []

    def make(**kw):
        e = Env(valija_factory, **kw)
        made.append(e)
        return e

    yield make
    for e in made:
        e.stop()


def delivery_status(report):
    """(per-message fields, [per-recipient fields]) of a multipart/report, as dicts."""
    assert report.get_content_type() == "multipart/report", report.get_content_type()
    assert report.get_param("report-type") == "delivery-status"
    parts = list(report.iter_parts())
    assert parts[1].get_content_type() == "message/delivery-status"
    blocks = parts[1].get_payload()
    fields = [{k.lower(): str(v) for k, v in b.items()} for b in blocks]
    return fields[0], fields[1:], parts


