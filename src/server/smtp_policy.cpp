#include "server/smtp_policy.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "delivery/trace_headers.hpp"
#include "dns/mx.hpp"
#include "mail/header_scan.hpp"
#include "mail/mime.hpp"
#include "mail/mime_cache.hpp"
#include "mail/submission.hpp"
#include "queue/reports.hpp"
#include "net/blocking.hpp"
#include "policy/rate_limit.hpp"
#include "server/dkim_signer.hpp"
#include "server/mail_checks.hpp"
#include "server/network_list.hpp"

namespace valija::server {
namespace {

std::size_t count_signatures(std::string_view fields) {
  std::size_t n = 0;
  for (auto pos = fields.find("DKIM-Signature:"); pos != std::string_view::npos; pos = fields.find("DKIM-Signature:", pos + 1)) ++n;
  return n;
}

using smtp::server::Reply;
using smtp::server::SessionInfo;
using smtp::server::SmtpPolicy;
using smtp::server::Transaction;

class InboundPolicy : public SmtpPolicy {
 public:
  explicit InboundPolicy(PolicyDeps deps)
      : d_(std::move(deps)), router_(d_.store, d_.limits), trusted_(d_.trusted_networks) {}

  net::awaitable<ConnectAnswer> connect(const SessionInfo& s) override {
    if (!d_.checks) co_return ConnectAnswer{};
    co_return co_await d_.checks->connect(s);
  }

  net::awaitable<std::optional<Reply>> mail(const SessionInfo& s, Transaction& tx) override {
    if (!d_.checks) co_return std::nullopt;
    co_return co_await d_.checks->mail(s, tx);
  }

  net::awaitable<RcptAnswer> rcpt(const SessionInfo& s, const Transaction& tx, const mail::Mailbox& to,
                                  bool postmaster) override {
    mail::Mailbox target = to;
    if (postmaster) target.domain = d_.postmaster_domain;  // RFC 5321 §4.1.1.3
    auto resolve = [this, target] { return router_.resolve(target); };
    auto route = co_await net::run_blocking(d_.workers, std::move(resolve));
    if (!route && route.error().kind == delivery::RouteFailure::Unknown && d_.srs &&
        queue::Srs::is_srs(target.local)) {
      // A bounce (or reply) to a sender address we rewrote when forwarding: verified, it
      // goes on to the original sender.
      auto original = d_.srs->reverse(target.local, clock::now_unix());
      if (!original) {
        log::info("event=rcpt_refused conn={} trace={} to={} reason={}", s.conn_id, tx.trace_id,
                  log::q("<" + target.str() + ">"), log::q(original.error().detail));
        co_return RcptAnswer{Reply(550, "5.1.1", fmt::format("<{}>: Invalid SRS address", target.str())), {}};
      }
      delivery::Route back;
      back.external.push_back(*original);
      back.steps = {target.str(), *original};
      route = std::move(back);
    }
    if (!route) {
      const auto& e = route.error();
      if (e.kind == delivery::RouteFailure::NotLocal && may_relay(s)) {
        delivery::Route out;
        out.external.push_back(target.str());
        out.steps = {target.str()};
        out.relayed = true;
        log::debug("event=rcpt_route trace={} to={} steps=outbound", tx.trace_id, log::q("<" + target.str() + ">"));
        co_return RcptAnswer{Reply(250, "2.1.5", fmt::format("<{}>: Recipient OK", target.str())), std::move(out)};
      }
      log::info("event=rcpt_refused conn={} trace={} to={} reason={}", s.conn_id, tx.trace_id,
                log::q("<" + target.str() + ">"), log::q(e.detail));
      switch (e.kind) {
        case delivery::RouteFailure::NotLocal:
          co_return RcptAnswer{Reply(554, "5.7.1", fmt::format("<{}>: Relay access denied", target.str())), {}};
        case delivery::RouteFailure::Unknown:
          co_return RcptAnswer{Reply(550, "5.1.1", fmt::format("<{}>: User unknown", target.str())), {}};
        case delivery::RouteFailure::Loop:
          co_return RcptAnswer{Reply(550, "5.4.6", fmt::format("<{}>: Alias loop", target.str())), {}};
        case delivery::RouteFailure::FanOut:
          co_return RcptAnswer{Reply(550, "5.2.4", fmt::format("<{}>: Alias expands to too many mailboxes", target.str())), {}};
        case delivery::RouteFailure::Temporary:
          co_return RcptAnswer{Reply(451, "4.3.0", "Temporary lookup failure, try again later"), {}};
      }
    }
    // Quota: refuse at RCPT when the only mailbox is already full (or would be with SIZE).
    std::uint64_t declared = tx.params.size.value_or(0);
    if (route->accounts.size() == 1) {
      const auto& a = route->accounts.front();
      if ((a.quota_bytes && a.used_bytes + declared > a.quota_bytes) ||
          (a.quota_messages && a.used_messages + 1 > a.quota_messages))
        co_return RcptAnswer{Reply(552, "5.2.2", fmt::format("<{}>: Mailbox full", target.str())), {}};
    }
    if (d_.checks) {
      if (auto grey = co_await d_.checks->rcpt(s, tx, target)) co_return RcptAnswer{std::move(*grey), {}};
    }
    log::debug("event=rcpt_route trace={} to={} steps={}", tx.trace_id, log::q("<" + target.str() + ">"), log::q(fmt::format("{}", fmt::join(route->steps, " -> "))));
    co_return RcptAnswer{Reply(250, "2.1.5", fmt::format("<{}>: Recipient OK", target.str())), std::move(*route)};
  }

