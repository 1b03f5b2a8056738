#include "pop3/server/connection.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "auth/login.hpp"
#include "base/client_key.hpp"
#include "base/clock.hpp"
#include "base/line_splitter.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "net/blocking.hpp"
#include "net/session_start.hpp"
#include "net/stream.hpp"
#include "pop3/proto/engine.hpp"
#include "pop3/proto/stuffing.hpp"

namespace valija::pop3::server {
namespace {

using net::IoStatus;
using proto::LoginResult;
using proto::Step;
namespace next = proto::next;
using Clock = std::chrono::steady_clock;

// Longest line the splitter keeps: the engine's own limit is checked per line (it is
// longer during an AUTH exchange than for commands).
constexpr std::size_t kMaxLine = 16 * 1024;
constexpr std::size_t kSendChunk = 64 * 1024;

// RFC 1939 §7 UIDL: stable across sessions, and the same pair IMAP reports.
std::string uidl_of(const store::MailboxInfo& mb, const store::MessageInfo& m) {
  return fmt::format("{:08x}{:08x}", mb.uidvalidity, m.uid);
}

// The maildrop, listed once the lock is held (so no other session's QUIT can change it).
struct Listing {
  std::string error;  // empty: listed
  store::MailboxInfo inbox;
  std::vector<store::MessageInfo> messages;
};

Listing list_inbox(store::Store& store, store::AccountId account) {
  Listing out;
  auto inbox = store.find_mailbox(account, "INBOX");
  if (!inbox || !*inbox) {
    out.error = inbox ? "account has no INBOX" : inbox.error().detail;
    return out;
  }
  out.inbox = **inbox;
  auto list = store.list_messages(out.inbox.id);
  if (!list) {
    out.error = list.error().detail;
    return out;
  }
  out.messages = std::move(*list);
  return out;
}

class Session {
 public:
  Session(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config, ConnectionDeps deps)
      : stream_(std::move(socket)),
        config_(std::move(config)),
        deps_(deps),
        engine_(engine_config()),
        lines_(kMaxLine),
        conn_id_(clock::random_id(10)),
        started_(Clock::now()),
        send_memory_(deps_.memory) {}

  ~Session() { release_lock(); }

  void release_lock() {
    if (locked_) deps_.locks.unlock(account_);
    locked_ = false;
  }

  net::awaitable<void> run();

 private:
  proto::EngineConfig engine_config() const {
    proto::EngineConfig c;
    c.hostname = config_->hostname;
    c.stls_available = deps_.tls != nullptr;
    c.tls_active = false;
    c.cleartext_auth = config_->cleartext_always || (config_->cleartext_loopback && is_loopback(stream_.remote_ip()));
    if (config_->login_delay) c.login_delay = static_cast<std::uint32_t>(config_->login_delay->count());
    if (config_->expire_never) c.expire = proto::ExpirePolicy{true, 0};
    c.apop = config_->apop;
    if (config_->implicit_tls) {  // the handshake comes before any command
      c.tls_active = true;
      c.stls_available = false;
    }
    return c;
  }
  net::awaitable<bool> flush();
  net::awaitable<bool> fill(Step& step);
  net::awaitable<Step> next_command();
  net::awaitable<Step> login(std::string user, std::string secret, std::string method,
                             std::optional<std::string> apop_timestamp,
                             auth::sasl::Proof proof = auth::sasl::Proof::None);
  net::awaitable<Step> lookup_keys(std::string user, auth::SaslMechanism mechanism);
  net::awaitable<Step> send(Step step, const next::Send& s);
  net::awaitable<Step> commit(const next::Commit& c);
  net::awaitable<void> pause(std::chrono::milliseconds d);
  void release_piece();

