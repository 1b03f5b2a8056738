"""bench/soak's clients: SMTP delivering (paced), IMAP and POP3 reading, until stopped.

Built from the other benchmarks' pieces: loadgen.Load (bench/smtp_ingest) for SMTP,
imapc (bench/imap_load) for IMAP, pop3gen.Session and its connection (bench/pop3_load)
for POP3. Everything counts into one Stats, which the runner reads every interval.
Errors are counted by kind; what the servers answer by design (a second POP3 session on
an account: -ERR [IN-USE]; a message expunged by another session since this one saw it:
IMAP NO [EXPUNGEISSUED], POP3 "-ERR Message n was deleted by another session")
is counted apart, as expected.
"""
import asyncio
import collections
import random
import re
import time
import types

import imapc  # ../imap_load
import pop3gen  # ../pop3_load
from imapc import FETCH_RE, UID_ITEM_RE, ImapError
from loadgen import Load, MessageFactory  # ../smtp_ingest
from pop3gen import Pop3Error, unstuff

# message sizes (KiB) and their weights: mostly small, some up to 50 KiB
SIZES_KIB = [(1, 30), (2, 20), (4, 15), (8, 12), (16, 10), (32, 8), (50, 5)]
FLAGS_RE = re.compile(rb"FLAGS \(([^)]*)\)")
REPLY_CODE_RE = re.compile(r"\b([45])\d\d[ -]")
TIMEOUT = 60.0  # seconds for any one command (IMAP) or session (POP3) to complete


class Stats:
    """Counters (`counts`: work done and expected refusals; `errors`: by kind), a few
    samples of each error kind, and SMTP latencies since the last sample."""

    def __init__(self):
        self.counts = collections.Counter()
        self.errors = collections.Counter()
        self.error_samples = {}
        self.smtp_latency = []

    def error(self, kind, text):
        self.errors[kind] += 1
        samples = self.error_samples.setdefault(kind, [])
        if len(samples) < 5:
            samples.append(f"{time.strftime('%H:%M:%S')} {text[:300]}")


