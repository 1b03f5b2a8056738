"""Nothing acknowledged is lost: kill -9 under load, restart, check every 250."""
import os
import random
import re
import threading

from conftest import RawSmtp, dot_stuff, make_message, split_trace

CLIENTS = 4
SUBJECT_RE = re.compile(rb"^Subject: (dur-\S+)\r$", re.M)
TRACE_IN_RECEIVED = re.compile(rb"\(valija\) with \S+ id ([A-Za-z0-9]+)")


class Load:
    """Concurrent senders; records what was sent and what got a 250."""

    def __init__(self, v, round_, rng):
        self.v = v
        self.round = round_
        self.rng = rng
        self.sent = {}    # id -> (message bytes, [recipient accounts])
        self.acked = {}   # id -> trace id from the 250 reply
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(i, rng.randrange(1 << 30)),
                                         daemon=True) for i in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()

    def body(self, rng, mid):
        lines = ["id %s" % mid]
        for _ in range(rng.randrange(2, 60)):
            kind = rng.random()
            if kind < 0.1:
                lines.append("." * rng.randrange(1, 3) + "dotted %d" % rng.randrange(1000))
            elif kind < 0.15:
                lines.append("")
            else:
                n = rng.randrange(1, 120)
                lines.append("".join(rng.choice("abcdefghij KLMNOP0123456789-=:")
                                     for _ in range(n)))
        lines.append("end %s" % mid)
        return ("\r\n".join(lines) + "\r\n").encode()

    def run(self, idx, seed):
        rng = random.Random(seed)
        # client 3 sends to two accounts (one shared body); client 2 uses BDAT
        rcpts = ["demo@localhost", "ana@localhost"] if idx == 3 else ["demo@localhost"]
        use_bdat = idx == 2
        n = 0
        try:
            c = RawSmtp("127.0.0.1", self.v.ports["smtp"], timeout=60)
            c.greeting()
            c.ehlo("load%d.example" % idx)
            while not self.stop.is_set():
                mid = "dur-r%d-c%d-n%d-%08x" % (self.round, idx, n, rng.randrange(1 << 32))
                n += 1
                msg = make_message(mid, self.body(rng, mid))
                with self.cond:
                    self.sent[mid] = (msg, rcpts)
                c.expect("MAIL FROM:<load%d@example.org>" % idx, "250 2.1.0")
                for r in rcpts:
                    c.expect("RCPT TO:<%s>" % r, "250 2.1.5")
                if use_bdat:
                    half = len(msg) // 2
                    c.send(b"BDAT %d\r\n" % half + msg[:half])
                    code, _, full = c.reply()
                    assert code == 250, full
                    c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
                else:
                    c.expect("DATA", "354")
                    c.send(dot_stuff(msg))
                code, _, full = c.reply()
                m = re.fullmatch(r"250 2\.0\.0 Ok: delivered as (\S+)", full)
                if m:
                    with self.cond:
                        self.acked[mid] = m.group(1)
                        self.cond.notify_all()
                else:
                    with self.cond:
                        self.errors.append(full)
                        self.cond.notify_all()
                    return
        except (OSError, EOFError) as e:
            if not self.stop.is_set():
                with self.cond:
                    self.errors.append("client %d: %r" % (idx, e))
                    self.cond.notify_all()
        except AssertionError as e:
            if not self.stop.is_set():
                with self.cond:
                    self.errors.append("client %d: %s" % (idx, e))
                    self.cond.notify_all()

    def wait_acked(self, count, timeout=120):
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.acked) >= count or self.errors,
                                    timeout=timeout)
            assert not self.errors, self.errors
            assert ok, "only %d acknowledged within %ds" % (len(self.acked), timeout)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a load client did not stop"


