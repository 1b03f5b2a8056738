"""The two POP3 servers, each a private instance under one work directory.

valija: `valija serve --data DIR --port-base N` (local mode: SMTP on N+25, POP3
on N+110), accounts made with `valija user add --password-stdin`, filled over SMTP.

Dovecot: the Debian package (dovecot-core + dovecot-pop3d + dovecot-lmtpd) with
its own config (`dovecot -F -c FILE`), base_dir, state_dir and log under the work
dir, POP3 on 127.0.0.1:<port> only, LMTP on a unix socket, Maildir storage,
passwd-file passdb with {ARGON2ID} hashes of valija's parameters, filled over
LMTP. Nothing in /etc or /var is used or changed.
"""
import ctypes
import grp
import os
import subprocess
import time

from pop3gen import pop3_greeting
from procs import ServerError, kill_pid, proc_status, tail, terminate, wait_smtp_ready  # ../smtp_ingest

MAIL_UID = 5000  # Dovecot's virtual mail owner, as in bench/smtp_ingest/peer.py
# valija's password hashing (src/auth/password.{hpp,cpp}): Argon2id, 19 MiB, 2 passes, 1 lane,
# 16-byte salt, 32-byte hash, PHC string, made and verified with libsodium, as Dovecot does.
ARGON2_T, ARGON2_M_KIB, ARGON2_P, SALT_LEN, HASH_LEN = 2, 19456, 1, 16, 32


def argon2id_phc(password: str) -> str:
    """An Argon2id PHC string made with libsodium (the library valija hashes with) via ctypes."""
    try:
        lib = ctypes.CDLL("libsodium.so.23")
    except OSError as e:
        raise ServerError(f"libsodium.so.23 not found (Debian package libsodium23): {e}")
    if lib.sodium_init() < 0:
        raise ServerError("sodium_init failed")
    lib.crypto_pwhash_str_alg.restype = ctypes.c_int
    lib.crypto_pwhash_str_alg.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
                                          ctypes.c_ulonglong, ctypes.c_size_t, ctypes.c_int]
    pw = password.encode()
    buf = ctypes.create_string_buffer(128)  # crypto_pwhash_STRBYTES
    rc = lib.crypto_pwhash_str_alg(buf, pw, len(pw), ARGON2_T, ARGON2_M_KIB * 1024, 2)  # 2: ARGON2ID13
    if rc != 0:
        raise ServerError(f"crypto_pwhash_str_alg failed: {rc}")
    return buf.value.decode()


def valija_version(binary) -> str:
    try:
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip()
    except OSError as e:
        return f"unavailable ({e})"


def dovecot_version() -> str:
    r = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
    return f"Dovecot {r.stdout.strip()}"


def dovecot_cpu_seconds(master_pid):
    """CPU seconds of Dovecot so far: its master with its reaped children (cutime, cstime)
    plus its live children, so a child that exits during a run is counted once."""
    total = 0.0
    tck = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        if int(entry.name) == master_pid:
            total += sum(int(x) for x in fields[11:15]) / tck  # utime stime cutime cstime
        elif int(fields[1]) == master_pid:  # Dovecot's children are all the master's
            total += (int(fields[11]) + int(fields[12])) / tck
    return total


