"""IMAP limits and hostile input (/work/shared/SECURITY-CASES.md, IMAP table): literals
larger than allowed before and after login, endless lines, deep nesting in search
programs, extreme sequence sets and partial ranges, malformed MIME; raw sockets where
imaplib cannot send the bytes. The server must answer (BAD/NO) or close, and keep
serving everyone else.
"""
import socket
import ssl
import time

import pytest

from conftest import insecure_context
from imap_util import appenduid, fetches, fill, new_account, raw, session, simple


@pytest.fixture(scope="module")
def v(shared_valija):
    return shared_valija


@pytest.fixture
def user(v):
    return new_account(v)


def closed(c):
    """The bytes the server sent before closing the connection."""
    return c.closed_by_peer()


def alive(v, user):
    """The server still serves a fresh session."""
    c = session(v, user)
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    c.logout()


# ---- literals ------------------------------------------------------------------------

def test_huge_literal_before_login_bad_and_close(v, user):
    """Nothing is allocated for {4294967295}: BAD (no continuation) and close."""
    c = raw(v)
    c.greeting()
    c.send(b"a LOGIN {4294967295}\r\n")
    rest = closed(c).decode()
    assert "+ " not in rest, rest
    assert rest.startswith("a BAD ") or rest.startswith("* BAD ") or \
        rest.startswith("* BYE "), rest
    alive(v, user)


def test_nonsync_literal_over_pre_auth_limit(v, user):
    """RFC 7888 §5: LITERAL- caps {N+} at 4096 octets; before login more is refused."""
    c = raw(v)
    c.greeting()
    c.send(b"a LOGIN {5000+}\r\n" + b"x" * 5000 + b" pw\r\n")
    rest = closed(c).decode("utf-8", "replace")
    assert "BAD" in rest or "BYE" in rest, rest
    assert "OK" not in rest.replace("* OK", ""), rest
    alive(v, user)


@pytest.mark.parametrize("size", [4097, 5000, 4294967295])
def test_nonsync_literal_over_pre_auth_limit_is_toobig(v, user, size):
    """RFC 7888 §4-5: before login a {N+} over 4096 octets gets BAD [TOOBIG] and the
    connection is closed at once, before the octets are sent (nothing is waited for,
    nothing allocated); {4096+} itself is read as a literal."""
    c = raw(v)
    c.greeting()
    c.send(b"a LOGIN {%d+}\r\n" % size)
    rest = closed(c).decode("utf-8", "replace")
    assert "a BAD [TOOBIG] " in rest, rest
    assert "+ " not in rest and "a OK" not in rest, rest
    c = raw(v)
    c.greeting()
    c.send(b"a LOGIN {4096+}\r\n" + b"x" * 4096 + b" pw\r\n")
    assert c.collect("a")[1].startswith("NO [AUTHENTICATIONFAILED]")
    c.login(user)
    c.logout()


def test_nonsync_literal_over_limit_after_login(v, user):
    """A {N+} over the 64 KiB inline limit after login: the announced octets are read
    and dropped (LITERAL+: the client sends them without waiting), BAD [TOOBIG], and
    the session goes on; one too large to skip gets BAD [TOOBIG] and BYE."""
    c = session(v, user)
    c.send(b"a SELECT {70000+}\r\n" + b"x" * 70000 + b"\r\n")
    assert c.collect("a")[1].startswith("BAD [TOOBIG]")
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    assert c.ok("SELECT INBOX")
    c.send(b"b SELECT {4294967295+}\r\n")
    rest = closed(c).decode("utf-8", "replace")
    assert "b BAD [TOOBIG] " in rest and "* BYE " in rest, rest
    alive(v, user)


def test_literal_over_limit_after_login(v, user):
    """A 1 MB literal as a mailbox name (inline literals are capped at 64 KiB)."""
    c = session(v, user)
    c.send(b"a SELECT {1000000}\r\n")
    r = c.response()
    assert not r.startswith("+"), r
    assert r.startswith("a BAD") or r.startswith("a NO") or r.startswith("* BYE"), r
    alive(v, user)


def test_append_over_appendlimit_sync_literal(v, user):
    """RFC 7889: an APPEND literal larger than APPENDLIMIT gets NO [TOOBIG] without a
    continuation; the session goes on."""
    c = session(v, user)
    c.send(b"a APPEND INBOX {52428801}\r\n")
    r = c.response()
    assert r.startswith("a NO [TOOBIG]"), r
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    assert c.ok("STATUS INBOX (MESSAGES)") == ["* STATUS INBOX (MESSAGES 0)"]
    c.logout()


