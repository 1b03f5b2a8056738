#include "cli/commands.hpp"
#include "server/app.hpp"

namespace valija::cli {

void add_serve_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("serve", "Run the mail server (local mode without --config)");
  auto opts = std::make_shared<server::ServeOptions>();
  auto config = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  auto level = std::make_shared<std::string>();
  auto user = std::make_shared<std::string>();
  cmd->add_option("--config", *config, "TOML configuration file");
  cmd->add_option("--data", *data, "Data directory (default ./valija-data)");
  cmd->add_option("--port-base", opts->port_base, "Local mode: each service on its standard port + N (default 10000)")
      ->check(CLI::Range(0, 65535 - 995));  // the highest standard port (pop3s) must still fit
  cmd->add_option("--log-level", *level, "debug (shows SMTP dialogues), info, warn, error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  cmd->add_option("--user", *user,
                  "Started as root: the user to become once the ports are bound (default: `user` in the "
                  "configuration, valija; local mode stays root unless given)");
  cmd->callback([&ctx, opts, config, data, level, user] {
    if (!config->empty()) opts->config_file = *config;
    if (!data->empty()) opts->data_dir = *data;
    if (!level->empty()) opts->log_level = *level;
    if (!user->empty()) opts->user = *user;
    ctx.rc = server::serve(*opts);
  });
}

}  // namespace valija::cli
