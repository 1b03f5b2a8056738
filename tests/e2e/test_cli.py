"""The admin CLI: domains, users, aliases, mail; offline and while serving."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import VALIJA_BIN, Valija, dot_stuff, make_message, split_trace


@pytest.fixture
def offline(tmp_path):
    """A data dir used by the CLI only (no server)."""
    v = Valija(tmp_path / "offline")
    v.cli_ok("domain", "add", "example.org")
    return v


def assert_error(cp, rc=1, contains=None):
    assert cp.returncode == rc, (cp.returncode, cp.stdout, cp.stderr)
    lines = cp.stderr.strip("\n").split("\n")
    if rc == 1:
        assert len(lines) == 1 and lines[0].startswith("valija: error: "), cp.stderr
    if contains:
        assert contains in cp.stderr, cp.stderr


def send(v, rcpt, subject="cli", sender="a@example.net"):
    """One message; returns (rcpt reply, final reply or None)."""
    with v.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<%s>" % sender, "250 2.1.0")
        code, _, rr = c.cmd("RCPT TO:<%s>" % rcpt)
        if code != 250:
            return rr, None
        c.expect("DATA", "354")
        c.send(dot_stuff(make_message(subject, "x\r\n", to=rcpt)))
        return rr, c.reply()[2]


# ---- domains --------------------------------------------------------------------

def test_domain_add_list_remove(offline):
    v = offline
    assert "example.org" in v.cli_ok("domain", "list").stdout.split()
    v.cli_ok("domain", "add", "second.example")
    doms = v.cli_ok("domain", "list").stdout.split()
    assert "example.org" in doms and "second.example" in doms
    assert_error(v.cli("domain", "add", "second.example"), contains="already exists")
    assert_error(v.cli("domain", "add", "Second.EXAMPLE"))
    assert_error(v.cli("domain", "add", "bad domain"))
    assert_error(v.cli("domain", "add", "bad..example"))
    v.cli_ok("domain", "remove", "second.example")
    assert "second.example" not in v.cli_ok("domain", "list").stdout.split()
    assert_error(v.cli("domain", "remove", "second.example"))


def test_domain_remove_needs_force(offline):
    v = offline
    v.add_user("ana@example.org")
    v.cli_ok("alias", "add", "team@example.org", "ana@example.org")
    assert_error(v.cli("domain", "remove", "example.org"), contains="--force")
    assert "example.org" in v.cli_ok("domain", "list").stdout.split()
    v.cli_ok("domain", "remove", "example.org", "--force")
    assert "example.org" not in v.cli_ok("domain", "list").stdout.split()
    assert "ana@example.org" not in v.cli_ok("user", "list").stdout
    assert "team@example.org" not in v.cli_ok("alias", "list").stdout
    # re-adding gives an empty domain
    v.cli_ok("domain", "add", "example.org")
    assert v.cli_ok("user", "list", "example.org").stdout.strip() == ""


# ---- users ----------------------------------------------------------------------

def user_line(v, address, domain=None):
    args = ["user", "list"] + ([domain] if domain else [])
    out = v.cli_ok(*args).stdout
    lines = [l for l in out.splitlines() if l.split("\t")[0] == address]
    return lines[0] if lines else None


def test_user_add_list(offline):
    v = offline
    cp = v.add_user("ana@example.org")
    line = user_line(v, "ana@example.org")
    assert line is not None
    f = line.split("\t")
    assert len(f) == 3, line
    assert re.fullmatch(r"used 0(\.0)?B? in 0 messages", f[1]), line
    assert f[2] == "quota unlimited", line
    v.add_user("bob@example.org", quota="500M")
    f = user_line(v, "bob@example.org").split("\t")
    assert re.fullmatch(r"quota 500(\.0)?M", f[2]), f
    v.cli_ok("domain", "add", "other.example")
    v.add_user("carl@other.example")
    only = v.cli_ok("user", "list", "other.example").stdout
    assert "carl@other.example" in only and "ana@example.org" not in only
    assert "carl@other.example" in v.cli_ok("user", "list").stdout


@pytest.mark.parametrize("address,contains", [
    ("ana@unknown.example", "unknown domain"),
    ("not-an-address", "invalid address"),
    ("@example.org", None),
    ("a b@example.org", None),
    ("ana@", None),
])
def test_user_add_errors(offline, address, contains):
    cp = offline.cli("user", "add", address, "--password-stdin", input="pw-pw-pw\n")
    assert_error(cp, contains=contains)


def test_user_add_duplicate(offline):
    offline.add_user("ana@example.org")
    assert_error(offline.cli("user", "add", "ana@example.org", "--password-stdin",
                             input="x-x-x-x\n"), contains="already exists")
    assert_error(offline.cli("user", "add", "ANA@Example.org", "--password-stdin",
                             input="x-x-x-x\n"))


def test_user_passwd_quota_remove(offline):
    v = offline
    v.add_user("ana@example.org")
    v.cli_ok("user", "passwd", "ana@example.org", "--password-stdin", input="new-secret\n")
    assert_error(v.cli("user", "passwd", "nobody@example.org", "--password-stdin",
                       input="new-secret\n"))
    v.cli_ok("user", "quota", "ana@example.org", "2G", "--messages", "100")
    assert re.fullmatch(r"quota 2(\.0)?G.*", user_line(v, "ana@example.org").split("\t")[2])
    v.cli_ok("user", "quota", "ana@example.org", "0")
    assert user_line(v, "ana@example.org").split("\t")[2] == "quota unlimited"
    assert_error(v.cli("user", "quota", "nobody@example.org", "1G"))
    v.cli_ok("user", "remove", "ana@example.org")
    assert user_line(v, "ana@example.org") is None
    assert_error(v.cli("user", "remove", "ana@example.org"))


def test_usage_errors_exit_2(offline):
    v = offline
    for args in [("user",), ("user", "add"), ("alias", "add", "x@example.org"),
                 ("frobnicate",), ("user", "list", "--bogus-option"),
                 ("mail", "show", "ana@example.org"), ("user", "quota", "ana@example.org"),
                 ("mail", "show", "ana@example.org", "notanumber")]:
        cp = v.cli(*args)
        assert cp.returncode == 2, (args, cp.returncode, cp.stderr)


# ---- aliases ----------------------------------------------------------------------

def alias_map(v, domain=None):
    out = v.cli_ok(*(["alias", "list"] + ([domain] if domain else []))).stdout
    res = {}
    for line in out.splitlines():
        src, targets = line.split("\t")
        res[src] = targets.split(", ")
    return res


def test_alias_add_list_remove(offline):
    v = offline
    v.add_user("ana@example.org")
    v.add_user("bob@example.org")
    v.cli_ok("alias", "add", "team@example.org", "ana@example.org", "bob@example.org")
    v.cli_ok("alias", "add", "@example.org", "ana@example.org")
    m = alias_map(v)
    assert sorted(m["team@example.org"]) == ["ana@example.org", "bob@example.org"]
    assert m["@example.org"] == ["ana@example.org"]
    v.cli_ok("domain", "add", "other.example")
    v.cli_ok("alias", "add", "x@other.example", "ana@example.org")
    assert set(alias_map(v, "other.example")) == {"x@other.example"}
    v.cli_ok("alias", "remove", "team@example.org", "bob@example.org")
    assert alias_map(v)["team@example.org"] == ["ana@example.org"]
    v.cli_ok("alias", "remove", "team@example.org")
    assert "team@example.org" not in alias_map(v)
    v.cli_ok("alias", "remove", "@example.org")
    assert "@example.org" not in alias_map(v)
    assert_error(v.cli("alias", "remove", "team@example.org"))
    assert_error(v.cli("alias", "add", "x@unknown.example", "ana@example.org"))
    assert_error(v.cli("alias", "add", "bad address", "ana@example.org"))
    assert_error(v.cli("alias", "add", "y@example.org", "not an address"))


def test_alias_to_external_is_allowed_with_note(offline):
    cp = offline.cli_ok("alias", "add", "fwd@example.org", "someone@elsewhere.example")
    assert alias_map(offline)["fwd@example.org"] == ["someone@elsewhere.example"]


# ---- mail -------------------------------------------------------------------------

def test_mail_errors(offline):
    v = offline
    assert_error(v.cli("mail", "list", "nobody@example.org"))
    v.add_user("ana@example.org")
    assert v.messages("ana@example.org") == []
    assert_error(v.cli("mail", "show", "ana@example.org", "1"))
    assert_error(v.cli("mail", "list", "ana@example.org", "--folder", "NoSuchFolder"))


# ---- while the server runs ----------------------------------------------------------

def test_cli_while_serving(valija):
    v = valija
    # a new domain and account, used immediately without restart
    v.cli_ok("domain", "add", "live.example")
    rr, final = send(v, "ana@live.example")
    assert rr.startswith("550 5.1.1"), rr
    v.add_user("ana@live.example")
    rr, final = send(v, "ana@live.example", subject="live1")
    assert rr.startswith("250 2.1.5") and final.startswith("250 2.0.0"), (rr, final)
    assert len(v.messages("ana@live.example")) == 1
    line = user_line(v, "ana@live.example")
    assert "in 1 messages" in line, line
    # alias added live
    v.cli_ok("alias", "add", "sales@live.example", "ana@live.example")
    rr, final = send(v, "sales@live.example", subject="live2")
    assert final and final.startswith("250 2.0.0"), (rr, final)
    assert len(v.messages("ana@live.example")) == 2
    # alias removed live
    v.cli_ok("alias", "remove", "sales@live.example")
    rr, _ = send(v, "sales@live.example")
    assert rr.startswith("550 5.1.1"), rr
    # quota set live: usage now exceeds it
    v.cli_ok("user", "quota", "ana@live.example", "10")
    rr, _ = send(v, "ana@live.example")
    assert rr.startswith("552 5.2.2"), rr
    # user removed live, with its mail
    v.cli_ok("user", "remove", "ana@live.example")
    rr, _ = send(v, "ana@live.example")
    assert rr.startswith("550 5.1.1"), rr
    v.add_user("ana@live.example")
    assert v.messages("ana@live.example") == []
    # domain removed live: now foreign
    v.cli_ok("domain", "remove", "live.example", "--force")
    rr, _ = send(v, "ana@live.example")
    assert rr.startswith("554 5.7.1"), rr


def test_message_count_quota(valija):
    v = valija
    v.add_user("few@localhost")
    v.cli_ok("user", "quota", "few@localhost", "0", "--messages", "1")
    rr, final = send(v, "few@localhost", subject="first")
    assert final and final.startswith("250 2.0.0"), (rr, final)
    rr, final = send(v, "few@localhost", subject="second")
    assert rr.startswith("552 5.2.2") or (final or "").startswith("552 5.2.2"), (rr, final)
    assert len(v.messages("few@localhost")) == 1


def test_user_list_counts_usage(valija):
    v = valija
    send(v, "demo@localhost", subject="u1")
    send(v, "demo@localhost", subject="u2")
    size = sum(m["size"] for m in v.messages("demo@localhost"))
    line = user_line(v, "demo@localhost")
    f = line.split("\t")
    assert re.fullmatch(r"used \S+ in 2 messages", f[1]), line
    if re.fullmatch(r"used \d+B in 2 messages", f[1]):
        assert f[1] == "used %dB in 2 messages" % size, (line, size)


def test_empty_or_missing_password_refused(offline):
    assert_error(offline.cli("user", "add", "e@example.org", "--password-stdin", input="\n"))
    assert_error(offline.cli("user", "add", "e@example.org"))  # no TTY, no stdin
    assert user_line(offline, "e@example.org") is None


def test_default_folders_exist(valija):
    # DESIGN: INBOX, Sent, Drafts, Trash, Junk, Archive exist by default
    for folder in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert valija.messages("demo@localhost", folder=folder) == []


def test_mail_show_bad_uid(valija):
    assert_error(valija.cli("mail", "show", "demo@localhost", "0"))
    assert_error(valija.cli("mail", "show", "demo@localhost", "999"))


@pytest.mark.parametrize("args", [("user", "list"), ("domain", "list"), ("alias", "list"),
                                  ("user", "remove", "a@example.org"),
                                  ("user", "passwd", "a@example.org", "--password-stdin"),
                                  ("mail", "list", "a@example.org")])
def test_commands_do_not_create_a_missing_data_dir(tmp_path, args):
    v = Valija(tmp_path / "none")
    cp = v.cli(*args, input="pw-for-a\n")
    assert_error(cp, contains="does not exist")
    assert "valija domain add" in cp.stderr
    assert not v.data.exists()
    # An existing directory without valija's database is not taken for one either.
    v.data.mkdir()
    cp = v.cli(*args, input="pw-for-a\n")
    assert_error(cp, contains="no valija data in")
    assert list(v.data.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_root_keeps_the_data_dir_owner(tmp_path):
    """docs/security.md "Running as a service": root's admin commands on a data dir that
    belongs to another user run as that user (what they create stays the server's);
    `serve` as root on it refuses to start."""
    base = tempfile.mkdtemp(dir="/tmp", prefix="valija-owner-")
    try:
        os.chmod(base, 0o755)
        data = os.path.join(base, "data")
        run = lambda *a, **kw: subprocess.run([VALIJA_BIN, *a, "--data", data], capture_output=True,  # noqa: E731
                                              timeout=60, **kw)
        assert run("domain", "add", "example.org").returncode == 0
        for root, dirs, files in os.walk(data):
            for name in dirs + files + ["."]:
                os.chown(os.path.join(root, name), 65534, 65534)
        cp = run("user", "add", "ana@example.org", "--password-stdin", input=b"s3cret-pass\n")
        assert cp.returncode == 0, cp.stderr
        owners = {os.stat(os.path.join(r, n)).st_uid for r, ds, fs in os.walk(data) for n in ds + fs}
        assert owners == {65534}, owners
        assert b"ana@example.org" in run("user", "list").stdout
        cp = subprocess.run([VALIJA_BIN, "serve", "--data", data, "--port-base", "0"], capture_output=True, timeout=60)
        assert cp.returncode == 2 and b"belongs to uid 65534" in cp.stderr, cp.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)
