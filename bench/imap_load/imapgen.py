"""IMAP load generator: asyncio over raw sockets (imapc.py), standard library only.

C clients, client k always on account k, run one of two mixes for a fixed time:

- login-heavy: connect, LOGIN, SELECT INBOX, FETCH 1:10 (FLAGS ENVELOPE), FETCH n
  BODY.PEEK[] (n random), STORE a +FLAGS (\\Flagged), STORE b -FLAGS (\\Flagged),
  APPEND a small message, UID STORE its UID +FLAGS (\\Deleted), UID EXPUNGE it,
  LOGOUT; again.
- long-session: one login and SELECT, then in a loop: FETCH 1:* (UID FLAGS
  ENVELOPE), FETCH n BODY.PEEK[] for 5 random n, UID SEARCH SUBJECT newsletter,
  UID SEARCH UNSEEN, UID SEARCH FROM newsletter SUBJECT attachment, three STOREs,
  APPEND, UID STORE +FLAGS (\\Deleted), UID EXPUNGE.

Every answer is checked (Expect): FETCH returns one response per message asked
for, BODY[] is exactly the delivered message (length as RFC822.SIZE said, ending
with the corpus message), each SEARCH returns exactly the UIDs it must, APPEND
returns APPENDUID and UID EXPUNGE expunges one message. Any NO, BAD, unexpected
answer, disconnect or timeout is an error; the client then starts a new session.
"""
import asyncio
import random
import re
import time

import imapc
from corpus import TOKEN_RE
from imapc import FETCH_RE, ImapError

UID_RE = re.compile(rb"UID (\d+)")
SIZE_RE = re.compile(rb"RFC822\.SIZE (\d+)")


class Expect:
    """What an account's mailbox holds, learnt once after delivery: per sequence number
    the UID, RFC822.SIZE and corpus message; the UID sets the SEARCHes must return."""

    def __init__(self, corpus):
        self.corpus = corpus
        self.m = 0
        self.uid = {}
        self.size = {}
        self.idx = {}
        self.searches = {}
        self.delivered_bytes = 0


def _subject(msg):
    start = msg.find(b"\r\nSubject: ")
    return msg[start + 11:msg.find(b"\r\n", start + 2)].lower()


SEARCHES = (  # (command, which corpus messages match, as a predicate on the message)
    (b"UID SEARCH SUBJECT newsletter", lambda msg: b"newsletter" in _subject(msg)),
    (b"UID SEARCH UNSEEN", lambda msg: True),  # nothing in the benchmark sets \Seen on them
    (b"UID SEARCH FROM newsletter SUBJECT attachment", lambda msg: b"attachment" in _subject(msg)),
)


async def learn(host, port, user, password, corpus, timeout=300.0):
    """One careful session: which corpus message each number holds, byte for byte."""
    e = Expect(corpus)
    async with asyncio.timeout(timeout):
        conn = await imapc.connect(host, port)
        try:
            exists = await imapc.login_select(conn, user, password)
            if exists != corpus.m:
                raise ImapError(f"{user}: SELECT says {exists} messages, {corpus.m} delivered")
            _, untagged = await conn.command(b"FETCH 1:* (UID RFC822.SIZE BODY.PEEK[])")
            seen = set()
            for r in untagged:
                m = FETCH_RE.match(r.text)
                if not m:
                    continue
                n = int(m.group(1))
                uid, size = UID_RE.search(r.text), SIZE_RE.search(r.text)
                if not uid or not size or len(r.literals) != 1:
                    raise ImapError(f"{user}: FETCH {n}: no UID, RFC822.SIZE or BODY[]: {r.text[:200]!r}")
                body = r.literals[0]
                head = body[:body.find(b"\r\n\r\n")]
                tok = TOKEN_RE.search(head)
                if not tok:
                    raise ImapError(f"{user}: message {n}: no bench Message-ID")
                idx = int(tok.group(1))
                if idx in seen or not body.endswith(corpus.messages[idx]):
                    raise ImapError(f"{user}: message {n}: duplicate or differs from corpus message {idx}")
                if int(size.group(1)) != len(body):
                    raise ImapError(f"{user}: message {n}: RFC822.SIZE {size.group(1).decode()} but "
                                    f"BODY[] has {len(body)} bytes")
                seen.add(idx)
                e.uid[n], e.size[n], e.idx[n] = int(uid.group(1)), len(body), idx
                e.delivered_bytes += len(body)
            if len(seen) != corpus.m or sorted(e.uid) != list(range(1, corpus.m + 1)):
                raise ImapError(f"{user}: FETCH 1:* returned {len(seen)} of {corpus.m} messages")
            e.m = corpus.m
            for cmd, pred in SEARCHES:
                e.searches[cmd] = {e.uid[n] for n in e.uid if pred(corpus.messages[e.idx[n]])}
                got = await search(conn, cmd)
                if got != e.searches[cmd]:
                    raise ImapError(f"{user}: {cmd.decode()}: {len(got)} UIDs, expected {len(e.searches[cmd])}")
            await imapc.logout(conn)
        finally:
            conn.transport.close()
    return e


