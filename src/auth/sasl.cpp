#include "auth/sasl.hpp"
#include "auth/sasl_exchange.hpp"

#include <array>
#include <cstdint>

#include "base/text.hpp"

namespace valija::auth {
namespace {


sasl::Failed malformed(std::string reason) { return sasl::Failed{SaslErrc::Malformed, std::move(reason)}; }

}  // namespace


// --- Mechanisms ---

namespace {
struct MechEntry {
  std::string_view name;
  SaslMechanism mech;
  bool sends_password;
};
// Listing order: strongest first once SCRAM-SHA-256 joins; PLAIN before LOGIN (LOGIN is
// only for old clients, draft-murchison-sasl-login §1).
constexpr std::array<MechEntry, 6> kMechs{{
    {"SCRAM-SHA-256-PLUS", SaslMechanism::ScramSha256Plus, false},
    {"SCRAM-SHA-256", SaslMechanism::ScramSha256, false},
    {"SCRAM-SHA-1-PLUS", SaslMechanism::ScramSha1Plus, false},
    {"SCRAM-SHA-1", SaslMechanism::ScramSha1, false},
    {"PLAIN", SaslMechanism::Plain, true},
    {"LOGIN", SaslMechanism::Login, true},
}};
}  // namespace

std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name) {
  for (const auto& m : kMechs)
    if (text::iequals(name, m.name)) return m.mech;
  return std::nullopt;
}

std::string_view sasl_mechanism_name(SaslMechanism m) {
  for (const auto& e : kMechs)
    if (e.mech == m) return e.name;
  return "?";
}

bool sasl_sends_password(SaslMechanism m) {
  for (const auto& e : kMechs)
    if (e.mech == m) return e.sends_password;
  return true;
}

bool sasl_is_scram(SaslMechanism m) { return m != SaslMechanism::Plain && m != SaslMechanism::Login; }

std::vector<SaslMechanism> sasl_mechanisms(bool cleartext_allowed, bool scram, bool plus) {
  std::vector<SaslMechanism> out;
  for (const auto& e : kMechs) {
    bool is_plus = e.mech == SaslMechanism::ScramSha1Plus || e.mech == SaslMechanism::ScramSha256Plus;
    if (sasl_is_scram(e.mech) ? scram && (!is_plus || plus) : cleartext_allowed) out.push_back(e.mech);
  }
  return out;
}

std::size_t sasl_line_limit(const SaslLimits& limits) { return (limits.max_response + 2) / 3 * 4; }



namespace {

// RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
class PlainExchange final : public SaslServer::Exchange {
 public:
  SaslStep start(std::optional<std::string_view> response) override {
    if (!response) return sasl::Challenge{""};  // RFC 4422 §5: empty challenge, client sends the message
    return next(*response);
  }
  SaslStep next(std::string_view msg) override {
    auto first = msg.find('\0');
    if (first == std::string_view::npos) return malformed("PLAIN response without NUL separators");
    auto second = msg.find('\0', first + 1);
    if (second == std::string_view::npos) return malformed("PLAIN response with one NUL separator");
    if (msg.find('\0', second + 1) != std::string_view::npos) return malformed("PLAIN response with more than two NULs");
    SaslCredentials c;
    c.authzid.assign(msg.substr(0, first));
    c.authcid.assign(msg.substr(first + 1, second - first - 1));
    c.password.assign(msg.substr(second + 1));
    // RFC 4616 §2: authcid and passwd are 1*SAFE; identities are UTF-8. The password is
    // left as bytes (some clients still send Latin-1); the store compares hashes.
    if (c.authcid.empty()) return malformed("PLAIN response with an empty user name");
    if (c.password.empty()) return malformed("PLAIN response with an empty password");
    if (!text::valid_utf8(c.authcid) || !text::valid_utf8(c.authzid)) return malformed("PLAIN identity is not UTF-8");
    return sasl::Done{std::move(c)};
  }
};

// draft-murchison-sasl-login-00: "Username:" then "Password:", each answered on its own
// line. An initial response is taken as the user name, as most servers do.
class LoginExchange final : public SaslServer::Exchange {
 public:
  SaslStep start(std::optional<std::string_view> response) override {
    if (!response) return sasl::Challenge{"Username:"};
    return next(*response);
  }
  SaslStep next(std::string_view response) override {
    if (!have_user_) {
      if (response.empty()) return malformed("LOGIN with an empty user name");
      if (response.find('\0') != std::string_view::npos) return malformed("LOGIN user name contains NUL");
      if (!text::valid_utf8(response)) return malformed("LOGIN user name is not UTF-8");
      user_.assign(response);
      have_user_ = true;
      return sasl::Challenge{"Password:"};
    }
    if (response.empty()) return malformed("LOGIN with an empty password");
    if (response.find('\0') != std::string_view::npos) return malformed("LOGIN password contains NUL");
    SaslCredentials c;
    c.authcid = std::move(user_);
    c.password.assign(response);
    return sasl::Done{std::move(c)};
  }

