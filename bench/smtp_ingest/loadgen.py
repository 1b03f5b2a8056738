"""SMTP load generator: asyncio over raw sockets, PIPELINING when offered.

One generator drives every server the same way. Each session opens a
connection, sends up to `per_conn` messages (one transaction each: MAIL, RCPT,
DATA pipelined as one group per RFC 2920, then the message), QUITs, and
reconnects while messages remain. Latency of a message is from writing MAIL
FROM to reading the reply after the end-of-data dot.
"""
import asyncio
import base64
import email.utils
import random
import re
import socket
import string
import time

SENDER = "loadgen@bench.example"
TOKEN_RE = re.compile(rb"vb\.([a-z0-9]+)\.(\d+)")
_ALPHABET = string.ascii_letters + string.digits + "+/"  # no '.', so no dot-stuffing


def token(tag: str, index: int) -> str:
    return f"vb.{tag}.{index}"


class MessageFactory:
    """RFC 5322 messages of about `size` bytes, body in 76-character lines."""

    def __init__(self, size: int, rcpt: str):
        self.size = size
        self.rcpt = rcpt
        rng = random.Random(size)
        lines = max(size // 78, 1) + 1
        self._body = "".join(
            "".join(rng.choice(_ALPHABET) for _ in range(76)) + "\r\n" for _ in range(lines)
        ).encode()

    def build(self, tok: str) -> list:
        head = (
            f"From: Load Generator <{SENDER}>\r\n"
            f"To: Bench <{self.rcpt}>\r\n"
            f"Subject: valija bench {tok}\r\n"
            f"Date: {email.utils.formatdate(localtime=True)}\r\n"
            f"Message-ID: <{tok}@bench.example>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            f"{tok}\r\n"
        ).encode()
        room = max(self.size - len(head), 78)
        full, rest = divmod(room, 78)
        body = self._body[: full * 78]
        if rest >= 2:  # a last, shorter line makes the message exactly `size` bytes
            body += self._body[: rest - 2] + b"\r\n"
        return [head, body, b".\r\n"]


class SmtpError(Exception):
    pass


async def read_reply(reader, timeout: float):
    """Returns (code, text) of one possibly multi-line reply."""
    lines = []
    async with asyncio.timeout(timeout):
        while True:
            line = await reader.readline()
            if not line:
                raise SmtpError("connection closed by server")
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                break
    text = b"".join(lines).decode("latin-1").strip()
    try:
        return int(lines[-1][:3]), text
    except ValueError:
        raise SmtpError(f"malformed reply {text!r}")


class Load:
    """Sends messages tag.0 .. tag.(n-1) over `sessions` concurrent sessions."""

    def __init__(self, host, port, factory, n, sessions, per_conn, tag, timeout=60.0, sender=SENDER, auth=None):
        self.host, self.port = host, port
        self.sender = sender
        self.auth = auth  # (user, password): AUTH PLAIN after EHLO (submission)
        self.factory, self.n, self.sessions = factory, n, sessions
        self.per_conn, self.tag, self.timeout = per_conn, tag, timeout
        self._next = 0
        self.acked = {}  # token -> (latency seconds, wall-clock time of the ack)
        self.failed = []  # (token, reason) of messages that got no 250
        self.conn_errors = []  # errors outside a transaction (connect, greeting, EHLO, QUIT)
        self.connections = 0
        self.pipelining = None
        self.t_start = self.t_end = 0.0
        self._max_errors = max(20, n // 20)

    def _take(self):
        if self._next >= self.n:
            return None
        self._next += 1
        return self._next - 1

    async def run(self):
        self.t_start = time.time()
        await asyncio.gather(*(self._session() for _ in range(self.sessions)))
        self.t_end = time.time()
        return self

    async def _session(self):
        while self._next < self.n:
            errors = self.failed + self.conn_errors
            if len(errors) > self._max_errors:
                raise SmtpError(f"too many failures ({len(errors)}), last: {errors[-1]}")
            current = [None]
            writer = None
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.timeout)
                self.connections += 1
                await self._conversation(reader, writer, current)
            except (OSError, SmtpError, TimeoutError, asyncio.IncompleteReadError) as e:
                reason = f"{type(e).__name__}: {e}"
                if current[0] is None:
                    self.conn_errors.append((None, reason))
                else:
                    self.failed.append((current[0], reason))
                await asyncio.sleep(0.05)
            finally:
                if writer is not None:
                    writer.close()

    async def _conversation(self, reader, writer, current):
        code, text = await read_reply(reader, self.timeout)
        if code != 220:
            raise SmtpError(f"greeting {text!r}")
        writer.write(b"EHLO loadgen.bench.example\r\n")
        code, text = await read_reply(reader, self.timeout)
        if code != 250:
            raise SmtpError(f"EHLO {text!r}")
        pipelining = "PIPELINING" in text.upper()
        self.pipelining = pipelining
        if self.auth:
            plain = base64.b64encode(b"\0" + self.auth[0].encode() + b"\0" + self.auth[1].encode()).decode()
            writer.write(f"AUTH PLAIN {plain}\r\n".encode())
            code, text = await read_reply(reader, self.timeout)
            if code != 235:
                raise SmtpError(f"AUTH {text!r}")
        for _ in range(self.per_conn):
            i = self._take()
            if i is None:
                break
            current[0] = token(self.tag, i)
            await self._transaction(reader, writer, current[0], pipelining)
            current[0] = None
        writer.write(b"QUIT\r\n")
        await read_reply(reader, self.timeout)

    async def _transaction(self, reader, writer, tok, pipelining):
        envelope = [f"MAIL FROM:<{self.sender}>\r\n".encode(),
                    f"RCPT TO:<{self.factory.rcpt}>\r\n".encode(), b"DATA\r\n"]
        parts = self.factory.build(tok)
        t0 = time.perf_counter()
        codes = []
        if pipelining:  # RFC 2920: MAIL, RCPT and DATA go as one group
            writer.write(b"".join(envelope))
            for _ in envelope:
                codes.append(await read_reply(reader, self.timeout))
        else:
            for cmd in envelope:
                writer.write(cmd)
                codes.append(await read_reply(reader, self.timeout))
                if codes[-1][0] >= 400:
                    break
        got = [c for c, _ in codes]
        if len(got) != 3 or got[0] != 250 or got[1] not in (250, 251) or got[2] != 354:
            reason = " / ".join(t for _, t in codes)
            if got[-1] == 354:  # in DATA although the envelope failed: abort the connection
                raise SmtpError(reason)
            self.failed.append((tok, reason))
            writer.write(b"RSET\r\n")
            await read_reply(reader, self.timeout)
            return
        writer.writelines(parts)
        await writer.drain()
        code, text = await read_reply(reader, self.timeout)
        t1 = time.perf_counter()
        if code == 250:
            self.acked[tok] = (t1 - t0, time.time())
        else:
            self.failed.append((tok, text))


async def _open_idle(host, port, source, timeout):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, local_addr=(source, 0)), timeout)
    try:
        code, text = await read_reply(reader, timeout)
    except BaseException:
        writer.close()
        raise
    if code != 220:
        writer.close()
        raise SmtpError(f"greeting {text!r}")
    return writer


