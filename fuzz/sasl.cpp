// SASL: the strict base64 decoder has one encoding per byte string (decode then encode
// gives the input back), encode then decode is the identity, and a whole exchange on
// arbitrary lines ends in one of the four outcomes without exceeding the bound.
#include <cstdint>
#include <string_view>

#include "auth/sasl.hpp"

using namespace valija::auth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto d = base64_decode(in, 1 << 20)) {
    if (base64_encode(*d) != in) __builtin_trap();
  }
  auto e = base64_decode(base64_encode(in), size);
  if (!e || *e != in) __builtin_trap();
  if (size == 0) return 0;

  SaslLimits limits;
  limits.max_response = 100;
  SaslServer sasl(data[0] & 1 ? SaslMechanism::Login : SaslMechanism::Plain, limits);
  in.remove_prefix(1);
  std::optional<std::string_view> ir;
  auto nl = in.find('\n');
  if (data[0] & 2) {
    ir = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  SaslStep s = sasl.start(ir);
  int challenges = 0;
  while (std::holds_alternative<sasl::Challenge>(s)) {
    if (++challenges > 2) __builtin_trap();  // PLAIN asks once, LOGIN twice
    nl = in.find('\n');
    s = sasl.on_response(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  if (!sasl.finished()) __builtin_trap();
  if (auto* d = std::get_if<sasl::Done>(&s)) {
    const auto& c = d->credentials;
    if (c.authcid.empty() || c.password.empty()) __builtin_trap();
    // The bound is per response: PLAIN sends all three in one, LOGIN one per response.
    bool plain = !(data[0] & 1);
    if (plain && c.authzid.size() + c.authcid.size() + c.password.size() + 2 > limits.max_response) __builtin_trap();
    if (c.authcid.size() > limits.max_response || c.password.size() > limits.max_response) __builtin_trap();
    if (!plain && !c.authzid.empty()) __builtin_trap();
    if (c.authcid.find('\0') != std::string::npos || c.password.find('\0') != std::string::npos) __builtin_trap();
  }
  return 0;
}