def stored_by_id(v, account):
    res = {}
    for m in v.messages(account):
        raw = v.message(account, m["uid"])
        assert len(raw) == m["size"], (account, m, len(raw))
        head, body = split_trace(raw)
        sm = SUBJECT_RE.search(body)
        assert sm, "stored message without a test id: %r" % raw[:500]
        mid = sm.group(1).decode()
        assert mid not in res, "message %s stored twice in %s" % (mid, account)
        tm = TRACE_IN_RECEIVED.search(head)
        res[mid] = {"uid": m["uid"], "body": body, "trace": m["trace"],
                    "received_trace": tm.group(1).decode() if tm else None}
    return res


def check(v, sent, acked):
    accounts = {"demo@localhost", "ana@localhost"}
    stored = {a: stored_by_id(v, a) for a in accounts}
    missing = []
    for mid, trace in acked.items():
        msg, rcpts = sent[mid]
        for r in rcpts:
            s = stored[r].get(mid)
            if s is None:
                missing.append((mid, r))
                continue
            assert s["body"] == msg, "acknowledged %s in %s is not byte-exact" % (mid, r)
            assert s["trace"] == trace, (mid, r, s["trace"], trace)
            assert s["received_trace"] == trace, (mid, r, s)
    assert not missing, "%d acknowledged messages lost, e.g. %s (of %d acked)" % (
        len(missing), missing[:5], len(acked))
    # whatever is stored (acked or not) is whole, and in every mailbox it was sent to
    for a in accounts:
        for mid, s in stored[a].items():
            assert mid in sent, "unknown message %s in %s" % (mid, a)
            msg, rcpts = sent[mid]
            assert a in rcpts, (mid, a)
            assert s["body"] == msg, "partial or corrupt message %s in %s" % (mid, a)
    return stored


