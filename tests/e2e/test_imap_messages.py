"""IMAP messages (RFC 9051 §6.3.1-6.3.2, §6.3.12, §6.4): APPEND (UIDPLUS, LITERAL+,
internal date, flags), SELECT/EXAMINE, FETCH (ENVELOPE, BODYSTRUCTURE, sections,
partial, BINARY), \\Seen, STORE, COPY/MOVE, EXPUNGE, CLOSE/UNSELECT, SEARCH (ESEARCH,
SEARCHRES, charset, encoded headers, dates, sizes), QUOTA.

One shared server; every test makes its own account and fills it with APPEND (or SMTP
where delivery matters).
"""
import base64
import datetime
import imaplib
import re

import pytest

from imap_util import (PASSWORD, appenduid, deliver, fetches, fill, new_account,
                       parse_fetch, raw, session, simple)

INTERNALDATE = "17-Jul-1996 02:44:25 -0700"

# ---- messages ------------------------------------------------------------------------

ATTACHMENT = bytes(range(256)) * 4 + b"\x00end"
ATT_B64 = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
PART1_BODY = b"Hello Bob,\r\nhere is the file.\r\n"
MIXED = (b"From: Ana Example <ana@example.org>\r\n"
         b"To: Bob <bob@example.org>, carol@example.org\r\n"
         b"Cc: Dan <dan@example.net>\r\n"
         b"Subject: with attachment\r\n"
         b"Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
         b"Message-ID: <mixed-1@test.example>\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n"
         b"\r\n"
         b"This is a MIME message.\r\n"
         b"--XyZ\r\n"
         b"Content-Type: text/plain; charset=us-ascii\r\n"
         b"\r\n" + PART1_BODY +
         b"\r\n--XyZ\r\n"
         b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
         b"\r\n" + ATT_B64 +
         b"\r\n--XyZ--\r\n")
PART2_MIME = (b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
              b"Content-Transfer-Encoding: base64\r\n"
              b"Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n")
MIXED_HEADER = MIXED[:MIXED.index(b"\r\n\r\n") + 4]
MIXED_TEXT = MIXED[len(MIXED_HEADER):]
# RFC 9051 §7.5.2 BODYSTRUCTURE: type, subtype, parameters, id, description, encoding,
# size (octets of the encoded body), lines (text only), then the extension data md5,
# disposition, language, location; a multipart lists its parts, subtype, parameters,
# disposition, language, location.
BODYSTRUCTURE = (
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d 2 NIL NIL NIL NIL)'
    '("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" %d NIL'
    ' ("attachment" ("filename" "data.bin")) NIL NIL)'
    ' "mixed" ("boundary" "XyZ") NIL NIL NIL)' % (len(PART1_BODY), len(ATT_B64)))


def latin1_b64_message():
    body = "El año que viene, señor.\r\n".encode("iso-8859-1")
    return simple("latin", base64.encodebytes(body).replace(b"\n", b"\r\n"),
                  extra_headers=["MIME-Version: 1.0",
                                 "Content-Type: text/plain; charset=ISO-8859-1",
                                 "Content-Transfer-Encoding: base64"])


def search_corpus():
    """Five messages for SEARCH, with their APPEND flags and internal dates."""
    m1 = simple("=?UTF-8?B?w5xuaWNvZGUgc3ViamVjdA==?=", "first body\r\n",
                sender="jose@example.org", to="bob@example.org",
                extra_headers=["X-Custom: alpha-value"])
    m1 = m1.replace(b"From: <jose@example.org>",
                    b"From: =?ISO-8859-1?Q?Jos=E9_P=E9rez?= <jose@example.org>")
    m1 = m1.replace(b"Date: Fri, 27 Nov 2026", b"Date: Wed, 01 Jan 2020")
    m2 = latin1_b64_message().replace(b"Date: Fri, 27 Nov 2026", b"Date: Tue, 15 Jun 2021")
    m3 = simple("big three", "word " * 4000 + "\r\n", to="carol@example.org")
    m4 = simple("deleted four", "gone\r\n")
    m5 = simple("answered five", "needle in this haystack\r\n",
                extra_headers=["X-Custom: beta"])
    return [(m1, "\\Seen", "01-Jan-2020 10:00:00 +0000"),
            (m2, "\\Flagged", "15-Jun-2021 10:00:00 +0000"),
            (m3, "", "01-Mar-2022 10:00:00 +0000"),
            (m4, "\\Deleted \\Seen", "01-Mar-2022 12:00:00 +0000"),
            (m5, "\\Answered $Label1", "10-Oct-2023 10:00:00 +0000")]


# ---- helpers -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def v(shared_valija):
    return shared_valija


@pytest.fixture
def user(v):
    return new_account(v)


def one_fetch(c, line, as_bytes=True):
    """Run a FETCH for one message; returns its {ITEM: value}."""
    u = c.ok(line, as_bytes=as_bytes)
    f = fetches(u)
    assert len(f) == 1, u
    return next(iter(f.values()))


def with_mixed(v, user, flags=""):
    c = session(v, user)
    st = c.append("INBOX", MIXED, flags=flags)
    uid = appenduid(st)[1]
    c.ok("SELECT INBOX")
    return c, uid


def seen(c, n=1):
    return "\\Seen" in one_fetch(c, "FETCH %d FLAGS" % n, as_bytes=False)["FLAGS"]


