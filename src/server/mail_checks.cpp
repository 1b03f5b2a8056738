#include "server/mail_checks.hpp"

#include <fmt/format.h>

#include <random>

#include "base/client_key.hpp"
#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "mail/address_list.hpp"
#include "mail/header.hpp"
#include "net/blocking.hpp"
#include "policy/authres.hpp"
#include "policy/dkim.hpp"
#include "policy/dmarc.hpp"
#include "policy/iprev.hpp"
#include "policy/spf.hpp"

namespace valija::server {

using smtp::proto::Reply;
using smtp::server::SessionInfo;
using smtp::server::Transaction;
namespace spf = policy::spf;
namespace dkim = policy::dkim;
namespace dmarc = policy::dmarc;

namespace {

constexpr std::size_t kMaxFromDomains = 4;       // distinct author domains checked by DMARC
constexpr std::size_t kHeaderScan = 256 * 1024;  // where forged fields and From are looked for
constexpr std::size_t kInlineVerify = 64 * 1024;  // DKIM verified on the I/O thread up to this size

// Looks up every query not answered yet, at once.
net::awaitable<void> fetch(dns::Resolver& resolver, std::vector<dns::Query> queries, dns::Answers& answers) {
  std::vector<dns::Query> missing;
  for (auto& q : queries)
    if (!answers.find(q) && std::find(missing.begin(), missing.end(), q) == missing.end()) missing.push_back(std::move(q));
  if (missing.empty()) co_return;
  auto got = co_await resolver.lookup_all(missing);
  for (std::size_t i = 0; i < missing.size(); ++i) answers.add(std::move(missing[i]), std::move(got[i]));
}

// The distinct domains of the From field(s) (RFC 7489 §6.6.1), lower case.
std::vector<std::string> author_domains(std::string_view message) {
  std::vector<std::string> out;
  mail::HeaderReader reader(message.substr(0, std::min(message.size(), kHeaderScan)));
  while (auto f = reader.next()) {
    if (!text::iequals(f->name, "From")) continue;
    for (const auto& a : mail::parse_address_list(f->value, 16)) {
      if (!a.host || *a.host == mail::kMissingDomain) continue;
      std::string d = dns::canonical_name(*a.host);
      if (std::find(out.begin(), out.end(), d) == out.end() && out.size() < kMaxFromDomains) out.push_back(d);
    }
  }
  return out;
}

// The client's network for greylisting: IPv4 /24, IPv6 /64 (mail from a pool of
// servers retries from a neighbour).
std::string grey_network(const std::string& ip) {
  auto key = client_key(ip);
  if (key.find(':') != std::string::npos) return key;
  auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(0, dot) + ".0/24";
}

unsigned sample() {
  thread_local std::mt19937 rng(std::random_device{}());
  return static_cast<unsigned>(rng() % 100);
}

// What the config does with an SPF result; pass does nothing.
CheckAction spf_action(const ChecksConfig& c, spf::Result r) {
  switch (r) {
    case spf::Result::Fail: return c.spf_fail;
    case spf::Result::SoftFail: return c.spf_softfail;
    case spf::Result::Neutral: return c.spf_neutral;
    case spf::Result::None: return c.spf_none;
    case spf::Result::PermError: return c.spf_permerror;
    case spf::Result::TempError: return c.spf_temperror;
    case spf::Result::Pass: break;
  }
  return CheckAction::Mark;
}

// The reply refusing a message for its SPF result at MAIL FROM.
Reply spf_refusal(const spf::Outcome& o, const std::string& client_ip) {
  switch (o.result) {
    case spf::Result::Fail: {  // RFC 7372 §3.2: 5.7.23 in place of RFC 7208 §8.4's 5.7.1
      std::string why = o.explanation.empty()
                            ? fmt::format("{} does not designate {} as permitted sender", o.domain, client_ip)
                            : o.explanation;
      return Reply(550, "5.7.23", fmt::format("SPF validation failed: {}", why));
    }
    // RFC 7372 §3.2: 4.7.24 and 5.7.24 in place of RFC 7208 §8.6's 4.4.3 and §8.7's 5.5.2.
    case spf::Result::TempError: return Reply(451, "4.7.24", "SPF validation error (DNS), try again later");
    case spf::Result::PermError:
      return Reply(550, "5.7.24", fmt::format("SPF validation error: the SPF record of {} is invalid ({})", o.domain,
                                              o.problem));
    default:  // softfail, neutral, none: no RFC 7372 code; RFC 3463 "not authorized"
      return Reply(550, "5.7.1", fmt::format("Sender not authorized: SPF {} for {} from {}", spf::name(o.result),
                                             o.domain, client_ip));
  }
}

policy::MethodResult spf_result(const spf::Outcome& o) {
  policy::MethodResult r{"spf", std::string(spf::name(o.result)), "", {}};
  if (o.result == spf::Result::TempError || o.result == spf::Result::PermError) r.comment = o.problem;
  if (o.identity == spf::Identity::Helo) r.properties.emplace_back("smtp.helo", o.domain);
  else r.properties.emplace_back("smtp.mailfrom", o.sender);
  return r;
}

policy::MethodResult dkim_result(const dkim::Verdict& v) {
  policy::MethodResult r{"dkim", std::string(dkim::result_name(v.result)), v.reason, {}};
  // RFC 6376 §3.6.1: reported, but the message counts as unsigned (dkim::authenticates).
  if (v.testing) r.comment += r.comment.empty() ? "key in testing mode" : "; key in testing mode";
  if (!v.domain.empty()) r.properties.emplace_back("header.d", v.domain);
  if (!v.selector.empty()) r.properties.emplace_back("header.s", v.selector);
  if (!v.algorithm.empty()) r.properties.emplace_back("header.a", v.algorithm);
  if (!v.b_prefix.empty()) r.properties.emplace_back("header.b", v.b_prefix);
  return r;
}

// `did`: what valija did with the message for this domain's policy (dis=).
policy::MethodResult dmarc_result(const dmarc::Outcome& o, dmarc::Policy did) {
  policy::MethodResult r{"dmarc", std::string(dmarc::status_name(o.status)), "", {}};
  if (o.status == dmarc::Status::Pass || o.status == dmarc::Status::Fail)
    r.comment = fmt::format("p={} dis={}", dmarc::policy_name(o.requested), dmarc::policy_name(did));
  else if (!o.detail.empty())
    r.comment = o.detail;
  r.properties.emplace_back("header.from", o.domain);
  return r;
}

}  // namespace

struct MailChecks::SpfState {
  explicit SpfState(const asio::any_io_executor& ex) : done(ex, std::chrono::steady_clock::time_point::max()) {}
  spf::Input input;
  std::optional<spf::Outcome> outcome;
  asio::steady_timer done;  // cancelled when the outcome is in

