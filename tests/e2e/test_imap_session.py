"""IMAP sessions (RFC 9051 §6.1-6.2, §7.1): greeting and CAPABILITY, LOGIN and
AUTHENTICATE (PLAIN with SASL-IR and with a continuation, LOGIN, cancel), STARTTLS and
implicit TLS, the cleartext policy (LOGINDISABLED, [PRIVACYREQUIRED]), commands in the
wrong state, ID, NAMESPACE, ENABLE, LOGOUT, and failed-login lockout per address.

Most tests share one local-mode server with a fresh account each; failed logins come
from their own 127.0.0.x address so the per-address throttling of one test does not
slow or lock out another.
"""
import base64
import imaplib
import re
import time

import pytest

from conftest import insecure_context
from imap_util import PASSWORD, RawImap, new_account, raw, session

PRE_AUTH_CAPS = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"]
POST_AUTH_CAPS = PRE_AUTH_CAPS + [
    "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE", "CHILDREN", "SPECIAL-USE",
    "CREATE-SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "SEARCHRES",
    "STATUS=SIZE", "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "CONDSTORE",
    "QRESYNC", "BINARY"]
FAILED = "NO [AUTHENTICATIONFAILED] Authentication failed"
PRIVACY = "NO [PRIVACYREQUIRED] Use STARTTLS first"

IMAP_CONFIG = """\
hostname = "imap.test.example"
domains = ["test.example"]
log_level = "info"

[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"

[[listener]]
address = "127.0.0.1"
port = $imap_port
role = "imap"

[[listener]]
address = "127.0.0.1"
port = $imaps_port
role = "imaps"
"""
CAROL = "carol@test.example"
CAROL_PW = "carol-Pass-9012"


# ---- helpers -------------------------------------------------------------------------

def caps_of(text):
    """The capability list of a `* CAPABILITY ...` line or a `[CAPABILITY ...]` code."""
    m = re.search(r"CAPABILITY ([^\]\r\n]*)", text)
    assert m, text
    return m.group(1).split()


def capability(c):
    u, st = c.cmd("CAPABILITY")
    assert st == "OK CAPABILITY completed", st
    assert len(u) == 1 and u[0].startswith("* CAPABILITY "), u
    return caps_of(u[0])


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def plain(user, password):
    return b64("\0%s\0%s" % (user, password))


def config_server(valija_factory, extra=""):
    v = valija_factory()
    v.start(config=IMAP_CONFIG + "\n" + extra)
    v.add_user(CAROL, CAROL_PW)
    return v


@pytest.fixture(scope="module")
def v(shared_valija):
    return shared_valija


@pytest.fixture
def user(v):
    return new_account(v)


# ---- greeting and CAPABILITY ---------------------------------------------------------

def test_greeting_carries_capabilities(v):
    """RFC 9051 §7.1.1: the greeting may carry a CAPABILITY response code, which spares
    the client a round trip."""
    c = raw(v)
    g = c.greeting()
    assert re.fullmatch(r"\* OK \[CAPABILITY [^\]]+\] localhost valija IMAP ready", g), g
    caps = caps_of(g)
    assert caps == PRE_AUTH_CAPS + ["STARTTLS", "AUTH=SCRAM-SHA-256", "AUTH=SCRAM-SHA-1", "AUTH=PLAIN", "AUTH=LOGIN"], caps
    assert capability(c) == caps
    c.logout()


def test_capabilities_after_login(v, user):
    """RFC 9051 §6.2.3: the OK of LOGIN may carry the new capabilities; after login no
    STARTTLS, no AUTH=, and the extensions available in the authenticated state."""
    c = raw(v)
    c.greeting()
    st = c.login(user)
    caps = caps_of(st)
    assert capability(c) == caps
    for cap in POST_AUTH_CAPS:
        assert cap in caps, (cap, caps)
    assert not [x for x in caps if x.startswith("AUTH=") or x in ("STARTTLS", "LOGINDISABLED")]
    m = [x for x in caps if x.startswith("APPENDLIMIT=")]
    assert m == ["APPENDLIMIT=52428800"], caps  # RFC 7889: the message size limit
    c.logout()


