// Store conformance, directory: domains, accounts and aliases (fixture and engines in
// store_conformance.hpp).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/conformance/store_conformance.hpp"

namespace valija::store::conformance {
namespace {

template <class Engine>
class StoreDirectory : public StoreFixture<Engine> {};
TYPED_TEST_SUITE(StoreDirectory, Engines, EngineNames);

// ---------------- domains ----------------

TYPED_TEST(StoreDirectory, DomainAddListFind) {
  auto& s = this->s();
  auto d = s.add_domain("Example.ORG");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->name, "example.org");
  EXPECT_GT(d->id, 0);
  ASSERT_TRUE(s.add_domain("another.test"));

  auto list = s.list_domains();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "another.test");
  EXPECT_EQ((*list)[1].name, "example.org");

  auto f = s.find_domain("EXAMPLE.org");
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ((*f)->name, "example.org");
  EXPECT_EQ((*f)->id, d->id);

  auto none = s.find_domain("nowhere.test");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TYPED_TEST(StoreDirectory, DomainDuplicateIsExists) {
  auto& s = this->s();
  ASSERT_TRUE(s.add_domain("example.org"));
  auto again = s.add_domain("EXAMPLE.ORG");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::Exists);
  EXPECT_EQ(s.list_domains()->size(), 1u);
}

TYPED_TEST(StoreDirectory, DomainRemove) {
  auto& s = this->s();
  this->domain("example.org");
  ASSERT_TRUE(s.remove_domain("Example.org", false));
  EXPECT_FALSE(s.find_domain("example.org")->has_value());
  auto again = s.remove_domain("example.org", false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::NotFound);
}

TYPED_TEST(StoreDirectory, DomainRemoveRefusedWhileAccountsOrAliasesExist) {
  auto& s = this->s();
  this->domain("example.org");
  this->domain("aliases.test");
  this->account("ana", "example.org");
  std::vector<std::string> targets{"ana@example.org"};
  ASSERT_TRUE(s.add_alias("info", "aliases.test", targets));

  auto r = s.remove_domain("example.org", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Exists);
  EXPECT_TRUE(s.find_domain("example.org")->has_value());
  EXPECT_TRUE(s.find_account("ana", "example.org")->has_value());

  r = s.remove_domain("aliases.test", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Exists);
  EXPECT_TRUE(s.find_alias("info", "aliases.test")->has_value());
}

TYPED_TEST(StoreDirectory, DomainForceRemovesAccountsAliasesAndMail) {
  auto& s = this->s();
  this->domain("example.org");
  this->domain("other.test");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  auto zoe = this->account("zoe", "other.test");
  std::vector<std::string> targets{"ana@example.org", "bob@example.org"};
  ASSERT_TRUE(s.add_alias("team", "example.org", targets));
  ASSERT_TRUE(s.add_alias("", "example.org", targets));
  auto res = this->deliver(kBody, {this->copy(ana.id), this->copy(bob.id)});
  ASSERT_EQ(res.size(), 2u);
  ASSERT_TRUE(res[0] && res[1]);
  auto other = this->deliver("other body\r\n", {this->copy(zoe.id)});
  ASSERT_TRUE(other.at(0));
  auto blob_id = this->messages(ana.id, "INBOX").at(0).blob_id;

  ASSERT_TRUE(s.remove_domain("example.org", true));
  EXPECT_FALSE(s.find_domain("example.org")->has_value());
  EXPECT_FALSE(s.find_account("ana", "example.org")->has_value());
  EXPECT_FALSE(s.find_account("bob", "example.org")->has_value());
  EXPECT_FALSE(s.find_alias("team", "example.org")->has_value());
  EXPECT_FALSE(s.find_alias("", "example.org")->has_value());
  EXPECT_TRUE(s.list_mailboxes(ana.id)->empty());
  EXPECT_TRUE(s.list_aliases(std::nullopt)->empty());
  auto accounts = s.list_accounts(std::nullopt);
  ASSERT_TRUE(accounts);
  ASSERT_EQ(accounts->size(), 1u);
  EXPECT_EQ((*accounts)[0].address(), "zoe@other.test");
  EXPECT_EQ(s.stats()->messages, 1u);

  // The removed mail's body is now unreferenced; the other domain's is not.
  auto gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 1u);
  if (auto stored = this->blob_stored(blob_id)) {
    EXPECT_FALSE(*stored);
  }
  EXPECT_EQ(s.stats()->blobs, 1u);

  // The name is free again, and starts empty.
  ASSERT_TRUE(s.add_domain("example.org"));
  EXPECT_TRUE(s.list_accounts(std::string_view("example.org"))->empty());
  EXPECT_TRUE(s.list_aliases(std::string_view("example.org"))->empty());
}

