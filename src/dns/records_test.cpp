#include "dns/records.hpp"

#include <gtest/gtest.h>

namespace valija::dns {
namespace {

std::span<const unsigned char> bytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

TEST(Records, ReversesAddressesForPtrAndBlocklists) {
  EXPECT_EQ(reversed_address("192.0.2.1"), "1.2.0.192");
  EXPECT_EQ(ptr_name("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(ptr_name("::ffff:192.0.2.1"), "1.2.0.192.in-addr.arpa");
  // RFC 3596 §2.5's example address, 4321:0:1:2:3:4:567:89ab.
  EXPECT_EQ(ptr_name("4321:0:1:2:3:4:567:89ab"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
  EXPECT_FALSE(reversed_address("example.org"));
  EXPECT_FALSE(reversed_address("192.0.2.256"));
  EXPECT_FALSE(reversed_address(""));
}

TEST(Records, DecodesTextRecordsByJoiningTheirStrings) {
  using namespace std::string_literals;
  EXPECT_EQ(decode_rdata(RrType::Txt, bytes("\x07v=spf1 \x04-all"s)).value(), "v=spf1 -all");
  EXPECT_EQ(decode_rdata(RrType::Txt, bytes("\x00"s)).value(), "");
  EXPECT_FALSE(decode_rdata(RrType::Txt, bytes("\x09v=spf1"s)));  // length past the end
  EXPECT_FALSE(decode_rdata(RrType::Txt, bytes(""s)));
}

TEST(Records, DecodesAddressesAndNames) {
  using namespace std::string_literals;
  EXPECT_EQ(decode_rdata(RrType::A, bytes("\xc0\x00\x02\x01"s)).value(), "192.0.2.1");
  EXPECT_FALSE(decode_rdata(RrType::A, bytes("\xc0\x00\x02"s)));
  EXPECT_EQ(decode_rdata(RrType::Aaaa, bytes("\x20\x01\x0d\xb8"s + std::string(11, '\0') + "\x01"s)).value(),
            "2001:db8::1");
  EXPECT_EQ(decode_rdata(RrType::Ptr, bytes(to_wire_name("Mail.Example.org"))).value(), "mail.example.org");
  EXPECT_FALSE(decode_rdata(RrType::Ptr, bytes(to_wire_name("a.example") + "x")));
  EXPECT_EQ(decode_rdata(RrType::Mx, bytes("\x00\x0a"s + to_wire_name("mx.example"))).value(), "mx.example");
}

TEST(Records, DecodesServiceRecords) {
  using namespace std::string_literals;
  // RFC 6186 §3.1: _imaps._tcp SRV 0 1 993 Mail.Example.com.
  EXPECT_EQ(decode_rdata(RrType::Srv, bytes("\x00\x00\x00\x01\x03\xe1"s + to_wire_name("Mail.Example.com"))).value(),
            "0 1 993 mail.example.com");
  // §4: a target of "." says the service is not offered.
  EXPECT_EQ(decode_rdata(RrType::Srv, bytes("\x00\x00\x00\x00\x00\x00\x00"s)).value(), "0 0 0 .");
  EXPECT_EQ(decode_rdata(RrType::Srv, bytes("\x01\x00\xff\xff\x02\x4b"s + to_wire_name("a.example"))).value(),
            "256 65535 587 a.example");
  EXPECT_FALSE(decode_rdata(RrType::Srv, bytes("\x00\x00\x00\x01\x03"s)));  // too short
  EXPECT_FALSE(decode_rdata(RrType::Srv, bytes("\x00\x00\x00\x01\x03\xe1"s + to_wire_name("a.example") + "x")));
  EXPECT_EQ(type_name(RrType::Srv), "SRV");
}

TEST(Records, AnswersAreFoundByCanonicalQuery) {
  Answers a;
  a.add(make_query("Example.ORG.", RrType::Txt), Answer{Outcome::Answer, {"v=spf1 -all"}, ""});
  ASSERT_NE(a.find(make_query("example.org", RrType::Txt)), nullptr);
  EXPECT_EQ(a.find(make_query("example.org", RrType::A)), nullptr);
}

}  // namespace
}  // namespace valija::dns
