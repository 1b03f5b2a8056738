"""What an admin publishes in DNS for a domain valija serves: `valija dkim` (generate,
list, activate, retire, delete: a key's life from pending to active to retired),
`valija dns-records` (MX, A/AAAA, PTR advice, SPF, DKIM, DMARC and RFC 6186 SRV
records, checked to be valid zone-file syntax with dnspython; from the command line or
from a config file) and `valija dns-check` (each record, the RFC 6186 SRV records included, asked of a test
DNS server, dnsstub.py, serving exactly what dns-records printed, then with one record
missing or wrong at a time, then failing; an IPv6 address's AAAA and PTR).

The mail host's address in the dns-check tests is 127.0.0.1 (dns-check never connects
to it); its PTR query reaches the stub because valija's resolver makes libunbound's
built-in 127.in-addr.arpa zone transparent.
"""
import base64
import email.utils
import re
import subprocess

import dns.reversename
import dns.zone
import pytest

from conftest import CLI_TIMEOUT, VALIJA_BIN, Valija
from dnsstub import DnsStub

DOMAIN = "dom.example"
HOST = "mx.dom.example"
ADDR = "127.0.0.1"


# ---- helpers ----------------------------------------------------------------------

def assert_error(cp, rc=1, contains=None):
    assert cp.returncode == rc, (cp.returncode, cp.stdout, cp.stderr)
    if rc == 1:
        assert cp.stderr.startswith("valija: error: "), cp.stderr
    if contains:
        assert contains in cp.stderr, cp.stderr


def txt_value(strings):
    """The value of a TXT record given as zone text: '( "a" "b" )' -> 'ab'."""
    parts = re.findall(r'"([^"]*)"', strings)
    assert all(len(p) <= 255 for p in parts), strings  # RFC 1035 §3.3.14
    return "".join(parts)


def tags(value):
    """'v=DKIM1; k=rsa; p=...' -> {'v': 'DKIM1', 'k': 'rsa', 'p': '...'}."""
    return dict(t.strip().split("=", 1) for t in value.split(";") if t.strip())


def generate(v, *args, domain=DOMAIN):
    """`dkim generate`; returns {selector, algorithm, state, month, record} where
    record is the printed "NAME. IN TXT ..." line."""
    out = v.cli_ok("dkim", "generate", domain, *args).stdout
    keys = parse_keys(out)
    assert len(keys) == 1, out
    return keys[0]


def parse_keys(out):
    """The keys printed by `dkim generate` or `dkim list`."""
    keys = []
    for m in re.finditer(r"^(\S+) (\S+) (\S+) (pending|active|retired) created (.+)\n  (.+)$", out, re.M):
        domain, selector, algorithm, state, created, record = m.groups()
        month = email.utils.parsedate_to_datetime(created).strftime("%Y%m")
        keys.append({"domain": domain, "selector": selector, "algorithm": algorithm, "state": state,
                     "month": month, "record": record})
    return keys


def states(v, *domain):
    return {k["selector"]: k["state"] for k in parse_keys(v.cli_ok("dkim", "list", *domain).stdout)}


def record_value(record, selector, domain=DOMAIN):
    name, value = record.split(" IN TXT ", 1)
    assert name == "%s._domainkey.%s." % (selector, domain), record
    return txt_value(value)


def zone(out):
    """The records of a dns-records output, parsed by dnspython as a zone file:
    {name without the final dot: {TYPE: [rdata as zone text]}}."""
    lines = [l for l in out.splitlines() if l.strip() and not l.startswith(";")]
    z = dns.zone.from_text("$TTL 300\n" + "\n".join(lines) + "\n", origin=".", relativize=False,
                           check_origin=False)
    records = {}
    for name, rdataset in z.iterate_rdatasets():
        rrs = records.setdefault(name.to_text().rstrip("."), {})
        rrs[dns.rdatatype.to_text(rdataset.rdtype)] = sorted(r.to_text() for r in rdataset)
    return records


def notes(out):
    """{owner name: the comment at the end of its line} for annotated zone lines."""
    return {l.split()[0].rstrip("."): l.rsplit("   ; ", 1)[1]
            for l in out.splitlines() if not l.startswith(";") and "   ; " in l}


def run(*args):
    """valija ARGS without --data (the config names the data dir)."""
    return subprocess.run([VALIJA_BIN, *map(str, args)], capture_output=True, text=True, timeout=CLI_TIMEOUT)