// ---------------- accounts ----------------

TYPED_TEST(StoreDirectory, AccountAddCreatesSpecialUseMailboxes) {
  auto& s = this->s();
  this->domain("example.org");
  auto a = s.add_account("Ana", "Example.org", "$argon2id$x", 1000);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_GT(a->id, 0);
  EXPECT_EQ(a->local, "ana");
  EXPECT_EQ(a->domain, "example.org");
  EXPECT_EQ(a->address(), "ana@example.org");
  EXPECT_EQ(a->password_hash, "$argon2id$x");
  EXPECT_EQ(a->quota_bytes, 1000u);
  EXPECT_EQ(a->used_bytes, 0u);
  EXPECT_EQ(a->used_messages, 0u);

  auto boxes = s.list_mailboxes(a->id);
  ASSERT_TRUE(boxes);
  std::set<std::pair<std::string, std::string>> got;
  for (const auto& m : *boxes) {
    got.insert({m.name, m.special_use});
    EXPECT_EQ(m.account, a->id);
    EXPECT_NE(m.uidvalidity, 0u) << m.name;
    EXPECT_EQ(m.uidnext, 1u) << m.name;
    EXPECT_EQ(m.messages, 0u) << m.name;
    EXPECT_TRUE(m.subscribed) << m.name;
  }
  std::set<std::pair<std::string, std::string>> want{
      {"INBOX", ""},          {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"},
      {"Trash", "\\Trash"},   {"Junk", "\\Junk"}, {"Archive", "\\Archive"},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(boxes->size(), 6u);
  EXPECT_EQ(boxes->front().name, "INBOX");  // INBOX is listed first

  // INBOX is case-insensitive (RFC 9051 §5.1); other names are not folded.
  auto inbox = s.find_mailbox(a->id, "inbox");
  ASSERT_TRUE(inbox && inbox->has_value());
  EXPECT_EQ((*inbox)->name, "INBOX");
  auto sent = s.find_mailbox(a->id, "Sent");
  ASSERT_TRUE(sent && sent->has_value());
  EXPECT_EQ((*sent)->special_use, "\\Sent");
  auto missing = s.find_mailbox(a->id, "Nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TYPED_TEST(StoreDirectory, AccountFindIsCaseInsensitive) {
  auto& s = this->s();
  this->domain("example.org");
  auto a = this->account("ana", "example.org");
  for (auto [l, d] : {std::pair{"ana", "example.org"}, {"ANA", "EXAMPLE.ORG"}, {"aNa", "Example.Org"}}) {
    auto f = s.find_account(l, d);
    ASSERT_TRUE(f) << f.error().message();
    ASSERT_TRUE(f->has_value()) << l << "@" << d;
    EXPECT_EQ((*f)->id, a.id);
    EXPECT_EQ((*f)->address(), "ana@example.org");
    EXPECT_EQ((*f)->password_hash, "hash-of-ana");
  }
  auto none = s.find_account("bob", "example.org");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  none = s.find_account("ana", "other.test");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TYPED_TEST(StoreDirectory, AccountDuplicateIsExists) {
  auto& s = this->s();
  this->domain("example.org");
  this->account("ana", "example.org");
  auto again = s.add_account("ANA", "example.org", "h", 0);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::Exists);
  EXPECT_EQ(s.list_accounts(std::nullopt)->size(), 1u);
}

TYPED_TEST(StoreDirectory, AccountInUnknownDomainIsNotFound) {
  auto r = this->s().add_account("ana", "nowhere.test", "h", 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::NotFound);
}

TYPED_TEST(StoreDirectory, AccountAndAliasNamesClash) {
  auto& s = this->s();
  this->domain("example.org");
  this->account("ana", "example.org");
  std::vector<std::string> targets{"ana@example.org"};
  ASSERT_TRUE(s.add_alias("info", "example.org", targets));

  auto acc = s.add_account("Info", "example.org", "h", 0);
  ASSERT_FALSE(acc);
  EXPECT_EQ(acc.error().code, Errc::Exists);
  EXPECT_FALSE(s.find_account("info", "example.org")->has_value());

  auto al = s.add_alias("ANA", "example.org", targets);
  ASSERT_FALSE(al);
  EXPECT_EQ(al.error().code, Errc::Exists);
  EXPECT_FALSE(s.find_alias("ana", "example.org")->has_value());

  // The same local part in another domain is a different address.
  this->domain("other.test");
  EXPECT_TRUE(s.add_account("info", "other.test", "h", 0));
  EXPECT_TRUE(s.add_alias("ana", "other.test", targets));
}

TYPED_TEST(StoreDirectory, AccountSetPassword) {
  auto& s = this->s();
  this->domain("example.org");
  this->account("ana", "example.org");
  ASSERT_TRUE(s.set_password("ANA", "example.org", "new-hash"));
  EXPECT_EQ((*s.find_account("ana", "example.org"))->password_hash, "new-hash");
  auto r = s.set_password("bob", "example.org", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::NotFound);
  r = s.set_password("ana", "nowhere.test", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::NotFound);
}

TYPED_TEST(StoreDirectory, AccountApopSecret) {
  auto& s = this->s();
  this->domain("example.org");
  this->account("ana", "example.org");
  EXPECT_EQ((*s.find_account("ana", "example.org"))->apop_secret, "");
  ASSERT_TRUE(s.set_apop_secret("Ana", "example.org", "tanstaaf"));
  EXPECT_EQ((*s.find_account("ana", "example.org"))->apop_secret, "tanstaaf");
  EXPECT_EQ((*s.list_accounts(std::nullopt))[0].apop_secret, "tanstaaf");
  ASSERT_TRUE(s.set_apop_secret("ana", "example.org", ""));  // removed
  EXPECT_EQ((*s.find_account("ana", "example.org"))->apop_secret, "");
  auto r = s.set_apop_secret("bob", "example.org", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::NotFound);
}

TYPED_TEST(StoreDirectory, AccountSetQuota) {
  auto& s = this->s();
  this->domain("example.org");
  this->account("ana", "example.org");
  ASSERT_TRUE(s.set_quota("ana", "EXAMPLE.org", 5000, 7));
  auto a = *s.find_account("ana", "example.org");
  EXPECT_EQ(a->quota_bytes, 5000u);
  EXPECT_EQ(a->quota_messages, 7u);
  ASSERT_TRUE(s.set_quota("ana", "example.org", 0, 0));
  a = *s.find_account("ana", "example.org");
  EXPECT_EQ(a->quota_bytes, 0u);
  EXPECT_EQ(a->quota_messages, 0u);
  auto r = s.set_quota("bob", "example.org", 1, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::NotFound);
}

TYPED_TEST(StoreDirectory, AccountListAllAndPerDomain) {
  auto& s = this->s();
  this->domain("example.org");
  this->domain("another.test");
  this->account("zoe", "example.org");
  this->account("ana", "example.org");
  this->account("bob", "another.test");

  auto all = s.list_accounts(std::nullopt);
  ASSERT_TRUE(all);
  std::vector<std::string> got;
  for (const auto& a : *all) got.push_back(a.address());
  EXPECT_EQ(sorted(got), (std::vector<std::string>{"ana@example.org", "bob@another.test", "zoe@example.org"}));

  auto one = s.list_accounts(std::string_view("Example.ORG"));
  ASSERT_TRUE(one);
  got.clear();
  for (const auto& a : *one) got.push_back(a.address());
  EXPECT_EQ(sorted(got), (std::vector<std::string>{"ana@example.org", "zoe@example.org"}));

  auto other = s.list_accounts(std::string_view("another.test"));
  ASSERT_TRUE(other);
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].address(), "bob@another.test");
}

TYPED_TEST(StoreDirectory, AccountRemove) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  ASSERT_TRUE(s.remove_account("Ana", "example.org"));
  EXPECT_FALSE(s.find_account("ana", "example.org")->has_value());
  EXPECT_TRUE(s.list_mailboxes(ana.id)->empty());
  EXPECT_TRUE(s.find_account("bob", "example.org")->has_value());
  EXPECT_EQ(s.list_mailboxes(bob.id)->size(), 6u);
  auto again = s.remove_account("ana", "example.org");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::NotFound);
  // With no accounts left but bob, the domain still refuses a plain remove.
  EXPECT_FALSE(s.remove_domain("example.org", false));
  ASSERT_TRUE(s.remove_account("bob", "example.org"));
  EXPECT_TRUE(s.remove_domain("example.org", false));
}

