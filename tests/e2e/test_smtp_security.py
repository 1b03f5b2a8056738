"""Hostile input: relay tricks, SMTP smuggling, limits, timeouts, floods."""
import re
import socket
import time

import pytest

from conftest import RawSmtp, dot_stuff, make_message, split_trace

TRACE_RE = r"250 2\.0\.0 Ok: delivered as (\S+)"

FOREIGN = "victim@foreign.example"


def dom(n):
    """A syntactically valid domain of exactly n octets (labels <= 63)."""
    labels = []
    left = n
    while left > 0:
        take = min(63, left if left <= 63 else left - 2 if left - 64 < 1 else 63)
        labels.append("d" * take)
        left -= take + 1
    d = ".".join(labels)
    assert len(d) == n, (n, len(d))
    return d


def session(v, role="smtp"):
    c = v.raw(role)
    c.greeting()
    c.ehlo()
    return c


# ---- relay --------------------------------------------------------------------

@pytest.mark.parametrize("rcpt,expected", [
    ("<victim@foreign.example>", "554 5.7.1"),
    ("<victim%foreign.example@localhost>", "550 5.1.1"),
    ("<@localhost:victim@foreign.example>", "554 5.7.1"),
    ("<@localhost,@other.example:victim@foreign.example>", "554 5.7.1"),
    ('<"victim@foreign.example"@localhost>', "550 5.1.1"),
    ("<foreign.example!victim@localhost>", "550 5.1.1"),
    ("<victim@foreign.example.>", "5"),
    ("<victim@foreign.example@localhost>", "5"),
    ("<victim@localhost.foreign.example>", "554 5.7.1"),
])
def test_relay_tricks_refused(shared_valija, rcpt, expected):
    with session(shared_valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        full = c.expect("RCPT TO:%s" % rcpt, expected)
        if expected == "554 5.7.1":
            assert "Relay access denied" in full, full


def test_relay_refused_even_from_local_sender(shared_valija):
    with session(shared_valija) as c:
        c.expect("MAIL FROM:<demo@localhost>", "250 2.1.0")
        c.expect("RCPT TO:<%s>" % FOREIGN, "554 5.7.1")
    with session(shared_valija, "submission") as c:
        c.expect("MAIL FROM:<demo@localhost>", "530 5.7.0")
        c.expect("RCPT TO:<%s>" % FOREIGN, "503")


def test_unauthenticated_local_sender_to_local_user(valija):
    """SECURITY-CASES: MAIL FROM a local domain without AUTH on port 25 is accepted
    for a local user (default policy: no SPF/DMARC record says otherwise), stored in
    that mailbox only: nothing is queued, nothing signed, nothing goes out; the same
    sender still cannot reach another domain."""
    v = valija
    v.add_user("ana@localhost")
    msg = make_message("local spoof", "claims to be ana\r\n", sender="ana@localhost")
    mark = v.log_mark()
    with session(v) as c:
        c.expect("MAIL FROM:<ana@localhost>", "250 2.1.0")
        c.expect("RCPT TO:<%s>" % FOREIGN, "554 5.7.1")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        full = c.reply()[2]
        m = re.fullmatch(r"250 2\.0\.0 Ok: delivered as (\S+)", full)
        assert m, full
        c.expect("QUIT", "221")
    v.wait_log(r"event=delivered trace=%s .*to=\"?demo@localhost\"?" % m.group(1), since=mark)
    head, body = split_trace(v.message("demo@localhost", 1))
    assert body == msg
    assert b"with ESMTPA" not in head and b"DKIM-Signature" not in head, head
    assert v.messages("ana@localhost") == []
    out = v.cli_ok("queue", "list").stdout
    assert out.startswith("0 message(s)"), out
    log = "\n".join(v.log_lines(mark))
    assert "event=queued" not in log and "event=dkim_signed" not in log, log


def test_mixed_recipients_only_local_delivered(valija):
    msg = make_message("mixed", "m\r\n")
    with session(valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<%s>" % FOREIGN, "554 5.7.1")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        assert re.fullmatch(TRACE_RE, c.reply()[2])
    head, body = split_trace(valija.message("demo@localhost", 1))
    assert body == msg
    assert b"for <demo@localhost>;" in head


# ---- SMTP smuggling ---------------------------------------------------------

SMUGGLED = (b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<demo@localhost>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nsmuggled body\r\n")


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n",
                                      b"\r\n.\r", b"\r.\r\n"],
                         ids=["LF.LF", "CR.CR", "LF.CRLF", "CRLF.LF", "CRLF.CR", "CR.CRLF"])
@pytest.mark.parametrize("split", [False, True], ids=["one-write", "two-writes"])
def test_smuggling_rejected(valija, fake_end, split):
    first = b"Subject: legit\r\n\r\nlegit body" + fake_end
    with session(valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        if split:
            c.send(first)
            c.send(SMUGGLED)
        else:
            c.send(first + SMUGGLED)
        # the fake end did not end DATA: no reply yet
        assert c.no_pending(wait=0.5), "reply after a fake end of data: %r" % c.buf
        c.send(b".\r\n")
        full = c.reply()[2]
        assert full.startswith("550 5.6.0"), full
        # exactly one reply for the whole thing, and the session is sane
        assert c.no_pending(), "extra replies: %r" % c.buf
        c.expect("NOOP", "250 2.0.0")
        c.expect("DATA", "503 5.5.1")
    assert valija.messages("demo@localhost") == []


@pytest.mark.parametrize("content", [
    b"Subject: x\r\n\r\nbare\nLF inside\r\n",
    b"Subject: x\r\n\r\nbare\rCR inside\r\n",
    b"Subject: x\nX-Bare: header LF\r\n\r\nbody\r\n",
    b"Subject: x\r\n\r\nends with bare LF\n",
])
def test_bare_newlines_rejected(valija, content):
    with session(valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(content + b"\r\n.\r\n")
        assert c.reply()[2].startswith("550 5.6.0")
        # the session continues normally
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(make_message("after", "clean\r\n")))
        assert re.fullmatch(TRACE_RE, c.reply()[2])
    msgs = valija.messages("demo@localhost")
    assert len(msgs) == 1
    assert b"Subject: after\r\n" in valija.message("demo@localhost", msgs[0]["uid"])


# ---- line and address limits --------------------------------------------------

def test_command_line_limit(shared_valija):
    with session(shared_valija) as c:
        # exactly 512 octets with CRLF: accepted
        line = b"NOOP " + b"x" * (512 - 2 - 5)
        assert len(line) + 2 == 512
        c.expect(line, "250 2.0.0")
        # 513: refused
        c.expect(b"NOOP " + b"x" * (513 - 2 - 5), "500 5.5.2")
        c.expect(b"MAIL FROM:<" + b"a" * 600 + b"@example.org>", "500 5.5.2")
        # the overlong line was discarded whole: the session goes on
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")


def test_huge_command_line_bounded(shared_valija):
    with session(shared_valija) as c:
        chunk = b"A" * 65536
        for _ in range(64):  # 4 MiB without a line end
            c.send(chunk)
        c.send(b"\r\n")
        code, _, full = c.reply(timeout=60)
        assert full.startswith("500 5.5.2"), full
        c.expect("NOOP", "250 2.0.0")


@pytest.mark.parametrize("cmd,expected", [
    ("MAIL FROM:<%s@example.org>" % ("a" * 65), "501 5.1.7"),
    ("RCPT TO:<%s@localhost>" % ("a" * 65), "501 5.1.3"),
    ("RCPT TO:<%s@localhost>" % ("a" * 64), "550 5.1.1"),
    ("RCPT TO:<a@%s>" % dom(256), "501 5.1.3"),
    ("MAIL FROM:<a@%s>" % dom(256), "501 5.1.7"),
    ("RCPT TO:<%s@%s>" % ("a" * 64, dom(195)), "501 5.1.3"),  # path 260
    ("MAIL FROM:<%s@%s>" % ("a" * 64, dom(195)), "501 5.1.7"),
    ("MAIL FROM:<a@%s>" % ("d" * 64 + ".example"), "501 5.1.7"),  # label > 63
    ("MAIL FROM:<a@b@example.org>", "501 5.1.7"),
    ("MAIL FROM:a@example.org", "501"),
    ("MAIL FROM:<a@example.org", "501"),
    ("RCPT TO:<>", "501"),
    ("MAIL FROM:<a@example.org> FOO=bar", "555 5.5.4"),
    ("MAIL FROM:<a@example.org> BODY=8BITMIME BODY=7BIT", "501"),
])
def test_address_syntax_and_limits(shared_valija, cmd, expected):
    with session(shared_valija) as c:
        if cmd.startswith("RCPT"):
            c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect(cmd, expected)


def test_long_but_valid_path_accepted(shared_valija):
    with session(shared_valija) as c:
        # path of 250 octets with the brackets: within every limit
        c.expect("MAIL FROM:<%s@%s>" % ("a" * 64, dom(183)), "250 2.1.0")


def test_unknown_rcpt_parameter(shared_valija):
    with session(shared_valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost> FOO=bar", "555 5.5.4")


def test_nul_and_8bit_in_commands(shared_valija):
    with session(shared_valija) as c:
        c.expect(b"NOOP\x00", "500 5.5.2")
        c.expect(b"MAIL FROM:<a\x00b@example.org>", "500 5.5.2")
        code, _, full = c.cmd(b"MAIL FROM:<\xff\xfe@example.org>")
        assert code in (500, 501, 553), full
        code, _, full = c.cmd(b"\xc3\xa9HLO x")
        assert code == 500, full
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")


def test_long_text_lines_stored_unchanged(valija):
    body = b"L" * 5000 + b"\r\n" + b"M" * 100000 + b"\r\n"
    msg = make_message("longlines", body)
    with session(valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        assert re.fullmatch(TRACE_RE, c.reply()[2])
    assert split_trace(valija.message("demo@localhost", 1))[1] == msg


# ---- recipients, errors, hops -------------------------------------------------

def test_recipient_limit(valija):
    msg = make_message("hundred", "h\r\n")
    with session(valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        for i in range(100):
            c.expect("RCPT TO:<demo+r%d@localhost>" % i, "250 2.1.5")
        c.expect("RCPT TO:<demo+r100@localhost>", "452 4.5.3")
        c.expect("RCPT TO:<demo@localhost>", "452 4.5.3")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        assert re.fullmatch(TRACE_RE, c.reply()[2])
    msgs = valija.messages("demo@localhost")
    assert len(msgs) == 1  # 100 subaddresses of one account: one copy
    assert split_trace(valija.message("demo@localhost", 1))[1] == msg


def test_too_many_errors(shared_valija):
    with session(shared_valija) as c:
        replies = []
        for i in range(30):
            try:
                code, _, full = c.cmd("BOGUS%d" % i)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                break
            replies.append(full)
            if code == 421:
                break
        assert replies[-1].startswith("421 4.7.0"), replies
        n = len(replies)
        assert n in (20, 21), "421 after %d errors: %r" % (n, replies)
        assert all(r.startswith("500 5.5.1") for r in replies[:-1]), replies
        c.closed_by_peer()


def test_hop_count(valija):
    def hops(n):
        return ["Received: from hop%d.example by hop%d.example; Fri, 27 Nov 2026 00:00:00 +0000"
                % (i, i + 1) for i in range(n)]
    loop = make_message("loop", "l\r\n", extra_headers=hops(51))
    ok = make_message("fifty", "f\r\n", extra_headers=hops(50))
    with session(valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(loop))
        full = c.reply()[2]
        assert full.startswith("554 5.4.6"), full
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(ok))
        assert re.fullmatch(TRACE_RE, c.reply()[2])
    msgs = valija.messages("demo@localhost")
    assert len(msgs) == 1
    assert split_trace(valija.message("demo@localhost", 1))[1] == ok


def test_hop_count_bdat(valija):
    hdrs = "".join("Received: from h%d by h%d; Fri, 27 Nov 2026 00:00:00 +0000\r\n" % (i, i)
                   for i in range(60))
    content = (hdrs + "Subject: loop\r\n\r\nx\r\n").encode()
    with session(valija) as c:
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT %d LAST\r\n" % len(content) + content)
        assert c.reply()[2].startswith("554 5.4.6")
    assert valija.messages("demo@localhost") == []


# ---- configured limits: connections, timeouts, transactions ---------------------

LIMITS_CONFIG = """
hostname = "localhost"
domains = ["localhost"]

[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"

[limits]
connections_per_ip = 3
command_timeout = 2
data_timeout = 2
messages_per_connection = 2
recipients_per_message = 3
smtp_errors = 3
hop_count = 5
alias_fanout = 3
message_memory = 1048576
rcpt_refusals = 3
"""


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    from conftest import Valija
    v = Valija(tmp_path_factory.mktemp("limited"))
    v.start(config=LIMITS_CONFIG)
    if "demo@localhost" not in v.cli("user", "list").stdout:
        v.add_user("demo@localhost")
    yield v
    v.stop()
    v.kill9()


def test_configured_limits_advertised(limited):
    with limited.raw() as c:
        c.greeting()
        texts = c.ehlo()
        assert "LIMITS RCPTMAX=3 MAILMAX=2" in texts[1:], texts


def test_configured_recipient_limit(limited):
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        for i in range(3):
            c.expect("RCPT TO:<demo+%d@localhost>" % i, "250 2.1.5")
        c.expect("RCPT TO:<demo+3@localhost>", "452 4.5.3")


def test_configured_messages_per_connection(limited):
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        for i in range(2):
            c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
            c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
            c.expect("DATA", "354")
            c.send(dot_stuff(make_message("mpc%d" % i, "x\r\n")))
            assert c.reply()[2].startswith("250 2.0.0")
        code, _, full = c.cmd("MAIL FROM:<a@example.org>")
        assert 400 <= code < 500, full


def test_configured_error_limit(limited):
    with limited.raw() as c:
        c.greeting()
        c.expect("BOGUS1", "500 5.5.1")
        c.expect("BOGUS2", "500 5.5.1")
        code, _, full = c.cmd("BOGUS3")
        if code == 500:
            code, _, full = c.cmd("BOGUS4")
        assert full.startswith("421 4.7.0"), full
        c.closed_by_peer()


def test_configured_hop_count(limited):
    hops = ["Received: from h%d by h%d; Fri, 27 Nov 2026 00:00:00 +0000" % (i, i) for i in range(6)]
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(make_message("hops6", "x\r\n", extra_headers=hops)))
        assert c.reply()[2].startswith("554 5.4.6")
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(make_message("hops5", "x\r\n", extra_headers=hops[:5])))
        assert c.reply()[2].startswith("250 2.0.0")


def test_configured_alias_fanout(limited):
    for u in ("f1", "f2", "f3", "f4"):
        limited.add_user("%s@localhost" % u)
    limited.cli_ok("alias", "add", "three@localhost", "f1@localhost", "f2@localhost",
                   "f3@localhost")
    limited.cli_ok("alias", "add", "four@localhost", "f1@localhost", "f2@localhost",
                   "f3@localhost", "f4@localhost")
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<four@localhost>", "550 5.2.4")
        c.expect("RCPT TO:<three@localhost>", "250 2.1.5")


def test_message_memory_budget_defers(limited):
    """Content beyond the server-wide message memory gets 452 4.3.1, not an
    unbounded buffer; the session goes on and a message that fits is delivered."""
    big = make_message("too big for memory", ("y" * 76 + "\r\n") * 16000)  # ~1.2 MiB
    mark = limited.log_mark()
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        # A declared size the server cannot hold now is refused at MAIL (RFC 1870).
        c.expect("MAIL FROM:<a@example.org> SIZE=%d" % len(big), "452 4.3.1")
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(big))
        assert c.reply()[2].startswith("452 4.3.1")
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT %d LAST\r\n" % len(big) + big)
        assert c.reply()[2].startswith("452 4.3.1")
    limited.wait_log(r"event=smtp_memory_full", since=mark)
    with limited.raw() as c:  # the budget was given back
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(make_message("fits", ("z" * 76 + "\r\n") * 5000)))
        assert c.reply()[2].startswith("250 2.0.0")