async def search(conn, cmd):
    _, untagged = await conn.command(cmd)
    out = set()
    for r in untagged:
        if r.text.startswith(b"* SEARCH"):
            out.update(int(x) for x in r.text[8:].split())
    return out


class Stats:
    """Every completed command: (kind, seconds, end time); errors; rfc notes."""

    def __init__(self):
        self.ops = []
        self.sessions = []  # end times of complete login-heavy sessions / long-session loops
        self.errors = []
        self.notes = {}  # RFC deviations seen (not errors): text -> count


class Client:
    def __init__(self, host, port, user, password, expect, stats, rng, timeout):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.e, self.st, self.rng, self.timeout = expect, stats, rng, timeout
        self.appended = 0

    async def op(self, kind, conn, text, literal=None, allow_bye=False):
        t0 = time.perf_counter()
        tagged, untagged = await conn.command(text, literal, allow_bye)
        t1 = time.perf_counter()
        self.st.ops.append((kind, t1 - t0, t1))
        return tagged, untagged

    async def open(self):
        t0 = time.perf_counter()
        conn = await imapc.connect(self.host, self.port)
        t1 = time.perf_counter()
        self.st.ops.append(("connect", t1 - t0, t1))
        conn.literal_plus = False
        tagged, untagged = await self.op("login", conn, b"LOGIN " + imapc.quote(self.user) + b" "
                                         + imapc.quote(self.password))
        caps = tagged + b" ".join(r.text for r in untagged)
        conn.literal_plus = b"LITERAL+" in caps
        if b"UIDPLUS" not in caps:
            raise ImapError("no UIDPLUS in the capabilities after LOGIN")
        conn.exists = None
        await self.op("select", conn, b"SELECT INBOX")
        if conn.exists is None or conn.exists < self.e.m:
            raise ImapError(f"SELECT: EXISTS {conn.exists}, expected {self.e.m}")
        return conn

    async def fetch_envelopes(self, conn, seqset, count, kind):
        _, untagged = await self.op(kind, conn, b"FETCH " + seqset + (
            b" (UID FLAGS ENVELOPE)" if kind == "fetch_all" else b" (FLAGS ENVELOPE)"))
        got = sum(1 for r in untagged if FETCH_RE.match(r.text) and b"ENVELOPE (" in r.text)
        if got != count:
            raise ImapError(f"FETCH {seqset.decode()}: {got} FETCH responses with ENVELOPE, expected {count}")

    async def fetch_body(self, conn):
        n = self.rng.randint(1, self.e.m)
        _, untagged = await self.op("fetch_body", conn, b"FETCH %d BODY.PEEK[]" % n)
        bodies = [r.literals[0] for r in untagged if r.literals and FETCH_RE.match(r.text)
                  and int(FETCH_RE.match(r.text).group(1)) == n]
        if len(bodies) != 1:
            raise ImapError(f"FETCH {n} BODY.PEEK[]: {len(bodies)} bodies")
        if len(bodies[0]) != self.e.size[n] or not bodies[0].endswith(self.e.corpus.messages[self.e.idx[n]]):
            raise ImapError(f"FETCH {n} BODY.PEEK[]: {len(bodies[0])} bytes, expected {self.e.size[n]} "
                            f"ending in corpus message {self.e.idx[n]}")
        return len(bodies[0])

    async def stores(self, conn, extra=False):
        a, b = self.rng.sample(range(1, self.e.m + 1), 2)
        await self.op("store", conn, b"STORE %d +FLAGS (\\Flagged)" % a)
        await self.op("store", conn, b"STORE %d -FLAGS (\\Flagged)" % b)
        if extra:
            await self.op("store", conn, b"STORE %d +FLAGS (\\Answered)" % self.rng.randint(1, self.e.m))

    async def append_delete(self, conn):
        self.appended += 1
        msg = (f"From: Appender <appender@bench.example>\r\nTo: {self.user}\r\n"
               f"Subject: imap bench draft {self.appended}\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
               f"Message-ID: <imapbench.{self.user}.{self.appended}@bench.example>\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
               + "a draft saved by the benchmark, deleted again right away\r\n" * 12).encode()
        before = conn.exists
        tagged, _ = await self.op("append", conn, b"APPEND INBOX (\\Seen)", msg)
        m = imapc.APPENDUID_RE.search(tagged)
        if not m:
            raise ImapError(f"APPEND: no APPENDUID in {tagged[:200]!r}")
        uid = int(m.group(2))
        if conn.exists != before + 1:  # RFC 3501 6.3.11: the server SHOULD announce it (EXISTS)
            await self.op("noop", conn, b"NOOP")
            if conn.exists != before + 1:
                raise ImapError(f"APPEND: EXISTS {conn.exists} after it, {before} before")
        _, untagged = await self.op("store_deleted", conn, b"UID STORE %d +FLAGS (\\Deleted)" % uid)
        fetches = [r for r in untagged if FETCH_RE.match(r.text)]
        if len(fetches) != 1:
            raise ImapError(f"UID STORE {uid}: {len(fetches)} FETCH responses, expected 1")
        if not imapc.UID_ITEM_RE.search(fetches[0].text):
            note = "UID STORE: FETCH response without UID (RFC 3501 6.4.8: MUST include it)"
            self.st.notes[note] = self.st.notes.get(note, 0) + 1
        _, untagged = await self.op("expunge", conn, b"UID EXPUNGE %d" % uid)
        gone = sum(1 for r in untagged if imapc.EXPUNGE_RE.match(r.text))
        if gone != 1 or conn.exists != before:
            raise ImapError(f"UID EXPUNGE {uid}: {gone} EXPUNGE responses, EXISTS now {conn.exists}, "
                            f"{before} before the APPEND")

    async def searches(self, conn):
        for cmd, _ in SEARCHES:
            t0 = time.perf_counter()
            got = await search(conn, cmd)
            t1 = time.perf_counter()
            self.st.ops.append(("search", t1 - t0, t1))
            if got != self.e.searches[cmd]:
                raise ImapError(f"{cmd.decode()}: {len(got)} UIDs, expected {len(self.e.searches[cmd])}"
                                f" (missing {sorted(self.e.searches[cmd] - got)[:5]}, "
                                f"extra {sorted(got - self.e.searches[cmd])[:5]})")

    async def logout(self, conn):
        _, untagged = await self.op("logout", conn, b"LOGOUT", allow_bye=True)
        if not any(r.text.startswith(b"* BYE") for r in untagged):
            raise ImapError("LOGOUT: no * BYE")

    # --- the mixes ---
    async def login_heavy(self, t_end):
        while time.perf_counter() < t_end:
            conn = None
            try:
                async with asyncio.timeout(self.timeout):
                    conn = await self.open()
                    await self.fetch_envelopes(conn, b"1:10", min(10, self.e.m), "fetch_10")
                    await self.fetch_body(conn)
                    await self.stores(conn)
                    await self.append_delete(conn)
                    await self.logout(conn)
                self.st.sessions.append(time.perf_counter())
            except (OSError, ImapError, TimeoutError, KeyError, ValueError) as e:
                self.st.errors.append((time.perf_counter(), f"{self.user}: {type(e).__name__}: {e}"))
                await asyncio.sleep(0.05)
            finally:
                if conn is not None:
                    conn.transport.close()

    async def long_session(self, t_end):
        while time.perf_counter() < t_end:
            conn = None
            try:
                async with asyncio.timeout(self.timeout):
                    conn = await self.open()
                while time.perf_counter() < t_end:
                    async with asyncio.timeout(self.timeout):
                        await self.fetch_envelopes(conn, b"1:*", conn.exists, "fetch_all")
                        for _ in range(5):
                            await self.fetch_body(conn)
                        await self.searches(conn)
                        await self.stores(conn, extra=True)
                        await self.append_delete(conn)
                    self.st.sessions.append(time.perf_counter())
                async with asyncio.timeout(self.timeout):
                    await self.logout(conn)
            except (OSError, ImapError, TimeoutError, KeyError, ValueError) as e:
                self.st.errors.append((time.perf_counter(), f"{self.user}: {type(e).__name__}: {e}"))
                await asyncio.sleep(0.05)
            finally:
                if conn is not None:
                    conn.transport.close()


async def run_load(host, port, accounts, expects, mix, warmup, duration, on_window=None, timeout=60.0, seed=7):
    """Runs `mix` with len(accounts) clients for warmup + duration seconds. on_window(which)
    is called at the start ("start") and end ("end") of the measured window. Returns
    (Stats, window start, window end) in perf_counter time."""
    st = Stats()
    t0 = time.perf_counter()
    t_start, t_end = t0 + warmup, t0 + warmup + duration
    clients = [Client(host, port, u, p, e, st, random.Random(seed * 1000 + k), timeout)
               for k, ((u, p), e) in enumerate(zip(accounts, expects))]

    async def window():
        await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
        if on_window:
            on_window("start")
        await asyncio.sleep(max(0.0, t_end - time.perf_counter()))
        if on_window:
            on_window("end")

    runner = (lambda c: c.login_heavy(t_end)) if mix == "login-heavy" else (lambda c: c.long_session(t_end))
    await asyncio.gather(window(), *(runner(c) for c in clients))
    return st, t_start, t_end
