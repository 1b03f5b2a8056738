"""A full disk (issue 7, item 6b; SECURITY-CASES "Disk full"): the data dir on a small
tmpfs that a filler file fills to the last byte. SMTP answers 452 4.3.1, IMAP APPEND
NO [OVERQUOTA], POP3 -ERR [SYS/TEMP] for what needs space; reading goes on; the server
stays up and, once space is freed, takes mail again by itself, with nothing
acknowledged lost. Needs root (mount)."""
import os
import poplib
import re
import shutil
import smtplib
import subprocess
import tempfile

import pytest

from conftest import Valija
from imap_util import PASSWORD, simple

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mount -t tmpfs)")

SIZE_MB = 24


@pytest.fixture
def full_disk():
    """(valija on a tmpfs data dir, fill(), free()): fill() takes every free byte."""
    mnt = tempfile.mkdtemp(prefix="valija-full-", dir="/tmp")
    cp = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0755" % SIZE_MB, "tmpfs", mnt],
                        capture_output=True, text=True)
    if cp.returncode != 0:
        os.rmdir(mnt)
        pytest.skip("cannot mount a tmpfs here: " + cp.stderr.strip())
    v = Valija(mnt)
    filler = os.path.join(mnt, "filler")

    def fill():
        with open(filler, "ab", buffering=0) as f:
            block = b"\0" * 65536
            try:
                while True:
                    f.write(block)
            except OSError:
                pass
            try:  # the last partial block
                while True:
                    f.write(b"\0" * 512)
            except OSError:
                pass
        st = os.statvfs(mnt)
        assert st.f_bavail * st.f_frsize < 4096, "the disk is not full"

    def free():
        os.remove(filler)

    try:
        yield v, fill, free
    finally:
        v.discard()
        subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(mnt, ignore_errors=True)


def send(v, rcpt, subject, size=2000):
    """The SMTP reply to the end of data (or the first refusal) as (code, text)."""
    body = ("x" * 70 + "\r\n") * (size // 72 + 1)
    msg = "From: a@example.net\r\nTo: %s\r\nSubject: %s\r\n\r\n%s" % (rcpt, subject, body)
    with smtplib.SMTP("127.0.0.1", v.ports["smtp"], timeout=30) as s:
        s.ehlo("client.example")
        code, text = s.mail("a@example.net")
        if code != 250:
            return code, text.decode()
        code, text = s.rcpt(rcpt)
        if code != 250:
            return code, text.decode()
        code, text = s.data(msg.encode())
        return code, text.decode()


def test_full_disk_refuses_writes_keeps_reading_and_recovers(full_disk):
    v, fill, free = full_disk
    v.start()
    v.add_user("ana@localhost", password=PASSWORD)
    for i in range(5):
        assert send(v, "ana@localhost", "before-%d" % i)[0] == 250
    fill()

    # SMTP: a temporary failure (the sender retries), never a 5xx bounce.
    for size in (2000, 200000):
        code, text = send(v, "ana@localhost", "while-full-%d" % size, size)
        assert code == 452 and text.startswith("4.3.1"), (code, text)
    v.wait_log(r"event=\S+ .*(No space left on device|disk full|ENOSPC)")

    # IMAP: reading goes on; APPEND is refused with OVERQUOTA; the session survives.
    c = v.imap(user="ana@localhost", password=PASSWORD)
    typ, data = c.select("INBOX")
    assert typ == "OK" and int(data[0]) == 5, data
    typ, data = c.fetch("1:5", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"before-0" in data[0][1], data
    typ, data = c.append("INBOX", None, None, simple("appended while full", "y" * 200000 + "\r\n"))
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], (typ, data)
    typ, data = c.noop()
    assert typ == "OK"
    typ, data = c.search(None, "ALL")
    assert typ == "OK" and data[0].split() == [b"1", b"2", b"3", b"4", b"5"], data

    # POP3: RETR works while the disk is full.
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=30)
    p.user("ana@localhost")
    p.pass_(PASSWORD)
    assert len(p.list()[1]) == 5
    assert b"Subject: before-3" in b"\r\n".join(p.retr(4)[1])
    # DELE then QUIT: the deletion is committed (it may fit in the database's free pages)
    # or refused with -ERR [SYS/TEMP] and nothing deleted, never half of it.
    p.dele(5)
    try:
        p.quit()
        deleted = True
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR [SYS/TEMP]"), e
        deleted = False
    # IMAP flag changes: done or NO, and the session goes on either way.
    typ, data = c.store("1", "+FLAGS", "(\\Flagged)")
    assert typ in ("OK", "NO"), (typ, data)
    if typ == "NO":
        assert b"[OVERQUOTA]" in data[0] or b"[UNAVAILABLE]" in data[0], data
    typ, data = c.noop()
    assert typ == "OK"
    c.logout()
    assert v.proc.poll() is None, "the server went down"

    # Space comes back: mail flows again without a restart.
    free()
    assert send(v, "ana@localhost", "after")[0] == 250
    c = v.imap(user="ana@localhost", password=PASSWORD)
    typ, data = c.append("INBOX", None, None, simple("appended after"))
    assert typ == "OK", data
    typ, data = c.select("INBOX")
    assert int(data[0]) == (6 if deleted else 7), data
    c.logout()
    subjects = [re.search(rb"(?m)^Subject: (.*)\r$", b).group(1).decode() for b in v.bodies("ana@localhost")]
    kept = 4 if deleted else 5
    assert subjects[:kept] == ["before-%d" % i for i in range(kept)], subjects
    assert "after" in subjects and "appended after" in subjects
    assert not any(s.startswith("while-full") or s == "appended while full" for s in subjects), subjects