@pytest.fixture
def offline(tmp_path):
    """A data dir used by the CLI only (no server) with DOMAIN added."""
    v = Valija(tmp_path / "offline")
    v.cli_ok("domain", "add", DOMAIN)
    return v


# ---- dkim -------------------------------------------------------------------------

def test_generate_needs_a_local_domain(offline):
    assert_error(offline.cli("dkim", "generate", "other.example"), contains="not a local domain")
    assert states(offline) == {}


def test_generate_ed25519_pending_with_default_selector(offline):
    first = generate(offline, "--algo", "ed25519")
    assert first["selector"] == "ed" + first["month"], first
    assert (first["domain"], first["algorithm"], first["state"]) == (DOMAIN, "ed25519-sha256", "pending")
    t = tags(record_value(first["record"], first["selector"]))
    assert (t["v"], t["k"]) == ("DKIM1", "ed25519"), t
    assert len(base64.b64decode(t["p"], validate=True)) == 32, t  # RFC 8463 §4.2
    # The month's selector is taken: a letter follows.
    second = generate(offline, "--algo", "ed25519")
    assert second["selector"] == "ed" + second["month"] + ("b" if second["month"] == first["month"] else "")
    assert tags(record_value(second["record"], second["selector"]))["p"] != t["p"]
    assert states(offline, DOMAIN) == {first["selector"]: "pending", second["selector"]: "pending"}


def test_generate_prints_what_to_do_next(offline):
    out = offline.cli_ok("dkim", "generate", DOMAIN, "--algo", "ed25519", "--selector", "Sel1").stdout
    assert out.splitlines()[-1] == "Publish the record above, then: valija dkim activate %s sel1" % DOMAIN, out


@pytest.mark.parametrize("algo,bits", [(None, 2048), ("rsa3072", 3072)])
def test_generate_rsa_record_holds_the_public_key(offline, algo, bits):
    key = generate(offline, *(["--algo", algo] if algo else []))
    assert key["selector"] == "rsa" + key["month"], key
    assert (key["algorithm"], key["state"]) == ("rsa-sha256", "pending"), key
    # Longer than one character-string: split, in parentheses.
    assert re.search(r' IN TXT \( "[^"]+"( "[^"]+")+ \)$', key["record"]), key["record"]
    t = tags(record_value(key["record"], key["selector"]))
    assert (t["v"], t["k"]) == ("DKIM1", "rsa"), t
    der = base64.b64decode(t["p"], validate=True)
    cp = subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-text", "-noout"], input=der,
                        capture_output=True, timeout=CLI_TIMEOUT)
    assert cp.returncode == 0, cp.stderr
    assert b"Public-Key: (%d bit)" % bits in cp.stdout, cp.stdout


def test_activate_retires_the_active_key_of_the_same_algorithm(offline):
    v = offline
    generate(v, "--algo", "ed25519", "--selector", "ed1")
    generate(v, "--selector", "rsa1", "--activate")
    assert v.cli_ok("dkim", "activate", DOMAIN, "ed1").stdout == "%s ed1 active\n" % DOMAIN
    assert states(v) == {"ed1": "active", "rsa1": "active"}  # one active key per algorithm
    generate(v, "--algo", "ed25519", "--selector", "ed2")
    assert states(v)["ed2"] == "pending"
    out = v.cli_ok("dkim", "activate", DOMAIN, "ED2").stdout
    assert out.splitlines() == ["%s ed1 retired (keep its record published for a week, for mail still on its way)"
                                % DOMAIN, "%s ed2 active" % DOMAIN], out
    assert states(v) == {"ed1": "retired", "ed2": "active", "rsa1": "active"}
    # generate --activate retires the same way.
    generate(v, "--algo", "ed25519", "--selector", "ed3", "--activate")
    assert states(v, DOMAIN) == {"ed1": "retired", "ed2": "retired", "ed3": "active", "rsa1": "active"}


def test_retire_and_delete(offline):
    v = offline
    generate(v, "--algo", "ed25519", "--selector", "ed1", "--activate")
    v.cli_ok("domain", "add", "other.example")
    generate(v, "--algo", "ed25519", "--selector", "ed1", domain="other.example")
    assert v.cli_ok("dkim", "retire", DOMAIN, "ed1").stdout == "%s ed1 retired\n" % DOMAIN
    assert states(v, DOMAIN) == {"ed1": "retired"}
    assert v.cli_ok("dkim", "delete", DOMAIN, "ed1").stdout == "%s ed1 deleted\n" % DOMAIN
    assert states(v, DOMAIN) == {}
    assert states(v, "other.example") == {"ed1": "pending"}  # same selector, other domain: untouched
    for verb in ("activate", "retire", "delete"):
        assert_error(v.cli("dkim", verb, DOMAIN, "ed1"), contains="no DKIM key ed1 for %s" % DOMAIN)


