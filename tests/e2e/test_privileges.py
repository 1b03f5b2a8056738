"""Privilege separation (docs/security.md, "Privileges"): started as root with a
configuration, valija binds its ports (one below 1024 here), becomes its service user
with no capabilities, and owns its data dir; started as an ordinary user with
CAP_NET_BIND_SERVICE (as systemd's AmbientCapabilities gives it), it binds, then drops
that capability. These tests need root; their data dirs live under a fresh directory in
/tmp that the service user can reach (pytest's own tmp dir is root's only)."""
import grp
import os
import pwd
import shutil
import socket
import smtplib
import subprocess
import tempfile

import pytest

from conftest import VALIJA_BIN, StartError, Valija

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

CONFIG = """\
hostname = "mx.priv.example"
domains = ["priv.example"]
@USER@
[[listener]]
address = "127.0.0.1"
port = @LOW_PORT@
role = "smtp"
[[listener]]
address = "127.0.0.1"
port = $imap_port
role = "imap"
[imap]
cleartext = "loopback"
"""

CAPS = ("CapInh", "CapPrm", "CapEff", "CapAmb")


def free_low_port():
    """A free port below 1024 on 127.0.0.1 (only root, or CAP_NET_BIND_SERVICE, binds it)."""
    for port in range(990, 600, -1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.skip("no free port below 1024")


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return fields


def owners(path):
    return {os.lstat(os.path.join(r, n)).st_uid for r, ds, fs in os.walk(path) for n in ds + fs + ["."]}


@pytest.fixture
def base():
    d = tempfile.mkdtemp(dir="/tmp", prefix="valija-priv-")
    os.chmod(d, 0o755)
    made = []

    def make(binary=VALIJA_BIN):
        v = Valija(os.path.join(d, "v%d" % len(made)), binary=binary)
        os.chmod(v.workdir, 0o755)
        v.stay_root = False
        made.append(v)
        return v

    yield make
    for v in made:
        v.discard()
    shutil.rmtree(d, ignore_errors=True)


def deliver_and_read(v, port, address):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.sendmail("x@remote.example", [address], b"Subject: priv\r\n\r\nhello\r\n")
    c = v.imap(user=address)
    try:
        typ, data = c.select("INBOX")
        assert typ == "OK" and data[0] == b"1", data
        typ, data = c.fetch("1", "(BODY.PEEK[])")
        assert b"hello" in data[0][1]
    finally:
        c.logout()


def test_root_binds_then_becomes_the_service_user(base):
    """Default `user` (valija): the data dir an admin made as root is handed over, the
    process ends with valija's IDs, no capabilities, an empty bounding set and
    no_new_privs, and still serves its port below 1024; root's admin commands afterwards
    keep every file valija's."""
    svc = pwd.getpwnam("valija")  # made by scripts/bootstrap.sh
    v = base()
    v.cli_ok("domain", "add", "priv.example")  # as root: a root-owned data dir
    v.add_user("ana@priv.example")
    assert owners(v.data) == {0}
    low = free_low_port()
    v.start(config=CONFIG.replace("@USER@", "").replace("@LOW_PORT@", str(low)))
    m = v.wait_log(r"event=privileges_dropped user=(\S+) uid=(\d+) gid=(\d+)")
    assert m.group(1) == "valija" and int(m.group(2)) == svc.pw_uid and int(m.group(3)) == svc.pw_gid
    v.wait_log(r"event=data_dir_handed_over .*user=valija entries=[1-9]")
    st = proc_status(v.proc.pid)
    assert st["Uid"] == [str(svc.pw_uid)] * 4, st["Uid"]
    assert st["Gid"] == [str(svc.pw_gid)] * 4, st["Gid"]
    # Only the user's own groups (from the user database).
    expected_groups = {svc.pw_gid} | {g.gr_gid for g in grp.getgrall() if "valija" in g.gr_mem}
    assert {int(g) for g in st["Groups"]} <= expected_groups, st["Groups"]
    for cap in CAPS + ("CapBnd",):
        assert int(st[cap][0], 16) == 0, (cap, st[cap])
    assert st["NoNewPrivs"] == ["1"]
    assert f"smtp=127.0.0.1:{low}" in v.wait_log(r"event=ready\b.*").group(0)

    deliver_and_read(v, low, "ana@priv.example")
    v.add_user("bob@priv.example")  # root's CLI becomes valija on valija's data dir
    assert owners(v.data) == {svc.pw_uid}
    assert v.stop() == 0
    # Restarted: the data dir is already valija's, nothing to hand over.
    since = len(v._lines)
    v.start(config=CONFIG.replace("@USER@", "").replace("@LOW_PORT@", str(low)))
    v.wait_log(r"event=privileges_dropped user=valija", since=0)
    assert not any("data_dir_handed_over" in line for line in v._lines[since:])
    deliver_and_read(v, low, "bob@priv.example")


def test_user_setting_names_the_account(base):
    """`user` in the configuration and `--user` on the command line name the account; a
    missing one, or root's data dir owned by somebody else, stops the start with a
    reason (exit 2) and leaves nothing listening."""
    v = base()
    low = free_low_port()
    cfg = CONFIG.replace("@LOW_PORT@", str(low))
    def refused(config, extra_args=()):
        with pytest.raises(StartError) as e:
            v.start(config=config, extra_args=extra_args)
        v.proc = None
        assert e.value.returncode == 2, e.value.stderr
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", low))  # nothing left listening
        return e.value.stderr

    err = refused(cfg.replace("@USER@", 'user = "no-such-valija-user"'))
    assert "user 'no-such-valija-user' does not exist" in err, err
    err = refused(cfg.replace("@USER@", 'user = "valija"'), ("--user", "no-such-valija-user"))
    assert "user 'no-such-valija-user' does not exist" in err, err
    # A data dir that belongs to another account is not taken over.
    os.makedirs(v.data)
    os.chown(v.data, 65534, 65534)
    err = refused(cfg.replace("@USER@", ""))
    assert "belongs to uid 65534" in err, err
    assert owners(v.data) == {65534}
    # ... unless it is that account valija is told to become.
    v.start(config=cfg.replace("@USER@", ""), extra_args=("--user", "nobody"))
    v.wait_log(r"event=privileges_dropped user=nobody uid=65534")
    assert owners(v.data) == {65534}
    with socket.create_connection(("127.0.0.1", low), timeout=10) as s:
        assert s.recv(100).startswith(b"220 ")


def test_capability_start_drops_it_after_binding(base, tmp_path):
    """Not root but with CAP_NET_BIND_SERVICE (packaging/valija.service): the port below
    1024 is bound, then the capability is gone (effective, permitted, ambient)."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) not installed")
    wrapper = os.path.join(tempfile.mkdtemp(dir="/tmp", prefix="valija-priv-bin-"), "valija")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "
                "--inh-caps=+net_bind_service --ambient-caps=+net_bind_service %s \"$@\"\n" % VALIJA_BIN)
    os.chmod(wrapper, 0o755)
    os.chmod(os.path.dirname(wrapper), 0o755)
    try:
        v = base(binary=wrapper)
        os.makedirs(v.data)
        os.chown(v.data, 65534, 65534)
        low = free_low_port()
        v.start(config=CONFIG.replace("@USER@", "").replace("@LOW_PORT@", str(low)))
        st = proc_status(v.proc.pid)
        assert st["Uid"] == ["65534"] * 4, st["Uid"]
        for cap in CAPS:
            assert int(st[cap][0], 16) == 0, (cap, st[cap])
        assert st["NoNewPrivs"] == ["1"]
        v.add_user("ana@priv.example")
        deliver_and_read(v, low, "ana@priv.example")
    finally:
        shutil.rmtree(os.path.dirname(wrapper), ignore_errors=True)
