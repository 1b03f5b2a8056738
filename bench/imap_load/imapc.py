"""A minimal IMAP4rev1 client for the load generators: asyncio over raw sockets
(plain or TLS), standard library only.

One connection, one command at a time (as Thunderbird, mutt and mbsync mostly
do). Responses are framed exactly (literals `{n}` included, so a message body
containing a line that looks like a tagged reply cannot confuse the client);
a command returns its tagged status line and the untagged responses that came
before it. Anything other than OK, an unexpected untagged BYE, a malformed line
or a dropped connection raises ImapError.
"""
import asyncio
import re
import ssl
import time

LITERAL_RE = re.compile(rb"\{(\d+)\+?\}$")
FETCH_RE = re.compile(rb"^\* (\d+) FETCH \(")
EXISTS_RE = re.compile(rb"^\* (\d+) EXISTS$")
EXPUNGE_RE = re.compile(rb"^\* (\d+) EXPUNGE$")
APPENDUID_RE = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
UID_ITEM_RE = re.compile(rb"[( ]UID (\d+)")


class ImapError(Exception):
    pass


class Response:
    """One complete server response: its text (line parts, `{n}` markers kept) and literals."""
    __slots__ = ("text", "literals", "t")

    def __init__(self, text, literals, t):
        self.text, self.literals, self.t = text, literals, t


class ImapConn(asyncio.Protocol):
    def __init__(self, on_untagged=None):
        self.buf = bytearray()
        self.transport = None
        self.closed = False
        self.error = None
        self._parts = []  # line parts of the response being read
        self._lits = []
        self._need = 0  # literal bytes still expected for the current response
        self._queue = []  # complete responses not yet consumed
        self._waiter = None
        self.on_untagged = on_untagged  # called with each untagged Response as it arrives (IDLE)
        self.tag_n = 0
        self.exists = None
        self.literal_plus = False
        self.capabilities = b""

    # --- asyncio.Protocol ---
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        try:
            self._parse()
        except ImapError as e:
            self.error = e
            self.transport.close()
        self._wake()

    def eof_received(self):
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc):
        self.closed = True
        self._wake()

    def _wake(self):
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    # --- framing ---
    def _parse(self):
        buf, pos = self.buf, 0
        while True:
            if self._need:
                if len(buf) - pos < self._need:
                    break
                self._lits.append(bytes(buf[pos:pos + self._need]))
                pos += self._need
                self._need = 0
            end = buf.find(b"\r\n", pos)
            if end < 0:
                if len(buf) - pos > 1 << 20:
                    raise ImapError("response line over 1 MiB")
                break
            line = bytes(buf[pos:end])
            pos = end + 2
            self._parts.append(line)
            m = LITERAL_RE.search(line) if line.endswith(b"}") else None
            if m:
                self._need = int(m.group(1))
                if self._need == 0:
                    self._lits.append(b"")
                continue
            r = Response(b"".join(self._parts), self._lits, time.perf_counter())
            self._parts, self._lits = [], []
            if self.on_untagged is not None and r.text.startswith(b"* "):
                self.on_untagged(r)
            self._queue.append(r)
        if pos:
            del buf[:pos]

    async def next_response(self):
        while not self._queue:
            if self.error:
                raise self.error
            if self.closed:
                raise ImapError("connection closed by server")
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None
        return self._queue.pop(0)

    # --- commands ---
    async def greeting(self):
        r = await self.next_response()
        if not r.text.startswith(b"* OK"):
            raise ImapError(f"greeting: {r.text[:200]!r}")
        return r

    def _track(self, r):
        """Keeps the selected mailbox's message count up to date."""
        t = r.text
        if t.endswith(b"EXISTS"):
            m = EXISTS_RE.match(t)
            if m:
                self.exists = int(m.group(1))
        elif t.endswith(b"EXPUNGE") and self.exists is not None:
            if EXPUNGE_RE.match(t):
                self.exists -= 1
        elif t.startswith(b"* BYE"):
            return False
        return True

    async def command(self, text: bytes, literal: bytes = None, allow_bye=False):
        """Sends `tag text` (+ literal, LITERAL+ when offered) and returns (tagged line,
        untagged responses). Raises ImapError unless the tagged status is OK."""
        self.tag_n += 1
        tag = b"a%d" % self.tag_n
        if literal is None:
            self.transport.write(tag + b" " + text + b"\r\n")
        elif self.literal_plus:
            self.transport.write(b"%s %s {%d+}\r\n" % (tag, text, len(literal)) + literal + b"\r\n")
        else:
            self.transport.write(b"%s %s {%d}\r\n" % (tag, text, len(literal)))
            r = await self.next_response()
            if not r.text.startswith(b"+"):
                raise ImapError(f"{text[:40]!r}: expected a continuation, got {r.text[:200]!r}")
            self.transport.write(literal + b"\r\n")
        untagged = []
        prefix = tag + b" "
        while True:
            r = await self.next_response()
            if r.text.startswith(prefix):
                status = r.text[len(prefix):len(prefix) + 3]
                if status != b"OK ":
                    shown = text.split(b" ")[0] if text.startswith(b"LOGIN") else text[:60]
                    raise ImapError(f"{shown.decode('latin-1')}: {r.text[:200].decode('latin-1')}")
                return r.text, untagged
            if r.text.startswith(b"* "):
                if not self._track(r) and not allow_bye:
                    raise ImapError(f"{text[:40]!r}: server said {r.text[:200]!r}")
                untagged.append(r)
            elif r.text.startswith(b"+"):
                raise ImapError(f"{text[:40]!r}: unexpected continuation {r.text[:200]!r}")
            else:
                raise ImapError(f"{text[:40]!r}: unexpected response {r.text[:200]!r}")