// RFC 9051 §2.3.1.1: a mailbox whose UIDs restart must get a greater UIDVALIDITY, or a
// client that cached (name, UIDVALIDITY, UID) shows the old account's messages.
TYPED_TEST(StoreDirectory, RecreatedAccountGetsNewUidValidity) {
  auto& s = this->s();
  this->domain("example.org");
  auto first = this->account("ana", "example.org");
  auto old_inbox = this->mailbox(first.id, "INBOX");
  auto res = this->deliver(kBody, {this->copy(first.id)});
  ASSERT_TRUE(res.at(0));
  EXPECT_EQ(res[0]->uid, 1u);
  ASSERT_TRUE(s.remove_account("ana", "example.org"));

  auto second = this->account("ana", "example.org");
  auto new_inbox = this->mailbox(second.id, "INBOX");
  res = this->deliver("a different message\r\n", {this->copy(second.id)});
  ASSERT_TRUE(res.at(0));
  EXPECT_EQ(res[0]->uid, 1u);
  EXPECT_GT(new_inbox.uidvalidity, old_inbox.uidvalidity)
      << "UID 1 of INBOX of ana@example.org now names a different message under the same UIDVALIDITY";
}

// ---------------- aliases ----------------

TYPED_TEST(StoreDirectory, AliasAddFindListMultipleTargets) {
  auto& s = this->s();
  this->domain("example.org");
  std::vector<std::string> targets{"ana@example.org", "bob@example.org", "carol@elsewhere.test"};
  ASSERT_TRUE(s.add_alias("Team", "Example.org", targets));

  auto f = s.find_alias("TEAM", "example.ORG");
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ((*f)->local, "team");
  EXPECT_EQ((*f)->domain, "example.org");
  EXPECT_EQ((*f)->source(), "team@example.org");
  EXPECT_EQ(sorted((*f)->targets), sorted(targets));

  auto none = s.find_alias("nobody", "example.org");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  auto unknown_domain = s.add_alias("x", "nowhere.test", targets);
  ASSERT_FALSE(unknown_domain);
  EXPECT_EQ(unknown_domain.error().code, Errc::NotFound);
}

