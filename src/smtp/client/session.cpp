#include "smtp/client/session.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "auth/sasl.hpp"

namespace valija::smtp::client {

using proto::Reply;
using namespace std::chrono_literals;

Verdict ClientSession::verdict_of(const Reply& r) {
  if (r.code >= 200 && r.code < 300) return Verdict::Delivered;
  if (r.code >= 500 && r.code < 600) return Verdict::Permanent;
  return Verdict::Temporary;  // 4xx, and anything out of place
}

std::chrono::seconds ClientSession::reply_timeout() const {
  // RFC 5321 §4.5.3.2: initial 5 min, MAIL 5, RCPT 5, DATA initiation 2, DATA
  // termination 10; the others (EHLO, STARTTLS, RSET, QUIT) as MAIL.
  switch (state_) {
    case State::Replies: return !expected_.empty() && expected_.front() == Expect::Data ? 2min : 5min;
    case State::Body:
    case State::AbortData: return 10min;
    default: return 5min;
  }
}

Action ClientSession::on_reply(const Reply& r) {
  if (r.code == 421 && state_ != State::Quit) {  // RFC 5321 §3.8: the server is closing
    failure_ = r;
    settle(Verdict::Temporary, r, false);
    state_ = State::Closed;
    return act::Close{};
  }
  switch (state_) {
    case State::Greeting:
      if (r.code != 220) return fail_connection(r);  // 554: this host will not take mail (§3.1)
      return ehlo();
    case State::Ehlo:
      if (r.code == 250) {
        caps_ = parse_ehlo(r);
        return after_ehlo();
      }
      if (r.code >= 500 && !tls_) {  // an SMTP-only server (§4.1.4): try HELO
        state_ = State::Helo;
        return act::Send{fmt::format("HELO {}\r\n", opt_.helo_name)};
      }
      return fail_connection(r);
    case State::Helo:
      if (r.code != 250) return fail_connection(r);
      caps_ = Capabilities{};
      caps_.greeting = r.lines.empty() ? std::string() : r.lines.front();
      return after_ehlo();
    case State::StartTls:
      if (r.code == 220) {
        state_ = State::Handshake;
        return act::StartTls{};
      }
      if (opt_.tls == TlsPolicy::Required) return fail_connection(r);
      return authenticate();  // opportunistic: go on in the clear (RFC 3207 §4.1)
    case State::AuthUser:
      if (r.code != 334) return fail_connection(r);
      state_ = State::AuthPassword;
      return act::Send{auth::base64_encode(opt_.auth_user) + "\r\n", true};
    case State::AuthPassword:
      if (r.code != 334) return fail_connection(r);
      state_ = State::AuthResult;
      return act::Send{auth::base64_encode(opt_.auth_password) + "\r\n", true};
    case State::AuthResult:
      if (r.code != 235) return fail_connection(r);
      state_ = State::Idle;
      return act::Ready{};
    case State::Replies: return on_transaction_reply(r);
    case State::Body:
      settle(verdict_of(r), r, true);
      state_ = State::Idle;
      return act::Ready{};
    case State::AbortData:  // the lone "." after a 354 nobody needed: its reply does not matter
    case State::Rset:
      state_ = State::Idle;
      return act::Ready{};
    case State::Quit:
      state_ = State::Closed;
      return act::Close{};
    case State::Handshake:
    case State::Idle:
    case State::Closed:
      break;
  }
  // A reply nobody asked for: the dialogue is out of step.
  return fail_connection(Reply(451, "4.5.0", fmt::format("unexpected reply from the server: {}", r.summary())));
}

Action ClientSession::ehlo() {
  state_ = State::Ehlo;
  return act::Send{fmt::format("EHLO {}\r\n", opt_.helo_name)};
}

Action ClientSession::after_ehlo() {
  bool tls_now = tls_ || opt_.implicit_tls;
  if (!tls_now && opt_.tls != TlsPolicy::None && caps_.starttls) {
    state_ = State::StartTls;
    return act::Send{"STARTTLS\r\n"};
  }
  if (!tls_now && opt_.tls == TlsPolicy::Required)
    return fail_connection(Reply(530, "4.7.10", "TLS is required for this destination but the server does not offer STARTTLS"));
  tls_ = tls_now;
  return authenticate();
}

Action ClientSession::authenticate() {
  if (opt_.auth_user.empty()) {
    state_ = State::Idle;
    return act::Ready{};
  }
  // The password goes only over TLS, unless the admin chose no TLS for this relay.
  if (!tls_ && opt_.tls != TlsPolicy::None)
    return fail_connection(Reply(530, "4.7.10", "not sending the relay password without TLS (the relay offers no STARTTLS)"));
  if (caps_.offers_auth("PLAIN")) {
    state_ = State::AuthResult;
    std::string creds = std::string(1, '\0') + opt_.auth_user + std::string(1, '\0') + opt_.auth_password;
    return act::Send{"AUTH PLAIN " + auth::base64_encode(creds) + "\r\n", true};
  }
  if (caps_.offers_auth("LOGIN")) {
    state_ = State::AuthUser;
    return act::Send{"AUTH LOGIN\r\n"};
  }
  return fail_connection(Reply(530, "4.7.0", "the relay offers neither AUTH PLAIN nor AUTH LOGIN"));
}

Action ClientSession::tls_started() {
  // RFC 3207 §4.2: forget what was learnt before TLS and greet again.
  tls_ = true;
  caps_ = Capabilities{};
  return ehlo();
}

Action ClientSession::tls_failed() {
  failure_ = Reply(454, "4.7.0", "TLS handshake with the server failed");
  settle(Verdict::Temporary, *failure_, false);
  state_ = State::Closed;
  return act::Close{};
}

Action ClientSession::fail_connection(Reply why) {
  failure_ = std::move(why);
  settle(Verdict::Temporary, *failure_, false);
  state_ = State::Quit;
  return act::Send{"QUIT\r\n"};
}

Action ClientSession::quit() {
  state_ = State::Quit;
  return act::Send{"QUIT\r\n"};
}

void ClientSession::settle(Verdict v, const Reply& r, bool accepted_only) {
  for (std::size_t i = 0; i < results_.size(); ++i) {
    if (decided_[i] || (accepted_only && !accepted_[i])) continue;
    results_[i] = RcptResult{v, r};
    decided_[i] = true;
  }
}

std::string ClientSession::mail_command() const {
  const auto& e = *env_;
  std::string cmd = fmt::format("MAIL FROM:<{}>", e.from);
  if (caps_.size) cmd += fmt::format(" SIZE={}", e.size);  // RFC 1870 §6
  if (e.binary) cmd += " BODY=BINARYMIME";
  else if (e.eight_bit) cmd += " BODY=8BITMIME";
  if (e.smtputf8) cmd += " SMTPUTF8";
  if (e.requiretls) cmd += " REQUIRETLS";
  if (caps_.dsn) cmd += e.dsn_params;
  return cmd + "\r\n";
}

std::string ClientSession::rcpt_command(std::size_t i) const {
  const auto& r = env_->rcpts[i];
  return fmt::format("RCPT TO:<{}>{}\r\n", r.address, caps_.dsn ? r.dsn_params : std::string());
}

Action ClientSession::begin(Envelope envelope) {
  env_ = std::move(envelope);
  const auto& e = *env_;
  std::size_t n = e.rcpts.size();
  results_.assign(n, RcptResult{Verdict::Temporary, Reply(451, "4.3.0", "not attempted")});
  decided_.assign(n, false);
  accepted_.assign(n, false);
  failure_.reset();
  mail_ok_ = false;
  rcpt_index_ = 0;
  expected_.clear();
  if (state_ != State::Idle) {
    settle(Verdict::Temporary, Reply(451, "4.3.0", "the connection is not ready for a transaction"), false);
    return act::Close{};
  }
  if (n == 0) return act::Ready{};
  // What this server cannot take is refused here, before a byte of it is sent.
  if (caps_.size && *caps_.size > 0 && e.size > *caps_.size) {  // RFC 1870
    settle(Verdict::Permanent,
           Reply(552, "5.3.4", fmt::format("message of {} octets is larger than the destination's limit of {}", e.size,
                                           *caps_.size)),
           false);
    return act::Ready{};
  }
  if (e.binary && !(caps_.binary_mime && caps_.chunking)) {  // RFC 3030 §3: no DATA for binary
    settle(Verdict::Permanent, Reply(554, "5.6.3", "binary message and the destination does not accept BINARYMIME"),
           false);
    return act::Ready{};
  }
  if (e.eight_bit && !caps_.eight_bit_mime) {  // RFC 6152 §3: not sent as is to a 7-bit server
    settle(Verdict::Permanent, Reply(554, "5.6.3", "8-bit message and the destination does not accept 8BITMIME"), false);
    return act::Ready{};
  }
  if (e.smtputf8 && !caps_.smtputf8) {  // RFC 6531 §3.2
    settle(Verdict::Permanent, Reply(553, "5.6.7", "the message needs SMTPUTF8 and the destination does not offer it"),
           false);
    return act::Ready{};
  }
  if (e.requiretls && !(tls_ && caps_.requiretls)) {
    // RFC 8689 §4.2.1: never in the clear nor to a server that would not keep the
    // promise; another exchanger of the domain may, so this host is only skipped.
    settle(Verdict::Temporary, Reply(550, "5.7.30", "REQUIRETLS: the server does not offer it over TLS"), false);
    return act::Ready{};
  }
  state_ = State::Replies;
  pipelined_ = caps_.pipelining;
  if (!pipelined_) {
    expected_.push_back(Expect::Mail);
    return act::Send{mail_command()};
  }
  // RFC 2920 §3.1: MAIL, every RCPT and DATA in one go; the replies come in order.
  // With CHUNKING (RFC 3030) the message follows the envelope replies as one BDAT LAST,
  // so nothing is sent to a transaction without recipients.
  std::string out = mail_command();
  expected_.push_back(Expect::Mail);
  for (std::size_t i = 0; i < n; ++i) {
    out += rcpt_command(i);
    expected_.push_back(Expect::Rcpt);
  }
  if (!caps_.chunking) {
    out += "DATA\r\n";
    expected_.push_back(Expect::Data);
  }
  return act::Send{std::move(out)};
}

Action ClientSession::on_transaction_reply(const Reply& r) {
  if (expected_.empty()) return fail_connection(Reply(451, "4.5.0", "unexpected reply: " + r.summary()));
  Expect e = expected_.front();
  expected_.erase(expected_.begin());
  switch (e) {
    case Expect::Mail:
      mail_ok_ = verdict_of(r) == Verdict::Delivered;
      if (!mail_ok_) settle(verdict_of(r), r, false);
      break;
    case Expect::Rcpt: {
      std::size_t i = rcpt_index_++;
      if (!mail_ok_ || i >= results_.size()) break;
      if (verdict_of(r) == Verdict::Delivered) {
        accepted_[i] = true;
      } else {
        results_[i] = RcptResult{verdict_of(r), r};
        decided_[i] = true;
      }
      break;
    }
    case Expect::Data: {
      bool any = std::find(accepted_.begin(), accepted_.end(), true) != accepted_.end();
      if (r.code == 354) {
        if (mail_ok_ && any) {
          state_ = State::Body;
          return act::SendBody{};
        }
        // RFC 2920 §3.1: DATA accepted with no recipient: end it at once, send nothing.
        state_ = State::AbortData;
        return act::Send{".\r\n"};
      }
      settle(verdict_of(r) == Verdict::Delivered ? Verdict::Temporary : verdict_of(r), r, true);
      return end_transaction();
    }
  }
  if (!pipelined_) return next_command();
  return expected_.empty() ? after_envelope() : Action(act::Wait{});
}

Action ClientSession::after_envelope() {
  bool any = std::find(accepted_.begin(), accepted_.end(), true) != accepted_.end();
  if (caps_.chunking && mail_ok_ && any) {
    state_ = State::Body;
    return act::SendBody{true};
  }
  return end_transaction();
}

// Without PIPELINING: the next command once the previous one is answered.
Action ClientSession::next_command() {
  if (!expected_.empty()) return act::Wait{};
  if (!mail_ok_) return end_transaction();
  if (rcpt_index_ < env_->rcpts.size()) {
    expected_.push_back(Expect::Rcpt);
    return act::Send{rcpt_command(rcpt_index_)};
  }
  if (std::find(accepted_.begin(), accepted_.end(), true) == accepted_.end()) return end_transaction();
  if (caps_.chunking) return after_envelope();
  expected_.push_back(Expect::Data);
  return act::Send{"DATA\r\n"};
}

// The transaction is over without a message: RSET if the server still holds one open.
Action ClientSession::end_transaction() {
  if (mail_ok_) {
    state_ = State::Rset;
    return act::Send{"RSET\r\n"};
  }
  state_ = State::Idle;
  return act::Ready{};
}

}  // namespace valija::smtp::client
