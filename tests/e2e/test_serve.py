"""`valija serve`: local mode, config file, errors, signals, side by side."""
import os
import re
import signal
import socket
import ssl
import subprocess

import pytest

from conftest import (START_TIMEOUT, VALIJA_BIN, Valija, dot_stuff, free_port,
                      insecure_context, make_message, pick_port_base, split_trace)

TRACE_RE = r"250 2\.0\.0 Ok: delivered as (\S+)"


def run_serve(args, cwd, timeout=START_TIMEOUT):
    """Run `valija serve ARGS` expecting it to exit by itself."""
    try:
        return subprocess.run([VALIJA_BIN, "serve"] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=timeout,
                              cwd=str(cwd), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("valija serve %s did not exit: %s" % (args, e.stderr))


def deliver(v, rcpt="demo@localhost", subject="serve", role="smtp"):
    msg = make_message(subject, "body of %s\r\n" % subject, to=rcpt)
    with v.raw(role) as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<%s>" % rcpt, "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        full = c.reply()[2]
        assert re.fullmatch(TRACE_RE, full), full
    return msg


# ---- local mode -------------------------------------------------------------------

def test_local_mode_start(valija):
    v = valija
    ready = v.wait_log(r"event=ready\b").string
    offsets = {"smtp": 25, "submission": 587, "submissions": 465, "pop3": 110, "pop3s": 995,
               "imap": 143, "imaps": 993}
    for role, offset in offsets.items():
        assert re.search(r"\b%s=127\.0\.0\.1:%d\b" % (role, v.port_base + offset), ready), ready
    assert v.demo_password, v.stderr_text()
    assert re.search(r"valija: created account demo@localhost with password \S+ \(shown once",
                     v.stderr_text())
    assert "localhost" in v.cli_ok("domain", "list").stdout.split()
    aliases = v.cli_ok("alias", "list").stdout
    assert "postmaster@localhost\tdemo@localhost" in aliases.splitlines(), aliases
    tls = v.data / "tls"
    assert tls.is_dir() and any(tls.iterdir()), "no certificate in %s" % tls
    # the listeners are on 127.0.0.1 only, the TLS port speaks TLS
    with v.raw("submissions", tls=True) as c:
        c.greeting()
        cert = c.sock.getpeercert(binary_form=True)
        assert cert


def test_restart_keeps_everything(valija):
    v = valija
    deliver(v, subject="before-restart")
    m1 = v.messages("demo@localhost")
    uv1 = v.wait_log(r"event=delivered .*uidvalidity=(\d+)").group(1)
    assert v.stop() == 0
    v.start(port_base=v.port_base)
    assert "created account" not in v.stderr_text(), v.stderr_text()
    assert v.messages("demo@localhost") == m1
    mark = v.log_mark()
    deliver(v, subject="after-restart")
    d = v.wait_log(r"event=delivered .*uidvalidity=(\d+) uid=(\d+)", since=mark)
    assert d.group(1) == uv1 and d.group(2) == "2", d.string
    assert [m["uid"] for m in v.messages("demo@localhost")] == [1, 2]


def test_two_instances_side_by_side(valija_factory):
    a = valija_factory("a").start()
    b = valija_factory("b").start()
    assert a.port_base != b.port_base
    ma = deliver(a, subject="to-a")
    mb = deliver(b, subject="to-b")
    [sa] = a.bodies("demo@localhost")
    [sb] = b.bodies("demo@localhost")
    assert split_trace(sa)[1] == ma
    assert split_trace(sb)[1] == mb
    assert a.demo_password and b.demo_password
    assert a.stop() == 0
    # b is unaffected by a stopping
    deliver(b, subject="to-b-2")
    assert len(b.messages("demo@localhost")) == 2
    assert b.stop() == 0


def test_port_in_use(valija_factory, tmp_path):
    base = pick_port_base()
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # SO_REUSEADDR as valija's own listeners: the base may have served an earlier
    # test, whose closed connections can leave TIME_WAIT entries on base + 25; a
    # listening socket still keeps valija's bind out.
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        blocker.bind(("127.0.0.1", base + 25))
        blocker.listen(1)
        cp = run_serve(["--data", tmp_path / "d", "--port-base", base], tmp_path)
    finally:
        blocker.close()
    assert cp.returncode == 1, (cp.returncode, cp.stderr)
    assert re.search(r"^valija: error: smtp listener: port %d on 127\.0\.0\.1 is already in use"
                     % (base + 25), cp.stderr, re.M), cp.stderr


def test_port_in_use_by_other_instance(valija_factory):
    a = valija_factory("a").start()
    b = valija_factory("b")
    with pytest.raises(Exception) as ei:
        b.start(port_base=a.port_base)
    assert b.returncode == 1, (b.returncode, b.stderr_text())
    assert "already in use" in b.stderr_text()
    # a still serves
    deliver(a, subject="still-a")


def test_bad_port_base_is_usage_error(tmp_path):
    cp = run_serve(["--data", tmp_path / "d", "--port-base", "70000"], tmp_path)
    assert cp.returncode == 2, cp


def test_log_level_debug_shows_dialogue(valija_factory):
    v = valija_factory().start(log_level="debug")
    mark = v.log_mark()
    with v.raw() as c:
        c.greeting()
        c.ehlo("debug-client.example")
        c.expect("NOOP", "250 2.0.0")
        # dGVzdABkZW1vAHNlY3JldA== is base64 of "test\0demo\0secret": never logged.
        c.cmd("AUTH PLAIN dGVzdABkZW1vAHNlY3JldA==")
        c.expect("QUIT", "221")
    v.wait_log(r"EHLO debug-client\.example", since=mark)
    v.wait_log(r"line=\"AUTH PLAIN \*\*\*\"", since=mark)
    v.wait_log(r"event=smtp_disconnect", since=mark)
    assert not any("dGVzdABkZW1vAHNlY3JldA" in l for l in v.log_lines(mark))


# ---- config file -------------------------------------------------------------------

BASE_CONFIG = """\
hostname = "mail.test.example"
domains = ["test.example", "other.example"]
log_level = "info"

[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"

[[listener]]
address = "127.0.0.1"
port = $submission_port
role = "submission"

[[listener]]
address = "127.0.0.1"
port = $submissions_port
role = "submissions"

[limits]
message_size = 1000000
recipients_per_message = 50
"""


def test_config_file(valija_factory):
    v = valija_factory()
    v.start(config=BASE_CONFIG)
    doms = v.cli_ok("domain", "list").stdout.split()
    assert "test.example" in doms and "other.example" in doms
    v.add_user("ana@test.example")
    with v.raw() as c:
        assert c.greeting() == "220 mail.test.example ESMTP valija"
        texts = c.ehlo()
        assert texts[0].startswith("mail.test.example")
        assert "SIZE 1000000" in texts[1:]
        assert "LIMITS RCPTMAX=50 MAILMAX=1000" in texts[1:]
    msg = deliver(v, rcpt="ana@test.example", subject="cfg")
    head, body = split_trace(v.message("ana@test.example", 1))
    assert body == msg
    assert b"\tby mail.test.example (valija) with ESMTP id " in head
    with v.raw("submission") as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<ana@test.example>", "530 5.7.0")
    with v.raw("submissions", tls=True) as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<ana@test.example>", "530 5.7.0")
    assert v.stop() == 0


def test_config_data_dir(valija_factory):
    v = valija_factory()
    cfg = BASE_CONFIG + '\n'
    cfg = 'data_dir = "$workdir/from-config"\n' + cfg
    v.data = v.workdir / "from-config"
    v.start(config=cfg, data_arg=False)
    assert (v.workdir / "from-config").is_dir()
    assert "test.example" in v.cli_ok("domain", "list").stdout.split()


def test_config_ipv6_listener(valija_factory):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("no ::1 on this machine")
    v = valija_factory()
    port = free_port()
    v.start(config=BASE_CONFIG.replace('address = "127.0.0.1"\nport = $smtp_port',
                                       'address = "::1"\nport = %d' % port))
    c6 = socket.create_connection(("::1", port), timeout=20)
    try:
        f = c6.makefile("rb")
        assert f.readline().startswith(b"220 mail.test.example ESMTP valija")
    finally:
        c6.close()


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,line,key", [
    ('hostname = "a.example"\nbogus_key = 1\n', 2, "bogus_key"),
    ('hostname = 5\n', 1, "hostname"),
    ('log_level = "loud"\n', 1, "log_level"),
    ('domains = "not-a-list"\n', 1, "domains"),
    ('[limits]\nmessage_size = 100000\nrecipients_per_message = "many"\n', 3, "recipients_per_message"),
    ('[limits]\nmessage_size = -5\n', 2, "message_size"),
    ('[limits]\nno_such_limit = 5\n', 2, "no_such_limit"),
    ('[[listener]]\naddress = "127.0.0.1"\nport = 70000\nrole = "smtp"\n', 3, "port"),
    ('[[listener]]\naddress = "127.0.0.1"\nport = 2525\nrole = "gopher"\n', 4, "role"),
    ('[[listener]]\naddress = "not-an-ip"\nport = 2525\nrole = "smtp"\n', 2, "address"),
    ('[[listener]]\naddress = "127.0.0.1"\nport = 2525\nrole = "smtp"\ncolour = "red"\n', 5, "colour"),
    ('[tls]\ncert = "/nonexistent/cert.pem"\nkey = "/nonexistent/key.pem"\nextra = 1\n', 4, "extra"),
    ('hostname = "x"\n[unknown_table]\na = 1\n', 2, "unknown_table"),
])
def test_bad_config_exit_2(tmp_path, text, line, key):
    cfg = write(tmp_path / "bad.toml", text)
    cp = run_serve(["--config", cfg, "--data", tmp_path / "d"], tmp_path)
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    # the key may be qualified by its table: limits.message_size, listener[0].port
    assert re.search(r"^valija: error: %s:%d: (?:[\w\[\]]+\.)?%s: \S" % (
        re.escape(str(cfg)), line, re.escape(key)), cp.stderr, re.M), cp.stderr