class ValijaPop3:
    name = "valija"

    def __init__(self, binary, workdir, port_base, accounts, auth_cache_ttl=None, name="valija"):
        """auth_cache_ttl None: local mode, all defaults. A number: config mode with the
        same two listeners (SMTP, POP3 on 127.0.0.1) and [limits] auth_cache_ttl set."""
        self.name = name
        self.auth_cache_ttl = auth_cache_ttl
        self.binary = os.path.abspath(binary)
        self.dir = os.path.abspath(workdir)
        self.data = os.path.join(self.dir, "data")
        self.port_base = port_base
        self.smtp_port = port_base + 25
        self.port = port_base + 110
        self.accounts = accounts
        self.log = os.path.join(self.dir, "valija.log")
        self._proc = None
        self.pid = None

    def _cli(self, *argv, stdin=None):
        return subprocess.run([self.binary, *argv], input=stdin, capture_output=True, text=True, timeout=60)

    def start(self, need_pop3=True):
        if not os.access(self.binary, os.X_OK):
            raise ServerError(f"valija binary not found or not executable: {self.binary}")
        os.makedirs(self.dir, exist_ok=True)
        # `serve` adds the local-mode domain on its first start; the accounts come first here
        d = self._cli("domain", "add", "localhost", "--data", self.data)
        if d.returncode != 0 and "exist" not in (d.stdout + d.stderr):
            raise ServerError(f"valija domain add failed (rc {d.returncode}): {d.stdout}{d.stderr}".strip())
        for user, password in self.accounts:
            r = self._cli("user", "add", user, "--password-stdin", "--data", self.data, stdin=password + "\n")
            if r.returncode != 0:
                raise ServerError(f"valija user add {user} failed (rc {r.returncode}): {r.stdout}{r.stderr}".strip())
        argv = [self.binary, "serve", "--data", self.data, "--port-base", str(self.port_base)]
        conf_text = self.config_text()
        if conf_text is not None:
            conf = os.path.join(self.dir, "valija.toml")
            with open(conf, "w") as f:
                f.write(conf_text)
            argv = [self.binary, "serve", "--config", conf, "--data", self.data]
        log = open(self.log, "wb")
        self._proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        self.pid = self._proc.pid
        wait_smtp_ready(self.smtp_port, 30, alive=lambda: self._proc.poll() is None, what="valija", log=self.log)
        if need_pop3 and not self.serves_pop3():
            raise ServerError(f"valija does not serve POP3 on 127.0.0.1:{self.port} (its ready line: "
                              f"{self.ready_line() or 'none'})")

    def config_text(self):
        """None: local mode. Otherwise the TOML of config mode (bench/imap_load overrides this)."""
        if self.auth_cache_ttl is None:
            return None
        return f"""# bench/pop3_load: local mode's SMTP and POP3 listeners, verified-password cache set
hostname = "localhost"
domains = ["localhost"]

[[listener]]
address = "127.0.0.1"
port = {self.smtp_port}
role = "smtp"

[[listener]]
address = "127.0.0.1"
port = {self.port}
role = "pop3"

[limits]
auth_cache_ttl = {self.auth_cache_ttl}
"""

    def ready_line(self):
        try:
            with open(self.log, errors="replace") as f:
                return next((ln.strip() for ln in f if "event=ready" in ln), None)
        except OSError:
            return None

    def serves_pop3(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.ready_line()
            if line is not None:
                return " pop3=" in line and pop3_greeting("127.0.0.1", self.port)
            time.sleep(0.1)
        return False

    def fill_target(self):
        return {"host": "127.0.0.1", "port": self.smtp_port, "lmtp": False}

    def stop(self):
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        terminate(proc, grace=10)
        if proc.returncode not in (0, -15):
            raise ServerError(f"valija exited with {proc.returncode} on SIGTERM; log:\n{tail(self.log)}")

    def footprint(self):
        return proc_status(self.pid) if self._proc is not None else None


class DovecotPop3:
    name = "dovecot"

    def __init__(self, workdir, port, accounts, login_procs=None):
        self.dir = os.path.abspath(workdir)
        self.port = port
        self.accounts = accounts
        self.login_procs = login_procs or os.cpu_count() or 1
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.run_dir = os.path.join(self.dir, "run")
        self.log = os.path.join(self.dir, "dovecot.log")
        self.lmtp = os.path.join(self.run_dir, "lmtp")
        self._proc = None
        self.pid = None

    def start(self, need_pop3=True):
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        os.chmod(self.dir, 0o755)  # the mail uid must traverse it
        passwd = os.path.join(self.dir, "users")
        with open(passwd, "w") as f:
            for user, password in self.accounts:
                home = os.path.join(self.dir, "mail", user.split("@")[0])
                os.makedirs(home, exist_ok=True)
                uid = self.mail_uid(user)
                os.chown(home, uid, uid)
                f.write(f"{user}:{{ARGON2ID}}{argon2id_phc(password)}:{uid}:{uid}::{home}\n")
        os.chown(passwd, 0, grp.getgrnam("dovecot").gr_gid)  # the auth process runs as dovecot
        os.chmod(passwd, 0o640)
        with open(self.conf, "w") as f:
            f.write(self.config_text(passwd))
        out = open(os.path.join(self.dir, "dovecot.stderr"), "wb")
        self._proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdout=out, stderr=out,
                                      stdin=subprocess.DEVNULL)
        out.close()
        self.pid = self._proc.pid
        deadline = time.monotonic() + 30
        while not (os.path.exists(self.lmtp) and self.greets()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise ServerError("dovecot did not start:\n" + tail(os.path.join(self.dir, "dovecot.stderr"))
                                  + "\n" + tail(self.log))
            time.sleep(0.05)

    def mail_uid(self, user):
        """The uid owning `user`'s mail (bench/imap_idle gives each account its own)."""
        return MAIL_UID

    def greets(self):
        return pop3_greeting("127.0.0.1", self.port)

    def config_text(self, passwd):
        return f"""# private Dovecot for bench/pop3_load; Debian defaults otherwise
instance_name = dovecot-pop3bench-{self.port}
base_dir = {self.run_dir}
state_dir = {self.dir}/state
protocols = pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {self.log}
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = {MAIL_UID}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
# high-performance login mode: long-lived login processes, one per CPU, each serving many clients
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
  service_count = 0
  process_min_avail = {self.login_procs}
  vsz_limit = 1G
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
"""

    def fill_target(self):
        return {"unix_path": self.lmtp, "lmtp": True}

    def stop(self):
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        kill_pid(proc.pid)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def footprint(self):
        return None
