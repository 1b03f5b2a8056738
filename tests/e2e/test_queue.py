"""The outbound queue end to end: mail for other domains (alias redirects, bounces to
SRS addresses) goes to the destination's exchangers found through DNS (dnsstub.py) on
loopback addresses 127.0.0.2 and up, where scripted SMTP servers (smtpsink.py) accept,
defer or refuse it. Retries, MX fallback, null MX, SRS, delivery reports (parsed with
Python's email package), transports, `valija queue` and kill -9.
"""
import re
import time

import pytest

from conftest import make_message
from outbound_env import delivery_status, env  # noqa: F401 (env is a fixture)
from smtpsink import ScriptedSmtp

# ---- forwarding through MX, SRS ---------------------------------------------------

def test_alias_redirect_goes_out_with_srs(env):
    e = env()
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    msg = make_message("forwarded", "hello bob\r\n", sender="alice@sender.example", to="fwd@local.example")
    reply = e.send("alice@sender.example", ["fwd@local.example"], msg)
    assert reply.startswith("250 2.0.0") and "queued" in reply, reply
    tx = e.sink.wait_transactions(1)[0]
    assert tx.rcpts == ["bob@remote.example"]
    assert "DATA" in e.sink.commands  # no CHUNKING offered: DATA, dot-stuffed
    # SRS: the envelope sender is ours, so SPF passes at the destination.
    assert re.fullmatch(r"SRS0=[^=]{4}=[A-Z2-7]{2}=sender\.example=alice@local\.example", tx.sender), tx.sender
    # DSN offered by the destination: the original recipient travels with it.
    assert "ORCPT=rfc822;fwd@local.example" in tx.rcpt_params["bob@remote.example"], tx.rcpt_params
    assert tx.data.startswith(b"Received: from client.example"), tx.data[:200]
    assert b"by mx.local.example (valija)" in tx.data
    assert tx.data.endswith(msg + b"\r\n") or tx.data.endswith(msg), tx.data[-100:]
    e.wait_queue_empty()
    e.v.wait_log(r"event=queue_sent .*to=\"?<bob@remote.example>\"? remote=mx.remote.example\[127.0.0.2\]")

    # A bounce to the rewritten address comes back: verified and sent on to alice.
    before = len(e.sink.transactions)
    bounce = make_message("bounce", "it failed\r\n", sender="MAILER-DAEMON@remote.example", to=tx.sender)
    reply = e.send("", [tx.sender], bounce)
    assert reply.startswith("250"), reply
    back = e.sink.wait_transactions(before + 1)[-1]
    assert back.rcpts == ["alice@sender.example"]
    assert back.sender == ""  # a bounce stays a bounce

    # A forged or damaged SRS address is refused.
    forged = tx.sender.replace("alice", "mallory")
    with e.v.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<>", "250")
        c.expect("RCPT TO:<%s>" % forged, "550 5.1.1")


def test_local_sender_is_not_rewritten_and_recipients_share_a_transaction(env):
    e = env()
    e.v.cli_ok("alias", "add", "team@local.example", "bob@remote.example", "cy@remote.example", "ana@local.example")
    msg = make_message("team", "hi all\r\n", sender="ana@local.example", to="team@local.example")
    reply = e.send("ana@local.example", ["team@local.example"], msg)
    assert reply.startswith("250 2.0.0 Ok: delivered"), reply
    tx = e.sink.wait_transactions(1)[0]
    assert tx.sender == "ana@local.example"
    assert sorted(tx.rcpts) == ["bob@remote.example", "cy@remote.example"]  # one transaction
    assert len(e.v.messages("ana@local.example")) == 1  # the local copy
    e.wait_queue_empty()


# ---- retries and fallback -----------------------------------------------------------

def test_deferred_then_accepted(env):
    e = env(sink_kw={"rcpt": {"bob@remote.example": ["451 4.3.0 Greylisted, try again", "250 2.1.5 Ok"]}})
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("retry", "x\r\n", sender="ana@local.example"))
    e.v.wait_log(r"event=queue_deferred .*reply=\"451 4.3.0 Greylisted")
    tx = e.sink.wait_transactions(1)[0]
    assert tx.rcpts == ["bob@remote.example"]
    e.wait_queue_empty()
    assert e.v.messages("ana@local.example") == []  # no report: it arrived
    assert sum(1 for c in e.sink.commands if c.startswith("RCPT")) == 2


