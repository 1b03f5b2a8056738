#include "imap/proto/datetime.hpp"

#include <array>
#include <cstdio>

#include "base/text.hpp"

namespace valija::imap::proto {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  Date d;
  d.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  d.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  d.year = static_cast<int>(yoe + era * 400 + (d.month <= 2));
  return d;
}

bool digits(std::string_view s, int& out) {
  if (s.empty()) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// "dd-Mon-yyyy" with a 1- or 2-digit day; the caller strips date-day-fixed's space.
bool parse_dmy(std::string_view s, Date& out) {
  auto d1 = s.find('-');
  if (d1 == std::string_view::npos || d1 == 0 || d1 > 2) return false;
  if (s.size() != d1 + 9 || s[d1 + 4] != '-') return false;
  Date d;
  if (!digits(s.substr(0, d1), d.day) || !digits(s.substr(d1 + 5), d.year)) return false;
  auto mon = s.substr(d1 + 1, 3);
  d.month = 0;
  for (std::size_t i = 0; i < kMonths.size(); ++i)
    if (text::iequals(mon, kMonths[i])) d.month = static_cast<int>(i + 1);
  if (d.month == 0 || d.day < 1 || d.day > days_in_month(d.year, d.month)) return false;
  out = d;
  return true;
}

}  // namespace

std::int64_t Date::days() const { return days_from_civil(year, month, day); }

std::int64_t DateTime::to_unix() const {
  return date.days() * 86400 + hour * 3600 + minute * 60 + second - static_cast<std::int64_t>(zone) * 60;
}

bool parse_date(std::string_view text, Date& out) { return parse_dmy(text, out); }

bool parse_date_time(std::string_view s, DateTime& out) {
  // RFC 9051 §9: date-day-fixed = (SP DIGIT) / 2DIGIT; a bare 1-digit day is tolerated.
  if (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  auto sp = s.find(' ');
  if (sp == std::string_view::npos) return false;
  DateTime dt;
  if (!parse_dmy(s.substr(0, sp), dt.date)) return false;
  auto rest = s.substr(sp + 1);
  // time = 2DIGIT ":" 2DIGIT ":" 2DIGIT; zone = ("+" / "-") 4DIGIT
  if (rest.size() != 14 || rest[2] != ':' || rest[5] != ':' || rest[8] != ' ') return false;
  int zh = 0, zm = 0;
  if (!digits(rest.substr(0, 2), dt.hour) || !digits(rest.substr(3, 2), dt.minute) ||
      !digits(rest.substr(6, 2), dt.second) || !digits(rest.substr(10, 2), zh) || !digits(rest.substr(12, 2), zm))
    return false;
  // A leap second (60) is allowed as in RFC 5322 §3.3; zones up to ±23:59.
  if (dt.hour > 23 || dt.minute > 59 || dt.second > 60 || zh > 23 || zm > 59) return false;
  if (rest[9] != '+' && rest[9] != '-') return false;
  dt.zone = (zh * 60 + zm) * (rest[9] == '-' ? -1 : 1);
  out = dt;
  return true;
}

std::string format_date(const Date& d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d-%s-%04d", d.day, kMonths[static_cast<std::size_t>(d.month - 1)].data(), d.year);
  return buf;
}

std::string format_date_time(std::int64_t unix, int zone_minutes) {
  std::int64_t local = unix + static_cast<std::int64_t>(zone_minutes) * 60;
  std::int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  std::int64_t secs = local - days * 86400;
  Date d = civil_from_days(days);
  int z = zone_minutes < 0 ? -zone_minutes : zone_minutes;
  char buf[64];
  // RFC 9051 §9 date-time: date-day-fixed is "SP DIGIT" for days below 10.
  std::snprintf(buf, sizeof buf, "%2d-%s-%04d %02d:%02d:%02d %c%02d%02d", d.day,
                kMonths[static_cast<std::size_t>(d.month - 1)].data(), d.year, static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60), zone_minutes < 0 ? '-' : '+', z / 60 % 100,
                z % 60);
  return buf;
}

}  // namespace valija::imap::proto