def test_refused_recipients_slowed_then_closed(limited):
    """Address harvesting: refusals past half the limit wait, the limit ends the session."""
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        t0 = time.monotonic()
        c.expect("RCPT TO:<nobody1@localhost>", "550 5.1.1")
        assert time.monotonic() - t0 < 0.9
        t1 = time.monotonic()
        c.expect("RCPT TO:<nobody2@localhost>", "550 5.1.1")
        assert time.monotonic() - t1 >= 0.9
        c.send(b"RCPT TO:<nobody3@localhost>\r\n")
        assert c.reply(timeout=30)[2].startswith("550 5.1.1")
        assert c.reply(timeout=30)[2].startswith("421 4.7.0")
        c.closed_by_peer()


def test_command_timeout(limited):
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        t0 = time.monotonic()
        code, _, full = c.reply(timeout=30)
        assert full.startswith("421 4.4.2"), full
        assert time.monotonic() - t0 >= 1.0
        c.closed_by_peer(timeout=30)


def test_data_timeout(limited):
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(b"Subject: slow\r\n\r\npartial")
        code, _, full = c.reply(timeout=30)
        assert full.startswith("421 4.4.2"), full
        c.closed_by_peer(timeout=30)


def test_bdat_timeout(limited):
    with limited.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT 1000 LAST\r\nonly a few bytes")
        code, _, full = c.reply(timeout=30)
        assert full.startswith("421 4.4.2"), full
        c.closed_by_peer(timeout=30)