def test_kill9_under_load_loses_nothing_acknowledged(valija_factory):
    seed = int(os.environ.get("VALIJA_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    v = valija_factory()
    v.start()
    v.add_user("ana@localhost")
    all_sent, all_acked = {}, {}
    for round_ in range(2):
        load = Load(v, round_, rng)
        threshold = rng.randrange(20, 200)
        load.start()
        try:
            load.wait_acked(threshold)
        finally:
            v.kill9()
            load.join()
        assert v.returncode == -9, v.returncode
        all_sent.update(load.sent)
        all_acked.update(load.acked)
        assert len(load.acked) >= threshold
        v.start()  # same data dir, any free ports
        stored = check(v, all_sent, all_acked)
        print("seed=%d round=%d sent=%d acked=%d stored(demo)=%d" % (
            seed, round_, len(all_sent), len(all_acked), len(stored["demo@localhost"])))
    # the store still works after the crashes: next UID is above every old one
    uids = [m["uid"] for m in v.messages("demo@localhost")]
    assert len(uids) == len(set(uids))
    msg = make_message("after-crash", "x\r\n")
    with v.raw() as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<demo@localhost>", "250 2.1.5")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        assert c.reply()[2].startswith("250 2.0.0")
    after = v.messages("demo@localhost")
    assert after[-1]["uid"] > max(uids)
    assert split_trace(v.message("demo@localhost", after[-1]["uid"]))[1] == msg
    assert v.stop() == 0


def test_damaged_or_missing_body_is_reported_and_serving_goes_on(valija):
    """SECURITY-CASES "Blob file missing or corrupted": a message whose body file is cut
    short or gone gets a clear error (IMAP NO [SERVERBUG], POP3 -ERR) for that message;
    the others are served and the server stays up."""
    import glob
    import hashlib
    import poplib
    v = valija
    user = "dora@localhost"
    v.add_user(user, "dora-pass-123")
    big = make_message("big", "x" * 76 + "\r\n" * 1, to=user)
    big = big + b"".join(b"%076d\r\n" % i for i in range(5000))  # ~390 KB: a body file of its own
    small = make_message("small", "hello\r\n", to=user)
    for msg in (big, small):
        with RawSmtp("127.0.0.1", v.ports["smtp"]) as c:
            c.greeting()
            c.ehlo()
            c.expect("MAIL FROM:<a@example.net>", "250")
            c.expect("RCPT TO:<%s>" % user, "250")
            c.expect("DATA", "354")
            c.send(dot_stuff(msg))
            assert c.reply()[0] == 250
    digest = hashlib.sha256(big).hexdigest()
    (path,) = glob.glob(os.path.join(str(v.data), "blobs", digest[:2], digest))
    for damage in ("truncate", "remove"):
        if damage == "truncate":
            with open(path, "r+b") as f:
                f.truncate(1000)
        else:
            os.remove(path)
        c = v.imap(user, "dora-pass-123")
        c.select("INBOX")
        typ, data = c.fetch("1", "(BODY.PEEK[])")
        assert typ == "NO" and b"SERVERBUG" in data[0], (typ, data)
        typ, data = c.fetch("2", "(BODY.PEEK[])")
        assert typ == "OK" and b"hello" in data[0][1], (typ, data)
        c.logout()
        p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
        p.user(user)
        p.pass_("dora-pass-123")
        try:
            p.retr(1)
            raise AssertionError("RETR of a damaged message succeeded")
        except poplib.error_proto as e:
            assert b"-ERR" in e.args[0], e
        assert b"hello" in b"\n".join(p.retr(2)[1])
        p.quit()
        assert v.running()


# ---- kill -9 during IMAP APPEND, EXPUNGE, MOVE and POP3 QUIT --------------------------

class MailboxLoad:
    """One thread per kind of change, each on its own account; `acked` holds, per kind,
    the subjects of the changes the server confirmed (tagged OK, POP3 +OK to QUIT)."""

    KINDS = ("append", "move", "expunge", "pop3")

    def __init__(self, v, accounts, prefill, rng):
        self.v = v
        self.accounts = accounts      # kind -> address
        self.prefill = prefill        # kind -> [(uid, subject)] (not for append)
        self.rng = rng
        self.sent = {}                # append: subject -> message bytes
        self.acked = {k: [] for k in self.KINDS}
        self.cond = threading.Condition()
        self.killed = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self.guard, args=(k,), daemon=True)
                        for k in self.KINDS]

    def start(self):
        for t in self.threads:
            t.start()

    def guard(self, kind):
        try:
            getattr(self, "run_" + kind)()
        except Exception as e:  # noqa: BLE001 (a failure before the kill is the test's)
            if not self.killed.is_set():
                with self.cond:
                    self.errors.append("%s: %r" % (kind, e))
                    self.cond.notify_all()

    def ack(self, kind, subject):
        with self.cond:
            self.acked[kind].append(subject)
            self.cond.notify_all()

    def run_append(self):
        from imap_util import PASSWORD, appenduid, session
        c = session(self.v, self.accounts["append"], PASSWORD)
        n = 0
        while True:
            subject = "dur-append-%d-%08x" % (n, self.rng.randrange(1 << 32))
            n += 1
            msg = make_message(subject, ("x" * self.rng.randrange(1, 3000) + "\r\n").encode())
            with self.cond:
                self.sent[subject] = msg
            appenduid(c.append("INBOX", msg))
            self.ack("append", subject)

    def run_move(self):
        from imap_util import PASSWORD, session
        c = session(self.v, self.accounts["move"], PASSWORD)
        c.ok("SELECT INBOX")
        for uid, subject in self.prefill["move"]:
            c.ok("UID MOVE %d Archive" % uid)
            self.ack("move", subject)

    def run_expunge(self):
        from imap_util import PASSWORD, session
        c = session(self.v, self.accounts["expunge"], PASSWORD)
        c.ok("SELECT INBOX")
        for i, (uid, subject) in enumerate(self.prefill["expunge"]):
            c.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
            c.ok("UID EXPUNGE %d" % uid if i % 2 else "EXPUNGE")
            self.ack("expunge", subject)

    def run_pop3(self):
        from imap_util import PASSWORD
        from test_pop3 import RawPop3
        while True:
            c = RawPop3(self.v.ports["pop3"])
            c.greeting()
            c.login(self.accounts["pop3"], PASSWORD)
            first, lines = c.cmd_multi("TOP 1 0")
            subject = [l for l in lines if l.startswith(b"Subject: ")][0][9:].decode()
            assert c.cmd("DELE 1") == "+OK Message 1 deleted"
            r = c.cmd("QUIT")
            assert r.startswith("+OK ") and "(1 messages deleted" in r, r
            self.ack("pop3", subject)
            c.close()

    def wait_acked(self, counts, timeout=120):
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.errors or all(len(self.acked[k]) >= counts[k] for k in counts),
                timeout=timeout)
            assert not self.errors, self.errors
            assert ok, "acknowledged so far: %r" % {k: len(a) for k, a in self.acked.items()}


