#pragma once
// The composition root: opens the store, wires listeners to protocols, runs until
// SIGTERM/SIGINT (drain) and reloads certificates, DKIM keys and the config on SIGHUP.
#include <cstdint>
#include <optional>
#include <string>

namespace valija::server {

struct ServeOptions {
  std::optional<std::string> config_file;
  std::optional<std::string> data_dir;
  std::uint16_t port_base = 10000;
  std::optional<std::string> log_level;
  std::optional<std::string> user;  // overrides the configuration's `user`
};

// Returns the process exit code: 0 clean stop, 1 runtime failure, 2 bad configuration.
int serve(const ServeOptions& options);

}  // namespace valija::server
