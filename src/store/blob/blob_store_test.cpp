// Content-addressed blob files: ids, round trips, idempotent puts, no temp files left.
#include "store/blob/blob_store.hpp"
#include "store/blob/io.hpp"
#include "base/testing/temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace valija::store::blob {
namespace {

namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("valija-blob") {}
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class BlobStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    auto r = blobs_.init();
    ASSERT_TRUE(r) << r.error().message();
  }
  Result<void> put(const std::string& bytes) {
    auto r = blobs_.put(content_id(bytes), bytes, dirty_);
    if (r) {
      auto s = blobs_.sync_dirs(dirty_);
      EXPECT_TRUE(s);
    }
    return r;
  }

  TempDir dir_;
  BlobStore blobs_{dir_.path() + "/blobs"};
  std::vector<std::string> dirty_;
};

TEST(ContentId, IsSha256Hex) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(content_id("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(content_id(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(content_id("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Binary input: the view's size counts, not a NUL terminator.
  EXPECT_NE(content_id(std::string_view("a\0b", 3)), content_id("a"));
}

TEST_F(BlobStoreTest, InitCreatesShardDirs) {
  EXPECT_TRUE(fs::is_directory(blobs_.root()));
  EXPECT_TRUE(fs::is_directory(blobs_.root() + "/00"));
  EXPECT_TRUE(fs::is_directory(blobs_.root() + "/ff"));
  EXPECT_EQ(entries(blobs_.root()).size(), 256u);
  // Idempotent.
  EXPECT_TRUE(blobs_.init());
}

TEST_F(BlobStoreTest, PathIsShardedById) {
  const std::string id = content_id("abc");
  EXPECT_EQ(blobs_.path(id), blobs_.root() + "/ba/" + id);
}

TEST_F(BlobStoreTest, PutGetRoundTrip) {
  std::string bytes = "Subject: hi\r\n\r\n";
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>(i & 0xff);
  for (const std::string& b : {bytes, big, std::string()}) {
    const auto id = content_id(b);
    std::vector<std::string> dirty;
    auto r = blobs_.put(id, b, dirty);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(dirty, std::vector<std::string>{blobs_.root() + "/" + id.substr(0, 2)});
    ASSERT_TRUE(blobs_.sync_dirs(dirty));
    EXPECT_TRUE(dirty.empty());
    EXPECT_EQ(slurp(blobs_.path(id)), b);
    auto got = blobs_.get(id);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(got->size(), b.size());
    EXPECT_EQ(*got, b);
  }
}

TEST_F(BlobStoreTest, DirtyDirsListedOnce) {
  // The same shard twice (one blob put twice) and another blob: each directory once.
  const std::string a = "abc", b = "another body";
  std::vector<std::string> dirty;
  ASSERT_TRUE(blobs_.put(content_id(a), a, dirty));
  ASSERT_TRUE(blobs_.put(content_id(a), a, dirty));
  ASSERT_TRUE(blobs_.put(content_id(b), b, dirty));
  std::sort(dirty.begin(), dirty.end());
  auto want = std::vector<std::string>{blobs_.root() + "/" + content_id(a).substr(0, 2),
                                       blobs_.root() + "/" + content_id(b).substr(0, 2)};
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  EXPECT_EQ(dirty, want);
}

TEST_F(BlobStoreTest, PutExistingIsIdempotent) {
  const std::string bytes = "the same body\r\n";
  const auto id = content_id(bytes);
  ASSERT_TRUE(put(bytes));
  ASSERT_TRUE(put(bytes));
  ASSERT_TRUE(put(bytes));
  EXPECT_EQ(*blobs_.get(id), bytes);
  EXPECT_EQ(entries(blobs_.root() + "/" + id.substr(0, 2)), std::vector<std::string>{id});
}

TEST_F(BlobStoreTest, PutRepairsTruncatedFile) {
  const std::string bytes = "a body that a crash cut short\r\n";
  const auto id = content_id(bytes);
  ASSERT_TRUE(put(bytes));
  fs::resize_file(blobs_.path(id), 5);
  ASSERT_TRUE(put(bytes));
  EXPECT_EQ(*blobs_.get(id), bytes);
}

TEST_F(BlobStoreTest, NoTempFilesLeftBehind) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    std::string b = "body " + std::to_string(i) + "\r\n";
    ASSERT_TRUE(put(b));
    ASSERT_TRUE(put(b));
    ids.push_back(content_id(b));
  }
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(blobs_.root())) {
    if (!e.is_regular_file()) continue;
    ++files;
    auto name = e.path().filename().string();
    EXPECT_EQ(name.rfind(".tmp", 0), std::string::npos) << "temp file left: " << e.path();
    EXPECT_NE(std::find(ids.begin(), ids.end(), name), ids.end()) << "unexpected file: " << e.path();
    EXPECT_EQ(e.path().parent_path().filename().string(), name.substr(0, 2));
  }
  EXPECT_EQ(files, ids.size());
}

