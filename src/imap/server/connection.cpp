#include "imap/server/connection.hpp"

#include <fmt/format.h>

#include "auth/login.hpp"
#include "auth/sasl.hpp"
#include "base/client_key.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "imap/proto/command.hpp"
#include "imap/proto/reader.hpp"
#include "imap/server/session.hpp"
#include "net/blocking.hpp"
#include "net/session_start.hpp"
#include "net/stream.hpp"

namespace valija::imap::server {
namespace {

using net::IoStatus;
using Clock = std::chrono::steady_clock;
namespace read = proto::read;

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kFlushAt = 64 * 1024;
constexpr std::size_t kSliceChunk = 64 * 1024;

SessionConfig session_config(const ListenerConfig& c, bool tls_available, const std::string& ip) {
  SessionConfig s;
  s.hostname = c.hostname;
  s.tls = c.implicit_tls;
  s.starttls = !c.implicit_tls && tls_available;
  s.cleartext_login = c.cleartext_always || (c.cleartext_loopback && is_loopback(ip));
  s.limits.append = c.limits.message_size;
  return s;
}

class Connection {
 public:
  Connection(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config, ConnectionDeps deps)
      : stream_(std::move(socket)),
        config_(std::move(config)),
        deps_(deps),
        session_(session_config(*config_, deps_.tls != nullptr, stream_.remote_ip()), deps_.store,
                 deps_.append, deps_.write),
        reader_(session_.limits()),
        conn_id_(clock::random_id(10)),
        started_(Clock::now()),
        append_memory_(deps_.memory) {
    reader_.set_literal_plus(true);
  }
  ~Connection() {
    if (watch_) deps_.watchers.remove(session_.account().id, watch_);
  }

  net::awaitable<void> run();

 private:
  net::awaitable<bool> flush();
  net::awaitable<bool> write_output(Output& o);
  // Reads more input; false when the connection is over (the reason written).
  net::awaitable<bool> fill(std::chrono::seconds timeout);
  std::chrono::seconds read_timeout() const;
  net::awaitable<void> on_command(std::string_view text);
  net::awaitable<void> execute(proto::Command cmd);
  net::awaitable<void> login(const proto::Command& cmd, std::string user, std::string password, std::string method,
                             auth::sasl::Proof proof = auth::sasl::Proof::None);
  void tls_established();
  net::awaitable<void> authenticate(const proto::Command& cmd);
  net::awaitable<void> idle(const proto::Command& cmd);
  net::awaitable<void> starttls(const proto::Command& cmd);
  net::awaitable<void> append_start(const read::AppendLiteral& a);
  net::awaitable<void> pause(std::chrono::milliseconds d);
  // The next raw line (AUTHENTICATE response, DONE); nullopt when the connection ended.
  net::awaitable<std::optional<std::string>> next_line();
  void tagged(const proto::Command& cmd, std::string_view status, std::string_view text) {
    out_ += fmt::format("{} {} {}\r\n", cmd.tag, status, text);
  }
  // Drops consumed input; an idle connection keeps no buffer capacity.
  void compact_input() {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
    if (in_.empty() && in_.capacity() > 4096) std::string().swap(in_);
  }

