"""ESMTP extensions: EHLO keywords, PIPELINING, SIZE, CHUNKING/BDAT,
8BITMIME, BINARYMIME, SMTPUTF8, STARTTLS, submission ports."""
import re
import smtplib
import ssl
import subprocess
import warnings

import pytest

from conftest import (RawSmtp, dot_stuff, insecure_context, make_message,
                      split_trace)

TRACE_RE = r"250 2\.0\.0 Ok: delivered as (\S+)"

SMALL_LIMIT_CONFIG = """
hostname = "localhost"
domains = ["localhost"]

[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"

[limits]
message_size = 10000
"""


def test_ehlo_keywords(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        code, texts, full = c.cmd("EHLO client.example")
        assert code == 250
        assert texts[0].startswith("localhost"), full
        kws = texts[1:]
        for kw in ["PIPELINING", "SIZE 52428800", "8BITMIME", "BINARYMIME", "CHUNKING",
                   "ENHANCEDSTATUSCODES", "SMTPUTF8", "STARTTLS",
                   "LIMITS RCPTMAX=100 MAILMAX=1000", "HELP"]:
            assert kw in kws, (kw, full)
        # EHLO replies carry no enhanced status code
        assert not re.match(r"\d\.\d", texts[0]), full


def test_ehlo_twice_resets(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.ehlo("again.example")
        # a new EHLO resets the transaction (RFC 5321 §4.1.4)
        c.expect("DATA", "503 5.5.1")


# ---- PIPELINING ---------------------------------------------------------------

def test_pipelining_replies_in_order(valija):
    msg = make_message("pipelined", "p\r\n")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<demo@localhost>\r\n"
               b"RCPT TO:<nobody@localhost>\r\nRCPT TO:<x@foreign.example>\r\n"
               b"RCPT TO:<demo+p@localhost>\r\nDATA\r\n")
        replies = [c.reply()[2] for _ in range(6)]
        assert replies[0].startswith("250 2.1.0"), replies
        assert replies[1].startswith("250 2.1.5"), replies
        assert replies[2].startswith("550 5.1.1"), replies
        assert replies[3].startswith("554 5.7.1"), replies
        assert replies[4].startswith("250 2.1.5"), replies
        assert replies[5].startswith("354"), replies
        # message, then the next transaction, all in one write
        c.send(dot_stuff(msg) + b"MAIL FROM:<b@example.org>\r\nRCPT TO:<demo@localhost>\r\n"
               b"DATA\r\n")
        r = [c.reply()[2] for _ in range(4)]
        assert re.fullmatch(TRACE_RE, r[0]), r
        assert r[1].startswith("250 2.1.0") and r[2].startswith("250 2.1.5"), r
        assert r[3].startswith("354"), r
        c.send(dot_stuff(msg) + b"QUIT\r\n")
        assert c.reply()[2].startswith("250 2.0.0")
        assert c.reply()[2].startswith("221 2.0.0")
    msgs = valija.messages("demo@localhost")
    assert len(msgs) == 2
    for m in msgs:
        assert split_trace(valija.message("demo@localhost", m["uid"]))[1] == msg


def test_pipelining_whole_session_one_write(valija):
    msg = make_message("oneshot", "all at once\r\n")
    with valija.raw() as c:
        c.send(b"EHLO one.example\r\nMAIL FROM:<a@example.org>\r\n"
               b"RCPT TO:<demo@localhost>\r\nDATA\r\n" + dot_stuff(msg) + b"QUIT\r\n")
        c.greeting()
        codes = [c.reply()[0] for _ in range(6)]
        assert codes == [250, 250, 250, 354, 250, 221]
    assert split_trace(valija.message("demo@localhost", 1))[1] == msg


# ---- SIZE ---------------------------------------------------------------------

def test_mail_size_param(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org> SIZE=52428801", "552 5.3.4")
        c.expect("MAIL FROM:<a@example.org> SIZE=52428800", "250 2.1.0")
        c.expect("RSET", "250 2.0.0")
        code, _, full = c.cmd("MAIL FROM:<a@example.org> SIZE=999999999999999999999999")
        assert full.startswith(("552 5.3.4", "501 5.5.4")), full
        c.expect("MAIL FROM:<a@example.org> SIZE=abc", "501")


def test_mail_size_param_20_digits(shared_valija):
    # RFC 1870: size-value = 1*20DIGIT; 20 digits overflow 64 bits but are
    # valid syntax, so the answer is "too big", not "syntax error".
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org> SIZE=99999999999999999999", "552 5.3.4")


def test_message_over_configured_size(valija_factory):
    v = valija_factory()
    v.start(config=SMALL_LIMIT_CONFIG)
    if v.cli("user", "list").stdout.find("demo@localhost") < 0:
        v.add_user("demo@localhost")
    with v.raw() as c:
        c.greeting()
        texts = c.ehlo()
        assert "SIZE 10000" in texts[1:], texts
        c.expect("MAIL FROM:<a@example.org> SIZE=10001", "552 5.3.4")
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        big = make_message("big", (b"y" * 998 + b"\r\n") * 30)
        c.send(dot_stuff(big))
        assert c.reply()[2].startswith("552 5.3.4")
        # the session goes on: a message under the limit is accepted
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(make_message("small", "ok\r\n")))
        assert re.fullmatch(TRACE_RE, c.reply()[2])
        # BDAT beyond the limit
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT 20000 LAST\r\n" + b"z" * 20000)
        assert c.reply()[2].startswith("552 5.3.4")
        c.expect("NOOP", "250 2.0.0")
    msgs = v.messages("demo@localhost")
    assert len(msgs) == 1
    assert b"Subject: small\r\n" in v.message("demo@localhost", msgs[0]["uid"])


def test_message_over_default_size(valija):
    """The default 50 MiB limit is enforced at end of data."""
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(b"Subject: huge\r\n\r\n")
        line = b"h" * 998 + b"\r\n"
        block = line * 1024  # ~1 MiB
        for _ in range(52):
            c.send(block)
        c.send(b".\r\n")
        assert c.reply(timeout=60)[2].startswith("552 5.3.4")
        c.expect("NOOP", "250 2.0.0")
    assert valija.messages("demo@localhost") == []


# ---- CHUNKING / BDAT / BINARYMIME ----------------------------------------------

def test_bdat_chunks(valija):
    part1 = b"Subject: bdat\r\nFrom: <a@example.org>\r\n\r\n"
    part2 = b"first line\r\n.dot line stays\r\n"
    part3 = b"last\r\n"
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        assert c.reply()[2] == "250 2.0.0 %d octets received" % len(part1)
        c.send(b"BDAT %d\r\n" % len(part2) + part2)
        assert c.reply()[2] == "250 2.0.0 %d octets received" % len(part2)
        c.send(b"BDAT %d LAST\r\n" % len(part3) + part3)
        full = c.reply()[2]
        trace = re.fullmatch(TRACE_RE, full).group(1)
        c.expect("QUIT", "221")
    stored = valija.message("demo@localhost", 1)
    head, body = split_trace(stored)
    assert body == part1 + part2 + part3
    assert (b"with ESMTP id %s" % trace.encode()) in head


def test_bdat_pipelined_and_zero_last(valija):
    part1 = b"Subject: bdat0\r\n\r\nbody\r\n"
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<demo@localhost>\r\n"
               b"BDAT %d\r\n" % len(part1) + part1 + b"BDAT 0 LAST\r\nNOOP\r\n")
        r = [c.reply()[2] for _ in range(5)]
        assert r[0].startswith("250 2.1.0") and r[1].startswith("250 2.1.5"), r
        assert r[2] == "250 2.0.0 %d octets received" % len(part1), r
        assert re.fullmatch(TRACE_RE, r[3]), r
        assert r[4].startswith("250 2.0.0"), r
    assert split_trace(valija.message("demo@localhost", 1))[1] == part1