async def pause(stop, seconds):
    """Sleeps `seconds`, or less when `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), max(seconds, 0))
    except TimeoutError:
        pass


def limit_kind(proto, text):
    """The error kind of a refusal or failure: PROTO_limit for the answers valija gives
    when a limit is reached, PROTO_conn for network failures, PROTO_error otherwise."""
    if any(m in text for m in ("[LIMIT]", "[UNAVAILABLE]", "[SYS/TEMP]", "[LOGIN-DELAY]", "[OVERQUOTA]")):
        return f"{proto}_limit"
    if any(m in text for m in ("closed by server", "Error: [Errno", "TimeoutError", "ConnectionReset",
                               "ConnectionRefused", "IncompleteRead")):
        return f"{proto}_conn"
    return f"{proto}_error"


class PacedSmtp(Load):
    """loadgen.Load until stop(): `rate` messages a second in all, evenly spaced, each to a
    random account, of a random size (SIZES_KIB), `per_conn` per connection."""

    def __init__(self, host, port, users, rate, sessions, per_conn, stats):
        super().__init__(host, port, None, 1 << 60, sessions, per_conn, "soak", timeout=TIMEOUT)
        self.users = users
        self.factories = [MessageFactory(k * 1024, "soak@localhost") for k, _ in SIZES_KIB]
        self.weights = [w for _, w in SIZES_KIB]
        self.gap = 1.0 / rate
        self.stats = stats
        self._slot = 0.0
        self._seen = [0, 0]  # failures and connection errors already counted

    def stop(self):
        self.n = self._next  # sessions finish their transaction, QUIT and end

    async def _transaction(self, reader, writer, tok, pipelining):
        now = time.monotonic()
        slot = max(now, self._slot)
        self._slot = slot + self.gap
        await asyncio.sleep(slot - now)
        factory = random.choices(self.factories, self.weights)[0]
        # read synchronously by the base class before its first await
        self.factory = types.SimpleNamespace(rcpt=random.choice(self.users), build=factory.build)
        await super()._transaction(reader, writer, tok, pipelining)
        acked = self.acked.pop(tok, None)  # the dict would grow for the whole run
        if acked is not None:
            self.stats.counts["smtp_msgs"] += 1
            self.stats.counts["smtp_bytes"] += factory.size
            self.stats.smtp_latency.append(acked[0])

    def collect(self):
        """Counts the failures since the last call: smtp_4xx (a limit, or another temporary
        refusal), smtp_5xx, smtp_conn (no reply: connection lost, timeout)."""
        for i, errors in enumerate((self.failed, self.conn_errors)):
            for _, reason in errors[self._seen[i]:]:
                m = REPLY_CODE_RE.search(reason)
                self.stats.error(f"smtp_{m.group(1)}xx" if m else "smtp_conn", reason)
            self._seen[i] = len(errors)


class ImapClient:
    """One IMAP client: LOGIN, SELECT INBOX, then cycles of UID FETCH 1:* (FLAGS), UID FETCH
    BODY.PEEK[] of up to `reads` unseen messages, UID STORE +FLAGS (\\Seen) on them,
    UID STORE (\\Deleted) and UID EXPUNGE of the oldest beyond `keep`, IDLE for a while;
    after a cycle it logs out and reconnects with probability `reconnect`."""

    def __init__(self, host, port, account, source, stats, opts):
        self.host, self.port, self.source = host, port, source
        self.user, self.password = account
        self.stats, self.opts = stats, opts

    async def _cmd(self, coro, n=1):
        result = await asyncio.wait_for(coro, TIMEOUT)
        self.stats.counts["imap_cmds"] += n
        return result

    async def run(self, stop):
        await pause(stop, random.uniform(0, self.opts.ramp))
        while not stop.is_set():
            conn = None
            try:
                conn = await asyncio.wait_for(imapc.connect(self.host, self.port, source=self.source), TIMEOUT)
                await self._cmd(imapc.login_select(conn, self.user, self.password), n=2)
                self.stats.counts["imap_logins"] += 1
                while not stop.is_set():
                    await self._cycle(conn, stop)
                    if random.random() < self.opts.reconnect:
                        break
                await self._cmd(imapc.logout(conn))
            except (ImapError, OSError, TimeoutError) as e:
                text = f"{self.user} from {self.source}: {type(e).__name__}: {e}"
                self.stats.error(limit_kind("imap", text), text)
                await pause(stop, 1 + random.random())
            finally:
                if conn is not None:
                    conn.transport.close()

    async def _cycle(self, conn, stop):
        _, untagged = await self._cmd(conn.command(b"UID FETCH 1:* (FLAGS)"))
        msgs = []  # (uid, seen)
        for r in untagged:
            uid, flags = UID_ITEM_RE.search(r.text), FLAGS_RE.search(r.text)
            if FETCH_RE.match(r.text) and uid and flags:
                msgs.append((int(uid.group(1)), b"\\Seen" in flags.group(1)))
        msgs.sort()
        unseen = [uid for uid, seen in msgs if not seen]
        read = sorted(random.sample(unseen, min(len(unseen), self.opts.reads)))
        for uid in read:
            try:
                _, untagged = await self._cmd(conn.command(b"UID FETCH %d BODY.PEEK[]" % uid))
            except ImapError as e:
                if "EXPUNGEISSUED" not in str(e):
                    raise
                self.stats.counts["imap_expungeissued"] += 1
                continue
            # nothing when another session expunged it meanwhile; else one body
            bodies = [r.literals[-1] for r in untagged if FETCH_RE.match(r.text) and r.literals]
            if any(not b.endswith(b"\r\n") or b"\r\n\r\n" not in b for b in bodies):
                raise ImapError(f"UID FETCH {uid} BODY.PEEK[]: not a message")
            self.stats.counts["imap_bodies"] += len(bodies)
        if read:
            await self._cmd(conn.command(b"UID STORE " + uid_set(read) + b" +FLAGS.SILENT (\\Seen)"))
        excess = len(msgs) - self.opts.keep
        if excess > 0:
            old = uid_set(uid for uid, _ in msgs[:excess])
            await self._cmd(conn.command(b"UID STORE " + old + b" +FLAGS.SILENT (\\Deleted)"))
            await self._cmd(conn.command(b"UID EXPUNGE " + old))
            self.stats.counts["imap_expunged"] += excess
        tag = await self._cmd(imapc.idle_start(conn))
        await pause(stop, random.uniform(self.opts.idle_min, self.opts.idle_max))
        untagged = await asyncio.wait_for(imapc.idle_done(conn, tag), TIMEOUT)
        self.stats.counts["imap_pushes"] += sum(1 for r in untagged if r.text.endswith(b"EXISTS"))


def uid_set(uids) -> bytes:
    return b",".join(b"%d" % u for u in uids)


class Pop3Session(pop3gen.Session):
    """A download client that deletes: USER, PASS, STAT, LIST, RETR of up to `reads`
    random messages (each checked: as long as LIST said, a header and a body), DELE of
    those beyond `keep` (oldest first) and of the ones read with probability `dele`, QUIT."""

    async def soak(self, source, stats, opts):
        async with asyncio.timeout(self.timeout):
            transport, conn = await self.login(source)
            try:
                await self._cmd(conn, b"STAT\r\n")
                _, body = await self._cmd(conn, b"LIST\r\n", True)
                sizes = {int(a): int(b) for a, b in (ln.split()[:2] for ln in unstuff(body).splitlines())}
                nums = sorted(sizes)
                read = sorted(random.sample(nums, min(len(nums), opts.reads)))
                for n in read:
                    body = await self._gone_ok(self._cmd(conn, b"RETR %d\r\n" % n, True), stats)
                    if body is None:
                        continue
                    body = body[1]
                    data = unstuff(body)
                    if len(data) != sizes[n] or b"\r\n\r\n" not in data:
                        raise Pop3Error(f"RETR {n}: {len(data)} bytes, LIST said {sizes[n]}")
                    stats.counts["pop3_retr"] += 1
                    stats.counts["pop3_bytes"] += len(data)
                dele = set(nums[:max(0, len(nums) - opts.keep)])
                dele.update(n for n in read if random.random() < opts.dele)
                for n in sorted(dele):
                    await self._gone_ok(self._cmd(conn, b"DELE %d\r\n" % n), stats)
                await self._cmd(conn, b"QUIT\r\n")  # the deletions happen here
                stats.counts["pop3_dele"] += len(dele)
                stats.counts["pop3_sessions"] += 1
            finally:
                transport.close()


    @staticmethod
    async def _gone_ok(cmd, stats):
        """The command's reply, or None when the message was expunged by another (IMAP)
        session since this one listed it: valija's -ERR for it, expected here."""
        try:
            return await cmd
        except Pop3Error as e:
            if "deleted by another session" not in str(e):
                raise
            stats.counts["pop3_gone"] += 1
            return None


async def pop3_client(host, port, accounts, source, stats, opts, stop):
    """Sessions on a random account each, `pause` seconds apart (uniform around it)."""
    await pause(stop, random.uniform(0, opts.ramp))
    while not stop.is_set():
        user, password = random.choice(accounts)
        try:
            await Pop3Session(host, port, user, password, TIMEOUT).soak(source, stats, opts)
        except (Pop3Error, OSError, TimeoutError, ValueError) as e:
            text = f"{user} from {source}: {type(e).__name__}: {e}"
            if "[IN-USE]" in text:  # another session holds the maildrop lock: by design
                stats.counts["pop3_in_use"] += 1
            else:
                stats.error(limit_kind("pop3", text), text)
        await pause(stop, random.uniform(0.5, 1.5) * opts.pause)