def test_imaplib_sees_the_capabilities(v, user):
    c = imaplib.IMAP4("127.0.0.1", v.ports["imap"], timeout=20)
    assert "IMAP4REV1" in c.capabilities and "AUTH=PLAIN" in c.capabilities
    c.login(user, PASSWORD)
    typ, data = c.capability()
    assert typ == "OK" and b"UIDPLUS" in data[0].split()
    assert c.logout()[0] == "BYE"


def test_unknown_command_is_bad(v):
    c = raw(v)
    c.greeting()
    assert c.cmd("FROBNICATE now") == ([], "BAD Unknown command")
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    c.logout()


# ---- LOGIN ---------------------------------------------------------------------------

def test_login_ok_logs_the_session(v, user):
    mark = v.log_mark()
    c = raw(v)
    c.greeting()
    st = c.login(user)
    assert st.endswith("] Logged in"), st
    line = v.wait_log(r"event=imap_login .*user=%s method=LOGIN tls=no" % re.escape(user),
                      since=mark)
    assert line
    c.logout()
    v.wait_log(r"event=imap_logout .*user=%s\b" % re.escape(user), since=mark)


def test_login_failure_same_reply_for_unknown_user_and_wrong_password(v, user):
    """RFC 9051 §6.2.3 / §7.1: a failed LOGIN says nothing about which part was wrong
    ([AUTHENTICATIONFAILED], RFC 5530 §3), so accounts cannot be enumerated."""
    c = RawImap(v.ports["imap"], source="127.0.0.11")
    c.greeting()
    assert c.cmd('LOGIN "%s" "wrong-password"' % user) == ([], FAILED)
    assert c.cmd('LOGIN "nobody-here@localhost" "%s"' % PASSWORD) == ([], FAILED)
    # the session goes on: a right password still works
    c.login(user)
    c.logout()


def test_login_with_literals(v, user):
    """User name and password as synchronising literals (RFC 9051 §4.3)."""
    c = raw(v)
    c.greeting()
    c.send(b"a LOGIN {%d}\r\n" % len(user))
    assert c.response().startswith("+ ")
    c.send(user.encode() + b" {%d}\r\n" % len(PASSWORD))
    assert c.response().startswith("+ ")
    c.send(PASSWORD.encode() + b"\r\n")
    u, st = c.collect("a")
    assert st.startswith("OK [CAPABILITY "), st
    c.logout()


def test_imaplib_login_failure(v):
    c = imaplib.IMAP4("127.0.0.1", v.ports["imap"], timeout=20)
    with pytest.raises(imaplib.IMAP4.error) as ei:
        c.login("nobody-at-all@localhost", "x")
    assert "[AUTHENTICATIONFAILED]" in str(ei.value)
    c.logout()


# ---- AUTHENTICATE --------------------------------------------------------------------

def test_authenticate_plain_with_initial_response(v, user):
    """RFC 4959: SASL-IR sends the first response on the command line."""
    c = raw(v)
    c.greeting()
    u, st = c.cmd("AUTHENTICATE PLAIN " + plain(user, PASSWORD))
    assert st.startswith("OK [CAPABILITY ") and st.endswith("] Logged in"), st
    assert c.ok("SELECT INBOX")
    c.logout()


def test_authenticate_plain_with_continuation(v, user):
    """RFC 9051 §6.2.2: an empty challenge `+ `, then the client's base64 line."""
    c = raw(v)
    c.greeting()
    c.send(b"a AUTHENTICATE PLAIN\r\n")
    assert c.response() == "+ "
    c.send(plain(user, PASSWORD).encode() + b"\r\n")
    u, st = c.collect("a")
    assert st.startswith("OK [CAPABILITY "), st
    c.logout()


def test_authenticate_plain_imaplib(v, user):
    c = imaplib.IMAP4("127.0.0.1", v.ports["imap"], timeout=20)
    typ, _ = c.authenticate("PLAIN", lambda _: b"\0" + user.encode() + b"\0" + PASSWORD.encode())
    assert typ == "OK"
    assert c.select("INBOX")[0] == "OK"
    c.logout()


def test_authenticate_login(v, user):
    """AUTH=LOGIN (draft-murchison-sasl-login): "Username:" then "Password:"."""
    c = raw(v)
    c.greeting()
    c.send(b"a AUTHENTICATE LOGIN\r\n")
    assert c.response() == "+ " + b64("Username:")
    c.send(b64(user).encode() + b"\r\n")
    assert c.response() == "+ " + b64("Password:")
    c.send(b64(PASSWORD).encode() + b"\r\n")
    u, st = c.collect("a")
    assert st.startswith("OK [CAPABILITY "), st
    c.logout()


