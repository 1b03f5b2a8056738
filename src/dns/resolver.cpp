#include "dns/resolver.hpp"

#include <arpa/inet.h>
#include <unbound.h>

#include <fmt/format.h>

#include <asio/posix/stream_descriptor.hpp>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "base/evict.hpp"


namespace valija::dns {

namespace {
constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeAaaa = 28;
constexpr int kClassIn = 1;
constexpr std::size_t kMaxRecords = 64;  // what one answer may contribute

std::string rcode_name(int rcode) {
  switch (rcode) {
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return fmt::format("rcode {}", rcode);
  }
}
}  // namespace

struct Resolver::Raw {
  Outcome outcome = Outcome::Temporary;
  std::vector<std::string> rdata;
  std::string canonical;
  std::string detail;
  int ttl = 0;  // seconds the answer may be kept
};

namespace {

// Answers already known, in front of libunbound's own cache: a hit costs a map lookup
// on the asking thread, where asking libunbound costs a round trip through its thread
// and pipe and the resolver's context (a message's SPF, DKIM and DMARC lookups were
// half the CPU the checks cost). Kept for the record's TTL, at most an hour; failures
// are never kept. Bounded: when full, the older half goes.
class AnswerCache {
 public:
  static constexpr std::size_t kMax = 20000;
  static constexpr int kMaxTtl = 3600;

  std::optional<Resolver::Raw> find(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    if (Clock::now() >= it->second.expires) {
      map_.erase(it);
      return std::nullopt;
    }
    return it->second.raw;
  }
  void add(std::string key, const Resolver::Raw& raw) {
    if (raw.outcome == Outcome::Temporary || raw.ttl <= 0) return;
    std::lock_guard lock(mu_);
    if (map_.size() >= kMax)
      drop_older_half(map_, [](const Entry& e) { return e.expires; }, [](const Entry&) { return false; });
    map_.insert_or_assign(std::move(key), Entry{raw, Clock::now() + std::chrono::seconds(std::min(raw.ttl, kMaxTtl))});
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Resolver::Raw raw;
    Clock::time_point expires;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
};

std::string cache_key(const std::string& name, int type) { return fmt::format("{}/{}", type, canonical_name(name)); }

}  // namespace

struct Resolver::Impl {
  asio::io_context& io;
  ub_ctx* ctx = nullptr;
  asio::posix::stream_descriptor fd;
  std::chrono::milliseconds timeout;
  bool stopped = false;
  AnswerCache cache;

  Impl(asio::io_context& i, ub_ctx* c, std::chrono::milliseconds t) : io(i), ctx(c), fd(i, ub_fd(c)), timeout(t) {}
  ~Impl() {
    stopped = true;
    std::error_code ec;
    fd.cancel(ec);
    (void)fd.release();  // libunbound's descriptor: it closes it
    ub_ctx_delete(ctx);
  }

  // Results are ready when libunbound's pipe is readable; ub_process runs the callbacks.
  void wait() {
    fd.async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
      if (ec || stopped) return;
      ub_process(ctx);
      wait();
    });
  }
};

namespace {

// One lookup in flight: completed once, by libunbound's answer or by the timer.
struct Pending {
  AnswerCache* cache = nullptr;
  std::string key;
  std::function<void(Resolver::Raw)> complete;
  asio::steady_timer timer;
  int async_id = 0;
  bool done = false;
  std::string name;
  explicit Pending(asio::io_context& io) : timer(io) {}
  void finish(Resolver::Raw r) {
    if (done) return;
    done = true;
    timer.cancel();
    complete(std::move(r));
  }
};

Resolver::Raw classify(int err, ub_result* result, const std::string& name) {
  Resolver::Raw raw;
  if (err != 0) {
    raw.detail = fmt::format("resolver error for {}: {}", name, ub_strerror(err));
    return raw;
  }
  if (result->bogus) {
    raw.detail = fmt::format("DNSSEC validation failed for {}: {}", name, result->why_bogus ? result->why_bogus : "bogus");
    return raw;
  }
  if (result->canonname) {  // the name the records belong to: the query's own without a CNAME
    std::string canon = canonical_name(result->canonname);
    if (canon != canonical_name(name)) raw.canonical = std::move(canon);
  }
  if (result->rcode == 3 || result->nxdomain) {
    raw.outcome = Outcome::NxDomain;
    raw.detail = fmt::format("{}: NXDOMAIN", name);
    return raw;
  }
  if (result->rcode != 0) {
    raw.detail = fmt::format("{}: {}", name, rcode_name(result->rcode));
    return raw;
  }
  if (!result->havedata) {
    raw.outcome = Outcome::NoData;
    raw.detail = fmt::format("{}: no records of that type", name);
    return raw;
  }
  raw.outcome = Outcome::Answer;
  for (int i = 0; result->data[i] && raw.rdata.size() < kMaxRecords; ++i)
    raw.rdata.emplace_back(result->data[i], static_cast<std::size_t>(result->len[i]));
  return raw;
}

void on_answer(void* data, int err, ub_result* result) {
  auto* p = static_cast<std::shared_ptr<Pending>*>(data);
  auto pending = std::move(*p);
  delete p;
  auto raw = classify(err, result, pending->name);
  if (result && err == 0) raw.ttl = result->ttl;
  if (result) ub_resolve_free(result);
  pending->cache->add(pending->key, raw);
  pending->finish(std::move(raw));
}

}  // namespace

