#include "delivery/trace_headers.hpp"

#include <fmt/format.h>

#include "base/clock.hpp"

namespace valija::delivery {
namespace {
// The HELO name comes from the client: keep only what a host name or address literal
// uses, so it can neither fold the header nor fake a comment or the ";" before the date.
std::string clean(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || c == ':' || c == '[' || c == ']';
    out += ok ? static_cast<char>(c) : '_';
  }
  return out.substr(0, 255);
}
}  // namespace

std::string received_header(const ReceivedInfo& i) {
  // RFC 5321 §4.1.3: an IPv6 address literal carries the "IPv6:" tag.
  std::string literal = i.client_ip.find(':') != std::string::npos ? "IPv6:" + i.client_ip : i.client_ip;
  std::string from = fmt::format("from {} ({}[{}])", clean(i.helo), i.client_name.empty() ? "" : clean(i.client_name) + " ",
                                 literal);
  std::string out = fmt::format("Received: {}\r\n\tby {} (valija) with {} id {}", from, i.by_host, i.protocol, i.id);
  if (!i.tls.empty()) out += fmt::format("\r\n\t(using {})", i.tls);
  if (!i.for_rcpt.empty()) out += fmt::format("\r\n\tfor <{}>", i.for_rcpt);
  out += fmt::format(";\r\n\t{}\r\n", clock::rfc5322_date(i.date));
  return out;
}

std::string return_path_header(const std::string& sender) { return fmt::format("Return-Path: <{}>\r\n", sender); }

std::string delivered_to_header(const std::string& address) { return fmt::format("Delivered-To: {}\r\n", address); }

std::string with_protocol(bool esmtp, bool tls, bool authenticated, bool smtputf8) {
  if (!esmtp) return "SMTP";
  std::string p = smtputf8 ? "UTF8SMTP" : "ESMTP";
  if (tls) p += "S";
  if (authenticated) p += "A";
  return p;
}

}  // namespace valija::delivery
