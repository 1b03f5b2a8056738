#include "policy/tag_list.hpp"

#include <gtest/gtest.h>

namespace valija::policy {
namespace {

TEST(TagList, ParsesRfc6376Syntax) {
  auto t = parse_tag_list(" v = DKIM1 ;\r\n\tk=rsa;p= MIGf MA0G ;").value();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].name, "v");
  EXPECT_EQ(t[0].value, "DKIM1");
  EXPECT_EQ(t[1].value, "rsa");
  EXPECT_EQ(t[2].name, "p");
  EXPECT_EQ(t[2].value, "MIGf MA0G");  // inner space kept
  EXPECT_EQ(find_tag(t, "k"), &t[1]);
  EXPECT_EQ(find_tag(t, "K"), nullptr);
  EXPECT_EQ(parse_tag_list("").value().size(), 0u);
  EXPECT_EQ(parse_tag_list("a=1;;b=;").value().size(), 2u);
}

TEST(TagList, RefusesDuplicatesBadNamesAndFloods) {
  EXPECT_FALSE(parse_tag_list("a=1; a=2"));
  EXPECT_FALSE(parse_tag_list("a=1; b"));
  EXPECT_FALSE(parse_tag_list("1a=1"));
  EXPECT_FALSE(parse_tag_list("a-b=1"));
  EXPECT_FALSE(parse_tag_list("a=b\x01c"));
  std::string many;
  for (std::size_t i = 0; i <= kMaxTags; ++i) many += "t" + std::to_string(i) + "=x;";
  EXPECT_FALSE(parse_tag_list(many));
}

}  // namespace
}  // namespace valija::policy
