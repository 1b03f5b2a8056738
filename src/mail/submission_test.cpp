#include "mail/submission.hpp"

#include <gtest/gtest.h>

namespace valija::mail {
namespace {

constexpr std::string_view kDate = "Fri, 27 Nov 2026 10:00:00 +0000";

TEST(Submission, BccRemovedDateAndIdAdded) {
  std::string m =
      "From: Ana <ana@example.org>\r\nTo: bob@example.net\r\nBcc: secret@example.com,\r\n other@example.com\r\n"
      "Subject: hi\r\nbcc: second@example.com\r\n\r\nBody\r\nBcc: stays in the body\r\n";
  auto s = prepare_submission(m, kDate, "abc@mail.example.org");
  EXPECT_TRUE(s.header_complete);
  EXPECT_EQ(s.removed_bcc, 2u);
  EXPECT_TRUE(s.added_date);
  EXPECT_TRUE(s.added_message_id);
  EXPECT_EQ(s.message,
            "From: Ana <ana@example.org>\r\nTo: bob@example.net\r\nSubject: hi\r\n"
            "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <abc@mail.example.org>\r\n\r\n"
            "Body\r\nBcc: stays in the body\r\n");
  ASSERT_EQ(s.from.size(), 1u);
  EXPECT_EQ(s.from[0], "ana@example.org");
  EXPECT_EQ(s.from_fields, 1u);
}

TEST(Submission, KeepsWhatIsThere) {
  std::string m = "Date: Thu, 26 Nov 2026 09:00:00 +0100\r\nMessage-Id: <x@y>\r\nFrom: a@b.example, \"C\" <c@d.example>\r\n\r\n";
  auto s = prepare_submission(m, kDate, "new@id");
  EXPECT_FALSE(s.added_date);
  EXPECT_FALSE(s.added_message_id);
  EXPECT_EQ(s.message, m);
  EXPECT_EQ(s.from, (std::vector<std::string>{"a@b.example", "c@d.example"}));
}

TEST(Submission, BareLineFeedsAndNoBody) {
  std::string m = "From: a@b.example\nBcc: x@y.example\n\n";
  auto s = prepare_submission(m, kDate, "i@d");
  EXPECT_TRUE(s.header_complete);
  EXPECT_EQ(s.removed_bcc, 1u);
  EXPECT_EQ(s.message, "From: a@b.example\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <i@d>\r\n\n");
}

TEST(Submission, IncompleteHeaderLeftAlone) {
  std::string m = "From: a@b.example\r\nSubject: no end";
  auto s = prepare_submission(m, kDate, "i@d");
  EXPECT_FALSE(s.header_complete);
  EXPECT_EQ(s.message, m);
  EXPECT_TRUE(s.from.empty());
  std::string big = "X: " + std::string(1000, 'x') + "\r\n\r\nbody";
  auto b = prepare_submission(big, kDate, "i@d", 100);
  EXPECT_FALSE(b.header_complete);
  EXPECT_EQ(b.message, big);
}

// Found by fuzz_submission: an empty first line (no header at all) read before the message.
TEST(Submission, EmptyHeaderSection) {
  auto s = prepare_submission(std::string("\n\0\0body", 7), kDate, "i@d");
  EXPECT_TRUE(s.header_complete);
  EXPECT_EQ(s.message, "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <i@d>\r\n" + std::string("\n\0\0body", 7));
  auto crlf = prepare_submission("\r\nbody", kDate, "i@d");
  EXPECT_EQ(crlf.message, "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <i@d>\r\n\r\nbody");
}

TEST(Submission, NoFromAndTwoFroms) {
  auto none = prepare_submission("Subject: x\r\n\r\n", kDate, "i@d");
  EXPECT_EQ(none.from_fields, 0u);
  auto two = prepare_submission("From: a@b.example\r\nFrom: c@d.example\r\n\r\n", kDate, "i@d");
  EXPECT_EQ(two.from_fields, 2u);
  EXPECT_EQ(two.from.size(), 2u);
}

}  // namespace
}  // namespace valija::mail
