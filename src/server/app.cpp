#include "server/app.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <cstdio>
#include <functional>
#include <future>
#include <latch>
#include <memory>

#include "auth/password.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/thread_name.hpp"
#include "delivery/group_commit.hpp"
#include "dns/resolver.hpp"
#include "queue/runner.hpp"
#include "net/asio.hpp"
#include "net/listener.hpp"
#include "net/tls.hpp"
#include "server/config.hpp"
#include "server/dkim_signer.hpp"
#include "server/mail_checks.hpp"
#include "server/privileges.hpp"
#include "server/smtp_policy.hpp"
#include "imap/server/connection.hpp"
#include "pop3/server/connection.hpp"
#include "smtp/server/connection.hpp"
#include "store/data_dir_lock.hpp"
#include "store/store.hpp"

namespace valija::server {
namespace {

// Names the `n` threads of an idle pool prefix-0, prefix-1...: one task per thread, each
// waiting until all have started, so no thread runs two of them. The tasks share the
// latch: a thread may still be inside arrive_and_wait() when this returns (on the stack,
// it would wait on reused memory and never wake).
void name_pool_threads(asio::thread_pool& pool, std::size_t n, const std::string& prefix) {
  auto started = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(n));
  for (std::size_t i = 0; i < n; ++i)
    asio::post(pool, [started, name = prefix + "-" + std::to_string(i)] {
      name_this_thread(name);
      started->arrive_and_wait();
    });
  started->wait();
}

// Start-up failures carry the exit code: 1 runtime, 2 configuration.
struct StartError {
  int code;
  std::string message;
};

log::Level parse_level(const std::string& s) {
  if (s == "debug") return log::Level::Debug;
  if (s == "warn") return log::Level::Warn;
  if (s == "error") return log::Level::Error;
  return log::Level::Info;
}

// Local mode's first start: a demo account and a postmaster alias in `localhost`.
Result<void> seed_local(store::Store& store) {
  auto accounts = store.list_accounts(std::string_view("localhost"));
  if (!accounts) return tl::unexpected(accounts.error());
  if (!accounts->empty()) return {};
  auto password = clock::random_id(16);
  auto secrets = auth::password_secrets(password);
  if (!secrets) return tl::unexpected(secrets.error());
  auto acc = store.add_account("demo", "localhost", secrets->hash, 0);
  if (!acc) return tl::unexpected(acc.error());
  if (auto r = store.set_scram("demo", "localhost", secrets->scram_sha1, secrets->scram_sha256); !r) return r;
  std::vector<std::string> targets{"demo@localhost"};
  auto al = store.add_alias("postmaster", "localhost", targets);
  if (!al) return al;
  std::fprintf(stderr,
               "valija: created account demo@localhost with password %s (shown once; change it with "
               "'valija user passwd demo@localhost')\n",
               password.c_str());
  return {};
}

Result<void> ensure_domains(store::Store& store, const Config& cfg) {
  for (const auto& d : cfg.domains) {
    auto found = store.find_domain(d);
    if (!found) return tl::unexpected(found.error());
    if (found->has_value()) continue;
    auto added = store.add_domain(d);
    if (!added) return tl::unexpected(added.error());
    log::info("event=domain_added domain={} source={}", d, log::q(cfg.source));
  }
  return {};
}

// The configured certificate, or a self-signed one kept in the data dir.
tl::expected<net::TlsFiles, StartError> tls_files_for(const Config& cfg) {
  net::TlsFiles files{cfg.tls_cert, cfg.tls_key};
  if (!files.cert.empty()) return files;
  auto dir = cfg.data_dir + "/tls";
  ::mkdir(dir.c_str(), 0700);
  files = {dir + "/cert.pem", dir + "/key.pem"};
  auto made = net::ensure_self_signed(files, cfg.hostname);
  if (!made) return tl::unexpected(StartError{1, made.error().detail});
  if (!cfg.local_mode) log::warn("event=tls_self_signed cert={} reason=\"no [tls] in config\"", files.cert);
  return files;
}

// Each connection holds a descriptor; blob writes, SQLite and the listeners need more.
// The soft limit is raised to the hard one; if that still cannot hold connections_total,
// the limit is lowered to what fits, with a warning, rather than failing accept() later.
void fit_descriptor_limit(Limits& limits) {
  constexpr rlim_t kReserve = 256;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= limits.connections_total + kReserve) return;
  auto fits = rl.rlim_cur > 2 * kReserve ? rl.rlim_cur - kReserve : rl.rlim_cur / 2;
  log::warn("event=connections_limited connections_total={} open_files_limit={} reason=\"RLIMIT_NOFILE too low; "
            "raise it (LimitNOFILE= in systemd, ulimit -n) to allow more\"",
            fits, rl.rlim_cur);
  limits.connections_total = static_cast<std::size_t>(fits);
}