 private:
  std::string user_;
  bool have_user_ = false;
};

std::unique_ptr<SaslServer::Exchange> make_exchange(SaslMechanism m, const ChannelBindings& bindings) {
  switch (m) {
    case SaslMechanism::Plain: return std::make_unique<PlainExchange>();
    case SaslMechanism::Login: return std::make_unique<LoginExchange>();
    default: return make_scram_exchange(m, bindings);
  }
}

}  // namespace

SaslServer::SaslServer(SaslMechanism mechanism, SaslLimits limits, ChannelBindings bindings)
    : mechanism_(mechanism), limits_(limits), exchange_(make_exchange(mechanism, bindings)) {}

std::optional<SaslServer> SaslServer::create(std::string_view mechanism_name, SaslLimits limits) {
  auto m = parse_sasl_mechanism(mechanism_name);
  if (!m) return std::nullopt;
  return SaslServer(*m, limits);
}

SaslServer::SaslServer(SaslServer&&) noexcept = default;
SaslServer& SaslServer::operator=(SaslServer&&) noexcept = default;
SaslServer::~SaslServer() = default;

SaslStep SaslServer::finish(SaslStep s) {
  awaiting_keys_ = std::holds_alternative<sasl::NeedKeys>(s);
  if (!std::holds_alternative<sasl::Challenge>(s) && !awaiting_keys_) finished_ = true;
  return s;
}

SaslStep SaslServer::on_keys(const ScramKeys& keys) {
  if (!awaiting_keys_ || finished_) return finish(sasl::Failed{SaslErrc::Finished, "no keys expected"});
  return finish(exchange_->keys(keys));
}

SaslStep SaslServer::start(std::optional<std::string_view> initial_response) {
  if (started_ || finished_) return finish(sasl::Failed{SaslErrc::Finished, "exchange already started"});
  started_ = true;
  if (!initial_response) return finish(exchange_->start(std::nullopt));
  if (*initial_response == "=") return finish(exchange_->start(std::string_view()));
  if (initial_response->empty())  // "AUTH PLAIN " with nothing after: not base64 "=" form
    return finish(sasl::Failed{SaslErrc::Encoding, "empty initial response must be sent as \"=\""});
  auto decoded = base64_decode(*initial_response, limits_.max_response);
  if (!decoded) {
    if (decoded.error() == Base64Error::TooLong) return finish(sasl::Failed{SaslErrc::TooLong, "initial response too long"});
    return finish(sasl::Failed{SaslErrc::Encoding, std::string(base64_error_text(decoded.error()))});
  }
  return finish(exchange_->start(std::string_view(*decoded)));
}

SaslStep SaslServer::on_response(std::string_view line) {
  if (!started_ || finished_ || awaiting_keys_) return finish(sasl::Failed{SaslErrc::Finished, "no exchange in progress"});
  if (line == "*") return finish(sasl::Cancelled{});
  auto decoded = base64_decode(line, limits_.max_response);
  if (!decoded) {
    if (decoded.error() == Base64Error::TooLong) return finish(sasl::Failed{SaslErrc::TooLong, "response too long"});
    return finish(sasl::Failed{SaslErrc::Encoding, std::string(base64_error_text(decoded.error()))});
  }
  return finish(exchange_->next(*decoded));
}

}  // namespace valija::auth