@pytest.mark.parametrize("selector", ["bad sel", "a_b", "-x", "x-", "a" * 64, "a..b"])
def test_invalid_selector_is_refused(offline, selector):
    assert_error(offline.cli("dkim", "generate", DOMAIN, "--selector", selector), contains="invalid selector")
    assert states(offline) == {}


def test_duplicate_selector_and_unknown_algorithm_are_refused(offline):
    generate(offline, "--algo", "ed25519", "--selector", "s1")
    assert_error(offline.cli("dkim", "generate", DOMAIN, "--selector", "S1"), contains="s1")
    cp = offline.cli("dkim", "generate", DOMAIN, "--algo", "bogus")
    assert cp.returncode not in (0, 1), (cp.returncode, cp.stderr)  # a usage error
    assert "--algo" in cp.stderr, cp.stderr
    assert states(offline) == {"s1": "pending"}


# ---- dns-records ------------------------------------------------------------------

def test_dns_records_lists_every_record(offline):
    v = offline
    ed = generate(v, "--algo", "ed25519", "--selector", "ed1", "--activate")
    rsa = generate(v, "--selector", "rsa1")
    generate(v, "--algo", "ed25519", "--selector", "ed2", "--activate")  # ed1 retires
    out = v.cli_ok("dns-records", DOMAIN, "--hostname", HOST, "--address", "203.0.113.25",
                   "--address", "2001:db8::25", "--dmarc-policy", "reject", "--rua", "reports@dom.example").stdout
    z = zone(out)
    ptr4 = dns.reversename.from_address("203.0.113.25").to_text().rstrip(".")
    ptr6 = dns.reversename.from_address("2001:db8::25").to_text().rstrip(".")
    assert ptr4 == "25.113.0.203.in-addr.arpa"
    assert z[DOMAIN] == {"MX": ["10 %s." % HOST], "TXT": ['"v=spf1 mx -all"']}, out
    assert z[HOST] == {"A": ["203.0.113.25"], "AAAA": ["2001:db8::25"]}, out
    assert z[ptr4] == z[ptr6] == {"PTR": [HOST + "."]}, out
    assert notes(out)[ptr4] == notes(out)[ptr6] == "ask your provider", out
    for key in (ed, rsa):
        published = z["%s._domainkey.%s" % (key["selector"], DOMAIN)]["TXT"]
        assert [txt_value(t) for t in published] == [record_value(key["record"], key["selector"])], out
    assert "ed2._domainkey." + DOMAIN in z, out
    n = notes(out)
    assert n["ed1._domainkey." + DOMAIN].startswith("retired"), out
    assert n["rsa1._domainkey." + DOMAIN].startswith("pending"), out
    assert "ed2._domainkey." + DOMAIN not in n, out  # active: nothing to do
    assert z["_dmarc." + DOMAIN] == {"TXT": ['"v=DMARC1; p=reject; rua=mailto:reports@dom.example"']}, out
    srv = {name: rrs["SRV"] for name, rrs in z.items() if "SRV" in rrs}
    assert srv == {"_%s._tcp.%s" % (s, DOMAIN): ["0 1 %d %s." % (port, HOST)] for s, port in
                   [("submissions", 465), ("submission", 587), ("imaps", 993), ("imap", 143), ("pop3s", 995),
                    ("pop3", 110)]}, out
    assert "localhost" not in out


def test_dns_records_defaults(offline):
    out = offline.cli_ok("dns-records", DOMAIN, "--hostname", HOST, "--address", ADDR).stdout
    z = zone(out)
    assert z["_dmarc." + DOMAIN] == {"TXT": ['"v=DMARC1; p=quarantine; rua=mailto:postmaster@%s"' % DOMAIN]}, out
    assert "; (no key yet: valija dkim generate %s)" % DOMAIN in out.splitlines(), out
    assert not any("_domainkey" in name for name in z), out