Result<std::unique_ptr<Resolver>> Resolver::create(asio::io_context& io, const ResolverConfig& config) {
  ub_ctx* ctx = ub_ctx_create();
  if (!ctx) return fail(Errc::Internal, "cannot create the DNS resolver (libunbound)");
  auto bad = [&](int rc, const std::string& what) -> Result<std::unique_ptr<Resolver>> {
    ub_ctx_delete(ctx);
    return fail(Errc::Invalid, fmt::format("DNS resolver: {}: {}", what, ub_strerror(rc)));
  };
  // Threads, not a forked process, for asynchronous lookups.
  if (int rc = ub_ctx_async(ctx, 1); rc != 0) return bad(rc, "asynchronous mode");
  // Forwarding to 127.0.0.1 (a local cache, systemd-resolved, a test server) is normal.
  if (int rc = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no"); rc != 0) return bad(rc, "option");
  // Reverse zones of private and documentation ranges (10/8, 192.168/16, fd00::/8, ...)
  // and of loopback go to the servers like any other, rather than to libunbound's
  // built-in empty answers: iprev of a client on the LAN, whose DNS server does publish
  // its PTR records, must see them (and `valija dns-check` likewise).
  for (const char* opt : {"unblock-lan-zones:", "insecure-lan-zones:"})
    if (int rc = ub_ctx_set_option(ctx, opt, "yes"); rc != 0) return bad(rc, "option");
  if (int rc = ub_ctx_set_option(ctx, "local-zone:", "127.in-addr.arpa. transparent"); rc != 0) return bad(rc, "option");
  if (config.servers.empty()) {
    if (int rc = ub_ctx_resolvconf(ctx, nullptr); rc != 0) return bad(rc, "reading /etc/resolv.conf");
  } else {
    for (const auto& s : config.servers)
      if (int rc = ub_ctx_set_fwd(ctx, s.c_str()); rc != 0) return bad(rc, fmt::format("server '{}'", s));
  }
  auto impl = std::make_unique<Impl>(io, ctx, config.timeout);
  impl->wait();
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Resolver::~Resolver() = default;

namespace {

// Starts one lookup on the resolver's context; `done` runs there, exactly once.
// A cached answer completes at once, on the asking thread.
void start_lookup(Resolver::Impl* impl, std::string qname, int qtype, std::function<void(Resolver::Raw)> done) {
  auto key = cache_key(qname, qtype);
  if (auto hit = impl->cache.find(key)) {
    done(std::move(*hit));
    return;
  }
  asio::post(impl->io, [impl, qname = std::move(qname), qtype, key = std::move(key), done = std::move(done)]() mutable {
    auto pending = std::make_shared<Pending>(impl->io);
    pending->name = qname;
    pending->cache = &impl->cache;
    pending->key = std::move(key);
    pending->complete = std::move(done);
    auto* token = new std::shared_ptr<Pending>(pending);
    int rc = ub_resolve_async(impl->ctx, qname.c_str(), qtype, kClassIn, token, on_answer, &pending->async_id);
    if (rc != 0) {
      delete token;
      Resolver::Raw r;
      r.detail = fmt::format("resolver error for {}: {}", qname, ub_strerror(rc));
      pending->finish(std::move(r));
      return;
    }
    pending->timer.expires_after(impl->timeout);
    pending->timer.async_wait([impl, pending, token](const std::error_code& ec) {
      if (ec || pending->done) return;
      // ub_cancel frees nothing of ours: the callback will not run, so the token goes here.
      if (ub_cancel(impl->ctx, pending->async_id) == 0) delete token;
      Resolver::Raw r;
      r.detail = fmt::format("{}: no answer within {} ms", pending->name, impl->timeout.count());
      pending->finish(std::move(r));
    });
  });
}

}  // namespace

net::awaitable<Resolver::Raw> Resolver::query(std::string name, int type) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(Raw)>(
      [impl = impl_.get()](auto handler, std::string qname, int qtype) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start_lookup(impl, std::move(qname), qtype, [h, ex](Raw r) {
          asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
        });
      },
      asio::use_awaitable, std::move(name), type);
}

