"""POP3 settings from the config file: LOGIN-DELAY enforced, EXPIRE NEVER announced,
cleartext policy and auth limits reloaded on SIGHUP."""
import poplib
import re
import signal
import time

from conftest import Valija  # noqa: F401 (fixtures come from conftest)

CONFIG = """
hostname = "localhost"
domains = ["localhost"]

[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"

[[listener]]
address = "127.0.0.1"
port = $pop3_port
role = "pop3"

[pop3]
login_delay = 3600
expire = "never"
"""


def refusal(call, *args):
    """The text of the -ERR a POP3 call gets; fails the test if it is accepted."""
    try:
        call(*args)
    except poplib.error_proto as e:
        return str(e)
    raise AssertionError("accepted: %s%r" % (call.__name__, args))


def login(v, user="ana@localhost", password="pw-of-ana"):
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    p.user(user)
    return p, p.pass_(password)


def test_login_delay_and_expire_never(valija_factory):
    v = valija_factory()
    v.start(config=CONFIG)
    v.add_user("ana@localhost", "pw-of-ana")
    p, reply = login(v)
    caps = p.capa()
    assert caps.get("LOGIN-DELAY") == ["3600"], caps
    assert caps.get("EXPIRE") == ["NEVER"], caps
    assert reply.startswith(b"+OK")
    p.quit()
    # A second login within the delay is refused with the response code (RFC 2449 §8.1.1).
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    p.user("ana@localhost")
    err = refusal(p.pass_, "pw-of-ana")
    assert err.startswith("b'-ERR [LOGIN-DELAY]"), err
    p.quit()
    v.wait_log(r"event=pop3_login_failed .*reason=login_delay")
    # A wrong password within the delay is still a wrong password, not a delay hint.
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    p.user("ana@localhost")
    err = refusal(p.pass_, "wrong")
    assert "[AUTH]" in err, err
    p.quit()


def test_sighup_applies_cleartext_policy(valija_factory):
    v = valija_factory()
    v.start(config=CONFIG.replace("login_delay = 3600\n", ""))
    v.add_user("ana@localhost", "pw-of-ana")
    p, reply = login(v)
    assert reply.startswith(b"+OK")
    p.quit()
    v.config_path.write_text(v.config_path.read_text().replace('expire = "never"', 'cleartext = "never"'))
    mark = v.log_mark()
    v.signal(signal.SIGHUP)
    v.wait_log(r"event=reload config=ok", since=mark)
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    assert "USER" not in p.capa()
    err = refusal(p.user, "ana@localhost")
    assert "[AUTH]" in err, err
    p.stls(context=_insecure())
    p.user("ana@localhost")
    assert p.pass_("pw-of-ana").startswith(b"+OK")
    p.quit()


def _insecure():
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_password_change_ends_the_verified_cache_entry(valija):
    """A login verified once is cached; changing the password from the CLI (another
    process) must make the old password fail at once and the new one work."""
    v = valija
    v.add_user("ana@localhost", "old-password")
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    p.user("ana@localhost")
    assert p.pass_("old-password").startswith(b"+OK")
    p.quit()
    v.cli_ok("user", "passwd", "ana@localhost", "--password-stdin", input="new-password\n")
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    p.user("ana@localhost")
    err = refusal(p.pass_, "old-password")
    assert "[AUTH]" in err, err
    p.quit()
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    p.user("ana@localhost")
    assert p.pass_("new-password").startswith(b"+OK")
    p.quit()


def test_apop_when_configured(valija_factory):
    """RFC 1939 §7: with [pop3] apop = true the greeting carries a timestamp, and an
    account with an APOP secret (valija user apop) logs in with MD5(timestamp+secret)."""
    v = valija_factory()
    v.start(config=CONFIG.replace("login_delay = 3600\n", "apop = true\n"))
    v.add_user("ana@localhost", "pw-of-ana")
    v.add_user("bob@localhost", "pw-of-bob")
    out = v.cli_ok("user", "apop", "ana@localhost", "--password-stdin", input="tanstaaf\n").stdout
    assert "stored in the clear" in out
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    assert re.match(rb"\+OK .*<[^>]+@localhost>$", p.getwelcome()), p.getwelcome()
    assert p.apop("ana@localhost", "tanstaaf").startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()
    for user, secret in (("ana@localhost", "wrong"), ("bob@localhost", "pw-of-bob"), ("nobody@localhost", "x")):
        p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
        err = refusal(p.apop, user, secret)
        assert "[AUTH]" in err, err
        p.quit()
    v.wait_log(r"event=pop3_login_failed .*user=bob@localhost method=APOP reason=\"no APOP secret")
    v.cli_ok("user", "apop", "ana@localhost", "--remove")
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    err = refusal(p.apop, "ana@localhost", "tanstaaf")
    assert "[AUTH]" in err, err
    p.quit()


def test_no_apop_by_default(valija):
    p = poplib.POP3("127.0.0.1", valija.ports["pop3"], timeout=20)
    assert b"<" not in p.getwelcome(), p.getwelcome()
    err = refusal(p._shortcmd, "APOP demo@localhost c4c9334bac560ecc979e58001b3e22fb")
    assert "APOP not available" in err, err
    p.quit()


def test_login_timeout_ends_unauthenticated_sessions(valija_factory):
    """Activity without a login does not keep a session: [pop3] login_timeout. (Time is
    what is tested here, so the pauses between commands are real.)"""
    v = valija_factory()
    v.start(config=CONFIG.replace("login_delay = 3600\n", "login_timeout = 2\n"))
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 15:
            assert "TOP" in p.capa()  # active, well within idle_timeout
            time.sleep(0.5)
        raise AssertionError("session still open 15 s after connecting, login_timeout = 2")
    except (poplib.error_proto, EOFError, OSError):
        pass
    assert 1.5 <= time.monotonic() - t0 < 15
    v.wait_log(r"event=pop3_timeout .*reason=no_login")
