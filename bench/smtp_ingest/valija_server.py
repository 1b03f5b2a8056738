"""valija in local mode: `valija serve --data DIR --port-base N` (SMTP on N+25)."""
import os
import subprocess

from procs import ServerError, proc_status, tail, terminate, wait_smtp_ready


def version(binary) -> str:
    try:
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip()
    except OSError as e:
        return f"unavailable ({e})"


class ValijaServer:
    name = "valija"
    acks_are_durable_deliveries = True  # 250 after end of DATA only once stored in the mailbox

    def __init__(self, binary, workdir, port_base, user, password):
        self.binary = os.path.abspath(binary)
        self.dir = os.path.abspath(workdir)
        self.data = os.path.join(self.dir, "data")
        self.port_base = port_base
        self.port = port_base + 25
        self.user = user
        self.password = password
        self.log = os.path.join(self.dir, "valija.log")
        self._proc = None
        self.pid = None
        self.last_list_error = None

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise ServerError(f"valija binary not found or not executable: {self.binary}")
        os.makedirs(self.dir, exist_ok=True)
        r = self._add_user()
        if r.returncode != 0 and "unknown domain" in r.stderr:
            # `serve` adds the local-mode domain on its first start; the user comes first here
            domain = self.user.split("@", 1)[1]
            d = self._cli("domain", "add", domain, "--data", self.data)
            if d.returncode != 0:
                raise ServerError(f"valija domain add failed (rc {d.returncode}): {d.stdout}{d.stderr}".strip())
            r = self._add_user()
        if r.returncode != 0:
            raise ServerError(f"valija user add failed (rc {r.returncode}): {r.stdout}{r.stderr}".strip())
        log = open(self.log, "wb")
        self._proc = subprocess.Popen(
            [self.binary, "serve", "--data", self.data, "--port-base", str(self.port_base)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        self.pid = self._proc.pid
        wait_smtp_ready(self.port, 30, alive=lambda: self._proc.poll() is None, what="valija", log=self.log)

    def _cli(self, *argv, stdin=None):
        return subprocess.run([self.binary, *argv], input=stdin, capture_output=True, text=True, timeout=60)

    def _add_user(self):
        return self._cli("user", "add", self.user, "--password-stdin", "--data", self.data,
                         stdin=self.password + "\n")

    def stop(self):
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        terminate(proc, grace=10)
        if proc.returncode not in (0, -15):
            raise ServerError(f"valija exited with {proc.returncode} on SIGTERM; log:\n{tail(self.log)}")

    def footprint(self):
        return proc_status(self.pid) if self._proc is not None else None

    def _list(self):
        r = subprocess.run([self.binary, "mail", "list", self.user, "--data", self.data],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            self.last_list_error = f"valija mail list rc {r.returncode}: {r.stderr.strip()[:500]}"
            raise ServerError(self.last_list_error)
        # one line per message; header and blank lines do not start with a digit
        return [ln for ln in r.stdout.splitlines() if ln[:1].isdigit()]

    def delivered_count(self) -> int:
        return len(self._list())

    def delivered_tokens(self):
        """(count, tokens seen in the listing); the listing may not show subjects,
        in which case the caller falls back to counting."""
        from loadgen import TOKEN_RE
        lines = self._list()
        tokens = []
        for ln in lines:
            m = TOKEN_RE.search(ln.encode())
            if m:
                tokens.append(m.group(0).decode())
        return len(lines), tokens