def subjects_in(c, mailbox, with_bodies=False):
    """{subject: [uid, ...]} (and {subject: bytes}) of a mailbox over IMAP."""
    from imap_util import fetches
    c.ok("EXAMINE %s" % mailbox)
    items = "UID BODY.PEEK[]" if with_bodies else "UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]"
    out, bodies = {}, {}
    u = c.ok("UID FETCH 1:* (%s)" % items, as_bytes=True)
    for d in fetches(u).values():
        data = d["BODY[]"] if with_bodies else d["BODY[HEADER.FIELDS (SUBJECT)]"]
        m = re.search(rb"^Subject: (\S+)\r$", data, re.M)
        assert m, data[:300]
        subject = m.group(1).decode()
        out.setdefault(subject, []).append(d["UID"])
        if with_bodies:
            bodies[subject] = data
    return out, bodies


def test_kill9_during_append_expunge_move_and_pop3_quit_keeps_every_acknowledged_change(
        valija_factory):
    """SECURITY-CASES Faults "kill -9 at any instant during ... APPEND, EXPUNGE, MOVE,
    POP3 QUIT": after a restart every change the server confirmed is there (appended
    messages byte-exact, expunged and POP3-deleted ones gone, moved ones in the target
    only), nothing is lost or doubled, and the store goes on (STATUS agrees with
    FETCH, new UIDs above the old ones)."""
    from imap_util import PASSWORD, appenduid, new_account, session, simple

    seed = int(os.environ.get("VALIJA_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("seed=%d" % seed)
    v = valija_factory()
    v.start()
    accounts = {k: new_account(v, prefix="dur" + k) for k in MailboxLoad.KINDS}
    prefill = {}
    for kind in ("move", "expunge", "pop3"):
        c = session(v, accounts[kind], PASSWORD)
        prefill[kind] = []
        for i in range(150):
            subject = "dur-%s-%03d" % (kind, i)
            prefill[kind].append((appenduid(c.append("INBOX", simple(subject, "x\r\n")))[1],
                                  subject))
        c.logout()
    load = MailboxLoad(v, accounts, prefill, random.Random(rng.randrange(1 << 30)))
    load.start()
    try:
        load.wait_acked({k: rng.randrange(5, 40) for k in MailboxLoad.KINDS})
    finally:
        load.killed.set()
        v.kill9()
    for t in load.threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a load thread did not stop"
    assert v.returncode == -9, v.returncode
    acked = {k: list(a) for k, a in load.acked.items()}
    v.start()

    # APPEND: every acknowledged one byte-exact, anything else whole, nothing twice
    c = session(v, accounts["append"], PASSWORD)
    have, bodies = subjects_in(c, "INBOX", with_bodies=True)
    for subject in acked["append"]:
        assert subject in have, "acknowledged APPEND %s lost" % subject
    for subject, uids in have.items():
        assert len(uids) == 1, (subject, uids)
        assert bodies[subject] == load.sent[subject], "partial or corrupt %s" % subject
    c.logout()

    # MOVE: acknowledged ones in Archive only; every message exactly once
    c = session(v, accounts["move"], PASSWORD)
    inbox, _ = subjects_in(c, "INBOX")
    archive, _ = subjects_in(c, "Archive")
    for subject in acked["move"]:
        assert subject in archive and subject not in inbox, "acknowledged MOVE of %s" % subject
    for _, subject in prefill["move"]:
        n = len(inbox.get(subject, [])) + len(archive.get(subject, []))
        assert n == 1, "%s is %d times in INBOX and Archive" % (subject, n)
    c.logout()

    # EXPUNGE and POP3 DELE+QUIT: acknowledged ones gone, all but the one in flight kept
    for kind in ("expunge", "pop3"):
        c = session(v, accounts[kind], PASSWORD)
        inbox, _ = subjects_in(c, "INBOX")
        gone = [s for _, s in prefill[kind] if s not in inbox]
        for subject in acked[kind]:
            assert subject not in inbox, "acknowledged %s of %s undone" % (kind, subject)
        assert set(gone) - set(acked[kind]) <= {prefill[kind][len(acked[kind])][1]}, \
            (kind, sorted(set(gone) - set(acked[kind])))
        assert all(len(uids) == 1 for uids in inbox.values()), inbox
        c.logout()

    # the store is consistent and goes on
    for kind, address in accounts.items():
        c = session(v, address, PASSWORD)
        inbox, _ = subjects_in(c, "INBOX")
        st = c.ok("STATUS INBOX (MESSAGES UIDNEXT)")
        m = re.fullmatch(r"\* STATUS INBOX \(MESSAGES (\d+) UIDNEXT (\d+)\)", st[0])
        assert m and int(m.group(1)) == len(inbox), (kind, st, len(inbox))
        old = max([u for uids in inbox.values() for u in uids] + [0])
        assert int(m.group(2)) > old, (kind, st)
        assert appenduid(c.append("INBOX", simple("after-crash")))[1] >= int(m.group(2))
        c.logout()
    p = __import__("test_pop3").RawPop3(v.ports["pop3"])
    p.greeting()
    p.login(accounts["pop3"], PASSWORD)
    assert p.cmd("STAT").startswith("+OK ")
    p.quit()
    assert v.stop() == 0


CHECK_SUMMARY = re.compile(r"^checked (\d+) messages, (\d+) bodies, (\d+) files: (\d+) problems "
                           r"\((\d+) repaired\)$", re.M)


def run_check(v, *args):
    """`valija check ARGS`: (exit code, problem lines, (problems, repaired))."""
    cp = v.cli("check", *args)
    m = CHECK_SUMMARY.search(cp.stdout)
    assert m, "no summary: rc=%d out=%r err=%r" % (cp.returncode, cp.stdout, cp.stderr)
    lines = [l for l in cp.stdout.splitlines() if l and not CHECK_SUMMARY.match(l)]
    assert len(lines) == int(m.group(4)), cp.stdout
    return cp.returncode, lines, (int(m.group(4)), int(m.group(5)))


def send(v, msg, rcpts):
    with RawSmtp("127.0.0.1", v.ports["smtp"]) as c:
        c.greeting()
        c.ehlo()
        c.expect("MAIL FROM:<a@example.net>", "250")
        for r in rcpts:
            c.expect("RCPT TO:<%s>" % r, "250")
        c.expect("DATA", "354")
        c.send(dot_stuff(msg))
        assert c.reply()[0] == 250


def test_damaged_pack_file_is_reported_and_serving_goes_on(valija):
    """SECURITY-CASES "Blob file missing or corrupted", for small messages kept in pack
    files: the message whose bytes were cut off gets NO [SERVERBUG] / -ERR, the one
    before it in the same pack is served, and new mail is delivered and readable."""
    import glob
    import poplib
    v = valija
    user = "pia@localhost"
    v.add_user(user, "pia-pass-123")
    first = make_message("first", "one\r\n", to=user)
    second = make_message("second", "two\r\n" * 20, to=user)
    for msg in (first, second):
        send(v, msg, [user])
    stored = v.bodies(user)
    packs = glob.glob(os.path.join(str(v.data), "packs", "pack-*"))
    assert packs, os.listdir(str(v.data))
    pack = max(packs, key=os.path.getmtime)
    with open(pack, "rb") as f:
        data = f.read()
    at = data.rindex(stored[1][-40:])
    with open(pack, "r+b") as f:
        f.truncate(at)  # the end of the second message is gone
    c = v.imap(user, "pia-pass-123")
    c.select("INBOX")
    typ, data = c.fetch("2", "(BODY.PEEK[])")
    assert typ == "NO" and b"SERVERBUG" in data[0], (typ, data)
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == stored[0], (typ, data)
    c.logout()
    p = poplib.POP3("127.0.0.1", v.ports["pop3"], timeout=20)
    p.user(user)
    p.pass_("pia-pass-123")
    try:
        p.retr(2)
        raise AssertionError("RETR of a damaged message succeeded")
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR"), e
    assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == stored[0]
    p.quit()
    third = make_message("third", "three\r\n", to=user)
    send(v, third, [user])
    c = v.imap(user, "pia-pass-123")
    c.select("INBOX")
    typ, data = c.fetch("3", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1].endswith(third), (typ, data)
    c.logout()
    assert v.running()


def test_body_corrupted_in_place_is_reported(valija):
    """SECURITY-CASES "Blob file missing or corrupted": a body whose bytes changed on disk
    (bit rot, a stray write) but whose size did not gets a clear error (IMAP NO
    [SERVERBUG], POP3 -ERR) rather than being served as the message."""
    import glob
    import hashlib
    v = valija
    user = "cora@localhost"
    v.add_user(user, "cora-pass-123")
    big = make_message("big", b"".join(b"%076d\r\n" % i for i in range(5000)), to=user)
    send(v, big, [user])
    digest = hashlib.sha256(big).hexdigest()
    (path,) = glob.glob(os.path.join(str(v.data), "blobs", digest[:2], digest))
    with open(path, "r+b") as f:
        f.seek(200000)
        f.write(b"X" * 16)
    c = v.imap(user, "cora-pass-123")
    c.select("INBOX")
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    c.logout()
    assert typ == "NO" and b"SERVERBUG" in data[0], (typ, data[0][0] if data else data)


def test_check_reports_then_repairs_a_damaged_data_dir(valija):
    """valija check beside the running server finds a missing body (naming the message),
    stray files and a wrong quota usage; --repair refuses while the server runs (75),
    then, stopped, repairs all but the missing body, which stays for the admin; the
    server serves the good messages and, once that one is expunged, check is clean."""
    import glob
    import hashlib
    import sqlite3
    import time
    v = valija
    user = "dora@localhost"
    v.add_user(user, "dora-pass-123")
    big = make_message("check-big", "x\r\n", to=user) + b"".join(b"%076d\r\n" % i for i in range(5000))
    small = [make_message("check-small-%d" % i, "hello %d\r\n" % i, to=user) for i in range(2)]
    for msg in [big] + small:
        send(v, msg, [user])
    rc, lines, counts = run_check(v)
    assert (rc, lines) == (0, []), lines
    # damage: the big body's file goes, a stray body and a dead writer's temp file
    # appear (old enough not to pass for writes in flight), the usage is set wrong
    digest = hashlib.sha256(big).hexdigest()
    (path,) = glob.glob(os.path.join(str(v.data), "blobs", digest[:2], digest))
    os.remove(path)
    stray_body = b"nobody's body\r\n"
    stray_id = hashlib.sha256(stray_body).hexdigest()
    stray = os.path.join(str(v.data), "blobs", stray_id[:2], stray_id)
    temp = os.path.join(str(v.data), "blobs", "0a", ".tmp.999999999-0123456789.7")
    for p, content in ((stray, stray_body), (temp, b"half")):
        with open(p, "wb") as f:
            f.write(content)
        old = time.time() - 3600
        os.utime(p, (old, old))
    db = sqlite3.connect(os.path.join(str(v.data), "valija.db"))
    db.execute("UPDATE accounts SET used_bytes = 1 WHERE local = 'dora'")
    db.commit()
    db.close()

    rc, lines, (problems, repaired) = run_check(v)
    assert rc == 1 and (problems, repaired) == (4, 0), lines
    text = "\n".join(lines)
    assert re.search(r"^missing-body: dora@localhost INBOX UID 1 \(trace \S+\): body %s is missing .*"
                     r', subject "check-big"$' % digest[:12], text, re.M), text
    assert re.search(r"^orphan-file: \S+%s: no body row names it$" % stray_id, text, re.M), text
    assert re.search(r"^temp-file: \S+\.tmp\.999999999-0123456789\.7: temp file", text, re.M), text
    assert re.search(r"^account-usage: dora@localhost: quota usage 1 octets in 3 messages", text, re.M), text

    cp = v.cli("check", "--repair")
    assert cp.returncode == 75, (cp.returncode, cp.stdout, cp.stderr)
    assert "stop it before check --repair" in cp.stderr, cp.stderr
    assert os.path.exists(stray) and os.path.exists(temp)

    assert v.stop() == 0
    rc, lines, (problems, repaired) = run_check(v, "--repair")
    assert rc == 1 and (problems, repaired) == (4, 3), lines
    assert [l for l in lines if not l.endswith("(repaired)")][0].startswith("missing-body: dora@localhost INBOX UID 1")
    assert not os.path.exists(stray) and not os.path.exists(temp)
    rc, lines, counts = run_check(v)
    assert rc == 1 and counts == (1, 0) and lines[0].startswith("missing-body:"), lines

    v.start()
    c = v.imap(user, "dora-pass-123")
    c.select("INBOX")
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert typ == "NO" and b"SERVERBUG" in data[0], (typ, data)
    for seq, msg in (("2", small[0]), ("3", small[1])):
        typ, data = c.fetch(seq, "(BODY.PEEK[])")
        assert typ == "OK" and split_trace(data[0][1])[1] == msg, (typ, data)
    # the admin's decision: the damaged message goes
    c.store("1", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()
    rc, lines, counts = run_check(v, "--deep")
    assert (rc, lines, counts) == (0, [], (0, 0)), lines


def test_check_after_kill9_under_load_finds_only_orphans(valija_factory):
    """check beside the server under load finds nothing; kill -9 during the load leaves at most orphans (files of writes whose
    commit never came), which --repair removes; every acknowledged message is whole."""
    seed = int(os.environ.get("VALIJA_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    v = valija_factory()
    v.start()
    v.add_user("ana@localhost")
    load = Load(v, 0, rng)
    load.start()
    try:
        # beside the server under load, check only reads and sees nothing wrong
        load.wait_acked(20)
        for _ in range(3):
            rc, lines, counts = run_check(v)
            assert (rc, lines) == (0, []), lines
        load.wait_acked(rng.randrange(50, 200))
    finally:
        v.kill9()
        load.join()
    assert v.returncode == -9
    rc, lines, (problems, repaired) = run_check(v, "--deep")
    others = [l for l in lines if not l.startswith(("orphan-file:", "temp-file:"))]
    assert not others, "seed=%d: %s" % (seed, lines)
    assert rc == (1 if problems else 0), (rc, lines)
    rc, lines, (problems2, repaired2) = run_check(v, "--repair")
    assert rc == 0 and problems2 == repaired2 == problems, (seed, lines)
    rc, lines, counts = run_check(v, "--deep")
    assert (rc, counts) == (0, (0, 0)), lines
    check(v, load.sent, load.acked)
    print("seed=%d acked=%d orphans=%d" % (seed, len(load.acked), problems))