// RFC 5321 §4.5.1: every domain must accept mail for postmaster.
void check_postmasters(store::Store& store, const Config& cfg) {
  for (const auto& d : cfg.domains) {
    auto acc = store.find_account("postmaster", d);
    auto alias = store.find_alias("postmaster", d);
    auto catchall = store.find_alias("", d);
    if (!acc || !alias || !catchall) return;
    if (!acc->has_value() && !alias->has_value() && !catchall->has_value())
      log::warn("event=no_postmaster domain={} hint=\"valija alias add postmaster@{} SOMEONE@{}\" reason=\"RFC 5321 "
                "requires postmaster; mail to it is refused until it exists\"",
                d, d, d);
  }
}

// One server per data dir: a second one would sweep the first one's in-flight bodies.
// The lock lives as long as the process (the descriptor is never closed).
tl::expected<void, StartError> lock_data_dir(const std::string& dir) {
  ::mkdir(dir.c_str(), 0750);
  auto lock = store::lock_data_dir(dir);
  if (!lock) {
    if (lock.error().code == Errc::Exists)
      return tl::unexpected(StartError{1, fmt::format("another valija serve is using {} ({})", dir, lock.error().detail)});
    return tl::unexpected(StartError{1, lock.error().detail});
  }
  int fd = *lock;
  auto path = dir + "/valija.lock";
  // Our pid, for `valija queue flush` to signal (SIGUSR1).
  auto pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    log::warn("event=lock_pid_unwritten path={} error={}", path, log::q(std::strerror(errno)));
  return {};
}

tl::expected<std::vector<net::BoundSocket>, StartError> bind_listeners(const Config& cfg) {
  std::vector<net::BoundSocket> sockets;
  for (const auto& spec : cfg.listeners) {
    auto s = net::BoundSocket::open(spec.address, spec.port);
    if (!s) return tl::unexpected(StartError{1, fmt::format("{} listener: {}", role_name(spec.role), s.error().detail)});
    sockets.push_back(std::move(*s));
  }
  return sockets;
}

// Started as root: the user to become (cfg.user), its data dir made its own; none when
// that is "root" or unset (local mode): valija stays root, with a warning. Not root: none.
tl::expected<std::optional<ServiceUser>, StartError> service_user(const Config& cfg) {
  if (::geteuid() != 0) return std::nullopt;
  if (cfg.user.empty() || cfg.user == "root") {
    // root on a data dir another user owns would leave root's files in it (the
    // database's WAL, blobs) that the owner's valija could not open later.
    if (struct stat st {}; ::stat(cfg.data_dir.c_str(), &st) == 0 && st.st_uid != 0)
      return tl::unexpected(StartError{
          2, fmt::format("the data dir {} belongs to uid {}: start valija with --user (or `user` in the "
                         "configuration) naming that user, or run it as that user",
                         cfg.data_dir, st.st_uid)});
    log::warn("event=running_as_root reason={}", cfg.local_mode ? "\"local mode without --user\""
                                                                : "\"user = root in the configuration\"");
    return std::nullopt;
  }
  auto user = find_service_user(cfg.user);
  if (!user) return tl::unexpected(StartError{2, user.error().detail});
  if (auto r = hand_over_data_dir(cfg.data_dir, *user); !r) return tl::unexpected(StartError{2, r.error().detail});
  return *user;
}

// Once the ports are bound: becomes `user`, or gives up any capability valija was
// started with (CAP_NET_BIND_SERVICE from systemd) when it is not root.
tl::expected<void, StartError> give_up_privileges(const std::optional<ServiceUser>& user) {
  if (user) {
    if (auto r = become(*user); !r) return tl::unexpected(StartError{1, r.error().detail});
    log::info("event=privileges_dropped user={} uid={} gid={}", user->name, user->uid, user->gid);
  } else if (::geteuid() != 0) {
    if (auto r = drop_capabilities(); !r) return tl::unexpected(StartError{1, r.error().detail});
  }
  return {};
}

