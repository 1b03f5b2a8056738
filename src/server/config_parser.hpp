#pragma once
// The TOML reading shared by the config's sections (config.cpp, config_checks.cpp):
// every key known, every value checked, errors with file, line and key.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <arpa/inet.h>
#include <fmt/format.h>

#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "base/result.hpp"
#include "base/text.hpp"
#include "server/config.hpp"

namespace valija::server {

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Error err(const toml::node* node, std::string_view key, std::string_view msg) const {
    auto line = node ? node->source().begin.line : 0;
    if (line) return Error{Errc::Invalid, fmt::format("{}:{}: {}: {}", file_, line, key, msg)};
    return Error{Errc::Invalid, fmt::format("{}: {}: {}", file_, key, msg)};
  }

  // Every key must be known: a typo is an error, not a silent default.
  Result<void> known(const toml::table& t, std::string_view prefix, std::initializer_list<std::string_view> keys) const {
    for (const auto& [k, v] : t) {
      bool ok = false;
      for (auto n : keys) ok = ok || k.str() == n;
      if (!ok) return tl::unexpected(err(&v, fmt::format("{}{}", prefix, k.str()), "unknown key"));
    }
    return {};
  }

  Result<std::string> str(const toml::table& t, std::string_view key, std::string_view path, std::string def) const {
    const toml::node* n = t.get(key);
    if (!n) return def;
    auto v = n->value<std::string>();
    if (!v) return tl::unexpected(err(n, path, "expected a string"));
    return *v;
  }

  Result<std::uint64_t> num(const toml::table& t, std::string_view key, std::string_view path, std::uint64_t def,
                            std::uint64_t min, std::uint64_t max) const {
    const toml::node* n = t.get(key);
    if (!n) return def;
    auto v = n->value_exact<std::int64_t>();  // true, 25.0 and "25" are not integers
    if (!v) return tl::unexpected(err(n, path, "expected an integer"));
    if (*v < 0 || static_cast<std::uint64_t>(*v) < min || static_cast<std::uint64_t>(*v) > max)
      return tl::unexpected(err(n, path, fmt::format("must be between {} and {}", min, max)));
    return static_cast<std::uint64_t>(*v);
  }

  std::string file_;
};

#define TRY_ASSIGN(lhs, expr)                                \
  do {                                                       \
    auto _r = (expr);                                        \
    if (!_r) return tl::unexpected(std::move(_r.error()));   \
    lhs = static_cast<std::remove_reference_t<decltype(lhs)>>(*_r); \
  } while (0)

inline bool is_ip_address(const std::string& a) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, a.c_str(), buf) == 1 || ::inet_pton(AF_INET6, a.c_str(), buf) == 1;
}

// A list of addresses and networks ("192.0.2.0/24", "2001:db8::/32", "192.0.2.7").
// Networks wider than /8 (IPv4) or /16 (IPv6) are refused with `too_wide`: they would
// cover much of the Internet.
inline Result<std::vector<std::string>> parse_networks(const Parser& p, const toml::table& t, std::string_view key,
                                                       std::string_view path, std::vector<std::string> def,
                                                       std::string_view too_wide) {
  const toml::node* tn = t.get(key);
  if (!tn) return def;
  const toml::array* arr = tn->as_array();
  if (!arr) return tl::unexpected(p.err(tn, path, "expected a list of networks"));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto v = (*arr)[i].value<std::string>();
    auto item = fmt::format("{}[{}]", path, i);
    auto slash = v ? v->find('/') : std::string::npos;
    std::string addr = v ? v->substr(0, slash) : "";
    std::optional<std::uint64_t> bits = slash == std::string::npos ? std::optional<std::uint64_t>(0)
                                                                   : text::parse_u64(v->substr(slash + 1));
    bool v6 = addr.find(':') != std::string::npos;
    if (!v || !is_ip_address(addr) || !bits || *bits > (v6 ? 128u : 32u))
      return tl::unexpected(p.err(&(*arr)[i], item, "expected an address or network, like 192.0.2.0/24"));
    if (slash != std::string::npos && *bits < (v6 ? 16u : 8u))
      return tl::unexpected(p.err(&(*arr)[i], item, too_wide));
    out.push_back(*v);
  }
  return out;
}

// [checks] (config_checks.cpp).
Result<void> parse_checks(const Parser& p, const toml::table& t, ChecksConfig& c);

}  // namespace valija::server