TYPED_TEST(StoreDirectory, AliasSecondAddMergesTargets) {
  auto& s = this->s();
  this->domain("example.org");
  std::vector<std::string> first{"ana@example.org", "bob@example.org"};
  std::vector<std::string> second{"bob@example.org", "carol@example.org"};
  ASSERT_TRUE(s.add_alias("team", "example.org", first));
  ASSERT_TRUE(s.add_alias("team", "example.org", second));
  auto f = s.find_alias("team", "example.org");
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ(sorted((*f)->targets),
            (std::vector<std::string>{"ana@example.org", "bob@example.org", "carol@example.org"}));
  EXPECT_EQ(s.list_aliases(std::nullopt)->size(), 1u);
}

TYPED_TEST(StoreDirectory, AliasCatchAll) {
  auto& s = this->s();
  this->domain("example.org");
  std::vector<std::string> targets{"postmaster@example.org"};
  ASSERT_TRUE(s.add_alias("", "example.org", targets));
  auto f = s.find_alias("", "example.org");
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ((*f)->local, "");
  EXPECT_EQ((*f)->source(), "@example.org");
  EXPECT_EQ((*f)->targets, targets);
  // The catch-all is not an alias for any particular name.
  EXPECT_FALSE(s.find_alias("someone", "example.org")->has_value());
  auto list = s.list_aliases(std::string_view("example.org"));
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].source(), "@example.org");
}