TEST_F(BlobStoreTest, InvalidIdsRejected) {
  const std::string good = content_id("abc");
  std::string upper = good;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  const std::vector<std::string> bad{
      "",
      good.substr(0, 63),
      good + "0",
      upper,
      "../../../../../../../../etc/passwd",
      std::string(62, 'a') + "/x",
      std::string(63, 'a') + "g",
      std::string(63, 'a') + std::string(1, '\0'),
      "..",
  };
  for (const auto& id : bad) {
    SCOPED_TRACE("id: " + id);
    std::vector<std::string> dirty;
    auto p = blobs_.put(id, "data", dirty);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::Invalid);
    EXPECT_TRUE(dirty.empty());
    auto g = blobs_.get(id);
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, Errc::Invalid);
    auto r = blobs_.remove(id);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Invalid);
  }
  // Nothing was written anywhere.
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_.path()))
    if (e.is_regular_file()) ++files;
  EXPECT_EQ(files, 0u);
}

TEST_F(BlobStoreTest, GetMissingIsNotFound) {
  auto g = blobs_.get(content_id("never stored"));
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, Errc::NotFound);
}

TEST_F(BlobStoreTest, Remove) {
  const std::string bytes = "to be removed";
  const auto id = content_id(bytes);
  const std::string keep = "to be kept";
  ASSERT_TRUE(put(bytes));
  ASSERT_TRUE(put(keep));
  ASSERT_TRUE(blobs_.remove(id));
  EXPECT_FALSE(fs::exists(blobs_.path(id)));
  auto g = blobs_.get(id);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, Errc::NotFound);
  EXPECT_EQ(*blobs_.get(content_id(keep)), keep);
  // Removing again is harmless (the collector may retry after a crash).
  EXPECT_TRUE(blobs_.remove(id));
  // And it can be stored again.
  ASSERT_TRUE(put(bytes));
  EXPECT_EQ(*blobs_.get(id), bytes);
}

TEST_F(BlobStoreTest, PutDurable) {
  const std::string bytes = "durable body\r\n";
  const auto id = content_id(bytes);
  ASSERT_TRUE(blobs_.put_durable(id, bytes));
  EXPECT_EQ(*blobs_.get(id), bytes);
  ASSERT_TRUE(blobs_.put_durable(id, bytes));  // idempotent
  EXPECT_EQ(entries(blobs_.root() + "/" + id.substr(0, 2)), std::vector<std::string>{id});
  auto bad = blobs_.put_durable("nope", bytes);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::Invalid);
}

