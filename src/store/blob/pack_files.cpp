#include "store/blob/pack_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "store/blob/io.hpp"

namespace valija::store::blob {
namespace {

constexpr std::string_view kPrefix = "pack-";

// "pack-<decimal>" with no sign, leading zero or trailing text.
bool parse_name(std::string_view name, std::uint64_t& id) {
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  auto digits = name.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 18 || (digits.size() > 1 && digits[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  id = v;
  return true;
}

// Writes all of `iov` at `pos`, across short writes; 0 or the errno that stopped it
// (EIO for a write of 0 octets: no progress is possible). `written` counts what got in.
int write_fully(int fd, std::vector<iovec>& iov, std::uint64_t pos, std::uint64_t& written) {
  std::uint64_t want = 0;
  for (const auto& v : iov) want += v.iov_len;
  written = 0;
  std::size_t first = 0;
  while (written < want) {
    ssize_t n = ::pwritev(fd, iov.data() + first, static_cast<int>(iov.size() - first),
                          static_cast<off_t>(pos + written));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return n < 0 ? errno : EIO;
    }
    auto left = static_cast<std::size_t>(n);
    written += left;
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return 0;
}

}  // namespace

Result<void> PackFiles::init() {
  if (::mkdir(root_.c_str(), 0750) != 0 && errno != EEXIST) return tl::unexpected(io_error("mkdir", root_, errno));
  return {};
}

std::string PackFiles::path(std::uint64_t pack) const { return fmt::format("{}/{}{}", root_, kPrefix, pack); }

Result<void> PackFiles::open(std::uint64_t id) {
  close();
  auto p = path(id);
  int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
  bool created = false;
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    created = true;
  }
  if (fd < 0) return tl::unexpected(io_error("open", p, errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return tl::unexpected(io_error("stat", p, err));
  }
  fd_ = fd;
  id_ = id;
  end_ = static_cast<std::uint64_t>(st.st_size);
  allocated_ = end_;
  new_file_ = created;
  return {};
}

void PackFiles::close() {
  if (fd_ >= 0 && unsynced_ && !sync()) {
    lost_ = true;  // sync() closed it; the commit of those bodies, still to come, must fail
    return;
  }
  if (fd_ >= 0 && allocated_ > end_) (void)::ftruncate(fd_, static_cast<off_t>(end_));  // else they stay dead space
  fail_closed();
}

void PackFiles::fail_closed() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  lost_ = lost_ || unsynced_;
  unsynced_ = false;
}

void PackFiles::zero_ahead() {
  static const std::string zeros(64 * 1024, '\0');
  std::vector<iovec> iov(kZeroAhead / zeros.size(), iovec{const_cast<char*>(zeros.data()), zeros.size()});
  std::uint64_t written = 0;
  (void)write_fully(fd_, iov, end_, written);
  allocated_ = end_ + written;
}

Result<std::vector<std::uint64_t>> PackFiles::append(std::span<const std::string_view> bodies) {
  if (fd_ < 0) return fail(Errc::Internal, "no pack open for appending");
  std::vector<std::uint64_t> offsets;
  offsets.reserve(bodies.size());
  std::uint64_t at = end_;
  for (auto b : bodies) {
    offsets.push_back(at);
    at += b.size();
  }
  // pwritev in groups of IOV_MAX.
  std::vector<iovec> iov;
  std::size_t i = 0;
  std::uint64_t pos = end_;
  while (i < bodies.size()) {
    iov.clear();
    for (; i < bodies.size() && iov.size() < IOV_MAX; ++i)
      if (!bodies[i].empty()) iov.push_back(iovec{const_cast<char*>(bodies[i].data()), bodies[i].size()});
    std::uint64_t written = 0;
    if (int err = write_fully(fd_, iov, pos, written); err != 0) {
      fail_closed();
      return tl::unexpected(io_error("write", path(id_), err));
    }
    pos += written;
  }
  auto start = end_;
  end_ = pos;
  unsynced_ = unsynced_ || end_ > start;
  if (end_ > allocated_) zero_ahead();
  if (end_ > start)
    (void)::sync_file_range(fd_, static_cast<off_t>(start), static_cast<off_t>(allocated_ - start), SYNC_FILE_RANGE_WRITE);
  return offsets;
}

Result<void> PackFiles::sync() {
  if (lost_) {
    lost_ = false;
    return fail(Errc::Unavailable, fmt::format("pack {}: bodies appended before a failed write or sync were never synced", id_));
  }
  if (fd_ < 0) return fail(Errc::Internal, "no pack open");
  auto failed = [&](Error e) {
    unsynced_ = false;  // this error is the one their commit gets
    fail_closed();
    return tl::unexpected(std::move(e));
  };
  if (::fdatasync(fd_) != 0) return failed(io_error("fsync", path(id_), errno));
  if (new_file_) {
    auto r = fsync_path(root_, O_RDONLY | O_DIRECTORY);
    if (!r) return failed(r.error());
    new_file_ = false;
  }
  unsynced_ = false;
  return {};
}

Result<std::string> PackFiles::read(std::uint64_t pack, std::uint64_t offset, std::uint64_t size) const {
  auto p = path(pack);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(io_error("open", p, errno));
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return tl::unexpected(io_error("read", p, err));
    }
    if (n == 0) {
      ::close(fd);
      return fail(Errc::Corrupt, fmt::format("{} ends at {} inside a body ({} octets at {})", p, offset + done, size, offset));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return out;
}

Result<void> PackFiles::remove(std::uint64_t pack) const {
  auto p = path(pack);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return tl::unexpected(io_error("unlink", p, errno));
  return {};
}

Result<std::vector<std::uint64_t>> PackFiles::list() const {
  DIR* dir = ::opendir(root_.c_str());
  if (!dir) return tl::unexpected(io_error("opendir", root_, errno));
  std::vector<std::uint64_t> ids;
  while (dirent* e = ::readdir(dir)) {
    std::uint64_t id = 0;
    if (parse_name(e->d_name, id)) ids.push_back(id);
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace valija::store::blob
