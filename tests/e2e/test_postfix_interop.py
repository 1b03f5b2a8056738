"""Interop with Postfix (Debian's package, private instances: postfix_peer.py), both
ways and over STARTTLS: valija's queue delivering to Postfix as the destination MTA
found through MX, and Postfix relaying into valija's port 25.
"""
import os
import smtplib

import pytest

from conftest import make_message
from outbound_env import env  # noqa: F401 (fixture)
from postfix_peer import PostfixPeer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a Postfix instance starts as root")


def test_valija_delivers_to_postfix_over_starttls(env):
    e = env(queue_tls="opportunistic")
    e.sink.stop()  # Postfix takes the sink's place at mx.remote.example
    cert = e.v.data / "tls" / "cert.pem"
    key = e.v.data / "tls" / "key.pem"
    pf = PostfixPeer("127.0.0.2", e.port, cert, key, mailboxes=["bob@remote.example"]).start()
    try:
        e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
        msg = make_message("to postfix", "hello postfix\r\n", sender="ana@local.example", to="fwd@local.example")
        assert e.send("ana@local.example", ["fwd@local.example"], msg).startswith("250")
        [got] = pf.wait_messages("bob@remote.example")
        assert b"Subject: to postfix" in got and b"hello postfix" in got
        assert b"by mx.local.example (valija)" in got
        # Postfix's Received header records the TLS session valija opened.
        assert b"(using TLSv1.3" in got or b"(using TLSv1.2" in got, got[:800].decode()
        e.v.wait_log(r"event=queue_sent .*remote=mx.remote.example\[127.0.0.2\] tls=\"TLSv1")
        e.wait_queue_empty()
    finally:
        pf.stop()


def test_postfix_relays_into_valija_over_starttls(env):
    e = env()
    cert = e.v.data / "tls" / "cert.pem"
    key = e.v.data / "tls" / "key.pem"
    pf = PostfixPeer("127.0.0.5", e.port, cert, key,
                     relayhost="[127.0.0.1]:%d" % e.v.ports["smtp"], name="relay.peer.example").start()
    try:
        c = smtplib.SMTP("127.0.0.5", e.port, timeout=20)
        c.sendmail("carol@peer.example", ["ana@local.example"],
                   make_message("from postfix", "relayed by postfix\r\n", sender="carol@peer.example",
                                to="ana@local.example"))
        c.quit()
        e.v.wait_log(r"event=delivered .*to=\"?ana@local.example\"?", timeout=30)
        [stored] = e.v.bodies("ana@local.example")
        assert b"Subject: from postfix" in stored
        # valija's own Received header: from Postfix, over TLS.
        assert b"from relay.peer.example" in stored and b"with ESMTPS" in stored, stored[:600].decode()
    finally:
        pf.stop()