  net::awaitable<Reply> deliver(const SessionInfo& s, Transaction& tx) override {
    if (auto refused = co_await prepare(s, tx)) co_return *refused;
    auto summary = mail::scan_headers(tx.message, d_.limits.header_scan);
    if (summary.received > d_.limits.hop_count)  // RFC 5321 §6.3
      co_return Reply(554, "5.4.6", fmt::format("Too many hops ({} Received headers): mail loop?", summary.received));
    MessageVerdict verdict;
    if (d_.checks) verdict = co_await d_.checks->message(s, tx);
    if (verdict.refuse) co_return *verdict.refuse;

    auto now = clock::now_unix();
    delivery::ReceivedInfo ri;
    ri.helo = s.helo;
    ri.client_ip = s.client_ip;
    ri.client_name = s.client_name;
    ri.by_host = d_.hostname;
    ri.protocol = delivery::with_protocol(s.esmtp, s.tls, !s.auth_user.empty(), tx.params.smtputf8);
    ri.tls = s.tls_description;
    ri.id = tx.trace_id;
    ri.date = now;
    if (tx.recipients.size() == 1) ri.for_rcpt = tx.recipients.front().address.str();
    std::string common = delivery::return_path_header(tx.from.str()) ;
    std::string received = delivery::received_header(ri);

    auto body = std::make_shared<const std::string>(std::move(tx.message));
    delivery::Job job;
    job.body = body;
    job.delivery.body = *body;
    if (body->size() > store::kPackedBodyMax) {
      // A large body is written and fsynced here, in parallel with other connections';
      // small ones go with their batch into a pack, written by the writer in one go.
      // Its MIME structure (kept for IMAP) is worked out there too, off the I/O thread.
      auto write_body = [this, body, meta = &job.delivery.meta] {
        *meta = mail::mime::encode(mail::mime::parse(*body));
        return d_.store.put_blob(*body);
      };
      auto blob_id = co_await net::run_blocking(d_.blob_io, std::move(write_body));
      if (!blob_id) {
        log::error("event=deliver_failed trace={} error={}", tx.trace_id, log::q(blob_id.error().detail));
        if (blob_id.error().code == Errc::Unavailable || blob_id.error().code == Errc::NoSpace)
          co_return Reply(452, "4.3.1", "Insufficient system storage, try again later");
        co_return Reply(451, "4.3.0", "Local error in processing, try again later");
      }
      job.delivery.blob_id = std::move(*blob_id);
    } else {
      job.delivery.content_id = store::content_id(*body);  // here, not in the one writer thread
      job.delivery.meta = mail::mime::encode(mail::mime::parse(*body));  // for IMAP: parsed once
    }
    job.delivery.internal_date = now;
    job.delivery.trace_id = tx.trace_id;
    std::vector<std::string> addresses;
    for (const auto& r : tx.recipients) {
      const auto* route = std::any_cast<delivery::Route>(&r.route);
      if (!route) continue;
      for (const auto& a : route->accounts) {
        if (std::find(addresses.begin(), addresses.end(), a.address) != addresses.end()) continue;
        addresses.push_back(a.address);
        store::Copy c;
        c.account = a.account;
        c.prefix = common + delivery::delivered_to_header(a.address) + verdict.headers + received;
        if (verdict.junk) c.mailbox = "\\Junk";  // RFC 6154 special use: the account's Junk folder
        job.delivery.copies.push_back(std::move(c));
      }
    }
    std::string forwarder;
    auto outbound = co_await forwarded(s, tx, received, forwarder);
    if (outbound && d_.signer) {
      // Our own users' mail (and trusted clients') is signed for its From domain;
      // forwarded mail, when configured, for the domain that forwards it.
      std::string domain = !s.auth_user.empty() || may_relay(s) ? signing_domain(*body)
                           : d_.sign_forwarded                   ? forwarder
                                                                 : "";
      if (!domain.empty()) {
        auto sign = [this, domain, body, now] { return d_.signer->sign(domain, *body, now); };
        auto fields = co_await net::run_blocking(d_.workers, std::move(sign));
        if (!fields.empty()) {
          log::info("event=dkim_signed trace={} domain={} signatures={}", tx.trace_id, domain, count_signatures(fields));
          outbound->prefix = fields + outbound->prefix;
        }
      }
    }
    job.delivery.outbound = std::move(outbound);
    bool queued = job.delivery.outbound.has_value();
    // SMTP has one reply for DATA: with several mailboxes, a full one still gets this
    // message (quota grace) rather than failing the others. RCPT refused it if it was full.
    bool grace = job.delivery.copies.size() > 1;
    for (auto& c : job.delivery.copies) c.allow_over_quota = grace;

    std::vector<std::string> queued_to;
    if (queued)
      for (const auto& r : job.delivery.outbound->rcpts) queued_to.push_back("<" + r.address + ">");
    auto result = co_await commit(std::move(job));
    if (!result) {
      log::error("event=deliver_failed trace={} error={}", tx.trace_id, log::q(result.error().detail));
      if (result.error().code == Errc::Unavailable || result.error().code == Errc::NoSpace)
        co_return Reply(452, "4.3.1", "Insufficient system storage, try again later");
      co_return Reply(451, "4.3.0", "Local error in processing, try again later");
    }
    std::size_t ok = 0, quota = 0;
    std::vector<std::string> stored;
    for (std::size_t i = 0; i < result->size(); ++i) {
      const auto& r = (*result)[i];
      if (r) {
        ++ok;
        stored.push_back(addresses[i]);
        log::info("event=delivered trace={} to={} mailbox={} uidvalidity={} uid={} size={}", tx.trace_id,
                  log::q(addresses[i]), verdict.junk ? "Junk" : "INBOX", r->uidvalidity, r->uid, body->size());
      } else {
        if (r.error().code == Errc::Quota) ++quota;
        log::warn("event=delivery_failed trace={} to={} error={}", tx.trace_id, log::q(addresses[i]), log::q(r.error().detail));
      }
    }
    if (queued) {
      log::info("event=queued trace={} from={} recipients={}", tx.trace_id, log::q("<" + tx.from.str() + ">"),
                log::q(fmt::format("{}", fmt::join(queued_to, ","))));
      if (d_.queued) d_.queued();
    }
    if (ok > 0) co_await report_success(tx, *body, stored);
    if (ok > 0 || queued) co_return Reply(250, "2.0.0", fmt::format("Ok: {} as {}", ok ? "delivered" : "queued", tx.trace_id));
    if (quota == result->size()) co_return Reply(552, "5.2.2", "Mailbox full");
    co_return Reply(451, "4.3.0", "Local error in processing, try again later");
  }

