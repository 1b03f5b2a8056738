#include "smtp/server/connection.hpp"

#include <chrono>

#include "auth/login.hpp"
#include "base/client_key.hpp"
#include "base/clock.hpp"
#include "base/line_splitter.hpp"
#include "base/text.hpp"
#include "base/log.hpp"
#include "net/blocking.hpp"
#include "net/session_start.hpp"
#include "net/stream.hpp"
#include "smtp/proto/data_reader.hpp"

namespace valija::smtp::server {
namespace {

using net::IoStatus;
using Clock = std::chrono::steady_clock;

std::string rcpt_list(const Transaction& tx) {
  std::string out;
  for (const auto& r : tx.recipients) {
    if (!out.empty()) out += ',';
    out += '<' + r.address.str() + '>';
  }
  return out;
}

// What the debug trace shows of a client line: AUTH keeps its mechanism only, since
// what follows is a credential (base64 of the password for PLAIN).
std::string masked(std::string_view line) {
  if (line.size() < 5 || !text::iequals(line.substr(0, 5), "AUTH ")) return std::string(line);
  auto mech_end = line.find(' ', 5);
  if (mech_end == std::string_view::npos) return std::string(line);
  return std::string(line.substr(0, mech_end)) + " ***";
}

// The envelope of a transaction without its content, for the log line after it ends.
Transaction envelope_of(const Transaction& tx) {
  Transaction t;
  t.from = tx.from;
  t.recipients = tx.recipients;
  t.trace_id = tx.trace_id;
  return t;
}

EngineConfig engine_config(const ListenerConfig& c, const std::string& ip) {
  EngineConfig e = c.engine;
  if (c.auth_cleartext_loopback && is_loopback(ip)) e.auth_cleartext = true;
  return e;
}

class Session {
 public:
  Session(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config, ConnectionDeps deps)
      : stream_(std::move(socket)),
        config_(std::move(config)),
        deps_(deps),
        engine_(engine_config(*config_, stream_.remote_ip())),
        lines_(engine_.max_line()),
        conn_id_(clock::random_id(10)),
        started_(Clock::now()),
        content_memory_(deps_.memory) {
    engine_.set_starttls_available(deps_.tls != nullptr);
  }

  net::awaitable<void> run();

 private:
  const Limits& limits() const { return config_->engine.limits; }
  SessionInfo info() const {
    return SessionInfo{conn_id_,     stream_.remote_ip(),         stream_.remote_port(), engine_.helo_name(),
                       engine_.ehlo(), stream_.tls(), stream_.tls_description(), config_->service,
                       engine_.auth_user(), client_name_, iprev_};
  }
  net::awaitable<bool> flush();
  // Reads more input into the line splitter. False when the connection must end;
  // `step` then holds the reply to send (if any).
  // `idle`: between transactions, so a shutdown may interrupt the wait. Message content
  // (DATA, BDAT) is read to its end even during shutdown, so the transaction can finish.
  net::awaitable<bool> fill(Step& step, std::chrono::seconds timeout, bool idle, bool in_content = false);
  // As fill(), but leaves the n bytes read in buf_ for the caller.
  net::awaitable<bool> read_more(Step& step, std::chrono::seconds timeout, bool idle, bool in_content, std::size_t& n);
  net::awaitable<Step> read_data();
  void keep_within_budget(proto::DataReader& reader);
  void out_of_memory();
  net::awaitable<Step> read_chunk(const next::ReadChunk& c);
  net::awaitable<Step> next_command();
  net::awaitable<Step> auth_line();
  net::awaitable<Step> check_auth(auth::SaslCredentials credentials, std::string mechanism, auth::sasl::Proof proof);
  net::awaitable<Step> auth_keys(std::string user, auth::SaslMechanism mechanism);
  void tls_established();
  net::awaitable<Step> deliver();
  net::awaitable<Step> greet();
  net::awaitable<std::optional<Reply>> check_mail();
  net::awaitable<SmtpPolicy::RcptAnswer> check_rcpt(const next::CheckRcpt& rcpt);
  static bool ended(const Step& s);
  void log_transaction(const Transaction& tx, std::uint64_t size);
  void trace_out(std::string_view bytes);

