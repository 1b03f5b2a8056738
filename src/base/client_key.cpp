#include "base/client_key.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace valija {

std::string client_key(std::string_view ip) {
  std::string s(ip);
  unsigned char b[16];
  if (s.find(':') == std::string::npos || ::inet_pton(AF_INET6, s.c_str(), b) != 1) return s;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(b, b + 12, kMapped)) {
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, b + 12, text, sizeof text);
    return text;
  }
  std::fill(b + 8, b + 16, 0);
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, b, text, sizeof text);
  return std::string(text) + "/64";
}

bool is_loopback(std::string_view ip) { return ip.starts_with("127.") || ip == "::1"; }

}  // namespace valija
