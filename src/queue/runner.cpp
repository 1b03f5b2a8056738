#include "queue/runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "delivery/router.hpp"
#include "delivery/trace_headers.hpp"
#include "dns/mx.hpp"
#include "net/blocking.hpp"
#include "queue/dsn.hpp"
#include "queue/reports.hpp"
#include "smtp/outbound/deliver.hpp"
#include "smtp/proto/command.hpp"

namespace valija::queue {
namespace {

using smtp::client::Verdict;
using smtp::proto::Reply;

// What is known of one recipient of a job so far.
struct Outcome {
  bool decided = false;  // Delivered or Permanent: no other exchanger is tried
  Verdict verdict = Verdict::Temporary;
  Reply reply;
  std::string remote;      // "mx.example.net[192.0.2.1]"
  bool remote_dsn = false; // the server that took it offered DSN (it reports from now on)
  bool tried = false;
};

// One queue entry's recipients bound for one destination.
struct Job {
  store::QueueEntry entry;  // message.rcpts: only this destination's, undecided when taken
  std::vector<Outcome> outcomes;
  std::shared_ptr<const std::string> data;  // prefix + body, once read
  std::string load_error;
};

struct Destination {
  std::deque<std::shared_ptr<Job>> jobs;
  std::size_t active = 0;
};

struct Route {
  std::vector<smtp::outbound::Target> targets;
  std::optional<Reply> failure;  // no targets: why (4xx: later; 5xx: bounce)
};

std::string remote_name(const smtp::outbound::Target& t) { return fmt::format("{}[{}]", t.host, t.ip); }

bool is_ip_literal(const std::string& s) {
  std::error_code ec;
  (void)asio::ip::make_address(s, ec);
  return !ec;
}


}  // namespace

struct Runner::State : std::enable_shared_from_this<Runner::State> {
  State(RunnerDeps d, RunnerSettings s)
      : deps(std::move(d)), settings(std::move(s)), timer(deps.io), router(deps.store, deps.limits),
        rng(std::random_device{}()) {}

  RunnerDeps deps;
  RunnerSettings settings;
  asio::steady_timer timer;
  delivery::Router router;
  std::mt19937_64 rng;
  std::map<std::string, Destination> dests;
  std::unordered_set<std::int64_t> in_flight;  // recipient ids taken and not yet recorded
  // A scan reads the queue on a worker while attempts finish here: a recipient recorded
  // after the scan's read began may still look due in what it read. Each scan has a
  // number; a recipient recorded while scan_seq was S is skipped by scans numbered up
  // to S (stale), and forgotten once a later scan has run.
  std::uint64_t scan_seq = 0;
  std::unordered_map<std::int64_t, std::uint64_t> recorded;
  // Recipients whose outcome could not be recorded (the store failed: a full disk): left
  // alone for a while, so a store that keeps failing does not turn into a resend loop.
  std::unordered_map<std::int64_t, std::chrono::steady_clock::time_point> held;
  std::size_t active = 0;
  bool rescan = false;
  bool stopping = false;
  // The earliest retry time set since the last scan: the loop wakes for it rather than
  // waiting the whole scan interval.
  std::int64_t soonest = INT64_MAX;

  // ---------------- scanning ----------------

