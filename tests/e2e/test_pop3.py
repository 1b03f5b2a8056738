"""POP3 (issue 3): RFC 1939 with CAPA, STLS, AUTH, UTF8, over cleartext (loopback),
STLS and implicit TLS; Python's poplib, a raw client for exact replies, fetchmail and
getmail6.

Mail is delivered over SMTP; what POP3 must return is what the store holds (`valija
mail show`): the trace header block valija adds plus the message as sent, CRLF line
ends. Replies are the ones src/pop3/proto/engine.cpp produces.
"""
import base64
import os
import poplib
import pwd
import re
import select
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (NET_TIMEOUT, RawSmtp, dot_stuff, insecure_context, make_message,
                      split_trace)

ANA = "ana@localhost"
ANA_PW = "ana-Pass-1234"
BOB = "bob@localhost"
BOB_PW = "bob-Pass-5678"
TRACE_RE = r"250 2\.0\.0 Ok: delivered as (\S+)"
CLIENT_TIMEOUT = 60  # fetchmail / getmail runs

CAPS_ALWAYS = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "UTF8"]


# ---- helpers -------------------------------------------------------------------------

def deliver(v, msg, rcpt=ANA, sender="sender@example.org"):
    """Deliver `msg` (CRLF bytes) over SMTP; returns (trace, uidvalidity, uid)."""
    mark = v.log_mark()
    with v.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<%s>" % sender, "250 2.1.0")
        c.expect("RCPT TO:<%s>" % rcpt, "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        full = c.reply()[2]
        m = re.fullmatch(TRACE_RE, full)
        assert m, full
        c.expect("QUIT", "221")
    trace = m.group(1)
    d = v.wait_log(r"event=delivered trace=%s .*\bto=%s\b.*\buidvalidity=(\d+) uid=(\d+)"
                   % (re.escape(trace), re.escape(rcpt)), since=mark)
    return trace, int(d.group(1)), int(d.group(2))


def uidl_of(uidvalidity, uid):
    return "%08x%08x" % (uidvalidity, uid)


def sample_messages():
    """Three messages: plain, lines starting with '.', and a large 8-bit one."""
    m1 = make_message("first", "Hello Ana,\r\nthis is the first message.\r\n", to=ANA)
    m2 = make_message("dots", ".\r\n..\r\n.hidden line\r\n...three\r\n"
                      "middle\r\n. space after dot\r\nend\r\n", to=ANA)
    big = "".join("line %05d: \u00e1rbol ni\u00f1o caf\u00e9 %s\r\n" % (i, "x" * (i % 70))
                  for i in range(3000))
    m3 = make_message("big", big.encode("utf-8"), to=ANA,
                      extra_headers=["MIME-Version: 1.0",
                                     "Content-Type: text/plain; charset=utf-8",
                                     "Content-Transfer-Encoding: 8bit"])
    return [m1, m2, m3]


def deliver_samples(v, rcpt=ANA):
    """Deliver the sample messages; returns [(sent, stored, uidl)] oldest first."""
    out = []
    for msg in sample_messages():
        _, uv, uid = deliver(v, msg, rcpt)
        out.append((msg, uv, uid))
    stored = v.bodies(rcpt)
    assert len(stored) == len(out)
    res = []
    for (msg, uv, uid), st in zip(out, stored):
        assert split_trace(st)[1] == msg
        res.append((msg, st, uidl_of(uv, uid)))
    return res


def header_of(stored):
    """Header block of a stored message including the blank line (TOP n 0)."""
    return stored[:stored.index(b"\r\n\r\n") + 4]


def body_lines(stored):
    return stored[stored.index(b"\r\n\r\n") + 4:].split(b"\r\n")[:-1]


def joined(lines):
    """poplib's list of lines (CRLF stripped, un-stuffed) back to message bytes."""
    return b"".join(l + b"\r\n" for l in lines)


def pop(v, mode="plain", timeout=NET_TIMEOUT):
    """A poplib client, not logged in: plain (cleartext on pop3), stls, or ssl (pop3s)."""
    if mode == "ssl":
        return poplib.POP3_SSL("127.0.0.1", v.ports["pop3s"], timeout=timeout,
                               context=insecure_context())
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=timeout)
    if mode == "stls":
        assert p.stls(context=insecure_context()).startswith(b"+OK")
    else:
        assert mode == "plain", mode
    return p


def login(v, mode="plain", user=ANA, password=ANA_PW):
    p = pop(v, mode)
    try:
        assert p.user(user) == b"+OK Send PASS"
        resp = p.pass_(password)
        assert re.fullmatch(rb"\+OK Maildrop has \d+ messages \(\d+ octets\)", resp), resp
    except BaseException:
        p.close()
        raise
    return p


def err_text(excinfo):
    a = excinfo.value.args[0]
    return a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a)


def login_tls(line):
    """Whether a pop3_login log line says the session was over TLS."""
    m = re.search(r'\btls=(no\b|"TLSv1\.[23] )', line)
    assert m, line
    return m.group(1) != "no"


# The log line that ends every POP3 session (QUIT, drop, timeout, error limit):
# pop3_logout after a login, pop3_disconnect without one.
SESSION_END = r"event=pop3_(?:logout|disconnect)\b"


def wait_session_end(v, since, user=None):
    rx = SESSION_END
    if user:
        rx += r".*\buser=%s\b" % re.escape(user)
    return v.wait_log(rx, since=since)


class RawPop3(RawSmtp):
    """A byte-level POP3 client (reuses RawSmtp's buffering and EOF handling)."""

    def __init__(self, port, tls=False, source=None, timeout=NET_TIMEOUT):
        self.timeout = timeout
        self.buf = b""
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout,
            source_address=(source, 0) if source else None)
        if tls:
            self.sock = insecure_context().wrap_socket(self.sock, server_hostname="localhost")

    def line_bytes(self, timeout=None):
        while b"\r\n" not in self.buf:
            self._fill(timeout)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def line(self, timeout=None):
        return self.line_bytes(timeout).decode("utf-8", "replace")

    def cmd(self, line, timeout=None):
        """Send one command, return the first reply line (str)."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.line(timeout)

    def expect(self, line, prefix):
        r = self.cmd(line)
        assert r.startswith(prefix), "%r -> %r (expected %r)" % (line, r, prefix)
        return r

    def multi_raw(self):
        """Body lines of a multi-line response as on the wire (still stuffed), up to '.'."""
        out = []
        while True:
            l = self.line_bytes()
            if l == b".":
                return out
            out.append(l)

    def multi(self):
        return [l[1:] if l.startswith(b".") else l for l in self.multi_raw()]

    def cmd_multi(self, line):
        first = self.cmd(line)
        assert first.startswith("+OK"), "%r -> %r" % (line, first)
        return first, self.multi()

    def greeting(self):
        g = self.line()
        assert g.startswith("+OK "), g
        return g

    def login(self, user=ANA, password=ANA_PW):
        self.expect("USER " + user, "+OK Send PASS")
        r = self.cmd("PASS " + password)
        assert re.fullmatch(r"\+OK Maildrop has \d+ messages \(\d+ octets\)", r), r
        return r

    def quit(self):
        """QUIT, then close our end: the server waits for the TLS close."""
        r = self.cmd("QUIT")
        assert r.startswith("+OK "), r
        self.close()
        return r

    def starttls(self):
        assert self.cmd("STLS") == "+OK Begin TLS negotiation"
        assert not self.buf, "bytes after the STLS reply: %r" % self.buf
        self.sock = insecure_context().wrap_socket(self.sock, server_hostname="localhost")


def raw(v, role="pop3", **kw):
    return RawPop3(v.ports[role], tls=(role == "pop3s"), **kw)


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


@pytest.fixture
def v(valija):
    """Local mode server with ana@localhost and bob@localhost."""
    valija.add_user(ANA, ANA_PW)
    valija.add_user(BOB, BOB_PW)
    return valija


POP3_CONFIG = """\
hostname = "pop.test.example"
domains = ["test.example"]
log_level = "info"