  net::Stream stream_;
  std::shared_ptr<const ListenerConfig> config_;
  ConnectionDeps deps_;
  Engine engine_;
  LineSplitter lines_;
  std::string out_;
  std::string conn_id_;
  Clock::time_point started_;
  Clock::time_point tx_start_;
  std::uint64_t messages_ = 0;
  std::string client_name_, iprev_;  // from the policy's connect check
  std::optional<net::ConnectionSlot> slot_;
  MemoryReservation content_memory_;  // the current message's share of the budget
  // Touched only as far as reads fill it, so an idle connection keeps one page resident.
  char buf_[16384];
};

void Session::trace_out(std::string_view bytes) {
  if (!log::enabled(log::Level::Debug)) return;
  std::size_t start = 0;
  while (start < bytes.size()) {
    auto end = bytes.find("\r\n", start);
    if (end == std::string_view::npos) end = bytes.size();
    log::debug("event=smtp_out conn={} line={}", conn_id_, log::q(bytes.substr(start, end - start)));
    start = end + 2;
  }
}

net::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  trace_out(out_);
  auto st = co_await stream_.write_all(out_, limits().smtp_greeting_wait);
  out_.clear();
  co_return st == IoStatus::Ok;
}

net::awaitable<bool> Session::fill(Step& step, std::chrono::seconds timeout, bool idle, bool in_content) {
  std::size_t n = 0;
  if (!co_await read_more(step, timeout, idle, in_content, n)) co_return false;
  lines_.feed(std::string_view(buf_, n));
  co_return true;
}

net::awaitable<bool> Session::read_more(Step& step, std::chrono::seconds timeout, bool idle, bool in_content,
                                        std::size_t& n) {
  if (!co_await flush()) {
    step = Step{"", next::Close{}};  // the client is gone: never go on parsing its content as commands
    co_return false;
  }
  if (slot_->entry().stopping && !in_content) {
    step = engine_.on_shutdown();
    co_return false;
  }
  // The whole session has a deadline too: the wait never runs past it.
  auto left = std::chrono::duration_cast<std::chrono::seconds>(limits().smtp_session - (Clock::now() - started_));
  if (left.count() <= 0) {
    log::info("event=smtp_timeout conn={} client={} reason=session", conn_id_, stream_.remote_ip());
    step = engine_.on_timeout();
    co_return false;
  }
  timeout = std::min(timeout, left);
  slot_->idle(idle);
  auto st = co_await stream_.read_some(buf_, sizeof buf_, n, timeout);
  slot_->idle(false);
  switch (st) {
    case IoStatus::Ok:
      co_return true;
    case IoStatus::Timeout:
      log::info("event=smtp_timeout conn={} client={}", conn_id_, stream_.remote_ip());
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

net::awaitable<Step> Session::read_data() {
  proto::DataReader reader(limits().message_size);
  std::string pending = lines_.take_pending();
  std::size_t used = reader.feed(pending);
  if (reader.done()) lines_.feed(std::string_view(pending).substr(used));
  keep_within_budget(reader);
  // Content goes from the read buffer straight into the reader; what follows the end
  // of data (pipelined commands) goes back to the line splitter.
  while (!reader.done()) {
    Step s;
    std::size_t n = 0;
    if (!co_await read_more(s, limits().smtp_data_block, false, true, n)) co_return s;
    std::string_view got(buf_, n);
    used = reader.feed(got);
    keep_within_budget(reader);
    if (reader.done()) lines_.feed(got.substr(used));
  }
  Step s = engine_.on_data(reader);
  if (std::holds_alternative<next::Deliver>(s.next)) engine_.tx().message = std::move(reader.content());
  co_return s;
}

void Session::keep_within_budget(proto::DataReader& reader) {
  if (reader.dropped() || content_memory_.grow_to(reader.content().size())) return;
  reader.drop();
  content_memory_.release();
  out_of_memory();
}

void Session::out_of_memory() {
  log::warn("event=smtp_memory_full conn={} trace={} client={} budget_used={}", conn_id_, engine_.tx().trace_id,
            stream_.remote_ip(), deps_.memory.used());
  engine_.tx().no_memory = true;
}

net::awaitable<Step> Session::read_chunk(const next::ReadChunk& c) {
  std::string chunk;
  std::uint64_t left = c.size;
  bool keep = c.keep;
  if (keep) chunk.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(c.size, 1 << 20)));
  while (true) {
    std::string pending = lines_.take_pending();
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, pending.size()));
    if (keep && !content_memory_.grow_to(engine_.tx().message.size() + chunk.size() + take)) {
      keep = false;
      std::string().swap(chunk);
      content_memory_.release();
      out_of_memory();
    }
    if (keep) chunk.append(pending, 0, take);
    left -= take;
    if (take < pending.size()) lines_.feed(std::string_view(pending).substr(take));
    if (left == 0) break;
    Step s;
    if (!co_await fill(s, limits().smtp_data_block, false, true)) co_return s;
  }
  co_return engine_.on_chunk(chunk, keep);
}

