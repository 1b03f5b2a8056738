#pragma once
// Message submission fix-ups (RFC 6409 §8): what a submission server does to a message
// from a user's client before it goes anywhere. Bcc: fields are removed (RFC 5322
// §3.6.3: the blind recipients must not see each other, nor the others them); a missing
// Date: or Message-ID: is added (RFC 6409 §8.2, §8.3); the From: addresses are read so
// the server can check the user owns them. Pure and bounded.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace valija::mail {

struct Submission {
  std::string message;            // the message to store and send
  std::vector<std::string> from;  // the From: mailboxes, "local@domain" as written
  std::size_t from_fields = 0;    // how many From: fields (RFC 5322 §3.6: exactly one)
  bool header_complete = false;   // the header section ended (with an empty line) within the scan
  bool added_date = false;
  bool added_message_id = false;
  std::size_t removed_bcc = 0;
};

// `max_header` bounds the scan (the header section is the first max_header octets at
// most; a longer one is left as it is, header_complete false). `date` and `message_id`
// (without < >) are what to add when missing.
Submission prepare_submission(std::string_view message, std::string_view date, std::string_view message_id,
                              std::size_t max_header = 256 * 1024);

}  // namespace valija::mail
