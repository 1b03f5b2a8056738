#include "pop3/proto/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace valija::pop3::proto {

namespace {
constexpr unsigned kAuthorization = 1, kTransaction = 2;
constexpr unsigned kBoth = kAuthorization | kTransaction;
// USER and PASS carry the password in the clear: refused without TLS unless allowed.
constexpr unsigned kSendsPassword = 1;

bool is_msgid_char(char c, bool host) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-') return true;
  return !host && (c == '_' || c == '+' || c == '=');
}

// A multi-line response (RFC 1939 §3): first line, body lines (byte-stuffed), ".".
std::string multiline(std::string_view first, const std::vector<std::string>& lines) {
  std::string out = fmt::format("+OK{}{}\r\n", first.empty() ? "" : " ", first);
  for (const auto& l : lines) {
    if (!l.empty() && l.front() == '.') out += '.';
    out += l;
    out += "\r\n";
  }
  out += ".\r\n";
  return out;
}
}  // namespace

// Which state each command is valid in (RFC 1939 §4-§6, RFC 2449 §5, RFC 2595 §4,
// RFC 5034 §4, RFC 6856 §2), as a table: handlers never check the state.
struct Engine::CommandSpec {
  Verb verb;
  Handler handler;
  unsigned states;
  unsigned flags;
};

namespace {
using E = Engine;
}

const Engine::CommandSpec* Engine::find(Verb v) {
  static const std::array<CommandSpec, 16> kTable{{
      {Verb::User, &E::cmd_user, kAuthorization, kSendsPassword},
      {Verb::Pass, &E::cmd_pass, kAuthorization, kSendsPassword},
      {Verb::Apop, &E::cmd_apop, kAuthorization, 0},  // a digest, not the password
      {Verb::Auth, &E::cmd_auth, kAuthorization, 0},  // gated per mechanism
      {Verb::Capa, &E::cmd_capa, kBoth, 0},
      {Verb::Stls, &E::cmd_stls, kAuthorization, 0},
      // RFC 6856 puts UTF8 in AUTHORIZATION; accepted after login too (some clients
      // send it then), since valija never downgrades messages and it changes nothing.
      {Verb::Utf8, &E::cmd_utf8, kBoth, 0},
      {Verb::Stat, &E::cmd_stat, kTransaction, 0},
      {Verb::List, &E::cmd_list, kTransaction, 0},
      {Verb::Retr, &E::cmd_retr, kTransaction, 0},
      {Verb::Dele, &E::cmd_dele, kTransaction, 0},
      {Verb::Noop, &E::cmd_noop, kTransaction, 0},
      {Verb::Rset, &E::cmd_rset, kTransaction, 0},
      {Verb::Top, &E::cmd_top, kTransaction, 0},
      {Verb::Uidl, &E::cmd_uidl, kTransaction, 0},
      {Verb::Quit, &E::cmd_quit, kBoth, 0},
  }};
  for (const auto& s : kTable)
    if (s.verb == v) return &s;
  return nullptr;
}

std::optional<std::string> apop_timestamp(std::string_view token, std::string_view hostname) {
  if (token.empty() || hostname.empty() || token.size() + hostname.size() > 250) return std::nullopt;
  for (char c : token)
    if (!is_msgid_char(c, false)) return std::nullopt;
  for (char c : hostname)
    if (!is_msgid_char(c, true)) return std::nullopt;
  return fmt::format("<{}@{}>", token, hostname);
}

Engine::Engine(EngineConfig config) : config_(std::move(config)) {}

Step Engine::ok(std::string_view text, Next n) {
  return Step{fmt::format("+OK{}{}\r\n", text.empty() ? "" : " ", text), std::move(n)};
}

Step Engine::error(std::string_view text) {
  if (++errors_ >= config_.limits.errors)
    return close_with(fmt::format("-ERR {} (too many errors, closing connection)\r\n", text));
  return Step{fmt::format("-ERR {}\r\n", text), next::ReadCommand{}};
}

