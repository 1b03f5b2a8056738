// SCRAM (auth/scram.cpp): client messages from the fuzzer, raw (base64-encoded here so
// the parser sees them), with and without channel binding. No crash, no exchange that
// goes on past its steps, and never Verified: the input cannot know the password.
#include <cstdint>
#include <string_view>

#include "auth/sasl.hpp"
#include "auth/scram.hpp"

using namespace valija::auth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const ScramKeys keys = scram_derive(ScramHash::Sha256, "a password nobody guesses", "0123456789abcdef", 64);
  const SaslMechanism mechs[] = {SaslMechanism::ScramSha256, SaslMechanism::ScramSha256Plus, SaslMechanism::ScramSha1,
                                 SaslMechanism::ScramSha1Plus};
  ChannelBindings cb;
  if (data[0] & 4) cb = ChannelBindings{"exporter", "endpoint"};
  SaslServer s(mechs[data[0] & 3], {}, cb);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto next_line = [&in] {
    auto nl = in.find('\n');
    auto line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return base64_encode(line);
  };
  SaslStep step = s.start(next_line());
  int steps = 0;
  while (true) {
    if (++steps > 6) __builtin_trap();
    if (std::holds_alternative<sasl::NeedKeys>(step)) {
      step = s.on_keys(keys);
    } else if (std::holds_alternative<sasl::Challenge>(step)) {
      step = s.on_response(next_line());
    } else {
      break;
    }
  }
  if (auto* d = std::get_if<sasl::Done>(&step))
    if (d->proof == sasl::Proof::Verified) __builtin_trap();
  return 0;
}