[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"

[[listener]]
address = "127.0.0.1"
port = $pop3_port
role = "pop3"

[[listener]]
address = "127.0.0.1"
port = $pop3s_port
role = "pop3s"
"""

CAROL = "carol@test.example"
CAROL_PW = "carol-Pass-9012"


def config_server(valija_factory, extra=""):
    v = valija_factory()
    v.start(config=POP3_CONFIG + "\n" + extra)
    v.add_user(CAROL, CAROL_PW)
    return v


# ---- download: counts and content byte-exact, three transports ------------------------

@pytest.mark.parametrize("mode", ["plain", "stls", "ssl"])
def test_download_byte_exact(v, mode):
    msgs = deliver_samples(v)
    mark = v.log_mark()
    p = login(v, mode)
    line = v.wait_log(r"event=pop3_login\b.*", since=mark).group(0)
    assert login_tls(line) == (mode != "plain"), line
    total = sum(len(st) for _, st, _ in msgs)
    assert p.stat() == (3, total)
    resp, listing, _ = p.list()
    assert resp == b"+OK 3 messages (%d octets)" % total
    assert listing == [b"%d %d" % (i + 1, len(st)) for i, (_, st, _) in enumerate(msgs)]
    for i, (_, st, _) in enumerate(msgs):
        assert p.list(i + 1) == b"+OK %d %d" % (i + 1, len(st))
    for i, (sent, st, _) in enumerate(msgs):
        resp, lines, _ = p.retr(i + 1)
        assert resp == b"+OK %d octets" % len(st)
        got = joined(lines)
        assert got == st, "message %d differs" % (i + 1)
        assert split_trace(got)[1] == sent
    assert p.quit() == b"+OK localhost POP3 server signing off (3 messages left)"
    line = v.wait_log(r"event=pop3_logout\b.*", since=mark).group(0)
    assert re.search(r"\bretrieved=3\b", line) and re.search(r"\bdeleted=0\b", line), line
    assert re.search(r"\buser=%s\b" % re.escape(ANA), line), line
    # nothing changed in the store
    assert v.bodies(ANA) == [st for _, st, _ in msgs]


def test_empty_maildrop(v):
    p = login(v)
    assert p.stat() == (0, 0)
    assert p.list()[:2] == (b"+OK 0 messages (0 octets)", [])
    assert p.uidl()[:2] == (b"+OK Unique-ID listing follows", [])
    with pytest.raises(poplib.error_proto) as ei:
        p.retr(1)
    assert err_text(ei) == "-ERR No such message"
    assert p.quit() == b"+OK localhost POP3 server signing off (0 messages left)"


def test_maildrops_are_per_account(v):
    deliver(v, make_message("for-ana", "a\r\n", to=ANA), ANA)
    deliver(v, make_message("for-bob-1", "b\r\n", to=BOB), BOB)
    deliver(v, make_message("for-bob-2", "bb\r\n", to=BOB), BOB)
    a = login(v, user=ANA, password=ANA_PW)
    b = login(v, user=BOB, password=BOB_PW)  # two accounts at once: no IN-USE
    assert a.stat()[0] == 1 and b.stat()[0] == 2
    assert joined(a.retr(1)[1]) == v.bodies(ANA)[0]
    assert joined(b.retr(2)[1]) == v.bodies(BOB)[1]
    a.quit()
    b.quit()


# ---- DELE, QUIT, drop, RSET -------------------------------------------------------------

def test_dele_quit_removes(v):
    msgs = deliver_samples(v)
    mark = v.log_mark()
    p = login(v, "stls")
    assert p.dele(1) == b"+OK Message 1 deleted"
    assert p.dele(3) == b"+OK Message 3 deleted"
    assert p.stat() == (1, len(msgs[1][1]))
    # deleted messages are gone from LIST/UIDL and refused by RETR/TOP/DELE/LIST n
    assert p.list()[1] == [b"2 %d" % len(msgs[1][1])]
    assert p.uidl()[1] == [b"2 " + msgs[1][2].encode()]
    for call in (lambda: p.retr(1), lambda: p.top(3, 0), lambda: p.dele(1), lambda: p.list(3),
                 lambda: p.uidl(1)):
        with pytest.raises(poplib.error_proto) as ei:
            call()
        assert re.fullmatch(r"-ERR Message [13] already deleted", err_text(ei)), err_text(ei)
    assert p.quit() == b"+OK localhost POP3 server signing off (2 messages deleted, 1 left)"
    line = v.wait_log(r"event=pop3_logout\b.*", since=mark).group(0)
    assert re.search(r"\bdeleted=2\b", line) and re.search(r"\bretrieved=0\b", line), line
    # gone for the CLI (the store) ...
    left = v.messages(ANA)
    assert len(left) == 1 and v.message(ANA, left[0]["uid"]) == msgs[1][1]
    # ... and for a new session, renumbered
    p = login(v, "ssl")
    assert p.stat() == (1, len(msgs[1][1]))
    assert joined(p.retr(1)[1]) == msgs[1][1]
    assert p.uidl(1) == b"+OK 1 " + msgs[1][2].encode()
    p.quit()


def test_dele_all_then_quit(v):
    msgs = deliver_samples(v)
    p = login(v)
    for i in range(len(msgs)):
        p.dele(i + 1)
    assert p.stat() == (0, 0)
    assert p.quit() == b"+OK localhost POP3 server signing off (3 messages deleted, 0 left)"
    assert v.messages(ANA) == []
    assert login(v).stat() == (0, 0)


def test_dele_then_drop_keeps(v):
    msgs = deliver_samples(v)
    mark = v.log_mark()
    c = raw(v)
    c.greeting()
    c.login()
    for i in (1, 2, 3):
        assert c.cmd("DELE %d" % i) == "+OK Message %d deleted" % i
    assert c.cmd("STAT") == "+OK 0 0"
    c.close()  # no QUIT
    wait_session_end(v, mark)
    assert v.bodies(ANA) == [st for _, st, _ in msgs]
    # the lock is gone and all three are there
    p = login(v)
    assert p.stat() == (3, sum(len(st) for _, st, _ in msgs))
    p.quit()


def test_dele_then_tls_drop_keeps(v):
    msgs = deliver_samples(v)
    mark = v.log_mark()
    c = raw(v, "pop3s")
    c.greeting()
    c.login()
    c.expect("DELE 2", "+OK Message 2 deleted")
    c.sock.close()  # TCP close without TLS close_notify and without QUIT
    wait_session_end(v, mark)
    assert len(v.messages(ANA)) == len(msgs)


def test_dele_then_kill9_keeps(v):
    """RFC 1939 §6 / SECURITY-CASES: deletions happen only in the UPDATE state; a server
    killed (kill -9) after DELE and before QUIT has deleted nothing."""
    msgs = deliver_samples(v)
    c = raw(v)
    c.greeting()
    c.login()
    for i in (1, 2, 3):
        assert c.cmd("DELE %d" % i) == "+OK Message %d deleted" % i
    assert c.cmd("STAT") == "+OK 0 0"
    assert v.kill9() == -9
    c.close()
    v.start(port_base=v.port_base)
    assert v.bodies(ANA) == [st for _, st, _ in msgs]
    p = login(v)  # no stale IN-USE lock either
    assert p.stat() == (3, sum(len(st) for _, st, _ in msgs))
    assert [l.split()[1].decode() for l in p.uidl()[1]] == [u for _, _, u in msgs]
    p.quit()


def test_rset(v):
    msgs = deliver_samples(v)
    total = sum(len(st) for _, st, _ in msgs)
    p = login(v)
    p.dele(1)
    p.dele(2)
    assert p.stat() == (1, len(msgs[2][1]))
    assert p.rset() == b"+OK Maildrop has 3 messages (%d octets)" % total
    assert p.stat() == (3, total)
    assert len(p.list()[1]) == 3
    assert joined(p.retr(1)[1]) == msgs[0][1]
    # delete again after RSET, then RSET again: nothing goes at QUIT
    p.dele(3)
    p.rset()
    assert p.quit() == b"+OK localhost POP3 server signing off (3 messages left)"
    assert len(v.messages(ANA)) == 3
    # RSET then DELE of one: only that one goes
    p = login(v)
    p.dele(1)
    p.dele(2)
    p.rset()
    p.dele(2)
    assert p.quit() == b"+OK localhost POP3 server signing off (1 messages deleted, 2 left)"
    assert v.bodies(ANA) == [msgs[0][1], msgs[2][1]]


def test_noop_and_quit_in_authorization(v):
    c = raw(v)
    assert c.greeting() == "+OK localhost POP3 server ready"
    assert c.cmd("NOOP") == "-ERR Not logged in"
    assert c.cmd("QUIT") == "+OK localhost POP3 server signing off"
    assert c.closed_by_peer() == b""
    c.close()


# ---- TOP ----------------------------------------------------------------------------------

def test_top(v):
    msgs = deliver_samples(v)
    p = login(v, "ssl")
    for i, (_, st, _) in enumerate(msgs):
        n = i + 1
        resp, lines, _ = p.top(n, 0)
        assert resp == b"+OK Top of message follows"
        assert joined(lines) == header_of(st)
        body = body_lines(st)
        for k in (1, 2, 5):
            _, lines, _ = p.top(n, k)
            assert joined(lines) == header_of(st) + b"".join(l + b"\r\n" for l in body[:k])
        # more lines than the body has: the whole message
        _, lines, _ = p.top(n, 1000000)
        assert joined(lines) == st
    # the dot lines come back un-stuffed by poplib, as sent
    _, lines, _ = p.top(2, 3)
    assert lines[-3:] == [b".", b"..", b".hidden line"]
    # TOP does not count as retrieved, does not mark anything
    assert p.stat()[0] == 3
    p.quit()


def test_top_huge_line_count_gives_whole_message(v):
    """RFC 1939 §7 / SECURITY-CASES: TOP with the largest line count accepted
    (2^31 - 1) sends the whole message, stuffed, and nothing more; TOP and RETR of a
    message that does not exist are -ERR; the session goes on."""
    msgs = deliver_samples(v)
    c = raw(v)
    c.greeting()
    c.login()
    for n, (_, st, _) in enumerate(msgs, 1):
        assert c.cmd("TOP %d 2147483647" % n) == "+OK Top of message follows"
        got = c.multi_raw()
        lines = st.split(b"\r\n")[:-1]
        assert got == [b"." + l if l.startswith(b".") else l for l in lines], n
    for line in ("TOP 4 2147483647", "RETR 4", "RETR 4294967295", "TOP 99 0"):
        r = c.cmd(line)
        assert r in ("-ERR No such message", "-ERR Invalid message number"), (line, r)
    assert c.cmd("STAT") == "+OK 3 %d" % sum(len(st) for _, st, _ in msgs)
    c.quit()


def test_top_wire_is_stuffed(v):
    msgs = deliver_samples(v)
    c = raw(v)
    c.greeting()
    c.login()
    assert c.cmd("TOP 2 4") == "+OK Top of message follows"
    got = c.multi_raw()
    st = msgs[1][1]
    expected = header_of(st).split(b"\r\n")[:-1] + body_lines(st)[:4]
    assert got == [b"." + l if l.startswith(b".") else l for l in expected]
    c.quit()


# ---- UIDL -------------------------------------------------------------------------------

def test_uidl_stable_across_sessions_and_restart(v):
    msgs = deliver_samples(v)
    uidls = [u for _, _, u in msgs]
    for u in uidls:
        assert re.fullmatch(r"[0-9a-f]{16}", u), u
    assert len(set(uidls)) == 3

    p = login(v)
    resp, lines, _ = p.uidl()
    assert resp == b"+OK Unique-ID listing follows"
    assert lines == [b"%d %s" % (i + 1, u.encode()) for i, u in enumerate(uidls)]
    assert p.uidl(2) == b"+OK 2 " + uidls[1].encode()
    p.quit()

    p = login(v, "ssl")
    assert p.uidl()[1] == lines
    p.dele(1)
    p.quit()

    assert v.stop() == 0
    v.start(port_base=v.port_base)
    p = login(v, "stls")
    assert p.uidl()[1] == [b"1 " + uidls[1].encode(), b"2 " + uidls[2].encode()]
    p.quit()

    # a message delivered after the restart gets the next UID in the same UIDVALIDITY
    _, uv, uid = deliver(v, make_message("after-restart", "x\r\n", to=ANA))
    new = uidl_of(uv, uid)
    assert new[:8] == uidls[0][:8] and new not in uidls
    p = login(v)
    assert p.uidl()[1][-1] == b"3 " + new.encode()
    p.quit()


def test_uidl_matches_cli_uids(v):
    deliver_samples(v)
    cli_uids = [m["uid"] for m in v.messages(ANA)]
    p = login(v)
    got = [int(l.split()[1][8:], 16) for l in p.uidl()[1]]
    assert got == cli_uids
    p.quit()


# ---- IN-USE ------------------------------------------------------------------------------

def test_in_use_lock_released_by_quit(v):
    deliver(v, make_message("lock", "x\r\n", to=ANA))
    a = login(v)
    b = raw(v)
    b.greeting()
    b.expect("USER " + ANA, "+OK Send PASS")
    assert b.cmd("PASS " + ANA_PW) == "-ERR [IN-USE] Mailbox in use by another POP3 session"
    # over AUTH too, and on the TLS port
    assert b.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (ANA, ANA_PW))) == \
        "-ERR [IN-USE] Mailbox in use by another POP3 session"
    with pytest.raises(poplib.error_proto) as ei:
        login(v, "ssl")
    assert err_text(ei) == "-ERR [IN-USE] Mailbox in use by another POP3 session"
    # another account is not affected
    login(v, user=BOB, password=BOB_PW).quit()
    # the first session is unaffected
    assert a.stat()[0] == 1
    a.quit()
    # the refused session stays usable and now gets in
    b.login()
    assert b.cmd("STAT").startswith("+OK 1 ")
    b.quit()


def test_in_use_lock_released_by_drop(v):
    mark = v.log_mark()
    a = raw(v, "pop3s")
    a.greeting()
    a.login()
    with pytest.raises(poplib.error_proto) as ei:
        login(v)
    assert "[IN-USE]" in err_text(ei)
    a.close()
    wait_session_end(v, mark)
    login(v).quit()


# ---- mail arriving during a session ---------------------------------------------------

def test_mail_during_session_appears_in_next(v):
    first = make_message("before", "before the session\r\n", to=ANA)
    deliver(v, first)
    p = login(v)
    st = p.stat()
    assert st[0] == 1
    listing = p.list()
    uidls = p.uidl()
    second = make_message("during", "arrived during the session\r\n", to=ANA)
    with smtplib.SMTP("127.0.0.1", v.ports["smtp"], timeout=NET_TIMEOUT) as s:
        s.ehlo("client.example")
        assert s.sendmail("sender@example.org", [ANA], second) == {}
    assert len(v.messages(ANA)) == 2  # stored
    # numbers and sizes fixed for this session
    assert p.noop() == b"+OK"
    assert p.stat() == st
    assert p.list() == listing
    assert p.uidl() == uidls
    with pytest.raises(poplib.error_proto) as ei:
        p.retr(2)
    assert err_text(ei) == "-ERR No such message"
    # deleting the only visible message does not touch the new one
    p.dele(1)
    assert p.quit() == b"+OK localhost POP3 server signing off (1 messages deleted, 0 left)"
    p = login(v)
    assert p.stat()[0] == 1
    got = joined(p.retr(1)[1])
    assert split_trace(got)[1] == second
    p.quit()


# ---- dot-stuffing -------------------------------------------------------------------------

def test_dot_stuffing_on_the_wire(v):
    body = (b".\r\n..\r\n...\r\n.x\r\n x\r\n.\r\n"
            b"a line\r\n..end\r\n.\r\n")
    msg = make_message("stuffing", body, to=ANA)
    deliver(v, msg)
    [stored] = v.bodies(ANA)
    c = raw(v)
    c.greeting()
    c.login()
    # size is of the unstuffed message
    assert c.cmd("LIST 1") == "+OK 1 %d" % len(stored)
    assert c.cmd("RETR 1") == "+OK %d octets" % len(stored)
    wire = c.multi_raw()
    expected = dot_stuff(stored)  # stuffed lines plus the final ".\r\n"
    assert b"".join(l + b"\r\n" for l in wire) + b".\r\n" == expected
    # and nothing after the terminator
    assert c.cmd("NOOP") == "+OK"
    c.quit()
    p = login(v)
    assert joined(p.retr(1)[1]) == stored
    p.quit()


# ---- AUTH (RFC 5034) ---------------------------------------------------------------------

def test_auth_plain_initial_response(v):
    deliver(v, make_message("auth", "x\r\n", to=ANA))
    mark = v.log_mark()
    c = raw(v)
    c.greeting()
    r = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (ANA, ANA_PW)))
    assert re.fullmatch(r"\+OK Maildrop has 1 messages \(\d+ octets\)", r), r
    line = v.wait_log(r"event=pop3_login\b.*", since=mark).group(0)
    assert re.search(r"\buser=%s\b" % re.escape(ANA), line), line
    c.quit()


def test_auth_plain_with_authzid_same_user(v):
    c = raw(v)
    c.greeting()
    r = c.cmd("AUTH PLAIN " + b64("%s\0%s\0%s" % (ANA, ANA, ANA_PW)))
    assert r.startswith("+OK Maildrop has 0 messages"), r
    c.quit()


def test_auth_plain_other_authzid_refused(v):
    c = raw(v)
    c.greeting()
    r = c.cmd("AUTH PLAIN " + b64("%s\0%s\0%s" % (BOB, ANA, ANA_PW)))
    assert r == "-ERR [AUTH] Authorization identity not permitted", r
    c.login()  # still usable


def test_auth_plain_no_initial_response(v):
    c = raw(v, "pop3s")
    c.greeting()
    assert c.cmd("AUTH PLAIN") == "+ "
    r = c.cmd(b64("\0%s\0%s" % (ANA, ANA_PW)))
    assert r.startswith("+OK Maildrop has 0 messages"), r
    c.quit()


def test_auth_login_no_initial_response(v):
    c = raw(v)
    c.greeting()
    assert c.cmd("AUTH LOGIN") == "+ " + b64("Username:")
    assert c.cmd(b64(ANA)) == "+ " + b64("Password:")
    r = c.cmd(b64(ANA_PW))
    assert r.startswith("+OK Maildrop has 0 messages"), r
    c.quit()


def test_auth_login_initial_response(v):
    c = raw(v)
    c.greeting()
    assert c.cmd("auth login " + b64(ANA)) == "+ " + b64("Password:")
    r = c.cmd(b64(ANA_PW))
    assert r.startswith("+OK Maildrop has 0 messages"), r
    c.quit()


def test_auth_empty_initial_response(v):
    c = raw(v)
    c.greeting()
    # "=" is an empty initial response (RFC 5034 §4), not bad base64
    assert c.cmd("AUTH PLAIN =") == \
        "-ERR Authentication failed: PLAIN response without NUL separators"
    assert c.cmd("AUTH LOGIN =") == "-ERR Authentication failed: LOGIN with an empty user name"
    c.login()
    c.quit()


def test_auth_cancel(v):
    c = raw(v)
    c.greeting()
    assert c.cmd("AUTH PLAIN") == "+ "
    assert c.cmd("*") == "-ERR Authentication cancelled"
    assert c.cmd("AUTH LOGIN") == "+ " + b64("Username:")
    assert c.cmd(b64(ANA)) == "+ " + b64("Password:")
    assert c.cmd("*") == "-ERR Authentication cancelled"
    # the session is usable: both ways in still work
    c.login()
    c.quit()


def test_auth_bad_base64_and_mechanism(v):
    c = raw(v)
    c.greeting()
    assert c.cmd("AUTH PLAIN") == "+ "
    assert c.cmd("not base64!") == "-ERR Authentication failed: base64 length is not a multiple of 4"
    assert c.cmd("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism"
    first, mechs = c.cmd_multi("AUTH")
    assert first == "+OK"
    assert b"PLAIN" in mechs and b"LOGIN" in mechs
    c.login()


def test_auth_bad_credentials(v):
    mark = v.log_mark()
    c = raw(v)
    c.greeting()
    t0 = time.monotonic()
    r = c.cmd("AUTH PLAIN " + b64("\0%s\0wrong-password" % ANA))
    elapsed = time.monotonic() - t0
    assert r == "-ERR [AUTH] Authentication failed", r
    assert elapsed >= 0.4, "failed login answered after %.2fs, not delayed" % elapsed
    # an unknown user gets the very same answer (third failure closes the session)
    c.expect("USER nobody@localhost", "+OK Send PASS")
    assert c.cmd("PASS " + ANA_PW) == "-ERR [AUTH] Authentication failed"
    line = v.wait_log(r"event=pop3_login_failed\b.*", since=mark).group(0)
    assert re.search(r"\breason=\S", line), line
    assert ANA_PW not in v.stderr_text() and "wrong-password" not in v.stderr_text()
    # USER/PASS with the right one still works in the same session
    c.login()
    c.quit()


def test_three_failures_close_the_session(v):
    c = raw(v)
    c.greeting()
    for _ in range(2):
        c.expect("USER " + ANA, "+OK Send PASS")
        assert c.cmd("PASS bad") == "-ERR [AUTH] Authentication failed"
    c.expect("USER " + ANA, "+OK Send PASS")
    assert c.cmd("PASS bad") == \
        "-ERR [AUTH] Authentication failed (too many failures, closing connection)"
    assert c.closed_by_peer() == b""


# ---- CAPA ---------------------------------------------------------------------------------

def capa(c):
    first, lines = c.cmd_multi("CAPA")
    assert first == "+OK Capability list follows"
    return [l.decode() for l in lines]


def check_caps(caps, user, sasl, stls):
    impl = [x for x in caps if x.startswith("IMPLEMENTATION ")]
    assert len(impl) == 1 and "valija" in impl[0], caps
    rest = [x for x in caps if not x.startswith("IMPLEMENTATION ")]
    expected = list(CAPS_ALWAYS)
    if user:
        expected.append("USER")
    sasl_lines = [x for x in rest if x.split()[0] == "SASL"]
    if sasl:
        assert len(sasl_lines) == 1, caps
        mechs = sasl_lines[0].split()[1:]
        assert mechs[:2] == ["PLAIN", "LOGIN"] or {"PLAIN", "LOGIN"} <= set(mechs), caps
        expected.append(sasl_lines[0])
    else:
        # no SASL line, or one without the password mechanisms
        for l in sasl_lines:
            assert "PLAIN" not in l.split() and "LOGIN" not in l.split(), caps
            expected.append(l)
    if stls:
        expected.append("STLS")
    assert sorted(rest) == sorted(expected), caps


def test_capa(v):
    c = raw(v)
    c.greeting()
    caps = capa(c)
    check_caps(caps, user=True, sasl=True, stls=True)
    assert caps[:6] == CAPS_ALWAYS
    # after STLS: no STLS
    c.starttls()
    check_caps(capa(c), user=True, sasl=True, stls=False)
    # after login: no USER, SASL, STLS
    c.login()
    check_caps(capa(c), user=False, sasl=False, stls=False)
    c.quit()
    # implicit TLS: no STLS
    c = raw(v, "pop3s")
    c.greeting()
    check_caps(capa(c), user=True, sasl=True, stls=False)
    # poplib's view
    p = pop(v)
    caps = p.capa()
    for k in CAPS_ALWAYS + ["USER", "SASL", "STLS", "IMPLEMENTATION"]:
        assert k in caps, caps
    assert {"PLAIN", "LOGIN"} <= set(caps["SASL"]), caps
    p.quit()


def test_utf8(v):
    c = raw(v)
    c.greeting()
    assert c.cmd("UTF8") == "+OK UTF8 enabled"
    c.login()
    assert c.cmd("UTF8") == "+OK UTF8 enabled"  # tolerated after login too
    c.quit()
    p = pop(v)
    assert p.utf8() == b"+OK UTF8 enabled"
    p.quit()


# ---- STLS -------------------------------------------------------------------------------

def test_stls_discards_pipelined_input(v):
    c = raw(v)
    c.greeting()
    # RFC 2595 §4: anything sent after STLS in the same packet must be thrown away
    c.send(b"STLS\r\nUSER " + ANA.encode() + b"\r\n")
    assert c.line() == "+OK Begin TLS negotiation"
    assert not c.buf
    c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")
    # the USER before the handshake was discarded: PASS alone is refused
    assert c.cmd("PASS " + ANA_PW) == "-ERR No user name given, send USER first"
    assert c.cmd("NOOP") == "-ERR Not logged in"
    c.login()
    c.quit()


def test_stls_refused_when_not_applicable(v):
    c = raw(v, "pop3s")
    c.greeting()
    assert c.cmd("STLS") == "-ERR Already using TLS"
    c.login()
    c = raw(v)
    c.greeting()
    c.starttls()
    assert c.cmd("STLS") == "-ERR Already using TLS"
    c.login()
    assert c.cmd("STLS") == "-ERR Already logged in"


# ---- cleartext policy (config file) ------------------------------------------------------

REFUSAL = "-ERR [AUTH] Plaintext authentication disallowed without TLS, use STLS first"


def test_cleartext_never(valija_factory):
    v = config_server(valija_factory, '[pop3]\ncleartext = "never"\n')
    deliver(v, make_message("cfg", "x\r\n", to=CAROL), CAROL)
    c = raw(v)
    assert c.greeting() == "+OK pop.test.example POP3 server ready"
    check_caps(capa(c), user=False, sasl=False, stls=True)
    assert c.cmd("USER " + CAROL) == REFUSAL
    assert c.cmd("PASS " + CAROL_PW) == REFUSAL
    assert c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (CAROL, CAROL_PW))) == REFUSAL
    assert c.cmd("AUTH LOGIN") == REFUSAL
    first, mechs = c.cmd_multi("AUTH")
    assert b"PLAIN" not in mechs and b"LOGIN" not in mechs
    # after STLS, all of it is allowed
    c.starttls()
    check_caps(capa(c), user=True, sasl=True, stls=False)
    c.login(CAROL, CAROL_PW)
    assert c.cmd("STAT").startswith("+OK 1 ")
    c.quit()
    # AUTH after STLS
    c = raw(v)
    c.greeting()
    c.starttls()
    r = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (CAROL, CAROL_PW)))
    assert r.startswith("+OK Maildrop has 1 messages"), r
    c.quit()
    # implicit TLS: allowed
    p = login(v, "ssl", CAROL, CAROL_PW)
    assert p.stat()[0] == 1
    p.quit()
    # poplib refused in cleartext
    p = pop(v)
    with pytest.raises(poplib.error_proto) as ei:
        p.user(CAROL)
    assert err_text(ei) == REFUSAL


@pytest.mark.parametrize("mode", ["always", "loopback", None])
def test_cleartext_allowed(valija_factory, mode):
    extra = '[pop3]\ncleartext = "%s"\n' % mode if mode else ""
    v = config_server(valija_factory, extra)
    c = raw(v)
    c.greeting()
    check_caps(capa(c), user=True, sasl=True, stls=True)
    c.login(CAROL, CAROL_PW)
    c.quit()
    c = raw(v)
    c.greeting()
    assert c.cmd("AUTH LOGIN " + b64(CAROL)) == "+ " + b64("Password:")
    assert c.cmd(b64(CAROL_PW)).startswith("+OK Maildrop has 0 messages")


# ---- pipelining and bad input -------------------------------------------------------------

def test_pipelining(v):
    msgs = deliver_samples(v)
    total = sum(len(st) for _, st, _ in msgs)
    c = raw(v)
    c.greeting()
    # the whole session in one write
    c.send(("USER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\nUIDL 2\r\nRETR 1\r\nTOP 2 0\r\n"
            "DELE 3\r\nNOOP\r\nBOGUS\r\nRETR 3\r\nRSET\r\nSTAT\r\nQUIT\r\n" % (ANA, ANA_PW)).encode())
    assert c.line() == "+OK Send PASS"
    assert c.line() == "+OK Maildrop has 3 messages (%d octets)" % total
    assert c.line() == "+OK 3 %d" % total
    assert c.line() == "+OK 3 messages (%d octets)" % total
    assert c.multi() == [b"%d %d" % (i + 1, len(st)) for i, (_, st, _) in enumerate(msgs)]
    assert c.line() == "+OK 2 " + msgs[1][2]
    assert c.line() == "+OK %d octets" % len(msgs[0][1])
    assert joined(c.multi()) == msgs[0][1]
    assert c.line() == "+OK Top of message follows"
    assert joined(c.multi()) == header_of(msgs[1][1])
    assert c.line() == "+OK Message 3 deleted"
    assert c.line() == "+OK"
    assert c.line() == "-ERR Unknown command"
    assert c.line() == "-ERR Message 3 already deleted"
    assert c.line() == "+OK Maildrop has 3 messages (%d octets)" % total
    assert c.line() == "+OK 3 %d" % total
    assert c.line() == "+OK localhost POP3 server signing off (3 messages left)"
    assert c.closed_by_peer() == b""


def test_pipelined_byte_by_byte(v):
    deliver(v, make_message("slow", "one\r\n", to=ANA))
    c = raw(v)
    c.greeting()
    for b in ("USER %s\r\nPASS %s\r\nSTAT\r\n" % (ANA, ANA_PW)).encode():
        c.send(bytes([b]))
    assert c.line() == "+OK Send PASS"
    assert c.line().startswith("+OK Maildrop has 1 messages")
    assert c.line().startswith("+OK 1 ")


def test_line_length_limit(v):
    c = raw(v)
    c.greeting()
    c.login()
    # 512 octets including CRLF are accepted (trailing spaces are tolerated) ...
    assert c.cmd("NOOP" + " " * 506) == "+OK"
    # ... 513 are not
    assert c.cmd("NOOP" + " " * 507) == "-ERR Line too long (limit 512 octets)"
    # a very long line is skipped whole, the session goes on
    assert c.cmd("RETR " + "1" * 20000) == "-ERR Line too long (limit 512 octets)"
    assert c.cmd("NOOP") == "+OK"
    assert c.cmd("STAT") == "+OK 0 0"
    c.quit()


def test_line_too_long_forgets_user(v):
    c = raw(v)
    c.greeting()
    c.expect("USER " + ANA, "+OK Send PASS")
    assert c.cmd("X" * 600) == "-ERR Line too long (limit 512 octets)"
    assert c.cmd("PASS " + ANA_PW) == "-ERR No user name given, send USER first"


def test_unknown_command_bad_arguments_wrong_state(v):
    deliver_samples(v)
    c = raw(v)
    c.greeting()
    # AUTHORIZATION
    for line, reply in [
        ("FOO", "-ERR Unknown command"),
        ("", "-ERR Empty command"),
        ("STAT", "-ERR Not logged in"),
        ("LIST", "-ERR Not logged in"),
        ("RETR 1", "-ERR Not logged in"),
        ("DELE 1", "-ERR Not logged in"),
        ("RSET", "-ERR Not logged in"),
        ("TOP 1 1", "-ERR Not logged in"),
        ("UIDL", "-ERR Not logged in"),
        ("PASS " + ANA_PW, "-ERR No user name given, send USER first"),
        ("USER", "-ERR Syntax: USER name"),
        ("USER a b", "-ERR Syntax: USER name"),
        ("CAPA x", "-ERR No arguments allowed (Syntax: CAPA)"),
        ("APOP %s %s" % (ANA, "0" * 32), "-ERR APOP not available"),
    ]:
        assert c.cmd(line) == reply, line
    c.login()
    c.quit()
    # TRANSACTION (two sessions: 20 errors would end one)
    c = raw(v)
    c.greeting()
    c.login()
    for line, reply in [
        ("USER " + ANA, "-ERR Already logged in"),
        ("PASS x", "-ERR Already logged in"),
        ("AUTH PLAIN", "-ERR Already logged in"),
        ("STLS", "-ERR Already logged in"),
        ("RETR", "-ERR Syntax: RETR msg"),
        ("RETR x", "-ERR Invalid number (Syntax: RETR msg)"),
        ("RETR -1", "-ERR Invalid number (Syntax: RETR msg)"),
        ("RETR 0", "-ERR Invalid message number"),
        ("RETR 4", "-ERR No such message"),
        ("RETR 2147483648", "-ERR Invalid message number"),
        ("RETR 99999999999999999999", "-ERR Invalid message number"),
        ("DELE 4", "-ERR No such message"),
        ("LIST 4", "-ERR No such message"),
        ("LIST 1 2", "-ERR Syntax: LIST [msg]"),
        ("UIDL 0", "-ERR Invalid message number"),
    ]:
        assert c.cmd(line) == reply, line
    c.quit()
    c = raw(v)
    c.greeting()
    c.login()
    for line, reply in [
        ("TOP 1", "-ERR Syntax: TOP msg lines"),
        ("TOP 1 -1", "-ERR Invalid number (Syntax: TOP msg lines)"),
        ("TOP 1 2147483648", "-ERR Invalid line count"),
        ("STAT 1", "-ERR No arguments allowed (Syntax: STAT)"),
        ("RETR  1", "-ERR Arguments must be separated by one space (Syntax: RETR msg)"),
        ("NOOP\x00", "-ERR Invalid character in command"),
    ]:
        assert c.cmd(line) == reply, line
    # lower case and leading zeros are fine
    assert c.cmd("list 001") == "+OK 1 %d" % len(v.bodies(ANA)[0])
    assert c.cmd("stat").startswith("+OK 3 ")
    c.quit()
    # nothing was deleted by any of it
    assert len(v.messages(ANA)) == 3


def test_too_many_errors(v):
    deliver(v, make_message("errs", "x\r\n", to=ANA))
    c = raw(v)
    c.greeting()
    c.login()
    # 20 errors in all end the session; the earlier ones leave it usable
    for i in range(10):
        assert c.cmd("BOGUS%d" % i) == "-ERR Unknown command"
    assert c.cmd("NOOP") == "+OK"
    c.expect("DELE 1", "+OK")
    for i in range(9):
        assert c.cmd("RETR 1") == "-ERR Message 1 already deleted"
    assert c.cmd("RETR 9") == "-ERR No such message (too many errors, closing connection)"
    assert c.closed_by_peer() == b""
    # closed by the error limit: nothing deleted
    assert len(v.messages(ANA)) == 1
    login(v).quit()  # and the lock is released


def test_too_many_errors_before_login(v):
    c = raw(v)
    c.greeting()
    # exactly 20, so that the server has read everything when it closes (no RST)
    c.send(b"".join(b"X%d\r\n" % i for i in range(20)))
    for _ in range(19):
        assert c.line() == "-ERR Unknown command"
    assert c.line() == "-ERR Unknown command (too many errors, closing connection)"
    assert c.closed_by_peer() == b""


# ---- idle timeout ----------------------------------------------------------------------

def test_idle_timeout(valija_factory):
    v = config_server(valija_factory, "[pop3]\nidle_timeout = 2\n")
    deliver(v, make_message("idle", "x\r\n", to=CAROL), CAROL)
    before = v.bodies(CAROL)
    mark = v.log_mark()
    c = raw(v)
    c.greeting()
    c.login(CAROL, CAROL_PW)
    c.expect("DELE 1", "+OK Message 1 deleted")
    t0 = time.monotonic()
    pre = raw(v, "pop3s")  # and one that never logs in
    pre.greeting()
    # RFC 1939 §3: closed without a response, no UPDATE
    assert c.closed_by_peer(timeout=20) == b""
    elapsed = time.monotonic() - t0
    assert 1.5 <= elapsed < 15, elapsed
    assert pre.closed_by_peer(timeout=20) == b""
    wait_session_end(v, mark)
    assert v.bodies(CAROL) == before
    # the lock is free
    p = login(v, "ssl", CAROL, CAROL_PW)
    assert p.stat()[0] == 1
    p.quit()


def test_activity_keeps_session_alive(valija_factory):
    v = config_server(valija_factory, "[pop3]\nidle_timeout = 2\n")
    c = raw(v)
    c.greeting()
    c.login(CAROL, CAROL_PW)
    # NOOPs 1 s apart for 3 s: each command restarts the idle timer
    t_end = time.monotonic() + 3
    while time.monotonic() < t_end:
        assert c.cmd("NOOP") == "+OK"
        r, _, _ = select.select([c.sock], [], [], 1.0)  # the timeout is what is tested
        assert not r, "server sent or closed while idle < timeout: %r" % c.sock.recv(100)
    c.quit()


# ---- failed-login throttling per client address ------------------------------------------

def test_failed_login_lockout_per_address(valija_factory):
    # docs/configuration.md [limits] auth_failures (auth_window, auth_lockout: 900 s)
    v = config_server(valija_factory, "[limits]\nauth_failures = 3\n")
    mark = v.log_mark()
    c = raw(v)
    c.greeting()
    for _ in range(2):
        c.expect("USER " + CAROL, "+OK Send PASS")
        assert c.cmd("PASS wrong") == "-ERR [AUTH] Authentication failed"
    c.close()
    # the third failure, in another session from the same address
    c = raw(v, "pop3s")
    c.greeting()
    assert c.cmd("AUTH PLAIN " + b64("\0%s\0wrong" % CAROL)).startswith(
        "-ERR [AUTH] Authentication failed")
    c.close()
    # locked out now, even with the right password, on every port and mechanism; the
    # session ends after the refusal (no further tries on it)
    for role in ("pop3", "pop3s"):
        c = raw(v, role)
        c.greeting()
        c.expect("USER " + CAROL, "+OK Send PASS")
        r = c.cmd("PASS " + CAROL_PW)
        assert r.startswith("-ERR [SYS/TEMP] "), r
        c.closed_by_peer()
        c.close()
        c = raw(v, role)
        c.greeting()
        r = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (CAROL, CAROL_PW)))
        assert r.startswith("-ERR [SYS/TEMP] "), r
        c.closed_by_peer()
        c.close()
    fails = [l for l in v.log_lines(mark) if re.search(r"event=pop3_login_failed\b", l)]
    assert len(fails) >= 3, "\n".join(v.log_lines(mark))
    assert all(re.search(r"\breason=\S", l) for l in fails), fails
    # another client address is not affected
    c = raw(v, "pop3s", source="127.0.0.2")
    c.greeting()
    c.login(CAROL, CAROL_PW)
    c.quit()


def test_failed_logins_delayed_increasingly(valija_factory):
    v = config_server(valija_factory)
    c = raw(v)
    c.greeting()
    times = []
    for _ in range(2):
        c.expect("USER " + CAROL, "+OK Send PASS")
        t0 = time.monotonic()
        assert c.cmd("PASS wrong") == "-ERR [AUTH] Authentication failed"
        times.append(time.monotonic() - t0)
    assert times[0] >= 0.4 and times[1] >= times[0] * 1.5, times
    # a good login is not delayed (beyond the hash)
    t0 = time.monotonic()
    c.login(CAROL, CAROL_PW)
    assert time.monotonic() - t0 < times[1], times


# ---- logs ----------------------------------------------------------------------------------

def test_log_lines(v):
    deliver_samples(v)
    mark = v.log_mark()
    p = login(v, "ssl")
    p.retr(1)
    p.retr(2)
    p.top(3, 0)
    p.dele(2)
    p.quit()
    line = v.wait_log(r"event=pop3_login\b.*", since=mark).group(0)
    assert re.search(r"\buser=%s\b" % re.escape(ANA), line), line
    line = v.wait_log(r"event=pop3_logout\b.*", since=mark).group(0)
    assert re.search(r"\bretrieved=2\b", line), line
    assert re.search(r"\bdeleted=1\b", line), line
    assert ANA_PW not in v.stderr_text()


# ---- real clients: fetchmail ---------------------------------------------------------------

def run_fetchmail(v, workdir, ssl_mode, keep, user=ANA, password=ANA_PW):
    """One fetchmail run delivering each message with an MDA into workdir/out/;
    returns (CompletedProcess, [message bytes] in arrival order)."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    port = v.ports["pop3s" if ssl_mode == "ssl" else "pop3"]
    tls = {"ssl": "ssl sslproto 'TLS1.2+'",
           "stls": "sslproto 'TLS1.2+'"}[ssl_mode]
    # the MDA numbers the files by arrival (fetchmail runs it once per message); a
    # script, so that no '%' reaches fetchmail's MDA string expansion
    script = workdir / "mda.sh"
    script.write_text("#!/bin/sh\nn=$(ls '%s' | wc -l)\ncat > '%s'/$(printf '%%04d' \"$n\")\n"
                      % (out, out))
    mda = "/bin/sh %s" % script
    rc = workdir / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        "set invisible\n"
        "poll 127.0.0.1 service %d protocol POP3 auth password timeout 30\n"
        "  user \"%s\" there with password \"%s\" is \"root\" here\n"
        "  %s no sslcertck\n"
        "  fetchall %s no rewrite no stripcr no mimedecode\n"
        "  mda \"%s\"\n" % (port, user, password, tls, "keep" if keep else "nokeep", mda))
    rc.chmod(0o600)
    env = dict(os.environ, FETCHMAILHOME=str(workdir), FETCHMAILUSER="root",
               HOME=str(workdir), LC_ALL="C")
    cp = subprocess.run(["fetchmail", "-f", str(rc), "--nosyslog", "-v",
                         "--pidfile", str(workdir / "fetchmail.pid"),
                         "-i", str(workdir / "fetchids")],
                        capture_output=True, text=True, timeout=CLIENT_TIMEOUT, env=env,
                        cwd=str(workdir), stdin=subprocess.DEVNULL)
    got = [f.read_bytes() for f in sorted(out.iterdir())]
    return cp, got