// The SRS key (queue/srs.hpp): made once per data dir, kept beside the data (a new key
// would make every bounce to a rewritten address invalid).
tl::expected<std::string, StartError> srs_secret(const std::string& dir) {
  auto path = dir + "/srs.key";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    auto secret = clock::random_id(32);
    auto tmp = path + ".tmp";
    int w = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = w >= 0 && ::write(w, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) &&
              ::fsync(w) == 0;
    if (w >= 0) ::close(w);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
      return tl::unexpected(StartError{1, fmt::format("cannot write {}: {}", path, std::strerror(errno))});
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return tl::unexpected(StartError{1, fmt::format("cannot read {}: {}", path, std::strerror(errno))});
  char buf[256];
  auto n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n < 16) return tl::unexpected(StartError{1, fmt::format("{} is too short to be a key; remove it to make a new one", path)});
  return std::string(buf, static_cast<std::size_t>(n));
}

smtp::client::TlsPolicy tls_policy(OutboundTls t) {
  switch (t) {
    case OutboundTls::None: return smtp::client::TlsPolicy::None;
    case OutboundTls::Required: return smtp::client::TlsPolicy::Required;
    case OutboundTls::Opportunistic: break;
  }
  return smtp::client::TlsPolicy::Opportunistic;
}

queue::Transport transport(const NextHop& h) {
  return queue::Transport{h.host, h.port, tls_policy(h.tls), h.user, h.password};
}

bool is_smtp_role(Role r) { return r == Role::Smtp || r == Role::Submission || r == Role::Submissions; }
bool is_imap_role(Role r) { return r == Role::Imap || r == Role::Imaps; }

class Server {
 public:
  Server(Config cfg, std::optional<std::string> config_file, std::optional<std::string> data_override,
         std::unique_ptr<store::Store> store, net::TlsFiles tls_files, std::shared_ptr<asio::ssl::context> tls,
         std::optional<std::string> cli_log_level, std::string srs_key)
      : cfg_(std::move(cfg)),
        cli_log_level_(std::move(cli_log_level)),
        config_file_(std::move(config_file)),
        data_override_(std::move(data_override)),
        store_(std::move(store)),
        tls_files_(std::move(tls_files)),
        tls_(std::move(tls)),
        committer_(*store_),
        connections_(cfg_.limits.connections_total, cfg_.limits.connections_per_ip),
        memory_(cfg_.limits.message_memory),
        throttle_(throttle_limits(cfg_.limits)),
        verified_(cfg_.limits.auth_cache_ttl),
        io_(cfg_.io_threads, kImapPoolThreads),
        signals_(io_.main(), SIGTERM, SIGINT, SIGHUP),
        usr1_(io_.main(), SIGUSR1),
        drain_timer_(io_.main()),
        gc_timer_(io_.main()),
        srs_(std::move(srs_key)) {
    connections_.set_command_rate(static_cast<double>(cfg_.limits.commands_per_second));
  }

  // The resolver, the mail checks and the SMTP policies that use them, and the queue
  // runner, on the main I/O context.
  tl::expected<void, StartError> start_queue() {
    dns::ResolverConfig rc;
    rc.servers = cfg_.dns.servers;
    rc.timeout = cfg_.dns.timeout;
    auto resolver = dns::Resolver::create(io_.main(), rc);
    if (!resolver) return tl::unexpected(StartError{1, fmt::format("DNS resolver: {}", resolver.error().detail)});
    resolver_ = std::move(*resolver);
    checks_ = std::make_unique<MailChecks>(
        MailChecks::Deps{*resolver_, *store_, workers_, cfg_.hostname, cfg_.checks, cfg_.smtp.trusted_networks});
    std::string postmaster_domain = cfg_.domains.empty() ? cfg_.hostname : cfg_.domains.front();
    PolicyDeps deps{*store_,
                    workers_,
                    blob_io_,
                    committer_,
                    cfg_.hostname,
                    postmaster_domain,
                    cfg_.limits,
                    &srs_,
                    [this] {
                      if (runner_) runner_->wake();
                    },
                    cfg_.smtp.trusted_networks,
                    checks_.get(),
                    &signer_,
                    cfg_.dkim.sign_forwarded};
    inbound_ = make_inbound_policy(deps);
    submission_ = make_submission_policy(deps);
    auto settings = queue_settings(cfg_);
    if (!settings) return tl::unexpected(settings.error());
    queue::RunnerDeps rd{*store_, workers_, committer_, *resolver_, io_.main(), &srs_, cfg_.limits};
    runner_ = std::make_unique<queue::Runner>(rd, std::move(*settings));
    return {};
  }

