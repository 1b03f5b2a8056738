#include "policy/iprev.hpp"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>

namespace valija::policy {
namespace {

// The same address written two ways ("::ffff:192.0.2.1" and "192.0.2.1", "2001:DB8::1"
// and "2001:db8:0::1") compares equal.
bool same_address(std::string_view a, std::string_view b) {
  auto bytes = [](std::string_view s, unsigned char out[16]) {
    std::string t(s);
    std::memset(out, 0, 16);
    if (::inet_pton(AF_INET, t.c_str(), out + 12) == 1) {
      out[10] = out[11] = 0xff;
      return true;
    }
    return ::inet_pton(AF_INET6, t.c_str(), out) == 1;
  };
  unsigned char x[16], y[16];
  return bytes(a, x) && bytes(b, y) && std::memcmp(x, y, 16) == 0;
}

bool is_v4(std::string_view ip) {
  return ip.find(':') == std::string_view::npos || ip.starts_with("::ffff:") || ip.starts_with("::FFFF:");
}

}  // namespace

std::string_view iprev_name(IprevResult r) {
  switch (r) {
    case IprevResult::Pass: return "pass";
    case IprevResult::Fail: return "fail";
    case IprevResult::TempError: return "temperror";
    case IprevResult::PermError: return "permerror";
  }
  return "permerror";
}

IprevCheck::IprevCheck(std::string ip) : ip_(std::move(ip)) {}

std::variant<IprevOutcome, std::vector<dns::Query>> IprevCheck::evaluate(const dns::Answers& answers) const {
  IprevOutcome out;
  auto ptr = dns::ptr_name(ip_);
  if (!ptr) {
    out.detail = fmt::format("{} is not an IP address", ip_);
    return out;
  }
  auto pq = dns::make_query(*ptr, dns::RrType::Ptr);
  const auto* names = answers.find(pq);
  if (!names) return std::vector<dns::Query>{pq};
  if (names->outcome == dns::Outcome::Temporary) {
    out.result = IprevResult::TempError;
    out.detail = names->detail;
    return out;
  }
  if (names->records.empty()) {
    out.result = IprevResult::Fail;
    out.detail = fmt::format("no PTR record for {}", ip_);
    return out;
  }
  // Each name's addresses of the client's family; all asked at once.
  auto type = is_v4(ip_) ? dns::RrType::A : dns::RrType::Aaaa;
  std::vector<dns::Query> need;
  bool temporary = false;
  std::size_t n = std::min(names->records.size(), kMaxNames);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& name = names->records[i];
    if (name.empty()) continue;
    auto q = dns::make_query(name, type);
    const auto* addrs = answers.find(q);
    if (!addrs) {
      need.push_back(std::move(q));
      continue;
    }
    if (addrs->outcome == dns::Outcome::Temporary) temporary = true;
    for (const auto& a : addrs->records) {
      if (same_address(a, ip_)) {
        out.result = IprevResult::Pass;
        out.name = name;
        out.detail = fmt::format("{} is {}", ip_, name);
        return out;
      }
    }
  }
  if (!need.empty()) return need;
  out.name = names->records.front();
  out.result = temporary ? IprevResult::TempError : IprevResult::Fail;
  out.detail = fmt::format("{} points to {}, whose addresses do not include it{}", ip_, out.name,
                           temporary ? " (a lookup failed)" : "");
  return out;
}

std::optional<dns::Query> blocklist_query(std::string_view ip, std::string_view zone) {
  auto rev = dns::reversed_address(ip);
  if (!rev || zone.empty()) return std::nullopt;
  return dns::make_query(*rev + "." + std::string(zone), dns::RrType::A);
}

BlocklistResult blocklist_result(const dns::Answer& a) {
  BlocklistResult r;
  if (a.outcome == dns::Outcome::NxDomain || a.outcome == dns::Outcome::NoData) return r;
  if (a.outcome == dns::Outcome::Temporary) {
    r.kind = BlocklistResult::Kind::Error;
    r.detail = a.detail;
    return r;
  }
  for (const auto& addr : a.records) {
    if (addr.starts_with("127.255.255.")) {
      r.kind = BlocklistResult::Kind::Error;
      r.detail = fmt::format("the list answered {} (an error code: query refused or limited)", addr);
      return r;
    }
    if (addr.starts_with("127.")) r.codes.push_back(addr);
  }
  if (!r.codes.empty()) r.kind = BlocklistResult::Kind::Listed;
  else r.detail = "answer outside 127.0.0.0/8 ignored";
  return r;
}

}  // namespace valija::policy
