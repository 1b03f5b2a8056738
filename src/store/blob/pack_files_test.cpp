// Pack files: appends land at the end, reads find each body, a reopened pack continues
// after what is there, names are parsed strictly.
#include "store/blob/pack_files.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/testing/temp_dir.hpp"

namespace valija::store::blob {
namespace {

namespace fs = std::filesystem;

class PackFilesTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(packs_.init()); }
  test::TempDir dir_{"valija-pack"};
  PackFiles packs_{dir_.path() + "/packs"};
};

TEST_F(PackFilesTest, AppendSyncRead) {
  ASSERT_TRUE(packs_.open(1));
  EXPECT_EQ(packs_.end(), 0u);
  std::vector<std::string_view> bodies{"first\r\n", "", "third body\r\n"};
  auto offs = packs_.append(bodies);
  ASSERT_TRUE(offs) << offs.error().message();
  EXPECT_EQ(*offs, (std::vector<std::uint64_t>{0, 7, 7}));
  ASSERT_TRUE(packs_.sync());
  EXPECT_EQ(packs_.end(), 19u);
  EXPECT_EQ(*packs_.read(1, 0, 7), "first\r\n");
  EXPECT_EQ(*packs_.read(1, 7, 0), "");
  EXPECT_EQ(*packs_.read(1, 7, 12), "third body\r\n");
  EXPECT_EQ(fs::file_size(packs_.path(1)), 19u + PackFiles::kZeroAhead);  // the zeros written ahead
  packs_.close();
  EXPECT_EQ(fs::file_size(packs_.path(1)), 19u);  // cut off
}

TEST_F(PackFilesTest, ZerosAheadMakeAppendsOverwrites) {
  ASSERT_TRUE(packs_.open(1));
  std::string big(PackFiles::kZeroAhead, 'b');
  std::vector<std::string_view> a{"0123456789"};
  ASSERT_TRUE(packs_.append(a));
  auto size = fs::file_size(packs_.path(1));
  EXPECT_EQ(size, 10u + PackFiles::kZeroAhead);
  std::vector<std::string_view> b{"abc", big};  // ends 3 octets past the zeros
  auto offs = packs_.append(b);
  ASSERT_TRUE(offs);
  EXPECT_EQ(*offs, (std::vector<std::uint64_t>{10, 13}));
  EXPECT_EQ(packs_.end(), PackFiles::kZeroAhead + 13);
  EXPECT_EQ(fs::file_size(packs_.path(1)), packs_.end() + PackFiles::kZeroAhead);  // the next zeros
  std::vector<std::string_view> c{"tail"};
  ASSERT_TRUE(packs_.append(c));  // inside them: the size stays
  EXPECT_EQ(fs::file_size(packs_.path(1)), PackFiles::kZeroAhead * 2 + 13);
  ASSERT_TRUE(packs_.sync());
  EXPECT_EQ(*packs_.read(1, 0, 10), "0123456789");
  EXPECT_EQ(*packs_.read(1, 13, big.size()), big);
  EXPECT_EQ(*packs_.read(1, PackFiles::kZeroAhead + 13, 4), "tail");
}

TEST_F(PackFilesTest, ZerosLeftByACrashAreSkipped) {
  ASSERT_TRUE(packs_.open(4));
  std::vector<std::string_view> a{"committed"};
  ASSERT_TRUE(packs_.append(a));
  ASSERT_TRUE(packs_.sync());
  // A crash: the file keeps its zeros (this writer never closes it); the next writer
  // appends after them.
  PackFiles after(dir_.path() + "/packs");
  ASSERT_TRUE(after.open(4));
  EXPECT_EQ(after.end(), 9u + PackFiles::kZeroAhead);
  std::vector<std::string_view> b{"next"};
  auto offs = after.append(b);
  ASSERT_TRUE(offs);
  EXPECT_EQ(offs->front(), 9u + PackFiles::kZeroAhead);
  EXPECT_EQ(*after.read(4, 0, 9), "committed");
  EXPECT_EQ(*after.read(4, offs->front(), 4), "next");
}

