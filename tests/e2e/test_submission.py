"""Submission (RFC 6409) on 587 with STARTTLS and on 465 with implicit TLS (RFC 8314):
AUTH PLAIN and LOGIN (RFC 4954) from smtplib and swaks, sender ownership, the
RFC 6409 §8 fix-ups (Bcc removed, Date and Message-ID added), local and remote
recipients, and the open-relay refusals on 25 and on 587 without AUTH.
"""
import email
import email.policy
import smtplib
import subprocess

import pytest

from conftest import insecure_context, make_message
from outbound_env import env  # noqa: F401 (fixture)

PASSWORD = "s3cret-pass"


def submit(e, user="ana@local.example", password=PASSWORD, mechanism=None, implicit=False):
    """A logged-in smtplib client on 587 (STARTTLS) or 465 (implicit TLS)."""
    if implicit:
        c = smtplib.SMTP_SSL("127.0.0.1", e.v.ports["submissions"], context=insecure_context(), timeout=20)
    else:
        c = smtplib.SMTP("127.0.0.1", e.v.ports["submission"], timeout=20)
        c.ehlo()
        c.starttls(context=insecure_context())
    c.ehlo()
    if mechanism:
        c.user, c.password = user, password
        code, resp = c.auth(mechanism, getattr(c, "auth_" + mechanism.lower()), initial_response_ok=True)
        assert code == 235, (code, resp)
    else:
        c.login(user, password)
    return c


def test_auth_offered_only_after_starttls(env):
    e = env()
    c = smtplib.SMTP("127.0.0.1", e.v.ports["submission"], timeout=20)
    c.ehlo()
    assert "auth" not in c.esmtp_features and "starttls" in c.esmtp_features
    code, msg = c.docmd("AUTH", "PLAIN AGFuYUBsb2NhbC5leGFtcGxlAHMzY3JldC1wYXNz")
    assert code == 538 and msg.startswith(b"5.7.11"), (code, msg)
    code, msg = c.docmd("MAIL", "FROM:<ana@local.example>")
    assert code == 530 and msg.startswith(b"5.7.0"), (code, msg)
    c.starttls(context=insecure_context())
    c.ehlo()
    assert c.esmtp_features["auth"].split() == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
                                               "PLAIN", "LOGIN"], c.esmtp_features
    c.quit()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_send_to_local_and_remote(env, mechanism):
    e = env()
    e.v.add_user("bob@local.example")
    c = submit(e, mechanism=mechanism)
    msg = make_message("hello " + mechanism, "from a client\r\n", sender="ana@local.example",
                       to="bob@local.example, carol@remote.example")
    refused = c.sendmail("ana@local.example", ["bob@local.example", "carol@remote.example"], msg)
    assert refused == {}
    c.quit()
    tx = e.sink.wait_transactions(1)[0]
    assert tx.sender == "ana@local.example" and tx.rcpts == ["carol@remote.example"]
    assert b"with ESMTPSA" in tx.data, tx.data[:300]
    assert PASSWORD.encode() not in tx.data
    [stored] = e.v.bodies("bob@local.example")
    assert b"Subject: hello " + mechanism.encode() in stored
    assert b"with ESMTPSA" in stored
    e.v.wait_log(r"event=smtp_login .*user=\"?ana@local.example\"? method=%s" % mechanism)
    e.wait_queue_empty()


def test_implicit_tls_465(env):
    e = env()
    c = submit(e, implicit=True)
    c.sendmail("ana@local.example", ["dan@remote.example"], make_message("tls", "x\r\n", sender="ana@local.example"))
    c.quit()
    assert e.sink.wait_transactions(1)[0].rcpts == ["dan@remote.example"]


def test_bad_password_and_authzid(env):
    e = env()
    c = smtplib.SMTP("127.0.0.1", e.v.ports["submission"], timeout=20)
    c.ehlo()
    c.starttls(context=insecure_context())
    c.ehlo()
    with pytest.raises(smtplib.SMTPAuthenticationError) as err:
        c.login("ana@local.example", "wrong")
    assert err.value.smtp_code == 535
    # Acting for another user (authzid) is refused even with the right password.
    import base64
    blob = base64.b64encode(b"bob@local.example\0ana@local.example\0" + PASSWORD.encode()).decode()
    code, _ = c.docmd("AUTH", "PLAIN " + blob)
    assert code == 535
    e.v.wait_log(r"event=smtp_login_failed .*user=\"?ana@local.example\"?")


