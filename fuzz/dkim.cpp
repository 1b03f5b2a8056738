// DKIM (policy/dkim_*.cpp): the parsers, canonicalisation, signatures() and verify()
// take any bytes; any message valija signs verifies.
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/dkim.hpp"
#include "policy/dkim_canon.hpp"

using namespace valija::policy::dkim;

namespace {

// RFC 8463 Appendix A's Ed25519 key: small and fast, so the fuzzer spends its time on parsing.
constexpr std::string_view kPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kRecord = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr std::int64_t kNow = 1'700'000'000;

valija::dns::Answer answer(std::string record) {
  valija::dns::Answer a;
  a.outcome = valija::dns::Outcome::Answer;
  a.records = {std::move(record)};
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)parse_signature(in);
  (void)parse_key_record(in);
  (void)blank_b_value(in);
  for (auto c : {Canon::Simple, Canon::Relaxed}) {
    (void)canon_header(c, in);
    (void)canon_body(c, in);
  }
  static const auto fixed = answer(std::string(kRecord));
  auto found = signatures(in);
  for (const auto& p : found.pending) {
    (void)verify(in, p, fixed, kNow);
    (void)verify(in, p, answer(std::string(in)), kNow);  // the input as the key record too
  }
  static const Key key{"example.org", "fuzz", Algorithm::Ed25519Sha256, std::string(kPem)};
  auto field = sign(in, key, kNow, 3600);
  if (!field) return 0;
  std::string signed_message = *field + std::string(in);
  auto again = signatures(signed_message);
  if (again.pending.empty() || verify(signed_message, again.pending[0], fixed, kNow).result != Verdict::Result::Pass)
    __builtin_trap();
  return 0;
}
