#include "smtp/client/capabilities.hpp"

#include <algorithm>

#include "base/text.hpp"

namespace valija::smtp::client {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return out;
}

}  // namespace

bool Capabilities::offers_auth(std::string_view mechanism) const {
  return std::any_of(auth.begin(), auth.end(), [&](const std::string& m) { return text::iequals(m, mechanism); });
}

Capabilities parse_ehlo(const proto::Reply& reply) {
  Capabilities c;
  if (reply.code != 250 || reply.lines.empty()) return c;
  c.greeting = reply.lines.front();
  constexpr std::size_t kMaxAuth = 32;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    // ehlo-line = ehlo-keyword *( SP / "=" ehlo-param ); "AUTH=LOGIN" is an old form of AUTH.
    std::string_view line = reply.lines[i];
    auto end = line.find_first_of(" =");
    auto keyword = upper(line.substr(0, end));
    std::string_view params = end == std::string_view::npos ? std::string_view() : line.substr(end + 1);
    if (keyword == "PIPELINING") c.pipelining = true;
    else if (keyword == "8BITMIME") c.eight_bit_mime = true;
    else if (keyword == "BINARYMIME") c.binary_mime = true;
    else if (keyword == "CHUNKING") c.chunking = true;
    else if (keyword == "SMTPUTF8") c.smtputf8 = true;
    else if (keyword == "STARTTLS") c.starttls = true;
    else if (keyword == "REQUIRETLS") c.requiretls = true;
    else if (keyword == "DSN") c.dsn = true;
    else if (keyword == "ENHANCEDSTATUSCODES") c.enhanced_status = true;
    else if (keyword == "SIZE") {
      auto n = text::parse_u64(text::trim(params));
      c.size = n ? *n : 0;
    } else if (keyword == "AUTH") {
      std::size_t pos = 0;
      while (pos < params.size() && c.auth.size() < kMaxAuth) {
        while (pos < params.size() && params[pos] == ' ') ++pos;
        auto stop = params.find(' ', pos);
        auto mech = params.substr(pos, stop == std::string_view::npos ? std::string_view::npos : stop - pos);
        if (!mech.empty() && !c.offers_auth(mech)) c.auth.push_back(upper(mech));
        if (stop == std::string_view::npos) break;
        pos = stop + 1;
      }
    }
  }
  return c;
}

}  // namespace valija::smtp::client