def test_authenticate_wrong_password(v, user):
    c = RawImap(v.ports["imap"], source="127.0.0.12")
    c.greeting()
    assert c.cmd("AUTHENTICATE PLAIN " + plain(user, "nope")) == ([], FAILED)
    c.logout()


def test_authenticate_cancel(v, user):
    """RFC 9051 §6.2.2: "*" cancels the exchange and the server answers BAD."""
    c = raw(v)
    c.greeting()
    c.send(b"a AUTHENTICATE PLAIN\r\n")
    assert c.response() == "+ "
    c.send(b"*\r\n")
    u, st = c.collect("a")
    assert st.startswith("BAD"), st
    # still not authenticated, and able to log in
    assert c.cmd("SELECT INBOX")[1] == "BAD Log in first"
    c.login(user)
    c.logout()


def test_authenticate_bad_base64(v):
    c = raw(v)
    c.greeting()
    c.send(b"a AUTHENTICATE PLAIN\r\n")
    assert c.response() == "+ "
    c.send(b"%%%not-base64%%%\r\n")
    assert c.collect("a")[1].startswith("BAD")
    c.logout()


def test_authenticate_unknown_mechanism(v):
    c = raw(v)
    c.greeting()
    u, st = c.cmd("AUTHENTICATE X-UNKNOWN")
    assert st.startswith("NO [CANNOT]") or st.startswith("BAD"), st
    c.logout()


def test_authenticate_other_authzid_refused(v, user):
    """No proxy logins: an authorization identity other than the user is refused."""
    c = RawImap(v.ports["imap"], source="127.0.0.13")
    c.greeting()
    ir = b64("demo@localhost\0%s\0%s" % (user, PASSWORD))
    u, st = c.cmd("AUTHENTICATE PLAIN " + ir)
    assert st.startswith("NO [AUTHORIZATIONFAILED]"), st
    c.logout()


# ---- TLS -----------------------------------------------------------------------------

def test_implicit_tls(v, user):
    """imaps (RFC 8314): TLS from the first byte; no STARTTLS offered, login allowed."""
    mark = v.log_mark()
    c = raw(v, "imaps")
    caps = caps_of(c.greeting())
    assert "STARTTLS" not in caps and "AUTH=PLAIN" in caps, caps
    c.login(user)
    v.wait_log(r'event=imap_login .*user=%s method=LOGIN tls="TLSv1\.[23]' % re.escape(user),
               since=mark)
    assert c.cmd("STARTTLS")[1].startswith("BAD")
    c.logout()


def test_imaplib_imaps(v, user):
    c = v.imap(user, PASSWORD, tls=True)
    assert c.select("INBOX") == ("OK", [b"0"])
    c.logout()


def test_starttls_then_login(v, user):
    mark = v.log_mark()
    c = raw(v)
    c.greeting()
    c.starttls()
    caps = capability(c)
    # RFC 9051 §6.2.1: STARTTLS is not offered again
    assert "STARTTLS" not in caps and "AUTH=PLAIN" in caps, caps
    assert c.cmd("STARTTLS")[1].startswith("BAD")
    c.login(user)
    v.wait_log(r'event=imap_login .*user=%s .*tls="TLSv1\.[23]' % re.escape(user), since=mark)
    c.logout()


def test_imaplib_starttls(v, user):
    c = v.imap(user, PASSWORD, starttls=True)
    assert c.select("INBOX")[0] == "OK"
    c.logout()


def test_starttls_discards_pipelined_commands(v, user):
    """RFC 9051 §6.2.1 (and RFC 3207's lesson): commands sent after STARTTLS in the same
    packet are never executed, before or after the handshake."""
    c = raw(v)
    c.greeting()
    c.send(b"a STARTTLS\r\nb CAPABILITY\r\n")
    assert c.response() == "a OK Begin TLS negotiation now"
    assert not c.buf, c.buf
    c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")
    # a fresh session over TLS: the first answer is to c, nothing for b
    u, st = c.cmd("CAPABILITY")
    assert st == "OK CAPABILITY completed" and len(u) == 1, (u, st)
    assert c.no_pending()
    c.login(user)
    c.logout()


