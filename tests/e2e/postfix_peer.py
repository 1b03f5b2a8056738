"""A private Postfix instance for the interop tests (Debian's postfix package, its own
config directory, queue and log under the test's directory; nothing in /etc or /var is
used). It listens on one loopback address and port, and either delivers mail for its
domains into maildirs there (a destination MTA) or relays everything to a relay host (a
sender relaying into valija). STARTTLS with a certificate given by the test.
"""
import os
import socket
import subprocess
import shutil
import tempfile
import time

MAIL_UID = 5000
SERVICES = [  # Debian's master.cf services, chroot off
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
    ("virtual", "unix", "-", "n", "n", "-", "-", "virtual"),
    ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
    ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
    ("tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr"),
    ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
]


class PostfixPeer:
    """`workdir` must be reachable by the postfix user: a directory of its own under /tmp
    (pytest's tmp_path sits in a 0700 tree), removed by stop()."""

    def __init__(self, address, port, cert, key, mailboxes=(), relayhost=None, name="peer.example"):
        self.dir = tempfile.mkdtemp(prefix="valija-postfix-", dir="/tmp")
        self.address, self.port = address, port
        self.conf = os.path.join(self.dir, "conf")
        self.log = os.path.join(self.dir, "postfix.log")
        self.mail = os.path.join(self.dir, "mail")
        self.mailboxes = list(mailboxes)
        os.makedirs(self.conf, exist_ok=True)
        # The certificate is copied in: postfix must be able to read it.
        for src, dst in ((cert, "cert.pem"), (key, "key.pem")):
            shutil.copy(src, os.path.join(self.dir, dst))
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        domains = sorted({m.split("@")[1] for m in self.mailboxes})
        os.makedirs(os.path.join(self.dir, "queue"), mode=0o755, exist_ok=True)
        os.makedirs(self.mail, exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chown(self.mail, MAIL_UID, MAIL_UID)
        maps = ", ".join("%s=%s/" % (m, m) for m in self.mailboxes)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.dir}/queue
data_directory = {self.dir}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = {name}
mydomain = {name}
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
maillog_file = {self.log}
maillog_file_prefixes = {self.dir}
syslog_name = postfix-test-{port}
biff = no
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtpd_tls_received_header = yes
relayhost = {relayhost or ""}
virtual_mailbox_domains = {" ".join(domains)}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = {"inline:{ " + maps + " }" if maps else ""}
virtual_uid_maps = static:{MAIL_UID}
virtual_gid_maps = static:{MAIL_UID}
virtual_minimum_uid = 100
""")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(f"{address}:{port} inet n - n - - smtpd\n")
            for svc in SERVICES:
                f.write(" ".join(svc) + "\n")

    def start(self):
        r = subprocess.run(["postfix", "-c", self.conf, "start"], capture_output=True, text=True)
        if r.returncode != 0:
            # postfix writes its fatal errors to a terminal or its log only: ask `check`.
            check = subprocess.run(["postfix", "-c", self.conf, "check"], capture_output=True, text=True)
            shutil.rmtree(self.dir, ignore_errors=True)
            raise AssertionError("postfix start failed: %s%s%s" % (r.stdout, r.stderr, check.stderr))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.address, self.port), timeout=2) as s:
                    if s.recv(100).startswith(b"220"):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("postfix did not start:\n" + self.log_text())

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True, text=True)
        if not os.environ.get("VALIJA_KEEP_POSTFIX"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def messages(self, mailbox):
        """The messages delivered to `mailbox` (bytes each)."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.mail, mailbox, sub)
            if os.path.isdir(d):
                for n in sorted(os.listdir(d)):
                    with open(os.path.join(d, n), "rb") as f:
                        out.append(f.read())
        return out

    def wait_messages(self, mailbox, n=1, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages(mailbox)
            if len(got) >= n:
                return got
            time.sleep(0.1)
        raise AssertionError("no mail for %s at postfix; log:\n%s" % (mailbox, self.log_text()[-3000:]))
