"""IMAP mailboxes (RFC 9051 §6.3.3-6.3.11): LIST with special-use (RFC 6154) and
children attributes (RFC 3348), LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819),
LSUB, CREATE (CREATE-SPECIAL-USE), DELETE, RENAME, SUBSCRIBE, STATUS, modified UTF-7
and UTF-8 names, and names that must not escape the account.
"""
import re

import pytest

from imap_util import PASSWORD, appenduid, fill, new_account, raw, session, simple

DEFAULT_LIST = [
    '* LIST (\\HasNoChildren \\Archive) "/" Archive',
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\HasNoChildren) "/" INBOX',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
    '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
]


@pytest.fixture(scope="module")
def v(shared_valija):
    return shared_valija


@pytest.fixture
def user(v):
    return new_account(v)


@pytest.fixture
def c(v, user):
    c = session(v, user)
    yield c
    c.close()


def listing(c, args='"" *'):
    """{name: (attributes set, delimiter)} of a LIST."""
    out = {}
    for u in c.ok("LIST " + args):
        m = re.fullmatch(r'\* LIST \(([^)]*)\) ("/"|NIL) (.+)', u)
        assert m, u
        name = m.group(3)
        if name.startswith('"'):
            name = name[1:-1]
        out[name] = (set(m.group(1).split()), m.group(2))
    return out


def names(c, args='"" *'):
    return sorted(listing(c, args))


# ---- LIST ----------------------------------------------------------------------------

def test_list_default_mailboxes(c):
    """RFC 6154 §2: special-use attributes in LIST; RFC 3348 children attributes."""
    assert sorted(c.ok('LIST "" *')) == sorted(DEFAULT_LIST)


def test_list_delimiter(c):
    """RFC 9051 §6.3.9: LIST "" "" gives the hierarchy delimiter and the root."""
    assert c.ok('LIST "" ""') == ['* LIST (\\Noselect) "/" ""']


def test_list_patterns(c):
    c.ok("CREATE Work/Projects/Alpha")
    c.ok("CREATE Work/Notes")
    assert names(c, '"" Work/%') == ["Work/Notes", "Work/Projects"]
    assert names(c, '"" Work/*') == ["Work/Notes", "Work/Projects", "Work/Projects/Alpha"]
    assert names(c, '"" %') == ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "Work"]
    assert names(c, 'Work/ %') == ["Work/Notes", "Work/Projects"]  # reference prefix
    assert names(c, '"" inbox') == ["INBOX"]  # INBOX is case-insensitive
    assert names(c, '"" Nothing*') == []
    ls = listing(c)
    assert ls["Work"][0] == {"\\HasChildren"}
    assert ls["Work/Projects/Alpha"][0] == {"\\HasNoChildren"}


def test_list_noselect_parent(c):
    """A deleted parent with children stays as \\Noselect (RFC 9051 §6.3.5)."""
    c.ok("CREATE Parent/Child")
    c.ok("DELETE Parent")
    ls = listing(c)
    assert ls["Parent"][0] == {"\\Noselect", "\\HasChildren"}, ls["Parent"]
    assert c.cmd("SELECT Parent")[1].startswith("NO")


def test_list_extended_subscribed(c):
    """RFC 5258 §3: LIST (SUBSCRIBED) lists subscribed mailboxes with \\Subscribed."""
    c.ok("CREATE Unsub")
    c.ok("UNSUBSCRIBE Unsub")
    ls = listing(c, '(SUBSCRIBED) "" *')
    assert "Unsub" not in ls and "INBOX" in ls, ls
    assert all("\\Subscribed" in a for a, _ in ls.values()), ls


def test_list_return_children_special_use_status(v, user, c):
    """RFC 5258 RETURN (CHILDREN), RFC 6154 RETURN (SPECIAL-USE), RFC 5819 STATUS."""
    fill(v, user, [simple("a", "x" * 100), simple("b")])
    c.ok("CREATE Archive/2024")
    u = c.ok('LIST "" * RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN SIZE))')
    i = u.index('* LIST (\\HasNoChildren) "/" INBOX')
    m = re.fullmatch(r"\* STATUS INBOX \(MESSAGES 2 UNSEEN 2 SIZE (\d+)\)", u[i + 1])
    assert m, u
    assert '* LIST (\\HasChildren \\Archive) "/" Archive' in u, u