TYPED_TEST(StoreDirectory, AliasListAllAndPerDomain) {
  auto& s = this->s();
  this->domain("example.org");
  this->domain("another.test");
  std::vector<std::string> t1{"ana@example.org"};
  std::vector<std::string> t2{"ana@example.org", "bob@example.org"};
  ASSERT_TRUE(s.add_alias("info", "example.org", t1));
  ASSERT_TRUE(s.add_alias("sales", "example.org", t2));
  ASSERT_TRUE(s.add_alias("info", "another.test", t2));

  auto all = s.list_aliases(std::nullopt);
  ASSERT_TRUE(all);
  std::set<std::pair<std::string, std::vector<std::string>>> got;
  for (const auto& a : *all) got.insert({a.source(), sorted(a.targets)});
  std::set<std::pair<std::string, std::vector<std::string>>> want{
      {"info@example.org", t1}, {"sales@example.org", t2}, {"info@another.test", t2}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(all->size(), 3u);

  auto one = s.list_aliases(std::string_view("ANOTHER.test"));
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].source(), "info@another.test");
  EXPECT_EQ(sorted((*one)[0].targets), t2);
}

TYPED_TEST(StoreDirectory, AliasRemoveOneTargetAndWhole) {
  auto& s = this->s();
  this->domain("example.org");
  std::vector<std::string> targets{"ana@example.org", "bob@example.org", "carol@example.org"};
  ASSERT_TRUE(s.add_alias("team", "example.org", targets));

  ASSERT_TRUE(s.remove_alias("team", "example.org", "bob@example.org"));
  auto f = s.find_alias("team", "example.org");
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ(sorted((*f)->targets), (std::vector<std::string>{"ana@example.org", "carol@example.org"}));

  auto missing_target = s.remove_alias("team", "example.org", "bob@example.org");
  ASSERT_FALSE(missing_target);
  EXPECT_EQ(missing_target.error().code, Errc::NotFound);

  ASSERT_TRUE(s.remove_alias("TEAM", "example.org", ""));
  EXPECT_FALSE(s.find_alias("team", "example.org")->has_value());
  EXPECT_TRUE(s.list_aliases(std::nullopt)->empty());

  auto missing = s.remove_alias("team", "example.org", "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
}

TYPED_TEST(StoreDirectory, AliasRemovingLastTargetRemovesAlias) {
  auto& s = this->s();
  this->domain("example.org");
  std::vector<std::string> targets{"ana@example.org"};
  ASSERT_TRUE(s.add_alias("info", "example.org", targets));
  ASSERT_TRUE(s.remove_alias("info", "example.org", "ana@example.org"));
  EXPECT_FALSE(s.find_alias("info", "example.org")->has_value());
  EXPECT_TRUE(s.list_aliases(std::nullopt)->empty());
  // The name can become an account now.
  EXPECT_TRUE(s.add_account("info", "example.org", "h", 0));
}

}  // namespace
}  // namespace valija::store::conformance
