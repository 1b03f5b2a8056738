"""What the mail authentication results do on port 25 (docs/authentication.md, "What
the results do"): the action per SPF result ([checks] spf_fail, spf_softfail,
spf_neutral, spf_none, spf_permerror, spf_temperror: mark, dmarc, junk, reject/defer);
DKIM signatures that verify but authenticate nothing (an l= that leaves appended
content unsigned, a key in testing mode) and so never satisfy DMARC; SPF of the null
sender (the HELO identity); the strictest DMARC outcome of a message with several
author domains; iprev required while DNS fails.

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

POLICY_ZONE = dict(ZONE)
POLICY_ZONE.update({
    "helo.pass.example": {"TXT": ['"v=spf1 ip4:127.0.0.0/8 -all"']},
    "helo.fail.example": {"TXT": ['"v=spf1 ip4:192.0.2.1 -all"']},
})


def mail_from(e, sender, helo="client.example"):
    """The reply (code, text) to MAIL FROM on a fresh port 25 session."""
    with e.v.raw() as c:
        c.greeting()
        c.ehlo(helo)
        code, _, full = c.cmd("MAIL FROM:<%s>" % sender)
        return code, full


def message_checked(e, since):
    """The summary of the next event=message_checked log line."""
    return e.v.wait_log(r"event=message_checked .*", since=since).group(0)


# ---- SPF: one action per result ----------------------------------------------------

@pytest.mark.parametrize("key,domain,code,status", [
    ("spf_fail", "fail.example", 550, "5.7.23"),        # RFC 7372 §3.2
    ("spf_softfail", "soft.example", 550, "5.7.1"),
    ("spf_neutral", "neutral.example", 550, "5.7.1"),
    ("spf_none", "nospf.example", 550, "5.7.1"),
    ("spf_permerror", "perm.example", 550, "5.7.24"),   # RFC 7372 §3.2 in place of 5.5.2
])
def test_spf_reject_refuses_at_mail_from(env, key, domain, code, status):
    e = checked_env(env, extra='%s = "reject"\n' % key)
    got, full = mail_from(e, "bob@" + domain)
    assert (got, full.split()[1]) == (code, status), full
    assert domain in full, full
    e.v.wait_log(r"event=spf_refused .*from=\"?<bob@%s>" % re.escape(domain))
    # The other results still pass MAIL FROM.
    assert mail_from(e, "bob@pass.example")[0] == 250


def test_spf_defer_and_reject_answer_at_mail_from(env):
    e = checked_env(env, extra='spf_temperror = "defer"\nspf_permerror = "reject"\n', servfail=("broken.example",))
    assert mail_from(e, "bob@broken.example")[1].startswith("451 4.7.24"), "temperror defers"
    assert mail_from(e, "bob@perm.example")[1].startswith("550 5.7.24"), "permerror refuses"
    assert mail_from(e, "bob@fail.example")[0] == 250  # spf_fail is "dmarc": decided at end of data


@pytest.mark.parametrize("key,domain,servfail", [
    ("spf_fail", "fail.example", ()), ("spf_softfail", "soft.example", ()), ("spf_neutral", "neutral.example", ()),
    ("spf_none", "nospf.example", ()), ("spf_permerror", "perm.example", ()),
    ("spf_temperror", "broken.example", ("broken.example",)),
])
def test_spf_junk_delivers_to_junk(env, key, domain, servfail):
    e = checked_env(env, extra='%s = "junk"\n' % key, servfail=servfail)
    # From a domain without DMARC, so the SPF action alone decides.
    code, full = send(e, "bob@" + domain, make_message("junk", "x", sender="bob@pass.example",
                                                        to="ana@local.example"))
    assert code == 250, full
    ar = auth_results(stored(e, "Junk"))[0]
    assert "spf=%s " % key[len("spf_"):] in ar, ar
    assert e.v.bodies("ana@local.example") == []
    # A passing sender still lands in INBOX.
    code, full = send(e, "bob@pass.example", make_message("inbox", "x", sender="bob@pass.example",
                                                          to="ana@local.example"))
    assert code == 250, full
    stored(e, "INBOX")


def test_spf_mark_only_records(env):
    e = checked_env(env, extra='spf_fail = "mark"\nspf_softfail = "mark"\n')
    for n, (domain, result) in enumerate((("fail.example", "fail"), ("soft.example", "softfail")), 1):
        code, full = send(e, "bob@" + domain, make_message(domain, "x", sender="bob@" + domain,
                                                            to="ana@local.example"))
        assert code == 250, full
        ar = auth_results(stored(e, n=n))[0]
        assert "spf=%s smtp.mailfrom=bob@%s" % (result, domain) in ar, ar
    assert e.v.bodies("ana@local.example", "Junk") == []


@pytest.mark.parametrize("spf_fail,dmarc_reject,code,status,folder", [
    # The default: an SPF fail from a domain whose DMARC says reject is refused, 5.7.23.
    ("dmarc", "reject", 550, "5.7.23", None),
    # "mark": the SPF fail itself does nothing; DMARC still refuses, for its own reason.
    ("mark", "reject", 550, "5.7.1", None),
    # DMARC rejections softened to Junk: "dmarc" still refuses the SPF fail ...
    ("dmarc", "junk", 550, "5.7.23", None),
    # ... "mark" leaves it to DMARC's action.
    ("mark", "junk", 250, None, "Junk"),
])
def test_spf_fail_dmarc_versus_mark(env, spf_fail, dmarc_reject, code, status, folder):
    e = checked_env(env, extra='spf_fail = "%s"\ndmarc_reject = "%s"\n' % (spf_fail, dmarc_reject))
    got, full = send(e, "ceo@reject.example", make_message("forged", "x", sender="ceo@reject.example",
                                                            to="ana@local.example"))
    assert got == code, full
    if status:
        assert full.split()[1] == status and "reject.example" in full, full
        assert e.v.bodies("ana@local.example") == [] and e.v.bodies("ana@local.example", "Junk") == []
    else:
        ar = auth_results(stored(e, folder))[0]
        assert "spf=fail" in ar and "dmarc=fail (p=reject " in ar, ar


def test_spf_fail_dmarc_needs_the_envelope_domain_to_be_the_rejecting_authors(env):
    """spf_fail = "dmarc" refuses with 5.7.23 only when the domain that failed SPF is the
    one whose DMARC says reject. Here SPF fails for fail.example (no DMARC record) and
    the From domain reject.example fails DMARC (p=reject) for lack of alignment:
    DMARC's own action (junk) applies, and dis= says so."""
    e = checked_env(env, extra='dmarc_reject = "junk"\n')
    code, full = send(e, "bob@fail.example", make_message("unaligned", "x", sender="ceo@reject.example",
                                                          to="ana@local.example"))
    assert code == 250, full
    ar = auth_results(stored(e, "Junk"))[0]
    assert "spf=fail" in ar and "dmarc=fail (p=reject dis=quarantine) header.from=reject.example" in ar, ar


