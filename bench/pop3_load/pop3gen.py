"""POP3 load generator and mailbox filler: asyncio over raw sockets, standard library only.

A session is what a download client does when it leaves mail on the server:
connect, greeting, USER, PASS, STAT, LIST, UIDL, RETR 1 .. RETR n, QUIT. Commands
go one at a time (no PIPELINING), as poplib, fetchmail and most clients do. Every
RETR's content is checked against what was delivered (see Expect), so a session
that returns wrong, missing or extra data is a failed session, not a fast one.
"""
import asyncio
import time

from corpus import SENDER, TOKEN_RE, dot_stuff

from loadgen import greets  # noqa: E402  (bench/smtp_ingest, on sys.path via run)


class Pop3Error(Exception):
    pass


class _Conn(asyncio.Protocol):
    """Buffers a connection's input; hands out single-line and multi-line replies."""

    def __init__(self):
        self.buf = bytearray()
        self.transport = None
        self._want = None  # (future, multiline) of the reply being waited for
        self._scan = 0  # where the next search for the multi-line terminator starts
        self._min = 0
        self.eof = False
        self.bytes_in = 0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        self.bytes_in += len(data)
        if self._want is not None:
            self._try()

    def eof_received(self):
        self.eof = True
        if self._want is not None and not self._want[0].done():
            self._want[0].set_exception(Pop3Error("connection closed by server"))
        return False

    def connection_lost(self, exc):
        self.eof_received()

    def _try(self):
        fut, multi = self._want
        end = self.buf.find(b"\r\n")
        if end < 0:
            return
        if not multi or not self.buf.startswith(b"+OK"):
            line = bytes(self.buf[:end])
            del self.buf[:end + 2]
            self._want = None
            fut.set_result((line, None))
            return
        # the terminator's CRLF may be the status line's own (an empty listing); it cannot
        # come before `_min` payload bytes (the known length of a correct reply)
        start = max(end + self._min, self._scan)
        if len(self.buf) < start + 5:
            self._scan = start
            return
        k = self.buf.find(b"\r\n.\r\n", start)
        if k < 0:
            self._scan = max(start, len(self.buf) - 4)
            return
        line = bytes(self.buf[:end])
        with memoryview(self.buf) as view:  # one copy, not two
            body = bytes(view[end:k + 2])  # CRLF + stuffed payload (ends in CRLF, or empty)
        del self.buf[:k + 5]
        self._want = None
        self._scan = 0
        fut.set_result((line, body))

    def reply(self, multi=False, min_len=0):
        """The next reply: (status line, None) or, for multi-line +OK replies,
        (status line, CRLF + stuffed payload). min_len: payload bytes that a correct
        reply has at least, so the terminator search can start after them."""
        fut = asyncio.get_running_loop().create_future()
        self._min = min_len
        if self.eof and not self.buf:
            fut.set_exception(Pop3Error("connection closed by server"))
            return fut
        self._want = (fut, multi)
        self._scan = 0
        self._try()
        return fut


def unstuff(body: bytes) -> bytes:
    """CRLF + stuffed lines -> the lines themselves (RFC 1939 byte-stuffing undone)."""
    return body.replace(b"\r\n..", b"\r\n.")[2:]


class Expect:
    """What one account's sessions must return, learned and checked by a first,
    careful session (verify()) against the delivered corpus: message number ->
    (corpus index, exact RETR length), the UIDLs, and the totals."""

    def __init__(self, corpus):
        self.corpus = corpus
        self.by_num = {}  # 1-based number -> (corpus index, RETR length)
        self.uidl = None
        self.bytes = 0
        self.added = 0  # bytes the server prepended (trace headers), all messages
        self.list_mismatch = 0  # LIST size != RETR length (informational)
        # corpus messages with lines starting with '.'; any stuffing elsewhere fails the content check
        self.dotted = {i for i, m in enumerate(corpus.messages) if m.startswith(b".") or b"\r\n." in m}