def with_corpus(v, user):
    c = session(v, user)
    for m, flags, date in search_corpus():
        appenduid(c.append("INBOX", m, flags=flags, date=date))
    c.ok("SELECT INBOX")
    return c


def search(c, criteria, uid=False):
    u, st = c.cmd(("UID SEARCH " if uid else "SEARCH ") + criteria)
    assert st.startswith("OK"), (criteria, st)
    lines = [x for x in u if x.startswith("* SEARCH")]
    assert len(lines) == 1, u
    return [int(x) for x in lines[0].split()[2:]]


# ---- APPEND --------------------------------------------------------------------------

def test_append_appenduid_and_stored_bytes(v, user):
    """RFC 4315 §3: APPEND answers [APPENDUID uidvalidity uid]; the message is stored
    octet for octet."""
    c = session(v, user)
    uv = int(re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS INBOX (UIDVALIDITY)")[0]).group(1))
    msg = simple("appended", "body\r\n")
    st = c.append("INBOX", msg)
    assert st == "OK [APPENDUID %d 1] APPEND completed" % uv, st
    assert appenduid(c.append("INBOX", msg))[1] == 2
    assert v.message(user, 1) == msg
    c.ok("EXAMINE INBOX")
    f = one_fetch(c, "FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    assert f["RFC822.SIZE"] == len(msg) and f["BODY[]"] == msg
    c.logout()


def test_append_flags_and_internal_date(v, user):
    """RFC 9051 §6.3.12: flags and date-time of APPEND become the message's."""
    c = session(v, user)
    appenduid(c.append("INBOX", simple("dated"), flags="\\Seen \\Flagged $Label1",
                       date=INTERNALDATE))
    c.ok("EXAMINE INBOX")
    f = one_fetch(c, "FETCH 1 (FLAGS INTERNALDATE)", as_bytes=False)
    assert sorted(f["FLAGS"]) == sorted(["\\Seen", "\\Flagged", "$Label1"]), f
    got = datetime.datetime.strptime(f["INTERNALDATE"], "%d-%b-%Y %H:%M:%S %z")
    want = datetime.datetime.strptime(INTERNALDATE, "%d-%b-%Y %H:%M:%S %z")
    assert got == want, f["INTERNALDATE"]
    c.logout()


def test_append_synchronising_literal(v, user):
    c = session(v, user)
    st = c.append("Drafts", simple("sync literal"), flags="\\Draft", plus=False)
    assert appenduid(st)[1] == 1
    assert c.ok("STATUS Drafts (MESSAGES)") == ["* STATUS Drafts (MESSAGES 1)"]
    c.logout()


def test_append_binary_literal8(v, user):
    """RFC 3516 §4.4: APPEND with literal8 `~{n}` stores binary content as given."""
    c = session(v, user)
    msg = simple("binary", b"", extra_headers=[
        "MIME-Version: 1.0", "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: binary"]) + b"\x00\x01\x02 raw\r\n"
    c.send(b"a APPEND INBOX ~{%d+}\r\n" % len(msg) + msg + b"\r\n")
    st = c.collect("a")[1]
    assert appenduid(st)[1] == 1
    c.ok("EXAMINE INBOX")
    assert one_fetch(c, "FETCH 1 BODY.PEEK[]")["BODY[]"] == msg
    c.logout()


def test_append_to_missing_mailbox_trycreate(v, user):
    """RFC 9051 §6.3.12: NO [TRYCREATE] when the mailbox does not exist."""
    c = session(v, user)
    st = c.append("NoSuchBox", simple("x"))
    assert st.startswith("NO [TRYCREATE]"), st
    c.ok("CREATE NoSuchBox")
    appenduid(c.append("NoSuchBox", simple("x")))
    c.logout()


def test_imaplib_append(v, user):
    c = v.imap(user, PASSWORD)
    typ, data = c.append("INBOX", "(\\Seen)", imaplib.Time2Internaldate(1e9),
                         simple("via imaplib"))
    assert typ == "OK" and data[0].startswith(b"[APPENDUID "), data
    assert c.select("INBOX") == ("OK", [b"1"])
    c.logout()


def test_append_in_selected_mailbox_shows_exists(v, user):
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.send(b"a APPEND INBOX {%d+}\r\n" % 5 + b"x\r\n\r\n" + b"\r\n")
    u, st = c.collect("a")
    assert st.startswith("OK [APPENDUID "), st
    assert "* 1 EXISTS" in u or "* 1 EXISTS" in c.ok("NOOP"), u
    c.logout()


# ---- SELECT / EXAMINE ----------------------------------------------------------------

def test_select_responses(v, user):
    """RFC 9051 §6.3.2 (and RFC 3501 §6.3.1 for RECENT), RFC 7162 §3.1.2.1."""
    fill(v, user, [simple("a"), simple("b")])
    c = session(v, user)
    uv = int(re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS INBOX (UIDVALIDITY)")[0]).group(1))
    u, st = c.cmd("SELECT INBOX")
    assert st == "OK [READ-WRITE] SELECT completed", st
    assert "* 2 EXISTS" in u and "* 2 RECENT" in u, u
    assert "* OK [UIDVALIDITY %d] UIDs valid" % uv in u, u
    assert "* OK [UIDNEXT 3] Predicted next UID" in u, u
    assert "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)" in u, u
    assert "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]" \
           " Flags permitted" in u, u
    assert [x for x in u if re.fullmatch(r"\* OK \[HIGHESTMODSEQ \d+\].*", x)], u
    c.logout()


def test_select_shows_first_unseen(v, user):
    """RFC 3501 §6.3.1: [UNSEEN n], the first unseen message (IMAP4rev1 clients use it)."""
    c = session(v, user)
    c.append("INBOX", simple("a"), flags="\\Seen")
    c.append("INBOX", simple("b"))
    u = c.ok("SELECT INBOX")
    assert [x for x in u if x.startswith("* OK [UNSEEN 2]")], u
    c.logout()


def test_examine_is_read_only(v, user):
    fill(v, user, [simple("a")])
    c = session(v, user)
    u, st = c.cmd("EXAMINE INBOX")
    assert st == "OK [READ-ONLY] EXAMINE completed", st
    assert "* 1 EXISTS" in u, u
    # RFC 9051 §6.3.3: PERMANENTFLAGS in EXAMINE is empty (nothing can be changed)
    perm = [x for x in u if "[PERMANENTFLAGS" in x]
    assert perm == [] or perm[0].startswith("* OK [PERMANENTFLAGS ()]"), perm
    c.logout()


def test_select_missing_mailbox(v, user):
    c = session(v, user)
    u, st = c.cmd("SELECT NoSuchBox")
    assert st.startswith("NO [NONEXISTENT]"), st
    # RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected
    assert c.cmd("FETCH 1 FLAGS")[1].startswith("BAD")
    c.logout()


def test_select_failure_deselects(v, user):
    c = session(v, user)
    c.ok("SELECT INBOX")
    assert c.cmd("SELECT NoSuchBox")[1].startswith("NO")
    assert c.cmd("NOOP")[1] == "OK NOOP completed"
    assert c.cmd("FETCH 1:* FLAGS")[1].startswith("BAD")
    c.logout()


def test_reselect_reports_closed(v, user):
    """RFC 9051 §7.1: [CLOSED] when a SELECT replaces a selected mailbox."""
    c = session(v, user)
    c.ok("SELECT INBOX")
    u = c.ok("SELECT Sent")
    assert "* OK [CLOSED] Previous mailbox is now closed" in u or \
        [x for x in u if x.startswith("* OK [CLOSED]")], u
    c.logout()


# ---- FETCH ---------------------------------------------------------------------------

def test_fetch_flags_uid_internaldate_size(v, user):
    c, uid = with_mixed(v, user, flags="\\Flagged")
    f = one_fetch(c, "FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE)", as_bytes=False)
    assert f["UID"] == uid and nonrecent(f["FLAGS"]) == ["\\Flagged"], f
    assert f["RFC822.SIZE"] == len(MIXED) == len(v.message(user, uid))
    assert re.fullmatch(r"\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}", f["INTERNALDATE"])
    c.logout()


def test_fetch_envelope(v, user):
    """RFC 9051 §7.5.2 ENVELOPE: date, subject, from, sender, reply-to (both default to
    From), to, cc, bcc, in-reply-to, message-id; addresses (name adl mailbox host)."""
    c, _ = with_mixed(v, user)
    u = c.ok("FETCH 1 ENVELOPE")
    ana = '(("Ana Example" NIL "ana" "example.org"))'
    assert u == ['* 1 FETCH (ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700" "with attachment" '
                 '%s %s %s (("Bob" NIL "bob" "example.org")(NIL NIL "carol" "example.org")) '
                 '(("Dan" NIL "dan" "example.net")) NIL NIL "<mixed-1@test.example>"))'
                 % (ana, ana, ana)], u
    c.logout()


def test_fetch_bodystructure(v, user):
    c, _ = with_mixed(v, user)
    u = c.ok("FETCH 1 BODYSTRUCTURE")
    assert u == ["* 1 FETCH (BODYSTRUCTURE %s)" % BODYSTRUCTURE], u
    c.logout()


def test_fetch_body_without_extension_data(v, user):
    """RFC 9051 §7.5.2: BODY is BODYSTRUCTURE without the extension data."""
    c, _ = with_mixed(v, user)
    u = c.ok("FETCH 1 BODY")
    want = ('(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d 2)'
            '("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" %d) "mixed")'
            % (len(PART1_BODY), len(ATT_B64)))
    assert u == ["* 1 FETCH (BODY %s)" % want], u
    c.logout()


def test_fetch_sections(v, user):
    """RFC 9051 §6.4.5: BODY[1], BODY[2.MIME], BODY[HEADER], BODY[TEXT],
    BODY[HEADER.FIELDS (...)], BODY[]<partial>."""
    c, _ = with_mixed(v, user)
    f = one_fetch(c, "FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[HEADER] BODY.PEEK[TEXT]"
                     " BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[]<0.10>"
                     " BODY.PEEK[2])")
    assert f["BODY[1]"] == PART1_BODY
    assert f["BODY[2.MIME]"] == PART2_MIME
    assert f["BODY[2]"] == ATT_B64
    assert f["BODY[HEADER]"] == MIXED_HEADER
    assert f["BODY[TEXT]"] == MIXED_TEXT
    assert f["BODY[HEADER.FIELDS (SUBJECT FROM)]"] == (
        b"From: Ana Example <ana@example.org>\r\nSubject: with attachment\r\n\r\n"), f
    assert f["BODY[]<0>"] == MIXED[:10]
    c.logout()


def test_fetch_header_fields_not(v, user):
    c, _ = with_mixed(v, user)
    f = one_fetch(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM TO CC DATE MESSAGE-ID)]")
    assert f["BODY[HEADER.FIELDS.NOT (SUBJECT FROM TO CC DATE MESSAGE-ID)]"] == (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n")
    c.logout()


def test_fetch_partial_past_end(v, user):
    """RFC 9051 §6.4.5: a partial fetch starting past the end is empty, one running over
    the end is clipped."""
    c, _ = with_mixed(v, user)
    f = one_fetch(c, "FETCH 1 (BODY.PEEK[]<%d.100> BODY.PEEK[1]<5.1000>)" % (len(MIXED) - 4))
    assert f["BODY[]<%d>" % (len(MIXED) - 4)] == MIXED[-4:]
    assert f["BODY[1]<5>"] == PART1_BODY[5:]
    f = one_fetch(c, "FETCH 1 BODY.PEEK[]<100000.10>")
    assert f["BODY[]<100000>"] in (b"", "")
    c.logout()


def test_fetch_binary_decodes(v, user):
    """RFC 3516 §4.2: BINARY[2] is the decoded content (a literal8 when it holds NUL);
    BINARY.SIZE[2] its decoded size."""
    c, _ = with_mixed(v, user)
    f = one_fetch(c, "FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1])")
    assert f["BINARY[2]"] == ATTACHMENT
    assert f["BINARY.SIZE[2]"] == len(ATTACHMENT)
    assert f["BINARY[1]"] == PART1_BODY
    u = c.ok("FETCH 1 BINARY.PEEK[2]", as_bytes=True)
    assert u[0].startswith(b"* 1 FETCH (BINARY[2] ~{%d}\r\n" % len(ATTACHMENT)), u[0][:60]
    assert not seen(c)
    c.logout()


def test_fetch_missing_part_is_nil(v, user):
    """RFC 9051 §6.4.5: a part that does not exist fetches as NIL."""
    c, _ = with_mixed(v, user)
    f = one_fetch(c, "FETCH 1 (BODY.PEEK[5] BODY.PEEK[2.3] BINARY.PEEK[7])")
    assert f == {"BODY[5]": None, "BODY[2.3]": None, "BINARY[7]": None}, f
    c.logout()


def test_fetch_body_sets_seen_peek_does_not(v, user):
    """RFC 9051 §6.4.5: BODY[] sets \\Seen (with an untagged FLAGS), BODY.PEEK[] does not."""
    c, _ = with_mixed(v, user)
    one_fetch(c, "FETCH 1 BODY.PEEK[]")
    one_fetch(c, "FETCH 1 BINARY.PEEK[1]")
    assert not seen(c)
    f = one_fetch(c, "FETCH 1 BODY[TEXT]")
    assert "FLAGS" in f and b"\\Seen" in [x.encode() if isinstance(x, str) else x
                                          for x in f["FLAGS"]], f
    assert seen(c)
    c.logout()


def test_examine_never_sets_seen(v, user):
    c = session(v, user)
    c.append("INBOX", MIXED)
    c.ok("EXAMINE INBOX")
    f = one_fetch(c, "FETCH 1 (BODY[] RFC822 BINARY[1])")
    assert "FLAGS" not in f, f
    assert not seen(c)
    c.ok("SELECT INBOX")
    assert not seen(c)
    c.logout()


def test_fetch_macros(v, user):
    """RFC 3501 §6.4.5: ALL, FAST, FULL; RFC822.HEADER and RFC822.TEXT."""
    c, uid = with_mixed(v, user)
    f = one_fetch(c, "FETCH 1 FAST", as_bytes=False)
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}, f
    f = one_fetch(c, "FETCH 1 FULL", as_bytes=False)
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}, f
    f = one_fetch(c, "FETCH 1 (RFC822.HEADER RFC822.TEXT)")
    assert f["RFC822.HEADER"] == MIXED_HEADER and f["RFC822.TEXT"] == MIXED_TEXT
    c.logout()


def test_large_message_byte_exact(v, user):
    """About 3 MiB over APPEND and back in one FETCH, octet for octet."""
    line = b"".join(b"%06d: the quick brown fox jumps over the lazy dog \xc3\xa1\r\n" % i
                    for i in range(50000))
    msg = simple("large", line[:3 * 1024 * 1024])
    c = session(v, user)
    appenduid(c.append("INBOX", msg))
    c.ok("EXAMINE INBOX")
    f = one_fetch(c, "FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    assert f["RFC822.SIZE"] == len(msg)
    assert f["BODY[]"] == msg
    c.logout()


def test_imaplib_fetch(v, user):
    fill(v, user, [MIXED])
    c = v.imap(user, PASSWORD)
    c.select("INBOX")
    typ, data = c.uid("FETCH", "1", "(BODY.PEEK[1])")
    assert typ == "OK" and data[0][1] == PART1_BODY, data
    c.logout()


def test_fetch_out_of_range_is_bad(v, user):
    """RFC 9051 §6.4.5 / §9: a sequence number above EXISTS is an error (BAD)."""
    fill(v, user, [simple("a"), simple("b")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    assert c.cmd("FETCH 3 FLAGS")[1].startswith("BAD")
    assert c.cmd("FETCH 1:3 FLAGS")[1].startswith("BAD")
    assert c.cmd("FETCH 0 FLAGS")[1].startswith("BAD")
    # a UID set that matches nothing is fine (RFC 9051 §6.4.9)
    assert c.cmd("UID FETCH 100:200 FLAGS") == ([], "OK UID FETCH completed") or \
        c.cmd("UID FETCH 100:200 FLAGS")[1].startswith("OK")
    c.logout()


def test_uid_fetch_includes_uid(v, user):
    """RFC 9051 §6.4.9: UID FETCH responses always carry UID."""
    fill(v, user, [simple("a"), simple("b"), simple("c")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    f = fetches(c.ok("UID FETCH 2:* FLAGS"))
    assert {n: d["UID"] for n, d in f.items()} == {2: 2, 3: 3}, f
    f = fetches(c.ok("UID FETCH * FLAGS"))  # * is the highest UID
    assert list(f) == [3]
    c.logout()


# ---- STORE ---------------------------------------------------------------------------

def nonrecent(flags):
    """Flags without \\Recent (which the first session to see a message gets)."""
    return sorted(f for f in flags if f != "\\Recent")


def flags_of(c, n):
    return nonrecent(one_fetch(c, "FETCH %d FLAGS" % n, as_bytes=False)["FLAGS"])


def test_store_add_remove_replace(v, user):
    """RFC 9051 §6.4.6: +FLAGS, -FLAGS, FLAGS, each answered with the new flags."""
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    u = c.ok("STORE 1 +FLAGS (\\Flagged $Label1)")
    assert nonrecent(fetches(u)[1]["FLAGS"]) == ["$Label1", "\\Flagged"], u
    u = c.ok("STORE 1 -FLAGS (\\Flagged)")
    assert nonrecent(fetches(u)[1]["FLAGS"]) == ["$Label1"], u
    u = c.ok("STORE 1 FLAGS (\\Seen \\Answered)")
    assert nonrecent(fetches(u)[1]["FLAGS"]) == ["\\Answered", "\\Seen"], u
    assert flags_of(c, 1) == ["\\Answered", "\\Seen"]
    c.logout()


def test_store_silent(v, user):
    fill(v, user, [simple("a"), simple("b")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    assert c.ok("STORE 1:2 +FLAGS.SILENT (\\Seen)") == []
    assert flags_of(c, 2) == ["\\Seen"]
    c.logout()


def test_uid_store_includes_uid(v, user):
    """RFC 3501 §6.4.8: a FETCH response caused by a UID command includes UID."""
    fill(v, user, [simple("a"), simple("b")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    f = fetches(c.ok("UID STORE 2 +FLAGS (\\Flagged)"))
    assert list(f) == [2] and f[2].get("UID") == 2, f
    assert nonrecent(f[2]["FLAGS"]) == ["\\Flagged"], f
    c.logout()


def test_new_keyword_joins_flags(v, user):
    """RFC 9051 §7.3.5: FLAGS lists the flags applicable in the mailbox; a keyword in
    use is one (clients build their tag lists from it)."""
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS ($Label1)")
    u = c.ok("SELECT INBOX")
    assert [x for x in u if x.startswith("* FLAGS ") and "$Label1" in x], u
    c.logout()


def test_store_in_examine_is_refused(v, user):
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("EXAMINE INBOX")
    u, st = c.cmd("STORE 1 +FLAGS (\\Deleted)")
    assert st.startswith("NO"), st
    assert flags_of(c, 1) == []
    assert c.cmd("EXPUNGE")[1].startswith("NO")
    c.logout()


def test_store_recent_is_not_settable(v, user):
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    u, st = c.cmd("STORE 1 +FLAGS (\\Recent)")
    assert st.startswith("BAD") or (st.startswith("OK") and "\\Recent" not in flags_of(c, 1)), st
    c.logout()


@pytest.mark.parametrize("line", ["UID STORE 2:9 +FLAGS (\\Seen)", "UID COPY 5:9 Trash",
                                  "UID MOVE 7 Trash", "UID STORE 9 +FLAGS (\\Seen)"])
def test_uid_commands_ignore_missing_uids(v, user, line):
    """RFC 9051 §6.4.9: "A non-existent unique identifier is ignored without any error
    message generated" (another session may have expunged it)."""
    fill(v, user, [simple("a"), simple("b")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    u, st = c.cmd(line)
    assert st.startswith("OK"), (line, st)
    c.logout()


# ---- COPY / MOVE ---------------------------------------------------------------------

def uidvalidity(c, mailbox):
    u = c.ok("STATUS %s (UIDVALIDITY)" % mailbox)
    return int(re.search(r"UIDVALIDITY (\d+)", u[0]).group(1))


def test_copy_copyuid(v, user):
    """RFC 4315 §3: COPY answers [COPYUID uidvalidity source-uids dest-uids]."""
    fill(v, user, [simple("a"), simple("b"), simple("c")])
    c = session(v, user)
    uv = uidvalidity(c, "Archive")
    c.ok("SELECT INBOX")
    c.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")
    u, st = c.cmd("COPY 2:3 Archive")
    assert st == "OK [COPYUID %d 2:3 1:2] COPY completed" % uv, st
    c.ok("EXAMINE Archive")
    f = fetches(c.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", as_bytes=True))
    assert [f[n]["BODY[HEADER.FIELDS (SUBJECT)]"] for n in (1, 2)] == [
        b"Subject: b\r\n\r\n", b"Subject: c\r\n\r\n"]
    assert "\\Flagged" in f[1]["FLAGS"]
    c.ok("EXAMINE INBOX")
    assert len(fetches(c.ok("FETCH 1:* UID"))) == 3
    c.logout()


def test_uid_copy_to_missing_mailbox_trycreate(v, user):
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    assert c.cmd("UID COPY 1 Nowhere")[1].startswith("NO [TRYCREATE]")
    assert c.cmd("MOVE 1 Nowhere")[1].startswith("NO [TRYCREATE]")
    c.logout()


def test_move_copyuid_and_expunge(v, user):
    """RFC 6851 §3.3: MOVE sends [COPYUID] in an untagged OK before the EXPUNGEs."""
    fill(v, user, [simple("a"), simple("b"), simple("c")])
    c = session(v, user)
    uv = uidvalidity(c, "Trash")
    c.ok("SELECT INBOX")
    u, st = c.cmd("MOVE 1:2 Trash")
    assert st.startswith("OK"), st
    assert u == ["* OK [COPYUID %d 1:2 1:2] Moved" % uv, "* 1 EXPUNGE", "* 1 EXPUNGE"] or (
        u[0].startswith("* OK [COPYUID %d 1:2 1:2]" % uv) and u[1:] == ["* 1 EXPUNGE"] * 2), u
    f = fetches(c.ok("FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])", as_bytes=True))
    assert f == {1: {"UID": 3, "BODY[HEADER.FIELDS (SUBJECT)]": b"Subject: c\r\n\r\n"}}, f
    assert c.ok("STATUS Trash (MESSAGES)") == ["* STATUS Trash (MESSAGES 2)"]
    c.logout()


def test_uid_move(v, user):
    fill(v, user, [simple("a"), simple("b"), simple("c")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    u, st = c.cmd("UID MOVE 2 Junk")
    assert st.startswith("OK"), st
    assert "* 2 EXPUNGE" in u, u
    assert [x for x in u if x.startswith("* OK [COPYUID ")], u
    assert c.ok("STATUS Junk (MESSAGES)") == ["* STATUS Junk (MESSAGES 1)"]
    c.logout()


def test_imaplib_copy_and_move(v, user):
    fill(v, user, [simple("a"), simple("b")])
    c = v.imap(user, PASSWORD)
    c.select("INBOX")
    typ, data = c.copy("1", "Archive")
    assert typ == "OK" and data[0].startswith(b"[COPYUID "), data
    typ, data = c._simple_command("MOVE", "2", "Archive")
    assert typ == "OK", data
    assert c.status("Archive", "(MESSAGES)")[1] == [b"Archive (MESSAGES 2)"]
    c.logout()


# ---- EXPUNGE, CLOSE, UNSELECT --------------------------------------------------------

def test_expunge(v, user):
    """RFC 9051 §6.4.3: one * n EXPUNGE per removed message, numbers as they shift."""
    fill(v, user, [simple(s) for s in "abcd"])
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    u, st = c.cmd("EXPUNGE")
    assert st.startswith("OK"), st
    assert u == ["* 3 EXPUNGE", "* 1 EXPUNGE"] or u == ["* 1 EXPUNGE", "* 2 EXPUNGE"], u
    f = fetches(c.ok("FETCH 1:* UID"))
    assert {n: d["UID"] for n, d in f.items()} == {1: 2, 2: 4}
    c.logout()


def test_uid_expunge(v, user):
    """RFC 4315 §2.1: UID EXPUNGE removes only the \\Deleted messages in the set."""
    fill(v, user, [simple(s) for s in "abc"])
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    u, st = c.cmd("UID EXPUNGE 2")
    assert st.startswith("OK") and u == ["* 2 EXPUNGE"], (u, st)
    f = fetches(c.ok("FETCH 1:* UID"))
    assert {n: d["UID"] for n, d in f.items()} == {1: 1, 2: 3}
    c.logout()


def test_close_expunges_silently(v, user):
    """RFC 9051 §6.4.1: CLOSE removes \\Deleted messages without EXPUNGE responses."""
    fill(v, user, [simple(s) for s in "ab"])
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.cmd("CLOSE") == ([], "OK CLOSE completed")
    assert c.cmd("FETCH 1 FLAGS")[1].startswith("BAD")  # back to authenticated
    assert c.ok("STATUS INBOX (MESSAGES)") == ["* STATUS INBOX (MESSAGES 1)"]
    c.logout()


def test_close_after_examine_keeps_deleted(v, user):
    c = session(v, user)
    c.append("INBOX", simple("a"), flags="\\Deleted")
    c.ok("EXAMINE INBOX")
    assert c.cmd("CLOSE")[1].startswith("OK")
    assert c.ok("STATUS INBOX (MESSAGES)") == ["* STATUS INBOX (MESSAGES 1)"]
    c.logout()


def test_unselect_does_not_expunge(v, user):
    """RFC 3691: UNSELECT leaves \\Deleted messages in place."""
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.cmd("UNSELECT")[1].startswith("OK")
    assert c.ok("STATUS INBOX (MESSAGES DELETED)") == ["* STATUS INBOX (MESSAGES 1 DELETED 1)"]
    c.logout()


# ---- SEARCH --------------------------------------------------------------------------

@pytest.mark.parametrize("criteria,want", [
    ("ALL", [1, 2, 3, 4, 5]),
    ("SEEN", [1, 4]),
    ("UNSEEN", [2, 3, 5]),
    ("FLAGGED", [2]),
    ("DELETED", [4]),
    ("UNDELETED UNSEEN", [2, 3, 5]),
    ("ANSWERED", [5]),
    ("KEYWORD $Label1", [5]),
    ("UNKEYWORD $Label1", [1, 2, 3, 4]),
    ("NEW", [2, 3, 5]),  # RECENT UNSEEN; all recent in this first session
    ("FROM jose", [1]),
    ("FROM \"José\"", [1]),  # RFC 2047 decoded before matching
    ("FROM \"pérez\"", [1]),
    ("SUBJECT \"Ünicode\"", [1]),
    ("SUBJECT THREE", [3]),
    ("TO carol", [3]),
    ("HEADER X-Custom alpha", [1]),
    ("HEADER X-Custom \"\"", [1, 5]),
    ("BODY needle", [5]),
    ("TEXT needle", [5]),
    ("TEXT X-Custom", [1, 5]),  # TEXT covers the header too
    ('BODY "año"', [2]),  # base64 ISO-8859-1 body decoded
    ("LARGER 10000", [3]),
    ("SMALLER 1000", [1, 2, 4, 5]),
    ("BEFORE 1-Jun-2021", [1]),
    ("SINCE 1-Mar-2022", [3, 4, 5]),
    ("ON 1-Mar-2022", [3, 4]),
    ("SENTBEFORE 2-Jan-2020", [1]),
    ("SENTON 15-Jun-2021", [2]),
    ("SENTSINCE 1-Jan-2026", [3, 4, 5]),
    ("1:3", [1, 2, 3]),
    ("2:*", [2, 3, 4, 5]),
    ("UID 4:*", [4, 5]),
    ("UID *", [5]),
    ("OR FLAGGED ANSWERED", [2, 5]),
    ("NOT SEEN", [2, 3, 5]),
    ("(SEEN UNDELETED) BODY first", [1]),
    ("OR (FROM jose) (OR SUBJECT three SUBJECT five)", [1, 3, 5]),
    ("NOT (OR SEEN FLAGGED)", [3, 5]),
    ("SUBJECT nothing-like-this", []),
])
def test_search(v, criteria, want):
    user = new_account(v)
    c = with_corpus(v, user)
    assert search(c, "CHARSET UTF-8 " + criteria) == want
    c.logout()


def test_search_charset_literal_imaplib(v, user):
    """RFC 9051 §6.4.4: the search string in a literal, CHARSET UTF-8, matched
    case-insensitively against the decoded ISO-8859-1 body ("año")."""
    fill(v, user, [simple("other", "nothing\r\n"), latin1_b64_message()])
    c = v.imap(user, PASSWORD)
    c.select("INBOX")
    c.literal = "AÑO".encode()
    typ, data = c.search("UTF-8", "BODY")
    assert (typ, data) == ("OK", [b"2"])
    c.literal = "SEÑOR".encode()
    typ, data = c.search("UTF-8", "TEXT")
    assert (typ, data) == ("OK", [b"2"])
    c.logout()


def test_search_unknown_charset(v, user):
    """RFC 9051 §6.4.4: NO [BADCHARSET] for an unsupported charset."""
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    u, st = c.cmd("SEARCH CHARSET X-NO-SUCH-CHARSET TEXT a")
    assert st.startswith("NO [BADCHARSET"), st
    c.logout()


def test_uid_search(v, user):
    c = with_corpus(v, user)
    c.ok("UID STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok("UID EXPUNGE 1")
    assert search(c, "SEEN", uid=True) == [4]
    assert search(c, "ALL") == [1, 2, 3, 4]
    assert search(c, "UID 1:2", uid=True) == [2]
    c.logout()


def esearch(c, line):
    """(uid, {NAME: value}) of the one * ESEARCH answering `line`; checks its tag."""
    u, st = c.cmd(line)
    assert st.startswith("OK"), (line, st)
    tag = "t%d" % (next(c._tags) - 1)
    assert len(u) == 1, u
    m = re.fullmatch(r'\* ESEARCH \(TAG "%s"\)( UID)?((?: \S+ \S+)*)' % tag, u[0])
    assert m, u
    words = m.group(2).split()
    return bool(m.group(1)), dict(zip(words[::2], words[1::2]))


def test_esearch(v, user):
    """RFC 4731 §3.1: SEARCH RETURN (MIN MAX COUNT ALL) answers * ESEARCH (TAG ...)."""
    c = with_corpus(v, user)
    assert esearch(c, "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN") == (
        False, {"MIN": "2", "MAX": "5", "COUNT": "3", "ALL": "2:3,5"})
    assert esearch(c, "UID SEARCH RETURN (COUNT) SEEN") == (True, {"COUNT": "2"})
    # RFC 4731 §3.1: RETURN () is RETURN (ALL)
    assert esearch(c, "SEARCH RETURN () FLAGGED") == (False, {"ALL": "2"})
    # no match: MIN, MAX and ALL are left out
    assert esearch(c, "SEARCH RETURN (MIN COUNT ALL) SUBJECT no-such") == (
        False, {"COUNT": "0"})
    c.logout()


def test_searchres_saved_result(v, user):
    """RFC 5182: SEARCH RETURN (SAVE) keeps the result; "$" uses it."""
    c = with_corpus(v, user)
    u, st = c.cmd("SEARCH RETURN (SAVE) FLAGGED")
    assert st.startswith("OK") and u == [], (u, st)
    f = fetches(c.ok("FETCH $ (UID)"))
    assert {n: d["UID"] for n, d in f.items()} == {2: 2}, f
    c.ok("UID STORE $ +FLAGS.SILENT (\\Seen)")
    assert search(c, "UNSEEN") == [3, 5]
    c.logout()


def test_search_bad_syntax(v, user):
    fill(v, user, [simple("a")])
    c = session(v, user)
    c.ok("SELECT INBOX")
    for crit in ["FROBNICATE", "OR SEEN", "BEFORE 32-Jan-2020", "LARGER x", "(SEEN"]:
        assert c.cmd("SEARCH " + crit)[1].startswith("BAD"), crit
    c.logout()


# ---- QUOTA ---------------------------------------------------------------------------

def test_getquotaroot_shows_resources(v):
    """RFC 9208 §4.3: STORAGE in units of 1024 octets, MESSAGE in messages."""
    user = new_account(v)
    v.cli_ok("user", "quota", user, "10M", "--messages", "100")
    fill(v, user, [simple("a", "x" * 3000)])
    c = session(v, user)
    u = c.ok("GETQUOTAROOT INBOX")
    assert u[0] == '* QUOTAROOT INBOX ""', u
    m = re.fullmatch(r'\* QUOTA "" \(STORAGE (\d+) 10240 MESSAGE 1 100\)', u[1])
    assert m and int(m.group(1)) >= 3, u
    assert c.ok('GETQUOTA ""') == [u[1]]
    assert c.cmd('SETQUOTA "" (STORAGE 1)')[1].startswith("NO")
    c.logout()


def test_append_over_quota(v):
    """RFC 9208 §4.3/§7: NO [OVERQUOTA], nothing stored."""
    user = new_account(v)
    v.cli_ok("user", "quota", user, "20K")
    c = session(v, user)
    appenduid(c.append("INBOX", simple("small", "x" * 1000)))
    st = c.append("INBOX", simple("big", "y" * 30000))
    assert st.startswith("NO [OVERQUOTA]"), st
    assert c.ok("STATUS INBOX (MESSAGES)") == ["* STATUS INBOX (MESSAGES 1)"]
    c.logout()


def test_message_count_quota(v):
    user = new_account(v)
    v.cli_ok("user", "quota", user, "0", "--messages", "2")
    c = session(v, user)
    appenduid(c.append("INBOX", simple("1")))
    appenduid(c.append("INBOX", simple("2")))
    assert c.append("INBOX", simple("3")).startswith("NO [OVERQUOTA]")
    assert c.ok("STATUS INBOX (MESSAGES)") == ["* STATUS INBOX (MESSAGES 2)"]
    c.logout()


def test_copy_over_quota_stores_nothing(v):
    user = new_account(v)
    v.cli_ok("user", "quota", user, "20K")
    c = session(v, user)
    for i in range(3):
        appenduid(c.append("INBOX", simple("m%d" % i, "z" * 5000)))
    c.ok("SELECT INBOX")
    u, st = c.cmd("COPY 1:3 Archive")
    assert st.startswith("NO [OVERQUOTA]"), st
    assert c.ok("STATUS Archive (MESSAGES)") == ["* STATUS Archive (MESSAGES 0)"]
    c.logout()


def test_copy_over_quota_when_only_part_fits_stores_nothing(v):
    """RFC 9208 §4.3 / SECURITY-CASES: a COPY whose first message would still fit but
    whose whole set does not is refused whole: NO [OVERQUOTA], no partial copy; the
    same for UID COPY; a copy that fits afterwards works."""
    user = new_account(v)
    v.cli_ok("user", "quota", user, "20K")
    c = session(v, user)
    for i in range(2):
        appenduid(c.append("INBOX", simple("m%d" % i, "z" * 6000)))  # ~12 KiB used
    c.ok("SELECT INBOX")
    for line in ("COPY 1:2 Archive", "UID COPY 1:* Archive", "COPY 1,2 Archive"):
        u, st = c.cmd(line)
        assert st.startswith("NO [OVERQUOTA]"), (line, st)
        assert c.ok("STATUS Archive (MESSAGES)") == ["* STATUS Archive (MESSAGES 0)"], line
    assert c.ok("STATUS INBOX (MESSAGES)") == ["* STATUS INBOX (MESSAGES 2)"]
    u, st = c.cmd("COPY 1 Archive")  # one fits: ~18 KiB of 20
    assert st.startswith("OK [COPYUID "), st
    assert c.ok("STATUS Archive (MESSAGES)") == ["* STATUS Archive (MESSAGES 1)"]
    c.logout()