Step Engine::close_with(std::string line) {
  phase_ = Closed{};
  return Step{std::move(line), next::Close{}};
}

Step Engine::start(std::string_view apop_token) {
  if (config_.apop) apop_timestamp_ = apop_timestamp(apop_token, config_.hostname);
  // RFC 1939 §4 greeting; the APOP timestamp only when APOP is offered (§7).
  if (apop_timestamp_) return ok(fmt::format("{} POP3 server ready {}", config_.hostname, *apop_timestamp_));
  return ok(fmt::format("{} POP3 server ready", config_.hostname));
}

std::size_t Engine::line_limit() const {
  if (std::holds_alternative<Authenticating>(phase_))
    return std::max(auth::sasl_line_limit(config_.limits.sasl) + 2, config_.limits.command_line);
  return config_.limits.command_line;
}

Step Engine::on_line_too_long() {
  if (std::holds_alternative<Closed>(phase_)) return Step{"", next::Close{}};
  if (std::holds_alternative<Authenticating>(phase_)) {
    phase_ = Authorization{};
    return error("Authentication response too long");
  }
  if (auto* a = std::get_if<Authorization>(&phase_)) a->user.reset();
  return error(fmt::format("Line too long (limit {} octets)", config_.limits.command_line));
}

Step Engine::on_keys(const auth::ScramKeys& keys) {
  auto* a = std::get_if<AwaitingKeys>(&phase_);
  if (!a) {  // a connection bug: nothing asked for keys
    phase_ = Closed{};
    return Step{"", next::Close{}};
  }
  auto sasl = std::move(a->sasl);
  auto step = sasl.on_keys(keys);
  return sasl_step(std::move(step), std::move(sasl));
}

Step Engine::on_line(std::string_view line) {
  if (auto* a = std::get_if<Authenticating>(&phase_)) {
    auto sasl = std::move(a->sasl);
    auto step = sasl.on_response(line);
    return sasl_step(std::move(step), std::move(sasl));
  }
  bool authorization = std::holds_alternative<Authorization>(phase_);
  if (!authorization && !std::holds_alternative<Transaction>(phase_)) {
    // Closed, or a connection bug (a line read while an outcome is due): end it.
    phase_ = Closed{};
    return Step{"", next::Close{}};
  }
  auto cmd = parse_command(line, config_.limits.command_line);
  // RFC 1939 §7: PASS only immediately after USER; any other line forgets the name.
  if (auto* a = std::get_if<Authorization>(&phase_); a && !(cmd && cmd->verb == Verb::Pass)) a->user.reset();
  if (!cmd) return error(cmd.error().text);
  const CommandSpec* spec = find(cmd->verb);
  if (!(spec->states & (authorization ? kAuthorization : kTransaction)))
    return error(authorization ? "Not logged in" : "Already logged in");
  if ((spec->flags & kSendsPassword) && !cleartext_ok()) return error(cleartext_refusal());
  return (this->*(spec->handler))(*cmd);
}

// RFC 3206 §4 [AUTH]: the client must change how it authenticates (here: use TLS).
std::string_view Engine::cleartext_refusal() const {
  return config_.stls_available ? "[AUTH] Plaintext authentication disallowed without TLS, use STLS first"
                                : "[AUTH] Plaintext authentication disallowed on this connection";
}

// --- AUTHORIZATION ---

Step Engine::cmd_user(const Command& c) {
  std::get<Authorization>(phase_).user = c.arg;
  // RFC 1939 §7 allows "-ERR never heard of mailbox"; valija never says whether an
  // account exists (SECURITY-CASES: same reply for wrong user and wrong password).
  return ok("Send PASS");
}

Step Engine::cmd_pass(const Command& c) {
  auto& a = std::get<Authorization>(phase_);
  if (!a.user) return error("No user name given, send USER first");
  std::string user = std::move(*a.user);
  phase_ = CheckingLogin{user};
  return Step{"", next::CheckLogin{std::move(user), c.arg, "USER"}};
}

