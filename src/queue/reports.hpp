#pragma once
// Delivery reports leaving valija: the report's common fields, and where it goes. Used
// by the queue runner (failed, delayed, relayed) and by local delivery (delivered, when
// the sender asked with NOTIFY=SUCCESS).
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "delivery/router.hpp"
#include "queue/dsn.hpp"
#include "queue/srs.hpp"
#include "store/store.hpp"

namespace valija::queue {

// A report from MAILER-DAEMON@hostname to `sender` about the message `trace_id`,
// arrived at `arrival`, dated `now`, with a fresh Message-ID and boundary.
DsnReport new_report(const std::string& hostname, const std::string& sender, const std::string& trace_id,
                     std::int64_t arrival, std::int64_t now);

// Where a report to `sender` goes: our own domains through the router (an SRS address
// of ours to the original sender), other domains through the queue, never with a
// report about the report (NOTIFY=NEVER, null sender). `text` must outlive the
// delivery. Blocking (store lookups): call on a worker.
Result<store::Delivery> report_delivery(delivery::Router& router, const Srs* srs, const std::string& sender,
                                        std::string_view text, std::int64_t now, const std::string& trace);

}  // namespace valija::queue
