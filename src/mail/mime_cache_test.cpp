#include "mail/mime_cache.hpp"

#include <random>

#include <gtest/gtest.h>

#include "mail/bodystructure.hpp"
#include "mail/mime_test_util.hpp"

namespace valija::mail::mime {
namespace {

TEST(MimeCache, SmallForOrdinaryMessages) {
  std::string simple = testing::corpus("simple_text");
  EXPECT_LT(encode(parse(simple)).size(), 300u);
  Part bare = parse("Subject: x\r\n\r\nhi\r\n");
  EXPECT_LT(encode(bare).size(), 40u);
  EXPECT_LT(encode(parse(testing::corpus("alternative"))).size(), 300u);
}

TEST(MimeCache, RejectsOtherVersionsAndTrailingBytes) {
  std::string enc = encode(parse(testing::corpus("simple_text")));
  EXPECT_FALSE(decode(""));
  std::string v2 = enc;
  v2[0] = 2;
  auto r = decode(v2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Corrupt);
  EXPECT_FALSE(decode(enc + "x"));
}

TEST(MimeCache, EveryTruncationIsRejected) {
  std::string enc = encode(parse(testing::corpus("rfc822_attachment")));
  for (std::size_t n = 0; n < enc.size(); ++n) EXPECT_FALSE(decode(enc.substr(0, n))) << n;
}

TEST(MimeCache, CorruptBytesNeverCrash) {
  std::mt19937 rng(42);
  for (const char* name : {"nested_3deep", "rfc2231", "groups", "digest"}) {
    std::string enc = encode(parse(testing::corpus(name)));
    for (int round = 0; round < 3000; ++round) {
      std::string bad = enc;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) bad[1 + rng() % (bad.size() - 1)] = static_cast<char>(rng());
      auto r = decode(bad);
      if (r) body_structure(*r);  // whatever decodes must render
    }
  }
}

TEST(MimeCache, HostileCountsAndOffsets) {
  // version, flags, offsets near 2^64, then nothing: must fail, not allocate or overflow.
  std::string huge = {1, 0, '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\x01'};
  EXPECT_FALSE(decode(huge));
  std::string too_long_varint(20, '\x80');
  too_long_varint[0] = 1;
  EXPECT_FALSE(decode(too_long_varint));
  // A child claiming to start before its parent's body or end after it.
  Part p = parse(testing::corpus("alternative"));
  p.children[0].body_end = p.body_end + 5;  // invalid tree, encoded anyway
  EXPECT_FALSE(decode(encode(p)));
}

}  // namespace
}  // namespace valija::mail::mime
