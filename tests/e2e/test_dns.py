"""`valija mx DOMAIN`: where mail for a domain would go (RFC 5321 §5.1, RFC 7505), looked
up through valija's resolver (libunbound) against a test DNS server on 127.0.0.1
(dnsstub.py) that serves MX, A, AAAA and CNAME records pointing at loopback addresses.
"""
import re
import subprocess
import time

import pytest

from conftest import CLI_TIMEOUT, VALIJA_BIN
from dnsstub import DnsStub

ZONE = {
    "example.example": {"MX": ["10 mx-a.example.example.", "10 mx-b.example.example.", "20 backup.example.example."]},
    "mx-a.example.example": {"A": ["127.0.0.2"]},
    "mx-b.example.example": {"A": ["127.0.0.3"], "AAAA": ["::1"]},
    "backup.example.example": {"CNAME": ["real-backup.example.example."]},
    "real-backup.example.example": {"A": ["127.0.0.4"]},
    "implicit.example": {"A": ["127.0.0.5"]},
    "nullmx.example": {"MX": ["0 ."]},
    "noaddr.example": {"MX": ["10 nowhere.noaddr.example."]},
    "nowhere.noaddr.example": {"TXT": ['"no address here"']},
    "half.example": {"MX": ["10 dead.half.example.", "20 alive.half.example."]},
    "alive.half.example": {"A": ["127.0.0.6"]},
    "upper.example": {"MX": ["5 MX.Upper.EXAMPLE."]},
    "mx.upper.example": {"A": ["127.0.0.7"]},
}


@pytest.fixture(scope="module")
def dns():
    with DnsStub(ZONE, servfail={"broken.example", "dead.half.example"}, silent={"slow.example"}) as d:
        yield d


def mx(dns, domain, *extra):
    cp = subprocess.run([VALIJA_BIN, "mx", domain, "--dns", dns.address, *extra], capture_output=True, text=True,
                        timeout=CLI_TIMEOUT)
    return cp.returncode, cp.stdout + cp.stderr


def hosts(out):
    """[(preference, host, rest)] from the indented lines."""
    return [(int(m.group(1)), m.group(2), m.group(3))
            for m in re.finditer(r"^\s+(\d+) (\S+): (.*)$", out, re.M)]


def test_mx_order_and_addresses(dns):
    rc, out = mx(dns, "example.example")
    assert rc == 0, out
    h = hosts(out)
    assert [p for p, _, _ in h] == [10, 10, 20], out
    assert {n for _, n, _ in h[:2]} == {"mx-a.example.example", "mx-b.example.example"}, out
    by = {n: rest for _, n, rest in h}
    assert by["mx-a.example.example"] == "127.0.0.2", out
    assert by["mx-b.example.example"] == "::1, 127.0.0.3", out  # IPv6 first
    assert by["backup.example.example"].startswith("127.0.0.4"), out
    assert "CNAME" in by["backup.example.example"], out


def test_equal_preferences_are_tried_in_random_order(dns):
    """RFC 5321 §5.1: both 10s come first, in either order over several lookups (40 of
    them: a fair shuffle puts the same one first every time once in 2^39)."""
    firsts = set()
    for _ in range(40):
        rc, out = mx(dns, "example.example")
        assert rc == 0, out
        firsts.add(hosts(out)[0][1])
        if len(firsts) == 2:
            break
    assert firsts == {"mx-a.example.example", "mx-b.example.example"}


def test_implicit_mx(dns):
    rc, out = mx(dns, "implicit.example")
    assert rc == 0, out
    assert "no MX records" in out, out
    assert hosts(out) == [(0, "implicit.example", "127.0.0.5")], out


@pytest.mark.parametrize("domain,rc,says", [
    ("nullmx.example", 1, ["null MX", "556 5.1.10"]),               # RFC 7505
    ("nonexistent.example", 1, ["NXDOMAIN", "550 5.1.2"]),
    ("broken.example", 75, ["SERVFAIL", "retried"]),                # temporary, never a bounce
    ("noaddr.example", 1, ["no exchanger has an address", "bounce"]),
])
def test_no_route(dns, domain, rc, says):
    got, out = mx(dns, domain)
    assert got == rc, out
    assert all(s in out for s in says), out


def test_silent_server_times_out_as_temporary(dns):
    t0 = time.monotonic()
    rc, out = mx(dns, "slow.example", "--timeout", "2")
    assert rc == 75, out
    assert time.monotonic() - t0 < 15, out
    assert "retried" in out, out


def test_failed_exchanger_lookup_goes_to_the_next(dns):
    rc, out = mx(dns, "half.example")
    assert rc == 0, out
    h = hosts(out)
    assert h[0][1] == "dead.half.example" and "lookup failed" in h[0][2], out
    assert h[1] == (20, "alive.half.example", "127.0.0.6"), out


def test_names_are_lower_cased(dns):
    rc, out = mx(dns, "UPPER.example.")
    assert rc == 0, out
    assert hosts(out) == [(5, "mx.upper.example", "127.0.0.7")], out


def test_invalid_domain_refused_without_lookup(dns):
    before = len(dns.queries)
    rc, out = mx(dns, "bad..name")
    assert rc == 1 and "invalid domain name" in out, out
    assert len(dns.queries) == before