def test_starttls_after_login_refused(v, user):
    c = session(v, user)
    assert c.cmd("STARTTLS")[1].startswith("BAD")
    c.logout()


# ---- cleartext policy (config file) --------------------------------------------------

def test_cleartext_never(valija_factory):
    """[imap] cleartext = "never": LOGINDISABLED and no AUTH=PLAIN until STARTTLS; LOGIN
    and AUTHENTICATE PLAIN get NO [PRIVACYREQUIRED] (RFC 9051 §6.2.3, §7.1)."""
    v = config_server(valija_factory, '[imap]\ncleartext = "never"\n')
    c = raw(v)
    caps = caps_of(c.greeting())
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps, caps
    assert not [x for x in caps if x.startswith("AUTH=")], caps
    assert capability(c) == caps
    assert c.cmd('LOGIN "%s" "%s"' % (CAROL, CAROL_PW)) == ([], PRIVACY)
    assert c.cmd("AUTHENTICATE PLAIN " + plain(CAROL, CAROL_PW)) == ([], PRIVACY)
    assert c.cmd("AUTHENTICATE LOGIN") == ([], PRIVACY)
    c.starttls()
    caps = capability(c)
    assert "AUTH=PLAIN" in caps and "AUTH=LOGIN" in caps, caps
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps, caps
    c.login(CAROL, CAROL_PW)
    c.logout()
    # implicit TLS is always allowed
    c = raw(v, "imaps")
    caps = caps_of(c.greeting())
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps, caps
    u, st = c.cmd("AUTHENTICATE PLAIN " + plain(CAROL, CAROL_PW))
    assert st.startswith("OK [CAPABILITY "), st
    c.logout()
    # imaplib refuses by itself on LOGINDISABLED
    c = imaplib.IMAP4("127.0.0.1", v.ports["imap"], timeout=20)
    assert "LOGINDISABLED" in c.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        c.login(CAROL, CAROL_PW)
    c.logout()


@pytest.mark.parametrize("mode", ["always", "loopback"])
def test_cleartext_allowed_on_loopback(valija_factory, mode):
    v = config_server(valija_factory, '[imap]\ncleartext = "%s"\n' % mode)
    c = raw(v)
    caps = caps_of(c.greeting())
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps, caps
    c.login(CAROL, CAROL_PW)
    c.logout()


# ---- state ---------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "SELECT INBOX", "EXAMINE INBOX", "LIST \"\" *", "CREATE x", "STATUS INBOX (MESSAGES)",
    "NAMESPACE", "ENABLE CONDSTORE", "FETCH 1 FLAGS", "UID SEARCH ALL", "EXPUNGE", "CLOSE",
    "APPEND INBOX {1+}\r\nx"])
def test_commands_before_login_are_bad(v, line):
    """RFC 9051 §6.3-6.4: only any-state commands, STARTTLS, AUTHENTICATE and LOGIN are
    valid before authentication."""
    c = raw(v)
    c.greeting()
    u, st = c.cmd(line)
    assert u == [] and st.startswith("BAD"), (line, u, st)
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    c.logout()


@pytest.mark.parametrize("line", [
    "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "UID FETCH 1 FLAGS", "COPY 1 Trash",
    "MOVE 1 Trash", "EXPUNGE", "UID EXPUNGE 1", "CLOSE", "UNSELECT", "CHECK"])
def test_selected_state_commands_without_mailbox_are_bad(v, user, line):
    c = session(v, user)
    u, st = c.cmd(line)
    assert u == [] and st.startswith("BAD"), (line, u, st)
    c.logout()


def test_login_twice_is_bad(v, user):
    c = session(v, user)
    assert c.cmd('LOGIN "%s" "%s"' % (user, PASSWORD))[1].startswith("BAD")
    assert c.cmd("AUTHENTICATE PLAIN " + plain(user, PASSWORD))[1].startswith("BAD")
    c.logout()


def test_idle_before_login_is_bad(v):
    c = raw(v)
    c.greeting()
    assert c.cmd("IDLE")[1].startswith("BAD")
    c.logout()


# ---- ID, NAMESPACE, ENABLE, NOOP, LOGOUT ---------------------------------------------