  static tl::expected<queue::RunnerSettings, StartError> queue_settings(const Config& c) {
    queue::RunnerSettings s;
    s.hostname = c.hostname;
    s.retry.delays = c.queue.retry;
    s.retry.then_every = c.queue.retry_every;
    s.retry.give_up_after = c.queue.give_up_after;
    s.retry.warn_after = c.queue.warn_after;
    s.connections_total = c.queue.connections;
    s.connections_per_destination = c.queue.connections_per_destination;
    s.messages_per_connection = c.queue.messages_per_connection;
    s.connect_timeout = c.queue.connect_timeout;
    s.port = c.queue.port;
    s.tls = tls_policy(c.queue.tls);
    auto ctx = net::client_tls_context(c.queue.verify, c.queue.ca_file);
    if (!ctx) return tl::unexpected(StartError{2, fmt::format("queue TLS: {}", ctx.error().detail)});
    s.tls_context = *ctx;
    auto verified = net::client_tls_context(true, c.queue.ca_file);
    if (!verified) return tl::unexpected(StartError{2, fmt::format("queue TLS: {}", verified.error().detail)});
    s.tls_verified = *verified;
    if (c.queue.relay) s.relay = transport(*c.queue.relay);
    for (const auto& [domain, hop] : c.queue.transports) s.transports[domain] = transport(hop);
    return s;
  }

  // Serves the sockets bound for cfg_.listeners, in their order (bind_listeners).
  void serve_on(std::vector<net::BoundSocket> sockets) {
    for (std::size_t i = 0; i < sockets.size(); ++i) {
      const ListenerSpec& spec = cfg_.listeners[i];
      auto l = net::Listener::adopt(io_.main(), std::move(sockets[i]));
      // Each connection takes the listener's config as it is at accept time (SIGHUP
      // replaces it through `refresh`).
      std::function<void()> refresh;
      if (is_smtp_role(spec.role)) {
        auto slot = std::make_shared<std::shared_ptr<const smtp::server::ListenerConfig>>(listener_config(spec));
        smtp::server::SmtpPolicy& policy = spec.role == Role::Smtp ? *inbound_ : *submission_;
        smtp::server::ConnectionDeps deps{policy,    connections_, &tls_,      memory_, store_.get(),
                                          &passwords_, &workers_,  &throttle_, &verified_};
        l->start([slot, deps](net::tcp::socket s) { return smtp::server::serve_connection(std::move(s), *slot, deps); },
                    io_);
        refresh = [this, slot, spec] { *slot = listener_config(spec); };
      } else if (is_imap_role(spec.role)) {
        auto slot = std::make_shared<std::shared_ptr<const imap::server::ListenerConfig>>(imap_config(spec));
        imap::server::ConnectionDeps deps{*store_,
                                          passwords_,
                                          connections_,
                                          &tls_,
                                          throttle_,
                                          verified_,
                                          memory_,
                                          watchers_,
                                          [this](store::Delivery d) { return append(std::move(d)); },
                                          [this](const std::function<void()>& w) { return write_in_batch(w); }};
        l->start([slot, deps](net::tcp::socket s) { return imap::server::serve_connection(std::move(s), *slot, deps); },
                    io_, /*on_pool=*/true);
        refresh = [this, slot, spec] { *slot = imap_config(spec); };
      } else {
        auto slot = std::make_shared<std::shared_ptr<const pop3::server::ListenerConfig>>(pop3_config(spec));
        auto in_writer = [this](std::function<void()> f) { committer_.run_in_writer(std::move(f)); };
        pop3::server::ConnectionDeps deps{*store_, workers_,          passwords_,      connections_,
                                          &tls_,   throttle_,         verified_,       maildrop_locks_,
                                          memory_, std::move(in_writer)};
        l->start([slot, deps](net::tcp::socket s) { return pop3::server::serve_connection(std::move(s), *slot, deps); },
                    io_);
        refresh = [this, slot, spec] { *slot = pop3_config(spec); };
      }
      ready_ += fmt::format(" {}={}:{}", role_name(spec.role), spec.address, l->port());
      listeners_.push_back(Bound{spec, std::move(l), std::move(refresh)});
    }
  }

