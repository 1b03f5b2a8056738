#include "queue/reports.hpp"

#include <fmt/format.h>

#include "base/clock.hpp"
#include "delivery/trace_headers.hpp"
#include "dns/mx.hpp"

namespace valija::queue {
namespace {

store::QueuedRecipient recipient(const std::string& address) {
  store::QueuedRecipient r;
  r.address = address;
  r.domain = dns::canonical_name(std::string_view(address).substr(address.rfind('@') + 1));
  r.notify = store::notify::kNever;
  return r;
}

mail::Mailbox split(const std::string& address) {
  auto at = address.rfind('@');
  return mail::Mailbox{address.substr(0, at), at == std::string::npos ? "" : address.substr(at + 1)};
}

}  // namespace

DsnReport new_report(const std::string& hostname, const std::string& sender, const std::string& trace_id,
                     std::int64_t arrival, std::int64_t now) {
  DsnReport r;
  r.reporting_mta = hostname;
  r.postmaster = "MAILER-DAEMON@" + hostname;
  r.to = sender;
  r.queue_id = trace_id;
  r.arrival = arrival;
  r.date = now;
  auto nonce = clock::random_id(12);
  r.message_id = fmt::format("{}.{}@{}", trace_id, nonce, hostname);
  r.boundary = fmt::format("{}/{}", nonce, hostname);
  return r;
}

Result<store::Delivery> report_delivery(delivery::Router& router, const Srs* srs, const std::string& sender,
                                        std::string_view text, std::int64_t now, const std::string& trace) {
  std::string to = sender;
  auto box = split(to);
  store::Delivery d;
  d.body = text;
  d.internal_date = now;
  d.trace_id = trace;
  auto local = router.is_local(dns::canonical_name(box.domain));
  if (!local) return tl::unexpected(local.error());
  if (*local && srs && Srs::is_srs(box.local)) {
    // A report about forwarded mail goes to the original sender.
    auto orig = srs->reverse(box.local, now);
    if (!orig) return fail(Errc::Invalid, fmt::format("report to {} dropped: {}", to, orig.error().detail));
    to = *orig;
    box = split(to);
    local = router.is_local(dns::canonical_name(box.domain));
    if (!local) return tl::unexpected(local.error());
  }
  store::Outbound o;
  o.origin = "report";
  if (*local) {
    auto route = router.resolve(box);
    if (!route) return fail(Errc::NotFound, fmt::format("report to {} dropped: {}", to, route.error().detail));
    for (const auto& a : route->accounts) {
      store::Copy c;
      c.account = a.account;
      c.prefix = delivery::return_path_header("") + delivery::delivered_to_header(a.address);
      c.allow_over_quota = true;  // a report about the user's own mail is worth the grace
      d.copies.push_back(std::move(c));
    }
    for (const auto& e : route->external) o.rcpts.push_back(recipient(e));
  } else {
    o.rcpts.push_back(recipient(to));
  }
  if (!o.rcpts.empty()) d.outbound = std::move(o);
  return d;
}

}  // namespace valija::queue