@pytest.mark.parametrize("arg", ['("name" "pytest" "version" "1")', "NIL"])
def test_id(v, arg):
    """RFC 2971 §3.1: ID in any state; the server answers with its own fields."""
    c = raw(v)
    c.greeting()
    u, st = c.cmd("ID " + arg)
    assert st == "OK ID completed", st
    assert len(u) == 1 and u[0].startswith('* ID ("name" "valija"'), u
    c.logout()


def test_namespace(v, user):
    """RFC 2342 §5: one personal namespace with "/" as the delimiter, no others."""
    c = session(v, user)
    assert c.cmd("NAMESPACE") == (['* NAMESPACE (("" "/")) NIL NIL'],
                                  "OK NAMESPACE completed")
    c.logout()


def enabled(u):
    assert len(u) == 1 and (u[0] == "* ENABLED" or u[0].startswith("* ENABLED ")), u
    return [x.upper() for x in u[0].split()[2:]]


def test_enable(v, user):
    """RFC 5161 §3.1: * ENABLED lists what was enabled now; unknown extensions and ones
    already enabled are left out."""
    c = session(v, user)
    u = c.ok("ENABLE IMAP4rev2 CONDSTORE QRESYNC X-UNKNOWN")
    assert enabled(u) == ["IMAP4REV2", "CONDSTORE", "QRESYNC"], u
    assert enabled(c.ok("ENABLE CONDSTORE")) == []
    c.logout()


def test_enable_qresync_alone(v, user):
    """RFC 7162 §3.2.3: enabling QRESYNC implies CONDSTORE."""
    c = session(v, user)
    assert "QRESYNC" in enabled(c.ok("ENABLE QRESYNC"))
    assert enabled(c.ok("ENABLE CONDSTORE")) == []
    c.logout()


def test_enable_utf8_accept_not_offered(v, user):
    """UTF8=ACCEPT is not advertised, so ENABLE leaves it out (RFC 5161 §3.1)."""
    c = session(v, user)
    assert enabled(c.ok("ENABLE UTF8=ACCEPT")) == []
    c.logout()


def test_imaplib_enable(v, user):
    c = v.imap(user, PASSWORD)
    assert c.enable("CONDSTORE") == ("OK", [b"ENABLE completed"])
    assert c.response("ENABLED") == ("ENABLED", [b"CONDSTORE"])
    c.logout()


def test_logout_bye_then_ok_then_close(v, user):
    """RFC 9051 §6.1.3: BYE first, then the tagged OK, then the server closes."""
    c = session(v, user)
    c.send(b"z LOGOUT\r\n")
    assert c.response() == "* BYE Logging out"
    assert c.response() == "z OK LOGOUT completed"
    assert c.closed_by_peer() == b""
    c.close()


def test_logout_before_login(v):
    c = raw(v)
    c.greeting()
    c.send(b"z LOGOUT\r\n")
    assert c.response() == "* BYE Logging out"
    assert c.response() == "z OK LOGOUT completed"
    assert c.closed_by_peer() == b""
    c.close()


def test_noop_and_check(v, user):
    c = session(v, user)
    assert c.cmd("NOOP") == ([], "OK NOOP completed")
    c.ok("SELECT INBOX")
    assert c.cmd("CHECK")[1].startswith("OK")
    c.logout()


# ---- failed-login lockout ------------------------------------------------------------

def test_failed_login_lockout_per_address(valija_factory):
    """docs/configuration.md [limits] auth_failures: after that many failures from one
    address it is refused, even with the right password: NO [UNAVAILABLE] and BYE."""
    v = config_server(valija_factory, "[limits]\nauth_failures = 3\n")
    mark = v.log_mark()
    c = raw(v)
    c.greeting()
    assert c.cmd('LOGIN "%s" "wrong"' % CAROL) == ([], FAILED)
    assert c.cmd("AUTHENTICATE PLAIN " + plain(CAROL, "wrong")) == ([], FAILED)
    c.close()
    c = raw(v, "imaps")
    c.greeting()
    assert c.cmd('LOGIN "%s" "wrong"' % CAROL) == ([], FAILED)
    c.close()
    for role in ("imap", "imaps"):
        c = raw(v, role)
        c.greeting()
        c.send(b'a LOGIN "%s" "%s"\r\n' % (CAROL.encode(), CAROL_PW.encode()))
        st = c.response()
        assert st.startswith("a NO [UNAVAILABLE] "), st
        assert c.response().startswith("* BYE "), st
        assert c.closed_by_peer() == b""
        c.close()
    v.wait_log(r"event=auth_lockout .*service=imap\b", since=mark)
    # another address is not affected
    c = RawImap(v.ports["imap"], source="127.0.0.2")
    c.greeting()
    c.login(CAROL, CAROL_PW)
    c.logout()


