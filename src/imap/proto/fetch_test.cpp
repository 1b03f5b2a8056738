// FETCH attributes: sections, partials, modifiers and limits.
#include <gtest/gtest.h>

#include "imap/proto/command.hpp"
#include "imap/proto/describe_for_test.hpp"

namespace valija::imap::proto {
namespace {

using testing::describe_parse;

std::vector<FetchItem> items(std::string_view line) {
  auto c = parse_command(line);
  EXPECT_TRUE(c) << line << ": " << (c ? "" : c.error().text);
  return c ? std::get<cmd::Fetch>(c->args).items : std::vector<FetchItem>{};
}

TEST(ImapFetch, Sections) {
  auto i = items("a FETCH 1 (BODY.PEEK[1.2.3.HEADER.FIELDS.NOT (Received \"X-Spam\" {6}\r\nX-Mail)]<5.10>)");
  ASSERT_EQ(i.size(), 1u);
  EXPECT_EQ(i[0].att, FetchAtt::BodySection);
  EXPECT_TRUE(i[0].peek);
  EXPECT_EQ(i[0].section.part, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(i[0].section.text, SectionText::HeaderFieldsNot);
  EXPECT_EQ(i[0].section.fields, (std::vector<std::string>{"Received", "X-Spam", "X-Mail"}));
  ASSERT_TRUE(i[0].partial);
  EXPECT_EQ(i[0].partial->offset, 5u);
  EXPECT_EQ(i[0].partial->count, 10u);

  EXPECT_EQ(describe_parse("a FETCH 1 BODY[1]"), "a FETCH 1 BODY[1]");
  EXPECT_EQ(describe_parse("a FETCH 1 BODY[1.HEADER]"), "a FETCH 1 BODY[1.HEADER]");
  EXPECT_EQ(describe_parse("a FETCH 1 BODY[TEXT]<0.4294967296>"), "a FETCH 1 BODY[TEXT]<0.4294967296>");
  EXPECT_EQ(describe_parse("a FETCH 1 binary.size[]"), "a FETCH 1 BINARY.SIZE[]");
  for (auto bad : {"a FETCH 1 BODY[0]", "a FETCH 1 BODY[1.]", "a FETCH 1 BODY[1..2]", "a FETCH 1 BODY[HEADER.FIELDS]",
                   "a FETCH 1 BODY[HEADER.FIELDS ()]", "a FETCH 1 BODY[HEADER.FIELDS (a:b)]", "a FETCH 1 BODY[TEXT",
                   "a FETCH 1 BODY[TEXT]<1>", "a FETCH 1 BODY[TEXT]<1.2", "a FETCH 1 BODY[TEXT]<a.2>",
                   "a FETCH 1 BINARY.SIZE[1]<0.1>", "a FETCH 1 BINARY[HEADER]", "a FETCH 1 BINARY", "a FETCH 1 RFC822[]",
                   "a FETCH 1 BODY[1.MIME.TEXT]", "a FETCH 1 BODY[01]", "a FETCH 1 BODY[]x", "a FETCH 1 (UID",
                   "a FETCH 1 UID FLAGS", "a FETCH 1 (UID  FLAGS)", "a FETCH 1", "a FETCH 1 ALL FLAGS"})
    EXPECT_FALSE(parse_command(bad)) << bad;
}

TEST(ImapFetch, Modifiers) {
  EXPECT_EQ(describe_parse("a UID FETCH 1 FLAGS (VANISHED CHANGEDSINCE 7)"), "a UID FETCH 1 FLAGS changedsince=7 vanished");
  for (auto bad : {"a FETCH 1 FLAGS ()", "a FETCH 1 FLAGS (CHANGEDSINCE 0)", "a FETCH 1 FLAGS (CHANGEDSINCE)",
                   "a FETCH 1 FLAGS (FOO)", "a FETCH 1 FLAGS (CHANGEDSINCE 1", "a FETCH 1 FLAGS CHANGEDSINCE 1"})
    EXPECT_FALSE(parse_command(bad)) << bad;
}

TEST(ImapFetch, Limits) {
  ParserLimits lim;
  std::string list;
  for (std::size_t i = 0; i < lim.fetch_items; ++i) list += i ? " UID" : "UID";
  EXPECT_TRUE(parse_command("a FETCH 1 (" + list + ")"));
  EXPECT_EQ(describe_parse("a FETCH 1 (" + list + " UID)"), "ERR a BAD [LIMIT] Too many fetch items");

  std::string fields;
  for (std::size_t i = 0; i < lim.header_fields; ++i) fields += i ? " X" : "X";
  EXPECT_TRUE(parse_command("a FETCH 1 BODY[HEADER.FIELDS (" + fields + ")]"));
  EXPECT_EQ(describe_parse("a FETCH 1 BODY[HEADER.FIELDS (" + fields + " Y)]"), "ERR a BAD [LIMIT] Too many header field names");
  // The field limit is per command, across sections.
  EXPECT_EQ(describe_parse("a FETCH 1 (BODY[HEADER.FIELDS (" + fields + ")] BODY[HEADER.FIELDS (Y)])"),
            "ERR a BAD [LIMIT] Too many header field names");

  std::string part = "1";
  for (std::size_t i = 1; i < lim.section_parts; ++i) part += ".1";
  EXPECT_TRUE(parse_command("a FETCH 1 BODY[" + part + "]"));
  EXPECT_EQ(describe_parse("a FETCH 1 BODY[" + part + ".1]"), "ERR a BAD [LIMIT] Section part nested too deeply");
}

}  // namespace
}  // namespace valija::imap::proto