def test_spf_fail_dmarc_does_not_reject_without_a_dmarc_reject_policy(env):
    """spf_fail = "dmarc" (the default): SPF fail from a domain with p=quarantine or no
    DMARC record is only marked (DMARC's own action applies)."""
    e = checked_env(env)
    code, full = send(e, "bob@fail.example", make_message("no dmarc", "x", sender="bob@fail.example",
                                                          to="ana@local.example"))
    assert code == 250, full
    ar = auth_results(stored(e))[0]
    assert "spf=fail" in ar and "dmarc=none" in ar, ar


# ---- SPF of the null sender: the HELO identity (RFC 7208 §2.4) --------------------------

def test_null_sender_spf_checks_the_helo_name(env):
    e = checked_env(env, zones=POLICY_ZONE)
    code, full = send(e, "", make_message("bounce", "x", sender="mailer-daemon@pass.example",
                                          to="ana@local.example"), helo="helo.pass.example")
    assert code == 250, full
    m = stored(e)
    assert "spf=pass smtp.mailfrom=postmaster@helo.pass.example" in auth_results(m)[0], auth_results(m)
    header = re.sub(r"\r\n[ \t]+", " ", m.split(b"\r\n\r\n", 1)[0].decode())
    received_spf = re.search(r"^Received-SPF: (.*)$", header, re.M).group(1)
    assert received_spf.startswith("pass ") and "helo=helo.pass.example" in received_spf, received_spf


def test_null_sender_refused_for_the_helo_names_spf_fail(env):
    e = checked_env(env, extra='spf_fail = "reject"\n', zones=POLICY_ZONE)
    code, full = mail_from(e, "", helo="helo.fail.example")
    assert code == 550 and full.split()[1] == "5.7.23" and "helo.fail.example" in full, full
    assert mail_from(e, "", helo="helo.pass.example")[0] == 250


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


# ---- several author domains: the strictest outcome --------------------------------------

def two_authors(first, second):
    msg = make_message("two authors", "x", sender="x@example.invalid", to="ana@local.example")
    return msg.replace(b"From: <x@example.invalid>", b"From: <%s>, <%s>" % (first.encode(), second.encode()))


@pytest.mark.parametrize("first,second", [("bob@pass.example", "ceo@reject.example"),
                                          ("ceo@reject.example", "bob@pass.example"),
                                          ("x@quarantine.example", "ceo@reject.example")])
def test_two_from_addresses_the_strictest_outcome_applies(env, first, second):
    """RFC 7489 §6.6.1: each author domain is checked. The envelope's SPF passes and
    aligns with pass.example (no DMARC record); reject.example fails with p=reject."""
    e = checked_env(env)
    code, full = send(e, "bob@pass.example", two_authors(first, second))
    assert code == 550 and full.split()[1] == "5.7.1" and "reject.example" in full, full


def test_two_from_addresses_quarantine_beats_none(env):
    e = checked_env(env)
    code, full = send(e, "bob@pass.example", two_authors("bob@pass.example", "x@quarantine.example"))
    assert code == 250, full
    ar = auth_results(stored(e, "Junk"))[0]
    assert re.search(r"dmarc=none (\([^)]*\) )?header\.from=pass\.example", ar), ar
    assert "dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.example" in ar, ar


# ---- iprev required while DNS fails ------------------------------------------------------

def test_iprev_required_defers_when_dns_fails(env):
    e = checked_env(env, extra='iprev = "require"\n', servfail=("1.0.0.127.in-addr.arpa",))
    with e.v.raw() as c:
        code, _, full = c.reply()
        assert code == 421 and full.split()[1] == "4.7.25", full
        assert "try again later" in full, full
    e.v.wait_log(r"event=client_checked .*iprev=temperror")