def test_failed_login_lockout_per_account(valija_factory):
    """[limits] auth_account_failures: failures for one account from several addresses
    lock the account (not the addresses) out for auth_lockout."""
    v = config_server(valija_factory, "[limits]\nauth_failures = 100\nauth_account_failures = 3\n")
    other = "dave@test.example"
    v.add_user(other, "dave-pw-123")
    mark = v.log_mark()
    for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        c = RawImap(v.ports["imap"], source=source)
        c.greeting()
        assert c.cmd('LOGIN "%s" "wrong"' % CAROL) == ([], FAILED)
        c.close()
    v.wait_log(r'event=auth_account_lockout user="?%s"?' % re.escape(CAROL), since=mark)
    c = RawImap(v.ports["imap"], source="127.0.0.4")
    c.greeting()
    c.send(b'a LOGIN "%s" "%s"\r\n' % (CAROL.encode(), CAROL_PW.encode()))
    st = c.response()
    assert st.startswith("a NO [UNAVAILABLE] "), st
    c.close()
    # the addresses are not locked: another account logs in from them
    c = RawImap(v.ports["imap"], source="127.0.0.1")
    c.greeting()
    c.login(other, "dave-pw-123")
    c.logout()


# ---- timeouts and per-account session limit ------------------------------------------

def test_login_timeout(valija_factory):
    """[imap] login_timeout: activity without a login does not keep a session; it ends
    with * BYE (RFC 9051 §7.1.5). (Time is what is tested: about two seconds.)"""
    v = config_server(valija_factory, "[imap]\nlogin_timeout = 2\n")
    t0 = time.monotonic()
    c = raw(v)
    c.greeting()
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    rest = c.closed_by_peer(timeout=15).decode()
    assert rest.startswith("* BYE "), rest
    # not before the deadline
    assert 1.9 <= time.monotonic() - t0 < 10
    v.wait_log(r"event=imap_disconnect ")
    # a logged-in session is not affected by it
    c = raw(v)
    c.greeting()
    c.login(CAROL, CAROL_PW)
    c.send(b"i IDLE\r\n")
    assert c.response() == "+ idling"
    assert c.no_pending(wait=2.5)  # still open past login_timeout
    c.send(b"DONE\r\n")
    assert c.collect("i")[1] == "OK IDLE terminated"
    c.logout()


def test_login_timeout_one_second_still_allows_login(valija_factory):
    """docs/configuration.md allows login_timeout = 1: a client logging in at once must
    get in (the time left is rounded up, never down to 0 s)."""
    v = config_server(valija_factory, "[imap]\nlogin_timeout = 1\n")
    c = raw(v)
    c.greeting()
    u, st = c.cmd('LOGIN "%s" "%s"' % (CAROL, CAROL_PW))
    assert st.startswith("OK [CAPABILITY "), (u, st)
    c.logout()
    # and the deadline is the configured one: not a second early
    t0 = time.monotonic()
    c = raw(v)
    c.greeting()
    c.closed_by_peer(timeout=15)
    assert time.monotonic() - t0 >= 0.9


def test_sessions_per_account_limit(valija_factory):
    """[limits] imap_sessions_per_account: one more login gets NO [LIMIT]."""
    v = config_server(valija_factory, "[limits]\nimap_sessions_per_account = 2\n")
    a = session(v, CAROL, CAROL_PW)
    b = session(v, CAROL, CAROL_PW)
    c = raw(v)
    c.greeting()
    u, st = c.cmd('LOGIN "%s" "%s"' % (CAROL, CAROL_PW))
    assert st.startswith("NO [LIMIT]"), st
    a.logout()
    # a freed slot can be used (the session ends once its socket closes)
    deadline = time.monotonic() + 10
    while True:
        u, st = c.cmd('LOGIN "%s" "%s"' % (CAROL, CAROL_PW))
        if st.startswith("OK") or time.monotonic() > deadline:
            break
        v.wait_log(r"event=imap_logout", timeout=1, raise_=False)
    assert st.startswith("OK"), st
    b.logout()
    c.logout()
