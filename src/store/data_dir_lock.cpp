#include "store/data_dir_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace valija::store {

Result<int> lock_data_dir(const std::string& dir) {
  auto path = dir + "/valija.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return fail(Errc::Unavailable, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return fail(Errc::Exists, fmt::format("another valija process holds {}", path));
    return fail(Errc::Unavailable, fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  return fd;
}

}  // namespace valija::store
