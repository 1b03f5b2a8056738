"""Mail authentication on port 25 against a test DNS server (dnsstub.py): SPF results
recorded in Authentication-Results and Received-SPF; DMARC reject enforced (5.7.23 with
an SPF fail, 5.7.1 otherwise) and quarantine delivered to Junk; DKIM signatures made by
dkimpy verified by valija, and valija's signatures on submitted mail verified by dkimpy;
forged Authentication-Results under valija's authserv-id removed; blocklisted clients
refused at connect; iprev; per-client rate limits; greylisting.

Clients connect from 127.0.0.1, which is exempt from checks by default (local programs):
these tests set [checks] exempt_networks = [].
"""
import base64
import re
import subprocess
import time

import dkim
import pytest

from conftest import make_message
from outbound_env import ZONES, dot, env  # noqa: F401 - the env fixture
from test_submission import submit

CHECKS = "[checks]\nexempt_networks = []\n"

ZONE = dict(ZONES)
ZONE.update({
    "pass.example": {"TXT": ['"v=spf1 ip4:127.0.0.0/8 -all"']},
    "fail.example": {"TXT": ['"v=spf1 ip4:192.0.2.1 -all"']},
    "soft.example": {"TXT": ['"v=spf1 ~all"']},
    "perm.example": {"TXT": ['"v=spf1 include:missing.example -all"']},
    "reject.example": {"TXT": ['"v=spf1 -all"']},
    "_dmarc.reject.example": {"TXT": ['"v=DMARC1; p=reject"']},
    "neutral.example": {"TXT": ['"v=spf1 ?all"']},
    "_dmarc.neutral.example": {"TXT": ['"v=DMARC1; p=reject"']},
    "quarantine.example": {"TXT": ['"v=spf1 -all"']},
    "_dmarc.quarantine.example": {"TXT": ['"v=DMARC1; p=quarantine"']},
    "signed.example": {"TXT": ['"v=spf1 -all"']},
    "_dmarc.signed.example": {"TXT": ['"v=DMARC1; p=reject; adkim=s"']},
    "local.example": {"MX": ["10 mx.local.example."]},
})


def txt(value):
    """A TXT value in zone syntax: quoted strings of at most 255 octets."""
    return " ".join('"%s"' % value[i:i + 250] for i in range(0, len(value), 250))


def send(e, sender, msg, rcpt="ana@local.example", helo="client.example"):
    """One transaction on port 25; the final reply (code, text) of whichever step ended it."""
    with e.v.raw() as c:
        c.greeting()
        c.ehlo(helo)
        for line in ("MAIL FROM:<%s>" % sender, "RCPT TO:<%s>" % rcpt):
            code, _, full = c.cmd(line)
            if code != 250:
                return code, full
        code, _, full = c.cmd("DATA")
        assert code == 354, full
        c.send(dot(msg))
        code, _, full = c.reply()
        return code, full


def stored(e, folder="INBOX", n=1, address="ana@local.example"):
    msgs = e.v.bodies(address, folder)
    assert len(msgs) == n, "%d message(s) in %s" % (len(msgs), folder)
    return msgs[-1]