  int run() {
    name_pool_threads(workers_, kWorkers, "worker");
    name_pool_threads(passwords_, kPasswordWorkers, "argon2");
    name_pool_threads(blob_io_, kBlobIoThreads, "blob-io");
    // Changes committed by any thread wake the IMAP sessions of that account (IDLE, the
    // next command's updates), each on the I/O thread where it lives.
    store_->set_change_listener([this](store::AccountId a, store::MailboxId m) { watchers_.notify(a, m); });
    collect_garbage();
    runner_->start();
    wait_signal();
    wait_usr1();
    io_.start();
    log::info("event=ready hostname={} data={} mode={} io_threads={}{}", cfg_.hostname, log::q(cfg_.data_dir),
              cfg_.local_mode ? "local" : "config", io_.size(), ready_);
    io_.run();
    store_->set_change_listener(nullptr);
    committer_.stop();
    workers_.join();
    passwords_.join();
    blob_io_.join();
    log::info("event=stopped");
    return 0;
  }

 private:
  // Blobs whose last reference went away (account removal, later expunges) are deleted
  // by the writer; files a crash left behind are swept on a worker, beside deliveries.
  // At start, then hourly.
  void collect_garbage() {
    committer_.run_in_writer([this] {
      auto n = store_->collect_garbage();
      if (!n) log::warn("event=blob_gc error={}", log::q(n.error().detail));
      else if (*n) log::info("event=blob_gc removed={}", *n);
    });
    auto sweep = [this] {
      auto o = store_->sweep_orphans();
      if (!o) log::warn("event=blob_sweep error={}", log::q(o.error().detail));
      else if (*o) log::info("event=blob_sweep removed={}", *o);
    };
    asio::post(blob_io_, std::move(sweep));  // not the workers: SMTP lookups run there
    gc_timer_.expires_after(std::chrono::hours(1));
    gc_timer_.async_wait([this](const std::error_code& ec) {
      if (!ec && !stopping_) collect_garbage();
    });
  }

  struct Bound {
    ListenerSpec spec;
    std::unique_ptr<net::Listener> listener;
    std::function<void()> refresh;  // takes the current config for new connections
  };

  std::shared_ptr<const imap::server::ListenerConfig> imap_config(const ListenerSpec& spec) const {
    auto ic = std::make_shared<imap::server::ListenerConfig>();
    ic->service = std::string(role_name(spec.role));
    ic->implicit_tls = spec.role == Role::Imaps;
    ic->hostname = cfg_.hostname;
    ic->cleartext_always = cfg_.imap.cleartext == Cleartext::Always;
    ic->cleartext_loopback = cfg_.imap.cleartext == Cleartext::Loopback;
    ic->idle_timeout = cfg_.imap.idle_timeout;
    ic->login_timeout = cfg_.imap.login_timeout;
    ic->idle_keepalive = cfg_.imap.idle_keepalive;
    ic->limits = cfg_.limits;
    return ic;
  }

  // IMAP APPEND: through group commit like a delivery (one fsync shared with concurrent
  // ones); a large body is written first, in parallel, as SMTP does. Runs on an IMAP
  // worker and waits there.
  store::CopyResult append(store::Delivery d) {
    if (d.body.size() > store::kPackedBodyMax) {
      auto id = store_->put_blob(d.body);
      if (!id) return tl::unexpected(id.error());
      d.blob_id = *id;
    }
    auto body = std::make_shared<const std::string>(d.body);
    d.body = *body;
    auto done = std::make_shared<std::promise<Result<std::vector<store::CopyResult>>>>();
    auto future = done->get_future();
    delivery::Job job{body, std::move(d), [done](Result<std::vector<store::CopyResult>> r) { done->set_value(std::move(r)); }};
    committer_.submit(std::move(job));
    auto r = future.get();
    if (!r) return tl::unexpected(r.error());
    if (r->empty()) return fail(Errc::Internal, "no result for the copy");
    return std::move((*r)[0]);
  }

