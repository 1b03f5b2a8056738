#include "server/app.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "auth/password.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"
#include "delivery/group_commit.hpp"
#include "net/asio.hpp"
#include "net/listener.hpp"
#include "net/tls.hpp"
#include "server/config.hpp"
#include "server/smtp_policy.hpp"
#include "smtp/server/connection.hpp"
#include "store/store.hpp"

namespace valija::server {
namespace {

log::Level parse_level(const std::string& s) {
  if (s == "debug") return log::Level::Debug;
  if (s == "warn") return log::Level::Warn;
  if (s == "error") return log::Level::Error;
  return log::Level::Info;
}

// Local mode's first start: domain localhost, a demo account and a postmaster alias.
Result<void> seed_local(store::Store& store) {
  auto accounts = store.list_accounts(std::string_view("localhost"));
  if (!accounts) return tl::unexpected(accounts.error());
  if (!accounts->empty()) return {};
  auto password = clock::random_id(16);
  auto hash = auth::hash_password(password);
  if (!hash) return tl::unexpected(hash.error());
  auto acc = store.add_account("demo", "localhost", *hash, 0);
  if (!acc) return tl::unexpected(acc.error());
  std::vector<std::string> targets{"demo@localhost"};
  auto al = store.add_alias("postmaster", "localhost", targets);
  if (!al) return al;
  std::fprintf(stderr,
               "valija: created account demo@localhost with password %s (shown once; change it with "
               "'valija user passwd demo@localhost')\n",
               password.c_str());
  return {};
}

}  // namespace

int serve(const ServeOptions& opt) {
  Config cfg;
  if (opt.config_file) {
    auto c = load_config(*opt.config_file);
    if (!c) {
      std::fprintf(stderr, "valija: error: %s\n", c.error().detail.c_str());
      return 2;
    }
    cfg = std::move(*c);
    if (opt.data_dir) cfg.data_dir = *opt.data_dir;
  } else {
    cfg = local_config(opt.data_dir.value_or("valija-data"), opt.port_base);
  }
  if (opt.log_level) cfg.log_level = *opt.log_level;
  log::init(parse_level(cfg.log_level));

  auto store = store::open_sqlite({cfg.data_dir, true});
  if (!store) {
    std::fprintf(stderr, "valija: error: %s\n", store.error().detail.c_str());
    return 1;
  }
  for (const auto& d : cfg.domains) {
    auto found = (*store)->find_domain(d);
    if (found && !found->has_value()) {
      auto added = (*store)->add_domain(d);
      if (!added) {
        std::fprintf(stderr, "valija: error: %s\n", added.error().detail.c_str());
        return 1;
      }
      log::info("event=domain_added domain={} source={}", d, log::q(cfg.source));
    }
  }
  if (cfg.local_mode) {
    auto seeded = seed_local(**store);
    if (!seeded) {
      std::fprintf(stderr, "valija: error: %s\n", seeded.error().detail.c_str());
      return 1;
    }
  }

  // TLS: the configured certificate, or a self-signed one kept in the data dir.
  net::TlsFiles tls_files{cfg.tls_cert, cfg.tls_key};
  if (tls_files.cert.empty()) {
    auto dir = cfg.data_dir + "/tls";
    ::mkdir(dir.c_str(), 0700);
    tls_files = {dir + "/cert.pem", dir + "/key.pem"};
    auto made = net::ensure_self_signed(tls_files, cfg.hostname);
    if (!made) {
      std::fprintf(stderr, "valija: error: %s\n", made.error().detail.c_str());
      return 1;
    }
    if (!cfg.local_mode) log::warn("event=tls_self_signed cert={} reason=\"no [tls] in config\"", tls_files.cert);
  }
  auto ctx = net::TlsContexts::load(tls_files);
  if (!ctx) {
    std::fprintf(stderr, "valija: error: %s\n", ctx.error().detail.c_str());
    return 2;
  }
  net::TlsContexts tls(std::move(*ctx));

  asio::io_context io(1);
  asio::thread_pool workers(2);
  // fsync waits on the disk, not the CPU: several in flight let the filesystem merge
  // them into one journal commit.
  asio::thread_pool blob_io(8);
  delivery::GroupCommitter committer(**store);
  net::Connections connections(cfg.limits.connections_total, cfg.limits.connections_per_ip);

  std::string postmaster_domain = cfg.domains.empty() ? cfg.hostname : cfg.domains.front();
  PolicyDeps deps{**store, workers, blob_io, committer, cfg.hostname, postmaster_domain, cfg.limits};
  auto inbound = make_inbound_policy(deps);
  auto submission = make_submission_policy(deps);

  std::vector<std::unique_ptr<net::Listener>> listeners;
  std::string ready;
  for (const auto& spec : cfg.listeners) {
    if (spec.role != Role::Smtp && spec.role != Role::Submission && spec.role != Role::Submissions) {
      log::warn("event=listener_skipped role={} port={} reason=\"{} is not implemented in this version\"",
                role_name(spec.role), spec.port, role_name(spec.role));
      continue;
    }
    auto l = net::Listener::bind(io, spec.address, spec.port);
    if (!l) {
      std::fprintf(stderr, "valija: error: %s listener: %s\n", std::string(role_name(spec.role)).c_str(),
                   l.error().detail.c_str());
      return 1;
    }
    auto lc = std::make_shared<smtp::server::ListenerConfig>();
    lc->service = std::string(role_name(spec.role));
    lc->implicit_tls = spec.role == Role::Submissions;
    lc->engine.hostname = cfg.hostname;
    lc->engine.limits = cfg.limits;
    smtp::server::SmtpPolicy& policy = spec.role == Role::Smtp ? *inbound : *submission;
    smtp::server::ConnectionDeps cd{policy, connections, &tls};
    (*l)->start([lc, cd](net::tcp::socket s) { return smtp::server::serve_connection(std::move(s), lc, cd); });
    ready += fmt::format(" {}={}:{}", role_name(spec.role), spec.address, (*l)->port());
    listeners.push_back(std::move(*l));
  }

  // Blobs whose last reference went away (account removal) are deleted by the writer.
  committer.run_in_writer([&store] {
    auto n = (*store)->collect_garbage();
    if (n && *n) log::info("event=blob_gc removed={}", *n);
  });

  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  asio::steady_timer drain_timer(io);
  std::function<void()> wait_signal;
  std::function<void()> poll_drained;
  std::chrono::steady_clock::time_point drain_deadline;
  bool stopping = false;
  // After SIGTERM: poll until every connection has finished its current command, at most 30 s.
  poll_drained = [&] {
    if (connections.size() == 0 || std::chrono::steady_clock::now() > drain_deadline) {
      signals.cancel();
      io.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](const std::error_code&) { poll_drained(); });
  };
  wait_signal = [&] {
    signals.async_wait([&](const std::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        auto fresh = net::TlsContexts::load(tls_files);
        if (fresh) {
          tls.replace(std::move(*fresh));
          log::info("event=reload tls=ok cert={}", tls_files.cert);
        } else {
          log::error("event=reload tls=failed error={} (keeping the previous certificate)", log::q(fresh.error().detail));
        }
        wait_signal();
        return;
      }
      if (stopping) {  // second signal: stop now
        io.stop();
        return;
      }
      stopping = true;
      log::info("event=shutdown signal={} connections={}", sig, connections.size());
      for (auto& l : listeners) l->close();
      connections.stop_all();
      drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      poll_drained();
      wait_signal();
    });
  };
  wait_signal();

  log::info("event=ready hostname={} data={} mode={}{}", cfg.hostname, log::q(cfg.data_dir),
            cfg.local_mode ? "local" : "config", ready);
  io.run();
  committer.stop();
  workers.join();
  blob_io.join();
  log::info("event=stopped");
  return 0;
}

}  // namespace valija::server