def test_append_huge_nonsync_literal_closes(v, user):
    """A rejected {N+} too large to skip ends the session (limits.hpp literal_skip)."""
    c = session(v, user)
    c.send(b"a APPEND INBOX {4294967295+}\r\n")
    rest = closed(c).decode()
    assert "BYE" in rest or "BAD" in rest or "NO" in rest, rest
    alive(v, user)


def test_append_slightly_over_limit_nonsync_is_skipped(valija_factory):
    """A {N+} a little over APPENDLIMIT is read and dropped: NO [TOOBIG], session goes on."""
    v = valija_factory()
    v.start(config="""
hostname = "localhost"
domains = ["localhost"]
[[listener]]
address = "127.0.0.1"
port = $imap_port
role = "imap"
[limits]
message_size = 10000
""")
    user = new_account(v)
    c = session(v, user)
    msg = simple("big", "x" * 12000)
    c.send(b"a APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    u, st = c.collect("a")
    assert st.startswith("NO [TOOBIG]"), st
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    appenduid(c.append("INBOX", simple("small")))
    c.logout()


# ---- lines and nesting ---------------------------------------------------------------

def test_line_without_end(v, user):
    """A line longer than the 64 KiB line limit: BAD (and the line is not executed)."""
    c = session(v, user)
    c.send(b"a NOOP " + b"x" * (80 * 1024))
    r = c.response()
    assert "BAD" in r or "BYE" in r, r
    alive(v, user)


def test_line_without_end_before_login(v, user):
    c = raw(v)
    c.greeting()
    c.send(b"a LOGIN " + b"x" * (40 * 1024))
    rest = closed(c).decode("utf-8", "replace")
    assert "BAD" in rest or "BYE" in rest, rest
    alive(v, user)


@pytest.mark.parametrize("program", [
    "(" * 200 + "ALL" + ")" * 200,
    "NOT " * 100 + "ALL",
    "OR " * 100 + "ALL " * 101,
    "OR (" * 60 + "SEEN" + " ALL)" * 60,
])
def test_search_nesting_limit(v, user, program):
    """Nesting deeper than the limit (32) is BAD, fast; the connection survives."""
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    t0 = time.monotonic()
    u, st = c.cmd("SEARCH " + program)
    assert st.startswith("BAD"), st
    assert time.monotonic() - t0 < 5
    assert c.cmd("SEARCH ALL") == (["* SEARCH 1"], "OK SEARCH completed")
    c.logout()


def test_search_nesting_within_limit(v, user):
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    assert c.cmd("SEARCH " + "NOT " * 10 + "ALL")[0] == ["* SEARCH 1"]  # even: ALL
    c.logout()


def test_deep_parentheses_in_fetch(v, user):
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    u, st = c.cmd("FETCH 1 " + "(" * 500 + "FLAGS" + ")" * 500)
    assert st.startswith("BAD"), st
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    c.logout()


def test_id_too_many_pairs(v):
    """RFC 2971 §3.3: at most 30 field-value pairs."""
    c = raw(v)
    c.greeting()
    pairs = " ".join('"f%d" "v"' % i for i in range(40))
    u, st = c.cmd("ID (%s)" % pairs)
    assert st.startswith("BAD"), st
    c.logout()


# ---- sequence sets and partial ranges ------------------------------------------------

@pytest.fixture
def three(v, user):
    fill(v, user, [simple("a"), simple("b"), simple("c")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    yield c
    c.close()


def test_uid_set_to_max_is_not_materialised(three):
    """RFC 9051 §9: 1:4294967295 is a valid UID range; answered at once."""
    t0 = time.monotonic()
    f = fetches(three.ok("UID FETCH 1:4294967295 UID"))
    assert sorted(d["UID"] for d in f.values()) == [1, 2, 3]
    assert three.cmd("UID SEARCH UID 1:4294967295")[0] == ["* SEARCH 1 2 3"]
    assert three.cmd("UID EXPUNGE 1:4294967295")[1].startswith("OK")
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("line", ["UID STORE 1:4294967295 +FLAGS.SILENT (\\Seen)",
                                  "UID COPY 1:4294967295 Archive",
                                  "UID MOVE 1:4294967295 Archive"])
def test_uid_set_to_max_store_copy_move(three, line):
    """RFC 9051 §6.4.9: UIDs that do not exist are ignored, without an error."""
    t0 = time.monotonic()
    assert three.cmd(line)[1].startswith("OK"), line
    assert time.monotonic() - t0 < 5


def test_seq_set_to_max_is_bad(three):
    """Sequence numbers above EXISTS are an error (BAD), not a loop to 2^32."""
    t0 = time.monotonic()
    assert three.cmd("FETCH 1:4294967295 FLAGS")[1].startswith("BAD")
    assert time.monotonic() - t0 < 5


def test_star_star(three):
    f = fetches(three.ok("FETCH *:* UID"))
    assert list(f) == [3]
    f = fetches(three.ok("UID FETCH *:* UID"))
    assert [d["UID"] for d in f.values()] == [3]


@pytest.mark.parametrize("seq", ["0", "0:1", "1:0", "4294967296", "1:4294967296", "-1", "1,,2",
                                 "a", ""])
def test_invalid_sequence_sets_bad(three, seq):
    assert three.cmd(("FETCH %s FLAGS" % seq).replace("  ", " "))[1].startswith("BAD"), seq


def test_huge_sequence_list_bad(three):
    """More than 10,000 ranges in one set: BAD (limits.hpp sequence_ranges)."""
    seq = ",".join(str(1 + (i % 3)) for i in range(12000))
    assert three.cmd("FETCH %s FLAGS" % seq)[1].startswith("BAD")
    assert three.cmd("NOOP")[1] == "OK NOOP completed"


def test_partial_offsets_past_end(three):
    """RFC 9051 §6.4.5: past the end gives an empty string; no overflow."""
    f = fetches(three.ok("FETCH 1 (BODY.PEEK[]<4294967295.10>)", as_bytes=True))
    assert f[1]["BODY[]<4294967295>"] in (b"", "")
    f = fetches(three.ok("FETCH 1 (BODY.PEEK[]<0.4294967295>)", as_bytes=True))
    assert f[1]["BODY[]<0>"] == simple("a")
    f = fetches(three.ok("FETCH 1 (BINARY.PEEK[1]<4294967295.4294967295>)", as_bytes=True))
    assert f[1]["BINARY[1]<4294967295>"] in (b"", "")
    # one past 32 bits: BAD, or read as a 64-bit offset past the end (empty)
    u, st = three.cmd("FETCH 1 BODY.PEEK[]<4294967296.1>")
    assert st.startswith("BAD") or u == ["* 1 FETCH (BODY[]<4294967296> {0}\r\n)"], (u, st)
    assert three.cmd("FETCH 1 BODY.PEEK[]<99999999999999999999999.2>")[1].startswith("BAD")
    assert three.cmd("FETCH 1 BODY.PEEK[]<0.0>")[1].startswith(("OK", "BAD"))


# ---- malformed MIME ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["no-closing-boundary", "nested-2000", "bad-base64",
                                  "many-parts"])
def test_malformed_mime_still_answered(v, user, kind):
    """SECURITY-CASES: parsed within limits, BODYSTRUCTURE still answered, quickly."""
    if kind == "no-closing-boundary":
        body = b"--b\r\nContent-Type: text/plain\r\n\r\nunterminated\r\n"
        ct = 'multipart/mixed; boundary="b"'
    elif kind == "nested-2000":
        body = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
                        % (i, i + 1) for i in range(2000)) + b"deep\r\n"
        ct = 'multipart/mixed; boundary="b0"'
    elif kind == "bad-base64":
        body = (b"--b\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n!!!not*base64===\r\nAAA\r\n--b--\r\n")
        ct = 'multipart/mixed; boundary="b"'
    else:
        body = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\np%d\r\n" % i
                        for i in range(20000)) + b"--b--\r\n"
        ct = 'multipart/mixed; boundary="b"'
    msg = simple(kind, body, extra_headers=["MIME-Version: 1.0", "Content-Type: " + ct])
    fill(v, user, [msg])
    c = session(v, user)
    c.ok("EXAMINE INBOX")
    t0 = time.monotonic()
    u = c.ok("FETCH 1 (BODYSTRUCTURE BODY.PEEK[1] BINARY.SIZE[1])", timeout=30)
    assert time.monotonic() - t0 < 10
    assert u and u[0].startswith("* 1 FETCH ("), u
    assert c.ok("SEARCH BODY deep") is not None
    c.logout()


# ---- TLS peers that go away ----------------------------------------------------------

@pytest.mark.parametrize("role", ["imaps", "pop3s", "submissions"])
def test_tls_peer_closing_after_handshake_keeps_server_up(valija, role):
    """A client that completes the TLS handshake and closes at once (as
    ssl.get_server_certificate does, or a port scanner) must not take the server down."""
    v = valija
    user = new_account(v)
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", v.ports[role]), timeout=10)
        t = insecure_context().wrap_socket(s, server_hostname="localhost")
        t.close()
    mark = v.log_mark()
    v.wait_log(r"event=imap_(disconnect|connect)", timeout=5, raise_=False)
    alive(v, user)
    assert v.running(), v.stderr_text()[-2000:]


def test_tcp_reset_before_greeting_keeps_server_up(v, user):
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", v.ports["imap"]), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    alive(v, user)