  // An IMAP store write in the writer's next batch (shared commit); waits for it.
  Result<void> write_in_batch(const std::function<void()>& w) {
    std::promise<Result<void>> done;
    auto future = done.get_future();
    committer_.submit_write(delivery::WriteJob{w, [&done](Result<void> r) { done.set_value(std::move(r)); }});
    return future.get();
  }

  std::shared_ptr<const pop3::server::ListenerConfig> pop3_config(const ListenerSpec& spec) const {
    auto pc = std::make_shared<pop3::server::ListenerConfig>();
    pc->service = std::string(role_name(spec.role));
    pc->implicit_tls = spec.role == Role::Pop3s;
    pc->hostname = cfg_.hostname;
    pc->cleartext_always = cfg_.pop3.cleartext == Cleartext::Always;
    pc->cleartext_loopback = cfg_.pop3.cleartext == Cleartext::Loopback;
    pc->idle_timeout = cfg_.pop3.idle_timeout;
    pc->login_timeout = cfg_.pop3.login_timeout;
    pc->login_delay = cfg_.pop3.login_delay;
    pc->expire_never = cfg_.pop3.expire_never;
    pc->apop = cfg_.pop3.apop;
    pc->limits = cfg_.limits;
    return pc;
  }

  static auth::ThrottleLimits throttle_limits(const Limits& l) {
    auth::ThrottleLimits t;
    t.failures = l.auth_failures;
    t.account_failures = l.auth_account_failures;
    t.window = l.auth_window;
    t.lockout = l.auth_lockout;
    return t;
  }

  std::shared_ptr<const smtp::server::ListenerConfig> listener_config(const ListenerSpec& spec) const {
    auto lc = std::make_shared<smtp::server::ListenerConfig>();
    lc->service = std::string(role_name(spec.role));
    lc->implicit_tls = spec.role == Role::Submissions;
    lc->engine.hostname = cfg_.hostname;
    lc->engine.limits = cfg_.limits;
    lc->engine.requiretls = true;  // the queue keeps the promise: verified TLS to the next hop, or no delivery
    lc->engine.auth = spec.role != Role::Smtp;
    lc->engine.auth_cleartext = cfg_.submission.cleartext == Cleartext::Always;
    lc->auth_cleartext_loopback = cfg_.submission.cleartext == Cleartext::Loopback;
    return lc;
  }

  // SIGUSR1 (valija queue flush/retry): read the queue now.
  void wait_usr1() {
    usr1_.async_wait([this](const std::error_code& ec, int) {
      if (ec) return;
      log::info("event=queue_flush source=signal");
      runner_->wake();
      wait_usr1();
    });
  }

