#include "store/blob/blob_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "base/clock.hpp"
#include "base/text.hpp"
#include "store/blob/io.hpp"

namespace valija::store::blob {
namespace {

// Temp files are ".tmp.<process tag>.<n>". The tag is the pid plus a random nonce, so a
// restarted server that reuses a dead one's pid (containers) still sees its leftovers
// as a dead writer's.
const std::string& process_tag() {
  static const std::string tag = fmt::format("{}-{}", ::getpid(), clock::random_id(10));
  return tag;
}

bool valid_id(const std::string& id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Error io_error(std::string_view what, const std::string& path, int err) {
  Errc code = (err == ENOSPC || err == EDQUOT) ? Errc::NoSpace : Errc::Internal;
  if (err == ENOENT) code = Errc::NotFound;
  return Error{code, fmt::format("{} {}: {}", what, path, std::strerror(err))};
}

Result<void> fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(io_error("open", path, errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return tl::unexpected(io_error("fsync", path, err));
  return {};
}

std::string content_id(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return text::hex(md, len);
}

Result<std::string> content_id_of(int fd, std::uint64_t offset, std::uint64_t size) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return fail(Errc::Internal, "sha256 unavailable");
  std::vector<char> buf(1 << 16);
  for (std::uint64_t done = 0; done < size;) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(io_error("read", fmt::format("fd {}", fd), errno));
    if (n == 0) return fail(Errc::Corrupt, "the file ends inside the body");
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    done += static_cast<std::uint64_t>(n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return text::hex(md, len);
}

Result<std::string> content_id_of_file(const std::string& path, std::uint64_t offset, std::uint64_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(io_error("open", path, errno));
  auto id = content_id_of(fd, offset, size);
  ::close(fd);
  if (!id) return fail(id.error().code, fmt::format("{}: {} ({} octets at {})", path, id.error().detail, size, offset));
  return id;
}

std::string BlobStore::dir_of(const std::string& id) const { return root_ + "/" + id.substr(0, 2); }
std::string BlobStore::path(const std::string& id) const { return dir_of(id) + "/" + id; }

Result<void> BlobStore::init() {
  if (::mkdir(root_.c_str(), 0750) != 0 && errno != EEXIST) return tl::unexpected(io_error("mkdir", root_, errno));
  for (int i = 0; i < 256; ++i) {
    auto d = fmt::format("{}/{:02x}", root_, i);
    if (::mkdir(d.c_str(), 0750) != 0 && errno != EEXIST) return tl::unexpected(io_error("mkdir", d, errno));
  }
  return fsync_path(root_, O_RDONLY | O_DIRECTORY);
}

Result<void> BlobStore::put(const std::string& id, std::string_view bytes, std::vector<std::string>& dirty) {
  if (!valid_id(id)) return fail(Errc::Invalid, "bad blob id");
  auto final_path = path(id);
  struct stat st {};
  if (::stat(final_path.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == bytes.size()) {
    // Already there (same content, same name). Its write may predate a crash that came
    // before its directory sync, so sync both again rather than trust it.
    auto r = fsync_path(final_path, O_RDONLY);
    if (!r) return r;
    auto dir = dir_of(id);
    if (std::find(dirty.begin(), dirty.end(), dir) == dirty.end()) dirty.push_back(dir);
    return {};
  }
  static std::atomic<std::uint64_t> seq{0};
  auto tmp = fmt::format("{}/{}{}", dir_of(id), temp_prefix(), seq.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return tl::unexpected(io_error("create", tmp, errno));
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return tl::unexpected(io_error("write", tmp, err));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return tl::unexpected(io_error("fsync", tmp, err));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return tl::unexpected(io_error("rename", final_path, err));
  }
  auto dir = dir_of(id);
  if (std::find(dirty.begin(), dirty.end(), dir) == dirty.end()) dirty.push_back(dir);
  return {};
}

Result<void> BlobStore::sync_dirs(std::vector<std::string>& dirty) {
  for (const auto& d : dirty) {
    auto r = fsync_path(d, O_RDONLY | O_DIRECTORY);
    if (!r) return r;
  }
  dirty.clear();
  return {};
}

Result<void> BlobStore::put_durable(const std::string& id, std::string_view bytes) {
  std::vector<std::string> dirty;
  auto r = put(id, bytes, dirty);
  if (!r) return r;
  return sync_dirs(dirty);
}

Result<std::string> BlobStore::get(const std::string& id) const {
  if (!valid_id(id)) return fail(Errc::Invalid, "bad blob id");
  auto p = path(id);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(io_error("open", p, errno));
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return tl::unexpected(io_error("read", p, err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<void> BlobStore::remove(const std::string& id) {
  if (!valid_id(id)) return fail(Errc::Invalid, "bad blob id");
  auto p = path(id);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return tl::unexpected(io_error("unlink", p, errno));
  return {};
}

Result<void> BlobStore::for_each_file(const std::function<void(const std::string&, bool)>& f) const {
  const auto& own_prefix = temp_prefix();
  for (int i = 0; i < 256; ++i) {
    auto d = fmt::format("{}/{:02x}", root_, i);
    DIR* dir = ::opendir(d.c_str());
    if (!dir) {
      if (errno == ENOENT) continue;
      return tl::unexpected(io_error("opendir", d, errno));
    }
    // Collect first: the callback may unlink entries.
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      names.push_back(std::move(name));
    }
    ::closedir(dir);
    for (const auto& name : names) {
      if (name.rfind(".tmp.", 0) == 0) {
        if (name.rfind(own_prefix, 0) != 0) f(fmt::format("{:02x}/{}", i, name), true);
      } else if (valid_id(name) && name.substr(0, 2) == fmt::format("{:02x}", i)) {
        f(name, false);
      }
    }
  }
  return {};
}

const std::string& BlobStore::temp_prefix() {
  static const std::string prefix = fmt::format(".tmp.{}.", process_tag());
  return prefix;
}

bool BlobStore::temp_writer_alive(const std::string& name) {
  auto at = name.find(".tmp.");
  if (at == std::string::npos) return false;
  long pid = std::strtol(name.c_str() + at + 5, nullptr, 10);
  return pid > 1 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

bool BlobStore::remove_file(const std::string& name) {
  if (name.find("..") != std::string::npos || name.find(".tmp.") == std::string::npos) return false;
  return ::unlink((root_ + "/" + name).c_str()) == 0;
}

}  // namespace valija::store::blob
