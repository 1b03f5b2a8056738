#include "dns/mx.hpp"

#include <algorithm>

#include "base/text.hpp"

namespace valija::dns {

std::string canonical_name(std::string_view name) {
  auto out = text::to_lower(name);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

MxPlan plan_mx(std::string_view domain, const MxAnswer& answer, std::mt19937_64& rng, std::size_t max_hosts) {
  MxPlan plan;
  plan.detail = answer.detail;
  switch (answer.outcome) {
    case Outcome::Temporary:
      plan.kind = MxPlan::Kind::TryLater;
      return plan;
    case Outcome::NxDomain:
      plan.kind = MxPlan::Kind::NoDomain;
      return plan;
    case Outcome::NoData:
    case Outcome::Answer: break;
  }
  if (answer.records.empty()) {  // NODATA, or an answer without records: the implicit MX
    plan.kind = MxPlan::Kind::Hosts;
    plan.implicit = true;
    plan.hosts.push_back(MxRecord{0, canonical_name(domain)});
    return plan;
  }
  for (const auto& r : answer.records) {
    if (r.exchange.empty()) {  // RFC 7505 §3: "." as exchange is a null MX
      plan.kind = MxPlan::Kind::NullMx;
      return plan;
    }
  }
  std::vector<MxRecord> hosts = answer.records;
  // Stable order first (so duplicates are adjacent and the shuffle is the only chance).
  std::sort(hosts.begin(), hosts.end(), [](const MxRecord& a, const MxRecord& b) {
    return a.preference != b.preference ? a.preference < b.preference : a.exchange < b.exchange;
  });
  // A host listed twice is tried once, at its best preference.
  std::vector<MxRecord> unique;
  for (auto& h : hosts) {
    bool seen = std::any_of(unique.begin(), unique.end(), [&](const MxRecord& u) { return u.exchange == h.exchange; });
    if (!seen) unique.push_back(std::move(h));
  }
  for (auto it = unique.begin(); it != unique.end();) {
    auto end = std::find_if(it, unique.end(), [&](const MxRecord& r) { return r.preference != it->preference; });
    std::shuffle(it, end, rng);
    it = end;
  }
  if (unique.size() > max_hosts) unique.resize(max_hosts);
  plan.kind = MxPlan::Kind::Hosts;
  plan.hosts = std::move(unique);
  return plan;
}

Result<std::string> parse_wire_name(std::span<const unsigned char> data, std::size_t& used) {
  std::string name;
  std::size_t pos = 0;
  std::size_t wire = 0;
  while (true) {
    if (pos >= data.size()) return fail(Errc::Invalid, "name runs past the data");
    std::size_t len = data[pos];
    if (len & 0xC0) return fail(Errc::Invalid, "compressed or extended label in rdata");
    ++pos;
    wire += len + 1;
    if (wire > 255) return fail(Errc::Invalid, "name longer than 255 octets");
    if (len == 0) break;
    if (pos + len > data.size()) return fail(Errc::Invalid, "label runs past the data");
    if (!name.empty()) name += '.';
    for (std::size_t i = 0; i < len; ++i) {
      unsigned char c = data[pos + i];
      if (c == '.' || c <= 0x20 || c >= 0x7F) return fail(Errc::Invalid, "label with a character a host name cannot have");
      name += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    pos += len;
  }
  used = pos;
  return name;
}

Result<MxRecord> parse_mx_rdata(std::span<const unsigned char> rdata) {
  if (rdata.size() < 3) return fail(Errc::Invalid, "MX rdata too short");
  MxRecord r;
  r.preference = static_cast<std::uint16_t>(rdata[0] << 8 | rdata[1]);
  std::size_t used = 0;
  auto name = parse_wire_name(rdata.subspan(2), used);
  if (!name) return tl::unexpected(name.error());
  if (2 + used != rdata.size()) return fail(Errc::Invalid, "MX rdata has bytes after the name");
  r.exchange = std::move(*name);
  return r;
}

std::string to_wire_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  while (!name.empty()) {
    auto dot = name.find('.');
    auto label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) return {};
    out += static_cast<char>(label.size());
    out += label;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out += '\0';
  if (out.size() > 255) return {};
  return out;
}

}  // namespace valija::dns