  net::Stream stream_;
  std::shared_ptr<const ListenerConfig> config_;
  ConnectionDeps deps_;
  Session session_;
  proto::CommandReader reader_;
  auth::ChannelBindings bindings_;
  std::string conn_id_;
  Clock::time_point started_;
  std::optional<net::ConnectionSlot> slot_;
  std::string in_;
  std::size_t in_pos_ = 0;
  std::string out_;
  bool closing_ = false;
  // APPEND's message, while its literal arrives
  std::optional<proto::Command> append_;
  std::string append_buf_;
  MemoryReservation append_memory_;
  // change notices (this connection's I/O thread)
  Watchers::Handle watch_;
  std::uint64_t commands_ = 0;
};

net::awaitable<bool> Connection::flush() {
  if (out_.empty()) co_return true;
  auto st = co_await stream_.write_all(out_, config_->idle_timeout);
  out_.clear();
  if (out_.capacity() > kFlushAt) std::string().swap(out_);
  if (st != IoStatus::Ok) closing_ = true;
  co_return st == IoStatus::Ok;
}

// Text goes out as is; each slice of a stored message is read and sent in pieces.
net::awaitable<bool> Connection::write_output(Output& o) {
  std::size_t pos = 0;
  for (auto& s : o.slices) {
    out_.append(o.text, pos, s.at - pos);
    pos = s.at;
    if (!co_await flush()) co_return false;
    std::string chunk;
    for (std::uint64_t off = 0; off < s.length;) {
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kSliceChunk, s.length - off));
      chunk.resize(want);
      auto got = s.reader->read_at(s.offset + off, chunk.data(), want);
      if (!got || *got == 0) {
        // The literal's size is promised: the connection cannot go on without it.
        log::error("event=imap_read_failed conn={} user={} error={}", conn_id_, log::q(session_.account().address()),
                   log::q(got ? "short read" : got.error().detail));
        closing_ = true;
        co_return false;
      }
      out_.append(chunk.data(), *got);
      off += *got;
      if (!co_await flush()) co_return false;
    }
  }
  out_.append(o.text, pos, std::string::npos);
  if (out_.size() >= kFlushAt) co_return co_await flush();
  co_return true;
}

std::chrono::seconds Connection::read_timeout() const {
  if (session_.phase() != Phase::NotAuthenticated) return config_->idle_timeout;
  // Rounded up: 0.4 s left is a second more to read, not an immediate logout.
  auto left = std::chrono::ceil<std::chrono::seconds>(config_->login_timeout - (Clock::now() - started_));
  return std::max(left, std::chrono::seconds(0));
}

net::awaitable<bool> Connection::fill(std::chrono::seconds timeout) {
  if (!co_await flush()) co_return false;
  if (slot_->entry().stopping) {
    out_ += "* BYE Server shutting down\r\n";
    co_return false;
  }
  if (timeout.count() <= 0) {
    out_ += "* BYE Autologout; please log in sooner\r\n";
    co_return false;
  }
  compact_input();
  slot_->idle(true);
  auto st = co_await stream_.read_append(in_, kReadChunk, timeout);
  slot_->idle(false);
  switch (st) {
    case IoStatus::Ok: co_return true;
    case IoStatus::Interrupted: co_return true;  // news for IDLE: the caller looks
    case IoStatus::Timeout:
      log::info("event=imap_timeout conn={} client={} user={}", conn_id_, stream_.remote_ip(),
                log::q(session_.account().address()));
      out_ += "* BYE Autologout; idle for too long\r\n";
      co_return false;
    case IoStatus::Cancelled:
      out_ += "* BYE Server shutting down\r\n";
      co_return false;
    case IoStatus::Eof:
    case IoStatus::Error: closing_ = true; co_return false;
  }
  co_return false;
}

net::awaitable<void> Connection::pause(std::chrono::milliseconds d) {
  if (d.count() <= 0 || !co_await flush()) co_return;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer t(executor, d);
  auto [ec] = co_await t.async_wait(net::use_tuple);
  (void)ec;
}

net::awaitable<void> Connection::execute(proto::Command cmd) {
  Output o;
  session_.execute(cmd, o);
  if (watch_) watch_->selected.store(session_.selected_id().value_or(0));
  if (log::enabled(log::Level::Debug)) {  // the tagged line: how the command ended
    auto end = o.text.rfind("\r\n", o.text.size() - 3);
    auto start = end == std::string::npos ? 0 : end + 2;
    log::debug("event=imap_out conn={} line={} octets={}", conn_id_,
               log::q(std::string_view(o.text).substr(start, std::min<std::size_t>(o.text.size() - start - 2, 300))),
               o.text.size());
  }
  if (session_.phase() == Phase::Logout) closing_ = true;  // BYE written by the session
  co_await write_output(o);
}