async def idle_connections(host, port, count, per_source, measure, timeout=30.0):
    """Opens `count` connections that each read the 220 greeting, then calls
    measure() while all are held open. Connections come from 127.0.0.1,
    127.0.0.2, ... with `per_source` each, so a per-IP connection limit does not
    cap the test. Returns (greeted, errors, measure() result)."""
    sem = asyncio.Semaphore(100)

    async def one(k):
        source = f"127.0.0.{1 + k // per_source}"
        async with sem:
            return await _open_idle(host, port, source, timeout)

    results = await asyncio.gather(*(one(k) for k in range(count)), return_exceptions=True)
    writers = [r for r in results if isinstance(r, asyncio.StreamWriter)]
    errors = [f"{type(r).__name__}: {r}" for r in results if not isinstance(r, asyncio.StreamWriter)]
    try:
        await asyncio.sleep(1.0)  # let the server settle
        alive = sum(1 for w in writers if not w.is_closing())
        measured = measure()
    finally:
        for w in writers:
            w.close()
        await asyncio.sleep(0.2)
    return alive, errors, measured


def greets(host, port, prefix: bytes, timeout=1.0) -> bool:
    """True when a TCP connect succeeds and the server's first line starts with `prefix`
    (then QUIT, which SMTP, LMTP and POP3 all understand)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    return False
                data += chunk
            ok = data.startswith(prefix)
            if ok:
                s.sendall(b"QUIT\r\n")
                try:
                    s.recv(512)
                except OSError:
                    pass
            return ok
    except OSError:
        return False


def smtp_greeting(host, port, timeout=1.0) -> bool:
    """True when a TCP connect succeeds and the server greets with 220."""
    return greets(host, port, b"220", timeout)


def port_free(host, port) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False