TEST_F(BlobStoreTest, ForEachFileListsBlobsAndDeadWritersTemps) {
  const std::string a = "first", b = "second";
  ASSERT_TRUE(put(a));
  ASSERT_TRUE(put(b));
  const std::string dead = ".tmp.999999999.1";                                   // no such pid
  const std::string mine = BlobStore::temp_prefix() + "2";                        // in flight here
  const std::string prefix_pid = ".tmp." + std::to_string(::getpid()) + "0.3";   // another pid
  // Our pid without our nonce: a dead server whose pid we reuse (containers).
  const std::string same_pid = ".tmp." + std::to_string(::getpid()) + ".4";
  std::ofstream(blobs_.root() + "/ab/" + dead) << "x";
  std::ofstream(blobs_.root() + "/ab/" + mine) << "x";
  std::ofstream(blobs_.root() + "/ab/" + prefix_pid) << "x";
  std::ofstream(blobs_.root() + "/ab/" + same_pid) << "x";
  std::ofstream(blobs_.root() + "/cd/notes.txt") << "x";
  // A valid id in the wrong shard is not a blob of ours.
  const std::string misplaced = content_id("misplaced");
  const std::string wrong_shard = misplaced.substr(0, 2) == "00" ? "01" : "00";
  std::ofstream(blobs_.root() + "/" + wrong_shard + "/" + misplaced) << "x";

  std::set<std::pair<std::string, bool>> seen;
  auto r = blobs_.for_each_file([&](const std::string& name, bool temp) {
    EXPECT_TRUE(seen.insert({name, temp}).second) << name << " listed twice";
  });
  ASSERT_TRUE(r) << r.error().message();
  const std::set<std::pair<std::string, bool>> want{
      {content_id(a), false}, {content_id(b), false}, {"ab/" + dead, true}, {"ab/" + prefix_pid, true},
      {"ab/" + same_pid, true}};
  EXPECT_EQ(seen, want);
}

TEST_F(BlobStoreTest, ForEachFileMayRemoveWhileListing) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(put("body " + std::to_string(i)));
  std::size_t n = 0;
  ASSERT_TRUE(blobs_.for_each_file([&](const std::string& name, bool) {
    ++n;
    EXPECT_TRUE(blobs_.remove(name));
  }));
  EXPECT_EQ(n, 10u);
  std::size_t left = 0;
  ASSERT_TRUE(blobs_.for_each_file([&](const std::string&, bool) { ++left; }));
  EXPECT_EQ(left, 0u);
}

TEST_F(BlobStoreTest, RemoveFileOnlyRemovesTempFiles) {
  const std::string bytes = "a blob";
  const auto id = content_id(bytes);
  ASSERT_TRUE(put(bytes));
  const std::string temp = "ab/.tmp.999999999.7";
  std::ofstream(blobs_.root() + "/" + temp) << "partial";
  std::ofstream(dir_.path() + "/.tmp.outside") << "keep";

  EXPECT_FALSE(blobs_.remove_file(id.substr(0, 2) + "/" + id));  // a blob is not a temp file
  EXPECT_TRUE(fs::exists(blobs_.path(id)));
  EXPECT_FALSE(blobs_.remove_file("../.tmp.outside"));            // nothing outside the root
  EXPECT_TRUE(fs::exists(dir_.path() + "/.tmp.outside"));
  EXPECT_TRUE(blobs_.remove_file(temp));
  EXPECT_FALSE(fs::exists(blobs_.root() + "/" + temp));
  EXPECT_FALSE(blobs_.remove_file(temp));  // already gone
}

}  // namespace
}  // namespace valija::store::blob

namespace valija::store::blob {
namespace {

// A full disk (or quota) is its own error: SMTP answers 452 4.3.1, IMAP NO [OVERQUOTA].
TEST(IoError, FullDiskIsNoSpace) {
  EXPECT_EQ(io_error("write", "/x", ENOSPC).code, Errc::NoSpace);
  EXPECT_EQ(io_error("write", "/x", EDQUOT).code, Errc::NoSpace);
  EXPECT_EQ(io_error("open", "/x", ENOENT).code, Errc::NotFound);
  EXPECT_EQ(io_error("read", "/x", EIO).code, Errc::Internal);
}

}  // namespace
}  // namespace valija::store::blob
