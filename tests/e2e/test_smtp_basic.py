"""Basic SMTP: dialogue replies, delivery, stored form, aliases, quotas."""
import re
import smtplib
import subprocess

import pytest

from conftest import dot_stuff, make_message, split_trace

TRACE_RE = r"250 2\.0\.0 Ok: delivered as (\S+)"


def send_raw(v, sender, rcpts, msg, helo="EHLO client.example"):
    """One transaction over a raw connection; returns the end-of-data reply."""
    with v.raw() as c:
        c.greeting()
        c.expect(helo, "250")
        c.expect("MAIL FROM:<%s>" % sender, "250 2.1.0")
        for r in rcpts:
            c.expect("RCPT TO:<%s>" % r, "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        code, _, full = c.reply()
        c.expect("QUIT", "221 2.0.0")
        return full


# ---- the dialogue ----------------------------------------------------------

def test_greeting(valija):
    with valija.raw() as c:
        assert c.greeting() == "220 localhost ESMTP valija"


def test_simple_delivery_and_stored_form(valija):
    msg = make_message("hello-1", "line one\r\nline two\r\n")
    full = send_raw(valija, "sender@example.org", ["demo@localhost"], msg)
    m = re.fullmatch(TRACE_RE, full)
    assert m, full
    trace = m.group(1)

    msgs = valija.messages("demo@localhost")
    assert len(msgs) == 1
    assert msgs[0]["trace"] == trace
    assert msgs[0]["uid"] == 1
    stored = valija.message("demo@localhost", msgs[0]["uid"])
    assert msgs[0]["size"] == len(stored)
    head, body = split_trace(stored)
    assert body == msg
    lines = head.decode().split("\r\n")
    assert lines[0] == "Return-Path: <sender@example.org>"
    assert lines[1] == "Delivered-To: demo@localhost"
    assert lines[2] == "Received: from client.example ([127.0.0.1])"
    assert lines[3] == "\tby localhost (valija) with ESMTP id %s" % trace
    assert lines[4] == "\tfor <demo@localhost>;"
    assert re.fullmatch(r"\t\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", lines[5]), lines[5]
    assert lines[6] == ""
    assert "using" not in head.decode()


def test_helo_gives_smtp_protocol(valija):
    msg = make_message("helo", "x\r\n")
    full = send_raw(valija, "a@example.org", ["demo@localhost"], msg, helo="HELO old.example")
    trace = re.fullmatch(TRACE_RE, full).group(1)
    head, _ = split_trace(valija.message("demo@localhost", 1))
    assert b"Received: from old.example ([127.0.0.1])\r\n" in head
    assert b"\tby localhost (valija) with SMTP id %s\r\n" % trace.encode() in head


def test_helo_reply(valija):
    with valija.raw() as c:
        c.greeting()
        code, texts, full = c.cmd("HELO x.example")
        assert code == 250 and "\n" not in full


def test_log_events(valija):
    mark = valija.log_mark()
    msg = make_message("logged", "body\r\n")
    full = send_raw(valija, "who@example.org", ["demo@localhost"], msg, helo="EHLO logger.example")
    trace = re.fullmatch(TRACE_RE, full).group(1)
    d = valija.wait_log(r"event=delivered trace=%s .*" % trace, since=mark).group(0)
    assert "to=demo@localhost" in d
    assert "mailbox=INBOX" in d
    assert re.search(r"uidvalidity=\d+", d)
    assert "uid=1" in d
    tx = valija.wait_log(r"event=smtp_tx .*trace=%s.*" % trace, since=mark).string
    for rx in [r"conn=\S+", r"client=127\.0\.0\.1\b", r"helo=logger\.example",
               r"tls=no", r"from=<who@example\.org>", r"rcpts=<demo@localhost>",
               r"size=\d+", r'result="?250 2\.0\.0', r"ms=[\d.]+"]:
        assert re.search(rx, tx), (rx, tx)
    # log line format: timestamp, level, event
    assert re.match(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z info event=smtp_tx ", tx), tx


def test_smtplib_sendmail(valija):
    with valija.smtp() as s:
        code, _ = s.ehlo("py.example")
        assert code == 250
        refused = s.sendmail("py@example.org", ["demo@localhost"],
                             make_message("smtplib", "hi\r\n"))
        assert refused == {}
    assert len(valija.messages("demo@localhost")) == 1


def test_dot_stuffing_and_unstuffing(valija):
    body = b".leading dot\r\n..two dots\r\n.\r\n.x\r\nend\r\n"
    msg = make_message("dots", body)
    send_raw(valija, "a@example.org", ["demo@localhost"], msg)
    _, stored_body = split_trace(valija.message("demo@localhost", 1))
    assert stored_body == msg


def test_null_sender(valija):
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(make_message("bounce", "x\r\n")))
        assert c.reply()[2].startswith("250 2.0.0")
    assert valija.message("demo@localhost", 1).startswith(b"Return-Path: <>\r\n")


def test_several_messages_one_connection_and_uids(valija):
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        traces = []
        for i in range(5):
            c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
            c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
            c.expect("DATA", "354")
            c.send(dot_stuff(make_message("multi-%d" % i, "n=%d\r\n" % i)))
            full = c.reply()[2]
            traces.append(re.fullmatch(TRACE_RE, full).group(1))
        c.expect("QUIT", "221 2.0.0")
    assert len(set(traces)) == 5
    msgs = valija.messages("demo@localhost")
    assert [m["uid"] for m in msgs] == [1, 2, 3, 4, 5]
    assert [m["trace"] for m in msgs] == traces
    for i, m in enumerate(msgs):
        assert b"Subject: multi-%d\r\n" % i in valija.message("demo@localhost", m["uid"])


@pytest.mark.parametrize("line,expected", [
    ("NOOP", "250 2.0.0"),
    ("RSET", "250 2.0.0"),
    ("VRFY demo@localhost", "252 2.5.0"),
    ("VRFY nosuchuser@localhost", "252 2.5.0"),
    ("EXPN postmaster@localhost", "502"),
    ("FROBNICATE", "500 5.5.1"),
    ("DATA", "503 5.5.1"),
    ("RCPT TO:<demo@localhost>", "503 5.5.1"),
])
def test_simple_replies_after_ehlo(shared_valija, line, expected):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect(line, expected)


def test_mail_before_ehlo(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.expect("MAIL FROM:<a@example.org>", "503 5.5.1")


def test_nested_mail(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("MAIL FROM:<b@example.org>", "503 5.5.1")


def test_rset_clears_transaction(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("RSET", "250 2.0.0")
        c.expect("DATA", "503 5.5.1")
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")


def test_quit(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.expect("QUIT", "221 2.0.0")
        assert c.closed_by_peer() == b""


def test_unknown_local_user(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<nosuchuser@localhost>", "550 5.1.1")


def test_data_after_all_rcpts_refused(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<nosuchuser@localhost>", "550 5.1.1")
        c.expect("RCPT TO:<x@foreign.example>", "554 5.7.1")
        c.expect("DATA", "554 5.5.1")


def test_enhanced_codes_on_every_reply(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        for line in ["NOOP", "MAIL FROM:<a@example.org>", "RCPT TO:<demo@localhost>",
                     "RCPT TO:<nobody@localhost>", "RCPT TO:<x@elsewhere.example>",
                     "VRFY demo", "EXPN demo", "RSET", "DATA", "BOGUS", "HELP"]:
            code, texts, full = c.cmd(line)
            for t in texts:
                assert re.match(r"[245]\.\d{1,3}\.\d{1,3}( |$)", t), (line, full)
        code, texts, full = c.cmd("QUIT")
        assert re.match(r"221 2\.0\.0", full)


def test_postmaster_without_domain(valija):
    msg = make_message("pm", "to postmaster\r\n", to="postmaster")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        assert c.expect("RCPT TO:<postmaster>", "250") == "250 2.1.5 <postmaster@localhost>: Recipient OK"
        c.expect("RCPT TO:<Postmaster>", "250")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        assert c.reply()[2].startswith("250 2.0.0")
    msgs = valija.messages("demo@localhost")
    assert len(msgs) == 1  # two recipients expand to demo: one copy
    _, body = split_trace(valija.message("demo@localhost", 1))
    assert body == msg


def test_multiple_recipients_no_for_clause(valija):
    valija.add_user("ana@localhost")
    msg = make_message("two", "for two\r\n")
    full = send_raw(valija, "a@example.org", ["demo@localhost", "ana@localhost"], msg)
    trace = re.fullmatch(TRACE_RE, full).group(1)
    for addr in ["demo@localhost", "ana@localhost"]:
        msgs = valija.messages(addr)
        assert len(msgs) == 1 and msgs[0]["trace"] == trace
        stored = valija.message(addr, msgs[0]["uid"])
        head, body = split_trace(stored)
        assert body == msg
        assert b"Delivered-To: %s\r\n" % addr.encode() in head
        assert b"for <" not in head


def test_case_insensitive_domain_and_local(valija):
    full = send_raw(valija, "a@example.org", ["Demo@LOCALHOST"], make_message("case", "x\r\n"))
    assert full.startswith("250 2.0.0")
    assert len(valija.messages("demo@localhost")) == 1


# ---- routing: aliases, subaddress, catch-all -----------------------------

def test_alias_to_several_accounts_and_dedup(valija):
    valija.add_user("ana@localhost")
    valija.add_user("bob@localhost")
    valija.cli_ok("alias", "add", "team@localhost", "ana@localhost", "bob@localhost")
    valija.cli_ok("alias", "add", "ana-alias@localhost", "ana@localhost")
    msg = make_message("team", "team mail\r\n")
    # team expands to ana+bob, ana-alias to ana again, and ana directly: one copy each
    send_raw(valija, "a@example.org",
             ["team@localhost", "ana-alias@localhost", "ana@localhost"], msg)
    for addr in ["ana@localhost", "bob@localhost"]:
        msgs = valija.messages(addr)
        assert len(msgs) == 1, (addr, msgs)
        _, body = split_trace(valija.message(addr, msgs[0]["uid"]))
        assert body == msg
    assert valija.messages("demo@localhost") == []


def test_catch_all(valija):
    valija.add_user("ana@localhost")
    valija.cli_ok("alias", "add", "@localhost", "ana@localhost")
    msg = make_message("catchall", "anything\r\n")
    send_raw(valija, "a@example.org", ["whatever-name@localhost"], msg)
    msgs = valija.messages("ana@localhost")
    assert len(msgs) == 1
    head, body = split_trace(valija.message("ana@localhost", msgs[0]["uid"]))
    assert body == msg
    # an existing account still gets its own mail
    send_raw(valija, "a@example.org", ["demo@localhost"], make_message("d", "d\r\n"))
    assert len(valija.messages("demo@localhost")) == 1
    assert len(valija.messages("ana@localhost")) == 1


def test_subaddress(valija):
    msg = make_message("sub", "plus\r\n")
    send_raw(valija, "a@example.org", ["demo+tag@localhost"], msg)
    msgs = valija.messages("demo@localhost")
    assert len(msgs) == 1
    _, body = split_trace(valija.message("demo@localhost", 1))
    assert body == msg


def test_alias_loop(valija):
    valija.cli_ok("alias", "add", "a@localhost", "b@localhost")
    valija.cli_ok("alias", "add", "b@localhost", "a@localhost")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<x@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<a@localhost>", "550 5.4.6")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")


# ---- quotas -----------------------------------------------------------------

def test_quota_exceeded_at_rcpt(valija):
    valija.add_user("small@localhost", quota="1K")
    # the first message (~0.7K stored) fits; a second one would exceed the
    # quota: a single-recipient message is refused at end of data.
    big = make_message("fill", b"x" * 400 + b"\r\n")
    assert send_raw(valija, "a@example.org", ["small@localhost"], big).startswith("250 2.0.0")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<small@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(big))
        code, _, full = c.reply()
        assert full.startswith("552 5.2.2"), full
    assert len(valija.messages("small@localhost")) == 1
    # lower the quota below the usage: RCPT is refused outright
    valija.cli_ok("user", "quota", "small@localhost", "100")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<small@localhost>", "552 5.2.2")
    assert len(valija.messages("small@localhost")) == 1


def test_quota_user_list(valija):
    valija.add_user("q@localhost", quota="500M")
    out = valija.cli_ok("user", "list", "localhost").stdout
    line = [l for l in out.splitlines() if l.startswith("q@localhost\t")]
    assert line, out
    f = line[0].split("\t")
    assert re.fullmatch(r"used \S+ in 0 messages", f[1]), line
    assert f[2].startswith("quota ") and "500" in f[2], line


def test_data_after_mail_without_rcpt(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("DATA", "503 5.5.1")


def test_helo_ehlo_syntax(shared_valija):
    with shared_valija.raw() as c:
        c.greeting()
        c.expect("EHLO", "501")
        c.expect("HELO", "501")
        c.expect("EHLO [127.0.0.1]", "250")
        c.expect("EHLO [IPv6:::1]", "250")


def test_commands_are_case_insensitive(valija):
    msg = make_message("lower", "lower case verbs\r\n")
    with valija.raw() as c:
        c.greeting()
        c.expect("ehlo lower.example", "250")
        c.expect("mail from:<a@example.org>", "250 2.1.0")
        c.expect("rcpt to:<demo@localhost>", "250 2.1.5")
        c.expect("data", "354")
        c.send(dot_stuff(msg))
        assert c.reply()[2].startswith("250 2.0.0")
        c.expect("NoOp", "250 2.0.0")
    assert split_trace(valija.message("demo@localhost", 1))[1] == msg


def test_disconnect_mid_data_stores_nothing(valija):
    mark = valija.log_mark()
    c = valija.raw()
    c.greeting()
    c.ehlo()
    c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
    c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
    c.expect("DATA", "354")
    c.send(b"Subject: cut\r\n\r\nhalf a message\r\n")
    c.close()
    valija.wait_log(r"event=smtp_disconnect\b", since=mark)
    assert valija.messages("demo@localhost") == []
    send_raw(valija, "a@example.org", ["demo@localhost"], make_message("next", "ok\r\n"))
    assert len(valija.messages("demo@localhost")) == 1


def test_alias_chain_and_depth(valija):
    # a short chain resolves
    valija.cli_ok("alias", "add", "c1@localhost", "c2@localhost")
    valija.cli_ok("alias", "add", "c2@localhost", "c3@localhost")
    valija.cli_ok("alias", "add", "c3@localhost", "demo@localhost")
    msg = make_message("chain", "chained\r\n")
    send_raw(valija, "a@example.org", ["c1@localhost"], msg)
    assert split_trace(valija.message("demo@localhost", 1))[1] == msg
    # a chain deeper than alias_depth (10) counts as a loop
    for i in range(15):
        valija.cli_ok("alias", "add", "d%d@localhost" % i, "d%d@localhost" % (i + 1))
    valija.cli_ok("alias", "add", "d15@localhost", "demo@localhost")
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<x@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<d0@localhost>", "550 5.4.6")
        c.expect("RCPT TO:<d12@localhost>", "250 2.1.5")


def test_quota_grace_with_several_recipients(valija):
    valija.add_user("small@localhost", quota="1K")
    fill = make_message("fill", b"x" * 400 + b"\r\n")
    assert send_raw(valija, "a@example.org", ["small@localhost"], fill).startswith("250 2.0.0")
    # the next one would exceed small's quota, but goes to demo as well:
    # small still receives it (quota grace), the message is not failed for everyone
    msg = make_message("grace", b"y" * 400 + b"\r\n")
    full = send_raw(valija, "a@example.org", ["small@localhost", "demo@localhost"], msg)
    assert full.startswith("250 2.0.0"), full
    assert len(valija.messages("small@localhost")) == 2
    assert len(valija.messages("demo@localhost")) == 1
    # now small is above its quota: refused at RCPT
    with valija.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<small@localhost>", "552 5.2.2")