def test_dns_records_from_config(tmp_path, offline):
    config = tmp_path / "valija.toml"
    config.write_text("""
hostname = "mail.dom.example"
data_dir = "%s"
domains = ["%s"]
public_addresses = ["203.0.113.25", "2001:db8::25"]
[[listener]]
address = "127.0.0.1"
port = 2525
role = "smtp"
[[listener]]
address = "0.0.0.0"
port = 10587
role = "submission"
[[listener]]
address = "::"
port = 10993
role = "imaps"
[[listener]]
address = "127.0.0.1"
port = 10143
role = "imap"
""" % (offline.data, DOMAIN))
    generate(offline, "--algo", "ed25519", "--selector", "ed1")
    cp = run("dns-records", DOMAIN, "--config", config)
    assert cp.returncode == 0, cp.stderr
    z = zone(cp.stdout)
    assert z[DOMAIN]["MX"] == ["10 mail.dom.example."], cp.stdout
    assert z["mail.dom.example"] == {"A": ["203.0.113.25"], "AAAA": ["2001:db8::25"]}, cp.stdout
    assert z["25.113.0.203.in-addr.arpa"] == {"PTR": ["mail.dom.example."]}, cp.stdout
    assert "ed1._domainkey." + DOMAIN in z, cp.stdout  # the keys of the config's data dir
    srv = {name: rrs["SRV"] for name, rrs in z.items() if "SRV" in rrs}
    # IMAP on loopback only (a webmail's) is not for clients elsewhere: no _imap SRV.
    assert srv == {"_submission._tcp." + DOMAIN: ["0 1 10587 mail.dom.example."],
                   "_imaps._tcp." + DOMAIN: ["0 1 10993 mail.dom.example."]}, cp.stdout
    # The command line wins over the config.
    cp = run("dns-records", DOMAIN, "--config", config, "--hostname", HOST, "--address", ADDR)
    assert cp.returncode == 0, cp.stderr
    z = zone(cp.stdout)
    assert (z[DOMAIN]["MX"], z[HOST]) == (["10 %s." % HOST], {"A": [ADDR]}), cp.stdout
    assert_error(run("dns-records", "other.example", "--config", config), contains="not a local domain")


def test_dns_records_refuses_unknown_domain_and_policy(offline):
    assert_error(offline.cli("dns-records", "other.example"), contains="not a local domain")
    assert_error(offline.cli("dns-records", "bad..example"), contains="invalid domain")
    cp = offline.cli("dns-records", DOMAIN, "--dmarc-policy", "bogus")
    assert cp.returncode not in (0, 1) and "--dmarc-policy" in cp.stderr, (cp.returncode, cp.stderr)


# ---- dns-check --------------------------------------------------------------------

@pytest.fixture
def site(offline):
    """DOMAIN with an active ed25519 key, a retired one and a pending RSA key (a split
    TXT record); returns (valija, the zone dns-records prints for HOST at ADDR)."""
    generate(offline, "--algo", "ed25519", "--selector", "old", "--activate")
    generate(offline, "--algo", "ed25519", "--selector", "ed1", "--activate")
    generate(offline, "--selector", "rsa1")
    out = offline.cli_ok("dns-records", DOMAIN, "--hostname", HOST, "--address", ADDR).stdout
    return offline, zone(out)


def dns_check(v, records, servfail=(), addresses=(ADDR,)):
    """Run dns-check against a stub serving `records`; returns (rc, oks, problems
    as [(what, fix)], output)."""
    with DnsStub(records, servfail=servfail) as stub:
        cp = v.cli("dns-check", DOMAIN, "--hostname", HOST, *[a for addr in addresses for a in ("--address", addr)],
                   "--dns", stub.address, "--timeout", "5")
    out = cp.stdout + cp.stderr
    oks = re.findall(r"^ok {7}(.+)$", cp.stdout, re.M)
    problems = re.findall(r"^PROBLEM  (.+)\n {9}(.+)$", cp.stdout, re.M)
    return cp.returncode, oks, problems, out


def test_dns_check_all_published(site):
    v, z = site
    rc, oks, problems, out = dns_check(v, z)
    assert (rc, problems) == (0, []), out
    want = ["MX %s -> %s" % (DOMAIN, HOST), "A %s -> %s" % (HOST, ADDR), "PTR %s -> %s" % (ADDR, HOST),
            "SPF %s allows %s (mx)" % (DOMAIN, ADDR),
            "DKIM old._domainkey.%s publishes the ed25519-sha256 key" % DOMAIN,
            "DKIM ed1._domainkey.%s publishes the ed25519-sha256 key" % DOMAIN,
            "DKIM rsa1._domainkey.%s publishes the rsa-sha256 key" % DOMAIN,
            "DMARC _dmarc.%s: p=quarantine" % DOMAIN]
    # RFC 6186 SRV records of the services local mode serves, on their standard ports.
    want += ["SRV _%s._tcp.%s -> %s:%d" % (service, DOMAIN, HOST, port) for service, port in SERVICES]
    assert sorted(oks) == sorted(want), out  # keys created in the same second: any order
    assert out.rstrip().endswith("%s: 0 problem(s)" % DOMAIN), out
    # A retired key's record may go.
    del z["old._domainkey." + DOMAIN]
    rc, oks, problems, out = dns_check(v, z)
    assert (rc, problems) == (0, []), out
    assert "DKIM old._domainkey.%s (retired) no longer published" % DOMAIN in oks, out


