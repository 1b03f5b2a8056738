#pragma once
// Started as root, `valija serve` binds its ports, then gives root up before it touches
// any data or starts a thread: it becomes the service user, with no capabilities.
// See docs/security.md, "Privileges".
#include <sys/types.h>

#include <string>

#include "base/result.hpp"

namespace valija::server {

struct ServiceUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The account named `name` (or a numeric uid), from the system's user database.
Result<ServiceUser> find_service_user(const std::string& name);

// Makes `dir` the service user's: created (0750) if missing; when it and what is in it
// belong to root (made by a root admin command or an older root-run server), handed over
// whole. A data dir of any other owner is refused: it is someone else's data.
Result<void> hand_over_data_dir(const std::string& dir, const ServiceUser& user);

// Becomes `user` (its groups from the user database, no others) for good: no way back
// to root, an empty bounding set, then drop_capabilities(). Only while single-threaded.
Result<void> become(const ServiceUser& user);

// No capabilities left (a non-root start may hold CAP_NET_BIND_SERVICE for the bind)
// and no_new_privs: nothing executed later gains privileges. Only while single-threaded.
Result<void> drop_capabilities();

}  // namespace valija::server