  net::Stream stream_;
  std::shared_ptr<const ListenerConfig> config_;
  ConnectionDeps deps_;
  proto::Engine engine_;
  LineSplitter lines_;
  std::string out_;
  std::string conn_id_;
  Clock::time_point started_;
  std::optional<net::ConnectionSlot> slot_;
  MemoryReservation send_memory_;
  bool locked_ = false;
  store::AccountId account_ = 0;
  store::MailboxInfo inbox_;
  std::vector<store::MessageInfo> messages_;  // the maildrop as listed at login
  std::string user_;
  std::uint64_t sent_octets_ = 0;
  std::string piece_;  // the piece of a message being sent
  char buf_[16384];
};

net::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  auto st = co_await stream_.write_all(out_, config_->idle_timeout);
  out_.clear();
  co_return st == IoStatus::Ok;
}

net::awaitable<bool> Session::fill(Step& step) {
  if (!co_await flush()) {
    step = Step{"", next::Close{}};
    co_return false;
  }
  if (slot_->entry().stopping) {
    step = engine_.on_shutdown();
    co_return false;
  }
  auto timeout = config_->idle_timeout;
  if (!engine_.authenticated()) {
    auto left = std::chrono::ceil<std::chrono::seconds>(config_->login_timeout - (Clock::now() - started_));
    if (left.count() <= 0) {
      log::info("event=pop3_timeout conn={} client={} reason=no_login", conn_id_, stream_.remote_ip());
      step = engine_.on_timeout();
      co_return false;
    }
    timeout = std::min(timeout, left);
  }
  slot_->idle(true);
  std::size_t n = 0;
  auto st = co_await stream_.read_some(buf_, sizeof buf_, n, timeout);
  slot_->idle(false);
  switch (st) {
    case IoStatus::Ok:
      lines_.feed(std::string_view(buf_, n));
      co_return true;
    case IoStatus::Timeout:
      log::info("event=pop3_timeout conn={} client={} user={}", conn_id_, stream_.remote_ip(), log::q(user_));
      step = engine_.on_timeout();
      co_return false;
    case IoStatus::Cancelled:
      step = engine_.on_shutdown();
      co_return false;
    case IoStatus::Eof:
    case IoStatus::Interrupted:
    case IoStatus::Error:
      step = Step{"", next::Close{}};
      co_return false;
  }
  co_return false;
}

net::awaitable<Step> Session::next_command() {
  // Pipelined commands are answered together, but replies never pile up without bound
  // (thousands of pipelined LIST or UIDL): past 64 KiB they go out first.
  if (out_.size() >= kSendChunk && !co_await flush()) co_return Step{"", next::Close{}};
  std::string line;
  auto st = lines_.next(line);
  if (st == LineSplitter::Status::NeedMore) {
    Step step{"", next::ReadCommand{}};
    if (!co_await fill(step) && std::holds_alternative<next::ReadCommand>(step.next)) step.next = next::Close{};
    co_return step;
  }
  if (st == LineSplitter::Status::TooLong || line.size() + 2 > engine_.line_limit()) {
    log::info("event=pop3_line_too_long conn={} client={}", conn_id_, stream_.remote_ip());
    co_return engine_.on_line_too_long();
  }
  co_return engine_.on_line(line);
}

net::awaitable<void> Session::pause(std::chrono::milliseconds d) {
  if (!co_await flush()) co_return;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer t(executor, d);
  auto [ec] = co_await t.async_wait(net::use_tuple);
  (void)ec;
}

// Parameters by value: they live in the coroutine frame across the suspensions.
net::awaitable<Step> Session::lookup_keys(std::string user, auth::SaslMechanism mechanism) {
  auto lookup = [&store = deps_.store, user, hash = auth::scram_hash_of(mechanism)] {
    return auth::scram_keys_for(store, user, hash);
  };
  auto keys = co_await net::run_blocking(deps_.workers, std::move(lookup));
  co_return engine_.on_keys(keys);
}

net::awaitable<Step> Session::login(std::string user, std::string secret, std::string method,
                                    std::optional<std::string> apop_timestamp, auth::sasl::Proof proof) {
  const auto& ip = stream_.remote_ip();
  auth::LoginAttempt attempt{"pop3", conn_id_, ip, user, method};
  auth::LoginGate gate(deps_.throttle, config_->limits.auth_lockout);
  if (gate.locked_out(attempt)) {
    // A locked-out address gets its answer and the door: no further tries on this session.
    Step step = engine_.on_login(LoginResult::TempFail);
    step.next = next::Close{};
    co_return step;
  }
  auto check = [&store = deps_.store, &verified = deps_.verified, user, secret,
                apop_timestamp = std::move(apop_timestamp), proof] {
    if (proof != auth::sasl::Proof::None) return auth::check_scram(store, user, proof);
    return apop_timestamp ? auth::check_apop(store, user, *apop_timestamp, secret)
                          : auth::check_password(store, verified, user, secret);
  };
  auto result = co_await net::run_blocking(deps_.passwords, std::move(check));
  if (result.status != auth::LoginStatus::Ok) {
    co_await pause(gate.failed(attempt, result));
    co_return engine_.on_login(result.status == auth::LoginStatus::BadCredentials ? LoginResult::BadCredentials
                                                                                  : LoginResult::TempFail);
  }
  if (!deps_.locks.try_lock(result.account)) {
    log::info("event=pop3_login_failed conn={} client={} user={} method={} reason=in_use", conn_id_, ip,
              log::q(user), method);
    co_return engine_.on_login(LoginResult::InUse);
  }
  locked_ = true;
  account_ = result.account;
  // Recorded only for a login that got the maildrop (an IN-USE try does not count).
  if (config_->login_delay && !deps_.locks.login_allowed(result.account, *config_->login_delay, Clock::now())) {
    release_lock();
    log::info("event=pop3_login_failed conn={} client={} user={} method={} reason=login_delay", conn_id_, ip,
              log::q(user), method);
    co_return engine_.on_login(LoginResult::LoginDelay);
  }
  auto list = [&store = deps_.store, account = result.account] { return list_inbox(store, account); };
  auto listing = co_await net::run_blocking(deps_.workers, std::move(list));
  if (!listing.error.empty()) {
    release_lock();
    log::error("event=pop3_login_failed conn={} client={} user={} method={} reason={}", conn_id_, ip, log::q(user),
               method, log::q(listing.error));
    co_return engine_.on_login(LoginResult::TempFail);
  }
  inbox_ = listing.inbox;
  messages_ = std::move(listing.messages);
  user_ = user;
  std::vector<proto::MaildropEntry> drop;
  drop.reserve(messages_.size());
  for (const auto& m : messages_) drop.push_back(proto::MaildropEntry{m.size, uidl_of(inbox_, m)});
  log::info("event=pop3_login conn={} client={} user={} method={} tls={} messages={}", conn_id_, ip, log::q(user_),
            method, stream_.tls() ? log::q(stream_.tls_description()) : "no", messages_.size());
  co_return engine_.on_login(LoginResult::Ok, std::move(drop));
}

// A message opened for sending, with its first piece already read (small messages, the
// most, need one trip to the worker pool).
struct Opened {
  Result<std::unique_ptr<store::MessageReader>> reader = fail(Errc::Internal, "not opened");
  Result<std::size_t> first = std::size_t{0};
};

// RETR and TOP: the message is opened (and its first piece read) before anything is
// sent, so a missing one gets a clean -ERR instead of a broken +OK response; then it goes
// out piece by piece, byte-stuffed. At most one piece per session is in memory, charged
// to the message memory budget.
net::awaitable<Step> Session::send(Step step, const next::Send& s) {
  const auto& m = messages_.at(s.index);
  if (!send_memory_.grow_to(kSendChunk)) {
    log::warn("event=pop3_memory_full conn={} user={} uid={} size={}", conn_id_, log::q(user_), m.uid, m.size);
    co_return engine_.on_send_failed();
  }
  piece_.resize(kSendChunk);
  auto open = [&store = deps_.store, m, buf = piece_.data()] {
    Opened o;
    o.reader = store.open_message(m);
    if (o.reader) o.first = (*o.reader)->read(buf, kSendChunk);
    return o;
  };
  auto opened = co_await net::run_blocking(deps_.workers, std::move(open));
  if (!opened.reader || !opened.first) {
    const auto& e = !opened.reader ? opened.reader.error() : opened.first.error();
    release_piece();
    // Expunged meanwhile by another session (IMAP) is an ordinary race, not a fault.
    bool gone = e.code == Errc::NotFound;
    if (gone)
      log::info("event=pop3_message_gone conn={} user={} uid={} trace={}", conn_id_, log::q(user_), m.uid, m.trace_id);
    else
      log::error("event=pop3_read_failed conn={} user={} uid={} trace={} error={}", conn_id_, log::q(user_), m.uid,
                 m.trace_id, log::q(e.detail));
    co_return engine_.on_send_failed(gone);
  }
  auto reader = std::move(*opened.reader);
  std::size_t n = *opened.first;
  out_ += step.out;
  proto::DotStuffer stuffer;
  std::optional<proto::TopCutter> cut;
  if (s.top_lines) cut.emplace(*s.top_lines);
  std::uint64_t sent = 0;
  bool ok = true;
  while (n > 0) {
    std::string_view chunk(piece_.data(), n);
    sent += n;
    std::size_t keep = cut ? cut->feed(chunk) : chunk.size();
    stuffer.feed(chunk.substr(0, keep), out_);
    if (cut && cut->done()) break;
    if (!(ok = co_await flush())) break;
    auto next_piece = [r = reader.get(), buf = piece_.data()] { return r->read(buf, kSendChunk); };
    auto got = co_await net::run_blocking(deps_.workers, std::move(next_piece));
    if (!got) {  // the +OK is out: the response cannot be completed, only cut off
      log::error("event=pop3_read_failed conn={} user={} uid={} trace={} error={}", conn_id_, log::q(user_), m.uid,
                 m.trace_id, log::q(got.error().detail));
      ok = false;
      break;
    }
    n = *got;
  }
  if (ok) {
    stuffer.finish(out_);
    ok = co_await flush();
  }
  release_piece();
  if (!ok) co_return Step{"", next::Close{}};
  if (!s.top_lines) {
    sent_octets_ += sent;
    log::info("event=pop3_retr conn={} user={} uid={} trace={} size={}", conn_id_, log::q(user_), m.uid, m.trace_id,
              sent);
  }
  co_return engine_.on_sent();
}

void Session::release_piece() {
  std::string().swap(piece_);
  send_memory_.release();
}

net::awaitable<Step> Session::commit(const next::Commit& c) {
  std::vector<std::uint32_t> uids;
  uids.reserve(c.deleted.size());
  for (auto i : c.deleted) uids.push_back(messages_.at(i).uid);
  auto submit = [&store = deps_.store, &writer = deps_.run_in_writer, mailbox = inbox_.id,
                 uids = std::move(uids)](auto reply) mutable {
    writer([&store, mailbox, uids = std::move(uids), reply = std::move(reply)]() mutable {
      Result<std::size_t> r = fail(Errc::Internal, "expunge failed");
      try {
        r = store.expunge(mailbox, uids);
      } catch (const std::exception& e) {
        r = fail(Errc::Internal, e.what());
      }
      reply(std::move(r));
    });
  };
  auto done = co_await net::await_callback<Result<std::size_t>>(std::move(submit));
  if (!done) {
    log::error("event=pop3_expunge_failed conn={} user={} count={} error={}", conn_id_, log::q(user_),
               c.deleted.size(), log::q(done.error().detail));
    co_return engine_.on_commit(false);
  }
  for (auto i : c.deleted)
    log::info("event=pop3_dele conn={} user={} uid={} trace={}", conn_id_, log::q(user_), messages_[i].uid,
              messages_[i].trace_id);
  co_return engine_.on_commit(true);
}

net::awaitable<void> Session::run() {
  net::SessionStart how{"pop3", config_->service, conn_id_, config_->implicit_tls, deps_.tls,
                        [](const std::string& reason) { return fmt::format("-ERR [SYS/TEMP] {}, try again later\r\n", reason); }};
  if (!co_await net::open_session(stream_, deps_.connections, slot_, how)) co_return;

  if (config_->implicit_tls)
    engine_.set_channel_bindings(auth::ChannelBindings{stream_.tls_exporter(), stream_.tls_server_end_point()});
  auto token = clock::random_id(16);
  Step step = engine_.start(token);
  while (true) {
    proto::Next next = std::move(step.next);
    if (auto* s = std::get_if<next::Send>(&next)) {
      step = co_await send(std::move(step), *s);  // its +OK line only once the message is readable
      continue;
    }
    out_ += step.out;
    if (std::holds_alternative<next::ReadCommand>(next)) {
      if (!co_await net::pace_command(*slot_, "pop3", conn_id_, [this] { return flush(); })) break;
      step = co_await next_command();
    } else if (auto* c = std::get_if<next::CheckLogin>(&next)) {
      step = co_await login(c->user, c->password, c->method, std::nullopt, c->proof);
    } else if (auto* k = std::get_if<next::LookupKeys>(&next)) {
      step = co_await lookup_keys(k->user, k->mechanism);
    } else if (auto* a = std::get_if<next::CheckApop>(&next)) {
      step = co_await login(a->user, a->digest, "APOP", a->timestamp);
    } else if (std::holds_alternative<next::StartTls>(next)) {
      if (!co_await flush()) break;
      lines_.clear();  // RFC 2595 §4: nothing read before the handshake is used after it
      auto st = co_await net::upgrade_to_tls(stream_, *deps_.tls, conn_id_);
      if (st == IoStatus::Ok)
        engine_.set_channel_bindings(auth::ChannelBindings{stream_.tls_exporter(), stream_.tls_server_end_point()});
      step = engine_.on_tls(st == IoStatus::Ok);
    } else if (auto* cm = std::get_if<next::Commit>(&next)) {
      step = co_await commit(*cm);
    } else {  // Close
      // RFC 1939 §6: UPDATE is done (committed) before the lock goes, and the lock goes
      // before the final +OK is sent and the TLS close (which may wait for the client),
      // so a client may log in again as soon as it has the +OK.
      release_lock();
      co_await flush();
      break;
    }
  }
  release_lock();
  co_await stream_.shutdown();
  auto secs = std::chrono::duration<double>(Clock::now() - started_).count();
  if (engine_.authenticated())
    log::info("event=pop3_logout conn={} client={} user={} retrieved={} deleted={} bytes={} seconds={:.1f}", conn_id_,
              stream_.remote_ip(), log::q(user_), engine_.retrieved(), engine_.expunged(), sent_octets_, secs);
  else
    log::info("event=pop3_disconnect conn={} client={} seconds={:.1f}", conn_id_, stream_.remote_ip(), secs);
}

}  // namespace

net::awaitable<void> serve_connection(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config,
                                      ConnectionDeps deps) {
  Session s(std::move(socket), std::move(config), deps);
  co_await s.run();
}

}  // namespace valija::pop3::server