SERVICES = [("submissions", 465), ("submission", 587), ("imaps", 993), ("imap", 143), ("pop3s", 995), ("pop3", 110)]


def without(name, rtype):
    def change(z):
        del z[name][rtype]
    return change


def replaced(name, rtype, *values):
    def change(z):
        z.setdefault(name, {})[rtype] = list(values)
    return change


def other_key(z):  # ed1's name with the record of another key
    z["ed1._domainkey." + DOMAIN]["TXT"] = z["old._domainkey." + DOMAIN]["TXT"]


def moved_mx(z):
    z[DOMAIN]["MX"] = ["10 mx.elsewhere.example."]
    z["mx.elsewhere.example"] = {"A": ["127.0.0.99"]}


@pytest.mark.parametrize("change,problem,fix,count", [
    (without("rsa1._domainkey." + DOMAIN, "TXT"), "DKIM rsa1._domainkey.%s: not published" % DOMAIN,
     "publish: rsa1._domainkey.%s. IN TXT ( \"v=DKIM1; k=rsa; p=" % DOMAIN, 1),
    (other_key, "DKIM ed1._domainkey.%s: a different key" % DOMAIN,
     "publish: ed1._domainkey.%s. IN TXT \"v=DKIM1; k=ed25519; p=" % DOMAIN, 1),
    (without("_dmarc." + DOMAIN, "TXT"), "DMARC _dmarc.%s: none" % DOMAIN,
     "publish: _dmarc.%s. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@%s\"" % (DOMAIN, DOMAIN), 1),
    (replaced("_dmarc." + DOMAIN, "TXT", '"v=spf1 -all"'), "DMARC _dmarc.%s: no valid DMARC1 record" % DOMAIN,
     "publish: _dmarc.%s. IN TXT \"v=DMARC1;" % DOMAIN, 1),
    # RFC 7489 §6.6.3 step 5: two records are no policy at all.
    (replaced("_dmarc." + DOMAIN, "TXT", '"v=DMARC1; p=reject"', '"v=DMARC1; p=none"'),
     "DMARC _dmarc.%s: 2 records" % DOMAIN, "keep one: _dmarc.%s. IN TXT \"v=DMARC1;" % DOMAIN, 1),
    (replaced(DOMAIN, "TXT", '"v=spf1 -all"'), "SPF %s for %s: fail" % (DOMAIN, ADDR),
     "publish: %s. IN TXT \"v=spf1 mx -all\"" % DOMAIN, 1),
    (without("1.0.0.127.in-addr.arpa", "PTR"), "PTR %s: none" % ADDR,
     "ask the owner of %s (your provider) to set its reverse DNS to %s" % (ADDR, HOST), 1),
    (replaced(HOST, "A", "127.0.0.26"), "A %s: 127.0.0.26" % HOST,
     "publish: %s. IN A %s" % (HOST, ADDR), 2),  # and SPF fails: the MX host is not ADDR
    (moved_mx, "MX %s: mx.elsewhere.example" % DOMAIN, "publish: %s. IN MX 10 %s." % (DOMAIN, HOST), 2),
    (without("_imaps._tcp." + DOMAIN, "SRV"), "SRV _imaps._tcp.%s: none" % DOMAIN,
     "publish: _imaps._tcp.%s. IN SRV 0 1 993 %s." % (DOMAIN, HOST), 1),
    (replaced("_submission._tcp." + DOMAIN, "SRV", "0 1 25 %s." % HOST),
     "SRV _submission._tcp.%s: 0 1 25 %s" % (DOMAIN, HOST),
     "publish: _submission._tcp.%s. IN SRV 0 1 587 %s." % (DOMAIN, HOST), 1),
    (replaced("_pop3s._tcp." + DOMAIN, "SRV", "0 1 995 mail.elsewhere.example."),
     "SRV _pop3s._tcp.%s: 0 1 995 mail.elsewhere.example" % DOMAIN,
     "publish: _pop3s._tcp.%s. IN SRV 0 1 995 %s." % (DOMAIN, HOST), 1),
    # RFC 6186 §4: "." says the service is not offered, but valija offers it.
    (replaced("_imap._tcp." + DOMAIN, "SRV", "0 0 0 ."), "SRV _imap._tcp.%s: 0 0 0 ." % DOMAIN,
     "publish: _imap._tcp.%s. IN SRV 0 1 143 %s." % (DOMAIN, HOST), 1),
], ids=["dkim-missing", "dkim-other-key", "dmarc-missing", "dmarc-invalid", "dmarc-twice", "spf-fail",
        "ptr-missing", "a-wrong", "mx-elsewhere", "srv-missing", "srv-wrong-port", "srv-wrong-target",
        "srv-not-offered"])
