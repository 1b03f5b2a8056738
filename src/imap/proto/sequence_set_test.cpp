#include "imap/proto/sequence_set.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace valija::imap::proto {
namespace {

SequenceSet parse(std::string_view s, std::size_t max = 10000) {
  auto r = SequenceSet::parse(s, max);
  EXPECT_TRUE(r) << s;
  return r ? *r : SequenceSet{};
}

SequenceSet::Errc bad(std::string_view s, std::size_t max = 10000) {
  auto r = SequenceSet::parse(s, max);
  EXPECT_FALSE(r) << s;
  return r ? SequenceSet::Errc::Syntax : r.error().code;
}

TEST(SequenceSet, ParsesRangesWithoutMaterialising) {
  auto s = parse("1:4294967295");
  ASSERT_EQ(s.ranges().size(), 1u);
  EXPECT_EQ(s.ranges()[0], (SeqRange{1, 4294967295u}));
  auto ids = s.resolve(10);
  EXPECT_EQ(ids.count(), 4294967295ull);
  EXPECT_TRUE(ids.contains(4294967295u));
  EXPECT_FALSE(ids.contains(0));
  EXPECT_EQ(ids.to_string(), "1:4294967295");
}

TEST(SequenceSet, Star) {
  EXPECT_EQ(parse("*").resolve(7).to_string(), "7");
  EXPECT_EQ(parse("*:*").resolve(7).to_string(), "7");
  EXPECT_TRUE(parse("1,*").has_star());
  EXPECT_FALSE(parse("1:3").has_star());
  // RFC 9051 §6.4.8: 559:* with 100 as the highest UID is 100:559.
  EXPECT_EQ(parse("559:*").resolve(100).to_string(), "100:559");
  EXPECT_EQ(parse("3:*").resolve(10).to_string(), "3:10");
  // Empty mailbox: "*" names nothing, "1:*" keeps 1.
  EXPECT_TRUE(parse("*").resolve(0).empty());
  EXPECT_EQ(parse("1:*").resolve(0).to_string(), "1");
}

TEST(SequenceSet, NormalisesOrderAndOverlap) {
  EXPECT_EQ(parse("5:3").resolve(10).to_string(), "3:5");
  EXPECT_EQ(parse("5:3").to_string(), "5:3");  // as sent
  EXPECT_EQ(parse("9,1,2,3,7:8,4").resolve(10).to_string(), "1:4,7:9");
  EXPECT_EQ(parse("1:10,2:3,11").resolve(20).to_string(), "1:11");
  EXPECT_EQ(parse("4294967295,1").resolve(5).to_string(), "1,4294967295");
}

TEST(SequenceSet, ZeroAndSyntax) {
  EXPECT_EQ(bad("0"), SequenceSet::Errc::Zero);
  EXPECT_EQ(bad("1:0"), SequenceSet::Errc::Zero);
  EXPECT_EQ(bad("0:*"), SequenceSet::Errc::Zero);
  for (auto s : {"", ",", "1,", ",1", "1::2", "1:2:3", "a", "01", "4294967296", "99999999999", "-1", "1 2", "$,1",
                 "1,$", "$:2", "**", "1:"})
    EXPECT_EQ(bad(s), SequenceSet::Errc::Syntax) << s;
}

TEST(SequenceSet, SavedResult) {
  auto s = parse("$");
  EXPECT_TRUE(s.is_saved_result());
  EXPECT_EQ(s.to_string(), "$");
  EXPECT_FALSE(s.empty());
}

TEST(SequenceSet, RangeLimit) {
  std::string s;
  for (int i = 1; i <= 10; ++i) s += (i > 1 ? "," : "") + std::to_string(i * 2);
  EXPECT_TRUE(SequenceSet::parse(s, 10));
  EXPECT_EQ(bad(s + ",99", 10), SequenceSet::Errc::TooMany);
  std::string huge;
  for (int i = 1; i <= 20000; ++i) huge += (i > 1 ? "," : "") + std::to_string(i);
  EXPECT_EQ(bad(huge), SequenceSet::Errc::TooMany);
}

TEST(IdSet, AddAscendingAndOutOfOrder) {
  IdSet s;
  for (std::uint32_t n : {1u, 2u, 3u, 5u, 7u, 8u}) s.add(n);
  EXPECT_EQ(s.to_string(), "1:3,5,7:8");
  s.add(4);
  EXPECT_EQ(s.to_string(), "1:5,7:8");
  s.add(6);
  EXPECT_EQ(s.to_string(), "1:8");
  s.add(20);
  s.add(10);
  s.add_range(12, 11);
  EXPECT_EQ(s.to_string(), "1:8,10:12,20");
  s.add_range(9, 19);
  EXPECT_EQ(s.to_string(), "1:20");
  s.add(0);  // ignored
  EXPECT_EQ(s.count(), 20u);
  s.add(4294967295u);
  s.add(4294967294u);
  EXPECT_EQ(s.to_string(), "1:20,4294967294:4294967295");
  EXPECT_EQ(s.max(), 4294967295u);
  EXPECT_EQ(s.min(), 1u);
}

TEST(IdSet, ContainsAndClamp) {
  auto s = IdSet::from_ranges({{10, 20}, {1, 3}, {30, 30}});
  for (std::uint32_t n : {1u, 3u, 10u, 15u, 20u, 30u}) EXPECT_TRUE(s.contains(n)) << n;
  for (std::uint32_t n : {0u, 4u, 9u, 21u, 29u, 31u, 4294967295u}) EXPECT_FALSE(s.contains(n)) << n;
  EXPECT_EQ(s.clamped(15).to_string(), "1:3,10:15");
  EXPECT_EQ(s.clamped(0).to_string(), "");
  EXPECT_EQ(s.clamped(100), s);
}

TEST(IdSet, PresentIteration) {
  std::vector<std::uint32_t> uids = {2, 4, 6, 100, 5000, 4294967290u};
  std::vector<std::uint32_t> got;
  parse("1:4294967295").resolve(5000).for_each_present(uids, [&](std::uint32_t u) { got.push_back(u); });
  EXPECT_EQ(got, uids);
  got.clear();
  parse("3:6,4999:*").resolve(4294967290u).for_each_present(uids, [&](std::uint32_t u) { got.push_back(u); });
  EXPECT_EQ(got, (std::vector<std::uint32_t>{4, 6, 5000, 4294967290u}));
  got.clear();
  parse("7:99").resolve(10).for_each_present(uids, [&](std::uint32_t u) { got.push_back(u); });
  EXPECT_TRUE(got.empty());
}

TEST(IdSet, RenderCompactKeepsOrder) {
  std::vector<std::uint32_t> a = {1, 2, 3, 5, 9, 8, 7, 10, 11};
  EXPECT_EQ(render_compact(a), "1:3,5,9,8,7,10:11");
  EXPECT_EQ(render_compact(std::vector<std::uint32_t>{}), "");
  EXPECT_EQ(render_compact(std::vector<std::uint32_t>{4294967294u, 4294967295u}), "4294967294:4294967295");
}

}  // namespace
}  // namespace valija::imap::proto
