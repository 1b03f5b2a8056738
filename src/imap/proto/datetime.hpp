#pragma once
// IMAP dates (RFC 9051 §9 date, date-time): parsing for SEARCH and APPEND, rendering for
// INTERNALDATE. Pure arithmetic on the proleptic Gregorian calendar; no locale, no tz db.
#include <cstdint>
#include <string>
#include <string_view>

namespace valija::imap::proto {

struct Date {
  int year = 1970;  // 4 digits: 0000-9999
  int month = 1;    // 1-12
  int day = 1;      // 1-31, valid for the month
  bool operator==(const Date&) const = default;
  // Days since 1970-01-01.
  std::int64_t days() const;
};

struct DateTime {
  Date date;
  int hour = 0, minute = 0, second = 0;
  int zone = 0;  // minutes east of UTC (+0200 is 120)
  bool operator==(const DateTime&) const = default;
  std::int64_t to_unix() const;  // seconds since the epoch, UTC
};

// date-text without quotes: "1-Feb-1994" (day 1 or 2 digits, month case-insensitive).
bool parse_date(std::string_view text, Date& out);
// date-time without its quotes: "17-Jul-1996 02:44:25 -0700" (day " 7", "07" or "7").
bool parse_date_time(std::string_view text, DateTime& out);

// "17-Jul-1996 02:44:25 -0700" (without quotes) for `unix` seen in zone `zone_minutes`.
std::string format_date_time(std::int64_t unix, int zone_minutes);
// "17-Jul-1996"
std::string format_date(const Date& d);

}  // namespace valija::imap::proto
