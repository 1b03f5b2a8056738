"""DKIM signing of the mail valija sends (docs/authentication.md, "Signing"): mail
forwarded to another domain ([dkim] sign_forwarded) and mail relayed for
[smtp] trusted_networks, verified with dkimpy; key rotation while the server runs
(`valija dkim generate` + `activate`, then SIGHUP so the server reads its keys again,
an event the test waits for rather than the 30 s refresh), where the retired key stays
published and still verifies the mail it signed; and valija-signed mail piped into
Debian's `dkimverify` command, which looks the keys up in the test DNS server.
"""
import re
import signal
import subprocess

import dkim

from conftest import CLI_TIMEOUT, make_message
from outbound_env import env  # noqa: F401 - the env fixture
from test_dns_records import zone
from test_mail_auth import dkim_keys
from test_submission import submit


def signatures(data):
    """[(d=, s=)] of every DKIM-Signature of `data`, in order."""
    header = re.sub(rb"\r\n[ \t]+", b" ", data.split(b"\r\n\r\n", 1)[0]).decode()
    fields = re.findall(r"^DKIM-Signature:(.*)$", header, re.M | re.I)
    return [(re.search(r"\bd=([^;\s]+)", f).group(1), re.search(r"\bs=([^;\s]+)", f).group(1)) for f in fields]


def verified(data, keys):
    """The (d=, s=) of every signature of `data`, each verified by dkimpy with `keys`
    ({selector: key record})."""
    dnsfunc = lambda name, timeout=5: keys.get(name.decode().split(".")[0])  # noqa: E731
    sigs = signatures(data)
    for i, sig in enumerate(sigs):
        assert dkim.DKIM(data).verify(idx=i, dnsfunc=dnsfunc), (sig, data[:1500])
    return sigs


def activate_key(e, selector, algo="ed25519", domain="local.example"):
    e.v.cli_ok("dkim", "generate", domain, "--algo", algo, "--selector", selector, "--activate")


def test_forwarded_mail_signed_by_the_forwarding_domain(env):
    e = env(extra="[dkim]\nsign_forwarded = true\n")
    activate_key(e, "fwd1")
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    msg = make_message("forwarded", "Via an alias.\r\n", sender="news@sender.example", to="fwd@local.example")
    assert e.send("news@sender.example", ["fwd@local.example"], msg).startswith("250")
    tx = e.sink.wait_transactions(1)[0]
    assert tx.rcpts == ["bob@remote.example"] and tx.sender.startswith("SRS0="), (tx.sender, tx.rcpts)
    # The forwarder's signature (its reputation), not the author's domain's.
    assert verified(tx.data, dkim_keys(e.v)) == [("local.example", "fwd1")]
    e.v.wait_log(r"event=dkim_signed .*domain=local\.example signatures=1")


def test_forwarded_mail_not_signed_by_default(env):
    e = env()
    activate_key(e, "fwd1")
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    msg = make_message("forwarded", "x\r\n", sender="news@sender.example", to="fwd@local.example")
    assert e.send("news@sender.example", ["fwd@local.example"], msg).startswith("250")
    assert signatures(e.sink.wait_transactions(1)[0].data) == []


def test_trusted_network_relay_signed_for_its_from_domain(env):
    e = env(extra='[smtp]\ntrusted_networks = ["127.0.0.1/32"]\n')
    activate_key(e, "app1")
    activate_key(e, "app2", algo="rsa2048")
    msg = make_message("from an app", "Invoice attached.\r\n", sender="billing@local.example",
                       to="someone@remote.example")
    assert e.send("bounces@local.example", ["someone@remote.example"], msg).startswith("250")
    # A From in a domain valija has no keys for goes out unsigned.
    other = make_message("not ours", "x\r\n", sender="app@internal.example", to="someone@remote.example")
    assert e.send("app@internal.example", ["someone@remote.example"], other).startswith("250")
    txs = e.sink.wait_transactions(2)
    by_subject = {re.search(rb"Subject: (.*)\r\n", t.data).group(1): t for t in txs}
    assert sorted(verified(by_subject[b"from an app"].data, dkim_keys(e.v))) == [("local.example", "app1"),
                                                                                 ("local.example", "app2")]
    assert signatures(by_subject[b"not ours"].data) == []


# ---- dkimverify, the command -------------------------------------------------------------

