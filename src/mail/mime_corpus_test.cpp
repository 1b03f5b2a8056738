// Every message in tests/data/mime against its .expected BODYSTRUCTURE, BODY and ENVELOPE
// (checked by hand against the RFC 3501 grammar and Dovecot 2.3; see the README there), and
// through the cache round trip.
#include <filesystem>

#include <gtest/gtest.h>

#include "mail/bodystructure.hpp"
#include "mail/envelope.hpp"
#include "mail/mime.hpp"
#include "mail/mime_cache.hpp"
#include "mail/mime_test_util.hpp"

namespace valija::mail::mime {
namespace {

using testing::corpus_dir;
using testing::read_file;

// The value after `key` up to the next "\n" that starts another key (or the final "\n").
std::string field(const std::string& expected, const std::string& key) {
  auto at = expected.find(key + " ");
  while (at != std::string::npos && at != 0 && expected[at - 1] != '\n') at = expected.find(key + " ", at + 1);
  if (at == std::string::npos) return "<missing " + key + ">";
  auto begin = at + key.size() + 1;
  std::size_t end = expected.size() - 1;
  for (const char* k : {"\nBODYSTRUCTURE ", "\nBODY ", "\nENVELOPE "}) {
    auto e = expected.find(k, begin);
    if (e != std::string::npos && e < end) end = e;
  }
  return expected.substr(begin, end - begin);
}

std::vector<std::string> corpus_names() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(corpus_dir()))
    if (e.path().extension() == ".eml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(MimeCorpus, HasAtLeastThirtyMessages) { EXPECT_GE(corpus_names().size(), 30u); }

TEST(MimeCorpus, MatchesExpected) {
  for (const auto& name : corpus_names()) {
    SCOPED_TRACE(name);
    std::string msg = read_file(corpus_dir() + "/" + name + ".eml");
    std::string expected = read_file(corpus_dir() + "/" + name + ".expected");
    ASSERT_FALSE(expected.empty()) << "no " << name << ".expected";
    Part p = parse(msg);
    ASSERT_TRUE(p.envelope);
    EXPECT_EQ(body_structure(p), field(expected, "BODYSTRUCTURE"));
    EXPECT_EQ(body(p), field(expected, "BODY"));
    EXPECT_EQ(render_envelope(*p.envelope), field(expected, "ENVELOPE"));
  }
}

TEST(MimeCorpus, CacheRoundTrip) {
  for (const auto& name : corpus_names()) {
    SCOPED_TRACE(name);
    std::string msg = read_file(corpus_dir() + "/" + name + ".eml");
    Part p = parse(msg);
    std::string enc = encode(p);
    auto back = decode(enc);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, p);
    EXPECT_EQ(body_structure(*back), body_structure(p));
    EXPECT_EQ(encode(*back), enc);
  }
}

TEST(MimeCorpus, OffsetsStayInsideTheMessage) {
  for (const auto& name : corpus_names()) {
    SCOPED_TRACE(name);
    std::string msg = read_file(corpus_dir() + "/" + name + ".eml");
    Part root = parse(msg);
    EXPECT_EQ(root.header_begin, 0u);
    EXPECT_EQ(root.body_end, msg.size());
    std::vector<const Part*> pending{&root};
    while (!pending.empty()) {
      const Part* p = pending.back();
      pending.pop_back();
      EXPECT_LE(p->header_begin, p->body_begin);
      EXPECT_LE(p->body_begin, p->body_end);
      EXPECT_LE(p->body_end, msg.size());
      std::uint64_t lf = 0;
      for (auto i = p->body_begin; i < p->body_end; ++i) lf += msg[i] == '\n';
      EXPECT_EQ(p->body_lines, lf);
      std::uint64_t prev = p->body_begin;
      for (const auto& c : p->children) {
        EXPECT_GE(c.header_begin, prev);
        EXPECT_LE(c.body_end, p->body_end);
        prev = c.body_end;
        pending.push_back(&c);
      }
    }
  }
}

}  // namespace
}  // namespace valija::mail::mime