TEST_F(PackFilesTest, ManyBodiesInOneAppend) {
  // More than IOV_MAX bodies in one call, and big enough for short writes to matter.
  std::vector<std::string> owned;
  for (int i = 0; i < 2500; ++i) owned.push_back(std::string(static_cast<std::size_t>(i % 97) + 1, static_cast<char>('a' + i % 26)));
  std::vector<std::string_view> bodies(owned.begin(), owned.end());
  ASSERT_TRUE(packs_.open(3));
  auto offs = packs_.append(bodies);
  ASSERT_TRUE(offs);
  ASSERT_TRUE(packs_.sync());
  for (std::size_t i = 0; i < owned.size(); i += 37) EXPECT_EQ(*packs_.read(3, (*offs)[i], owned[i].size()), owned[i]);
  EXPECT_EQ(*packs_.read(3, offs->back(), owned.back().size()), owned.back());
}

TEST_F(PackFilesTest, ReopenAppendsAfterExistingBytes) {
  ASSERT_TRUE(packs_.open(2));
  std::vector<std::string_view> a{"committed"};
  ASSERT_TRUE(packs_.append(a));
  ASSERT_TRUE(packs_.sync());
  std::vector<std::string_view> b{"never committed"};  // a crash after this append
  ASSERT_TRUE(packs_.append(b));
  packs_.close();
  ASSERT_TRUE(packs_.open(2));
  EXPECT_EQ(packs_.end(), 24u);
  std::vector<std::string_view> c{"next"};
  auto offs = packs_.append(c);
  ASSERT_TRUE(offs);
  EXPECT_EQ(offs->front(), 24u);
  EXPECT_EQ(*packs_.read(2, 0, 9), "committed");
  EXPECT_EQ(*packs_.read(2, 24, 4), "next");
}

TEST_F(PackFilesTest, AppendsWaitForTheirSync) {
  ASSERT_TRUE(packs_.open(1));
  EXPECT_FALSE(packs_.needs_sync());
  std::vector<std::string_view> a{"body"};
  ASSERT_TRUE(packs_.append(a));
  EXPECT_TRUE(packs_.needs_sync());
  ASSERT_TRUE(packs_.sync());
  EXPECT_FALSE(packs_.needs_sync());
  ASSERT_TRUE(packs_.append(a));
  packs_.close();  // syncs them first
  EXPECT_FALSE(packs_.needs_sync());
  EXPECT_EQ(*packs_.read(1, 4, 4), "body");
}

// A write that fails after others that were not synced yet: the pack closes, and the
// next sync fails once, so the commit that references the earlier bodies fails too.
TEST_F(PackFilesTest, BodiesLostToAFailedWriteFailTheirSync) {
  ASSERT_TRUE(packs_.open(1));
  std::vector<std::string_view> a{"first"};
  ASSERT_TRUE(packs_.append(a));
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG
  rlimit small = old;
  small.rlim_cur = 2 * PackFiles::kZeroAhead;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string big(3 * PackFiles::kZeroAhead, 'x');
  std::vector<std::string_view> b{big};
  auto failed = packs_.append(b);
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(failed);
  EXPECT_FALSE(packs_.is_open());
  EXPECT_TRUE(packs_.needs_sync());
  auto sync = packs_.sync();
  ASSERT_FALSE(sync);
  EXPECT_EQ(sync.error().code, Errc::Unavailable);
  EXPECT_FALSE(packs_.needs_sync());  // once
}

TEST_F(PackFilesTest, ReadPastEndIsCorruptMissingIsNotFound) {
  ASSERT_TRUE(packs_.open(1));
  std::vector<std::string_view> a{"short"};
  ASSERT_TRUE(packs_.append(a));
  packs_.close();  // without the zeros written ahead
  auto past = packs_.read(1, 2, 10);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, Errc::Corrupt);
  auto missing = packs_.read(9, 0, 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
}

TEST_F(PackFilesTest, AppendWithoutOpenPackFails) {
  std::vector<std::string_view> a{"x"};
  EXPECT_FALSE(packs_.append(a));
  EXPECT_FALSE(packs_.sync());
}

TEST_F(PackFilesTest, ListParsesNamesStrictlyAndRemove) {
  for (const char* name : {"pack-1", "pack-12", "pack-007", "pack-", "pack-1x", "pack--1", "other", "pack-3.tmp"})
    std::ofstream(dir_.path() + "/packs/" + name) << "x";
  auto ids = packs_.list();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::uint64_t>{1, 12}));
  ASSERT_TRUE(packs_.remove(12));
  ASSERT_TRUE(packs_.remove(12));  // already gone: fine
  EXPECT_EQ(*packs_.list(), std::vector<std::uint64_t>{1});
}

}  // namespace
}  // namespace valija::store::blob