  void wait_signal() {
    signals_.async_wait([this](const std::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal();
      } else if (stopping_) {  // a second SIGTERM/SIGINT: stop now
        io_.stop();
      } else {
        begin_drain(sig);
        wait_signal();
      }
    });
  }

  // SIGHUP: what is safe to change without dropping anyone. Certificates and DKIM signing
  // keys (read again from the store: `valija dkim activate` takes effect now rather than
  // within 30 s); and from the config file: log level, SMTP limits for new connections,
  // new domains. Listener and hostname changes need a restart (logged).
  void reload() {
    signer_.forget();
    log::info("event=reload dkim=ok note=\"signing keys are read again from the store\"");
    net::TlsFiles files = tls_files_;
    if (config_file_) {
      auto c = load_config(*config_file_);
      if (!c) {
        log::error("event=reload config=failed error={} (keeping the running configuration)", log::q(c.error().detail));
      } else {
        if (data_override_) c->data_dir = *data_override_;
        if (cli_log_level_) c->log_level = *cli_log_level_;  // the command line wins, as at start
        apply(*c);
        if (!c->tls_cert.empty()) files = {c->tls_cert, c->tls_key};
      }
    }
    auto fresh = net::TlsContexts::load(files);
    if (fresh) {
      tls_.replace(std::move(*fresh));
      tls_files_ = files;
      log::info("event=reload tls=ok cert={}", files.cert);
    } else {
      log::error("event=reload tls=failed error={} (keeping the previous certificate)", log::q(fresh.error().detail));
    }
  }

  void apply(const Config& c) {
    log::init(parse_level(c.log_level));
    bool same_listeners = c.listeners.size() == cfg_.listeners.size();
    for (std::size_t i = 0; same_listeners && i < c.listeners.size(); ++i)
      same_listeners = c.listeners[i].address == cfg_.listeners[i].address &&
                       c.listeners[i].port == cfg_.listeners[i].port && c.listeners[i].role == cfg_.listeners[i].role;
    if (!same_listeners || c.hostname != cfg_.hostname || c.data_dir != cfg_.data_dir)
      log::warn("event=reload note=\"listener, hostname and data_dir changes take effect after a restart\"");
    const Limits& o = cfg_.limits;
    const Limits& n = c.limits;
    if (n.alias_depth != o.alias_depth || n.alias_fanout != o.alias_fanout || n.hop_count != o.hop_count)
      log::warn("event=reload note=\"alias_depth, alias_fanout and hop_count take effect after a restart\"");
    Limits kept = c.limits;
    kept.alias_depth = o.alias_depth;
    kept.alias_fanout = o.alias_fanout;
    kept.hop_count = o.hop_count;
    fit_descriptor_limit(kept);
    cfg_.limits = kept;
    cfg_.log_level = c.log_level;
    connections_.set_limits(kept.connections_total, kept.connections_per_ip);
    connections_.set_command_rate(static_cast<double>(kept.commands_per_second));
    memory_.set_limit(kept.message_memory);
    // Store work belongs to the writer, not to the I/O thread serving connections.
    committer_.run_in_writer([this, c] {
      auto r = ensure_domains(*store_, c);
      if (!r) {
        log::error("event=reload domains=failed error={}", log::q(r.error().detail));
        return;
      }
      check_postmasters(*store_, c);
      log::info("event=reload domains=ok");
    });
    throttle_.set_limits(throttle_limits(kept));
    verified_.set_ttl(kept.auth_cache_ttl);
    cfg_.pop3 = c.pop3;
    cfg_.imap = c.imap;
    cfg_.submission = c.submission;
    if (auto qs = queue_settings(c)) {
      cfg_.queue = c.queue;
      runner_->set_settings(std::move(*qs));
    } else {
      log::error("event=reload queue=failed error={}", log::q(qs.error().message));
    }
    if (c.dns.servers != cfg_.dns.servers || c.dns.timeout != cfg_.dns.timeout ||
        c.smtp.trusted_networks != cfg_.smtp.trusted_networks)
      log::warn("event=reload note=\"[dns] and [smtp] changes take effect after a restart\"");
    for (auto& b : listeners_) b.refresh();
    log::info("event=reload config=ok file={}", log::q(*config_file_));
  }

  // SIGTERM/SIGINT: stop accepting, wake idle connections with 421, let busy ones finish
  // their current command; exit when all are gone, or after 30 s.
  void begin_drain(int sig) {
    stopping_ = true;
    gc_timer_.cancel();
    log::info("event=shutdown signal={} connections={}", sig, connections_.size());
    for (auto& b : listeners_) b.listener->close();
    runner_->stop();
    connections_.stop_all();
    drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    poll_drained();
  }

  void poll_drained() {
    if (connections_.size() == 0 || std::chrono::steady_clock::now() > drain_deadline_) {
      signals_.cancel();
      usr1_.cancel();
      io_.stop();
      return;
    }
    drain_timer_.expires_after(std::chrono::milliseconds(20));
    drain_timer_.async_wait([this](const std::error_code&) { poll_drained(); });
  }

  Config cfg_;
  std::optional<std::string> cli_log_level_;
  std::optional<std::string> config_file_, data_override_;
  std::unique_ptr<store::Store> store_;
  net::TlsFiles tls_files_;
  net::TlsContexts tls_;
  static constexpr std::size_t kWorkers = 2, kPasswordWorkers = 2, kBlobIoThreads = 8;
  asio::thread_pool workers_{kWorkers};
  // Password verification (Argon2id) only, apart from the lookups above.
  asio::thread_pool passwords_{kPasswordWorkers};
  // fsync waits on the disk, not the CPU: several in flight let the filesystem merge
  // them into one journal commit.
  asio::thread_pool blob_io_{kBlobIoThreads};
  delivery::GroupCommitter committer_;
  net::Connections connections_;
  MemoryBudget memory_;
  auth::Throttle throttle_;
  auth::VerifiedCache verified_;
  pop3::server::MaildropLocks maildrop_locks_;
  imap::server::Watchers watchers_;
  std::unique_ptr<smtp::server::SmtpPolicy> inbound_, submission_;
  // Destroyed before everything above: ~io_context destroys suspended connection
  // coroutines, which still use the connection registry, policies and store.
  // IMAP connections run on io_'s pool and call the store inline. A write holds its
  // thread until the batch is durable: with 8 threads, 50 busy clients had reads queued
  // behind waiting writes (bench/imap_load long-session: 32 gave +22% commands/s).
  static constexpr std::size_t kImapPoolThreads = 32;
  net::IoThreads io_;
  std::vector<Bound> listeners_;
  std::string ready_;
  asio::signal_set signals_;
  asio::signal_set usr1_;
  asio::steady_timer drain_timer_;
  asio::steady_timer gc_timer_;
  std::chrono::steady_clock::time_point drain_deadline_;
  bool stopping_ = false;
  queue::Srs srs_;
  DkimSigner signer_{*store_};
  // After io_: destroyed before it (the resolver's descriptor and the runner's timer
  // belong to its main context).
  std::unique_ptr<dns::Resolver> resolver_;
  std::unique_ptr<MailChecks> checks_;  // uses the resolver
  std::unique_ptr<queue::Runner> runner_;
};