CONN_CONFIG = """
hostname = "localhost"
domains = ["localhost"]

[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"

[limits]
connections_per_ip = 3
"""


def test_connections_per_ip(valija_factory):
    v = valija_factory()
    v.start(config=CONN_CONFIG)
    conns = []
    try:
        for _ in range(3):
            c = v.raw()
            c.greeting()
            conns.append(c)
        extra = v.raw()
        try:
            code, _, full = extra.reply()
            assert full.startswith("421 4.7.0"), full
            extra.closed_by_peer()
        finally:
            extra.close()
        # the allowed ones still work
        for c in conns:
            c.expect("NOOP", "250 2.0.0")
        # once one closes, a new connection is served again
        mark = v.log_mark()
        quitter = conns.pop()
        quitter.expect("QUIT", "221")
        quitter.closed_by_peer()
        quitter.close()
        v.wait_log(r"event=smtp_disconnect", since=mark)
        for attempt in range(200):
            c = v.raw()
            code, _, full = c.reply()
            if code == 220:
                conns.append(c)
                break
            c.close()
        else:
            raise AssertionError("no connection slot freed: %s" % full)
        assert attempt == 0, "slot freed only after %d attempts" % attempt
    finally:
        for c in conns:
            c.close()


def test_connections_per_ip_other_addresses_unaffected(valija_factory):
    """SECURITY-CASES "Many connections from one address": one address at its limit
    gets 421 4.7.0; clients from other addresses are served meanwhile, whole
    transactions included."""
    v = valija_factory()
    v.start(config=CONN_CONFIG)
    v.add_user("demo@localhost")
    conns = []
    try:
        for _ in range(3):
            c = v.raw(source="127.0.0.1")
            c.greeting()
            conns.append(c)
        with v.raw(source="127.0.0.1") as extra:
            assert extra.reply()[2].startswith("421 4.7.0")
            extra.closed_by_peer()
        for source in ("127.0.0.2", "127.0.0.3"):
            for _ in range(3):  # each other address has a limit of its own
                c = v.raw(source=source)
                c.greeting()
                conns.append(c)
            c.ehlo()
            c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
            c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
            c.expect("DATA", "354")
            c.send(dot_stuff(make_message("from " + source, "x\r\n")))
            assert re.fullmatch(TRACE_RE, c.reply()[2])
        # and the first address is still refused while its three are open
        with v.raw(source="127.0.0.1") as extra:
            assert extra.reply()[2].startswith("421 4.7.0")
    finally:
        for c in conns:
            c.close()
    assert len(v.messages("demo@localhost")) == 2