// SCRAM-PLUS can bind to this TLS session from now on.
void Connection::tls_established() {
  bindings_ = auth::ChannelBindings{stream_.tls_exporter(), stream_.tls_server_end_point()};
  session_.set_channel_binding(bindings_.any());
}

net::awaitable<void> Connection::login(const proto::Command& cmd, std::string user, std::string password,
                                       std::string method, auth::sasl::Proof proof) {
  const auto& ip = stream_.remote_ip();
  auth::LoginAttempt attempt{"imap", conn_id_, ip, user, method};
  auth::LoginGate gate(deps_.throttle, config_->limits.auth_lockout);
  if (gate.locked_out(attempt)) {
    tagged(cmd, "NO", "[UNAVAILABLE] Too many failed logins, try again later");
    out_ += "* BYE Too many failed logins\r\n";
    closing_ = true;
    co_return;
  }
  auto check = [&store = deps_.store, &verified = deps_.verified, user, password, proof] {
    return proof == auth::sasl::Proof::None ? auth::check_password(store, verified, user, password)
                                            : auth::check_scram(store, user, proof);
  };
  auto result = co_await net::run_blocking(deps_.passwords, std::move(check));
  if (result.status != auth::LoginStatus::Ok) {
    co_await pause(gate.failed(attempt, result));
    if (result.status == auth::LoginStatus::BadCredentials)
      tagged(cmd, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
    else
      tagged(cmd, "NO", "[UNAVAILABLE] Temporary failure, please try again later");
    co_return;
  }
  auto executor = co_await asio::this_coro::executor;
  watch_ = deps_.watchers.add_within(result.account, config_->limits.imap_sessions_per_account,
                                     session_.change_flag(), executor, [this] { stream_.interrupt(); });
  if (!watch_) {
    log::warn("event=imap_login_refused conn={} client={} user={} reason=too_many_sessions limit={}", conn_id_, ip,
              log::q(user), config_->limits.imap_sessions_per_account);
    tagged(cmd, "NO", "[LIMIT] Too many sessions for this account, close some and try again");
    co_return;
  }
  session_.logged_in(result.details);
  reader_.set_authenticated(true);
  log::info("event=imap_login conn={} client={} user={} method={} tls={}", conn_id_, ip, log::q(user), method,
            stream_.tls() ? log::q(stream_.tls_description()) : "no");
  tagged(cmd, "OK", "[CAPABILITY " + session_.capabilities() + "] Logged in");
}

net::awaitable<std::optional<std::string>> Connection::next_line() {
  reader_.expect_line();
  while (true) {
    auto step = reader_.feed(std::string_view(in_).substr(in_pos_));
    in_pos_ += step.consumed;
    if (auto* l = std::get_if<read::Line>(&step.event)) co_return std::string(l->text);
    if (auto* e = std::get_if<read::Error>(&step.event)) {
      out_ += e->error.render();
      if (e->error.close) closing_ = true;
      co_return std::nullopt;
    }
    if (!std::holds_alternative<read::NeedMore>(step.event)) co_return std::nullopt;
    if (!co_await fill(read_timeout())) {
      closing_ = true;
      co_return std::nullopt;
    }
  }
}

// RFC 9051 §6.2.2, SASL-IR (RFC 4959).
net::awaitable<void> Connection::authenticate(const proto::Command& cmd) {
  const auto& args = std::get<proto::cmd::Authenticate>(cmd.args);
  auto mech = auth::parse_sasl_mechanism(args.mechanism);
  if (!mech) {
    tagged(cmd, "NO", "[CANNOT] Unsupported authentication mechanism");
    co_return;
  }
  // Every mechanism only over TLS (or where cleartext is allowed): SCRAM sends no
  // password, but an eavesdropper could still try to guess it offline from the exchange.
  if (!session_.login_allowed()) {
    tagged(cmd, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
    co_return;
  }
  auth::SaslServer sasl(*mech, {}, bindings_);
  std::optional<std::string_view> ir;
  if (args.initial_response) ir = args.initial_response->empty() ? std::string_view("=") : *args.initial_response;
  auto step = sasl.start(ir);
  while (true) {
    if (auto* need = std::get_if<auth::sasl::NeedKeys>(&step)) {
      step = sasl.on_keys(auth::scram_keys_for(deps_.store, need->authcid, auth::scram_hash_of(*mech)));
      continue;
    }
    auto* ch = std::get_if<auth::sasl::Challenge>(&step);
    if (!ch) break;
    out_ += "+ " + auth::base64_encode(ch->data) + "\r\n";
    auto line = co_await next_line();
    if (!line) co_return;
    step = sasl.on_response(*line);
  }
  if (std::holds_alternative<auth::sasl::Cancelled>(step)) {
    tagged(cmd, "BAD", "Authentication cancelled");
    co_return;
  }
  if (auto* f = std::get_if<auth::sasl::Failed>(&step)) {
    log::info("event=imap_auth_malformed conn={} client={} reason={}", conn_id_, stream_.remote_ip(), log::q(f->reason));
    tagged(cmd, "BAD", "Malformed authentication exchange");
    co_return;
  }
  auto& done = std::get<auth::sasl::Done>(step);
  auto& creds = done.credentials;
  if (!creds.authzid.empty() && creds.authzid != creds.authcid) {  // no proxy logins
    tagged(cmd, "NO", "[AUTHORIZATIONFAILED] Cannot act as another user");
    co_return;
  }
  std::string method(auth::sasl_mechanism_name(*mech));  // named: see smtp_policy.cpp on g++ 12
  co_await login(cmd, creds.authcid, creds.password, std::move(method), done.proof);
}

// RFC 2177: untagged updates as they happen until DONE.
net::awaitable<void> Connection::idle(const proto::Command& cmd) {
  out_ += "+ idling\r\n";
  reader_.expect_line();
  auto keepalive = config_->idle_keepalive;
  while (true) {
    Output o;
    session_.idle_updates(o);
    if (session_.phase() == Phase::Logout) closing_ = true;
    if (!co_await write_output(o) || closing_) co_return;
    if (!co_await flush()) co_return;
    auto step = reader_.feed(std::string_view(in_).substr(in_pos_));
    in_pos_ += step.consumed;
    if (auto* l = std::get_if<read::Line>(&step.event)) {
      if (proto::is_idle_done(l->text)) tagged(cmd, "OK", "IDLE terminated");
      else tagged(cmd, "BAD", "Expected DONE");
      co_return;
    }
    if (auto* e = std::get_if<read::Error>(&step.event)) {
      out_ += e->error.render();
      if (e->error.close) closing_ = true;
      co_return;
    }
    if (slot_->entry().stopping) {
      out_ += "* BYE Server shutting down\r\n";
      closing_ = true;
      co_return;
    }
    // Idling first, then the flag: a change committed in between is seen here or wakes
    // the read below (Watchers::notify does the opposite order).
    watch_->idling.store(true);
    if (session_.selected_id() && session_.change_flag()->load()) {
      watch_->idling.store(false);
      continue;
    }
    compact_input();
    slot_->idle(true);
    auto st = co_await stream_.read_append(in_, kReadChunk, keepalive);
    slot_->idle(false);
    watch_->idling.store(false);
    if (st == IoStatus::Ok || st == IoStatus::Interrupted) continue;
    if (st == IoStatus::Timeout) {
      out_ += "* OK Still here\r\n";
      continue;
    }
    if (st == IoStatus::Cancelled) out_ += "* BYE Server shutting down\r\n";
    closing_ = true;
    co_return;
  }
}

net::awaitable<void> Connection::starttls(const proto::Command& cmd) {
  if (stream_.tls() || !deps_.tls || config_->implicit_tls) {
    tagged(cmd, "BAD", "TLS is not available here");
    co_return;
  }
  if (session_.phase() != Phase::NotAuthenticated) {
    tagged(cmd, "BAD", "Already logged in");
    co_return;
  }
  tagged(cmd, "OK", "Begin TLS negotiation now");
  if (!co_await flush()) co_return;
  // RFC 9051 §6.2.1: nothing the client sent before the handshake is acted on after it.
  reader_.reset();
  in_.clear();
  in_pos_ = 0;
  auto st = co_await net::upgrade_to_tls(stream_, *deps_.tls, conn_id_);
  if (st != IoStatus::Ok) {
    closing_ = true;
    co_return;
  }
  session_.tls_started();
  tls_established();
}

// --log-level debug shows the dialogue, as for SMTP: each command (LOGIN's and
// AUTHENTICATE's arguments masked, long ones cut) and each tagged answer.
void log_command(std::string_view conn, std::string_view text) {
  if (!log::enabled(log::Level::Debug)) return;
  auto line = text.substr(0, std::min<std::size_t>(text.find_first_of("\r\n"), 300));
  auto sp = line.find(' ');
  auto verb = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1, 12);
  if (text::istarts_with(verb, "LOGIN ") || text::istarts_with(verb, "AUTHENTICATE"))
    line = line.substr(0, sp + 1 + (text::istarts_with(verb, "LOGIN ") ? 6 : 12));
  log::debug("event=imap_in conn={} line={}", conn, log::q(line));
}

net::awaitable<void> Connection::on_command(std::string_view text) {
  log_command(conn_id_, text);
  auto parsed = proto::parse_command(text, session_.limits());
  if (!parsed) {
    out_ += parsed.error().render();
    if (parsed.error().close) closing_ = true;
    co_return;
  }
  ++commands_;
  auto& cmd = *parsed;
  switch (cmd.verb) {
    case proto::Verb::Logout:
      out_ += "* BYE Logging out\r\n";
      tagged(cmd, "OK", "LOGOUT completed");
      closing_ = true;
      co_return;
    case proto::Verb::StartTls: co_await starttls(cmd); co_return;
    case proto::Verb::Login: {
      if (session_.phase() != Phase::NotAuthenticated) {
        tagged(cmd, "BAD", "Already logged in");
        co_return;
      }
      if (!session_.login_allowed()) {  // RFC 9051 §6.2.3 LOGINDISABLED
        tagged(cmd, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
        co_return;
      }
      auto& a = std::get<proto::cmd::Login>(cmd.args);
      co_await login(cmd, a.user, a.password, "LOGIN");
      co_return;
    }
    case proto::Verb::Authenticate:
      if (session_.phase() != Phase::NotAuthenticated) {
        tagged(cmd, "BAD", "Already logged in");
        co_return;
      }
      co_await authenticate(cmd);
      co_return;
    case proto::Verb::Idle:
      if (session_.phase() == Phase::NotAuthenticated) {
        tagged(cmd, "BAD", "Log in first");
        co_return;
      }
      co_await idle(cmd);
      co_return;
    default: co_await execute(std::move(cmd)); co_return;
  }
}

net::awaitable<void> Connection::append_start(const read::AppendLiteral& a) {
  auto parsed = proto::parse_append_start(a.prefix, session_.limits());
  if (!parsed) {
    reader_.reject_literal();
    out_ += parsed.error().render();
    co_return;
  }
  if (session_.phase() == Phase::NotAuthenticated) {
    reader_.reject_literal();
    tagged(*parsed, "BAD", "Log in first");
    co_return;
  }
  if (!append_memory_.grow_to(a.size)) {
    reader_.reject_literal();
    log::warn("event=imap_memory_full conn={} user={} size={}", conn_id_, log::q(session_.account().address()), a.size);
    tagged(*parsed, "NO", "[LIMIT] The server is busy, try again later");
    co_return;
  }
  append_ = std::move(*parsed);
  std::get<proto::cmd::Append>(append_->args).binary = a.binary;
  append_buf_.clear();
  append_buf_.reserve(static_cast<std::size_t>(a.size));
  if (reader_.accept_literal()) out_ += "+ Ready for literal data\r\n";
}

net::awaitable<void> Connection::run() {
  net::SessionStart how{"imap", config_->service, conn_id_, config_->implicit_tls, deps_.tls,
                        [](const std::string& reason) { return fmt::format("* BYE {}, try again later\r\n", reason); }};
  if (!co_await net::open_session(stream_, deps_.connections, slot_, how)) co_return;
  if (config_->implicit_tls) tls_established();
  out_ = "* OK [CAPABILITY " + session_.capabilities() + "] " + config_->hostname + " valija IMAP ready\r\n";
  while (!closing_) {
    auto step = reader_.feed(std::string_view(in_).substr(in_pos_));
    in_pos_ += step.consumed;
    auto& ev = step.event;
    if (std::holds_alternative<read::NeedMore>(ev)) {
      if (!co_await fill(read_timeout())) break;
    } else if (auto* c = std::get_if<read::Command>(&ev)) {
      if (!co_await net::pace_command(*slot_, "imap", conn_id_, [this] { return flush(); })) break;
      co_await on_command(c->text);
    } else if (std::holds_alternative<read::Continue>(ev)) {
      out_ += "+ Ready for literal data\r\n";
    } else if (auto* a = std::get_if<read::AppendLiteral>(&ev)) {
      co_await append_start(*a);
    } else if (auto* d = std::get_if<read::LiteralData>(&ev)) {
      append_buf_.append(d->bytes);
    } else if (std::holds_alternative<read::AppendDone>(ev)) {
      if (append_) {
        std::get<proto::cmd::Append>(append_->args).message = std::move(append_buf_);
        auto cmd = std::move(*append_);
        append_.reset();
        co_await execute(std::move(cmd));
      }
      append_buf_ = std::string();
      append_memory_.release();
    } else if (auto* e = std::get_if<read::Error>(&ev)) {
      out_ += e->error.render();
      if (e->error.close) break;
    } else {  // a Line outside AUTHENTICATE/IDLE cannot happen
      break;
    }
  }
  co_await flush();
  co_await stream_.shutdown();
  auto secs = std::chrono::duration<double>(Clock::now() - started_).count();
  if (session_.phase() != Phase::NotAuthenticated)
    log::info("event=imap_logout conn={} client={} user={} commands={} seconds={:.1f}", conn_id_,
              stream_.remote_ip(), log::q(session_.account().address()), commands_, secs);
  else
    log::info("event=imap_disconnect conn={} client={} seconds={:.1f}", conn_id_, stream_.remote_ip(), secs);
}

}  // namespace

Watchers::Handle Watchers::add_within(store::AccountId account, std::size_t limit, std::atomic<bool>* changed,
                                      asio::any_io_executor executor, std::function<void()> wake) {
  std::lock_guard lock(mu_);
  auto& set = by_account_[account];
  if (set.size() >= limit) {
    if (set.empty()) by_account_.erase(account);
    return nullptr;
  }
  auto w = std::make_shared<Watch>();
  w->changed = changed;
  w->executor = std::move(executor);
  w->wake = std::move(wake);
  set.insert(w);
  return w;
}

void Watchers::remove(store::AccountId account, const Handle& h) {
  std::lock_guard lock(mu_);
  h->live = false;  // a wake already posted finds it gone
  auto it = by_account_.find(account);
  if (it == by_account_.end()) return;
  it->second.erase(h);
  if (it->second.empty()) by_account_.erase(it);
}

void Watchers::notify(store::AccountId account, store::MailboxId mailbox) {
  std::lock_guard lock(mu_);
  auto it = by_account_.find(account);
  if (it == by_account_.end()) return;
  for (const auto& w : it->second) {
    // Sequentially consistent with the session's side (idling, then changed): either it
    // sees the flag before it waits, or this sees it idling and wakes it.
    w->changed->store(true);
    if (!w->idling.load()) continue;
    if (mailbox != 0 && mailbox != w->selected.load()) continue;
    asio::post(w->executor, [w] {
      if (w->live) w->wake();
    });
  }
}

net::awaitable<void> serve_connection(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config,
                                      ConnectionDeps deps) {
  Connection c(std::move(socket), std::move(config), deps);
  co_await c.run();
}

}  // namespace valija::imap::server