 private:
  // The recipients in other domains (alias redirects, bounces to SRS addresses), for the
  // outbound queue; the sender rewritten with SRS when it is not one of ours, so SPF
  // passes at the destination. Nullopt when every recipient is local.
  // `forwarder`: the local domain doing the forwarding (of the first such recipient).
  net::awaitable<std::optional<store::Outbound>> forwarded(const SessionInfo& s, const Transaction& tx,
                                                           std::string received, std::string& forwarder) {
    store::Outbound o;
    for (const auto& r : tx.recipients) {
      const auto* route = std::any_cast<delivery::Route>(&r.route);
      if (!route) continue;
      if (!route->relayed && !route->external.empty() && forwarder.empty()) forwarder = r.address.domain;
      for (const auto& e : route->external) {
        if (std::any_of(o.rcpts.begin(), o.rcpts.end(), [&](const auto& q) { return q.address == e; })) continue;
        store::QueuedRecipient q;
        q.address = e;
        q.domain = dns::canonical_name(std::string_view(e).substr(e.rfind('@') + 1));
        q.notify = r.params.notify;
        // RFC 3461 §4.2: the address as first given, so a report names what the sender used.
        q.orcpt = !r.params.orcpt.empty() ? r.params.orcpt : e != r.address.str() ? "rfc822;" + r.address.str() : "";
        o.rcpts.push_back(std::move(q));
      }
    }
    if (o.rcpts.empty()) co_return std::nullopt;
    o.sender = tx.from.str();
    if (!tx.from.local.empty() && d_.srs && !forwarder.empty()) {
      std::string domain = tx.from.domain;
      auto check = [this, domain] { return router_.is_local(dns::canonical_name(domain)); };
      auto local = co_await net::run_blocking(d_.workers, std::move(check));
      if (local && !*local) {
        auto rewritten = d_.srs->forward(tx.from.local, tx.from.domain, forwarder, clock::now_unix());
        if (rewritten) o.sender = *rewritten + "@" + forwarder;
        else log::warn("event=srs_skipped trace={} from={} reason=\"rewritten address too long\"", tx.trace_id,
                       log::q("<" + tx.from.str() + ">"));
      }
    }
    o.prefix = std::move(received);
    o.envid = tx.params.envid;
    o.ret = tx.params.ret == smtp::proto::Ret::Full ? 1 : tx.params.ret == smtp::proto::Ret::Hdrs ? 2 : 0;
    o.eight_bit = tx.params.body != smtp::proto::BodyType::SevenBit;
    o.binary = tx.params.body == smtp::proto::BodyType::BinaryMime;
    o.smtputf8 = tx.params.smtputf8;
    o.requiretls = tx.params.requiretls;
    o.origin = s.auth_user.empty() ? fmt::format("smtp {}", s.client_ip)
                                   : fmt::format("{} {} {}", s.service, s.auth_user, s.client_ip);
    co_return o;
  }

