#pragma once
// Structured logging facade: "event=... key=value" lines. spdlog stays in log.cpp.
#include <fmt/format.h>

#include <string>
#include <string_view>

namespace valija::log {

enum class Level { Debug, Info, Warn, Error };

void init(Level min_level, bool json = false);
bool enabled(Level l);
void write(Level l, std::string_view line);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::Error)) write(Level::Error, fmt::format(f, std::forward<Args>(args)...));
}

// Quotes a value for key=value logs when it has spaces, quotes or control bytes.
std::string q(std::string_view value);

}  // namespace valija::log
