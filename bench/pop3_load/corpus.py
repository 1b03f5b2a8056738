"""The mailbox content: M deterministic RFC 5322 messages of mixed, realistic sizes.

Every account of both servers receives the same M messages, in the same order.
Sizes follow a fixed mix (a stratified sample, so even M = 100 has the intended
spread): mostly small text mails, some HTML newsletters, a tail of messages with
base64 attachments up to 2 MiB. About one text message in four has lines that
start with a dot, so RETR's byte-stuffing is exercised. All lines end in CRLF.
"""
import base64
import random
import re

TOKEN_RE = re.compile(rb"<pop3bench\.(\d+)@bench\.example>")
SENDER = "newsletter@bench.example"

# (low KiB, high KiB, share of the messages, kind); sizes log-uniform within a bucket
MIX = [
    (1, 4, 0.35, "text"),
    (4, 16, 0.30, "text"),
    (16, 64, 0.20, "html"),
    (64, 256, 0.11, "attach"),
    (256, 1024, 0.03, "attach"),
    (1024, 2048, 0.01, "attach"),
]

_WORDS = ("the of and to in is for on that with as are this be at by from or have an not your "
          "mail server message account please meeting report attached project update review "
          "tomorrow schedule invoice order delivery thanks regards team customer question "
          "budget quarter release build issue fix agenda notes draft final version link").split()


def _bucket_counts(m, mix=MIX):
    """Messages per bucket for M messages (largest remainder, at least one big one when M >= 20)."""
    raw = [share * m for _, _, share, _ in mix]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: m - sum(counts)]:
        counts[i] += 1
    return counts


class Corpus:
    def __init__(self, m, seed=1939, mix=MIX):
        """mix: (low KiB, high KiB, share, kind) buckets; bench/imap_load passes its own."""
        self.m = m
        self.mix = mix
        rng = random.Random(seed)
        self._lines = [self._text_line(rng) for _ in range(4000)]
        plan = []
        for (lo, hi, _, kind), n in zip(mix, _bucket_counts(m, mix)):
            for _ in range(n):
                size = int(1024 * lo * (hi / lo) ** rng.random())
                plan.append((size, kind))
        rng.shuffle(plan)
        self.messages = [self._build(i, size, kind, rng) for i, (size, kind) in enumerate(plan)]
        self.total_bytes = sum(len(b) for b in self.messages)
        self.dot_lines = sum(b.count(b"\r\n.") for b in self.messages)

    @staticmethod
    def _text_line(rng):
        words = []
        n = 0
        limit = rng.randint(40, 76)
        while True:
            w = rng.choice(_WORDS)
            if n + len(w) + 1 > limit:
                break
            words.append(w)
            n += len(w) + 1
        return " ".join(words)

    def _text(self, rng, size, dots):
        out, n = [], 0
        while n < size:
            line = self._lines[rng.randrange(len(self._lines))]
            r = rng.random()
            if r < 0.08:
                line = ""
            elif dots and r < 0.12:
                line = rng.choice([".", "..", "...", ". " + line[:60], ".signature follows"])
            out.append(line)
            n += len(line) + 2
        return "\r\n".join(out) + "\r\n"

    def _headers(self, i, subject, ctype, rng):
        return (f"From: Bench Sender <{SENDER}>\r\n"
                "To: Bench Users <users@bench.example>\r\n"
                f"Subject: pop3 bench message {i}: {subject}\r\n"
                f"Date: Thu, 26 Nov 2026 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d} +0000\r\n"
                f"Message-ID: <pop3bench.{i}@bench.example>\r\n"
                "MIME-Version: 1.0\r\n"
                f"{ctype}\r\n"
                "\r\n")

    def _build(self, i, size, kind, rng):
        dots = kind == "text" and rng.random() < 0.25
        if kind == "text":
            head = self._headers(i, "plain text", "Content-Type: text/plain; charset=us-ascii", rng)
            body = self._text(rng, max(size - len(head), 100), dots)
        elif kind == "html":
            b = f"b{i:06d}=_alt"
            head = self._headers(i, "newsletter", f'Content-Type: multipart/alternative; boundary="{b}"', rng)
            room = max(size - len(head) - 300, 200)
            text = self._text(rng, room // 3, False)
            html = "".join(f"<p>{ln}</p>\r\n" for ln in self._text(rng, room * 2 // 3, False).split("\r\n") if ln)
            body = (f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{text}"
                    f"--{b}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<html><body>\r\n{html}"
                    f"</body></html>\r\n--{b}--\r\n")
        else:
            b = f"b{i:06d}=_mixed"
            head = self._headers(i, "with attachment", f'Content-Type: multipart/mixed; boundary="{b}"', rng)
            text = self._text(rng, 600, False)
            raw = rng.randbytes(max((size - len(head) - 900) * 57 // 78, 1000))
            enc = base64.b64encode(raw)
            att = b"\r\n".join(enc[k:k + 76] for k in range(0, len(enc), 76)).decode() + "\r\n"
            body = (f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{text}"
                    f"--{b}\r\nContent-Type: application/octet-stream; name=\"file{i}.bin\"\r\n"
                    f"Content-Transfer-Encoding: base64\r\n"
                    f"Content-Disposition: attachment; filename=\"file{i}.bin\"\r\n\r\n{att}--{b}--\r\n")
        return (head + body).encode("ascii")

    def describe(self):
        sizes = sorted(len(b) for b in self.messages)
        return (f"{self.m} messages, {self.total_bytes:,} bytes in all (min {sizes[0]:,}, median "
                f"{sizes[len(sizes) // 2]:,}, max {sizes[-1]:,}), {self.dot_lines} lines starting with '.'")


def dot_stuff(msg: bytes) -> bytes:
    """The message as sent after DATA (SMTP/LMTP) or RETR (POP3): leading dots doubled."""
    stuffed = (b"\r\n" + msg).replace(b"\r\n.", b"\r\n..")[2:]
    return stuffed
