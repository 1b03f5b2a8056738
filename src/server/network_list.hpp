#pragma once
// A list of IP networks from the config ("192.0.2.0/24", "2001:db8::/32", "::1"), and
// whether a client address falls in one (IPv4-mapped IPv6 addresses count as IPv4).
#include <string>
#include <vector>

#include "net/asio.hpp"

namespace valija::server {

class NetworkList {
 public:
  NetworkList() = default;
  explicit NetworkList(const std::vector<std::string>& networks) {
    for (const auto& n : networks) {  // the config checked them
      std::error_code ec;
      bool v6 = n.find(':') != std::string::npos;
      std::string spec = n.find('/') == std::string::npos ? n + (v6 ? "/128" : "/32") : n;
      if (v6) {
        auto net = asio::ip::make_network_v6(spec, ec);
        if (!ec) v6_.push_back(net.canonical());
      } else {
        auto net = asio::ip::make_network_v4(spec, ec);
        if (!ec) v4_.push_back(net.canonical());
      }
    }
  }

  bool empty() const { return v4_.empty() && v6_.empty(); }

  bool contains(const std::string& address) const {
    std::error_code ec;
    auto ip = asio::ip::make_address(address, ec);
    if (ec) return false;
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    if (ip.is_v4())
      return std::any_of(v4_.begin(), v4_.end(), [&](const auto& net) {
        return asio::ip::network_v4(ip.to_v4(), net.prefix_length()).canonical() == net;
      });
    return std::any_of(v6_.begin(), v6_.end(), [&](const auto& net) {
      return asio::ip::network_v6(ip.to_v6(), net.prefix_length()).canonical() == net;
    });
  }

 private:
  std::vector<asio::ip::network_v4> v4_;
  std::vector<asio::ip::network_v6> v6_;
};

}  // namespace valija::server
