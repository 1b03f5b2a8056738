"""Helpers shared by the IMAP end-to-end tests (test_imap_*.py): a byte-level IMAP
client that reads whole responses (literals included), fresh accounts, delivery over
SMTP and APPEND.

Responses are compared as the server writes them (RFC 9051 §7); literals in a response
stay inline as `{n}\\r\\n<n octets>`, so a FETCH line reads as on the wire.
"""
import itertools
import re
import socket
import ssl
import time

from conftest import NET_TIMEOUT, RawSmtp, dot_stuff, insecure_context, make_message

PASSWORD = "imap-Pass-4321"
TRACE_RE = r"250 2\.0\.0 Ok: delivered as (\S+)"

_accounts = itertools.count(1)


def new_account(v, prefix="u", password=PASSWORD, quota=None):
    """A fresh account on `v` (local mode: INBOX, Sent, Drafts, Trash, Junk, Archive)."""
    addr = "%s%d@localhost" % (prefix, next(_accounts))
    v.add_user(addr, password, quota=quota)
    return addr


def deliver(v, msg, rcpt, sender="sender@example.org"):
    """Deliver `msg` (CRLF bytes) over SMTP and wait until it is stored.

    Returns (uidvalidity, uid, t_250) with t_250 the monotonic time of the 250 reply."""
    mark = v.log_mark()
    with v.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<%s>" % sender, "250 2.1.0")
        c.expect("RCPT TO:<%s>" % rcpt, "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        full = c.reply()[2]
        t_250 = time.monotonic()
        m = re.fullmatch(TRACE_RE, full)
        assert m, full
        c.expect("QUIT", "221")
    d = v.wait_log(r"event=delivered trace=%s .*\bto=%s\b.*\buidvalidity=(\d+) uid=(\d+)"
                   % (re.escape(m.group(1)), re.escape(rcpt)), since=mark)
    return int(d.group(1)), int(d.group(2)), t_250


def simple(subject="hello", body="Hello there.\r\n", **kw):
    return make_message(subject, body, **kw)


class RawImap(RawSmtp):
    """A byte-level IMAP client. `cmd` sends one tagged command and returns
    (untagged responses as str, the tagged status line without the tag)."""

    def __init__(self, port, tls=False, source=None, timeout=NET_TIMEOUT):
        self.timeout = timeout
        self.buf = b""
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout,
            source_address=(source, 0) if source else None)
        if tls:
            self.sock = insecure_context().wrap_socket(self.sock, server_hostname="localhost")
        self._tags = itertools.count(1)

    def line_bytes(self, timeout=None):
        while b"\r\n" not in self.buf:
            self._fill(timeout)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n, timeout=None):
        while len(self.buf) < n:
            self._fill(timeout)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response_bytes(self, timeout=None):
        """One response: a line, with any literals it announces and the rest after them."""
        out = b""
        while True:
            line = self.line_bytes(timeout)
            out += line
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                return out
            out += b"\r\n" + self.read_exact(int(m.group(1)), timeout)

    def response(self, timeout=None):
        return self.response_bytes(timeout).decode("utf-8", "replace")

    def greeting(self):
        g = self.response()
        assert g.startswith("* OK "), g
        return g

    def next_tag(self):
        return "t%d" % next(self._tags)

    def collect(self, tag, timeout=None, as_bytes=False):
        """Untagged responses up to the tagged one for `tag`."""
        untagged = []
        t = tag.encode() + b" "
        while True:
            r = self.response_bytes(timeout)
            if r.startswith(t):
                status = r[len(t):]
                if as_bytes:
                    return untagged, status
                return untagged, status.decode("utf-8", "replace")
            untagged.append(r if as_bytes else r.decode("utf-8", "replace"))

    def cmd(self, line, timeout=None, as_bytes=False):
        tag = self.next_tag()
        if isinstance(line, str):
            line = line.encode()
        self.send(tag.encode() + b" " + line + b"\r\n")
        return self.collect(tag, timeout, as_bytes)

    def ok(self, line, timeout=None, as_bytes=False):
        """`cmd`, asserting OK; returns the untagged responses."""
        u, st = self.cmd(line, timeout, as_bytes)
        ok = st.startswith(b"OK" if as_bytes else "OK")
        assert ok, "%r -> %r (untagged %r)" % (line, st, u)
        return u

    def login(self, user, password=PASSWORD):
        u, st = self.cmd('LOGIN "%s" "%s"' % (user, password))
        assert st.startswith("OK [CAPABILITY "), st
        return st

    def logout(self):
        u, st = self.cmd("LOGOUT")
        assert u == ["* BYE Logging out"] and st == "OK LOGOUT completed", (u, st)
        self.close()

    def starttls(self):
        u, st = self.cmd("STARTTLS")
        assert st == "OK Begin TLS negotiation now", st
        assert not self.buf, "bytes after the STARTTLS reply: %r" % self.buf
        self.sock = insecure_context().wrap_socket(self.sock, server_hostname="localhost")

    def append(self, mailbox, msg, flags="", date="", plus=True):
        """APPEND with a literal (LITERAL+ by default); returns the tagged status."""
        tag = self.next_tag()
        head = "%s APPEND %s" % (tag, mailbox)
        if flags:
            head += " (%s)" % flags
        if date:
            head += ' "%s"' % date
        if plus:
            self.send(head.encode() + b" {%d+}\r\n" % len(msg) + msg + b"\r\n")
        else:
            self.send(head.encode() + b" {%d}\r\n" % len(msg))
            cont = self.response()
            assert cont.startswith("+"), cont
            self.send(msg + b"\r\n")
        return self.collect(tag)[1]


