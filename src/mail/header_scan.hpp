#pragma once
// A quick pass over a message's header section (RFC 5322 §2.2): what delivery needs
// to know before storing it, without a full MIME parse.
#include <cstddef>
#include <string>
#include <string_view>

namespace valija::mail {

struct HeaderSummary {
  std::size_t received = 0;        // "Received:" fields (hop count, RFC 5321 §6.3)
  std::size_t header_bytes = 0;    // length of the header section incl. the blank line
  bool complete = false;           // a blank line ended the header section within the scan
  std::string subject;             // unfolded, raw (for logs), cut to 200 octets
  std::string message_id;          // raw field value, trimmed, cut to 200 octets
};

// Scans at most max_scan octets. Lines may end in CRLF or LF.
HeaderSummary scan_headers(std::string_view message, std::size_t max_scan);

}  // namespace valija::mail