  net::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping) {
      rescan = false;
      co_await scan();
      if (rescan || stopping) continue;
      auto wait = settings.scan_interval;
      if (soonest != INT64_MAX)
        wait = std::min(wait, std::chrono::seconds(std::max<std::int64_t>(0, soonest - clock::now_unix())));
      timer.expires_after(wait);
      (void)co_await timer.async_wait(net::use_tuple);  // cancelled by wake(): scan now
    }
  }

  std::string key_of(const std::string& domain) const {
    if (settings.transports.count(domain)) return "transport:" + domain;
    if (settings.relay) return "relay";
    return "mx:" + domain;
  }

  net::awaitable<void> scan() {
    auto now = clock::now_unix();
    if (soonest <= now) soonest = INT64_MAX;  // due now: this scan takes them
    auto seq = ++scan_seq;
    auto read = [this, now] { return deps.store.queue_due(now, 1000); };
    auto due = co_await net::run_blocking(deps.workers, std::move(read));
    if (!due) {
      log::error("event=queue_scan_failed error={}", log::q(due.error().detail));
      co_return;
    }
    for (auto& entry : *due) {
      std::map<std::string, std::shared_ptr<Job>> by_key;
      for (auto& r : entry.message.rcpts) {
        if (in_flight.count(r.id)) continue;
        if (auto it = recorded.find(r.id); it != recorded.end() && it->second >= seq) continue;  // stale read
        if (auto it = held.find(r.id); it != held.end() && it->second > std::chrono::steady_clock::now()) continue;
        auto key = key_of(r.domain);
        auto& job = by_key[key];
        if (!job) {
          job = std::make_shared<Job>();
          job->entry = entry;
          job->entry.message.rcpts.clear();
        }
        job->entry.message.rcpts.push_back(r);
        job->outcomes.emplace_back();
        in_flight.insert(r.id);
      }
      for (auto& [key, job] : by_key) dests[key].jobs.push_back(std::move(job));
    }
    std::erase_if(recorded, [seq](const auto& kv) { return kv.second < seq; });
    std::erase_if(held, [](const auto& kv) { return kv.second <= std::chrono::steady_clock::now(); });
    dispatch();
  }

  void dispatch() {
    if (stopping) return;
    for (auto& [key, d] : dests) {
      while (!d.jobs.empty() && d.active < settings.connections_per_destination && d.active < d.jobs.size() &&
             active < settings.connections_total) {
        ++d.active;
        ++active;
        asio::co_spawn(deps.io, run_destination(key), asio::detached);
      }
    }
    std::erase_if(dests, [](const auto& kv) { return kv.second.jobs.empty() && kv.second.active == 0; });
  }

  // ---------------- routes ----------------

  net::awaitable<void> add_addresses(Route& r, const std::string& host, std::uint16_t port, bool& temporary,
                                     std::string& why) {
    if (is_ip_literal(host)) {
      r.targets.push_back({host, host, port});
      co_return;
    }
    auto a = co_await deps.resolver.addresses(host);
    if (a.outcome == dns::Outcome::Answer) {
      for (auto& ip : a.addresses) r.targets.push_back({host, ip, port});
    } else {
      temporary |= a.outcome == dns::Outcome::Temporary;
      why = fmt::format("{}: {}", host, a.detail);
    }
  }

  net::awaitable<Route> route(std::string key, std::string domain) {
    Route r;
    bool temporary = false;
    std::string why;
    const Transport* fixed = nullptr;
    if (key == "relay") fixed = &*settings.relay;
    else if (auto it = settings.transports.find(domain); it != settings.transports.end() && key.starts_with("transport:"))
      fixed = &it->second;
    if (fixed) {
      std::string host = fixed->host;
      co_await add_addresses(r, host, fixed->port, temporary, why);
      if (r.targets.empty()) r.failure = Reply(451, "4.4.3", fmt::format("cannot find the address of {}", why));
      co_return r;
    }
    auto answer = co_await deps.resolver.mx(domain);
    auto plan = dns::plan_mx(domain, answer, rng);
    switch (plan.kind) {
      case dns::MxPlan::Kind::TryLater:
        r.failure = Reply(451, "4.4.3", fmt::format("MX lookup of {} failed: {}", domain, plan.detail));
        co_return r;
      case dns::MxPlan::Kind::NoDomain:
        r.failure = Reply(550, "5.1.2", fmt::format("Domain {} does not exist (NXDOMAIN)", domain));
        co_return r;
      case dns::MxPlan::Kind::NullMx:
        r.failure = Reply(556, "5.1.10", fmt::format("Domain {} accepts no mail (null MX, RFC 7505)", domain));
        co_return r;
      case dns::MxPlan::Kind::Hosts: break;
    }
    for (const auto& h : plan.hosts) {
      std::string host = h.exchange;
      co_await add_addresses(r, host, settings.port, temporary, why);
    }
    if (r.targets.empty())
      r.failure = temporary ? Reply(451, "4.4.3", fmt::format("address lookup failed ({})", why))
                            : Reply(550, "5.4.4", fmt::format("no mail exchanger of {} has an address ({})", domain, why));
    co_return r;
  }

  // ---------------- sending ----------------

  smtp::outbound::Settings connection_settings(const std::string& key, const std::string& domain, bool requiretls) const {
    smtp::outbound::Settings s;
    s.client.helo_name = settings.hostname;
    s.client.tls = settings.tls;
    const Transport* hop = nullptr;
    if (key == "relay") hop = &*settings.relay;
    else if (auto it = settings.transports.find(domain); it != settings.transports.end()) hop = &it->second;
    if (hop) {
      s.client.tls = hop->tls;
      s.client.auth_user = hop->user;
      s.client.auth_password = hop->password;
    }
    s.tls = settings.tls_context;
    if (requiretls) {  // RFC 8689 §4.2: a verified TLS connection, or no delivery
      s.client.tls = smtp::client::TlsPolicy::Required;
      s.tls = settings.tls_verified;
    }
    s.connect_timeout = settings.connect_timeout;
    return s;
  }

  net::awaitable<bool> load(Job& job) {
    if (job.data) co_return true;
    auto read = [this, entry = job.entry]() -> Result<std::string> {
      auto reader = deps.store.open_queued(entry);
      if (!reader) return tl::unexpected(reader.error());
      std::string out(static_cast<std::size_t>((*reader)->size()), '\0');
      std::size_t done = 0;
      while (done < out.size()) {
        auto n = (*reader)->read(out.data() + done, out.size() - done);
        if (!n) return tl::unexpected(n.error());
        if (*n == 0) break;
        done += *n;
      }
      out.resize(done);
      return out;
    };
    auto data = co_await net::run_blocking(deps.workers, std::move(read));
    if (!data) {
      job.load_error = data.error().detail;
      log::error("event=queue_read_failed id={} trace={} error={}", job.entry.id, job.entry.trace_id,
                 log::q(job.load_error));
      co_return false;
    }
    job.data = std::make_shared<const std::string>(std::move(*data));
    co_return true;
  }

  static std::vector<std::size_t> undecided(const Job& job) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < job.outcomes.size(); ++i)
      if (!job.outcomes[i].decided) out.push_back(i);
    return out;
  }

  smtp::outbound::Message message_for(const Job& job, const std::vector<std::size_t>& which) const {
    const auto& m = job.entry.message;
    smtp::outbound::Message msg;
    msg.data = job.data;
    msg.envelope.from = m.sender;
    msg.envelope.size = job.data->size();
    msg.envelope.eight_bit = m.eight_bit;
    msg.envelope.binary = m.binary;
    msg.envelope.smtputf8 = m.smtputf8;
    msg.envelope.requiretls = m.requiretls;
    if (m.ret == 1) msg.envelope.dsn_params += " RET=FULL";
    if (m.ret == 2) msg.envelope.dsn_params += " RET=HDRS";
    if (!m.envid.empty()) msg.envelope.dsn_params += " ENVID=" + smtp::proto::xtext_encode(m.envid);
    for (auto i : which) {
      const auto& r = m.rcpts[i];
      smtp::client::Recipient rc;
      rc.address = r.address;
      if (r.notify) {
        std::vector<std::string> words;
        if (r.notify & store::notify::kNever) words.push_back("NEVER");
        if (r.notify & store::notify::kSuccess) words.push_back("SUCCESS");
        if (r.notify & store::notify::kFailure) words.push_back("FAILURE");
        if (r.notify & store::notify::kDelay) words.push_back("DELAY");
        rc.dsn_params += fmt::format(" NOTIFY={}", fmt::join(words, ","));
      }
      if (!r.orcpt.empty()) {
        auto semi = r.orcpt.find(';');
        rc.dsn_params += " ORCPT=" + r.orcpt.substr(0, semi + 1) + smtp::proto::xtext_encode(r.orcpt.substr(semi + 1));
      }
      msg.envelope.rcpts.push_back(std::move(rc));
    }
    return msg;
  }

  // Sends the batch through the targets in order; whatever a target leaves undecided
  // (no connection, 4xx) goes to the next.
  net::awaitable<void> send_batch(std::vector<std::shared_ptr<Job>>& batch, const Route& r, const std::string& key,
                                  const std::string& domain, bool requiretls) {
    for (const auto& target : r.targets) {
      bool any = false;
      for (auto& j : batch) any |= !undecided(*j).empty() && j->load_error.empty();
      if (!any) break;
      smtp::outbound::Connection c(connection_settings(key, domain, requiretls));
      std::string remote = remote_name(target);
      bool open = co_await c.open(target);
      if (!open) {
        Reply why = c.failure() ? *c.failure() : Reply(451, "4.4.1", c.error().empty() ? "connection failed" : c.error());
        log::info("event=queue_connect_failed destination={} remote={} reply={}", log::q(domain), remote,
                  log::q(why.summary()));
        for (auto& j : batch)
          for (auto i : undecided(*j)) j->outcomes[i] = Outcome{false, Verdict::Temporary, why, remote, false, true};
        co_await c.close();
        continue;
      }
      for (auto& j : batch) {
        auto which = undecided(*j);
        if (which.empty()) continue;
        if (!co_await load(*j)) continue;
        if (!c.usable()) {
          Reply why(451, "4.4.2", c.error().empty() ? "connection closed" : c.error());
          for (auto i : which) j->outcomes[i] = Outcome{false, Verdict::Temporary, why, remote, false, true};
          continue;
        }
        auto msg = message_for(*j, which);
        auto results = co_await c.send(msg);
        bool dsn = c.capabilities().dsn;
        for (std::size_t k = 0; k < which.size() && k < results.size(); ++k) {
          const auto& res = results[k];
          j->outcomes[which[k]] = Outcome{res.verdict != Verdict::Temporary, res.verdict, res.reply, remote, dsn, true};
          log::info("event={} id={} trace={} to={} remote={} tls={} reply={}",
                    res.verdict == Verdict::Delivered ? "queue_sent"
                    : res.verdict == Verdict::Permanent ? "queue_refused"
                                                        : "queue_deferred",
                    j->entry.id, j->entry.trace_id, log::q("<" + j->entry.message.rcpts[which[k]].address + ">"), remote,
                    log::q(c.tls().empty() ? "none" : c.tls()), log::q(res.reply.summary()));
        }
      }
      co_await c.close();
    }
  }

  net::awaitable<void> run_destination(std::string key) {
    auto self = shared_from_this();
    std::string domain = key.substr(key.find(':') + 1);
    auto r = co_await route(key, domain);
    if (!r.targets.empty())
      log::debug("event=queue_route destination={} targets={}", log::q(key), r.targets.size());
    while (!stopping) {
      auto& d = dests[key];
      if (d.jobs.empty()) break;
      // A fair share of what waits, so parallel connections to one destination split it.
      std::size_t share = std::max<std::size_t>(1, d.jobs.size() / std::max<std::size_t>(1, d.active));
      share = std::min(share, settings.messages_per_connection);
      std::vector<std::shared_ptr<Job>> plain, tls;
      for (std::size_t i = 0; i < share && !d.jobs.empty(); ++i) {
        auto j = std::move(d.jobs.front());
        d.jobs.pop_front();
        (j->entry.message.requiretls ? tls : plain).push_back(std::move(j));
      }
      if (r.failure) {
        for (auto* b : {&plain, &tls})
          for (auto& j : *b)
            for (auto& o : j->outcomes)
              o = Outcome{!r.failure->transient(), r.failure->transient() ? Verdict::Temporary : Verdict::Permanent,
                          *r.failure, "", false, false};
      } else {
        if (!plain.empty()) co_await send_batch(plain, r, key, domain, false);
        if (!tls.empty()) co_await send_batch(tls, r, key, domain, true);
      }
      for (auto* b : {&plain, &tls})
        for (auto& j : *b) asio::co_spawn(deps.io, finish(j), asio::detached);
    }
    auto& d = dests[key];
    --d.active;
    --active;
    dispatch();
  }

  // ---------------- recording and reports ----------------

  net::awaitable<void> finish(std::shared_ptr<Job> job) {
    auto self = shared_from_this();
    auto now = clock::now_unix();
    const auto& e = job->entry;
    std::vector<store::RecipientUpdate> updates;
    std::vector<DsnRecipient> report;
    bool warn = false;
    for (std::size_t i = 0; i < job->outcomes.size(); ++i) {
      const auto& r = e.message.rcpts[i];
      auto& o = job->outcomes[i];
      if (!o.tried && !o.decided && !job->load_error.empty())
        o.reply = Reply(451, "4.3.0", "local error reading the queued message: " + job->load_error);
      store::RecipientUpdate u;
      u.id = r.id;
      u.last_reply = o.reply.summary();
      u.remote = o.remote;
      DsnRecipient x;
      x.final_recipient = r.address;
      x.original_recipient = r.orcpt;
      x.status = status_of(o.reply.code, o.reply.status);
      x.remote_mta = o.remote.substr(0, o.remote.find('['));
      x.diagnostic = o.remote.empty() ? "" : o.reply.summary();
      x.last_attempt = now;
      bool wants_failure = r.notify == 0 || (r.notify & store::notify::kFailure);
      if (o.verdict == Verdict::Delivered) {
        u.state = store::QueueState::Delivered;
        if ((r.notify & store::notify::kSuccess) && !o.remote_dsn) {  // RFC 3461 §4.1: the server cannot tell
          x.action = DsnAction::Relayed;
          report.push_back(x);
        }
      } else if (o.verdict == Verdict::Permanent) {
        u.state = store::QueueState::Failed;
        x.action = DsnAction::Failed;
        if (wants_failure) report.push_back(x);
        log::warn("event=queue_bounced id={} trace={} to={} reply={}", e.id, e.trace_id, log::q("<" + r.address + ">"),
                  log::q(u.last_reply));
      } else if (expired(settings.retry, e.created, now)) {
        u.state = store::QueueState::Failed;
        x.action = DsnAction::Failed;
        x.status = "4.4.7";  // RFC 3463: delivery time expired
        if (x.diagnostic.empty()) x.diagnostic = o.reply.summary();
        u.last_reply = fmt::format("gave up after {} days: {}", settings.retry.give_up_after.count() / 86400, u.last_reply);
        if (wants_failure) report.push_back(x);
        log::warn("event=queue_expired id={} trace={} to={} reply={}", e.id, e.trace_id, log::q("<" + r.address + ">"),
                  log::q(u.last_reply));
      } else {
        u.state = store::QueueState::Pending;
        u.next_attempt = next_attempt(settings.retry, r.attempts + 1, now);
        soonest = std::min(soonest, u.next_attempt);
        if (!e.warned && warning_due(settings.retry, e.created, now) &&
            (r.notify == 0 || (r.notify & store::notify::kDelay))) {
          x.action = DsnAction::Delayed;
          x.retry_until = e.created + settings.retry.give_up_after.count();
          report.push_back(x);
          warn = true;
        }
      }
      updates.push_back(std::move(u));
    }
    // Never a report about a report (null sender), RFC 3461 §6.2 / RFC 5321 §4.5.5.
    if (e.message.sender.empty()) report.clear();
    if (!report.empty() && !job->data) co_await load(*job);
    std::shared_ptr<std::string> dsn_text;
    std::optional<store::Delivery> dsn;
    if (!report.empty() && job->data) {
      DsnReport rep = new_report(settings.hostname, e.message.sender, e.trace_id, e.created, now);
      rep.envid = e.message.envid;
      rep.queue_id = fmt::format("{} (queue id {})", e.trace_id, e.id);
      rep.recipients = report;
      rep.original = *job->data;
      std::uint64_t size = job->data->size();
      rep.return_full = e.message.ret == 1 ? size <= settings.bounce_full_limit
                        : e.message.ret == 0 ? size <= settings.bounce_full_default
                                             : false;
      dsn_text = std::make_shared<std::string>(render_dsn(rep));
      auto trace = fmt::format("{}.dsn", e.trace_id);
      auto make = [this, sender = e.message.sender, dsn_text, now, trace] {
        return report_delivery(router, deps.srs, sender, *dsn_text, now, trace);
      };
      auto built = co_await net::run_blocking(deps.workers, std::move(make));
      if (built) dsn = std::move(*built);
      else log::warn("event=dsn_dropped id={} trace={} to={} reason={}", e.id, e.trace_id,
                     log::q("<" + e.message.sender + ">"), log::q(built.error().detail));
    }
    bool queued_more = dsn && dsn->outbound.has_value();
    std::int64_t id = e.id;
    auto run = [this, updates = std::move(updates), dsn, dsn_text, warn, id]() mutable {
      auto u = deps.store.update_queue(updates);
      if (!u) throw std::runtime_error("queue update: " + u.error().detail);
      if (warn) {
        auto w = deps.store.mark_warned(id);
        if (!w) throw std::runtime_error("queue update: " + w.error().detail);
      }
      if (dsn) {
        auto r = deps.store.deliver(std::span<const store::Delivery>(&*dsn, 1));
        if (!r) throw std::runtime_error("delivery report: " + r.error().detail);
      }
    };
    auto submit = [this, run = std::move(run)](auto done) mutable {
      deps.committer.submit_write(delivery::WriteJob{std::move(run), std::move(done)});
    };
    auto committed = co_await net::await_callback<Result<void>>(std::move(submit));
    if (!committed)
      log::error("event=queue_update_failed id={} trace={} error={}", e.id, e.trace_id,
                 log::q(committed.error().detail));
    else if (!report.empty() && dsn)
      log::info("event=dsn_sent id={} trace={} to={} recipients={} action={}", e.id, e.trace_id,
                log::q("<" + e.message.sender + ">"), report.size(), action_name(report.front().action));
    for (const auto& r : e.message.rcpts) {
      in_flight.erase(r.id);
      recorded[r.id] = scan_seq;
      if (!committed) held[r.id] = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    }
    // A retry due before the loop would wake: wake it now, to wait the right time.
    if (soonest != INT64_MAX) {
      auto wait = std::clamp<std::int64_t>(soonest - clock::now_unix(), 0, 86400);
      if (std::chrono::steady_clock::now() + std::chrono::seconds(wait) < timer.expiry()) queued_more = true;
    }
    if (queued_more) {
      rescan = true;
      timer.cancel();
    }
  }
};

Runner::Runner(RunnerDeps deps, RunnerSettings settings)
    : state_(std::make_shared<State>(std::move(deps), std::move(settings))) {}

Runner::~Runner() { stop(); }

void Runner::start() {
  auto s = state_;
  asio::co_spawn(s->deps.io, [s]() -> net::awaitable<void> { co_await s->loop(); }, asio::detached);
}

void Runner::wake() {
  auto s = state_;
  asio::post(s->deps.io, [s] {
    s->rescan = true;
    s->timer.cancel();
  });
}

void Runner::stop() {
  auto s = state_;
  asio::post(s->deps.io, [s] {
    s->stopping = true;
    s->timer.cancel();
  });
}

void Runner::set_settings(RunnerSettings settings) {
  auto s = state_;
  asio::post(s->deps.io, [s, settings = std::move(settings)]() mutable { s->settings = std::move(settings); });
}

}  // namespace valija::queue