tl::expected<std::unique_ptr<Server>, StartError> start(const ServeOptions& opt) {
  // TLS writes go through OpenSSL's write() on the socket: a peer that has gone must be
  // an EPIPE for that connection, not a signal that ends the process.
  std::signal(SIGPIPE, SIG_IGN);
  Config cfg;
  if (opt.config_file) {
    auto c = load_config(*opt.config_file);
    if (!c) return tl::unexpected(StartError{2, c.error().detail});
    cfg = std::move(*c);
    if (opt.data_dir) cfg.data_dir = *opt.data_dir;
  } else {
    cfg = local_config(opt.data_dir.value_or("valija-data"), opt.port_base);
  }
  if (opt.log_level) cfg.log_level = *opt.log_level;
  if (opt.user) cfg.user = *opt.user;
  log::init(parse_level(cfg.log_level));
  fit_descriptor_limit(cfg.limits);
  // Ports first, while valija may be root; then root (or any capability) is given up
  // before the data is opened or a thread started.
  auto user = service_user(cfg);
  if (!user) return tl::unexpected(user.error());
  auto sockets = bind_listeners(cfg);
  if (!sockets) return tl::unexpected(sockets.error());
  if (auto r = give_up_privileges(*user); !r) return tl::unexpected(r.error());

  auto lock = lock_data_dir(cfg.data_dir);
  if (!lock) {
    if (*user)
      lock.error().message += fmt::format(" (as user {}: every directory above the data dir must let it through)", cfg.user);
    return tl::unexpected(lock.error());
  }
  auto store = store::open_sqlite({cfg.data_dir, true, true});
  if (!store) return tl::unexpected(StartError{1, store.error().detail});
  if (auto r = ensure_domains(**store, cfg); !r) return tl::unexpected(StartError{1, r.error().detail});
  if (cfg.local_mode) {
    if (auto r = seed_local(**store); !r) return tl::unexpected(StartError{1, r.error().detail});
  }
  check_postmasters(**store, cfg);
  auto files = tls_files_for(cfg);
  if (!files) return tl::unexpected(files.error());
  auto ctx = net::TlsContexts::load(*files);
  if (!ctx) return tl::unexpected(StartError{2, ctx.error().detail});
  // io_context and friends are members: build the server only once inputs are valid.
  std::optional<std::string> data_override = opt.data_dir;
  auto srs = srs_secret(cfg.data_dir);
  if (!srs) return tl::unexpected(srs.error());
  auto server = std::make_unique<Server>(std::move(cfg), opt.config_file, data_override, std::move(*store),
                                         std::move(*files), std::move(*ctx), opt.log_level, std::move(*srs));
  auto queue = server->start_queue();
  if (!queue) return tl::unexpected(queue.error());
  server->serve_on(std::move(*sockets));
  return server;
}

}  // namespace

int serve(const ServeOptions& options) {
  auto server = start(options);
  if (!server) {
    std::fprintf(stderr, "valija: error: %s\n", server.error().message.c_str());
    return server.error().code;
  }
  return (*server)->run();
}

}  // namespace valija::server
