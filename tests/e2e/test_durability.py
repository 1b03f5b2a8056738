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