@pytest.mark.parametrize("where,sink_kw", [
    ("greeting", {"greetings": ["CLOSE:421 4.3.2 Too busy, try later", "220 sink.example ESMTP"]}),
    ("rcpt", {"rcpt": {"bob@remote.example": ["CLOSE:451 4.3.0 Try again later", "250 2.1.5 Ok"]}}),
    ("data", {"data_script": ["CLOSE:451 4.3.0 Try again later", "250 2.0.0 Ok: queued"]}),
])
def test_4xx_then_close_is_retried_and_sent_once(env, where, sink_kw):
    """SECURITY-CASES "Remote MTA answers 4xx then closes": the recipient waits for the
    next attempt (no bounce), which delivers it exactly once."""
    e = env(sink_kw=sink_kw)
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("4xx-" + where, "x\r\n", sender="ana@local.example"))
    # the reason logged is the 4xx, or the lost connection when the close overtook it
    e.v.wait_log(r"event=queue_(deferred .*bob@remote\.example|connect_failed .*remote=mx\.remote\.example)"
                 r".*reply=\"4")
    tx = e.sink.wait_transactions(1)[0]
    assert tx.rcpts == ["bob@remote.example"] and b"Subject: 4xx-" + where.encode() in tx.data
    e.wait_queue_empty()
    assert len(e.sink.transactions) == 1 and e.sink.connections == 2, e.sink.commands
    assert e.v.messages("ana@local.example") == []  # no report: it arrived


@pytest.mark.parametrize("script", [["DROP_MID", "250 2.0.0 Ok: queued"], ["DROP", "250 2.0.0 Ok: queued"]],
                         ids=["cut-mid-data", "no-reply-to-end-of-data"])
def test_connection_lost_during_data_is_retried(env, script):
    """SECURITY-CASES "Remote MTA ... hangs mid-DATA": a connection lost before the reply
    to the end of data is a temporary failure; the next attempt delivers the message
    (RFC 5321 §6.1: only this case may ever give a duplicate)."""
    e = env(sink_kw={"data_script": script})
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("cut", "x\r\n" * 50, sender="ana@local.example"))
    e.v.wait_log(r"event=queue_deferred .*bob@remote.example")
    tx = e.sink.wait_transactions(1)[0]
    assert tx.data.endswith(b"x\r\n" * 50), tx.data[-200:]
    e.wait_queue_empty()
    assert len(e.sink.transactions) == 1 and e.sink.connections == 2, e.sink.commands
    assert e.v.messages("ana@local.example") == []


def test_no_resend_after_a_confirmed_250_and_a_lost_connection(env):
    """SECURITY-CASES: "no duplicate after a confirmed 250": the destination confirms the
    message then closes without waiting for QUIT; the message is done, never sent again."""
    e = env(sink_kw={"data_script": ["CLOSE:250 2.0.0 Ok: queued as 1"]})
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    mark = e.v.log_mark()
    e.send("ana@local.example", ["fwd@local.example"], make_message("once", "x\r\n", sender="ana@local.example"))
    e.v.wait_log(r"event=queue_sent .*bob@remote.example", since=mark)
    e.wait_queue_empty()
    # a second message over a fresh connection shows the runner went on (and had
    # nothing else to send)
    e.sink.data_script[:] = ["250 2.0.0 Ok: queued as 2"]
    e.send("ana@local.example", ["fwd@local.example"], make_message("twice", "x\r\n", sender="ana@local.example"))
    e.sink.wait_transactions(2)
    e.wait_queue_empty()
    subjects = [re.search(rb"Subject: (\S+)", t.data).group(1) for t in e.sink.transactions]
    assert subjects == [b"once", b"twice"], subjects
    assert e.sink.data_ends == 2, e.sink.commands
    assert "event=queue_deferred" not in "\n".join(e.v.log_lines(mark))


def test_first_mx_down_second_takes_it(env):
    e = env()
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@fallback.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("fallback", "x\r\n", sender="ana@local.example"))
    tx = e.sink.wait_transactions(1)[0]
    assert tx.rcpts == ["bob@fallback.example"]
    e.v.wait_log(r"event=queue_connect_failed .*remote=down.fallback.example\[127.0.0.3\]")
    e.v.wait_log(r"event=queue_sent .*remote=up.fallback.example\[127.0.0.2\]")
    e.wait_queue_empty()


