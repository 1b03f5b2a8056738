"""Real IMAP clients against valija: mbsync (isync), offlineimap3, getmail6 and
fetchmail, each with its own config in a temporary directory, a timeout, and TLS with
the server's self-signed certificate trusted (or cleartext on loopback). A client's test
is skipped only when its binary is missing.
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from imap_util import PASSWORD, deliver, fill, new_account, session, simple

CLIENT_TIMEOUT = 120


def need(binary):
    if not shutil.which(binary):
        pytest.skip("%s not installed" % binary)


@pytest.fixture(scope="module")
def v(shared_valija):
    return shared_valija


@pytest.fixture
def user(v):
    return new_account(v)


def run(argv, workdir, env=None, timeout=CLIENT_TIMEOUT):
    e = dict(os.environ, HOME=str(workdir), LC_ALL="C.UTF-8")
    e.update(env or {})
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=e,
                        cwd=str(workdir), stdin=subprocess.DEVNULL)
    return cp


def check(cp, what):
    assert cp.returncode == 0, "%s rc=%d\nstdout:\n%s\nstderr:\n%s" % (
        what, cp.returncode, cp.stdout[-4000:], cp.stderr[-4000:])


def maildir_files(md):
    return sorted(list((md / "cur").iterdir()) + list((md / "new").iterdir()))


def subjects(files):
    out = []
    for f in files:
        m = re.search(rb"^Subject: (.*?)\r?$", f.read_bytes(), re.M)
        assert m, f
        out.append(m.group(1).decode())
    return sorted(out)


def imap_subjects(v, user, mailbox="INBOX"):
    c = session(v, user)
    c.ok("EXAMINE \"%s\"" % mailbox)
    u = c.ok("FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]", as_bytes=True) \
        if c.ok("STATUS \"%s\" (MESSAGES)" % mailbox)[0] != \
        '* STATUS %s (MESSAGES 0)' % mailbox else []
    c.logout()
    return sorted(re.search(rb"Subject: (.*?)\r\n", x).group(1).decode() for x in u)


def imap_flags(v, user, mailbox="INBOX"):
    """{subject: set(flags)} of a mailbox."""
    c = session(v, user)
    c.ok("EXAMINE \"%s\"" % mailbox)
    u = c.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", as_bytes=True)
    c.logout()
    out = {}
    for x in u:
        s = re.search(rb"Subject: (.*?)\r\n", x).group(1).decode()
        f = re.search(rb"FLAGS \(([^)]*)\)", x).group(1).decode().split()
        out[s] = set(f) - {"\\Recent"}
    return out


def server_cert(v, workdir):
    """The server's self-signed certificate (local mode writes it to data/tls/), trusted
    by the client as is. (Not fetched with ssl.get_server_certificate: see
    test_imap_limits.py::test_tls_peer_closing_after_handshake_keeps_server_up.)"""
    p = workdir / "server.pem"
    shutil.copyfile(v.data / "tls" / "cert.pem", p)
    return p


def populate(v, user, n_inbox=20):
    """n_inbox messages delivered over SMTP, two in Archive, one in a nested folder."""
    for i in range(n_inbox):
        deliver(v, simple("inbox %02d" % i, "message %d\r\n" % i, to=user), user)
    c = session(v, user)
    c.ok("CREATE Projects/2024")
    for s in ("archived 1", "archived 2"):
        c.append("Archive", simple(s))
    c.append("Projects/2024", simple("nested 1"))
    c.logout()


# ---- mbsync --------------------------------------------------------------------------

def mbsync_config(v, user, workdir, cert):
    mail = workdir / "mail"
    mail.mkdir(exist_ok=True)
    cfg = workdir / "mbsyncrc"
    cfg.write_text(
        "IMAPAccount acc\n"
        "Host 127.0.0.1\n"
        "Port %d\n"
        "User %s\n"
        "Pass %s\n"
        "SSLType IMAPS\n"
        "CertificateFile %s\n"
        "Timeout 30\n"
        "\n"
        "IMAPStore remote\n"
        "Account acc\n"
        "\n"
        "MaildirStore local\n"
        "Path %s/\n"
        "Inbox %s/INBOX\n"
        "SubFolders Verbatim\n"
        "\n"
        "Channel ch\n"
        "Far :remote:\n"
        "Near :local:\n"
        "Patterns *\n"
        "Create Both\n"
        "Expunge Both\n"
        "SyncState *\n"
        "Sync All\n" % (v.ports["imaps"], user, PASSWORD, cert, mail, mail))
    return cfg, mail


def test_mbsync_both_ways(v, user, tmp_path):
    need("mbsync")
    populate(v, user)
    cfg, mail = mbsync_config(v, user, tmp_path, server_cert(v, tmp_path))
    cp = run(["mbsync", "-c", str(cfg), "-a"], tmp_path)
    check(cp, "mbsync")
    inbox = maildir_files(mail / "INBOX")
    assert subjects(inbox) == ["inbox %02d" % i for i in range(20)], cp.stdout
    assert subjects(maildir_files(mail / "Archive")) == ["archived 1", "archived 2"]
    assert subjects(maildir_files(mail / "Projects" / "2024")) == ["nested 1"]
    for box in ("Sent", "Drafts", "Trash", "Junk"):
        assert (mail / box / "cur").is_dir(), box
    # local changes: a new message, a flag, a deletion
    by = {subjects([f])[0]: f for f in inbox}
    new = mail / "INBOX" / "new" / "1700000000.1_1.localhost"
    new.write_bytes(simple("made locally", "local\n").replace(b"\r\n", b"\n"))
    f = by["inbox 03"]
    base, _, info = f.name.partition(":2,")
    f.rename(mail / "INBOX" / "cur" / (base + ":2," + "".join(sorted(info + "F"))))
    by["inbox 07"].unlink()
    cp = run(["mbsync", "-c", str(cfg), "-a"], tmp_path)
    check(cp, "mbsync (push)")
    want = sorted(["inbox %02d" % i for i in range(20) if i != 7] + ["made locally"])
    assert imap_subjects(v, user) == want
    flags = imap_flags(v, user)
    assert "\\Flagged" in flags["inbox 03"], flags
    assert "\\Flagged" not in flags["inbox 04"], flags
    # and a change on the server comes back
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS.SILENT (\\Seen \\Answered)")
    c.logout()
    cp = run(["mbsync", "-c", str(cfg), "-a"], tmp_path)
    check(cp, "mbsync (third)")
    assert [f for f in maildir_files(mail / "INBOX")
            if f.name.endswith(("RS", "RSF")) or ":2,RS" in f.name], \
        [f.name for f in maildir_files(mail / "INBOX")]


# ---- offlineimap ---------------------------------------------------------------------

def offlineimap_config(v, user, workdir):
    mail = workdir / "mail"
    cfg = workdir / "offlineimaprc"
    cfg.write_text(
        "[general]\n"
        "accounts = test\n"
        "metadata = %s/meta\n"
        "ui = basic\n"
        "\n"
        "[Account test]\n"
        "localrepository = local\n"
        "remoterepository = remote\n"
        "\n"
        "[Repository local]\n"
        "type = Maildir\n"
        "localfolders = %s\n"
        "\n"
        "[Repository remote]\n"
        "type = IMAP\n"
        "remotehost = 127.0.0.1\n"
        "remoteport = %d\n"
        "remoteuser = %s\n"
        "remotepass = %s\n"
        "ssl = no\n"
        "starttls = no\n"
        "timeout = 30\n"
        "maxconnections = 1\n" % (workdir, mail, v.ports["imap"], user, PASSWORD))
    return cfg, mail


def test_offlineimap_both_ways(v, user, tmp_path):
    need("offlineimap")
    populate(v, user, n_inbox=8)
    cfg, mail = offlineimap_config(v, user, tmp_path)
    argv = ["offlineimap", "-c", str(cfg), "-o", "-u", "basic"]
    cp = run(argv, tmp_path)
    check(cp, "offlineimap")
    assert "ERROR" not in cp.stdout + cp.stderr, cp.stdout + cp.stderr
    inbox = maildir_files(mail / "INBOX")
    assert subjects(inbox) == ["inbox %02d" % i for i in range(8)]
    assert subjects(maildir_files(mail / "Archive")) == ["archived 1", "archived 2"]
    nested = mail / "Projects.2024" if (mail / "Projects.2024").exists() else \
        mail / "Projects" / "2024"
    assert subjects(maildir_files(nested)) == ["nested 1"]
    # back: a flag and a deletion made locally
    by = {subjects([f])[0]: f for f in inbox}
    f = by["inbox 02"]
    base, _, info = f.name.partition(":2,")
    f.rename(mail / "INBOX" / "cur" / (base + ":2," + "".join(sorted(info + "F"))))
    by["inbox 05"].unlink()
    cp = run(argv, tmp_path)
    check(cp, "offlineimap (push)")
    assert imap_subjects(v, user) == ["inbox %02d" % i for i in range(8) if i != 5]
    assert "\\Flagged" in imap_flags(v, user)["inbox 02"]


# ---- getmail6 ------------------------------------------------------------------------

@pytest.fixture
def maildir():
    """An empty Maildir getmail can deliver into. getmail refuses to deliver as root, so
    as root it delivers as `nobody` into a directory nobody can reach."""
    top = Path(tempfile.mkdtemp(prefix="valija-getmail-imap-"))
    md = top / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    deliver_as = None
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        deliver_as = pw.pw_name
        top.chmod(0o755)
        for d in (md, md / "cur", md / "new", md / "tmp"):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    yield md, deliver_as
    shutil.rmtree(top, ignore_errors=True)


def run_getmail(v, user, workdir, maildir, delete, implicit_tls=False):
    workdir.mkdir(parents=True, exist_ok=True)
    md, deliver_as = maildir
    before = set(os.listdir(md / "new"))
    rc = workdir / "getmailrc"
    rc.write_text(
        "[retriever]\n"
        "type = %s\n"
        "server = 127.0.0.1\n"
        "port = %d\n"
        "username = %s\n"
        "password = %s\n"
        "mailboxes = (\"INBOX\",)\n"
        "timeout = 30\n"
        "\n"
        "[destination]\n"
        "type = Maildir\n"
        "path = %s/\n"
        "%s"
        "\n"
        "[options]\n"
        "read_all = true\n"
        "delete = %s\n"
        "delivered_to = false\n"
        "received = false\n"
        "verbose = 2\n" % (
            "SimpleIMAPSSLRetriever" if implicit_tls else "SimpleIMAPRetriever",
            v.ports["imaps" if implicit_tls else "imap"], user, PASSWORD, md,
            "user = %s\n" % deliver_as if deliver_as else "",
            "true" if delete else "false"))
    cp = run(["getmail", "--rcfile", str(rc), "--getmaildir", str(workdir)], workdir)
    new = sorted(set(os.listdir(md / "new")) - before)
    return cp, [md / "new" / n for n in new]


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["loopback-cleartext", "imaps"])
def test_getmail_imap(v, user, tmp_path, maildir, implicit_tls):
    need("getmail")
    for i in range(5):
        deliver(v, simple("gm %d" % i, "getmail body %d\r\n" % i, to=user), user)
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")
    c.logout()
    cp, got = run_getmail(v, user, tmp_path / "g1", maildir, delete=False,
                          implicit_tls=implicit_tls)
    check(cp, "getmail")
    assert subjects(got) == ["gm %d" % i for i in range(5)], cp.stdout + cp.stderr
    # delete = false: all still there, flags untouched (getmail fetches with PEEK)
    flags = imap_flags(v, user)
    assert sorted(flags) == ["gm %d" % i for i in range(5)]
    assert flags["gm 1"] == {"\\Flagged"}, flags
    assert all("\\Seen" not in f for f in flags.values()), flags
    cp, got = run_getmail(v, user, tmp_path / "g2", maildir, delete=True,
                          implicit_tls=implicit_tls)
    check(cp, "getmail (delete)")
    assert len(got) == 5, cp.stdout + cp.stderr
    assert imap_subjects(v, user) == []


# ---- fetchmail -----------------------------------------------------------------------

def run_fetchmail(v, user, workdir, keep, ssl_mode="imaps"):
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    script = workdir / "mda.sh"
    script.write_text("#!/bin/sh\nn=$(ls '%s' | wc -l)\ncat > '%s'/$(printf '%%04d' \"$n\")\n"
                      % (out, out))
    port = v.ports["imaps" if ssl_mode == "imaps" else "imap"]
    tls = {"imaps": "ssl sslproto 'TLS1.2+' no sslcertck",
           "stls": "sslproto 'TLS1.2+' no sslcertck",
           "plain": "sslproto ''"}[ssl_mode]
    rc = workdir / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        "set invisible\n"
        "poll 127.0.0.1 service %d protocol IMAP auth password timeout 30\n"
        "  user \"%s\" there with password \"%s\" is \"root\" here\n"
        "  %s\n"
        "  fetchall %s no rewrite no stripcr no mimedecode\n"
        "  mda \"/bin/sh %s\"\n" % (port, user, PASSWORD, tls,
                                    "keep" if keep else "nokeep", script))
    rc.chmod(0o600)
    cp = run(["fetchmail", "-f", str(rc), "--nosyslog", "-v",
              "--pidfile", str(workdir / "fetchmail.pid"), "-i", str(workdir / "fetchids")],
             workdir, env={"FETCHMAILHOME": str(workdir), "FETCHMAILUSER": "root", "LC_ALL": "C"})
    return cp, sorted(out.iterdir())


@pytest.mark.parametrize("ssl_mode", ["imaps", "stls"])
def test_fetchmail_imap(v, user, tmp_path, ssl_mode):
    need("fetchmail")
    msgs = [simple("fm %d" % i, "fetchmail body %d\r\n" % i, to=user) for i in range(4)]
    fill(v, user, msgs)
    cp, got = run_fetchmail(v, user, tmp_path / "f1", keep=True, ssl_mode=ssl_mode)
    check(cp, "fetchmail")
    assert [f.read_bytes() for f in got] == msgs, cp.stdout + cp.stderr
    assert imap_subjects(v, user) == ["fm %d" % i for i in range(4)]
    cp, got = run_fetchmail(v, user, tmp_path / "f2", keep=False, ssl_mode=ssl_mode)
    check(cp, "fetchmail (nokeep)")
    assert [f.read_bytes() for f in got] == msgs, cp.stdout + cp.stderr
    assert imap_subjects(v, user) == []
    # nothing left: fetchmail exits 1 ("no mail")
    cp, got = run_fetchmail(v, user, tmp_path / "f3", keep=True, ssl_mode=ssl_mode)
    assert cp.returncode == 1 and got == [], cp.stdout + cp.stderr
