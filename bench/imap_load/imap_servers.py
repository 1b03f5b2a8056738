"""The IMAP servers: bench/pop3_load's private instances (servers.py), with IMAP
listeners instead of POP3 ones.

valija: `valija serve --data DIR --port-base N` (local mode: IMAP on N+143,
IMAPS on N+993, SMTP on N+25), or config mode (`--config FILE`) with only the
SMTP and IMAP(S) listeners when a [limits] setting is needed (valija-nc:
auth_cache_ttl = 0; imap_idle: connection limits for many connections).

Dovecot: the Debian package with its own config, base_dir, state_dir and log,
`protocols = imap lmtp`, IMAP (or IMAPS) on 127.0.0.1 only, LMTP on a unix
socket, Maildir, passwd-file with {ARGON2ID} hashes of valija's parameters.
"""
import os
import subprocess

from imapc import imap_greeting
from procs import ServerError  # ../smtp_ingest
from servers import MAIL_UID, DovecotPop3, ValijaPop3, dovecot_cpu_seconds  # noqa: F401 (../pop3_load)


class ValijaImap(ValijaPop3):
    """limits: {key: value} for [limits] (implies config mode); imaps: an IMAPS listener too
    (and the IMAP one is still there); auth_cache_ttl as in ValijaPop3."""

    def __init__(self, binary, workdir, port_base, accounts, auth_cache_ttl=None, name="valija",
                 limits=None, tls=False):
        super().__init__(binary, workdir, port_base, accounts, auth_cache_ttl=auth_cache_ttl, name=name)
        self.limits = dict(limits or {})
        if auth_cache_ttl is not None:
            self.limits["auth_cache_ttl"] = auth_cache_ttl
        self.tls = tls
        self.imap_port = port_base + 143
        self.imaps_port = port_base + 993
        self.port = self.imaps_port if tls else self.imap_port

    def ports(self):
        """The TCP ports this instance binds on 127.0.0.1."""
        if not self.limits:  # local mode: every service
            return [self.port_base + p for p in (25, 110, 143, 465, 587, 993, 995)]
        return [self.smtp_port, self.imap_port] + ([self.imaps_port] if self.tls else [])

    def config_text(self):
        if not self.limits:
            return None
        listeners = [("smtp", self.smtp_port), ("imap", self.imap_port)] + \
            ([("imaps", self.imaps_port)] if self.tls else [])
        text = ["# bench/imap_load, bench/imap_idle: local mode's SMTP and IMAP listeners; [limits] set",
                'hostname = "localhost"', 'domains = ["localhost"]', ""]
        for role, port in listeners:
            text += ["[[listener]]", 'address = "127.0.0.1"', f"port = {port}", f'role = "{role}"', ""]
        text.append("[limits]")
        text += [f"{k} = {v}" for k, v in self.limits.items()]
        return "\n".join(text) + "\n"

    def start(self):
        super().start(need_pop3=False)
        if not imap_greeting("127.0.0.1", self.port, timeout=5, tls=self.tls):
            raise ServerError(f"valija does not serve IMAP{'S' if self.tls else ''} on 127.0.0.1:{self.port} "
                              f"(its ready line: {self.ready_line() or 'none'})")


def self_signed(dirpath):
    """A throwaway certificate for Dovecot's IMAPS (openssl CLI); returns (cert, key)."""
    cert, key = os.path.join(dirpath, "cert.pem"), os.path.join(dirpath, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=localhost"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise ServerError(f"openssl req failed: {r.stderr.strip()}")
    os.chmod(key, 0o600)
    return cert, key


class DovecotImap(DovecotPop3):
    """tls: IMAPS instead of IMAP. extra: more configuration lines appended (imap_idle's limits).
    per_account_uid: account k's mail belongs to uid 5000 + k (see bench/README.md, imap_idle)."""

    def __init__(self, workdir, port, accounts, tls=False, extra="", login_extra="", per_account_uid=False,
                 login_procs=None):
        super().__init__(workdir, port, accounts, login_procs=login_procs)
        self.tls = tls
        self.extra = extra
        self.login_extra = login_extra
        self.per_account_uid = per_account_uid
        self._uids = {u: MAIL_UID + k for k, (u, _) in enumerate(accounts)}

    def mail_uid(self, user):
        return self._uids[user] if self.per_account_uid else MAIL_UID

    def greets(self):
        return imap_greeting("127.0.0.1", self.port, tls=self.tls)

    def start(self):
        if self.tls:
            os.makedirs(self.dir, exist_ok=True)
            self.cert, self.key = self_signed(self.dir)
        super().start()

    def config_text(self, passwd):
        if self.tls:
            ssl = f"ssl = required\nssl_cert = <{self.cert}\nssl_key = <{self.key}"
            listeners = f"""  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}"""
        else:
            ssl = "ssl = no\ndisable_plaintext_auth = no"
            listeners = f"""  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}"""
        return f"""# private Dovecot for bench/imap_load and bench/imap_idle; Debian defaults otherwise
instance_name = dovecot-imapbench-{self.port}
base_dir = {self.run_dir}
state_dir = {self.dir}/state
protocols = imap lmtp
listen = 127.0.0.1
{ssl}
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
service imap-login {{
{listeners}
  service_count = 0
  process_min_avail = {self.login_procs}
  vsz_limit = 1G
{self.login_extra}}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
{self.extra}"""


def tree_memory(pid):
    """(processes, VmRSS KiB summed, Pss KiB summed) of `pid` and all its descendants.
    Pss shares each shared page among the processes mapping it (no double counting)."""
    children = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        ppid = int(raw[raw.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    pending, procs = [pid], []
    while pending:
        p = pending.pop()
        procs.append(p)
        pending += children.get(p, [])
    rss = pss = 0
    n = 0
    for p in procs:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                        break
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                        break
            n += 1
        except OSError:
            continue
    return n, rss, pss