  net::awaitable<spf::Outcome> wait() {
    while (!outcome) co_await done.async_wait(net::use_tuple);
    co_return *outcome;
  }
};

MailChecks::MailChecks(Deps deps)
    : d_(std::move(deps)),
      authserv_id_(d_.config.authserv_id.empty() ? d_.hostname : d_.config.authserv_id),
      exempt_(d_.config.exempt_networks),
      trusted_(d_.trusted_networks),
      connections_(d_.config.connections_per_minute, 60),
      messages_(d_.config.messages_per_hour, 3600) {}

MailChecks::~MailChecks() = default;

bool MailChecks::exempt(const SessionInfo& s) const {
  return !s.auth_user.empty() || exempt_.contains(s.client_ip) || trusted_.contains(s.client_ip);
}

net::awaitable<smtp::server::SmtpPolicy::ConnectAnswer> MailChecks::connect(const SessionInfo& s) {
  smtp::server::SmtpPolicy::ConnectAnswer answer;
  if (exempt(s)) co_return answer;
  auto now = clock::now_unix();
  if (!connections_.allow(client_key(s.client_ip), now)) {
    log::warn("event=rate_limited conn={} client={} limit=connections_per_minute value={}", s.conn_id, s.client_ip,
              connections_.limit());
    answer.refuse = Reply(421, "4.7.0", fmt::format("{} Too many connections from {}, try again later", d_.hostname,
                                                    s.client_ip));
    co_return answer;
  }
  // Blocklists and the first iprev lookup in one batch, then iprev to its end.
  policy::IprevCheck iprev(s.client_ip);
  dns::Answers answers;
  std::vector<dns::Query> first;
  if (auto step = iprev.evaluate(answers); auto* q = std::get_if<std::vector<dns::Query>>(&step)) first = *q;
  std::vector<std::pair<std::string, dns::Query>> lists;
  for (const auto& zone : d_.config.blocklists)
    if (auto q = policy::blocklist_query(s.client_ip, zone)) {
      lists.emplace_back(zone, *q);
      first.push_back(*q);
    }
  co_await fetch(d_.resolver, first, answers);
  for (const auto& [zone, q] : lists) {
    auto listed = policy::blocklist_result(*answers.find(q));
    if (listed.kind == policy::BlocklistResult::Kind::Error)
      log::warn("event=blocklist_error conn={} client={} list={} detail={}", s.conn_id, s.client_ip, zone,
                log::q(listed.detail));
    if (listed.kind != policy::BlocklistResult::Kind::Listed) continue;
    log::warn("event=blocklisted conn={} client={} list={} codes={}", s.conn_id, s.client_ip, zone,
              log::q(fmt::format("{}", fmt::join(listed.codes, ","))));
    answer.refuse = Reply(554, "5.7.1", fmt::format("Service unavailable; client [{}] blocked using {}", s.client_ip, zone));
    co_return answer;
  }
  policy::IprevOutcome overrun{policy::IprevResult::TempError, "", "too many lookups"};
  auto rev = co_await dns::run_check(d_.resolver, iprev, answers, overrun);
  answer.iprev = std::string(policy::iprev_name(rev.result));
  if (rev.result == policy::IprevResult::Pass) answer.client_name = rev.name;
  log::info("event=client_checked conn={} client={} iprev={} name={} detail={}", s.conn_id, s.client_ip, answer.iprev,
            log::q(rev.name), log::q(rev.detail));
  if (d_.config.iprev_required && rev.result != policy::IprevResult::Pass) {
    answer.refuse = rev.result == policy::IprevResult::TempError
                        ? Reply(421, "4.7.25", fmt::format("{} Reverse DNS lookup of [{}] failed, try again later",
                                                           d_.hostname, s.client_ip))
                        : Reply(554, "5.7.25", fmt::format("Reverse DNS validation failed for [{}]", s.client_ip));
  }
  co_return answer;
}

net::awaitable<std::optional<Reply>> MailChecks::mail(const SessionInfo& s, Transaction& tx) {
  if (exempt(s)) co_return std::nullopt;
  auto now = clock::now_unix();
  auto key = client_key(s.client_ip);
  if (!messages_.allow(key, now)) {
    auto wait = messages_.retry_after(key, now);
    log::warn("event=rate_limited conn={} trace={} client={} limit=messages_per_hour value={}", s.conn_id, tx.trace_id,
              s.client_ip, messages_.limit());
    co_return Reply(451, "4.7.1", fmt::format("Too many messages from {}, try again in {} seconds", s.client_ip, wait));
  }
  if (!d_.config.spf) co_return std::nullopt;
  // SPF runs while the client sends recipients and content; end of data awaits it.
  auto executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<SpfState>(executor);
  state->input = spf::Input{s.client_ip, tx.from.str(), s.helo, d_.hostname, now};
  tx.checks = state;
  auto run = [](dns::Resolver& resolver, std::shared_ptr<SpfState> st) -> net::awaitable<void> {
    spf::Check check(st->input, spf::Identity::MailFrom);
    dns::Answers answers;
    spf::Outcome overrun;
    overrun.result = spf::Result::TempError;
    overrun.problem = "too many DNS rounds";
    auto outcome = co_await dns::run_check(resolver, check, answers, overrun);
    st->outcome = std::move(outcome);
    st->done.cancel();
  };
  asio::co_spawn(executor, run(d_.resolver, state), asio::detached);
  // A result configured to reject is refused here; only then is SPF awaited at MAIL FROM.
  bool decide_now = false;
  for (auto r : {spf::Result::Fail, spf::Result::SoftFail, spf::Result::Neutral, spf::Result::None,
                 spf::Result::PermError, spf::Result::TempError})
    decide_now = decide_now || spf_action(d_.config, r) == CheckAction::Reject;
  if (!decide_now) co_return std::nullopt;
  auto o = co_await state->wait();
  if (spf_action(d_.config, o.result) != CheckAction::Reject) co_return std::nullopt;
  log::info("event=spf_refused conn={} trace={} from={} result={}", s.conn_id, tx.trace_id,
            log::q("<" + tx.from.str() + ">"), spf::name(o.result));
  co_return spf_refusal(o, s.client_ip);
}

net::awaitable<std::optional<Reply>> MailChecks::rcpt(const SessionInfo& s, const Transaction& tx, const mail::Mailbox& to) {
  if (!d_.config.greylist || exempt(s)) co_return std::nullopt;
  auto triplet = fmt::format("{} {} {}", grey_network(s.client_ip), text::to_lower(tx.from.str()), text::to_lower(to.str()));
  store::GreylistPolicy gp;
  gp.delay = d_.config.greylist_delay.count();
  auto decide = [this, triplet, gp] { return d_.store.greylist(triplet, clock::now_unix(), gp); };
  auto d = co_await net::run_blocking(d_.workers, std::move(decide));
  if (!d) {  // a store error must not stop mail: greylisting is a filter, not a gate
    log::warn("event=greylist_error conn={} error={}", s.conn_id, log::q(d.error().detail));
    co_return std::nullopt;
  }
  if (d->pass) co_return std::nullopt;
  log::info("event=greylisted conn={} trace={} client={} from={} to={} retry_after={}", s.conn_id, tx.trace_id,
            s.client_ip, log::q("<" + tx.from.str() + ">"), log::q("<" + to.str() + ">"), d->retry_after);
  co_return Reply(451, "4.7.1", fmt::format("<{}>: Greylisted, please try again in {} seconds", to.str(), d->retry_after));
}

net::awaitable<MessageVerdict> MailChecks::message(const SessionInfo& s, Transaction& tx) {
  MessageVerdict v;
  if (auto n = policy::strip_authentication_results(tx.message, authserv_id_, kHeaderScan))
    log::info("event=authres_removed trace={} count={} authserv_id={}", tx.trace_id, n, authserv_id_);
  if (exempt(s)) co_return v;
  auto now = clock::now_unix();
  // DKIM keys and the DMARC records of every author domain, asked together.
  auto domains = author_domains(tx.message);
  dkim::Found found;
  if (d_.config.dkim) found = dkim::signatures(tx.message);
  dns::Answers answers;
  for (int round = 0; round < 4; ++round) {
    std::vector<dns::Query> need;
    if (round == 0)
      for (const auto& p : found.pending) need.push_back(p.key_query);
    if (d_.config.dmarc)
      for (const auto& d : domains) {
        dmarc::Check probe(dmarc::Input{d, "", false, {}, 0});
        if (auto step = probe.evaluate(answers); auto* q = std::get_if<std::vector<dns::Query>>(&step))
          need.insert(need.end(), q->begin(), q->end());
      }
    if (need.empty()) break;
    co_await fetch(d_.resolver, need, answers);
  }
  // Verifying hashes the body: a small message here (tens of microseconds, less than
  // the two thread hops of a worker), a large one on a worker.
  std::vector<dkim::Verdict> verdicts = found.malformed;
  if (!found.pending.empty()) {
    auto verify = [&tx, &found, &answers, now] {
      std::vector<dkim::Verdict> out;
      for (const auto& p : found.pending) out.push_back(dkim::verify(tx.message, p, *answers.find(p.key_query), now));
      return out;
    };
    std::vector<dkim::Verdict> checked;
    if (tx.message.size() <= kInlineVerify) checked = verify();
    else checked = co_await net::run_blocking(d_.workers, std::move(verify));  // not in a ?: (g++ 12)
    verdicts.insert(verdicts.end(), checked.begin(), checked.end());
  }
  std::optional<spf::Outcome> spf_outcome;
  std::shared_ptr<SpfState> spf_state;
  if (auto* st = std::any_cast<std::shared_ptr<SpfState>>(&tx.checks)) spf_state = *st;
  if (spf_state) spf_outcome = co_await spf_state->wait();

  std::vector<policy::MethodResult> results;
  if (!s.iprev.empty()) {
    policy::MethodResult r{"iprev", s.iprev, s.client_name, {{"policy.iprev", s.client_ip}}};
    results.push_back(std::move(r));
  }
  if (spf_outcome) results.push_back(spf_result(*spf_outcome));
  std::vector<std::string> dkim_pass;  // what DMARC may align with: no l= tails, no t=y keys
  for (const auto& d : verdicts) {
    results.push_back(dkim_result(d));
    if (dkim::authenticates(d)) dkim_pass.push_back(d.domain);
  }
  if (d_.config.dkim && verdicts.empty()) results.push_back(policy::MethodResult{"dkim", "none", "", {}});

  // DMARC per author domain; the strictest outcome decides.
  std::optional<dmarc::Outcome> worst;
  std::vector<dmarc::Outcome> outcomes;
  bool spf_pass = spf_outcome && spf_outcome->result == spf::Result::Pass && spf_outcome->identity == spf::Identity::MailFrom;
  for (const auto& d : d_.config.dmarc ? domains : std::vector<std::string>{}) {
    dmarc::Check check(dmarc::Input{d, spf_outcome ? spf_outcome->domain : "", spf_pass, dkim_pass, sample()});
    dmarc::Outcome o;
    o.domain = d;
    o.status = dmarc::Status::TempError;
    o.detail = "DNS lookups did not finish";
    if (auto step = check.evaluate(answers); auto* done = std::get_if<dmarc::Outcome>(&step)) o = std::move(*done);
    outcomes.push_back(o);
    if (!worst || static_cast<int>(o.applied) > static_cast<int>(worst->applied) ||
        (o.status == dmarc::Status::Fail && worst->status != dmarc::Status::Fail))
      worst = o;
  }
  // What the results do to the message: the strictest action of SPF's and DMARC's.
  bool dmarc_fails = worst && worst->status == dmarc::Status::Fail && worst->applied != dmarc::Policy::None;
  if (dmarc_fails) {
    auto action = worst->applied == dmarc::Policy::Reject ? d_.config.dmarc_reject : d_.config.dmarc_quarantine;
    if (action == CheckAction::Reject)
      v.refuse = Reply(550, "5.7.1", fmt::format("Message rejected by the DMARC policy of {}: {}", worst->domain,
                                                 worst->detail));
    else if (action == CheckAction::Junk)
      v.junk = true;
  }
  auto spf_does = spf_outcome ? spf_action(d_.config, spf_outcome->result) : CheckAction::Mark;
  // "dmarc": the SPF-failing domain's own DMARC policy says reject, i.e. the envelope
  // domain belongs to the author domain whose policy failed (relaxed alignment).
  if (spf_does == CheckAction::Dmarc && dmarc_fails && worst->applied == dmarc::Policy::Reject &&
      dmarc::aligned(worst->domain, spf_outcome->domain, dmarc::Alignment::Relaxed))
    // RFC 7372 §3.2: 5.7.23 when SPF failed outright (the more precise reason).
    v.refuse = Reply(550, "5.7.23", fmt::format("SPF validation failed and {} publishes a DMARC reject policy",
                                                worst->domain));
  if (spf_does == CheckAction::Junk) v.junk = true;

  // dis= (RFC 7489 §11.2) says what valija did with a message whose DMARC check failed:
  // a reject policy carried out as Junk is quarantine, a quarantine delivered to the
  // inbox (dmarc_quarantine = "mark") is none, and Junk for SPF's sake is quarantine.
  auto did = [&](const dmarc::Outcome& o) {
    if (o.status != dmarc::Status::Fail) return dmarc::Policy::None;
    return v.refuse ? dmarc::Policy::Reject : v.junk ? dmarc::Policy::Quarantine : dmarc::Policy::None;
  };
  for (const auto& o : outcomes) results.push_back(dmarc_result(o, did(o)));
  v.headers = policy::authentication_results(authserv_id_, results);
  if (spf_outcome) v.headers += spf::received_spf(*spf_outcome, spf_state->input);
  for (const auto& r : results) {
    if (!v.summary.empty()) v.summary += ' ';
    v.summary += r.method + "=" + r.result;
  }
  log::info("event=message_checked trace={} client={} {} action={}", tx.trace_id, s.client_ip, v.summary,
            v.refuse ? "reject" : v.junk ? "junk" : "accept");
  co_return v;
}

}  // namespace valija::server