def test_bad_config_syntax(tmp_path):
    cfg = write(tmp_path / "bad.toml", 'hostname = "ok"\n\nthis is not toml\n')
    cp = run_serve(["--config", cfg, "--data", tmp_path / "d"], tmp_path)
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    assert re.search(r"^valija: error: %s:3(:\d+)?: " % re.escape(str(cfg)), cp.stderr, re.M), cp.stderr


def test_duplicate_listener(tmp_path):
    lst = '[[listener]]\naddress = "127.0.0.1"\nport = 2525\nrole = "smtp"\n'
    cfg = write(tmp_path / "dup.toml", lst + "\n" + lst)
    cp = run_serve(["--config", cfg, "--data", tmp_path / "d"], tmp_path)
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    assert re.search(r"^valija: error: %s:\d+: " % re.escape(str(cfg)), cp.stderr, re.M), cp.stderr


def test_missing_config_file(tmp_path):
    cp = run_serve(["--config", tmp_path / "nope.toml", "--data", tmp_path / "d"], tmp_path)
    assert cp.returncode in (1, 2), cp
    assert re.search(r"^valija: error: .*nope\.toml", cp.stderr, re.M), cp.stderr


def test_config_tls_key_mismatch(tmp_path):
    c1, k1 = make_cert(tmp_path, "one")
    c2, k2 = make_cert(tmp_path, "two")
    cfg = write(tmp_path / "tls.toml", '[tls]\ncert = "%s"\nkey = "%s"\n' % (c1, k2))
    cp = run_serve(["--config", cfg, "--data", tmp_path / "d"], tmp_path)
    assert cp.returncode in (1, 2), cp
    assert "valija: error:" in cp.stderr, cp.stderr


