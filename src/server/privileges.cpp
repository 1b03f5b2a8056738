#include "server/privileges.hpp"

#include <fmt/format.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/log.hpp"

namespace valija::server {

namespace {

std::string errno_text() { return std::strerror(errno); }

// Threads keep the credentials and capabilities they had: privileges are given up
// while the process has only its first thread.
bool single_threaded() {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
  if (ec) return true;  // no /proc: nothing to check against
  return std::distance(it, std::filesystem::directory_iterator{}) == 1;
}

// Empties this thread's effective, permitted and inheritable sets.
bool clear_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  return ::syscall(SYS_capset, &header, data) == 0;
}

struct HandOver {
  uid_t uid;
  gid_t gid;
  std::size_t changed = 0;
  int error = 0;
};
HandOver* g_hand_over = nullptr;  // nftw's callback takes no context

int hand_over_entry(const char* path, const struct stat* st, int, FTW*) {
  if (st->st_uid != 0) return 0;  // not root's: left as it is
  if (::lchown(path, g_hand_over->uid, g_hand_over->gid) != 0) {
    g_hand_over->error = errno;
    log::error("event=data_dir_chown_failed path={} error={}", log::q(path), log::q(std::strerror(errno)));
    return 1;
  }
  ++g_hand_over->changed;
  return 0;
}

}  // namespace

Result<ServiceUser> find_service_user(const std::string& name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  uid_t uid = 0;
  const char* end = name.data() + name.size();
  bool numeric = !name.empty() && std::from_chars(name.data(), end, uid).ptr == end;
  int rc = numeric ? ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found)
                   : ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return fail(Errc::Unavailable, fmt::format("cannot look up user '{}': {}", name, std::strerror(rc)));
  if (!found)
    return fail(Errc::NotFound,
                fmt::format("user '{}' does not exist: create it (useradd --system --home-dir /var/lib/valija --shell "
                            "/usr/sbin/nologin {}) or name another one with `user` in the configuration",
                            name, name));
  if (pw.pw_uid == 0) return fail(Errc::Invalid, fmt::format("user '{}' is root: valija needs an unprivileged user", name));
  return ServiceUser{pw.pw_name, pw.pw_uid, pw.pw_gid};
}

Result<void> hand_over_data_dir(const std::string& dir, const ServiceUser& user) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return fail(Errc::Unavailable, fmt::format("cannot read {}: {}", dir, errno_text()));
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
      return fail(Errc::Unavailable, fmt::format("cannot create {}: {}", dir, errno_text()));
    if (::stat(dir.c_str(), &st) != 0) return fail(Errc::Unavailable, fmt::format("cannot read {}: {}", dir, errno_text()));
  }
  if (!S_ISDIR(st.st_mode)) return fail(Errc::Invalid, fmt::format("the data dir {} is not a directory", dir));
  if (st.st_uid == user.uid) return {};
  if (st.st_uid != 0)
    return fail(Errc::Permission,
                fmt::format("the data dir {} belongs to uid {}, not to the service user {} (uid {}): it is not valija's "
                            "to take; chown -R it or choose another data dir",
                            dir, st.st_uid, user.name, user.uid));
  HandOver h{user.uid, user.gid};
  g_hand_over = &h;
  int rc = ::nftw(dir.c_str(), hand_over_entry, 32, FTW_PHYS | FTW_MOUNT);
  g_hand_over = nullptr;
  if (rc != 0)
    return fail(Errc::Unavailable, fmt::format("cannot give {} to {}: {}", dir, user.name,
                                               std::strerror(h.error ? h.error : errno)));
  log::info("event=data_dir_handed_over data={} user={} entries={}", log::q(dir), user.name, h.changed);
  return {};
}

Result<void> become(const ServiceUser& user) {
  if (!single_threaded()) return fail(Errc::Internal, "privileges must be dropped before any thread starts");
  // The bounding set is emptied while root still may.
  for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap)
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      return fail(Errc::Internal, fmt::format("cannot drop capability {} from the bounding set: {}", cap, errno_text()));
  // Real, effective and saved IDs all change: there is no way back to root.
  if (::initgroups(user.name.c_str(), user.gid) != 0)
    return fail(Errc::Internal, fmt::format("initgroups({}): {}", user.name, errno_text()));
  if (::setresgid(user.gid, user.gid, user.gid) != 0)
    return fail(Errc::Internal, fmt::format("setresgid({}): {}", user.gid, errno_text()));
  if (::setresuid(user.uid, user.uid, user.uid) != 0)
    return fail(Errc::Internal, fmt::format("setresuid({}): {}", user.uid, errno_text()));
  if (::setuid(0) == 0 || ::geteuid() == 0) return fail(Errc::Internal, "root could be regained after the switch");
  return drop_capabilities();
}

Result<void> drop_capabilities() {
  if (!single_threaded()) return fail(Errc::Internal, "capabilities must be dropped before any thread starts");
  // A non-root start may hold some (systemd's AmbientCapabilities=CAP_NET_BIND_SERVICE);
  // they were needed for the bind only.
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  // Nothing executed later gains privileges (set-user-ID files, file capabilities).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail(Errc::Internal, fmt::format("PR_SET_NO_NEW_PRIVS: {}", errno_text()));
  if (!clear_capabilities()) return fail(Errc::Internal, fmt::format("cannot drop capabilities: {}", errno_text()));
  return {};
}

}  // namespace valija::server
