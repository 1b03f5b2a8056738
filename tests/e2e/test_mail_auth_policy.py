"""What the mail authentication results do on port 25 (docs/authentication.md, "What
the results do"): DKIM signatures that verify but authenticate nothing (an l= that
leaves appended content unsigned, a key in testing mode) and so never satisfy DMARC.

As in test_mail_auth.py, clients connect from 127.0.0.1 with exempt_networks = [].
"""
import base64
import re

import dkim
import nacl.signing  # python3-nacl, installed with python3-dkim
import pytest

from conftest import make_message
from outbound_env import env  # noqa: F401 - the env fixture
from test_mail_auth import ZONE, auth_results, checked_env, send, stored, txt

SEED = bytes(range(32))
ED_PUB = base64.b64encode(bytes(nacl.signing.SigningKey(SEED).verify_key)).decode()


def message_checked(e, since):
    """The summary of the next event=message_checked log line."""
    return e.v.wait_log(r"event=message_checked .*", since=since).group(0)


# ---- DKIM that verifies but authenticates nothing ---------------------------------------

def ed_signed(domain, body=b"Signed content.\r\n", **kw):
    msg = make_message("signed", body, sender="ceo@" + domain, to="ana@local.example")
    return dkim.sign(msg, b"ed", domain.encode(), base64.b64encode(SEED), signature_algorithm=b"ed25519-sha256",
                     **kw) + msg


APPENDED = b"\r\nUrgent: wire the money to the account below.\r\n"


def key_zone(flags=""):
    zone = dict(ZONE)
    for domain in ("signed.example", "quarantine.example"):
        zone["ed._domainkey." + domain] = {"TXT": [txt("v=DKIM1; k=ed25519; %sp=%s" % (flags, ED_PUB))]}
    return zone


@pytest.mark.parametrize("case", ["l= tail", "t=y"])
def test_dkim_that_authenticates_nothing_does_not_satisfy_dmarc(env, case):
    """RFC 6376 §8.2: content appended after an l= signature's signed part is no one's;
    §3.6.1: a key in testing mode is treated as unsigned. Both are reported, neither
    gives DMARC a pass: a domain with p=reject has the message refused (550 5.7.1; the
    envelope's SPF passes, unaligned), p=quarantine has it in Junk."""
    length = case == "l= tail"
    e = checked_env(env, zones=key_zone("" if length else "t=y; "))
    tail = APPENDED if length else b""
    if length:
        # Control: the untouched message passes DKIM and DMARC.
        code, full = send(e, "bob@pass.example", ed_signed("signed.example", length=True))
        assert code == 250, full
        ar = auth_results(stored(e))[0]
        assert "dkim=pass header.d=signed.example" in ar and "dmarc=pass" in ar, ar
    mark = e.v.log_mark()
    code, full = send(e, "bob@pass.example", ed_signed("signed.example", length=length) + tail)
    assert code == 550 and full.split()[1] == "5.7.1" and "signed.example" in full, full
    line = message_checked(e, mark)
    assert ("dkim=policy" if length else "dkim=pass") in line and "dmarc=fail" in line and "action=reject" in line, line

    code, full = send(e, "bob@pass.example", ed_signed("quarantine.example", length=length) + tail)
    assert code == 250, full
    ar = auth_results(stored(e, "Junk"))[0]
    if length:
        assert re.search(r"dkim=policy \(l= leaves \d+ octets unsigned\) header\.d=quarantine\.example", ar), ar
    else:
        assert "dkim=pass (key in testing mode) header.d=quarantine.example" in ar, ar
    assert "dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.example" in ar, ar