# ---- signals -------------------------------------------------------------------------

def test_sigterm_drains_idle_connections(valija):
    v = valija
    idle = v.raw()
    idle.greeting()
    idle.ehlo()
    fresh = v.raw()
    fresh.greeting()
    v.signal(signal.SIGTERM)
    for c in (idle, fresh):
        code, _, full = c.reply()
        assert re.match(r"421 4\.3\.2 .*Service shutting down", full), full
        c.closed_by_peer()
        c.close()
    assert v.wait_exit() == 0
    v.wait_log(r"event=stopped\b")


def test_sigterm_lets_current_message_finish(valija):
    v = valija
    msg = make_message("in-flight", "arriving during shutdown\r\n")
    c = v.raw()
    try:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        data = dot_stuff(msg)
        c.send(data[:20])
        mark = v.log_mark()
        v.signal(signal.SIGTERM)
        v.wait_log(r"event=shutdown\b", since=mark)
        assert c.no_pending(), "reply before the end of data: %r" % c.buf
        c.send(data[20:])
        full = c.reply()[2]
        assert re.fullmatch(TRACE_RE, full), full
        code, _, full = c.reply()
        assert full.startswith("421 4.3.2"), full
        c.closed_by_peer()
    finally:
        c.close()
    assert v.wait_exit() == 0
    [stored] = v.bodies("demo@localhost")
    assert split_trace(stored)[1] == msg