def test_dns_failure_defers_never_bounces(env):
    e = env(servfail={"broken.example"})
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@broken.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("dns", "x\r\n", sender="ana@local.example"))
    e.v.wait_log(r"event=queue_scan|MX lookup of broken.example failed", raise_=False, timeout=5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out = e.queue()
        if "attempts 2" in out:
            break
        time.sleep(0.2)
    assert "<bob@broken.example>  pending" in out, out
    assert "451 4.4.3 MX lookup of broken.example failed" in out, out
    assert e.v.messages("ana@local.example") == []  # no bounce


def test_dns_timeout_defers_never_bounces(env):
    """SECURITY-CASES "DNS timeout ... during routing": a resolver that never answers
    (each lookup gives up after [dns] timeout = 3 s) leaves the recipient pending with a
    4xx and makes no report; the next attempt asks again."""
    e = env(silent={"slow.example"})
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@slow.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("dns-timeout", "x\r\n", sender="ana@local.example"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = e.queue()
        if re.search(r"attempts [2-9]", out):
            break
        time.sleep(0.2)
    assert "<bob@slow.example>  pending" in out and re.search(r"attempts [2-9]", out), out
    assert re.search(r"last: 4\d\d 4\.4\.\d", out), out
    assert e.v.messages("ana@local.example") == []  # no bounce, no delay report
    assert "event=queue_bounced" not in e.v.stderr_text()


# ---- bounces (RFC 3464) -----------------------------------------------------------

def test_refused_recipient_bounces_with_a_report(env):
    e = env(sink_kw={"rcpt": {"nobody@remote.example": ["550 5.1.1 <nobody@remote.example>: User unknown"]}})
    e.v.cli_ok("alias", "add", "fwd@local.example", "nobody@remote.example")
    msg = make_message("will bounce", "the body\r\n", sender="ana@local.example", to="fwd@local.example")
    e.send("ana@local.example", ["fwd@local.example"], msg, mail_params=" ENVID=env+2B42 RET=HDRS")
    [report] = e.reports()
    assert report["From"].addresses[0].addr_spec == "MAILER-DAEMON@mx.local.example"
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    assert report["Auto-Submitted"] == "auto-replied"
    per_message, per_rcpt, parts = delivery_status(report)
    assert per_message["reporting-mta"] == "dns; mx.local.example"
    assert per_message["original-envelope-id"] == "env+42"
    assert len(per_rcpt) == 1
    r = per_rcpt[0]
    assert r["final-recipient"] == "rfc822; nobody@remote.example"
    assert r["original-recipient"] == "rfc822;fwd@local.example"
    assert r["action"] == "failed"
    assert r["status"] == "5.1.1"
    assert r["remote-mta"] == "dns; mx.remote.example"
    assert r["diagnostic-code"].startswith("smtp; 550 5.1.1"), r
    # RET=HDRS: the header comes back, not the body.
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert b"Subject: will bounce" in parts[2].get_payload(decode=True) or "Subject: will bounce" in str(parts[2])
    assert "the body" not in report.as_string()
    # The report itself arrived with a null sender.
    raw = e.v.bodies("ana@local.example")[0]
    assert raw.startswith(b"Return-Path: <>\r\n"), raw[:80]
    e.wait_queue_empty()


def test_null_mx_bounces_at_once_with_full_message(env):
    e = env()
    e.v.cli_ok("alias", "add", "fwd@local.example", "someone@nullmx.example")
    msg = make_message("to null mx", "small body\r\n", sender="ana@local.example", to="fwd@local.example")
    e.send("ana@local.example", ["fwd@local.example"], msg, mail_params=" RET=FULL")
    [report] = e.reports()
    _, [r], parts = delivery_status(report)
    assert r["status"] == "5.1.10", r
    assert r["action"] == "failed"
    assert parts[2].get_content_type() == "message/rfc822"
    assert "small body" in report.as_string()


def test_no_report_for_null_sender(env):
    e = env(sink_kw={"rcpt": {"nobody@remote.example": ["550 5.1.1 User unknown"]}})
    e.v.cli_ok("alias", "add", "fwd@local.example", "nobody@remote.example")
    e.send("", ["fwd@local.example"], make_message("bounce of bounce", "x\r\n", sender="ana@local.example"))
    e.v.wait_log(r"event=queue_bounced .*nobody@remote.example")
    e.wait_queue_empty()
    assert "event=dsn_sent" not in e.v.stderr_text()


def test_notify_never_and_success_relayed(env):
    e = env(sink_kw={"ehlo": ("PIPELINING", "8BITMIME"),  # no DSN: a success cannot travel on
                     "rcpt": {"nobody@remote.example": ["550 5.1.1 User unknown"]}})
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    e.v.cli_ok("alias", "add", "gone@local.example", "nobody@remote.example")
    e.send("ana@local.example", ["gone@local.example"], make_message("never", "x\r\n", sender="ana@local.example"),
           rcpt_params=" NOTIFY=NEVER")
    e.v.wait_log(r"event=queue_bounced .*nobody@remote.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("success", "x\r\n", sender="ana@local.example"),
           rcpt_params=" NOTIFY=SUCCESS")
    [report] = e.reports()
    assert report["Subject"] == "Successful Mail Delivery Report"
    _, [r], _ = delivery_status(report)
    assert r["action"] == "relayed" and r["final-recipient"] == "rfc822; bob@remote.example", r
    e.wait_queue_empty()
    assert len(e.v.messages("ana@local.example")) == 1  # nothing for NOTIFY=NEVER


def test_delay_warning_then_give_up(env):
    e = env(extra="warn_after = 1\ngive_up_after = 4\n",
            sink_kw={"rcpt": {"slow@remote.example": ["452 4.2.2 Mailbox full, try later"]}})
    e.v.cli_ok("alias", "add", "fwd@local.example", "slow@remote.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("slow", "x\r\n", sender="ana@local.example"))
    delayed, failed = e.reports(n=2, timeout=30)
    assert delayed["Subject"] == "Delayed Mail (still being retried)"
    _, [r], _ = delivery_status(delayed)
    assert r["action"] == "delayed" and r["status"] == "4.2.2" and "will-retry-until" in r, r
    assert failed["Subject"] == "Undelivered Mail Returned to Sender"
    _, [r], _ = delivery_status(failed)
    assert r["action"] == "failed" and r["status"] == "4.4.7", r
    assert "452 4.2.2" in r["diagnostic-code"]
    e.wait_queue_empty()


# ---- transports, admin, durability ---------------------------------------------------

def test_transport_override_skips_dns(env):
    e = env(extra='[[transport]]\ndomain = "partner.example"\nhost = "127.0.0.2"\nport = @PORT@\ntls = "none"\n')
    e.v.cli_ok("alias", "add", "fwd@local.example", "p@partner.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("partner", "x\r\n", sender="ana@local.example"))
    tx = e.sink.wait_transactions(1)[0]
    assert tx.rcpts == ["p@partner.example"]
    assert not any(n.startswith("partner.example") for n, _ in e.dns.queries), e.dns.queries


def test_queue_cli_and_kill9(env):
    """A destination that is down: the message waits; `queue list/show` tell why; after
    kill -9 and a restart with the destination up, `queue flush` sends it (the next
    scheduled attempt is an hour away, so only the flush can have sent it)."""
    e = env(retry="[3600]")
    e.sink.stop()
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("waits", "x\r\n", sender="ana@local.example"))
    e.v.wait_log(r"event=queue_connect_failed")
    out = e.queue()
    m = re.match(r"(\d+)\s+\S+\s+\S+\s+from <ana@local.example>", out)
    assert m, out
    qid = m.group(1)
    assert "<bob@remote.example>  pending  attempts" in out, out
    assert "last: 451 4.4.1" in out and "mx.remote.example[127.0.0.2]" in out, out
    show = e.v.cli_ok("queue", "show", qid).stdout
    assert "Subject: waits" in show and "from <ana@local.example>" in show, show
    assert e.v.cli("queue", "show", "999999").returncode != 0

    e.v.kill9()
    e.sink = ScriptedSmtp("127.0.0.2", e.port).start()
    e.v.proc = None
    e.start()
    assert "bob@remote.example" in e.queue()
    flush = e.v.cli_ok("queue", "flush").stdout
    assert "tries now" in flush, flush
    tx = e.sink.wait_transactions(1)[0]
    assert tx.rcpts == ["bob@remote.example"]
    e.wait_queue_empty()


def test_queue_delete(env):
    e = env()
    e.sink.stop()
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")
    e.send("ana@local.example", ["fwd@local.example"], make_message("delete me", "x\r\n", sender="ana@local.example"))
    out = e.queue()
    qid = re.match(r"(\d+)", out).group(1)
    assert e.v.cli_ok("queue", "delete", qid).stdout.strip() == "deleted %s" % qid
    assert e.queue().startswith("0 message(s)")
    assert e.v.cli("queue", "delete", qid).returncode == 1


def test_smart_host_with_auth(env, valija_factory, tmp_path):
    """Everything through a relay that wants STARTTLS and AUTH: here another valija's
    submission port, which sends on to the destination's MX."""
    e = env()  # the relay's DNS and the destination sink
    relay = valija_factory("relay")
    relay.start(config=e.config()
                .replace('domains = ["local.example"]', 'domains = ["relay.example", "origin.example"]')
                .replace('hostname = "mx.local.example"', 'hostname = "smtp.relay.example"'))
    relay.add_user("client@relay.example", password="relay-pass")
    # The relay lets its customer send as origin.example's ana (an alias granted to it).
    relay.cli_ok("alias", "add", "ana@origin.example", "client@relay.example")
    secret = tmp_path / "relay.secret"
    secret.write_text("relay-pass\n")
    secret.chmod(0o600)
    origin = valija_factory("origin")
    origin.start(config=e.config()
                 .replace('domains = ["local.example"]', 'domains = ["origin.example"]')
                 .replace('hostname = "mx.local.example"', 'hostname = "mx.origin.example"')
                 + '[relay]\nhost = "127.0.0.1"\nport = %d\ntls = "required"\nuser = "client@relay.example"\n'
                   'password_file = "%s"\n' % (relay.ports["submission"], secret))
    origin.add_user("ana@origin.example")
    origin.cli_ok("alias", "add", "fwd@origin.example", "bob@remote.example")
    with origin.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<ana@origin.example>", "250")
        c.expect("RCPT TO:<fwd@origin.example>", "250")
        c.expect("DATA", "354")
        c.send(b"From: ana@origin.example\r\nSubject: via relay\r\n\r\nhi\r\n.\r\n")
        assert c.reply()[2].startswith("250")
    tx = e.sink.wait_transactions(1)[0]
    assert tx.rcpts == ["bob@remote.example"] and tx.sender == "ana@origin.example"
    assert b"by smtp.relay.example (valija) with ESMTPSA" in tx.data, tx.data[:400]
    origin.wait_log(r"event=queue_sent .*remote=127.0.0.1\[127.0.0.1\] tls=\"TLSv1")
    relay.wait_log(r"event=smtp_login .*user=\"?client@relay.example\"? method=PLAIN")
    assert "relay-pass" not in origin.stderr_text()


def test_concurrent_senders_each_message_sent_once(env):
    """Many messages queued while attempts finish: none reaches the destination twice
    (a scan that read the queue before an attempt was recorded once sent it again)."""
    import concurrent.futures
    import smtplib
    e = env()
    e.v.cli_ok("alias", "add", "fwd@local.example", "bob@remote.example")

    def sender(k):
        c = smtplib.SMTP("127.0.0.1", e.v.ports["smtp"], timeout=30)
        for i in range(25):
            c.sendmail("ana@local.example", ["fwd@local.example"],
                       make_message("m-%d-%d" % (k, i), "x\r\n", sender="ana@local.example"))
        c.quit()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(sender, range(8)))
    e.wait_queue_empty(timeout=60)
    subjects = [re.search(rb"Subject: (\S+)", t.data).group(1) for t in e.sink.wait_transactions(200)]
    assert len(subjects) == 200 and len(set(subjects)) == 200, (len(subjects), len(set(subjects)))


def test_trusted_network_relays_without_auth_and_without_srs(env):
    e = env(extra='[smtp]\ntrusted_networks = ["127.0.0.1/32"]\n')
    reply = e.send("app@internal.example", ["someone@remote.example"],
                   make_message("from an app", "x\r\n", sender="app@internal.example"))
    assert reply.startswith("250"), reply
    tx = e.sink.wait_transactions(1)[0]
    assert tx.sender == "app@internal.example" and tx.rcpts == ["someone@remote.example"]  # relayed, not forwarded


def test_success_report_for_local_delivery(env):
    """NOTIFY=SUCCESS to a local mailbox: valija is the last MTA, so it reports delivery."""
    e = env()
    e.v.add_user("bob@local.example")
    reply = e.send("bob@local.example", ["ana@local.example"],
                   make_message("receipt please", "x\r\n", sender="bob@local.example"),
                   mail_params=" ENVID=receipt-1", rcpt_params=" NOTIFY=SUCCESS ORCPT=rfc822;ana@local.example")
    assert reply.startswith("250"), reply
    [report] = e.reports("bob@local.example")
    assert report["Subject"] == "Successful Mail Delivery Report"
    per_message, [r], parts = delivery_status(report)
    assert per_message["original-envelope-id"] == "receipt-1"
    assert r["action"] == "delivered" and r["status"] == "2.0.0", r
    assert r["final-recipient"] == "rfc822; ana@local.example"
    assert r["original-recipient"] == "rfc822;ana@local.example"
    assert parts[2].get_content_type() == "text/rfc822-headers"
    # Without NOTIFY=SUCCESS: no report.
    e.send("bob@local.example", ["ana@local.example"], make_message("no receipt", "x\r\n", sender="bob@local.example"))
    assert len(e.v.messages("ana@local.example")) == 2
    assert len(e.v.messages("bob@local.example")) == 1
