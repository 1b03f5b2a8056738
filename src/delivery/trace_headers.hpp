#pragma once
// Trace fields prepended at delivery (RFC 5321 §4.4): Return-Path, Delivered-To, Received.
#include <cstdint>
#include <string>

namespace valija::delivery {

struct ReceivedInfo {
  std::string helo;
  std::string client_ip;
  std::string client_name;  // reverse DNS, when known
  std::string by_host;
  std::string protocol;     // SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTPS, ... (RFC 3848, RFC 6531)
  std::string tls;          // "TLSv1.3 with cipher ..." or empty
  std::string id;           // trace id
  std::string for_rcpt;     // only when the message has exactly one recipient (RFC 5321 §7.2)
  std::int64_t date = 0;
};

std::string received_header(const ReceivedInfo& info);
std::string return_path_header(const std::string& sender);  // "" = null reverse-path
std::string delivered_to_header(const std::string& address);
// The "with" keyword for the session (RFC 3848, RFC 6531 §3.7.3).
std::string with_protocol(bool esmtp, bool tls, bool authenticated, bool smtputf8);

}  // namespace valija::delivery