def test_dns_check_reports_what_is_wrong(site, change, problem, fix, count):
    v, z = site
    change(z)
    rc, oks, problems, out = dns_check(v, z)
    assert rc == 1, out
    assert len(problems) == count, out
    assert any(what.startswith(problem) and hint.startswith(fix) for what, hint in problems), out
    assert out.rstrip().endswith("%s: %d problem(s)" % (DOMAIN, count)), out


ADDR6 = "2001:db8::25"  # never connected to: only the stub serves it


def test_dns_check_ipv6_address(offline):
    """The AAAA branch: the mail host's IPv6 address in AAAA, its ip6.arpa PTR and SPF."""
    generate(offline, "--algo", "ed25519", "--selector", "ed1", "--activate")
    out = offline.cli_ok("dns-records", DOMAIN, "--hostname", HOST, "--address", ADDR, "--address", ADDR6).stdout
    z = zone(out)
    assert z[HOST] == {"A": [ADDR], "AAAA": [ADDR6]}, out
    rc, oks, problems, out = dns_check(offline, z, addresses=(ADDR, ADDR6))
    assert (rc, problems) == (0, []), out
    for line in ("AAAA %s -> %s" % (HOST, ADDR6), "PTR %s -> %s" % (ADDR6, HOST),
                 "SPF %s allows %s (mx)" % (DOMAIN, ADDR6), "A %s -> %s" % (HOST, ADDR)):
        assert line in oks, out
    # A wrong AAAA: the record to publish, and SPF no longer allows the address.
    z[HOST]["AAAA"] = ["2001:db8::26"]
    rc, oks, problems, out = dns_check(offline, z, addresses=(ADDR, ADDR6))
    assert rc == 1, out
    assert ("AAAA %s: 2001:db8::26" % HOST, "publish: %s. IN AAAA %s" % (HOST, ADDR6)) in problems, out
    assert [what for what, _ in problems if what.startswith("SPF ")] == ["SPF %s for %s: fail" % (DOMAIN, ADDR6)], out
    assert len(problems) == 2 and "A %s -> %s" % (HOST, ADDR) in oks, out
    # None at all.
    del z[HOST]["AAAA"]
    rc, oks, problems, out = dns_check(offline, z, addresses=(ADDR, ADDR6))
    assert ("AAAA %s: none" % HOST, "publish: %s. IN AAAA %s" % (HOST, ADDR6)) in problems, out


def test_dns_check_hint_is_the_record_to_publish(site):
    """The hint for a missing record is the line dns-records prints, ready to paste."""
    v, z = site
    want = z.pop("rsa1._domainkey." + DOMAIN)
    rc, _, problems, out = dns_check(v, z)
    assert rc == 1, out
    [(_, fix)] = problems
    assert fix.startswith("publish: "), fix
    assert zone(fix[len("publish: "):])["rsa1._domainkey." + DOMAIN] == want, fix


def test_dns_check_servfail_is_temporary(site):
    v, z = site
    rc, oks, problems, out = dns_check(v, z, servfail={DOMAIN})
    assert rc == 75, out
    assert problems == [], out
    assert re.search(r"^ERROR    MX %s: " % re.escape(DOMAIN), out, re.M), out
    assert re.search(r"^ERROR    SPF %s: " % re.escape(DOMAIN), out, re.M), out
    assert "DMARC _dmarc.%s: p=quarantine" % DOMAIN in oks, out  # the other names still answer
    assert out.rstrip().endswith("%s: 0 problem(s), and DNS errors (try again)" % DOMAIN), out


def test_dns_check_unknown_domain(offline):
    assert_error(offline.cli("dns-check", "other.example", "--dns", "127.0.0.1@9"), contains="not a local domain")