@pytest.mark.parametrize("ssl_mode", ["stls", "ssl"])
def test_fetchmail(v, tmp_path, ssl_mode):
    msgs = deliver_samples(v)
    stored = [st for _, st, _ in msgs]
    # keep: everything downloaded, nothing deleted
    mark = v.log_mark()
    cp, got = run_fetchmail(v, tmp_path / "fm1", ssl_mode, keep=True)
    assert cp.returncode == 0, "fetchmail rc=%d\n%s\n%s" % (cp.returncode, cp.stdout, cp.stderr)
    log = cp.stdout + cp.stderr
    if ssl_mode == "stls":
        assert "POP3> STLS" in log and "upgrade to TLS succeeded" in log, log
    assert login_tls(v.wait_log(r"event=pop3_login\b.*", since=mark).group(0))
    assert len(got) == 3, log
    for g, st in zip(got, stored):
        # invisible, no rewrite, no stripcr: the MDA gets the retrieved octets
        assert g == st, (g[:300], st[:300], log)
    assert len(v.messages(ANA)) == 3
    # without keep: downloaded again, then deleted on the server
    cp, got = run_fetchmail(v, tmp_path / "fm2", ssl_mode, keep=False)
    assert cp.returncode == 0, "fetchmail rc=%d\n%s\n%s" % (cp.returncode, cp.stdout, cp.stderr)
    assert len(got) == 3
    assert got == stored
    assert v.messages(ANA) == []
    # nothing left: fetchmail exits 1 ("no mail")
    cp, got = run_fetchmail(v, tmp_path / "fm3", ssl_mode, keep=True)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert got == []