def test_list_special_use_selection(c):
    """RFC 6154 §3: LIST (SPECIAL-USE) lists only mailboxes with a special use."""
    assert names(c, '(SPECIAL-USE) "" *') == ["Archive", "Drafts", "Junk", "Sent", "Trash"]


def test_lsub(c):
    c.ok("CREATE Listed")
    c.ok("SUBSCRIBE Listed")
    c.ok("CREATE Hidden")
    c.ok("UNSUBSCRIBE Hidden")
    u = c.ok('LSUB "" *')
    got = sorted(re.fullmatch(r'\* LSUB \([^)]*\) "/" (.+)', x).group(1) for x in u)
    assert "Listed" in got and "Hidden" not in got and "INBOX" in got, u


def test_subscribe_unsubscribe(c):
    c.ok("CREATE Sub")
    c.ok("UNSUBSCRIBE Sub")
    assert "Sub" not in names(c, '(SUBSCRIBED) "" *')
    c.ok("SUBSCRIBE Sub")
    assert "Sub" in names(c, '(SUBSCRIBED) "" *')


def test_subscribe_nonexistent(c):
    """RFC 9051 §6.3.7: a server may refuse to subscribe a mailbox that does not exist."""
    u, st = c.cmd("SUBSCRIBE Ghost")
    assert st.startswith(("OK", "NO")), st
    if st.startswith("OK"):
        ls = listing(c, '(SUBSCRIBED) "" *')
        assert "\\NonExistent" in ls["Ghost"][0], ls


# ---- CREATE --------------------------------------------------------------------------

def test_create_with_parents(c):
    """RFC 9051 §6.3.4: CREATE a/b/c creates the missing parents."""
    c.ok("CREATE a/b/c")
    assert {"a", "a/b", "a/b/c"} <= set(names(c))
    c.ok("SELECT a/b")


def test_create_trailing_delimiter(c):
    c.ok("CREATE Folder/")
    assert "Folder" in names(c) and "Folder/" not in names(c)


def test_create_existing_alreadyexists(c):
    """RFC 5530 §3: [ALREADYEXISTS]."""
    c.ok("CREATE Twice")
    assert c.cmd("CREATE Twice")[1].startswith("NO [ALREADYEXISTS]")
    assert c.cmd("CREATE INBOX")[1].startswith("NO [ALREADYEXISTS]")
    assert c.cmd("CREATE inbox")[1].startswith("NO")


def test_create_special_use(c):
    """RFC 6154 §3: CREATE name (USE (\\Archive))."""
    c.ok("CREATE OldMail (USE (\\Archive))")
    assert "\\Archive" in listing(c)["OldMail"][0]
    u, st = c.cmd("CREATE Weird (USE (\\NotAUse))")
    assert st.startswith("NO [USEATTR]") or st.startswith("BAD"), st


def test_create_then_append_and_select(c):
    c.ok("CREATE Fresh")
    appenduid(c.append("Fresh", simple("x")))
    u = c.ok("SELECT Fresh")
    assert "* 1 EXISTS" in u


# ---- DELETE --------------------------------------------------------------------------

def test_delete_removes_messages(v, user, c):
    c.ok("CREATE Gone")
    appenduid(c.append("Gone", simple("x")))
    c.ok("DELETE Gone")
    assert "Gone" not in names(c)
    assert c.cmd("SELECT Gone")[1].startswith("NO [NONEXISTENT]")
    c.ok("CREATE Gone")  # a new one, empty, new UIDVALIDITY per RFC 9051 §2.3.1.1
    assert c.ok("STATUS Gone (MESSAGES)") == ["* STATUS Gone (MESSAGES 0)"]


def test_delete_inbox_refused(c):
    assert c.cmd("DELETE INBOX")[1].startswith("NO")
    assert "INBOX" in names(c)


def test_delete_missing(c):
    assert c.cmd("DELETE NotThere")[1].startswith("NO [NONEXISTENT]")


def test_delete_noselect_without_children(c):
    """RFC 9051 §6.3.5: a \\Noselect mailbox whose children are gone can be deleted."""
    c.ok("CREATE P/Q")
    c.ok("DELETE P")
    c.ok("DELETE P/Q")
    c.ok("DELETE P") if "P" in names(c) else None
    assert "P" not in names(c)


def test_delete_uidvalidity_changes(c):
    c.ok("CREATE Again")
    uv1 = re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS Again (UIDVALIDITY)")[0]).group(1)
    c.ok("DELETE Again")
    c.ok("CREATE Again")
    uv2 = re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS Again (UIDVALIDITY)")[0]).group(1)
    assert uv1 != uv2


