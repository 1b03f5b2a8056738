"""SCRAM on IMAP and POP3, from the SASL module SMTP uses too (test_submission.py):
GNU SASL as an IMAP client (with tls-exporter channel binding on TLS 1.3), imaplib and
raw POP3 with a client written from the RFC (tls-server-end-point), wrong passwords,
and no AUTHENTICATE of any kind before TLS where cleartext is not allowed.
"""
import base64
import imaplib
import poplib
import subprocess

import pytest

from conftest import NET_TIMEOUT, insecure_context
from scram_client import ScramClient, server_end_point

PASSWORD = "s3cret-pass"


@pytest.fixture(scope="module")
def v(shared_valija):
    shared_valija.cli("user", "add", "scram@localhost", "--password-stdin", input=PASSWORD + "\n")
    return shared_valija


def gsasl_imap(v, mechanism, password=PASSWORD):
    args = ["gsasl", "--imap", "--connect=127.0.0.1:%d" % v.ports["imap"], "--starttls",
            "--x509-ca-file=%s" % (v.data / "tls" / "cert.pem"),
            "-a", "scram@localhost", "-p", password, "-m", mechanism]
    if not mechanism.endswith("-PLUS"):
        args.append("--no-cb")
    cp = subprocess.run(args, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return cp.stdout + cp.stderr


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
def test_imap_scram_with_gsasl(v, mechanism):
    out = gsasl_imap(v, mechanism)
    assert "] Logged in" in out, out
    v.wait_log(r"event=imap_login .*user=\"?scram@localhost\"? method=%s" % mechanism)
    bad = gsasl_imap(v, mechanism, password="wrong")
    assert "AUTHENTICATIONFAILED" in bad, bad


def test_imap_scram_plus_with_imaplib(v):
    c = imaplib.IMAP4_SSL("127.0.0.1", v.ports["imaps"], ssl_context=insecure_context(), timeout=NET_TIMEOUT)
    caps = c.capabilities
    assert "AUTH=SCRAM-SHA-256-PLUS" in caps and "AUTH=SCRAM-SHA-1" in caps, caps
    client = ScramClient("scram@localhost", PASSWORD, cb_type="tls-server-end-point", cb_data=server_end_point(c.sock))
    steps = iter([client.first, client.final, lambda data: b"" if client.verify(data) else b"*"])

    def answer(challenge):
        step = next(steps)
        return step() if step == client.first else step(challenge)
    typ, _ = c.authenticate("SCRAM-SHA-256-PLUS", answer)
    assert typ == "OK"
    assert c.select("INBOX")[0] == "OK"
    c.logout()


def pop3_scram(v, password, tls=True, mech="SCRAM-SHA-256-PLUS"):
    p = poplib.POP3_SSL("127.0.0.1", v.ports["pop3s"], context=insecure_context(), timeout=NET_TIMEOUT)
    client = ScramClient("scram@localhost", password, cb_type="tls-server-end-point" if mech.endswith("PLUS") else None,
                         cb_data=server_end_point(p.sock) if mech.endswith("PLUS") else b"")
    try:
        r = p._shortcmd("AUTH %s %s" % (mech, base64.b64encode(client.first()).decode()))
        assert r.startswith(b"+ "), r
        r = p._shortcmd(base64.b64encode(client.final(base64.b64decode(r[2:]))).decode())
        assert r.startswith(b"+ ") and client.verify(base64.b64decode(r[2:])), r
        r = p._shortcmd("")
        assert r.startswith(b"+OK"), r
        stat = p.stat()
        p.quit()
        return stat
    except poplib.error_proto as e:
        return e.args[0]


def test_pop3_scram(v):
    assert isinstance(pop3_scram(v, PASSWORD), tuple)
    assert isinstance(pop3_scram(v, PASSWORD, mech="SCRAM-SHA-256"), tuple)
    bad = pop3_scram(v, "wrong")
    assert bad.startswith(b"-ERR"), bad
    p = poplib.POP3_SSL("127.0.0.1", v.ports["pop3s"], context=insecure_context(), timeout=NET_TIMEOUT)
    assert "SCRAM-SHA-256-PLUS" in p.capa()["SASL"]
    p.quit()