// A transaction ended here when the content was refused (too big, bare newline) rather
// than handed on for delivery.
bool Session::ended(const Step& s) {
  return !std::holds_alternative<next::Deliver>(s.next) && !std::holds_alternative<next::Close>(s.next);
}

net::awaitable<Step> Session::next_command() {
  std::string line;
  auto st = lines_.next(line);
  if (st == LineSplitter::Status::NeedMore) {
    Step step{"", next::ReadCommand{}};
    if (!co_await fill(step, limits().smtp_greeting_wait, !engine_.in_transaction()) &&
        std::holds_alternative<next::ReadCommand>(step.next))
      step.next = next::Close{};
    co_return step;
  }
  if (st == LineSplitter::Status::TooLong) {
    log::info("event=smtp_line_too_long conn={} client={}", conn_id_, stream_.remote_ip());
    co_return engine_.on_line_too_long();
  }
  if (log::enabled(log::Level::Debug)) log::debug("event=smtp_in conn={} line={}", conn_id_, log::q(masked(line)));
  co_return engine_.on_line(line);
}

net::awaitable<Step> Session::auth_line() {
  std::string line;
  auto st = lines_.next(line);
  if (st == LineSplitter::Status::NeedMore) {
    Step step{"", next::ReadAuthLine{}};
    if (!co_await fill(step, limits().smtp_greeting_wait, false) && std::holds_alternative<next::ReadAuthLine>(step.next))
      step.next = next::Close{};
    co_return step;
  }
  if (st == LineSplitter::Status::TooLong) co_return engine_.on_auth_line_too_long();
  co_return engine_.on_auth_line(line);  // never logged: it is a credential
}

// Parameters by value: they live in the coroutine frame across the suspensions.
net::awaitable<Step> Session::auth_keys(std::string user, auth::SaslMechanism mechanism) {
  auto lookup = [&store = *deps_.store, user, hash = auth::scram_hash_of(mechanism)] {
    return auth::scram_keys_for(store, user, hash);
  };
  auto keys = co_await net::run_blocking(*deps_.workers, std::move(lookup));
  co_return engine_.on_auth_keys(keys);
}

// SCRAM-PLUS can bind to this TLS session from now on.
void Session::tls_established() {
  engine_.set_channel_bindings(auth::ChannelBindings{stream_.tls_exporter(), stream_.tls_server_end_point()});
}

net::awaitable<Step> Session::check_auth(auth::SaslCredentials credentials, std::string mechanism,
                                         auth::sasl::Proof proof) {
  const auto& ip = stream_.remote_ip();
  std::string user = credentials.authcid;
  auth::LoginAttempt attempt{"smtp", conn_id_, ip, user, mechanism};
  auth::LoginGate gate(*deps_.throttle, limits().auth_lockout);
  if (gate.locked_out(attempt))
    co_return engine_.on_auth_checked(Reply(454, "4.7.0", "Too many failed logins, try again later"), "");
  if (!credentials.authzid.empty() && credentials.authzid != credentials.authcid) {
    // Acting for another user (RFC 4616 authzid) is not something valija grants.
    log::info("event=smtp_login_failed conn={} client={} user={} method={} reason=authzid", conn_id_, ip, log::q(user),
              mechanism);
    co_return engine_.on_auth_checked(Reply(535, "5.7.8", "Authentication credentials invalid"), "");
  }
  auto check = [&store = *deps_.store, &verified = *deps_.verified, user, password = std::move(credentials.password),
                proof] {
    return proof == auth::sasl::Proof::None ? auth::check_password(store, verified, user, password)
                                            : auth::check_scram(store, user, proof);
  };
  auto result = co_await net::run_blocking(*deps_.passwords, std::move(check));
  if (result.status != auth::LoginStatus::Ok) {
    auto wait = gate.failed(attempt, result);
    if (wait.count() > 0) {
      if (!co_await flush()) co_return Step{"", next::Close{}};
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer t(executor, wait);
      auto [ec] = co_await t.async_wait(net::use_tuple);
      (void)ec;
    }
    co_return engine_.on_auth_checked(result.status == auth::LoginStatus::BadCredentials
                                          ? Reply(535, "5.7.8", "Authentication credentials invalid")
                                          : Reply(454, "4.7.0", "Temporary authentication failure, try again later"),
                                      "");
  }
  log::info("event=smtp_login conn={} client={} user={} method={} tls={}", conn_id_, ip, log::q(result.details.address()),
            mechanism, stream_.tls() ? log::q(stream_.tls_description()) : "no");
  co_return engine_.on_auth_checked(Reply(235, "2.7.0", "Authentication successful"), result.details.address());
}