net::awaitable<std::vector<Resolver::Raw>> Resolver::query_all(std::vector<Query> queries) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::vector<Raw>)>(
      [impl = impl_.get()](auto handler, std::vector<Query> qs) {
        auto ex = asio::get_associated_executor(handler);
        struct Batch {
          std::vector<Raw> results;
          std::atomic<std::size_t> left = 0;
          std::function<void(std::vector<Raw>)> complete;
        };
        auto batch = std::make_shared<Batch>();
        batch->results.resize(qs.size());
        batch->left = qs.size();
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        batch->complete = [h, ex](std::vector<Raw> r) {
          asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
        };
        if (qs.empty()) {
          batch->complete({});
          return;
        }
        // Answers arrive on the resolver's thread, cached ones on this one: each writes
        // its own slot; the last one (by the atomic count) completes the batch.
        for (std::size_t i = 0; i < qs.size(); ++i)
          start_lookup(impl, std::move(qs[i].name), static_cast<int>(qs[i].type), [batch, i](Raw r) {
            batch->results[i] = std::move(r);
            if (--batch->left == 0) batch->complete(std::move(batch->results));
          });
      },
      asio::use_awaitable, std::move(queries));
}

net::awaitable<MxAnswer> Resolver::mx(std::string domain) {
  auto raw = co_await query(domain, kTypeMx);
  MxAnswer a;
  a.outcome = raw.outcome;
  a.detail = std::move(raw.detail);
  for (const auto& rd : raw.rdata) {
    auto rec = parse_mx_rdata(std::span(reinterpret_cast<const unsigned char*>(rd.data()), rd.size()));
    if (!rec) {
      // A record we cannot read makes the whole answer untrustworthy: try again later
      // rather than deliver to a subset, or bounce.
      a.outcome = Outcome::Temporary;
      a.detail = fmt::format("{}: malformed MX record ({})", domain, rec.error().detail);
      a.records.clear();
      co_return a;
    }
    a.records.push_back(std::move(*rec));
  }
  co_return a;
}

namespace {

Answer decode(const Query& q, Resolver::Raw raw) {
  Answer a;
  a.outcome = raw.outcome;
  a.detail = std::move(raw.detail);
  for (const auto& rd : raw.rdata) {
    auto text = decode_rdata(q.type, std::span(reinterpret_cast<const unsigned char*>(rd.data()), rd.size()));
    if (!text) {
      a.outcome = Outcome::Temporary;
      a.detail = fmt::format("{} {}: malformed record ({})", q.name, type_name(q.type), text.error().detail);
      a.records.clear();
      return a;
    }
    a.records.push_back(std::move(*text));
  }
  return a;
}

}  // namespace

net::awaitable<Answer> Resolver::lookup(Query q) {
  auto raw = co_await query(q.name, static_cast<int>(q.type));
  co_return decode(q, std::move(raw));
}

net::awaitable<std::vector<Answer>> Resolver::lookup_all(std::vector<Query> queries) {
  auto raws = co_await query_all(queries);
  std::vector<Answer> out;
  out.reserve(raws.size());
  for (std::size_t i = 0; i < raws.size(); ++i) out.push_back(decode(queries[i], std::move(raws[i])));
  co_return out;
}

net::awaitable<AddressAnswer> Resolver::addresses(std::string host) {
  AddressAnswer out;
  auto v6 = co_await query(host, kTypeAaaa);
  auto v4 = co_await query(host, kTypeA);
  for (const auto* raw : {&v6, &v4}) {
    int family = raw == &v6 ? AF_INET6 : AF_INET;
    std::size_t want = family == AF_INET6 ? 16 : 4;
    for (const auto& rd : raw->rdata) {
      if (rd.size() != want) continue;
      char text[INET6_ADDRSTRLEN] = {};
      if (::inet_ntop(family, rd.data(), text, sizeof text)) out.addresses.emplace_back(text);
    }
    if (out.canonical.empty()) out.canonical = raw->canonical;
  }
  if (!out.addresses.empty()) {
    out.outcome = Outcome::Answer;
  } else if (v6.outcome == Outcome::Temporary || v4.outcome == Outcome::Temporary) {
    out.outcome = Outcome::Temporary;
    out.detail = v4.outcome == Outcome::Temporary ? v4.detail : v6.detail;
  } else if (v4.outcome == Outcome::NxDomain || v6.outcome == Outcome::NxDomain) {
    out.outcome = Outcome::NxDomain;
    out.detail = v4.outcome == Outcome::NxDomain ? v4.detail : v6.detail;
  } else {
    out.outcome = Outcome::NoData;
    out.detail = fmt::format("{}: no A or AAAA records", host);
  }
  co_return out;
}

}  // namespace valija::dns
