#include "smtp/server/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "base/text.hpp"

namespace valija::smtp::server {

using proto::Command;
using proto::Verb;

namespace {
constexpr unsigned kConnected = 1, kGreeted = 2, kMail = 4;
constexpr unsigned kAnyPhase = kConnected | kGreeted | kMail;
}  // namespace

// RFC 5321 §4.1.4 ordering, as a table: which phases a verb is valid in and what to
// answer otherwise. Handlers never check the phase themselves.
struct Engine::CommandSpec {
  Verb verb;
  Handler handler;
  unsigned phases;
  const char* out_of_sequence;  // 503 text when the phase does not allow the verb
};

namespace {
using E = Engine;
}

const Engine::CommandSpec* Engine::find(Verb v) {
  static const std::array<CommandSpec, 14> kTable{{
      {Verb::Helo, &E::cmd_helo, kAnyPhase, ""},
      {Verb::Ehlo, &E::cmd_ehlo, kAnyPhase, ""},
      {Verb::Mail, &E::cmd_mail, kGreeted, "Send HELO/EHLO first, or finish the current transaction"},
      {Verb::Rcpt, &E::cmd_rcpt, kMail, "Need MAIL before RCPT"},
      {Verb::Data, &E::cmd_data, kMail, "Need MAIL and RCPT before DATA"},
      {Verb::Bdat, &E::cmd_bdat, kAnyPhase, ""},
      {Verb::Rset, &E::cmd_rset, kAnyPhase, ""},
      {Verb::Noop, &E::cmd_noop, kAnyPhase, ""},
      {Verb::Quit, &E::cmd_quit, kAnyPhase, ""},
      {Verb::Help, &E::cmd_help, kAnyPhase, ""},
      {Verb::Vrfy, &E::cmd_vrfy, kAnyPhase, ""},
      {Verb::Expn, &E::cmd_expn, kAnyPhase, ""},
      {Verb::Starttls, &E::cmd_starttls, kConnected | kGreeted, "MAIL transaction in progress"},
      {Verb::Auth, &E::cmd_auth, kAnyPhase, ""},
  }};
  for (const auto& s : kTable)
    if (s.verb == v) return &s;
  return nullptr;
}

Engine::Engine(EngineConfig config) : config_(std::move(config)) {
  parse_.utf8_allowed = config_.smtputf8;
  parse_.requiretls_allowed = config_.requiretls && config_.tls_active;
}

Step Engine::reply(Reply r, Next n) { return Step{r.wire(), std::move(n)}; }

Step Engine::error(Reply r) {
  if (++errors_ >= config_.limits.smtp_errors) {
    Step s = reply(std::move(r));
    s.out += Reply(421, "4.7.0", fmt::format("{} Too many errors, closing connection", config_.hostname)).wire();
    s.next = next::Close{};
    phase_ = Phase::Closed;
    return s;
  }
  return reply(std::move(r));
}

Step Engine::close_with(Reply r) {
  phase_ = Phase::Closed;
  return reply(std::move(r), next::Close{});
}

void Engine::reset_tx() {
  tx_ = Transaction{};
  bdat_pending_ = 0;
  if (phase_ == Phase::Mail) phase_ = Phase::Greeted;
}

Step Engine::start(std::string_view) {
  // RFC 5321 §4.2: the greeting names the server; ESMTP announces extensions.
  return reply(Reply(220, "", fmt::format("{} ESMTP valija", config_.hostname)));
}

Step Engine::start_refused(Reply refusal) {
  if (refusal.code == 421) return close_with(std::move(refusal));
  phase_ = Phase::Refused;
  return reply(std::move(refusal));
}

Step Engine::on_line_too_long() {
  return error(Reply(500, "5.5.2", fmt::format("Line too long (limit {} octets)", config_.limits.smtp_command_line)));
}

Step Engine::on_line(std::string_view line) {
  if (phase_ == Phase::Closed) return Step{"", next::Close{}};
  // The line reader allows AUTH's long initial response; everything else keeps the
  // RFC 5321 §4.5.3.1.4 limit (the terminator counts).
  if (line.size() + 2 > config_.limits.smtp_command_line && !text::istarts_with(line, "AUTH ")) return on_line_too_long();
  auto cmd = proto::parse_command(line, parse_, tx_.params.smtputf8);
  if (phase_ == Phase::Refused) {
    if (cmd && cmd->verb == Verb::Quit) return cmd_quit(*cmd);
    return error(Reply(503, "5.5.1", "Bad sequence of commands: the connection was refused, please QUIT"));
  }
  if (!cmd) return error(cmd.error());
  const CommandSpec* spec = find(cmd->verb);
  unsigned bit = phase_ == Phase::Connected ? kConnected : phase_ == Phase::Greeted ? kGreeted : kMail;
  if (!(spec->phases & bit)) {
    if (cmd->verb == Verb::Mail && phase_ == Phase::Mail)
      return error(Reply(503, "5.5.1", "Nested MAIL command"));
    if (cmd->verb == Verb::Data && phase_ == Phase::Mail) return error(Reply(503, "5.5.1", spec->out_of_sequence));
    return error(Reply(503, "5.5.1", spec->out_of_sequence));
  }
  return (this->*(spec->handler))(*cmd);
}

std::vector<std::string> Engine::ehlo_lines() const {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("{} greets {}", config_.hostname, helo_));
  lines.push_back("PIPELINING");                                            // RFC 2920
  lines.push_back(fmt::format("SIZE {}", config_.limits.message_size));    // RFC 1870
  lines.push_back("8BITMIME");                                              // RFC 6152
  lines.push_back("BINARYMIME");                                            // RFC 3030
  lines.push_back("CHUNKING");                                              // RFC 3030
  lines.push_back("ENHANCEDSTATUSCODES");                                   // RFC 2034
  lines.push_back("DSN");                                                   // RFC 3461
  if (config_.smtputf8) lines.push_back("SMTPUTF8");                        // RFC 6531
  if (config_.starttls_available && !config_.tls_active) lines.push_back("STARTTLS");  // RFC 3207
  if (config_.requiretls && config_.tls_active) lines.push_back("REQUIRETLS");         // RFC 8689
  if (auth_offered() && auth_user_.empty()) {                                         // RFC 4954
    std::string auth = "AUTH";
    for (auto m : auth::sasl_mechanisms(true, true, bindings_.any()))
      auth += fmt::format(" {}", auth::sasl_mechanism_name(m));
    lines.push_back(auth);
  }
  lines.push_back(fmt::format("LIMITS RCPTMAX={} MAILMAX={}", config_.limits.recipients_per_message,
                              config_.limits.messages_per_connection));    // RFC 9422
  lines.push_back("HELP");
  return lines;
}