Step Engine::cmd_apop(const Command& c) {
  if (!apop_timestamp_) return error("APOP not available");
  phase_ = CheckingLogin{c.arg};
  return Step{"", next::CheckApop{c.arg, c.digest, *apop_timestamp_}};
}

Step Engine::cmd_auth(const Command& c) {
  if (c.arg.empty()) {
    // Bare AUTH lists the mechanisms (RFC 1734 practice, which clients still probe).
    std::vector<std::string> names;
    for (auto m : mechanisms()) names.emplace_back(auth::sasl_mechanism_name(m));
    return Step{multiline("", names), next::ReadCommand{}};
  }
  auto mech = auth::parse_sasl_mechanism(c.arg);
  if (!mech) return error("Unsupported authentication mechanism");
  if (!cleartext_ok()) return error(cleartext_refusal());
  auth::SaslServer sasl(*mech, config_.limits.sasl, bindings_);
  std::optional<std::string_view> ir;
  if (c.initial_response) ir = *c.initial_response;
  auto step = sasl.start(ir);
  return sasl_step(std::move(step), std::move(sasl));
}

Step Engine::sasl_step(auth::SaslStep step, auth::SaslServer sasl) {
  if (auto* ch = std::get_if<auth::sasl::Challenge>(&step)) {
    // RFC 5034 §4: continue-req = "+" SP [base64] CRLF
    std::string out = "+ " + auth::base64_encode(ch->data) + "\r\n";
    phase_ = Authenticating{std::move(sasl)};
    return Step{std::move(out), next::ReadCommand{}};
  }
  if (auto* need = std::get_if<auth::sasl::NeedKeys>(&step)) {
    auto mechanism = sasl.mechanism();
    phase_ = AwaitingKeys{std::move(sasl)};
    return Step{"", next::LookupKeys{std::move(need->authcid), mechanism}};
  }
  phase_ = Authorization{};
  if (auto* d = std::get_if<auth::sasl::Done>(&step)) {
    auto& cred = d->credentials;
    // RFC 4616 §2: an authzid the server cannot honour fails the exchange; valija has
    // no proxy authorization, so only "empty" or "the same user" are accepted.
    if (!cred.authzid.empty() && cred.authzid != cred.authcid)
      return login_failed("[AUTH] Authorization identity not permitted");
    phase_ = CheckingLogin{cred.authcid};
    return Step{"", next::CheckLogin{std::move(cred.authcid), std::move(cred.password),
                                     std::string(auth::sasl_mechanism_name(sasl.mechanism())), d->proof}};
  }
  if (std::holds_alternative<auth::sasl::Cancelled>(step)) return error("Authentication cancelled");  // RFC 5034 §4
  const auto& f = std::get<auth::sasl::Failed>(step);
  return error(fmt::format("Authentication failed: {}", f.reason));
}

Step Engine::login_failed(std::string_view text) {
  ++login_failures_;
  if (login_failures_ >= config_.limits.login_failures)
    return close_with(fmt::format("-ERR {} (too many failures, closing connection)\r\n", text));
  return error(text);
}

Step Engine::on_login(LoginResult result, std::vector<MaildropEntry> maildrop) {
  auto* checking = std::get_if<CheckingLogin>(&phase_);
  if (!checking) return close_with("");  // not expected: a connection bug
  std::string user = std::move(checking->user);
  phase_ = Authorization{};
  switch (result) {
    case LoginResult::Ok:
      break;
    case LoginResult::BadCredentials: return login_failed("[AUTH] Authentication failed");
    case LoginResult::InUse: return Step{"-ERR [IN-USE] Mailbox in use by another POP3 session\r\n", next::ReadCommand{}};
    case LoginResult::LoginDelay:
      return Step{"-ERR [LOGIN-DELAY] Minimum time between logins not yet elapsed\r\n", next::ReadCommand{}};
    case LoginResult::TempFail: return Step{"-ERR [SYS/TEMP] Temporary failure, try again later\r\n", next::ReadCommand{}};
    case LoginResult::PermFail: return Step{"-ERR [SYS/PERM] Mailbox not available\r\n", next::ReadCommand{}};
  }
  // RFC 1939 §5: numbers and sizes are fixed for the session; only the newest
  // `limits.messages` are shown when there are more.
  if (maildrop.size() > config_.limits.messages) {
    offset_ = maildrop.size() - config_.limits.messages;
    maildrop.erase(maildrop.begin(), maildrop.begin() + static_cast<std::ptrdiff_t>(offset_));
  }
  drop_ = std::move(maildrop);
  deleted_.assign(drop_.size(), false);
  total_octets_ = 0;
  for (const auto& m : drop_) total_octets_ += m.size;
  user_ = std::move(user);
  authenticated_ = true;
  phase_ = Transaction{};
  return ok(fmt::format("Maildrop has {} messages ({} octets)", drop_.size(), total_octets_));
}