def raw(v, role="imap", **kw):
    return RawImap(v.ports[role], tls=(role == "imaps"), **kw)


def session(v, user, password=PASSWORD, role="imap"):
    """A raw client, greeted and logged in."""
    c = raw(v, role)
    c.greeting()
    c.login(user, password)
    return c


def appenduid(status):
    m = re.match(r"OK \[APPENDUID (\d+) (\d+)\] ", status)
    assert m, status
    return int(m.group(1)), int(m.group(2))


def fill(v, user, msgs, mailbox="INBOX"):
    """APPEND each message; returns their UIDs."""
    c = session(v, user)
    uids = [appenduid(c.append(mailbox, m))[1] for m in msgs]
    c.logout()
    return uids


def untagged_matching(untagged, regex):
    return [u for u in untagged if re.search(regex, u)]


# ---- response parsing ----------------------------------------------------------------

class Parser:
    """IMAP response data (RFC 9051 §9) to Python: atoms (NIL → None, numbers → int) as
    str, quoted strings as str, literals as bytes, parenthesised lists as lists. A
    section spec (`BODY[HEADER.FIELDS (A B)]<0>`) stays part of its atom."""

    def __init__(self, data):
        self.d = data
        self.i = 0

    def ws(self):
        while self.i < len(self.d) and self.d[self.i:self.i + 1] == b" ":
            self.i += 1

    def value(self):
        self.ws()
        c = self.d[self.i:self.i + 1]
        if c == b"(":
            self.i += 1
            out = []
            while True:
                self.ws()
                if self.d[self.i:self.i + 1] == b")":
                    self.i += 1
                    return out
                out.append(self.value())
        if c == b'"':
            j = self.i + 1
            s = b""
            while self.d[j:j + 1] != b'"':
                if self.d[j:j + 1] == b"\\":
                    j += 1
                s += self.d[j:j + 1]
                j += 1
            self.i = j + 1
            return s.decode("utf-8", "replace")
        m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(self.d, self.i)
        if m:
            n = int(m.group(1))
            self.i = m.end() + n
            return self.d[m.end():m.end() + n]
        j = self.i
        depth = 0
        while j < len(self.d):
            ch = self.d[j:j + 1]
            if ch == b"[":
                depth += 1
            elif ch == b"]":
                depth -= 1
            elif depth == 0 and ch in (b" ", b")", b"("):
                break
            j += 1
        atom = self.d[self.i:j].decode("utf-8", "replace")
        self.i = j
        if atom == "NIL":
            return None
        if atom.isdigit():
            return int(atom)
        return atom


def parse_fetch(resp):
    """`* n FETCH (...)` (bytes or str) → (n, {ITEM: value}) with item names upper-cased."""
    if isinstance(resp, str):
        resp = resp.encode()
    m = re.match(rb"\* (\d+) FETCH ", resp)
    assert m, resp[:200]
    items = Parser(resp[m.end():]).value()
    assert len(items) % 2 == 0, items
    return int(m.group(1)), {str(items[k]).upper(): items[k + 1] for k in range(0, len(items), 2)}


def fetches(untagged):
    """The FETCH responses among `untagged`, as {n: {ITEM: value}} (merged per n)."""
    out = {}
    for u in untagged:
        b = u if isinstance(u, bytes) else u.encode()
        if re.match(rb"\* \d+ FETCH ", b):
            n, d = parse_fetch(b)
            out.setdefault(n, {}).update(d)
    return out