Step Engine::cmd_helo(const Command& c) {
  reset_tx();
  helo_ = c.arg;
  esmtp_ = false;
  phase_ = Phase::Greeted;
  return reply(Reply(250, "", fmt::format("{}", config_.hostname)));
}

Step Engine::cmd_ehlo(const Command& c) {
  reset_tx();
  helo_ = c.arg;
  esmtp_ = true;
  phase_ = Phase::Greeted;
  Reply r;
  r.code = 250;
  r.lines = ehlo_lines();  // EHLO lines carry no enhanced codes (RFC 2034 §3)
  return reply(std::move(r));
}

Step Engine::cmd_mail(const Command& c) {
  if (transactions_ >= config_.limits.messages_per_connection)
    return close_with(Reply(421, "4.7.0", "Too many messages in this session, try again later"));
  if (c.params.size && *c.params.size > config_.limits.message_size)  // RFC 1870 §6.2
    return reply(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size"));
  if (!esmtp_ && (c.params.size || c.params.body != proto::BodyType::SevenBit || c.params.smtputf8 ||
                 c.params.ret != proto::Ret::Unset || !c.params.envid.empty() || c.params.requiretls))
    return error(Reply(555, "5.5.4", "MAIL parameters need EHLO"));
  tx_ = Transaction{};
  tx_.from = c.path;
  tx_.params = c.params;
  phase_ = Phase::Mail;
  return Step{"", next::CheckMail{}};
}

Step Engine::on_mail_checked(std::optional<Reply> reject) {
  if (reject) {
    reset_tx();
    return reply(std::move(*reject));
  }
  return reply(Reply(250, "2.1.0", "Sender OK"));
}

Step Engine::cmd_rcpt(const Command& c) {
  if (tx_.bdat) return error(Reply(503, "5.5.1", "RCPT not allowed during BDAT"));
  ++tx_.rcpt_attempts;
  if (tx_.recipients.size() >= config_.limits.recipients_per_message)  // RFC 5321 §4.5.3.1.8
    return reply(Reply(452, "4.5.3", "Too many recipients"));
  if (!esmtp_ && (c.rcpt.notify || !c.rcpt.orcpt.empty()))
    return error(Reply(555, "5.5.4", "RCPT parameters need EHLO"));
  pending_rcpt_ = c.path;
  pending_params_ = c.rcpt;
  return Step{"", next::CheckRcpt{c.path, c.postmaster}};
}

Step Engine::on_rcpt_checked(const Reply& r, std::any route) {
  if (r.positive()) {
    tx_.recipients.push_back(Recipient{pending_rcpt_, std::move(pending_params_), std::move(route)});
  } else if (++rcpt_refusals_ >= config_.limits.rcpt_refusals) {
    // The refusal itself first (RFC 2920: one reply per command), then 421.
    Step s = reply(r);
    Step c = close_with(Reply(421, "4.7.0", fmt::format("{} Too many refused recipients, closing connection", config_.hostname)));
    s.out += c.out;
    s.next = std::move(c.next);
    return s;
  }
  return reply(r);
}

Step Engine::cmd_data(const Command&) {
  if (tx_.bdat) return error(Reply(503, "5.5.1", "DATA not allowed after BDAT"));
  if (tx_.params.body == proto::BodyType::BinaryMime)  // RFC 3030 §3
    return error(Reply(503, "5.5.1", "BINARYMIME requires BDAT"));
  if (tx_.recipients.empty()) {
    if (tx_.rcpt_attempts > 0) return reply(Reply(554, "5.5.1", "No valid recipients"));
    return error(Reply(503, "5.5.1", "Need RCPT before DATA"));
  }
  return reply(Reply(354, "", "Start mail input; end with <CRLF>.<CRLF>"), next::ReadData{});
}

Step Engine::on_data(const proto::DataReader& reader) {
  tx_.message_size = reader.size();
  last_size_ = reader.size();
  if (reader.dropped() || tx_.no_memory) return no_memory();
  if (reader.too_big()) {
    last_reply_ = "552 5.3.4";
    ++transactions_;
    reset_tx();
    return reply(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size"));
  }
  if (reader.bare_newline()) {
    // Smuggling defence: only CRLF ends lines (Postfix smtpd_forbid_bare_newline = reject).
    last_reply_ = "550 5.6.0";
    ++transactions_;
    reset_tx();
    return reply(Reply(550, "5.6.0", "Message contains a bare CR or LF; lines must end with CRLF"));
  }
  return Step{"", next::Deliver{}};
}

Step Engine::cmd_bdat(const Command& c) {
  bool keep = true;
  Reply problem;
  if (phase_ != Phase::Mail) {
    problem = Reply(503, "5.5.1", "Need MAIL before BDAT");
    keep = false;
  } else if (tx_.recipients.empty()) {
    problem = tx_.rcpt_attempts ? Reply(554, "5.5.1", "No valid recipients") : Reply(503, "5.5.1", "Need RCPT before BDAT");
    keep = false;
  }
  if (keep && (c.chunk_size > config_.limits.bdat_chunk ||
               tx_.message_size + c.chunk_size > config_.limits.message_size)) {
    tx_.too_big = true;
  }
  bdat_pending_ = c.chunk_size;
  bdat_last_ = c.last;
  bdat_keep_ = keep;
  if (!keep) {
    // RFC 3030 §2: the chunk is read and discarded, then the error reported.
    pending_problem_ = std::move(problem);
  } else {
    tx_.bdat = true;
  }
  return Step{"", next::ReadChunk{c.chunk_size, c.last, keep && !tx_.too_big && !tx_.no_memory}};
}

Step Engine::on_chunk(std::string_view bytes, bool kept_all) {
  if (!bdat_keep_) {
    Reply r = std::move(pending_problem_);
    return error(std::move(r));
  }
  tx_.message_size += bdat_pending_;
  last_size_ = tx_.message_size;
  if (!kept_all && !tx_.no_memory) tx_.too_big = true;
  if (tx_.no_memory) std::string().swap(tx_.message);
  else if (!tx_.too_big) tx_.message.append(bytes);
  if (!bdat_last_) {
    if (tx_.too_big)  // keep reading chunks; the error comes with LAST
      return reply(Reply(250, "2.0.0", fmt::format("{} octets received (message too big, will be refused)", bdat_pending_)));
    if (tx_.no_memory)
      return reply(Reply(250, "2.0.0", fmt::format("{} octets received (server busy, will be deferred)", bdat_pending_)));
    return reply(Reply(250, "2.0.0", fmt::format("{} octets received", bdat_pending_)));
  }
  if (tx_.no_memory) return no_memory();
  // BDAT content is length-delimited, so a bare CR or LF cannot end it; but unless the
  // client declared BINARYMIME it is still a message of CRLF lines (RFC 3030 §3), and one
  // with bare line ends is refused as in DATA, since forwarding it over DATA would
  // reopen the smuggling hole.
  if (!tx_.too_big && tx_.params.body != proto::BodyType::BinaryMime && proto::has_bare_newline(tx_.message)) {
    last_reply_ = "550 5.6.0";
    ++transactions_;
    reset_tx();
    return reply(Reply(550, "5.6.0", "Message contains a bare CR or LF; lines must end with CRLF"));
  }
  if (tx_.too_big) {
    last_reply_ = "552 5.3.4";
    ++transactions_;
    reset_tx();
    return reply(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size"));
  }
  return Step{"", next::Deliver{}};
}

// RFC 3463 4.3.1 "mail system full": a temporary condition, the sender retries later.
Step Engine::no_memory() {
  last_reply_ = "452 4.3.1";
  ++transactions_;
  reset_tx();
  return reply(Reply(452, "4.3.1", "Insufficient system storage, try again later"));
}

Step Engine::on_delivered(const Reply& r) {
  last_reply_ = r.summary();
  ++transactions_;
  reset_tx();
  return reply(r);
}

Step Engine::cmd_rset(const Command&) {
  reset_tx();
  return reply(Reply(250, "2.0.0", "OK"));
}

Step Engine::cmd_noop(const Command&) { return reply(Reply(250, "2.0.0", "OK")); }

Step Engine::cmd_quit(const Command&) {
  return close_with(Reply(221, "2.0.0", fmt::format("{} closing connection", config_.hostname)));
}

Step Engine::cmd_help(const Command&) {
  return reply(Reply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS"));
}

Step Engine::cmd_vrfy(const Command&) {
  // RFC 5321 §3.5.3, §7.3: never confirms or denies an account.
  return reply(Reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"));
}

Step Engine::cmd_expn(const Command&) { return reply(Reply(502, "5.5.1", "EXPN not available")); }

Step Engine::cmd_starttls(const Command&) {
  if (config_.tls_active) return error(Reply(503, "5.5.1", "TLS already active"));
  if (!config_.starttls_available) return error(Reply(502, "5.5.1", "STARTTLS not available"));
  return reply(Reply(220, "2.0.0", "Ready to start TLS"), next::StartTls{});
}

Step Engine::on_tls(bool ok) {
  if (!ok) {
    phase_ = Phase::Closed;
    return Step{"", next::Close{}};
  }
  // RFC 3207 §4.2: forget everything learned before the handshake; the client must EHLO again.
  set_tls_active();
  reset_tx();
  phase_ = Phase::Connected;
  esmtp_ = false;
  helo_.clear();
  return Step{"", next::ReadCommand{}};
}

bool Engine::auth_offered() const { return config_.auth && (config_.tls_active || config_.auth_cleartext); }

std::size_t Engine::max_line() const {
  if (!config_.auth) return config_.limits.smtp_command_line;
  return std::max(config_.limits.smtp_command_line, auth::sasl_line_limit(config_.sasl) + 32);
}

Step Engine::cmd_auth(const Command& c) {
  if (!config_.auth) return error(Reply(502, "5.5.1", "AUTH not available on this service"));
  if (!auth_user_.empty()) return error(Reply(503, "5.5.1", "Already authenticated"));
  if (phase_ == Phase::Mail) return error(Reply(503, "5.5.1", "AUTH not allowed during a mail transaction"));
  if (!esmtp_) return error(Reply(503, "5.5.1", "Send EHLO first"));
  if (!auth_offered())  // RFC 4954 §4, RFC 3207: STARTTLS first
    return error(Reply(538, "5.7.11", "Encryption required for requested authentication mechanism"));
  std::string_view arg = c.arg;
  auto sp = arg.find(' ');
  auto name = arg.substr(0, sp);
  auto mechanism = auth::parse_sasl_mechanism(name);
  auto offered = auth::sasl_mechanisms(true, true, bindings_.any());
  if (!mechanism || std::find(offered.begin(), offered.end(), *mechanism) == offered.end())
    return error(Reply(504, "5.5.4", "Unrecognized authentication type"));
  std::optional<std::string_view> initial;
  if (sp != std::string_view::npos) initial = arg.substr(sp + 1);
  sasl_.emplace(*mechanism, config_.sasl, bindings_);
  return auth_step(sasl_->start(initial));
}

Step Engine::auth_step(auth::SaslStep step) {
  if (auto* ch = std::get_if<auth::sasl::Challenge>(&step))
    return reply(Reply(334, "", auth::base64_encode(ch->data)), next::ReadAuthLine{});
  if (auto* need = std::get_if<auth::sasl::NeedKeys>(&step))
    return Step{"", next::AuthKeys{std::move(need->authcid), sasl_->mechanism()}};
  auto mechanism = std::string(auth::sasl_mechanism_name(sasl_->mechanism()));
  sasl_.reset();
  if (auto* done = std::get_if<auth::sasl::Done>(&step))
    return Step{"", next::CheckAuth{std::move(done->credentials), std::move(mechanism), done->proof}};
  if (std::holds_alternative<auth::sasl::Cancelled>(step))
    return reply(Reply(501, "5.0.0", "Authentication cancelled"));
  const auto& f = std::get<auth::sasl::Failed>(step);
  if (f.code == auth::SaslErrc::TooLong) return error(Reply(500, "5.5.6", "Authentication exchange line is too long"));
  return error(Reply(501, "5.5.2", "Cannot decode the authentication response"));
}

Step Engine::on_auth_line(std::string_view line) {
  if (!sasl_) return reply(Reply(503, "5.5.1", "No authentication in progress"));
  return auth_step(sasl_->on_response(line));
}

Step Engine::on_auth_keys(const auth::ScramKeys& keys) {
  if (!sasl_) return reply(Reply(503, "5.5.1", "No authentication in progress"));
  return auth_step(sasl_->on_keys(keys));
}

Step Engine::on_auth_line_too_long() {
  sasl_.reset();
  return error(Reply(500, "5.5.6", "Authentication exchange line is too long"));
}

Step Engine::on_auth_checked(const Reply& r, std::string user) {
  if (r.positive()) {
    auth_user_ = std::move(user);
    return reply(r);
  }
  if (r.code >= 500) return error(r);
  return reply(r);
}

Step Engine::on_timeout() {
  return close_with(Reply(421, "4.4.2", fmt::format("{} Timeout, closing connection", config_.hostname)));
}

Step Engine::on_shutdown() {
  return close_with(Reply(421, "4.3.2", fmt::format("{} Service shutting down, closing connection", config_.hostname)));
}

}  // namespace valija::smtp::server
