#pragma once
// Each noun registers its subcommands; the chosen one stores its exit code in `rc`.
#include <CLI/CLI.hpp>

#include <string>

namespace valija::cli {

struct Context {
  int rc = 0;
};

// Adds --data DIR (default ./valija-data) to a command.
void add_data_option(CLI::App* cmd, std::string& data_dir);

void add_serve_command(CLI::App& app, Context& ctx);
void add_domain_commands(CLI::App& app, Context& ctx);
void add_user_commands(CLI::App& app, Context& ctx);
void add_alias_commands(CLI::App& app, Context& ctx);
void add_mail_commands(CLI::App& app, Context& ctx);
void add_dns_commands(CLI::App& app, Context& ctx);
void add_smtp_test_command(CLI::App& app, Context& ctx);
void add_queue_commands(CLI::App& app, Context& ctx);
void add_dkim_commands(CLI::App& app, Context& ctx);
void add_dns_records_commands(CLI::App& app, Context& ctx);
void add_check_command(CLI::App& app, Context& ctx);

}  // namespace valija::cli