# ---- RENAME --------------------------------------------------------------------------

def test_rename_moves_children(c):
    """RFC 9051 §6.3.6: the children move with the mailbox."""
    c.ok("CREATE Old/Sub")
    appenduid(c.append("Old/Sub", simple("kept")))
    c.ok("RENAME Old New")
    ns = names(c)
    assert "New" in ns and "New/Sub" in ns and "Old" not in ns and "Old/Sub" not in ns, ns
    assert c.ok("STATUS New/Sub (MESSAGES)") == ["* STATUS New/Sub (MESSAGES 1)"]


def test_rename_to_existing_refused(c):
    c.ok("CREATE R1")
    c.ok("CREATE R2")
    assert c.cmd("RENAME R1 R2")[1].startswith("NO [ALREADYEXISTS]")
    assert c.cmd("RENAME Missing R3")[1].startswith("NO [NONEXISTENT]")


def test_rename_inbox_moves_messages(v, user, c):
    """RFC 9051 §6.3.6: RENAME INBOX moves its messages; INBOX stays, empty."""
    fill(v, user, [simple("a"), simple("b")])
    c.ok("RENAME INBOX Saved")
    assert c.ok("STATUS INBOX (MESSAGES)") == ["* STATUS INBOX (MESSAGES 0)"]
    assert c.ok("STATUS Saved (MESSAGES)") == ["* STATUS Saved (MESSAGES 2)"]
    assert "INBOX" in names(c)


def test_rename_special_use_keeps_attribute(c):
    c.ok("RENAME Junk Spam")
    assert "\\Junk" in listing(c)["Spam"][0]


# ---- STATUS --------------------------------------------------------------------------

def test_status_items(v, user, c):
    """RFC 9051 §6.3.11, RFC 3501 (RECENT), RFC 8438 (SIZE), RFC 7162 (HIGHESTMODSEQ)."""
    msgs = [simple("a"), simple("bb"), simple("ccc")]
    fill(v, user, msgs)
    o = session(v, user)
    o.ok("EXAMINE Sent")
    c.ok("SELECT Trash")  # STATUS of another mailbox
    c.append("INBOX", simple("d"), flags="\\Seen \\Deleted")
    uv = re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS INBOX (UIDVALIDITY)")[0]).group(1)
    u = c.ok("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE "
             "HIGHESTMODSEQ)")
    size = sum(len(m) for m in msgs) + len(simple("d"))
    m = re.fullmatch(r"\* STATUS INBOX \(MESSAGES 4 RECENT 4 UIDNEXT 5 UIDVALIDITY %s "
                     r"UNSEEN 3 DELETED 1 SIZE %d HIGHESTMODSEQ (\d+)\)" % (uv, size), u[0])
    assert m and len(u) == 1, u
    o.logout()


def test_status_missing(c):
    assert c.cmd("STATUS Nope (MESSAGES)")[1].startswith("NO [NONEXISTENT]")


# ---- names: modified UTF-7, UTF-8 ----------------------------------------------------

def test_modified_utf7_round_trip(c):
    """RFC 3501 §5.1.3: "Entwürfe" is Entw&APw-rfe on the wire."""
    c.ok("CREATE Entw&APw-rfe")
    assert "Entw&APw-rfe" in names(c)
    appenduid(c.append("Entw&APw-rfe", simple("x")))
    assert c.ok("STATUS Entw&APw-rfe (MESSAGES)") == ["* STATUS Entw&APw-rfe (MESSAGES 1)"]
    c.ok("CREATE \"A&-B\"")  # "&" itself is "&-"
    c.ok("CREATE &Jjo-x")  # U+263A
    assert "A&-B" in names(c)


def test_utf8_names_after_enable_imap4rev2(c):
    """RFC 9051 §6.3.1/§5.1: with IMAP4rev2 enabled, names are UTF-8 on the wire."""
    c.ok("CREATE Entw&APw-rfe")
    c.ok("ENABLE IMAP4rev2")
    assert "Entwürfe" in names(c)
    c.ok('CREATE "Größe"')
    assert "Größe" in names(c)
    c.ok('SELECT "Entwürfe"')


def test_utf8_created_name_is_mutf7_for_rev1(v, user, c):
    c.ok("ENABLE IMAP4rev2")
    c.ok('CREATE "Café"')
    o = session(v, user)
    assert "Caf&AOk-" in names(o)
    o.logout()


