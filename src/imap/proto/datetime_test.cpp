#include "imap/proto/datetime.hpp"

#include <gtest/gtest.h>

namespace valija::imap::proto {
namespace {

TEST(DateTime, ParsesDates) {
  Date d;
  ASSERT_TRUE(parse_date("1-Feb-1994", d));
  EXPECT_EQ(d, (Date{1994, 2, 1}));
  ASSERT_TRUE(parse_date("29-feb-2024", d));  // leap year, month case-insensitive
  EXPECT_EQ(d, (Date{2024, 2, 29}));
  ASSERT_TRUE(parse_date("01-JAN-0001", d));
  for (auto s : {"29-Feb-2023", "29-Feb-1900", "31-Apr-2020", "0-Jan-2020", "32-Jan-2020", "1-Foo-2020", "1-Jan-20",
                 "1-Jan-20201", "123-Jan-2020", "1 Jan 2020", "", "-Jan-2020", "1-Jan-", "a1-Jan-2020", "1-Ja-2020"})
    EXPECT_FALSE(parse_date(s, d)) << s;
  EXPECT_TRUE(parse_date("29-Feb-2000", d));
}

TEST(DateTime, ParsesDateTimes) {
  DateTime t;
  ASSERT_TRUE(parse_date_time("17-Jul-1996 02:44:25 -0700", t));
  EXPECT_EQ(t.date, (Date{1996, 7, 17}));
  EXPECT_EQ(t.hour, 2);
  EXPECT_EQ(t.zone, -420);
  EXPECT_EQ(t.to_unix(), 837596665);
  ASSERT_TRUE(parse_date_time(" 7-Jul-1996 02:44:25 +0000", t));  // date-day-fixed: SP DIGIT
  EXPECT_EQ(t.date.day, 7);
  ASSERT_TRUE(parse_date_time("07-Jul-1996 02:44:25 +0130", t));
  EXPECT_EQ(t.zone, 90);
  ASSERT_TRUE(parse_date_time("7-Jul-1996 23:59:60 +0000", t));  // leap second, bare 1-digit day tolerated
  for (auto s : {"17-Jul-1996 24:00:00 +0000", "17-Jul-1996 02:60:00 +0000", "17-Jul-1996 02:44:25 0700",
                 "17-Jul-1996 02:44:25 -07000", "17-Jul-1996 02:44:25", "17-Jul-1996  02:44:25 -0700",
                 "17-Jul-1996 2:44:25 -0700", "17-Jul-1996 02:44:25 -0760", "17-Jul-1996 02:44:25 +2400",
                 "31-Jun-1996 02:44:25 -0700", "", "17-Jul-1996T02:44:25 -0700", "  7-Jul-1996 02:44:25 +0000"})
    EXPECT_FALSE(parse_date_time(s, t)) << s;
}

TEST(DateTime, Formats) {
  EXPECT_EQ(format_date_time(837596665, -420), "17-Jul-1996 02:44:25 -0700");
  EXPECT_EQ(format_date_time(0, 0), " 1-Jan-1970 00:00:00 +0000");
  EXPECT_EQ(format_date_time(0, 330), " 1-Jan-1970 05:30:00 +0530");
  EXPECT_EQ(format_date_time(-1, 0), "31-Dec-1969 23:59:59 +0000");
  EXPECT_EQ(format_date_time(951782400, 0), "29-Feb-2000 00:00:00 +0000");
  EXPECT_EQ(format_date(Date{1994, 2, 1}), "01-Feb-1994");
}

TEST(DateTime, RoundTrip) {
  for (std::int64_t t : {0ll, 837596665ll, 951782400ll, 1700000000ll, 4102444799ll, -86400ll})
    for (int zone : {0, -420, 330, 840, -720}) {
      DateTime dt;
      ASSERT_TRUE(parse_date_time(format_date_time(t, zone), dt)) << t << " " << zone;
      EXPECT_EQ(dt.to_unix(), t);
      EXPECT_EQ(dt.zone, zone);
    }
}

}  // namespace
}  // namespace valija::imap::proto