def auth_results(msg):
    """Every Authentication-Results field of a stored message, unfolded."""
    fields = []
    for line in msg.split(b"\r\n\r\n", 1)[0].decode().split("\r\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += " " + line.strip()
        else:
            fields.append([line.split(":", 1)[0].lower(), line])
    return [text for name, text in fields if name == "authentication-results"]


def checked_env(env, extra="", **kw):
    return env(extra=CHECKS + extra, zones=kw.pop("zones", ZONE), **kw)


@pytest.mark.parametrize("domain,result", [
    ("pass.example", "pass"), ("fail.example", "fail"), ("soft.example", "softfail"),
    ("perm.example", "permerror"), ("nospf.example", "none")])
def test_spf_result_recorded(env, domain, result):
    e = checked_env(env)
    code, full = send(e, "bob@" + domain, make_message("spf", "x", sender="bob@" + domain, to="ana@local.example"))
    assert code == 250, full
    m = stored(e)
    (ar,) = auth_results(m)
    assert ar.startswith("Authentication-Results: mx.local.example;"), ar
    assert re.search(r"spf=%s (\(.*\) )?smtp\.mailfrom=bob@%s" % (result, re.escape(domain)), ar), ar
    assert re.search(rb"^Received-SPF: %s " % result.encode(), m, re.M), m[:600]
    assert b"client-ip=127.0.0.1" in m


def test_dmarc_reject_with_spf_fail_is_5_7_23(env):
    e = checked_env(env)
    code, full = send(e, "ceo@reject.example", make_message("forged", "x", sender="ceo@reject.example",
                                                             to="ana@local.example"))
    assert code == 550 and "5.7.23" in full, full
    assert e.v.bodies("ana@local.example") == []


def test_dmarc_reject_without_spf_fail_is_5_7_1(env):
    e = checked_env(env)
    # SPF neutral for the envelope, From in a domain whose DMARC says reject.
    code, full = send(e, "bob@neutral.example", make_message("forged", "x", sender="ceo@neutral.example",
                                                              to="ana@local.example"))
    assert code == 550 and "5.7.1" in full and "neutral.example" in full, full


def test_dmarc_quarantine_lands_in_junk(env):
    e = checked_env(env)
    code, full = send(e, "x@quarantine.example", make_message("q", "x", sender="x@quarantine.example",
                                                               to="ana@local.example"))
    assert code == 250, full
    m = stored(e, "Junk")
    assert "dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.example" in auth_results(m)[0]
    assert e.v.bodies("ana@local.example") == []


def test_dmarc_actions_configurable(env):
    # SPF fails here too: with the default spf_fail = "dmarc" that alone refuses the
    # message (test_mail_auth_policy.py), so SPF only marks, leaving it to DMARC.
    e = checked_env(env, extra='dmarc_reject = "junk"\nspf_fail = "mark"\n')
    code, full = send(e, "ceo@reject.example", make_message("r", "x", sender="ceo@reject.example",
                                                             to="ana@local.example"))
    assert code == 250, full
    [junked] = e.v.bodies("ana@local.example", "Junk")
    # dis= says what valija did: the reject policy was carried out as a quarantine.
    (ar,) = auth_results(junked)
    assert "dmarc=fail (p=reject dis=quarantine) header.from=reject.example" in ar, ar


def test_dmarc_quarantine_marked_only_says_dis_none(env):
    e = checked_env(env, extra='dmarc_quarantine = "mark"\n')
    code, full = send(e, "ceo@quarantine.example", make_message("q", "x", sender="ceo@quarantine.example",
                                                                 to="ana@local.example"))
    assert code == 250, full
    assert e.v.bodies("ana@local.example", "Junk") == []
    (ar,) = auth_results(stored(e))
    assert "dmarc=fail (p=quarantine dis=none) header.from=quarantine.example" in ar, ar


def rsa_key(tmp_path):
    """A 2048-bit RSA key: (PEM private key, base64 SubjectPublicKeyInfo for p=)."""
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem, check=True,
                         capture_output=True).stdout
    return pem, base64.b64encode(der).decode()


def test_dkimpy_signature_verifies_in_valija(env, tmp_path):
    pem, pub = rsa_key(tmp_path)
    zone = dict(ZONE)
    zone["sel._domainkey.signed.example"] = {"TXT": [txt("v=DKIM1; k=rsa; p=" + pub)]}
    e = checked_env(env, zones=zone)
    msg = make_message("signed", "Hello from a signed domain.\r\n", sender="news@signed.example",
                       to="ana@local.example")
    sig = dkim.sign(msg, b"sel", b"signed.example", pem, include_headers=[b"from", b"to", b"subject", b"date"])
    # SPF fails (-all) but the aligned DKIM pass satisfies DMARC p=reject.
    code, full = send(e, "bounce@signed.example", sig + msg)
    assert code == 250, full
    (ar,) = auth_results(stored(e))
    assert "dkim=pass header.d=signed.example header.s=sel header.a=rsa-sha256" in ar, ar
    assert "spf=fail" in ar and "dmarc=pass" in ar, ar
    # The same signature over a changed body fails, and DMARC then rejects.
    code, full = send(e, "bounce@signed.example", sig + msg.replace(b"Hello", b"Jello"))
    assert code == 550, full