# dkimverify (python3-dkim) looks keys up with dnspython's default resolver, which reads
# the servers from /etc/resolv.conf; the command has no option for another server, and a
# test cannot change /etc/resolv.conf. So the real command is run (its script, as
# `python3 /usr/bin/dkimverify` would) with only that resolver pointed at the test DNS
# server: the key lookups are real DNS queries to it.
DKIMVERIFY = "/usr/bin/dkimverify"
RUN_DKIMVERIFY = """
import runpy, sys
import dns.resolver
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = int(sys.argv.pop(1))
dns.resolver.default_resolver = resolver
sys.argv[0] = "%s"
runpy.run_path("%s", run_name="__main__")
""" % (DKIMVERIFY, DKIMVERIFY)


def dkimverify(data, dns_port, index=0):
    cp = subprocess.run(["/usr/bin/python3", "-c", RUN_DKIMVERIFY, str(dns_port), "--index", str(index)],
                        input=data, capture_output=True, timeout=CLI_TIMEOUT)
    return cp.returncode, cp.stdout.decode().strip(), cp.stderr.decode()


def publish_keys(e, domain="local.example"):
    """Serve the DKIM records `valija dns-records` prints (retired keys included) from
    the test DNS server."""
    out = e.v.cli_ok("dns-records", domain, "--hostname", "mx." + domain, "--address", "127.0.0.1").stdout
    for name, rrs in zone(out).items():
        if "._domainkey." in name:
            e.dns.records[name] = {"TXT": rrs["TXT"]}
    return out


def sent_through_submission(e, subject, n):
    c = submit(e)
    c.sendmail("ana@local.example", ["bob@remote.example"],
               make_message(subject, "Signed by valija.\r\n", sender="ana@local.example", to="bob@remote.example"))
    c.quit()
    return e.sink.wait_transactions(n)[n - 1].data


def test_dkimverify_command_verifies_valija_signatures(env):
    e = env(extra='[submission]\ncleartext = "always"\n')
    activate_key(e, "ed1")
    activate_key(e, "rsa1", algo="rsa2048")
    publish_keys(e)
    data = sent_through_submission(e, "for dkimverify", 1)
    assert sorted(signatures(data)) == [("local.example", "ed1"), ("local.example", "rsa1")]
    for index in (0, 1):
        assert dkimverify(data, e.dns.port, index)[:2] == (0, "signature ok")
    assert {("ed1._domainkey.local.example", "TXT"), ("rsa1._domainkey.local.example", "TXT")} <= set(e.dns.queries)
    # A changed body fails (dkimverify ends in a traceback for it), and so does a key
    # the DNS does not have.
    rc, out, err = dkimverify(data.replace(b"Signed by valija.", b"Signed by someone."), e.dns.port)
    assert rc == 1 and out == "" and "body hash mismatch" in err, (rc, out, err)
    e.dns.records.pop("ed1._domainkey.local.example")
    rc, out, err = dkimverify(data, e.dns.port, signatures(data).index(("local.example", "ed1")))
    assert rc == 1 and "signature ok" not in out, (rc, out, err)


# ---- rotation while the server runs ------------------------------------------------------

def reread_keys(e):
    """SIGHUP, then wait until the server has dropped its cached signing keys."""
    mark = e.v.log_mark()
    e.v.signal(signal.SIGHUP)
    e.v.wait_log(r"event=reload dkim=ok", since=mark)


def test_key_rotation_without_restart(env):
    e = env(extra='[submission]\ncleartext = "always"\n')
    activate_key(e, "old")
    first = sent_through_submission(e, "before rotation", 1)
    assert signatures(first) == [("local.example", "old")]
    # A new key is pending until activated: it does not sign yet, even after a re-read.
    e.v.cli_ok("dkim", "generate", "local.example", "--algo", "ed25519", "--selector", "new")
    reread_keys(e)
    assert signatures(sent_through_submission(e, "pending", 2)) == [("local.example", "old")]
    out = e.v.cli_ok("dkim", "activate", "local.example", "new").stdout
    assert "old retired" in out and "new active" in out, out
    reread_keys(e)
    second = sent_through_submission(e, "after rotation", 3)
    assert signatures(second) == [("local.example", "new")]
    # During the overlap the retired key stays published (dns-records lists it, marked
    # retired) and the mail it signed still verifies; so does the new key's.
    out = publish_keys(e)
    assert re.search(r"^old\._domainkey\.local\.example\. .*; retired", out, re.M), out
    keys = dkim_keys(e.v)
    assert verified(first, keys) == [("local.example", "old")]
    assert verified(second, keys) == [("local.example", "new")]
    assert dkimverify(first, e.dns.port)[:2] == (0, "signature ok")
    assert dkimverify(second, e.dns.port)[:2] == (0, "signature ok")
