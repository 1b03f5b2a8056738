// DkimSigner over a real SQLite store: which keys sign, how long they are cached, what
// forget() (SIGHUP) and a failing store do; signing_domain().
#include "server/dkim_signer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/testing/temp_dir.hpp"
#include "policy/dkim.hpp"
#include "store/forwarding_store.hpp"

namespace valija::server {
namespace {

namespace dkim = policy::dkim;

constexpr std::int64_t kNow = 1'800'000'000;
const std::string kMessage =
    "From: Ana <ana@example.org>\r\nTo: bob@remote.example\r\nSubject: hello\r\n"
    "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nBody.\r\n";

// Counts the key reads and fails them on demand.
class KeyStore final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<int> reads{0};
  std::atomic<bool> broken{false};

  Result<std::vector<store::DkimKey>> list_dkim_keys(std::optional<std::string_view> d) override {
    ++reads;
    if (broken) return fail(Errc::Unavailable, "database is locked");
    return s_.list_dkim_keys(d);
  }
};

class DkimSignerTest : public testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_sqlite({dir_.path() + "/data", true});
    ASSERT_TRUE(s) << s.error().message();
    inner_ = std::move(*s);
    store_ = std::make_unique<KeyStore>(*inner_);
    ASSERT_TRUE(inner_->add_domain("example.org"));
  }

  void add_key(const std::string& selector, dkim::Algorithm a, store::DkimKeyState state) {
    auto g = dkim::generate_key(a, 1024);
    ASSERT_TRUE(g) << g.error().detail;
    store::DkimKey k{"example.org", selector, std::string(dkim::algorithm_name(a)), g->private_key_pem,
                     g->public_key_b64, kNow, state};
    ASSERT_TRUE(inner_->add_dkim_key(k));
    records_[selector + "._domainkey.example.org"] = dkim::key_record(a, g->public_key_b64);
  }

  // The selectors of the signatures in `fields`, each checked against its published key.
  std::vector<std::string> verified_selectors(const std::string& fields) {
    std::string signed_message = fields + kMessage;
    std::vector<std::string> out;
    for (const auto& p : dkim::signatures(signed_message).pending) {
      dns::Answer a;
      a.outcome = dns::Outcome::Answer;
      a.records = {records_.at(p.key_query.name)};
      auto v = dkim::verify(signed_message, p, a, kNow);
      EXPECT_EQ(v.result, dkim::Verdict::Result::Pass) << p.sig.selector << ": " << v.reason;
      out.push_back(p.sig.selector);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  test::TempDir dir_{"valija-dkim-signer"};
  std::unique_ptr<store::Store> inner_;
  std::unique_ptr<KeyStore> store_;
  std::map<std::string, std::string> records_;
};

TEST_F(DkimSignerTest, EveryActiveKeySignsAndNothingElse) {
  add_key("ed1", dkim::Algorithm::Ed25519Sha256, store::DkimKeyState::Active);
  add_key("rsa1", dkim::Algorithm::RsaSha256, store::DkimKeyState::Active);
  add_key("ed0", dkim::Algorithm::Ed25519Sha256, store::DkimKeyState::Retired);
  add_key("ed2", dkim::Algorithm::Ed25519Sha256, store::DkimKeyState::Pending);
  DkimSigner signer(*store_);
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow)), (std::vector<std::string>{"ed1", "rsa1"}));
  EXPECT_EQ(signer.sign("other.example", kMessage, kNow), "");  // no keys
  EXPECT_EQ(signer.sign("", kMessage, kNow), "");
}

