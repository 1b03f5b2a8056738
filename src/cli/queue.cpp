// valija queue list|show|retry|delete|flush: the outbound queue as the admin sees it.
// Changes are made in the store; a running server is told through SIGUSR1 (its pid is in
// the data dir's lock file) so it tries at once rather than at its next scan.
#include <fmt/format.h>
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "base/clock.hpp"
#include "cli/commands.hpp"
#include "cli/util.hpp"

namespace valija::cli {
namespace {

std::string_view state_name(store::QueueState s) {
  switch (s) {
    case store::QueueState::Pending: return "pending";
    case store::QueueState::Delivered: return "delivered";
    case store::QueueState::Failed: return "failed";
    case store::QueueState::Relayed: return "relayed";
  }
  return "?";
}

// "3m", "2h 5m", "4d 1h": how far `then` is from `now`.
std::string span(std::int64_t seconds) {
  if (seconds < 0) seconds = -seconds;
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m", seconds / 60);
  if (seconds < 86400) return fmt::format("{}h {}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}d {}h", seconds / 86400, seconds % 86400 / 3600);
}

std::string next_try(const store::QueuedRecipient& r, std::int64_t now) {
  if (r.state != store::QueueState::Pending) return "-";
  if (r.next_attempt <= now) return "now";
  return "in " + span(r.next_attempt - now);
}

void print_entry(const store::QueueEntry& e, std::int64_t now, bool detail) {
  fmt::print("{}  {}  {}  from <{}>  queued {} ago  ({})\n", e.id, e.trace_id, format_size(e.size), e.message.sender,
             span(now - e.created), e.message.origin);
  for (const auto& r : e.message.rcpts) {
    fmt::print("    <{}>  {}  attempts {}  next {}\n", r.address, state_name(r.state), r.attempts, next_try(r, now));
    if (!r.last_reply.empty())
      fmt::print("        last: {}{}\n", r.last_reply, r.remote.empty() ? "" : fmt::format(" (from {})", r.remote));
  }
  if (!detail) return;
  fmt::print("    created {}{}{}{}{}\n", clock::rfc5322_date(e.created), e.message.envid.empty() ? "" : ", ENVID " + e.message.envid,
             e.message.ret == 1 ? ", RET=FULL" : e.message.ret == 2 ? ", RET=HDRS" : "",
             e.message.binary ? ", BINARYMIME" : e.message.eight_bit ? ", 8BITMIME" : "", e.message.requiretls ? ", REQUIRETLS" : "");
  if (e.warned) fmt::print("    the sender was told of the delay\n");
}

// The pid of the server using the data dir, from its lock file; 0 when none runs.
pid_t server_pid(const std::string& dir) {
  auto path = dir + "/valija.lock";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[32] = {};
  auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  auto pid = static_cast<pid_t>(std::atol(buf));
  return pid > 1 && ::kill(pid, 0) == 0 ? pid : 0;
}

void tell_server(const std::string& dir) {
  if (auto pid = server_pid(dir)) {
    if (::kill(pid, SIGUSR1) == 0) fmt::print("the server (pid {}) tries now\n", pid);
  } else {
    fmt::print("no server is running on {}: it tries at its next start\n", dir);
  }
}

// Every pending recipient of `entry` (all entries when 0) due now. Returns how many.
Result<std::size_t> retry_now(store::Store& st, std::int64_t entry) {
  auto q = st.list_queue();
  if (!q) return tl::unexpected(q.error());
  std::vector<store::RecipientUpdate> updates;
  auto now = clock::now_unix();
  bool found = entry == 0;
  for (const auto& e : *q) {
    if (entry && e.id != entry) continue;
    found = true;
    for (const auto& r : e.message.rcpts)
      if (r.state == store::QueueState::Pending)
        updates.push_back({r.id, store::QueueState::Pending, now, r.last_reply, r.remote, false});
  }
  if (!found) return fail(Errc::NotFound, fmt::format("no queue entry {}", entry));
  auto u = st.update_queue(updates);
  if (!u) return tl::unexpected(u.error());
  return updates.size();
}

}  // namespace

void add_queue_commands(CLI::App& app, Context& ctx) {
  auto* noun = app.add_subcommand("queue", "Show and manage the outbound queue (mail waiting for other servers)");
  noun->require_subcommand(1);
  auto data = std::make_shared<std::string>("valija-data");
  auto id = std::make_shared<std::int64_t>(0);

  auto* list = noun->add_subcommand("list", "Every queued message with its recipients, attempts, next try and last reply");
  add_data_option(list, *data);
  list->callback([&ctx, data] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto q = (*st)->list_queue();
    if (!q) { ctx.rc = error(q.error().detail); return; }
    auto now = clock::now_unix();
    for (const auto& e : *q) print_entry(e, now, false);
    std::size_t pending = 0;
    for (const auto& e : *q)
      for (const auto& r : e.message.rcpts) pending += r.state == store::QueueState::Pending;
    fmt::print("{} message(s), {} recipient(s) pending\n", q->size(), pending);
  });

  auto* show = noun->add_subcommand("show", "One queued message: envelope, recipients and the message header");
  show->add_option("ID", *id, "Queue id (first column of 'queue list')")->required();
  add_data_option(show, *data);
  show->callback([&ctx, data, id] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto e = (*st)->find_queued(*id);
    if (!e) { ctx.rc = error(e.error().detail); return; }
    if (!*e) { ctx.rc = error(fmt::format("no queue entry {}", *id)); return; }
    print_entry(**e, clock::now_unix(), true);
    auto reader = (*st)->open_queued(**e);
    if (!reader) { ctx.rc = error(reader.error().detail); return; }
    // The header, up to the first empty line (at most 64 KiB).
    std::string head(64 * 1024, '\0');
    auto n = (*reader)->read(head.data(), head.size());
    if (!n) { ctx.rc = error(n.error().detail); return; }
    head.resize(*n);
    if (auto end = head.find("\r\n\r\n"); end != std::string::npos) head.resize(end + 2);
    std::string shown;
    for (char c : head)
      if (c != '\r') shown.push_back(c);
    fmt::print("\n{}", shown);
  });

  // retry ID, retry (every message), flush (the same as retry without ID).
  auto due_now = [&ctx, data, id] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto n = retry_now(**st, *id);
    if (!n) { ctx.rc = error(n.error().detail); return; }
    fmt::print("{} recipient(s) due now\n", *n);
    tell_server(*data);
  };
  auto* retry = noun->add_subcommand("retry", "Try the pending recipients of message ID now (without ID: every message)");
  retry->add_option("ID", *id, "Queue id");
  add_data_option(retry, *data);
  retry->callback(due_now);
  auto* flush = noun->add_subcommand("flush", "Try every pending recipient now");
  add_data_option(flush, *data);
  flush->callback(due_now);

  auto* del = noun->add_subcommand("delete", "Remove message ID from the queue without telling the sender");
  del->add_option("ID", *id, "Queue id")->required();
  add_data_option(del, *data);
  del->callback([&ctx, data, id] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->delete_queued(*id);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    if (!*r) { ctx.rc = error(fmt::format("no queue entry {}", *id)); return; }
    fmt::print("deleted {}\n", *id);
  });
}

}  // namespace valija::cli