Step Engine::cmd_capa(const Command&) {
  // RFC 2449 §5; the list differs by state (§6: USER, SASL, STLS only before login).
  bool before_login = std::holds_alternative<Authorization>(phase_);
  std::vector<std::string> caps{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "UTF8"};
  if (before_login) {
    if (cleartext_ok()) caps.emplace_back("USER");
    std::string sasl = "SASL";
    for (auto m : mechanisms()) sasl += fmt::format(" {}", auth::sasl_mechanism_name(m));
    if (sasl.size() > 4) caps.push_back(std::move(sasl));
    if (config_.stls_available && !config_.tls_active) caps.emplace_back("STLS");  // RFC 2595 §4
  }
  if (config_.expire)
    caps.push_back(config_.expire->never ? std::string("EXPIRE NEVER") : fmt::format("EXPIRE {}", config_.expire->days));
  if (config_.login_delay) caps.push_back(fmt::format("LOGIN-DELAY {}", *config_.login_delay));
  if (!config_.implementation.empty()) caps.push_back(fmt::format("IMPLEMENTATION {}", config_.implementation));
  return Step{multiline("Capability list follows", caps), next::ReadCommand{}};
}

Step Engine::cmd_stls(const Command&) {
  if (config_.tls_active) return error("Already using TLS");
  if (!config_.stls_available) return error("STLS not available");
  phase_ = StartingTls{};
  return ok("Begin TLS negotiation", next::StartTls{});
}

Step Engine::on_tls(bool success) {
  if (!std::holds_alternative<StartingTls>(phase_) || !success) return close_with("");
  // RFC 2595 §4: still AUTHORIZATION, nothing learned before the handshake is kept.
  config_.tls_active = true;
  phase_ = Authorization{};
  return Step{"", next::ReadCommand{}};
}

Step Engine::cmd_utf8(const Command&) {
  utf8_ = true;  // RFC 6856 §2: UTF-8 in user names, passwords and message headers
  return ok("UTF8 enabled");
}

Step Engine::cmd_quit(const Command&) {
  if (std::holds_alternative<Authorization>(phase_))
    return close_with(fmt::format("+OK {} POP3 server signing off\r\n", config_.hostname));
  // RFC 1939 §6: UPDATE removes the messages marked as deleted, durably, before +OK.
  std::vector<std::size_t> indexes;
  for (std::size_t i = 0; i < drop_.size(); ++i)
    if (deleted_[i]) indexes.push_back(i + offset_);
  if (indexes.empty())
    return close_with(fmt::format("+OK {} POP3 server signing off ({} messages left)\r\n", config_.hostname, drop_.size()));
  phase_ = Update{};
  return Step{"", next::Commit{std::move(indexes)}};
}

Step Engine::on_commit(bool success) {
  if (!std::holds_alternative<Update>(phase_)) return close_with("");
  if (!success) return close_with("-ERR [SYS/TEMP] Some deleted messages not removed, try again later\r\n");
  expunged_ = deleted_count_;
  return close_with(fmt::format("+OK {} POP3 server signing off ({} messages deleted, {} left)\r\n", config_.hostname,
                                deleted_count_, live_count()));
}

// --- TRANSACTION ---

