// Trace fields (RFC 5321 §4.4): exact text, and hostile client input cannot break them.
#include "delivery/trace_headers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <algorithm>
#include <vector>

namespace valija::delivery {
namespace {

constexpr std::int64_t kDate = 1700000000;  // Tue, 14 Nov 2023 22:13:20 +0000

ReceivedInfo base() {
  ReceivedInfo i;
  i.helo = "mail.example.net";
  i.client_ip = "192.0.2.1";
  i.client_name = "client.example.net";
  i.by_host = "mx.example.org";
  i.protocol = "ESMTP";
  i.id = "7QKD2M9XJ4";
  i.date = kDate;
  return i;
}

// Every line break is CRLF, and every line after the first is a continuation (starts
// with white space), so the value cannot start a new header field.
void expect_one_folded_field(const std::string& h) {
  ASSERT_GE(h.size(), 2u);
  EXPECT_EQ(h.substr(h.size() - 2), "\r\n");
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h[i] == '\r') {
      ASSERT_LT(i + 1, h.size()) << "bare CR at the end";
      ASSERT_EQ(h[i + 1], '\n') << "bare CR at " << i;
      if (i + 2 < h.size()) {
        EXPECT_TRUE(h[i + 2] == '\t' || h[i + 2] == ' ') << "unfolded line at " << i + 2;
      }
    } else if (h[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(h[i - 1], '\r') << "bare LF at " << i;
    }
  }
}

TEST(ReceivedHeader, EsmtpOneRecipient) {
  auto i = base();
  i.for_rcpt = "ana@example.org";
  const std::string h = received_header(i);
  EXPECT_EQ(h,
            "Received: from mail.example.net (client.example.net [192.0.2.1])\r\n"
            "\tby mx.example.org (valija) with ESMTP id 7QKD2M9XJ4\r\n"
            "\tfor <ana@example.org>;\r\n"
            "\tTue, 14 Nov 2023 22:13:20 +0000\r\n");
  expect_one_folded_field(h);
}

TEST(ReceivedHeader, SeveralRecipientsHaveNoForClause) {
  // RFC 5321 §7.2: naming one of several recipients would disclose it to the others.
  auto i = base();
  const std::string h = received_header(i);
  EXPECT_EQ(h,
            "Received: from mail.example.net (client.example.net [192.0.2.1])\r\n"
            "\tby mx.example.org (valija) with ESMTP id 7QKD2M9XJ4;\r\n"
            "\tTue, 14 Nov 2023 22:13:20 +0000\r\n");
  EXPECT_EQ(h.find("for "), std::string::npos);
  expect_one_folded_field(h);
}

TEST(ReceivedHeader, NoReverseName) {
  auto i = base();
  i.client_name.clear();
  i.helo = "[192.0.2.1]";
  i.protocol = "SMTP";
  EXPECT_EQ(received_header(i),
            "Received: from [192.0.2.1] ([192.0.2.1])\r\n"
            "\tby mx.example.org (valija) with SMTP id 7QKD2M9XJ4;\r\n"
            "\tTue, 14 Nov 2023 22:13:20 +0000\r\n");
}

TEST(ReceivedHeader, Tls) {
  auto i = base();
  i.protocol = "ESMTPS";
  i.tls = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)";
  i.for_rcpt = "ana@example.org";
  const std::string h = received_header(i);
  EXPECT_EQ(h,
            "Received: from mail.example.net (client.example.net [192.0.2.1])\r\n"
            "\tby mx.example.org (valija) with ESMTPS id 7QKD2M9XJ4\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
            "\tfor <ana@example.org>;\r\n"
            "\tTue, 14 Nov 2023 22:13:20 +0000\r\n");
  expect_one_folded_field(h);
}

// RFC 5321 §4.1.3: an IPv6 address literal is "[IPv6:" address "]".
TEST(ReceivedHeader, Ipv6ClientIsTaggedAddressLiteral) {
  auto i = base();
  i.client_ip = "2001:db8::1";
  const std::string h = received_header(i);
  EXPECT_NE(h.find("(client.example.net [IPv6:2001:db8::1])"), std::string::npos) << h;
}