def test_sender_must_be_owned(env):
    e = env()
    e.v.add_user("bob@local.example")
    e.v.cli_ok("alias", "add", "sales@local.example", "ana@local.example")
    c = submit(e)
    # Someone else's address, or a foreign one: 553 5.7.1 at MAIL.
    for sender in ("bob@local.example", "ceo@remote.example"):
        code, msg = c.docmd("MAIL", "FROM:<%s>" % sender)
        assert code == 553 and msg.startswith(b"5.7.1"), (sender, code, msg)
    code, _ = c.docmd("MAIL", "FROM:<>")
    assert code == 553
    # Own subaddress and an alias granted to the user are fine.
    c.sendmail("ana+news@local.example", ["bob@local.example"], make_message("sub", "x\r\n", sender="ana+news@local.example"))
    c.sendmail("sales@local.example", ["bob@local.example"], make_message("alias", "x\r\n", sender="sales@local.example"))
    # The From: header is checked too, at the end of data.
    with pytest.raises(smtplib.SMTPDataError) as err:
        c.sendmail("ana@local.example", ["bob@local.example"], make_message("spoof", "x\r\n", sender="bob@local.example"))
    assert err.value.smtp_code == 553 and b"5.7.1" in err.value.smtp_error
    c.quit()
    assert len(e.v.messages("bob@local.example")) == 2


def test_bcc_removed_date_and_message_id_added(env):
    e = env()
    e.v.add_user("bob@local.example")
    c = submit(e)
    raw = (b"From: Ana <ana@local.example>\r\nTo: bob@local.example\r\nBcc: secret@remote.example\r\n"
           b"Subject: fixups\r\n\r\nbody\r\n")
    c.sendmail("ana@local.example", ["bob@local.example", "secret@remote.example"], raw)
    c.quit()
    for data in (e.sink.wait_transactions(1)[0].data, e.v.bodies("bob@local.example")[0]):
        m = email.message_from_bytes(data, policy=email.policy.default)
        assert m["Bcc"] is None, data
        assert m["Date"] is not None and m["Message-ID"].endswith("@mx.local.example>"), data
        assert m["Subject"] == "fixups"


def test_open_relay_refused(env):
    e = env()
    # Port 25: a recipient in another domain is refused, whoever the sender claims to be.
    with e.v.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<ana@local.example>", "250")
        c.expect("RCPT TO:<victim@remote.example>", "554 5.7.1")
        c.expect("AUTH PLAIN AGFuYUBsb2NhbC5leGFtcGxlAHMzY3JldC1wYXNz", "502 5.5.1")
    # 587 without AUTH: nothing at all.
    c = smtplib.SMTP("127.0.0.1", e.v.ports["submission"], timeout=20)
    c.ehlo()
    c.starttls(context=insecure_context())
    c.ehlo()
    code, _ = c.docmd("MAIL", "FROM:<ana@local.example>")
    assert code == 530
    code, _ = c.docmd("RCPT", "TO:<victim@remote.example>")
    assert code == 503 or code == 530
    c.quit()
    assert e.sink.transactions == []


def test_swaks_auth_over_starttls(env):
    e = env()
    cp = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % e.v.ports["submission"], "--tls",
                         "--auth", "LOGIN", "--auth-user", "ana@local.example", "--auth-password", PASSWORD,
                         "--from", "ana@local.example", "--to", "eve@remote.example",
                         "--header", "Subject: swaks", "--body", "via swaks"],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "235 2.7.0" in cp.stdout
    assert e.sink.wait_transactions(1)[0].rcpts == ["eve@remote.example"]


# ---- SCRAM (RFC 5802, RFC 7677) with and without channel binding ------------------------