TEST_F(DkimSignerTest, KeysAreCachedUntilTheRefreshOrForget) {
  add_key("ed1", dkim::Algorithm::Ed25519Sha256, store::DkimKeyState::Active);
  DkimSigner signer(*store_, std::chrono::seconds(30));
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow)), std::vector<std::string>{"ed1"});
  EXPECT_EQ(store_->reads, 1);
  // Rotation in the store (valija dkim activate): ed2 active, ed1 retired.
  add_key("ed2", dkim::Algorithm::Ed25519Sha256, store::DkimKeyState::Active);
  ASSERT_TRUE(inner_->set_dkim_key_state("example.org", "ed1", store::DkimKeyState::Retired));
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow + 29)), std::vector<std::string>{"ed1"});
  EXPECT_EQ(store_->reads, 1);
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow + 30)), std::vector<std::string>{"ed2"});
  EXPECT_EQ(store_->reads, 2);
  // forget() (SIGHUP) reads again at once.
  ASSERT_TRUE(inner_->set_dkim_key_state("example.org", "ed1", store::DkimKeyState::Active));
  ASSERT_TRUE(inner_->set_dkim_key_state("example.org", "ed2", store::DkimKeyState::Retired));
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow + 31)), std::vector<std::string>{"ed2"});
  signer.forget();
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow + 31)), std::vector<std::string>{"ed1"});
  EXPECT_EQ(store_->reads, 3);
}

TEST_F(DkimSignerTest, AFailingStoreKeepsTheLastKnownKeys) {
  add_key("ed1", dkim::Algorithm::Ed25519Sha256, store::DkimKeyState::Active);
  DkimSigner signer(*store_, std::chrono::seconds(1));
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow)), std::vector<std::string>{"ed1"});
  store_->broken = true;
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow + 5)), std::vector<std::string>{"ed1"});
  EXPECT_EQ(store_->reads, 2);
  // Never read successfully: nothing to sign with, and the mail still goes.
  EXPECT_EQ(signer.sign("example.net", kMessage, kNow + 5), "");
  // A SIGHUP while the store fails does not lose the keys either.
  signer.forget();
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow + 6)), std::vector<std::string>{"ed1"});
  store_->broken = false;
  signer.forget();
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow + 6)), std::vector<std::string>{"ed1"});
}

TEST_F(DkimSignerTest, ManyDomainsStayBoundedAndSigningGoesOn) {
  add_key("ed1", dkim::Algorithm::Ed25519Sha256, store::DkimKeyState::Active);
  DkimSigner signer(*store_);
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow)), std::vector<std::string>{"ed1"});
  // More keyless From domains than the cache holds (a trusted client may use any): the
  // cache is emptied on the way, and the signer still answers for each.
  for (int i = 0; i < 10001; ++i) EXPECT_EQ(signer.sign("d" + std::to_string(i) + ".example", kMessage, kNow), "");
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow)), std::vector<std::string>{"ed1"});
}

TEST_F(DkimSignerTest, AKeyThatCannotSignIsSkipped) {
  add_key("ed1", dkim::Algorithm::Ed25519Sha256, store::DkimKeyState::Active);
  store::DkimKey bad{"example.org", "bad", "rsa-sha256", "not a PEM key", "AAAA", kNow, store::DkimKeyState::Active};
  ASSERT_TRUE(inner_->add_dkim_key(bad));
  DkimSigner signer(*store_);
  EXPECT_EQ(verified_selectors(signer.sign("example.org", kMessage, kNow)), std::vector<std::string>{"ed1"});
}

TEST(SigningDomain, TheSingleAuthorsDomain) {
  EXPECT_EQ(signing_domain(kMessage), "example.org");
  EXPECT_EQ(signing_domain("from: <Ana@Sub.Example.ORG.>\r\n\r\nx\r\n"), "sub.example.org");
  // RFC 6376 §5.4 signs one author: two From fields, two addresses, none.
  EXPECT_EQ(signing_domain("From: a@example.org\r\nFrom: b@example.net\r\n\r\nx\r\n"), "");
  EXPECT_EQ(signing_domain("From: a@example.org, b@example.net\r\n\r\nx\r\n"), "");
  EXPECT_EQ(signing_domain("To: a@example.org\r\n\r\nx\r\n"), "");
  EXPECT_EQ(signing_domain("From: undisclosed\r\n\r\nx\r\n"), "");
}

}  // namespace
}  // namespace valija::server