 protected:
  // Recipients in other domains are accepted (and queued): a client in a trusted
  // network here; an authenticated user on submission.
  virtual bool may_relay(const SessionInfo& s) const { return trusted_.contains(s.client_ip); }
  // Checks and rewrites the message before it is stored; a reply refuses it.
  virtual net::awaitable<std::optional<Reply>> prepare(const SessionInfo&, Transaction&) { co_return std::nullopt; }

  // The delivery in the group committer's next batch; resumes once it is durable.
  net::awaitable<Result<std::vector<store::CopyResult>>> commit(delivery::Job job) {
    auto submit = [this, job = std::move(job)](auto done) mutable {
      job.done = std::move(done);
      d_.committer.submit(std::move(job));
    };
    return net::await_callback<Result<std::vector<store::CopyResult>>>(std::move(submit));
  }

  // Delivered reports (RFC 3461 §4.1: NOTIFY=SUCCESS) for the recipients whose every
  // local copy was stored: the last MTA is the one that reports delivery.
  net::awaitable<void> report_success(const Transaction& tx, const std::string& body,
                                      const std::vector<std::string>& stored) {
    if (tx.from.local.empty()) co_return;  // never a report about a report
    std::vector<queue::DsnRecipient> done;
    for (const auto& r : tx.recipients) {
      const auto* route = std::any_cast<delivery::Route>(&r.route);
      if (!route || !(r.params.notify & smtp::proto::notify::kSuccess) || route->accounts.empty()) continue;
      bool all = std::all_of(route->accounts.begin(), route->accounts.end(), [&](const auto& a) {
        return std::find(stored.begin(), stored.end(), a.address) != stored.end();
      });
      if (!all) continue;
      queue::DsnRecipient x;
      x.final_recipient = r.address.str();
      x.original_recipient = r.params.orcpt;
      x.action = queue::DsnAction::Delivered;
      x.status = "2.0.0";
      done.push_back(std::move(x));
    }
    if (done.empty()) co_return;
    auto now = clock::now_unix();
    auto report = queue::new_report(d_.hostname, tx.from.str(), tx.trace_id, now, now);
    report.envid = tx.params.envid;
    report.recipients = std::move(done);
    report.original = body;
    report.return_full = tx.params.ret == smtp::proto::Ret::Full && body.size() <= 10u << 20;
    auto text = std::make_shared<const std::string>(queue::render_dsn(report));
    auto make = [this, sender = tx.from.str(), text, now, trace = tx.trace_id + ".dsn"] {
      return queue::report_delivery(router_, d_.srs, sender, *text, now, trace);
    };
    auto built = co_await net::run_blocking(d_.workers, std::move(make));
    if (!built) {
      log::warn("event=dsn_dropped trace={} to={} reason={}", tx.trace_id, log::q("<" + tx.from.str() + ">"),
                log::q(built.error().detail));
      co_return;
    }
    bool queued = built->outbound.has_value();
    // A named Job, not a temporary in the co_await: g++ 12 copies such temporaries in a
    // coroutine frame bitwise (a short string's pointer then points into the old copy).
    delivery::Job job{text, std::move(*built), nullptr};
    auto result = co_await commit(std::move(job));
    if (!result) {
      log::warn("event=dsn_dropped trace={} reason={}", tx.trace_id, log::q(result.error().detail));
      co_return;
    }
    log::info("event=dsn_sent trace={} to={} action=delivered", tx.trace_id, log::q("<" + tx.from.str() + ">"));
    if (queued && d_.queued) d_.queued();
  }

