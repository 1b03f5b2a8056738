#include "queue/dsn.hpp"

#include <fmt/format.h>

#include "base/clock.hpp"

namespace valija::queue {
namespace {

// The header block of `message` (up to the empty line), without that line.
std::string_view header_of(std::string_view message) {
  auto end = message.find("\r\n\r\n");
  if (end == std::string_view::npos) return message;
  return message.substr(0, end + 2);
}

// A field value on one line: CR and LF (and other controls) become spaces.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return out;
}

std::string human_text(const DsnReport& r) {
  bool failed = false, delayed = false, success = false;
  for (const auto& x : r.recipients) {
    failed |= x.action == DsnAction::Failed;
    delayed |= x.action == DsnAction::Delayed;
    success |= x.action == DsnAction::Delivered || x.action == DsnAction::Relayed || x.action == DsnAction::Expanded;
  }
  std::string t = fmt::format("This is the mail system at host {}.\r\n\r\n", r.reporting_mta);
  if (failed)
    t += "I'm sorry to have to inform you that your message could not be delivered to one or more recipients.\r\n"
         "The details are below.\r\n\r\n";
  if (delayed)
    t += "Your message could not be delivered yet to one or more recipients. The mail system will keep\r\n"
         "trying; you do not need to send it again. You will be told if it finally fails.\r\n\r\n";
  if (success)
    t += "Your message was delivered to the recipients below, as you asked to be told.\r\n\r\n";
  for (const auto& x : r.recipients) {
    t += fmt::format("<{}>: {}", one_line(x.final_recipient), action_name(x.action));
    if (!x.remote_mta.empty()) t += fmt::format(", host {}", one_line(x.remote_mta));
    if (!x.diagnostic.empty()) t += fmt::format(" said: {}", one_line(x.diagnostic));
    t += "\r\n";
    if (x.action == DsnAction::Delayed && x.retry_until)
      t += fmt::format("    (will keep trying until {})\r\n", clock::rfc5322_date(x.retry_until));
  }
  return t;
}

std::string status_part(const DsnReport& r) {
  // Per-message fields, then one block per recipient (RFC 3464 §2.2, §2.3).
  std::string s = fmt::format("Reporting-MTA: dns; {}\r\n", one_line(r.reporting_mta));
  if (!r.queue_id.empty()) s += fmt::format("X-Valija-Queue-ID: {}\r\n", one_line(r.queue_id));
  if (!r.envid.empty()) s += fmt::format("Original-Envelope-Id: {}\r\n", one_line(r.envid));
  if (r.arrival) s += fmt::format("Arrival-Date: {}\r\n", clock::rfc5322_date(r.arrival));
  for (const auto& x : r.recipients) {
    s += "\r\n";
    if (!x.original_recipient.empty()) s += fmt::format("Original-Recipient: {}\r\n", one_line(x.original_recipient));
    s += fmt::format("Final-Recipient: rfc822; {}\r\n", one_line(x.final_recipient));
    s += fmt::format("Action: {}\r\n", action_name(x.action));
    s += fmt::format("Status: {}\r\n", one_line(x.status));
    if (!x.remote_mta.empty()) s += fmt::format("Remote-MTA: dns; {}\r\n", one_line(x.remote_mta));
    if (!x.diagnostic.empty()) s += fmt::format("Diagnostic-Code: smtp; {}\r\n", one_line(x.diagnostic));
    if (x.last_attempt) s += fmt::format("Last-Attempt-Date: {}\r\n", clock::rfc5322_date(x.last_attempt));
    if (x.action == DsnAction::Delayed && x.retry_until)
      s += fmt::format("Will-Retry-Until: {}\r\n", clock::rfc5322_date(x.retry_until));
  }
  return s;
}

std::string subject(const DsnReport& r) {
  bool failed = false, delayed = false;
  for (const auto& x : r.recipients) {
    failed |= x.action == DsnAction::Failed;
    delayed |= x.action == DsnAction::Delayed;
  }
  if (failed) return "Undelivered Mail Returned to Sender";
  if (delayed) return "Delayed Mail (still being retried)";
  return "Successful Mail Delivery Report";
}

}  // namespace

std::string_view action_name(DsnAction a) {
  switch (a) {
    case DsnAction::Failed: return "failed";
    case DsnAction::Delayed: return "delayed";
    case DsnAction::Delivered: return "delivered";
    case DsnAction::Relayed: return "relayed";
    case DsnAction::Expanded: return "expanded";
  }
  return "failed";
}

std::string status_of(int code, std::string_view enhanced) {
  if (!enhanced.empty()) return std::string(enhanced);
  return fmt::format("{}.0.0", code >= 500 ? 5 : code >= 400 ? 4 : 2);
}

std::string render_dsn(const DsnReport& r) {
  std::string m;
  m += fmt::format("From: Mail Delivery System <{}>\r\n", r.postmaster);
  m += fmt::format("To: <{}>\r\n", one_line(r.to));
  m += fmt::format("Subject: {}\r\n", subject(r));
  m += fmt::format("Date: {}\r\n", clock::rfc5322_date(r.date));
  m += fmt::format("Message-ID: <{}>\r\n", r.message_id);
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 §5: never answered automatically
  m += "MIME-Version: 1.0\r\n";
  m += fmt::format("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n", r.boundary);
  m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";
  m += fmt::format("--{}\r\n", r.boundary);
  m += "Content-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  m += human_text(r);
  m += fmt::format("\r\n--{}\r\n", r.boundary);
  m += "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
  m += status_part(r);
  m += fmt::format("\r\n--{}\r\n", r.boundary);
  std::string_view what = subject(r) == "Successful Mail Delivery Report" ? "Delivered Message" : "Undelivered Message";
  if (r.return_full) {
    m += fmt::format("Content-Description: {}\r\nContent-Type: message/rfc822\r\n\r\n", what);
    m += r.original;
    if (!r.original.ends_with("\r\n")) m += "\r\n";
  } else {
    m += fmt::format("Content-Description: {} Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n", what);
    m += header_of(r.original);
  }
  m += fmt::format("\r\n--{}--\r\n", r.boundary);
  return m;
}

}  // namespace valija::queue