def test_fetchmail_bad_password(v, tmp_path):
    deliver(v, make_message("fm-bad", "x\r\n", to=ANA))
    cp, got = run_fetchmail(v, tmp_path / "fm", "stls", keep=True, password="not-it")
    assert cp.returncode == 3, cp.stdout + cp.stderr  # 3: authentication failed
    assert got == []
    assert len(v.messages(ANA)) == 1


# ---- real clients: getmail6 ----------------------------------------------------------------

@pytest.fixture
def maildir():
    """An empty Maildir getmail can deliver into. getmail refuses to deliver as root, so
    as root it delivers as `nobody` into a directory nobody can reach (pytest's tmp_path
    is private to root)."""
    top = Path(tempfile.mkdtemp(prefix="valija-getmail-"))
    md = top / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    user = None
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        user = pw.pw_name
        top.chmod(0o755)
        for d in (md, md / "cur", md / "new", md / "tmp"):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    yield md, user
    shutil.rmtree(top, ignore_errors=True)


def run_getmail(v, workdir, maildir, implicit_tls, delete, user=ANA, password=ANA_PW):
    """One getmail run into `maildir` (the fixture's (path, deliver-as user)); returns
    (CompletedProcess, [message bytes] new in this run)."""
    workdir.mkdir(parents=True, exist_ok=True)
    maildir, deliver_as = maildir
    before = set(os.listdir(maildir / "new"))
    rcfile = workdir / "getmailrc"
    rcfile.write_text(
        "[retriever]\n"
        "type = %s\n"
        "server = 127.0.0.1\n"
        "port = %d\n"
        "username = %s\n"
        "password = %s\n"
        "timeout = 30\n"
        "\n"
        "[destination]\n"
        "type = Maildir\n"
        "path = %s/\n"
        "%s"
        "\n"
        "[options]\n"
        "read_all = true\n"
        "delete = %s\n"
        "delivered_to = false\n"
        "received = false\n"
        "verbose = 2\n" % (
            "SimplePOP3SSLRetriever" if implicit_tls else "SimplePOP3Retriever",
            v.ports["pop3s" if implicit_tls else "pop3"], user, password, maildir,
            "user = %s\n" % deliver_as if deliver_as else "",
            "true" if delete else "false"))
    cp = subprocess.run(["getmail", "--rcfile", str(rcfile), "--getmaildir", str(workdir)],
                        capture_output=True, text=True, timeout=CLIENT_TIMEOUT,
                        cwd=str(workdir), stdin=subprocess.DEVNULL,
                        env=dict(os.environ, HOME=str(workdir), LC_ALL="C.UTF-8"))
    new = sorted(set(os.listdir(maildir / "new")) - before)
    return cp, [(maildir / "new" / n).read_bytes() for n in new]


