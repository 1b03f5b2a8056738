// valija check [--repair] [--deep]: the store's metadata against its bodies (Store::check).
// Without --repair it only reads, so it runs beside a server; --repair takes the data
// dir's lock (the one `valija serve` holds) for as long as it writes.
#include <fmt/format.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/util.hpp"
#include "mail/mime_cache.hpp"
#include "mail/rfc2047.hpp"
#include "store/data_dir_lock.hpp"

namespace valija::cli {
namespace {

constexpr int kExitTempFail = 75;  // EX_TEMPFAIL: the server holds the data dir

// ", subject \"...\"" of a damaged message, from the structure cached at delivery (its
// body may be gone); empty when unknown.
std::string subject_of(store::Store& s, const store::CheckProblem& p) {
  if (!p.uid) return "";
  auto meta = s.message_meta(p.mailbox, std::span<const std::uint32_t>(&p.uid, 1));
  if (!meta || meta->empty() || meta->front().empty()) return "";
  auto part = mail::mime::decode(meta->front());
  if (!part || !part->envelope || !part->envelope->subject) return "";
  return fmt::format(", subject \"{}\"", mail::decode_header_value(*part->envelope->subject, 200));
}

}  // namespace

void add_check_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "check", "Verify the store: database, message bodies, counters, files left by a crash (--repair fixes them)");
  auto data = std::make_shared<std::string>("valija-data");
  auto repair = std::make_shared<bool>(false);
  auto deep = std::make_shared<bool>(false);
  cmd->add_flag("--repair", *repair,
                "Remove orphan files, correct counters and usage (stop the server first); damaged messages are "
                "only reported");
  cmd->add_flag("--deep", *deep, "Also read every body and compare it with its SHA-256 address");
  add_data_option(cmd, *data);
  cmd->callback([&ctx, data, repair, deep] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    // Held until the process ends: no server starts while the repair writes. Without
    // --repair only a probe: with no server running, nothing is in flight.
    auto lock = store::lock_data_dir(*data);
    bool server_runs = !lock && lock.error().code == Errc::Exists;
    if (!*repair && lock) ::close(*lock);
    if (*repair && !lock) {
      if (!server_runs) {
        ctx.rc = error(lock.error().detail);
        return;
      }
      error(fmt::format("a valija server is using {} (lock {}/valija.lock): stop it before check --repair, or "
                        "check without --repair",
                        *data, *data));
      ctx.rc = kExitTempFail;
      return;
    }
    store::CheckOptions o;
    o.repair = *repair;
    o.deep = *deep;
    if (lock) o.in_flight_grace = 0;  // no server: nothing is in flight
    o.on_problem = [&s = **st](const store::CheckProblem& p) {
      fmt::print("{}: {}{}{}\n", store::check_kind_name(p.kind), p.message, subject_of(s, p),
                 p.repaired ? " (repaired)" : "");
      std::fflush(stdout);
    };
    auto r = (*st)->check(o);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    fmt::print("checked {} messages, {} bodies, {} files: {} problems ({} repaired)\n", r->messages, r->bodies,
               r->files, r->problems, r->repaired);
    ctx.rc = r->problems == r->repaired ? 0 : 1;
  });
}

}  // namespace valija::cli
