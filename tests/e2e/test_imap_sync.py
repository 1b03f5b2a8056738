"""IMAP sessions seeing each other (RFC 9051 §5.2, §7.4-7.5): EXISTS/RECENT after a
delivery, FETCH FLAGS after another session's STORE, EXPUNGE held back during commands
that use sequence numbers, \\Recent for exactly one session, IDLE (RFC 2177), CONDSTORE
and QRESYNC (RFC 7162), and POP3 and IMAP on one maildrop.

Two sessions on one account are two sockets; a test waits on responses (the next NOOP,
or the untagged line during IDLE), never on time.
"""
import os
import poplib
import re
import signal
import threading
import time

import pytest

from conftest import insecure_context
from imap_util import (PASSWORD, appenduid, deliver, fetches, fill, new_account, raw,
                       session, simple)


@pytest.fixture(scope="module")
def v(shared_valija):
    return shared_valija


@pytest.fixture
def user(v):
    return new_account(v)


def two(v, user, mailbox="INBOX", select=("SELECT", "SELECT")):
    a = session(v, user)
    b = session(v, user)
    a.ok("%s %s" % (select[0], mailbox))
    b.ok("%s %s" % (select[1], mailbox))
    return a, b


def recent_flag(c, n):
    f = fetches(c.ok("FETCH %d FLAGS" % n))
    return "\\Recent" in f[n]["FLAGS"]


def highestmodseq(untagged):
    for u in untagged:
        m = re.search(r"\[HIGHESTMODSEQ (\d+)\]", u)
        if m:
            return int(m.group(1))
    raise AssertionError("no HIGHESTMODSEQ in %r" % untagged)


def uidvalidity(untagged):
    for u in untagged:
        m = re.search(r"\[UIDVALIDITY (\d+)\]", u)
        if m:
            return int(m.group(1))
    raise AssertionError("no UIDVALIDITY in %r" % untagged)


# ---- new mail, flags, expunges between sessions --------------------------------------