  PolicyDeps d_;
  delivery::Router router_;
  NetworkList trusted_;
};

// Submission (RFC 6409): only authenticated users, only from addresses they own (their
// own, its subaddresses, or an alias the admin pointed at them), to any domain; the
// message is fixed up as RFC 6409 §8 allows (Bcc removed, Date and Message-ID added).
class SubmissionPolicy : public InboundPolicy {
 public:
  explicit SubmissionPolicy(PolicyDeps deps)
      : InboundPolicy(std::move(deps)), recipients_(d_.limits.recipients_per_hour, 3600) {}

  net::awaitable<std::optional<Reply>> mail(const SessionInfo& s, Transaction& tx) override {
    if (s.auth_user.empty()) co_return Reply(530, "5.7.0", "Authentication required");
    if (tx.from.local.empty()) co_return Reply(553, "5.7.1", "A null sender is not for users");
    auto check = [this, user = s.auth_user, address = tx.from.str()] { return owns(user, address); };
    auto owned = co_await net::run_blocking(d_.workers, std::move(check));
    if (!owned) co_return Reply(451, "4.3.0", "Temporary lookup failure, try again later");
    if (!*owned) {
      log::warn("event=sender_refused conn={} user={} from={} reason=not_owned", s.conn_id, log::q(s.auth_user),
                log::q("<" + tx.from.str() + ">"));
      co_return Reply(553, "5.7.1", fmt::format("<{}>: Sender address not owned by user {}", tx.from.str(), s.auth_user));
    }
    co_return std::nullopt;
  }