TEST(ReceivedHeader, HostileHeloIsSanitised) {
  auto i = base();
  i.helo = "evil.example\r\nX-Injected: yes (fake)";
  i.client_name.clear();
  const std::string h = received_header(i);
  EXPECT_EQ(h,
            "Received: from evil.example__X-Injected:_yes__fake_ ([192.0.2.1])\r\n"
            "\tby mx.example.org (valija) with ESMTP id 7QKD2M9XJ4;\r\n"
            "\tTue, 14 Nov 2023 22:13:20 +0000\r\n");
  EXPECT_EQ(h.find("\r\nX-Injected"), std::string::npos);
  expect_one_folded_field(h);
}

// A header token from the client: printable ASCII without white space or parentheses.
bool is_clean_token(const std::string& s) {
  for (unsigned char c : s)
    if (c <= 32 || c >= 127 || c == '(' || c == ')') return false;
  return !s.empty();
}

TEST(ReceivedHeader, HostileInputsNeverBreakTheField) {
  const std::vector<std::string> hostile{
      "a\rb",          "a\nb",         "a\r\n\r\nBody-Starts-Here",
      "a\r\n b",       "tab\there",    "(comment) x",
      "x)(y",          std::string("nul\0byte", 8), "\x7f\x80\xff",
      "caf\xc3\xa9",   std::string(1000, 'h'), "a b c",
      "\x1b[31mred",
  };
  for (const auto& bad : hostile) {
    SCOPED_TRACE("input: " + bad);
    auto i = base();
    i.helo = bad;
    i.client_name = bad;
    const std::string h = received_header(i);
    expect_one_folded_field(h);
    // The from clause stays one line of the shape: from <helo> (<name> [<ip>])
    const std::string first = h.substr(0, h.find("\r\n"));
    ASSERT_EQ(first.rfind("Received: from ", 0), 0u) << first;
    const std::string tail = " [192.0.2.1])";
    ASSERT_GE(first.size(), tail.size());
    ASSERT_EQ(first.substr(first.size() - tail.size()), tail) << first;
    const std::string inner = first.substr(15, first.size() - 15 - tail.size());  // "<helo> (<name>"
    const auto sep = inner.find(" (");
    ASSERT_NE(sep, std::string::npos) << first;
    const std::string helo = inner.substr(0, sep), name = inner.substr(sep + 2);
    EXPECT_TRUE(is_clean_token(helo)) << helo;
    EXPECT_TRUE(is_clean_token(name)) << name;
    EXPECT_LE(helo.size(), 255u);
    EXPECT_LE(name.size(), 255u);
  }
}

TEST(ReceivedHeader, LongHeloIsCut) {
  auto i = base();
  i.helo = std::string(300, 'a');
  i.client_name.clear();
  const std::string h = received_header(i);
  EXPECT_NE(h.find("from " + std::string(255, 'a') + " ([192.0.2.1])"), std::string::npos);
  EXPECT_EQ(h.find(std::string(256, 'a')), std::string::npos);
}

TEST(WithProtocol, AllCombinations) {
  // RFC 3848 and RFC 6531 §3.7.3 keywords. Without EHLO there is no STARTTLS, AUTH or
  // SMTPUTF8 to report.
  struct Case {
    bool esmtp, tls, auth, utf8;
    const char* want;
  };
  const Case cases[] = {
      {false, false, false, false, "SMTP"},      {false, true, false, false, "SMTP"},
      {false, false, true, false, "SMTP"},       {false, false, false, true, "SMTP"},
      {false, true, true, true, "SMTP"},         {true, false, false, false, "ESMTP"},
      {true, true, false, false, "ESMTPS"},      {true, false, true, false, "ESMTPA"},
      {true, true, true, false, "ESMTPSA"},      {true, false, false, true, "UTF8SMTP"},
      {true, true, false, true, "UTF8SMTPS"},    {true, false, true, true, "UTF8SMTPA"},
      {true, true, true, true, "UTF8SMTPSA"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(with_protocol(c.esmtp, c.tls, c.auth, c.utf8), c.want)
        << "esmtp=" << c.esmtp << " tls=" << c.tls << " auth=" << c.auth << " utf8=" << c.utf8;
}

TEST(ReturnPath, NullSender) { EXPECT_EQ(return_path_header(""), "Return-Path: <>\r\n"); }

TEST(ReturnPath, Sender) {
  EXPECT_EQ(return_path_header("bounce+x@example.net"), "Return-Path: <bounce+x@example.net>\r\n");
}

TEST(DeliveredTo, Address) {
  EXPECT_EQ(delivered_to_header("ana@example.org"), "Delivered-To: ana@example.org\r\n");
}

}  // namespace
}  // namespace valija::delivery