def quote(s: str) -> bytes:
    return b'"' + s.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def client_tls_context():
    """TLS without verification (the servers' certificates are self-signed)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def connect(host, port, tls=None, source=None, on_untagged=None):
    """Connects (TLS if `tls` is an SSLContext), reads the greeting; returns the ImapConn."""
    loop = asyncio.get_running_loop()
    kw = {"local_addr": (source, 0)} if source else {}
    if tls is not None:
        kw["ssl"] = tls
        kw["server_hostname"] = "localhost"
    _, conn = await loop.create_connection(lambda: ImapConn(on_untagged), host, port, **kw)
    try:
        await conn.greeting()
    except BaseException:
        conn.transport.close()
        raise
    return conn


async def login_select(conn, user, password, mailbox=b"INBOX"):
    """LOGIN, then SELECT; notes LITERAL+ from the capabilities. Returns EXISTS."""
    tagged, untagged = await conn.command(b"LOGIN " + quote(user) + b" " + quote(password))
    caps = tagged + b" ".join(r.text for r in untagged if r.text.startswith(b"* CAPABILITY"))
    if b"CAPABILITY" not in caps:
        _, untagged = await conn.command(b"CAPABILITY")
        caps = b" ".join(r.text for r in untagged)
    conn.capabilities = caps
    conn.literal_plus = b"LITERAL+" in caps
    conn.exists = None
    await conn.command(b"SELECT " + mailbox)
    if conn.exists is None:
        raise ImapError("SELECT: no EXISTS")
    return conn.exists


async def logout(conn):
    tagged, untagged = await conn.command(b"LOGOUT", allow_bye=True)
    if not any(r.text.startswith(b"* BYE") for r in untagged):
        raise ImapError("LOGOUT: no * BYE")
    conn.transport.close()


async def idle_start(conn):
    """Sends IDLE (RFC 2177) and waits for its continuation; returns the command's tag.
    Untagged responses before the `+` update the message count."""
    conn.tag_n += 1
    tag = b"a%d" % conn.tag_n
    conn.transport.write(tag + b" IDLE\r\n")
    while True:
        r = await conn.next_response()
        if r.text.startswith(b"+"):
            return tag
        if not r.text.startswith(b"* ") or not conn._track(r):
            raise ImapError(f"IDLE: {r.text[:200]!r}")


async def idle_done(conn, tag):
    """Ends IDLE with DONE and reads up to its tagged OK; returns the untagged responses
    that came during IDLE (EXISTS, EXPUNGE, FETCH, keepalives)."""
    conn.transport.write(b"DONE\r\n")
    untagged = []
    prefix = tag + b" "
    while True:
        r = await conn.next_response()
        if r.text.startswith(prefix):
            if r.text[len(prefix):len(prefix) + 3] != b"OK ":
                raise ImapError(f"IDLE: {r.text[:200].decode('latin-1')}")
            return untagged
        if not r.text.startswith(b"* ") or not conn._track(r):
            raise ImapError(f"IDLE: unexpected {r.text[:200]!r}")
        untagged.append(r)


def imap_greeting(host, port, timeout=1.0, tls=False) -> bool:
    """True when a connect succeeds and the server greets with `* OK` (then LOGOUT)."""
    import socket
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            s = client_tls_context().wrap_socket(raw, server_hostname="localhost") if tls else raw
            s.settimeout(timeout)
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    return False
                data += chunk
            ok = data.startswith(b"* OK")
            if ok:
                s.sendall(b"z LOGOUT\r\n")
                try:
                    s.recv(512)
                except OSError:
                    pass
            return ok
    except OSError:
        return False