  net::awaitable<RcptAnswer> rcpt(const SessionInfo& s, const Transaction& tx, const mail::Mailbox& to,
                                  bool postmaster) override {
    if (s.auth_user.empty()) co_return RcptAnswer{Reply(530, "5.7.0", "Authentication required"), {}};
    auto answer = co_await InboundPolicy::rcpt(s, tx, to, postmaster);
    if (!answer.reply.positive()) co_return answer;
    // Accepted recipients count against the user's hourly allowance.
    auto now = clock::now_unix();
    auto user = text::to_lower(s.auth_user);
    if (!recipients_.allow(user, now)) {
      auto wait = recipients_.retry_after(user, now);
      log::warn("event=rate_limited conn={} trace={} user={} limit=recipients_per_hour value={} to={}", s.conn_id,
                tx.trace_id, log::q(s.auth_user), recipients_.limit(), log::q("<" + to.str() + ">"));
      co_return RcptAnswer{Reply(451, "4.7.1", fmt::format("<{}>: {} has sent to {} recipients this hour, try again in "
                                                           "{} seconds", to.str(), s.auth_user, recipients_.limit(), wait)),
                           {}};
    }
    co_return answer;
  }

 protected:
  bool may_relay(const SessionInfo& s) const override { return !s.auth_user.empty(); }

  net::awaitable<std::optional<Reply>> prepare(const SessionInfo& s, Transaction& tx) override {
    if (s.auth_user.empty()) co_return Reply(530, "5.7.0", "Authentication required");
    auto now = clock::now_unix();
    auto id = fmt::format("{}.{}@{}", tx.trace_id, clock::random_id(8), d_.hostname);
    auto fixed = mail::prepare_submission(tx.message, clock::rfc5322_date(now), id, d_.limits.header_scan);
    if (!fixed.header_complete || fixed.from_fields != 1 || fixed.from.empty())
      co_return Reply(550, "5.6.0", "The message needs a header with exactly one From: field");
    auto check = [this, user = s.auth_user, from = fixed.from]() -> Result<std::string> {
      for (const auto& f : from) {
        auto r = owns(user, f);
        if (!r) return tl::unexpected(r.error());
        if (!*r) return f;
      }
      return std::string();
    };
    auto foreign = co_await net::run_blocking(d_.workers, std::move(check));
    if (!foreign) co_return Reply(451, "4.3.0", "Temporary lookup failure, try again later");
    if (!foreign->empty()) {
      log::warn("event=sender_refused conn={} trace={} user={} from_header={} reason=not_owned", s.conn_id, tx.trace_id,
                log::q(s.auth_user), log::q(*foreign));
      co_return Reply(553, "5.7.1", fmt::format("From: <{}> is not an address of user {}", *foreign, s.auth_user));
    }
    if (fixed.removed_bcc || fixed.added_date || fixed.added_message_id)
      log::info("event=submission_fixed trace={} removed_bcc={} added_date={} added_message_id={}", tx.trace_id,
                fixed.removed_bcc, fixed.added_date, fixed.added_message_id);
    tx.message = std::move(fixed.message);
    co_return std::nullopt;
  }

 private:
  policy::RateLimiter recipients_;  // per authenticated user, per hour

  // Whether `user` (an account's address) may send as `address`. Blocking.
  Result<bool> owns(const std::string& user, const std::string& address) {
    auto at = address.rfind('@');
    if (at == std::string::npos) return false;
    std::string local = address.substr(0, at), domain = text::to_lower(address.substr(at + 1));
    auto uat = user.rfind('@');
    std::string ulocal = user.substr(0, uat), udomain = text::to_lower(user.substr(uat + 1));
    if (domain == udomain) {
      if (text::iequals(local, ulocal)) return true;
      auto plus = local.find('+');  // the user's subaddresses (RFC 5233)
      if (plus != std::string::npos && text::iequals(local.substr(0, plus), ulocal)) return true;
    }
    auto alias = d_.store.find_alias(text::to_lower(local), domain);
    if (!alias) return tl::unexpected(alias.error());
    if (!*alias) return false;
    for (const auto& t : (*alias)->targets)
      if (text::iequals(t, user)) return true;
    return false;
  }
};

}  // namespace

std::unique_ptr<SmtpPolicy> make_inbound_policy(PolicyDeps deps) { return std::make_unique<InboundPolicy>(std::move(deps)); }
std::unique_ptr<SmtpPolicy> make_submission_policy(PolicyDeps deps) {
  return std::make_unique<SubmissionPolicy>(std::move(deps));
}

}  // namespace valija::server