def test_connections_total(valija_factory):
    v = valija_factory()
    v.start(config=CONN_CONFIG.replace("connections_per_ip = 3", "connections_total = 2"))
    conns = []
    try:
        for _ in range(2):
            c = v.raw()
            c.greeting()
            conns.append(c)
        extra = v.raw()
        try:
            code, _, full = extra.reply()
            assert full.startswith("421 4.7.0"), full
        finally:
            extra.close()
        for c in conns:
            c.expect("NOOP", "250 2.0.0")
    finally:
        for c in conns:
            c.close()


SESSION_CONFIG = CONN_CONFIG.replace("connections_per_ip = 3",
                                    "command_timeout = 60\nsession_timeout = 3")


def test_session_timeout_bounds_slowloris(valija_factory):
    v = valija_factory()
    v.start(config=SESSION_CONFIG)
    with v.raw() as c:
        # a byte every 50 ms, never a whole command: each read is well within
        # command_timeout, the session deadline closes it
        c.greeting()
        t0 = time.monotonic()
        for _ in range(2000):
            try:
                c.send(b"N")
            except OSError:
                break
            if not c.no_pending(wait=0.05):
                break
        code, _, full = c.reply(timeout=40)
        assert code == 421, full
        assert time.monotonic() - t0 < 30