std::optional<std::size_t> Engine::message(std::uint32_t number, std::string& why) const {
  if (number == 0 || number > drop_.size()) {
    why = "No such message";
    return std::nullopt;
  }
  std::size_t i = number - 1;
  if (deleted_[i]) {
    why = fmt::format("Message {} already deleted", number);
    return std::nullopt;
  }
  return i;
}

Step Engine::cmd_stat(const Command&) { return ok(fmt::format("{} {}", live_count(), live_octets())); }

Step Engine::cmd_list(const Command& c) {
  std::string why;
  if (c.msg) {
    auto i = message(*c.msg, why);
    if (!i) return error(why);
    return ok(fmt::format("{} {}", *c.msg, drop_[*i].size));
  }
  std::vector<std::string> lines;
  lines.reserve(live_count());
  for (std::size_t i = 0; i < drop_.size(); ++i)
    if (!deleted_[i]) lines.push_back(fmt::format("{} {}", i + 1, drop_[i].size));
  return Step{multiline(fmt::format("{} messages ({} octets)", live_count(), live_octets()), lines), next::ReadCommand{}};
}

Step Engine::cmd_uidl(const Command& c) {
  std::string why;
  if (c.msg) {
    auto i = message(*c.msg, why);
    if (!i) return error(why);
    return ok(fmt::format("{} {}", *c.msg, drop_[*i].uidl));
  }
  std::vector<std::string> lines;
  lines.reserve(live_count());
  for (std::size_t i = 0; i < drop_.size(); ++i)
    if (!deleted_[i]) lines.push_back(fmt::format("{} {}", i + 1, drop_[i].uidl));
  return Step{multiline("Unique-ID listing follows", lines), next::ReadCommand{}};
}

Step Engine::cmd_retr(const Command& c) {
  std::string why;
  auto i = message(*c.msg, why);
  if (!i) return error(why);
  phase_ = Sending{*c.msg, false};
  return ok(fmt::format("{} octets", drop_[*i].size), next::Send{*i + offset_, std::nullopt});
}

Step Engine::cmd_top(const Command& c) {
  std::string why;
  auto i = message(*c.msg, why);
  if (!i) return error(why);
  phase_ = Sending{*c.msg, true};
  return ok("Top of message follows", next::Send{*i + offset_, c.lines});
}

Step Engine::on_send_failed(bool gone) {
  auto* s = std::get_if<Sending>(&phase_);
  if (!s) return close_with("");
  auto number = s->number;
  phase_ = Transaction{};
  if (gone) return Step{fmt::format("-ERR Message {} was deleted by another session\r\n", number), next::ReadCommand{}};
  // SECURITY-CASES "Blob file missing": a clear error for that message, the session goes on.
  return Step{fmt::format("-ERR [SYS/TEMP] Message {} cannot be read now, try again later\r\n", number),
              next::ReadCommand{}};
}

Step Engine::on_sent() {
  auto* s = std::get_if<Sending>(&phase_);
  if (!s) return close_with("");
  if (!s->top) {
    ++retrieved_;
    retrieved_octets_ += drop_[s->number - 1].size;
  }
  phase_ = Transaction{};
  return Step{"", next::ReadCommand{}};
}

Step Engine::cmd_dele(const Command& c) {
  std::string why;
  auto i = message(*c.msg, why);
  if (!i) return error(why);
  deleted_[*i] = true;
  ++deleted_count_;
  deleted_octets_ += drop_[*i].size;
  return ok(fmt::format("Message {} deleted", *c.msg));
}

Step Engine::cmd_noop(const Command&) { return ok(""); }

Step Engine::cmd_rset(const Command&) {
  deleted_.assign(drop_.size(), false);
  deleted_count_ = 0;
  deleted_octets_ = 0;
  return ok(fmt::format("Maildrop has {} messages ({} octets)", drop_.size(), total_octets_));
}

// --- Ends ---

Step Engine::on_timeout() { return close_with(""); }

Step Engine::on_shutdown() { return close_with("-ERR [SYS/TEMP] Server shutting down, nothing deleted\r\n"); }

}  // namespace valija::pop3::proto