def test_sigterm_no_new_connections(valija):
    v = valija
    port = v.ports["smtp"]
    v.signal(signal.SIGTERM)
    assert v.wait_exit() == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def make_cert(d, name):
    key = d / ("%s.key" % name)
    cert = d / ("%s.crt" % name)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=%s.test" % name,
                    "-days", "2", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def peer_cert(v):
    with v.raw("submissions", tls=True) as c:
        c.greeting()
        return c.sock.getpeercert(binary_form=True)


def pem_to_der(path):
    return ssl.PEM_cert_to_DER_cert(path.read_text())


def test_sighup_reloads_certificate(valija_factory, tmp_path):
    v = valija_factory()
    tlsdir = v.workdir / "certs"
    tlsdir.mkdir(parents=True)
    c1, k1 = make_cert(tlsdir, "one")
    cert, key = tlsdir / "server.crt", tlsdir / "server.key"
    cert.write_bytes(c1.read_bytes())
    key.write_bytes(k1.read_bytes())
    v.start(config=BASE_CONFIG + '\n[tls]\ncert = "%s"\nkey = "%s"\n' % (cert, key))
    assert peer_cert(v) == pem_to_der(c1)

    # an existing TLS session survives the reload
    old = v.raw("submissions", tls=True)
    old.greeting()

    c2, k2 = make_cert(tlsdir, "two")
    cert.write_bytes(c2.read_bytes())
    key.write_bytes(k2.read_bytes())
    mark = v.log_mark()
    v.signal(signal.SIGHUP)
    v.wait_log(r"event=reload\b.*\btls=ok\b", since=mark)
    assert peer_cert(v) == pem_to_der(c2)
    old.ehlo()
    old.expect("NOOP", "250 2.0.0")
    old.close()

    # a broken pair is refused, the current one kept, the server keeps serving
    c3, k3 = make_cert(tlsdir, "three")
    cert.write_bytes(c3.read_bytes())
    key.write_bytes(k2.read_bytes())  # mismatch
    mark = v.log_mark()
    v.signal(signal.SIGHUP)
    line = v.wait_log(r"event=reload\b", since=mark).string
    assert "tls=ok" not in line, line
    assert v.running()
    assert peer_cert(v) == pem_to_der(c2)
    assert v.stop() == 0


def test_sighup_local_mode(valija):
    mark = valija.log_mark()
    before = peer_cert(valija)
    valija.signal(signal.SIGHUP)
    valija.wait_log(r"event=reload\b.*\btls=ok\b", since=mark)
    assert valija.running()
    assert peer_cert(valija) == before
    deliver(valija, subject="after-hup")


def test_open_files_limit_lowers_connections_total(tmp_path):
    """With a low RLIMIT_NOFILE the server says so at start and admits only what fits,
    rather than failing accept() under load."""
    wrapper = tmp_path / "valija-lowfd"
    wrapper.write_text('#!/bin/sh\nulimit -n 300\nexec "%s" "$@"\n' % VALIJA_BIN)
    wrapper.chmod(0o755)
    v = Valija(tmp_path / "w", binary=str(wrapper))
    v.start()
    try:
        v.wait_log(r"event=connections_limited connections_total=150 open_files_limit=300")
        deliver(v, subject="still works")
        assert len(v.messages("demo@localhost")) == 1
    finally:
        v.stop()


def test_missing_postmaster_is_reported(valija_factory):
    v = valija_factory()
    v.start(config=BASE_CONFIG)
    v.wait_log(r"event=no_postmaster domain=test\.example")
    v.add_user("pm@test.example")
    v.cli_ok("alias", "add", "postmaster@test.example", "pm@test.example")
    v.cli_ok("alias", "add", "postmaster@other.example", "pm@test.example")
    mark = v.log_mark()
    v.signal(signal.SIGHUP)
    v.wait_log(r"event=reload domains=ok", since=mark)
    # Reload checks again, in the writer, after the domains: nothing to report now.
    with v.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<postmaster@test.example>", "250 2.1.5")
    assert not any("event=no_postmaster" in l for l in v.log_lines(mark))
    assert v.stop() == 0


def test_sigterm_stops_it_every_time(valija_factory):
    """Started and stopped with SIGTERM forty times over the same data: every stop is
    clean and prompt (a pool thread left waiting after start-up once hung about one stop
    in twenty)."""
    v = valija_factory()
    for _ in range(40):
        v.start()
        assert v.stop(timeout=10) == 0