def gsasl(e, mechanism, password=PASSWORD, port_role="submission", cb=True):
    args = ["gsasl", "--smtp", "--connect=127.0.0.1:%d" % e.v.ports[port_role], "--starttls",
            "--x509-ca-file=%s" % (e.v.data / "tls" / "cert.pem"),
            "-a", "ana@local.example", "-p", password, "-m", mechanism]
    if not cb:
        args.append("--no-cb")
    return subprocess.run(args, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
def test_scram_with_gsasl(env, mechanism):
    """GNU SASL as the client: SCRAM, and its -PLUS form bound to the TLS 1.3 session (tls-exporter)."""
    e = env()
    cp = gsasl(e, mechanism, cb=mechanism.endswith("-PLUS"))
    out = cp.stdout + cp.stderr
    assert "235 2.7.0" in out, out
    e.v.wait_log(r"event=smtp_login .*user=\"?ana@local.example\"? method=%s " % mechanism)
    cp = gsasl(e, mechanism, password="wrong", cb=mechanism.endswith("-PLUS"))
    assert "535 5.7.8" in cp.stdout + cp.stderr, cp.stdout + cp.stderr
    e.v.wait_log(r"event=smtp_login_failed .*method=%s reason=\"?wrong password" % mechanism)


def test_scram_plus_tls_server_end_point_and_password_change(env):
    """A client written from RFC 5802 binding to the server certificate (RFC 5929
    tls-server-end-point); after `user passwd` the old password no longer works."""
    import base64

    from scram_client import ScramClient, server_end_point

    e = env()

    def scram(password, mech="SCRAM-SHA-256-PLUS"):
        c = smtplib.SMTP("127.0.0.1", e.v.ports["submission"], timeout=20)
        c.ehlo()
        c.starttls(context=insecure_context())
        c.ehlo()
        assert mech in c.esmtp_features["auth"].split(), c.esmtp_features
        client = ScramClient("ana@local.example", password, cb_type="tls-server-end-point",
                             cb_data=server_end_point(c.sock))
        code, resp = c.docmd("AUTH", mech + " " + base64.b64encode(client.first()).decode())
        assert code == 334, (code, resp)
        code, resp = c.docmd(base64.b64encode(client.final(base64.b64decode(resp))).decode())
        if code != 334:
            c.close()
            return code
        assert client.verify(base64.b64decode(resp))  # the server knows the keys too
        code, _ = c.docmd("")
        c.close()
        return code

    assert scram(PASSWORD) == 235
    assert scram("wrong") == 535
    e.v.cli_ok("user", "passwd", "ana@local.example", "--password-stdin", input="n3w-passw0rd\n")
    assert scram(PASSWORD) == 535
    assert scram("n3w-passw0rd") == 235


def test_recipients_per_hour_per_user(env):
    """[limits] recipients_per_hour: a user's accepted recipients are counted across
    connections; past the limit RCPT gets 451 4.7.1; other users are not affected."""
    e = env(extra="[limits]\nrecipients_per_hour = 3\n")
    e.v.add_user("bob@local.example", PASSWORD)
    c = submit(e)
    for rcpt in ("r1@remote.example", "r2@remote.example"):
        assert c.mail("ana@local.example")[0] == 250
        assert c.rcpt(rcpt)[0] == 250
        c.rset()
    c.quit()
    c = submit(e)  # a new connection shares the count
    assert c.mail("ana@local.example")[0] == 250
    assert c.rcpt("r3@remote.example")[0] == 250
    code, text = c.rcpt("r4@remote.example")
    assert code == 451 and b"4.7.1" in text, (code, text)
    c.quit()
    e.v.wait_log(r'event=rate_limited .*user="?ana@local\.example"? limit=recipients_per_hour value=3')
    c = submit(e, user="bob@local.example")
    assert c.mail("bob@local.example")[0] == 250
    assert c.rcpt("r5@remote.example")[0] == 250
    c.quit()


def test_auth_guessing_delayed_locked_out_and_logged(env):
    """SECURITY-CASES "AUTH guessing": the same 535 for an unknown user and a wrong
    password; each failure answered later than the one before; at [limits]
    auth_failures the address is locked out (454 4.7.0 even with the right password),
    logged; another address is not affected."""
    import base64
    import time

    from conftest import RawSmtp

    e = env(extra="[limits]\nauth_failures = 3\n")

    def connect(source):
        c = RawSmtp("127.0.0.1", e.v.ports["submission"], source=source)
        c.greeting()
        c.ehlo()
        c.expect("STARTTLS", "220")
        c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")
        c.ehlo()
        return c

    def plain(user, password):
        return "AUTH PLAIN " + base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()

    mark = e.v.log_mark()
    c = connect("127.0.0.5")
    times, replies = [], []
    for line in (plain("nobody@local.example", PASSWORD), plain("ana@local.example", "wrong-1")):
        t0 = time.monotonic()
        replies.append(c.cmd(line)[2])
        times.append(time.monotonic() - t0)
    assert replies == ["535 5.7.8 Authentication credentials invalid"] * 2, replies
    assert times[0] >= 0.45 and times[1] >= 0.95, times  # 0.5 s, then doubled
    # the third failure (AUTH LOGIN this time) locks the address out
    c.expect("AUTH LOGIN", "334")
    c.expect(base64.b64encode(b"ana@local.example").decode(), "334")
    c.expect(base64.b64encode(b"wrong-2").decode(), "535 5.7.8")
    e.v.wait_log(r'event=smtp_login_failed .*client=127\.0\.0\.5 user="?nobody@local\.example"? '
                 r'method=PLAIN reason="?unknown user', since=mark)
    e.v.wait_log(r'event=smtp_login_failed .*client=127\.0\.0\.5 user="?ana@local\.example"? '
                 r'method=PLAIN reason="?wrong password', since=mark)
    e.v.wait_log(r"event=auth_lockout client=127\.0\.0\.5 .*service=smtp\b", since=mark)
    c.close()
    c = connect("127.0.0.5")
    c.expect(plain("ana@local.example", PASSWORD), "454 4.7.0")
    c.expect("MAIL FROM:<ana@local.example>", "530 5.7.0")
    c.close()
    c = connect("127.0.0.6")
    c.expect(plain("ana@local.example", PASSWORD), "235 2.7.0")
    c.expect("QUIT", "221")
    c.close()