def test_bdat_binarymime_content_is_taken_as_is(valija):
    content = (b"Subject: bin\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n"
               + bytes(range(256)) + b"\n.\n\r.\r\r\n.\r\n")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org> BODY=BINARYMIME", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT %d LAST\r\n" % len(content) + content)
        assert re.fullmatch(TRACE_RE, c.reply()[2])
    assert split_trace(valija.message("demo@localhost", 1))[1] == content


@pytest.mark.parametrize("body", [b"bare\nLF\r\n", b"bare\rCR\r\n", b"ends in CR\r"])
def test_bdat_bare_newline_refused_without_binarymime(valija, body):
    """Without BODY=BINARYMIME, BDAT content is CRLF lines as DATA's is: a bare CR
    or LF is refused (550 5.6.0) even though it cannot end the content."""
    content = b"Subject: bare\r\n\r\n" + body
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org> BODY=8BITMIME", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT %d LAST\r\n" % len(content) + content)
        assert c.reply()[2].startswith("550 5.6.0")
        c.expect("NOOP", "250 2.0.0")
    assert valija.messages("demo@localhost") == []


def test_bdat_without_transaction_is_discarded(valija):
    chunk = b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<demo@localhost>\r\n"
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        assert c.reply()[2].startswith("503 5.5.1")
        # the chunk was consumed as data, not interpreted as commands
        c.expect("NOOP", "250 2.0.0")
        assert c.no_pending()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        assert c.reply()[2].startswith("503 5.5.1")
        c.expect("NOOP", "250 2.0.0")
        assert c.no_pending()
    assert valija.messages("demo@localhost") == []