# ---- bad names -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ['"../x"', '"/abs"', '"a//b"', '""', '"x/../y"',
                                  '"' + "n" * 1100 + '"', "&Jjo", '"&AGE-"', "&-&", '"a/"'])
def test_bad_names_refused(v, user, c, name):
    """SECURITY-CASES: NO [CANNOT] (or BAD for bad encoding); nothing outside the
    account is touched."""
    u, st = c.cmd("CREATE " + name)
    if name == '"a/"':  # a trailing delimiter is allowed on CREATE: creates "a"
        assert st.startswith("OK"), st
        return
    assert st.startswith("NO [CANNOT]") or st.startswith("BAD"), (name, st)
    assert names(c) == ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    u, st = c.cmd("RENAME Sent " + name)
    assert st.startswith("NO") or st.startswith("BAD"), (name, st)
    assert "Sent" in names(c)
    u, st = c.cmd("SELECT " + name)
    assert st.startswith("NO") or st.startswith("BAD"), (name, st)


def test_component_too_long(c):
    assert c.cmd("CREATE " + "x" * 300)[1].startswith("NO [CANNOT]")


def test_other_accounts_mailbox_is_nonexistent(v, user, c):
    """RFC 4314 §6 / SECURITY-CASES: another user's mailbox by name is just nonexistent."""
    other = new_account(v)
    o = session(v, other)
    o.ok("CREATE Secret")
    o.logout()
    for mbox in ["Secret", other + "/Secret", "../" + other + "/Secret",
                 '"~' + other.split("@")[0] + '/Secret"', '"#shared/Secret"']:
        if not mbox.startswith('"'):
            mbox = '"%s"' % mbox
        for line in ("SELECT %s", "STATUS %s (MESSAGES)", "DELETE %s"):
            u, st = c.cmd(line % mbox)
            assert st.startswith("NO [NONEXISTENT]") or st.startswith("NO [CANNOT]") or \
                st.startswith("BAD"), (line % mbox, st)
        assert c.append(mbox, simple("x")).startswith((
            "NO [TRYCREATE]", "NO [NONEXISTENT]", "NO [CANNOT]", "BAD")), mbox
    o = session(v, other)
    assert o.ok("STATUS Secret (MESSAGES)") == ["* STATUS Secret (MESSAGES 0)"]
    o.logout()


def test_other_accounts_mailbox_answers_leak_no_existence(v, user, c):
    """RFC 4314 §6 / SECURITY-CASES: for another account's mailbox, whether it exists or
    not, by name or through a namespace trick, every command answers exactly NO
    [NONEXISTENT] (APPEND: NO [TRYCREATE]) with the same text, and LIST shows nothing."""
    other = new_account(v)
    local = other.split("@")[0]
    o = session(v, other)
    o.ok("CREATE Secret")
    o.logout()
    commands = ["SELECT %s", "EXAMINE %s", "STATUS %s (MESSAGES)", "DELETE %s",
                "SUBSCRIBE %s", "RENAME %s Stolen", "GETQUOTAROOT %s"]
    for form in ['"%s/%%s"' % other, '"~%s/%%s"' % local, '"#user/%s/%%s"' % local,
                 '"Other Users/%s/%%s"' % other, '"#shared/%s"']:
        existing, missing = form % "Secret", form % "NoSuchBox"
        for line in commands:
            got = c.cmd(line % existing)
            assert got == c.cmd(line % missing), (line % existing, got)
            assert got[0] == [] and got[1].startswith("NO [NONEXISTENT] "), (line % existing, got)
        assert c.append(existing, simple("x")) == c.append(missing, simple("x"))
        assert c.append(existing, simple("x")).startswith("NO [TRYCREATE]")
    for ref, pattern in [('""', '"*Secret*"'), ('""', '"%s/*"' % other), ('"~%s/"' % local, "*"),
                         ('"#user/"', "*"), ('"../"', "*"), ('"/"', "*")]:
        assert c.cmd("LIST %s %s" % (ref, pattern)) == ([], "OK LIST completed"), (ref, pattern)
    assert names(c) == ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    o = session(v, other)
    assert o.ok("STATUS Secret (MESSAGES)") == ["* STATUS Secret (MESSAGES 0)"]
    assert "Stolen" not in names(o)
    o.logout()


def test_rename_into_itself_refused(c):
    c.ok("CREATE Self")
    assert c.cmd("RENAME Self Self/Sub")[1].startswith("NO [CANNOT]")
    assert names(c, '"" Self*') == ["Self"]