def getmail_body(data):
    """The body of a message as getmail wrote it (LF line ends)."""
    return data[data.index(b"\n\n") + 2:]


def by_subject(files):
    out = {}
    for f in files:
        m = re.search(rb"^Subject: (.*)$", f, re.M)
        assert m, f[:300]
        out[m.group(1).strip()] = f
    return out


@pytest.mark.parametrize("implicit_tls", [True, False], ids=["pop3s", "loopback-cleartext"])
def test_getmail(v, tmp_path, maildir, implicit_tls):
    msgs = deliver_samples(v)
    mark = v.log_mark()
    cp, files = run_getmail(v, tmp_path / "gm", maildir, implicit_tls, delete=False)
    log = cp.stdout + cp.stderr
    assert cp.returncode == 0, log
    assert login_tls(v.wait_log(r"event=pop3_login\b.*", since=mark).group(0)) == implicit_tls
    assert len(files) == 3, log
    got = by_subject(files)
    for sent, st, _ in msgs:
        subject = re.search(rb"^Subject: (.*)\r$", sent, re.M).group(1)
        f = got[subject]
        # bodies byte-exact (getmail writes LF line ends)
        assert getmail_body(f) == getmail_body(st.replace(b"\r\n", b"\n")), subject
        # header: getmail puts its own Return-Path first, the rest is what was stored
        rest = st.replace(b"\r\n", b"\n").split(b"\n", 1)[1]  # without valija's Return-Path
        assert f == b"Return-Path: <sender@example.org>\n" + rest, subject
    assert len(v.messages(ANA)) == 3
    # delete = true: downloaded again (read_all) and removed from the server
    cp, files = run_getmail(v, tmp_path / "gm", maildir, implicit_tls, delete=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert len(files) == 3
    assert v.messages(ANA) == []


# ---- lock release at QUIT -------------------------------------------------------------

@pytest.mark.parametrize("mode", ["plain", "stls", "pop3s"])
def test_quit_releases_lock_before_the_client_closes(v, mode):
    # RFC 1939 §6: after UPDATE the server releases the lock, then closes; a client that
    # has the +OK may log in again at once, before it has closed its own end.
    deliver(v, make_message("relock", "x\r\n", to=ANA))
    c = raw(v, "pop3s" if mode == "pop3s" else "pop3")
    c.greeting()
    if mode == "stls":
        c.starttls()
    c.login()
    c.expect("DELE 1", "+OK")
    assert c.cmd("QUIT") == "+OK localhost POP3 server signing off (1 messages deleted, 0 left)"
    try:
        p = login(v, "ssl")  # c still open
        assert p.stat() == (0, 0)
        p.quit()
    finally:
        c.close()


# ---- server stop ------------------------------------------------------------------------

def test_sigterm_ends_sessions_without_deleting(v):
    msgs = deliver_samples(v)
    c = raw(v, "pop3s")
    c.greeting()
    c.login()
    c.expect("DELE 1", "+OK Message 1 deleted")
    idle = raw(v)
    idle.greeting()
    v.signal(signal.SIGTERM)
    for conn in (c, idle):
        assert conn.line() == "-ERR [SYS/TEMP] Server shutting down, nothing deleted"
        conn.close()
    assert v.wait_exit() == 0
    v.start(port_base=v.port_base)
    assert v.bodies(ANA) == [st for _, st, _ in msgs]
    p = login(v)
    assert p.stat()[0] == 3
    p.quit()


def test_stuffing_across_send_chunks(v):
    # Bodies of ".\r\n" lines past the 64 KiB send pieces; subjects one octet apart so
    # that, over the three messages, a piece boundary falls before a '.', between CR and
    # LF, and after LF.
    sent = [make_message("chunks-" + "x" * k, b".\r\n" * 30000, to=ANA) for k in range(3)]
    for m in sent:
        deliver(v, m)
    stored = v.bodies(ANA)
    c = raw(v)
    c.greeting()
    c.login()
    for i, st in enumerate(stored):
        assert split_trace(st)[1] == sent[i]
        assert c.cmd("RETR %d" % (i + 1)) == "+OK %d octets" % len(st)
        wire = c.multi_raw()
        assert b"".join(l + b"\r\n" for l in wire) + b".\r\n" == dot_stuff(st)
    c.quit()