class Session:
    """One POP3 session; raises Pop3Error on any protocol or content error."""

    def __init__(self, host, port, user, password, timeout):
        self.host, self.port, self.user, self.password, self.timeout = host, port, user, password, timeout

    async def _cmd(self, conn, cmd, multi=False, min_len=0):
        conn.transport.write(cmd)
        line, body = await conn.reply(multi, min_len)  # bounded by the session's timeout (run)
        if not line.startswith(b"+OK"):
            shown = cmd.split(b" ")[0] if cmd.startswith(b"PASS") else cmd.strip()
            raise Pop3Error(f"{shown.decode()}: {line.decode('latin-1')[:200]}")
        return line, body

    async def run(self, expect, learn=False):
        """Returns (seconds to logged in, seconds in all, RETR payload bytes, messages).
        One timeout bounds the whole session (a timer per command would cost the
        generator more CPU than the commands themselves)."""
        async with asyncio.timeout(self.timeout):
            return await self._run(expect, learn)

    async def login(self, source=None):
        """Connects (from `source` when given), reads the greeting, USER, PASS; returns
        (transport, connection). The caller closes the transport."""
        kw = {"local_addr": (source, 0)} if source else {}
        transport, conn = await asyncio.get_running_loop().create_connection(_Conn, self.host, self.port, **kw)
        try:
            line, _ = await conn.reply()
            if not line.startswith(b"+OK"):
                raise Pop3Error(f"greeting: {line.decode('latin-1')[:200]}")
            await self._cmd(conn, f"USER {self.user}\r\n".encode())
            await self._cmd(conn, f"PASS {self.password}\r\n".encode())
        except BaseException:
            transport.close()
            raise
        return transport, conn

    async def _run(self, expect, learn):
        t0 = time.perf_counter()
        transport, conn = await self.login()
        try:
            t_login = time.perf_counter()
            line, _ = await self._cmd(conn, b"STAT\r\n")
            count, octets = (int(x) for x in line.split()[1:3])
            _, body = await self._cmd(conn, b"LIST\r\n", True)
            sizes = {int(a): int(b) for a, b in (ln.split()[:2] for ln in unstuff(body).splitlines())}
            _, body = await self._cmd(conn, b"UIDL\r\n", True)
            uidl = {int(a): b for a, b in (ln.split()[:2] for ln in unstuff(body).splitlines())}
            m = expect.corpus.m
            if count != m or len(sizes) != m or len(uidl) != m or sorted(sizes) != list(range(1, m + 1)):
                raise Pop3Error(f"{self.user}: STAT {count}, LIST {len(sizes)}, UIDL {len(uidl)} entries; "
                                f"expected {m} messages")
            if sum(sizes.values()) != octets:
                raise Pop3Error(f"{self.user}: STAT octets {octets} != sum of LIST sizes {sum(sizes.values())}")
            if learn:
                if len(set(uidl.values())) != m:
                    raise Pop3Error(f"{self.user}: UIDLs not unique")
                expect.uidl = uidl
            elif uidl != expect.uidl:
                raise Pop3Error(f"{self.user}: UIDL listing changed between sessions")
            total = 0
            seen = set()
            for n in range(1, m + 1):
                # a correct reply is at least as long as the message learnt for this number
                hint = 0 if learn else expect.by_num[n][1]
                _, body = await self._cmd(conn, b"RETR %d\r\n" % n, True, hint)
                if learn:
                    data = unstuff(body)
                    total += len(data)
                    self._learn(expect, n, data, sizes[n], seen)
                else:  # the same check without scanning or copying the payload more than needed
                    idx, length = expect.by_num[n]
                    if idx in expect.dotted:  # only these have stuffed lines to undo
                        body = body.replace(b"\r\n..", b"\r\n.")
                    got = len(body) - 2  # body = CRLF + payload
                    total += got
                    if got != length or not body.endswith(expect.corpus.messages[idx]):
                        raise Pop3Error(f"{self.user}: RETR {n}: {got} bytes, expected {length} "
                                        f"ending in corpus message {idx}")
            if learn:
                if len(seen) != m:
                    raise Pop3Error(f"{self.user}: RETR returned {len(seen)} distinct corpus messages of {m}")
                expect.bytes = total
            elif total != expect.bytes:
                raise Pop3Error(f"{self.user}: session downloaded {total} bytes, expected {expect.bytes}")
            await self._cmd(conn, b"QUIT\r\n")
            t_end = time.perf_counter()
        finally:
            transport.close()
        return t_login - t0, t_end - t0, total, m

    @staticmethod
    def _learn(expect, n, data, listed, seen):
        """The first session: identify each message, check it byte for byte."""
        hdr_end = data.find(b"\r\n\r\n")
        tok = TOKEN_RE.search(data, 0, hdr_end if hdr_end > 0 else len(data))
        if not tok:
            raise Pop3Error(f"RETR {n}: no bench Message-ID in the headers")
        idx = int(tok.group(1))
        orig = expect.corpus.messages[idx]
        if idx in seen:
            raise Pop3Error(f"RETR {n}: corpus message {idx} retrieved twice")
        if not data.endswith(orig):
            raise Pop3Error(f"RETR {n}: content differs from corpus message {idx} "
                            f"({len(data)} bytes, original {len(orig)})")
        prefix = data[:len(data) - len(orig)]
        for ln in prefix.split(b"\r\n")[:-1]:  # what the server added must be header fields
            if not (ln[:1] in (b" ", b"\t") or b":" in ln):
                raise Pop3Error(f"RETR {n}: server added a non-header line {ln[:80]!r}")
        if prefix and not prefix.endswith(b"\r\n"):
            raise Pop3Error(f"RETR {n}: added headers do not end in CRLF")
        seen.add(idx)
        expect.by_num[n] = (idx, len(data))
        expect.added += len(prefix)
        if listed != len(data):
            expect.list_mismatch += 1