def test_data_after_bdat(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT 5\r\nhello")
        assert c.reply()[2].startswith("250 2.0.0 5 octets received")
        c.expect("DATA", "503")


def test_binarymime_with_data(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org> BODY=BINARYMIME", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "503")


# ---- 8BITMIME / SMTPUTF8 ------------------------------------------------------

def test_8bitmime(valija):
    msg = (b"Subject: caf\xc3\xa9\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\nna\xc3\xafve \xe2\x82\xac \xff\xfe\r\n")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org> BODY=8BITMIME", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        assert re.fullmatch(TRACE_RE, c.reply()[2])
        c.expect("MAIL FROM:<a@example.org> BODY=7BIT", "250 2.1.0")
        c.expect("RSET", "250 2.0.0")
        c.expect("MAIL FROM:<a@example.org> BODY=9BIT", "501")
    assert split_trace(valija.message("demo@localhost", 1))[1] == msg


def test_smtputf8(valija):
    msg = "Subject: grüße\r\nFrom: <jörg@exämple.org>\r\n\r\nhallo\r\n".encode()
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<jörg@exämple.org> SMTPUTF8", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        trace = re.fullmatch(TRACE_RE, c.reply()[2]).group(1)
    head, body = split_trace(valija.message("demo@localhost", 1))
    assert body == msg
    assert head.startswith("Return-Path: <jörg@exämple.org>\r\n".encode()), head
    assert b"with UTF8SMTP id %s" % trace.encode() in head


def test_utf8_address_without_smtputf8(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<jörg@example.org>", "553 5.6.7")
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<jörg@localhost>", "553 5.6.7")


# ---- STARTTLS ---------------------------------------------------------------

def starttls(c):
    code, _, full = c.cmd("STARTTLS")
    assert full.startswith("220 2.0.0"), full
    assert c.buf == b"", "data after the 220 to STARTTLS: %r" % c.buf
    c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")


def test_starttls_delivery(valija):
    msg = make_message("tls", "secret\r\n")
    mark = valija.log_mark()
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        starttls(c)
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        c.expect("MAIL FROM:<a@example.org>", "503 5.5.1")  # EHLO needed again
        texts = c.ehlo("tls.example")
        assert "STARTTLS" not in texts[1:], texts
        assert "PIPELINING" in texts[1:]
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        trace = re.fullmatch(TRACE_RE, c.reply()[2]).group(1)
        code, _, full = c.cmd("STARTTLS")
        assert 500 <= code < 600, full
        c.expect("QUIT", "221")
        version = c.sock.version()
    head, body = split_trace(valija.message("demo@localhost", 1))
    assert body == msg
    h = head.decode()
    assert "\tby localhost (valija) with ESMTPS id %s\r\n" % trace in h, h
    assert re.search(r"\r\n\t\(using %s with cipher [A-Z0-9_-]+\)\r\n\tfor <demo@localhost>;\r\n"
                     % re.escape(version), h), h
    tx = valija.wait_log(r"event=smtp_tx .*trace=%s" % trace, since=mark).string
    assert re.search(r"\btls=(?!no\b)\S+", tx), tx


def test_starttls_pipelined_commands_discarded(valija):
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.send(b"STARTTLS\r\nNOOP\r\n")
        code, _, full = c.reply()
        assert full.startswith("220 2.0.0"), full
        assert c.buf == b"", "reply to the injected command before TLS: %r" % c.buf
        c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")
        # no stray reply to the injected NOOP, neither now nor after a command
        assert c.no_pending(wait=0.5)
        c.expect("MAIL FROM:<a@example.org>", "503 5.5.1")
        assert c.no_pending()
        c.ehlo()
        c.expect("NOOP", "250 2.0.0")


def test_starttls_pipelined_injection_of_transaction(valija):
    """CVE-2011-0411: a transaction injected in cleartext after STARTTLS must not run."""
    msg = make_message("injected", "evil\r\n")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.send(b"STARTTLS\r\nEHLO evil\r\nMAIL FROM:<evil@example.org>\r\n"
               b"RCPT TO:<demo@localhost>\r\nDATA\r\n" + dot_stuff(msg))
        code, _, full = c.reply()
        assert full.startswith("220 2.0.0"), full
        c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")
        assert c.no_pending(wait=0.5)
        c.expect("DATA", "503 5.5.1")
        c.ehlo()
        c.expect("DATA", "503 5.5.1")
    assert valija.messages("demo@localhost") == []


def test_starttls_smtplib(valija):
    with valija.smtp() as s:
        s.ehlo("py.example")
        assert s.has_extn("starttls")
        code, _ = s.starttls(context=insecure_context())
        assert code == 220
        s.ehlo("py.example")
        assert not s.has_extn("starttls")
        s.sendmail("a@example.org", ["demo@localhost"], make_message("smtplib-tls", "t\r\n"))
    assert len(valija.messages("demo@localhost")) == 1


def test_swaks_plain_and_tls(valija):
    for extra in ([], ["-tls"], ["--pipeline"]):
        cp = subprocess.run(
            ["swaks", "--server", "127.0.0.1:%d" % valija.ports["smtp"],
             "--to", "demo@localhost", "--from", "swaks@example.org",
             "--helo", "swaks.example", "--timeout", "30"] + extra,
            capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, (extra, cp.stdout, cp.stderr)
        assert re.search(r"<[-~]  250 2\.0\.0 Ok: delivered as \S+", cp.stdout), cp.stdout
    msgs = valija.messages("demo@localhost")
    assert len(msgs) == 3
    assert b"with ESMTPS id" in valija.message("demo@localhost", msgs[1]["uid"])


# ---- submission ports -----------------------------------------------------------

def test_submission_requires_auth(shared_valija):
    with shared_valija.raw("submission") as c:
        c.greeting()
        texts = c.ehlo()
        assert "STARTTLS" in texts[1:], texts
        c.expect("MAIL FROM:<demo@localhost>", "530 5.7.0")
        starttls(c)
        c.ehlo()
        c.expect("MAIL FROM:<demo@localhost>", "530 5.7.0")


def test_submissions_implicit_tls(shared_valija):
    with shared_valija.raw("submissions", tls=True) as c:
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        c.greeting()
        texts = c.ehlo()
        assert "STARTTLS" not in texts[1:], texts
        c.expect("MAIL FROM:<demo@localhost>", "530 5.7.0")
        c.expect("QUIT", "221")


def test_tls_versions_below_1_2_refused(shared_valija):
    ctx = insecure_context()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("local OpenSSL cannot offer TLS 1.1")
    import socket
    s = socket.create_connection(("127.0.0.1", shared_valija.ports["submissions"]), timeout=20)
    try:
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            ctx.wrap_socket(s, server_hostname="localhost")
    finally:
        s.close()


def test_smtputf8_over_tls(valija):
    msg = "Subject: ñ\r\n\r\nüber TLS\r\n".encode()
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        starttls(c)
        c.ehlo()
        c.expect("MAIL FROM:<jörg@example.org> SMTPUTF8", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        trace = re.fullmatch(TRACE_RE, c.reply()[2]).group(1)
    head, body = split_trace(valija.message("demo@localhost", 1))
    assert body == msg
    assert b"with UTF8SMTPS id %s" % trace.encode() in head, head


def test_bdat_bad_arguments(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("BDAT", "501")
        c.expect("BDAT abc", "501")
        c.expect("BDAT 5 FIRST", "501")
        c.expect("BDAT -1", "501")
        c.expect("NOOP", "250 2.0.0")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.mark.parametrize("size", [b"1000000000000", b"18446744073709551615"])
def test_bdat_huge_chunk_does_not_hurt(valija, size):
    """A chunk size far beyond SIZE: no allocation of it, other clients unaffected."""
    before = rss_kib(valija.proc.pid)
    c = valija.raw()
    try:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.send(b"BDAT " + size + b" LAST\r\n")
        for _ in range(32):
            try:
                c.send(b"q" * 65536)
            except OSError:
                break  # the server may refuse and close at once
        # whatever it does with this client, it keeps serving others
        with valija.raw() as c2:
            c2.greeting()
            c2.ehlo()
            c2.expect("NOOP", "250 2.0.0")
        assert valija.running()
        grown = rss_kib(valija.proc.pid) - before
        assert grown < 64 * 1024, "server grew by %d KiB" % grown
    finally:
        c.close()
    assert valija.messages("demo@localhost") == []
