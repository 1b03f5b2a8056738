#include "base/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace valija::log {
namespace {
std::atomic<int> g_min{static_cast<int>(Level::Info)};
std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> l = [] {
    auto lg = spdlog::stderr_logger_mt("valija");
    lg->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    lg->set_level(spdlog::level::trace);
    lg->flush_on(spdlog::level::trace);
    return lg;
  }();
  return l;
}
}  // namespace

void init(Level min_level, bool) { g_min = static_cast<int>(min_level); logger(); }

bool enabled(Level l) { return static_cast<int>(l) >= g_min.load(std::memory_order_relaxed); }

void write(Level l, std::string_view line) {
  switch (l) {
    case Level::Debug: logger()->debug(line); break;
    case Level::Info: logger()->info(line); break;
    case Level::Warn: logger()->warn(line); break;
    case Level::Error: logger()->error(line); break;
  }
}

std::string q(std::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c >= 0x7f) { plain = false; break; }
  }
  if (plain) return std::string(v);
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
    else if (c < ' ' || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  out += '"';
  return out;
}

}  // namespace valija::log
