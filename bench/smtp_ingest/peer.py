"""The peer: a private Postfix instance delivering into a private Dovecot over LMTP.

Both run from their Debian packages with their own config, queue, state and
log files under one work directory; nothing in /etc or /var is used or changed,
and nothing listens beyond 127.0.0.1:<smtp_port> (Dovecot's LMTP listener is a
unix socket). Durability settings are the defaults: Postfix fsyncs the queue
file before its 250, Dovecot delivers with mail_fsync = optimized.
"""
import os
import subprocess
import time

from procs import ServerError, kill_pid, pid_alive, tail, wait_smtp_ready

MAIL_UID = 5000  # the virtual mail owner; first_valid_uid below admits it
_SERVICES = [  # Debian's master.cf services, chroot off (the instance has no chroot tree)
    ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
    ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
    ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
    ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
    ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
    ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
    ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
    ("proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap"),
    ("smtp", "unix", "-", "-", "n", "-", "-", "smtp"),
    ("relay", "unix", "-", "-", "n", "-", "-", "smtp"),
    ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
    ("error", "unix", "-", "-", "n", "-", "-", "error"),
    ("retry", "unix", "-", "-", "n", "-", "-", "error"),
    ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
    ("local", "unix", "-", "n", "n", "-", "-", "local"),
    ("virtual", "unix", "-", "n", "n", "-", "-", "virtual"),
    ("lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"),
    ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
    ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
    ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
]


def versions() -> str:
    pf = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True, text=True)
    dc = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
    return f"Postfix {pf.stdout.strip()}, Dovecot {dc.stdout.strip()}"


class PeerServer:
    name = "postfix+dovecot"
    acks_are_durable_deliveries = False  # Postfix acks when queued, delivers later

    def __init__(self, workdir, smtp_port, user, password):
        self.dir = os.path.abspath(workdir)
        self.port = smtp_port
        self.user = user
        self.password = password
        self.pf_conf = os.path.join(self.dir, "postfix")
        self.dc_conf = os.path.join(self.dir, "dovecot", "dovecot.conf")
        self.dc_run = os.path.join(self.dir, "dovecot", "run")
        self.home = os.path.join(self.dir, "mail", "bench")
        self.maildir = os.path.join(self.home, "Maildir")
        self.pf_log = os.path.join(self.dir, "postfix.log")
        self.dc_log = os.path.join(self.dir, "dovecot.log")
        self._dovecot = None
        self._postfix_started = False
        self.pid = None  # no single process to measure

    # --- lifecycle ---
    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)  # postfix and the mail uid must traverse it
        self._write_dovecot()
        self._write_postfix()
        self._start_dovecot()
        self._start_postfix()

    def stop(self):
        errors = []
        if self._postfix_started:
            self._postfix_started = False
            r = subprocess.run(["postfix", "-c", self.pf_conf, "stop"], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append(f"postfix stop: {r.stdout}{r.stderr}".strip())
            pid = self._read_pid(os.path.join(self.dir, "queue", "pid", "master.pid"))
            if pid and pid_alive(pid):
                kill_pid(pid)
        if self._dovecot is not None:
            pid = self._read_pid(os.path.join(self.dc_run, "master.pid")) or self._dovecot.pid
            kill_pid(pid)
            try:
                self._dovecot.wait(10)
            except subprocess.TimeoutExpired:
                self._dovecot.kill()
            self._dovecot = None
        if errors:
            raise ServerError("; ".join(errors))

    # --- delivery checks ---
    def delivered_count(self) -> int:
        n = 0
        for sub in ("new", "cur"):
            try:
                with os.scandir(os.path.join(self.maildir, sub)) as it:
                    n += sum(1 for e in it if e.is_file())
            except FileNotFoundError:
                pass
        return n

    def delivered_tokens(self):
        """(count, list of tokens found in the delivered files' headers)."""
        from loadgen import TOKEN_RE
        tokens = []
        count = 0
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                count += 1
                with open(os.path.join(d, name), "rb") as f:
                    head = f.read(4096)
                m = TOKEN_RE.search(head[head.find(b"Message-ID:"):] if b"Message-ID:" in head else head)
                if m:
                    tokens.append(m.group(0).decode())
        return count, tokens

    def footprint(self):
        return None

    # --- setup ---
    def _write_dovecot(self):
        os.makedirs(self.dc_run, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "dovecot", "state"), exist_ok=True)
        os.makedirs(self.home, exist_ok=True)
        os.chown(self.home, MAIL_UID, MAIL_UID)
        passwd = os.path.join(self.dir, "dovecot", "users")
        with open(passwd, "w") as f:
            f.write(f"{self.user}:{{PLAIN}}{self.password}:{MAIL_UID}:{MAIL_UID}::{self.home}\n")
        with open(self.dc_conf, "w") as f:
            f.write(f"""# private Dovecot for bench/smtp_ingest; defaults otherwise
instance_name = dovecot-bench-{self.port}
base_dir = {self.dc_run}
state_dir = {self.dir}/dovecot/state
protocols = lmtp
listen = 127.0.0.1
ssl = no
log_path = {self.dc_log}
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
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
""")

    def _write_postfix(self):
        os.makedirs(self.pf_conf, exist_ok=True)
        # postfix chdirs into queue_directory before post-install creates the rest
        os.makedirs(os.path.join(self.dir, "queue"), mode=0o755, exist_ok=True)
        with open(os.path.join(self.pf_conf, "main.cf"), "w") as f:
            f.write(f"""# private Postfix for bench/smtp_ingest; defaults otherwise
compatibility_level = 3.6
queue_directory = {self.dir}/queue
data_directory = {self.dir}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = peer.bench.localdomain
mydomain = bench.localdomain
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
virtual_mailbox_domains = {self.user.split('@')[1]}
virtual_mailbox_maps = inline:{{ {self.user}=ok }}
virtual_transport = lmtp:unix:{self.dc_run}/lmtp
maillog_file = {self.pf_log}
maillog_file_prefixes = {self.dir}
syslog_name = postfix-bench
biff = no
""")
        with open(os.path.join(self.pf_conf, "master.cf"), "w") as f:
            f.write(f"127.0.0.1:{self.port} inet n - n - - smtpd\n")
            for svc in _SERVICES:
                f.write(" ".join(svc) + "\n")

    def _start_dovecot(self):
        log = open(os.path.join(self.dir, "dovecot.stderr"), "wb")
        self._dovecot = subprocess.Popen(["dovecot", "-F", "-c", self.dc_conf],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        sock = os.path.join(self.dc_run, "lmtp")
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if self._dovecot.poll() is not None or time.monotonic() > deadline:
                raise ServerError("dovecot did not start:\n"
                                  + tail(os.path.join(self.dir, "dovecot.stderr")) + "\n" + tail(self.dc_log))
            time.sleep(0.05)

    def _start_postfix(self):
        r = subprocess.run(["postfix", "-c", self.pf_conf, "start"], capture_output=True, text=True)
        if r.returncode != 0:
            raise ServerError(f"postfix start failed: {r.stdout}{r.stderr}\n{tail(self.pf_log)}")
        self._postfix_started = True
        pidfile = os.path.join(self.dir, "queue", "pid", "master.pid")
        wait_smtp_ready(self.port, 30, what="postfix",
                        alive=lambda: pid_alive(self._read_pid(pidfile) or 0) or not os.path.exists(pidfile),
                        log=self.pf_log)

    @staticmethod
    def _read_pid(path):
        try:
            with open(path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