def test_session_timeout_bounds_idle_client(valija_factory):
    v = valija_factory()
    v.start(config=SESSION_CONFIG)
    with v.raw() as c:
        c.greeting()
        c.ehlo()
        t0 = time.monotonic()
        try:
            # idle: command_timeout (60 s) is far, session_timeout (3 s) is near
            code, _, full = c.reply(timeout=15)
        except socket.timeout:
            raise AssertionError("idle session still open %.0fs after connect with "
                                 "session_timeout = 3" % (time.monotonic() - t0)) from None
        assert code == 421, full
        c.closed_by_peer(timeout=30)


IDLE_CONFIG = CONN_CONFIG.replace('domains = ["localhost"]\n', 'domains = ["localhost"]\nio_threads = 1\n') \
    .replace("connections_per_ip = 3", "connections_per_ip = 1000")


def test_idle_and_slow_clients_cost_no_thread(valija_factory):
    """SECURITY-CASES "A client that sends nothing, or one byte a minute ... costs no
    thread": with one I/O thread, 300 clients that are silent, stuck in the middle of a
    command or in the middle of DATA do not hold up a real client."""
    v = valija_factory()
    v.start(config=IDLE_CONFIG)
    v.add_user("demo@localhost")
    stuck = []
    try:
        for i in range(300):
            c = v.raw()
            c.greeting()
            if i % 3 == 1:
                c.send(b"EHLO half-a-comm")  # no line end
            elif i % 3 == 2:
                c.ehlo()
                c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
                c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
                c.expect("DATA", "354")
                c.send(b"Subject: slow\r\n\r\npart")
            stuck.append(c)
        t0 = time.monotonic()
        with session(v) as c:
            c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
            c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
            c.expect("DATA", "354")
            c.send(dot_stuff(make_message("unhindered", "x\r\n")))
            assert re.fullmatch(TRACE_RE, c.reply()[2])
        assert time.monotonic() - t0 < 5
        # the stuck ones are still open and answer when they go on
        c = stuck[1]
        c.send(b"\r\n")
        assert c.reply()[0] == 250
        c = stuck[2]
        c.send(b"\r\n.\r\n")
        assert re.fullmatch(TRACE_RE, c.reply()[2])
    finally:
        for c in stuck:
            c.close()
    assert len(v.messages("demo@localhost")) == 2