def test_delivery_shows_as_exists_and_recent_on_noop(v, user):
    """RFC 9051 §7.4.1 EXISTS; RFC 3501 §7.3.2 RECENT."""
    fill(v, user, [simple("old")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    deliver(v, simple("new", to=user), user)
    u = c.ok("NOOP")
    # RECENT is the count: "old" was never seen by a session either
    assert "* 2 EXISTS" in u and "* 2 RECENT" in u, u
    assert c.ok("NOOP") == []  # said once
    c.logout()


def test_append_by_other_session_shows(v, user):
    a, b = two(v, user)
    appenduid(a.append("INBOX", simple("from a")))
    u = b.ok("NOOP")
    assert "* 1 EXISTS" in u, u
    u = a.ok("NOOP")
    assert "* 1 EXISTS" in u or u == [], u
    a.logout()
    b.logout()


def test_store_shows_as_fetch_flags_in_other_session(v, user):
    """RFC 9051 §7.5.1: a flag change by another session comes as an untagged FETCH."""
    fill(v, user, [simple("a"), simple("b")])
    a, b = two(v, user)
    a.ok("STORE 2 +FLAGS.SILENT (\\Flagged $Label1)")
    f = fetches(b.ok("NOOP"))
    assert list(f) == [2], f
    assert {"\\Flagged", "$Label1"} <= set(f[2]["FLAGS"]), f
    a.logout()
    b.logout()


def test_expunge_shows_in_other_session(v, user):
    fill(v, user, [simple("a"), simple("b"), simple("c")])
    a, b = two(v, user)
    a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    u = b.ok("NOOP")
    assert "* 2 EXPUNGE" in u, u
    f = fetches(b.ok("FETCH 1:* UID"))
    assert {n: d["UID"] for n, d in f.items()} == {1: 1, 2: 3}
    a.logout()
    b.logout()


@pytest.mark.parametrize("line", ["FETCH 1 FLAGS", "STORE 1 +FLAGS.SILENT (\\Seen)",
                                  "SEARCH ALL"])
def test_no_expunge_during_sequence_number_commands(v, user, line):
    """RFC 9051 §7.5.1 (RFC 3501 §7.4.1): no EXPUNGE while FETCH, STORE or SEARCH by
    sequence number runs; the next NOOP brings it."""
    fill(v, user, [simple("a"), simple("b"), simple("c")])
    a, b = two(v, user)
    a.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    u, st = b.cmd(line)
    assert st.startswith("OK"), st
    assert not [x for x in u if x.endswith(" EXPUNGE")], u
    if line.startswith("SEARCH"):
        assert "* SEARCH 1 2 3" in u, u  # still the numbers the client knows
    u = b.ok("NOOP")
    assert "* 3 EXPUNGE" in u, u
    a.logout()
    b.logout()


def test_expunge_allowed_during_uid_fetch(v, user):
    """RFC 9051 §7.5.1: UID commands may carry EXPUNGE responses."""
    fill(v, user, [simple("a"), simple("b")])
    a, b = two(v, user)
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    u = b.ok("UID FETCH 1:* FLAGS")
    assert "* 1 EXPUNGE" in u, u
    a.logout()
    b.logout()


def test_recent_goes_to_exactly_one_session(v, user):
    """RFC 3501 §2.3.2: \\Recent is set for one session only."""
    a, b = two(v, user)
    deliver(v, simple("new", to=user), user)
    ua = a.ok("NOOP")
    ub = b.ok("NOOP")
    assert "* 1 EXISTS" in ua and "* 1 EXISTS" in ub, (ua, ub)
    ra, rb = recent_flag(a, 1), recent_flag(b, 1)
    assert ra != rb, (ra, rb, ua, ub)
    assert ("* 1 RECENT" in ua) == ra and ("* 1 RECENT" in ub) == rb, (ua, ub)
    # a third session selecting afterwards does not get it either
    c = session(v, user)
    u = c.ok("SELECT INBOX")
    assert "* 0 RECENT" in u, u
    for x in (a, b, c):
        x.logout()


def test_deleted_mailbox_ends_selection(v, user):
    """Another session deletes the selected mailbox: the session cannot go on with it."""
    a = session(v, user)
    a.ok("CREATE Doomed")
    a.ok("SELECT Doomed")
    b = session(v, user)
    b.ok("DELETE Doomed")
    u, st = a.cmd("NOOP")
    assert any(x.startswith("* BYE") for x in u) or st.startswith(("NO", "BAD", "OK")), (u, st)
    b.logout()


# ---- IDLE ----------------------------------------------------------------------------

class IdleReader(threading.Thread):
    """Reads untagged responses during IDLE and notes when each arrived."""

    def __init__(self, c, until):
        super().__init__(daemon=True)
        self.c = c
        self.until = until
        self.got = []
        self.error = None

    def run(self):
        try:
            while True:
                r = self.c.response(timeout=20)
                self.got.append((time.monotonic(), r))
                if re.search(self.until, r):
                    return
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


def start_idle(c):
    c.send(b"i IDLE\r\n")
    assert c.response() == "+ idling"


def stop_idle(c):
    c.send(b"DONE\r\n")
    u, st = c.collect("i")
    assert st == "OK IDLE terminated", st
    return u


def test_idle_done(v, user):
    """RFC 2177 §3: IDLE answers with a continuation; DONE ends it with the tagged OK."""
    c = session(v, user)
    c.ok("SELECT INBOX")
    start_idle(c)
    assert stop_idle(c) == []
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    c.logout()


def test_idle_in_authenticated_state(v, user):
    c = session(v, user)
    start_idle(c)
    assert stop_idle(c) == []
    c.logout()


def test_idle_sees_delivery_within_a_second(v, user):
    """RFC 2177: new mail reaches an idling client as it arrives; measured from the
    SMTP 250 to the untagged EXISTS."""
    fill(v, user, [simple("old")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    start_idle(c)
    r = IdleReader(c, r"^\* 2 EXISTS$")
    r.start()
    _, _, t_250 = deliver(v, simple("pushed", to=user), user)
    r.join(timeout=20)
    assert not r.is_alive() and r.error is None, (r.error, r.got)
    t, line = r.got[-1]
    assert line == "* 2 EXISTS"
    assert t - t_250 < 1.0, "EXISTS %.2f s after the 250" % (t - t_250)
    u = stop_idle(c)
    assert not [x for x in u if x.endswith("EXISTS")], u  # not said twice
    c.logout()


def test_idle_sees_other_sessions_changes(v, user):
    fill(v, user, [simple("a"), simple("b")])
    a, b = two(v, user)
    start_idle(b)
    r = IdleReader(b, r"^\* 1 EXPUNGE$")
    r.start()
    a.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    r.join(timeout=20)
    assert not r.is_alive() and r.error is None, (r.error, r.got)
    lines = [l for _, l in r.got]
    assert [l for l in lines if l.startswith("* 2 FETCH") and "\\Flagged" in l] or \
        [l for l in lines if l.startswith("* 1 FETCH") and "\\Flagged" in l], lines
    stop_idle(b)
    f = fetches(b.ok("FETCH 1:* (UID FLAGS)"))
    assert list(f) == [1] and f[1]["UID"] == 2
    a.logout()
    b.logout()


def test_idle_across_io_threads_and_drain(valija_factory):
    """Connections spread over several I/O threads (io_threads = 3): a delivery wakes
    every idling session of the account whatever its thread, the session limit counts
    them all, and SIGTERM ends each one with BYE. The threads carry their names (top -H,
    ps -L), the main one the process's."""
    v = valija_factory()
    v.start(config="""
hostname = "localhost"
domains = ["localhost"]
io_threads = 3
[[listener]]
address = "127.0.0.1"
port = $imap_port
role = "imap"
[[listener]]
address = "127.0.0.1"
port = $smtp_port
role = "smtp"
[limits]
imap_sessions_per_account = 7
""")
    assert v.wait_log(r"event=ready\b.* io_threads=3\b")
    task = "/proc/%d/task" % v.proc.pid
    names = [open(os.path.join(task, t, "comm")).read().strip() for t in os.listdir(task)]
    assert names.count("valija") == 1 and names.count("writer") == 1, sorted(names)
    assert {"io-1", "io-2", "imap-0", "checkpointer", "worker-1", "argon2-1", "blob-io-7"} <= set(names), names
    user = new_account(v)
    idlers = []
    for _ in range(6):  # two on each thread
        c = session(v, user)
        c.ok("SELECT INBOX")
        start_idle(c)
        idlers.append(c)
    busy = session(v, user)  # the seventh: at the limit, not idling
    over = raw(v)
    over.greeting()
    st = over.cmd('LOGIN "%s" "%s"' % (user, PASSWORD))[1]
    assert st.startswith("NO [LIMIT]"), st
    readers = [IdleReader(c, r"^\* 1 EXISTS$") for c in idlers]
    for r in readers:
        r.start()
    deliver(v, simple("to all", to=user), user)
    for r in readers:
        r.join(timeout=20)
        assert not r.is_alive() and r.error is None, (r.error, r.got)
    busy.ok("SELECT INBOX")
    v.signal(signal.SIGTERM)
    for c in idlers + [busy]:
        rest = c.closed_by_peer().decode()
        assert "* BYE Server shutting down" in rest, rest
    assert v.wait_exit() == 0


# ---- CONDSTORE (RFC 7162 §3.1) -------------------------------------------------------

def test_condstore_changedsince(v, user):
    fill(v, user, [simple(s) for s in "abc"])
    a, b = two(v, user)
    u = a.ok("SELECT INBOX (CONDSTORE)")
    m0 = highestmodseq(u)
    b.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
    f = fetches(a.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m0))
    assert list(f) == [2], f
    assert f[2]["MODSEQ"][0] > m0 and "\\Seen" in f[2]["FLAGS"], f
    # HIGHESTMODSEQ moved with it
    u = a.ok("STATUS Sent (HIGHESTMODSEQ)")  # any command; the selected one updates
    m1 = highestmodseq(a.ok("SELECT INBOX (CONDSTORE)"))
    assert m1 >= f[2]["MODSEQ"][0]
    a.logout()
    b.logout()


def test_condstore_fetch_modseq(v, user):
    """RFC 7162 §3.1.4.1: FETCH MODSEQ; every message has one."""
    fill(v, user, [simple(s) for s in "ab"])
    c = session(v, user)
    hm = highestmodseq(c.ok("SELECT INBOX (CONDSTORE)"))
    f = fetches(c.ok("FETCH 1:* (MODSEQ)"))
    assert all(0 < d["MODSEQ"][0] <= hm for d in f.values()), (f, hm)
    c.logout()


def test_condstore_unchangedsince_modified(v, user):
    """RFC 7162 §3.1.3: STORE (UNCHANGEDSINCE m) on a message changed since m fails for
    it: OK [MODIFIED set], the others are stored."""
    fill(v, user, [simple(s) for s in "abc"])
    a, b = two(v, user)
    m0 = highestmodseq(a.ok("SELECT INBOX (CONDSTORE)"))
    b.ok("STORE 2 +FLAGS.SILENT ($Label1)")
    u, st = a.cmd("STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % m0)
    assert st.startswith("OK [MODIFIED 2]"), (u, st)
    f = fetches(a.ok("FETCH 1:3 FLAGS"))
    assert "\\Flagged" in f[1]["FLAGS"] and "\\Flagged" in f[3]["FLAGS"], f
    assert "\\Flagged" not in f[2]["FLAGS"], f
    a.logout()
    b.logout()


def test_condstore_uid_unchangedsince_zero(v, user):
    """RFC 7162 §3.1.3: UNCHANGEDSINCE 0 always fails."""
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX (CONDSTORE)")
    u, st = c.cmd("UID STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    assert st.startswith("OK [MODIFIED 1]"), (u, st)
    c.logout()


def test_condstore_search_modseq(v, user):
    """RFC 7162 §3.1.5: SEARCH MODSEQ and the (MODSEQ n) in the result."""
    fill(v, user, [simple(s) for s in "abc"])
    c = session(v, user)
    m0 = highestmodseq(c.ok("SELECT INBOX (CONDSTORE)"))
    c.ok("STORE 3 +FLAGS.SILENT (\\Answered)")
    u = c.ok("SEARCH MODSEQ %d" % (m0 + 1))
    assert len(u) == 1 and re.fullmatch(r"\* SEARCH 3 \(MODSEQ \d+\)", u[0]), u
    c.logout()


# ---- QRESYNC (RFC 7162 §3.2) ---------------------------------------------------------

def test_qresync_select_reports_vanished_and_changes(v, user):
    fill(v, user, [simple(s) for s in "abcde"])
    c = session(v, user)
    c.ok("ENABLE QRESYNC")
    u = c.ok("SELECT INBOX")
    uv, m0 = uidvalidity(u), highestmodseq(u)
    c.ok("UNSELECT")
    # another session changes 2 and removes 3 and 4
    o = session(v, user)
    o.ok("SELECT INBOX")
    o.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")
    o.ok("STORE 3:4 +FLAGS.SILENT (\\Deleted)")
    o.ok("EXPUNGE")
    o.logout()
    u = c.ok("SELECT INBOX (QRESYNC (%d %d))" % (uv, m0))
    assert "* VANISHED (EARLIER) 3:4" in u, u
    f = fetches(u)
    assert list(f) == [2], u
    assert f[2]["UID"] == 2 and "\\Flagged" in f[2]["FLAGS"] and f[2]["MODSEQ"][0] > m0, f
    assert "* 3 EXISTS" in u, u
    c.logout()


def test_qresync_uid_fetch_vanished(v, user):
    """RFC 7162 §3.2.6: UID FETCH ... (CHANGEDSINCE m VANISHED)."""
    fill(v, user, [simple(s) for s in "abcd"])
    c = session(v, user)
    c.ok("ENABLE QRESYNC")
    m0 = highestmodseq(c.ok("SELECT INBOX"))
    o = session(v, user)
    o.ok("SELECT INBOX")
    o.ok("STORE 4 +FLAGS.SILENT (\\Seen)")
    o.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    o.ok("EXPUNGE")
    o.logout()
    u = c.ok("UID FETCH 1:* FLAGS (CHANGEDSINCE %d VANISHED)" % m0)
    assert "* VANISHED (EARLIER) 1" in u, u
    f = fetches(u)
    assert [d["UID"] for d in f.values()] == [4], u
    c.logout()


def test_qresync_expunge_is_vanished(v, user):
    """RFC 7162 §3.2.10: with QRESYNC enabled, expunges come as VANISHED, not EXPUNGE."""
    fill(v, user, [simple(s) for s in "abc"])
    c = session(v, user)
    c.ok("ENABLE QRESYNC")
    c.ok("SELECT INBOX")
    c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    u = c.ok("EXPUNGE")
    assert u == ["* VANISHED 2"], u
    c.logout()


def test_qresync_select_bad_without_enable(v, user):
    """RFC 7162 §3.2.5: the QRESYNC parameter without ENABLE QRESYNC is BAD."""
    c = session(v, user)
    u, st = c.cmd("SELECT INBOX (QRESYNC (1 1))")
    assert st.startswith("BAD"), st
    c.logout()


# ---- POP3 and IMAP on one maildrop ---------------------------------------------------

def pop3_login(v, user):
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    p.user(user)
    p.pass_(PASSWORD)
    return p


def test_pop3_delete_expunges_in_imap(v, user):
    fill(v, user, [simple(s) for s in "abc"])
    c = session(v, user)
    c.ok("SELECT INBOX")
    p = pop3_login(v, user)
    assert p.stat()[0] == 3
    p.dele(2)
    p.quit()
    u = c.ok("NOOP")
    assert "* 2 EXPUNGE" in u, u
    f = fetches(c.ok("FETCH 1:* UID"))
    assert {n: d["UID"] for n, d in f.items()} == {1: 1, 2: 3}
    c.logout()


def test_imap_expunge_shows_in_pop3(v, user):
    fill(v, user, [simple(s) for s in "abc"])
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    p = pop3_login(v, user)
    assert p.stat()[0] == 2
    uidls = p.uidl()[1]
    assert len(uidls) == 2
    resp, lines, _ = p.retr(1)
    assert b"Subject: b" in lines
    p.quit()
    c.logout()


def test_pop3_retr_seen_or_not_consistently(v, user):
    """A message retrieved over POP3 is the same message over IMAP (same size)."""
    fill(v, user, [simple("a", "x" * 500)])
    p = pop3_login(v, user)
    size = p.list(1).split()[2]
    p.quit()
    c = session(v, user)
    c.ok("EXAMINE INBOX")
    f = fetches(c.ok("FETCH 1 RFC822.SIZE"))
    assert f[1]["RFC822.SIZE"] == int(size)
    c.logout()