net::awaitable<std::optional<Reply>> Session::check_mail() {
  auto& tx = engine_.tx();
  tx.trace_id = clock::random_id(12);
  tx_start_ = Clock::now();
  // RFC 1870 §6.2: a declared size the server cannot take now is a temporary failure.
  if (tx.params.size && *tx.params.size > deps_.memory.available()) {
    log::warn("event=smtp_memory_full conn={} trace={} client={} declared_size={}", conn_id_, tx.trace_id,
              stream_.remote_ip(), *tx.params.size);
    co_return Reply(452, "4.3.1", "Insufficient system storage, try again later");
  }
  SessionInfo session = info();
  try {
    co_return co_await deps_.policy.mail(session, tx);
  } catch (const std::exception& e) {
    log::error("event=smtp_mail_crash conn={} trace={} error={}", conn_id_, tx.trace_id, log::q(e.what()));
    co_return Reply(451, "4.3.0", "Internal error, please try again later");
  }
}

net::awaitable<SmtpPolicy::RcptAnswer> Session::check_rcpt(const next::CheckRcpt& rcpt) {
  SessionInfo session = info();
  SmtpPolicy::RcptAnswer answer;
  try {
    answer = co_await deps_.policy.rcpt(session, engine_.tx(), rcpt.address, rcpt.postmaster);
  } catch (const std::exception& e) {
    log::error("event=smtp_rcpt_crash conn={} trace={} error={}", conn_id_, engine_.tx().trace_id, log::q(e.what()));
    answer = SmtpPolicy::RcptAnswer{Reply(451, "4.3.0", "Internal error, please try again later"), {}};
  }
  log::info("event=smtp_rcpt conn={} trace={} to={} result={}", conn_id_, engine_.tx().trace_id,
            log::q("<" + rcpt.address.str() + ">"), log::q(answer.reply.summary()));
  // Address harvesting: past half the refusal limit, each refusal waits a second.
  if (!answer.reply.positive() && engine_.rcpt_refusals() + 1 >= (limits().rcpt_refusals + 1) / 2) {
    if (!co_await flush()) co_return answer;
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer delay(executor, std::chrono::seconds(1));
    auto [ec] = co_await delay.async_wait(net::use_tuple);
    (void)ec;
  }
  co_return answer;
}

// The policy's connect check (blocklists, reverse DNS, rate), then the greeting or the
// refusal in its place.
net::awaitable<Step> Session::greet() {
  SmtpPolicy::ConnectAnswer answer;
  try {
    answer = co_await deps_.policy.connect(info());
  } catch (const std::exception& e) {
    log::error("event=smtp_connect_crash conn={} error={}", conn_id_, log::q(e.what()));
  }
  client_name_ = std::move(answer.client_name);
  iprev_ = std::move(answer.iprev);
  if (answer.refuse) {
    log::info("event=smtp_refused conn={} client={} reply={}", conn_id_, stream_.remote_ip(), log::q(answer.refuse->summary()));
    co_return engine_.start_refused(*answer.refuse);
  }
  co_return engine_.start(stream_.remote_ip());
}

net::awaitable<Step> Session::deliver() {
  Transaction envelope = envelope_of(engine_.tx());
  auto size = engine_.tx().message.size();
  Reply r;
  SessionInfo session = info();
  try {
    r = co_await deps_.policy.deliver(session, engine_.tx());
  } catch (const std::exception& e) {
    log::error("event=smtp_deliver_crash conn={} trace={} error={}", conn_id_, envelope.trace_id, log::q(e.what()));
    r = Reply(451, "4.3.0", "Internal error, please try again later");
  }
  Step step = engine_.on_delivered(r);
  if (r.positive()) ++messages_;
  log_transaction(envelope, size);
  co_return step;
}

