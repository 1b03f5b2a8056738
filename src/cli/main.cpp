// valija: the mail server and its admin command line.
#include <cstdio>

#include "cli/commands.hpp"

namespace valija::cli {
void add_data_option(CLI::App* cmd, std::string& data_dir) {
  cmd->add_option("--data", data_dir, "Data directory (default ./valija-data)");
}
}  // namespace valija::cli

int main(int argc, char** argv) {
  CLI::App app{"valija: a complete mail service (SMTP, local delivery, directory)", "valija"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "valija 0.1.0");
  valija::cli::Context ctx;
  valija::cli::add_serve_command(app, ctx);
  valija::cli::add_domain_commands(app, ctx);
  valija::cli::add_user_commands(app, ctx);
  valija::cli::add_alias_commands(app, ctx);
  valija::cli::add_mail_commands(app, ctx);
  valija::cli::add_dns_commands(app, ctx);
  valija::cli::add_queue_commands(app, ctx);
  valija::cli::add_dkim_commands(app, ctx);
  valija::cli::add_dns_records_commands(app, ctx);
  valija::cli::add_smtp_test_command(app, ctx);
  valija::cli::add_check_command(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return ctx.rc;
}