class Load:
    """`clients` concurrent clients, client k always on account k (the maildrop
    lock is per account), taking sessions from a shared budget of `n`."""

    def __init__(self, host, port, accounts, expects, n, timeout=120.0):
        self.host, self.port = host, port
        self.accounts, self.expects, self.n = accounts, expects, n
        self.timeout = timeout
        self._next = 0
        self.sessions = []  # (login s, session s, bytes, messages, wall-clock end)
        self.failed = []
        self.t_start = self.t_end = 0.0
        self._max_errors = max(5, n // 20)

    async def run(self):
        self.t_start = time.time()
        await asyncio.gather(*(self._client(k) for k in range(len(self.accounts))))
        self.t_end = time.time()
        return self

    async def _client(self, k):
        user, password = self.accounts[k]
        while self._next < self.n:
            if len(self.failed) > self._max_errors:
                raise Pop3Error(f"too many failed sessions ({len(self.failed)}), last: {self.failed[-1]}")
            self._next += 1
            try:
                r = await Session(self.host, self.port, user, password, self.timeout).run(self.expects[k])
                self.sessions.append(r + (time.time(),))
            except (OSError, Pop3Error, asyncio.TimeoutError, KeyError, ValueError) as e:
                self.failed.append(f"{user}: {type(e).__name__}: {e}")
                await asyncio.sleep(0.05)


async def learn_all(host, port, accounts, corpus, timeout=300.0):
    """One careful session per account (concurrently); returns their Expect objects."""
    expects = [Expect(corpus) for _ in accounts]
    await asyncio.gather(*(Session(host, port, u, p, timeout).run(e, learn=True)
                           for (u, p), e in zip(accounts, expects)))
    return expects


# --- filling the mailboxes over SMTP (valija) or LMTP (Dovecot) ---

async def _reply(reader, timeout):
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise Pop3Error("delivery: connection closed by server")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            break
    return int(lines[-1][:3]), b"".join(lines).decode("latin-1").strip()


async def _deliver_one_account(connect, hello, rcpt, corpus, timeout):
    reader, writer = await connect()
    try:
        code, text = await _reply(reader, timeout)
        if code != 220:
            raise Pop3Error(f"delivery greeting: {text}")
        writer.write(f"{hello} filler.bench.example\r\n".encode())
        code, text = await _reply(reader, timeout)
        if code != 250:
            raise Pop3Error(f"delivery {hello}: {text}")
        for msg in corpus.messages:
            writer.write(f"MAIL FROM:<{SENDER}>\r\n".encode())
            code, text = await _reply(reader, timeout)
            if code != 250:
                raise Pop3Error(f"MAIL: {text}")
            writer.write(f"RCPT TO:<{rcpt}>\r\n".encode())
            code, text = await _reply(reader, timeout)
            if code not in (250, 251):
                raise Pop3Error(f"RCPT {rcpt}: {text}")
            writer.write(b"DATA\r\n")
            code, text = await _reply(reader, timeout)
            if code != 354:
                raise Pop3Error(f"DATA: {text}")
            writer.write(dot_stuff(msg))
            writer.write(b".\r\n")
            await writer.drain()
            code, text = await _reply(reader, timeout)  # LMTP: one reply for the one recipient
            if code != 250:
                raise Pop3Error(f"delivery of a message to {rcpt}: {text}")
        writer.write(b"QUIT\r\n")
        await _reply(reader, timeout)
    finally:
        writer.close()


async def fill(accounts, corpus, host=None, port=None, unix_path=None, lmtp=False, timeout=60.0):
    """Delivers the corpus, in order, to every account: one connection per account,
    one transaction per message, all accounts concurrently."""
    if unix_path:
        async def connect():
            return await asyncio.open_unix_connection(unix_path)
    else:
        async def connect():
            return await asyncio.open_connection(host, port)
    hello = "LHLO" if lmtp else "EHLO"
    await asyncio.gather(*(_deliver_one_account(connect, hello, user, corpus, timeout)
                           for user, _ in accounts))


def pop3_greeting(host, port, timeout=1.0) -> bool:
    """True when a TCP connect succeeds and the server greets with +OK."""
    return greets(host, port, b"+OK", timeout)