void Session::log_transaction(const Transaction& tx, std::uint64_t size) {
  auto ms = std::chrono::duration<double, std::milli>(Clock::now() - tx_start_).count();
  log::info("event=smtp_tx conn={} trace={} client={} helo={} tls={} from={} rcpts={} size={} result={} ms={:.1f}",
            conn_id_, tx.trace_id, stream_.remote_ip(), log::q(engine_.helo_name()),
            stream_.tls() ? log::q(stream_.tls_description()) : "no", log::q("<" + tx.from.str() + ">"), log::q(rcpt_list(tx)), size,
            log::q(engine_.last_reply()), ms);
}

net::awaitable<void> Session::run() {
  net::SessionStart how{"smtp", config_->service, conn_id_, config_->implicit_tls, deps_.tls,
                        [this](const std::string& reason) {
                          return Reply(421, "4.7.0", config_->engine.hostname + " " + reason + ", try again later").wire();
                        }};
  if (!co_await net::open_session(stream_, deps_.connections, slot_, how)) co_return;
  if (config_->implicit_tls) {
    engine_.set_tls_active();
    tls_established();
  }

  Step step = co_await greet();
  while (true) {
    out_ += step.out;
    Next next = std::move(step.next);
    if (std::holds_alternative<next::ReadCommand>(next)) {
      if (!co_await net::pace_command(*slot_, "smtp", conn_id_, [this] { return flush(); })) break;
      step = co_await next_command();
    } else if (std::holds_alternative<next::CheckMail>(next)) {
      step = engine_.on_mail_checked(co_await check_mail());
    } else if (auto* cr = std::get_if<next::CheckRcpt>(&next)) {
      auto answer = co_await check_rcpt(*cr);
      step = engine_.on_rcpt_checked(answer.reply, std::move(answer.route));
    } else if (std::holds_alternative<next::ReadData>(next)) {
      Transaction envelope = envelope_of(engine_.tx());
      step = co_await read_data();
      if (ended(step)) log_transaction(envelope, engine_.last_size());
    } else if (auto* ch = std::get_if<next::ReadChunk>(&next)) {
      bool last = ch->last;
      Transaction envelope = envelope_of(engine_.tx());
      step = co_await read_chunk(*ch);
      if (last && ended(step)) log_transaction(envelope, engine_.last_size());
    } else if (std::holds_alternative<next::Deliver>(next)) {
      step = co_await deliver();
    } else if (std::holds_alternative<next::ReadAuthLine>(next)) {
      if (!co_await flush()) break;
      step = co_await auth_line();
    } else if (auto* ca = std::get_if<next::CheckAuth>(&next)) {
      if (!deps_.store || !deps_.passwords || !deps_.throttle || !deps_.verified) {
        step = engine_.on_auth_checked(Reply(454, "4.7.0", "Temporary authentication failure"), "");
      } else {
        auth::SaslCredentials credentials = std::move(ca->credentials);
        std::string mechanism = std::move(ca->mechanism);
        auto proof = ca->proof;
        step = co_await check_auth(std::move(credentials), std::move(mechanism), proof);
      }
    } else if (auto* ak = std::get_if<next::AuthKeys>(&next)) {
      std::string user = std::move(ak->user);
      auto mechanism = ak->mechanism;
      if (!deps_.store || !deps_.workers) step = engine_.on_auth_keys(auth::scram_fake(auth::scram_hash_of(mechanism), user));
      else step = co_await auth_keys(std::move(user), mechanism);
    } else if (std::holds_alternative<next::StartTls>(next)) {
      if (!co_await flush()) break;
      lines_.clear();  // RFC 3207 §5: discard anything pipelined before the handshake
      auto st = co_await net::upgrade_to_tls(stream_, *deps_.tls, conn_id_);
      if (st == IoStatus::Ok) tls_established();
      step = engine_.on_tls(st == IoStatus::Ok);
    } else {  // Close
      co_await flush();
      break;
    }
    if (!engine_.in_transaction()) content_memory_.release();
  }
  co_await stream_.shutdown();
  auto secs = std::chrono::duration<double>(Clock::now() - started_).count();
  log::info("event=smtp_disconnect conn={} client={} messages={} seconds={:.1f}", conn_id_, stream_.remote_ip(),
            messages_, secs);
}

}  // namespace

net::awaitable<void> serve_connection(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config,
                                      ConnectionDeps deps) {
  Session s(std::move(socket), std::move(config), deps);
  co_await s.run();
}

}  // namespace valija::smtp::server
