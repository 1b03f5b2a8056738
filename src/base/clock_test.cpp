#include "base/clock.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>

#include "base/memory_budget.hpp"

namespace valija {
namespace {

TEST(RandomId, LengthAndAlphabet) {
  for (std::size_t n : {0u, 1u, 12u, 64u, 65u, 200u}) {
    auto id = clock::random_id(n);
    EXPECT_EQ(id.size(), n);
    EXPECT_EQ(id.find_first_not_of("0123456789BCDFGHJKLMNPQRSTVWXYZ"), std::string::npos) << id;
  }
}

TEST(RandomId, UniqueAndEverySymbolUsed) {
  std::set<std::string> seen;
  std::array<int, 128> counts{};
  for (int i = 0; i < 2000; ++i) {
    auto id = clock::random_id(16);
    EXPECT_TRUE(seen.insert(id).second);
    for (char c : id) ++counts[static_cast<unsigned char>(c)];
  }
  // 32,000 symbols over 31: about 1,032 each; far from 0 or a doubled share.
  for (char c : std::string("0123456789BCDFGHJKLMNPQRSTVWXYZ")) {
    EXPECT_GT(counts[static_cast<unsigned char>(c)], 800) << c;
    EXPECT_LT(counts[static_cast<unsigned char>(c)], 1300) << c;
  }
}

TEST(Rfc5322Date, Format) { EXPECT_EQ(clock::rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000"); }

TEST(MemoryBudget, ReservationsGrowAndReturn) {
  MemoryBudget budget(100);
  {
    MemoryReservation a(budget), b(budget);
    EXPECT_TRUE(a.grow_to(60));
    EXPECT_TRUE(a.grow_to(30));  // never shrinks
    EXPECT_EQ(a.held(), 60u);
    EXPECT_FALSE(b.grow_to(41));
    EXPECT_EQ(b.held(), 0u);
    EXPECT_TRUE(b.grow_to(40));
    EXPECT_EQ(budget.available(), 0u);
    a.release();
    EXPECT_EQ(budget.used(), 40u);
    EXPECT_TRUE(a.grow_to(60));
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryBudget, LowerLimitTakesEffectAsReservationsReturn) {
  MemoryBudget budget(100);
  MemoryReservation a(budget);
  ASSERT_TRUE(a.grow_to(80));
  budget.set_limit(50);
  EXPECT_EQ(budget.available(), 0u);
  MemoryReservation b(budget);
  EXPECT_FALSE(b.grow_to(1));
  a.release();
  EXPECT_TRUE(b.grow_to(50));
  EXPECT_FALSE(b.grow_to(51));
  MemoryReservation huge(budget);
  EXPECT_FALSE(huge.grow_to(UINT64_MAX));  // no overflow
}

TEST(MemoryBudget, UnboundReservationIsANoOp) {
  MemoryReservation r;
  EXPECT_TRUE(r.grow_to(1u << 30));
  EXPECT_EQ(r.held(), 0u);
}

}  // namespace
}  // namespace valija
