#pragma once
// Delivery status notifications (RFC 3464, RFC 3461 §6): the report valija sends to a
// message's sender when recipients failed, are delayed, or (NOTIFY=SUCCESS) were
// delivered or relayed. A multipart/report with a human-readable part, the
// message/delivery-status part, and the original message or its header per RET.
// Pure and deterministic: the caller supplies the date, Message-ID and boundary.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace valija::queue {

enum class DsnAction { Failed, Delayed, Delivered, Relayed, Expanded };
std::string_view action_name(DsnAction a);

struct DsnRecipient {
  std::string final_recipient;     // the address tried
  std::string original_recipient;  // ORCPT as given ("rfc822;ana@example.org"), or empty
  DsnAction action = DsnAction::Failed;
  std::string status;              // "5.1.1"
  std::string remote_mta;          // host name of the server that answered, or empty
  std::string diagnostic;          // the server's reply ("550 5.1.1 No such user"), or empty
  std::int64_t last_attempt = 0;   // 0: none
  std::int64_t retry_until = 0;    // for delayed: when the queue gives up
};

struct DsnReport {
  std::string reporting_mta;   // our host name
  std::string postmaster;      // "MAILER-DAEMON@host": the From: address
  std::string to;              // the original envelope sender
  std::string envid;           // ENVID, or empty
  std::string queue_id;        // our id for the message (X-Valija-Queue-ID)
  std::int64_t arrival = 0;
  std::int64_t date = 0;
  std::string message_id;      // without < >
  std::string boundary;
  std::vector<DsnRecipient> recipients;
  std::string_view original;   // the message as queued (trace headers + body)
  bool return_full = false;    // the whole message (RET=FULL and small enough), else its header
};

// The status code a reply carries: its enhanced code (RFC 3463), else the class of its
// basic code ("5.0.0", "4.0.0", "2.0.0").
std::string status_of(int code, std::string_view enhanced);

// The whole notification, CRLF lines, ready to deliver with a null sender.
std::string render_dsn(const DsnReport& report);

}  // namespace valija::queue