def test_ed25519_dkimpy_signature_verifies(env):
    seed = bytes(range(32))
    import nacl.signing  # python3-nacl, installed with python3-dkim
    pub = base64.b64encode(bytes(nacl.signing.SigningKey(seed).verify_key)).decode()
    zone = dict(ZONE)
    zone["ed._domainkey.signed.example"] = {"TXT": [txt("v=DKIM1; k=ed25519; p=" + pub)]}
    e = checked_env(env, zones=zone)
    msg = make_message("ed", "x\r\n", sender="a@signed.example", to="ana@local.example")
    sig = dkim.sign(msg, b"ed", b"signed.example", base64.b64encode(seed), signature_algorithm=b"ed25519-sha256")
    code, full = send(e, "a@signed.example", sig + msg)
    assert code == 250, full
    assert "dkim=pass header.d=signed.example header.s=ed header.a=ed25519-sha256" in auth_results(stored(e))[0]


def dkim_keys(v, domain="local.example"):
    """{selector: key record} of every key `valija dkim list` shows (any state)."""
    keys = {}
    for line in v.cli_ok("dkim", "list", domain).stdout.splitlines():
        m = re.match(r'\s+(\S+)\._domainkey\.%s\. IN TXT \(?\s*(.*?)\s*\)?$' % re.escape(domain), line)
        if m:
            keys[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
    return keys


def test_valija_signs_submitted_mail_and_dkimpy_verifies(env):
    e = env(extra='[submission]\ncleartext = "always"\n')
    for algo in ("ed25519", "rsa2048"):
        out = e.v.cli_ok("dkim", "generate", "local.example", "--algo", algo, "--activate").stdout
        assert " active " in out
    keys = dkim_keys(e.v)
    assert len(keys) == 2, keys
    c = submit(e)
    c.sendmail("ana@local.example", ["bob@remote.example"],
               make_message("signed by valija", "Body.\r\n", sender="ana@local.example", to="bob@remote.example"))
    c.quit()
    data = e.sink.wait_transactions(1)[0].data
    assert data.count(b"DKIM-Signature:") == 2, data[:2000]
    dns = lambda name, timeout=5: keys[name.decode().split(".")[0]]  # noqa: E731
    d = dkim.DKIM(data)
    assert d.verify(idx=0, dnsfunc=dns) and d.verify(idx=1, dnsfunc=dns)
    # Oversigned: an added Subject breaks the signature.
    assert not dkim.verify(b"Subject: added\r\n" + data, dnsfunc=dns)


def test_forged_authentication_results_removed(env):
    e = checked_env(env)
    forged = ["Authentication-Results: mx.local.example; dkim=pass header.d=bank.example",
              "Authentication-Results: MX.LOCAL.EXAMPLE.;\r\n\tdmarc=pass header.from=bank.example",
              "Authentication-Results: other.example; spf=pass smtp.mailfrom=x@bank.example"]
    code, full = send(e, "bob@pass.example", make_message("forged", "x", sender="bob@pass.example",
                                                          to="ana@local.example", extra_headers=forged))
    assert code == 250, full
    ars = auth_results(stored(e))
    assert len(ars) == 2, ars
    assert "bank.example" not in ars[0] and "spf=pass" in ars[0]
    assert ars[1].startswith("Authentication-Results: other.example;")


def test_blocklisted_client_refused(env):
    zone = dict(ZONE)
    zone["1.0.0.127.bl.example"] = {"A": ["127.0.0.2"]}
    e = checked_env(env, extra='blocklists = ["clean.example", "bl.example"]\n', zones=zone)
    with e.v.raw() as c:
        code, _, full = c.reply()
        assert code == 554 and "5.7.1" in full and "bl.example" in full and "127.0.0.1" in full, full
        code, _, full = c.cmd("EHLO client.example")
        assert code == 503, full
        assert c.cmd("QUIT")[0] == 221
    e.v.wait_log(r"event=blocklisted .*list=bl\.example")


def test_iprev_in_authentication_results(env):
    zone = dict(ZONE)
    zone["1.0.0.127.in-addr.arpa"] = {"PTR": ["client.pass.example."]}
    zone["client.pass.example"] = {"A": ["127.0.0.1"]}
    e = checked_env(env, zones=zone)
    code, full = send(e, "bob@pass.example", make_message("iprev", "x", sender="bob@pass.example",
                                                          to="ana@local.example"))
    assert code == 250, full
    m = stored(e)
    assert "iprev=pass (client.pass.example) policy.iprev=127.0.0.1" in auth_results(m)[0]
    assert re.search(rb"^Received: from client\.example \(client\.pass\.example \[127\.0\.0\.1\]", m, re.M), m[:800]


def test_iprev_required_refuses_unnamed_client(env):
    e = checked_env(env, extra='iprev = "require"\n', zones=ZONE)
    with e.v.raw() as c:
        code, _, full = c.reply()
        assert code == 554 and "5.7.25" in full, full


def test_connection_rate_limit(env):
    e = checked_env(env, extra="connections_per_minute = 2\n")
    for _ in range(2):
        with e.v.raw() as c:
            c.greeting()
    with e.v.raw() as c:
        code, _, full = c.reply()
        assert code == 421 and "Too many connections" in full, full
    e.v.wait_log(r"event=rate_limited .*limit=connections_per_minute")


def test_message_rate_limit(env):
    e = checked_env(env, extra="messages_per_hour = 1\n")
    msg = make_message("one", "x", sender="bob@pass.example", to="ana@local.example")
    assert send(e, "bob@pass.example", msg)[0] == 250
    code, full = send(e, "bob@pass.example", msg)
    assert code == 451 and "4.7.1" in full, full


def test_greylisting_defers_then_accepts(env):
    e = checked_env(env, extra="greylist = true\ngreylist_delay = 1\n")
    msg = make_message("grey", "x", sender="bob@pass.example", to="ana@local.example")
    code, full = send(e, "bob@pass.example", msg)
    assert code == 451 and "Greylisted" in full, full
    deadline = time.monotonic() + 10
    while True:  # the retry a sending server would make, once the delay has passed
        code, full = send(e, "bob@pass.example", msg)
        if code == 250 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert code == 250, full
    # Remembered: the next message of the triplet passes at once.
    assert send(e, "bob@pass.example", msg)[0] == 250


def test_loopback_exempt_by_default(env):
    e = env(zones=ZONE)
    code, full = send(e, "ceo@reject.example", make_message("local", "x", sender="ceo@reject.example",
                                                             to="ana@local.example"))
    assert code == 250, full
    assert auth_results(stored(e)) == []


def test_dns_failure_during_checks_never_refuses_by_default(env):
    """SECURITY-CASES "DNS timeout or SERVFAIL during policy checks": SPF and DMARC
    answer temperror and the message is accepted (with spf_temperror = "defer", next
    test, the client is told to retry: 451 4.7.24); never refused."""
    e = checked_env(env, servfail=("broken.example", "_dmarc.broken.example"))
    code, full = send(e, "bob@broken.example", make_message("dns", "x", sender="bob@broken.example",
                                                            to="ana@local.example"))
    assert code == 250, full
    (ar,) = auth_results(stored(e))
    assert "spf=temperror" in ar and "dmarc=temperror" in ar, ar


def test_dns_timeout_during_checks_never_refuses(env):
    """SECURITY-CASES "DNS timeout ... during policy checks": a resolver that never
    answers for the sender's domain gives temperror (after [dns] timeout), the message
    is accepted, never refused."""
    e = checked_env(env, silent=("slow.example", "_dmarc.slow.example"))
    code, full = send(e, "bob@slow.example", make_message("dns-timeout", "x", sender="bob@slow.example",
                                                          to="ana@local.example"))
    assert code == 250, full
    (ar,) = auth_results(stored(e))
    assert "spf=temperror" in ar and "dmarc=temperror" in ar, ar


def test_spf_temperror_can_defer(env):
    e = checked_env(env, extra='spf_temperror = "defer"\n', servfail=("broken.example",))
    with e.v.raw() as c:
        c.greeting()
        c.ehlo()
        code, _, full = c.cmd("MAIL FROM:<bob@broken.example>")
        assert code == 451 and "4.7.24" in full, full
